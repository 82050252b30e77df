//! Decoding of Kubernetes protobuf request bodies
//! (`Content-Type: application/vnd.kubernetes.protobuf`).
//!
//! A body is the magic `k8s\0` followed by a `runtime.Unknown` envelope whose
//! `raw` field holds the object. kubectl 1.32+ sends protobuf wherever it uses
//! a typed client: `auth can-i` posts a SelfSubjectAccessReview, `auth whoami`
//! a SelfSubjectReview, `drain --disable-eviction` deletes with DeleteOptions
//! (an Eviction is accepted too, though kubectl posts it as JSON), and the
//! `create` generators (`create configmap|secret|namespace|serviceaccount|
//! service|deployment|job|cronjob|role|rolebinding|clusterrole|
//! clusterrolebinding|quota|priorityclass|poddisruptionbudget|ingress|token`)
//! post the object they build. brink decodes those kinds into the JSON the
//! same request would have carried and rejects every other kind with
//! [`ProtobufError::Unsupported`] (the server answers 415).
//!
//! The review and delete messages are hand-written prost structs
//! (`messages`); the objects are read by a table-driven decoder (`wire`)
//! with descriptors (`schema`) taken from Kubernetes' `generated.proto` and
//! `types.go`. A field the tables do not know fails the request
//! ([`ProtobufError::UnknownField`]) instead of being dropped.

use prost::Message;
use serde_json::{Map, Value, json};

mod messages;
mod schema;
mod wire;

#[cfg(test)]
mod fixture_tests;

pub use messages::{
    DeleteOptions, Eviction, MetadataOnly, NonResourceAttributes, ObjectMeta, Preconditions,
    ResourceAttributes, SelectorAttributes, SelectorRequirement, SelfSubjectAccessReview,
    SelfSubjectAccessReviewSpec, TypeMeta, Unknown,
};

/// Content-Type of Kubernetes protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be turned into JSON.
#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    /// The body does not start with `k8s\0`.
    #[error("protobuf body does not start with the k8s magic")]
    MissingMagic,
    /// The envelope or the object in it is not valid protobuf.
    #[error("malformed protobuf body: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The envelope carries a content encoding (such as gzip) brink does not undo.
    #[error("unsupported protobuf content encoding {encoding:?}")]
    UnsupportedEncoding {
        /// The `contentEncoding` of the envelope.
        encoding: String,
    },
    /// The object is of a kind brink does not accept as protobuf.
    #[error("kind {kind:?} is not accepted as protobuf; send the object as JSON")]
    Unsupported {
        /// The `kind` of the envelope's type meta, with its `apiVersion`
        /// when the kind is known under another version (`v1beta1/Eviction`).
        kind: String,
    },
    /// The object has a field brink's tables do not know (a newer
    /// Kubernetes field): refused rather than dropped.
    #[error(
        "brink cannot decode field {field} of {message} from protobuf; send the object as JSON (kubectl create -f / apply)"
    )]
    UnknownField {
        /// The message, such as `v1.PodSpec`.
        message: &'static str,
        /// The field number.
        field: u32,
    },
    /// The object is not valid protobuf for its kind.
    #[error("malformed protobuf body ({message}): {detail}")]
    Malformed {
        /// The message being read.
        message: &'static str,
        /// What is wrong.
        detail: String,
    },
}

/// Strips the magic and decodes the `runtime.Unknown` envelope.
pub fn decode_envelope(body: &[u8]) -> Result<Unknown, ProtobufError> {
    let rest = body
        .strip_prefix(MAGIC.as_slice())
        .ok_or(ProtobufError::MissingMagic)?;
    Ok(Unknown::decode(rest)?)
}

/// Decodes a protobuf body into the JSON object the same request would carry,
/// with `apiVersion` and `kind` set from the envelope.
pub fn decode_to_json(body: &[u8]) -> Result<Value, ProtobufError> {
    let envelope = decode_envelope(body)?;
    if !envelope.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedEncoding {
            encoding: envelope.content_encoding,
        });
    }
    let TypeMeta { api_version, kind } = envelope.type_meta.unwrap_or_default();
    let raw = envelope.raw.as_slice();
    let mut out = match (api_version.as_str(), kind.as_str()) {
        (_, "DeleteOptions") => delete_options(&DeleteOptions::decode(raw)?),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => {
            self_subject_access_review(&SelfSubjectAccessReview::decode(raw)?)
        }
        ("authentication.k8s.io/v1", "SelfSubjectReview") => {
            with_metadata(Map::new(), MetadataOnly::decode(raw)?.metadata)
        }
        ("policy/v1", "Eviction") => eviction(Eviction::decode(raw)?),
        (_, "SelfSubjectAccessReview" | "SelfSubjectReview" | "Eviction") => {
            return Err(ProtobufError::Unsupported {
                kind: format!("{api_version}/{kind}"),
            });
        }
        _ => return object(api_version, kind, raw),
    };
    out.insert("apiVersion".into(), api_version.into());
    out.insert("kind".into(), kind.into());
    Ok(Value::Object(out))
}

/// An object kind read through the [`schema`] tables.
fn object(api_version: String, kind: String, raw: &[u8]) -> Result<Value, ProtobufError> {
    let Some((_, _, msg)) = schema::ROOTS
        .iter()
        .find(|(v, k, _)| *v == api_version && *k == kind)
    else {
        let kind = if schema::ROOTS.iter().any(|(_, k, _)| *k == kind) {
            format!("{api_version}/{kind}")
        } else {
            kind
        };
        return Err(ProtobufError::Unsupported { kind });
    };
    let mut out = Map::new();
    out.insert("apiVersion".into(), api_version.into());
    out.insert("kind".into(), kind.into());
    out.extend(wire::decode(msg, raw)?);
    Ok(Value::Object(out))
}

fn delete_options(d: &DeleteOptions) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(g) = d.grace_period_seconds {
        m.insert("gracePeriodSeconds".into(), g.into());
    }
    if let Some(p) = &d.preconditions {
        let mut pm = Map::new();
        if let Some(uid) = &p.uid {
            pm.insert("uid".into(), uid.clone().into());
        }
        if let Some(rv) = &p.resource_version {
            pm.insert("resourceVersion".into(), rv.clone().into());
        }
        m.insert("preconditions".into(), Value::Object(pm));
    }
    if let Some(o) = d.orphan_dependents {
        m.insert("orphanDependents".into(), o.into());
    }
    if let Some(p) = &d.propagation_policy {
        m.insert("propagationPolicy".into(), p.clone().into());
    }
    if !d.dry_run.is_empty() {
        m.insert("dryRun".into(), d.dry_run.clone().into());
    }
    if let Some(i) = d.ignore_store_read_error_with_cluster_breaking_potential {
        m.insert(
            "ignoreStoreReadErrorWithClusterBreakingPotential".into(),
            i.into(),
        );
    }
    m
}

fn eviction(e: Eviction) -> Map<String, Value> {
    let mut m = with_metadata(Map::new(), e.metadata);
    if let Some(d) = &e.delete_options {
        m.insert("deleteOptions".into(), Value::Object(delete_options(d)));
    }
    m
}

fn self_subject_access_review(r: &SelfSubjectAccessReview) -> Map<String, Value> {
    let mut spec = Map::new();
    let s = r.spec.clone().unwrap_or_default();
    if let Some(ra) = &s.resource_attributes {
        let mut a = Map::new();
        for (key, value) in [
            ("namespace", &ra.namespace),
            ("verb", &ra.verb),
            ("group", &ra.group),
            ("version", &ra.version),
            ("resource", &ra.resource),
            ("subresource", &ra.subresource),
            ("name", &ra.name),
        ] {
            put_str(&mut a, key, value);
        }
        if let Some(f) = &ra.field_selector {
            a.insert("fieldSelector".into(), selector(f));
        }
        if let Some(l) = &ra.label_selector {
            a.insert("labelSelector".into(), selector(l));
        }
        spec.insert("resourceAttributes".into(), Value::Object(a));
    }
    if let Some(na) = &s.non_resource_attributes {
        let mut a = Map::new();
        put_str(&mut a, "path", &na.path);
        put_str(&mut a, "verb", &na.verb);
        spec.insert("nonResourceAttributes".into(), Value::Object(a));
    }
    let mut m = with_metadata(Map::new(), r.metadata.clone());
    m.insert("spec".into(), Value::Object(spec));
    m
}

fn selector(s: &SelectorAttributes) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "rawSelector", &s.raw_selector);
    if !s.requirements.is_empty() {
        let reqs: Vec<Value> = s
            .requirements
            .iter()
            .map(|r| {
                let mut o = json!({"key": r.key, "operator": r.operator});
                if !r.values.is_empty() {
                    o["values"] = r.values.clone().into();
                }
                o
            })
            .collect();
        m.insert("requirements".into(), reqs.into());
    }
    Value::Object(m)
}

/// Adds `metadata` with the non-empty fields of `meta` (always present, as
/// Go's encoder writes it).
fn with_metadata(mut m: Map<String, Value>, meta: Option<ObjectMeta>) -> Map<String, Value> {
    let meta = meta.unwrap_or_default();
    let mut mm = Map::new();
    put_str(&mut mm, "name", &meta.name);
    put_str(&mut mm, "generateName", &meta.generate_name);
    put_str(&mut mm, "namespace", &meta.namespace);
    put_str(&mut mm, "uid", &meta.uid);
    put_str(&mut mm, "resourceVersion", &meta.resource_version);
    if !meta.labels.is_empty() {
        mm.insert("labels".into(), json!(meta.labels));
    }
    if !meta.annotations.is_empty() {
        mm.insert("annotations".into(), json!(meta.annotations));
    }
    m.insert("metadata".into(), Value::Object(mm));
    m
}

fn put_str(m: &mut Map<String, Value>, key: &str, value: &str) {
    if !value.is_empty() {
        m.insert(key.into(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let type_meta = Some(TypeMeta {
            api_version: api_version.into(),
            kind: kind.into(),
        });
        let unknown = Unknown {
            type_meta,
            raw,
            content_encoding: String::new(),
            content_type: String::new(),
        };
        let mut body = MAGIC.to_vec();
        body.extend(unknown.encode_to_vec());
        body
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Bodies recorded from kubectl 1.32.4: `auth can-i list pods -n
    /// default`, `auth can-i get --subresource=log pods/web`, `auth can-i get
    /// /healthz`, `auth whoami` and `drain --disable-eviction --grace-period=7`.
    /// Go's encoder writes every non-pointer field, empty or not.
    const CAN_I_LIST_PODS: &str = "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373526576696577123d0a100a0012001a0022002a00320038004200121f0a1d0a0764656661756c7412046c6973741a0022002a04706f647332003a001a08080012001a0020001a002200";
    const CAN_I_POD_LOG: &str = "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a65637441636365737352657669657712420a100a0012001a0022002a0032003800420012240a220a0764656661756c7412036765741a0022002a04706f647332036c6f673a037765621a08080012001a0020001a002200";
    const CAN_I_HEALTHZ: &str = "6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a656374416363657373526576696577122f0a100a0012001a0022002a003200380042001211120f0a082f6865616c74687a12036765741a08080012001a0020001a002200";
    const WHOAMI: &str = "6b3873000a2d0a1861757468656e7469636174696f6e2e6b38732e696f2f7631121153656c665375626a656374526576696577121a0a100a0012001a0022002a0032003800420012060a040a0012001a002200";
    const DRAIN_DELETE: &str = "6b3873000a130a027631120d44656c6574654f7074696f6e73120208071a002200";

    #[test]
    fn decodes_bodies_kubectl_sends() {
        let ssar = |spec: Value| json!({"metadata": {}, "spec": spec, "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview"});
        assert_eq!(
            decode_to_json(&hex(CAN_I_LIST_PODS)).unwrap(),
            ssar(
                json!({"resourceAttributes": {"namespace": "default", "verb": "list", "resource": "pods"}})
            )
        );
        assert_eq!(
            decode_to_json(&hex(CAN_I_POD_LOG)).unwrap(),
            ssar(
                json!({"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods", "subresource": "log", "name": "web"}})
            )
        );
        assert_eq!(
            decode_to_json(&hex(CAN_I_HEALTHZ)).unwrap(),
            ssar(json!({"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}))
        );
        assert_eq!(
            decode_to_json(&hex(WHOAMI)).unwrap(),
            json!({"metadata": {}, "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        );
        assert_eq!(
            decode_to_json(&hex(DRAIN_DELETE)).unwrap(),
            json!({"gracePeriodSeconds": 7, "apiVersion": "v1", "kind": "DeleteOptions"})
        );
    }

    #[test]
    fn decodes_selectors_and_non_resource_attributes() {
        let req = SelectorRequirement {
            key: "app".into(),
            operator: "In".into(),
            values: vec!["web".into()],
        };
        let review = SelfSubjectAccessReview {
            metadata: Some(ObjectMeta {
                name: "x".into(),
                ..Default::default()
            }),
            spec: Some(SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: "get".into(),
                    resource: "pods".into(),
                    label_selector: Some(SelectorAttributes {
                        raw_selector: String::new(),
                        requirements: vec![req],
                    }),
                    ..Default::default()
                }),
                non_resource_attributes: Some(NonResourceAttributes {
                    path: "/healthz".into(),
                    verb: "get".into(),
                }),
            }),
        };
        let json = decode_to_json(&envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            review.encode_to_vec(),
        ))
        .unwrap();
        assert_eq!(json["metadata"]["name"], "x");
        assert_eq!(
            json["spec"]["resourceAttributes"]["labelSelector"]["requirements"][0]["values"],
            json!(["web"])
        );
        assert_eq!(
            json["spec"]["nonResourceAttributes"],
            json!({"path": "/healthz", "verb": "get"})
        );
    }

    #[test]
    fn decodes_delete_options_and_evictions() {
        let opts = DeleteOptions {
            grace_period_seconds: Some(0),
            preconditions: Some(Preconditions {
                uid: Some("u-1".into()),
                resource_version: None,
            }),
            propagation_policy: Some("Background".into()),
            dry_run: vec!["All".into()],
            ..Default::default()
        };
        let json = decode_to_json(&envelope("v1", "DeleteOptions", opts.encode_to_vec())).unwrap();
        assert_eq!(
            json,
            json!({
                "gracePeriodSeconds": 0,
                "preconditions": {"uid": "u-1"},
                "propagationPolicy": "Background",
                "dryRun": ["All"],
                "apiVersion": "v1",
                "kind": "DeleteOptions",
            })
        );
        let eviction = Eviction {
            metadata: Some(ObjectMeta {
                name: "web".into(),
                namespace: "default".into(),
                ..Default::default()
            }),
            delete_options: Some(DeleteOptions {
                grace_period_seconds: Some(30),
                ..Default::default()
            }),
        };
        let json =
            decode_to_json(&envelope("policy/v1", "Eviction", eviction.encode_to_vec())).unwrap();
        assert_eq!(
            json["metadata"],
            json!({"name": "web", "namespace": "default"})
        );
        assert_eq!(json["deleteOptions"], json!({"gracePeriodSeconds": 30}));
        let review = MetadataOnly::default().encode_to_vec();
        let json = decode_to_json(&envelope(
            "authentication.k8s.io/v1",
            "SelfSubjectReview",
            review,
        ))
        .unwrap();
        assert_eq!(
            json,
            json!({"metadata": {}, "apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        );
    }

    #[test]
    fn rejects_what_it_cannot_decode() {
        assert!(matches!(
            decode_to_json(b"{\"kind\":\"Pod\"}"),
            Err(ProtobufError::MissingMagic)
        ));
        assert!(matches!(
            decode_to_json(b"k8s\0\xff\xff"),
            Err(ProtobufError::Decode(_))
        ));
        let err = decode_to_json(&envelope("v1", "Node", Vec::new())).unwrap_err();
        assert!(matches!(err, ProtobufError::Unsupported { ref kind } if kind == "Node"));
        let mut gz = Unknown {
            content_encoding: "gzip".into(),
            ..Default::default()
        }
        .encode_to_vec();
        gz.splice(0..0, *MAGIC);
        assert!(matches!(
            decode_to_json(&gz),
            Err(ProtobufError::UnsupportedEncoding { .. })
        ));
        let truncated = envelope("v1", "DeleteOptions", vec![0x08]);
        assert!(matches!(
            decode_to_json(&truncated),
            Err(ProtobufError::Decode(_))
        ));
    }
}
