//! The device CI as the collector sees it: a [`DeviceReport`] built from one
//! poll (merged with the previous report when the poll was partial); the
//! [`ReportStore`](crate::ci::ReportStore) keeps the latest for the transport.

use std::collections::BTreeMap;

use tocsin_proto::v1::{DeviceReport, Neighbour};

use crate::snmp::{DeviceClass, DevicePoll};

/// Builds the report of device `id` from `poll`.
///
/// Attributes are JSON-encoded per key. The report is `complete` only when
/// the device answered and nothing failed; otherwise attributes (and LLDP
/// neighbours) the poll did not get are kept from `previous`, so a timed-out
/// walk does not erase what an earlier poll found. The name is the sysName
/// when there is one, else `fallback_name`.
pub fn build_report(
    id: &str,
    class: DeviceClass,
    fallback_name: &str,
    poll: &DevicePoll,
    previous: Option<&DeviceReport>,
) -> DeviceReport {
    let complete = poll.reachable && poll.errors.is_empty();
    let mut attributes_json: BTreeMap<String, String> = poll
        .attributes
        .iter()
        .map(|(k, v)| {
            let json = serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned());
            (k.clone(), json)
        })
        .collect();
    let mut neighbours: Vec<Neighbour> = poll
        .neighbours
        .iter()
        .map(|n| Neighbour {
            local_port: n.local_port.clone(),
            remote_sys_name: n.remote_sys_name.clone(),
            remote_port: n.remote_port.clone(),
            remote_chassis_id: n.remote_chassis_id.clone(),
        })
        .collect();
    if !complete && let Some(prev) = previous {
        for (k, v) in &prev.attributes_json {
            attributes_json
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        if neighbours.is_empty() {
            neighbours.clone_from(&prev.neighbours);
        }
    }
    let name = attributes_json
        .get("sysName")
        .and_then(|j| serde_json::from_str::<String>(j).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| fallback_name.to_owned());
    DeviceReport {
        device_id: id.to_owned(),
        class: class.as_str().to_owned(),
        name,
        attributes_json: attributes_json.into_iter().collect(),
        complete,
        neighbours,
        runs_on: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::snmp::{LldpNeighbour, SubtreeError};

    fn full_poll() -> DevicePoll {
        let mut p = DevicePoll {
            reachable: true,
            ..Default::default()
        };
        p.attributes.insert("sysName".into(), json!("core-sw"));
        p.attributes.insert("model".into(), json!("WS-C3850"));
        p.attributes.insert("serial".into(), json!("FOC123"));
        p.attributes.insert(
            "interfaces".into(),
            json!([{"index": "1", "name": "Gi0/1"}]),
        );
        p.neighbours.push(LldpNeighbour {
            local_port: "Gi0/1".into(),
            remote_sys_name: "dist-1".into(),
            remote_port: "Te1/1".into(),
            remote_chassis_id: "00:11:22:33:44:55".into(),
        });
        p
    }

    #[test]
    fn complete_poll_reports_everything_json_encoded() {
        let r = build_report("sw1", DeviceClass::Switch, "Core", &full_poll(), None);
        assert!(r.complete);
        assert_eq!(
            (r.device_id.as_str(), r.class.as_str(), r.name.as_str()),
            ("sw1", "switch", "core-sw")
        );
        assert_eq!(r.attributes_json["model"], "\"WS-C3850\"");
        assert_eq!(
            r.attributes_json["interfaces"],
            r#"[{"index":"1","name":"Gi0/1"}]"#
        );
        assert_eq!(r.neighbours.len(), 1);
        assert_eq!(r.neighbours[0].remote_sys_name, "dist-1");
    }

    #[test]
    fn partial_poll_keeps_what_it_did_not_get() {
        let first = build_report("sw1", DeviceClass::Switch, "Core", &full_poll(), None);
        let mut partial = full_poll();
        partial.attributes.remove("model");
        partial.attributes.remove("serial");
        partial
            .attributes
            .insert("sysDescr".into(), json!("IOS 17"));
        partial.neighbours.clear();
        partial.errors.push(SubtreeError::new(
            "entPhysicalTable.entPhysicalModelName",
            "timeout",
        ));
        let r = build_report("sw1", DeviceClass::Switch, "Core", &partial, Some(&first));
        assert!(!r.complete);
        assert_eq!(
            r.attributes_json["model"], "\"WS-C3850\"",
            "kept from before"
        );
        assert_eq!(r.attributes_json["serial"], "\"FOC123\"");
        assert_eq!(
            r.attributes_json["sysDescr"], "\"IOS 17\"",
            "new values are taken"
        );
        assert_eq!(r.neighbours, first.neighbours);

        // A complete poll does drop what is gone.
        let mut gone = full_poll();
        gone.attributes.remove("serial");
        gone.neighbours.clear();
        let r = build_report("sw1", DeviceClass::Switch, "Core", &gone, Some(&first));
        assert!(r.complete && !r.attributes_json.contains_key("serial") && r.neighbours.is_empty());
    }

    #[test]
    fn unreachable_device_is_incomplete_and_named_by_fallback() {
        let dead = DevicePoll::default();
        let r = build_report("10.0.0.9", DeviceClass::Ups, "UPS room 2", &dead, None);
        assert!(!r.complete && r.attributes_json.is_empty());
        assert_eq!((r.name.as_str(), r.class.as_str()), ("UPS room 2", "ups"));
        // Unreachable after a good poll: the name (sysName) and attributes stay.
        let first = build_report("sw1", DeviceClass::Switch, "Core", &full_poll(), None);
        let r = build_report("sw1", DeviceClass::Switch, "Core", &dead, Some(&first));
        assert!(!r.complete);
        assert_eq!(r.name, "core-sw");
        assert_eq!(r.attributes_json, first.attributes_json);
        // Reachable but an empty sysName: the configured name.
        let mut blank = full_poll();
        blank.attributes.insert("sysName".into(), json!(" "));
        assert_eq!(
            build_report("sw1", DeviceClass::Switch, "Core", &blank, None).name,
            "Core"
        );
    }
}
