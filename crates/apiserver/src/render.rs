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

/// Renders one item of a list.
type RowFn = Box<dyn Fn(&Value) -> Value>;

/// A list page as wanted, as JSON bytes. Tables and metadata lists decode
/// one item at a time, so a large list never holds every object at once.
pub fn list(
    info: &'static ResourceInfo,
    page: Page,
    want: Want,
    query: &Query,
) -> ApiResult<Vec<u8>> {
    let now = jiff::Timestamp::now();
    let include = include_object(query);
    let (head, row): (Value, RowFn) = match want {
        Want::Object => return page.to_json(info),
        Want::Metadata => (
            page.with_items("PartialObjectMetadataList", "meta.k8s.io/v1", Vec::new()),
            Box::new(partial_metadata),
        ),
        Want::Table => (
            api::table::table(
                info,
                &[],
                now,
                &page.resource_version.to_string(),
                page.continue_token.as_deref(),
                page.remaining,
                include,
            ),
            Box::new(move |obj: &Value| api::table::table_row(info, obj, now, include)),
        ),
    };
    // the head ends with its (empty) item array: `...[]}`
    let mut out = serde_json::to_vec(&head).map_err(|e| ApiError::Internal(e.to_string()))?;
    if !out.ends_with(b"[]}") {
        return Err(ApiError::Internal(
            "list head does not end with its items".into(),
        ));
    }
    out.truncate(out.len() - 2);
    for (i, kv) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let obj = crate::objects::codec::decode_as(info, kv)?;
        serde_json::to_writer(&mut out, &row(&obj))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}
