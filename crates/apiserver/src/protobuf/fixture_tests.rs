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

use serde_json::Value;

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
        assert_eq!(without_nulls(got.clone()), got, "{name}: brink writes no nulls");
    }
}

#[test]
fn prints_decoded_fixtures() {
    for (name, pb, _) in FIXTURES {
        println!("{name}: {}", decode_to_json(pb).unwrap());
    }
}

#[test]
fn truncated_or_corrupted_bodies_fail_without_panicking() {
    for (name, pb, _) in FIXTURES {
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
