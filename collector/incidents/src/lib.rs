//! Incidents: opened from rule events, worked by people.
//!
//! The [`IncidentManager`] receives the [`RuleEvent`](tocsin_model::event::RuleEvent)s
//! of every ingested batch (`handle`), is ticked every second (`tick`), and
//! applies people's actions (`ack`, `assign`, `comment`, `resolve`, `close`).
//!
//! Rules:
//! - **Dedup.** One incident per dedup key at a time. A `Firing` event for a
//!   key with an open or acknowledged incident updates it: last value, peak
//!   (worst) value, and `occurrences`, which counts breaching samples (firing
//!   events). The key index is stored, so a restart or a resent batch never
//!   opens a duplicate.
//! - **Severity** only rises while an incident is active; each rise is a
//!   `severity_changed` entry and recomputes priority and SLA due times.
//!   `current_severity` follows the latest sample.
//! - **Priority** = `priority_matrix[severity][criticality]`, the CI's
//!   `criticality` attribute (default medium).
//! - **Resolution.** A `Resolved` event resolves the incident (actor
//!   `system`). A `Firing` event for a key whose latest incident was resolved
//!   less than `reopen_window` ago reopens it (`reopened`, `reopen_count`+1);
//!   otherwise (closed, older, none) a new incident opens.
//! - **Flapping** events set or clear `flapping` with a timeline entry.
//! - **Topology**: see [`topology`]. **Maintenance**: a [`Suppressor`]
//!   (e.g. [`maintenance::MaintenanceStore`]) marks incidents opened or
//!   reopened inside a window `suppressed` (no SLA clock); an active
//!   suppressed incident no window covers any more is unsuppressed on the
//!   next `tick` (`unsuppressed` entry, SLA clock from then). **Problems**: with a
//!   [`problems::ProblemStore`], every opening is recorded and the incident
//!   linked to the problem it raises or joins (`problem_id`, `problem_linked`).
//! - **SLA**: see [`sla_clock`]; a breached stage raises the tier (1 → 2 → 3)
//!   with an `escalated` entry, on `tick`.
//! - **Persistence.** Opening, severity changes, resolution, reopening and
//!   every action are written before the call returns, each as one atomic
//!   write of the incident with its timeline entries. Value updates stay in
//!   memory and are written by `flush`/`tick` (at most once per second per
//!   incident, coalesced into one `value_update` entry per
//!   `value_update_interval`); call `flush` on shutdown.
//!
//! Times in stored/served JSON are RFC 3339; lifecycle times come from the
//! collector's clock, `first_sample_at`/`last_sample_at` from the samples.

mod actions;
pub mod calendar;
pub mod config;
pub mod error;
mod events;
pub mod hooks;
pub mod maintenance;
mod manager;
mod opening;
pub mod problems;
pub mod sla;
pub mod sla_clock;
mod state;
pub mod store;
pub mod topology;

#[cfg(test)]
mod tests;

pub use config::IncidentConfig;
pub use error::IncidentError;
pub use hooks::{IncidentListener, OutboxHook, Suppressor};
pub use manager::{IncidentFilter, IncidentManager};
pub use tocsin_model::incident::{
    Incident, IncidentDetail, Priority, SlaState, Status, TimelineEntry, TimelineKind,
};
