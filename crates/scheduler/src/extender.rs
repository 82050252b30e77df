//! Scheduler extenders: HTTP services consulted after the plugins, in
//! Kubernetes' wire format (`k8s.io/kube-scheduler/extender/v1`).
//!
//! Each call is a `POST {urlPrefix}/{verb}` with a JSON body, answered with
//! `200 OK` and JSON; the whole exchange is bounded by `httpTimeout`.
//! `filter` and `prioritize` send `ExtenderArgs` (`Pod`, and `Nodes` as a
//! NodeList or, for a `nodeCacheCapable` extender, `NodeNames`); `bind`
//! sends `ExtenderBindingArgs`. Field names are capitalized as Go writes
//! them; replies are also read in camelCase (Go reads them case-blind).
//!
//! What to do when a call fails is the caller's choice: Kubernetes skips an
//! `ignorable` extender that fails (or times out) and otherwise fails the
//! pod's scheduling cycle; a failed prioritize call is always skipped.
//! Prioritize scores (0–[`MAX_EXTENDER_PRIORITY`]) come back multiplied by
//! the extender's weight; Kubernetes then scales them by
//! `MaxNodeScore / MaxExtenderPriority` (10) before adding them to the
//! plugins' scores. Only plain HTTP is implemented.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde::Serialize;
use serde::de::DeserializeOwned;

use wire::{BindingArgs, BindingReply, ExtenderArgs, FilterReply, HostPriority};

/// `httpTimeout` when none is set (Kubernetes' `DefaultExtenderTimeout`).
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// The highest score an extender gives a node (Kubernetes'
/// `MaxExtenderPriority`).
pub const MAX_EXTENDER_PRIORITY: i64 = 10;

/// One entry of the configuration's `extenders`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtenderConfig {
    /// `http://host:port/path`; verbs are appended after a `/`.
    pub url_prefix: String,
    pub filter_verb: Option<String>,
    pub prioritize_verb: Option<String>,
    pub bind_verb: Option<String>,
    /// Multiplies prioritize scores; positive when `prioritize_verb` is set.
    pub weight: i64,
    pub http_timeout: Duration,
    /// The extender keeps its own copy of the nodes: send names only.
    pub node_cache_capable: bool,
    /// A failing extender is skipped instead of failing scheduling.
    pub ignorable: bool,
    /// Extended resources the extender manages; when non-empty, only pods
    /// requesting one of them are sent to it.
    pub managed_resources: Vec<String>,
}

impl Default for ExtenderConfig {
    fn default() -> Self {
        Self {
            url_prefix: String::new(),
            filter_verb: None,
            prioritize_verb: None,
            bind_verb: None,
            weight: 0,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            node_cache_capable: false,
            ignorable: false,
            managed_resources: Vec::new(),
        }
    }
}

/// A failed extender call; every message names the extender's URL.
#[derive(Debug, thiserror::Error)]
pub enum ExtenderError {
    #[error("extender {url}: {verb} timed out after {timeout:?}")]
    Timeout {
        url: String,
        verb: String,
        timeout: Duration,
    },
    /// No connection, or the exchange broke off.
    #[error("extender {url}: {verb} failed: {message}")]
    Request {
        url: String,
        verb: String,
        message: String,
    },
    #[error("extender {url}: {verb} returned HTTP {status}{}", excerpt(.body))]
    Status {
        url: String,
        verb: String,
        status: u16,
        body: String,
    },
    #[error("extender {url}: {verb} returned invalid JSON: {message}")]
    Json {
        url: String,
        verb: String,
        message: String,
    },
    /// The extender's own `Error`.
    #[error("extender {url}: {verb}: {message}")]
    Extender {
        url: String,
        verb: String,
        message: String,
    },
    /// A filter reply naming a node that was not sent.
    #[error("extender {url}: {verb} returned node {node:?}, which was not sent to it")]
    UnknownNode {
        url: String,
        verb: String,
        node: String,
    },
    #[error("extender {url} has no bindVerb")]
    NotBinder { url: String },
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(200) {
        _ if body.is_empty() => String::new(),
        Some((i, _)) => format!(": {}…", &body[..i]),
        None => format!(": {body}"),
    }
}

/// What a filter call left of the nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterResult {
    /// Names of the nodes that passed, in the extender's order.
    pub feasible: Vec<String>,
    /// Node → reason (`FailedNodes`): preemption may help.
    pub failed: BTreeMap<String, String>,
    /// Node → reason (`FailedAndUnresolvableNodes`): preemption cannot help.
    pub unresolvable: BTreeMap<String, String>,
}

/// An HTTP extender; cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Extender {
    config: Arc<ExtenderConfig>,
    client: Client<HttpConnector, Full<Bytes>>,
}

fn node_name(node: &Node) -> &str {
    node.metadata.name.as_deref().unwrap_or_default()
}

/// The error and its causes, `: `-joined.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s = format!("{s}: {c}");
        cause = c.source();
    }
    s
}

impl Extender {
    /// An extender for `config` (a zero `http_timeout` means the default).
    pub fn new(mut config: ExtenderConfig) -> Self {
        if config.http_timeout.is_zero() {
            config.http_timeout = DEFAULT_HTTP_TIMEOUT;
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Self {
            config: Arc::new(config),
            client,
        }
    }

    pub fn config(&self) -> &ExtenderConfig {
        &self.config
    }

    /// The extender's name: its URL prefix.
    pub fn name(&self) -> &str {
        &self.config.url_prefix
    }

    /// Whether `pod` concerns the extender: always when it manages no
    /// resources, else when a container or init container requests or
    /// limits one of them.
    pub fn interested(&self, pod: &Pod) -> bool {
        let managed = &self.config.managed_resources;
        if managed.is_empty() {
            return true;
        }
        let Some(spec) = &pod.spec else { return false };
        let inits = spec.init_containers.iter().flatten();
        spec.containers.iter().chain(inits).any(|c| {
            let Some(r) = &c.resources else { return false };
            [&r.requests, &r.limits]
                .into_iter()
                .flatten()
                .any(|m| m.keys().any(|k| managed.contains(k)))
        })
    }

    /// Whether the extender binds pods (has a `bindVerb`).
    pub fn is_binder(&self) -> bool {
        self.config.bind_verb.is_some()
    }

    /// Which of `nodes` can take `pod`. Without a `filterVerb` (or without
    /// nodes) all pass and nothing is sent.
    pub async fn filter(
        &self,
        pod: &Pod,
        nodes: &[Arc<Node>],
    ) -> Result<FilterResult, ExtenderError> {
        let verb = match &self.config.filter_verb {
            Some(verb) if !nodes.is_empty() => verb,
            _ => {
                let feasible = nodes.iter().map(|n| node_name(n).to_owned()).collect();
                return Ok(FilterResult {
                    feasible,
                    ..FilterResult::default()
                });
            }
        };
        let names_only = self.config.node_cache_capable;
        let args = ExtenderArgs::new(pod, nodes, names_only);
        let mut reply: FilterReply = self.send(verb, &args).await?;
        if let Some(message) = reply.error.take().filter(|e| !e.is_empty()) {
            let (url, verb) = self.at(verb);
            return Err(ExtenderError::Extender { url, verb, message });
        }
        let feasible = reply.passed(names_only);
        let sent: HashSet<&str> = nodes.iter().map(|n| node_name(n)).collect();
        if let Some(node) = feasible.iter().find(|n| !sent.contains(n.as_str())) {
            let ((url, verb), node) = (self.at(verb), node.clone());
            return Err(ExtenderError::UnknownNode { url, verb, node });
        }
        Ok(FilterResult {
            feasible,
            failed: reply.failed.unwrap_or_default(),
            unresolvable: reply.unresolvable.unwrap_or_default(),
        })
    }

    /// The extender's scores of `nodes` as `(host, score × weight)`; empty
    /// without a `prioritizeVerb` (or without nodes).
    pub async fn prioritize(
        &self,
        pod: &Pod,
        nodes: &[Arc<Node>],
    ) -> Result<Vec<(String, i64)>, ExtenderError> {
        let verb = match &self.config.prioritize_verb {
            Some(verb) if !nodes.is_empty() => verb,
            _ => return Ok(Vec::new()),
        };
        let args = ExtenderArgs::new(pod, nodes, self.config.node_cache_capable);
        let reply: Option<Vec<HostPriority>> = self.send(verb, &args).await?;
        let weight = self.config.weight;
        let scores = reply.unwrap_or_default().into_iter();
        Ok(scores
            .map(|h| (h.host, h.score.saturating_mul(weight)))
            .collect())
    }

    /// Has the extender bind `pod` to `node`.
    pub async fn bind(&self, pod: &Pod, node: &str) -> Result<(), ExtenderError> {
        let Some(verb) = &self.config.bind_verb else {
            let url = self.name().to_owned();
            return Err(ExtenderError::NotBinder { url });
        };
        let meta = &pod.metadata;
        let args = BindingArgs {
            pod_name: meta.name.as_deref().unwrap_or_default(),
            pod_namespace: meta.namespace.as_deref().unwrap_or_default(),
            pod_uid: meta.uid.as_deref().unwrap_or_default(),
            node,
        };
        let reply: BindingReply = self.send(verb, &args).await?;
        match reply.error.filter(|e| !e.is_empty()) {
            None => Ok(()),
            Some(message) => {
                let (url, verb) = self.at(verb);
                Err(ExtenderError::Extender { url, verb, message })
            }
        }
    }

    /// The extender's URL and `verb`, for an error.
    fn at(&self, verb: &str) -> (String, String) {
        (self.name().to_owned(), verb.to_owned())
    }

    /// POSTs `args` as JSON to `{urlPrefix}/{verb}` and reads the reply.
    async fn send<A: Serialize, R: DeserializeOwned>(
        &self,
        verb: &str,
        args: &A,
    ) -> Result<R, ExtenderError> {
        let failed = |message: String| {
            let (url, verb) = self.at(verb);
            ExtenderError::Request { url, verb, message }
        };
        let body = serde_json::to_vec(args).map_err(|e| failed(e.to_string()))?;
        let url = format!("{}/{verb}", self.config.url_prefix.trim_end_matches('/'));
        let request = http::Request::post(&url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| failed(format!("bad URL {url:?}: {e}")))?;
        let exchange = async {
            let response = self.client.request(request).await;
            let response = response.map_err(|e| failed(chain(&e)))?;
            let status = response.status();
            let body = response.into_body().collect().await;
            Ok((status, body.map_err(|e| failed(chain(&e)))?.to_bytes()))
        };
        let timeout = self.config.http_timeout;
        let Ok(result) = tokio::time::timeout(timeout, exchange).await else {
            let (url, verb) = self.at(verb);
            return Err(ExtenderError::Timeout { url, verb, timeout });
        };
        let (status, body) = result?;
        if status != http::StatusCode::OK {
            let ((url, verb), status) = (self.at(verb), status.as_u16());
            let body = String::from_utf8_lossy(&body).into_owned();
            return Err(ExtenderError::Status {
                url,
                verb,
                status,
                body,
            });
        }
        serde_json::from_slice(&body).map_err(|e| {
            let ((url, verb), message) = (self.at(verb), e.to_string());
            ExtenderError::Json { url, verb, message }
        })
    }
}

#[path = "extender_wire.rs"]
mod wire;

#[cfg(test)]
#[path = "extender_tests.rs"]
mod tests;
