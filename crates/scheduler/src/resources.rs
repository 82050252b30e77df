//! Resource amounts as the scheduler adds and compares them: CPU in
//! millicores, everything else in whole units (bytes, pods, devices).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// CPU a container without a CPU request counts as when spreading load
/// (Kubernetes' `DefaultMilliCPURequest`).
pub const DEFAULT_MILLI_CPU: i64 = 100;
/// Memory a container without a memory request counts as when scoring.
pub const DEFAULT_MEMORY: i64 = 200 << 20;

/// An amount of each resource a pod asks for or a node offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub milli_cpu: i64,
    pub memory: i64,
    pub ephemeral_storage: i64,
    /// Pods allowed on a node (`allocatable.pods`); a pod asks for one.
    pub pods: i64,
    /// Extended resources (`example.com/gpu`, `hugepages-2Mi`), whole units.
    pub scalar: BTreeMap<String, i64>,
}

impl Resources {
    /// From a `requests`/`allocatable`/`overhead` map. Quantities that do not
    /// parse count as zero (validation has refused them before).
    pub fn from_map(map: &BTreeMap<String, Quantity>) -> Self {
        let mut r = Self::default();
        for (name, q) in map {
            r.set(name, &q.0);
        }
        r
    }

    fn set(&mut self, name: &str, quantity: &str) {
        let Some(nano) = api::defaults::parse_quantity(quantity) else {
            return;
        };
        let unit = api::defaults::QUANTITY_UNIT;
        let whole = |n: i128| i64::try_from((n + unit - 1) / unit).unwrap_or(i64::MAX);
        match name {
            "cpu" => {
                self.milli_cpu = i64::try_from((nano + 999_999) / 1_000_000).unwrap_or(i64::MAX);
            }
            "memory" => self.memory = whole(nano),
            "ephemeral-storage" => self.ephemeral_storage = whole(nano),
            "pods" => self.pods = whole(nano),
            other if is_scalar(other) => {
                self.scalar.insert(other.to_owned(), whole(nano));
            }
            _ => {}
        }
    }

    /// Adds `other` to these amounts (pods included).
    pub fn add(&mut self, other: &Self) {
        self.milli_cpu += other.milli_cpu;
        self.memory += other.memory;
        self.ephemeral_storage += other.ephemeral_storage;
        self.pods += other.pods;
        for (k, v) in &other.scalar {
            *self.scalar.entry(k.clone()).or_default() += v;
        }
    }

    /// Takes `other` from these amounts (pods included).
    pub fn sub(&mut self, other: &Self) {
        self.milli_cpu -= other.milli_cpu;
        self.memory -= other.memory;
        self.ephemeral_storage -= other.ephemeral_storage;
        self.pods -= other.pods;
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e -= v;
            if *e == 0 {
                self.scalar.remove(k);
            }
        }
    }

    /// Each field the larger of the two.
    fn max_with(&mut self, other: &Self) {
        self.milli_cpu = self.milli_cpu.max(other.milli_cpu);
        self.memory = self.memory.max(other.memory);
        self.ephemeral_storage = self.ephemeral_storage.max(other.ephemeral_storage);
        for (k, v) in &other.scalar {
            let e = self.scalar.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }

    /// Whether nothing but the pod count is asked for.
    pub fn is_zero(&self) -> bool {
        self.milli_cpu == 0
            && self.memory == 0
            && self.ephemeral_storage == 0
            && self.scalar.values().all(|v| *v == 0)
    }
}

/// Extended resources and huge pages: names with a domain, or `hugepages-*`.
fn is_scalar(name: &str) -> bool {
    name.starts_with("hugepages-") || (name.contains('/') && !name.starts_with("kubernetes.io/"))
}

/// What a pod asks of a node: the larger of its regular containers' sum and
/// its largest init container, plus sidecars (init containers that restart
/// always run alongside), plus the RuntimeClass `overhead`; and one pod.
pub fn pod_requests(spec: &PodSpec) -> Resources {
    let requests_of = |c: &k8s_openapi::api::core::v1::Container| {
        c.resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .map(Resources::from_map)
            .unwrap_or_default()
    };
    let mut total = Resources::default();
    for c in &spec.containers {
        total.add(&requests_of(c));
    }
    let mut sidecars = Resources::default();
    let mut init_peak = Resources::default();
    for c in spec.init_containers.iter().flatten() {
        let r = requests_of(c);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars.add(&r);
            total.add(&r);
        } else {
            // an init container runs next to the sidecars started before it
            let mut running = r;
            running.add(&sidecars);
            init_peak.max_with(&running);
        }
    }
    total.max_with(&init_peak);
    if let Some(overhead) = &spec.overhead {
        total.add(&Resources::from_map(overhead));
    }
    total.pods = 1;
    total
}

/// CPU and memory a pod counts as for scoring: containers without a request
/// count as [`DEFAULT_MILLI_CPU`] and [`DEFAULT_MEMORY`], so that nodes full
/// of request-less pods do not look empty.
pub fn non_zero_requests(spec: &PodSpec) -> (i64, i64) {
    let (mut cpu, mut mem) = (0i64, 0i64);
    for c in &spec.containers {
        let r = c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .map(Resources::from_map)
            .unwrap_or_default();
        let has = |k: &str| {
            c.resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .is_some_and(|m| m.contains_key(k))
        };
        cpu += if has("cpu") {
            r.milli_cpu
        } else {
            DEFAULT_MILLI_CPU
        };
        mem += if has("memory") {
            r.memory
        } else {
            DEFAULT_MEMORY
        };
    }
    if let Some(overhead) = &spec.overhead {
        let o = Resources::from_map(overhead);
        cpu += o.milli_cpu;
        mem += o.memory;
    }
    (cpu, mem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: serde_json::Value) -> PodSpec {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn quantities_parse_into_units() {
        let map: BTreeMap<String, Quantity> = serde_json::from_value(json!({
            "cpu": "1500m", "memory": "1Gi", "ephemeral-storage": "2G", "pods": "110",
            "example.com/gpu": "2", "hugepages-2Mi": "4Mi", "unknown": "3"
        }))
        .unwrap();
        let r = Resources::from_map(&map);
        assert_eq!(r.milli_cpu, 1500);
        assert_eq!(r.memory, 1 << 30);
        assert_eq!(r.ephemeral_storage, 2_000_000_000);
        assert_eq!(r.pods, 110);
        assert_eq!(r.scalar["example.com/gpu"], 2);
        assert_eq!(r.scalar["hugepages-2Mi"], 4 << 20);
        assert!(!r.scalar.contains_key("unknown"));
        // fractions of a millicore round up
        let tiny: BTreeMap<String, Quantity> =
            serde_json::from_value(json!({"cpu": "100u"})).unwrap();
        assert_eq!(Resources::from_map(&tiny).milli_cpu, 1);
    }

    #[test]
    fn pod_requests_follow_kubernetes_rules() {
        let cases = [
            // sum of containers
            (
                json!({"containers": [
                    {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                    {"name": "b", "resources": {"requests": {"cpu": "200m"}}}]}),
                (300, 64 << 20),
            ),
            // an init container larger than the sum wins
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
                       "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "1", "memory": "1Mi"}}}]}),
                (1000, 1 << 20),
            ),
            // sidecars add to the containers and to later init containers
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
                       "initContainers": [
                         {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}},
                         {"name": "i", "resources": {"requests": {"cpu": "500m"}}}]}),
                (550, 0),
            ),
            // overhead on top
            (
                json!({"containers": [{"name": "a", "resources": {"requests": {"cpu": "100m"}}}],
                       "overhead": {"cpu": "10m", "memory": "16Mi"}}),
                (110, 16 << 20),
            ),
        ];
        for (s, (cpu, mem)) in cases {
            let r = pod_requests(&spec(s.clone()));
            assert_eq!((r.milli_cpu, r.memory, r.pods), (cpu, mem, 1), "{s}");
        }
    }

    #[test]
    fn non_zero_requests_fill_in_defaults() {
        let s = spec(json!({"containers": [
            {"name": "a"},
            {"name": "b", "resources": {"requests": {"cpu": "0", "memory": "1Mi"}}}]}));
        assert_eq!(non_zero_requests(&s), (100, DEFAULT_MEMORY + (1 << 20)));
    }

    #[test]
    fn add_and_sub_round_trip() {
        let mut a = Resources {
            milli_cpu: 5,
            scalar: [("x/y".to_string(), 2)].into(),
            ..Default::default()
        };
        let b = a.clone();
        a.add(&b);
        assert_eq!(a.scalar["x/y"], 4);
        a.sub(&b);
        a.sub(&b);
        assert_eq!(a, Resources::default());
    }
}
