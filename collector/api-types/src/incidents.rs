//! `/api/v1/incidents`: working incidents. The list answers
//! `Data<Vec<Incident>>`, one incident `Data<IncidentDetail>`, an action
//! `Data<Incident>`.

use serde::{Deserialize, Serialize};

pub use tocsin_model::incident::{IncidentDetail, TimelineEntry, TimelineKind};

/// Body of `POST /api/v1/incidents/{id}/{ack|assign|comment|resolve|close}`
/// (optional for `ack`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentAction {
    /// Who acts (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Note (ack, resolve, close) or comment text (`text` is accepted too).
    #[serde(default, alias = "text", skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Who is assigned (assign).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_action_accepts_text_for_note_and_writes_only_what_is_set() {
        let a: IncidentAction =
            serde_json::from_value(json!({"actor": "bob", "text": "looking"})).unwrap();
        assert_eq!(a.note.as_deref(), Some("looking"));
        let written = serde_json::to_value(IncidentAction {
            actor: Some("bob".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(written, json!({"actor": "bob"}));
    }

    #[test]
    fn a_detail_round_trips_with_the_incident_flattened() {
        // JSON text: too deep for `json!`.
        let wire: serde_json::Value = serde_json::from_str(
            r#"{
            "id": 7, "key": "load|h1", "rule": "load", "ci_id": "h1", "ci": null,
            "object": {"cpu": "0"}, "title": "load 2.5", "description": "",
            "status": "open", "severity": "major", "current_severity": "general",
            "priority": "P2", "criticality": "medium",
            "opened_at": "2026-11-23T10:00:00.000Z",
            "acknowledged_at": null, "acknowledged_by": null, "assigned_to": null,
            "assigned_at": null, "resolved_at": null, "resolved_by": null,
            "closed_at": null, "closed_by": null,
            "last_value": 2.5, "peak_value": 3.0, "threshold": 2.0,
            "first_sample_at": "2026-11-23T10:00:00.000Z",
            "last_sample_at": "2026-11-23T10:20:00.000Z",
            "occurrences": 4, "reopen_count": 0, "flapping": false, "flap_transitions": 0,
            "condition_active": true, "tier": 1, "parent_id": null, "suppressed": null,
            "problem_id": null,
            "sla": {"policy": null, "coverage": null, "note": "no clock",
                    "started_at": null, "respond": null, "assign": null, "resolve": null},
            "timeline_count": 1, "updated_at": "2026-11-23T10:20:00.000Z",
            "timeline": [{"at": "2026-11-23T10:00:00.000Z", "actor": "system",
                          "kind": "opened", "message": "opened", "data": null}],
            "children": [9]
        }"#,
        )
        .unwrap();
        let d: IncidentDetail = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!((d.incident.id, d.children.as_slice()), (7, &[9][..]));
        assert_eq!(d.timeline[0].kind, TimelineKind::Opened);
        assert_eq!(serde_json::to_value(&d).unwrap(), wire);
    }
}
