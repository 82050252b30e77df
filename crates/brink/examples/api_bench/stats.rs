//! Latency percentiles.

use std::time::Duration;

/// Percentiles of a set of latencies.
#[derive(Clone, Copy, Default)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latency {
    pub fn of(samples: &[Duration]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        let mut us: Vec<u64> = samples.iter().map(|d| d.as_micros() as u64).collect();
        us.sort_unstable();
        let at = |p: f64| us[((us.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
        Self {
            count: us.len(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            mean_ms: us.iter().sum::<u64>() as f64 / us.len() as f64 / 1000.0,
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, mean {:.2} ms (n={})",
            self.p50_ms, self.p99_ms, self.max_ms, self.mean_ms, self.count
        )
    }
}

/// Median and minimum of a few timings, in ms.
pub fn median_min(samples: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    if ms.is_empty() {
        return (0.0, 0.0);
    }
    (ms[ms.len() / 2], ms[0])
}
