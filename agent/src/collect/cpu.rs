//! CPU usage, total and per core, from `/proc/stat` through sysinfo.

use sysinfo::System;

use crate::series::Sample;

/// Usage is a difference between two readings of `/proc/stat`; the first call
/// only takes the baseline (`primed` becomes true) and emits nothing.
pub fn collect(system: &mut System, primed: &mut bool, out: &mut Vec<Sample>) {
    system.refresh_cpu_usage();
    if !*primed {
        *primed = true;
        return;
    }
    out.push(Sample::gauge(
        "node_cpu_usage_percent",
        clamp_percent(system.global_cpu_usage()),
    ));
    for (i, cpu) in system.cpus().iter().enumerate() {
        out.push(
            Sample::gauge("node_cpu_core_usage_percent", clamp_percent(cpu.usage()))
                .label("cpu", i.to_string()),
        );
    }
}

/// A percentage as f64, clamped to 0..=100 (rounding can overshoot slightly).
pub(super) fn clamp_percent(v: f32) -> f64 {
    f64::from(v).clamp(0.0, 100.0)
}
