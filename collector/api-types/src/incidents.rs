//! `/api/v1/incidents` and `/api/v1/rules`: working incidents.

use serde::{Deserialize, Serialize};

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

/// Answer of `POST /api/v1/rules/reload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesReloaded {
    /// Rules in force after the reload.
    pub rules: usize,
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
}
