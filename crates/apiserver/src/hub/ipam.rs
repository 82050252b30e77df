//! Pod CIDRs for nodes: each node gets one subnet of the cluster CIDR
//! (`brink server --cluster-cidr`, default `10.42.0.0/16`, a /24 each), kept
//! in its Node's `spec.podCIDR`/`spec.podCIDRs`, and told to its agent in the
//! link's welcome. The hub hands them out under one lock, so two nodes
//! joining at once never get the same subnet: the lowest subnet that no
//! Node held when the hub started and that it has not handed out since.

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::objects;
use crate::state::Api;
use crate::status::{ApiError, ApiResult};

/// An IPv4 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: u32,
    pub prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Cidr, String> {
        let (ip, prefix) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not a CIDR (like 10.42.0.0/16)"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("{s:?}: {ip:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| *p <= 32)
            .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to 32"))?;
        let mask = mask(prefix);
        let base = u32::from(ip);
        if base & !mask != 0 {
            return Err(format!("{s:?} has host bits set"));
        }
        Ok(Cidr { base, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// How the cluster CIDR is cut into node subnets.
#[derive(Debug, Clone, Copy)]
pub struct PodCidrConfig {
    pub cluster: Cidr,
    /// Prefix length of each node's subnet (24: 254 pods a node).
    pub node_prefix: u8,
}

impl PodCidrConfig {
    /// Checks the flags: the node subnets fit in the cluster CIDR.
    pub fn new(cluster: &str, node_prefix: u8) -> Result<PodCidrConfig, String> {
        let cluster: Cidr = cluster.parse()?;
        if node_prefix < cluster.prefix || node_prefix > 30 {
            return Err(format!(
                "--node-cidr-mask-size {node_prefix} must be between the cluster CIDR's prefix ({}) and 30",
                cluster.prefix
            ));
        }
        Ok(PodCidrConfig {
            cluster,
            node_prefix,
        })
    }

    fn subnets(&self) -> u64 {
        1u64 << (self.node_prefix - self.cluster.prefix)
    }

    fn subnet(&self, i: u64) -> Cidr {
        let size = 1u64 << (32 - u32::from(self.node_prefix));
        Cidr {
            base: self.cluster.base + u32::try_from(i * size).unwrap_or(0),
            prefix: self.node_prefix,
        }
    }

    /// The lowest subnet not in `used`.
    pub fn lowest_free(&self, used: &BTreeSet<String>) -> Option<Cidr> {
        (0..self.subnets())
            .map(|i| self.subnet(i))
            .find(|c| !used.contains(&c.to_string()))
    }
}

/// The hub's allocator.
pub struct PodCidrs {
    config: PodCidrConfig,
    /// Subnets promised to nodes whose Node object does not exist yet.
    promised: Mutex<HashMap<String, String>>,
    /// Every subnet handed out, loaded from the Nodes at the first allocation.
    taken: tokio::sync::Mutex<Option<BTreeSet<String>>>,
}

fn pod_cidr_of(node: &Value) -> Option<String> {
    node.pointer("/spec/podCIDR")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl PodCidrs {
    pub fn new(config: PodCidrConfig) -> PodCidrs {
        PodCidrs {
            config,
            promised: Mutex::new(HashMap::new()),
            taken: tokio::sync::Mutex::new(None),
        }
    }

    /// The subnet promised to a node not created yet (for its Node's spec).
    pub fn promised(&self, node: &str) -> Option<String> {
        self.promised
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(node)
            .cloned()
    }

    /// The node's pod CIDR: the one its Node holds (one read), else a new
    /// one, written into an existing Node or promised until the Node is
    /// created.
    pub async fn for_node(&self, api: &Api, node: &str) -> ApiResult<String> {
        let nodes = crate::hub::apply::nodes_info()?;
        let existing = match objects::get(api, nodes, None, node).await {
            Ok(n) => Some(n),
            Err(ApiError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        if let Some(c) = existing.as_ref().and_then(pod_cidr_of) {
            return Ok(c);
        }
        let cidr = match self.promised(node) {
            Some(c) => c,
            None => self.allocate(api, node).await?,
        };
        if existing.is_some() {
            let patch = json!({"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}});
            objects::patch(
                api,
                nodes,
                None,
                node,
                api::patch::PatchType::Merge,
                patch.to_string().as_bytes(),
                None,
                false,
                &crate::hub::apply::opts(),
            )
            .await?;
            self.forget(node);
        }
        Ok(cidr)
    }

    /// A fresh subnet for `node`, promised to it. What is taken is read from
    /// the Nodes once, then kept here (a deleted node's subnet is reused
    /// after the next server start).
    async fn allocate(&self, api: &Api, node: &str) -> ApiResult<String> {
        let mut taken = self.taken.lock().await;
        if taken.is_none() {
            let nodes = crate::hub::apply::nodes_info()?;
            let list = api
                .store
                .list(store::ListOptions {
                    prefix: nodes.key_prefix(),
                    ..Default::default()
                })
                .await?;
            let mut used = BTreeSet::new();
            for kv in &list.items {
                let obj: Value = serde_json::from_slice(&kv.value)
                    .map_err(|e| ApiError::Internal(format!("stored node: {e}")))?;
                used.extend(pod_cidr_of(&obj));
            }
            *taken = Some(used);
        }
        let used = taken.get_or_insert_with(BTreeSet::new);
        if let Some(c) = self.promised(node) {
            return Ok(c);
        }
        let cidr = self
            .config
            .lowest_free(used)
            .ok_or_else(|| {
                ApiError::Unavailable(format!(
                    "the cluster CIDR {} has no free /{} left for node {node}",
                    self.config.cluster, self.config.node_prefix
                ))
            })?
            .to_string();
        used.insert(cidr.clone());
        self.promised
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(node.to_owned(), cidr.clone());
        Ok(cidr)
    }

    /// The node now holds its subnet in its spec.
    pub fn forget(&self, node: &str) {
        self.promised
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_print() {
        let c: Cidr = "10.42.0.0/16".parse().unwrap();
        assert_eq!(c.to_string(), "10.42.0.0/16");
        assert!(
            "10.42.0.1/16"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("host bits")
        );
        assert!("10.42.0.0".parse::<Cidr>().is_err());
        assert!("10.42.0.0/33".parse::<Cidr>().is_err());
        assert!("fd00::/8".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_lowest_free_subnet_is_handed_out() {
        let cfg = PodCidrConfig::new("10.42.0.0/16", 24).unwrap();
        let mut used = BTreeSet::new();
        assert_eq!(cfg.lowest_free(&used).unwrap().to_string(), "10.42.0.0/24");
        used.insert("10.42.0.0/24".to_owned());
        used.insert("10.42.2.0/24".to_owned());
        assert_eq!(cfg.lowest_free(&used).unwrap().to_string(), "10.42.1.0/24");
        let small = PodCidrConfig::new("10.0.0.0/30", 30).unwrap();
        used.insert("10.0.0.0/30".to_owned());
        assert_eq!(small.lowest_free(&used), None);
        assert!(PodCidrConfig::new("10.42.0.0/16", 8).is_err());
    }
}
