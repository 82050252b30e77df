//! A pod's QoS class (`status.qosClass`), computed as the kubelet does from the
//! CPU and memory requests and limits of all its containers.
//!
//! - `BestEffort`: no container requests or limits CPU or memory;
//! - `Guaranteed`: every container limits both, and the pod's summed requests
//!   equal its summed limits;
//! - `Burstable`: anything else.
//!
//! A container that sets a limit but no request gets the limit as its request,
//! as API defaulting would have done. Only positive quantities count. A class
//! already present in `status.qosClass` wins: it is fixed at creation.

use std::collections::BTreeMap;

use serde_json::Value;

const QOS_RESOURCES: [&str; 2] = ["cpu", "memory"];

/// Parses a Kubernetes resource quantity (`500m`, `1.5`, `128Mi`, `1e3`, `2G`) to a number.
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || ((c == '+' || c == '-') && i == 0)))
        .map_or(s.len(), |(i, _)| i);
    let (number, suffix) = s.split_at(end);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp => {
            let digits = exp.strip_prefix('e').or_else(|| exp.strip_prefix('E'))?;
            10f64.powi(digits.parse::<i32>().ok()?)
        }
    };
    Some(number * factor)
}

fn quantities(resources: Option<&Value>) -> BTreeMap<&'static str, f64> {
    QOS_RESOURCES
        .into_iter()
        .filter_map(|name| {
            let q = resources?.get(name)?;
            let v = match q {
                Value::String(s) => parse_quantity(s)?,
                Value::Number(n) => n.as_f64()?,
                _ => return None,
            };
            (v > 0.0).then_some((name, v))
        })
        .collect()
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= f64::EPSILON * a.abs().max(b.abs()) * 8.0
}

/// The QoS class of a pod: `"BestEffort"`, `"Burstable"` or `"Guaranteed"`.
pub fn qos_class(pod: &Value) -> String {
    if let Some(class) = pod
        .pointer("/status/qosClass")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
    {
        return class.to_owned();
    }
    let mut requests: BTreeMap<&str, f64> = BTreeMap::new();
    let mut limits: BTreeMap<&str, f64> = BTreeMap::new();
    let mut guaranteed = true;
    let all = ["containers", "initContainers"]
        .into_iter()
        .flat_map(|list| {
            pod.pointer(&format!("/spec/{list}"))
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
        });
    for container in all {
        let container_limits = quantities(container.pointer("/resources/limits"));
        let mut container_requests = quantities(container.pointer("/resources/requests"));
        for (name, limit) in &container_limits {
            container_requests.entry(name).or_insert(*limit);
        }
        if !QOS_RESOURCES
            .iter()
            .all(|r| container_limits.contains_key(r))
        {
            guaranteed = false;
        }
        for (name, v) in container_requests {
            *requests.entry(name).or_default() += v;
        }
        for (name, v) in container_limits {
            *limits.entry(name).or_default() += v;
        }
    }
    let class = if requests.is_empty() && limits.is_empty() {
        "BestEffort"
    } else if guaranteed
        && requests.len() == limits.len()
        && requests
            .iter()
            .all(|(name, req)| limits.get(name).is_some_and(|lim| same(*lim, *req)))
    {
        "Guaranteed"
    } else {
        "Burstable"
    };
    class.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities_parse() {
        let cases = [
            ("1", Some(1.0)),
            ("500m", Some(0.5)),
            ("1.5", Some(1.5)),
            ("128Mi", Some(128.0 * 1024.0 * 1024.0)),
            ("1Gi", Some(1_073_741_824.0)),
            ("2G", Some(2e9)),
            ("1e3", Some(1000.0)),
            ("1E", Some(1e18)),
            ("0", Some(0.0)),
            ("", None),
            ("abc", None),
            ("1Zi", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_quantity(s), want, "{s:?}");
        }
    }

    fn pod(containers: Value, init: Value) -> Value {
        json!({"spec": {"containers": containers, "initContainers": init}})
    }

    fn res(requests: Value, limits: Value) -> Value {
        json!({"name": "c", "resources": {"requests": requests, "limits": limits}})
    }

    #[test]
    fn classes() {
        let full = json!({"cpu": "500m", "memory": "64Mi"});
        let cases = [
            ("none", pod(json!([{"name": "c"}]), json!([])), "BestEffort"),
            (
                "zero",
                pod(json!([res(json!({"cpu": "0"}), json!({}))]), json!([])),
                "BestEffort",
            ),
            (
                "other resource",
                pod(
                    json!([res(json!({"ephemeral-storage": "1Gi"}), json!({}))]),
                    json!([]),
                ),
                "BestEffort",
            ),
            (
                "equal",
                pod(json!([res(full.clone(), full.clone())]), json!([])),
                "Guaranteed",
            ),
            (
                "limits only",
                pod(json!([res(json!({}), full.clone())]), json!([])),
                "Guaranteed",
            ),
            (
                "same amount spelled differently",
                pod(
                    json!([res(
                        json!({"cpu": "0.5", "memory": "65536Ki"}),
                        full.clone()
                    )]),
                    json!([]),
                ),
                "Guaranteed",
            ),
            (
                "request below limit",
                pod(
                    json!([res(json!({"cpu": "100m"}), full.clone())]),
                    json!([]),
                ),
                "Burstable",
            ),
            (
                "requests only",
                pod(json!([res(full.clone(), json!({}))]), json!([])),
                "Burstable",
            ),
            (
                "cpu limit only",
                pod(json!([res(json!({}), json!({"cpu": "1"}))]), json!([])),
                "Burstable",
            ),
            (
                "one container unlimited",
                pod(
                    json!([res(full.clone(), full.clone()), {"name": "d"}]),
                    json!([]),
                ),
                "Burstable",
            ),
            (
                "init container counts",
                pod(
                    json!([{"name": "d"}]),
                    json!([res(full.clone(), json!({}))]),
                ),
                "Burstable",
            ),
        ];
        for (what, pod, want) in cases {
            assert_eq!(qos_class(&pod), want, "{what}");
        }
    }

    #[test]
    fn status_class_wins() {
        let p =
            json!({"spec": {"containers": [{"name": "c"}]}, "status": {"qosClass": "Burstable"}});
        assert_eq!(qos_class(&p), "Burstable");
    }
}
