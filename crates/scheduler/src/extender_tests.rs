use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::*;

/// A request the test server saw: path, Content-Type, JSON body.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    content_type: String,
    body: Value,
}

struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(body: Value) -> Reply {
    Reply {
        status: 200,
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

type Handler = Arc<dyn Fn(&str, &Value) -> Reply + Send + Sync>;

/// Starts an HTTP/1 server on 127.0.0.1:0; returns its URL and the log.
async fn serve(
    handler: impl Fn(&str, &Value) -> Reply + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler: Handler = Arc::new(handler);
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (handler, log) = (handler.clone(), log.clone());
            let service = service_fn(move |req: Request<Incoming>| {
                let (handler, log) = (handler.clone(), log.clone());
                async move {
                    let path = req.uri().path().to_owned();
                    let content_type = req
                        .headers()
                        .get("content-type")
                        .map(|v| v.to_str().unwrap().to_owned());
                    let bytes = req.into_body().collect().await.unwrap().to_bytes();
                    let body: Value = serde_json::from_slice(&bytes).unwrap();
                    let reply = handler(&path, &body);
                    log.lock().unwrap().push(Seen {
                        path,
                        content_type: content_type.unwrap_or_default(),
                        body,
                    });
                    tokio::time::sleep(reply.delay).await;
                    let response = Response::builder()
                        .status(reply.status)
                        .body(Full::new(Bytes::from(reply.body)));
                    Ok::<_, Infallible>(response.unwrap())
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (url, seen)
}

fn pod(resources: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "uid-1"},
        "spec": {"containers": [{"name": "c", "image": "img", "resources": resources}]},
    }))
    .unwrap()
}

fn nodes(names: &[&str]) -> Vec<Arc<Node>> {
    names
        .iter()
        .map(|n| Arc::new(serde_json::from_value(json!({"metadata": {"name": n}})).unwrap()))
        .collect()
}

fn extender(url: &str, f: impl FnOnce(&mut ExtenderConfig)) -> Extender {
    let mut config = ExtenderConfig {
        url_prefix: url.to_owned(),
        ..ExtenderConfig::default()
    };
    f(&mut config);
    Extender::new(config)
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn filter_sends_nodes_and_reads_failures() {
    let (url, seen) = serve(|_, body| {
        let first = body["Nodes"]["items"][0].clone();
        ok(json!({
            "Nodes": {"metadata": {}, "items": [first]},
            "NodeNames": null,
            "FailedNodes": {"b": "no gpu"},
            "FailedAndUnresolvableNodes": {"c": "wrong rack"},
            "Error": "",
        }))
    })
    .await;
    let ext = extender(&format!("{url}/sched/"), |c| {
        c.filter_verb = Some("filter".into())
    });
    let result = ext
        .filter(&pod(json!({})), &nodes(&["a", "b", "c"]))
        .await
        .unwrap();
    assert_eq!(result.feasible, names(&["a"]));
    assert_eq!(
        result.failed,
        BTreeMap::from([("b".to_owned(), "no gpu".to_owned())])
    );
    assert_eq!(
        result.unresolvable,
        BTreeMap::from([("c".to_owned(), "wrong rack".to_owned())])
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/sched/filter");
    assert_eq!(seen[0].content_type, "application/json");
    let body = &seen[0].body;
    assert_eq!(body["Pod"]["metadata"]["name"], "web-0");
    assert_eq!(body["Nodes"]["items"].as_array().unwrap().len(), 3);
    assert_eq!(body["Nodes"]["items"][2]["metadata"]["name"], "c");
    assert_eq!(body["NodeNames"], Value::Null);
}

#[tokio::test]
async fn filter_node_cache_capable_uses_names() {
    let (url, seen) =
        serve(|_, _| ok(json!({"NodeNames": ["b"], "FailedNodes": {"a": "busy"}}))).await;
    let ext = extender(&url, |c| {
        c.filter_verb = Some("filter".into());
        c.node_cache_capable = true;
    });
    let result = ext
        .filter(&pod(json!({})), &nodes(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(result.feasible, names(&["b"]));
    assert_eq!(result.failed.len(), 1);
    let body = seen.lock().unwrap()[0].body.clone();
    assert_eq!(body["NodeNames"], json!(["a", "b"]));
    assert_eq!(body["Nodes"], Value::Null);
}

#[tokio::test]
async fn filter_rejects_nodes_it_did_not_send() {
    let (url, _) = serve(|_, _| ok(json!({"NodeNames": ["a", "zzz"]}))).await;
    let ext = extender(&url, |c| {
        c.filter_verb = Some("filter".into());
        c.node_cache_capable = true;
    });
    let e = ext
        .filter(&pod(json!({})), &nodes(&["a"]))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("extender {url}: filter returned node \"zzz\", which was not sent to it")
    );
}

#[tokio::test]
async fn no_verbs_means_no_calls() {
    // Nothing listens here; a call would fail.
    let ext = extender("http://127.0.0.1:9", |_| {});
    let result = ext
        .filter(&pod(json!({})), &nodes(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(result.feasible, names(&["a", "b"]));
    assert!(
        ext.prioritize(&pod(json!({})), &nodes(&["a"]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!ext.is_binder());
    let e = ext.bind(&pod(json!({})), "a").await.unwrap_err();
    assert_eq!(e.to_string(), "extender http://127.0.0.1:9 has no bindVerb");
    assert_eq!(ext.name(), "http://127.0.0.1:9");
}

#[tokio::test]
async fn filter_error_field() {
    let (url, _) = serve(|_, _| ok(json!({"Nodes": null, "Error": "quota service down"}))).await;
    let ext = extender(&url, |c| c.filter_verb = Some("filter".into()));
    let e = ext
        .filter(&pod(json!({})), &nodes(&["a"]))
        .await
        .unwrap_err();
    assert!(matches!(e, ExtenderError::Extender { .. }));
    assert_eq!(
        e.to_string(),
        format!("extender {url}: filter: quota service down")
    );
}

#[tokio::test]
async fn prioritize_multiplies_by_weight() {
    let (url, seen) =
        serve(|_, _| ok(json!([{"Host": "a", "Score": 3}, {"Host": "b", "Score": 10}]))).await;
    let ext = extender(&url, |c| {
        c.prioritize_verb = Some("prioritize".into());
        c.weight = 5;
    });
    let scores = ext
        .prioritize(&pod(json!({})), &nodes(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(scores, vec![("a".to_owned(), 15), ("b".to_owned(), 50)]);
    assert_eq!(seen.lock().unwrap()[0].path, "/prioritize");
}

#[tokio::test]
async fn bind_sends_the_pod_and_node() {
    let (url, seen) = serve(|_, body| {
        let error = if body["Node"] == "bad" {
            "node is gone"
        } else {
            ""
        };
        ok(json!({"Error": error}))
    })
    .await;
    let ext = extender(&url, |c| c.bind_verb = Some("bind".into()));
    assert!(ext.is_binder());
    ext.bind(&pod(json!({})), "n1").await.unwrap();
    let body = seen.lock().unwrap()[0].body.clone();
    assert_eq!(
        body,
        json!({"PodName": "web-0", "PodNamespace": "shop", "PodUID": "uid-1", "Node": "n1"})
    );
    let e = ext.bind(&pod(json!({})), "bad").await.unwrap_err();
    assert_eq!(e.to_string(), format!("extender {url}: bind: node is gone"));
}

#[tokio::test]
async fn timeout() {
    let (url, _) = serve(|_, _| Reply {
        delay: Duration::from_secs(5),
        ..ok(json!({}))
    })
    .await;
    let ext = extender(&url, |c| {
        c.filter_verb = Some("filter".into());
        c.http_timeout = Duration::from_millis(100);
    });
    let start = Instant::now();
    let e = ext
        .filter(&pod(json!({})), &nodes(&["a"]))
        .await
        .unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert!(matches!(e, ExtenderError::Timeout { .. }));
    assert_eq!(
        e.to_string(),
        format!("extender {url}: filter timed out after 100ms")
    );
}

#[tokio::test]
async fn http_status_and_bad_json() {
    let (url, _) = serve(|path, _| match path {
        "/filter" => Reply {
            status: 500,
            body: "boom\n".into(),
            delay: Duration::ZERO,
        },
        _ => Reply {
            status: 200,
            body: "not json".into(),
            delay: Duration::ZERO,
        },
    })
    .await;
    let ext = extender(&url, |c| {
        c.filter_verb = Some("filter".into());
        c.prioritize_verb = Some("prioritize".into());
        c.weight = 1;
    });
    let e = ext
        .filter(&pod(json!({})), &nodes(&["a"]))
        .await
        .unwrap_err();
    assert!(matches!(e, ExtenderError::Status { status: 500, .. }));
    assert_eq!(
        e.to_string(),
        format!("extender {url}: filter returned HTTP 500: boom")
    );
    let e = ext
        .prioritize(&pod(json!({})), &nodes(&["a"]))
        .await
        .unwrap_err();
    assert!(matches!(e, ExtenderError::Json { .. }), "{e}");
}

#[tokio::test]
async fn connection_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let ext = extender(&url, |c| c.filter_verb = Some("filter".into()));
    let e = ext
        .filter(&pod(json!({})), &nodes(&["a"]))
        .await
        .unwrap_err();
    assert!(matches!(e, ExtenderError::Request { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("extender {url}: filter failed: ")),
        "{e}"
    );
}

#[test]
fn interested_in_managed_resources() {
    let gpu = |r: Value| pod(r);
    assert!(extender("http://x", |_| {}).interested(&gpu(json!({}))));
    let ext = extender("http://x", |c| {
        c.managed_resources = vec!["example.com/gpu".into()]
    });
    assert!(!ext.interested(&gpu(json!({"requests": {"cpu": "1"}}))));
    assert!(ext.interested(&gpu(json!({"requests": {"example.com/gpu": "1"}}))));
    assert!(ext.interested(&gpu(json!({"limits": {"example.com/gpu": "1"}}))));
    let init: Pod = serde_json::from_value(json!({"spec": {
        "containers": [{"name": "c"}],
        "initContainers": [{"name": "i", "resources": {"limits": {"example.com/gpu": "1"}}}],
    }}))
    .unwrap();
    assert!(ext.interested(&init));
}
