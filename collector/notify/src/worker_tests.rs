//! The delivery worker and reminders on a hand-driven wall clock
//! ([`ManualClock`]) and a paused tokio runtime: what is due, backoff and
//! reminders follow the manual clock, and the worker's waits between looks
//! pass in virtual time, so nothing here sleeps for real.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::channels::DeliveryOutcome;
use super::notifier::{Notifier, NotifyRules};
use super::outbox::{DeliveryStatus, Outbox, OutboxRecord};
use super::reminders::Reminders;
use super::worker::{Deliverer, Delivery, Worker};
use super::{Notification, NotifyEvent, RetryConfig};
use tocsin_cmdb::Cmdb;
use tocsin_incidents::store::Store;
use tocsin_incidents::{
    Incident, IncidentConfig, IncidentListener, IncidentManager, TimelineEntry, TimelineKind,
};
use tocsin_model::time::ManualClock;
use tocsin_model::{EventKind, RuleEvent, Severity, dedup_key};
use tocsin_storage::Db;

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000;
const MIN: i64 = 60_000;

/// One call of the deliverer: what, and when by the manual clock.
#[derive(Debug, Clone, PartialEq)]
struct Attempt {
    event: NotifyEvent,
    incident: u64,
    at: i64,
}

/// Answers with the scripted outcomes (then `Delivered`) and reports every call.
struct Scripted {
    outcomes: Mutex<VecDeque<DeliveryOutcome>>,
    attempts: mpsc::UnboundedSender<Attempt>,
    clock: ManualClock,
}

impl Deliverer for Scripted {
    fn deliver<'a>(&'a self, n: &'a Notification) -> Delivery<'a> {
        let _ = self.attempts.send(Attempt {
            event: n.event,
            incident: n.incident.id,
            at: self.clock.now_ms(),
        });
        let outcome = self
            .outcomes
            .lock()
            .pop_front()
            .unwrap_or(DeliveryOutcome::Delivered);
        Box::pin(async move { outcome })
    }
}

/// Forwards the `data` of every `notified` timeline entry: the worker writes
/// it last, after the outbox, so its arrival means the attempt is settled.
struct Recorded(mpsc::UnboundedSender<Value>);

impl IncidentListener for Recorded {
    fn on_entry(&self, _: &Incident, entry: &TimelineEntry) {
        if entry.kind == TimelineKind::Notified {
            let _ = self.0.send(entry.data.clone());
        }
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    clock: ManualClock,
    outbox: Arc<Outbox>,
    manager: Arc<IncidentManager>,
    attempts: mpsc::UnboundedReceiver<Attempt>,
    recorded: mpsc::UnboundedReceiver<Value>,
    _stop: watch::Sender<bool>,
}

/// A worker for one receiver, `hook`, running on a manual clock at `T0`.
fn start(
    outcomes: Vec<DeliveryOutcome>,
    retry: RetryConfig,
    repeat_every: Duration,
    group_window_ms: i64,
) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path()).unwrap());
    let clock = ManualClock::new(T0);
    let outbox = Arc::new(Outbox::open(db.clone()).unwrap());
    let rules = NotifyRules {
        receivers: [("hook".to_string(), "webhook".to_string())].into(),
        default_receivers: vec!["hook".into()],
        group_window_ms,
        ..NotifyRules::default()
    };
    let notifier = Arc::new(Notifier::new(rules, outbox.clone(), Store::new(db.clone())));
    let (recorded_tx, recorded) = mpsc::unbounded_channel();
    let cmdb = Arc::new(Cmdb::new(db.clone()));
    let manager = IncidentManager::open_with_clock(
        db.clone(),
        cmdb,
        IncidentConfig::default(),
        clock.clock(),
    )
    .unwrap()
    .with_outbox(notifier.clone())
    .with_listener(Arc::new(Recorded(recorded_tx)));
    let manager = Arc::new(manager);
    let (attempts_tx, attempts) = mpsc::unbounded_channel();
    let deliverer = Arc::new(Scripted {
        outcomes: Mutex::new(outcomes.into()),
        attempts: attempts_tx,
        clock: clock.clone(),
    });
    let reminders = Reminders::new(repeat_every, notifier);
    let worker = Worker::new(outbox.clone(), deliverer, manager.clone(), retry, reminders)
        .with_group_window(group_window_ms)
        .with_clock(clock.clock());
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(worker.run(shutdown));
    Fixture {
        _dir: dir,
        clock,
        outbox,
        manager,
        attempts,
        recorded,
        _stop: stop,
    }
}

fn event(ci: &str, firing: bool) -> RuleEvent {
    let kind = if firing {
        EventKind::Firing {
            severity: Severity::Major,
            value: 99.0,
            threshold: 95.0,
            critical_severity: None,
            title: format!("disk_full on {ci}"),
            description: String::new(),
        }
    } else {
        EventKind::Resolved { value: 1.0 }
    };
    RuleEvent {
        rule: "disk_full".into(),
        ci_id: ci.into(),
        key: dedup_key("disk_full", ci, &[]),
        object: Vec::new(),
        at_ms: T0,
        kind,
    }
}

/// The next message on `rx`, which must come within 5 s of tokio's (virtual) time.
async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the worker acts within 5 s of virtual time")
        .expect("the channel stays open")
}

/// Asserts that nothing arrives on `rx` for `secs` of virtual time (the
/// worker looks at the outbox every second meanwhile).
async fn quiet<T: std::fmt::Debug>(rx: &mut mpsc::UnboundedReceiver<T>, secs: u64) {
    if let Ok(got) = tokio::time::timeout(Duration::from_secs(secs), rx.recv()).await {
        panic!("nothing is due yet, but got {got:?}");
    }
}

/// Waits until the last delivery is recorded on the incident's timeline
/// (after its outcome is stored in the outbox).
async fn settled(f: &mut Fixture) {
    let data = next(&mut f.recorded).await;
    assert_eq!(data["outcome"], "delivered", "{data}");
}

fn record(outbox: &Outbox) -> OutboxRecord {
    let all = outbox.list(&[], 10).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all.into_iter().next().unwrap()
}

fn attempt(event: NotifyEvent, at: i64) -> Attempt {
    Attempt {
        event,
        incident: 1,
        at,
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_waits_out_its_backoff_on_the_workers_clock() {
    let retry = RetryConfig {
        initial_backoff: Duration::from_secs(10),
        max_backoff: Duration::from_secs(60),
        max_attempts: 5,
    };
    let busy = DeliveryOutcome::Retry {
        error: "HTTP 503".into(),
        after: None,
    };
    let mut f = start(vec![busy], retry, Duration::ZERO, 0);
    f.manager.handle(vec![event("h1", true)]).unwrap();

    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Opened, T0)
    );
    let first = next(&mut f.recorded).await;
    assert_eq!(
        (&first["outcome"], &first["attempts"]),
        (&"retrying".into(), &1.into())
    );
    let rec = record(&f.outbox);
    assert_eq!(
        (rec.status, rec.attempts, rec.next_attempt_at),
        (DeliveryStatus::Pending, 1, T0 + 10_000)
    );

    // However long the worker runs, the clock has not moved: no new attempt.
    quiet(&mut f.attempts, 30).await;
    f.clock.advance(9_999);
    quiet(&mut f.attempts, 5).await;
    f.clock.advance(1);
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Opened, T0 + 10_000)
    );
    let second = next(&mut f.recorded).await;
    assert_eq!(
        (&second["outcome"], &second["attempts"]),
        (&"delivered".into(), &2.into())
    );
    let rec = record(&f.outbox);
    assert_eq!(
        (rec.status, rec.delivered_at),
        (DeliveryStatus::Delivered, Some(T0 + 10_000))
    );

    // Delivered is final.
    f.clock.advance(60 * MIN);
    quiet(&mut f.attempts, 10).await;
}

#[tokio::test(start_paused = true)]
async fn an_unacknowledged_major_incident_is_reminded_every_interval_until_acknowledged() {
    let every = Duration::from_secs(30 * 60);
    let mut f = start(Vec::new(), RetryConfig::default(), every, 0);
    f.manager.handle(vec![event("h1", true)]).unwrap();
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Opened, T0)
    );
    settled(&mut f).await;

    f.clock.advance(29 * MIN);
    quiet(&mut f.attempts, 10).await;
    f.clock.advance(MIN);
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Reminder, T0 + 30 * MIN)
    );
    settled(&mut f).await;
    // One reminder per interval, however often the worker looks.
    quiet(&mut f.attempts, 30).await;
    f.clock.advance(30 * MIN);
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Reminder, T0 + 60 * MIN)
    );
    // (Acknowledged before the reminder is settled, the acknowledgement would
    // wait for it: a receiver hears an incident's events in order.)
    settled(&mut f).await;
    f.manager.ack(1, "ops", None).unwrap();
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Acknowledged, T0 + 60 * MIN)
    );
    f.clock.advance(90 * MIN);
    quiet(&mut f.attempts, 10).await;
}

#[tokio::test(start_paused = true)]
async fn a_resolution_waits_for_the_opening_held_by_the_grouping_window() {
    let mut f = start(Vec::new(), RetryConfig::default(), Duration::ZERO, MIN);
    f.manager.handle(vec![event("h1", true)]).unwrap();
    f.manager.handle(vec![event("h1", false)]).unwrap();

    // The resolution is due at once but may not overtake the opening, which
    // waits out the window.
    quiet(&mut f.attempts, 10).await;
    f.clock.advance(MIN);
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Opened, T0 + MIN)
    );
    // The resolution looks again 200 ms later by the worker's clock.
    settled(&mut f).await;
    f.clock.advance(200);
    assert_eq!(
        next(&mut f.attempts).await,
        attempt(NotifyEvent::Resolved, T0 + MIN + 200)
    );
}

#[test]
fn reminders_after_a_restart_neither_repeat_at_once_nor_skip_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path()).unwrap());
    let clock = ManualClock::new(T0);
    let outbox = Arc::new(Outbox::open(db.clone()).unwrap());
    let rules = NotifyRules {
        receivers: [("hook".to_string(), "webhook".to_string())].into(),
        default_receivers: vec!["hook".into()],
        ..NotifyRules::default()
    };
    let notifier = Arc::new(Notifier::new(rules, outbox.clone(), Store::new(db.clone())));
    let cmdb = Arc::new(Cmdb::new(db.clone()));
    let manager =
        IncidentManager::open_with_clock(db, cmdb, IncidentConfig::default(), clock.clock())
            .unwrap()
            .with_outbox(notifier.clone());
    manager.handle(vec![event("h1", true)]).unwrap();
    let reminders = || -> Vec<String> {
        outbox
            .list(&[], 100)
            .unwrap()
            .into_iter()
            .filter(|r| r.notification.event == NotifyEvent::Reminder)
            .map(|r| r.notification.idempotency_key)
            .collect()
    };

    // The collector comes back 45 minutes in: the first reminder (due at
    // 30 minutes) went out before the restart, so none is sent now…
    let mut r = Reminders::new(Duration::from_secs(30 * 60), notifier).unwrap();
    r.tick(&manager, &outbox, clock.advance(45 * MIN));
    r.tick(&manager, &outbox, clock.advance(MIN));
    assert_eq!(reminders(), Vec::<String>::new());
    // …and the second comes on time, once.
    r.tick(&manager, &outbox, clock.advance(13 * MIN));
    assert_eq!(reminders(), Vec::<String>::new());
    r.tick(&manager, &outbox, clock.advance(MIN));
    r.tick(&manager, &outbox, clock.advance(MIN));
    let sent = reminders();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].ends_with("r2"), "{sent:?}");
}
