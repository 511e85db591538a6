//! The notification subsystem as the server uses it: the outbox, the
//! notifier staging into it, the receivers, and the delivery worker.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::watch;

use super::channels::{DeliveryOutcome, Receiver, ReceiverView, build_receivers, http};
use super::notifier::Notifier;
use super::outbox::{DeliveryStatus, Outbox, OutboxRecord};
use super::reminders::Reminders;
use super::worker::{AttemptObserver, Deliverer, Delivery, Worker};
use super::{Notification, NotifyConfig, NotifyEvent};
use crate::error::NotifyError;
use tocsin_incidents::store::Store;
use tocsin_incidents::{Incident, IncidentManager, OutboxHook};
use tocsin_model::time::Clock;
use tocsin_storage::{Db, StorageError};

/// The receivers by name, with one HTTP client.
struct Receivers {
    by_name: BTreeMap<String, Receiver>,
    client: reqwest::Client,
}

impl Deliverer for Receivers {
    fn deliver<'a>(&'a self, n: &'a Notification) -> Delivery<'a> {
        Box::pin(async move {
            match self.by_name.get(&n.receiver) {
                Some(r) => r.deliver(&self.client, n).await,
                None => DeliveryOutcome::Failed {
                    error: format!("no receiver named {:?} is configured any more", n.receiver),
                },
            }
        })
    }
}

/// See the module docs.
pub struct Notifications {
    config: NotifyConfig,
    outbox: Arc<Outbox>,
    notifier: Arc<Notifier>,
    receivers: Arc<Receivers>,
    clock: Clock,
}

impl Notifications {
    /// Opens the outbox in `db` (picking up what was not delivered before a
    /// restart) and builds the receivers. Blocking.
    pub fn open(db: Arc<Db>, config: NotifyConfig) -> Result<Self, NotifyError> {
        Self::open_with_clock(db, config, Clock::system())
    }

    /// [`open`](Self::open) with another wall clock, which the worker
    /// ([`worker`](Self::worker)) reads too (tests, simulations).
    pub fn open_with_clock(
        db: Arc<Db>,
        config: NotifyConfig,
        clock: Clock,
    ) -> Result<Self, NotifyError> {
        let by_name = build_receivers(config.receiver.clone()).map_err(|p| {
            NotifyError::Config(format!("invalid [notify] receivers:\n  {}", p.join("\n  ")))
        })?;
        let client = http::client()
            .map_err(|e| NotifyError::Config(format!("cannot build the HTTP client: {e}")))?;
        let outbox = Arc::new(Outbox::open(db.clone())?);
        let notifier = Arc::new(Notifier::new(
            config.rules(),
            outbox.clone(),
            Store::new(db),
        ));
        Ok(Self {
            config,
            outbox,
            notifier,
            receivers: Arc::new(Receivers { by_name, client }),
            clock,
        })
    }

    /// The hook the incident manager stages notifications through.
    pub fn hook(&self) -> Arc<dyn OutboxHook> {
        self.notifier.clone()
    }

    /// Delivers until `shutdown` turns true (spawn it).
    pub fn worker(&self, manager: Arc<IncidentManager>) -> Worker {
        let reminders = Reminders::new(self.config.repeat_interval, self.notifier.clone());
        Worker::new(
            self.outbox.clone(),
            self.receivers.clone(),
            manager,
            self.config.retry.clone(),
            reminders,
        )
        .with_group_window(self.notifier.group_window_ms())
        .with_clock(self.clock.clone())
    }

    /// Runs the worker, counting attempts in `metrics`, until `shutdown` turns true.
    pub async fn run(
        self: Arc<Self>,
        manager: Arc<IncidentManager>,
        metrics: Arc<dyn AttemptObserver>,
        shutdown: watch::Receiver<bool>,
    ) {
        self.worker(manager)
            .with_metrics(metrics)
            .run(shutdown)
            .await;
    }

    /// Notifications with one of `statuses` (all when empty), newest first.
    pub fn list(
        &self,
        statuses: &[DeliveryStatus],
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StorageError> {
        self.outbox.list(statuses, limit)
    }

    /// Makes a failed notification due again.
    pub fn retry(&self, id: u64) -> Result<OutboxRecord, NotifyError> {
        self.outbox
            .retry(id, self.clock.now_ms())?
            .ok_or_else(|| NotifyError::NotFound(format!("no notification with id {id}")))
    }

    /// The receivers as the API shows them (no secrets).
    pub fn receivers(&self) -> Vec<ReceiverView> {
        self.receivers
            .by_name
            .values()
            .map(Receiver::public_view)
            .collect()
    }

    /// Sends a test message to `receiver` at once (not through the outbox)
    /// and says what became of it.
    pub async fn test(&self, receiver: &str, actor: &str) -> Result<DeliveryOutcome, NotifyError> {
        if !self.receivers.by_name.contains_key(receiver) {
            return Err(NotifyError::NotFound(format!(
                "no receiver named {receiver:?}"
            )));
        }
        let now = self.clock.now_ms();
        let n = Notification {
            id: 0,
            idempotency_key: format!("{receiver}/test/{now}"),
            receiver: receiver.to_string(),
            event: NotifyEvent::Test,
            incident: test_incident(actor, now),
            grouped: Vec::new(),
            children: Vec::new(),
            created_at: now,
        };
        let outcome = self.receivers.deliver(&n).await;
        tracing::info!(receiver, actor, outcome = ?outcome, "test notification sent");
        Ok(outcome)
    }
}

/// A made-up incident for test messages, clearly labelled as one.
fn test_incident(actor: &str, now: i64) -> Incident {
    let at = tocsin_model::time::rfc3339(now);
    let v = serde_json::json!({
        "id": 0, "key": "tocsin_test", "rule": "tocsin_test", "ci_id": "tocsin",
        "ci": {"name": "tocsin", "class": "application"},
        "object": {}, "title": "Test notification from Tocsin",
        "description": format!("Sent by {actor} with `tocsinctl notify test`: if you read this, the receiver works."),
        "status": "open", "severity": "warning", "current_severity": "warning",
        "priority": "P4", "criticality": "low", "opened_at": at,
        "acknowledged_at": null, "assigned_at": null, "resolved_at": null, "closed_at": null,
        "last_value": 0.0, "peak_value": 0.0, "threshold": 0.0, "first_sample_at": at,
        "last_sample_at": at, "occurrences": 1, "reopen_count": 0, "flapping": false,
        "flap_transitions": 0, "condition_active": false, "tier": 1, "sla": {},
        "timeline_count": 0, "updated_at": at,
    });
    serde_json::from_value(v).unwrap_or_else(|e| unreachable!("test incident: {e}"))
}
