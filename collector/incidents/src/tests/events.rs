//! Rule events: open, dedup, values, severity, resolve, reopen, flap, restart.

use serde_json::json;

use super::*;
use crate::{Incident, IncidentFilter};
use tocsin_model::incident::{Criticality, Priority, Status};

fn all(f: &Fixture) -> Vec<Incident> {
    f.mgr.list(&IncidentFilter::default()).unwrap()
}

#[test]
fn first_firing_opens_an_incident_with_the_ci_snapshot() {
    let f = Fixture::new();
    f.host(
        "h1",
        json!({"hostname": "web01", "ip_addresses": ["10.0.0.5"], "location": "DC1 R12",
               "os_name": "Debian", "owner": "team-web", "criticality": "high"}),
    );
    f.handle(vec![firing("h1", Severity::General, 91.5)]);
    let d = f.get(1);
    let i = &d.incident;
    assert_eq!(i.status, Status::Open);
    assert_eq!(i.rule, "disk_full");
    assert_eq!(i.key, "disk_full/h1/mountpoint=/");
    assert_eq!(i.severity, Severity::General);
    assert_eq!(i.criticality, Criticality::High);
    assert_eq!(i.priority, Priority::P2);
    assert_eq!(i.opened_at, T0);
    assert_eq!(
        (i.last_value, i.peak_value, i.threshold),
        (91.5, 91.5, 90.0)
    );
    assert_eq!((i.occurrences, i.tier), (1, 1));
    let ci = i.ci.as_ref().unwrap();
    assert_eq!(ci.hostname.as_deref(), Some("web01"));
    assert_eq!(ci.ip_addresses, vec!["10.0.0.5".to_string()]);
    assert_eq!(ci.owner.as_deref(), Some("team-web"));
    assert_eq!(d.timeline.len(), 1);
    assert_eq!(d.timeline[0].kind, TimelineKind::Opened);
    assert_eq!(d.timeline[0].actor, "system");
    // The snapshot does not follow later CI changes.
    f.host("h1", json!({"location": "DC2"}));
    assert_eq!(
        f.get(1).incident.ci.unwrap().location.as_deref(),
        Some("DC1 R12")
    );
    assert_eq!(f.mgr.open_for_ci("h1").len(), 1);
    assert!(f.mgr.open_for_ci("h2").is_empty());
}

#[test]
fn unknown_ci_opens_with_medium_criticality() {
    let f = Fixture::new();
    f.handle(vec![firing("ghost", Severity::Major, 99.0)]);
    let i = f.get(1).incident;
    assert!(i.ci.is_none());
    assert_eq!(i.criticality, Criticality::Medium);
    assert_eq!(i.priority, Priority::P2);
}

#[test]
fn breaches_update_the_open_incident_and_are_flushed_coalesced() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    f.handle(vec![
        firing("h1", Severity::General, 94.0),
        firing("h1", Severity::General, 92.0),
    ]);
    assert_eq!(all(&f).len(), 1, "deduplicated");
    let i = f.get(1).incident;
    assert_eq!((i.last_value, i.peak_value, i.occurrences), (92.0, 94.0, 3));
    // Value updates are in memory only until flushed.
    let stored = f.mgr.store.get(1).unwrap().unwrap();
    assert_eq!(stored.occurrences, 1);
    f.mgr.flush().unwrap();
    assert_eq!(f.mgr.store.get(1).unwrap().unwrap().occurrences, 3);
    assert_eq!(f.kinds(1), vec![TimelineKind::Opened], "entry not due yet");
    let now = f.advance(61_000);
    f.mgr.tick(now).unwrap();
    let d = f.get(1);
    assert_eq!(d.timeline.len(), 2);
    assert_eq!(d.timeline[1].kind, TimelineKind::ValueUpdate);
    assert_eq!(d.timeline[1].data["samples"], json!(2), "after the opening");
    assert_eq!(d.timeline[1].data["max"], json!(94.0));
}

#[test]
fn peak_of_a_floor_threshold_is_the_lowest_value() {
    let f = Fixture::new();
    let mut low = firing("h1", Severity::General, 5.0);
    if let EventKind::Firing { threshold, .. } = &mut low.kind {
        *threshold = 10.0;
    }
    let mut lower = low.clone();
    if let EventKind::Firing { value, .. } = &mut lower.kind {
        *value = 2.0;
    }
    f.handle(vec![low.clone(), lower, low]);
    let i = f.get(1).incident;
    assert_eq!((i.last_value, i.peak_value), (5.0, 2.0));
}

#[test]
fn severity_rises_and_is_recorded_but_does_not_fall() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::Warning, 85.0)]);
    assert_eq!(f.get(1).incident.priority, Priority::P4);
    assert!(
        f.get(1).incident.sla.respond.is_none(),
        "no SLA for warnings"
    );
    f.advance(MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    let d = f.get(1);
    assert_eq!(d.incident.severity, Severity::Major);
    assert_eq!(d.incident.priority, Priority::P2);
    assert_eq!(d.incident.threshold, 95.0);
    let respond = d.incident.sla.respond.as_ref().unwrap();
    assert_eq!(
        respond.due_at,
        T0 + 11 * MIN,
        "clock starts with the first SLA severity"
    );
    let change = d
        .timeline
        .iter()
        .find(|e| e.kind == TimelineKind::SeverityChanged)
        .unwrap();
    assert_eq!(change.data["from"], json!("warning"));
    assert_eq!(change.data["to"], json!("major"));
    // Persisted immediately, without a flush.
    assert_eq!(
        f.mgr.store.get(1).unwrap().unwrap().severity,
        Severity::Major
    );
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    let i = f.get(1).incident;
    assert_eq!(i.severity, Severity::Major, "keeps the highest");
    assert_eq!(i.current_severity, Severity::General);
    assert_eq!(
        f.kinds(1)
            .iter()
            .filter(|k| **k == TimelineKind::SeverityChanged)
            .count(),
        1
    );
}

#[test]
fn recovery_resolves_automatically() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    f.advance(3 * MIN);
    f.handle(vec![resolved("h1", 70.0)]);
    let i = f.get(1).incident;
    assert_eq!(i.status, Status::Resolved);
    assert_eq!(i.resolved_by.as_deref(), Some("system"));
    assert_eq!(i.resolved_at, Some(T0 + 3 * MIN));
    assert!(!i.condition_active);
    assert_eq!(i.last_value, 70.0);
    assert_eq!(
        f.kinds(1),
        vec![TimelineKind::Opened, TimelineKind::Resolved]
    );
    assert!(f.mgr.open_for_ci("h1").is_empty());
    // A second recovery of the same fault changes nothing.
    f.handle(vec![resolved("h1", 60.0)]);
    assert_eq!(f.get(1).timeline.len(), 2);
}

#[test]
fn fires_again_within_the_window_reopens_later_opens_new() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    f.handle(vec![resolved("h1", 50.0)]);
    f.advance(10 * MIN);
    f.handle(vec![firing("h1", Severity::General, 93.0)]);
    assert_eq!(all(&f).len(), 1);
    let i = f.get(1).incident;
    assert_eq!(i.status, Status::Open);
    assert_eq!((i.reopen_count, i.occurrences), (1, 2));
    assert_eq!(i.resolved_at, None);
    assert!(f.kinds(1).contains(&TimelineKind::Reopened));

    f.handle(vec![resolved("h1", 50.0)]);
    f.advance(61 * MIN);
    f.handle(vec![firing("h1", Severity::General, 93.0)]);
    assert_eq!(all(&f).len(), 2, "resolved longer than the window ago");
    assert_eq!(f.get(2).incident.status, Status::Open);
    assert_eq!(f.get(1).incident.status, Status::Resolved);

    // Closed incidents are never reopened.
    f.handle(vec![resolved("h1", 50.0)]);
    f.mgr.close(2, "ops", None).unwrap();
    f.advance(MIN);
    f.handle(vec![firing("h1", Severity::General, 93.0)]);
    assert_eq!(all(&f).len(), 3);
    assert_eq!(f.get(2).incident.status, Status::Closed);
}

#[test]
fn resolve_and_refire_in_one_batch_reopens() {
    let f = Fixture::new();
    f.handle(vec![
        firing("h1", Severity::General, 91.0),
        resolved("h1", 50.0),
        firing("h1", Severity::General, 92.0),
    ]);
    assert_eq!(all(&f).len(), 1);
    let d = f.get(1);
    assert_eq!(d.incident.status, Status::Open);
    assert_eq!(d.incident.reopen_count, 1);
    let seqs: Vec<_> = d.timeline.iter().map(|e| e.kind).collect();
    assert_eq!(
        seqs,
        vec![
            TimelineKind::Opened,
            TimelineKind::Resolved,
            TimelineKind::Reopened
        ]
    );
}

#[test]
fn restart_and_resent_batches_never_duplicate() {
    let mut f = Fixture::new();
    let batch = vec![
        firing("h1", Severity::General, 91.0),
        firing("h2", Severity::Major, 99.0),
    ];
    f.handle(batch.clone());
    f.handle(batch.clone());
    assert_eq!(all(&f).len(), 2);
    f.restart();
    f.handle(batch.clone());
    assert_eq!(all(&f).len(), 2, "restart must not duplicate");
    assert_eq!(f.mgr.open_keys().len(), 2);
    // Unflushed value updates are lost at a crash, the incident is not.
    assert_eq!(f.get(1).incident.occurrences, 2);
    // A resolved incident is found again after a restart and reopened.
    f.handle(vec![resolved("h1", 10.0)]);
    f.restart();
    f.advance(5 * MIN);
    f.handle(vec![firing("h1", Severity::General, 95.0)]);
    assert_eq!(all(&f).len(), 2);
    assert_eq!(f.get(1).incident.reopen_count, 1);
    // Ids continue after a restart.
    f.handle(vec![firing("h3", Severity::General, 95.0)]);
    assert_eq!(f.get(3).incident.ci_id, "h3");
}

#[test]
fn flapping_is_flagged_and_cleared() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    f.handle(vec![flapping("h1", true, 6)]);
    let i = f.get(1).incident;
    assert!(i.flapping);
    assert_eq!(i.flap_transitions, 6);
    assert_eq!(i.status, Status::Open);
    f.handle(vec![flapping("h1", true, 7)]);
    f.handle(vec![flapping("h1", false, 1)]);
    assert!(!f.get(1).incident.flapping);
    let flaps: Vec<_> = f
        .get(1)
        .timeline
        .into_iter()
        .filter(|e| e.kind == TimelineKind::Flapping)
        .map(|e| e.data["flapping"].clone())
        .collect();
    assert_eq!(flaps, vec![json!(true), json!(false)]);
    // Flapping without an incident is ignored.
    f.handle(vec![flapping("h9", true, 5)]);
    assert_eq!(all(&f).len(), 1);
}

#[test]
fn manual_resolve_while_firing_ignores_the_same_fault() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    f.mgr.resolve(1, "ops", "disk cleaned").unwrap();
    f.advance(MIN);
    f.handle(vec![firing("h1", Severity::General, 92.0)]);
    assert_eq!(f.get(1).incident.status, Status::Resolved, "same fault");
    assert_eq!(all(&f).len(), 1);
    f.handle(vec![resolved("h1", 50.0)]);
    assert!(f.kinds(1).contains(&TimelineKind::ConditionCleared));
    f.advance(MIN);
    f.handle(vec![firing("h1", Severity::General, 92.0)]);
    assert_eq!(f.get(1).incident.status, Status::Open, "new fault reopens");
    // Worse than before ends the latch at once.
    f.mgr.resolve(1, "ops", "again").unwrap();
    f.handle(vec![firing("h1", Severity::Major, 99.0)]);
    let i = f.get(1).incident;
    assert_eq!((i.status, i.severity), (Status::Open, Severity::Major));
}

#[test]
fn quiet_latched_condition_expires_on_tick() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    f.mgr.close(1, "ops", Some("false alarm")).unwrap();
    let now = f.advance(16 * MIN);
    f.mgr.tick(now).unwrap();
    assert!(!f.get(1).incident.condition_active);
    f.handle(vec![firing("h1", Severity::General, 92.0)]);
    assert_eq!(all(&f).len(), 2, "closed: a new incident");
}

#[test]
fn list_filters_newest_first() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::General, 91.0)]);
    f.advance(MIN);
    f.handle(vec![firing("h2", Severity::Major, 99.0)]);
    f.advance(MIN);
    f.handle(vec![firing("h3", Severity::Warning, 85.0)]);
    f.handle(vec![resolved("h2", 10.0)]);
    let ids = |filter: IncidentFilter| -> Vec<u64> {
        f.mgr.list(&filter).unwrap().iter().map(|i| i.id).collect()
    };
    assert_eq!(ids(IncidentFilter::default()), vec![3, 2, 1]);
    let status = |s: Vec<Status>| IncidentFilter {
        status: s,
        ..Default::default()
    };
    assert_eq!(ids(status(vec![Status::Open])), vec![3, 1]);
    assert_eq!(ids(status(vec![Status::Resolved])), vec![2]);
    assert_eq!(
        ids(IncidentFilter {
            severity: vec![Severity::Major, Severity::Warning],
            ..Default::default()
        }),
        vec![3, 2]
    );
    assert_eq!(
        ids(IncidentFilter {
            ci_id: Some("h2".into()),
            ..Default::default()
        }),
        vec![2]
    );
    assert_eq!(
        ids(IncidentFilter {
            opened_from_ms: Some(T0 + MIN),
            opened_to_ms: Some(T0 + MIN),
            ..Default::default()
        }),
        vec![2]
    );
    assert_eq!(
        ids(IncidentFilter {
            opened_from_ms: Some(T0 + 30_000),
            ..Default::default()
        }),
        vec![3, 2]
    );
    assert_eq!(
        ids(IncidentFilter {
            limit: Some(1),
            ..Default::default()
        }),
        vec![3]
    );
    assert!(
        ids(IncidentFilter {
            ci_id: Some("h1".into()),
            status: vec![Status::Closed],
            ..Default::default()
        })
        .is_empty()
    );
}
