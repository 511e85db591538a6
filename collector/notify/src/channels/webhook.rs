//! Generic JSON webhook (`kind = "webhook"`).
//!
//! # Request
//!
//! `POST <url>` with `Content-Type: application/json`, `Idempotency-Key:
//! <idempotency_key>`, the configured `headers`, and, when `hmac_secret` is
//! set:
//!
//! - `X-Tocsin-Timestamp: <unix seconds>`: the same instant as `sent_at`.
//! - `X-Tocsin-Signature: sha256=<hex>`: lowercase hex of
//!   HMAC-SHA256(key = `hmac_secret` as UTF-8 bytes, message = the raw request
//!   body bytes exactly as sent). Nothing else is signed; because the body
//!   holds `sent_at` and `idempotency_key`, a receiver that checks the
//!   signature, rejects a `sent_at` too far from its clock and remembers seen
//!   keys is safe against replays. Compare signatures in constant time.
//!
//! A delivery is retried (same body but a new `sent_at`, hence a new
//! signature) until the receiver answers 2xx: receivers must deduplicate on
//! `idempotency_key`.
//!
//! # Body (schema version "1")
//!
//! ```text
//! {
//!   "version": "1",                      // schema version; fields are only added within "1"
//!   "idempotency_key": "ops/12/opened/1", // stable across retries: deduplicate on it
//!   "event": "opened",                   // opened | severity_raised | acknowledged | escalated |
//!                                        // resolved | closed | flapping_started |
//!                                        // flapping_stopped | reminder | test
//!   "receiver": "ops",                   // receiver name
//!   "sent_at": "2023-11-14T22:14:20.000Z", // this attempt, RFC 3339 UTC
//!   "created_at": "2023-11-14T22:14:20.000Z", // when the change happened
//!   "incident": Incident,                // the incident the event is about
//!   "grouped": [Incident, ...],          // opened in the same grouping window, same message
//!   "children": [{"id": 13, "ci_id": "host-db01", "title": "...", "severity": "general"}]
//! }
//!
//! Incident = {
//!   "id": 12, "key": "disk_full|host-web01|mountpoint=/", "rule": "disk_full",
//!   "title": "...", "description": "...",
//!   "status": "open",                    // open | acknowledged | resolved | closed
//!   "severity": "major",                 // highest reached: warning | general | major
//!   "current_severity": "major",         // of the latest breaching sample
//!   "priority": "P1",                    // P1..P4 (severity × CI criticality)
//!   "criticality": "high",               // low | medium | high | critical
//!   "tier": 1,                           // support tier working it: 1 一线, 2 二线, 3 三线
//!   "ci_id": "host-web01",
//!   "ci": {                              // CI snapshot at opening, or null
//!     "name", "class", "hostname", "ip_addresses": [..], "vendor", "model",
//!     "serial_number", "location", "os_name", "os_version", "owner",
//!     "department", "criticality"        // strings or null
//!   },
//!   "object": {"mountpoint": "/"},       // labels of the object inside the CI
//!   "opened_at": RFC3339, "acknowledged_at": RFC3339|null, "acknowledged_by": str|null,
//!   "assigned_to": str|null, "resolved_at": RFC3339|null, "resolved_by": str|null,
//!   "closed_at": RFC3339|null,
//!   "last_value": 97.5, "peak_value": 98.0, "threshold": 90.0,
//!   "occurrences": 3, "reopen_count": 0, "flapping": false,
//!   "parent_id": int|null, "problem_id": int|null,
//!   "sla": {
//!     "policy": "major"|null,            // severity whose targets apply; null: no clock
//!     "coverage": "24x7"|"business_hours"|null,
//!     "note": str|null,                  // why no clock runs, if so
//!     "started_at": RFC3339|null,
//!     "respond"|"assign"|"resolve": {    // each null when not applicable
//!       "target": "10m", "due_at": RFC3339,
//!       "status": "pending"|"met"|"breached"|"skipped", "done_at": RFC3339|null
//!     }
//!   },
//!   "url": "https://console/incidents/12" | null   // when external_url is configured
//! }
//! ```

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::config::{ChannelConfig, ReceiverConfig, check_headers, check_secret, check_url};
use super::http::HttpRequest;
use super::secret::Secret;
use super::text::incident_url;
use crate::{ChildSummary, Notification};
use tocsin_incidents::Incident;
use tocsin_incidents::{Priority, SlaState};
use tocsin_model::Severity;
use tocsin_model::incident::{CiSnapshot, Criticality};
use tocsin_model::time::rfc3339;

/// The body of a webhook request (schema version "1", see the module docs).
#[derive(Debug, Serialize)]
pub struct WebhookBody<'a> {
    /// Always `"1"`.
    pub version: &'static str,
    /// Stable across retries.
    pub idempotency_key: &'a str,
    /// What happened.
    pub event: &'static str,
    /// Receiver name.
    pub receiver: &'a str,
    /// This attempt.
    pub sent_at: String,
    /// When the change happened.
    pub created_at: String,
    /// The incident.
    pub incident: WebhookIncident<'a>,
    /// Incidents delivered in the same message.
    pub grouped: Vec<WebhookIncident<'a>>,
    /// Children attached to the incident.
    pub children: &'a [ChildSummary],
}

/// An incident in webhook schema "1".
#[derive(Debug, Serialize)]
#[allow(missing_docs)]
pub struct WebhookIncident<'a> {
    pub id: u64,
    pub key: &'a str,
    pub rule: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub status: &'static str,
    pub severity: Severity,
    pub current_severity: Severity,
    pub priority: Priority,
    pub criticality: Criticality,
    pub tier: u8,
    pub ci_id: &'a str,
    pub ci: Option<&'a CiSnapshot>,
    pub object: &'a BTreeMap<String, String>,
    pub opened_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<&'a str>,
    pub assigned_to: Option<&'a str>,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<&'a str>,
    pub closed_at: Option<String>,
    pub last_value: f64,
    pub peak_value: f64,
    pub threshold: f64,
    pub occurrences: u64,
    pub reopen_count: u32,
    pub flapping: bool,
    pub parent_id: Option<u64>,
    pub problem_id: Option<u64>,
    pub sla: &'a SlaState,
    pub url: Option<String>,
}

impl<'a> WebhookIncident<'a> {
    /// The schema view of `inc`; `external_url` gives the console link.
    pub fn of(inc: &'a Incident, external_url: Option<&str>) -> Self {
        Self {
            id: inc.id,
            key: &inc.key,
            rule: &inc.rule,
            title: &inc.title,
            description: &inc.description,
            status: inc.status.as_str(),
            severity: inc.severity,
            current_severity: inc.current_severity,
            priority: inc.priority,
            criticality: inc.criticality,
            tier: inc.tier,
            ci_id: &inc.ci_id,
            ci: inc.ci.as_ref(),
            object: &inc.object,
            opened_at: rfc3339(inc.opened_at),
            acknowledged_at: inc.acknowledged_at.map(rfc3339),
            acknowledged_by: inc.acknowledged_by.as_deref(),
            assigned_to: inc.assigned_to.as_deref(),
            resolved_at: inc.resolved_at.map(rfc3339),
            resolved_by: inc.resolved_by.as_deref(),
            closed_at: inc.closed_at.map(rfc3339),
            last_value: inc.last_value,
            peak_value: inc.peak_value,
            threshold: inc.threshold,
            occurrences: inc.occurrences,
            reopen_count: inc.reopen_count,
            flapping: inc.flapping,
            parent_id: inc.parent_id,
            problem_id: inc.problem_id,
            sla: &inc.sla,
            url: incident_url(external_url, inc.id),
        }
    }
}

/// `kind = "webhook"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Endpoint (required). A secret, so `env:VAR` works here.
    #[serde(default)]
    pub url: Secret,
    /// Extra request headers. Values are secrets (`Authorization` usually
    /// is) and may be `env:VAR`.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// Key for the `X-Tocsin-Signature` HMAC-SHA256 header.
    #[serde(default)]
    pub hmac_secret: Option<Secret>,
}

impl WebhookConfig {
    /// Every problem, each as `key: what is wrong`.
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        check_url(&self.url, "webhook", p);
        check_headers(&self.headers, p);
        check_secret("hmac_secret", self.hmac_secret.as_ref(), p);
    }
}

/// The JSON body for `n`, sent at `now_ms`.
pub fn body(n: &Notification, cfg: &ReceiverConfig, now_ms: i64) -> Vec<u8> {
    let ext = cfg.external_url.as_deref();
    let b = WebhookBody {
        version: "1",
        idempotency_key: &n.idempotency_key,
        event: n.event.as_str(),
        receiver: &n.receiver,
        sent_at: rfc3339(now_ms),
        created_at: rfc3339(n.created_at),
        incident: WebhookIncident::of(&n.incident, ext),
        grouped: n
            .grouped
            .iter()
            .map(|i| WebhookIncident::of(i, ext))
            .collect(),
        children: &n.children,
    };
    serde_json::to_vec(&b).unwrap_or_default()
}

/// `sha256=<lowercase hex of HMAC-SHA256(secret, body)>`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// The complete request for `n` at `now_ms`.
pub fn request(n: &Notification, cfg: &ReceiverConfig, url: &str, now_ms: i64) -> HttpRequest {
    let body = body(n, cfg, now_ms);
    let own = match &cfg.channel {
        ChannelConfig::Webhook(w) => Some(w),
        _ => None,
    };
    let mut headers = vec![("Idempotency-Key".to_string(), n.idempotency_key.clone())];
    if let Some(secret) = own.and_then(|w| w.hmac_secret.as_ref()) {
        headers.push((
            "X-Tocsin-Timestamp".to_string(),
            (now_ms / 1000).to_string(),
        ));
        headers.push((
            "X-Tocsin-Signature".to_string(),
            signature(secret.expose().as_bytes(), &body),
        ));
    }
    headers.extend(
        own.into_iter()
            .flat_map(|w| &w.headers)
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    HttpRequest {
        url: url.to_string(),
        headers,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NotifyEvent;
    use crate::channels::testutil::{T0, config, hmac_sha256_hex, notification};

    #[test]
    fn body_follows_the_schema() {
        let mut n = notification(NotifyEvent::Opened);
        n.grouped
            .push(crate::channels::testutil::incident(14, "k14"));
        let cfg = config(
            "name = \"ops\"\nkind = \"webhook\"\nurl = \"http://x/\"\nexternal_url = \"https://console.example/\"",
        );
        let v: serde_json::Value = serde_json::from_slice(&body(&n, &cfg, T0 + 61_000)).unwrap();
        assert_eq!(v["version"], "1");
        assert_eq!(v["idempotency_key"], "ops/12/opened/1");
        assert_eq!(v["event"], "opened");
        assert_eq!(v["receiver"], "ops");
        assert_eq!(v["sent_at"], "2023-11-14T22:14:21.000Z");
        let inc = &v["incident"];
        assert_eq!(inc["id"], 12);
        assert_eq!(inc["key"], "disk_full|host-web01|mountpoint=/");
        assert_eq!(inc["status"], "open");
        assert_eq!(inc["severity"], "major");
        assert_eq!(inc["priority"], "P1");
        assert_eq!(inc["tier"], 1);
        assert_eq!(inc["ci"]["name"], "web01");
        assert_eq!(inc["ci"]["ip_addresses"][0], "10.0.0.1");
        assert_eq!(inc["object"]["mountpoint"], "/");
        assert_eq!(inc["opened_at"], "2023-11-14T22:13:20.000Z");
        assert!(inc["acknowledged_at"].is_null());
        assert_eq!(inc["threshold"], 90.0);
        assert_eq!(inc["sla"]["respond"]["target"], "10m");
        assert_eq!(inc["sla"]["respond"]["due_at"], "2023-11-14T22:23:20.000Z");
        assert_eq!(inc["sla"]["respond"]["status"], "pending");
        assert_eq!(inc["url"], "https://console.example/incidents/12");
        assert_eq!(v["grouped"][0]["id"], 14);
        assert_eq!(v["children"][0]["id"], 13);
        assert_eq!(v["children"][0]["severity"], "general");
    }

    #[test]
    fn signature_verifies_independently() {
        let n = notification(NotifyEvent::Resolved);
        let cfg = config(
            "name = \"ops\"\nkind = \"webhook\"\nurl = \"http://x/\"\nhmac_secret = \"s3cret-key\"\n\
             headers = { Authorization = \"Bearer t0ken\" }",
        );
        let req = request(&n, &cfg, "http://x/", T0 + 90_500);
        let h = |k: &str| {
            req.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(h("X-Tocsin-Timestamp").as_deref(), Some("1700000090"));
        let expected = format!("sha256={}", hmac_sha256_hex(b"s3cret-key", &req.body));
        assert_eq!(h("X-Tocsin-Signature"), Some(expected));
        assert_eq!(h("Idempotency-Key").as_deref(), Some("ops/12/resolved/1"));
        assert_eq!(h("Authorization").as_deref(), Some("Bearer t0ken"));
        // A changed body no longer verifies.
        let mut tampered = req.body.clone();
        tampered[10] ^= 1;
        assert_ne!(
            signature(b"s3cret-key", &tampered),
            h("X-Tocsin-Signature").unwrap()
        );
    }
}
