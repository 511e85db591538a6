//! Incidents reach people: the real collector binary delivers notifications
//! to recording HTTP receivers (webhook, Alertmanager, PagerDuty, DingTalk,
//! WeCom, Feishu) and to an SMTP sink, through its durable outbox, with
//! retries, manual retry, routing, maintenance suppression and crash safety.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use tocsin_e2e::grpc::{Stream, batch, def, now_ms};
use tocsin_e2e::receivers::{
    HttpReceiver, Reply, SmtpSink, base64_std, hmac_sha256, hmac_sha256_hex,
};
use tocsin_e2e::{Collector, wait_for};
use tocsin_proto::v1::{Inventory, NetInterface};

/// Built-ins off (no `agent_lost` noise), one rule with three severities.
const RULES: &str = r#"
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
const RETRY: &str = r#"
[notify.retry]
initial_backoff = "200ms"
max_backoff = "2s"
max_attempts = 10
"#;

const WAIT: Duration = Duration::from_secs(20);

async fn start(dir: &std::path::Path, notify: &str) -> Result<Collector> {
    start_with_rules(dir, RULES, notify).await
}

async fn start_with_rules(
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

/// A scripted agent with one series `tocsin_test_value{probe="p1"}`.
struct Probe {
    agent: String,
    stream: Stream,
    seq: u64,
    declared: bool,
    ts: i64,
}

impl Probe {
    async fn open(c: &Collector, agent: &str) -> Result<Self> {
        let inventory = Inventory {
            hostname: format!("{agent}-host"),
            os_name: "Debian GNU/Linux".into(),
            os_version: "12".into(),
            dmi_serial: format!("SN-{agent}"),
            interfaces: vec![NetInterface {
                name: "eth0".into(),
                mac: "02:00:00:00:00:01".into(),
                ips: vec!["10.9.8.7".into()],
            }],
            ..Default::default()
        };
        Ok(Self {
            agent: agent.to_string(),
            stream: Stream::open_with(&c.grpc_url, agent, inventory).await?,
            seq: 0,
            declared: false,
            ts: now_ms() - 60_000,
        })
    }

    async fn send(&mut self, value: f64) -> Result<()> {
        self.seq += 1;
        self.ts += 100;
        let defs = if self.declared {
            vec![]
        } else {
            vec![def(
                1,
                "tocsin_test_value",
                &[("host", &self.agent), ("probe", "p1")],
            )]
        };
        self.declared = true;
        let r = self
            .stream
            .send(batch(self.seq, defs, &[(1, self.ts, value)]))
            .await?;
        ensure!(r.code == 0, "batch rejected: {r:?}");
        Ok(())
    }
}

/// The one incident of `ci` (fails when there is none or several).
async fn only_incident(c: &Collector, ci: &str) -> Result<Value> {
    let body = c.get_json(&format!("/api/v1/incidents?ci={ci}")).await?;
    let list = body["data"].as_array().cloned().unwrap_or_default();
    ensure!(list.len() == 1, "expected one incident of {ci}: {body}");
    let id = list[0]["id"].as_u64().context("id")?;
    incident(c, id).await
}

async fn incident(c: &Collector, id: u64) -> Result<Value> {
    Ok(c.get_json(&format!("/api/v1/incidents/{id}")).await?["data"].clone())
}

/// Outbox records (`GET /api/v1/notifications?<query>`).
async fn notifications(c: &Collector, query: &str) -> Result<Vec<Value>> {
    let body = c
        .get_json(&format!("/api/v1/notifications?{query}"))
        .await?;
    Ok(body["data"].as_array().cloned().unwrap_or_default())
}

/// Outbox records about incident `id`.
async fn notifications_of(c: &Collector, id: u64) -> Result<Vec<Value>> {
    Ok(notifications(c, "limit=1000")
        .await?
        .into_iter()
        .filter(|r| r["notification"]["incident"]["id"] == id)
        .collect())
}

/// Waits for the outbox record of (`receiver`, incident `id`, `event`) to
/// reach `status`.
async fn wait_status(
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

fn notified_entries(detail: &Value) -> Vec<Value> {
    detail["timeline"].as_array().map_or(vec![], |t| {
        t.iter()
            .filter(|e| e["kind"] == "notified")
            .cloned()
            .collect()
    })
}

/// RFC 3339 (UTC, seconds) for unix seconds.
fn rfc3339(secs: f64) -> String {
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

fn ctl(c: &Collector, args: &[&str]) -> Result<std::process::Output> {
    let mut all = vec!["--url", c.http_url.as_str()];
    all.extend_from_slice(args);
    tocsin_e2e::run("tocsinctl", &all)
}

/// Checks `X-Tocsin-Signature` against an HMAC computed here.
fn assert_signed(r: &tocsin_e2e::receivers::Recorded, secret: &str) {
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

/// 1. Every channel's format, for the opening and the resolution.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opened_and_resolved_reach_every_channel_in_its_format() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let am = HttpReceiver::start_with(Reply::new(200, "")).await?;
    let pd = HttpReceiver::start_with(Reply::new(
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"x"}"#,
    ))
    .await?;
    let ding = HttpReceiver::start().await?;
    let wecom = HttpReceiver::start().await?;
    let feishu = HttpReceiver::start_with(Reply::new(200, r#"{"code":0,"msg":"success"}"#)).await?;
    let notify = format!(
        r#"
[notify]
default_receivers = ["hook", "am", "pd", "ding", "wecom", "feishu"]
repeat_interval = "0s"

[[notify.receiver]]
name = "hook"
kind = "webhook"
url = "{}"
timeout = "5s"
headers = {{ X-Team = "ops" }}
hmac_secret = "s3cret"

[[notify.receiver]]
name = "am"
kind = "alertmanager"
url = "{}"

[[notify.receiver]]
name = "pd"
kind = "pagerduty"
routing_key = "R0UTING-KEY-0123"
url = "{}"

[[notify.receiver]]
name = "ding"
kind = "dingtalk"
url = "{}"
secret = "SECding0123456789"

[[notify.receiver]]
name = "wecom"
kind = "wecom"
url = "{}"

[[notify.receiver]]
name = "feishu"
kind = "feishu"
url = "{}"
secret = "SECfeishu0123456789"
"#,
        hook.url("/hook"),
        am.url("/api/v1/alerts"),
        pd.url("/v2/enqueue"),
        ding.url("/robot/send?access_token=dt0ken"),
        wecom.url("/cgi-bin/webhook/send?key=wk3y"),
        feishu.url("/open-apis/bot/v2/hook/fs"),
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "h1").await?;
    p.send(10.0).await?;
    p.send(99.0).await?;
    let inc = only_incident(&c, "h1").await?;
    let id = inc["id"].as_u64().context("id")?;
    let key = inc["key"].as_str().context("key")?.to_string();
    assert_eq!(inc["severity"], "major", "{inc}");
    let title = inc["title"].as_str().context("title")?.to_string();
    assert_eq!(title, "p1 on h1-host is 99");

    // Generic webhook.
    let r = hook
        .wait_for(WAIT, "webhook opened", |r| r.json()["event"] == "opened")
        .await?;
    assert_eq!(r.method, "POST");
    assert_eq!(r.uri, "/hook");
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    let b = r.json();
    assert_eq!(b["version"], "1");
    assert_eq!(b["receiver"], "hook");
    let ikey = b["idempotency_key"].as_str().context("idempotency_key")?;
    assert_eq!(r.idempotency_key(), Some(ikey), "header = body key");
    assert!(ikey.starts_with(&format!("hook/{id}/opened/")), "{ikey}");
    assert_eq!(r.header("x-team"), Some("ops"), "custom header");
    assert_signed(&r, "s3cret");
    let sent_at = b["sent_at"].as_str().context("sent_at")?;
    assert!(sent_at.ends_with('Z') && sent_at.contains('T'), "{sent_at}");
    let wi = &b["incident"];
    assert_eq!(wi["id"], id);
    assert_eq!(wi["key"], key.as_str());
    assert_eq!(wi["rule"], "probe_high");
    assert_eq!(wi["title"], title.as_str());
    assert_eq!(wi["severity"], "major");
    assert_eq!(wi["status"], "open");
    assert_eq!(wi["ci_id"], "h1");
    assert_eq!(wi["object"]["probe"], "p1");
    assert_eq!(wi["threshold"], 95.0);
    assert_eq!(wi["last_value"], 99.0);
    assert_eq!(wi["ci"]["name"], "h1-host", "CI snapshot: {wi}");
    assert_eq!(wi["ci"]["class"], inc["ci"]["class"]);
    assert_eq!(wi["ci"]["hostname"], inc["ci"]["hostname"]);
    assert_eq!(wi["ci"]["os_name"], "Debian GNU/Linux", "CI snapshot: {wi}");
    assert_eq!(wi["ci"]["ip_addresses"], inc["ci"]["ip_addresses"]);
    assert!(
        wi["sla"]["respond"]["due_at"].is_string(),
        "SLA state: {wi}"
    );
    assert_eq!(wi["sla"]["respond"]["status"], "pending", "{wi}");
    assert_eq!(
        wi["sla"]["respond"]["due_at"],
        inc["sla"]["respond"]["due_at"]
    );
    assert!(wi["resolved_at"].is_null());

    // Alertmanager v4.
    let r = am
        .wait_for(WAIT, "alertmanager firing", |r| {
            r.json()["status"] == "firing"
        })
        .await?;
    let b = r.json();
    assert_eq!(b["version"], "4");
    assert_eq!(b["receiver"], "am");
    assert_eq!(b["idempotencyKey"].as_str(), r.idempotency_key());
    let a = &b["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["labels"]["alertname"], "probe_high");
    assert_eq!(a["labels"]["severity"], "major");
    assert_eq!(a["labels"]["ci_id"], "h1");
    assert_eq!(a["labels"]["probe"], "p1");
    assert_eq!(a["annotations"]["summary"], title.as_str());
    assert_eq!(a["annotations"]["incident_id"], id.to_string());
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    let starts_at = a["startsAt"].as_str().context("startsAt")?.to_string();
    assert!(starts_at.starts_with("20"), "{starts_at}");
    let fingerprint = a["fingerprint"]
        .as_str()
        .context("fingerprint")?
        .to_string();
    assert!(
        fingerprint.len() == 16 && fingerprint.chars().all(|c| c.is_ascii_hexdigit()),
        "{fingerprint}"
    );

    // PagerDuty Events v2.
    let r = pd
        .wait_for(WAIT, "pagerduty trigger", |r| {
            r.json()["event_action"] == "trigger"
        })
        .await?;
    let b = r.json();
    assert_eq!(r.uri, "/v2/enqueue");
    assert_eq!(b["routing_key"], "R0UTING-KEY-0123");
    assert_eq!(b["dedup_key"], key.as_str(), "dedup_key = incident key");
    assert_eq!(b["payload"]["severity"], "critical");
    assert_eq!(b["payload"]["source"], "h1-host");
    assert_eq!(b["payload"]["class"], "probe_high");
    assert_eq!(
        b["payload"]["custom_details"]["idempotency_key"].as_str(),
        r.idempotency_key()
    );
    assert!(
        b["payload"]["summary"]
            .as_str()
            .is_some_and(|s| s.contains(&title)),
        "{b}"
    );

    // DingTalk (signed): the URL gains timestamp and sign, checked independently.
    let r = ding
        .wait_for(WAIT, "dingtalk opened", |r| {
            r.json()["msgtype"] == "markdown"
        })
        .await?;
    let b = r.json();
    let (path, query) = r.uri.split_once('?').context("dingtalk query")?;
    assert_eq!(path, "/robot/send");
    let params: Vec<(String, String)> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(param("access_token").as_deref(), Some("dt0ken"));
    let ts = param("timestamp").context("timestamp")?;
    let sign = base64_std(&hmac_sha256(
        b"SECding0123456789",
        format!("{ts}\nSECding0123456789").as_bytes(),
    ))
    .replace('+', "%2B")
    .replace('/', "%2F")
    .replace('=', "%3D");
    assert_eq!(param("sign"), Some(sign), "DingTalk sign");
    let md_title = b["markdown"]["title"].as_str().context("title")?;
    assert!(
        md_title.contains("[MAJOR]") && md_title.contains(&format!("#{id}")),
        "{md_title}"
    );
    let text = b["markdown"]["text"].as_str().context("text")?;
    assert!(text.contains(&title) && text.contains("h1-host"), "{text}");
    assert!(text.contains(&format!("key: ding/{id}/opened/")), "{text}");

    // WeCom.
    let r = wecom
        .wait_for(WAIT, "wecom opened", |r| r.json()["msgtype"] == "markdown")
        .await?;
    assert_eq!(r.uri, "/cgi-bin/webhook/send?key=wk3y");
    let content = r.json()["markdown"]["content"]
        .as_str()
        .context("content")?
        .to_string();
    assert!(
        content.contains("[MAJOR]") && content.contains(&title),
        "{content}"
    );
    assert!(
        content.contains(&format!("key: wecom/{id}/opened/")),
        "{content}"
    );

    // Feishu (signed in the body).
    let r = feishu
        .wait_for(WAIT, "feishu opened", |r| r.json()["msg_type"] == "text")
        .await?;
    let b = r.json();
    let text = b["content"]["text"].as_str().context("text")?;
    assert!(
        text.starts_with(&format!("[MAJOR] #{id} opened: {title}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("key: feishu/{id}/opened/")),
        "{text}"
    );
    let ts = b["timestamp"].as_str().context("feishu timestamp")?;
    let sign = base64_std(&hmac_sha256(
        format!("{ts}\nSECfeishu0123456789").as_bytes(),
        b"",
    ));
    assert_eq!(b["sign"], sign.as_str(), "Feishu sign");

    // Every opened notification is recorded as delivered, in the outbox and on the timeline.
    for rcv in ["hook", "am", "pd", "ding", "wecom", "feishu"] {
        wait_status(&c, rcv, id, "opened", "delivered").await?;
    }
    let detail = wait_for(WAIT, || async {
        let d = incident(&c, id).await?;
        Ok((notified_entries(&d).len() >= 6).then_some(d))
    })
    .await
    .context("notified timeline entries")?;
    let receivers: BTreeSet<String> = notified_entries(&detail)
        .iter()
        .filter(|e| e["data"]["outcome"] == "delivered")
        .filter_map(|e| e["data"]["receiver"].as_str().map(str::to_string))
        .collect();
    assert_eq!(receivers.len(), 6, "{detail}");

    // The value recovers: resolved everywhere.
    p.send(10.0).await?;
    assert_eq!(incident(&c, id).await?["status"], "resolved");
    let r = hook
        .wait_for(WAIT, "webhook resolved", |r| {
            r.json()["event"] == "resolved"
        })
        .await?;
    assert_signed(&r, "s3cret");
    let b = r.json();
    assert_eq!(b["incident"]["status"], "resolved");
    assert!(b["incident"]["resolved_at"].is_string(), "{b}");
    assert_eq!(r.idempotency_key(), b["idempotency_key"].as_str());
    assert!(
        r.idempotency_key()
            .is_some_and(|k| k.starts_with(&format!("hook/{id}/resolved/"))),
        "{:?}",
        r.idempotency_key()
    );

    let r = am
        .wait_for(WAIT, "alertmanager resolved", |r| {
            r.json()["status"] == "resolved"
        })
        .await?;
    let a = &r.json()["alerts"][0];
    assert_eq!(a["status"], "resolved");
    let ends_at = a["endsAt"].as_str().context("endsAt")?;
    assert_ne!(ends_at, "0001-01-01T00:00:00Z");
    assert!(
        ends_at.starts_with("20") && ends_at >= starts_at.as_str(),
        "{ends_at} vs {starts_at}"
    );
    assert_eq!(a["fingerprint"], fingerprint.as_str(), "same alert");
    assert_eq!(a["startsAt"], starts_at.as_str());

    let r = pd
        .wait_for(WAIT, "pagerduty resolve", |r| {
            r.json()["event_action"] == "resolve"
        })
        .await?;
    let b = r.json();
    assert_eq!(b["dedup_key"], key.as_str());
    assert_eq!(b["routing_key"], "R0UTING-KEY-0123");
    let actions: Vec<String> = pd
        .requests()
        .iter()
        .map(|r| r.json()["event_action"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"], "trigger, then resolve");

    ding.wait_for(WAIT, "dingtalk resolved", |r| {
        r.json()["markdown"]["title"]
            .as_str()
            .is_some_and(|t| t.contains("resolved"))
    })
    .await?;
    wecom
        .wait_for(WAIT, "wecom resolved", |r| {
            r.json()["markdown"]["content"]
                .as_str()
                .is_some_and(|t| t.contains(&format!("key: wecom/{id}/resolved/")))
        })
        .await?;
    feishu
        .wait_for(WAIT, "feishu resolved", |r| {
            r.json()["content"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(&format!("#{id} resolved")))
        })
        .await?;
    for rcv in ["hook", "am", "pd", "ding", "wecom", "feishu"] {
        wait_status(&c, rcv, id, "resolved", "delivered").await?;
    }
    Ok(())
}

/// 2. 503, 503, 429 (Retry-After: 1), then 200: delivered once, 4 attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transient_failures_are_retried_until_delivered_exactly_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    hook.script([
        Reply::new(503, "down"),
        Reply::new(503, "still down"),
        Reply::new(429, "slow down").header("Retry-After", "1"),
    ]);
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        hook.url("/hook")
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "r1").await?;
    p.send(99.0).await?;
    let id = only_incident(&c, "r1").await?["id"]
        .as_u64()
        .context("id")?;

    let rec = wait_status(&c, "hook", id, "opened", "delivered").await?;
    assert_eq!(rec["attempts"], 4, "{rec}");
    assert_eq!(rec["channel"], "webhook");
    let key = rec["notification"]["idempotency_key"]
        .as_str()
        .context("key")?
        .to_string();

    let reqs = hook.with_key(&key);
    let statuses: Vec<u16> = reqs.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 429, 200], "{reqs:?}");
    for r in &reqs {
        assert_eq!(
            r.json()["idempotency_key"],
            key.as_str(),
            "same key every attempt"
        );
    }
    // Backoff doubles from 200ms; the 429's Retry-After (1s) beats the 800ms backoff.
    let gap = |i: usize| reqs[i].at.duration_since(reqs[i - 1].at);
    assert!(gap(1) >= Duration::from_millis(180), "{:?}", gap(1));
    assert!(gap(2) >= Duration::from_millis(380), "{:?}", gap(2));
    assert!(
        gap(3) >= Duration::from_millis(950),
        "Retry-After honoured: {:?}",
        gap(3)
    );
    // Exactly one successful request per idempotency key, over everything received.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ok = hook
        .requests()
        .into_iter()
        .filter(|r| r.status == 200 && r.idempotency_key() == Some(key.as_str()))
        .count();
    assert_eq!(ok, 1);

    // The incident's timeline has a notified entry: delivered after 4 attempts.
    let detail = wait_for(WAIT, || async {
        let d = incident(&c, id).await?;
        Ok(notified_entries(&d)
            .iter()
            .any(|e| e["data"]["outcome"] == "delivered")
            .then_some(d))
    })
    .await
    .context("no delivered timeline entry")?;
    let entry = notified_entries(&detail)
        .into_iter()
        .find(|e| e["data"]["outcome"] == "delivered")
        .context("entry")?;
    assert_eq!(entry["data"]["receiver"], "hook", "{entry}");
    assert_eq!(entry["data"]["channel"], "webhook", "{entry}");
    assert_eq!(entry["data"]["attempts"], 4, "{entry}");
    assert!(entry["data"]["error"].is_null(), "{entry}");

    // Every attempt is counted on /metrics.
    let text = c.metrics_text().await?;
    let attempts = |outcome: &str| {
        tocsin_e2e::metric_value(
            &text,
            &format!(
                "tocsin_notification_attempts_total{{receiver=\"hook\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(attempts("retry"), Some(3.0), "{text}");
    assert_eq!(attempts("delivered"), Some(1.0), "{text}");
    Ok(())
}

/// 3. A 400 is permanent: failed, listed by tocsinctl, retried by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_notification_fails_and_is_retried_by_hand() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(400, r#"{"error":"bad payload"}"#)).await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "f1").await?;
    p.send(99.0).await?;
    let id = only_incident(&c, "f1").await?["id"]
        .as_u64()
        .context("id")?;

    let rec = wait_status(&c, "hook", id, "opened", "failed").await?;
    assert_eq!(rec["attempts"], 1, "a 400 is not retried: {rec}");
    assert!(
        rec["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("400")),
        "{rec}"
    );
    let nid = rec["notification"]["id"].as_u64().context("id")?;
    let key = rec["notification"]["idempotency_key"]
        .as_str()
        .context("key")?
        .to_string();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        hook.with_key(&key).len(),
        1,
        "no automatic retry after a 400"
    );
    let detail = wait_for(WAIT, || async {
        let d = incident(&c, id).await?;
        Ok(notified_entries(&d)
            .iter()
            .any(|e| e["data"]["outcome"] == "failed")
            .then_some(d))
    })
    .await
    .context("no failed timeline entry")?;
    assert!(
        notified_entries(&detail)
            .iter()
            .any(|e| e["data"]["outcome"] == "failed"
                && e["data"]["error"]
                    .as_str()
                    .is_some_and(|x| x.contains("400"))),
        "{detail}"
    );

    let out = ctl(&c, &["notify", "list", "--status", "failed"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let row = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(nid.to_string().as_str()))
        .with_context(|| format!("notification {nid} not listed:\n{text}"))?;
    assert!(row.contains("failed") && row.contains("hook"), "{row}");
    let out = ctl(&c, &["notify", "list", "--status", "delivered"])?;
    assert!(
        !String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.split_whitespace().next() == Some(nid.to_string().as_str())),
        "{out:?}"
    );

    hook.set_default(Reply::new(200, "{}"));
    let out = ctl(&c, &["notify", "retry", &nid.to_string()])?;
    assert!(out.status.success(), "{out:?}");
    let rec = wait_status(&c, "hook", id, "opened", "delivered").await?;
    assert_eq!(rec["notification"]["id"], nid);
    let statuses: Vec<u16> = hook.with_key(&key).iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [400, 200],
        "same idempotency key after the manual retry"
    );
    // Retrying a delivered notification does not send it again.
    let (status, body) = c
        .post_json(&format!("/api/v1/notifications/{nid}/retry"), &json!({}))
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "delivered", "{body}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hook.with_key(&key).len(), 2, "{:?}", hook.with_key(&key));
    let (status, _) = c
        .post_json("/api/v1/notifications/999999/retry", &json!({}))
        .await?;
    assert_eq!(status, 404);
    Ok(())
}

/// 4. The outbox survives SIGKILL: pending ones are delivered after the
///    restart, delivered ones are not sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_outbox_survives_a_crash_without_resending() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        hook.url("/hook")
    );
    let mut c = start(dir.path(), &notify).await?;

    // Delivered before the crash.
    let mut a = Probe::open(&c, "c1").await?;
    a.send(99.0).await?;
    let id_a = only_incident(&c, "c1").await?["id"]
        .as_u64()
        .context("id")?;
    let rec_a = wait_status(&c, "hook", id_a, "opened", "delivered").await?;
    let key_a = rec_a["notification"]["idempotency_key"]
        .as_str()
        .context("key")?
        .to_string();

    // Pending at the crash: the receiver is down.
    hook.set_default(Reply::new(503, "maintenance"));
    let mut b = Probe::open(&c, "c2").await?;
    b.send(99.0).await?;
    let id_b = only_incident(&c, "c2").await?["id"]
        .as_u64()
        .context("id")?;
    let key_b = wait_for(WAIT, || async {
        Ok(hook
            .requests()
            .into_iter()
            .find(|r| r.status == 503 && r.json()["incident"]["id"] == id_b)
            .and_then(|r| r.idempotency_key().map(str::to_string)))
    })
    .await
    .context("the receiver never saw incident B")?;
    let pending = notifications(&c, "status=pending").await?;
    assert!(
        pending
            .iter()
            .any(|r| r["notification"]["idempotency_key"] == key_b.as_str()),
        "{pending:?}"
    );

    c.proc.crash();
    c.restart().await?;
    hook.set_default(Reply::new(200, "{}"));

    let rec_b = wait_status(&c, "hook", id_b, "opened", "delivered").await?;
    assert_eq!(rec_b["notification"]["idempotency_key"], key_b.as_str());
    // Give a wrongly re-queued delivered notification time to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let ok_b = hook
        .with_key(&key_b)
        .iter()
        .filter(|r| r.status == 200)
        .count();
    assert_eq!(ok_b, 1, "pending one delivered once after the restart");
    assert_eq!(
        hook.with_key(&key_a).len(),
        1,
        "delivered before the crash: never sent again"
    );
    let rec_a = notifications_of(&c, id_a).await?;
    assert_eq!(rec_a.len(), 1, "{rec_a:?}");
    assert_eq!(rec_a[0]["status"], "delivered");
    assert_eq!(rec_a[0]["attempts"], 1);
    let detail = incident(&c, id_b).await?;
    let outcomes: Vec<Value> = notified_entries(&detail)
        .iter()
        .map(|e| e["data"]["outcome"].clone())
        .collect();
    assert!(outcomes.contains(&json!("delivered")), "{detail}");
    Ok(())
}

/// 5. E-mail: subject with severity and title, text and HTML parts, recipient.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_opened_incident_is_mailed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let smtp = SmtpSink::start().await?;
    let notify = format!(
        r#"
[notify]
default_receivers = ["mail"]
repeat_interval = "0s"

[[notify.receiver]]
name = "mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = {}
tls = "none"
timeout = "5s"
from = "Tocsin <tocsin@example.test>"
to = ["ops@example.test"]
"#,
        smtp.port
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "m1").await?;
    p.send(99.0).await?;
    let inc = only_incident(&c, "m1").await?;
    let id = inc["id"].as_u64().context("id")?;
    let title = inc["title"].as_str().context("title")?.to_string();

    let mail = smtp.wait_for(WAIT, |_| true).await?;
    assert_eq!(mail.from, "tocsin@example.test");
    assert_eq!(mail.to, ["ops@example.test"]);
    let subject = mail.header("subject").context("Subject")?;
    assert!(
        subject.contains("MAJOR")
            && subject.contains(&title)
            && subject.contains(&format!("#{id}")),
        "{subject}"
    );
    assert!(
        mail.header("to")
            .is_some_and(|t| t.contains("ops@example.test")),
        "{:?}",
        mail.headers()
    );
    assert!(
        mail.header("from")
            .is_some_and(|t| t.contains("tocsin@example.test")),
        "{:?}",
        mail.headers()
    );
    assert!(mail.header("message-id").is_some(), "{:?}", mail.headers());
    let parts = mail.parts();
    let part = |t: &str| parts.iter().find(|(ct, _)| ct == t).map(|(_, b)| b.clone());
    let text = part("text/plain").with_context(|| format!("no text/plain part: {}", mail.data))?;
    let html = part("text/html").with_context(|| format!("no text/html part: {}", mail.data))?;
    assert!(text.contains(&title), "{text}");
    assert!(text.contains(&format!("key: mail/{id}/opened/")), "{text}");
    assert!(html.contains("<html") && html.contains(&title), "{html}");
    let rec = wait_status(&c, "mail", id, "opened", "delivered").await?;
    assert_eq!(rec["channel"], "email");
    assert_eq!(smtp.mails().len(), 1, "one message: {:#?}", smtp.mails());
    Ok(())
}

/// 6. Test messages, and the receivers API shows no secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn test_messages_and_receivers_without_secrets() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let ding = HttpReceiver::start_with(Reply::new(
        200,
        r#"{"errcode":310000,"errmsg":"sign not match"}"#,
    ))
    .await?;
    let notify = format!(
        r#"
[notify]
default_receivers = ["hook"]
repeat_interval = "0s"

[[notify.receiver]]
name = "hook"
kind = "webhook"
url = "{}"
headers = {{ X-Team = "ops-SECRET-1", Authorization = "Bearer tok-SECRET-2" }}
hmac_secret = "hmac-SECRET-3"

[[notify.receiver]]
name = "ding"
kind = "dingtalk"
url = "{}"
secret = "ding-SECRET-5"

[[notify.receiver]]
name = "pd"
kind = "pagerduty"
url = "{}"
routing_key = "pd-SECRET-6"

[[notify.receiver]]
name = "mail"
kind = "email"
smtp_host = "smtp.example.test"
tls = "starttls"
username = "tocsin"
password = "mail-SECRET-7"
from = "Tocsin <tocsin@example.test>"
to = ["ops@example.test"]
"#,
        hook.url("/hook"),
        ding.url("/robot/send?access_token=tok-SECRET-4"),
        hook.url("/pd"),
    );
    let c = start(dir.path(), &notify).await?;

    let r = reqwest::get(format!("{}/api/v1/receivers", c.http_url)).await?;
    assert!(r.status().is_success());
    let text = r.text().await?;
    assert!(
        !text.contains("SECRET"),
        "secrets leak from /api/v1/receivers: {text}"
    );
    let body: Value = serde_json::from_str(&text)?;
    let list = body["data"].as_array().context("data")?;
    let names: BTreeSet<&str> = list.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from(["hook", "ding", "pd", "mail"]),
        "{body}"
    );
    let h = list.iter().find(|r| r["name"] == "hook").context("hook")?;
    assert_eq!(h["kind"], "webhook");
    assert_eq!(h["signed"], true);
    let headers: BTreeSet<&str> = h["headers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(headers, BTreeSet::from(["Authorization", "X-Team"]), "{h}");
    let out = ctl(&c, &["notify", "receivers"])?;
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("hook") && stdout.contains("ding"),
        "{stdout}"
    );
    assert!(!stdout.contains("SECRET"), "{stdout}");

    let out = ctl(&c, &["--actor", "alice", "notify", "test", "hook"])?;
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("delivered"),
        "{out:?}"
    );
    let r = hook
        .wait_for(WAIT, "test message", |r| r.json()["event"] == "test")
        .await?;
    let b = r.json();
    assert_eq!(r.uri, "/hook");
    assert_eq!(b["receiver"], "hook");
    assert_eq!(b["idempotency_key"].as_str(), r.idempotency_key());
    assert!(
        r.idempotency_key()
            .is_some_and(|k| k.starts_with("hook/test/")),
        "{:?}",
        r.idempotency_key()
    );
    assert_signed(&r, "hmac-SECRET-3");
    assert_eq!(r.header("authorization"), Some("Bearer tok-SECRET-2"));
    assert_eq!(r.header("x-team"), Some("ops-SECRET-1"));
    assert!(
        b["incident"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("alice")),
        "{b}"
    );
    // Test messages are not outbox entries.
    assert!(notifications(&c, "").await?.is_empty());

    // A robot refusing the message: failed, and the error names no secret.
    let (status, body) = c
        .post_json("/api/v1/receivers/ding/test", &json!({"actor": "bob"}))
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["receiver"], "ding");
    assert_eq!(body["data"]["outcome"], "failed", "{body}");
    let error = body["data"]["error"].as_str().unwrap_or("");
    assert!(error.contains("310000"), "{body}");
    assert!(!body.to_string().contains("SECRET"), "{body}");
    assert_eq!(ding.requests().len(), 1);
    let out = ctl(&c, &["notify", "test", "ding"])?;
    assert!(
        !out.status.success(),
        "a failed test fails the command: {out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("failed") && !stderr.contains("SECRET"),
        "{stderr}"
    );
    let (status, body) = c
        .post_json("/api/v1/receivers/nope/test", &json!({}))
        .await?;
    assert_eq!(status, 404, "{body}");
    Ok(())
}

/// 7. Routing: major to A, everything else to the default receiver B.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routes_pick_receivers_and_defaults_catch_the_rest() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let a = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let b = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = format!(
        r#"
[notify]
default_receivers = ["b"]
repeat_interval = "0s"

[[notify.receiver]]
name = "a"
kind = "webhook"
url = "{}"

[[notify.receiver]]
name = "b"
kind = "webhook"
url = "{}"

[[notify.route]]
severity = ["major"]
receivers = ["a"]
"#,
        a.url("/a"),
        b.url("/b"),
    );
    let c = start(dir.path(), &notify).await?;
    let mut warn = Probe::open(&c, "w1").await?;
    warn.send(60.0).await?;
    let id_w = only_incident(&c, "w1").await?["id"]
        .as_u64()
        .context("id")?;
    let mut major = Probe::open(&c, "j1").await?;
    major.send(99.0).await?;
    let id_m = only_incident(&c, "j1").await?["id"]
        .as_u64()
        .context("id")?;

    b.wait_for(WAIT, "warning incident at b", |r| {
        r.json()["incident"]["id"] == id_w
    })
    .await?;
    a.wait_for(WAIT, "major incident at a", |r| {
        r.json()["incident"]["id"] == id_m
    })
    .await?;
    wait_status(&c, "b", id_w, "opened", "delivered").await?;
    wait_status(&c, "a", id_m, "opened", "delivered").await?;

    let receivers_of = |recs: Vec<Value>| -> BTreeSet<String> {
        recs.iter()
            .filter_map(|r| r["notification"]["receiver"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(
        receivers_of(notifications_of(&c, id_w).await?),
        BTreeSet::from(["b".to_string()]),
        "a warning incident goes to the default receiver only"
    );
    assert_eq!(
        receivers_of(notifications_of(&c, id_m).await?),
        BTreeSet::from(["a".to_string()]),
        "the major route decides"
    );
    assert!(
        a.requests()
            .iter()
            .all(|r| r.json()["incident"]["id"] != id_w),
        "{:?}",
        a.requests()
    );
    assert!(
        b.requests()
            .iter()
            .all(|r| r.json()["incident"]["id"] != id_m),
        "{:?}",
        b.requests()
    );
    Ok(())
}

/// 8. An incident inside a maintenance window is not notified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn maintenance_suppresses_notifications() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let c = start(dir.path(), &notify).await?;
    let mut maint = Probe::open(&c, "mw").await?;
    maint.send(1.0).await?;
    let now = now_ms() as f64 / 1000.0;
    let window = json!({
        "ci_id": "mw",
        "starts_at": rfc3339(now - 60.0),
        "ends_at": rfc3339(now + 3600.0),
        "reason": "CHG-42 firmware upgrade",
        "created_by": "ops",
    });
    let (status, body) = c.post_json("/api/v1/maintenance", &window).await?;
    assert_eq!(status, 200, "{body}");
    maint.send(99.0).await?;
    let suppressed = only_incident(&c, "mw").await?;
    assert!(suppressed["suppressed"].is_string(), "{suppressed}");
    let id_s = suppressed["id"].as_u64().context("id")?;
    maint.send(10.0).await?; // resolves inside the window: not notified either

    // A control incident outside maintenance is delivered.
    let mut ctl_probe = Probe::open(&c, "ok1").await?;
    ctl_probe.send(99.0).await?;
    let id_c = only_incident(&c, "ok1").await?["id"]
        .as_u64()
        .context("id")?;
    wait_status(&c, "hook", id_c, "opened", "delivered").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert!(
        notifications_of(&c, id_s).await?.is_empty(),
        "suppressed incident in the outbox: {:?}",
        notifications_of(&c, id_s).await?
    );
    assert!(
        hook.requests()
            .iter()
            .all(|r| r.json()["incident"]["id"] != id_s),
        "{:?}",
        hook.requests()
    );
    let detail = incident(&c, id_s).await?;
    assert!(notified_entries(&detail).is_empty(), "{detail}");
    Ok(())
}

/// 9. Every lifecycle event is notified once, in order, with its own key;
///    comments are not notified; PagerDuty follows with its actions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_lifecycle_event_is_notified_once() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let pd = HttpReceiver::start_with(Reply::new(202, r#"{"status":"success"}"#)).await?;
    let notify = format!(
        r#"
[notify]
default_receivers = ["hook", "pd"]
repeat_interval = "0s"

[[notify.receiver]]
name = "hook"
kind = "webhook"
url = "{}"

[[notify.receiver]]
name = "pd"
kind = "pagerduty"
routing_key = "rk-0123"
url = "{}"
"#,
        hook.url("/hook"),
        pd.url("/v2/enqueue"),
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "l1").await?;
    let mut seen = 0usize;
    // Waits for the next webhook message, which must be `event`.
    async fn next(hook: &HttpReceiver, seen: &mut usize, event: &str) -> Result<Value> {
        let n = *seen + 1;
        wait_for(WAIT, || async {
            Ok((hook.requests().len() >= n).then_some(()))
        })
        .await
        .with_context(|| format!("no webhook message for {event}: {:?}", hook.requests()))?;
        let b = hook.requests()[n - 1].json();
        *seen = n;
        assert_eq!(b["event"], event, "message {n}: {b}");
        Ok(b)
    }

    p.send(60.0).await?;
    let id = only_incident(&c, "l1").await?["id"]
        .as_u64()
        .context("id")?;
    let b = next(&hook, &mut seen, "opened").await?;
    assert_eq!(b["incident"]["severity"], "warning");
    p.send(85.0).await?;
    let b = next(&hook, &mut seen, "severity_raised").await?;
    assert_eq!(b["incident"]["severity"], "general");
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/ack"),
            &json!({"actor": "alice"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let b = next(&hook, &mut seen, "acknowledged").await?;
    assert_eq!(b["incident"]["status"], "acknowledged");
    assert_eq!(b["incident"]["acknowledged_by"], "alice");
    let (status, _) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/comment"),
            &json!({"actor": "alice", "note": "looking"}),
        )
        .await?;
    assert_eq!(status, 200);
    p.send(30.0).await?;
    let b = next(&hook, &mut seen, "resolved").await?;
    assert_eq!(b["incident"]["status"], "resolved");
    p.send(70.0).await?;
    let b = next(&hook, &mut seen, "opened").await?;
    assert_eq!(
        b["incident"]["reopen_count"], 1,
        "a reopening is an opened message: {b}"
    );
    assert_eq!(b["incident"]["status"], "open");
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/resolve"),
            &json!({"actor": "bob", "note": "replaced the cable"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let b = next(&hook, &mut seen, "resolved").await?;
    assert_eq!(b["incident"]["resolved_by"], "bob");
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/close"),
            &json!({"actor": "bob"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let b = next(&hook, &mut seen, "closed").await?;
    assert_eq!(b["incident"]["status"], "closed");

    // Everything delivered: nothing more arrives (the comment was not notified).
    wait_for(WAIT, || async {
        let pending = notifications(&c, "status=pending,failed").await?;
        Ok(pending.is_empty().then_some(()))
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reqs = hook.requests();
    assert_eq!(reqs.len(), 7, "{reqs:?}");
    let keys: BTreeSet<String> = reqs
        .iter()
        .filter_map(|r| r.idempotency_key().map(str::to_string))
        .collect();
    assert_eq!(
        keys.len(),
        7,
        "every event has its own idempotency key: {keys:?}"
    );
    let recs = notifications_of(&c, id).await?;
    assert_eq!(recs.len(), 14, "7 events × 2 receivers: {recs:?}");
    assert!(recs.iter().all(|r| r["status"] == "delivered"), "{recs:?}");

    let mut got: Vec<String> = Vec::new();
    for r in pd.requests() {
        let b = r.json();
        assert_eq!(
            b["dedup_key"], recs[0]["notification"]["incident"]["key"],
            "{b}"
        );
        got.push(b["event_action"].as_str().unwrap_or("").to_string());
    }
    got.sort();
    let mut want: Vec<String> = [
        "trigger",
        "trigger",
        "acknowledge",
        "resolve",
        "trigger",
        "resolve",
        "resolve",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    want.sort();
    assert_eq!(got, want, "PagerDuty actions");
    Ok(())
}

/// 10. An SLA breach escalates the incident to tier 2, whose receivers are told.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_sla_breach_is_escalated_to_the_tier_receivers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let l1 = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let l2 = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = format!(
        r#"
[incidents.sla.major]
respond = "2s"
assign = "1h"
resolve = "4h"
coverage = "24x7"

[notify]
repeat_interval = "0s"

[[notify.receiver]]
name = "l1"
kind = "webhook"
url = "{}"

[[notify.receiver]]
name = "l2"
kind = "webhook"
url = "{}"

[[notify.route]]
severity = ["major"]
receivers = ["l1"]
tiers = {{ "2" = ["l2"] }}
"#,
        l1.url("/l1"),
        l2.url("/l2"),
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "e1").await?;
    p.send(99.0).await?;
    let id = only_incident(&c, "e1").await?["id"]
        .as_u64()
        .context("id")?;
    l1.wait_for(WAIT, "l1 opened", |r| r.json()["event"] == "opened")
        .await?;
    let r = l2
        .wait_for(WAIT, "l2 escalated", |r| r.json()["event"] == "escalated")
        .await?;
    let b = r.json();
    assert_eq!(b["incident"]["id"], id);
    assert_eq!(b["incident"]["tier"], 2, "{b}");
    assert_eq!(b["incident"]["sla"]["respond"]["status"], "breached", "{b}");
    wait_status(&c, "l2", id, "escalated", "delivered").await?;
    assert!(
        l2.requests()
            .iter()
            .all(|r| r.json()["event"] == "escalated"),
        "l2 only hears about the escalation: {:?}",
        l2.requests()
    );
    Ok(())
}

/// 11. A flapping incident is notified as such.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flapping_is_notified() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let rules = RULES.replace("[no_data]", "[flapping]\nmax_transitions = 2\n\n[no_data]");
    let c = start_with_rules(dir.path(), &rules, &notify).await?;
    let mut p = Probe::open(&c, "fl").await?;
    for v in [99.0, 10.0, 99.0, 10.0, 99.0, 10.0, 99.0] {
        p.send(v).await?;
    }
    let inc = only_incident(&c, "fl").await?;
    let id = inc["id"].as_u64().context("id")?;
    assert_eq!(inc["flapping"], true, "{inc}");
    let r = hook
        .wait_for(WAIT, "flapping_started", |r| {
            r.json()["event"] == "flapping_started"
        })
        .await?;
    assert_eq!(r.json()["incident"]["id"], id);
    assert_eq!(r.json()["incident"]["flapping"], true);
    wait_status(&c, "hook", id, "flapping_started", "delivered").await?;
    Ok(())
}

/// 12. Several changes of one incident in one batch: each is its own
///     message with its own idempotency key (receivers deduplicate on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_in_one_batch_get_distinct_idempotency_keys() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let c = start(dir.path(), &notify).await?;
    let mut s = Stream::open(&c.grpc_url, "b1").await?;
    let t = now_ms() - 10_000;
    let r = s
        .send(batch(
            1,
            vec![def(
                1,
                "tocsin_test_value",
                &[("host", "b1"), ("probe", "p1")],
            )],
            &[(1, t, 60.0), (1, t + 100, 85.0), (1, t + 200, 99.0)],
        ))
        .await?;
    ensure!(r.code == 0, "{r:?}");
    let inc = only_incident(&c, "b1").await?;
    let id = inc["id"].as_u64().context("id")?;
    assert_eq!(inc["severity"], "major", "{inc}");
    let raised = inc["timeline"].as_array().map_or(0, |t| {
        t.iter().filter(|e| e["kind"] == "severity_changed").count()
    });
    let recs = wait_for(WAIT, || async {
        let recs = notifications_of(&c, id).await?;
        Ok(
            (recs.len() == 1 + raised && recs.iter().all(|r| r["status"] == "delivered"))
                .then_some(recs),
        )
    })
    .await
    .with_context(|| format!("{raised} raises: {:?}", hook.requests()))?;
    let keys: BTreeSet<&str> = recs
        .iter()
        .filter_map(|r| r["notification"]["idempotency_key"].as_str())
        .collect();
    assert_eq!(
        keys.len(),
        recs.len(),
        "distinct changes share an idempotency key, so receivers deduplicating on it drop \
         all but one: {keys:?}; messages: {:?}",
        hook.requests()
            .iter()
            .map(|r| format!(
                "{:?} {}",
                r.idempotency_key(),
                r.json()["incident"]["severity"]
            ))
            .collect::<Vec<_>>()
    );
    Ok(())
}

/// 13. Out of attempts: a receiver that never recovers ends failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_never_recovers_ends_failed_after_max_attempts() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(502, "bad gateway")).await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    // Own [notify.retry]: max_attempts = 3 (`start` would append the suite's).
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, RULES)?;
    let config = format!(
        "rules_file = {:?}\n{notify}\n[notify.retry]\ninitial_backoff = \"100ms\"\nmax_backoff = \"1s\"\nmax_attempts = 3\n",
        rules.display().to_string()
    );
    let c = Collector::start_with_config(&dir.path().join("data"), dir.path(), &config).await?;
    let mut p = Probe::open(&c, "x1").await?;
    p.send(99.0).await?;
    let id = only_incident(&c, "x1").await?["id"]
        .as_u64()
        .context("id")?;
    let rec = wait_status(&c, "hook", id, "opened", "failed").await?;
    assert_eq!(rec["attempts"], 3, "{rec}");
    assert!(
        rec["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("502")),
        "{rec}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        hook.requests().len(),
        3,
        "no attempt after the last: {:?}",
        hook.requests()
    );
    let detail = wait_for(WAIT, || async {
        let d = incident(&c, id).await?;
        Ok(notified_entries(&d)
            .iter()
            .any(|e| e["data"]["outcome"] == "failed")
            .then_some(d))
    })
    .await?;
    let failed = notified_entries(&detail)
        .into_iter()
        .find(|e| e["data"]["outcome"] == "failed")
        .context("failed entry")?;
    assert_eq!(failed["data"]["attempts"], 3, "{failed}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unacknowledged_majors_are_reminded_until_acknowledged() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start().await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"2s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let c = start(dir.path(), &notify).await?;
    let mut p = Probe::open(&c, "rem1").await?;
    p.send(99.0).await?;
    let id = only_incident(&c, "rem1").await?["id"]
        .as_u64()
        .context("id")?;
    let events = |hook: &HttpReceiver| -> Vec<String> {
        hook.requests()
            .iter()
            .map(|r| r.json()["event"].as_str().unwrap_or("").to_string())
            .collect()
    };
    wait_for(WAIT, || async {
        Ok((events(&hook).iter().filter(|e| *e == "reminder").count() >= 1).then_some(()))
    })
    .await
    .context("a reminder after 2 s")?;
    let keys: BTreeSet<String> = hook
        .requests()
        .iter()
        .filter_map(|r| r.idempotency_key().map(str::to_string))
        .collect();
    assert_eq!(
        keys.len(),
        hook.requests().len(),
        "each reminder has its own key"
    );

    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/ack"),
            &json!({"actor": "ops"}),
        )
        .await?;
    ensure!(status == 200, "ack: {body}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = events(&hook).iter().filter(|e| *e == "reminder").count();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = events(&hook).iter().filter(|e| *e == "reminder").count();
    assert_eq!(
        before,
        after,
        "no reminders once acknowledged: {:?}",
        events(&hook)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn openings_inside_the_group_window_arrive_as_one_message() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start().await?;
    let notify = format!(
        "[notify]\ndefault_receivers = [\"hook\"]\nrepeat_interval = \"0s\"\ngroup_window = \"2s\"\n\
         [[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        hook.url("/hook")
    );
    let c = start(dir.path(), &notify).await?;
    let mut a = Probe::open(&c, "grp-a").await?;
    let mut b = Probe::open(&c, "grp-b").await?;
    a.send(99.0).await?;
    b.send(99.0).await?;
    wait_for(WAIT, || async {
        let list: Vec<_> = hook
            .requests()
            .into_iter()
            .filter(|r| r.json()["event"] == "opened")
            .collect();
        Ok((!list.is_empty()).then_some(list))
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let opened: Vec<_> = hook
        .requests()
        .into_iter()
        .filter(|r| r.json()["event"] == "opened")
        .collect();
    assert_eq!(opened.len(), 1, "one message for both openings: {opened:?}");
    let body = opened[0].json();
    let mut cis = vec![body["incident"]["ci_id"].as_str().unwrap_or("").to_string()];
    cis.extend(
        body["grouped"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["ci_id"].as_str().unwrap_or("").to_string()),
    );
    cis.sort();
    assert_eq!(cis, vec!["grp-a", "grp-b"], "{body}");
    let grouped = notifications(&c, "status=grouped").await?;
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    Ok(())
}
