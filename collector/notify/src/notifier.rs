//! Turns incident changes into notifications in the outbox, inside the
//! write that stores the change ([`OutboxHook`]).
//!
//! Notified: opened and reopened, severity raised, acknowledged, escalated
//! (to the new tier's receivers), resolved, closed, flapping started and
//! stopped. Not notified on their own: incidents suppressed by a
//! maintenance window and incidents attached to a parent (the parent's
//! messages list its children).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::outbox::Outbox;
use super::routing::{self, Route};
use super::{ChildSummary, Notification, NotifyEvent};
use tocsin_incidents::store::Store;
use tocsin_incidents::{Incident, OutboxHook, TimelineEntry, TimelineKind};
use tocsin_storage::WriteTx;

/// What the notifier needs to know about the configuration.
#[derive(Debug, Clone, Default)]
pub struct NotifyRules {
    /// Receiver name → channel kind.
    pub receivers: BTreeMap<String, String>,
    /// Routes, in order.
    pub routes: Vec<Route>,
    /// Receivers when no route matches.
    pub default_receivers: Vec<String>,
    /// Grouping window for openings, ms (0: off).
    pub group_window_ms: i64,
}

/// See the module docs.
pub struct Notifier {
    rules: NotifyRules,
    outbox: Arc<Outbox>,
    store: Store,
}

impl Notifier {
    /// The grouping window, ms (0: off).
    pub fn group_window_ms(&self) -> i64 {
        self.rules.group_window_ms
    }

    /// A notifier staging into `outbox`, reading children from `store`.
    pub fn new(rules: NotifyRules, outbox: Arc<Outbox>, store: Store) -> Self {
        Self {
            rules,
            outbox,
            store,
        }
    }

    /// The notifications `entry` of `inc` causes (one per receiver); `tag`
    /// tells this change apart from every other change of the incident (it
    /// ends the idempotency key: the entry's number in the timeline).
    pub fn notifications(
        &self,
        inc: &Incident,
        entry: &TimelineEntry,
        tag: &str,
    ) -> Vec<(Notification, String)> {
        match event_of(inc, entry) {
            Some(event) => self.notifications_for(inc, event, entry.at, tag),
            None => Vec::new(),
        }
    }

    /// The notifications of `event` of `inc` at `at` (one per receiver),
    /// with their channel kinds; `tag` as for [`Notifier::notifications`].
    pub fn notifications_for(
        &self,
        inc: &Incident,
        event: NotifyEvent,
        at: i64,
        tag: &str,
    ) -> Vec<(Notification, String)> {
        if inc.suppressed.is_some() || inc.parent_id.is_some() {
            return Vec::new();
        }
        let receivers = routing::receivers(
            &self.rules.routes,
            &self.rules.default_receivers,
            inc,
            event,
        );
        let children = self.children(inc);
        receivers
            .into_iter()
            .filter_map(|receiver| {
                let kind = self.rules.receivers.get(&receiver)?.clone();
                let n = Notification {
                    id: self.outbox.next_id(),
                    idempotency_key: format!("{receiver}/{}/{}/{tag}", inc.id, event.as_str()),
                    receiver,
                    event,
                    incident: inc.clone(),
                    grouped: Vec::new(),
                    children: children.clone(),
                    created_at: at,
                };
                Some((n, kind))
            })
            .collect()
    }

    fn children(&self, inc: &Incident) -> Vec<ChildSummary> {
        let ids = self.store.children(inc.id).unwrap_or_default();
        ids.into_iter()
            .filter_map(|id| self.store.get(id).ok().flatten())
            .map(|c| ChildSummary {
                id: c.id,
                ci_id: c.ci_id,
                title: c.title,
                severity: c.severity,
            })
            .collect()
    }
}

/// The event a timeline entry is, if people are told about it.
pub fn event_of(inc: &Incident, entry: &TimelineEntry) -> Option<NotifyEvent> {
    Some(match entry.kind {
        TimelineKind::Opened | TimelineKind::Reopened => NotifyEvent::Opened,
        TimelineKind::SeverityChanged => NotifyEvent::SeverityRaised,
        TimelineKind::Acknowledged => NotifyEvent::Acknowledged,
        TimelineKind::Escalated => NotifyEvent::Escalated,
        TimelineKind::Resolved => NotifyEvent::Resolved,
        TimelineKind::Closed => NotifyEvent::Closed,
        TimelineKind::Flapping if inc.flapping => NotifyEvent::FlappingStarted,
        TimelineKind::Flapping => NotifyEvent::FlappingStopped,
        _ => return None,
    })
}

impl OutboxHook for Notifier {
    fn stage(&self, batch: &mut WriteTx, written: &[(Incident, TimelineEntry)]) {
        // The entries of one incident are its last ones, in order: number
        // them back from its timeline count, so that two changes in the same
        // millisecond still get distinct idempotency keys.
        let mut remaining: BTreeMap<u64, u32> = BTreeMap::new();
        for (inc, _) in written {
            *remaining.entry(inc.id).or_default() += 1;
        }
        for (inc, entry) in written {
            let left = remaining.entry(inc.id).or_default();
            let number = inc.timeline_count.saturating_sub(*left) + 1;
            *left = left.saturating_sub(1);
            for (n, kind) in self.notifications(inc, entry, &number.to_string()) {
                tracing::debug!(incident = inc.id, receiver = %n.receiver, event = n.event.as_str(), "notification staged");
                // Openings wait out the grouping window, so that others of
                // the same receiver can join their message.
                let due = if n.event == NotifyEvent::Opened {
                    entry.at + self.rules.group_window_ms
                } else {
                    entry.at
                };
                self.outbox.stage(batch, n, &kind, due);
            }
        }
    }

    fn committed(&self, ok: bool) {
        self.outbox.committed(ok);
    }
}
