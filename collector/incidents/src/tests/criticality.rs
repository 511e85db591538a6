//! A rule's `critical_severity`: the severity on CIs whose criticality is critical.

use serde_json::json;

use super::*;
use tocsin_model::incident::{Criticality, Priority};

/// A breaching `general` sample of a rule with `critical_severity`.
fn firing_raisable(ci: &str, critical: Option<Severity>) -> RuleEvent {
    let mut e = firing(ci, Severity::General, 91.0);
    if let EventKind::Firing {
        critical_severity, ..
    } = &mut e.kind
    {
        *critical_severity = critical;
    }
    e
}

/// Raised to major on a critical CI, with the crossed general threshold.
fn assert_major_on_critical(i: &crate::Incident) {
    assert_eq!(
        (i.severity, i.current_severity),
        (Severity::Major, Severity::Major)
    );
    assert_eq!(i.threshold, 90.0, "the threshold stays the crossed one");
    assert_eq!(
        (i.criticality, i.priority),
        (Criticality::Critical, Priority::P1)
    );
}

#[test]
fn opening_on_a_critical_ci_fires_at_the_critical_severity() {
    let f = Fixture::new();
    f.host("h1", json!({"criticality": "critical"}));
    f.handle(vec![firing_raisable("h1", Some(Severity::Major))]);
    let d = f.get(1);
    let i = &d.incident;
    assert_major_on_critical(i);
    assert_eq!(i.sla.respond.as_ref().unwrap().due_at, T0 + 10 * MIN);
    let opened = &d.timeline[0];
    assert_eq!(opened.data["severity"], json!("major"));
    assert_eq!(opened.data["crossed_severity"], json!("general"));
    assert!(
        opened.message.contains("criticality is critical"),
        "{}",
        opened.message
    );

    // Without the key, criticality changes the priority only.
    f.handle(vec![firing_rule("other", "h1", Severity::General)]);
    let i = f.get(2).incident;
    assert_eq!((i.severity, i.priority), (Severity::General, Priority::P2));
}

#[test]
fn opening_on_a_medium_ci_keeps_the_crossed_severity() {
    let f = Fixture::new();
    f.host("h1", json!({"criticality": "medium"}));
    f.host("h2", json!({}));
    f.handle(vec![
        firing_raisable("h1", Some(Severity::Major)),
        firing_raisable("h2", Some(Severity::Major)),
    ]);
    for id in [1, 2] {
        let d = f.get(id);
        assert_eq!(d.incident.severity, Severity::General);
        assert!(d.timeline[0].data.get("crossed_severity").is_none());
    }
}

#[test]
fn a_ci_marked_critical_later_raises_the_open_incident_with_the_next_sample() {
    let f = Fixture::new();
    f.host("h1", json!({"criticality": "medium"}));
    f.handle(vec![firing_raisable("h1", Some(Severity::Major))]);
    assert_eq!(f.get(1).incident.severity, Severity::General);

    f.cmdb
        .set_attributes(
            "h1",
            serde_json::from_value(json!({"criticality": "critical"})).unwrap(),
            "ops",
        )
        .unwrap();
    f.advance(MIN);
    f.handle(vec![firing_raisable("h1", Some(Severity::Major))]);
    let d = f.get(1);
    assert_major_on_critical(&d.incident);
    let rise = d
        .timeline
        .iter()
        .find(|e| e.kind == TimelineKind::SeverityChanged)
        .unwrap();
    assert_eq!(rise.data["from"], json!("general"));
    assert_eq!(rise.data["to"], json!("major"));
    assert_eq!(rise.data["crossed_severity"], json!("general"));
    assert!(
        rise.message.contains("criticality is critical"),
        "{}",
        rise.message
    );
    // Persisted at once.
    assert_eq!(
        f.mgr.store.get(1).unwrap().unwrap().severity,
        Severity::Major
    );
}
