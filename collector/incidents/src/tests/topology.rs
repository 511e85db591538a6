//! Topology suppression: children attach to the root cause's incident.

use serde_json::json;

use super::*;
use tocsin_model::incident::Status;

fn network(f: &Fixture) {
    f.host("sw1", json!({"criticality": "critical"}));
    for h in ["h1", "h2", "h3"] {
        f.host(h, json!({}));
    }
    f.cmdb
        .add_relation("h1", "depends_on", "sw1", "ops")
        .unwrap();
    f.cmdb
        .add_relation("h2", "connected_to", "sw1", "ops")
        .unwrap();
    f.cmdb.add_relation("h3", "runs_on", "sw1", "ops").unwrap();
}

#[test]
fn a_service_incident_joins_the_incident_of_the_host_it_runs_on() {
    let f = Fixture::new();
    f.host("agent-web", json!({"hostname": "web01"}));
    let report = tocsin_cmdb::DeviceUpdate {
        id: "shop".into(),
        class: "application".into(),
        name: "Web shop".into(),
        attributes: Default::default(),
        complete: true,
        neighbours: vec![],
        runs_on: "web01.example.com".into(),
        agent: "agent-2".into(),
    };
    f.cmdb.upsert_service(report).unwrap();
    f.handle(vec![firing_rule(
        "agent_lost",
        "agent-web",
        Severity::Major,
    )]);
    f.handle(vec![firing_rule(
        "service_check_failed",
        "shop",
        Severity::General,
    )]);
    let child = f.get(2).incident;
    assert_eq!(child.parent_id, Some(1));
    assert!(child.sla.respond.is_none(), "the host's incident is worked");
    assert_eq!(f.get(1).children, vec![2]);
}

#[test]
fn a_less_severe_parent_does_not_swallow_a_worse_fault() {
    let f = Fixture::new();
    network(&f);
    // The switch only warns: a host's major outage is worked on its own.
    f.handle(vec![firing_rule("port_errors", "sw1", Severity::Warning)]);
    f.handle(vec![firing_rule("agent_lost", "h1", Severity::Major)]);
    assert_eq!(f.get(2).incident.parent_id, None);
    assert!(
        f.get(2).incident.sla.respond.is_some(),
        "its own SLA clock runs"
    );
    // A warning on a host still joins the switch's warning.
    f.handle(vec![firing_rule("disk_slow", "h2", Severity::Warning)]);
    assert_eq!(f.get(3).incident.parent_id, Some(1));
    // A late major parent absorbs the major dependent, not the other way round.
    let f = Fixture::new();
    network(&f);
    f.handle(vec![firing_rule("agent_lost", "h3", Severity::Major)]);
    f.handle(vec![firing_rule("port_errors", "sw1", Severity::Warning)]);
    assert_eq!(
        f.get(1).incident.parent_id,
        None,
        "a warning absorbs no major"
    );
}

#[test]
fn dependents_attach_to_the_parent_incident() {
    let f = Fixture::new();
    network(&f);
    f.handle(vec![firing_rule("switch_down", "sw1", Severity::Major)]);
    f.handle(vec![
        firing_rule("agent_lost", "h1", Severity::Major),
        firing_rule("agent_lost", "h2", Severity::Major),
        firing_rule("agent_lost", "h3", Severity::Major),
    ]);
    assert_eq!(f.get(2).incident.parent_id, Some(1));
    assert_eq!(f.get(3).incident.parent_id, Some(1));
    assert_eq!(f.get(4).incident.parent_id, Some(1), "runs_on too");
    let parent = f.get(1);
    assert_eq!(parent.children, vec![2, 3, 4]);
    assert_eq!(
        parent
            .timeline
            .iter()
            .filter(|e| e.kind == TimelineKind::ChildAttached)
            .count(),
        3
    );
    let child = f.get(2).incident;
    assert!(child.sla.respond.is_none(), "children run no clock");
    let top: Vec<u64> = f
        .mgr
        .list(&crate::IncidentFilter {
            top_level_only: true,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(top, vec![1]);
    f.mgr.tick(T0 + 11 * MIN).unwrap();
    assert_eq!(f.get(2).incident.tier, 1, "children are not escalated");
    assert_eq!(f.get(1).incident.tier, 2);
}

#[test]
fn a_late_parent_absorbs_recent_dependents() {
    let f = Fixture::new();
    network(&f);
    f.handle(vec![firing_rule("agent_lost", "h2", Severity::Major)]);
    f.advance(6 * MIN);
    f.handle(vec![firing_rule("agent_lost", "h1", Severity::Major)]);
    f.advance(MIN);
    f.handle(vec![firing_rule("switch_down", "sw1", Severity::Major)]);
    let child = f.get(2);
    assert_eq!(child.incident.parent_id, Some(3));
    assert_eq!(
        child.incident.sla.respond.unwrap().status,
        tocsin_model::incident::StageStatus::Skipped
    );
    assert!(
        child
            .timeline
            .iter()
            .any(|e| e.kind == TimelineKind::Attached)
    );
    assert_eq!(
        f.get(1).incident.parent_id,
        None,
        "opened before the attach window"
    );
    assert_eq!(f.get(3).children, vec![2]);
}

#[test]
fn children_still_open_after_the_parent_resolved_are_detached() {
    let mut f = Fixture::new();
    network(&f);
    f.handle(vec![firing_rule("switch_down", "sw1", Severity::Major)]);
    f.handle(vec![
        firing_rule("agent_lost", "h1", Severity::Major),
        firing_rule("agent_lost", "h2", Severity::Major),
    ]);
    let mut recovered = firing_rule("switch_down", "sw1", Severity::Major);
    recovered.kind = EventKind::Resolved { value: 0.0 };
    f.advance(MIN);
    f.handle(vec![recovered]);
    let mut h2_back = firing_rule("agent_lost", "h2", Severity::Major);
    h2_back.kind = EventKind::Resolved { value: 0.0 };
    f.handle(vec![h2_back]);
    f.mgr.tick(T0 + 3 * MIN).unwrap();
    assert_eq!(f.get(2).incident.parent_id, Some(1), "grace period");
    f.advance(4 * MIN);
    f.restart();
    f.mgr.tick(T0 + 7 * MIN).unwrap();
    let still = f.get(2).incident;
    assert_eq!(
        still.parent_id,
        Some(1),
        "grace restarts with the collector"
    );
    f.mgr.tick(T0 + 10 * MIN).unwrap();
    let h1 = f.get(2);
    assert_eq!(h1.incident.parent_id, None);
    assert_eq!(h1.incident.status, Status::Open);
    assert!(h1.incident.sla.respond.is_some(), "its own clock now");
    assert!(h1.timeline.iter().any(|e| e.kind == TimelineKind::Detached));
    assert_eq!(f.get(3).incident.parent_id, Some(1), "resolved child stays");
    let parent = f.get(1);
    assert_eq!(parent.children, vec![3]);
    assert!(
        parent
            .timeline
            .iter()
            .any(|e| e.kind == TimelineKind::ChildDetached)
    );
}
