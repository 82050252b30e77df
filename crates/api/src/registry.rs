//! The resources brink serves: group, version, kind, scope, verbs, names.
//!
//! One static table drives discovery, routing, storage keys and OpenAPI.

/// Verbs of a resource that supports everything.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Verbs of a resource that can only be created (reviews).
pub const CREATE_ONLY: &[&str] = &["create"];
/// Verbs of a subresource that can only be read (`pods/log`).
pub const GET_ONLY: &[&str] = &["get"];
/// Verbs of a streaming subresource (`pods/exec`, `attach`, `portforward`).
pub const STREAM_VERBS: &[&str] = &["create", "get"];
/// Verbs of a `status`/`scale` subresource.
pub const SUB_VERBS: &[&str] = &["get", "patch", "update"];

/// A subresource served under `.../{name}/{subresource}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    /// Group, version and kind of the subresource's body.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

/// One served resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    pub verbs: &'static [&'static str],
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: &'static [Subresource],
    /// Where objects live in the store: `(group, plural)` of the storage
    /// resource. Differs from the served one only for `events.k8s.io` events,
    /// which are stored as core/v1 events and converted.
    pub storage: (&'static str, &'static str),
}

impl ResourceInfo {
    /// `apiVersion` as written in objects: `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether the resource has the subresource `name`.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    /// Whether objects are stored in another resource's form and converted
    /// on the way in and out (events.k8s.io events are core events).
    pub fn is_converted(&self) -> bool {
        self.storage != (self.group, self.plural)
    }

    /// Whether objects of this resource are kept in the store (reviews are not).
    pub fn is_stored(&self) -> bool {
        self.verbs.contains(&"get")
    }

    /// Store key prefix for every object of this resource.
    pub fn key_prefix(&self) -> String {
        let group = if self.storage.0.is_empty() {
            "core"
        } else {
            self.storage.0
        };
        format!("/{}/{}/", group, self.storage.1)
    }

    /// Store key prefix for one namespace, or every object when `None`.
    pub fn namespace_prefix(&self, namespace: Option<&str>) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{}/", self.key_prefix(), ns),
            _ => self.key_prefix(),
        }
    }

    /// Store key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{}{}/{}", self.key_prefix(), ns, name),
            _ => format!("{}{}", self.key_prefix(), name),
        }
    }
}

const fn sub(
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        name,
        group,
        version,
        kind,
        verbs,
    }
}

const STATUS_CORE: Subresource = sub("status", "", "", "", SUB_VERBS);
const SCALE: Subresource = sub("scale", "autoscaling", "v1", "Scale", SUB_VERBS);

#[allow(clippy::too_many_arguments)]
const fn res(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    list_kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [Subresource],
) -> ResourceInfo {
    ResourceInfo {
        group,
        version,
        kind,
        list_kind,
        plural,
        singular,
        namespaced,
        verbs: ALL_VERBS,
        short_names,
        categories,
        subresources,
        storage: (group, plural),
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// Every resource brink serves, in discovery order.
#[rustfmt::skip]
pub static RESOURCES: &[ResourceInfo] = &[
    res("", "v1", "Namespace", "NamespaceList", "namespaces", "namespace", false, &["ns"], NONE, &[STATUS_CORE]),
    res("", "v1", "Pod", "PodList", "pods", "pod", true, &["po"], ALL, &[
        STATUS_CORE,
        sub("binding", "", "v1", "Binding", CREATE_ONLY),
        sub("eviction", "policy", "v1", "Eviction", CREATE_ONLY),
        sub("log", "", "v1", "Pod", GET_ONLY),
        sub("exec", "", "v1", "PodExecOptions", STREAM_VERBS),
        sub("attach", "", "v1", "PodAttachOptions", STREAM_VERBS),
        sub("portforward", "", "v1", "PodPortForwardOptions", STREAM_VERBS),
    ]),
    res("", "v1", "Node", "NodeList", "nodes", "node", false, &["no"], NONE, &[STATUS_CORE]),
    res("", "v1", "Service", "ServiceList", "services", "service", true, &["svc"], ALL, &[STATUS_CORE]),
    res("", "v1", "Endpoints", "EndpointsList", "endpoints", "endpoints", true, &["ep"], NONE, &[]),
    res("", "v1", "ConfigMap", "ConfigMapList", "configmaps", "configmap", true, &["cm"], NONE, &[]),
    res("", "v1", "Secret", "SecretList", "secrets", "secret", true, NONE, NONE, &[]),
    res("", "v1", "ServiceAccount", "ServiceAccountList", "serviceaccounts", "serviceaccount", true, &["sa"], NONE, &[]),
    res("", "v1", "Event", "EventList", "events", "event", true, &["ev"], NONE, &[]),
    // stored as core/v1 events and converted on the way in and out
    ResourceInfo {
        storage: ("", "events"),
        ..res("events.k8s.io", "v1", "Event", "EventList", "events", "event", true, &["ev"], NONE, &[])
    },
    res("coordination.k8s.io", "v1", "Lease", "LeaseList", "leases", "lease", true, NONE, NONE, &[]),
    res("node.k8s.io", "v1", "RuntimeClass", "RuntimeClassList", "runtimeclasses", "runtimeclass", false, NONE, NONE, &[]),
    res("scheduling.k8s.io", "v1", "PriorityClass", "PriorityClassList", "priorityclasses", "priorityclass", false, &["pc"], NONE, &[]),
    res("apps", "v1", "Deployment", "DeploymentList", "deployments", "deployment", true, &["deploy"], ALL, &[STATUS_CORE, SCALE]),
    res("apps", "v1", "ReplicaSet", "ReplicaSetList", "replicasets", "replicaset", true, &["rs"], ALL, &[STATUS_CORE, SCALE]),
    res("apps", "v1", "DaemonSet", "DaemonSetList", "daemonsets", "daemonset", true, &["ds"], ALL, &[STATUS_CORE]),
    res("batch", "v1", "Job", "JobList", "jobs", "job", true, NONE, ALL, &[STATUS_CORE]),
    res("batch", "v1", "CronJob", "CronJobList", "cronjobs", "cronjob", true, &["cj"], ALL, &[STATUS_CORE]),
    res("policy", "v1", "PodDisruptionBudget", "PodDisruptionBudgetList", "poddisruptionbudgets", "poddisruptionbudget", true, &["pdb"], NONE, &[STATUS_CORE]),
    res("discovery.k8s.io", "v1", "EndpointSlice", "EndpointSliceList", "endpointslices", "endpointslice", true, NONE, NONE, &[]),
    review("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", "selfsubjectaccessreview"),
    review("authentication.k8s.io", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview"),
];

/// A create-only review resource answered on the spot (never stored).
const fn review(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
) -> ResourceInfo {
    ResourceInfo {
        verbs: CREATE_ONLY,
        ..res(
            group,
            "v1",
            kind,
            "",
            plural,
            singular,
            false,
            NONE,
            NONE,
            &[],
        )
    }
}

/// The `(group, version)` pairs served, in discovery order (core first).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// Resources of one group/version.
pub fn resources_of(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceInfo> {
    let (group, version) = (group.to_string(), version.to_string());
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// Looks a resource up by group, version and plural name.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Looks a resource up by group and kind (any version).
pub fn find_kind(group: &str, kind: &str) -> Option<&'static ResourceInfo> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind)
}

/// Splits an `apiVersion` into group and version.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_storage_layout() {
        let pods = find("", "v1", "pods").unwrap();
        assert_eq!(pods.key(Some("default"), "web"), "/core/pods/default/web");
        assert_eq!(pods.namespace_prefix(None), "/core/pods/");
        let nodes = find("", "v1", "nodes").unwrap();
        assert_eq!(nodes.key(None, "n1"), "/core/nodes/n1");
        let ev2 = find("events.k8s.io", "v1", "events").unwrap();
        assert_eq!(ev2.key_prefix(), "/core/events/");
        assert!(ev2.is_converted() && !pods.is_converted());
        assert_eq!(
            find("apps", "v1", "deployments").unwrap().api_version(),
            "apps/v1"
        );
    }

    #[test]
    fn core_comes_first_and_groups_are_unique() {
        let gvs = group_versions();
        assert_eq!(gvs[0], ("", "v1"));
        let mut sorted = gvs.clone();
        sorted.dedup();
        assert_eq!(sorted.len(), gvs.len());
    }
}
