//! The `extenders` entries of the configuration file (see [`super`]) and
//! Go's duration syntax for their `httpTimeout`.
//!
//! Only plain HTTP is implemented: `enableHTTPS: true`, a `tlsConfig` and an
//! `https://` URL are refused, and so is a `preemptVerb` (extenders take no
//! part in preemption). An `httpTimeout` that is missing or zero means
//! [`DEFAULT_HTTP_TIMEOUT`], as in Kubernetes.

use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{ConfigError, invalid};
use crate::extender::{DEFAULT_HTTP_TIMEOUT, ExtenderConfig};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RawExtender {
    url_prefix: String,
    filter_verb: Option<String>,
    preempt_verb: Option<String>,
    prioritize_verb: Option<String>,
    bind_verb: Option<String>,
    weight: Option<i64>,
    #[serde(rename = "enableHTTPS")]
    enable_https: Option<bool>,
    tls_config: Option<IgnoredAny>,
    http_timeout: Option<String>,
    node_cache_capable: Option<bool>,
    managed_resources: Option<Vec<RawManagedResource>>,
    ignorable: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawManagedResource {
    name: String,
    /// Read, but NodeResourcesFit does not skip these resources yet.
    #[serde(default, rename = "ignoredByScheduler")]
    _ignored_by_scheduler: IgnoredAny,
}

impl RawExtender {
    pub(super) fn build(self, i: usize) -> Result<ExtenderConfig, ConfigError> {
        let at = |field: &str| format!("extenders[{i}].{field}");
        const PLAIN: &str = "only plain http:// extenders are implemented";
        if self.enable_https == Some(true) {
            return Err(invalid(
                at("enableHTTPS"),
                format!("HTTPS is not supported; {PLAIN}"),
            ));
        }
        if self.tls_config.is_some() {
            return Err(invalid(
                at("tlsConfig"),
                format!("TLS is not supported; {PLAIN}"),
            ));
        }
        if self.preempt_verb.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err(invalid(
                at("preemptVerb"),
                "extender preemption is not supported",
            ));
        }
        let url = self.url_prefix;
        let host_ok = url
            .parse::<http::Uri>()
            .is_ok_and(|u| u.host().is_some_and(|h| !h.is_empty()));
        if url.starts_with("https://") {
            return Err(invalid(at("urlPrefix"), format!("{url:?}: {PLAIN}")));
        } else if !url.starts_with("http://") || !host_ok {
            return Err(invalid(
                at("urlPrefix"),
                format!("{url:?} is not an http:// URL"),
            ));
        }
        let verb = |v: Option<String>| v.filter(|v| !v.is_empty());
        let prioritize_verb = verb(self.prioritize_verb);
        let weight = self.weight.unwrap_or(0);
        if weight < 0 {
            return Err(invalid(
                at("weight"),
                format!("must not be negative, got {weight}"),
            ));
        } else if prioritize_verb.is_some() && weight == 0 {
            let msg = "an extender with a prioritizeVerb needs a positive weight, got 0";
            return Err(invalid(at("weight"), msg));
        }
        let http_timeout = match self.http_timeout.as_deref() {
            None => DEFAULT_HTTP_TIMEOUT,
            Some(s) => match parse_go_duration(s) {
                Ok(d) if d.is_zero() => DEFAULT_HTTP_TIMEOUT,
                Ok(d) => d,
                Err(e) => return Err(invalid(at("httpTimeout"), format!("{s:?}: {e}"))),
            },
        };
        let mut managed_resources: Vec<String> = Vec::new();
        for (j, r) in self
            .managed_resources
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let at = at(&format!("managedResources[{j}].name"));
            if r.name.is_empty() {
                return Err(invalid(at, "must not be empty"));
            } else if managed_resources.contains(&r.name) {
                return Err(invalid(at, format!("duplicate {:?}", r.name)));
            }
            managed_resources.push(r.name);
        }
        Ok(ExtenderConfig {
            url_prefix: url,
            filter_verb: verb(self.filter_verb),
            prioritize_verb,
            bind_verb: verb(self.bind_verb),
            weight,
            http_timeout,
            node_cache_capable: self.node_cache_capable.unwrap_or(false),
            ignorable: self.ignorable.unwrap_or(false),
            managed_resources,
        })
    }
}

/// Parses a Go duration (`time.ParseDuration`): `"5s"`, `"1m30s"`,
/// `"1.5h"`, `"300ms"`, `"0"`; negative durations are refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        return Err("must not be negative".to_owned());
    } else if rest == "0" {
        return Ok(Duration::ZERO);
    } else if rest.is_empty() {
        return Err("not a duration".to_owned());
    }
    let mut nanos: u128 = 0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(end);
        let end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(end);
        rest = tail;
        let per: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err("missing unit (ns, us, ms, s, m, h)".to_owned()),
            u => return Err(format!("unknown unit {u:?} (ns, us, ms, s, m, h)")),
        };
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err("not a duration".to_owned());
        }
        let frac = &frac[..frac.len().min(18)];
        let parse = |d: &str| {
            if d.is_empty() {
                Ok(0)
            } else {
                d.parse::<u128>()
            }
        };
        let (i, f) = (parse(int), parse(frac));
        let (Ok(i), Ok(f)) = (i, f) else {
            return Err("out of range".to_owned());
        };
        let part = i
            .checked_mul(per)
            .map(|v| v + f * per / 10u128.pow(frac.len() as u32))
            .ok_or("out of range")?;
        nanos = nanos.checked_add(part).ok_or("out of range")?;
    }
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| "out of range".to_owned())
}
