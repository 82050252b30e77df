//! Objects and lists in the representation the client asked for.

use crate::body::Want;
use crate::objects::list::{Page, list_object};
use crate::request::Query;
use api::ResourceInfo;
use api::table::IncludeObject;
use serde_json::{Value, json};

fn include_object(query: &Query) -> IncludeObject {
    match query.get("includeObject") {
        Some("None") => IncludeObject::None,
        Some("Object") => IncludeObject::Object,
        _ => IncludeObject::Metadata,
    }
}

/// PartialObjectMetadata of an object.
pub fn partial_metadata(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]})
}

/// One object as wanted.
pub fn object(info: &'static ResourceInfo, obj: Value, want: Want, query: &Query) -> Value {
    match want {
        Want::Object => obj,
        Want::Metadata => partial_metadata(&obj),
        Want::Table => {
            let rv = obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            api::table::table(
                info,
                &[&obj],
                jiff::Timestamp::now(),
                &rv,
                None,
                None,
                include_object(query),
            )
        }
    }
}

/// A list page as wanted.
pub fn list(info: &'static ResourceInfo, page: Page, want: Want, query: &Query) -> Value {
    match want {
        Want::Object => list_object(info, page),
        Want::Metadata => {
            let mut l = list_object(info, page);
            let items: Vec<Value> = l["items"]
                .as_array()
                .map(|a| a.iter().map(partial_metadata).collect())
                .unwrap_or_default();
            l["items"] = json!(items);
            l["kind"] = json!("PartialObjectMetadataList");
            l["apiVersion"] = json!("meta.k8s.io/v1");
            l
        }
        Want::Table => {
            let rows: Vec<&Value> = page.items.iter().collect();
            api::table::table(
                info,
                &rows,
                jiff::Timestamp::now(),
                &page.resource_version.to_string(),
                page.continue_token.as_deref(),
                page.remaining,
                include_object(query),
            )
        }
    }
}
