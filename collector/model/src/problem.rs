//! Problem records: a rule that keeps firing on the same CI. The incidents
//! crate's `problems` module raises them and documents the rule; this is the
//! record as stored and served.

use serde::{Deserialize, Serialize};

use crate::time::{rfc3339_ms, rfc3339_ms_opt};

/// Whether a problem is being worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemStatus {
    /// New incidents of its rule and CI join it.
    Open,
    /// Done; a recurrence raises a new problem.
    Closed,
}

/// A problem record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// Id, assigned by the store.
    pub id: u64,
    /// The rule that keeps firing.
    pub rule: String,
    /// The CI it fires on.
    pub ci_id: String,
    /// Linked incidents, in the order they joined (opening order at creation).
    pub incident_ids: Vec<u64>,
    /// Opening time of the incident that reached the threshold.
    #[serde(with = "rfc3339_ms")]
    pub created_at: i64,
    /// Opening time of the newest linked incident.
    #[serde(with = "rfc3339_ms")]
    pub updated_at: i64,
    /// Open or closed.
    pub status: ProblemStatus,
    /// When it was closed.
    #[serde(
        default,
        with = "rfc3339_ms_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub closed_at: Option<i64>,
}
