//! Namespace deletion: a terminating namespace is emptied of every
//! namespaced object, then its `kubernetes` finalizer is removed and it goes.
//! (The controllers crate takes this over with the other controllers.)

use crate::objects::{self, DeleteOptions, codec};
use crate::state::Api;
use crate::status::ApiResult;
use api::RESOURCES;
use serde_json::{Value, json};
use std::time::Duration;

/// Runs until shutdown: watches namespaces and finishes their deletion.
pub async fn run(api: Api) {
    let Some(info) = api::registry::find("", "v1", "namespaces") else {
        return;
    };
    loop {
        if api.shutdown.is_cancelled() {
            return;
        }
        if let Err(e) = resync(&api).await {
            tracing::warn!(error = %e, "namespace cleanup failed; retrying");
        }
        // wake on any namespace change, or every few seconds to retry
        let from = api.store.current_revision();
        let mut events = match api.store.watch(&info.key_prefix(), from).await {
            Ok(w) => w,
            Err(_) => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        tokio::select! {
            _ = api.shutdown.cancelled() => return,
            _ = events.next() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
}

async fn resync(api: &Api) -> ApiResult<()> {
    let Some(info) = api::registry::find("", "v1", "namespaces") else {
        return Ok(());
    };
    let page = api
        .store
        .list(store::ListOptions {
            prefix: info.key_prefix(),
            ..Default::default()
        })
        .await?;
    for kv in &page.items {
        let ns = codec::decode(kv)?;
        if codec::meta_str(&ns, "deletionTimestamp").is_some() {
            finish(api, &ns).await?;
        }
    }
    Ok(())
}

/// Deletes what is in the namespace; once empty, drops the finalizer.
async fn finish(api: &Api, ns: &Value) -> ApiResult<()> {
    let name = codec::meta_str(ns, "name").unwrap_or("").to_string();
    let mut left = 0usize;
    let mut seen = Vec::new();
    for info in RESOURCES.iter().filter(|r| r.namespaced && r.is_stored()) {
        if seen.contains(&info.storage) {
            continue;
        }
        seen.push(info.storage);
        let prefix = info.namespace_prefix(Some(&name));
        let page = api
            .store
            .list(store::ListOptions {
                prefix,
                ..Default::default()
            })
            .await?;
        for kv in &page.items {
            left += 1;
            let obj = codec::decode(kv)?;
            if codec::meta_str(&obj, "deletionTimestamp").is_some() {
                continue;
            }
            let obj_name = codec::meta_str(&obj, "name").unwrap_or("").to_string();
            let opts = DeleteOptions {
                propagation: Some("Background".into()),
                ..Default::default()
            };
            match objects::delete(api, info, Some(&name), &obj_name, &opts).await {
                Ok(_) | Err(crate::status::ApiError::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(namespace = %name, object = %obj_name, error = %e, "namespace cleanup")
                }
            }
        }
    }
    if left > 0 {
        return Ok(());
    }
    // empty: remove the `kubernetes` finalizer, then the namespace itself
    let Some(info) = api::registry::find("", "v1", "namespaces") else {
        return Ok(());
    };
    let key = info.key(None, &name);
    let Some(kv) = api.store.get(&key).await? else {
        return Ok(());
    };
    let mut obj = codec::decode(&kv)?;
    let finalizers: Vec<Value> = obj
        .pointer("/spec/finalizers")
        .and_then(Value::as_array)
        .map(|f| f.iter().filter(|v| *v != "kubernetes").cloned().collect())
        .unwrap_or_default();
    obj["spec"]["finalizers"] = json!(finalizers);
    let meta_finalizers = obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    let result = if finalizers.is_empty() && !meta_finalizers {
        api.store.delete(&key, Some(kv.mod_revision)).await
    } else {
        api.store
            .update(&key, codec::encode(&obj)?, Some(kv.mod_revision))
            .await
    };
    match result {
        Ok(_) | Err(store::Error::Conflict { .. } | store::Error::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
