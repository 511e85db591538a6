//! Incidents for the notifier's unit tests.

use serde_json::{Value, json};

use tocsin_incidents::Incident;

/// An open incident of `rule` on CI `ci` of `class`, changed by `extra`
/// (a JSON object merged over the defaults).
pub fn incident(rule: &str, ci: &str, class: &str, extra: Value) -> Incident {
    let mut v = json!({
        "id": 7, "key": format!("{rule}/{ci}"), "rule": rule, "ci_id": ci,
        "ci": {"name": ci, "class": class, "hostname": ci, "ip_addresses": ["10.0.0.7"],
               "location": "DC1", "owner": "netops", "department": "network"},
        "object": {}, "title": format!("{rule} on {ci}"), "description": "d",
        "status": "open", "severity": "major", "current_severity": "major",
        "priority": "P1", "criticality": "high",
        "opened_at": "2026-11-23T08:00:00Z", "acknowledged_at": null, "assigned_at": null,
        "resolved_at": null, "closed_at": null, "last_value": 0.0, "peak_value": 0.0,
        "threshold": 1.0, "first_sample_at": "2026-11-23T08:00:00Z",
        "last_sample_at": "2026-11-23T08:00:00Z", "occurrences": 1, "reopen_count": 0,
        "flapping": false, "flap_transitions": 0, "condition_active": true, "tier": 1,
        "sla": {}, "timeline_count": 1, "updated_at": "2026-11-23T08:00:00Z",
    });
    if let (Some(base), Value::Object(more)) = (v.as_object_mut(), extra) {
        base.extend(more);
    }
    serde_json::from_value(v).expect("valid incident fixture")
}
