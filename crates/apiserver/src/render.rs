//! Objects and lists in the representation the client asked for.

use crate::body::Want;
use crate::objects::list::Page;
use crate::request::Query;
use crate::status::{ApiError, ApiResult};
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

/// A list page as wanted, as JSON bytes.
pub fn list(
    info: &'static ResourceInfo,
    page: Page,
    want: Want,
    query: &Query,
) -> ApiResult<Vec<u8>> {
    let value = match want {
        Want::Object => return page.to_json(info),
        Want::Metadata => {
            let items = page.objects(info)?.iter().map(partial_metadata).collect();
            page.with_items("PartialObjectMetadataList", "meta.k8s.io/v1", items)
        }
        Want::Table => {
            let objects = page.objects(info)?;
            let rows: Vec<&Value> = objects.iter().collect();
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
    };
    serde_json::to_vec(&value).map_err(|e| ApiError::Internal(e.to_string()))
}
