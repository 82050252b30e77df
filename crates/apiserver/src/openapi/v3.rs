//! OpenAPI v3: the `/openapi/v3` index and one document per group version.

use std::collections::HashMap;

use bytes::Bytes;
use schemars::Schema;
use schemars::transform::{RemoveRefSiblings, Transform};
use serde_json::{Map, Value, json};

use super::model::{Body, Location, Operation, PATCH_TYPES, Param, Section};
use super::paths;
use super::schemas::{self, Catalog, REF_PREFIX};
use super::{API_LEVEL, OpenApiError, gnostic, v2};

/// A serialized document and the hash of its bytes.
#[derive(Debug, Clone)]
pub struct Document {
    bytes: Bytes,
    hash: String,
}

impl Document {
    pub(super) fn new(bytes: Vec<u8>) -> Self {
        let digest = ring::digest::digest(&ring::digest::SHA512, &bytes);
        let hash = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        Document {
            bytes: Bytes::from(bytes),
            hash,
        }
    }

    /// The document (a cheap clone).
    pub fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    /// Upper-case hex SHA-512 of the bytes: the `?hash=` of its URL and a
    /// fine ETag.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Every OpenAPI document brink serves, built once at start.
#[derive(Debug, Clone)]
pub struct OpenApi {
    index: Bytes,
    v3: HashMap<String, Document>,
    pub(super) v2_json: Document,
    pub(super) v2_protobuf: Document,
}

impl OpenApi {
    /// Builds the v3 index and documents and the v2 document (JSON and
    /// protobuf) from `api::RESOURCES`.
    pub fn build() -> Result<Self, OpenApiError> {
        let catalog = Catalog::build();
        let sections = paths::sections(&catalog);
        let mut v3 = HashMap::new();
        let mut index = Map::new();
        for section in &sections {
            let doc = Document::new(serde_json::to_vec(&document(&catalog, section))?);
            let url = format!("/openapi/v3/{}?hash={}", section.key, doc.hash());
            index.insert(section.key.clone(), json!({ "serverRelativeURL": url }));
            v3.insert(section.key.clone(), doc);
        }
        let index = Bytes::from(serde_json::to_vec(&json!({ "paths": index }))?);
        let swagger = v2::document(&catalog, &sections);
        let v2_json = Document::new(serde_json::to_vec(&swagger)?);
        let v2_protobuf = Document::new(gnostic::encode(&swagger)?);
        Ok(OpenApi {
            index,
            v3,
            v2_json,
            v2_protobuf,
        })
    }

    /// The `/openapi/v3` index: `{"paths": {"api/v1": {"serverRelativeURL":
    /// "/openapi/v3/api/v1?hash=..."}, ...}}`.
    pub fn v3_index(&self) -> Bytes {
        self.index.clone()
    }

    /// The document of `path` (`api`, `api/v1`, `apis`, `apis/apps`,
    /// `apis/apps/v1`; surrounding slashes are ignored).
    pub fn v3_group_version(&self, path: &str) -> Option<Bytes> {
        self.v3_document(path).map(Document::bytes)
    }

    /// The hash of the document of `path`, to compare with a request's `?hash=`.
    pub fn v3_hash(&self, path: &str) -> Option<&str> {
        self.v3_document(path).map(Document::hash)
    }

    /// The document of `path` with its hash.
    pub fn v3_document(&self, path: &str) -> Option<&Document> {
        self.v3.get(path.trim_matches('/'))
    }

    /// The keys of every v3 document, e.g. `api/v1`.
    pub fn v3_paths(&self) -> impl Iterator<Item = &str> {
        self.v3.keys().map(String::as_str)
    }
}

fn document(catalog: &Catalog, section: &Section) -> Value {
    let mut roots: Vec<String> = section
        .extra_schemas
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut out = Map::new();
    for route in &section.routes {
        let mut item = Map::new();
        for op in &route.ops {
            roots.extend(referenced(op));
            item.insert(op.method.key().into(), operation(op));
        }
        if !route.params.is_empty() {
            item.insert(
                "parameters".into(),
                route.params.iter().map(parameter).collect(),
            );
        }
        out.insert(route.path.clone(), Value::Object(item));
    }
    let mut defs = catalog.closure(roots.iter().map(String::as_str));
    for def in defs.values_mut() {
        if let Ok(schema) = <&mut Schema>::try_from(def) {
            RemoveRefSiblings::default().transform(schema);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": API_LEVEL},
        "paths": out,
        "components": {"schemas": defs},
    })
}

/// The definitions an operation names directly.
pub(super) fn referenced(op: &Operation) -> Vec<String> {
    let mut out: Vec<String> = op
        .responses
        .iter()
        .filter_map(|(_, _, s)| s.clone())
        .collect();
    match &op.body {
        Some(Body::Object { schema, .. }) => out.push(schema.clone()),
        Some(Body::Patch) => out.push(schemas::PATCH.into()),
        None => {}
    }
    out
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{REF_PREFIX}{name}") })
}

fn operation(op: &Operation) -> Value {
    let mut m = Map::new();
    m.insert("tags".into(), json!([op.tag]));
    m.insert("description".into(), op.description.clone().into());
    m.insert("operationId".into(), op.id.clone().into());
    if !op.params.is_empty() {
        m.insert(
            "parameters".into(),
            op.params.iter().map(parameter).collect(),
        );
    }
    match &op.body {
        Some(Body::Object { schema, required }) => {
            let content = json!({ "*/*": { "schema": schema_ref(schema) } });
            m.insert(
                "requestBody".into(),
                json!({ "content": content, "required": required }),
            );
        }
        Some(Body::Patch) => {
            let content: Map<String, Value> = PATCH_TYPES
                .iter()
                .map(|t| {
                    (
                        t.to_string(),
                        json!({ "schema": schema_ref(schemas::PATCH) }),
                    )
                })
                .collect();
            m.insert(
                "requestBody".into(),
                json!({ "content": content, "required": true }),
            );
        }
        None => {}
    }
    let mut responses = Map::new();
    for (code, text, schema) in &op.responses {
        let mut r = Map::new();
        r.insert("description".into(), (*text).into());
        if let Some(s) = schema {
            r.insert(
                "content".into(),
                json!({ "application/json": { "schema": schema_ref(s) } }),
            );
        }
        responses.insert(code.to_string(), Value::Object(r));
    }
    m.insert("responses".into(), Value::Object(responses));
    if let Some(action) = op.action {
        m.insert("x-kubernetes-action".into(), action.into());
    }
    if let Some(gvk) = op.gvk {
        m.insert("x-kubernetes-group-version-kind".into(), gvk.to_json());
    }
    Value::Object(m)
}

fn parameter(p: &Param) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), p.name.into());
    let (location, required) = match p.location {
        Location::Path => ("path", true),
        Location::Query => ("query", false),
    };
    m.insert("in".into(), location.into());
    m.insert("description".into(), p.description.clone().into());
    if required {
        m.insert("required".into(), true.into());
    }
    m.insert(
        "schema".into(),
        json!({ "type": p.ty, "uniqueItems": true }),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(api: &OpenApi, key: &str) -> Value {
        serde_json::from_slice(&api.v3_group_version(key).unwrap()).unwrap()
    }

    /// Resolves `$ref` and single-element `allOf` like kubectl explain does.
    fn resolve<'a>(doc: &'a Value, mut s: &'a Value) -> &'a Value {
        loop {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                let name = r.strip_prefix(REF_PREFIX).unwrap();
                s = &doc["components"]["schemas"][name];
            } else if s.get("properties").is_none() && s.get("allOf").is_some() {
                s = &s["allOf"][0];
            } else {
                return s;
            }
        }
    }

    #[test]
    fn index_points_at_every_document_with_its_hash() {
        let started = std::time::Instant::now();
        let api = OpenApi::build().unwrap();
        eprintln!("OpenApi::build took {:?}", started.elapsed());
        let index: Value = serde_json::from_slice(&api.v3_index()).unwrap();
        for key in [
            "api",
            "api/v1",
            "apis",
            "apis/apps",
            "apis/apps/v1",
            "apis/authorization.k8s.io/v1",
        ] {
            let url = index["paths"][key]["serverRelativeURL"].as_str().unwrap();
            assert_eq!(
                url,
                format!("/openapi/v3/{key}?hash={}", api.v3_hash(key).unwrap())
            );
        }
        assert!(api.v3_group_version("/apis/apps/v1/").is_some());
        assert!(api.v3_group_version("apis/nope/v1").is_none());
    }

    #[test]
    fn patch_operations_offer_field_validation() {
        let api = OpenApi::build().unwrap();
        let d = doc(&api, "api/v1");
        let mut seen = 0;
        for (path, item) in d["paths"].as_object().unwrap() {
            let Some(patch) = item.get("patch") else {
                continue;
            };
            seen += 1;
            let names: Vec<&str> = patch["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            for n in ["dryRun", "fieldManager", "fieldValidation", "force"] {
                assert!(names.contains(&n), "{path} lacks {n}");
            }
            assert!(
                patch["requestBody"]["content"]
                    .get("application/strategic-merge-patch+json")
                    .is_some()
            );
            assert!(patch.get("x-kubernetes-group-version-kind").is_some());
        }
        assert!(seen > 5);
        let pod = &d["paths"]["/api/v1/namespaces/{namespace}/pods"]["post"];
        assert_eq!(pod["operationId"], "createCoreV1NamespacedPod");
        assert_eq!(pod["x-kubernetes-action"], "post");
        assert_eq!(
            pod["x-kubernetes-group-version-kind"],
            json!({"group": "", "kind": "Pod", "version": "v1"})
        );
    }

    #[test]
    fn explain_can_walk_to_runtime_class_name() {
        let api = OpenApi::build().unwrap();
        let d = doc(&api, "api/v1");
        let gvk = &d["paths"]["/api/v1/pods"]["get"]["x-kubernetes-group-version-kind"];
        let schemas = d["components"]["schemas"].as_object().unwrap();
        let pod = schemas
            .values()
            .find(|s| {
                s["x-kubernetes-group-version-kind"]
                    .as_array()
                    .is_some_and(|l| l.contains(gvk))
            })
            .unwrap();
        let spec = &pod["properties"]["spec"];
        assert!(
            spec.get("$ref").is_none(),
            "described refs are wrapped in allOf"
        );
        assert!(spec["allOf"][0]["$ref"].is_string());
        let spec = resolve(&d, spec);
        assert_eq!(spec["properties"]["runtimeClassName"]["type"], "string");
        let containers = &spec["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        let container = resolve(&d, &containers["items"]);
        assert!(container["properties"]["image"].is_object());
        for name in [
            schemas::STATUS,
            schemas::DELETE_OPTIONS,
            schemas::WATCH_EVENT,
            "io.k8s.api.core.v1.PodList",
            "io.k8s.api.policy.v1.Eviction",
        ] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
    }
}
