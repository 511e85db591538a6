use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::testutil::{cmdb, relations};

fn service(attributes: Value, runs_on: &str) -> DeviceUpdate {
    DeviceUpdate {
        id: "shop".into(),
        class: "application".into(),
        name: "Web shop".into(),
        attributes: serde_json::from_value(attributes).unwrap(),
        complete: true,
        neighbours: vec![],
        runs_on: runs_on.into(),
        agent: "agent-1".into(),
    }
}

fn checks() -> Value {
    json!({
        "url": "https://shop.example.com/",
        "target": "https://shop.example.com/",
        "target_host": "shop.example.com",
        "checks": ["home", "ping"],
        "check_kinds": ["http", "icmp"],
    })
}

/// Hosts as agents report them: `web01` (hostname + FQDN) and `db01`.
fn hosts(c: &Cmdb) {
    for (id, hostname) in [("agent-web", "web01"), ("agent-db", "db01")] {
        let attributes = json!({"hostname": hostname, "fqdn": format!("{hostname}.example.net")});
        c.upsert(
            id,
            "host",
            hostname,
            serde_json::from_value(attributes).unwrap(),
            &["hostname", "fqdn"],
            &format!("agent:{id}"),
        )
        .unwrap();
    }
}

fn runs_on(target: &str) -> Vec<(String, String)> {
    vec![("runs_on".into(), target.into())]
}

/// The stored `runs_on` attribute of the service.
fn declared(c: &Cmdb) -> Value {
    c.get_ci("shop").unwrap().unwrap().attributes["runs_on"].clone()
}

#[test]
fn service_report_creates_an_application_ci_owned_by_the_checker() {
    let (_d, c) = cmdb();
    let mut attributes = checks();
    attributes["owner"] = json!("web team");
    attributes["criticality"] = json!("high");
    attributes["poller"] = json!("x");
    attributes["sysName"] = json!("x");
    let out = c.upsert_service(service(attributes, "")).unwrap();
    assert_eq!(out.ignored, ["poller", "sysName"], "device attributes");
    let d = c.detail("shop").unwrap().unwrap();
    assert_eq!(
        (d.ci.class.as_str(), d.ci.name.as_str()),
        ("application", "Web shop")
    );
    assert_eq!(d.ci.attributes["checker"], json!("agent-1"));
    assert_eq!(d.ci.attributes["checks"], json!(["home", "ping"]));
    assert_eq!(d.ci.attributes["target_host"], json!("shop.example.com"));
    assert_eq!(d.ci.attributes["owner"], json!("web team"));
    assert_eq!(d.ci.attributes["criticality"], json!("high"));
    assert!(!d.ci.attributes.contains_key("runs_on"));
    assert!(!d.ci.attributes.contains_key("poller"));
    assert!(d.relations.is_empty());
    assert!(d.changes.iter().all(|ch| ch.source == "check:agent-1"));
    assert!(d.changes.iter().any(|ch| ch.attribute == "url"));
}

#[test]
fn people_keep_their_attributes_and_configured_ones_change_only_when_sent() {
    let (_d, c) = cmdb();
    let mut attributes = checks();
    attributes["location"] = json!("DC1");
    c.upsert_service(service(attributes, "")).unwrap();
    let people = json!({"department": "e-commerce", "criticality": "critical"});
    c.set_attributes("shop", serde_json::from_value(people).unwrap(), "ops")
        .unwrap();

    // The checker no longer sends location, nor the url (a tcp check now).
    let mut attributes = checks();
    attributes.as_object_mut().unwrap().remove("url");
    attributes["check_kinds"] = json!(["icmp", "tcp"]);
    c.upsert_service(service(attributes, "")).unwrap();
    let d = c.detail("shop").unwrap().unwrap();
    let a = &d.ci.attributes;
    assert_eq!(a["department"], json!("e-commerce"));
    assert_eq!(a["criticality"], json!("critical"), "not sent: people's");
    assert_eq!(a["location"], json!("DC1"), "not sent: kept");
    assert!(!a.contains_key("url"), "owned and absent: removed");
    let removed = d
        .changes
        .iter()
        .find(|ch| ch.attribute == "url" && ch.new.is_null())
        .unwrap();
    assert_eq!(removed.source, "check:agent-1");
}

#[test]
fn criticality_must_be_known() {
    let (_d, c) = cmdb();
    let mut attributes = checks();
    attributes["criticality"] = json!("urgent");
    let err = c.upsert_service(service(attributes, "")).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, CmdbError::Invalid(_)), "{err:?}");
    assert!(
        msg.contains("shop")
            && msg.contains("criticality")
            && msg.contains("low, medium, high, critical"),
        "{msg}"
    );
    assert!(c.get_ci("shop").unwrap().is_none(), "nothing stored");
    let mut attributes = checks();
    attributes["criticality"] = json!(3);
    assert!(c.upsert_service(service(attributes, "")).is_err());
}

#[test]
fn runs_on_resolves_by_id_or_host_name_and_follows_the_declaration() {
    let (_d, c) = cmdb();
    hosts(&c);

    // By CI id.
    let out = c.upsert_service(service(checks(), "agent-web")).unwrap();
    assert_eq!((out.relations_added, out.relations_removed), (1, 0));
    assert_eq!(relations(&c, "shop"), runs_on("agent-web"));
    assert_eq!(
        declared(&c),
        json!({"declared": "agent-web", "ci": "agent-web"})
    );

    // Unchanged: nothing happens.
    let out = c.upsert_service(service(checks(), "agent-web")).unwrap();
    assert_eq!(out, DeviceOutcome::default());

    // By hostname with a domain the CI does not carry: the relation moves.
    let out = c
        .upsert_service(service(checks(), "DB01.corp.local"))
        .unwrap();
    assert_eq!((out.relations_added, out.relations_removed), (1, 1));
    assert_eq!(relations(&c, "shop"), runs_on("agent-db"));
    assert_eq!(
        declared(&c),
        json!({"declared": "DB01.corp.local", "ci": "agent-db"})
    );

    // By FQDN.
    c.upsert_service(service(checks(), "web01.example.net"))
        .unwrap();
    assert_eq!(relations(&c, "shop"), runs_on("agent-web"));

    // Empty: the relation goes, and so does the attribute.
    let out = c.upsert_service(service(checks(), "")).unwrap();
    assert_eq!((out.relations_added, out.relations_removed), (0, 1));
    assert!(relations(&c, "shop").is_empty());
    let d = c.detail("shop").unwrap().unwrap();
    assert!(!d.ci.attributes.contains_key("runs_on"));
    let moves: Vec<_> = d
        .changes
        .iter()
        .filter(|ch| ch.attribute == "relation.runs_on")
        .map(|ch| (ch.old.clone(), ch.new.clone(), ch.source.as_str()))
        .collect();
    assert_eq!(moves.len(), 6, "{moves:?}");
    assert!(moves.iter().all(|m| m.2 == "check:agent-1"));
}

#[test]
fn unresolvable_runs_on_is_kept_without_a_relation() {
    let (_d, c) = cmdb();
    hosts(&c);
    c.upsert_service(service(checks(), "agent-web")).unwrap();

    let out = c.upsert_service(service(checks(), "app07")).unwrap();
    assert_eq!((out.relations_added, out.relations_removed), (0, 1));
    assert!(relations(&c, "shop").is_empty());
    assert_eq!(declared(&c), json!({"declared": "app07", "ci": null}));

    // Not itself, and not a CI of another class by name.
    c.create("db-app", "database", "orders", BTreeMap::new(), "ops")
        .unwrap();
    c.upsert_service(service(checks(), "orders")).unwrap();
    c.upsert_service(service(checks(), "shop")).unwrap();
    assert!(relations(&c, "shop").is_empty());
}

#[test]
fn find_host_prefers_an_exact_name_and_matches_addresses_exactly() {
    let (_d, c) = cmdb();
    hosts(&c);
    c.upsert(
        "agent-web2",
        "host",
        "web01.example.org",
        serde_json::from_value(json!({"ip_addresses": ["10.0.0.7"]})).unwrap(),
        &["ip_addresses"],
        "agent:agent-web2",
    )
    .unwrap();
    let cis = c.list().unwrap();
    let found = |name: &str| find_host(&cis, "shop", name).map(|c| c.id.as_str());
    assert_eq!(found("web01.example.org"), Some("agent-web2"));
    assert_eq!(found("WEB01"), Some("agent-web"));
    assert_eq!(found("10.0.0.7"), Some("agent-web2"));
    assert_eq!(found("10.0.0.8"), None, "no short-name match for addresses");
    assert_eq!(found("nowhere"), None);
}
