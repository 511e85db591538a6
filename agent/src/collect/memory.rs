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
}
