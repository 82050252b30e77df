//! Work-queue metrics in the Prometheus text format, under the names
//! client-go's work queues use (`workqueue_depth`, `workqueue_adds_total`,
//! `workqueue_retries_total`, `workqueue_queue_duration_seconds`,
//! `workqueue_work_duration_seconds`, `workqueue_unfinished_work_seconds`,
//! `workqueue_longest_running_processor_seconds`), one `name` label per queue.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bucket bounds of the duration histograms: 10 ns to 10 s, as client-go.
const BUCKETS: [f64; 10] = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// A duration histogram with client-go's buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    inner: Mutex<HistogramState>,
}

#[derive(Debug, Default)]
struct HistogramState {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.counts[i] += 1;
            }
        }
        s.count += 1;
        s.sum += secs;
    }

    fn render(&self, out: &mut String, metric: &str, queue: &str) {
        let s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{metric}_bucket{{name=\"{queue}\",le=\"{bound:e}\"}} {}",
                s.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "{metric}_bucket{{name=\"{queue}\",le=\"+Inf\"}} {}",
            s.count
        );
        let _ = writeln!(out, "{metric}_sum{{name=\"{queue}\"}} {}", s.sum);
        let _ = writeln!(out, "{metric}_count{{name=\"{queue}\"}} {}", s.count);
    }
}

/// The metrics of one work queue; the queue updates them.
#[derive(Debug, Default)]
pub struct QueueMetrics {
    pub(crate) name: String,
    pub(crate) depth: AtomicI64,
    pub(crate) adds: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) queue_duration: Histogram,
    pub(crate) work_duration: Histogram,
    /// When each item now being processed was handed out, by a token the
    /// queue keeps with the item.
    pub(crate) processing: Mutex<HashMap<u64, Instant>>,
    pub(crate) next_token: AtomicU64,
}

impl QueueMetrics {
    /// Seconds of unfinished work summed, and the longest single one.
    fn in_progress(&self) -> (f64, f64) {
        let now = Instant::now();
        let p = self.processing.lock().unwrap_or_else(|e| e.into_inner());
        p.values().fold((0.0, 0.0), |(sum, max), started| {
            let secs = now.duration_since(*started).as_secs_f64();
            (sum + secs, f64::max(max, secs))
        })
    }
}

/// Every queue's metrics; cheap to clone, rendered for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    queues: Arc<Mutex<Vec<Arc<QueueMetrics>>>>,
}

impl Metrics {
    /// A new, empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the metrics of a queue called `name`.
    pub(crate) fn queue(&self, name: &str) -> Arc<QueueMetrics> {
        let m = Arc::new(QueueMetrics {
            name: name.to_string(),
            ..QueueMetrics::default()
        });
        self.queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(m.clone());
        m
    }

    /// Every metric in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let queues = self
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut out = String::new();
        let gauge = |out: &mut String, metric: &str, help: &str, kind: &str| {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
        };
        gauge(
            &mut out,
            "workqueue_depth",
            "Current depth of workqueue",
            "gauge",
        );
        for q in &queues {
            let _ = writeln!(
                out,
                "workqueue_depth{{name=\"{}\"}} {}",
                q.name,
                q.depth.load(Ordering::Relaxed).max(0)
            );
        }
        gauge(
            &mut out,
            "workqueue_adds_total",
            "Total number of adds handled by workqueue",
            "counter",
        );
        for q in &queues {
            let _ = writeln!(
                out,
                "workqueue_adds_total{{name=\"{}\"}} {}",
                q.name,
                q.adds.load(Ordering::Relaxed)
            );
        }
        gauge(
            &mut out,
            "workqueue_retries_total",
            "Total number of retries handled by workqueue",
            "counter",
        );
        for q in &queues {
            let _ = writeln!(
                out,
                "workqueue_retries_total{{name=\"{}\"}} {}",
                q.name,
                q.retries.load(Ordering::Relaxed)
            );
        }
        gauge(
            &mut out,
            "workqueue_queue_duration_seconds",
            "How long in seconds an item stays in workqueue before being requested.",
            "histogram",
        );
        for q in &queues {
            q.queue_duration
                .render(&mut out, "workqueue_queue_duration_seconds", &q.name);
        }
        gauge(
            &mut out,
            "workqueue_work_duration_seconds",
            "How long in seconds processing an item from workqueue takes.",
            "histogram",
        );
        for q in &queues {
            q.work_duration
                .render(&mut out, "workqueue_work_duration_seconds", &q.name);
        }
        let progress: Vec<(String, (f64, f64))> = queues
            .iter()
            .map(|q| (q.name.clone(), q.in_progress()))
            .collect();
        gauge(
            &mut out,
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has been done that is in progress and hasn't been observed by work_duration.",
            "gauge",
        );
        for (name, (unfinished, _)) in &progress {
            let _ = writeln!(
                out,
                "workqueue_unfinished_work_seconds{{name=\"{name}\"}} {unfinished}"
            );
        }
        gauge(
            &mut out,
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            "gauge",
        );
        for (name, (_, longest)) in &progress {
            let _ = writeln!(
                out,
                "workqueue_longest_running_processor_seconds{{name=\"{name}\"}} {longest}"
            );
        }
        out
    }
}
