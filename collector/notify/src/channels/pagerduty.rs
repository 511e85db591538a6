//! PagerDuty Events API v2 (`kind = "pagerduty"`), usable against any URL
//! that speaks it (default: PagerDuty's own endpoint).
//!
//! One event per incident in the notification (primary, then grouped), each
//! with `dedup_key` = the incident key, so PagerDuty keeps one alert per
//! incident. `event_action`: the primary's `acknowledged` event →
//! `acknowledge`, `resolved`/`closed` → `resolve`, everything else →
//! `trigger`; grouped incidents → `trigger` while active, else `resolve`.
//! As in Alertmanager's PagerDuty integration, `payload` is sent with
//! `trigger` only (there it is required); it carries the idempotency key in
//! `custom_details`. Acknowledge/resolve events are idempotent by
//! `dedup_key` and carry the key in the `Idempotency-Key` header.
//!
//! Severity: major → `critical`, general → `error`, warning → `warning`;
//! `test` notifications → `info`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::config::{ChannelConfig, ReceiverConfig, check_http_url};
use super::http::HttpRequest;
use super::secret::Secret;
use super::text::{ci_name, incident_url};
use crate::{Notification, NotifyEvent};
use tocsin_incidents::Incident;
use tocsin_model::Severity;
use tocsin_model::time::rfc3339;

/// PagerDuty's limit on `summary`.
const SUMMARY_MAX: usize = 1024;

/// The `event_action` for incident `index` (0 = primary) of `n`.
pub fn action(n: &Notification, index: usize, inc: &Incident) -> &'static str {
    if index == 0 {
        match n.event {
            NotifyEvent::Acknowledged => "acknowledge",
            e if e.is_resolution() => "resolve",
            _ => "trigger",
        }
    } else if inc.status.is_active() {
        "trigger"
    } else {
        "resolve"
    }
}

/// PagerDuty severity of a Tocsin severity.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Major => "critical",
        Severity::General => "error",
        Severity::Warning => "warning",
    }
}

/// PagerDuty's Events API v2 endpoint, used when a `pagerduty` receiver has no `url`.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// `kind = "pagerduty"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Endpoint; default: PagerDuty's Events API ([`PAGERDUTY_EVENTS_URL`]).
    #[serde(default)]
    pub url: Option<Secret>,
    /// The integration's routing key (required).
    #[serde(default)]
    pub routing_key: Secret,
}

impl PagerdutyConfig {
    /// The URL events go to.
    pub fn endpoint(&self) -> &str {
        self.url
            .as_ref()
            .map_or(PAGERDUTY_EVENTS_URL, Secret::expose)
    }

    /// Every problem, each as `key: what is wrong`.
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        if let Some(u) = &self.url
            && let Err(e) = check_http_url(u.expose())
        {
            p.push(format!("url: {e}"));
        }
        if self.routing_key.is_blank() {
            p.push("routing_key: required for kind pagerduty".to_string());
        }
    }
}

/// The events for `n`, one per incident.
pub fn events(n: &Notification, cfg: &ReceiverConfig) -> Vec<Value> {
    let routing_key = match &cfg.channel {
        ChannelConfig::Pagerduty(c) => c.routing_key.expose(),
        _ => "",
    };
    let ext = cfg.external_url.as_deref();
    n.incidents()
        .enumerate()
        .map(|(i, inc)| {
            let action = action(n, i, inc);
            let mut ev = json!({
                "routing_key": routing_key,
                "event_action": action,
                "dedup_key": inc.key,
                "client": "Tocsin",
            });
            if let Some(url) = incident_url(ext, inc.id) {
                ev["client_url"] = json!(url);
                ev["links"] = json!([{"href": url, "text": format!("Incident #{}", inc.id)}]);
            }
            if action == "trigger" {
                ev["payload"] = payload(n, inc);
            }
            ev
        })
        .collect()
}

fn payload(n: &Notification, inc: &Incident) -> Value {
    let mut summary = format!("#{} {} ({})", inc.id, inc.title, ci_name(inc));
    if summary.len() > SUMMARY_MAX {
        let mut end = SUMMARY_MAX - 3;
        while !summary.is_char_boundary(end) {
            end -= 1;
        }
        summary.truncate(end);
        summary.push_str("...");
    }
    let component = if inc.object.is_empty() {
        inc.rule.clone()
    } else {
        let o: Vec<String> = inc.object.iter().map(|(k, v)| format!("{k}={v}")).collect();
        o.join(",")
    };
    let sev = if n.event == NotifyEvent::Test {
        "info"
    } else {
        severity(inc.severity)
    };
    json!({
        "summary": summary,
        "source": ci_name(inc),
        "severity": sev,
        "timestamp": rfc3339(n.created_at),
        "component": component,
        "group": inc.ci.as_ref().map(|c| c.class.as_str()).unwrap_or(""),
        "class": inc.rule,
        "custom_details": {
            "idempotency_key": n.idempotency_key,
            "event": n.event.as_str(),
            "incident_id": inc.id,
            "incident_key": inc.key,
            "status": inc.status.as_str(),
            "tocsin_severity": inc.severity.as_str(),
            "priority": inc.priority,
            "tier": inc.tier,
            "description": inc.description,
            "last_value": inc.last_value,
            "threshold": inc.threshold,
            "opened_at": rfc3339(inc.opened_at),
            "ci_id": inc.ci_id,
            "ci": inc.ci,
            "object": inc.object,
            "sla": inc.sla,
        }
    })
}

/// The requests for `n`, one per incident, in order.
pub fn requests(n: &Notification, cfg: &ReceiverConfig, url: &str) -> Vec<HttpRequest> {
    events(n, cfg)
        .into_iter()
        .map(|ev| HttpRequest {
            url: url.to_string(),
            headers: vec![("Idempotency-Key".to_string(), n.idempotency_key.clone())],
            body: serde_json::to_vec(&ev).unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::testutil::{config, incident, notification};

    fn cfg() -> ReceiverConfig {
        config("name = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"R0UTING-KEY\"")
    }

    #[test]
    fn actions_follow_the_event() {
        use NotifyEvent as E;
        let cases = [
            (E::Opened, "trigger"),
            (E::SeverityRaised, "trigger"),
            (E::Escalated, "trigger"),
            (E::Reminder, "trigger"),
            (E::Test, "trigger"),
            (E::Acknowledged, "acknowledge"),
            (E::Resolved, "resolve"),
            (E::Closed, "resolve"),
        ];
        for (event, expected) in cases {
            let ev = &events(&notification(event), &cfg())[0];
            assert_eq!(ev["event_action"], expected, "{event:?}");
            assert_eq!(ev["dedup_key"], "disk_full|host-web01|mountpoint=/");
            assert_eq!(ev["routing_key"], "R0UTING-KEY");
            assert_eq!(
                ev.get("payload").is_some(),
                expected == "trigger",
                "{event:?}"
            );
        }
    }

    #[test]
    fn trigger_payload_fields() {
        let mut n = notification(NotifyEvent::Opened);
        let mut resolved = incident(14, "k14");
        resolved.status = tocsin_incidents::Status::Resolved;
        n.grouped.push(resolved);
        let evs = events(&n, &cfg());
        assert_eq!(evs.len(), 2);
        let p = &evs[0]["payload"];
        assert_eq!(p["severity"], "critical");
        assert_eq!(p["source"], "web01");
        assert_eq!(p["component"], "mountpoint=/");
        assert_eq!(p["group"], "host");
        assert_eq!(p["class"], "disk_full");
        assert_eq!(p["timestamp"], "2023-11-14T22:14:20.000Z");
        assert!(p["summary"].as_str().unwrap().starts_with("#12 Disk"));
        assert_eq!(p["custom_details"]["idempotency_key"], "ops/12/opened/1");
        assert_eq!(p["custom_details"]["sla"]["resolve"]["target"], "4h");
        assert_eq!(evs[1]["event_action"], "resolve");
        assert_eq!(evs[1]["dedup_key"], "k14");
        let test = events(&notification(NotifyEvent::Test), &cfg());
        assert_eq!(test[0]["payload"]["severity"], "info");
        assert_eq!(severity(Severity::General), "error");
        assert_eq!(severity(Severity::Warning), "warning");
    }
}
