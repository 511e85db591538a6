//! The delivery worker: takes due notifications from the outbox, hands each
//! to its receiver, and records the outcome — first in the outbox (so a
//! delivered notification is never sent again, even after a crash), then on
//! the incident's timeline. Transient failures are retried with
//! exponential backoff (longer when the receiver says `Retry-After`);
//! permanent ones, and those out of attempts, are marked failed and can be
//! retried by hand.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Semaphore, watch};

use super::channels::DeliveryOutcome;
use super::outbox::{DeliveryStatus, Outbox, OutboxRecord};
use super::reminders::Reminders;
use super::{Notification, NotifyEvent, RetryConfig};
use tocsin_incidents::IncidentManager;
use tocsin_model::time::Clock;

/// Where the worker counts its delivery attempts (the collector's
/// `tocsin_notification_attempts_total{receiver,outcome}`).
pub trait AttemptObserver: Send + Sync {
    /// One attempt to `receiver` ended with `outcome` (`delivered`, `retry` or `failed`).
    fn attempt(&self, receiver: &str, outcome: &str);
}

/// Deliveries in flight at once (a slow receiver does not hold up the others).
const PARALLEL_DELIVERIES: usize = 8;
/// Longest sleep between looks at the outbox.
const MAX_IDLE: Duration = Duration::from_secs(1);
/// How long a notification waits before looking again whether the earlier
/// ones of its receiver and incident are done.
const ORDER_WAIT_MS: i64 = 200;
/// The actor of timeline entries the notifier writes.
pub const NOTIFIER: &str = "notifier";

/// A boxed delivery future.
pub type Delivery<'a> = Pin<Box<dyn Future<Output = DeliveryOutcome> + Send + 'a>>;

/// Sends one notification to the receiver it names.
pub trait Deliverer: Send + Sync {
    /// Delivers `n` to its receiver.
    fn deliver<'a>(&'a self, n: &'a Notification) -> Delivery<'a>;
}

/// See the module docs.
pub struct Worker {
    outbox: Arc<Outbox>,
    deliverer: Arc<dyn Deliverer>,
    manager: Arc<IncidentManager>,
    retry: RetryConfig,
    reminders: Option<Reminders>,
    group_window_ms: i64,
    metrics: Option<Arc<dyn AttemptObserver>>,
    clock: Clock,
}

impl Worker {
    /// A worker delivering from `outbox` and recording on `manager`'s timelines.
    pub fn new(
        outbox: Arc<Outbox>,
        deliverer: Arc<dyn Deliverer>,
        manager: Arc<IncidentManager>,
        retry: RetryConfig,
        reminders: Option<Reminders>,
    ) -> Self {
        Self {
            outbox,
            deliverer,
            manager,
            retry,
            reminders,
            group_window_ms: 0,
            metrics: None,
            clock: Clock::system(),
        }
    }

    /// Reads the time from `clock` instead of the system clock: what is due,
    /// when to retry, when reminders are owed. The worker still waits on
    /// tokio's timer between looks (at most a second), so a test drives it
    /// with a [`tocsin_model::time::ManualClock`] on a paused runtime.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Counts every attempt in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<dyn AttemptObserver>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Openings of one receiver within `window_ms` of each other travel in one message.
    pub fn with_group_window(mut self, window_ms: i64) -> Self {
        self.group_window_ms = window_ms;
        self
    }

    /// Delivers until `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let slots = Arc::new(Semaphore::new(PARALLEL_DELIVERIES));
        let this = Arc::new(Shared {
            metrics: self.metrics.clone(),
            outbox: self.outbox.clone(),
            deliverer: self.deliverer.clone(),
            manager: self.manager.clone(),
            retry: self.retry.clone(),
            group_window_ms: self.group_window_ms,
            clock: self.clock.clone(),
        });
        loop {
            let now = self.clock.now_ms();
            if let Some(r) = &mut self.reminders {
                r.tick(&self.manager, &self.outbox, now);
            }
            while let Some(id) = self.outbox.take_due(now) {
                let Some(rec) = this.prepare(id) else {
                    continue;
                };
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let this = this.clone();
                tokio::spawn(async move {
                    this.deliver(rec).await;
                    drop(permit);
                });
            }
            let wait = self.outbox.next_due_at().map_or(MAX_IDLE, |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(MAX_IDLE)
            });
            tokio::select! {
                () = self.outbox.changed() => {}
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// What a delivery task needs.
struct Shared {
    metrics: Option<Arc<dyn AttemptObserver>>,
    outbox: Arc<Outbox>,
    deliverer: Arc<dyn Deliverer>,
    manager: Arc<IncidentManager>,
    retry: RetryConfig,
    group_window_ms: i64,
    clock: Clock,
}

impl Shared {
    /// The pending record `id`, with its group gathered. Runs before the
    /// next due notification is taken, so a group member cannot be sent on
    /// its own at the same moment.
    fn prepare(&self, id: u64) -> Option<OutboxRecord> {
        match self.outbox.get(id) {
            Ok(Some(rec)) if rec.status == DeliveryStatus::Pending => {
                if self.outbox.waits_for_earlier(&rec) {
                    // Receivers hear an incident's events in order.
                    self.outbox
                        .reschedule(id, self.clock.now_ms() + ORDER_WAIT_MS);
                    return None;
                }
                Some(self.gather_group(rec))
            }
            Ok(_) => None,
            Err(e) => {
                tracing::error!(id, error = %e, "cannot read a notification");
                None
            }
        }
    }

    async fn deliver(&self, rec: OutboxRecord) {
        let id = rec.notification.id;
        let outcome = self.deliverer.deliver(&rec.notification).await;
        if let Some(m) = &self.metrics {
            let label = match &outcome {
                DeliveryOutcome::Delivered => "delivered",
                DeliveryOutcome::Retry { .. } => "retry",
                DeliveryOutcome::Failed { .. } => "failed",
            };
            m.attempt(&rec.notification.receiver, label);
        }
        let now = self.clock.now_ms();
        let rec = apply(rec, outcome, &self.retry, now);
        let outbox = self.outbox.clone();
        let stored = rec.clone();
        let saved = tokio::task::spawn_blocking(move || outbox.update(&stored)).await;
        if !matches!(saved, Ok(Ok(()))) {
            tracing::error!(
                id,
                "cannot store a notification's delivery state; it will be sent again"
            );
            // Still pending on disk: try again later rather than only after a restart.
            let backoff = self.retry.backoff(rec.attempts.max(1), None);
            self.outbox.reschedule(
                id,
                self.clock.now_ms() + i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX / 2),
            );
            return;
        }
        log(&rec, now);
        if rec.notification.event != NotifyEvent::Test
            && (rec.status != DeliveryStatus::Pending || rec.attempts == 1)
        {
            let manager = self.manager.clone();
            let _ = tokio::task::spawn_blocking(move || record_on_timeline(&manager, &rec)).await;
        }
    }
}

impl Shared {
    /// An opening sent for the first time takes along the other openings of
    /// its receiver inside the grouping window.
    fn gather_group(&self, mut rec: OutboxRecord) -> OutboxRecord {
        // A lead picked up again after a restart keeps the group it has.
        if self.group_window_ms <= 0
            || rec.attempts > 0
            || !rec.notification.grouped.is_empty()
            || rec.notification.event != NotifyEvent::Opened
        {
            return rec;
        }
        match self.outbox.take_group(&rec, self.group_window_ms) {
            Ok(mut members) if !members.is_empty() => {
                rec.notification.grouped = members
                    .iter()
                    .map(|m| m.notification.incident.clone())
                    .collect();
                let saved = self
                    .outbox
                    .save(&rec)
                    .and_then(|()| self.outbox.mark_grouped(&mut members));
                if let Err(e) = saved {
                    tracing::error!(id = rec.notification.id, error = %e, "cannot store a grouped notification");
                }
                rec
            }
            Ok(_) => rec,
            Err(e) => {
                tracing::warn!(id = rec.notification.id, error = %e, "cannot group notifications");
                rec
            }
        }
    }
}

/// The record after one attempt with `outcome`.
pub fn apply(
    mut rec: OutboxRecord,
    outcome: DeliveryOutcome,
    retry: &RetryConfig,
    now: i64,
) -> OutboxRecord {
    rec.attempts += 1;
    match outcome {
        DeliveryOutcome::Delivered => {
            rec.status = DeliveryStatus::Delivered;
            rec.delivered_at = Some(now);
            rec.last_error = None;
        }
        DeliveryOutcome::Retry { error, after } => {
            rec.last_error = Some(error);
            if rec.attempts >= retry.max_attempts {
                rec.status = DeliveryStatus::Failed;
            } else {
                let wait = retry.backoff(rec.attempts, after);
                rec.next_attempt_at = now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            }
        }
        DeliveryOutcome::Failed { error } => {
            rec.last_error = Some(error);
            rec.status = DeliveryStatus::Failed;
        }
    }
    rec
}

fn log(rec: &OutboxRecord, now: i64) {
    let n = &rec.notification;
    let (id, incident, receiver, event) = (n.id, n.incident.id, &n.receiver, n.event.as_str());
    let error = rec.last_error.as_deref().unwrap_or("");
    match rec.status {
        DeliveryStatus::Delivered => {
            tracing::info!(
                id,
                incident,
                receiver,
                event,
                attempts = rec.attempts,
                "notification delivered"
            );
        }
        DeliveryStatus::Pending => tracing::warn!(
            id,
            incident,
            receiver,
            event,
            attempts = rec.attempts,
            error,
            retry_in_ms = rec.next_attempt_at - now,
            "notification not delivered; will retry"
        ),
        DeliveryStatus::Failed => tracing::error!(
            id,
            incident,
            receiver,
            event,
            attempts = rec.attempts,
            error,
            "notification failed; retry by hand with POST /api/v1/notifications/{id}/retry"
        ),
        DeliveryStatus::Grouped => {}
    }
}

/// Adds a `notified` entry to the incident's timeline: channel, attempts,
/// outcome, last error.
fn record_on_timeline(manager: &IncidentManager, rec: &OutboxRecord) {
    let n = &rec.notification;
    let outcome = match rec.status {
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Pending => "retrying",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Grouped => "grouped",
    };
    let message = match &rec.last_error {
        Some(e) if rec.status != DeliveryStatus::Delivered => format!(
            "{} notification to {} ({}): {outcome} after {} attempt(s): {e}",
            n.event.as_str(),
            n.receiver,
            rec.channel,
            rec.attempts
        ),
        _ => format!(
            "{} notification to {} ({}): {outcome} after {} attempt(s)",
            n.event.as_str(),
            n.receiver,
            rec.channel,
            rec.attempts
        ),
    };
    let data = json!({
        "notification": n.id,
        "receiver": n.receiver,
        "channel": rec.channel,
        "event": n.event.as_str(),
        "attempts": rec.attempts,
        "outcome": outcome,
        "error": rec.last_error,
    });
    for inc in n.incidents() {
        if let Err(e) = manager.record_notified(inc.id, NOTIFIER, &message, data.clone()) {
            tracing::warn!(incident = inc.id, error = %e, "cannot record a delivery on the timeline");
        }
    }
}
