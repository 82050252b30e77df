//! What a wasm pod may reach: the two pod annotations that rule its outbound
//! `wasi:http` requests and its `wasi:sockets` connections.
//!
//! ```yaml
//! metadata:
//!   annotations:
//!     wasm.brink.io/outbound-http: "api.example.com, *.corp.internal:8443, 10.0.0.0/8"
//!     wasm.brink.io/outbound-sockets: "192.168.1.20:502"
//! ```
//!
//! A value is `*` (anything, the default when the annotation is absent, as
//! a Kubernetes pod reaches the network unless a policy says otherwise),
//! `none` (nothing), or a comma-separated list of `HOST[:PORT]` where HOST is
//! `*`, a DNS name, `*.domain` (any name under it), an IP address or a CIDR
//! (IPv6 in brackets: `[fd00::/8]:443`) and PORT a number or `*` (any, the
//! default). Names match the request's authority as written (no lookup);
//! sockets reach addresses, so their rules take addresses and CIDRs only.
//! Pure: parsed at admission (a bad value is refused) and by the agent.

use std::net::{IpAddr, SocketAddr};

/// The annotation ruling outbound `wasi:http` requests.
pub const OUTBOUND_HTTP: &str = "wasm.brink.io/outbound-http";
/// The annotation ruling `wasi:sockets` connections and datagrams.
pub const OUTBOUND_SOCKETS: &str = "wasm.brink.io/outbound-sockets";

/// Which destinations are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Egress {
    /// Anything (`*`, or no annotation).
    #[default]
    Any,
    /// Only what a rule allows (`none` is the empty list).
    Only(Vec<Rule>),
}

/// One `HOST[:PORT]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    host: Host,
    /// `None`: any port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Any,
    Name(String),
    /// `*.suffix`: names under `suffix` (stored with its leading dot).
    Under(String),
    Net(IpAddr, u8),
}

impl Egress {
    /// The rules of a pod's annotation value; `None` (absent) allows all.
    /// `sockets` refuses names, which a socket address never matches.
    pub fn parse(value: Option<&str>, sockets: bool) -> Result<Egress, String> {
        let Some(value) = value.map(str::trim) else {
            return Ok(Egress::Any);
        };
        match value {
            "*" => return Ok(Egress::Any),
            "none" | "" => return Ok(Egress::Only(Vec::new())),
            _ => {}
        }
        let rules = value
            .split(',')
            .map(|entry| Rule::parse(entry.trim(), sockets))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Egress::Only(rules))
    }

    /// Whether an HTTP request to `host:port` (the authority) is allowed.
    pub fn allows_host(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let ip = host.parse::<IpAddr>().ok();
        self.any_rule(|r| r.port_matches(port) && r.host_matches(&host, ip))
    }

    /// Whether a socket may reach `addr`.
    pub fn allows_addr(&self, addr: SocketAddr) -> bool {
        self.any_rule(|r| r.port_matches(addr.port()) && r.host_matches("", Some(addr.ip())))
    }

    /// Whether anything at all is allowed.
    pub fn allows_some(&self) -> bool {
        self.any_rule(|_| true)
    }

    fn any_rule(&self, f: impl Fn(&Rule) -> bool) -> bool {
        match self {
            Egress::Any => true,
            Egress::Only(rules) => rules.iter().any(f),
        }
    }
}

impl Rule {
    fn parse(entry: &str, sockets: bool) -> Result<Rule, String> {
        if entry.is_empty() {
            return Err("empty entry: list entries are HOST[:PORT] separated by commas".into());
        }
        let (host, port) = split_port(entry)?;
        let port = match port {
            None | Some("*") => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{entry:?}: port must be 1 to 65535 or *"))?,
            ),
        };
        let host = parse_host(host).map_err(|m| format!("{entry:?}: {m}"))?;
        if sockets && matches!(host, Host::Name(_) | Host::Under(_)) {
            return Err(format!(
                "{entry:?}: sockets connect to addresses; use an IP address or a CIDR"
            ));
        }
        Ok(Rule { host, port })
    }

    fn port_matches(&self, port: u16) -> bool {
        self.port.is_none_or(|p| p == port)
    }

    fn host_matches(&self, name: &str, ip: Option<IpAddr>) -> bool {
        match (&self.host, ip) {
            (Host::Any, _) => true,
            (Host::Net(net, prefix), Some(ip)) => in_net(ip, *net, *prefix),
            (Host::Name(n), None) => n == name,
            (Host::Under(suffix), None) => name.ends_with(suffix.as_str()),
            _ => false,
        }
    }
}

/// `host:port`, `[v6]:port`, `[v6/len]`, or a bare host.
fn split_port(entry: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("{entry:?}: unclosed ["))?;
        return match after {
            "" => Ok((host, None)),
            _ => after
                .strip_prefix(':')
                .map(|p| (host, Some(p)))
                .ok_or_else(|| format!("{entry:?}: expected :PORT after ]")),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => Err(format!(
            "{entry:?}: write IPv6 addresses in brackets, as [fd00::1]:80"
        )),
        Some((host, port)) => Ok((host, Some(port))),
        None => Ok((entry, None)),
    }
}

fn parse_host(host: &str) -> Result<Host, String> {
    if host == "*" {
        return Ok(Host::Any);
    }
    if let Some((ip, len)) = host.split_once('/') {
        let ip: IpAddr = ip.parse().map_err(|_| "not an IP network".to_owned())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = len
            .parse::<u8>()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("prefix length must be 0 to {max}"))?;
        return Ok(Host::Net(ip, len));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Host::Net(ip, if ip.is_ipv4() { 32 } else { 128 }));
    }
    let (under, name) = match host.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, host),
    };
    let name = name.to_ascii_lowercase();
    let errors = crate::validation::names::is_dns1123_subdomain(&name);
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    Ok(if under {
        Host::Under(format!(".{name}"))
    } else {
        Host::Name(name)
    })
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(v: &str) -> Egress {
        Egress::parse(Some(v), false).unwrap()
    }

    #[test]
    fn absent_and_star_allow_everything_none_nothing() {
        for e in [Egress::parse(None, true).unwrap(), http("*")] {
            assert!(e.allows_host("example.com", 443));
            assert!(e.allows_addr("10.1.2.3:9".parse().unwrap()));
        }
        let none = http("none");
        assert!(!none.allows_some());
        assert!(!none.allows_host("example.com", 80));
        assert!(!none.allows_addr("127.0.0.1:80".parse().unwrap()));
    }

    #[test]
    fn names_suffixes_ports_and_networks() {
        let e = http("api.example.com, *.corp.internal:8443, 10.0.0.0/8, [fd00::/8]:443, *:8080");
        assert!(e.allows_host("API.example.com", 443));
        assert!(!e.allows_host("example.com", 443));
        assert!(e.allows_host("a.b.corp.internal", 8443));
        assert!(!e.allows_host("a.corp.internal", 443));
        assert!(!e.allows_host("corp.internal", 8443));
        assert!(e.allows_host("10.42.0.7", 80));
        assert!(!e.allows_host("11.0.0.1", 80));
        assert!(e.allows_host("[fd00::1]", 443));
        assert!(!e.allows_host("[fd00::1]", 80));
        assert!(e.allows_host("anything.at.all", 8080));
        assert!(e.allows_addr("10.9.9.9:1".parse().unwrap()));
        assert!(!e.allows_addr("192.168.1.1:443".parse().unwrap()));
        assert!(e.allows_addr("192.168.1.1:8080".parse().unwrap()));
        // a name never matches an address
        let n = http("localhost");
        assert!(!n.allows_addr("127.0.0.1:80".parse().unwrap()));
        assert!(n.allows_host("localhost", 80));
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (value, sockets, needle) in [
            ("a.com,,b.com", false, "empty entry"),
            ("a.com:0", false, "port must be 1 to 65535"),
            ("a.com:http", false, "port must be 1 to 65535"),
            ("10.0.0.0/33", false, "prefix length must be 0 to 32"),
            ("fd00::1:80", false, "brackets"),
            ("[fd00::1", false, "unclosed"),
            ("Bad_Name", false, "RFC 1123"),
            ("example.com", true, "use an IP address or a CIDR"),
            ("*.example.com:502", true, "use an IP address or a CIDR"),
        ] {
            let e = Egress::parse(Some(value), sockets).unwrap_err();
            assert!(e.contains(needle), "{value}: {e}");
        }
        assert!(Egress::parse(Some("192.168.1.20:502, [::1]"), true).is_ok());
    }
}
