//! One scheduling cycle without I/O: filter a sample of the nodes in
//! parallel, score the feasible ones, pick the best.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::node_info::NodeInfo;
use crate::plugins::{self, Cluster, Plugin, Prepared, Unfit};
use crate::pod_info::PodInfo;

/// Below this many nodes to check, filtering stays on the calling thread.
const PARALLEL_THRESHOLD: usize = 512;
/// Nodes a worker takes at a time.
const CHUNK: usize = 64;
/// Clusters smaller than this are always checked in full.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;

/// The plugins of one profile (one `schedulerName`) and their weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub scheduler_name: String,
    pub filters: Vec<Plugin>,
    /// Score plugins with their weights.
    pub scores: Vec<(Plugin, i64)>,
    /// Whether pods of this profile may preempt (`DefaultPreemption`).
    pub preemption: bool,
}

impl Profile {
    /// Every filter, every score at its default weight.
    pub fn default_named(scheduler_name: &str) -> Self {
        Self {
            scheduler_name: scheduler_name.to_owned(),
            filters: Plugin::ALL.into_iter().filter(|p| p.filters()).collect(),
            scores: Plugin::ALL
                .into_iter()
                .filter_map(|p| p.default_weight().map(|w| (p, w)))
                .collect(),
            preemption: true,
        }
    }
}

/// Why no node fits, per node and in sum.
#[derive(Debug, Clone, Default)]
pub struct FitError {
    pub num_nodes: usize,
    /// Set when the pod failed before any node was looked at.
    pub prefilter: Option<Unfit>,
    /// The failing nodes (index into the cluster's nodes) and why.
    pub nodes: Vec<(usize, Unfit)>,
    /// An extender failed (and is not ignorable): the attempt is retried.
    pub error: Option<String>,
}

impl FitError {
    /// Kubernetes' message: `0/5 nodes are available: 2 Insufficient
    /// memory, 3 node(s) didn't match Pod's node affinity/selector.`
    pub fn message(&self) -> String {
        if let Some(e) = &self.error {
            return e.clone();
        }
        if self.num_nodes == 0 {
            return "no nodes available to schedule pods".to_owned();
        }
        match &self.prefilter {
            Some(u) => format!(
                "0/{} nodes are available: {}.",
                self.num_nodes,
                u.reasons.join(", ")
            ),
            None => summary(
                self.num_nodes,
                self.nodes
                    .iter()
                    .flat_map(|(_, u)| u.reasons.iter().map(|r| r.to_string())),
            ),
        }
    }

    /// The plugins that turned nodes down (which cluster changes can help).
    pub fn rejected_by(&self) -> Vec<Plugin> {
        if self.error.is_some() {
            return Vec::new();
        }
        let mut v: Vec<Plugin> = self
            .prefilter
            .iter()
            .chain(self.nodes.iter().map(|(_, u)| u))
            .map(|u| u.plugin)
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

/// `0/N nodes are available: <count> <reason>, ....`, reasons sorted as
/// Kubernetes sorts them.
pub fn summary(num_nodes: usize, reasons: impl Iterator<Item = String>) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in reasons {
        *counts.entry(r).or_default() += 1;
    }
    let mut parts: Vec<String> = counts
        .into_iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect();
    parts.sort();
    format!("0/{num_nodes} nodes are available: {}.", parts.join(", "))
}

/// Scheduler extenders as the algorithm sees them (HTTP in the shell).
pub trait Extend {
    /// Narrows the feasible nodes, adding why the others failed; `Err`
    /// ends the attempt (a failed extender that is not ignorable).
    fn filter(
        &mut self,
        feasible: Vec<usize>,
        unfit: &mut Vec<(usize, Unfit)>,
    ) -> Result<Vec<usize>, String>;
    /// Adds the extenders' weighted scores to `totals`.
    fn prioritize(&mut self, feasible: &[usize], totals: &mut [i64]);
}

/// No extenders configured.
pub struct NoExtenders;

impl Extend for NoExtenders {
    fn filter(
        &mut self,
        feasible: Vec<usize>,
        _: &mut Vec<(usize, Unfit)>,
    ) -> Result<Vec<usize>, String> {
        Ok(feasible)
    }

    fn prioritize(&mut self, _: &[usize], _: &mut [i64]) {}
}

/// Where a pod goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Index into the cluster's nodes.
    pub node: usize,
    /// Nodes checked, and of those, feasible.
    pub evaluated: usize,
    pub feasible: usize,
}

/// The scheduling algorithm's own state: where the next sample starts and
/// the tie-breaking random numbers.
#[derive(Debug)]
pub struct Algorithm {
    /// `percentageOfNodesToScore`; 0 = adaptive, as in Kubernetes.
    pub percentage: u32,
    next_start: usize,
    rng: u64,
}

impl Algorithm {
    pub fn new(percentage: u32, seed: u64) -> Self {
        Self {
            percentage,
            next_start: 0,
            rng: seed | 1,
        }
    }

    /// How many feasible nodes are enough, out of `all`.
    pub fn feasible_to_find(&self, all: usize) -> usize {
        if all < MIN_FEASIBLE_NODES_TO_FIND {
            return all;
        }
        let pct = match self.percentage {
            0 => (50 - (all / 125) as i64).max(5) as usize,
            p => p.min(100) as usize,
        };
        (all * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
    }

    /// Filters, scores and picks a node for `pod`.
    pub fn schedule(
        &mut self,
        pod: &PodInfo,
        cluster: &Cluster<'_>,
        profile: &Profile,
    ) -> Result<(Placement, Prepared), FitError> {
        self.schedule_with(pod, cluster, profile, &mut NoExtenders)
    }

    /// [`Algorithm::schedule`] with extenders consulted after the filters
    /// and next to the scores.
    pub fn schedule_with(
        &mut self,
        pod: &PodInfo,
        cluster: &Cluster<'_>,
        profile: &Profile,
        extend: &mut dyn Extend,
    ) -> Result<(Placement, Prepared), FitError> {
        let all = cluster.nodes.len();
        let fail = |prefilter, nodes, error| FitError {
            num_nodes: all,
            prefilter,
            nodes,
            error,
        };
        let prepared =
            plugins::prepare(pod, cluster).map_err(|u| fail(Some(u), Vec::new(), None))?;
        if all == 0 {
            return Err(fail(None, Vec::new(), None));
        }
        let (feasible, evaluated, mut unfit) = self.find_feasible(pod, cluster, profile, &prepared);
        let feasible = match feasible.is_empty() {
            true => feasible,
            false => extend
                .filter(feasible, &mut unfit)
                .map_err(|e| fail(None, Vec::new(), Some(e)))?,
        };
        if feasible.is_empty() {
            return Err(fail(None, unfit, None));
        }
        let node = if feasible.len() == 1 {
            feasible[0]
        } else {
            let mut totals = score(pod, cluster, profile, &prepared, &feasible);
            extend.prioritize(&feasible, &mut totals);
            self.pick(&feasible, &totals)
        };
        Ok((
            Placement {
                node,
                evaluated,
                feasible: feasible.len(),
            },
            prepared,
        ))
    }

    /// The feasible nodes of a sample starting after the last one, the
    /// number of nodes checked, and why the others failed.
    pub fn find_feasible(
        &mut self,
        pod: &PodInfo,
        cluster: &Cluster<'_>,
        profile: &Profile,
        prepared: &Prepared,
    ) -> (Vec<usize>, usize, Vec<(usize, Unfit)>) {
        let all = cluster.nodes.len();
        let want = self.feasible_to_find(all);
        let start = self.next_start % all.max(1);
        let check = |i: usize| -> Result<(), Unfit> {
            let node = &cluster.nodes[(start + i) % all];
            let run = |n: &NodeInfo| {
                profile
                    .filters
                    .iter()
                    .try_for_each(|p| plugins::filter(*p, pod, n, prepared))
            };
            match with_nominated(pod, node, cluster) {
                Some(n) => run(&n),
                None => run(node),
            }
        };
        let (mut feasible, evaluated, mut unfit) = par_filter(all, want, &check);
        for i in feasible.iter_mut() {
            *i = (start + *i) % all;
        }
        for (i, _) in unfit.iter_mut() {
            *i = (start + *i) % all;
        }
        feasible.sort_unstable();
        self.next_start = (start + evaluated) % all;
        (feasible, evaluated, unfit)
    }

    /// The highest total; ties broken at random, as in Kubernetes.
    pub fn pick(&mut self, feasible: &[usize], totals: &[i64]) -> usize {
        let max = totals.iter().copied().max().unwrap_or(0);
        let mut chosen = feasible[0];
        let mut seen = 0u64;
        for (i, t) in totals.iter().enumerate() {
            if *t == max {
                seen += 1;
                if self.next_random().is_multiple_of(seen) {
                    chosen = feasible[i];
                }
            }
        }
        chosen
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `node` with the pods nominated to it (by preemption) that are at least
/// as important as `pod` counted in, so they keep the room made for them;
/// `None` when there are none.
fn with_nominated(pod: &PodInfo, node: &NodeInfo, cluster: &Cluster<'_>) -> Option<NodeInfo> {
    if cluster.nominated.is_empty() {
        return None;
    }
    let waiting: Vec<_> = cluster
        .nominated
        .get(&node.name)?
        .iter()
        .filter(|p| p.uid != pod.uid && p.priority >= pod.priority)
        .collect();
    if waiting.is_empty() {
        return None;
    }
    let mut n = node.clone();
    for p in waiting {
        n.add_pod(p.clone());
    }
    Some(n)
}

/// Runs `check` over indices `0..n` (in parallel when there are many)
/// until `want` pass; returns the passing indices, how many were checked,
/// and the failures.
fn par_filter(
    n: usize,
    want: usize,
    check: &(dyn Fn(usize) -> Result<(), Unfit> + Sync),
) -> (Vec<usize>, usize, Vec<(usize, Unfit)>) {
    let next = AtomicUsize::new(0);
    let found = AtomicUsize::new(0);
    let work = || {
        let (mut ok, mut bad, mut checked) = (Vec::new(), Vec::new(), 0usize);
        while found.load(Ordering::Relaxed) < want {
            let from = next.fetch_add(CHUNK, Ordering::Relaxed);
            if from >= n {
                break;
            }
            for i in from..(from + CHUNK).min(n) {
                checked += 1;
                match check(i) {
                    Ok(()) => {
                        ok.push(i);
                        found.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(u) => bad.push((i, u)),
                }
            }
        }
        (ok, checked, bad)
    };
    // the work is about `want` checks when most nodes fit: threads pay off
    // only when that is large
    let workers = worker_count(want.min(n));
    let results = if workers == 1 {
        vec![work()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..workers).map(|_| s.spawn(work)).collect();
            let mut rs = vec![work()];
            rs.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().expect("filter worker")),
            );
            rs
        })
    };
    let (mut ok, mut checked, mut bad) = (Vec::new(), 0, Vec::new());
    for (o, c, b) in results {
        ok.extend(o);
        checked += c;
        bad.extend(b);
    }
    ok.sort_unstable();
    ok.truncate(want.max(1));
    (ok, checked, bad)
}

/// Weighted sum of every score plugin's normalized score, per feasible node
/// (raw scores computed in parallel when there are many nodes).
pub fn score(
    pod: &PodInfo,
    cluster: &Cluster<'_>,
    profile: &Profile,
    prepared: &Prepared,
    feasible: &[usize],
) -> Vec<i64> {
    let raw_of = |i: usize| -> Vec<i64> {
        let node = &cluster.nodes[feasible[i]];
        profile
            .scores
            .iter()
            .map(|(p, _)| plugins::score(*p, pod, node, prepared))
            .collect()
    };
    let raw = par_map(feasible.len(), &raw_of);
    let mut totals = vec![0i64; feasible.len()];
    for (k, (plugin, weight)) in profile.scores.iter().enumerate() {
        let mut column: Vec<i64> = raw.iter().map(|r| r[k]).collect();
        plugins::normalize(*plugin, &mut column, prepared);
        for (t, v) in totals.iter_mut().zip(column) {
            *t += v * weight;
        }
    }
    totals
}

/// `f` over `0..n`, in order, on several threads when `n` is large.
fn par_map<T: Send>(n: usize, f: &(dyn Fn(usize) -> T + Sync)) -> Vec<T> {
    let workers = worker_count(n);
    if workers == 1 {
        return (0..n).map(f).collect();
    }
    let per = n.div_ceil(workers);
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..workers)
            .map(|w| s.spawn(move || (w * per..((w + 1) * per).min(n)).map(f).collect::<Vec<T>>()))
            .collect();
        let mut out: Vec<T> = (0..per.min(n)).map(f).collect();
        for h in handles {
            out.extend(h.join().expect("score worker"));
        }
        out
    })
}

/// Threads for `n` items: one below [`PARALLEL_THRESHOLD`], else one per core (at most 16).
fn worker_count(n: usize) -> usize {
    if n <= PARALLEL_THRESHOLD {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get().min(16))
    }
}

#[cfg(test)]
#[path = "algorithm_tests.rs"]
mod tests;
