//! Threshold breaches become incidents with the CI attached, and people work
//! them: the real collector binary, driven by a scripted agent over gRPC.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tocsin_e2e::grpc::now_ms;
use tocsin_e2e::probe::Probe;
use tocsin_e2e::{Collector, wait_for};

/// Rules used by these tests: built-ins off, one rule with three severities
/// and hysteresis (fires at 50, clears below 40).
const RULES: &str = r#"
[defaults]
enabled = false

[no_data]
enabled = true
min_silence = "2s"
intervals = 1
startup_grace = "1s"

[[rule]]
name = "probe_high"
selector = "tocsin_test_value"
thresholds = { warning = 50, general = 80, major = 95 }
recovery = 40
object_labels = ["probe"]
title = "{{labels.probe}} on {{ci}} is {{value}}"
"#;

async fn start(dir: &std::path::Path, extra: &str) -> Result<Collector> {
    let rules = dir.join("rules.toml");
    std::fs::write(&rules, RULES)?;
    let config = format!("rules_file = {:?}\n{extra}", rules.display().to_string());
    Collector::start_with_config(&dir.join("data"), dir, &config).await
}

async fn incidents(c: &Collector, query: &str) -> Result<Vec<Value>> {
    let body = c.get_json(&format!("/api/v1/incidents?{query}")).await?;
    Ok(body["data"].as_array().cloned().unwrap_or_default())
}

async fn incident(c: &Collector, id: u64) -> Result<Value> {
    Ok(c.get_json(&format!("/api/v1/incidents/{id}")).await?["data"].clone())
}

fn timeline_kinds(detail: &Value) -> Vec<String> {
    detail["timeline"].as_array().map_or(vec![], |t| {
        t.iter()
            .map(|e| e["kind"].as_str().unwrap_or("").to_string())
            .collect()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_is_one_incident_that_rises_resolves_reopens_and_is_worked() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut c = start(dir.path(), "").await?;
    let mut p = Probe::open(&c, "h1").await?;

    p.send(10.0).await?;
    assert!(
        incidents(&c, "ci=h1").await?.is_empty(),
        "no breach, no incident"
    );

    // The first breaching sample opens the incident before the batch is acked.
    p.send(60.0).await?;
    let list = incidents(&c, "ci=h1").await?;
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_u64().context("id")?;
    let inc = incident(&c, id).await?;
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["severity"], "warning");
    assert_eq!(inc["rule"], "probe_high");
    assert_eq!(inc["ci_id"], "h1");
    assert_eq!(inc["ci"]["name"], "h1-host", "CI snapshot attached: {inc}");
    assert_eq!(inc["title"], "p1 on h1-host is 60");
    assert_eq!(inc["object"]["probe"], "p1");

    // Further breaches update the same incident; a higher threshold raises the severity.
    p.send(85.0).await?;
    p.send(45.0).await?; // between recovery (40) and threshold (50): hysteresis, still open
    let list = incidents(&c, "ci=h1").await?;
    assert_eq!(list.len(), 1, "one fault, one incident: {list:?}");
    let inc = incident(&c, id).await?;
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["severity"], "general");
    assert_eq!(inc["peak_value"], 85.0);
    assert!(
        timeline_kinds(&inc).contains(&"severity_changed".to_string()),
        "{inc}"
    );

    // The CI shows its open incidents.
    let ci = c.get_json("/api/v1/cis/h1").await?;
    assert_eq!(ci["data"]["open_incidents"][0]["id"], id, "{ci}");

    // Recovery resolves it by itself; a new breach within the reopen window reopens it.
    p.send(30.0).await?;
    assert_eq!(incident(&c, id).await?["status"], "resolved");
    p.send(70.0).await?;
    let inc = incident(&c, id).await?;
    assert_eq!(inc["status"], "open");
    assert_eq!(inc["reopen_count"], 1);
    assert_eq!(
        incidents(&c, "ci=h1").await?.len(),
        1,
        "reopened, not duplicated"
    );

    // People work it; illegal transitions are refused with a clear message.
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/ack"),
            &json!({"actor": "alice"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "acknowledged");
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/ack"),
            &json!({"actor": "bob"}),
        )
        .await?;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("already acknowledged"),
        "{body}"
    );
    let (status, _) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/comment"),
            &json!({"actor": "alice", "note": "switch port flapping"}),
        )
        .await?;
    assert_eq!(status, 200);
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/resolve"),
            &json!({"actor": "alice"}),
        )
        .await?;
    assert_eq!(status, 400, "resolve needs a note: {body}");
    let (status, _) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/resolve"),
            &json!({"actor": "alice", "note": "replaced cable"}),
        )
        .await?;
    assert_eq!(status, 200);
    let (status, body) = c
        .post_json(
            &format!("/api/v1/incidents/{id}/close"),
            &json!({"actor": "alice"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    let inc = incident(&c, id).await?;
    assert_eq!(inc["status"], "closed");
    let kinds = timeline_kinds(&inc);
    for k in [
        "opened",
        "severity_changed",
        "resolved",
        "reopened",
        "acknowledged",
        "comment",
        "closed",
    ] {
        assert!(
            kinds.contains(&k.to_string()),
            "timeline lacks {k}: {kinds:?}"
        );
    }
    let (status, _) = c
        .post_json("/api/v1/incidents/999999/ack", &json!({}))
        .await?;
    assert_eq!(status, 404);

    // After the condition clears, a new fault is a new incident.
    p.send(10.0).await?;
    p.send(99.0).await?;
    let open = incidents(&c, "ci=h1&status=open").await?;
    assert_eq!(open.len(), 1, "{open:?}");
    let id2 = open[0]["id"].as_u64().context("id")?;
    assert_ne!(id2, id);
    assert_eq!(open[0]["severity"], "major");
    assert_eq!(
        open[0]["priority"], "P2",
        "major on a medium-criticality CI"
    );
    assert!(
        open[0]["sla"]["respond"]["due_at"].is_string(),
        "major runs an SLA clock: {}",
        open[0]
    );

    // A collector crash and a resent batch never duplicate the incident.
    c.proc.crash();
    c.restart().await?;
    let mut p2 = Probe::open(&c, "h1").await?;
    p2.seq = p.seq; // the resent batch carries a sequence number already stored
    p2.ts = p.ts;
    p2.seq -= 1;
    p2.ts -= 100;
    p2.send(99.0).await?;
    p2.send(99.5).await?;
    let open = incidents(&c, "ci=h1&status=open").await?;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"].as_u64(), Some(id2));
    let all = incidents(&c, "ci=h1").await?;
    assert_eq!(all.len(), 2, "{all:?}");
    let filtered = incidents(&c, "severity=major").await?;
    assert!(filtered.iter().all(|i| i["severity"] == "major"));
    let (status, _) = c.post_json("/api/v1/incidents/abc/ack", &json!({})).await?;
    assert_eq!(status, 400);

    // tocsinctl works the same incident.
    let out = tocsin_e2e::run(
        "tocsinctl",
        &["--url", &c.http_url, "incidents", "--status", "open"],
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("h1-host") && text.contains("major"),
        "{out:?}"
    );
    let id2s = id2.to_string();
    let out = tocsin_e2e::run(
        "tocsinctl",
        &[
            "--url",
            &c.http_url,
            "--actor",
            "carol",
            "ack",
            &id2s,
            "--note",
            "looking",
        ],
    )?;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(incident(&c, id2).await?["acknowledged_by"], "carol");
    let out = tocsin_e2e::run("tocsinctl", &["--url", &c.http_url, "ack", &id2s])?;
    assert!(!out.status.success(), "a second ack must fail");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already acknowledged"),
        "{out:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_agent_dependents_and_maintenance() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let c = start(
        dir.path(),
        // No reopen window: a breach after a recovery is a new incident at once
        // (the window itself is unit-tested on a manual clock in
        // tocsin-incidents: fires_again_within_the_window_reopens_later_opens_new).
        "[problems]\nthreshold = 2\n[incidents]\nreopen_window = \"0s\"\n",
    )
    .await?;

    // Topology: edge depends on core; core's incident absorbs edge's.
    let mut core = Probe::open(&c, "core").await?;
    let mut edge = Probe::open(&c, "edge").await?;
    let (status, body) = c
        .post_json(
            "/api/v1/cis/edge/relations",
            &json!({"kind": "depends_on", "target": "core"}),
        )
        .await?;
    assert_eq!(status, 200, "{body}");
    core.send(99.0).await?;
    edge.send(99.0).await?;
    let parent = incidents(&c, "ci=core")
        .await?
        .first()
        .cloned()
        .with_context(|| c.proc.log())?;
    let child = incidents(&c, "ci=edge")
        .await?
        .first()
        .cloned()
        .with_context(|| c.proc.log())?;
    assert_eq!(
        child["parent_id"], parent["id"],
        "dependent attached to the root cause: {child}"
    );
    let detail = incident(&c, parent["id"].as_u64().context("id")?).await?;
    assert_eq!(detail["children"], json!([child["id"]]), "{detail}");
    let top = incidents(&c, "top_level=true&status=open").await?;
    assert!(
        top.iter().all(|i| i["id"] != child["id"]),
        "one root cause, one incident to work"
    );

    // Maintenance: a breach inside the window is recorded but suppressed.
    let mut maint = Probe::open(&c, "maint").await?;
    maint.send(1.0).await?;
    let now = now_ms() as f64 / 1000.0;
    let window = json!({
        "ci_id": "maint",
        "starts_at": rfc3339(now - 60.0),
        "ends_at": rfc3339(now + 3600.0),
        "reason": "CHG-1234 firmware upgrade",
        "created_by": "ops",
    });
    let (status, body) = c.post_json("/api/v1/maintenance", &window).await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) = c
        .post_json(
            "/api/v1/maintenance",
            &json!({"ci_id": "maint", "reason": ""}),
        )
        .await?;
    assert_eq!(status, 400, "{body}");
    maint.send(99.0).await?;
    let suppressed = incidents(&c, "ci=maint").await?;
    assert_eq!(suppressed.len(), 1);
    assert!(suppressed[0]["suppressed"].is_string(), "{}", suppressed[0]);
    assert!(
        suppressed[0]["sla"]["respond"].is_null(),
        "no SLA clock in maintenance: {}",
        suppressed[0]
    );

    // Problems: the same rule firing twice on one CI (two incidents, as the
    // reopen window is zero) raises a problem.
    let mut flaky = Probe::open(&c, "flaky").await?;
    flaky.send(99.0).await?;
    flaky.send(1.0).await?;
    flaky.send(99.0).await?;
    let flaky_incidents = incidents(&c, "ci=flaky").await?;
    assert_eq!(flaky_incidents.len(), 2, "{flaky_incidents:?}");
    let problems = c.get_json("/api/v1/problems").await?;
    let problem = problems["data"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["ci_id"] == "flaky"))
        .cloned();
    let problem = problem.with_context(|| format!("no problem record: {problems}"))?;
    assert_eq!(
        problem["incident_ids"].as_array().map(Vec::len),
        Some(2),
        "{problem}"
    );

    // No data: the "quiet" agent sends once, then falls silent.
    let mut quiet = Probe::open(&c, "quiet").await?;
    quiet.send(1.0).await?;
    let lost = wait_for(Duration::from_secs(30), || async {
        let list = incidents(&c, "ci=quiet").await?;
        Ok(list.into_iter().find(|i| i["rule"] == "agent_lost"))
    })
    .await
    .context("no agent_lost incident")?;
    assert_eq!(lost["severity"], "major");
    assert_eq!(lost["status"], "open");
    // It reports again: the incident resolves by itself.
    quiet.send(2.0).await?;
    let id = lost["id"].as_u64().context("id")?;
    wait_for(Duration::from_secs(15), || async {
        Ok((incident(&c, id).await?["status"] == "resolved").then_some(()))
    })
    .await
    .context("agent_lost did not resolve")?;

    // The rules in force are listed, and a reload with a broken file keeps them.
    let rules = c.get_json("/api/v1/rules").await?;
    assert!(
        rules["data"]["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["name"] == "probe_high")),
        "{rules}"
    );
    std::fs::write(
        dir.path().join("rules.toml"),
        "[[rule]]\nname = \"broken\"\n",
    )?;
    let (status, body) = c.post_json("/api/v1/rules/reload", &json!({})).await?;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("broken"),
        "{body}"
    );
    let rules = c.get_json("/api/v1/rules").await?;
    assert!(
        rules["data"]["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["name"] == "probe_high"))
    );

    // SIGHUP reloads a corrected file.
    std::fs::write(
        dir.path().join("rules.toml"),
        RULES.replace("probe_high", "probe_renamed"),
    )?;
    std::process::Command::new("kill")
        .args(["-HUP", &c.proc.pid().to_string()])
        .status()?;
    wait_for(Duration::from_secs(10), || async {
        let rules = c.get_json("/api/v1/rules").await?;
        let renamed = rules["data"]["rules"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["name"] == "probe_renamed"));
        Ok(renamed.then_some(()))
    })
    .await
    .context("SIGHUP did not reload the rules")?;
    Ok(())
}

/// RFC 3339 (UTC, seconds) for unix seconds, as `date` prints it.
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
