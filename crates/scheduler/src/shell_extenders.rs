//! Extenders as the algorithm's [`Extend`]: HTTP calls made from the
//! scheduling thread (blocking it, as kube-scheduler's cycle waits for its
//! extenders), with `ignorable` extenders skipped when they fail.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::Pod;
use tokio::runtime::Handle;

use crate::algorithm::Extend;
use crate::extender::Extender;
use crate::node_info::NodeInfo;
use crate::plugins::{MAX_SCORE, Plugin, Unfit};

/// Extender scores run 0..=10; scaled to the plugins' 0..=100.
const MAX_EXTENDER_SCORE: i64 = 10;

/// The extenders interested in one pod, for one cycle.
pub struct ShellExtenders<'a> {
    extenders: Vec<&'a Extender>,
    pod: &'a Pod,
    nodes: &'a [NodeInfo],
    handle: &'a Handle,
}

impl<'a> ShellExtenders<'a> {
    pub fn new(
        all: &'a [Extender],
        pod: &'a Pod,
        nodes: &'a [NodeInfo],
        handle: &'a Handle,
    ) -> Self {
        Self {
            extenders: all.iter().filter(|e| e.interested(pod)).collect(),
            pod,
            nodes,
            handle,
        }
    }
}

impl Extend for ShellExtenders<'_> {
    fn filter(
        &mut self,
        mut feasible: Vec<usize>,
        unfit: &mut Vec<(usize, Unfit)>,
    ) -> Result<Vec<usize>, String> {
        for ext in &self.extenders {
            if ext.config().filter_verb.is_none() || feasible.is_empty() {
                continue;
            }
            let nodes: Vec<_> = feasible
                .iter()
                .map(|i| self.nodes[*i].node.clone())
                .collect();
            let result = match self.handle.block_on(ext.filter(self.pod, &nodes)) {
                Ok(r) => r,
                Err(e) if ext.config().ignorable => {
                    tracing::warn!(extender = ext.name(), error = %e, "ignorable extender failed; skipped");
                    continue;
                }
                Err(e) => return Err(format!("extender {} failed: {e}", ext.name())),
            };
            let by_name: HashMap<&str, usize> = feasible
                .iter()
                .map(|i| (self.nodes[*i].name.as_str(), *i))
                .collect();
            for (failed, unresolvable) in [(&result.failed, false), (&result.unresolvable, true)] {
                for (name, reason) in failed {
                    if let Some(i) = by_name.get(name.as_str()) {
                        let u = if unresolvable {
                            Unfit::unresolvable(Plugin::Extender, reason.clone())
                        } else {
                            Unfit::new(Plugin::Extender, reason.clone())
                        };
                        unfit.push((*i, u));
                    }
                }
            }
            let kept: std::collections::HashSet<&str> =
                result.feasible.iter().map(String::as_str).collect();
            feasible.retain(|i| kept.contains(self.nodes[*i].name.as_str()));
        }
        Ok(feasible)
    }

    fn prioritize(&mut self, feasible: &[usize], totals: &mut [i64]) {
        let position: HashMap<&str, usize> = feasible
            .iter()
            .enumerate()
            .map(|(k, i)| (self.nodes[*i].name.as_str(), k))
            .collect();
        for ext in &self.extenders {
            if ext.config().prioritize_verb.is_none() {
                continue;
            }
            let nodes: Vec<_> = feasible
                .iter()
                .map(|i| self.nodes[*i].node.clone())
                .collect();
            match self.handle.block_on(ext.prioritize(self.pod, &nodes)) {
                Ok(scores) => {
                    for (host, score) in scores {
                        if let Some(k) = position.get(host.as_str()) {
                            totals[*k] += score * (MAX_SCORE / MAX_EXTENDER_SCORE);
                        }
                    }
                }
                // kube-scheduler ignores prioritize errors too
                Err(e) => {
                    tracing::warn!(extender = ext.name(), error = %e, "extender prioritize failed")
                }
            }
        }
    }
}
