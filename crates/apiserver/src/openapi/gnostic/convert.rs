//! Swagger 2.0 JSON to gnostic protobuf messages.

use prost::Message;
use serde_json::{Map, Value};

use super::super::OpenApiError;
use super::*;

/// Encodes a Swagger 2.0 JSON document as gnostic protobuf.
pub fn encode(doc: &Value) -> Result<Vec<u8>, OpenApiError> {
    Ok(document(doc)?.encode_to_vec())
}

/// Converts a Swagger 2.0 JSON document.
pub fn document(doc: &Value) -> Result<Document, OpenApiError> {
    let o = object(doc, "$")?;
    let paths = match o.get("paths") {
        Some(p) => {
            let mut out = Vec::new();
            for (name, item) in object(p, "$.paths")? {
                out.push(NamedPathItem {
                    name: name.clone(),
                    value: Some(path_item(item, name)?),
                });
            }
            Some(Paths {
                vendor_extension: Vec::new(),
                path: out,
            })
        }
        None => None,
    };
    let definitions = match o.get("definitions") {
        Some(d) => Some(Definitions {
            additional_properties: named_schemas(d, "$.definitions")?,
        }),
        None => None,
    };
    let info = match o.get("info") {
        Some(i) => {
            let i = object(i, "$.info")?;
            Some(Info {
                title: text(i, "title"),
                version: text(i, "version"),
                description: text(i, "description"),
                vendor_extension: extensions(i),
            })
        }
        None => None,
    };
    Ok(Document {
        swagger: text(o, "swagger"),
        info,
        host: text(o, "host"),
        base_path: text(o, "basePath"),
        schemes: texts(o, "schemes"),
        consumes: texts(o, "consumes"),
        produces: texts(o, "produces"),
        paths,
        definitions,
        vendor_extension: extensions(o),
    })
}

fn path_item(v: &Value, at: &str) -> Result<PathItem, OpenApiError> {
    let o = object(v, at)?;
    let op = |method: &str| {
        o.get(method)
            .map(|m| operation(m, &format!("{at}.{method}")))
            .transpose()
    };
    Ok(PathItem {
        reference: text(o, "$ref"),
        get: op("get")?,
        put: op("put")?,
        post: op("post")?,
        delete: op("delete")?,
        options: op("options")?,
        head: op("head")?,
        patch: op("patch")?,
        parameters: parameters(o, at)?,
        vendor_extension: extensions(o),
    })
}

fn operation(v: &Value, at: &str) -> Result<Operation, OpenApiError> {
    let o = object(v, at)?;
    let responses = match o.get("responses") {
        Some(r) => {
            let mut codes = Vec::new();
            for (code, resp) in object(r, at)? {
                if code.starts_with("x-") {
                    continue;
                }
                let ro = object(resp, at)?;
                let schema = ro.get("schema").map(|s| schema(s, at)).transpose()?;
                let response = Response {
                    description: text(ro, "description"),
                    schema: schema.map(|s| SchemaItem {
                        oneof: Some(schema_item::Oneof::Schema(Box::new(s))),
                    }),
                    vendor_extension: extensions(ro),
                };
                let value = ResponseValue {
                    oneof: Some(response_value::Oneof::Response(response)),
                };
                codes.push(NamedResponseValue {
                    name: code.clone(),
                    value: Some(value),
                });
            }
            Some(Responses {
                response_code: codes,
                vendor_extension: extensions(object(r, at)?),
            })
        }
        None => None,
    };
    Ok(Operation {
        tags: texts(o, "tags"),
        summary: text(o, "summary"),
        description: text(o, "description"),
        operation_id: text(o, "operationId"),
        produces: texts(o, "produces"),
        consumes: texts(o, "consumes"),
        parameters: parameters(o, at)?,
        responses,
        schemes: texts(o, "schemes"),
        deprecated: o
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        vendor_extension: extensions(o),
    })
}

fn parameters(o: &Map<String, Value>, at: &str) -> Result<Vec<ParametersItem>, OpenApiError> {
    let Some(list) = o.get("parameters") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| shape(at, "parameters must be an array"))?;
    let mut out = Vec::new();
    for p in list {
        let po = object(p, at)?;
        let param = match po.get("in").and_then(Value::as_str) {
            Some("body") => parameter::Oneof::BodyParameter(Box::new(BodyParameter {
                description: text(po, "description"),
                name: text(po, "name"),
                r#in: "body".into(),
                required: flag(po, "required"),
                schema: po.get("schema").map(|s| schema(s, at)).transpose()?,
                vendor_extension: extensions(po),
            })),
            Some("query") => non_body(non_body_parameter::Oneof::QueryParameterSubSchema(
                QueryParameterSubSchema {
                    required: flag(po, "required"),
                    r#in: "query".into(),
                    description: text(po, "description"),
                    name: text(po, "name"),
                    allow_empty_value: flag(po, "allowEmptyValue"),
                    r#type: text(po, "type"),
                    format: text(po, "format"),
                    unique_items: flag(po, "uniqueItems"),
                    vendor_extension: extensions(po),
                },
            )),
            Some("path") => non_body(non_body_parameter::Oneof::PathParameterSubSchema(
                PathParameterSubSchema {
                    required: flag(po, "required"),
                    r#in: "path".into(),
                    description: text(po, "description"),
                    name: text(po, "name"),
                    r#type: text(po, "type"),
                    format: text(po, "format"),
                    unique_items: flag(po, "uniqueItems"),
                    vendor_extension: extensions(po),
                },
            )),
            _ => return Err(shape(at, "parameters must be in body, query or path")),
        };
        out.push(ParametersItem {
            oneof: Some(parameters_item::Oneof::Parameter(Parameter {
                oneof: Some(param),
            })),
        });
    }
    Ok(out)
}

fn non_body(variant: non_body_parameter::Oneof) -> parameter::Oneof {
    parameter::Oneof::NonBodyParameter(NonBodyParameter {
        oneof: Some(variant),
    })
}

fn named_schemas(v: &Value, at: &str) -> Result<Vec<NamedSchema>, OpenApiError> {
    let mut out = Vec::new();
    for (name, s) in object(v, at)? {
        out.push(NamedSchema {
            name: name.clone(),
            value: Some(schema(s, &format!("{at}.{name}"))?),
        });
    }
    Ok(out)
}

/// Converts one JSON schema. Keywords Swagger 2.0 has no field for
/// (`nullable`, `oneOf`, ...) are dropped; `x-` keys become vendor extensions.
fn schema(v: &Value, at: &str) -> Result<Schema, OpenApiError> {
    let o = object(v, at)?;
    let number = |k: &str| o.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let int = |k: &str| o.get(k).and_then(Value::as_i64).unwrap_or(0);
    let r#type = match o.get("type") {
        Some(Value::String(t)) => Some(TypeItem {
            value: vec![t.clone()],
        }),
        Some(Value::Array(_)) => Some(TypeItem {
            value: texts(o, "type"),
        }),
        Some(_) => return Err(shape(at, "type must be a string or an array")),
        None => None,
    };
    let items = match o.get("items") {
        Some(Value::Array(list)) => Some(ItemsItem {
            schema: list
                .iter()
                .map(|s| schema(s, at))
                .collect::<Result<_, _>>()?,
        }),
        Some(s) => Some(ItemsItem {
            schema: vec![schema(s, &format!("{at}.items"))?],
        }),
        None => None,
    };
    let additional_properties = match o.get("additionalProperties") {
        Some(Value::Bool(b)) => Some(additional_properties_item::Oneof::Boolean(*b)),
        Some(s) => Some(additional_properties_item::Oneof::Schema(Box::new(schema(
            s,
            &format!("{at}.additionalProperties"),
        )?))),
        None => None,
    };
    let all_of = match o.get("allOf") {
        Some(Value::Array(list)) => list
            .iter()
            .map(|s| schema(s, at))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(shape(at, "allOf must be an array")),
        None => Vec::new(),
    };
    let properties = match o.get("properties") {
        Some(p) => Some(Properties {
            additional_properties: named_schemas(p, &format!("{at}.properties"))?,
        }),
        None => None,
    };
    Ok(Schema {
        reference: text(o, "$ref"),
        format: text(o, "format"),
        title: text(o, "title"),
        description: text(o, "description"),
        default: o.get("default").map(any),
        multiple_of: number("multipleOf"),
        maximum: number("maximum"),
        exclusive_maximum: flag(o, "exclusiveMaximum"),
        minimum: number("minimum"),
        exclusive_minimum: flag(o, "exclusiveMinimum"),
        max_length: int("maxLength"),
        min_length: int("minLength"),
        pattern: text(o, "pattern"),
        max_items: int("maxItems"),
        min_items: int("minItems"),
        unique_items: flag(o, "uniqueItems"),
        max_properties: int("maxProperties"),
        min_properties: int("minProperties"),
        required: texts(o, "required"),
        r#enum: o
            .get("enum")
            .and_then(Value::as_array)
            .map(|l| l.iter().map(any).collect())
            .unwrap_or_default(),
        additional_properties: additional_properties
            .map(|a| AdditionalPropertiesItem { oneof: Some(a) }),
        r#type,
        items,
        all_of,
        properties,
        discriminator: text(o, "discriminator"),
        read_only: flag(o, "readOnly"),
        example: o.get("example").map(any),
        vendor_extension: extensions(o),
    })
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, OpenApiError> {
    v.as_object().ok_or_else(|| shape(at, "expected an object"))
}

fn shape(at: &str, reason: &'static str) -> OpenApiError {
    OpenApiError::V2Shape {
        at: at.to_string(),
        reason,
    }
}

fn text(o: &Map<String, Value>, key: &str) -> String {
    o.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn texts(o: &Map<String, Value>, key: &str) -> Vec<String> {
    o.get(key)
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn flag(o: &Map<String, Value>, key: &str) -> bool {
    o.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn any(v: &Value) -> Any {
    Any {
        yaml: v.to_string(),
    }
}

fn extensions(o: &Map<String, Value>) -> Vec<NamedAny> {
    o.iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .map(|(k, v)| NamedAny {
            name: k.clone(),
            value: Some(any(v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn round_trips_through_protobuf() {
        let doc = json!({
            "swagger": "2.0",
            "info": {"title": "t", "version": "v"},
            "paths": {"/x": {"patch": {
                "consumes": ["application/merge-patch+json"],
                "parameters": [
                    {"name": "body", "in": "body", "required": true, "schema": {"$ref": "#/definitions/A"}},
                    {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true},
                ],
                "responses": {"200": {"description": "OK", "schema": {"$ref": "#/definitions/A"}}},
                "x-kubernetes-group-version-kind": {"group": "", "kind": "A", "version": "v1"},
            }}},
            "definitions": {"A": {
                "type": "object",
                "required": ["b"],
                "properties": {
                    "b": {"type": "array", "items": {"type": "string"}},
                    "m": {"type": "object", "additionalProperties": {"type": "integer", "format": "int32"}},
                    "e": {"type": "object", "properties": {}},
                },
                "x-kubernetes-group-version-kind": [{"group": "", "kind": "A", "version": "v1"}],
            }},
        });
        let bytes = encode(&doc).unwrap();
        let back = Document::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, document(&doc).unwrap());
        let a = back
            .definitions
            .unwrap()
            .additional_properties
            .remove(0)
            .value
            .unwrap();
        assert_eq!(
            a.vendor_extension[0].value.as_ref().unwrap().yaml,
            r#"[{"group":"","kind":"A","version":"v1"}]"#
        );
        let props = a.properties.unwrap().additional_properties;
        assert_eq!(
            props[0]
                .value
                .as_ref()
                .unwrap()
                .items
                .as_ref()
                .unwrap()
                .schema
                .len(),
            1
        );
        assert!(
            props[2].value.as_ref().unwrap().properties.is_some(),
            "empty properties stay present"
        );
        let op = back
            .paths
            .unwrap()
            .path
            .remove(0)
            .value
            .unwrap()
            .patch
            .unwrap();
        assert_eq!(op.parameters.len(), 2);
    }

    #[test]
    fn rejects_odd_shapes() {
        assert!(matches!(
            document(&json!([])),
            Err(OpenApiError::V2Shape { .. })
        ));
        let bad =
            json!({"paths": {"/x": {"get": {"parameters": [{"name": "a", "in": "cookie"}]}}}});
        assert!(document(&bad).is_err());
    }
}
