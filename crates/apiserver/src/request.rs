//! What a resource request asks for, parsed from its path and query.

use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use http::Method;
use std::collections::HashMap;

/// The parsed target of a request under `/api` or `/apis`.
#[derive(Debug, Clone)]
pub struct Target {
    pub info: &'static ResourceInfo,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// What a path under `/api` or `/apis` names.
#[derive(Debug)]
pub enum Route {
    /// `/api`, `/apis`, `/api/v1`, `/apis/G`, `/apis/G/V`.
    Discovery(DiscoveryPath),
    /// A resource collection, object or subresource.
    Resource(Target),
}

/// A discovery document path.
#[derive(Debug, PartialEq, Eq)]
pub enum DiscoveryPath {
    Api,
    Apis,
    Group(String),
    GroupVersion(String, String),
}

/// The verb a request performs (Kubernetes RBAC verbs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
}

/// Parses `/api/...` and `/apis/...` paths.
pub fn route(path: &str) -> ApiResult<Route> {
    let segs: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api"] => return Ok(Route::Discovery(DiscoveryPath::Api)),
        ["apis"] => return Ok(Route::Discovery(DiscoveryPath::Apis)),
        ["api", v] => {
            return Ok(Route::Discovery(DiscoveryPath::GroupVersion(
                String::new(),
                v.to_string(),
            )));
        }
        ["apis", g] => return Ok(Route::Discovery(DiscoveryPath::Group(g.to_string()))),
        ["apis", g, v] => {
            return Ok(Route::Discovery(DiscoveryPath::GroupVersion(
                g.to_string(),
                v.to_string(),
            )));
        }
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::NoRoute),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, r, more @ ..] => (Some(ns.to_string()), {
            let mut v = vec![*r];
            v.extend_from_slice(more);
            v
        }),
        other => (None, other.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(n.to_string()), None),
        [p, n, s] => (*p, Some(n.to_string()), Some(s.to_string())),
        _ => return Err(ApiError::NoRoute),
    };
    // `/api/v1/namespaces/NAME[/status]` addresses a namespace itself.
    if let (None, "namespaces") = (&namespace, plural) {
        let info = api::registry::find(group, version, "namespaces").ok_or(ApiError::NoRoute)?;
        return Ok(Route::Resource(Target {
            info,
            namespace: None,
            name,
            subresource: sub,
        }));
    }
    let info = api::registry::find(group, version, plural).ok_or(ApiError::NoRoute)?;
    if namespace.is_some() && !info.namespaced {
        return Err(ApiError::NoRoute);
    }
    if let Some(s) = &sub
        && info.subresource(s).is_none()
    {
        return Err(ApiError::NoRoute);
    }
    Ok(Route::Resource(Target {
        info,
        namespace,
        name,
        subresource: sub,
    }))
}

impl Target {
    /// The verb of `method` on this target.
    pub fn verb(&self, method: &Method, query: &Query) -> ApiResult<Verb> {
        let on_object = self.name.is_some();
        let verb = match (method.as_str(), on_object) {
            ("GET", true) => Verb::Get,
            ("GET", false) if query.flag("watch") => Verb::Watch,
            ("GET", false) => Verb::List,
            ("POST", false) => Verb::Create,
            // subresources such as binding and eviction are created on an object
            ("POST", true) if self.subresource.is_some() => Verb::Create,
            ("PUT", true) => Verb::Update,
            ("PATCH", true) => Verb::Patch,
            ("DELETE", true) => Verb::Delete,
            ("DELETE", false) => Verb::DeleteCollection,
            _ => return Err(ApiError::MethodNotAllowed),
        };
        let allowed = match &self.subresource {
            Some(s) => self.info.subresource(s).map(|s| s.verbs).unwrap_or(&[]),
            None => self.info.verbs,
        };
        let name = match verb {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
            Verb::DeleteCollection => "deletecollection",
        };
        if allowed.contains(&name) {
            Ok(verb)
        } else {
            Err(ApiError::MethodNotAllowed)
        }
    }

    /// The namespace, required for namespaced objects.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}

/// Query parameters, decoded.
#[derive(Debug, Default, Clone)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let dec = |s: &str| {
                let s = s.replace('+', " ");
                percent_encoding::percent_decode_str(&s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            map.insert(dec(k), dec(v));
        }
        Self(map)
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A boolean flag (`true`/`1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.0.get(key).map(String::as_str), Some("true" | "1"))
    }

    /// An integer parameter; malformed is a 400.
    pub fn int(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::BadRequest(format!("invalid value for {key}: {v:?} is not an integer"))
            }),
        }
    }

    /// The same query without `limit` and `continue` (a full list).
    pub fn without_paging(q: &Query) -> Query {
        let mut map = q.0.clone();
        map.remove("limit");
        map.remove("continue");
        Query(map)
    }

    /// Whether `dryRun=All` was asked for.
    pub fn dry_run(&self) -> ApiResult<bool> {
        match self.get("dryRun") {
            None => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "dryRun: Unsupported value: \"{other}\": supported values: \"All\""
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match route(path).unwrap() {
            Route::Resource(t) => t,
            other => panic!("not a resource: {other:?}"),
        }
    }

    #[test]
    fn parses_resource_paths() {
        let t = target("/api/v1/namespaces/default/pods/web/status");
        assert_eq!(t.info.plural, "pods");
        assert_eq!(t.namespace.as_deref(), Some("default"));
        assert_eq!(t.name.as_deref(), Some("web"));
        assert_eq!(t.subresource.as_deref(), Some("status"));
        let t = target("/api/v1/namespaces/kube-system");
        assert_eq!(t.info.plural, "namespaces");
        assert_eq!(t.name.as_deref(), Some("kube-system"));
        let t = target("/apis/apps/v1/deployments");
        assert_eq!(t.info.kind, "Deployment");
        assert!(t.namespace.is_none() && t.name.is_none());
        assert!(matches!(
            route("/apis/apps/v1/namespaces/x/nodes"),
            Err(ApiError::NoRoute)
        ));
        assert!(matches!(
            route("/api/v1/namespaces/x/pods/p/nope"),
            Err(ApiError::NoRoute)
        ));
        assert!(matches!(
            route("/apis/apps"),
            Ok(Route::Discovery(DiscoveryPath::Group(_)))
        ));
    }

    #[test]
    fn verbs_follow_method_and_target() {
        let q = Query::parse(Some("watch=true&resourceVersion=5"));
        let t = target("/api/v1/pods");
        assert_eq!(t.verb(&Method::GET, &q).unwrap(), Verb::Watch);
        assert_eq!(t.verb(&Method::GET, &Query::default()).unwrap(), Verb::List);
        let t = target("/api/v1/namespaces/d/pods/p/binding");
        assert_eq!(t.verb(&Method::POST, &q).unwrap(), Verb::Create);
        assert!(t.verb(&Method::GET, &q).is_err());
        assert_eq!(
            Query::parse(Some("labelSelector=a%3Db%2Cc+in+(x)")).get("labelSelector"),
            Some("a=b,c in (x)")
        );
    }
}
