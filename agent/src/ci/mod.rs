//! The CIs this agent reports on besides its host — polled devices and
//! checked services — and the one path that queues data on any CI.
//!
//! [`ReportStore`] keeps each CI's latest report for the transport, which
//! sends a CI's report before the first batch that names it. [`enqueue`]
//! and [`queue_pairs`] put samples and events of one CI in batches and wake
//! the transport; nothing queued ever names a CI without a report.

pub mod store;

use tocsin_proto::v1::DeviceEvent;

use crate::Shared;
use crate::error::Result;
use crate::queue::split_with_events;
use crate::series::PolledSample;

pub use store::ReportStore;

/// Queues samples and events of CI `ci_id` (empty = the agent's host CI),
/// all samples at `ts_ms`, in batches with the events, and wakes the
/// transport.
///
/// Samples of a CI without a report are dropped, and events of one are
/// attached to the host CI, so nothing queued ever names a CI the collector
/// was not told about. Callers that can vouch for a CI store its report
/// first (a device's provisional report, a service's declared one).
pub fn enqueue(
    shared: &Shared,
    ci_id: &str,
    ts_ms: i64,
    samples: Vec<PolledSample>,
    mut events: Vec<DeviceEvent>,
) {
    let samples = if is_known(shared, ci_id) {
        samples
    } else {
        tracing::debug!(
            device = ci_id,
            dropped = samples.len(),
            "samples of an unknown device dropped"
        );
        Vec::new()
    };
    for e in &mut events {
        if !is_known(shared, &e.ci_id) {
            tracing::debug!(device = %e.ci_id, kind = %e.kind, "event of an unknown device attached to the host");
            e.ci_id.clear();
        }
    }
    let pairs = shared.registry().intern_polled(ci_id, samples);
    if let Err(e) = queue_pairs(shared, ci_id, ts_ms, &pairs, events) {
        tracing::error!(device = ci_id, error = %e, "cannot queue device data");
    }
}

/// Whether CI `ci_id` may be named in a batch: the host, or a CI with a report.
pub fn is_known(shared: &Shared, ci_id: &str) -> bool {
    ci_id.is_empty() || shared.reports.contains(ci_id)
}

/// Queues interned samples of `ci_id` with `events` and wakes the transport.
/// Returns the number of samples queued.
pub fn queue_pairs(
    shared: &Shared,
    ci_id: &str,
    ts_ms: i64,
    pairs: &[(u32, f64)],
    events: Vec<DeviceEvent>,
) -> Result<usize> {
    let batches = split_with_events(pairs, ts_ms, events, shared.max_batch_samples());
    if batches.is_empty() {
        return Ok(0);
    }
    let dropped = {
        let mut q = shared.queue();
        let mut dropped = 0;
        for b in batches {
            dropped += q.push(b)?;
        }
        dropped
    };
    if dropped > 0 {
        tracing::debug!(
            device = ci_id,
            dropped,
            "send queue full: oldest batches dropped"
        );
    }
    shared.update_queue_stats();
    shared.new_batch.notify_one();
    Ok(pairs.len())
}
