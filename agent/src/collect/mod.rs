//! Host metrics. [`Collector`] owns the state reused from one round to the
//! next (one sysinfo `System` and `Components`, caches) and each round reads
//! only what the metrics need: `/proc/stat` and `/proc/meminfo` through
//! sysinfo, the rest straight from `/proc` and `statvfs`.
//!
//! Every metric is listed in `docs/metrics.md`.

mod agent;
mod cpu;
pub mod diskio;
pub mod filesystem;
mod memory;
pub mod network;
mod system;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::series::Sample;
use crate::stats::Stats;

/// How often the list of temperature sensors is rescanned.
const SENSOR_RESCAN: Duration = Duration::from_secs(300);

/// Collects one round of samples at a time.
pub struct Collector {
    system: sysinfo::System,
    temps: system::Temperatures,
    disks: diskio::DiskFilter,
    own: agent::OwnUsage,
    cpu_primed: bool,
    last_duration: Option<Duration>,
    last_len: usize,
    stats: Arc<Stats>,
    failed: HashSet<&'static str>,
}

impl Collector {
    /// A collector; the first round primes the CPU counters and reports no CPU usage.
    pub fn new(stats: Arc<Stats>) -> crate::Result<Self> {
        Ok(Self {
            system: sysinfo::System::new()?,
            temps: system::Temperatures::new(SENSOR_RESCAN),
            disks: diskio::DiskFilter::default(),
            own: agent::OwnUsage::new(),
            cpu_primed: false,
            last_duration: None,
            last_len: 64,
            stats,
            failed: HashSet::new(),
        })
    }

    /// Reads a `/proc` file; the first failure per file is logged as a warning.
    fn read(&mut self, path: &'static str) -> Option<String> {
        match std::fs::read_to_string(path) {
            Ok(t) => {
                self.failed.remove(path);
                Some(t)
            }
            Err(e) => {
                if self.failed.insert(path) {
                    tracing::warn!(path, error = %e, "cannot read; its metrics are skipped");
                }
                None
            }
        }
    }

    /// One round of samples.
    pub fn collect(&mut self) -> Vec<Sample> {
        let start = Instant::now();
        let mut out = Vec::with_capacity(self.last_len);
        cpu::collect(&mut self.system, &mut self.cpu_primed, &mut out);
        memory::collect(&mut self.system, &mut out);
        if let Some(text) = self.read("/proc/loadavg") {
            // The logical CPUs sysinfo found in `/proc/stat` (cpu::collect
            // refreshed them above); 0 if it could not be read.
            let cpus = self.system.cpus().len();
            system::load(&text, cpus, &mut out);
        }
        if let Some(text) = self.read("/proc/uptime") {
            system::uptime(&text, &mut out);
        }
        system::processes(&mut out);
        self.temps.collect(&mut out);
        if let Some(text) = self.read("/proc/self/mounts") {
            filesystem::collect(&filesystem::parse_mounts(&text), &mut out);
        }
        if let Some(text) = self.read("/proc/diskstats") {
            diskio::collect(&diskio::parse_diskstats(&text), &mut self.disks, &mut out);
        }
        if let Some(text) = self.read("/proc/net/dev") {
            network::collect(&network::parse_net_dev(&text), &mut out);
        }
        self.own.collect(&self.stats, self.last_duration, &mut out);
        self.last_duration = Some(start.elapsed());
        self.last_len = out.len();
        out
    }
}

/// Parses a whitespace-separated field as a number, 0 when absent or malformed.
fn num(field: Option<&str>) -> u64 {
    field.and_then(|f| f.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(samples: &[Sample], metric: &str) -> Option<f64> {
        samples
            .iter()
            .find(|s| s.metric == metric && s.labels.is_empty())
            .map(|s| s.value)
    }

    /// A real round on this machine: collect twice, check the values make sense.
    #[test]
    fn real_collection_round() {
        let mut c = Collector::new(Arc::new(Stats::default())).unwrap();
        let first = c.collect();
        assert!(
            value(&first, "node_cpu_usage_percent").is_none(),
            "the first round only primes CPU counters"
        );
        std::thread::sleep(Duration::from_millis(300));
        let s = c.collect();

        let cpu = value(&s, "node_cpu_usage_percent").expect("total CPU usage");
        assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
        let cores: Vec<_> = s
            .iter()
            .filter(|x| x.metric == "node_cpu_core_usage_percent")
            .collect();
        let ncpu = std::thread::available_parallelism().unwrap().get();
        assert!(
            cores.len() >= ncpu,
            "{} per-core series for {ncpu} CPUs",
            cores.len()
        );
        assert!(
            cores
                .iter()
                .all(|x| x.labels[0].0 == "cpu" && (0.0..=100.0).contains(&x.value))
        );

        let total = value(&s, "node_memory_total_bytes").expect("memory total");
        let used = value(&s, "node_memory_used_bytes").expect("memory used");
        let avail = value(&s, "node_memory_available_bytes").expect("memory available");
        let pct = value(&s, "node_memory_used_percent").expect("memory used %");
        assert!(total > 64.0 * 1024.0 * 1024.0, "total {total}");
        assert!(
            used > 0.0 && used <= total && avail <= total,
            "used {used} avail {avail} total {total}"
        );
        assert!((pct - used / total * 100.0).abs() < 1e-6 && (0.0..=100.0).contains(&pct));
        let swap_total = value(&s, "node_swap_total_bytes").expect("swap total");
        let swap_pct = value(&s, "node_swap_used_percent");
        if swap_total > 0.0 {
            let swap_used = value(&s, "node_swap_used_bytes").expect("swap used");
            let p = swap_pct.expect("swap used % with swap");
            assert!(
                (p - swap_used / swap_total * 100.0).abs() < 1e-6 && (0.0..=100.0).contains(&p)
            );
        } else {
            assert!(swap_pct.is_none(), "swap used % without swap");
        }

        assert!(value(&s, "node_load1").is_some_and(|l| l >= 0.0));
        let load5 = value(&s, "node_load5").expect("load5");
        let per_cpu = value(&s, "node_load5_per_cpu").expect("load5 per CPU");
        assert!(per_cpu >= 0.0, "load5 per cpu {per_cpu}");
        assert!(
            (per_cpu * cores.len() as f64 - load5).abs() < 1e-9,
            "load5 {load5} per cpu {per_cpu} for {} CPUs",
            cores.len()
        );
        assert!(value(&s, "node_uptime_seconds").is_some_and(|u| u > 0.0));
        assert!(value(&s, "node_processes").is_some_and(|p| p >= 1.0));
        let root = s.iter().find(|x| {
            x.metric == "node_filesystem_size_bytes"
                && x.labels.iter().any(|l| l.0 == "mountpoint" && l.1 == "/")
        });
        assert!(
            root.is_some_and(|r| r.value > 0.0),
            "root filesystem missing"
        );
        assert!(
            s.iter()
                .filter(|x| x.metric == "node_filesystem_inodes_used_percent")
                .all(|x| (0.0..=100.0).contains(&x.value) && x.labels.len() == 3),
            "inode percentages out of range"
        );
        assert!(value(&s, "tocsin_agent_resident_memory_bytes").is_some_and(|r| r > 0.0));
        assert!(value(&s, "tocsin_agent_collect_duration_seconds").is_some_and(|d| d > 0.0));
        assert!(
            s.iter().all(|x| x.value.is_finite()),
            "non-finite value collected"
        );
        assert!(
            !s.iter()
                .any(|x| x.labels.iter().any(|l| l.0 == "interface" && l.1 == "lo"))
        );
    }
}
