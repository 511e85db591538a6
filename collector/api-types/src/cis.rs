//! `/api/v1/cis`: configuration items, their relations and events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tocsin_model::{CiDetail, Incident};

/// Body of `POST /api/v1/cis`: a CI created by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCi {
    /// The CI's id (letters, digits, `.`, `-`, `_`, `:`).
    pub id: String,
    /// Its class (`host`, `switch`, `application`…).
    pub class: String,
    /// Display name.
    pub name: String,
    /// Attributes people own (`location`, `owner`, `criticality`…).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
    /// Who creates it (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// Body of `PATCH /api/v1/cis/{id}`: attributes to set (`null` removes one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeChange {
    /// New values by attribute name.
    pub attributes: BTreeMap<String, Value>,
    /// Who changes them (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// Body of `POST /api/v1/cis/{id}/relations`: `id --kind--> target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRelation {
    /// `runs_on`, `connected_to` or `depends_on`.
    pub kind: String,
    /// The other CI's id.
    pub target: String,
    /// Who adds it (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
}

/// Answer of `GET /api/v1/cis/{id}`: the CI with its relations, change
/// history and the incidents open on it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiView {
    /// The CI, its relations and changes (flattened into this object).
    #[serde(flatten)]
    pub detail: CiDetail,
    /// Open and acknowledged incidents of this CI.
    #[serde(default)]
    pub open_incidents: Vec<Incident>,
}

/// The actor a request names, `api` when it names none (or only blanks).
pub fn actor_or_api(actor: Option<String>) -> String {
    actor
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "api".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_refuse_unknown_keys_and_name_them() {
        let err = serde_json::from_value::<NewRelation>(
            json!({"kind": "runs_on", "target": "h1", "tagret": "x"}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("tagret"), "{err}");
        let ok: NewCi =
            serde_json::from_value(json!({"id": "sw1", "class": "switch", "name": "core"}))
                .unwrap();
        assert!(ok.attributes.is_empty() && ok.actor.is_none());
        assert_eq!(actor_or_api(Some("  ".into())), "api");
        assert_eq!(actor_or_api(Some("bob".into())), "bob");
    }
}
