//! The outbox, the notifier staging through the incident manager, and the
//! worker's bookkeeping, on a real store.

use std::sync::Arc;
use std::time::Duration;

use super::channels::DeliveryOutcome;
use super::notifier::{Notifier, NotifyRules};
use super::outbox::{DeliveryStatus, Outbox};
use super::worker::apply;
use super::{NotifyEvent, RetryConfig};
use tocsin_cmdb::Cmdb;
use tocsin_incidents::store::Store;
use tocsin_incidents::{IncidentConfig, IncidentManager};
use tocsin_model::time::ManualClock;
use tocsin_model::{EventKind, RuleEvent, Severity, dedup_key};
use tocsin_storage::Db;

/// 2023-11-14T22:13:20Z, where every fixture's clock stands.
const T0: i64 = 1_700_000_000_000;

fn firing(rule: &str, ci: &str, severity: Severity) -> RuleEvent {
    RuleEvent {
        rule: rule.into(),
        ci_id: ci.into(),
        key: dedup_key(rule, ci, &[]),
        object: Vec::new(),
        at_ms: T0,
        kind: EventKind::Firing {
            severity,
            value: 99.0,
            threshold: 95.0,
            critical_severity: None,
            title: format!("{rule} on {ci}"),
            description: String::new(),
        },
    }
}

fn resolved(rule: &str, ci: &str) -> RuleEvent {
    RuleEvent {
        kind: EventKind::Resolved { value: 1.0 },
        ..firing(rule, ci, Severity::Major)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    db: Arc<Db>,
    outbox: Arc<Outbox>,
    manager: IncidentManager,
    clock: ManualClock,
}

fn fixture() -> Fixture {
    fixture_with_window(0)
}

fn fixture_with_window(group_window_ms: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path()).unwrap());
    let outbox = Arc::new(Outbox::open(db.clone()).unwrap());
    let rules = NotifyRules {
        receivers: [
            ("hook".to_string(), "webhook".to_string()),
            ("mail".into(), "email".into()),
        ]
        .into(),
        routes: vec![super::routing::Route {
            severity: vec![Severity::Major],
            receivers: vec!["hook".into(), "mail".into()],
            ..Default::default()
        }],
        default_receivers: vec!["hook".into()],
        group_window_ms,
    };
    let notifier = Arc::new(Notifier::new(rules, outbox.clone(), Store::new(db.clone())));
    let cmdb = Arc::new(Cmdb::new(db.clone()));
    let clock = ManualClock::new(T0);
    let manager = IncidentManager::open_with_clock(
        db.clone(),
        cmdb,
        IncidentConfig::default(),
        clock.clock(),
    )
    .unwrap()
    .with_outbox(notifier);
    Fixture {
        _dir: dir,
        db,
        outbox,
        manager,
        clock,
    }
}

fn pending(outbox: &Outbox) -> Vec<(String, NotifyEvent, u64)> {
    let mut v: Vec<_> = outbox
        .list(&[DeliveryStatus::Pending], 100)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.notification.receiver,
                r.notification.event,
                r.notification.incident.id,
            )
        })
        .collect();
    v.sort_by_key(|x| (x.2, x.0.clone()));
    v
}

#[test]
fn incident_changes_stage_one_notification_per_receiver_in_the_same_write() {
    let f = fixture();
    f.manager
        .handle(vec![firing("disk_full", "h1", Severity::Major)])
        .unwrap();
    assert_eq!(
        pending(&f.outbox),
        vec![
            ("hook".into(), NotifyEvent::Opened, 1),
            ("mail".into(), NotifyEvent::Opened, 1)
        ]
    );
    f.manager
        .handle(vec![firing("cpu_high", "h2", Severity::Warning)])
        .unwrap();
    f.manager.ack(1, "ops", None).unwrap();
    f.manager.handle(vec![resolved("disk_full", "h1")]).unwrap();
    let events: Vec<_> = pending(&f.outbox)
        .into_iter()
        .map(|(r, e, i)| format!("{i}:{r}:{}", e.as_str()))
        .collect();
    for want in ["1:hook:acknowledged", "1:mail:resolved", "2:hook:opened"] {
        assert!(events.contains(&want.to_string()), "{events:?}");
    }
    assert!(
        !events.iter().any(|e| e.starts_with("2:mail")),
        "warnings go to the default route only"
    );
    // Value updates and the notifier's own timeline entries notify nobody.
    let before = f.outbox.list(&[], 1000).unwrap().len();
    f.manager
        .handle(vec![firing("cpu_high", "h2", Severity::Warning)])
        .unwrap();
    f.manager
        .record_notified(
            2,
            "notifier",
            "opened notification to hook (webhook): delivered",
            serde_json::Value::Null,
        )
        .unwrap();
    f.manager.flush().unwrap();
    assert_eq!(f.outbox.list(&[], 1000).unwrap().len(), before);

    // Everything staged is durable: a fresh outbox on the same store finds it due.
    let n = f
        .outbox
        .list(&[DeliveryStatus::Pending], 1000)
        .unwrap()
        .len();
    let reopened = Outbox::open(f.db.clone()).unwrap();
    let mut due = 0;
    while reopened.take_due(i64::MAX).is_some() {
        due += 1;
    }
    assert_eq!(due, n);
    let key = &f.outbox.list(&[], 1).unwrap()[0]
        .notification
        .idempotency_key;
    assert!(
        key.starts_with("hook/") || key.starts_with("mail/"),
        "{key}"
    );
}

#[test]
fn outbox_only_schedules_committed_records_and_keeps_delivered_ones_delivered() {
    let f = fixture();
    f.manager
        .handle(vec![firing("disk_full", "h1", Severity::Warning)])
        .unwrap();
    let id = f
        .outbox
        .take_due(i64::MAX)
        .expect("opened notification due");
    assert!(f.outbox.take_due(i64::MAX).is_none(), "taken once");

    let rec = f.outbox.get(id).unwrap().unwrap();
    let retry = RetryConfig {
        initial_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(60),
        max_attempts: 3,
    };
    let now = 1_000_000;
    let rec = apply(
        rec,
        DeliveryOutcome::Retry {
            error: "HTTP 429".into(),
            after: Some(Duration::from_secs(7)),
        },
        &retry,
        now,
    );
    assert_eq!(
        (rec.status, rec.attempts, rec.next_attempt_at),
        (DeliveryStatus::Pending, 1, now + 7_000)
    );
    f.outbox.update(&rec).unwrap();
    assert!(
        f.outbox.take_due(now + 6_999).is_none(),
        "Retry-After honoured"
    );
    assert_eq!(f.outbox.take_due(now + 7_000), Some(id));

    let rec = apply(rec, DeliveryOutcome::Delivered, &retry, now + 7_000);
    assert_eq!((rec.status, rec.attempts), (DeliveryStatus::Delivered, 2));
    f.outbox.update(&rec).unwrap();
    let reopened = Outbox::open(f.db.clone()).unwrap();
    assert!(
        reopened.take_due(i64::MAX).is_none(),
        "a delivered notification is never sent again"
    );
    assert_eq!(
        reopened.retry(id, now).unwrap().unwrap().status,
        DeliveryStatus::Delivered
    );
}

#[test]
fn attempts_run_out_into_failed_and_a_manual_retry_starts_afresh() {
    let f = fixture();
    f.manager
        .handle(vec![firing("disk_full", "h1", Severity::Warning)])
        .unwrap();
    let id = f.outbox.take_due(i64::MAX).unwrap();
    let retry = RetryConfig {
        max_attempts: 2,
        ..RetryConfig::default()
    };
    let mut rec = f.outbox.get(id).unwrap().unwrap();
    for _ in 0..2 {
        rec = apply(
            rec,
            DeliveryOutcome::Retry {
                error: "timeout".into(),
                after: None,
            },
            &retry,
            0,
        );
    }
    assert_eq!(rec.status, DeliveryStatus::Failed);
    assert_eq!(rec.last_error.as_deref(), Some("timeout"));
    f.outbox.update(&rec).unwrap();
    assert!(f.outbox.take_due(i64::MAX).is_none());
    let permanent = apply(
        rec.clone(),
        DeliveryOutcome::Failed {
            error: "HTTP 400".into(),
        },
        &retry,
        0,
    );
    assert_eq!(permanent.status, DeliveryStatus::Failed);

    f.outbox.update(&permanent).unwrap();
    let again = f.outbox.retry(id, 5).unwrap().unwrap();
    assert_eq!((again.status, again.attempts), (DeliveryStatus::Pending, 0));
    assert_eq!(f.outbox.take_due(5), Some(id));
    assert!(f.outbox.retry(999, 5).unwrap().is_none());
}

#[test]
fn openings_within_the_window_travel_together_and_are_not_sent_twice() {
    let f = fixture_with_window(60_000);
    f.manager
        .handle(vec![firing("disk_full", "h1", Severity::Warning)])
        .unwrap();
    f.manager
        .handle(vec![firing("disk_full", "h2", Severity::Warning)])
        .unwrap();
    assert!(
        f.outbox.take_due(f.clock.now_ms()).is_none(),
        "openings wait out the window"
    );
    let lead = f.outbox.take_due(i64::MAX).unwrap();
    let rec = f.outbox.get(lead).unwrap().unwrap();
    let mut members = f.outbox.take_group(&rec, 60_000).unwrap();
    assert_eq!(members.len(), 1);
    f.outbox.mark_grouped(&mut members).unwrap();
    assert_eq!(members[0].notification.incident.ci_id, "h2");
    assert!(
        f.outbox.take_due(i64::MAX).is_none(),
        "the member left the queue"
    );
    let reopened = Outbox::open(f.db.clone()).unwrap();
    let mut due = Vec::new();
    while let Some(id) = reopened.take_due(i64::MAX) {
        due.push(id);
    }
    assert_eq!(
        due,
        vec![lead],
        "after a restart only the lead is sent (with the group)"
    );
    let grouped = f.outbox.list(&[DeliveryStatus::Grouped], 10).unwrap();
    assert_eq!(grouped[0].grouped_into, Some(lead));
}

#[test]
fn a_receiver_hears_an_incidents_events_in_order() {
    let f = fixture_with_window(60_000);
    f.manager
        .handle(vec![firing("disk_full", "h1", Severity::Warning)])
        .unwrap();
    f.manager.handle(vec![resolved("disk_full", "h1")]).unwrap();
    // The opening waits out the grouping window; the resolution is due now
    // but must not overtake it.
    let resolved_id = f
        .outbox
        .take_due(f.clock.now_ms())
        .expect("resolution due at once");
    let resolution = f.outbox.get(resolved_id).unwrap().unwrap();
    assert_eq!(resolution.notification.event, NotifyEvent::Resolved);
    assert!(f.outbox.waits_for_earlier(&resolution));

    let opened_id = f.outbox.take_due(i64::MAX).unwrap();
    let opening = f.outbox.get(opened_id).unwrap().unwrap();
    assert!(!f.outbox.waits_for_earlier(&opening));
    let retry = RetryConfig::default();
    let delivered = apply(
        opening,
        DeliveryOutcome::Delivered,
        &retry,
        f.clock.now_ms(),
    );
    f.outbox.update(&delivered).unwrap();
    assert!(
        !f.outbox.waits_for_earlier(&resolution),
        "free once the opening is delivered"
    );

    // A permanent failure does not block what follows either.
    f.manager
        .handle(vec![firing("disk_full", "h9", Severity::Warning)])
        .unwrap();
    f.manager.handle(vec![resolved("disk_full", "h9")]).unwrap();
    let mut taken = Vec::new();
    while let Some(id) = f.outbox.take_due(i64::MAX) {
        taken.push(f.outbox.get(id).unwrap().unwrap());
    }
    taken.sort_by_key(|r| r.notification.id);
    let (first, second) = (&taken[0], &taken[1]);
    assert_eq!(first.notification.event, NotifyEvent::Opened);
    assert!(f.outbox.waits_for_earlier(second));
    let failed = apply(
        first.clone(),
        DeliveryOutcome::Failed {
            error: "400".into(),
        },
        &retry,
        0,
    );
    f.outbox.update(&failed).unwrap();
    assert!(!f.outbox.waits_for_earlier(second));
}
