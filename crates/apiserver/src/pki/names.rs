//! Subject alternative names of the serving certificate.

use std::net::IpAddr;

use super::{DEFAULT_SANS, PkiError};

/// The requested names first, then the defaults and the host name, without duplicates.
pub(super) fn serving_sans(extra: &[String]) -> Result<Vec<String>, PkiError> {
    let mut out = Vec::new();
    for s in extra {
        if let Some(n) = normalize_san(s)? {
            push_unique(&mut out, n);
        }
    }
    for d in DEFAULT_SANS {
        push_unique(&mut out, (*d).to_owned());
    }
    if let Some(h) = host_name() {
        push_unique(&mut out, h);
    }
    Ok(out)
}

pub(super) fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Canonical form of a SAN: IPs in their canonical text (brackets removed,
/// unspecified addresses dropped), DNS names in lowercase. `Ok(None)` means "skip".
pub(super) fn normalize_san(s: &str) -> Result<Option<String>, PkiError> {
    let t = s.trim();
    let t = t
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(t);
    if t.is_empty() {
        return Ok(None);
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok((!ip.is_unspecified()).then(|| ip.to_string()));
    }
    let lower = t.to_ascii_lowercase();
    if valid_dns_name(&lower) {
        Ok(Some(lower))
    } else {
        Err(PkiError::InvalidSan(s.to_owned()))
    }
}

fn valid_dns_name(s: &str) -> bool {
    let body = s.strip_prefix("*.").unwrap_or(s);
    s.len() <= 253
        && !body.is_empty()
        && body.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// This machine's host name, if it is a usable DNS name.
fn host_name() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| {
            std::process::Command::new("hostname")
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
        })?;
    let h = raw.trim().to_ascii_lowercase();
    valid_dns_name(&h).then_some(h)
}
