//! People's actions: every legal and illegal transition.

use std::sync::Mutex;

use super::*;
use crate::{IncidentError, IncidentListener};
use tocsin_model::incident::{Incident, Status, TimelineEntry};

fn open_one(f: &Fixture) {
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
}

fn illegal(r: Result<Incident, IncidentError>) -> String {
    match r {
        Err(IncidentError::IllegalTransition { message, .. }) => message,
        other => panic!("expected an illegal transition, got {other:?}"),
    }
}

fn invalid(r: Result<Incident, IncidentError>) -> String {
    match r {
        Err(IncidentError::Invalid(m)) => m,
        other => panic!("expected an invalid request, got {other:?}"),
    }
}

#[test]
fn ack_assign_comment_resolve_close() {
    let f = Fixture::new();
    open_one(&f);
    f.advance(MIN);
    let i = f.mgr.ack(1, "alice", Some("looking")).unwrap();
    assert_eq!(i.status, Status::Acknowledged);
    assert_eq!(i.acknowledged_at, Some(T0 + MIN));
    assert_eq!(i.acknowledged_by.as_deref(), Some("alice"));
    let i = f.mgr.assign(1, "alice", "bob").unwrap();
    assert_eq!(i.assigned_to.as_deref(), Some("bob"));
    assert_eq!(i.status, Status::Acknowledged);
    let i = f.mgr.assign(1, "alice", "carol").unwrap();
    assert_eq!(i.assigned_to.as_deref(), Some("carol"));
    f.mgr.comment(1, "bob", "replacing the disk").unwrap();
    f.advance(MIN);
    let i = f.mgr.resolve(1, "carol", "disk replaced").unwrap();
    assert_eq!(i.status, Status::Resolved);
    assert_eq!(i.resolved_by.as_deref(), Some("carol"));
    f.mgr.comment(1, "bob", "post-mortem follows").unwrap();
    let i = f.mgr.close(1, "alice", None).unwrap();
    assert_eq!(i.status, Status::Closed);
    assert_eq!(i.closed_at, Some(T0 + 2 * MIN));
    let d = f.get(1);
    let who: Vec<(TimelineKind, &str)> = d
        .timeline
        .iter()
        .map(|e| (e.kind, e.actor.as_str()))
        .collect();
    assert_eq!(
        who,
        vec![
            (TimelineKind::Opened, "system"),
            (TimelineKind::Acknowledged, "alice"),
            (TimelineKind::Assigned, "alice"),
            (TimelineKind::Assigned, "alice"),
            (TimelineKind::Comment, "bob"),
            (TimelineKind::Resolved, "carol"),
            (TimelineKind::Comment, "bob"),
            (TimelineKind::Closed, "alice"),
        ]
    );
    assert!(
        d.timeline[3]
            .message
            .contains("reassigned from bob to carol")
    );
    assert_eq!(d.timeline[4].message, "replacing the disk");
    // Stored, not only in memory.
    assert_eq!(f.mgr.store.get(1).unwrap().unwrap().status, Status::Closed);
}

#[test]
fn illegal_transitions_are_refused_and_change_nothing() {
    let f = Fixture::new();
    open_one(&f);
    f.mgr.ack(1, "alice", None).unwrap();
    assert_eq!(
        illegal(f.mgr.ack(1, "alice", None)),
        "incident 1 is already acknowledged"
    );
    f.mgr.resolve(1, "alice", "fixed").unwrap();
    assert_eq!(
        illegal(f.mgr.ack(1, "bob", None)),
        "incident 1 is resolved; it cannot be acknowledged"
    );
    assert_eq!(
        illegal(f.mgr.assign(1, "bob", "carol")),
        "incident 1 is resolved; it cannot be assigned"
    );
    assert_eq!(
        illegal(f.mgr.resolve(1, "bob", "again")),
        "incident 1 is resolved; it cannot be resolved"
    );
    f.mgr.close(1, "alice", None).unwrap();
    let before = f.get(1);
    assert_eq!(
        illegal(f.mgr.ack(1, "bob", None)),
        "incident 1 is closed; it cannot be acknowledged"
    );
    assert_eq!(
        illegal(f.mgr.close(1, "bob", Some("x"))),
        "incident 1 is closed; it cannot be closed"
    );
    assert_eq!(
        illegal(f.mgr.resolve(1, "bob", "x")),
        "incident 1 is closed; it cannot be resolved"
    );
    let after = f.get(1);
    assert_eq!(before.timeline, after.timeline);
    assert_eq!(before.incident, after.incident);
    assert!(matches!(
        f.mgr.ack(99, "bob", None),
        Err(IncidentError::NotFound(99))
    ));
    assert_eq!(
        f.mgr.get(99).unwrap_err().to_string(),
        "no incident with id 99"
    );
}

#[test]
fn notes_are_required_where_documented() {
    let f = Fixture::new();
    open_one(&f);
    assert!(invalid(f.mgr.resolve(1, "alice", "  ")).starts_with("note"));
    assert!(invalid(f.mgr.close(1, "alice", None)).contains("required to close incident 1"));
    assert!(invalid(f.mgr.comment(1, "alice", "")).starts_with("text"));
    assert!(invalid(f.mgr.assign(1, "alice", "")).starts_with("assignee"));
    assert_eq!(f.get(1).timeline.len(), 1, "nothing changed");
    // Closing an open incident with a note also records its resolution.
    let i = f.mgr.close(1, "alice", Some("false alarm")).unwrap();
    assert_eq!(i.status, Status::Closed);
    assert_eq!(i.resolved_at, Some(T0));
    assert!(f.mgr.open_for_ci("h1").is_empty());
}

#[test]
fn reopened_incident_can_be_acknowledged_again() {
    let f = Fixture::new();
    open_one(&f);
    f.mgr.ack(1, "alice", None).unwrap();
    f.handle(vec![resolved("h1", 10.0)]);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    assert_eq!(f.get(1).incident.status, Status::Open);
    let i = f.mgr.ack(1, "bob", None).unwrap();
    assert_eq!(i.acknowledged_by.as_deref(), Some("bob"));
    assert_eq!(i.acknowledged_at, Some(T0), "first acknowledgement kept");
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(u64, TimelineKind)>>);

impl IncidentListener for Recorder {
    fn on_entry(&self, incident: &Incident, entry: &TimelineEntry) {
        self.0.lock().unwrap().push((incident.id, entry.kind));
    }
}

#[test]
fn listener_hears_every_written_entry() {
    let mut f = Fixture::new();
    let rec = Arc::new(Recorder::default());
    f.rebuild(|m| m.with_listener(rec.clone()));
    open_one(&f);
    f.handle(vec![firing("h1", Severity::Major, 98.0)]);
    f.mgr.ack(1, "alice", None).unwrap();
    assert!(f.mgr.ack(1, "alice", None).is_err());
    assert_eq!(
        *rec.0.lock().unwrap(),
        vec![(1, TimelineKind::Opened), (1, TimelineKind::Acknowledged)]
    );
}

#[test]
fn problem_records_link_recurring_incidents() {
    use crate::problems::{ProblemConfig, ProblemStore};
    let mut f = Fixture::new();
    let problems = Arc::new(
        ProblemStore::open(
            f.db.clone(),
            ProblemConfig {
                threshold: 2,
                ..ProblemConfig::default()
            },
        )
        .unwrap(),
    );
    f.rebuild(|m| m.with_problems(problems.clone()));
    open_one(&f);
    f.mgr.close(1, "ops", Some("x")).unwrap();
    f.handle(vec![resolved("h1", 1.0)]);
    assert_eq!(f.get(1).incident.problem_id, None);
    open_one(&f);
    let p = problems
        .problem_of(2)
        .expect("second opening raises a problem");
    assert_eq!(f.get(2).incident.problem_id, Some(p));
    assert_eq!(f.get(1).incident.problem_id, Some(p), "earlier ones too");
    assert!(f.kinds(2).contains(&TimelineKind::ProblemLinked));
}
