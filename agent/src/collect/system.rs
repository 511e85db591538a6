//! Load average, uptime, process count, and temperatures.

use std::time::{Duration, Instant};

use sysinfo::Components;

use crate::series::Sample;

/// Load averages from the text of `/proc/loadavg`, and the 5-minute load
/// per logical CPU when `cpus` (the number of logical CPUs) is known (> 0).
pub fn load(text: &str, cpus: usize, out: &mut Vec<Sample>) {
    let mut f = text.split_whitespace().map(|x| x.parse::<f64>().ok());
    for metric in ["node_load1", "node_load5", "node_load15"] {
        if let Some(Some(v)) = f.next() {
            out.push(Sample::gauge(metric, v));
            if metric == "node_load5"
                && let Some(per_cpu) = per_cpu(v, cpus)
            {
                out.push(Sample::gauge("node_load5_per_cpu", per_cpu));
            }
        }
    }
}

/// A load average divided by the number of logical CPUs; `None` when that
/// number is unknown (0).
fn per_cpu(load: f64, cpus: usize) -> Option<f64> {
    (cpus > 0).then(|| load / cpus as f64)
}

/// Seconds since boot from the text of `/proc/uptime`.
pub fn uptime(text: &str, out: &mut Vec<Sample>) {
    if let Some(Ok(v)) = text.split_whitespace().next().map(str::parse::<f64>) {
        out.push(Sample::gauge("node_uptime_seconds", v));
    }
}

/// Number of processes: the numeric entries of `/proc` (threads not counted).
pub fn processes(out: &mut Vec<Sample>) {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    let n = dir
        .flatten()
        .filter(|e| {
            e.file_name()
                .as_encoded_bytes()
                .iter()
                .all(u8::is_ascii_digit)
        })
        .count();
    out.push(Sample::gauge("node_processes", n as f64));
}

/// Temperature sensors (hwmon / thermal zones). Each round reads only the
/// known sensors' input files; the sensor list is rescanned now and then.
pub struct Temperatures {
    components: Option<Components>,
    rescan_every: Duration,
    scanned: Instant,
}

impl Temperatures {
    /// Scans the sensors once.
    pub fn new(rescan_every: Duration) -> Self {
        Self {
            components: Components::new_with_refreshed_list().ok(),
            rescan_every,
            scanned: Instant::now(),
        }
    }

    /// One reading of every sensor that reports a temperature.
    pub fn collect(&mut self, out: &mut Vec<Sample>) {
        let Some(components) = self.components.as_mut() else {
            return;
        };
        if self.scanned.elapsed() >= self.rescan_every {
            components.refresh(true);
            self.scanned = Instant::now();
        } else {
            for c in components.iter_mut() {
                c.refresh();
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for c in components.iter() {
            let Some(t) = c.temperature().filter(|t| t.is_finite()) else {
                continue;
            };
            let mut name = c.label().trim().to_string();
            if name.is_empty() {
                name = c.id().unwrap_or("sensor").to_string();
            }
            let base = name.clone();
            let mut n = 1;
            while seen.contains(&name) {
                n += 1;
                name = format!("{base} #{n}");
            }
            seen.push(name.clone());
            out.push(Sample::gauge("node_temperature_celsius", f64::from(t)).label("sensor", name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_and_uptime_are_parsed() {
        let mut out = vec![];
        load("0.52 1.25 2.00 3/456 7890\n", 4, &mut out);
        uptime("12345.67 23456.78\n", &mut out);
        let got: Vec<_> = out.iter().map(|s| (s.metric, s.value)).collect();
        assert_eq!(
            got,
            vec![
                ("node_load1", 0.52),
                ("node_load5", 1.25),
                ("node_load5_per_cpu", 0.3125),
                ("node_load15", 2.0),
                ("node_uptime_seconds", 12345.67)
            ]
        );
        let mut none = vec![];
        load("garbage", 4, &mut none);
        uptime("", &mut none);
        assert!(none.is_empty());
    }

    #[test]
    fn load_per_cpu_needs_a_cpu_count() {
        let mut out = vec![];
        load("3.00 6.00 9.00 1/2 3\n", 0, &mut out);
        assert!(out.iter().all(|s| s.metric != "node_load5_per_cpu"));
        assert_eq!(out.len(), 3);
        assert_eq!(per_cpu(6.0, 8), Some(0.75));
        assert_eq!(per_cpu(0.0, 1), Some(0.0));
        assert_eq!(per_cpu(6.0, 0), None);
    }
}
