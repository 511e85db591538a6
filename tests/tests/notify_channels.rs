//! Notifications reach each kind of receiver in its own format: webhook,
//! Alertmanager, PagerDuty, DingTalk, WeCom, Feishu (recording HTTP servers)
//! and e-mail (an SMTP sink); test messages; no secret in the API.

use std::collections::BTreeSet;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tocsin_e2e::notify::*;
use tocsin_e2e::receivers::{HttpReceiver, Reply, SmtpSink, base64_std, hmac_sha256};
use tocsin_e2e::wait_for;

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
