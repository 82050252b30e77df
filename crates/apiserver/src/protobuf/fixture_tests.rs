//! Bodies recorded from kubectl: each `fixtures/NAME.pb` is what kubectl 1.33
//! (`*-132`: 1.32) posted for a `create` generator command, `NAME.json` what
//! kubectl 1.31 posted for the same command. The commands:
//!
//! - configmap: `create configmap c --from-literal=a=b --from-file=bin.dat
//!   --from-literal=z=' x ' --save-config` (bin.dat: 64 random bytes)
//! - secret-generic: `create secret generic g --from-literal=k=v --type=Opaque
//!   --from-file=bin.dat -n other`
//! - secret-tls: `create secret tls t --cert=tls.crt --key=tls.key`
//! - secret-docker: `create secret docker-registry r --docker-server=s
//!   --docker-username=u --docker-password=p --docker-email=e@x`
//! - namespace: `create namespace n`; sa: `create sa s`
//! - svc-nodeport: `create service nodeport s --tcp=80:8080 --node-port=30080`
//! - svc-clusterip: `create service clusterip sc --tcp=80:8080 --tcp=443
//!   --clusterip=None`
//! - svc-lb: `create service loadbalancer lb --tcp=80:8080`
//! - svc-ext: `create service externalname ex --external-name=example.com`
//! - deployment: `create deployment d --image=a:1 --replicas=3 --port=8080 --
//!   cmd arg`; deployment-multi: `create deployment dm --image=a:1
//!   --image=b:2 --replicas=0`; deployment-132: `create deployment x --image=a:1`
//! - job: `create job j --image=x -- sh -c 'echo hi'`; job-132: `create job x
//!   --image=a:1`
//! - cronjob: `create cronjob c --image=x --schedule='*/5 * * * *'
//!   --restart=OnFailure -- date`
//! - role: `create role r --verb=get --resource=pods`; clusterrole: the same
//!   as `clusterrole cr`; rolebinding: `create rolebinding rb --role=r
//!   --user=u`; crb: `create clusterrolebinding crb --clusterrole=r --user=u`
//! - quota: `create quota q --hard=cpu=1,pods=2`; pc: `create priorityclass p
//!   --value=10`; pdb: `create pdb pdb --selector=a=b --min-available=1`
//! - ingress: `create ingress i --rule=foo.com/bar=svc:80`
//! - token: `create token s` (a TokenRequest)
//!
//! `fixtures/rich-NAME.raw` are objects (no envelope) with many more fields,
//! encoded by `protoc --encode` from `rich-NAME.txtpb` with Kubernetes'
//! `generated.proto` (v0.36.3); `rich-NAME.json` is the JSON Go's encoder
//! writes for them, written by hand.

use serde_json::{Value, json};

use super::*;

macro_rules! fixtures {
    ($($name:literal),* $(,)?) => {
        &[$((
            $name,
            include_bytes!(concat!("fixtures/", $name, ".pb")).as_slice(),
            include_str!(concat!("fixtures/", $name, ".json")),
        )),*]
    };
}

const FIXTURES: &[(&str, &[u8], &str)] = fixtures![
    "configmap",
    "secret-generic",
    "secret-tls",
    "secret-docker",
    "namespace",
    "sa",
    "svc-nodeport",
    "svc-clusterip",
    "svc-lb",
    "svc-ext",
    "deployment",
    "deployment-multi",
    "deployment-132",
    "job",
    "job-132",
    "cronjob",
    "role",
    "clusterrole",
    "rolebinding",
    "crb",
    "quota",
    "pc",
    "pdb",
    "ingress",
    "token",
];

macro_rules! rich {
    ($($name:literal: $api_version:literal $kind:literal),* $(,)?) => {
        &[$((
            $name,
            $api_version,
            $kind,
            include_bytes!(concat!("fixtures/rich-", $name, ".raw")).as_slice(),
            include_str!(concat!("fixtures/rich-", $name, ".json")),
        )),*]
    };
}

const RICH: &[(&str, &str, &str, &[u8], &str)] = rich![
    "deployment": "apps/v1" "Deployment",
    "job": "batch/v1" "Job",
    "cronjob": "batch/v1" "CronJob",
    "service": "v1" "Service",
    "secret": "v1" "Secret",
    "configmap": "v1" "ConfigMap",
];

/// Drops nulls: Go writes a zero `metav1.Time` and nil pointers without
/// `omitempty` as null, brink leaves them out.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        v => v,
    }
}

#[test]
fn protobuf_bodies_decode_to_the_json_kubectl_sends() {
    for (name, pb, json) in FIXTURES {
        let want = without_nulls(serde_json::from_str(json).unwrap());
        let got = decode_to_json(pb).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(without_nulls(got.clone()), want, "{name}");
        assert_eq!(
            without_nulls(got.clone()),
            got,
            "{name}: brink writes no nulls"
        );
    }
}

#[test]
fn rich_objects_decode_to_the_json_go_writes() {
    for (name, api_version, kind, raw, json) in RICH {
        let want: Value = serde_json::from_str(json).unwrap();
        let body = envelope_with(
            &TypeMeta {
                api_version: (*api_version).into(),
                kind: (*kind).into(),
            },
            raw.to_vec(),
        );
        let got = decode_to_json(&body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn truncated_or_corrupted_bodies_fail_without_panicking() {
    let rich = RICH.iter().map(|(name, api_version, kind, raw, _)| {
        let type_meta = TypeMeta {
            api_version: (*api_version).into(),
            kind: (*kind).into(),
        };
        (*name, envelope_with(&type_meta, raw.to_vec()))
    });
    let recorded = FIXTURES.iter().map(|(name, pb, _)| (*name, pb.to_vec()));
    for (name, pb) in recorded.chain(rich) {
        let pb = pb.as_slice();
        for len in 0..pb.len() {
            let _ = decode_to_json(&pb[..len]);
        }
        let envelope = decode_envelope(pb).unwrap();
        let raw = &envelope.raw;
        let kind = envelope.type_meta.unwrap_or_default();
        for len in 0..raw.len() {
            let r = decode_to_json(&envelope_with(&kind, raw[..len].to_vec()));
            // cutting a message short at a field boundary is still valid protobuf
            if let Err(e) = r {
                assert!(
                    matches!(
                        e,
                        ProtobufError::Malformed { .. } | ProtobufError::UnknownField { .. }
                    ),
                    "{name}[..{len}]: {e}"
                );
            }
        }
        for i in 0..raw.len() {
            for byte in [0x00, 0xff, 0x80, 0x7f] {
                let mut bad = raw.to_vec();
                bad[i] = byte;
                let _ = decode_to_json(&envelope_with(&kind, bad));
            }
        }
    }
}

fn envelope_with(type_meta: &TypeMeta, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(type_meta.clone()),
        raw,
        ..Default::default()
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// A length-delimited field.
fn ld(field: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_key(
        field as u32,
        prost::encoding::WireType::LengthDelimited,
        &mut out,
    );
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// A varint field.
fn varint(field: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_key(field as u32, prost::encoding::WireType::Varint, &mut out);
    prost::encoding::encode_varint(value, &mut out);
    out
}

fn object(api_version: &str, kind: &str, raw: Vec<u8>) -> Result<Value, ProtobufError> {
    let type_meta = TypeMeta {
        api_version: api_version.into(),
        kind: kind.into(),
    };
    decode_to_json(&envelope_with(&type_meta, raw))
}

/// A Deployment whose pod spec is `pod_spec`.
fn deployment_with_pod_spec(pod_spec: &[u8]) -> Vec<u8> {
    let template = ld(2, pod_spec);
    let spec = ld(3, &template);
    ld(2, &spec)
}

#[test]
fn unknown_fields_are_refused_with_a_clear_message() {
    let err = object("apps/v1", "Deployment", varint(99, 1)).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::UnknownField {
                message: "apps/v1.Deployment",
                field: 99
            }
        ),
        "{err}"
    );
    let err = object(
        "apps/v1",
        "Deployment",
        deployment_with_pod_spec(&varint(999, 1)),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "brink cannot decode field 999 of v1.PodSpec from protobuf; send the object as JSON (kubectl create -f / apply)"
    );
    // inside the special messages too
    let meta = ld(8, &varint(3, 1));
    let err = object("v1", "ConfigMap", ld(1, &meta)).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::UnknownField {
                message: "meta/v1.Time",
                field: 3
            }
        ),
        "{err}"
    );
    let port = ld(4, &varint(4, 1));
    let err = object("v1", "Service", ld(2, &ld(1, &port))).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::UnknownField {
                message: "intstr.IntOrString",
                field: 4
            }
        ),
        "{err}"
    );
}

#[test]
fn malformed_values_are_errors() {
    // a string field sent as a varint
    let err = object("v1", "Namespace", ld(1, &varint(1, 5))).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::Malformed {
                message: "meta/v1.ObjectMeta",
                ..
            }
        ),
        "{err}"
    );
    // a length past the end
    let err = object("v1", "Namespace", vec![0x0a, 0x05, 0x0a]).unwrap_err();
    assert!(matches!(err, ProtobufError::Malformed { .. }), "{err}");
    // IntOrString of an unknown type
    let port = ld(4, &varint(1, 7));
    let err = object("v1", "Service", ld(2, &ld(1, &port))).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::Malformed {
                message: "intstr.IntOrString",
                ..
            }
        ),
        "{err}"
    );
    // a group wire type
    let err = object("v1", "Namespace", vec![0x0b]).unwrap_err();
    assert!(matches!(err, ProtobufError::Malformed { .. }), "{err}");
    // field number 0
    let err = object("v1", "Namespace", vec![0x00, 0x00]).unwrap_err();
    assert!(matches!(err, ProtobufError::Malformed { .. }), "{err}");
    // FieldsV1 that is not JSON
    let managed = ld(7, &ld(1, b"{"));
    let err = object("v1", "Namespace", ld(1, &ld(17, &managed))).unwrap_err();
    assert!(
        matches!(
            err,
            ProtobufError::Malformed {
                message: "meta/v1.FieldsV1",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn wire_details_follow_go() {
    // packed repeated int32 (Go writes them unpacked, other encoders may not)
    let mut packed = Vec::new();
    for v in [1u64, 2, 300] {
        prost::encoding::encode_varint(v, &mut packed);
    }
    let on_exit = [ld(2, b"In"), ld(3, &packed), varint(3, 4)].concat();
    let rule = [ld(1, b"FailJob"), ld(2, &on_exit)].concat();
    let job = ld(2, &ld(11, &ld(1, &rule)));
    let json = object("batch/v1", "Job", job).unwrap();
    assert_eq!(
        json["spec"]["podFailurePolicy"]["rules"][0]["onExitCodes"],
        json!({"operator": "In", "values": [1, 2, 300, 4]})
    );
    // negative int32 (ten-byte varint), absent Always fields, empty map values
    let port = [varint(3, -1i64 as u64)].concat();
    let container = [ld(2, b"img"), ld(6, &port)].concat();
    let pod_spec = ld(2, &container);
    let meta = ld(11, &ld(1, b"k"));
    let mut deployment = deployment_with_pod_spec(&pod_spec);
    deployment.extend(ld(1, &meta));
    let json = object("apps/v1", "Deployment", deployment).unwrap();
    assert_eq!(
        json["spec"]["template"]["spec"]["containers"],
        json!([{"name": "", "image": "img", "ports": [{"containerPort": -1}]}])
    );
    assert_eq!(json["metadata"]["labels"], json!({"k": ""}));
    // a non-pointer omitempty field given as zero is left out, a pointer one kept
    let spec = [varint(1, 0), varint(5, 0), varint(9, 0)].concat();
    let json = object("apps/v1", "Deployment", ld(2, &spec)).unwrap();
    assert_eq!(
        json["spec"],
        json!({"replicas": 0, "progressDeadlineSeconds": 0})
    );
    // a kind known under another version only
    let err = object("apps/v1beta1", "Deployment", Vec::new()).unwrap_err();
    assert!(
        matches!(err, ProtobufError::Unsupported { ref kind } if kind == "apps/v1beta1/Deployment"),
        "{err}"
    );
}
