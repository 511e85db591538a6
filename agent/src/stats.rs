//! Counters the agent keeps about itself, shared between the collection loop
//! and the transport, and reported as `tocsin_agent_*` metrics.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The agent's own health figures.
#[derive(Debug, Default)]
pub struct Stats {
    /// Batches waiting in the send queue.
    pub queue_batches: AtomicU64,
    /// Batches dropped because the queue was full.
    pub dropped_batches: AtomicU64,
    /// Batches the collector rejected.
    pub rejected_batches: AtomicU64,
    /// Batches the collector acknowledged as stored.
    pub acked_batches: AtomicU64,
    /// Sessions with the collector that failed to open or broke off.
    pub connection_failures: AtomicU64,
    /// Whether a stream to the collector is open.
    pub connected: AtomicBool,
}

impl Stats {
    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets a gauge.
    pub fn set(gauge: &AtomicU64, v: u64) {
        gauge.store(v, Ordering::Relaxed);
    }
}
