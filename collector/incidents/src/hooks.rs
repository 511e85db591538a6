//! Integration points for the components around the manager: notification,
//! problem records and maintenance windows plug in here without the manager
//! knowing them.

use tocsin_model::incident::{Incident, TimelineEntry};
use tocsin_storage::WriteTx;

/// Told about every timeline entry the manager writes (after the write),
/// with the incident as it is after the change. Called without the
/// manager's lock held, so it may call back into the manager; it should be
/// quick (e.g. push to a channel).
///
/// A notifier should skip incidents with `suppressed` or `parent_id` set
/// (maintenance, topology children) and `value_update` entries; a problem
/// tracker looks at `opened` and `reopened` entries.
pub trait IncidentListener: Send + Sync {
    /// One entry was written.
    fn on_entry(&self, incident: &Incident, entry: &TimelineEntry);
}

/// Decides whether an incident is suppressed (e.g. inside a maintenance
/// window of its CI or CI class) and why: asked when it opens, when it
/// reopens, and on every `tick` while it is active and suppressed (`None`
/// then lifts the suppression). Called with the manager's lock held: it must
/// not call back into the manager, and should be cheap.
pub trait Suppressor: Send + Sync {
    /// The reason to suppress, or `None`.
    fn suppress(&self, ci_id: &str, ci_class: Option<&str>, at_ms: i64) -> Option<String>;
}

/// Adds records to the very write that stores incident changes, so what
/// they cause (notifications in an outbox) is durable exactly when the
/// change is: a crash can lose neither without the other. Called with the
/// manager's lock held: it must not call back into the manager.
pub trait OutboxHook: Send + Sync {
    /// Adds the records `written` (incident as changed, entry) cause to `batch`.
    fn stage(&self, batch: &mut WriteTx, written: &[(Incident, TimelineEntry)]);
    /// The write with the staged records succeeded (`true`) or failed.
    fn committed(&self, ok: bool);
}
