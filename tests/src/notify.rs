//! Shared pieces of the notification end-to-end tests (tests/tests/notify_*.rs):
//! a collector with one test rule and fast retries, a scripted agent,
//! readers of the outbox and the incident timeline, and barriers that prove
//! nothing more was sent without sleeping.

use anyhow::{Context, Result, ensure};
use serde_json::Value;

use crate::grpc::now_ms;
use crate::receivers::{HttpReceiver, hmac_sha256_hex};
use crate::{Collector, wait_for};
use std::time::Duration;

/// Built-ins off (no `agent_lost` noise), one rule with three severities.
pub const RULES: &str = r#"
[defaults]
enabled = false

[no_data]
enabled = false

[[rule]]
name = "probe_high"
selector = "tocsin_test_value"
thresholds = { warning = 50, general = 80, major = 95 }
recovery = 40
object_labels = ["probe"]
title = "{{labels.probe}} on {{ci}} is {{value}}"
"#;

/// Short retries so the suite stays fast; no reminders.
pub const RETRY: &str = r#"
[notify.retry]
initial_backoff = "200ms"
max_backoff = "2s"
max_attempts = 10
"#;

/// How long the tests wait for anything.
pub const WAIT: Duration = Duration::from_secs(20);

/// A collector with [`RULES`], the `[notify]` section `notify` and fast retries.
pub async fn start(dir: &std::path::Path, notify: &str) -> Result<Collector> {
    start_with_rules(dir, RULES, notify).await
}

/// A `[notify]` section sending everything to one webhook receiver `hook`
/// at `url`: reminders every `repeat` (`0s` = none), plus `notify_keys` and
/// `receiver_keys` (TOML lines, each ending in a newline).
pub fn webhook_config(url: &str, repeat: &str, notify_keys: &str, receiver_keys: &str) -> String {
    format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"{repeat}\"\n{notify_keys}\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{url}\"\n{receiver_keys}"
    )
}

/// [`start`] with other rules.
pub async fn start_with_rules(
    dir: &std::path::Path,
    rules_text: &str,
    notify: &str,
) -> Result<Collector> {
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, rules_text)?;
    let config = format!(
        "rules_file = {:?}\n{notify}\n{RETRY}",
        rules.display().to_string()
    );
    Collector::start_with_config(&dir.join("data"), dir, &config).await
}

pub use crate::probe::Probe;

/// The one incident of `ci` (fails when there is none or several).
pub async fn only_incident(c: &Collector, ci: &str) -> Result<Value> {
    let body = c.get_json(&format!("/api/v1/incidents?ci={ci}")).await?;
    let list = body["data"].as_array().cloned().unwrap_or_default();
    ensure!(list.len() == 1, "expected one incident of {ci}: {body}");
    let id = list[0]["id"].as_u64().context("id")?;
    incident(c, id).await
}

/// Incident `id` with its timeline.
pub async fn incident(c: &Collector, id: u64) -> Result<Value> {
    Ok(c.get_json(&format!("/api/v1/incidents/{id}")).await?["data"].clone())
}

/// Outbox records (`GET /api/v1/notifications?<query>`).
pub async fn notifications(c: &Collector, query: &str) -> Result<Vec<Value>> {
    let body = c
        .get_json(&format!("/api/v1/notifications?{query}"))
        .await?;
    Ok(body["data"].as_array().cloned().unwrap_or_default())
}

/// Outbox records about incident `id`.
pub async fn notifications_of(c: &Collector, id: u64) -> Result<Vec<Value>> {
    Ok(notifications(c, "limit=1000")
        .await?
        .into_iter()
        .filter(|r| r["notification"]["incident"]["id"] == id)
        .collect())
}

/// Waits for the outbox record of (`receiver`, incident `id`, `event`) to
/// reach `status`.
pub async fn wait_status(
    c: &Collector,
    receiver: &str,
    id: u64,
    event: &str,
    status: &str,
) -> Result<Value> {
    wait_for(WAIT, || async {
        Ok(notifications_of(c, id).await?.into_iter().find(|r| {
            r["notification"]["receiver"] == receiver
                && r["notification"]["event"] == event
                && r["status"] == status
        }))
    })
    .await
    .with_context(|| {
        format!(
            "{receiver}/{id}/{event} never became {status}; log:\n{}",
            c.proc.log()
        )
    })
}

/// Waits until `hook` has received the `event` message about incident `id`.
///
/// A barrier for "nothing more was sent": the outbox hands a receiver an
/// incident's notifications in order — one waits until every earlier one to
/// the same receiver about the same incident is finished (delivered, failed
/// or grouped), retries included. So once a later message has arrived, every
/// attempt of the earlier ones has too, and none of them is still pending.
pub async fn barrier(hook: &HttpReceiver, id: u64, event: &str) -> Result<()> {
    hook.wait_for(WAIT, &format!("{event} of incident {id}"), |r| {
        let b = r.json();
        b["incident"]["id"] == id && b["event"] == event
    })
    .await
    .map(drop)
}

/// Acknowledges incident `id` and waits for the acknowledgement to reach
/// `hook`: a [`barrier`] behind every earlier notification of `id` to `hook`.
pub async fn ack_barrier(c: &Collector, hook: &HttpReceiver, id: u64) -> Result<()> {
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/ack"),
            &serde_json::json!({"actor": "barrier"}),
        )
        .await?;
    ensure!(status == 200, "ack of incident {id}: {body}");
    barrier(hook, id, "acknowledged").await
}

/// The `notified` entries of an incident's timeline.
pub fn notified_entries(detail: &Value) -> Vec<Value> {
    detail["timeline"].as_array().map_or(vec![], |t| {
        t.iter()
            .filter(|e| e["kind"] == "notified")
            .cloned()
            .collect()
    })
}

/// RFC 3339 (UTC, seconds) for unix seconds.
pub fn rfc3339(secs: f64) -> String {
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", secs as i64),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `tocsinctl` against `c`.
pub fn ctl(c: &Collector, args: &[&str]) -> Result<std::process::Output> {
    let mut all = vec!["--url", c.http_url.as_str()];
    all.extend_from_slice(args);
    crate::run("tocsinctl", &all)
}

/// Checks `X-Tocsin-Signature` against an HMAC computed here.
pub fn assert_signed(r: &crate::receivers::Recorded, secret: &str) {
    let expected = format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &r.body));
    assert_eq!(
        r.header("x-tocsin-signature"),
        Some(expected.as_str()),
        "signature of {}",
        String::from_utf8_lossy(&r.body)
    );
    let ts: i64 = r
        .header("x-tocsin-timestamp")
        .and_then(|t| t.parse().ok())
        .expect("X-Tocsin-Timestamp");
    assert!((ts - now_ms() / 1000).abs() < 120, "timestamp {ts} is now");
}
