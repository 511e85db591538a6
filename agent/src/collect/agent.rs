//! The agent's own figures: memory, CPU time, queue, and collection cost.

use std::time::Duration;

use crate::series::Sample;
use crate::stats::Stats;

/// Reads the agent process's own resource usage from `/proc/self`.
pub struct OwnUsage {
    ticks_per_second: f64,
}

impl OwnUsage {
    /// Learns the kernel's clock tick rate once.
    pub fn new() -> Self {
        Self {
            ticks_per_second: crate::ffi::clock_ticks_per_second() as f64,
        }
    }

    /// `tocsin_agent_*` samples; `last_round` is how long the previous round took.
    pub fn collect(&self, stats: &Stats, last_round: Option<Duration>, out: &mut Vec<Sample>) {
        if let Some(rss) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .as_deref()
            .and_then(rss_bytes)
        {
            out.push(Sample::gauge(
                "tocsin_agent_resident_memory_bytes",
                rss as f64,
            ));
        }
        if let Some(ticks) = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .as_deref()
            .and_then(cpu_ticks)
        {
            out.push(Sample::counter(
                "tocsin_agent_cpu_seconds_total",
                ticks as f64 / self.ticks_per_second,
            ));
        }
        if let Some(d) = last_round {
            out.push(Sample::gauge(
                "tocsin_agent_collect_duration_seconds",
                d.as_secs_f64(),
            ));
        }
        out.push(Sample::gauge(
            "tocsin_agent_queue_batches",
            Stats::get(&stats.queue_batches) as f64,
        ));
        out.push(Sample::counter(
            "tocsin_agent_dropped_batches_total",
            Stats::get(&stats.dropped_batches) as f64,
        ));
        out.push(Sample::counter(
            "tocsin_agent_rejected_batches_total",
            Stats::get(&stats.rejected_batches) as f64,
        ));
        out.push(Sample::counter(
            "tocsin_agent_connection_failures_total",
            Stats::get(&stats.connection_failures) as f64,
        ));
    }
}

/// `VmRSS` of a `/proc/<pid>/status` text, in bytes.
fn rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// User plus system CPU time of a `/proc/<pid>/stat` text, in clock ticks.
fn cpu_ticks(stat: &str) -> Option<u64> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11); // field 14 (utime) is the 12th after the name
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_usage_is_parsed() {
        assert_eq!(
            rss_bytes("Name:\tx\nVmRSS:\t    1234 kB\n"),
            Some(1234 * 1024)
        );
        let stat =
            "42 (tocsin (agent) x) S 1 42 42 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 3 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(22));
        assert_eq!(cpu_ticks("garbage"), None);
    }
}
