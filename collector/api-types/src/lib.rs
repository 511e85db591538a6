//! The collector's HTTP API bodies as typed serde structs, shared by the
//! handlers (`tocsin-collector`), `tocsinctl`, the end-to-end tests and the
//! web console, so a renamed field breaks the build instead of a user.
//!
//! Every successful answer is a [`Data`] envelope, every error an
//! [`ErrorBody`]. The domain records inside (CIs, incidents…) are the
//! `tocsin-model` types, re-exported here.

pub mod cis;
pub mod incidents;
pub mod maintenance;
pub mod notifications;
pub mod problems;
pub mod prom;
pub mod rules;

use serde::{Deserialize, Serialize};

pub use tocsin_model::{
    Ci, CiDetail, DeviceEventRecord, Incident, IncidentDetail, MaintenanceWindow, Problem,
};

/// A successful answer: `{"data": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Data<T> {
    /// What was asked for.
    pub data: T,
}

impl<T> Data<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        Self { data }
    }
}

/// An error answer: `{"error": {"code": "not_found", "message": "…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The inside of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// `bad_request`, `not_found`, `conflict`, `unavailable` or `internal`.
    pub code: String,
    /// A sentence naming the problem.
    pub message: String,
}

/// `GET /healthz`: the collector is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `ok` when the collector answers.
    pub status: String,
    /// The collector's version.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_have_the_documented_shape() {
        assert_eq!(
            serde_json::to_value(Data::new(vec![1, 2])).unwrap(),
            json!({"data": [1, 2]})
        );
        let e: ErrorBody = serde_json::from_value(
            json!({"error": {"code": "not_found", "message": "no CI with id x"}}),
        )
        .unwrap();
        assert_eq!(e.error.code, "not_found");
        assert!(serde_json::from_value::<ErrorBody>(json!({"error": "x"})).is_err());
    }
}
