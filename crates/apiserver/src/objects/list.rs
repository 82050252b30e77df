//! List: selectors, pagination with continue tokens, resourceVersion rules.

use super::codec;
use crate::request::Query;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};
use api::ResourceInfo;
use api::selector::{FieldSelector, LabelSelector};
use base64::Engine;
use serde_json::{Value, json};

/// One page of a list: the stored items, not yet decoded.
#[derive(Debug)]
pub struct Page {
    pub items: Vec<store::KeyValue>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<u64>,
}

/// The selectors of a list or watch.
pub struct Selectors {
    info: &'static ResourceInfo,
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
}

impl Selectors {
    /// Parses `labelSelector` and `fieldSelector` (400 when malformed).
    pub fn from_query(info: &'static ResourceInfo, query: &Query) -> ApiResult<Self> {
        let labels = query
            .get("labelSelector")
            .map(LabelSelector::parse)
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let fields = query
            .get("fieldSelector")
            .map(|s| FieldSelector::parse_for(info, s))
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok(Self {
            info,
            labels,
            fields,
        })
    }

    /// Whether no selector was given.
    pub fn is_empty(&self) -> bool {
        self.labels.is_none() && self.fields.is_none()
    }

    /// Whether `obj` matches every selector.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.as_ref().is_none_or(|s| s.matches_object(obj))
            && self
                .fields
                .as_ref()
                .is_none_or(|s| s.matches(self.info, obj))
    }

    /// Whether a stored object matches, decoding no more of it than needed.
    pub fn matches_stored(&self, kv: &store::KeyValue) -> ApiResult<bool> {
        if self.fields.is_some() {
            return Ok(self.matches(&codec::decode_as(self.info, kv)?));
        }
        match &self.labels {
            None => Ok(true),
            Some(sel) => Ok(sel.matches(codec::peek_meta(kv)?.labels.as_ref())),
        }
    }
}

fn encode_continue(rv: u64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": start});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_continue(token: &str) -> ApiResult<(u64, String)> {
    let bad = || ApiError::BadRequest(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(bad)?;
    let start = v
        .get("start")
        .and_then(Value::as_str)
        .ok_or_else(bad)?
        .to_string();
    Ok((rv, start))
}

/// Picks the revision a list reads at from `resourceVersion` and
/// `resourceVersionMatch`; `None` means the newest.
fn list_revision(api: &Api, query: &Query) -> ApiResult<Option<u64>> {
    let rv = codec::parse_rv(query.get("resourceVersion"))?;
    let current = api.store.current_revision();
    match query.get("resourceVersionMatch") {
        Some(_) if rv.is_none() => Err(ApiError::BadRequest(
            "resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
        )),
        Some("Exact") if rv == Some(0) => Err(ApiError::BadRequest(
            "resourceVersionMatch \"Exact\" is forbidden for resourceVersion \"0\"".into(),
        )),
        Some("Exact") => Ok(rv),
        None | Some("NotOlderThan") => match rv {
            Some(n) if n > current => Err(ApiError::TooLargeResourceVersion {
                requested: n,
                current,
            }),
            _ => Ok(None),
        },
        Some(other) => Err(ApiError::BadRequest(format!(
            "resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\""
        ))),
    }
}

/// Lists objects of `info` in `ns` (all namespaces when `None`).
pub async fn list(
    api: &Api,
    info: &'static ResourceInfo,
    ns: Option<&str>,
    query: &Query,
) -> ApiResult<Page> {
    let selectors = Selectors::from_query(info, query)?;
    let limit = query.int("limit")?.filter(|l| *l > 0).map(|l| l as usize);
    let (mut revision, mut start_after) = match query.get("continue") {
        Some(token) => {
            let (rv, start) = decode_continue(token)?;
            (Some(rv), Some(start))
        }
        None => (list_revision(api, query)?, None),
    };
    let prefix = info.namespace_prefix(ns);
    let mut items = Vec::new();
    loop {
        let want = limit.map(|l| l - items.len());
        let page = api
            .store
            .list(store::ListOptions {
                prefix: prefix.clone(),
                start_after: start_after.clone(),
                limit: want,
                revision,
            })
            .await
            .map_err(|e| match e {
                store::Error::Compacted { .. } if query.get("continue").is_some() => {
                    ApiError::Expired {
                        requested: revision.unwrap_or(0),
                        compacted: api.store.compacted_revision(),
                    }
                }
                other => ApiError::from(other),
            })?;
        revision = Some(page.revision);
        let last_key = page.items.last().map(|kv| kv.key.clone());
        let remaining_in_store = page.remaining;
        for kv in page.items {
            if selectors.matches_stored(&kv)? {
                items.push(kv);
            }
        }
        let rv = page.revision;
        match (limit, last_key) {
            (Some(l), Some(last)) if remaining_in_store > 0 => {
                if items.len() >= l {
                    let remaining = selectors.is_empty().then_some(remaining_in_store as u64);
                    return Ok(Page {
                        items,
                        resource_version: rv,
                        continue_token: Some(encode_continue(rv, &last)),
                        remaining,
                    });
                }
                start_after = Some(last);
            }
            _ => {
                return Ok(Page {
                    items,
                    resource_version: rv,
                    continue_token: None,
                    remaining: None,
                });
            }
        }
    }
}

impl Page {
    /// The items decoded as `info` serves them.
    pub fn objects(&self, info: &'static ResourceInfo) -> ApiResult<Vec<Value>> {
        self.items
            .iter()
            .map(|kv| codec::decode_as(info, kv))
            .collect()
    }

    fn metadata(&self) -> Value {
        let mut meta = json!({"resourceVersion": self.resource_version.to_string()});
        if let Some(c) = &self.continue_token {
            meta["continue"] = json!(c);
        }
        if let Some(r) = self.remaining {
            meta["remainingItemCount"] = json!(r);
        }
        meta
    }

    /// The list as JSON bytes. Items are spliced from storage without being
    /// parsed, so a large list costs little more than copying it.
    pub fn to_json(&self, info: &'static ResourceInfo) -> ApiResult<Vec<u8>> {
        let head = json!({"kind": info.list_kind, "apiVersion": info.api_version(), "metadata": self.metadata()});
        let mut out = serde_json::to_vec(&head).map_err(|e| ApiError::Internal(e.to_string()))?;
        out.pop(); // the closing brace
        out.extend_from_slice(b",\"items\":[");
        out.reserve(self.items.iter().map(|kv| kv.value.len() + 32).sum());
        for (i, kv) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if info.is_converted() || !codec::splice(kv, &mut out) {
                let obj = codec::decode_as(info, kv)?;
                serde_json::to_writer(&mut out, &obj)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
            }
        }
        out.extend_from_slice(b"]}");
        Ok(out)
    }

    /// The list with items replaced by `items` (PartialObjectMetadata, ...).
    pub fn with_items(&self, kind: &str, api_version: &str, items: Vec<Value>) -> Value {
        json!({"kind": kind, "apiVersion": api_version, "metadata": self.metadata(), "items": items})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = encode_continue(42, "/core/pods/default/web-7");
        assert_eq!(
            decode_continue(&t).unwrap(),
            (42, "/core/pods/default/web-7".to_string())
        );
        assert!(decode_continue("not-a-token").is_err());
    }
}
