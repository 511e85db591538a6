//! Delivery guarantees of the outbox: retries with backoff and Retry-After,
//! permanent failures and manual retry, crash safety, distinct keys, and
//! running out of attempts.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use tocsin_e2e::grpc::{Stream, batch, def, now_ms};
use tocsin_e2e::notify::*;
use tocsin_e2e::receivers::{HttpReceiver, Reply};
use tocsin_e2e::{Collector, wait_for};

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
    let notify = webhook_config(&hook.url("/hook"), "0s", "", "timeout = \"2s\"\n");
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

    // Exactly one successful request per idempotency key, over everything
    // received up to the acknowledgement, which is sent only after the opening
    // is finished.
    ack_barrier(&c, &hook, id).await?;
    let ok = hook
        .requests()
        .into_iter()
        .filter(|r| r.status == 200 && r.idempotency_key() == Some(key.as_str()))
        .count();
    assert_eq!(ok, 1, "{:?}", hook.with_key(&key));
    Ok(())
}

/// 3. A 400 is permanent: failed, listed by tocsinctl, retried by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rejected_notification_fails_and_is_retried_by_hand() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(400, r#"{"error":"bad payload"}"#)).await?;
    let notify = webhook_config(&hook.url("/hook"), "0s", "", "");
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
    // The acknowledgement (rejected too) is sent once the opening is finished.
    ack_barrier(&c, &hook, id).await?;
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
    // The resolution would wait for a wrongly re-queued opening.
    p.send(1.0).await?;
    barrier(&hook, id, "resolved").await?;
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
    let notify = webhook_config(&hook.url("/hook"), "0s", "", "timeout = \"2s\"\n");
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
    // A wrongly re-queued notification would be pending after the restart,
    // and the acknowledgements wait for it.
    ack_barrier(&c, &hook, id_a).await?;
    ack_barrier(&c, &hook, id_b).await?;
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
    let rec_a: Vec<Value> = notifications_of(&c, id_a)
        .await?
        .into_iter()
        .filter(|r| r["notification"]["event"] == "opened")
        .collect();
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

/// 12. Several changes of one incident in one batch: each is its own
///     message with its own idempotency key (receivers deduplicate on it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_in_one_batch_get_distinct_idempotency_keys() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let hook = HttpReceiver::start_with(Reply::new(200, "{}")).await?;
    let notify = webhook_config(&hook.url("/hook"), "0s", "", "");
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
    let notify = webhook_config(&hook.url("/hook"), "0s", "", "");
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
    // The acknowledgement (refused as well) is sent once the opening is finished.
    ack_barrier(&c, &hook, id).await?;
    let opened = hook
        .requests()
        .into_iter()
        .filter(|r| r.json()["event"] == "opened")
        .count();
    assert_eq!(
        opened,
        3,
        "no attempt after the last: {:?}",
        hook.requests()
    );
    let detail = wait_for(WAIT, || async {
        let d = incident(&c, id).await?;
        Ok(notified_entries(&d)
            .iter()
            .any(|e| e["data"]["outcome"] == "failed" && e["data"]["event"] == "opened")
            .then_some(d))
    })
    .await?;
    let failed = notified_entries(&detail)
        .into_iter()
        .find(|e| e["data"]["outcome"] == "failed" && e["data"]["event"] == "opened")
        .context("failed entry")?;
    assert_eq!(failed["data"]["attempts"], 3, "{failed}");
    Ok(())
}
