//! Alertmanager-compatible webhook (`kind = "alertmanager"`): the payload
//! Alertmanager's `webhook_config` sends (`version: "4"`), so receivers
//! written for Alertmanager work unchanged.
//!
//! One alert per incident in the notification (primary first, then the
//! grouped ones). Mapping:
//!
//! - `labels`: `alertname` = rule, `severity`, `ci` (CI name), `ci_id`,
//!   `instance` (first IP, else host name, when known), then the object labels
//!   (which never override those).
//! - `annotations`: `summary` = title, `description`, `incident_id`,
//!   `priority`, `tier`, `incident_status`, and `sla_respond_due`/`sla_resolve_due`
//!   (RFC 3339) when a clock runs.
//! - `startsAt` = opened; `endsAt` = resolved (or closed) time, and
//!   `0001-01-01T00:00:00Z` while firing, as Alertmanager does.
//! - `fingerprint`: 16 hex digits of FNV-1a 64 of the incident key (stable).
//! - `groupKey`: `{}:{incident="<primary id>"}`, stable for every event of
//!   the primary incident; `groupLabels` = `{"incident": "<id>"}`.
//! - Extra top-level `idempotencyKey` (Alertmanager receivers ignore unknown
//!   fields), besides the `Idempotency-Key` header.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::{ChannelConfig, ReceiverConfig, check_headers, check_url};
use super::http::HttpRequest;
use super::secret::Secret;
use super::text::{ci_name, incident_url};
use crate::Notification;
use tocsin_incidents::Incident;
use tocsin_model::time::rfc3339;

/// `endsAt` of a firing alert.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

type Kv = BTreeMap<String, String>;

/// The Alertmanager webhook body (v4).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AmPayload {
    pub version: &'static str,
    pub group_key: String,
    pub truncated_alerts: u32,
    pub status: &'static str,
    pub receiver: String,
    pub group_labels: Kv,
    pub common_labels: Kv,
    pub common_annotations: Kv,
    #[serde(rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<AmAlert>,
    pub idempotency_key: String,
}

/// One alert of the payload.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AmAlert {
    pub status: &'static str,
    pub labels: Kv,
    pub annotations: Kv,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

/// FNV-1a 64 of the incident key as 16 lowercase hex digits.
pub fn fingerprint(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn alert(inc: &Incident, resolved: bool, ext: Option<&str>) -> AmAlert {
    let mut labels = Kv::new();
    labels.insert("alertname".into(), inc.rule.clone());
    labels.insert("severity".into(), inc.severity.as_str().into());
    labels.insert("ci".into(), ci_name(inc).into());
    labels.insert("ci_id".into(), inc.ci_id.clone());
    if let Some(c) = &inc.ci {
        let instance = c.ip_addresses.first().or(c.hostname.as_ref());
        if let Some(i) = instance {
            labels.insert("instance".into(), i.clone());
        }
    }
    for (k, v) in &inc.object {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut ann = Kv::new();
    ann.insert("summary".into(), inc.title.clone());
    ann.insert("description".into(), inc.description.clone());
    ann.insert("incident_id".into(), inc.id.to_string());
    ann.insert("priority".into(), format!("{:?}", inc.priority));
    ann.insert("tier".into(), inc.tier.to_string());
    ann.insert("incident_status".into(), inc.status.as_str().into());
    if let Some(s) = &inc.sla.respond {
        ann.insert("sla_respond_due".into(), rfc3339(s.due_at));
    }
    if let Some(s) = &inc.sla.resolve {
        ann.insert("sla_resolve_due".into(), rfc3339(s.due_at));
    }
    let ends_at = if resolved {
        // A resolution without a recorded time still must end "now-ish": use the last update.
        rfc3339(inc.resolved_at.or(inc.closed_at).unwrap_or(inc.updated_at))
    } else {
        ZERO_TIME.to_string()
    };
    AmAlert {
        status: if resolved { "resolved" } else { "firing" },
        labels,
        annotations: ann,
        starts_at: rfc3339(inc.opened_at),
        ends_at,
        generator_url: incident_url(ext, inc.id).unwrap_or_default(),
        fingerprint: fingerprint(&inc.key),
    }
}

/// Keys present with the same value in every map.
fn common<'a>(maps: impl Iterator<Item = &'a Kv>) -> Kv {
    let mut iter = maps;
    let Some(first) = iter.next() else {
        return Kv::new();
    };
    let mut out = first.clone();
    for m in iter {
        out.retain(|k, v| m.get(k) == Some(v));
    }
    out
}

/// `kind = "alertmanager"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Endpoint (required). A secret, so `env:VAR` works here.
    #[serde(default)]
    pub url: Secret,
    /// Extra request headers. Values are secrets and may be `env:VAR`.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
}

impl AlertmanagerConfig {
    /// Every problem, each as `key: what is wrong`.
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        check_url(&self.url, "alertmanager", p);
        check_headers(&self.headers, p);
    }
}

/// The payload for `n`.
pub fn payload(n: &Notification, cfg: &ReceiverConfig) -> AmPayload {
    let ext = cfg.external_url.as_deref();
    let alerts: Vec<AmAlert> = n
        .incidents()
        .enumerate()
        .map(|(i, inc)| {
            let resolved = !inc.status.is_active() || (i == 0 && n.event.is_resolution());
            alert(inc, resolved, ext)
        })
        .collect();
    let firing = alerts.iter().any(|a| a.status == "firing");
    AmPayload {
        version: "4",
        group_key: format!("{{}}:{{incident=\"{}\"}}", n.incident.id),
        truncated_alerts: 0,
        status: if firing { "firing" } else { "resolved" },
        receiver: n.receiver.clone(),
        group_labels: Kv::from([("incident".to_string(), n.incident.id.to_string())]),
        common_labels: common(alerts.iter().map(|a| &a.labels)),
        common_annotations: common(alerts.iter().map(|a| &a.annotations)),
        external_url: ext.unwrap_or_default().to_string(),
        idempotency_key: n.idempotency_key.clone(),
        alerts,
    }
}

/// The complete request for `n`.
pub fn request(n: &Notification, cfg: &ReceiverConfig, url: &str) -> HttpRequest {
    let mut headers = vec![("Idempotency-Key".to_string(), n.idempotency_key.clone())];
    let own = match &cfg.channel {
        ChannelConfig::Alertmanager(a) => Some(a),
        _ => None,
    };
    headers.extend(
        own.into_iter()
            .flat_map(|a| &a.headers)
            .map(|(k, v)| (k.clone(), v.expose().to_string())),
    );
    HttpRequest {
        url: url.to_string(),
        headers,
        body: serde_json::to_vec(&payload(n, cfg)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NotifyEvent;
    use crate::channels::testutil::{config, incident, notification};
    use tocsin_incidents::Status;

    fn cfg() -> ReceiverConfig {
        config(
            "name = \"am\"\nkind = \"alertmanager\"\nurl = \"http://x/\"\nexternal_url = \"http://console:8080\"",
        )
    }

    fn json(n: &Notification) -> serde_json::Value {
        serde_json::from_slice(&request(n, &cfg(), "http://x/").body).unwrap()
    }

    #[test]
    fn firing_payload_has_the_v4_fields() {
        let mut n = notification(NotifyEvent::Opened);
        let mut other = incident(14, "other|key");
        other.object.clear();
        n.grouped.push(other);
        let v = json(&n);
        assert_eq!(v["version"], "4");
        assert_eq!(v["status"], "firing");
        assert_eq!(v["receiver"], "ops");
        assert_eq!(v["truncatedAlerts"], 0);
        assert_eq!(v["groupKey"], "{}:{incident=\"12\"}");
        assert_eq!(v["groupLabels"]["incident"], "12");
        assert_eq!(v["externalURL"], "http://console:8080");
        assert_eq!(v["idempotencyKey"], "ops/12/opened/1");
        let alerts = v["alerts"].as_array().unwrap();
        assert_eq!(alerts.len(), 2);
        let a = &alerts[0];
        assert_eq!(a["status"], "firing");
        assert_eq!(a["labels"]["alertname"], "disk_full");
        assert_eq!(a["labels"]["severity"], "major");
        assert_eq!(a["labels"]["ci"], "web01");
        assert_eq!(a["labels"]["instance"], "10.0.0.1");
        assert_eq!(a["labels"]["mountpoint"], "/");
        assert_eq!(a["annotations"]["summary"], n.incident.title.as_str());
        assert_eq!(
            a["annotations"]["description"],
            n.incident.description.as_str()
        );
        assert_eq!(a["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(a["endsAt"], ZERO_TIME);
        assert_eq!(a["generatorURL"], "http://console:8080/incidents/12");
        let fp = a["fingerprint"].as_str().unwrap();
        assert_eq!(fp.len(), 16);
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(fp, alerts[1]["fingerprint"].as_str().unwrap());
        // Common labels: shared ones only (the object label is not shared).
        assert_eq!(v["commonLabels"]["alertname"], "disk_full");
        assert!(v["commonLabels"].get("mountpoint").is_none());
        assert!(v["commonAnnotations"].get("incident_id").is_none());
    }

    #[test]
    fn resolved_payload_ends_and_keeps_the_fingerprint() {
        let opened = json(&notification(NotifyEvent::Opened));
        let n = notification(NotifyEvent::Resolved);
        assert_eq!(n.incident.status, Status::Resolved);
        let v = json(&n);
        assert_eq!(v["status"], "resolved");
        assert_eq!(v["alerts"][0]["status"], "resolved");
        assert_eq!(v["alerts"][0]["endsAt"], "2023-11-14T22:23:20.000Z");
        assert_eq!(
            v["alerts"][0]["fingerprint"],
            opened["alerts"][0]["fingerprint"]
        );
        assert_eq!(v["groupKey"], opened["groupKey"]);
    }

    #[test]
    fn fingerprint_is_fnv1a() {
        // FNV-1a 64 reference values.
        assert_eq!(fingerprint(""), "cbf29ce484222325");
        assert_eq!(fingerprint("a"), "af63dc4c8601ec8c");
    }
}
