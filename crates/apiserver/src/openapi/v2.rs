//! OpenAPI v2 (Swagger 2.0): one document with every path and definition,
//! served as JSON or as gnostic protobuf (kubectl 1.27/1.28 use the latter
//! for the `fieldValidation` check and for client-side validation).

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::model::{Body, Location, Operation, PATCH_TYPES, Param, Section};
use super::schemas::{self, Catalog, REF_PREFIX};
use super::v3::OpenApi;
use super::{API_LEVEL, JSON_CONTENT_TYPE};

const V2_PREFIX: &str = "#/definitions/";

impl OpenApi {
    /// The Swagger 2.0 document as gnostic `openapi.v2.Document` protobuf
    /// (Content-Type [`super::V2_PROTOBUF_CONTENT_TYPE`]).
    pub fn v2_protobuf(&self) -> Bytes {
        self.v2_protobuf.bytes()
    }

    /// The Swagger 2.0 document as JSON.
    pub fn v2_json(&self) -> Bytes {
        self.v2_json.bytes()
    }

    /// ETag of the protobuf document.
    pub fn v2_protobuf_hash(&self) -> &str {
        self.v2_protobuf.hash()
    }

    /// ETag of the JSON document.
    pub fn v2_json_hash(&self) -> &str {
        self.v2_json.hash()
    }
}

/// The whole Swagger 2.0 document.
pub(super) fn document(catalog: &Catalog, sections: &[Section]) -> Value {
    let mut paths = Map::new();
    for route in sections.iter().flat_map(|s| &s.routes) {
        let mut item = Map::new();
        for op in &route.ops {
            item.insert(op.method.key().into(), operation(op));
        }
        if !route.params.is_empty() {
            item.insert(
                "parameters".into(),
                route.params.iter().map(parameter).collect(),
            );
        }
        paths.insert(route.path.clone(), Value::Object(item));
    }
    let mut names: Vec<&String> = catalog.all().keys().collect();
    names.sort();
    let mut definitions = Map::new();
    for name in names {
        let mut def = catalog.all()[name].clone();
        rewrite_refs(&mut def);
        definitions.insert(name.clone(), def);
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": API_LEVEL},
        "paths": paths,
        "definitions": definitions,
    })
}

fn rewrite_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(r) if k == "$ref" => {
                        if let Some(name) = r.strip_prefix(REF_PREFIX) {
                            *r = format!("{V2_PREFIX}{name}");
                        }
                    }
                    _ => rewrite_refs(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_refs),
        _ => {}
    }
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{V2_PREFIX}{name}") })
}

fn operation(op: &Operation) -> Value {
    let mut m = Map::new();
    m.insert("description".into(), op.description.clone().into());
    let consumes: Vec<&str> = match op.body {
        Some(Body::Patch) => PATCH_TYPES.to_vec(),
        _ => vec!["*/*"],
    };
    m.insert("consumes".into(), json!(consumes));
    m.insert("produces".into(), json!([JSON_CONTENT_TYPE]));
    m.insert("schemes".into(), json!(["https"]));
    m.insert("tags".into(), json!([op.tag]));
    m.insert("operationId".into(), op.id.clone().into());
    let mut params: Vec<Value> = Vec::new();
    match &op.body {
        Some(Body::Object { schema, required }) => {
            params.push(json!({"name": "body", "in": "body", "required": required, "schema": schema_ref(schema)}));
        }
        Some(Body::Patch) => {
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": schema_ref(schemas::PATCH)}));
        }
        None => {}
    }
    params.extend(op.params.iter().map(parameter));
    if !params.is_empty() {
        m.insert("parameters".into(), Value::Array(params));
    }
    let mut responses = Map::new();
    for (code, text, schema) in &op.responses {
        let mut r = Map::new();
        r.insert("description".into(), (*text).into());
        if let Some(s) = schema {
            r.insert("schema".into(), schema_ref(s));
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
    m.insert("uniqueItems".into(), true.into());
    m.insert("type".into(), p.ty.into());
    m.insert("description".into(), p.description.clone().into());
    m.insert("name".into(), p.name.into());
    match p.location {
        Location::Path => {
            m.insert("in".into(), "path".into());
            m.insert("required".into(), true.into());
        }
        Location::Query => {
            m.insert("in".into(), "query".into());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::super::gnostic::{self, non_body_parameter, parameter, parameters_item};
    use super::*;

    fn decoded() -> gnostic::Document {
        let api = OpenApi::build().unwrap();
        gnostic::Document::decode(api.v2_protobuf()).unwrap()
    }

    fn ext<'a>(list: &'a [gnostic::NamedAny], name: &str) -> Option<&'a str> {
        list.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value.as_ref())
            .map(|a| a.yaml.as_str())
    }

    #[test]
    fn json_and_protobuf_agree_on_the_shape() {
        let api = OpenApi::build().unwrap();
        let json: Value = serde_json::from_slice(&api.v2_json()).unwrap();
        let doc = gnostic::Document::decode(api.v2_protobuf()).unwrap();
        assert_eq!(doc.swagger, "2.0");
        let paths = doc.paths.as_ref().unwrap();
        assert_eq!(paths.path.len(), json["paths"].as_object().unwrap().len());
        let defs = doc.definitions.as_ref().unwrap();
        assert_eq!(
            defs.additional_properties.len(),
            json["definitions"].as_object().unwrap().len()
        );
    }

    #[test]
    fn patch_of_pods_lists_field_validation_like_the_v2_verifier_wants() {
        let doc = decoded();
        let paths = doc.paths.unwrap();
        let pod_patch = paths
            .path
            .iter()
            .filter_map(|p| p.value.as_ref()?.patch.as_ref())
            .find(|op| {
                ext(&op.vendor_extension, "x-kubernetes-group-version-kind")
                    .and_then(|y| serde_json::from_str::<Value>(y).ok())
                    .is_some_and(|v| v == json!({"group": "", "kind": "Pod", "version": "v1"}))
            })
            .unwrap();
        assert!(
            pod_patch
                .consumes
                .iter()
                .any(|c| c == "application/strategic-merge-patch+json")
        );
        let names: Vec<&str> = pod_patch
            .parameters
            .iter()
            .filter_map(|p| match p.oneof.as_ref()? {
                parameters_item::Oneof::Parameter(gnostic::Parameter {
                    oneof: Some(parameter::Oneof::NonBodyParameter(nb)),
                }) => match nb.oneof.as_ref()? {
                    non_body_parameter::Oneof::QueryParameterSubSchema(q) => Some(q.name.as_str()),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert!(names.contains(&"fieldValidation"), "{names:?}");
        assert!(names.contains(&"force"));
    }

    #[test]
    fn pod_definition_is_complete() {
        let doc = decoded();
        let defs = doc.definitions.unwrap().additional_properties;
        let find = |n: &str| {
            defs.iter()
                .find(|d| d.name == n)
                .and_then(|d| d.value.clone())
                .unwrap()
        };
        let pod = find("io.k8s.api.core.v1.Pod");
        let gvk: Value = serde_json::from_str(
            ext(&pod.vendor_extension, "x-kubernetes-group-version-kind").unwrap(),
        )
        .unwrap();
        assert_eq!(gvk, json!([{"group": "", "kind": "Pod", "version": "v1"}]));
        let props = pod.properties.unwrap().additional_properties;
        let spec = props
            .iter()
            .find(|p| p.name == "spec")
            .and_then(|p| p.value.clone())
            .unwrap();
        assert_eq!(spec.reference, "#/definitions/io.k8s.api.core.v1.PodSpec");
        let pod_spec = find("io.k8s.api.core.v1.PodSpec");
        assert_eq!(pod_spec.required, vec!["containers".to_string()]);
        let props = pod_spec.properties.unwrap().additional_properties;
        let containers = props
            .iter()
            .find(|p| p.name == "containers")
            .and_then(|p| p.value.clone())
            .unwrap();
        assert_eq!(containers.r#type.unwrap().value, vec!["array".to_string()]);
        assert_eq!(
            containers.items.unwrap().schema[0].reference,
            "#/definitions/io.k8s.api.core.v1.Container"
        );
        assert_eq!(
            ext(&containers.vendor_extension, "x-kubernetes-patch-merge-key"),
            Some("\"name\"")
        );
        let container = find("io.k8s.api.core.v1.Container");
        assert!(container.required.contains(&"name".to_string()));
        let labels = find("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            .properties
            .unwrap()
            .additional_properties;
        let labels = labels
            .iter()
            .find(|p| p.name == "labels")
            .and_then(|p| p.value.clone())
            .unwrap();
        let values = labels.additional_properties.unwrap();
        assert!(matches!(
            values.oneof,
            Some(gnostic::additional_properties_item::Oneof::Schema(_))
        ));
        for d in &defs {
            let mut refs = Vec::new();
            collect(d.value.as_ref().unwrap(), &mut refs);
            for r in refs {
                let name = r.strip_prefix(V2_PREFIX).unwrap();
                assert!(defs.iter().any(|d| d.name == name), "dangling {r}");
            }
        }
    }

    fn collect(s: &gnostic::Schema, out: &mut Vec<String>) {
        if !s.reference.is_empty() {
            out.push(s.reference.clone());
        }
        for p in s.properties.iter().flat_map(|p| &p.additional_properties) {
            if let Some(v) = &p.value {
                collect(v, out);
            }
        }
        for i in s.items.iter().flat_map(|i| &i.schema).chain(&s.all_of) {
            collect(i, out);
        }
        if let Some(gnostic::additional_properties_item::Oneof::Schema(a)) = s
            .additional_properties
            .as_ref()
            .and_then(|a| a.oneof.as_ref())
        {
            collect(a, out);
        }
    }
}
