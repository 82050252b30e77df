//! Completion indexes of Indexed Jobs: a pod's index and the compressed
//! interval form of `status.completedIndexes` (`"0-2,5,7,8"`).

use std::fmt;

use k8s_openapi::api::core::v1::Pod;

use super::COMPLETION_INDEX;

/// A set of completion indexes, as sorted, disjoint, non-adjacent intervals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indexes(Vec<(i32, i32)>);

impl Indexes {
    /// Reads `status.completedIndexes`, keeping indexes below `completions`
    /// and skipping malformed parts, as Kubernetes does.
    pub fn parse(text: &str, completions: i32) -> Indexes {
        let mut out = Indexes::default();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (a.parse::<i32>(), b.parse::<i32>()),
                None => (part.parse::<i32>(), part.parse::<i32>()),
            };
            let (Ok(first), Ok(last)) = (first, last) else {
                continue;
            };
            let last = last.min(completions - 1);
            if first >= 0 && first <= last {
                out.insert_range(first, last);
            }
        }
        out
    }

    /// Whether `index` is in the set.
    pub fn contains(&self, index: i32) -> bool {
        self.0.iter().any(|&(a, b)| a <= index && index <= b)
    }

    /// How many indexes the set holds.
    pub fn total(&self) -> i32 {
        self.0.iter().map(|&(a, b)| b - a + 1).sum()
    }

    /// Adds one index.
    pub fn insert(&mut self, index: i32) {
        self.insert_range(index, index);
    }

    fn insert_range(&mut self, first: i32, last: i32) {
        self.0.push((first, last));
        self.0.sort_unstable();
        let mut merged: Vec<(i32, i32)> = Vec::with_capacity(self.0.len());
        for &(a, b) in &self.0 {
            match merged.last_mut() {
                Some(prev) if a <= prev.1.saturating_add(1) => prev.1 = prev.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        self.0 = merged;
    }
}

impl fmt::Display for Indexes {
    /// Kubernetes' form: `a` for one index, `a,b` for two neighbours,
    /// `a-b` for three or more.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}")?;
            if b > a {
                let sep = if b == a + 1 { "," } else { "-" };
                write!(f, "{sep}{b}")?;
            }
        }
        Ok(())
    }
}

/// The pod's completion index (its `batch.kubernetes.io/job-completion-index`
/// annotation), `None` when missing or not a non-negative number.
pub fn completion_index(pod: &Pod) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX)?
        .parse::<i32>()
        .ok()
        .filter(|i| *i >= 0)
}
