//! The operations brink serves, derived from `api::RESOURCES`.

use super::model::{Body, Method, Operation, Param, Response, Route, Section};
use super::params;
use super::schemas::{self, Catalog, Gvk};

const UNAUTHORIZED: Response = ("401", "Unauthorized", None);

/// Every section: `api`, `api/v1`, `apis`, then each group and its versions.
pub(crate) fn sections(catalog: &Catalog) -> Vec<Section> {
    let gvs = api::registry::group_versions();
    let mut out = vec![discovery(
        "api",
        "/api/",
        "getCoreAPIVersions".into(),
        "core".into(),
        schemas::API_VERSIONS,
    )];
    out.extend(
        gvs.iter()
            .filter(|(g, _)| g.is_empty())
            .map(|&(g, v)| group_version(catalog, g, v)),
    );
    out.push(discovery(
        "apis",
        "/apis/",
        "getAPIVersions".into(),
        "apis".into(),
        schemas::API_GROUP_LIST,
    ));
    let mut groups: Vec<&'static str> = Vec::new();
    for &(group, _) in &gvs {
        if !group.is_empty() && !groups.contains(&group) {
            groups.push(group);
        }
    }
    for group in groups {
        let id = format!("get{}APIGroup", group_id(group));
        out.push(discovery(
            &format!("apis/{group}"),
            &format!("/apis/{group}/"),
            id,
            tag_group(group),
            schemas::API_GROUP,
        ));
        out.extend(
            gvs.iter()
                .filter(|(g, _)| *g == group)
                .map(|&(g, v)| group_version(catalog, g, v)),
        );
    }
    out
}

fn discovery(key: &str, path: &str, id: String, tag: String, schema: &str) -> Section {
    let op = Operation {
        method: Method::Get,
        id,
        description: "get available API versions or resources".into(),
        tag,
        action: None,
        gvk: None,
        params: Vec::new(),
        body: None,
        responses: vec![("200", "OK", Some(schema.to_string())), UNAUTHORIZED],
    };
    let route = Route {
        path: path.to_string(),
        params: Vec::new(),
        ops: vec![op],
    };
    Section {
        key: key.to_string(),
        routes: vec![route],
        extra_schemas: Vec::new(),
    }
}

fn group_version(catalog: &Catalog, group: &'static str, version: &'static str) -> Section {
    let key = if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    };
    let id = format!("{}{}", group_id(group), capitalize(version));
    let tag = format!("{}_{version}", tag_group(group));
    let mut section = discovery(
        &key,
        &format!("/{key}/"),
        format!("get{id}APIResources"),
        tag.clone(),
        schemas::API_RESOURCE_LIST,
    );
    section.extra_schemas = vec![
        schemas::WATCH_EVENT,
        schemas::STATUS,
        schemas::DELETE_OPTIONS,
    ];
    for r in api::registry::resources_of(group, version) {
        let gvk = Gvk {
            group: r.group,
            version: r.version,
            kind: r.kind,
        };
        let Some(schema) = catalog.name(gvk) else {
            continue;
        };
        let list = catalog.list_name(gvk).unwrap_or(schema);
        let ctx = Ctx {
            prefix: format!("/{key}"),
            id: id.clone(),
            tag: tag.clone(),
            r,
            gvk,
            schema,
            list,
        };
        ctx.routes(catalog, &mut section.routes);
    }
    section
}

/// The kinds of operation Kubernetes has on a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    List,
    Create,
    DeleteCollection,
    Read,
    Replace,
    Delete,
    Patch,
}

impl Shape {
    /// Method, operation id verb, `x-kubernetes-action` and success codes.
    fn spec(self) -> (Method, &'static str, &'static str, &'static [&'static str]) {
        match self {
            Shape::List => (Method::Get, "list", "list", &["200"]),
            Shape::Create => (Method::Post, "create", "post", &["200", "201", "202"]),
            Shape::DeleteCollection => (Method::Delete, "delete", "deletecollection", &["200"]),
            Shape::Read => (Method::Get, "read", "get", &["200"]),
            Shape::Replace => (Method::Put, "replace", "put", &["200", "201"]),
            Shape::Delete => (Method::Delete, "delete", "delete", &["200", "202"]),
            Shape::Patch => (Method::Patch, "patch", "patch", &["200", "201"]),
        }
    }

    /// The shape serving a registry verb on a subresource.
    fn of_subresource_verb(verb: &str) -> Option<Shape> {
        match verb {
            "get" => Some(Shape::Read),
            "update" => Some(Shape::Replace),
            "patch" => Some(Shape::Patch),
            "create" => Some(Shape::Create),
            _ => None,
        }
    }

    fn describe(self, kind: &str, sub: Option<&str>) -> String {
        match (self, sub) {
            (Shape::List, _) => format!("list or watch objects of kind {kind}"),
            (Shape::DeleteCollection, _) => format!("delete collection of {kind}"),
            (Shape::Delete, _) => format!("delete a {kind}"),
            (Shape::Create, None) => format!("create a {kind}"),
            (Shape::Create, Some(s)) => format!("create {s} of a {kind}"),
            (Shape::Read, None) => format!("read the specified {kind}"),
            (Shape::Replace, None) => format!("replace the specified {kind}"),
            (Shape::Patch, None) => format!("partially update the specified {kind}"),
            (Shape::Read, Some(s)) => format!("read {s} of the specified {kind}"),
            (Shape::Replace, Some(s)) => format!("replace {s} of the specified {kind}"),
            (Shape::Patch, Some(s)) => format!("partially update {s} of the specified {kind}"),
        }
    }
}

/// Names shared by every operation on one resource.
struct Ctx<'a> {
    prefix: String,
    id: String,
    tag: String,
    r: &'a api::ResourceInfo,
    gvk: Gvk,
    schema: &'a str,
    list: &'a str,
}

impl Ctx<'_> {
    fn routes(&self, catalog: &Catalog, out: &mut Vec<Route>) {
        let r = self.r;
        let has = |verb: &str| r.verbs.contains(&verb);
        let mut scope = Vec::new();
        if r.namespaced {
            scope.push(params::path(
                "namespace",
                "object name and auth scope, such as for teams and projects".into(),
            ));
        }
        scope.push(params::pretty());
        let ns = if r.namespaced { "Namespaced" } else { "" };
        let base = match r.namespaced {
            true => format!("{}/namespaces/{{namespace}}/{}", self.prefix, r.plural),
            false => format!("{}/{}", self.prefix, r.plural),
        };
        let item = format!("{base}/{{name}}");
        let mut item_scope = vec![params::path("name", format!("name of the {}", r.kind))];
        item_scope.extend(scope.iter().cloned());

        let on = |shapes: &[(&str, Shape)]| -> Vec<Operation> {
            shapes
                .iter()
                .filter(|(verb, _)| has(verb))
                .map(|(_, s)| self.op(*s, ns, "", self.gvk, self.schema))
                .collect()
        };
        let collection = [
            ("list", Shape::List),
            ("create", Shape::Create),
            ("deletecollection", Shape::DeleteCollection),
        ];
        push(out, base, scope.clone(), on(&collection));
        let single = [
            ("get", Shape::Read),
            ("update", Shape::Replace),
            ("delete", Shape::Delete),
            ("patch", Shape::Patch),
        ];
        push(out, item.clone(), item_scope.clone(), on(&single));
        if r.namespaced && has("list") {
            let all = vec![self.op(Shape::List, "", "ForAllNamespaces", self.gvk, self.schema)];
            push(
                out,
                format!("{}/{}", self.prefix, r.plural),
                vec![params::pretty()],
                all,
            );
        }
        for sub in r.subresources {
            let gvk = schemas::subresource_gvk(self.gvk, sub);
            let Some(schema) = catalog.name(gvk) else {
                continue;
            };
            let suffix = capitalize(sub.name);
            let ops = sub
                .verbs
                .iter()
                .filter_map(|v| Shape::of_subresource_verb(v))
                .map(|s| Operation {
                    description: s.describe(r.kind, Some(sub.name)),
                    ..self.op(s, ns, &suffix, gvk, schema)
                })
                .collect();
            push(out, format!("{item}/{}", sub.name), item_scope.clone(), ops);
        }
    }

    /// One operation; `schema` is the object sent and returned.
    fn op(&self, shape: Shape, ns: &str, suffix: &str, gvk: Gvk, schema: &str) -> Operation {
        let (method, verb, action, codes) = shape.spec();
        let collection = if shape == Shape::DeleteCollection {
            "Collection"
        } else {
            ""
        };
        let (body, returns) = match shape {
            Shape::List => (None, self.list),
            Shape::Read => (None, schema),
            Shape::Create | Shape::Replace => (
                Some(Body::Object {
                    schema: schema.into(),
                    required: true,
                }),
                schema,
            ),
            Shape::Patch => (Some(Body::Patch), schema),
            Shape::Delete | Shape::DeleteCollection => (
                Some(Body::Object {
                    schema: schemas::DELETE_OPTIONS.into(),
                    required: false,
                }),
                schemas::STATUS,
            ),
        };
        let mut responses: Vec<Response> = codes
            .iter()
            .map(|c| (*c, code_text(c), Some(returns.to_string())))
            .collect();
        responses.push(UNAUTHORIZED);
        let params = match shape {
            Shape::List => params::list(),
            Shape::Create | Shape::Replace => params::write(false),
            Shape::Patch => params::write(true),
            Shape::Delete => params::delete(),
            Shape::DeleteCollection => params::delete_collection(),
            Shape::Read => Vec::new(),
        };
        Operation {
            method,
            id: format!("{verb}{}{collection}{ns}{}{suffix}", self.id, self.r.kind),
            description: shape.describe(self.r.kind, None),
            tag: self.tag.clone(),
            action: Some(action),
            gvk: Some(gvk),
            params,
            body,
            responses,
        }
    }
}

fn push(out: &mut Vec<Route>, path: String, params: Vec<Param>, ops: Vec<Operation>) {
    if !ops.is_empty() {
        out.push(Route { path, params, ops });
    }
}

fn code_text(code: &str) -> &'static str {
    match code {
        "201" => "Created",
        "202" => "Accepted",
        _ => "OK",
    }
}

/// The group part of an operation id: `Core`, `Apps`, `Coordination`,
/// `RbacAuthorization` (a `.k8s.io` suffix dropped, dotted parts capitalized).
pub(crate) fn group_id(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let trimmed = group.strip_suffix(".k8s.io").unwrap_or(group);
    trimmed.split(['.', '-']).map(capitalize).collect()
}

/// The group part of a tag: the operation id's group, first letter lower-case.
fn tag_group(group: &str) -> String {
    let id = group_id(group);
    let mut chars = id.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => id,
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_kubernetes() {
        assert_eq!(group_id(""), "Core");
        assert_eq!(group_id("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(tag_group("events.k8s.io"), "events");
        let catalog = Catalog::build();
        let all = sections(&catalog);
        let ops: Vec<&Operation> = all
            .iter()
            .flat_map(|s| &s.routes)
            .flat_map(|r| &r.ops)
            .collect();
        let find = |id: &str| {
            ops.iter()
                .find(|o| o.id == id)
                .unwrap_or_else(|| panic!("missing {id}"))
        };
        assert_eq!(find("createCoreV1NamespacedPod").action, Some("post"));
        assert_eq!(find("listCoreV1PodForAllNamespaces").action, Some("list"));
        assert_eq!(
            find("deleteCoreV1CollectionNamespacedPod").action,
            Some("deletecollection")
        );
        assert_eq!(
            find("readCoreV1NamespaceStatus").description,
            "read status of the specified Namespace"
        );
        assert_eq!(
            find("createCoreV1NamespacedPodEviction")
                .gvk
                .map(|g| g.group),
            Some("policy")
        );
        assert_eq!(
            find("patchAppsV1NamespacedDeploymentScale")
                .gvk
                .map(|g| g.kind),
            Some("Scale")
        );
        assert_eq!(
            find("createAuthorizationV1SelfSubjectAccessReview").method,
            Method::Post
        );
        find("getCoreV1APIResources");
        find("getAppsAPIGroup");
        let mut ids: Vec<&str> = ops.iter().map(|o| o.id.as_str()).collect();
        let total = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), total, "operation ids must be unique");
    }
}
