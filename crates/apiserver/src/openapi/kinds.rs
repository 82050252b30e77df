//! Which `k8s-openapi` type describes each kind brink may serve, and the
//! strategic-merge-patch metadata that `k8s-openapi`'s schemas leave out.
//!
//! The table is wider than `api::RESOURCES` on purpose: a resource added to the
//! registry later finds its schema here without touching this module.

use k8s_openapi::Resource;
use k8s_openapi::api::{
    admissionregistration, apps, authentication, authorization, autoscaling, batch, certificates,
    coordination, core, discovery, events, networking, node, policy, rbac, scheduling, storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A kind and the function that adds its schema (and everything it
/// references) to a generator, returning a `$ref` to it.
#[derive(Clone, Copy)]
pub(crate) struct KindSchema {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Definition name, e.g. `io.k8s.api.core.v1.Pod`.
    pub name: fn() -> std::borrow::Cow<'static, str>,
    pub generate: fn(&mut SchemaGenerator) -> Schema,
}

fn entry<T: Resource + JsonSchema>() -> KindSchema {
    KindSchema {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        name: T::schema_name,
        generate: SchemaGenerator::subschema_for::<T>,
    }
}

/// Every kind with a known schema.
pub(crate) fn table() -> Vec<KindSchema> {
    vec![
        entry::<core::v1::Namespace>(),
        entry::<core::v1::Pod>(),
        entry::<core::v1::Node>(),
        entry::<core::v1::Service>(),
        entry::<core::v1::Endpoints>(),
        entry::<core::v1::ConfigMap>(),
        entry::<core::v1::Secret>(),
        entry::<core::v1::ServiceAccount>(),
        entry::<core::v1::Event>(),
        entry::<core::v1::Binding>(),
        entry::<core::v1::PersistentVolume>(),
        entry::<core::v1::PersistentVolumeClaim>(),
        entry::<core::v1::ReplicationController>(),
        entry::<core::v1::PodTemplate>(),
        entry::<core::v1::LimitRange>(),
        entry::<core::v1::ResourceQuota>(),
        entry::<events::v1::Event>(),
        entry::<coordination::v1::Lease>(),
        entry::<node::v1::RuntimeClass>(),
        entry::<apps::v1::Deployment>(),
        entry::<apps::v1::ReplicaSet>(),
        entry::<apps::v1::DaemonSet>(),
        entry::<apps::v1::StatefulSet>(),
        entry::<apps::v1::ControllerRevision>(),
        entry::<batch::v1::Job>(),
        entry::<batch::v1::CronJob>(),
        entry::<authorization::v1::SelfSubjectAccessReview>(),
        entry::<authorization::v1::SelfSubjectRulesReview>(),
        entry::<authorization::v1::SubjectAccessReview>(),
        entry::<authorization::v1::LocalSubjectAccessReview>(),
        entry::<authentication::v1::SelfSubjectReview>(),
        entry::<authentication::v1::TokenReview>(),
        entry::<autoscaling::v1::Scale>(),
        entry::<autoscaling::v1::HorizontalPodAutoscaler>(),
        entry::<autoscaling::v2::HorizontalPodAutoscaler>(),
        entry::<policy::v1::Eviction>(),
        entry::<policy::v1::PodDisruptionBudget>(),
        entry::<discovery::v1::EndpointSlice>(),
        entry::<networking::v1::NetworkPolicy>(),
        entry::<networking::v1::Ingress>(),
        entry::<networking::v1::IngressClass>(),
        entry::<rbac::v1::Role>(),
        entry::<rbac::v1::RoleBinding>(),
        entry::<rbac::v1::ClusterRole>(),
        entry::<rbac::v1::ClusterRoleBinding>(),
        entry::<scheduling::v1::PriorityClass>(),
        entry::<storage::v1::StorageClass>(),
        entry::<storage::v1::CSIDriver>(),
        entry::<storage::v1::CSINode>(),
        entry::<certificates::v1::CertificateSigningRequest>(),
        entry::<admissionregistration::v1::MutatingWebhookConfiguration>(),
        entry::<admissionregistration::v1::ValidatingWebhookConfiguration>(),
        entry::<apiextensions::v1::CustomResourceDefinition>(),
    ]
}

/// `(property, patch strategy, merge key)`; an empty key means none.
pub(crate) type PropertyPatch = (&'static str, &'static str, &'static str);

/// Strategic-merge-patch metadata of Kubernetes' Go types (`patchStrategy` and
/// `patchMergeKey` struct tags): definition, then `(property, strategy, merge
/// key)` of each property that has some.
/// kubectl's client-side `apply` computes its patch from these extensions
/// (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key`); without
/// them it would treat keyed lists such as `env` as atomic.
#[rustfmt::skip]
pub(crate) const PATCH_META: &[(&str, &[PropertyPatch])] = &[
    ("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", &[("ownerReferences", "merge", "uid"), ("finalizers", "merge", "")]),
    ("io.k8s.api.core.v1.Container", CONTAINER),
    ("io.k8s.api.core.v1.EphemeralContainer", CONTAINER),
    ("io.k8s.api.core.v1.ContainerStatus", &[("volumeMounts", "merge", "mountPath"), ("allocatedResourcesStatus", "merge", "name")]),
    ("io.k8s.api.core.v1.PodSpec", &[
        ("volumes", "merge,retainKeys", "name"),
        ("initContainers", "merge", "name"),
        ("containers", "merge", "name"),
        ("ephemeralContainers", "merge", "name"),
        ("imagePullSecrets", "merge", "name"),
        ("hostAliases", "merge", "ip"),
        ("topologySpreadConstraints", "merge", "topologyKey"),
        ("schedulingGates", "merge", "name"),
        ("resourceClaims", "merge,retainKeys", "name"),
    ]),
    ("io.k8s.api.core.v1.PodStatus", &[
        ("conditions", "merge", "type"),
        ("hostIPs", "merge", "ip"),
        ("podIPs", "merge", "ip"),
        ("resourceClaimStatuses", "merge,retainKeys", "name"),
    ]),
    ("io.k8s.api.core.v1.PersistentVolumeClaimStatus", CONDITIONS),
    ("io.k8s.api.core.v1.ReplicationControllerStatus", CONDITIONS),
    ("io.k8s.api.core.v1.ServiceSpec", &[("ports", "merge", "port")]),
    ("io.k8s.api.core.v1.ServiceStatus", CONDITIONS),
    ("io.k8s.api.core.v1.ServiceAccount", &[("secrets", "merge", "name")]),
    ("io.k8s.api.core.v1.NodeSpec", &[("podCIDRs", "merge", "")]),
    ("io.k8s.api.core.v1.NodeStatus", &[("conditions", "merge", "type"), ("addresses", "merge", "type")]),
    ("io.k8s.api.core.v1.NamespaceStatus", CONDITIONS),
    ("io.k8s.api.apps.v1.DeploymentSpec", &[("strategy", "retainKeys", "")]),
    ("io.k8s.api.apps.v1.DeploymentStatus", CONDITIONS),
    ("io.k8s.api.apps.v1.DaemonSetStatus", CONDITIONS),
    ("io.k8s.api.apps.v1.ReplicaSetStatus", CONDITIONS),
    ("io.k8s.api.apps.v1.StatefulSetStatus", CONDITIONS),
    ("io.k8s.api.batch.v1.JobStatus", CONDITIONS),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetSpec", &[("selector", "replace", "")]),
    ("io.k8s.api.policy.v1.PodDisruptionBudgetStatus", CONDITIONS),
];

/// `conditions` keyed by `type`, the most common patch metadata.
const CONDITIONS: &[PropertyPatch] = &[("conditions", "merge", "type")];

/// Keyed lists of `Container` and `EphemeralContainer`.
const CONTAINER: &[PropertyPatch] = &[
    ("ports", "merge", "containerPort"),
    ("env", "merge", "name"),
    ("volumeMounts", "merge", "mountPath"),
    ("volumeDevices", "merge", "devicePath"),
];
