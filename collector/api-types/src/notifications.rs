//! `/api/v1/notifications` and `/api/v1/receivers` bodies. The list and
//! retry answers are `Data<Vec<OutboxRecord>>` and `Data<OutboxRecord>`, the
//! receivers answer `Data<Vec<ReceiverView>>` (records from `tocsin-model`).

use serde::{Deserialize, Serialize};

pub use tocsin_model::notification::{DeliveryStatus, OutboxRecord};
pub use tocsin_model::receiver::ReceiverView;

/// `GET /api/v1/notifications`: newest first.
pub type NotificationList = Vec<OutboxRecord>;

/// Body of `POST /api/v1/receivers/{name}/test`; an empty body means the
/// defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestRequest {
    /// Who asks, shown in the test message; `api` when absent.
    #[serde(default)]
    pub actor: Option<String>,
}

/// What became of a test message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    /// The receiver accepted it.
    Delivered,
    /// A temporary error; a real notification would be retried.
    Retry,
    /// A permanent error.
    Failed,
}

impl TestOutcome {
    /// The name used in the answer: `delivered`, `retry` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry => "retry",
            Self::Failed => "failed",
        }
    }
}

/// The `data` of the receiver test answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestAnswer {
    /// The receiver tested.
    pub receiver: String,
    /// What became of the message.
    pub outcome: TestOutcome,
    /// The error, unless delivered (`null` then).
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Data;
    use serde_json::json;

    #[test]
    fn test_bodies_round_trip() {
        for v in [
            json!({"data": {"receiver": "ops", "outcome": "delivered", "error": null}}),
            json!({"data": {"receiver": "ops", "outcome": "retry", "error": "503"}}),
            json!({"data": {"receiver": "ops", "outcome": "failed", "error": "400"}}),
        ] {
            let a: Data<TestAnswer> = serde_json::from_value(v.clone()).unwrap();
            assert_eq!(serde_json::to_value(&a).unwrap(), v);
        }
        let r: TestRequest = serde_json::from_value(json!({"actor": "ann"})).unwrap();
        assert_eq!(r.actor.as_deref(), Some("ann"));
        assert_eq!(serde_json::to_value(&r).unwrap(), json!({"actor": "ann"}));
        assert!(serde_json::from_value::<TestRequest>(json!({"who": "x"})).is_err());
        assert_eq!(TestOutcome::Retry.as_str(), "retry");
    }

    #[test]
    fn receiver_views_round_trip() {
        let v = json!({"data": [{
            "name": "ops", "kind": "email", "url": null, "timeout": "10s",
            "headers": [], "signed": false, "external_url": null,
            "smtp_server": "mx:587", "tls": "starttls", "username": null,
            "from": "t@x", "to": ["a@x"]
        }]});
        let r: Data<Vec<ReceiverView>> = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }
}
