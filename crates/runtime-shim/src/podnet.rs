//! The in-process runtime's pod network: every wasm pod gets its own address
//! from the node's pod CIDR, as a /32 on a brink-managed interface (`brink0`,
//! a bridge with no ports made with rtnetlink: bridges exist in every kernel
//! config seen, dummy interfaces do not), so that replicas on one node each bind
//! their ports on their own address and the node reaches them directly.
//!
//! Addresses are kept per pod uid in a small JSON file and survive agent
//! restarts (a pod restarted from local state gets its address back); they
//! are released when the pod's sandbox is removed. Without CAP_NET_ADMIN
//! (or before the node knows its CIDR) pods get no address of their own and
//! serve on the node's addresses; a second pod on the same port then fails
//! with the bind error in its status.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use futures::TryStreamExt;
use tokio::sync::Mutex;

/// The interface brink puts pod addresses on.
pub const INTERFACE: &str = "brink0";

/// Why the pod network could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PodNetError {
    #[error("pod CIDR {0:?}: {1}")]
    Cidr(String, String),
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("{path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    base: u32,
    prefix: u8,
}

impl Net {
    fn parse(s: &str) -> Result<Net, PodNetError> {
        let bad = |m: &str| PodNetError::Cidr(s.to_owned(), m.to_owned());
        let (ip, prefix) = s.split_once('/').ok_or_else(|| bad("not a CIDR"))?;
        let ip: Ipv4Addr = ip.parse().map_err(|_| bad("not IPv4"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (8..=30).contains(p))
            .ok_or_else(|| bad("prefix must be 8 to 30"))?;
        Ok(Net {
            base: u32::from(ip) & (u32::MAX << (32 - u32::from(prefix))),
            prefix,
        })
    }

    /// Pod addresses: from .2 (.1 is left for a gateway) to the last before broadcast.
    fn hosts(&self) -> impl Iterator<Item = Ipv4Addr> + '_ {
        let size = 1u32 << (32 - u32::from(self.prefix));
        (2..size - 1).map(move |i| Ipv4Addr::from(self.base + i))
    }

    fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & (u32::MAX << (32 - u32::from(self.prefix))) == self.base
    }
}

/// The halves of a node's pod CIDR: the lower one for wasm pods (addresses
/// on [`INTERFACE`]), the upper one for container pods (CNI's bridge and
/// IPAM). A /24 gives each 125 pod addresses, more than a node's 110 pods.
pub fn split_node_range(cidr: &str) -> Result<(String, String), PodNetError> {
    let net = Net::parse(cidr)?;
    if net.prefix >= 30 {
        return Err(PodNetError::Cidr(
            cidr.to_owned(),
            "too small to share between wasm and container pods".into(),
        ));
    }
    let half = net.prefix + 1;
    let upper = net.base + (1u32 << (32 - u32::from(half)));
    Ok((
        format!("{}/{half}", Ipv4Addr::from(net.base)),
        format!("{}/{half}", Ipv4Addr::from(upper)),
    ))
}

struct Inner {
    net: Option<Net>,
    by_uid: BTreeMap<String, Ipv4Addr>,
    /// `None` until set up, or when netlink is not allowed (no CAP_NET_ADMIN).
    netlink: Option<(rtnetlink::Handle, u32)>,
}

/// The pod network of one agent.
pub struct PodNetwork {
    state_file: PathBuf,
    inner: Mutex<Inner>,
}

impl PodNetwork {
    /// The network, its assignments read from `state_file`.
    pub fn new(state_file: PathBuf) -> PodNetwork {
        let by_uid = std::fs::read(&state_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        PodNetwork {
            state_file,
            inner: Mutex::new(Inner {
                net: None,
                by_uid,
                netlink: None,
            }),
        }
    }

    fn save(&self, by_uid: &BTreeMap<String, Ipv4Addr>) -> Result<(), PodNetError> {
        let err = |source| PodNetError::State {
            path: self.state_file.clone(),
            source,
        };
        if let Some(dir) = self.state_file.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = self.state_file.with_extension("tmp");
        let bytes = serde_json::to_vec_pretty(by_uid).map_err(|e| err(std::io::Error::other(e)))?;
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, &self.state_file).map_err(err)
    }

    /// The node's pod CIDR is known (or changed): set up the interface and
    /// put back the addresses of pods that already have one. Without the
    /// right to manage interfaces it logs why and leaves pods on the node's
    /// addresses.
    pub async fn set_cidr(&self, cidr: &str) -> Result<(), PodNetError> {
        let net = Net::parse(cidr)?;
        let mut inner = self.inner.lock().await;
        if inner.net == Some(net) && inner.netlink.is_some() {
            return Ok(());
        }
        inner.net = Some(net);
        inner.by_uid.retain(|_, ip| net.contains(*ip));
        match setup_interface().await {
            Ok((handle, index)) => {
                reconcile(&handle, index, net, &inner.by_uid).await?;
                inner.netlink = Some((handle, index));
                tracing::info!(%cidr, interface = INTERFACE, "pod network ready");
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot manage the pod interface (needs CAP_NET_ADMIN): pods serve on the node's addresses");
            }
        }
        let by_uid = inner.by_uid.clone();
        self.save(&by_uid)
    }

    /// The address of the pod with this uid, assigned now if it has none.
    /// `None` when pods have no addresses of their own.
    pub async fn assign(&self, uid: &str) -> Result<Option<IpAddr>, PodNetError> {
        let mut inner = self.inner.lock().await;
        let (Some(net), Some((handle, index))) = (inner.net, inner.netlink.clone()) else {
            return Ok(None);
        };
        let ip = match inner.by_uid.get(uid) {
            Some(ip) => *ip,
            None => {
                let taken: std::collections::HashSet<Ipv4Addr> =
                    inner.by_uid.values().copied().collect();
                let ip = net.hosts().find(|ip| !taken.contains(ip)).ok_or_else(|| {
                    PodNetError::Cidr(
                        format!("{}/{}", Ipv4Addr::from(net.base), net.prefix),
                        "no free address left".into(),
                    )
                })?;
                inner.by_uid.insert(uid.to_owned(), ip);
                let by_uid = inner.by_uid.clone();
                self.save(&by_uid)?;
                ip
            }
        };
        add_address(&handle, index, ip).await?;
        Ok(Some(IpAddr::V4(ip)))
    }

    /// The pod is gone: its address is free again.
    pub async fn release(&self, uid: &str) -> Result<(), PodNetError> {
        let mut inner = self.inner.lock().await;
        let Some(ip) = inner.by_uid.remove(uid) else {
            return Ok(());
        };
        let by_uid = inner.by_uid.clone();
        self.save(&by_uid)?;
        if let Some((handle, index)) = &inner.netlink {
            del_address(handle, *index, ip).await?;
        }
        Ok(())
    }
}

fn nl(e: impl std::fmt::Display) -> PodNetError {
    PodNetError::Netlink(e.to_string())
}

/// Makes `brink0` (a bridge) if missing and brings it up.
async fn setup_interface() -> Result<(rtnetlink::Handle, u32), PodNetError> {
    let (conn, handle, _) = rtnetlink::new_connection().map_err(nl)?;
    tokio::spawn(conn);
    let find = |handle: rtnetlink::Handle| async move {
        let mut links = handle
            .link()
            .get()
            .match_name(INTERFACE.to_owned())
            .execute();
        links
            .try_next()
            .await
            .ok()
            .flatten()
            .map(|l| l.header.index)
    };
    let index = match find(handle.clone()).await {
        Some(i) => i,
        None => {
            handle
                .link()
                .add(rtnetlink::LinkBridge::new(INTERFACE).up().build())
                .execute()
                .await
                .map_err(nl)?;
            find(handle.clone())
                .await
                .ok_or_else(|| nl(format!("{INTERFACE} missing after creating it")))?
        }
    };
    handle
        .link()
        .set(rtnetlink::LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl)?;
    Ok((handle, index))
}

async fn addresses(handle: &rtnetlink::Handle, index: u32) -> Result<Vec<Ipv4Addr>, PodNetError> {
    use rtnetlink::packet_route::address::AddressAttribute;
    let mut out = Vec::new();
    let mut msgs = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .execute();
    while let Some(msg) = msgs.try_next().await.map_err(nl)? {
        for attr in &msg.attributes {
            if let AddressAttribute::Address(IpAddr::V4(ip)) = attr {
                out.push(*ip);
            }
        }
    }
    Ok(out)
}

/// The interface holds exactly the assigned addresses of our CIDR
/// (addresses of other CIDRs belong to other agents on the machine).
async fn reconcile(
    handle: &rtnetlink::Handle,
    index: u32,
    net: Net,
    by_uid: &BTreeMap<String, Ipv4Addr>,
) -> Result<(), PodNetError> {
    let present = addresses(handle, index).await?;
    for ip in &present {
        if net.contains(*ip) && !by_uid.values().any(|a| a == ip) {
            del_address(handle, index, *ip).await?;
        }
    }
    for ip in by_uid.values() {
        if !present.contains(ip) {
            add_address(handle, index, *ip).await?;
        }
    }
    Ok(())
}

async fn add_address(
    handle: &rtnetlink::Handle,
    index: u32,
    ip: Ipv4Addr,
) -> Result<(), PodNetError> {
    if addresses(handle, index).await?.contains(&ip) {
        return Ok(());
    }
    handle
        .address()
        .add(index, IpAddr::V4(ip), 32)
        .execute()
        .await
        .map_err(nl)
}

async fn del_address(
    handle: &rtnetlink::Handle,
    index: u32,
    ip: Ipv4Addr,
) -> Result<(), PodNetError> {
    let msg = rtnetlink::AddressMessageBuilder::<Ipv4Addr>::new()
        .index(index)
        .address(ip, 32)
        .build();
    handle.address().del(msg).execute().await.map_err(nl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_skip_network_gateway_and_broadcast() {
        let net = Net::parse("10.42.3.0/24").unwrap();
        let hosts: Vec<Ipv4Addr> = net.hosts().collect();
        assert_eq!(hosts.first(), Some(&Ipv4Addr::new(10, 42, 3, 2)));
        assert_eq!(hosts.last(), Some(&Ipv4Addr::new(10, 42, 3, 254)));
        assert_eq!(hosts.len(), 253);
        assert!(net.contains(Ipv4Addr::new(10, 42, 3, 77)));
        assert!(!net.contains(Ipv4Addr::new(10, 42, 4, 1)));
        assert!(Net::parse("10.42.0.0").is_err());
        assert!(Net::parse("::1/64").is_err());
    }

    #[test]
    fn a_node_range_splits_into_two_halves() {
        let (wasm, containers) = split_node_range("10.42.3.0/24").unwrap();
        assert_eq!(
            (wasm.as_str(), containers.as_str()),
            ("10.42.3.0/25", "10.42.3.128/25")
        );
        let (wasm, containers) = split_node_range("10.42.3.77/23").unwrap();
        assert_eq!(
            (wasm.as_str(), containers.as_str()),
            ("10.42.2.0/24", "10.42.3.0/24")
        );
        assert!(split_node_range("10.42.3.0/30").is_err());
        assert!(split_node_range("nonsense").is_err());
    }
}
