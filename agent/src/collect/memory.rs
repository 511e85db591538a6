//! Memory and swap, from `/proc/meminfo` through sysinfo.

use sysinfo::{MemoryRefreshKind, System};

use crate::series::Sample;

/// Memory in bytes; "used" is total minus available (what the kernel could
/// not hand out without swapping), as `free` reports it.
pub fn collect(system: &mut System, out: &mut Vec<Sample>) {
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
    let total = system.total_memory();
    if total > 0 {
        let used = system.used_memory();
        out.push(Sample::gauge("node_memory_total_bytes", total as f64));
        out.push(Sample::gauge("node_memory_used_bytes", used as f64));
        out.push(Sample::gauge(
            "node_memory_available_bytes",
            system.available_memory() as f64,
        ));
        out.push(Sample::gauge(
            "node_memory_used_percent",
            used as f64 / total as f64 * 100.0,
        ));
    }
    out.push(Sample::gauge(
        "node_swap_total_bytes",
        system.total_swap() as f64,
    ));
    out.push(Sample::gauge(
        "node_swap_used_bytes",
        system.used_swap() as f64,
    ));
    if let Some(pct) = used_percent(system.used_swap(), system.total_swap()) {
        out.push(Sample::gauge("node_swap_used_percent", pct));
    }
}

/// `used / total × 100`, clamped to 0..=100; `None` when `total` is 0 (for
/// swap: the host has none).
fn used_percent(used: u64, total: u64) -> Option<f64> {
    (total > 0).then(|| (used as f64 / total as f64 * 100.0).min(100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_percent_is_omitted_without_swap() {
        assert_eq!(used_percent(0, 0), None);
        assert_eq!(used_percent(5, 0), None);
        assert_eq!(used_percent(0, 2048), Some(0.0));
        assert_eq!(used_percent(512, 2048), Some(25.0));
        assert_eq!(used_percent(2048, 2048), Some(100.0));
        assert_eq!(used_percent(4096, 2048), Some(100.0));
    }
}
