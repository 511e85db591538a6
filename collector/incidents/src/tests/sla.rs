//! SLA clocks: due times, met/breached, escalation on tick, suppression.

use super::*;
use crate::Suppressor;
use tocsin_model::incident::StageStatus;

fn stage(f: &Fixture, id: u64, name: &str) -> (StageStatus, i64) {
    let sla = f.get(id).incident.sla;
    let s = match name {
        "respond" => sla.respond,
        "assign" => sla.assign,
        _ => sla.resolve,
    }
    .unwrap();
    (s.status, s.due_at)
}

#[test]
fn missed_response_escalates_once_per_stage() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    assert_eq!(
        stage(&f, 1, "respond"),
        (StageStatus::Pending, T0 + 10 * MIN)
    );
    assert_eq!(stage(&f, 1, "assign").1, T0 + 60 * MIN);
    assert_eq!(stage(&f, 1, "resolve").1, T0 + 240 * MIN);

    f.mgr.tick(T0 + 9 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 1);
    f.mgr.tick(T0 + 11 * MIN).unwrap();
    let d = f.get(1);
    assert_eq!(d.incident.tier, 2);
    assert_eq!(stage(&f, 1, "respond").0, StageStatus::Breached);
    let esc = d
        .timeline
        .iter()
        .find(|e| e.kind == TimelineKind::Escalated)
        .unwrap();
    assert_eq!(esc.data["stage"], serde_json::json!("respond"));
    assert_eq!(esc.data["to_tier"], serde_json::json!(2));
    f.mgr.tick(T0 + 12 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 2, "no second escalation");

    f.advance(20 * MIN);
    f.mgr.ack(1, "alice", None).unwrap();
    assert_eq!(stage(&f, 1, "respond").0, StageStatus::Breached, "late ack");
    f.mgr.tick(T0 + 61 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 3);
    f.mgr.tick(T0 + 241 * MIN).unwrap();
    let d = f.get(1);
    assert_eq!(d.incident.tier, 3, "tier 3 is the top");
    assert_eq!(
        d.timeline
            .iter()
            .filter(|e| e.kind == TimelineKind::Escalated)
            .count(),
        3
    );
}

#[test]
fn stages_met_in_time_do_not_escalate() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    f.advance(5 * MIN);
    f.mgr.assign(1, "alice", "bob").unwrap();
    assert_eq!(
        stage(&f, 1, "respond").0,
        StageStatus::Met,
        "assigning responds"
    );
    assert_eq!(stage(&f, 1, "assign").0, StageStatus::Met);
    f.advance(5 * MIN);
    f.handle(vec![resolved("h1", 10.0)]);
    assert_eq!(stage(&f, 1, "resolve").0, StageStatus::Met);
    f.mgr.tick(T0 + 300 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 1);
}

#[test]
fn auto_resolution_skips_unreached_stages() {
    let f = Fixture::new();
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    f.advance(2 * MIN);
    f.handle(vec![resolved("h1", 10.0)]);
    assert_eq!(stage(&f, 1, "respond").0, StageStatus::Skipped);
    assert_eq!(stage(&f, 1, "resolve").0, StageStatus::Met);
    // Reopened: response is owed again, counted from the reopening.
    f.advance(3 * MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    assert_eq!(
        stage(&f, 1, "respond"),
        (StageStatus::Pending, T0 + 15 * MIN)
    );
    assert_eq!(
        stage(&f, 1, "resolve"),
        (StageStatus::Pending, T0 + 240 * MIN)
    );
}

struct Window;

impl Suppressor for Window {
    fn suppress(&self, ci_id: &str, _class: Option<&str>, _at: i64) -> Option<String> {
        (ci_id == "h1").then(|| "change CHG-42".to_string())
    }
}

#[test]
fn suppressed_incidents_run_no_clock() {
    let mut f = Fixture::new();
    f.rebuild(|m| m.with_suppressor(Arc::new(Window)));
    f.handle(vec![
        firing("h1", Severity::Major, 97.0),
        firing("h2", Severity::Major, 97.0),
    ]);
    let d = f.get(1);
    assert_eq!(d.incident.suppressed.as_deref(), Some("change CHG-42"));
    assert!(d.incident.sla.respond.is_none());
    assert!(d.incident.sla.note.unwrap().contains("CHG-42"));
    assert!(f.kinds(1).contains(&TimelineKind::Suppressed));
    assert!(f.get(2).incident.suppressed.is_none());
    f.mgr.tick(T0 + 11 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 1);
    assert_eq!(f.get(2).incident.tier, 2);
}

/// A maintenance window of `h1` from `starts` (inclusive) to `ends` (exclusive).
struct Timed {
    starts: i64,
    ends: i64,
}

impl Suppressor for Timed {
    fn suppress(&self, ci_id: &str, _class: Option<&str>, at: i64) -> Option<String> {
        (ci_id == "h1" && (self.starts..self.ends).contains(&at))
            .then(|| "maintenance window 1: CHG-42".to_string())
    }
}

fn with_window(starts: i64, ends: i64) -> Fixture {
    let mut f = Fixture::new();
    f.rebuild(|m| m.with_suppressor(Arc::new(Timed { starts, ends })));
    f
}

#[test]
fn window_end_lifts_suppression_and_starts_the_clock() {
    let mut f = with_window(T0 - MIN, T0 + 30 * MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    for at in [T0 + 10 * MIN, T0 + 30 * MIN - 1] {
        f.mgr.tick(at).unwrap();
        let inc = f.get(1).incident;
        assert!(inc.suppressed.is_some(), "still inside the window");
        assert!(inc.sla.started_at.is_none() && inc.sla.respond.is_none());
        assert_eq!(inc.tier, 1);
    }
    assert!(!f.kinds(1).contains(&TimelineKind::Unsuppressed));

    let end = T0 + 30 * MIN;
    f.mgr.tick(end).unwrap();
    // Written, not only in memory.
    f.restart();
    let d = f.get(1);
    assert_eq!(d.incident.suppressed, None);
    assert_eq!(d.incident.sla.started_at, Some(end));
    assert_eq!(d.incident.sla.note, None);
    assert_eq!(
        stage(&f, 1, "respond"),
        (StageStatus::Pending, end + 10 * MIN)
    );
    assert_eq!(stage(&f, 1, "resolve").1, end + 240 * MIN);
    let entry = d.timeline.last().unwrap();
    assert_eq!(entry.kind, TimelineKind::Unsuppressed);
    assert_eq!(entry.at, end);
    assert_eq!(
        entry.message,
        "maintenance window ended; incident is now worked normally"
    );
    assert_eq!(
        serde_json::to_value(entry.kind).unwrap(),
        serde_json::json!("unsuppressed")
    );
    // Once: later ticks change nothing, and the clock now escalates.
    f.mgr.tick(end + MIN).unwrap();
    assert_eq!(f.kinds(1).len(), d.timeline.len());
    f.mgr.tick(end + 11 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 2);
}

#[test]
fn reopening_asks_the_suppressor_again() {
    // Opened inside the window, reopened after it ended: worked normally.
    let f = with_window(T0 - MIN, T0 + 30 * MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    f.advance(5 * MIN);
    f.handle(vec![resolved("h1", 10.0)]);
    let at = f.advance(35 * MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    let d = f.get(1);
    assert_eq!(d.incident.reopen_count, 1);
    assert_eq!(d.incident.suppressed, None);
    assert_eq!(d.incident.sla.started_at, Some(at));
    assert_eq!(
        stage(&f, 1, "respond"),
        (StageStatus::Pending, at + 10 * MIN)
    );
    let kinds = f.kinds(1);
    assert_eq!(
        kinds[kinds.len() - 2..],
        [TimelineKind::Reopened, TimelineKind::Unsuppressed]
    );

    // Opened before the window, reopened inside it: suppressed, no clock,
    // until the window ends.
    let f = with_window(T0 + 20 * MIN, T0 + 50 * MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    f.advance(5 * MIN);
    f.handle(vec![resolved("h1", 10.0)]);
    f.advance(20 * MIN);
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    let inc = f.get(1).incident;
    assert_eq!(
        inc.suppressed.as_deref(),
        Some("maintenance window 1: CHG-42")
    );
    assert!(inc.sla.note.unwrap().contains("CHG-42"));
    assert_eq!(stage(&f, 1, "respond").0, StageStatus::Skipped);
    assert_eq!(f.kinds(1).last(), Some(&TimelineKind::Suppressed));
    f.mgr.tick(T0 + 45 * MIN).unwrap();
    assert_eq!(f.get(1).incident.tier, 1);
    f.mgr.tick(T0 + 50 * MIN).unwrap();
    let inc = f.get(1).incident;
    assert_eq!(inc.suppressed, None);
    assert_eq!(inc.sla.started_at, Some(T0), "the clock resumes");
    assert_eq!(inc.sla.note, None);
    assert_eq!(
        stage(&f, 1, "respond"),
        (StageStatus::Pending, T0 + 60 * MIN)
    );
    assert_eq!(
        stage(&f, 1, "resolve"),
        (StageStatus::Pending, T0 + 240 * MIN)
    );
}
