//! The schema catalog: every definition the OpenAPI documents need, generated
//! once from `k8s-openapi`'s `schemars` impls and fixed up the way Kubernetes
//! publishes them (group-version-kind and patch extensions, List kinds).
//!
//! Definitions are kept in one neutral form: refs read
//! `#/components/schemas/NAME` and a `$ref` may have siblings (a
//! `description`, patch extensions). The v3 writer wraps such refs in `allOf`;
//! the v2 writer rewrites the prefix to `#/definitions/`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::kinds::{self, KindSchema};

/// Prefix of every `$ref` in the neutral form.
pub(crate) const REF_PREFIX: &str = "#/components/schemas/";
/// `meta/v1` Status.
pub(crate) const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
/// `meta/v1` DeleteOptions.
pub(crate) const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
/// Body of every PATCH.
pub(crate) const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// One watch event.
pub(crate) const WATCH_EVENT: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent";
/// Discovery documents answered by the `get...APIResources` style operations.
pub(crate) const API_VERSIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions";
pub(crate) const API_GROUP_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList";
pub(crate) const API_GROUP: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup";
pub(crate) const API_RESOURCE_LIST: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const GVK_EXT: &str = "x-kubernetes-group-version-kind";

/// A group, version and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Gvk {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
}

impl Gvk {
    /// The `x-kubernetes-group-version-kind` value (keys sorted as Kubernetes does).
    pub fn to_json(self) -> Value {
        json!({"group": self.group, "kind": self.kind, "version": self.version})
    }
}

/// All definitions and which one describes each kind.
pub(crate) struct Catalog {
    defs: Map<String, Value>,
    names: HashMap<Gvk, String>,
    lists: HashMap<Gvk, String>,
}

impl Catalog {
    /// Generates the schema of every served kind, subresource kind, List kind
    /// and the `meta/v1` helpers.
    pub fn build() -> Self {
        let settings = SchemaSettings::openapi3().with(|s| {
            s.transforms.clear();
            s.meta_schema = None;
        });
        let mut generator = SchemaGenerator::new(settings);
        let table = kinds::table();
        let mut names: HashMap<Gvk, String> = HashMap::new();
        let mut placeholders: Vec<(Gvk, String)> = Vec::new();
        let mut ensure = |gvk: Gvk, generator: &mut SchemaGenerator| {
            if names.contains_key(&gvk) {
                return;
            }
            let name = match find(&table, gvk) {
                Some(ks) => {
                    (ks.generate)(generator);
                    (ks.name)().into_owned()
                }
                None => {
                    tracing::warn!(?gvk, "no schema known for kind; publishing an open object");
                    let group = if gvk.group.is_empty() {
                        "core"
                    } else {
                        gvk.group
                    };
                    let name = format!("io.k8s.brink.{group}.{}.{}", gvk.version, gvk.kind);
                    placeholders.push((gvk, name.clone()));
                    name
                }
            };
            names.insert(gvk, name);
        };
        for r in api::RESOURCES {
            let gvk = Gvk {
                group: r.group,
                version: r.version,
                kind: r.kind,
            };
            ensure(gvk, &mut generator);
            for sub in r.subresources {
                ensure(subresource_gvk(gvk, sub), &mut generator);
            }
        }
        generator.subschema_for::<meta::Status>();
        generator.subschema_for::<meta::DeleteOptions>();
        generator.subschema_for::<meta::Patch>();
        generator.subschema_for::<meta::WatchEvent<()>>();
        generator.subschema_for::<meta::ListMeta>();
        generator.subschema_for::<meta::APIVersions>();
        generator.subschema_for::<meta::APIGroupList>();
        generator.subschema_for::<meta::APIGroup>();
        generator.subschema_for::<meta::APIResourceList>();
        let mut defs = generator.take_definitions(false);
        for (gvk, name) in &placeholders {
            let description = format!("{} ({}).", gvk.kind, name);
            defs.insert(
                name.clone(),
                json!({"description": description, "type": "object", "x-kubernetes-preserve-unknown-fields": true}),
            );
        }

        let mut catalog = Catalog {
            defs,
            names,
            lists: HashMap::new(),
        };
        catalog.add_lists();
        catalog.add_gvk_extensions();
        catalog.strip_required_metadata();
        catalog.add_patch_meta();
        catalog
    }

    /// Definition name of a kind, if it is served.
    pub fn name(&self, gvk: Gvk) -> Option<&str> {
        self.names.get(&gvk).map(String::as_str)
    }

    /// Definition name of the List kind of a served kind.
    pub fn list_name(&self, gvk: Gvk) -> Option<&str> {
        self.lists.get(&gvk).map(String::as_str)
    }

    /// Every definition, in neutral form.
    pub fn all(&self) -> &Map<String, Value> {
        &self.defs
    }

    /// The definitions reachable from `roots` through `$ref`s, sorted by name.
    pub fn closure<'a>(&self, roots: impl IntoIterator<Item = &'a str>) -> Map<String, Value> {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<String> = roots.into_iter().map(str::to_string).collect();
        while let Some(name) = todo.pop() {
            if seen.contains(&name) {
                continue;
            }
            if let Some(def) = self.defs.get(&name) {
                collect_refs(def, &mut todo);
                seen.insert(name);
            }
        }
        seen.into_iter()
            .filter_map(|n| self.defs.get(&n).map(|d| (n, d.clone())))
            .collect()
    }

    fn add_lists(&mut self) {
        // reviews are create-only: no list kind
        for r in api::RESOURCES.iter().filter(|r| r.verbs.contains(&"list")) {
            let gvk = Gvk {
                group: r.group,
                version: r.version,
                kind: r.kind,
            };
            let Some(item) = self.names.get(&gvk).cloned() else {
                continue;
            };
            let list = match item.strip_suffix(r.kind) {
                Some(stem) => format!("{stem}{}", r.list_kind),
                None => format!("{item}List"),
            };
            if !self.defs.contains_key(&list) {
                let list_gvk = Gvk {
                    kind: r.list_kind,
                    ..gvk
                };
                self.defs
                    .insert(list.clone(), list_schema(r, &item, list_gvk));
            }
            self.lists.insert(gvk, list);
        }
    }

    fn add_gvk_extensions(&mut self) {
        let mut by_name: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (gvk, name) in &self.names {
            by_name.entry(name.clone()).or_default().push(gvk.to_json());
        }
        by_name.insert(
            STATUS.into(),
            vec![
                Gvk {
                    group: "",
                    version: "v1",
                    kind: "Status",
                }
                .to_json(),
            ],
        );
        for (name, kind) in [
            (DELETE_OPTIONS, "DeleteOptions"),
            (WATCH_EVENT, "WatchEvent"),
        ] {
            let mut gvks = Vec::new();
            for (group, version) in api::registry::group_versions() {
                gvks.push(
                    Gvk {
                        group,
                        version,
                        kind,
                    }
                    .to_json(),
                );
            }
            by_name.insert(name.into(), gvks);
        }
        for (name, mut gvks) in by_name {
            if let Some(Value::Object(def)) = self.defs.get_mut(&name) {
                gvks.sort_by_key(Value::to_string);
                def.insert(GVK_EXT.into(), Value::Array(gvks));
            }
        }
    }

    /// `k8s-openapi` lists `metadata` as required wherever its Rust field is
    /// not an `Option`; Kubernetes never requires it.
    fn strip_required_metadata(&mut self) {
        for def in self.defs.values_mut() {
            let Some(obj) = def.as_object_mut() else {
                continue;
            };
            let meta_ref = obj
                .get("properties")
                .and_then(|p| p.get("metadata"))
                .and_then(|m| m.get("$ref"))
                .and_then(Value::as_str)
                .is_some_and(|r| {
                    r == format!("{REF_PREFIX}{OBJECT_META}")
                        || r == format!("{REF_PREFIX}{LIST_META}")
                });
            if !meta_ref {
                continue;
            }
            if let Some(Value::Array(required)) = obj.get_mut("required") {
                required.retain(|v| v != "metadata");
                if required.is_empty() {
                    obj.remove("required");
                }
            }
        }
    }

    fn add_patch_meta(&mut self) {
        for (def, props) in kinds::PATCH_META {
            for (prop, strategy, key) in *props {
                let property = self
                    .defs
                    .get_mut(*def)
                    .and_then(|d| d.get_mut("properties"))
                    .and_then(|p| p.get_mut(*prop));
                let Some(Value::Object(p)) = property else {
                    continue;
                };
                p.insert("x-kubernetes-patch-strategy".into(), (*strategy).into());
                if !key.is_empty() {
                    p.insert("x-kubernetes-patch-merge-key".into(), (*key).into());
                }
            }
        }
    }
}

/// The kind a subresource's body has: its own, or the parent's (`status`).
pub(crate) fn subresource_gvk(parent: Gvk, sub: &api::Subresource) -> Gvk {
    if sub.kind.is_empty() {
        parent
    } else {
        Gvk {
            group: sub.group,
            version: sub.version,
            kind: sub.kind,
        }
    }
}

fn find(table: &[KindSchema], gvk: Gvk) -> Option<&KindSchema> {
    table
        .iter()
        .find(|k| k.group == gvk.group && k.version == gvk.version && k.kind == gvk.kind)
}

fn list_schema(r: &api::ResourceInfo, item: &str, gvk: Gvk) -> Value {
    json!({
        "description": format!("{} is a list of {}.", r.list_kind, r.kind),
        "type": "object",
        "properties": {
            "apiVersion": {
                "description": "APIVersion defines the versioned schema of this representation of an object.",
                "type": "string",
            },
            "items": {
                "description": format!("List of {}.", r.plural),
                "type": "array",
                "items": {"$ref": format!("{REF_PREFIX}{item}")},
            },
            "kind": {
                "description": "Kind is a string value representing the REST resource this object represents.",
                "type": "string",
            },
            "metadata": {
                "$ref": format!("{REF_PREFIX}{LIST_META}"),
                "description": "Standard list metadata.",
            },
        },
        "required": ["items"],
        GVK_EXT: [gvk.to_json()],
    })
}

/// Pushes the definition names referenced anywhere below `value`.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(REF_PREFIX) {
                            out.push(name.to_string());
                        }
                    }
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_kind_has_a_real_schema() {
        let catalog = Catalog::build();
        for r in api::RESOURCES {
            let gvk = Gvk {
                group: r.group,
                version: r.version,
                kind: r.kind,
            };
            let name = catalog.name(gvk).unwrap();
            assert!(
                !name.starts_with("io.k8s.brink."),
                "{gvk:?} has only a placeholder"
            );
            if r.verbs.contains(&"list") {
                assert!(catalog.all().contains_key(catalog.list_name(gvk).unwrap()));
            }
        }
    }

    #[test]
    fn refs_resolve_and_fixups_apply() {
        let catalog = Catalog::build();
        let pod = &catalog.all()["io.k8s.api.core.v1.Pod"];
        assert_eq!(
            pod[GVK_EXT],
            json!([{"group": "", "kind": "Pod", "version": "v1"}])
        );
        assert!(
            pod.get("required").is_none(),
            "metadata must not be required"
        );
        let containers = &catalog.all()["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        let closure = catalog.closure(["io.k8s.api.core.v1.PodList"]);
        let mut refs = Vec::new();
        collect_refs(&Value::Object(closure.clone()), &mut refs);
        for r in refs {
            assert!(closure.contains_key(&r), "dangling ref {r}");
        }
        assert!(closure.contains_key("io.k8s.api.core.v1.Container"));
    }
}
