//! The pods a Job creates, built from its template.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::{
    COMPLETION_INDEX, CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL, TRACKING_FINALIZER,
};

/// The environment variable with an Indexed Job pod's completion index.
const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// A new pod for `job` from `spec.template`: `generateName` `<job>-`
/// (`<job>-<index>-` for an Indexed Job), the template's labels and
/// annotations plus the controller-uid and job-name labels (new and legacy
/// spellings), the Job as controller owner (blocking its deletion) and the
/// tracking finalizer. With an `index`: the completion-index annotation and
/// label, `JOB_COMPLETION_INDEX` in every container (read from the
/// annotation, as Kubernetes does) and hostname `<job>-<index>`.
pub fn pod_for(job: &Job, index: Option<i32>) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();

    let mut labels = tmeta.labels.unwrap_or_default();
    for (k, v) in [
        (CONTROLLER_UID_LABEL, &uid),
        (LEGACY_CONTROLLER_UID_LABEL, &uid),
        (JOB_NAME_LABEL, &name),
        (LEGACY_JOB_NAME_LABEL, &name),
    ] {
        labels.insert(k.to_string(), v.clone());
    }
    let mut annotations = tmeta.annotations.unwrap_or_default();
    let mut finalizers = tmeta.finalizers.unwrap_or_default();
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_string());
    }
    let generate_name = match index {
        Some(i) => {
            labels.insert(COMPLETION_INDEX.to_string(), i.to_string());
            annotations.insert(COMPLETION_INDEX.to_string(), i.to_string());
            spec.hostname = Some(format!("{name}-{i}"));
            let containers = spec.init_containers.iter_mut().flatten();
            for c in containers.chain(spec.containers.iter_mut()) {
                add_index_env(c);
            }
            format!("{name}-{i}-")
        }
        None => format!("{name}-"),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: (!annotations.is_empty()).then_some(annotations),
            finalizers: Some(finalizers),
            owner_references: Some(vec![OwnerReference {
                api_version: "batch/v1".into(),
                kind: "Job".into(),
                name,
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

fn add_index_env(c: &mut Container) {
    let env = c.env.get_or_insert_with(Vec::new);
    if env.iter().any(|e| e.name == INDEX_ENV) {
        return;
    }
    env.push(EnvVar {
        name: INDEX_ENV.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
            }),
            ..EnvVarSource::default()
        }),
    });
}
