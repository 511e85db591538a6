use serde_json::json;

use super::*;
use crate::testutil::{cmdb, relations};

fn update(id: &str, attributes: Value, complete: bool, neighbours: Vec<Neighbour>) -> DeviceUpdate {
    DeviceUpdate {
        id: id.into(),
        class: "switch".into(),
        name: id.into(),
        attributes: serde_json::from_value(attributes).unwrap(),
        complete,
        neighbours,
        runs_on: String::new(),
        agent: "agent-1".into(),
    }
}

fn neighbour(sys_name: &str, chassis: &str) -> Neighbour {
    Neighbour {
        local_port: "Gi0/1".into(),
        remote_sys_name: sys_name.into(),
        remote_port: "eth0".into(),
        remote_chassis_id: chassis.into(),
    }
}

#[test]
fn complete_poll_owns_its_attributes_incomplete_poll_keeps_them() {
    let (_d, c) = cmdb();
    let first =
        json!({"sysName": "sw1", "model": "C9300", "serial": "X1", "firmware_revision": "17.3"});
    c.upsert_device(update("sw1", first, true, vec![])).unwrap();
    c.set_attributes(
        "sw1",
        serde_json::from_value(json!({"criticality": "high"})).unwrap(),
        "ops",
    )
    .unwrap();

    // The ENTITY walk timed out: model and serial are unknown, not gone.
    let partial = json!({"sysName": "sw1", "firmware_revision": "17.6"});
    let out = c
        .upsert_device(update("sw1", partial.clone(), false, vec![]))
        .unwrap();
    assert_eq!(out.changes, 1, "only the firmware upgrade");
    let ci = c.get_ci("sw1").unwrap().unwrap();
    assert_eq!(ci.attributes["model"], json!("C9300"));
    assert_eq!(ci.attributes["poller"], json!("agent-1"));
    assert_eq!(
        ci.attributes["criticality"],
        json!("high"),
        "people's attributes stay"
    );

    // A complete poll without a serial means the device no longer reports one.
    c.upsert_device(update("sw1", partial, true, vec![]))
        .unwrap();
    let d = c.detail("sw1").unwrap().unwrap();
    assert!(!d.ci.attributes.contains_key("serial"));
    assert!(!d.ci.attributes.contains_key("model"));
    assert_eq!(d.ci.attributes["criticality"], json!("high"));
    let fw = d
        .changes
        .iter()
        .find(|ch| ch.attribute == "firmware_revision" && ch.new == json!("17.6"))
        .expect("firmware change recorded");
    assert_eq!(fw.old, json!("17.3"));
    assert_eq!(fw.source, "snmp:agent-1");
}

#[test]
fn unknown_attributes_are_dropped_and_class_of_hand_made_ci_kept() {
    let (_d, c) = cmdb();
    c.create("core1", "router", "core1", BTreeMap::new(), "ops")
        .unwrap();
    let out = c
        .upsert_device(update(
            "core1",
            json!({"sysName": "core1", "criticality": "low", "x": 1}),
            true,
            vec![],
        ))
        .unwrap();
    assert_eq!(
        out.ignored,
        vec!["criticality".to_string(), "x".to_string()]
    );
    let ci = c.get_ci("core1").unwrap().unwrap();
    assert_eq!(ci.class, "router");
    assert!(!ci.attributes.contains_key("criticality"));
}

#[test]
fn lldp_neighbours_become_relations_and_go_away_with_them() {
    let (_d, c) = cmdb();
    // A host known by its agent (MAC) and one known only by hostname.
    c.upsert(
        "agent-web",
        "host",
        "web01",
        serde_json::from_value(
            json!({"hostname": "web01", "mac_addresses": ["52:54:00:AA:BB:01"]}),
        )
        .unwrap(),
        &["hostname", "mac_addresses"],
        "agent:agent-web",
    )
    .unwrap();
    c.upsert(
        "agent-db",
        "host",
        "db01.example.net",
        serde_json::from_value(json!({"hostname": "db01", "fqdn": "db01.example.net"})).unwrap(),
        &["hostname", "fqdn"],
        "agent:agent-db",
    )
    .unwrap();
    c.upsert_device(update(
        "sw2",
        json!({"sysName": "dist-2.example.net"}),
        true,
        vec![],
    ))
    .unwrap();

    let seen = vec![
        neighbour("", "52-54-00-aa-bb-01"),
        neighbour("DB01", "not-a-mac"),
        neighbour("dist-2", ""),
        neighbour("printer-9", ""),
    ];
    let out = c
        .upsert_device(update("sw1", json!({"sysName": "sw1"}), true, seen))
        .unwrap();
    assert_eq!(out.relations_added, 3);
    assert_eq!(
        relations(&c, "agent-web"),
        vec![("connected_to".into(), "sw1".into())]
    );
    assert_eq!(
        relations(&c, "agent-db"),
        vec![("connected_to".into(), "sw1".into())]
    );
    assert_eq!(
        relations(&c, "sw2"),
        vec![("connected_to".into(), "sw1".into())]
    );
    let list = c.get_ci("sw1").unwrap().unwrap().attributes["lldp_neighbours"].clone();
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|n| n["remote_sys_name"] == "printer-9" && n["ci"].is_null())
    );

    // An incomplete poll leaves relations alone.
    let out = c
        .upsert_device(update("sw1", json!({}), false, vec![]))
        .unwrap();
    assert_eq!((out.relations_added, out.relations_removed), (0, 0));
    assert_eq!(relations(&c, "agent-db").len(), 1);

    // The db host unplugged: its relation goes, recorded with the poller as source.
    let seen = vec![neighbour("", "52:54:00:aa:bb:01"), neighbour("dist-2", "")];
    let out = c
        .upsert_device(update("sw1", json!({"sysName": "sw1"}), true, seen))
        .unwrap();
    assert_eq!((out.relations_added, out.relations_removed), (0, 1));
    assert!(relations(&c, "agent-db").is_empty());
    let d = c.detail("agent-db").unwrap().unwrap();
    assert!(
        d.changes
            .iter()
            .any(|ch| ch.attribute == "relation.connected_to"
                && ch.new.is_null()
                && ch.source == "snmp:agent-1")
    );
}

#[test]
fn mac_notations_normalise() {
    assert_eq!(
        normalise_mac("AA-BB-CC-00-11-22").as_deref(),
        Some("aa:bb:cc:00:11:22")
    );
    assert_eq!(
        normalise_mac("aabb.cc00.1122").as_deref(),
        Some("aa:bb:cc:00:11:22")
    );
    assert_eq!(normalise_mac("sw1"), None);
    assert_eq!(normalise_mac("aa:bb:cc:00:11"), None);
}
