//! Test fixtures: a Deployment `web`, ReplicaSets as the controller makes
//! them, and a tiny cluster that applies plans and plays the ReplicaSet
//! controller and kubelet between syncs.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::hash::pod_template_hash;
use super::revision::{DESIRED_REPLICAS, MAX_REPLICAS, REVISION};
use super::{Plan, Snapshot, Write, plan, strategy};

pub fn at(secs: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + secs).expect("valid")
}

pub fn template(image: &str) -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": image}]}})
}

pub fn hash_of(image: &str) -> String {
    let t: PodTemplateSpec = serde_json::from_value(template(image)).expect("template");
    pod_template_hash(&t, None)
}

/// `web` in `default`, generation 1, with `image`; `spec` is merged into the spec.
pub fn deployment(replicas: i32, image: &str, spec: Value) -> Deployment {
    let mut v = json!({
        "metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": 1,
            "annotations": {
                "kubernetes.io/change-cause": format!("set image {image}"),
                "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": template(image)}
    });
    if let (Some(into), Value::Object(extra)) = (v["spec"].as_object_mut(), spec) {
        into.extend(extra);
    }
    serde_json::from_value(v).expect("deployment")
}

/// The ReplicaSet the controller made for `image`, scaled for `d` as it is now.
pub fn replica_set(
    d: &Deployment,
    image: &str,
    revision: i64,
    replicas: i32,
    available: i32,
    created: i64,
) -> ReplicaSet {
    let hash = hash_of(image);
    let mut t = template(image);
    t["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let desired = strategy::desired_replicas(d);
    let max = desired + strategy::max_surge(d);
    serde_json::from_value(json!({
        "metadata": {"name": format!("web-{hash}"), "namespace": "default",
            "uid": format!("uid-{image}"), "resourceVersion": "1", "generation": 1,
            "creationTimestamp": at(created).to_string(),
            "labels": {"app": "web", "pod-template-hash": hash},
            "annotations": {REVISION: revision.to_string(),
                "kubernetes.io/change-cause": format!("set image {image}"),
                DESIRED_REPLICAS: desired.to_string(), MAX_REPLICAS: max.to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                "uid": "d-uid", "controller": true, "blockOwnerDeletion": true}]},
        "spec": {"replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": hash}},
            "template": t},
        "status": {"replicas": replicas, "readyReplicas": available,
            "availableReplicas": available, "observedGeneration": 1}
    }))
    .expect("replica set")
}

/// A pod of the ReplicaSet with uid `rs_uid` in `phase`.
pub fn pod(name: &str, rs_uid: &str, phase: &str, ready_since: Option<i64>) -> Pod {
    let conditions = ready_since.map(
        |s| json!([{"type": "Ready", "status": "True", "lastTransitionTime": at(s).to_string()}]),
    );
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                "uid": rs_uid, "controller": true}]},
        "spec": {"containers": [{"name": "web", "image": "x"}]},
        "status": {"phase": phase, "conditions": conditions}
    }))
    .expect("pod")
}

pub fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

pub fn annotation<'a>(rs: &'a ReplicaSet, key: &str) -> Option<&'a str> {
    rs.metadata
        .annotations
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

pub fn messages(p: &Plan) -> Vec<&str> {
    p.events.iter().map(|e| e.message.as_str()).collect()
}

/// The writes as `(verb, name, replicas)`.
pub fn writes(p: &Plan) -> Vec<(&'static str, String, i32)> {
    p.writes
        .iter()
        .map(|w| match w {
            Write::Create(rs) => (
                "create",
                rs.metadata.name.clone().unwrap_or_default(),
                replicas(rs),
            ),
            Write::Update(rs) => (
                "update",
                rs.metadata.name.clone().unwrap_or_default(),
                replicas(rs),
            ),
            Write::Delete { name, .. } => ("delete", name.clone(), 0),
        })
        .collect()
}

/// A Deployment, its ReplicaSets and pods; plans are applied as the API would.
pub struct Cluster {
    pub d: Deployment,
    pub rss: Vec<ReplicaSet>,
    pub pods: Vec<Pod>,
    pub now: Timestamp,
    created: u32,
}

impl Cluster {
    pub fn new(d: Deployment, rss: Vec<ReplicaSet>) -> Self {
        Cluster {
            d,
            rss,
            pods: Vec::new(),
            now: at(0),
            created: 0,
        }
    }

    pub fn plan(&self) -> Plan {
        plan(&Snapshot {
            deployment: &self.d,
            replica_sets: self.rss.iter().collect(),
            pods: self.pods.iter().collect(),
            now: self.now,
        })
    }

    /// Plans and applies.
    pub fn sync(&mut self) -> Plan {
        let p = self.plan();
        self.apply(&p);
        p
    }

    pub fn apply(&mut self, p: &Plan) {
        for w in &p.writes {
            match w.clone() {
                Write::Create(mut rs) => {
                    assert!(rs.metadata.resource_version.is_none());
                    self.created += 1;
                    rs.metadata.uid = Some(format!("created-{}", self.created));
                    rs.metadata.resource_version = Some("1".into());
                    rs.metadata.generation = Some(1);
                    rs.metadata.creation_timestamp = Some(Time(self.now));
                    self.rss.push(rs);
                }
                Write::Update(mut rs) => {
                    let name = rs.metadata.name.clone();
                    let cur = self
                        .rss
                        .iter_mut()
                        .find(|r| r.metadata.name == name)
                        .expect("exists");
                    assert_eq!(cur.metadata.resource_version, rs.metadata.resource_version);
                    let rv: u64 = cur
                        .metadata
                        .resource_version
                        .as_deref()
                        .unwrap_or("0")
                        .parse()
                        .unwrap();
                    rs.metadata.resource_version = Some((rv + 1).to_string());
                    rs.metadata.generation = Some(cur.metadata.generation.unwrap_or(0) + 1);
                    rs.status = cur.status.clone();
                    *cur = rs;
                }
                Write::Delete { name, uid, .. } => {
                    let before = self.rss.len();
                    self.rss.retain(|r| {
                        !(r.metadata.name.as_deref() == Some(&name)
                            && r.metadata.uid.as_deref() == Some(&uid))
                    });
                    assert_eq!(self.rss.len(), before - 1, "deleted {name}");
                }
            }
        }
        if let Some(s) = &p.status {
            self.d.status = Some(s.clone());
        }
        if let Some(a) = &p.deployment_annotations {
            self.d.metadata.annotations = Some(a.clone());
        }
    }

    /// One step of the ReplicaSet controller and kubelet: pods follow each
    /// spec at once; pods that existed before the step become available.
    pub fn step_pods(&mut self) {
        for rs in &mut self.rss {
            let spec = replicas(rs);
            let generation = rs.metadata.generation;
            let s = rs.status.get_or_insert_default();
            let available = s.replicas.min(spec);
            s.replicas = spec;
            s.ready_replicas = Some(available);
            s.available_replicas = Some(available);
            s.observed_generation = generation;
        }
    }

    /// `kubectl set image`: a new template, a new generation, a new change-cause.
    pub fn set_image(&mut self, image: &str) {
        let spec = self.d.spec.as_mut().expect("spec");
        spec.template = serde_json::from_value(template(image)).expect("template");
        self.d.metadata.generation = Some(self.d.metadata.generation.unwrap_or(0) + 1);
        self.d.metadata.annotations.get_or_insert_default().insert(
            "kubernetes.io/change-cause".into(),
            format!("set image {image}"),
        );
    }

    /// `(name, spec.replicas)` of every ReplicaSet.
    pub fn sizes(&self) -> Vec<(String, i32)> {
        self.rss
            .iter()
            .map(|r| (r.metadata.name.clone().unwrap_or_default(), replicas(r)))
            .collect()
    }

    pub fn total_available(&self) -> i32 {
        self.rss
            .iter()
            .filter_map(|r| r.status.as_ref()?.available_replicas)
            .sum()
    }
}
