//! Shared pieces of the Tocsin benches and the `tocsin-loadgen` load generator.
//!
//! - [`workload`]: realistic host series (cpu, filesystem, network, disk,
//!   memory, processes) and a batch generator whose timestamps never repeat,
//!   so every generated sample is new to the collector.
//! - [`procstat`]: memory and CPU figures of a process read from `/proc`.

pub mod procstat;
pub mod workload;
