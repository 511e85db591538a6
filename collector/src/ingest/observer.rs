//! The hook through which stored samples flow on to rule evaluation, keeping
//! ingest ignorant of rules and incidents (data flows one way).

use std::sync::Arc;

use tocsin_query::SeriesId;
use tocsin_storage::SeriesDef;

/// The CI a stream reports for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiContext {
    /// CI id (for agents: the agent id).
    pub id: String,
    /// CI class (`host` for agents).
    pub class: String,
    /// CI name (hostname).
    pub name: String,
}

/// One sample that was just durably stored.
#[derive(Debug, Clone, Copy)]
pub struct ObservedSample<'a> {
    /// The CI the series belongs to (the agent's host or a device it polls).
    pub ci: &'a CiContext,
    /// Stored series id.
    pub series: SeriesId,
    /// Its definition (labels, kind).
    pub def: &'a Arc<SeriesDef>,
    /// Sample time, ms.
    pub ts_ms: i64,
    /// Value.
    pub value: f64,
}

/// Looks at every batch after it is durably stored, before it is acknowledged.
pub trait SampleObserver: Send + Sync {
    /// A stored batch of samples; `received` is when the batch arrived.
    fn observe(&self, samples: &[ObservedSample<'_>], received: std::time::Instant);
    /// `ci`'s agent connected or sent data just now (for no-data
    /// detection; the observer reads the time from its own clock).
    fn seen(&self, ci: &CiContext);
}
