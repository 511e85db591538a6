//! Synthetic but realistic monitoring data.
//!
//! A host exposes series of a few node-exporter-like families (per-CPU time,
//! per-mountpoint filesystem space, per-interface traffic, per-device disk
//! I/O, memory, per-process CPU). Series `i` of a host belongs to family
//! `i % FAMILIES` and is that family's instance `i / FAMILIES`, so any number
//! of distinct series can be made.
//!
//! [`BatchGen`] walks over a set of series round-robin: sample `k` belongs to
//! series `k % n` at tick `k / n`, and tick `t` has timestamp
//! `start_ms + t * step_ms`. Timestamps of a series therefore strictly
//! increase from batch to batch and no sample is ever a duplicate.

use tocsin_proto::v1::{
    Inventory, Label, MetricKind, NetInterface, Package, SampleBatch, SeriesDef,
};

const CPU_MODES: [&str; 8] = [
    "user", "system", "idle", "iowait", "irq", "softirq", "steal", "nice",
];
const MOUNTS: [&str; 6] = ["/", "/boot", "/var", "/home", "/var/lib/docker", "/data"];
const MEMORY: [&str; 6] = [
    "MemTotal",
    "MemAvailable",
    "Buffers",
    "Cached",
    "SwapTotal",
    "SwapFree",
];
const PROCESSES: [&str; 6] = [
    "sshd",
    "nginx",
    "postgres",
    "java",
    "containerd",
    "tocsin-agent",
];

/// Number of metric families series are drawn from.
pub const FAMILIES: usize = 10;

fn label(name: &str, value: impl Into<String>) -> Label {
    Label {
        name: name.to_string(),
        value: value.into(),
    }
}

/// Name of the `k`-th item of `base`, numbered once `base` is used up.
fn nth(base: &[&str], k: usize) -> String {
    match (base.get(k), k / base.len()) {
        (Some(s), _) => (*s).to_string(),
        (None, round) => format!("{}{round}", base[k % base.len()]),
    }
}

fn mountpoint(k: usize) -> String {
    match MOUNTS.get(k) {
        Some(m) => (*m).to_string(),
        None => format!("/data{k}"),
    }
}

/// Series `i` of `host`: metric, labels (without `__name__`) and kind.
pub fn host_series(host: &str, i: usize) -> (String, Vec<Label>, MetricKind) {
    let k = i / FAMILIES;
    let host = label("host", host);
    let job = label("job", "node");
    let (metric, mut labels, kind) = match i % FAMILIES {
        0 => (
            "node_cpu_seconds_total",
            vec![
                label("cpu", (k / CPU_MODES.len()).to_string()),
                label("mode", CPU_MODES[k % CPU_MODES.len()]),
            ],
            MetricKind::Counter,
        ),
        f @ (1 | 2) => (
            if f == 1 {
                "node_filesystem_avail_bytes"
            } else {
                "node_filesystem_size_bytes"
            },
            vec![
                label("mountpoint", mountpoint(k)),
                label(
                    "device",
                    format!("/dev/vd{}", char::from(b'a' + (k % 26) as u8)),
                ),
                label("fstype", if k == 1 { "vfat" } else { "ext4" }),
            ],
            MetricKind::Gauge,
        ),
        f @ (3 | 4) => (
            if f == 3 {
                "node_network_receive_bytes_total"
            } else {
                "node_network_transmit_bytes_total"
            },
            vec![label("device", format!("eth{k}"))],
            MetricKind::Counter,
        ),
        f @ (5 | 6) => (
            if f == 5 {
                "node_disk_read_bytes_total"
            } else {
                "node_disk_written_bytes_total"
            },
            vec![label("device", format!("nvme{k}n1"))],
            MetricKind::Counter,
        ),
        7 => (
            "node_memory_bytes",
            vec![label("type", nth(&MEMORY, k))],
            MetricKind::Gauge,
        ),
        8 => (
            "process_cpu_seconds_total",
            vec![label("process", nth(&PROCESSES, k))],
            MetricKind::Counter,
        ),
        _ => (
            "node_load",
            vec![label("window", format!("{}m", 1 + k))],
            MetricKind::Gauge,
        ),
    };
    labels.push(host);
    labels.push(job);
    (metric.to_string(), labels, kind)
}

/// Declarations of `per_host` series for each of `hosts`, with stream-local ids `0..`.
pub fn series_defs(hosts: &[String], per_host: usize) -> Vec<SeriesDef> {
    let mut out = Vec::with_capacity(hosts.len() * per_host);
    for host in hosts {
        for i in 0..per_host {
            let (metric, labels, kind) = host_series(host, i);
            let id = u32::try_from(out.len()).unwrap_or(u32::MAX);
            out.push(SeriesDef {
                id,
                metric,
                labels,
                kind: kind as i32,
                ci_id: String::new(),
            });
        }
    }
    out
}

/// A small but complete inventory for a simulated host.
pub fn inventory(hostname: &str, index: usize) -> Inventory {
    let last = index % 250 + 1;
    Inventory {
        hostname: hostname.to_string(),
        fqdn: format!("{hostname}.bench.example"),
        os_name: "Debian GNU/Linux".into(),
        os_version: "12".into(),
        kernel_version: "6.1.0-18-amd64".into(),
        arch: "x86_64".into(),
        cpu_model: "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz".into(),
        cpu_cores: 16,
        memory_bytes: 64 << 30,
        interfaces: vec![NetInterface {
            name: "eth0".into(),
            mac: format!(
                "52:54:00:00:{:02x}:{:02x}",
                (index >> 8) & 0xff,
                index & 0xff
            ),
            ips: vec![format!(
                "10.{}.{}.{last}",
                (index >> 16) & 0xff,
                (index >> 8) & 0xff
            )],
        }],
        machine_id: format!("{index:032x}"),
        dmi_vendor: "QEMU".into(),
        dmi_product: "Standard PC (Q35 + ICH9, 2009)".into(),
        dmi_serial: format!("BENCH{index:06}"),
        boot_time: 1_700_000_000,
        agent_version: concat!("loadgen-", env!("CARGO_PKG_VERSION")).into(),
        packages: vec![Package {
            name: "openssl".into(),
            version: "3.0.11".into(),
        }],
    }
}

/// Generates the batches of one agent; see the module docs.
pub struct BatchGen {
    defs: Vec<SeriesDef>,
    counter: Vec<bool>,
    next_sample: u64,
    next_seq: u64,
    start_ms: i64,
    step_ms: i64,
}

impl BatchGen {
    /// Batches over `defs` (their `id`s must be `0..defs.len()`), the first
    /// numbered `first_seq`, tick 0 at `start_ms`, ticks `step_ms` apart.
    pub fn new(defs: Vec<SeriesDef>, first_seq: u64, start_ms: i64, step_ms: i64) -> Self {
        assert!(!defs.is_empty(), "a workload needs at least one series");
        let counter = defs
            .iter()
            .map(|d| d.kind == MetricKind::Counter as i32)
            .collect();
        Self {
            defs,
            counter,
            next_sample: 0,
            next_seq: first_seq,
            start_ms,
            step_ms,
        }
    }

    /// Number of series.
    pub fn series(&self) -> usize {
        self.defs.len()
    }

    /// Whether some series is still to be declared (the next batch carries declarations).
    pub fn declaring(&self) -> bool {
        self.next_sample < self.defs.len() as u64
    }

    /// Sequence number of the next batch.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Timestamp of the newest sample generated so far.
    pub fn last_ts(&self) -> i64 {
        let tick = self.next_sample.saturating_sub(1) / self.defs.len() as u64;
        self.start_ms + tick as i64 * self.step_ms
    }

    /// The next batch of `samples` samples, declaring the series it uses first.
    pub fn next_batch(&mut self, samples: usize) -> SampleBatch {
        let n = self.defs.len() as u64;
        let mut batch = SampleBatch {
            seq: self.next_seq,
            series: Vec::new(),
            series_ids: Vec::with_capacity(samples),
            timestamps_ms: Vec::with_capacity(samples),
            values: Vec::with_capacity(samples),
            events: Vec::new(),
        };
        self.next_seq += 1;
        for k in self.next_sample..self.next_sample + samples as u64 {
            let (i, tick) = ((k % n) as usize, k / n);
            if tick == 0 {
                batch.series.push(self.defs[i].clone());
            }
            let value = if self.counter[i] {
                (tick * (1 + i as u64 % 13)) as f64
            } else {
                1e6 + ((tick + i as u64) % 97) as f64 * 512.5
            };
            batch.series_ids.push(self.defs[i].id);
            batch
                .timestamps_ms
                .push(self.start_ms + tick as i64 * self.step_ms);
            batch.values.push(value);
        }
        self.next_sample += samples as u64;
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn series_are_distinct() {
        let hosts: Vec<String> = (0..3).map(|h| format!("h{h}")).collect();
        let defs = series_defs(&hosts, 2000);
        let keys: HashSet<_> = defs
            .iter()
            .map(|d| {
                let mut l: Vec<_> = d
                    .labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .collect();
                l.sort();
                (d.metric.clone(), l)
            })
            .collect();
        assert_eq!(keys.len(), defs.len());
    }

    #[test]
    fn batches_declare_once_and_never_repeat_a_timestamp() {
        let defs = series_defs(&["h".to_string()], 7);
        let mut g = BatchGen::new(defs, 1, 1_000, 1);
        let a = g.next_batch(5);
        assert_eq!((a.seq, a.series.len()), (1, 5));
        assert!(g.declaring());
        let b = g.next_batch(5);
        assert_eq!((b.seq, b.series.len()), (2, 2));
        assert!(!g.declaring());
        let mut seen = HashSet::new();
        for batch in [a, b, g.next_batch(20)] {
            for (id, ts) in batch.series_ids.iter().zip(&batch.timestamps_ms) {
                assert!(seen.insert((*id, *ts)), "sample ({id}, {ts}) repeated");
            }
        }
    }
}
