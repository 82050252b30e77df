//! Which pods leave a tainted node, and when: toleration matching as
//! Kubernetes does it. Pure functions.

use k8s_openapi::api::core::v1::{Pod, Taint, Toleration};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// Whether `toleration` matches `taint` (Kubernetes' `ToleratesTaint`): the
/// effect is empty or equal; the key is equal, or empty with `Exists`; with
/// `Exists` any value matches, with `Equal` (the default) the values match.
pub fn tolerates(toleration: &Toleration, taint: &Taint) -> bool {
    let effect_ok = toleration
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == taint.effect);
    let key = toleration.key.as_deref().unwrap_or_default();
    let operator = toleration.operator.as_deref().unwrap_or("Equal");
    let key_ok = key == taint.key || (key.is_empty() && operator == "Exists");
    let value_ok = match operator {
        "Exists" => true,
        "Equal" | "" => {
            toleration.value.as_deref().unwrap_or_default()
                == taint.value.as_deref().unwrap_or_default()
        }
        _ => false,
    };
    effect_ok && key_ok && value_ok
}

/// When a pod must leave a node tainted with `taint` since `tainted_at`, or
/// `None` when it tolerates the taint forever.
///
/// Without a matching toleration the pod waits `default_timeout`. With
/// matching tolerations it waits the shortest `tolerationSeconds` among them
/// (zero or negative: at once); when none of them sets `tolerationSeconds`
/// it stays forever.
pub fn eviction_time(
    pod: &Pod,
    taint: &Taint,
    tainted_at: Timestamp,
    default_timeout: Duration,
) -> Option<Timestamp> {
    let matching: Vec<&Toleration> = pod
        .spec
        .as_ref()
        .and_then(|s| s.tolerations.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| tolerates(t, taint))
        .collect();
    let wait = if matching.is_empty() {
        SignedDuration::try_from(default_timeout).unwrap_or(SignedDuration::MAX)
    } else {
        let seconds = matching.iter().filter_map(|t| t.toleration_seconds).min()?;
        SignedDuration::from_secs(seconds.max(0))
    };
    Some(tainted_at.checked_add(wait).unwrap_or(Timestamp::MAX))
}

/// Whether the pod should be deleted now: it is not already terminating and
/// its [`eviction_time`] has come.
pub fn should_evict(pod: &Pod, taint: &Taint, now: Timestamp, default_timeout: Duration) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let tainted_at = taint.time_added.as_ref().map_or(now, |t| t.0);
    eviction_time(pod, taint, tainted_at, default_timeout).is_some_and(|at| at <= now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::PodSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).expect("valid")
    }

    fn taint(effect: &str) -> Taint {
        Taint {
            key: UNREACHABLE.into(),
            effect: effect.into(),
            time_added: Some(Time(at(0))),
            value: None,
        }
    }

    fn tol(
        key: Option<&str>,
        op: Option<&str>,
        effect: Option<&str>,
        secs: Option<i64>,
    ) -> Toleration {
        Toleration {
            key: key.map(Into::into),
            operator: op.map(Into::into),
            effect: effect.map(Into::into),
            toleration_seconds: secs,
            value: None,
        }
    }

    fn pod(tolerations: Vec<Toleration>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                tolerations: Some(tolerations),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn toleration_matching_table() {
        let cases = [
            (
                "exact key, Exists",
                tol(Some(UNREACHABLE), Some("Exists"), Some("NoExecute"), None),
                true,
            ),
            (
                "exact key, default Equal, empty values",
                tol(Some(UNREACHABLE), None, Some("NoExecute"), None),
                true,
            ),
            (
                "empty effect matches all effects",
                tol(Some(UNREACHABLE), Some("Exists"), None, None),
                true,
            ),
            (
                "empty key with Exists matches all keys",
                tol(None, Some("Exists"), None, None),
                true,
            ),
            (
                "empty key with Equal matches nothing",
                tol(None, Some("Equal"), None, None),
                false,
            ),
            (
                "other effect",
                tol(Some(UNREACHABLE), Some("Exists"), Some("NoSchedule"), None),
                false,
            ),
            (
                "other key",
                tol(
                    Some("node.kubernetes.io/not-ready"),
                    Some("Exists"),
                    None,
                    None,
                ),
                false,
            ),
            (
                "unknown operator",
                tol(Some(UNREACHABLE), Some("Gt"), None, None),
                false,
            ),
        ];
        for (what, t, want) in cases {
            assert_eq!(tolerates(&t, &taint("NoExecute")), want, "{what}");
        }
        let mut valued = tol(Some(UNREACHABLE), None, None, None);
        valued.value = Some("x".into());
        assert!(
            !tolerates(&valued, &taint("NoExecute")),
            "Equal compares values"
        );
    }

    #[test]
    fn eviction_time_table() {
        let default = Duration::from_secs(300);
        let ne = |secs| tol(Some(UNREACHABLE), Some("Exists"), Some("NoExecute"), secs);
        let cases: Vec<(&str, Vec<Toleration>, Option<i64>)> = vec![
            ("no tolerations: the default timeout", vec![], Some(300)),
            (
                "non-matching toleration: the default timeout",
                vec![tol(Some("other"), Some("Exists"), None, Some(5))],
                Some(300),
            ),
            (
                "tolerationSeconds counts from timeAdded",
                vec![ne(Some(1))],
                Some(1),
            ),
            ("no tolerationSeconds: forever", vec![ne(None)], None),
            (
                "shortest of several",
                vec![ne(Some(60)), ne(Some(10)), ne(None)],
                Some(10),
            ),
            ("negative means at once", vec![ne(Some(-5))], Some(0)),
            (
                "NoSchedule toleration does not help",
                vec![tol(
                    Some(UNREACHABLE),
                    Some("Exists"),
                    Some("NoSchedule"),
                    None,
                )],
                Some(300),
            ),
        ];
        for (what, tolerations, want) in cases {
            let got = eviction_time(&pod(tolerations), &taint("NoExecute"), at(0), default);
            assert_eq!(got, want.map(at), "{what}");
        }
    }

    #[test]
    fn should_evict_waits_and_skips_terminating_pods() {
        let default = Duration::from_secs(300);
        let t = taint("NoExecute");
        let p = pod(vec![tol(Some(UNREACHABLE), Some("Exists"), None, Some(1))]);
        assert!(!should_evict(&p, &t, at(0), default), "too early");
        assert!(should_evict(&p, &t, at(1), default), "due");
        let mut terminating = p.clone();
        terminating.metadata.deletion_timestamp = Some(Time(at(0)));
        assert!(!should_evict(&terminating, &t, at(10), default));
        let untimed = Taint {
            time_added: None,
            ..t
        };
        assert!(
            !should_evict(&pod(vec![]), &untimed, at(10), default),
            "counts from now"
        );
    }
}
