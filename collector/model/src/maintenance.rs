//! Maintenance windows: a CI (or every CI of a class) under planned work
//! from a start to an end. The incidents crate's `maintenance` module keeps
//! them and documents the rules; this is the record as stored and served.
//!
//! Times are Unix ms in Rust and RFC 3339 text in JSON (any UTC offset on input).

use serde::{Deserialize, Serialize};

use crate::time::rfc3339_ms;

/// A maintenance window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    /// Id, assigned by the store.
    pub id: u64,
    /// The CI under maintenance; with `ci_class`, both must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_id: Option<String>,
    /// Every CI of this class is under maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_class: Option<String>,
    /// Start (inclusive).
    #[serde(with = "rfc3339_ms")]
    pub starts_at: i64,
    /// End (exclusive).
    #[serde(with = "rfc3339_ms")]
    pub ends_at: i64,
    /// Why, e.g. the change ticket.
    pub reason: String,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    #[serde(with = "rfc3339_ms")]
    pub created_at: i64,
}

impl MaintenanceWindow {
    /// Whether the window covers a CI of `ci_class` at `at_ms`.
    pub fn covers(&self, ci_id: &str, ci_class: &str, at_ms: i64) -> bool {
        self.ci_id.as_deref().is_none_or(|id| id == ci_id)
            && self.ci_class.as_deref().is_none_or(|c| c == ci_class)
            && (self.starts_at..self.ends_at).contains(&at_ms)
    }
}

/// A window to create (the body of `POST /api/v1/maintenance`); the store
/// checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWindow {
    /// The CI under maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_id: Option<String>,
    /// Every CI of this class (one of the CMDB's CI classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_class: Option<String>,
    /// Start (RFC 3339).
    #[serde(with = "rfc3339_ms")]
    pub starts_at: i64,
    /// End (RFC 3339), after the start and at most 30 days later.
    #[serde(with = "rfc3339_ms")]
    pub ends_at: i64,
    /// Why, e.g. the change ticket; required.
    pub reason: String,
    /// Who creates it; required.
    #[serde(default)]
    pub created_by: String,
}
