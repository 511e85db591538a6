//! Repeat reminders for `major` incidents nobody acknowledged: every
//! `repeat_interval` after the opening, the incident's receivers are told
//! again. The reminder count is derived from the opening time, so a
//! collector restart neither repeats a reminder at once nor skips the next.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::NotifyEvent;
use super::notifier::Notifier;
use super::outbox::Outbox;
use tocsin_incidents::{IncidentFilter, IncidentManager, Status};
use tocsin_model::Severity;

/// How often open incidents are looked at.
const CHECK_EVERY_MS: i64 = 5_000;

/// See the module docs.
pub struct Reminders {
    interval_ms: i64,
    notifier: Arc<Notifier>,
    /// Incident id → reminder periods already covered.
    covered: HashMap<u64, i64>,
    next_check: i64,
}

impl Reminders {
    /// Reminders every `interval` (`None` for a zero interval: no reminders).
    pub fn new(interval: Duration, notifier: Arc<Notifier>) -> Option<Self> {
        let interval_ms = i64::try_from(interval.as_millis())
            .ok()
            .filter(|ms| *ms > 0)?;
        Some(Self {
            interval_ms,
            notifier,
            covered: HashMap::new(),
            next_check: 0,
        })
    }

    /// Queues the reminders due at `now`.
    pub fn tick(&mut self, manager: &IncidentManager, outbox: &Outbox, now: i64) {
        if now < self.next_check {
            return;
        }
        self.next_check = now + CHECK_EVERY_MS;
        let filter = IncidentFilter {
            status: vec![Status::Open],
            severity: vec![Severity::Major],
            top_level_only: true,
            ..IncidentFilter::default()
        };
        let open = match manager.list(&filter) {
            Ok(open) => open,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list incidents for reminders");
                return;
            }
        };
        let mut still_open = HashMap::new();
        for inc in open {
            let periods = (now - inc.opened_at).max(0) / self.interval_ms;
            let covered = self.covered.get(&inc.id).copied().unwrap_or(periods);
            still_open.insert(inc.id, periods.max(covered));
            if periods <= covered {
                continue;
            }
            let tag = format!("r{periods}");
            for (n, kind) in self
                .notifier
                .notifications_for(&inc, NotifyEvent::Reminder, now, &tag)
            {
                if let Err(e) = outbox.enqueue(n, &kind, now) {
                    tracing::warn!(incident = inc.id, error = %e, "cannot queue a reminder");
                }
            }
        }
        self.covered = still_open;
    }
}
