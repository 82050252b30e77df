//! Message descriptors for the Kubernetes types brink decodes from protobuf:
//! each field's number (from Kubernetes' `generated.proto`), its JSON name and
//! how Go's JSON encoder writes it (pointer, `omitempty`, inline; from `types.go`).
//! Derived mechanically from k8s.io/api and k8s.io/apimachinery v0.36.3
//! (Kubernetes 1.36); edit by hand when a field is added.

use super::wire::Card::{Always, Inline, List, Map, NonZero, Present};
use super::wire::Ty::*;
use super::wire::{Field, Message};

/// The objects brink accepts as protobuf: `(apiVersion, kind, message)`.
pub(super) static ROOTS: &[(&str, &str, &Message)] = &[
    ("v1", "ConfigMap", &CORE_V1_CONFIG_MAP),
    ("v1", "Secret", &CORE_V1_SECRET),
    ("v1", "Namespace", &CORE_V1_NAMESPACE),
    ("v1", "ServiceAccount", &CORE_V1_SERVICE_ACCOUNT),
    ("v1", "Service", &CORE_V1_SERVICE),
    ("v1", "ResourceQuota", &CORE_V1_RESOURCE_QUOTA),
    ("v1", "Pod", &CORE_V1_POD),
    ("apps/v1", "Deployment", &APPS_V1_DEPLOYMENT),
    ("apps/v1", "ReplicaSet", &APPS_V1_REPLICA_SET),
    ("apps/v1", "StatefulSet", &APPS_V1_STATEFUL_SET),
    ("apps/v1", "DaemonSet", &APPS_V1_DAEMON_SET),
    ("batch/v1", "Job", &BATCH_V1_JOB),
    ("batch/v1", "CronJob", &BATCH_V1_CRON_JOB),
    ("rbac.authorization.k8s.io/v1", "Role", &RBAC_V1_ROLE),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        &RBAC_V1_CLUSTER_ROLE,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        &RBAC_V1_ROLE_BINDING,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &RBAC_V1_CLUSTER_ROLE_BINDING,
    ),
    ("networking.k8s.io/v1", "Ingress", &NETWORKING_V1_INGRESS),
    (
        "policy/v1",
        "PodDisruptionBudget",
        &POLICY_V1_POD_DISRUPTION_BUDGET,
    ),
    (
        "scheduling.k8s.io/v1",
        "PriorityClass",
        &SCHEDULING_V1_PRIORITY_CLASS,
    ),
    (
        "authentication.k8s.io/v1",
        "TokenRequest",
        &AUTHENTICATION_V1_TOKEN_REQUEST,
    ),
];

static APPS_V1_DAEMON_SET: Message = Message {
    name: "apps/v1.DaemonSet",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&APPS_V1_DAEMON_SET_SPEC)),
        Field(3, "status", Present, Msg(&APPS_V1_DAEMON_SET_STATUS)),
    ],
};

static APPS_V1_DAEMON_SET_CONDITION: Message = Message {
    name: "apps/v1.DaemonSetCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "lastTransitionTime", Present, Time),
        Field(4, "reason", NonZero, Str),
        Field(5, "message", NonZero, Str),
    ],
};

static APPS_V1_DAEMON_SET_SPEC: Message = Message {
    name: "apps/v1.DaemonSetSpec",
    fields: &[
        Field(1, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(2, "template", Present, Msg(&CORE_V1_POD_TEMPLATE_SPEC)),
        Field(
            3,
            "updateStrategy",
            Present,
            Msg(&APPS_V1_DAEMON_SET_UPDATE_STRATEGY),
        ),
        Field(4, "minReadySeconds", NonZero, I32),
        Field(6, "revisionHistoryLimit", Present, I32),
    ],
};

static APPS_V1_DAEMON_SET_STATUS: Message = Message {
    name: "apps/v1.DaemonSetStatus",
    fields: &[
        Field(1, "currentNumberScheduled", Always, I32),
        Field(2, "numberMisscheduled", Always, I32),
        Field(3, "desiredNumberScheduled", Always, I32),
        Field(4, "numberReady", Always, I32),
        Field(5, "observedGeneration", NonZero, I64),
        Field(6, "updatedNumberScheduled", NonZero, I32),
        Field(7, "numberAvailable", NonZero, I32),
        Field(8, "numberUnavailable", NonZero, I32),
        Field(9, "collisionCount", Present, I32),
        Field(10, "conditions", List, Msg(&APPS_V1_DAEMON_SET_CONDITION)),
    ],
};

static APPS_V1_DAEMON_SET_UPDATE_STRATEGY: Message = Message {
    name: "apps/v1.DaemonSetUpdateStrategy",
    fields: &[
        Field(1, "type", NonZero, Str),
        Field(
            2,
            "rollingUpdate",
            Present,
            Msg(&APPS_V1_ROLLING_UPDATE_DAEMON_SET),
        ),
    ],
};

static APPS_V1_DEPLOYMENT: Message = Message {
    name: "apps/v1.Deployment",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&APPS_V1_DEPLOYMENT_SPEC)),
        Field(3, "status", Present, Msg(&APPS_V1_DEPLOYMENT_STATUS)),
    ],
};

static APPS_V1_DEPLOYMENT_CONDITION: Message = Message {
    name: "apps/v1.DeploymentCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(4, "reason", NonZero, Str),
        Field(5, "message", NonZero, Str),
        Field(6, "lastUpdateTime", Present, Time),
        Field(7, "lastTransitionTime", Present, Time),
    ],
};

static APPS_V1_DEPLOYMENT_SPEC: Message = Message {
    name: "apps/v1.DeploymentSpec",
    fields: &[
        Field(1, "replicas", Present, I32),
        Field(2, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(3, "template", Present, Msg(&CORE_V1_POD_TEMPLATE_SPEC)),
        Field(4, "strategy", Present, Msg(&APPS_V1_DEPLOYMENT_STRATEGY)),
        Field(5, "minReadySeconds", NonZero, I32),
        Field(6, "revisionHistoryLimit", Present, I32),
        Field(7, "paused", NonZero, Bool),
        Field(9, "progressDeadlineSeconds", Present, I32),
    ],
};

static APPS_V1_DEPLOYMENT_STATUS: Message = Message {
    name: "apps/v1.DeploymentStatus",
    fields: &[
        Field(1, "observedGeneration", NonZero, I64),
        Field(2, "replicas", NonZero, I32),
        Field(3, "updatedReplicas", NonZero, I32),
        Field(4, "availableReplicas", NonZero, I32),
        Field(5, "unavailableReplicas", NonZero, I32),
        Field(6, "conditions", List, Msg(&APPS_V1_DEPLOYMENT_CONDITION)),
        Field(7, "readyReplicas", NonZero, I32),
        Field(8, "collisionCount", Present, I32),
        Field(9, "terminatingReplicas", Present, I32),
    ],
};

static APPS_V1_DEPLOYMENT_STRATEGY: Message = Message {
    name: "apps/v1.DeploymentStrategy",
    fields: &[
        Field(1, "type", NonZero, Str),
        Field(
            2,
            "rollingUpdate",
            Present,
            Msg(&APPS_V1_ROLLING_UPDATE_DEPLOYMENT),
        ),
    ],
};

static APPS_V1_REPLICA_SET: Message = Message {
    name: "apps/v1.ReplicaSet",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&APPS_V1_REPLICA_SET_SPEC)),
        Field(3, "status", Present, Msg(&APPS_V1_REPLICA_SET_STATUS)),
    ],
};

static APPS_V1_REPLICA_SET_CONDITION: Message = Message {
    name: "apps/v1.ReplicaSetCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "lastTransitionTime", Present, Time),
        Field(4, "reason", NonZero, Str),
        Field(5, "message", NonZero, Str),
    ],
};

static APPS_V1_REPLICA_SET_SPEC: Message = Message {
    name: "apps/v1.ReplicaSetSpec",
    fields: &[
        Field(1, "replicas", Present, I32),
        Field(2, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(3, "template", Present, Msg(&CORE_V1_POD_TEMPLATE_SPEC)),
        Field(4, "minReadySeconds", NonZero, I32),
    ],
};

static APPS_V1_REPLICA_SET_STATUS: Message = Message {
    name: "apps/v1.ReplicaSetStatus",
    fields: &[
        Field(1, "replicas", Always, I32),
        Field(2, "fullyLabeledReplicas", NonZero, I32),
        Field(3, "observedGeneration", NonZero, I64),
        Field(4, "readyReplicas", NonZero, I32),
        Field(5, "availableReplicas", NonZero, I32),
        Field(6, "conditions", List, Msg(&APPS_V1_REPLICA_SET_CONDITION)),
        Field(7, "terminatingReplicas", Present, I32),
    ],
};

static APPS_V1_ROLLING_UPDATE_DAEMON_SET: Message = Message {
    name: "apps/v1.RollingUpdateDaemonSet",
    fields: &[
        Field(1, "maxUnavailable", Present, IntOrString),
        Field(2, "maxSurge", Present, IntOrString),
    ],
};

static APPS_V1_ROLLING_UPDATE_DEPLOYMENT: Message = Message {
    name: "apps/v1.RollingUpdateDeployment",
    fields: &[
        Field(1, "maxUnavailable", Present, IntOrString),
        Field(2, "maxSurge", Present, IntOrString),
    ],
};

static APPS_V1_ROLLING_UPDATE_STATEFUL_SET_STRATEGY: Message = Message {
    name: "apps/v1.RollingUpdateStatefulSetStrategy",
    fields: &[
        Field(1, "partition", Present, I32),
        Field(2, "maxUnavailable", Present, IntOrString),
    ],
};

static APPS_V1_STATEFUL_SET: Message = Message {
    name: "apps/v1.StatefulSet",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&APPS_V1_STATEFUL_SET_SPEC)),
        Field(3, "status", Present, Msg(&APPS_V1_STATEFUL_SET_STATUS)),
    ],
};

static APPS_V1_STATEFUL_SET_CONDITION: Message = Message {
    name: "apps/v1.StatefulSetCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "lastTransitionTime", Present, Time),
        Field(4, "reason", NonZero, Str),
        Field(5, "message", NonZero, Str),
    ],
};

static APPS_V1_STATEFUL_SET_ORDINALS: Message = Message {
    name: "apps/v1.StatefulSetOrdinals",
    fields: &[Field(1, "start", Always, I32)],
};

static APPS_V1_STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY: Message = Message {
    name: "apps/v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
    fields: &[
        Field(1, "whenDeleted", NonZero, Str),
        Field(2, "whenScaled", NonZero, Str),
    ],
};

static APPS_V1_STATEFUL_SET_SPEC: Message = Message {
    name: "apps/v1.StatefulSetSpec",
    fields: &[
        Field(1, "replicas", Present, I32),
        Field(2, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(3, "template", Present, Msg(&CORE_V1_POD_TEMPLATE_SPEC)),
        Field(
            4,
            "volumeClaimTemplates",
            List,
            Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM),
        ),
        Field(5, "serviceName", Always, Str),
        Field(6, "podManagementPolicy", NonZero, Str),
        Field(
            7,
            "updateStrategy",
            Present,
            Msg(&APPS_V1_STATEFUL_SET_UPDATE_STRATEGY),
        ),
        Field(8, "revisionHistoryLimit", Present, I32),
        Field(9, "minReadySeconds", NonZero, I32),
        Field(
            10,
            "persistentVolumeClaimRetentionPolicy",
            Present,
            Msg(&APPS_V1_STATEFUL_SET_PERSISTENT_VOLUME_CLAIM_RETENTION_POLICY),
        ),
        Field(11, "ordinals", Present, Msg(&APPS_V1_STATEFUL_SET_ORDINALS)),
    ],
};

static APPS_V1_STATEFUL_SET_STATUS: Message = Message {
    name: "apps/v1.StatefulSetStatus",
    fields: &[
        Field(1, "observedGeneration", NonZero, I64),
        Field(2, "replicas", Always, I32),
        Field(3, "readyReplicas", NonZero, I32),
        Field(4, "currentReplicas", NonZero, I32),
        Field(5, "updatedReplicas", NonZero, I32),
        Field(6, "currentRevision", NonZero, Str),
        Field(7, "updateRevision", NonZero, Str),
        Field(9, "collisionCount", Present, I32),
        Field(10, "conditions", List, Msg(&APPS_V1_STATEFUL_SET_CONDITION)),
        Field(11, "availableReplicas", Always, I32),
    ],
};

static APPS_V1_STATEFUL_SET_UPDATE_STRATEGY: Message = Message {
    name: "apps/v1.StatefulSetUpdateStrategy",
    fields: &[
        Field(1, "type", NonZero, Str),
        Field(
            2,
            "rollingUpdate",
            Present,
            Msg(&APPS_V1_ROLLING_UPDATE_STATEFUL_SET_STRATEGY),
        ),
    ],
};

static AUTHENTICATION_V1_BOUND_OBJECT_REFERENCE: Message = Message {
    name: "authentication/v1.BoundObjectReference",
    fields: &[
        Field(1, "kind", NonZero, Str),
        Field(2, "apiVersion", NonZero, Str),
        Field(3, "name", NonZero, Str),
        Field(4, "uid", NonZero, Str),
    ],
};

static AUTHENTICATION_V1_TOKEN_REQUEST: Message = Message {
    name: "authentication/v1.TokenRequest",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(
            2,
            "spec",
            Present,
            Msg(&AUTHENTICATION_V1_TOKEN_REQUEST_SPEC),
        ),
        Field(
            3,
            "status",
            Present,
            Msg(&AUTHENTICATION_V1_TOKEN_REQUEST_STATUS),
        ),
    ],
};

static AUTHENTICATION_V1_TOKEN_REQUEST_SPEC: Message = Message {
    name: "authentication/v1.TokenRequestSpec",
    fields: &[
        Field(1, "audiences", List, Str),
        Field(
            3,
            "boundObjectRef",
            Present,
            Msg(&AUTHENTICATION_V1_BOUND_OBJECT_REFERENCE),
        ),
        Field(4, "expirationSeconds", Present, I64),
    ],
};

static AUTHENTICATION_V1_TOKEN_REQUEST_STATUS: Message = Message {
    name: "authentication/v1.TokenRequestStatus",
    fields: &[
        Field(1, "token", Always, Str),
        Field(2, "expirationTimestamp", Present, Time),
    ],
};

static BATCH_V1_CRON_JOB: Message = Message {
    name: "batch/v1.CronJob",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&BATCH_V1_CRON_JOB_SPEC)),
        Field(3, "status", Present, Msg(&BATCH_V1_CRON_JOB_STATUS)),
    ],
};

static BATCH_V1_CRON_JOB_SPEC: Message = Message {
    name: "batch/v1.CronJobSpec",
    fields: &[
        Field(1, "schedule", Always, Str),
        Field(2, "startingDeadlineSeconds", Present, I64),
        Field(3, "concurrencyPolicy", NonZero, Str),
        Field(4, "suspend", Present, Bool),
        Field(5, "jobTemplate", Present, Msg(&BATCH_V1_JOB_TEMPLATE_SPEC)),
        Field(6, "successfulJobsHistoryLimit", Present, I32),
        Field(7, "failedJobsHistoryLimit", Present, I32),
        Field(8, "timeZone", Present, Str),
    ],
};

static BATCH_V1_CRON_JOB_STATUS: Message = Message {
    name: "batch/v1.CronJobStatus",
    fields: &[
        Field(1, "active", List, Msg(&CORE_V1_OBJECT_REFERENCE)),
        Field(4, "lastScheduleTime", Present, Time),
        Field(5, "lastSuccessfulTime", Present, Time),
    ],
};

static BATCH_V1_JOB: Message = Message {
    name: "batch/v1.Job",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&BATCH_V1_JOB_SPEC)),
        Field(3, "status", Present, Msg(&BATCH_V1_JOB_STATUS)),
    ],
};

static BATCH_V1_JOB_CONDITION: Message = Message {
    name: "batch/v1.JobCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "lastProbeTime", Present, Time),
        Field(4, "lastTransitionTime", Present, Time),
        Field(5, "reason", NonZero, Str),
        Field(6, "message", NonZero, Str),
    ],
};

static BATCH_V1_JOB_SPEC: Message = Message {
    name: "batch/v1.JobSpec",
    fields: &[
        Field(1, "parallelism", Present, I32),
        Field(2, "completions", Present, I32),
        Field(3, "activeDeadlineSeconds", Present, I64),
        Field(4, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(5, "manualSelector", Present, Bool),
        Field(6, "template", Present, Msg(&CORE_V1_POD_TEMPLATE_SPEC)),
        Field(7, "backoffLimit", Present, I32),
        Field(8, "ttlSecondsAfterFinished", Present, I32),
        Field(9, "completionMode", Present, Str),
        Field(10, "suspend", Present, Bool),
        Field(
            11,
            "podFailurePolicy",
            Present,
            Msg(&BATCH_V1_POD_FAILURE_POLICY),
        ),
        Field(12, "backoffLimitPerIndex", Present, I32),
        Field(13, "maxFailedIndexes", Present, I32),
        Field(14, "podReplacementPolicy", Present, Str),
        Field(15, "managedBy", Present, Str),
        Field(16, "successPolicy", Present, Msg(&BATCH_V1_SUCCESS_POLICY)),
    ],
};

static BATCH_V1_JOB_STATUS: Message = Message {
    name: "batch/v1.JobStatus",
    fields: &[
        Field(1, "conditions", List, Msg(&BATCH_V1_JOB_CONDITION)),
        Field(2, "startTime", Present, Time),
        Field(3, "completionTime", Present, Time),
        Field(4, "active", NonZero, I32),
        Field(5, "succeeded", NonZero, I32),
        Field(6, "failed", NonZero, I32),
        Field(7, "completedIndexes", NonZero, Str),
        Field(
            8,
            "uncountedTerminatedPods",
            Present,
            Msg(&BATCH_V1_UNCOUNTED_TERMINATED_PODS),
        ),
        Field(9, "ready", Present, I32),
        Field(10, "failedIndexes", Present, Str),
        Field(11, "terminating", Present, I32),
    ],
};

static BATCH_V1_JOB_TEMPLATE_SPEC: Message = Message {
    name: "batch/v1.JobTemplateSpec",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&BATCH_V1_JOB_SPEC)),
    ],
};

static BATCH_V1_POD_FAILURE_POLICY: Message = Message {
    name: "batch/v1.PodFailurePolicy",
    fields: &[Field(
        1,
        "rules",
        List,
        Msg(&BATCH_V1_POD_FAILURE_POLICY_RULE),
    )],
};

static BATCH_V1_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT: Message = Message {
    name: "batch/v1.PodFailurePolicyOnExitCodesRequirement",
    fields: &[
        Field(1, "containerName", Present, Str),
        Field(2, "operator", Always, Str),
        Field(3, "values", List, I32),
    ],
};

static BATCH_V1_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN: Message = Message {
    name: "batch/v1.PodFailurePolicyOnPodConditionsPattern",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
    ],
};

static BATCH_V1_POD_FAILURE_POLICY_RULE: Message = Message {
    name: "batch/v1.PodFailurePolicyRule",
    fields: &[
        Field(1, "action", Always, Str),
        Field(
            2,
            "onExitCodes",
            Present,
            Msg(&BATCH_V1_POD_FAILURE_POLICY_ON_EXIT_CODES_REQUIREMENT),
        ),
        Field(
            3,
            "onPodConditions",
            List,
            Msg(&BATCH_V1_POD_FAILURE_POLICY_ON_POD_CONDITIONS_PATTERN),
        ),
    ],
};

static BATCH_V1_SUCCESS_POLICY: Message = Message {
    name: "batch/v1.SuccessPolicy",
    fields: &[Field(1, "rules", List, Msg(&BATCH_V1_SUCCESS_POLICY_RULE))],
};

static BATCH_V1_SUCCESS_POLICY_RULE: Message = Message {
    name: "batch/v1.SuccessPolicyRule",
    fields: &[
        Field(1, "succeededIndexes", Present, Str),
        Field(2, "succeededCount", Present, I32),
    ],
};

static BATCH_V1_UNCOUNTED_TERMINATED_PODS: Message = Message {
    name: "batch/v1.UncountedTerminatedPods",
    fields: &[
        Field(1, "succeeded", List, Str),
        Field(2, "failed", List, Str),
    ],
};

static CORE_V1_AFFINITY: Message = Message {
    name: "v1.Affinity",
    fields: &[
        Field(1, "nodeAffinity", Present, Msg(&CORE_V1_NODE_AFFINITY)),
        Field(2, "podAffinity", Present, Msg(&CORE_V1_POD_AFFINITY)),
        Field(
            3,
            "podAntiAffinity",
            Present,
            Msg(&CORE_V1_POD_ANTI_AFFINITY),
        ),
    ],
};

static CORE_V1_APP_ARMOR_PROFILE: Message = Message {
    name: "v1.AppArmorProfile",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "localhostProfile", Present, Str),
    ],
};

static CORE_V1_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = Message {
    name: "v1.AWSElasticBlockStoreVolumeSource",
    fields: &[
        Field(1, "volumeID", Always, Str),
        Field(2, "fsType", NonZero, Str),
        Field(3, "partition", NonZero, I32),
        Field(4, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_AZURE_DISK_VOLUME_SOURCE: Message = Message {
    name: "v1.AzureDiskVolumeSource",
    fields: &[
        Field(1, "diskName", Always, Str),
        Field(2, "diskURI", Always, Str),
        Field(3, "cachingMode", Present, Str),
        Field(4, "fsType", Present, Str),
        Field(5, "readOnly", Present, Bool),
        Field(6, "kind", Present, Str),
    ],
};

static CORE_V1_AZURE_FILE_VOLUME_SOURCE: Message = Message {
    name: "v1.AzureFileVolumeSource",
    fields: &[
        Field(1, "secretName", Always, Str),
        Field(2, "shareName", Always, Str),
        Field(3, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_CAPABILITIES: Message = Message {
    name: "v1.Capabilities",
    fields: &[Field(1, "add", List, Str), Field(2, "drop", List, Str)],
};

static CORE_V1_CEPH_FS_VOLUME_SOURCE: Message = Message {
    name: "v1.CephFSVolumeSource",
    fields: &[
        Field(1, "monitors", List, Str),
        Field(2, "path", NonZero, Str),
        Field(3, "user", NonZero, Str),
        Field(4, "secretFile", NonZero, Str),
        Field(
            5,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(6, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_CINDER_VOLUME_SOURCE: Message = Message {
    name: "v1.CinderVolumeSource",
    fields: &[
        Field(1, "volumeID", Always, Str),
        Field(2, "fsType", NonZero, Str),
        Field(3, "readOnly", NonZero, Bool),
        Field(
            4,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
    ],
};

static CORE_V1_CLIENT_IP_CONFIG: Message = Message {
    name: "v1.ClientIPConfig",
    fields: &[Field(1, "timeoutSeconds", Present, I32)],
};

static CORE_V1_CLUSTER_TRUST_BUNDLE_PROJECTION: Message = Message {
    name: "v1.ClusterTrustBundleProjection",
    fields: &[
        Field(1, "name", Present, Str),
        Field(2, "signerName", Present, Str),
        Field(3, "labelSelector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(4, "path", Always, Str),
        Field(5, "optional", Present, Bool),
    ],
};

static CORE_V1_CONFIG_MAP: Message = Message {
    name: "v1.ConfigMap",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "data", Map, Str),
        Field(3, "binaryData", Map, Bytes),
        Field(4, "immutable", Present, Bool),
    ],
};

static CORE_V1_CONFIG_MAP_ENV_SOURCE: Message = Message {
    name: "v1.ConfigMapEnvSource",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "optional", Present, Bool),
    ],
};

static CORE_V1_CONFIG_MAP_KEY_SELECTOR: Message = Message {
    name: "v1.ConfigMapKeySelector",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "key", Always, Str),
        Field(3, "optional", Present, Bool),
    ],
};

static CORE_V1_CONFIG_MAP_PROJECTION: Message = Message {
    name: "v1.ConfigMapProjection",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "items", List, Msg(&CORE_V1_KEY_TO_PATH)),
        Field(4, "optional", Present, Bool),
    ],
};

static CORE_V1_CONFIG_MAP_VOLUME_SOURCE: Message = Message {
    name: "v1.ConfigMapVolumeSource",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "items", List, Msg(&CORE_V1_KEY_TO_PATH)),
        Field(3, "defaultMode", Present, I32),
        Field(4, "optional", Present, Bool),
    ],
};

static CORE_V1_CONTAINER: Message = Message {
    name: "v1.Container",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "image", NonZero, Str),
        Field(3, "command", List, Str),
        Field(4, "args", List, Str),
        Field(5, "workingDir", NonZero, Str),
        Field(6, "ports", List, Msg(&CORE_V1_CONTAINER_PORT)),
        Field(7, "env", List, Msg(&CORE_V1_ENV_VAR)),
        Field(8, "resources", Present, Msg(&CORE_V1_RESOURCE_REQUIREMENTS)),
        Field(9, "volumeMounts", List, Msg(&CORE_V1_VOLUME_MOUNT)),
        Field(10, "livenessProbe", Present, Msg(&CORE_V1_PROBE)),
        Field(11, "readinessProbe", Present, Msg(&CORE_V1_PROBE)),
        Field(12, "lifecycle", Present, Msg(&CORE_V1_LIFECYCLE)),
        Field(13, "terminationMessagePath", NonZero, Str),
        Field(14, "imagePullPolicy", NonZero, Str),
        Field(
            15,
            "securityContext",
            Present,
            Msg(&CORE_V1_SECURITY_CONTEXT),
        ),
        Field(16, "stdin", NonZero, Bool),
        Field(17, "stdinOnce", NonZero, Bool),
        Field(18, "tty", NonZero, Bool),
        Field(19, "envFrom", List, Msg(&CORE_V1_ENV_FROM_SOURCE)),
        Field(20, "terminationMessagePolicy", NonZero, Str),
        Field(21, "volumeDevices", List, Msg(&CORE_V1_VOLUME_DEVICE)),
        Field(22, "startupProbe", Present, Msg(&CORE_V1_PROBE)),
        Field(
            23,
            "resizePolicy",
            List,
            Msg(&CORE_V1_CONTAINER_RESIZE_POLICY),
        ),
        Field(24, "restartPolicy", Present, Str),
        Field(
            25,
            "restartPolicyRules",
            List,
            Msg(&CORE_V1_CONTAINER_RESTART_RULE),
        ),
    ],
};

static CORE_V1_CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = Message {
    name: "v1.ContainerExtendedResourceRequest",
    fields: &[
        Field(1, "containerName", Always, Str),
        Field(2, "resourceName", Always, Str),
        Field(3, "requestName", Always, Str),
    ],
};

static CORE_V1_CONTAINER_PORT: Message = Message {
    name: "v1.ContainerPort",
    fields: &[
        Field(1, "name", NonZero, Str),
        Field(2, "hostPort", NonZero, I32),
        Field(3, "containerPort", Always, I32),
        Field(4, "protocol", NonZero, Str),
        Field(5, "hostIP", NonZero, Str),
    ],
};

static CORE_V1_CONTAINER_RESIZE_POLICY: Message = Message {
    name: "v1.ContainerResizePolicy",
    fields: &[
        Field(1, "resourceName", Always, Str),
        Field(2, "restartPolicy", Always, Str),
    ],
};

static CORE_V1_CONTAINER_RESTART_RULE: Message = Message {
    name: "v1.ContainerRestartRule",
    fields: &[
        Field(1, "action", NonZero, Str),
        Field(
            2,
            "exitCodes",
            Present,
            Msg(&CORE_V1_CONTAINER_RESTART_RULE_ON_EXIT_CODES),
        ),
    ],
};

static CORE_V1_CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = Message {
    name: "v1.ContainerRestartRuleOnExitCodes",
    fields: &[
        Field(1, "operator", NonZero, Str),
        Field(2, "values", List, I32),
    ],
};

static CORE_V1_CONTAINER_STATE: Message = Message {
    name: "v1.ContainerState",
    fields: &[
        Field(1, "waiting", Present, Msg(&CORE_V1_CONTAINER_STATE_WAITING)),
        Field(2, "running", Present, Msg(&CORE_V1_CONTAINER_STATE_RUNNING)),
        Field(
            3,
            "terminated",
            Present,
            Msg(&CORE_V1_CONTAINER_STATE_TERMINATED),
        ),
    ],
};

static CORE_V1_CONTAINER_STATE_RUNNING: Message = Message {
    name: "v1.ContainerStateRunning",
    fields: &[Field(1, "startedAt", Present, Time)],
};

static CORE_V1_CONTAINER_STATE_TERMINATED: Message = Message {
    name: "v1.ContainerStateTerminated",
    fields: &[
        Field(1, "exitCode", Always, I32),
        Field(2, "signal", NonZero, I32),
        Field(3, "reason", NonZero, Str),
        Field(4, "message", NonZero, Str),
        Field(5, "startedAt", Present, Time),
        Field(6, "finishedAt", Present, Time),
        Field(7, "containerID", NonZero, Str),
    ],
};

static CORE_V1_CONTAINER_STATE_WAITING: Message = Message {
    name: "v1.ContainerStateWaiting",
    fields: &[
        Field(1, "reason", NonZero, Str),
        Field(2, "message", NonZero, Str),
    ],
};

static CORE_V1_CONTAINER_STATUS: Message = Message {
    name: "v1.ContainerStatus",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "state", Present, Msg(&CORE_V1_CONTAINER_STATE)),
        Field(3, "lastState", Present, Msg(&CORE_V1_CONTAINER_STATE)),
        Field(4, "ready", Always, Bool),
        Field(5, "restartCount", Always, I32),
        Field(6, "image", Always, Str),
        Field(7, "imageID", Always, Str),
        Field(8, "containerID", NonZero, Str),
        Field(9, "started", Present, Bool),
        Field(10, "allocatedResources", Map, Quantity),
        Field(
            11,
            "resources",
            Present,
            Msg(&CORE_V1_RESOURCE_REQUIREMENTS),
        ),
        Field(12, "volumeMounts", List, Msg(&CORE_V1_VOLUME_MOUNT_STATUS)),
        Field(13, "user", Present, Msg(&CORE_V1_CONTAINER_USER)),
        Field(
            14,
            "allocatedResourcesStatus",
            List,
            Msg(&CORE_V1_RESOURCE_STATUS),
        ),
        Field(15, "stopSignal", Present, Str),
    ],
};

static CORE_V1_CONTAINER_USER: Message = Message {
    name: "v1.ContainerUser",
    fields: &[Field(
        1,
        "linux",
        Present,
        Msg(&CORE_V1_LINUX_CONTAINER_USER),
    )],
};

static CORE_V1_CSI_VOLUME_SOURCE: Message = Message {
    name: "v1.CSIVolumeSource",
    fields: &[
        Field(1, "driver", Always, Str),
        Field(2, "readOnly", Present, Bool),
        Field(3, "fsType", Present, Str),
        Field(4, "volumeAttributes", Map, Str),
        Field(
            5,
            "nodePublishSecretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
    ],
};

static CORE_V1_DOWNWARD_API_PROJECTION: Message = Message {
    name: "v1.DownwardAPIProjection",
    fields: &[Field(
        1,
        "items",
        List,
        Msg(&CORE_V1_DOWNWARD_API_VOLUME_FILE),
    )],
};

static CORE_V1_DOWNWARD_API_VOLUME_FILE: Message = Message {
    name: "v1.DownwardAPIVolumeFile",
    fields: &[
        Field(1, "path", Always, Str),
        Field(2, "fieldRef", Present, Msg(&CORE_V1_OBJECT_FIELD_SELECTOR)),
        Field(
            3,
            "resourceFieldRef",
            Present,
            Msg(&CORE_V1_RESOURCE_FIELD_SELECTOR),
        ),
        Field(4, "mode", Present, I32),
    ],
};

static CORE_V1_DOWNWARD_API_VOLUME_SOURCE: Message = Message {
    name: "v1.DownwardAPIVolumeSource",
    fields: &[
        Field(1, "items", List, Msg(&CORE_V1_DOWNWARD_API_VOLUME_FILE)),
        Field(2, "defaultMode", Present, I32),
    ],
};

static CORE_V1_EMPTY_DIR_VOLUME_SOURCE: Message = Message {
    name: "v1.EmptyDirVolumeSource",
    fields: &[
        Field(1, "medium", NonZero, Str),
        Field(2, "sizeLimit", Present, Quantity),
    ],
};

static CORE_V1_ENV_FROM_SOURCE: Message = Message {
    name: "v1.EnvFromSource",
    fields: &[
        Field(1, "prefix", NonZero, Str),
        Field(
            2,
            "configMapRef",
            Present,
            Msg(&CORE_V1_CONFIG_MAP_ENV_SOURCE),
        ),
        Field(3, "secretRef", Present, Msg(&CORE_V1_SECRET_ENV_SOURCE)),
    ],
};

static CORE_V1_ENV_VAR: Message = Message {
    name: "v1.EnvVar",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "value", NonZero, Str),
        Field(3, "valueFrom", Present, Msg(&CORE_V1_ENV_VAR_SOURCE)),
    ],
};

static CORE_V1_ENV_VAR_SOURCE: Message = Message {
    name: "v1.EnvVarSource",
    fields: &[
        Field(1, "fieldRef", Present, Msg(&CORE_V1_OBJECT_FIELD_SELECTOR)),
        Field(
            2,
            "resourceFieldRef",
            Present,
            Msg(&CORE_V1_RESOURCE_FIELD_SELECTOR),
        ),
        Field(
            3,
            "configMapKeyRef",
            Present,
            Msg(&CORE_V1_CONFIG_MAP_KEY_SELECTOR),
        ),
        Field(
            4,
            "secretKeyRef",
            Present,
            Msg(&CORE_V1_SECRET_KEY_SELECTOR),
        ),
        Field(5, "fileKeyRef", Present, Msg(&CORE_V1_FILE_KEY_SELECTOR)),
    ],
};

static CORE_V1_EPHEMERAL_CONTAINER: Message = Message {
    name: "v1.EphemeralContainer",
    fields: &[
        Field(
            1,
            "ephemeralContainerCommon",
            Inline,
            Msg(&CORE_V1_EPHEMERAL_CONTAINER_COMMON),
        ),
        Field(2, "targetContainerName", NonZero, Str),
    ],
};

static CORE_V1_EPHEMERAL_CONTAINER_COMMON: Message = Message {
    name: "v1.EphemeralContainerCommon",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "image", NonZero, Str),
        Field(3, "command", List, Str),
        Field(4, "args", List, Str),
        Field(5, "workingDir", NonZero, Str),
        Field(6, "ports", List, Msg(&CORE_V1_CONTAINER_PORT)),
        Field(7, "env", List, Msg(&CORE_V1_ENV_VAR)),
        Field(8, "resources", Present, Msg(&CORE_V1_RESOURCE_REQUIREMENTS)),
        Field(9, "volumeMounts", List, Msg(&CORE_V1_VOLUME_MOUNT)),
        Field(10, "livenessProbe", Present, Msg(&CORE_V1_PROBE)),
        Field(11, "readinessProbe", Present, Msg(&CORE_V1_PROBE)),
        Field(12, "lifecycle", Present, Msg(&CORE_V1_LIFECYCLE)),
        Field(13, "terminationMessagePath", NonZero, Str),
        Field(14, "imagePullPolicy", NonZero, Str),
        Field(
            15,
            "securityContext",
            Present,
            Msg(&CORE_V1_SECURITY_CONTEXT),
        ),
        Field(16, "stdin", NonZero, Bool),
        Field(17, "stdinOnce", NonZero, Bool),
        Field(18, "tty", NonZero, Bool),
        Field(19, "envFrom", List, Msg(&CORE_V1_ENV_FROM_SOURCE)),
        Field(20, "terminationMessagePolicy", NonZero, Str),
        Field(21, "volumeDevices", List, Msg(&CORE_V1_VOLUME_DEVICE)),
        Field(22, "startupProbe", Present, Msg(&CORE_V1_PROBE)),
        Field(
            23,
            "resizePolicy",
            List,
            Msg(&CORE_V1_CONTAINER_RESIZE_POLICY),
        ),
        Field(24, "restartPolicy", Present, Str),
        Field(
            25,
            "restartPolicyRules",
            List,
            Msg(&CORE_V1_CONTAINER_RESTART_RULE),
        ),
    ],
};

static CORE_V1_EPHEMERAL_VOLUME_SOURCE: Message = Message {
    name: "v1.EphemeralVolumeSource",
    fields: &[Field(
        1,
        "volumeClaimTemplate",
        Present,
        Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM_TEMPLATE),
    )],
};

static CORE_V1_EXEC_ACTION: Message = Message {
    name: "v1.ExecAction",
    fields: &[Field(1, "command", List, Str)],
};

static CORE_V1_FC_VOLUME_SOURCE: Message = Message {
    name: "v1.FCVolumeSource",
    fields: &[
        Field(1, "targetWWNs", List, Str),
        Field(2, "lun", Present, I32),
        Field(3, "fsType", NonZero, Str),
        Field(4, "readOnly", NonZero, Bool),
        Field(5, "wwids", List, Str),
    ],
};

static CORE_V1_FILE_KEY_SELECTOR: Message = Message {
    name: "v1.FileKeySelector",
    fields: &[
        Field(1, "volumeName", Always, Str),
        Field(2, "path", Always, Str),
        Field(3, "key", Always, Str),
        Field(4, "optional", Present, Bool),
    ],
};

static CORE_V1_FLEX_VOLUME_SOURCE: Message = Message {
    name: "v1.FlexVolumeSource",
    fields: &[
        Field(1, "driver", Always, Str),
        Field(2, "fsType", NonZero, Str),
        Field(
            3,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(4, "readOnly", NonZero, Bool),
        Field(5, "options", Map, Str),
    ],
};

static CORE_V1_FLOCKER_VOLUME_SOURCE: Message = Message {
    name: "v1.FlockerVolumeSource",
    fields: &[
        Field(1, "datasetName", NonZero, Str),
        Field(2, "datasetUUID", NonZero, Str),
    ],
};

static CORE_V1_GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "v1.GCEPersistentDiskVolumeSource",
    fields: &[
        Field(1, "pdName", Always, Str),
        Field(2, "fsType", NonZero, Str),
        Field(3, "partition", NonZero, I32),
        Field(4, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_GIT_REPO_VOLUME_SOURCE: Message = Message {
    name: "v1.GitRepoVolumeSource",
    fields: &[
        Field(1, "repository", Always, Str),
        Field(2, "revision", NonZero, Str),
        Field(3, "directory", NonZero, Str),
    ],
};

static CORE_V1_GLUSTERFS_VOLUME_SOURCE: Message = Message {
    name: "v1.GlusterfsVolumeSource",
    fields: &[
        Field(1, "endpoints", Always, Str),
        Field(2, "path", Always, Str),
        Field(3, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_GRPC_ACTION: Message = Message {
    name: "v1.GRPCAction",
    fields: &[
        Field(1, "port", Always, I32),
        Field(2, "service", Present, Str),
    ],
};

static CORE_V1_HOST_ALIAS: Message = Message {
    name: "v1.HostAlias",
    fields: &[
        Field(1, "ip", Always, Str),
        Field(2, "hostnames", List, Str),
    ],
};

static CORE_V1_HOST_IP: Message = Message {
    name: "v1.HostIP",
    fields: &[Field(1, "ip", Always, Str)],
};

static CORE_V1_HOST_PATH_VOLUME_SOURCE: Message = Message {
    name: "v1.HostPathVolumeSource",
    fields: &[
        Field(1, "path", Always, Str),
        Field(2, "type", Present, Str),
    ],
};

static CORE_V1_HTTP_GET_ACTION: Message = Message {
    name: "v1.HTTPGetAction",
    fields: &[
        Field(1, "path", NonZero, Str),
        Field(2, "port", Present, IntOrString),
        Field(3, "host", NonZero, Str),
        Field(4, "scheme", NonZero, Str),
        Field(5, "httpHeaders", List, Msg(&CORE_V1_HTTP_HEADER)),
    ],
};

static CORE_V1_HTTP_HEADER: Message = Message {
    name: "v1.HTTPHeader",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "value", Always, Str),
    ],
};

static CORE_V1_IMAGE_VOLUME_SOURCE: Message = Message {
    name: "v1.ImageVolumeSource",
    fields: &[
        Field(1, "reference", NonZero, Str),
        Field(2, "pullPolicy", NonZero, Str),
    ],
};

static CORE_V1_IMAGE_VOLUME_STATUS: Message = Message {
    name: "v1.ImageVolumeStatus",
    fields: &[Field(1, "imageRef", NonZero, Str)],
};

static CORE_V1_ISCSI_VOLUME_SOURCE: Message = Message {
    name: "v1.ISCSIVolumeSource",
    fields: &[
        Field(1, "targetPortal", Always, Str),
        Field(2, "iqn", Always, Str),
        Field(3, "lun", Always, I32),
        Field(4, "iscsiInterface", NonZero, Str),
        Field(5, "fsType", NonZero, Str),
        Field(6, "readOnly", NonZero, Bool),
        Field(7, "portals", List, Str),
        Field(8, "chapAuthDiscovery", NonZero, Bool),
        Field(
            10,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(11, "chapAuthSession", NonZero, Bool),
        Field(12, "initiatorName", Present, Str),
    ],
};

static CORE_V1_KEY_TO_PATH: Message = Message {
    name: "v1.KeyToPath",
    fields: &[
        Field(1, "key", Always, Str),
        Field(2, "path", Always, Str),
        Field(3, "mode", Present, I32),
    ],
};

static CORE_V1_LIFECYCLE: Message = Message {
    name: "v1.Lifecycle",
    fields: &[
        Field(1, "postStart", Present, Msg(&CORE_V1_LIFECYCLE_HANDLER)),
        Field(2, "preStop", Present, Msg(&CORE_V1_LIFECYCLE_HANDLER)),
        Field(3, "stopSignal", Present, Str),
    ],
};

static CORE_V1_LIFECYCLE_HANDLER: Message = Message {
    name: "v1.LifecycleHandler",
    fields: &[
        Field(1, "exec", Present, Msg(&CORE_V1_EXEC_ACTION)),
        Field(2, "httpGet", Present, Msg(&CORE_V1_HTTP_GET_ACTION)),
        Field(3, "tcpSocket", Present, Msg(&CORE_V1_TCP_SOCKET_ACTION)),
        Field(4, "sleep", Present, Msg(&CORE_V1_SLEEP_ACTION)),
    ],
};

static CORE_V1_LINUX_CONTAINER_USER: Message = Message {
    name: "v1.LinuxContainerUser",
    fields: &[
        Field(1, "uid", Always, I64),
        Field(2, "gid", Always, I64),
        Field(3, "supplementalGroups", List, I64),
    ],
};

static CORE_V1_LOAD_BALANCER_INGRESS: Message = Message {
    name: "v1.LoadBalancerIngress",
    fields: &[
        Field(1, "ip", NonZero, Str),
        Field(2, "hostname", NonZero, Str),
        Field(3, "ipMode", Present, Str),
        Field(4, "ports", List, Msg(&CORE_V1_PORT_STATUS)),
    ],
};

static CORE_V1_LOAD_BALANCER_STATUS: Message = Message {
    name: "v1.LoadBalancerStatus",
    fields: &[Field(
        1,
        "ingress",
        List,
        Msg(&CORE_V1_LOAD_BALANCER_INGRESS),
    )],
};

static CORE_V1_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "v1.LocalObjectReference",
    fields: &[Field(1, "name", NonZero, Str)],
};

static CORE_V1_MODIFY_VOLUME_STATUS: Message = Message {
    name: "v1.ModifyVolumeStatus",
    fields: &[
        Field(1, "targetVolumeAttributesClassName", NonZero, Str),
        Field(2, "status", Always, Str),
    ],
};

static CORE_V1_NAMESPACE: Message = Message {
    name: "v1.Namespace",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&CORE_V1_NAMESPACE_SPEC)),
        Field(3, "status", Present, Msg(&CORE_V1_NAMESPACE_STATUS)),
    ],
};

static CORE_V1_NAMESPACE_CONDITION: Message = Message {
    name: "v1.NamespaceCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(4, "lastTransitionTime", Present, Time),
        Field(5, "reason", NonZero, Str),
        Field(6, "message", NonZero, Str),
    ],
};

static CORE_V1_NAMESPACE_SPEC: Message = Message {
    name: "v1.NamespaceSpec",
    fields: &[Field(1, "finalizers", List, Str)],
};

static CORE_V1_NAMESPACE_STATUS: Message = Message {
    name: "v1.NamespaceStatus",
    fields: &[
        Field(1, "phase", NonZero, Str),
        Field(2, "conditions", List, Msg(&CORE_V1_NAMESPACE_CONDITION)),
    ],
};

static CORE_V1_NFS_VOLUME_SOURCE: Message = Message {
    name: "v1.NFSVolumeSource",
    fields: &[
        Field(1, "server", Always, Str),
        Field(2, "path", Always, Str),
        Field(3, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_NODE_AFFINITY: Message = Message {
    name: "v1.NodeAffinity",
    fields: &[
        Field(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            Present,
            Msg(&CORE_V1_NODE_SELECTOR),
        ),
        Field(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            List,
            Msg(&CORE_V1_PREFERRED_SCHEDULING_TERM),
        ),
    ],
};

static CORE_V1_NODE_ALLOCATABLE_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "v1.NodeAllocatableResourceClaimStatus",
    fields: &[
        Field(1, "resourceClaimName", Always, Str),
        Field(2, "containers", List, Str),
        Field(3, "resources", Map, Quantity),
    ],
};

static CORE_V1_NODE_SELECTOR: Message = Message {
    name: "v1.NodeSelector",
    fields: &[Field(
        1,
        "nodeSelectorTerms",
        List,
        Msg(&CORE_V1_NODE_SELECTOR_TERM),
    )],
};

static CORE_V1_NODE_SELECTOR_REQUIREMENT: Message = Message {
    name: "v1.NodeSelectorRequirement",
    fields: &[
        Field(1, "key", Always, Str),
        Field(2, "operator", Always, Str),
        Field(3, "values", List, Str),
    ],
};

static CORE_V1_NODE_SELECTOR_TERM: Message = Message {
    name: "v1.NodeSelectorTerm",
    fields: &[
        Field(
            1,
            "matchExpressions",
            List,
            Msg(&CORE_V1_NODE_SELECTOR_REQUIREMENT),
        ),
        Field(
            2,
            "matchFields",
            List,
            Msg(&CORE_V1_NODE_SELECTOR_REQUIREMENT),
        ),
    ],
};

static CORE_V1_OBJECT_FIELD_SELECTOR: Message = Message {
    name: "v1.ObjectFieldSelector",
    fields: &[
        Field(1, "apiVersion", NonZero, Str),
        Field(2, "fieldPath", Always, Str),
    ],
};

static CORE_V1_OBJECT_REFERENCE: Message = Message {
    name: "v1.ObjectReference",
    fields: &[
        Field(1, "kind", NonZero, Str),
        Field(2, "namespace", NonZero, Str),
        Field(3, "name", NonZero, Str),
        Field(4, "uid", NonZero, Str),
        Field(5, "apiVersion", NonZero, Str),
        Field(6, "resourceVersion", NonZero, Str),
        Field(7, "fieldPath", NonZero, Str),
    ],
};

static CORE_V1_PERSISTENT_VOLUME_CLAIM: Message = Message {
    name: "v1.PersistentVolumeClaim",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(
            2,
            "spec",
            Present,
            Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM_SPEC),
        ),
        Field(
            3,
            "status",
            Present,
            Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM_STATUS),
        ),
    ],
};

static CORE_V1_PERSISTENT_VOLUME_CLAIM_CONDITION: Message = Message {
    name: "v1.PersistentVolumeClaimCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "lastProbeTime", Present, Time),
        Field(4, "lastTransitionTime", Present, Time),
        Field(5, "reason", NonZero, Str),
        Field(6, "message", NonZero, Str),
    ],
};

static CORE_V1_PERSISTENT_VOLUME_CLAIM_SPEC: Message = Message {
    name: "v1.PersistentVolumeClaimSpec",
    fields: &[
        Field(1, "accessModes", List, Str),
        Field(
            2,
            "resources",
            Present,
            Msg(&CORE_V1_VOLUME_RESOURCE_REQUIREMENTS),
        ),
        Field(3, "volumeName", NonZero, Str),
        Field(4, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(5, "storageClassName", Present, Str),
        Field(6, "volumeMode", Present, Str),
        Field(
            7,
            "dataSource",
            Present,
            Msg(&CORE_V1_TYPED_LOCAL_OBJECT_REFERENCE),
        ),
        Field(
            8,
            "dataSourceRef",
            Present,
            Msg(&CORE_V1_TYPED_OBJECT_REFERENCE),
        ),
        Field(9, "volumeAttributesClassName", Present, Str),
    ],
};

static CORE_V1_PERSISTENT_VOLUME_CLAIM_STATUS: Message = Message {
    name: "v1.PersistentVolumeClaimStatus",
    fields: &[
        Field(1, "phase", NonZero, Str),
        Field(2, "accessModes", List, Str),
        Field(3, "capacity", Map, Quantity),
        Field(
            4,
            "conditions",
            List,
            Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM_CONDITION),
        ),
        Field(5, "allocatedResources", Map, Quantity),
        Field(7, "allocatedResourceStatuses", Map, Str),
        Field(8, "currentVolumeAttributesClassName", Present, Str),
        Field(
            9,
            "modifyVolumeStatus",
            Present,
            Msg(&CORE_V1_MODIFY_VOLUME_STATUS),
        ),
    ],
};

static CORE_V1_PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = Message {
    name: "v1.PersistentVolumeClaimTemplate",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(
            2,
            "spec",
            Present,
            Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM_SPEC),
        ),
    ],
};

static CORE_V1_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = Message {
    name: "v1.PersistentVolumeClaimVolumeSource",
    fields: &[
        Field(1, "claimName", Always, Str),
        Field(2, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message = Message {
    name: "v1.PhotonPersistentDiskVolumeSource",
    fields: &[
        Field(1, "pdID", Always, Str),
        Field(2, "fsType", NonZero, Str),
    ],
};

static CORE_V1_POD: Message = Message {
    name: "v1.Pod",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&CORE_V1_POD_SPEC)),
        Field(3, "status", Present, Msg(&CORE_V1_POD_STATUS)),
    ],
};

static CORE_V1_POD_AFFINITY: Message = Message {
    name: "v1.PodAffinity",
    fields: &[
        Field(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            List,
            Msg(&CORE_V1_POD_AFFINITY_TERM),
        ),
        Field(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            List,
            Msg(&CORE_V1_WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

static CORE_V1_POD_AFFINITY_TERM: Message = Message {
    name: "v1.PodAffinityTerm",
    fields: &[
        Field(1, "labelSelector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(2, "namespaces", List, Str),
        Field(3, "topologyKey", Always, Str),
        Field(
            4,
            "namespaceSelector",
            Present,
            Msg(&META_V1_LABEL_SELECTOR),
        ),
        Field(5, "matchLabelKeys", List, Str),
        Field(6, "mismatchLabelKeys", List, Str),
    ],
};

static CORE_V1_POD_ANTI_AFFINITY: Message = Message {
    name: "v1.PodAntiAffinity",
    fields: &[
        Field(
            1,
            "requiredDuringSchedulingIgnoredDuringExecution",
            List,
            Msg(&CORE_V1_POD_AFFINITY_TERM),
        ),
        Field(
            2,
            "preferredDuringSchedulingIgnoredDuringExecution",
            List,
            Msg(&CORE_V1_WEIGHTED_POD_AFFINITY_TERM),
        ),
    ],
};

static CORE_V1_POD_CERTIFICATE_PROJECTION: Message = Message {
    name: "v1.PodCertificateProjection",
    fields: &[
        Field(1, "signerName", NonZero, Str),
        Field(2, "keyType", NonZero, Str),
        Field(3, "maxExpirationSeconds", Present, I32),
        Field(4, "credentialBundlePath", NonZero, Str),
        Field(5, "keyPath", NonZero, Str),
        Field(6, "certificateChainPath", NonZero, Str),
        Field(7, "userAnnotations", Map, Str),
    ],
};

static CORE_V1_POD_CONDITION: Message = Message {
    name: "v1.PodCondition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "lastProbeTime", Present, Time),
        Field(4, "lastTransitionTime", Present, Time),
        Field(5, "reason", NonZero, Str),
        Field(6, "message", NonZero, Str),
        Field(7, "observedGeneration", NonZero, I64),
    ],
};

static CORE_V1_POD_DNS_CONFIG: Message = Message {
    name: "v1.PodDNSConfig",
    fields: &[
        Field(1, "nameservers", List, Str),
        Field(2, "searches", List, Str),
        Field(3, "options", List, Msg(&CORE_V1_POD_DNS_CONFIG_OPTION)),
    ],
};

static CORE_V1_POD_DNS_CONFIG_OPTION: Message = Message {
    name: "v1.PodDNSConfigOption",
    fields: &[
        Field(1, "name", NonZero, Str),
        Field(2, "value", Present, Str),
    ],
};

static CORE_V1_POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "v1.PodExtendedResourceClaimStatus",
    fields: &[
        Field(
            1,
            "requestMappings",
            List,
            Msg(&CORE_V1_CONTAINER_EXTENDED_RESOURCE_REQUEST),
        ),
        Field(2, "resourceClaimName", Always, Str),
    ],
};

static CORE_V1_POD_IP: Message = Message {
    name: "v1.PodIP",
    fields: &[Field(1, "ip", Always, Str)],
};

static CORE_V1_POD_OS: Message = Message {
    name: "v1.PodOS",
    fields: &[Field(1, "name", Always, Str)],
};

static CORE_V1_POD_READINESS_GATE: Message = Message {
    name: "v1.PodReadinessGate",
    fields: &[Field(1, "conditionType", Always, Str)],
};

static CORE_V1_POD_RESOURCE_CLAIM: Message = Message {
    name: "v1.PodResourceClaim",
    fields: &[
        Field(1, "name", Always, Str),
        Field(3, "resourceClaimName", Present, Str),
        Field(4, "resourceClaimTemplateName", Present, Str),
    ],
};

static CORE_V1_POD_RESOURCE_CLAIM_STATUS: Message = Message {
    name: "v1.PodResourceClaimStatus",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "resourceClaimName", Present, Str),
    ],
};

static CORE_V1_POD_SCHEDULING_GATE: Message = Message {
    name: "v1.PodSchedulingGate",
    fields: &[Field(1, "name", Always, Str)],
};

static CORE_V1_POD_SCHEDULING_GROUP: Message = Message {
    name: "v1.PodSchedulingGroup",
    fields: &[Field(1, "podGroupName", Present, Str)],
};

static CORE_V1_POD_SECURITY_CONTEXT: Message = Message {
    name: "v1.PodSecurityContext",
    fields: &[
        Field(1, "seLinuxOptions", Present, Msg(&CORE_V1_SE_LINUX_OPTIONS)),
        Field(2, "runAsUser", Present, I64),
        Field(3, "runAsNonRoot", Present, Bool),
        Field(4, "supplementalGroups", List, I64),
        Field(5, "fsGroup", Present, I64),
        Field(6, "runAsGroup", Present, I64),
        Field(7, "sysctls", List, Msg(&CORE_V1_SYSCTL)),
        Field(
            8,
            "windowsOptions",
            Present,
            Msg(&CORE_V1_WINDOWS_SECURITY_CONTEXT_OPTIONS),
        ),
        Field(9, "fsGroupChangePolicy", Present, Str),
        Field(10, "seccompProfile", Present, Msg(&CORE_V1_SECCOMP_PROFILE)),
        Field(
            11,
            "appArmorProfile",
            Present,
            Msg(&CORE_V1_APP_ARMOR_PROFILE),
        ),
        Field(12, "supplementalGroupsPolicy", Present, Str),
        Field(13, "seLinuxChangePolicy", Present, Str),
    ],
};

static CORE_V1_POD_SPEC: Message = Message {
    name: "v1.PodSpec",
    fields: &[
        Field(1, "volumes", List, Msg(&CORE_V1_VOLUME)),
        Field(2, "containers", List, Msg(&CORE_V1_CONTAINER)),
        Field(3, "restartPolicy", NonZero, Str),
        Field(4, "terminationGracePeriodSeconds", Present, I64),
        Field(5, "activeDeadlineSeconds", Present, I64),
        Field(6, "dnsPolicy", NonZero, Str),
        Field(7, "nodeSelector", Map, Str),
        Field(8, "serviceAccountName", NonZero, Str),
        Field(9, "serviceAccount", NonZero, Str),
        Field(10, "nodeName", NonZero, Str),
        Field(11, "hostNetwork", NonZero, Bool),
        Field(12, "hostPID", NonZero, Bool),
        Field(13, "hostIPC", NonZero, Bool),
        Field(
            14,
            "securityContext",
            Present,
            Msg(&CORE_V1_POD_SECURITY_CONTEXT),
        ),
        Field(
            15,
            "imagePullSecrets",
            List,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(16, "hostname", NonZero, Str),
        Field(17, "subdomain", NonZero, Str),
        Field(18, "affinity", Present, Msg(&CORE_V1_AFFINITY)),
        Field(19, "schedulerName", NonZero, Str),
        Field(20, "initContainers", List, Msg(&CORE_V1_CONTAINER)),
        Field(21, "automountServiceAccountToken", Present, Bool),
        Field(22, "tolerations", List, Msg(&CORE_V1_TOLERATION)),
        Field(23, "hostAliases", List, Msg(&CORE_V1_HOST_ALIAS)),
        Field(24, "priorityClassName", NonZero, Str),
        Field(25, "priority", Present, I32),
        Field(26, "dnsConfig", Present, Msg(&CORE_V1_POD_DNS_CONFIG)),
        Field(27, "shareProcessNamespace", Present, Bool),
        Field(28, "readinessGates", List, Msg(&CORE_V1_POD_READINESS_GATE)),
        Field(29, "runtimeClassName", Present, Str),
        Field(30, "enableServiceLinks", Present, Bool),
        Field(31, "preemptionPolicy", Present, Str),
        Field(32, "overhead", Map, Quantity),
        Field(
            33,
            "topologySpreadConstraints",
            List,
            Msg(&CORE_V1_TOPOLOGY_SPREAD_CONSTRAINT),
        ),
        Field(
            34,
            "ephemeralContainers",
            List,
            Msg(&CORE_V1_EPHEMERAL_CONTAINER),
        ),
        Field(35, "setHostnameAsFQDN", Present, Bool),
        Field(36, "os", Present, Msg(&CORE_V1_POD_OS)),
        Field(37, "hostUsers", Present, Bool),
        Field(
            38,
            "schedulingGates",
            List,
            Msg(&CORE_V1_POD_SCHEDULING_GATE),
        ),
        Field(39, "resourceClaims", List, Msg(&CORE_V1_POD_RESOURCE_CLAIM)),
        Field(
            40,
            "resources",
            Present,
            Msg(&CORE_V1_RESOURCE_REQUIREMENTS),
        ),
        Field(41, "hostnameOverride", Present, Str),
        Field(
            43,
            "schedulingGroup",
            Present,
            Msg(&CORE_V1_POD_SCHEDULING_GROUP),
        ),
    ],
};

static CORE_V1_POD_STATUS: Message = Message {
    name: "v1.PodStatus",
    fields: &[
        Field(1, "phase", NonZero, Str),
        Field(2, "conditions", List, Msg(&CORE_V1_POD_CONDITION)),
        Field(3, "message", NonZero, Str),
        Field(4, "reason", NonZero, Str),
        Field(5, "hostIP", NonZero, Str),
        Field(6, "podIP", NonZero, Str),
        Field(7, "startTime", Present, Time),
        Field(8, "containerStatuses", List, Msg(&CORE_V1_CONTAINER_STATUS)),
        Field(9, "qosClass", NonZero, Str),
        Field(
            10,
            "initContainerStatuses",
            List,
            Msg(&CORE_V1_CONTAINER_STATUS),
        ),
        Field(11, "nominatedNodeName", NonZero, Str),
        Field(12, "podIPs", List, Msg(&CORE_V1_POD_IP)),
        Field(
            13,
            "ephemeralContainerStatuses",
            List,
            Msg(&CORE_V1_CONTAINER_STATUS),
        ),
        Field(14, "resize", NonZero, Str),
        Field(
            15,
            "resourceClaimStatuses",
            List,
            Msg(&CORE_V1_POD_RESOURCE_CLAIM_STATUS),
        ),
        Field(16, "hostIPs", List, Msg(&CORE_V1_HOST_IP)),
        Field(17, "observedGeneration", NonZero, I64),
        Field(
            18,
            "extendedResourceClaimStatus",
            Present,
            Msg(&CORE_V1_POD_EXTENDED_RESOURCE_CLAIM_STATUS),
        ),
        Field(19, "allocatedResources", Map, Quantity),
        Field(
            20,
            "resources",
            Present,
            Msg(&CORE_V1_RESOURCE_REQUIREMENTS),
        ),
        Field(
            21,
            "nodeAllocatableResourceClaimStatuses",
            List,
            Msg(&CORE_V1_NODE_ALLOCATABLE_RESOURCE_CLAIM_STATUS),
        ),
    ],
};

static CORE_V1_POD_TEMPLATE_SPEC: Message = Message {
    name: "v1.PodTemplateSpec",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&CORE_V1_POD_SPEC)),
    ],
};

static CORE_V1_PORTWORX_VOLUME_SOURCE: Message = Message {
    name: "v1.PortworxVolumeSource",
    fields: &[
        Field(1, "volumeID", Always, Str),
        Field(2, "fsType", NonZero, Str),
        Field(3, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_PORT_STATUS: Message = Message {
    name: "v1.PortStatus",
    fields: &[
        Field(1, "port", Always, I32),
        Field(2, "protocol", Always, Str),
        Field(3, "error", Present, Str),
    ],
};

static CORE_V1_PREFERRED_SCHEDULING_TERM: Message = Message {
    name: "v1.PreferredSchedulingTerm",
    fields: &[
        Field(1, "weight", Always, I32),
        Field(2, "preference", Present, Msg(&CORE_V1_NODE_SELECTOR_TERM)),
    ],
};

static CORE_V1_PROBE: Message = Message {
    name: "v1.Probe",
    fields: &[
        Field(1, "handler", Inline, Msg(&CORE_V1_PROBE_HANDLER)),
        Field(2, "initialDelaySeconds", NonZero, I32),
        Field(3, "timeoutSeconds", NonZero, I32),
        Field(4, "periodSeconds", NonZero, I32),
        Field(5, "successThreshold", NonZero, I32),
        Field(6, "failureThreshold", NonZero, I32),
        Field(7, "terminationGracePeriodSeconds", Present, I64),
    ],
};

static CORE_V1_PROBE_HANDLER: Message = Message {
    name: "v1.ProbeHandler",
    fields: &[
        Field(1, "exec", Present, Msg(&CORE_V1_EXEC_ACTION)),
        Field(2, "httpGet", Present, Msg(&CORE_V1_HTTP_GET_ACTION)),
        Field(3, "tcpSocket", Present, Msg(&CORE_V1_TCP_SOCKET_ACTION)),
        Field(4, "grpc", Present, Msg(&CORE_V1_GRPC_ACTION)),
    ],
};

static CORE_V1_PROJECTED_VOLUME_SOURCE: Message = Message {
    name: "v1.ProjectedVolumeSource",
    fields: &[
        Field(1, "sources", List, Msg(&CORE_V1_VOLUME_PROJECTION)),
        Field(2, "defaultMode", Present, I32),
    ],
};

static CORE_V1_QUOBYTE_VOLUME_SOURCE: Message = Message {
    name: "v1.QuobyteVolumeSource",
    fields: &[
        Field(1, "registry", Always, Str),
        Field(2, "volume", Always, Str),
        Field(3, "readOnly", NonZero, Bool),
        Field(4, "user", NonZero, Str),
        Field(5, "group", NonZero, Str),
        Field(6, "tenant", NonZero, Str),
    ],
};

static CORE_V1_RBD_VOLUME_SOURCE: Message = Message {
    name: "v1.RBDVolumeSource",
    fields: &[
        Field(1, "monitors", List, Str),
        Field(2, "image", Always, Str),
        Field(3, "fsType", NonZero, Str),
        Field(4, "pool", NonZero, Str),
        Field(5, "user", NonZero, Str),
        Field(6, "keyring", NonZero, Str),
        Field(
            7,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(8, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_RESOURCE_CLAIM: Message = Message {
    name: "v1.ResourceClaim",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "request", NonZero, Str),
    ],
};

static CORE_V1_RESOURCE_FIELD_SELECTOR: Message = Message {
    name: "v1.ResourceFieldSelector",
    fields: &[
        Field(1, "containerName", NonZero, Str),
        Field(2, "resource", Always, Str),
        Field(3, "divisor", Present, Quantity),
    ],
};

static CORE_V1_RESOURCE_HEALTH: Message = Message {
    name: "v1.ResourceHealth",
    fields: &[
        Field(1, "resourceID", Always, Str),
        Field(2, "health", NonZero, Str),
        Field(6, "message", Present, Str),
    ],
};

static CORE_V1_RESOURCE_QUOTA: Message = Message {
    name: "v1.ResourceQuota",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&CORE_V1_RESOURCE_QUOTA_SPEC)),
        Field(3, "status", Present, Msg(&CORE_V1_RESOURCE_QUOTA_STATUS)),
    ],
};

static CORE_V1_RESOURCE_QUOTA_SPEC: Message = Message {
    name: "v1.ResourceQuotaSpec",
    fields: &[
        Field(1, "hard", Map, Quantity),
        Field(2, "scopes", List, Str),
        Field(3, "scopeSelector", Present, Msg(&CORE_V1_SCOPE_SELECTOR)),
    ],
};

static CORE_V1_RESOURCE_QUOTA_STATUS: Message = Message {
    name: "v1.ResourceQuotaStatus",
    fields: &[
        Field(1, "hard", Map, Quantity),
        Field(2, "used", Map, Quantity),
    ],
};

static CORE_V1_RESOURCE_REQUIREMENTS: Message = Message {
    name: "v1.ResourceRequirements",
    fields: &[
        Field(1, "limits", Map, Quantity),
        Field(2, "requests", Map, Quantity),
        Field(3, "claims", List, Msg(&CORE_V1_RESOURCE_CLAIM)),
    ],
};

static CORE_V1_RESOURCE_STATUS: Message = Message {
    name: "v1.ResourceStatus",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "resources", List, Msg(&CORE_V1_RESOURCE_HEALTH)),
    ],
};

static CORE_V1_SCALE_IO_VOLUME_SOURCE: Message = Message {
    name: "v1.ScaleIOVolumeSource",
    fields: &[
        Field(1, "gateway", Always, Str),
        Field(2, "system", Always, Str),
        Field(
            3,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(4, "sslEnabled", NonZero, Bool),
        Field(5, "protectionDomain", NonZero, Str),
        Field(6, "storagePool", NonZero, Str),
        Field(7, "storageMode", NonZero, Str),
        Field(8, "volumeName", NonZero, Str),
        Field(9, "fsType", NonZero, Str),
        Field(10, "readOnly", NonZero, Bool),
    ],
};

static CORE_V1_SCOPED_RESOURCE_SELECTOR_REQUIREMENT: Message = Message {
    name: "v1.ScopedResourceSelectorRequirement",
    fields: &[
        Field(1, "scopeName", Always, Str),
        Field(2, "operator", Always, Str),
        Field(3, "values", List, Str),
    ],
};

static CORE_V1_SCOPE_SELECTOR: Message = Message {
    name: "v1.ScopeSelector",
    fields: &[Field(
        1,
        "matchExpressions",
        List,
        Msg(&CORE_V1_SCOPED_RESOURCE_SELECTOR_REQUIREMENT),
    )],
};

static CORE_V1_SECCOMP_PROFILE: Message = Message {
    name: "v1.SeccompProfile",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "localhostProfile", Present, Str),
    ],
};

static CORE_V1_SECRET: Message = Message {
    name: "v1.Secret",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "data", Map, Bytes),
        Field(3, "type", NonZero, Str),
        Field(4, "stringData", Map, Str),
        Field(5, "immutable", Present, Bool),
    ],
};

static CORE_V1_SECRET_ENV_SOURCE: Message = Message {
    name: "v1.SecretEnvSource",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "optional", Present, Bool),
    ],
};

static CORE_V1_SECRET_KEY_SELECTOR: Message = Message {
    name: "v1.SecretKeySelector",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "key", Always, Str),
        Field(3, "optional", Present, Bool),
    ],
};

static CORE_V1_SECRET_PROJECTION: Message = Message {
    name: "v1.SecretProjection",
    fields: &[
        Field(
            1,
            "localObjectReference",
            Inline,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(2, "items", List, Msg(&CORE_V1_KEY_TO_PATH)),
        Field(4, "optional", Present, Bool),
    ],
};

static CORE_V1_SECRET_VOLUME_SOURCE: Message = Message {
    name: "v1.SecretVolumeSource",
    fields: &[
        Field(1, "secretName", NonZero, Str),
        Field(2, "items", List, Msg(&CORE_V1_KEY_TO_PATH)),
        Field(3, "defaultMode", Present, I32),
        Field(4, "optional", Present, Bool),
    ],
};

static CORE_V1_SECURITY_CONTEXT: Message = Message {
    name: "v1.SecurityContext",
    fields: &[
        Field(1, "capabilities", Present, Msg(&CORE_V1_CAPABILITIES)),
        Field(2, "privileged", Present, Bool),
        Field(3, "seLinuxOptions", Present, Msg(&CORE_V1_SE_LINUX_OPTIONS)),
        Field(4, "runAsUser", Present, I64),
        Field(5, "runAsNonRoot", Present, Bool),
        Field(6, "readOnlyRootFilesystem", Present, Bool),
        Field(7, "allowPrivilegeEscalation", Present, Bool),
        Field(8, "runAsGroup", Present, I64),
        Field(9, "procMount", Present, Str),
        Field(
            10,
            "windowsOptions",
            Present,
            Msg(&CORE_V1_WINDOWS_SECURITY_CONTEXT_OPTIONS),
        ),
        Field(11, "seccompProfile", Present, Msg(&CORE_V1_SECCOMP_PROFILE)),
        Field(
            12,
            "appArmorProfile",
            Present,
            Msg(&CORE_V1_APP_ARMOR_PROFILE),
        ),
    ],
};

static CORE_V1_SERVICE: Message = Message {
    name: "v1.Service",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&CORE_V1_SERVICE_SPEC)),
        Field(3, "status", Present, Msg(&CORE_V1_SERVICE_STATUS)),
    ],
};

static CORE_V1_SERVICE_ACCOUNT: Message = Message {
    name: "v1.ServiceAccount",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "secrets", List, Msg(&CORE_V1_OBJECT_REFERENCE)),
        Field(
            3,
            "imagePullSecrets",
            List,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
        Field(4, "automountServiceAccountToken", Present, Bool),
    ],
};

static CORE_V1_SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = Message {
    name: "v1.ServiceAccountTokenProjection",
    fields: &[
        Field(1, "audience", NonZero, Str),
        Field(2, "expirationSeconds", Present, I64),
        Field(3, "path", Always, Str),
    ],
};

static CORE_V1_SERVICE_PORT: Message = Message {
    name: "v1.ServicePort",
    fields: &[
        Field(1, "name", NonZero, Str),
        Field(2, "protocol", NonZero, Str),
        Field(3, "port", Always, I32),
        Field(4, "targetPort", Present, IntOrString),
        Field(5, "nodePort", NonZero, I32),
        Field(6, "appProtocol", Present, Str),
    ],
};

static CORE_V1_SERVICE_SPEC: Message = Message {
    name: "v1.ServiceSpec",
    fields: &[
        Field(1, "ports", List, Msg(&CORE_V1_SERVICE_PORT)),
        Field(2, "selector", Map, Str),
        Field(3, "clusterIP", NonZero, Str),
        Field(4, "type", NonZero, Str),
        Field(5, "externalIPs", List, Str),
        Field(7, "sessionAffinity", NonZero, Str),
        Field(8, "loadBalancerIP", NonZero, Str),
        Field(9, "loadBalancerSourceRanges", List, Str),
        Field(10, "externalName", NonZero, Str),
        Field(11, "externalTrafficPolicy", NonZero, Str),
        Field(12, "healthCheckNodePort", NonZero, I32),
        Field(13, "publishNotReadyAddresses", NonZero, Bool),
        Field(
            14,
            "sessionAffinityConfig",
            Present,
            Msg(&CORE_V1_SESSION_AFFINITY_CONFIG),
        ),
        Field(17, "ipFamilyPolicy", Present, Str),
        Field(18, "clusterIPs", List, Str),
        Field(19, "ipFamilies", List, Str),
        Field(20, "allocateLoadBalancerNodePorts", Present, Bool),
        Field(21, "loadBalancerClass", Present, Str),
        Field(22, "internalTrafficPolicy", Present, Str),
        Field(23, "trafficDistribution", Present, Str),
    ],
};

static CORE_V1_SERVICE_STATUS: Message = Message {
    name: "v1.ServiceStatus",
    fields: &[
        Field(
            1,
            "loadBalancer",
            Present,
            Msg(&CORE_V1_LOAD_BALANCER_STATUS),
        ),
        Field(2, "conditions", List, Msg(&META_V1_CONDITION)),
    ],
};

static CORE_V1_SESSION_AFFINITY_CONFIG: Message = Message {
    name: "v1.SessionAffinityConfig",
    fields: &[Field(
        1,
        "clientIP",
        Present,
        Msg(&CORE_V1_CLIENT_IP_CONFIG),
    )],
};

static CORE_V1_SE_LINUX_OPTIONS: Message = Message {
    name: "v1.SELinuxOptions",
    fields: &[
        Field(1, "user", NonZero, Str),
        Field(2, "role", NonZero, Str),
        Field(3, "type", NonZero, Str),
        Field(4, "level", NonZero, Str),
    ],
};

static CORE_V1_SLEEP_ACTION: Message = Message {
    name: "v1.SleepAction",
    fields: &[Field(1, "seconds", Always, I64)],
};

static CORE_V1_STORAGE_OS_VOLUME_SOURCE: Message = Message {
    name: "v1.StorageOSVolumeSource",
    fields: &[
        Field(1, "volumeName", NonZero, Str),
        Field(2, "volumeNamespace", NonZero, Str),
        Field(3, "fsType", NonZero, Str),
        Field(4, "readOnly", NonZero, Bool),
        Field(
            5,
            "secretRef",
            Present,
            Msg(&CORE_V1_LOCAL_OBJECT_REFERENCE),
        ),
    ],
};

static CORE_V1_SYSCTL: Message = Message {
    name: "v1.Sysctl",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "value", Always, Str),
    ],
};

static CORE_V1_TCP_SOCKET_ACTION: Message = Message {
    name: "v1.TCPSocketAction",
    fields: &[
        Field(1, "port", Present, IntOrString),
        Field(2, "host", NonZero, Str),
    ],
};

static CORE_V1_TOLERATION: Message = Message {
    name: "v1.Toleration",
    fields: &[
        Field(1, "key", NonZero, Str),
        Field(2, "operator", NonZero, Str),
        Field(3, "value", NonZero, Str),
        Field(4, "effect", NonZero, Str),
        Field(5, "tolerationSeconds", Present, I64),
    ],
};

static CORE_V1_TOPOLOGY_SPREAD_CONSTRAINT: Message = Message {
    name: "v1.TopologySpreadConstraint",
    fields: &[
        Field(1, "maxSkew", Always, I32),
        Field(2, "topologyKey", Always, Str),
        Field(3, "whenUnsatisfiable", Always, Str),
        Field(4, "labelSelector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(5, "minDomains", Present, I32),
        Field(6, "nodeAffinityPolicy", Present, Str),
        Field(7, "nodeTaintsPolicy", Present, Str),
        Field(8, "matchLabelKeys", List, Str),
    ],
};

static CORE_V1_TYPED_LOCAL_OBJECT_REFERENCE: Message = Message {
    name: "v1.TypedLocalObjectReference",
    fields: &[
        Field(1, "apiGroup", Present, Str),
        Field(2, "kind", Always, Str),
        Field(3, "name", Always, Str),
    ],
};

static CORE_V1_TYPED_OBJECT_REFERENCE: Message = Message {
    name: "v1.TypedObjectReference",
    fields: &[
        Field(1, "apiGroup", Present, Str),
        Field(2, "kind", Always, Str),
        Field(3, "name", Always, Str),
        Field(4, "namespace", Present, Str),
    ],
};

static CORE_V1_VOLUME: Message = Message {
    name: "v1.Volume",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "volumeSource", Inline, Msg(&CORE_V1_VOLUME_SOURCE)),
    ],
};

static CORE_V1_VOLUME_DEVICE: Message = Message {
    name: "v1.VolumeDevice",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "devicePath", Always, Str),
    ],
};

static CORE_V1_VOLUME_MOUNT: Message = Message {
    name: "v1.VolumeMount",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "readOnly", NonZero, Bool),
        Field(3, "mountPath", Always, Str),
        Field(4, "subPath", NonZero, Str),
        Field(5, "mountPropagation", Present, Str),
        Field(6, "subPathExpr", NonZero, Str),
        Field(7, "recursiveReadOnly", Present, Str),
    ],
};

static CORE_V1_VOLUME_MOUNT_STATUS: Message = Message {
    name: "v1.VolumeMountStatus",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "mountPath", Always, Str),
        Field(3, "readOnly", NonZero, Bool),
        Field(4, "recursiveReadOnly", Present, Str),
        Field(5, "volumeStatus", Present, Msg(&CORE_V1_VOLUME_STATUS)),
    ],
};

static CORE_V1_VOLUME_PROJECTION: Message = Message {
    name: "v1.VolumeProjection",
    fields: &[
        Field(1, "secret", Present, Msg(&CORE_V1_SECRET_PROJECTION)),
        Field(
            2,
            "downwardAPI",
            Present,
            Msg(&CORE_V1_DOWNWARD_API_PROJECTION),
        ),
        Field(3, "configMap", Present, Msg(&CORE_V1_CONFIG_MAP_PROJECTION)),
        Field(
            4,
            "serviceAccountToken",
            Present,
            Msg(&CORE_V1_SERVICE_ACCOUNT_TOKEN_PROJECTION),
        ),
        Field(
            5,
            "clusterTrustBundle",
            Present,
            Msg(&CORE_V1_CLUSTER_TRUST_BUNDLE_PROJECTION),
        ),
        Field(
            6,
            "podCertificate",
            Present,
            Msg(&CORE_V1_POD_CERTIFICATE_PROJECTION),
        ),
    ],
};

static CORE_V1_VOLUME_RESOURCE_REQUIREMENTS: Message = Message {
    name: "v1.VolumeResourceRequirements",
    fields: &[
        Field(1, "limits", Map, Quantity),
        Field(2, "requests", Map, Quantity),
    ],
};

static CORE_V1_VOLUME_SOURCE: Message = Message {
    name: "v1.VolumeSource",
    fields: &[
        Field(
            1,
            "hostPath",
            Present,
            Msg(&CORE_V1_HOST_PATH_VOLUME_SOURCE),
        ),
        Field(
            2,
            "emptyDir",
            Present,
            Msg(&CORE_V1_EMPTY_DIR_VOLUME_SOURCE),
        ),
        Field(
            3,
            "gcePersistentDisk",
            Present,
            Msg(&CORE_V1_GCE_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        Field(
            4,
            "awsElasticBlockStore",
            Present,
            Msg(&CORE_V1_AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE),
        ),
        Field(5, "gitRepo", Present, Msg(&CORE_V1_GIT_REPO_VOLUME_SOURCE)),
        Field(6, "secret", Present, Msg(&CORE_V1_SECRET_VOLUME_SOURCE)),
        Field(7, "nfs", Present, Msg(&CORE_V1_NFS_VOLUME_SOURCE)),
        Field(8, "iscsi", Present, Msg(&CORE_V1_ISCSI_VOLUME_SOURCE)),
        Field(
            9,
            "glusterfs",
            Present,
            Msg(&CORE_V1_GLUSTERFS_VOLUME_SOURCE),
        ),
        Field(
            10,
            "persistentVolumeClaim",
            Present,
            Msg(&CORE_V1_PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE),
        ),
        Field(11, "rbd", Present, Msg(&CORE_V1_RBD_VOLUME_SOURCE)),
        Field(12, "flexVolume", Present, Msg(&CORE_V1_FLEX_VOLUME_SOURCE)),
        Field(13, "cinder", Present, Msg(&CORE_V1_CINDER_VOLUME_SOURCE)),
        Field(14, "cephfs", Present, Msg(&CORE_V1_CEPH_FS_VOLUME_SOURCE)),
        Field(15, "flocker", Present, Msg(&CORE_V1_FLOCKER_VOLUME_SOURCE)),
        Field(
            16,
            "downwardAPI",
            Present,
            Msg(&CORE_V1_DOWNWARD_API_VOLUME_SOURCE),
        ),
        Field(17, "fc", Present, Msg(&CORE_V1_FC_VOLUME_SOURCE)),
        Field(
            18,
            "azureFile",
            Present,
            Msg(&CORE_V1_AZURE_FILE_VOLUME_SOURCE),
        ),
        Field(
            19,
            "configMap",
            Present,
            Msg(&CORE_V1_CONFIG_MAP_VOLUME_SOURCE),
        ),
        Field(
            20,
            "vsphereVolume",
            Present,
            Msg(&CORE_V1_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE),
        ),
        Field(21, "quobyte", Present, Msg(&CORE_V1_QUOBYTE_VOLUME_SOURCE)),
        Field(
            22,
            "azureDisk",
            Present,
            Msg(&CORE_V1_AZURE_DISK_VOLUME_SOURCE),
        ),
        Field(
            23,
            "photonPersistentDisk",
            Present,
            Msg(&CORE_V1_PHOTON_PERSISTENT_DISK_VOLUME_SOURCE),
        ),
        Field(
            24,
            "portworxVolume",
            Present,
            Msg(&CORE_V1_PORTWORX_VOLUME_SOURCE),
        ),
        Field(25, "scaleIO", Present, Msg(&CORE_V1_SCALE_IO_VOLUME_SOURCE)),
        Field(
            26,
            "projected",
            Present,
            Msg(&CORE_V1_PROJECTED_VOLUME_SOURCE),
        ),
        Field(
            27,
            "storageos",
            Present,
            Msg(&CORE_V1_STORAGE_OS_VOLUME_SOURCE),
        ),
        Field(28, "csi", Present, Msg(&CORE_V1_CSI_VOLUME_SOURCE)),
        Field(
            29,
            "ephemeral",
            Present,
            Msg(&CORE_V1_EPHEMERAL_VOLUME_SOURCE),
        ),
        Field(30, "image", Present, Msg(&CORE_V1_IMAGE_VOLUME_SOURCE)),
    ],
};

static CORE_V1_VOLUME_STATUS: Message = Message {
    name: "v1.VolumeStatus",
    fields: &[Field(
        1,
        "image",
        Present,
        Msg(&CORE_V1_IMAGE_VOLUME_STATUS),
    )],
};

static CORE_V1_VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = Message {
    name: "v1.VsphereVirtualDiskVolumeSource",
    fields: &[
        Field(1, "volumePath", Always, Str),
        Field(2, "fsType", NonZero, Str),
        Field(3, "storagePolicyName", NonZero, Str),
        Field(4, "storagePolicyID", NonZero, Str),
    ],
};

static CORE_V1_WEIGHTED_POD_AFFINITY_TERM: Message = Message {
    name: "v1.WeightedPodAffinityTerm",
    fields: &[
        Field(1, "weight", Always, I32),
        Field(
            2,
            "podAffinityTerm",
            Present,
            Msg(&CORE_V1_POD_AFFINITY_TERM),
        ),
    ],
};

static CORE_V1_WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = Message {
    name: "v1.WindowsSecurityContextOptions",
    fields: &[
        Field(1, "gmsaCredentialSpecName", Present, Str),
        Field(2, "gmsaCredentialSpec", Present, Str),
        Field(3, "runAsUserName", Present, Str),
        Field(4, "hostProcess", Present, Bool),
    ],
};

static META_V1_CONDITION: Message = Message {
    name: "meta/v1.Condition",
    fields: &[
        Field(1, "type", Always, Str),
        Field(2, "status", Always, Str),
        Field(3, "observedGeneration", NonZero, I64),
        Field(4, "lastTransitionTime", Present, Time),
        Field(5, "reason", Always, Str),
        Field(6, "message", Always, Str),
    ],
};

static META_V1_LABEL_SELECTOR: Message = Message {
    name: "meta/v1.LabelSelector",
    fields: &[
        Field(1, "matchLabels", Map, Str),
        Field(
            2,
            "matchExpressions",
            List,
            Msg(&META_V1_LABEL_SELECTOR_REQUIREMENT),
        ),
    ],
};

static META_V1_LABEL_SELECTOR_REQUIREMENT: Message = Message {
    name: "meta/v1.LabelSelectorRequirement",
    fields: &[
        Field(1, "key", Always, Str),
        Field(2, "operator", Always, Str),
        Field(3, "values", List, Str),
    ],
};

static META_V1_MANAGED_FIELDS_ENTRY: Message = Message {
    name: "meta/v1.ManagedFieldsEntry",
    fields: &[
        Field(1, "manager", NonZero, Str),
        Field(2, "operation", NonZero, Str),
        Field(3, "apiVersion", NonZero, Str),
        Field(4, "time", Present, Time),
        Field(6, "fieldsType", NonZero, Str),
        Field(7, "fieldsV1", Present, FieldsV1),
        Field(8, "subresource", NonZero, Str),
    ],
};

static META_V1_OBJECT_META: Message = Message {
    name: "meta/v1.ObjectMeta",
    fields: &[
        Field(1, "name", NonZero, Str),
        Field(2, "generateName", NonZero, Str),
        Field(3, "namespace", NonZero, Str),
        Field(4, "selfLink", NonZero, Str),
        Field(5, "uid", NonZero, Str),
        Field(6, "resourceVersion", NonZero, Str),
        Field(7, "generation", NonZero, I64),
        Field(8, "creationTimestamp", Present, Time),
        Field(9, "deletionTimestamp", Present, Time),
        Field(10, "deletionGracePeriodSeconds", Present, I64),
        Field(11, "labels", Map, Str),
        Field(12, "annotations", Map, Str),
        Field(13, "ownerReferences", List, Msg(&META_V1_OWNER_REFERENCE)),
        Field(14, "finalizers", List, Str),
        Field(
            17,
            "managedFields",
            List,
            Msg(&META_V1_MANAGED_FIELDS_ENTRY),
        ),
    ],
};

static META_V1_OWNER_REFERENCE: Message = Message {
    name: "meta/v1.OwnerReference",
    fields: &[
        Field(1, "kind", Always, Str),
        Field(3, "name", Always, Str),
        Field(4, "uid", Always, Str),
        Field(5, "apiVersion", Always, Str),
        Field(6, "controller", Present, Bool),
        Field(7, "blockOwnerDeletion", Present, Bool),
    ],
};

static NETWORKING_V1_HTTP_INGRESS_PATH: Message = Message {
    name: "networking/v1.HTTPIngressPath",
    fields: &[
        Field(1, "path", NonZero, Str),
        Field(2, "backend", Present, Msg(&NETWORKING_V1_INGRESS_BACKEND)),
        Field(3, "pathType", Present, Str),
    ],
};

static NETWORKING_V1_HTTP_INGRESS_RULE_VALUE: Message = Message {
    name: "networking/v1.HTTPIngressRuleValue",
    fields: &[Field(
        1,
        "paths",
        List,
        Msg(&NETWORKING_V1_HTTP_INGRESS_PATH),
    )],
};

static NETWORKING_V1_INGRESS: Message = Message {
    name: "networking/v1.Ingress",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "spec", Present, Msg(&NETWORKING_V1_INGRESS_SPEC)),
        Field(3, "status", Present, Msg(&NETWORKING_V1_INGRESS_STATUS)),
    ],
};

static NETWORKING_V1_INGRESS_BACKEND: Message = Message {
    name: "networking/v1.IngressBackend",
    fields: &[
        Field(
            3,
            "resource",
            Present,
            Msg(&CORE_V1_TYPED_LOCAL_OBJECT_REFERENCE),
        ),
        Field(
            4,
            "service",
            Present,
            Msg(&NETWORKING_V1_INGRESS_SERVICE_BACKEND),
        ),
    ],
};

static NETWORKING_V1_INGRESS_LOAD_BALANCER_INGRESS: Message = Message {
    name: "networking/v1.IngressLoadBalancerIngress",
    fields: &[
        Field(1, "ip", NonZero, Str),
        Field(2, "hostname", NonZero, Str),
        Field(4, "ports", List, Msg(&NETWORKING_V1_INGRESS_PORT_STATUS)),
    ],
};

static NETWORKING_V1_INGRESS_LOAD_BALANCER_STATUS: Message = Message {
    name: "networking/v1.IngressLoadBalancerStatus",
    fields: &[Field(
        1,
        "ingress",
        List,
        Msg(&NETWORKING_V1_INGRESS_LOAD_BALANCER_INGRESS),
    )],
};

static NETWORKING_V1_INGRESS_PORT_STATUS: Message = Message {
    name: "networking/v1.IngressPortStatus",
    fields: &[
        Field(1, "port", Always, I32),
        Field(2, "protocol", Always, Str),
        Field(3, "error", Present, Str),
    ],
};

static NETWORKING_V1_INGRESS_RULE: Message = Message {
    name: "networking/v1.IngressRule",
    fields: &[
        Field(1, "host", NonZero, Str),
        Field(
            2,
            "ingressRuleValue",
            Inline,
            Msg(&NETWORKING_V1_INGRESS_RULE_VALUE),
        ),
    ],
};

static NETWORKING_V1_INGRESS_RULE_VALUE: Message = Message {
    name: "networking/v1.IngressRuleValue",
    fields: &[Field(
        1,
        "http",
        Present,
        Msg(&NETWORKING_V1_HTTP_INGRESS_RULE_VALUE),
    )],
};

static NETWORKING_V1_INGRESS_SERVICE_BACKEND: Message = Message {
    name: "networking/v1.IngressServiceBackend",
    fields: &[
        Field(1, "name", Always, Str),
        Field(2, "port", Present, Msg(&NETWORKING_V1_SERVICE_BACKEND_PORT)),
    ],
};

static NETWORKING_V1_INGRESS_SPEC: Message = Message {
    name: "networking/v1.IngressSpec",
    fields: &[
        Field(
            1,
            "defaultBackend",
            Present,
            Msg(&NETWORKING_V1_INGRESS_BACKEND),
        ),
        Field(2, "tls", List, Msg(&NETWORKING_V1_INGRESS_TLS)),
        Field(3, "rules", List, Msg(&NETWORKING_V1_INGRESS_RULE)),
        Field(4, "ingressClassName", Present, Str),
    ],
};

static NETWORKING_V1_INGRESS_STATUS: Message = Message {
    name: "networking/v1.IngressStatus",
    fields: &[Field(
        1,
        "loadBalancer",
        Present,
        Msg(&NETWORKING_V1_INGRESS_LOAD_BALANCER_STATUS),
    )],
};

static NETWORKING_V1_INGRESS_TLS: Message = Message {
    name: "networking/v1.IngressTLS",
    fields: &[
        Field(1, "hosts", List, Str),
        Field(2, "secretName", NonZero, Str),
    ],
};

static NETWORKING_V1_SERVICE_BACKEND_PORT: Message = Message {
    name: "networking/v1.ServiceBackendPort",
    fields: &[
        Field(1, "name", NonZero, Str),
        Field(2, "number", NonZero, I32),
    ],
};

static POLICY_V1_POD_DISRUPTION_BUDGET: Message = Message {
    name: "policy/v1.PodDisruptionBudget",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(
            2,
            "spec",
            Present,
            Msg(&POLICY_V1_POD_DISRUPTION_BUDGET_SPEC),
        ),
        Field(
            3,
            "status",
            Present,
            Msg(&POLICY_V1_POD_DISRUPTION_BUDGET_STATUS),
        ),
    ],
};

static POLICY_V1_POD_DISRUPTION_BUDGET_SPEC: Message = Message {
    name: "policy/v1.PodDisruptionBudgetSpec",
    fields: &[
        Field(1, "minAvailable", Present, IntOrString),
        Field(2, "selector", Present, Msg(&META_V1_LABEL_SELECTOR)),
        Field(3, "maxUnavailable", Present, IntOrString),
        Field(4, "unhealthyPodEvictionPolicy", Present, Str),
    ],
};

static POLICY_V1_POD_DISRUPTION_BUDGET_STATUS: Message = Message {
    name: "policy/v1.PodDisruptionBudgetStatus",
    fields: &[
        Field(1, "observedGeneration", NonZero, I64),
        Field(2, "disruptedPods", Map, Time),
        Field(3, "disruptionsAllowed", Always, I32),
        Field(4, "currentHealthy", Always, I32),
        Field(5, "desiredHealthy", Always, I32),
        Field(6, "expectedPods", Always, I32),
        Field(7, "conditions", List, Msg(&META_V1_CONDITION)),
    ],
};

static RBAC_V1_AGGREGATION_RULE: Message = Message {
    name: "rbac/v1.AggregationRule",
    fields: &[Field(
        1,
        "clusterRoleSelectors",
        List,
        Msg(&META_V1_LABEL_SELECTOR),
    )],
};

static RBAC_V1_CLUSTER_ROLE: Message = Message {
    name: "rbac/v1.ClusterRole",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "rules", List, Msg(&RBAC_V1_POLICY_RULE)),
        Field(
            3,
            "aggregationRule",
            Present,
            Msg(&RBAC_V1_AGGREGATION_RULE),
        ),
    ],
};

static RBAC_V1_CLUSTER_ROLE_BINDING: Message = Message {
    name: "rbac/v1.ClusterRoleBinding",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "subjects", List, Msg(&RBAC_V1_SUBJECT)),
        Field(3, "roleRef", Present, Msg(&RBAC_V1_ROLE_REF)),
    ],
};

static RBAC_V1_POLICY_RULE: Message = Message {
    name: "rbac/v1.PolicyRule",
    fields: &[
        Field(1, "verbs", List, Str),
        Field(2, "apiGroups", List, Str),
        Field(3, "resources", List, Str),
        Field(4, "resourceNames", List, Str),
        Field(5, "nonResourceURLs", List, Str),
    ],
};

static RBAC_V1_ROLE: Message = Message {
    name: "rbac/v1.Role",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "rules", List, Msg(&RBAC_V1_POLICY_RULE)),
    ],
};

static RBAC_V1_ROLE_BINDING: Message = Message {
    name: "rbac/v1.RoleBinding",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "subjects", List, Msg(&RBAC_V1_SUBJECT)),
        Field(3, "roleRef", Present, Msg(&RBAC_V1_ROLE_REF)),
    ],
};

static RBAC_V1_ROLE_REF: Message = Message {
    name: "rbac/v1.RoleRef",
    fields: &[
        Field(1, "apiGroup", Always, Str),
        Field(2, "kind", Always, Str),
        Field(3, "name", Always, Str),
    ],
};

static RBAC_V1_SUBJECT: Message = Message {
    name: "rbac/v1.Subject",
    fields: &[
        Field(1, "kind", Always, Str),
        Field(2, "apiGroup", NonZero, Str),
        Field(3, "name", Always, Str),
        Field(4, "namespace", NonZero, Str),
    ],
};

static SCHEDULING_V1_PRIORITY_CLASS: Message = Message {
    name: "scheduling/v1.PriorityClass",
    fields: &[
        Field(1, "metadata", Present, Msg(&META_V1_OBJECT_META)),
        Field(2, "value", Always, I32),
        Field(3, "globalDefault", NonZero, Bool),
        Field(4, "description", NonZero, Str),
        Field(5, "preemptionPolicy", Present, Str),
    ],
};
