//! What the patch engines need to know about the structure of the served
//! kinds: how each list field merges (strategic merge patch `patchStrategy` /
//! `patchMergeKey` struct tags, server-side apply `listType` / `listMapKey`
//! markers), which maps are atomic, and which object fields are Go value
//! structs (always present in a typed object, so never "added").
//!
//! Taken from the Go types of k8s.io/api (core/v1, apps/v1, batch/v1) and
//! k8s.io/apimachinery (meta/v1). Fields not listed merge like plain JSON:
//! maps recursively, lists replaced (SMP) or atomic (SSA).

/// How strategic merge patch merges a list field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeStrategy {
    /// A list of objects merged item by item on the value of this key
    /// (`patchStrategy:"merge" patchMergeKey:"<key>"`).
    MergeKey(&'static str),
    /// A list of scalars merged as a set (`patchStrategy:"merge"` without a key).
    Set,
}

/// How server-side apply identifies the items of a list (`+listType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// The list is one value, owned and replaced as a whole.
    Atomic,
    /// A list of scalars, each item owned on its own.
    Set,
    /// A list of objects identified by these key fields.
    Map(&'static [&'static str]),
}

/// The type reached by following a field path from an object's root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Root,
    Meta,
    PodTemplate,
    PodSpec,
    Container,
    Resources,
    PodStatus,
    WorkloadSpec,
    CronJobSpec,
    JobTemplate,
    ConditionsStatus,
    JobStatus,
    ServiceSpec,
    ServiceStatus,
    NodeSpec,
    NodeStatus,
    /// A struct with no special fields (value struct or pointer).
    Plain,
    /// Anything not described here.
    Unknown,
}

/// What is known about one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldInfo {
    ty: Ty,
    smp: Option<MergeStrategy>,
    ssa: ListType,
    /// A Go value (non-pointer) struct: present even when empty.
    value_struct: bool,
    /// A map or struct replaced as a whole (`+mapType=atomic`, `+structType=atomic`).
    atomic_map: bool,
}

const UNKNOWN: FieldInfo = FieldInfo {
    ty: Ty::Unknown,
    smp: None,
    ssa: ListType::Atomic,
    value_struct: false,
    atomic_map: false,
};

const fn value_struct(ty: Ty) -> FieldInfo {
    FieldInfo {
        ty,
        value_struct: true,
        ..UNKNOWN
    }
}

const fn keyed(ty: Ty, key: &'static str, keys: &'static [&'static str]) -> FieldInfo {
    FieldInfo {
        ty,
        smp: Some(MergeStrategy::MergeKey(key)),
        ssa: ListType::Map(keys),
        ..UNKNOWN
    }
}

const fn set() -> FieldInfo {
    FieldInfo {
        smp: Some(MergeStrategy::Set),
        ssa: ListType::Set,
        ..UNKNOWN
    }
}

const fn atomic_map() -> FieldInfo {
    FieldInfo {
        atomic_map: true,
        ..UNKNOWN
    }
}

const BY_NAME: &[&str] = &["name"];
const BY_TYPE: &[&str] = &["type"];
const BY_IP: &[&str] = &["ip"];

fn spec_type(group: &str, kind: &str) -> Ty {
    match (group, kind) {
        ("", "Pod") => Ty::PodSpec,
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") | ("batch", "Job") => Ty::WorkloadSpec,
        ("batch", "CronJob") => Ty::CronJobSpec,
        ("", "Service") => Ty::ServiceSpec,
        ("", "Node") => Ty::NodeSpec,
        ("", "Namespace") | ("autoscaling", "Scale") => Ty::Plain,
        _ => Ty::Unknown,
    }
}

fn status_type(group: &str, kind: &str) -> Ty {
    match (group, kind) {
        ("", "Pod") => Ty::PodStatus,
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet") | ("", "Namespace") => {
            Ty::ConditionsStatus
        }
        ("batch", "Job") => Ty::JobStatus,
        ("", "Service") => Ty::ServiceStatus,
        ("", "Node") => Ty::NodeStatus,
        ("batch", "CronJob") | ("autoscaling", "Scale") => Ty::Plain,
        _ => Ty::Unknown,
    }
}

fn field(group: &str, kind: &str, parent: Ty, name: &str) -> FieldInfo {
    match (parent, name) {
        (Ty::Root, "metadata") => value_struct(Ty::Meta),
        (Ty::Root, "spec") => match spec_type(group, kind) {
            Ty::Unknown => UNKNOWN,
            ty => value_struct(ty),
        },
        (Ty::Root, "status") => match status_type(group, kind) {
            Ty::Unknown => UNKNOWN,
            ty => value_struct(ty),
        },
        (Ty::Root, "secrets") if (group, kind) == ("", "ServiceAccount") => {
            keyed(Ty::Plain, "name", BY_NAME)
        }
        (Ty::Root, "involvedObject" | "source") if kind == "Event" => value_struct(Ty::Plain),

        (Ty::Meta, "finalizers") => set(),
        (Ty::Meta, "ownerReferences") => keyed(Ty::Plain, "uid", &["uid"]),

        (Ty::PodTemplate, "metadata") => value_struct(Ty::Meta),
        (Ty::PodTemplate, "spec") => value_struct(Ty::PodSpec),

        // `containers` has no omitempty: it is always present in a typed pod.
        (Ty::PodSpec, "containers") => FieldInfo {
            value_struct: true,
            ..keyed(Ty::Container, "name", BY_NAME)
        },
        (Ty::PodSpec, "initContainers" | "ephemeralContainers") => {
            keyed(Ty::Container, "name", BY_NAME)
        }
        (Ty::PodSpec, "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims") => {
            keyed(Ty::Plain, "name", BY_NAME)
        }
        (Ty::PodSpec, "hostAliases") => keyed(Ty::Plain, "ip", BY_IP),
        (Ty::PodSpec, "topologySpreadConstraints") => keyed(
            Ty::Plain,
            "topologyKey",
            &["topologyKey", "whenUnsatisfiable"],
        ),
        (Ty::PodSpec, "nodeSelector") => atomic_map(),

        (Ty::Container, "ports") => {
            keyed(Ty::Plain, "containerPort", &["containerPort", "protocol"])
        }
        (Ty::Container, "env") => keyed(Ty::Plain, "name", BY_NAME),
        (Ty::Container, "volumeMounts") => keyed(Ty::Plain, "mountPath", &["mountPath"]),
        (Ty::Container, "volumeDevices") => keyed(Ty::Plain, "devicePath", &["devicePath"]),
        (Ty::Container, "resources") => value_struct(Ty::Resources),
        // No patch strategy (SMP replaces), but a list map for apply.
        (Ty::Resources, "claims") => FieldInfo {
            ssa: ListType::Map(BY_NAME),
            ..UNKNOWN
        },

        (Ty::PodStatus, "conditions") => keyed(Ty::Plain, "type", BY_TYPE),
        (Ty::PodStatus, "podIPs") => keyed(Ty::Plain, "ip", BY_IP),
        (Ty::PodStatus, "resourceClaimStatuses") => keyed(Ty::Plain, "name", BY_NAME),
        // Merged by ip in SMP, atomic for apply.
        (Ty::PodStatus, "hostIPs") => FieldInfo {
            smp: Some(MergeStrategy::MergeKey("ip")),
            ..UNKNOWN
        },

        (Ty::WorkloadSpec, "template") => value_struct(Ty::PodTemplate),
        (Ty::WorkloadSpec, "selector") => atomic_map(),
        (Ty::WorkloadSpec, "strategy" | "updateStrategy") => value_struct(Ty::Plain),
        (Ty::CronJobSpec, "jobTemplate") => value_struct(Ty::JobTemplate),
        (Ty::JobTemplate, "metadata") => value_struct(Ty::Meta),
        (Ty::JobTemplate, "spec") => value_struct(Ty::WorkloadSpec),

        (Ty::ConditionsStatus | Ty::ServiceStatus, "conditions") => {
            keyed(Ty::Plain, "type", BY_TYPE)
        }
        // Merged by type in SMP, atomic for apply.
        (Ty::JobStatus, "conditions") => FieldInfo {
            smp: Some(MergeStrategy::MergeKey("type")),
            ..UNKNOWN
        },
        (Ty::ServiceStatus, "loadBalancer") => value_struct(Ty::Plain),

        (Ty::ServiceSpec, "ports") => keyed(Ty::Plain, "port", &["port", "protocol"]),
        (Ty::ServiceSpec, "selector") => atomic_map(),

        (Ty::NodeSpec, "podCIDRs") => set(),
        (Ty::NodeStatus, "conditions") => keyed(Ty::Plain, "type", BY_TYPE),
        (Ty::NodeStatus, "addresses") => keyed(Ty::Plain, "type", BY_TYPE),
        (Ty::NodeStatus, "nodeInfo" | "daemonEndpoints") => value_struct(Ty::Plain),

        _ => UNKNOWN,
    }
}

fn resolve<S: AsRef<str>>(group: &str, kind: &str, path: &[S]) -> Option<FieldInfo> {
    let mut ty = Ty::Root;
    let mut info = None;
    for name in path {
        if ty == Ty::Unknown {
            return None;
        }
        let found = field(group, kind, ty, name.as_ref());
        ty = found.ty;
        info = Some(found);
    }
    info
}

/// Field-structure knowledge for one kind, used by the patch engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Schema<'a> {
    pub group: &'a str,
    pub kind: &'a str,
}

impl Schema<'_> {
    /// Strategic merge patch strategy of the list at `path` (field names, no indices).
    pub fn merge_strategy<S: AsRef<str>>(&self, path: &[S]) -> Option<MergeStrategy> {
        resolve(self.group, self.kind, path).and_then(|f| f.smp)
    }

    /// Server-side apply list type of the list at `path`.
    pub fn list_type<S: AsRef<str>>(&self, path: &[S]) -> ListType {
        resolve(self.group, self.kind, path).map_or(ListType::Atomic, |f| f.ssa)
    }

    /// Whether the object at `path` is replaced as a whole by apply.
    pub fn is_atomic_map<S: AsRef<str>>(&self, path: &[S]) -> bool {
        resolve(self.group, self.kind, path).is_some_and(|f| f.atomic_map)
    }

    /// Whether the object at `path` is a Go value struct (never added or removed).
    pub fn is_value_struct<S: AsRef<str>>(&self, path: &[S]) -> bool {
        resolve(self.group, self.kind, path).is_some_and(|f| f.value_struct)
    }
}

/// The strategic merge patch strategy of a list field of a served kind.
///
/// `path` is the field path from the object's root without list indices,
/// e.g. `spec.template.spec.containers` or `spec.containers.ports`.
/// `None` means the list is replaced by a patch (or the field is not a known
/// list).
pub fn merge_key(group: &str, kind: &str, path: &str) -> Option<MergeStrategy> {
    let parts: Vec<&str> = path.split('.').collect();
    Schema { group, kind }.merge_strategy(&parts)
}

/// The server-side apply list type of a list field of a served kind
/// (`Atomic` for lists not described).
pub fn list_type(group: &str, kind: &str, path: &str) -> ListType {
    let parts: Vec<&str> = path.split('.').collect();
    Schema { group, kind }.list_type(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keys_follow_the_go_struct_tags() {
        use MergeStrategy::*;
        let cases: &[(&str, &str, &str, Option<MergeStrategy>)] = &[
            ("", "Pod", "spec.containers", Some(MergeKey("name"))),
            ("", "Pod", "spec.initContainers", Some(MergeKey("name"))),
            (
                "",
                "Pod",
                "spec.ephemeralContainers",
                Some(MergeKey("name")),
            ),
            ("", "Pod", "spec.containers.env", Some(MergeKey("name"))),
            (
                "",
                "Pod",
                "spec.containers.ports",
                Some(MergeKey("containerPort")),
            ),
            (
                "",
                "Pod",
                "spec.containers.volumeMounts",
                Some(MergeKey("mountPath")),
            ),
            ("", "Pod", "spec.containers.args", None),
            ("", "Pod", "spec.volumes", Some(MergeKey("name"))),
            ("", "Pod", "spec.imagePullSecrets", Some(MergeKey("name"))),
            ("", "Pod", "spec.hostAliases", Some(MergeKey("ip"))),
            ("", "Pod", "spec.tolerations", None),
            (
                "",
                "Pod",
                "spec.topologySpreadConstraints",
                Some(MergeKey("topologyKey")),
            ),
            ("", "Pod", "status.conditions", Some(MergeKey("type"))),
            ("", "Pod", "metadata.finalizers", Some(Set)),
            ("", "Pod", "metadata.ownerReferences", Some(MergeKey("uid"))),
            ("", "Service", "spec.ports", Some(MergeKey("port"))),
            ("", "Node", "spec.taints", None),
            ("", "Node", "spec.podCIDRs", Some(Set)),
            ("", "Node", "status.addresses", Some(MergeKey("type"))),
            ("", "ServiceAccount", "secrets", Some(MergeKey("name"))),
            (
                "apps",
                "Deployment",
                "spec.template.spec.containers",
                Some(MergeKey("name")),
            ),
            (
                "apps",
                "Deployment",
                "spec.template.spec.containers.env",
                Some(MergeKey("name")),
            ),
            (
                "apps",
                "Deployment",
                "spec.template.metadata.finalizers",
                Some(Set),
            ),
            (
                "apps",
                "DaemonSet",
                "spec.template.spec.volumes",
                Some(MergeKey("name")),
            ),
            (
                "apps",
                "ReplicaSet",
                "status.conditions",
                Some(MergeKey("type")),
            ),
            (
                "batch",
                "Job",
                "spec.template.spec.containers",
                Some(MergeKey("name")),
            ),
            ("batch", "Job", "status.conditions", Some(MergeKey("type"))),
            (
                "batch",
                "CronJob",
                "spec.jobTemplate.spec.template.spec.containers",
                Some(MergeKey("name")),
            ),
            ("batch", "CronJob", "spec.template.spec.containers", None),
            ("example.com", "Widget", "spec.items", None),
            ("example.com", "Widget", "metadata.finalizers", Some(Set)),
        ];
        for (group, kind, path, want) in cases {
            assert_eq!(merge_key(group, kind, path), *want, "{group}/{kind} {path}");
        }
    }

    #[test]
    fn apply_list_types_follow_the_list_markers() {
        let cases: &[(&str, &str, &str, ListType)] = &[
            ("", "Pod", "spec.containers", ListType::Map(&["name"])),
            (
                "",
                "Pod",
                "spec.containers.ports",
                ListType::Map(&["containerPort", "protocol"]),
            ),
            (
                "",
                "Pod",
                "spec.containers.resources.claims",
                ListType::Map(&["name"]),
            ),
            ("", "Pod", "spec.containers.command", ListType::Atomic),
            ("", "Pod", "spec.tolerations", ListType::Atomic),
            ("", "Pod", "status.hostIPs", ListType::Atomic),
            (
                "",
                "Service",
                "spec.ports",
                ListType::Map(&["port", "protocol"]),
            ),
            ("", "Pod", "metadata.finalizers", ListType::Set),
            ("batch", "Job", "status.conditions", ListType::Atomic),
            (
                "apps",
                "Deployment",
                "status.conditions",
                ListType::Map(&["type"]),
            ),
        ];
        for (group, kind, path, want) in cases {
            assert_eq!(list_type(group, kind, path), *want, "{group}/{kind} {path}");
        }
    }

    #[test]
    fn selectors_are_atomic_and_templates_are_value_structs() {
        let deploy = Schema {
            group: "apps",
            kind: "Deployment",
        };
        assert!(deploy.is_atomic_map(&["spec", "selector"]));
        assert!(deploy.is_value_struct(&["spec", "template", "spec"]));
        assert!(!deploy.is_value_struct(&["metadata", "labels"]));
        let svc = Schema {
            group: "",
            kind: "Service",
        };
        assert!(svc.is_atomic_map(&["spec", "selector"]));
    }
}
