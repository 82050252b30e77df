//! Controller settings and the Go-style duration syntax their flags use.

use std::time::Duration;

/// Settings shared by the controllers, validated once by [`ControllersConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllersConfig {
    /// How long a node may go without a heartbeat (Lease renewal or Ready
    /// heartbeat) before it is marked `Unknown` (`--node-monitor-grace-period`).
    pub node_monitor_grace_period: Duration,
    /// How often the node lifecycle controller evaluates every node.
    pub node_monitor_period: Duration,
    /// How long a pod without a matching toleration stays on an unreachable
    /// node that opted into eviction before it is deleted.
    pub pod_eviction_timeout: Duration,
}

impl Default for ControllersConfig {
    fn default() -> Self {
        Self {
            node_monitor_grace_period: Duration::from_secs(40),
            node_monitor_period: Duration::from_secs(5),
            pod_eviction_timeout: Duration::from_secs(300),
        }
    }
}

impl ControllersConfig {
    /// Checks the settings: the period and the grace period must be positive.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.node_monitor_period.is_zero() {
            return Err(ConfigError::Zero("node_monitor_period"));
        }
        if self.node_monitor_grace_period.is_zero() {
            return Err(ConfigError::Zero("node_monitor_grace_period"));
        }
        Ok(())
    }
}

/// Why a configuration value or a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A setting that must be positive is zero.
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    /// The duration string is empty.
    #[error("invalid duration \"\": empty (use e.g. 40s, 1m30s, 500ms, 2h)")]
    EmptyDuration,
    /// The duration is negative.
    #[error("invalid duration {0:?}: must not be negative")]
    NegativeDuration(String),
    /// The string is not a sequence of number-and-unit pairs.
    #[error("invalid duration {input:?}: {reason} (use e.g. 40s, 1m30s, 500ms, 2h)")]
    InvalidDuration {
        /// The string given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The duration does not fit (more than about 584 years).
    #[error("invalid duration {0:?}: too large")]
    DurationOverflow(String),
}

/// Nanoseconds per unit, as Go's `time.ParseDuration` names them.
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses a duration the way Kubernetes flags do (Go's `time.ParseDuration`):
/// one or more decimal numbers each followed by a unit (`ns`, `us`, `ms`,
/// `s`, `m`, `h`), such as `40s`, `1m30s`, `500ms`, `1.5h`; `0` alone is zero.
pub fn parse_duration(s: &str) -> Result<Duration, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidDuration {
        input: s.to_string(),
        reason: reason.to_string(),
    };
    let mut rest = match s.strip_prefix('+') {
        Some(r) => r,
        None if s.starts_with('-') => {
            return match parse_duration(&s[1..]) {
                Ok(d) if d.is_zero() => Ok(d),
                Ok(_) => Err(ConfigError::NegativeDuration(s.to_string())),
                Err(e) => Err(e),
            };
        }
        None => s,
    };
    if s.is_empty() {
        return Err(ConfigError::EmptyDuration);
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid("no number"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => a.split_at(a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len())),
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(invalid("expected a number"));
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(invalid("missing unit"));
        }
        let per = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, ns)| *ns)
            .ok_or_else(|| invalid(&format!("unknown unit {unit:?}")))?;
        total = total
            .checked_add(component_nanos(int, frac, per).ok_or_else(|| overflow(s))?)
            .ok_or_else(|| overflow(s))?;
        rest = after;
    }
    let nanos = u64::try_from(total).map_err(|_| overflow(s))?;
    Ok(Duration::from_nanos(nanos))
}

fn overflow(s: &str) -> ConfigError {
    ConfigError::DurationOverflow(s.to_string())
}

/// `int.frac` units of `per` nanoseconds each, truncated to whole nanoseconds.
fn component_nanos(int: &str, frac: &str, per: u128) -> Option<u128> {
    let whole: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut nanos = whole.checked_mul(per)?;
    let mut scale = per;
    for digit in frac.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        nanos = nanos.checked_add(u128::from(digit - b'0') * scale)?;
    }
    Some(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        let cases: &[(&str, Duration)] = &[
            ("40s", Duration::from_secs(40)),
            ("1m30s", Duration::from_secs(90)),
            ("500ms", Duration::from_millis(500)),
            ("2h", Duration::from_secs(7200)),
            ("0", Duration::ZERO),
            ("-0", Duration::ZERO),
            ("+5s", Duration::from_secs(5)),
            ("1.5h", Duration::from_secs(5400)),
            (".5s", Duration::from_millis(500)),
            ("1h2m3s4ms5us6ns", Duration::new(3723, 4_005_006)),
            ("10µs", Duration::from_micros(10)),
            ("3s3s", Duration::from_secs(6)),
            ("0s", Duration::ZERO),
        ];
        for (input, want) in cases {
            assert_eq!(parse_duration(input).as_ref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn bad_durations_say_why() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("40", "missing unit"),
            ("s", "expected a number"),
            ("1x", "unknown unit \"x\""),
            ("1 s", "unknown unit \" s\""),
            ("1sec", "unknown unit \"sec\""),
            ("-5s", "must not be negative"),
            ("+", "no number"),
            ("1.s.", "expected a number"),
            ("99999999999h", "too large"),
        ];
        for (input, want) in cases {
            let err = parse_duration(input).expect_err(input).to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn defaults_match_kubernetes_and_validate() {
        let c = ControllersConfig::default();
        assert_eq!(c.node_monitor_grace_period, Duration::from_secs(40));
        assert_eq!(c.node_monitor_period, Duration::from_secs(5));
        assert_eq!(c.pod_eviction_timeout, Duration::from_secs(300));
        assert_eq!(c.validate(), Ok(()));
        let zero = ControllersConfig {
            node_monitor_period: Duration::ZERO,
            ..c
        };
        assert_eq!(
            zero.validate(),
            Err(ConfigError::Zero("node_monitor_period"))
        );
    }
}
