//! The whole path with the real binaries: agent → gRPC → collector → RocksDB,
//! the host CI with the real hostname and CPU model, a CPU series through the
//! Prometheus API (and Prometheus' own promtool), and a collector crash and
//! restart that loses nothing.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;
use tocsin_e2e::{Collector, cpu_model, hostname, now_secs, run, start_agent, wait_for};

/// Total CPU usage, as documented in docs/metrics.md.
const CPU_METRIC: &str = "node_cpu_usage_percent";

async fn host_ci(c: &Collector) -> Result<Value> {
    wait_for(Duration::from_secs(60), || async {
        let cis = c.get_json("/api/v1/cis").await?;
        Ok(cis["data"]
            .as_array()
            .and_then(|a| a.iter().find(|ci| ci["class"] == "host").cloned()))
    })
    .await
    .context("no host CI appeared")
}

/// Points of the CPU series between `start` and `end` (unix seconds).
async fn cpu_points(c: &Collector, host: &str, start: f64, end: f64) -> Result<Vec<(f64, String)>> {
    let q = format!("{CPU_METRIC}{{host=\"{host}\"}}");
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/query_range", c.http_url))
        .query(&[
            ("query", q.as_str()),
            ("start", &start.to_string()),
            ("end", &end.to_string()),
            ("step", "1"),
        ])
        .send()
        .await?;
    let body: Value = r.json().await?;
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(body["data"]["resultType"], "matrix", "{body}");
    let Some(series) = body["data"]["result"].as_array().and_then(|r| r.first()) else {
        return Ok(vec![]);
    };
    assert_eq!(series["metric"]["__name__"], CPU_METRIC);
    assert_eq!(series["metric"]["host"], host);
    Ok(series["values"]
        .as_array()
        .context("values")?
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap_or_default(),
                p[1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_data_and_host_ci_survive_collector_restart() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut c = Collector::start(&dir.path().join("data"), dir.path()).await?;
    let agent = start_agent(
        &c.grpc_url,
        &dir.path().join("agent-state"),
        "1s",
        &dir.path().join("agent.log"),
    )?;
    let t0 = now_secs();

    // The host CI appears with the real facts of this machine.
    let ci = host_ci(&c).await.with_context(|| agent.log())?;
    let host = hostname();
    assert_eq!(ci["name"], host.as_str(), "{ci}");
    assert_eq!(ci["attributes"]["hostname"], host.as_str(), "{ci}");
    if let Some(model) = cpu_model() {
        assert_eq!(
            ci["attributes"]["cpu_model"].as_str().map(str::trim),
            Some(model.as_str()),
            "{ci}"
        );
    }
    let cores = std::thread::available_parallelism()?.get() as u64;
    assert!(
        ci["attributes"]["cpu_cores"]
            .as_u64()
            .is_some_and(|n| n >= cores),
        "{ci}"
    );
    let id = ci["id"].as_str().context("CI id")?.to_string();
    let detail = c.get_json(&format!("/api/v1/cis/{id}")).await?;
    assert!(
        detail["data"]["changes"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{detail}"
    );
    assert!(detail["data"]["relations"].is_array(), "{detail}");

    // CPU samples arrive and can be read through the Prometheus range API.
    let before = wait_for(Duration::from_secs(60), || async {
        // End 2 s in the past: every sample up to `end` has been stored by then,
        // so the same query after the restart must return exactly these points.
        let p = cpu_points(&c, &host, t0 - 5.0, now_secs() - 2.0).await?;
        Ok((p.len() >= 3).then_some(p))
    })
    .await
    .with_context(|| agent.log())?;
    for (_, v) in &before {
        let v: f64 = v.parse()?;
        assert!((0.0..=100.0).contains(&v), "CPU usage {v} out of range");
    }
    let cutoff = before.last().map(|p| p.0).unwrap_or_default();

    // Prometheus' own client reads the API.
    let promtool = std::process::Command::new("promtool")
        .args([
            "query",
            "instant",
            &c.http_url,
            &format!("{CPU_METRIC}{{host=\"{host}\"}}"),
        ])
        .output()
        .context("promtool (Debian package prometheus) must be installed")?;
    let out = String::from_utf8_lossy(&promtool.stdout);
    assert!(
        promtool.status.success(),
        "promtool failed: {}",
        String::from_utf8_lossy(&promtool.stderr)
    );
    assert!(
        out.contains(CPU_METRIC) && out.contains(&host),
        "promtool output: {out}"
    );

    let now = now_secs();
    let promtool = std::process::Command::new("promtool")
        .args([
            "query",
            "range",
            "--start",
            &format!("{:.3}", t0 - 5.0),
            "--end",
            &format!("{now:.3}"),
            "--step",
            "1s",
        ])
        .args([&c.http_url, &format!("{CPU_METRIC}{{host=\"{host}\"}}")])
        .output()?;
    let out = String::from_utf8_lossy(&promtool.stdout);
    assert!(
        promtool.status.success(),
        "promtool range failed: {}",
        String::from_utf8_lossy(&promtool.stderr)
    );
    assert!(
        out.contains(CPU_METRIC) && out.matches(" @[").count() >= 3,
        "promtool range output: {out}"
    );

    // tocsinctl shows the CI and the series.
    let out = run("tocsinctl", &["--url", &c.http_url, "cis"])?;
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains(&host),
        "{out:?}"
    );
    let out = run(
        "tocsinctl",
        &["--url", &c.http_url, "--json", "query", CPU_METRIC],
    )?;
    let body: Value = serde_json::from_slice(&out.stdout).with_context(|| format!("{out:?}"))?;
    assert_eq!(body["data"]["resultType"], "vector", "{body}");

    // Crash the collector (SIGKILL: no checkpoint, only the WAL) and start it again.
    c.proc.crash();
    c.restart().await?;
    let after_crash = cpu_points(&c, &host, t0 - 5.0, cutoff).await?;
    assert_eq!(
        after_crash, before,
        "acknowledged samples must survive a crash"
    );
    let ci_again = host_ci(&c).await?;
    assert_eq!(ci_again["id"], ci["id"]);
    assert_eq!(
        ci_again["created_at"], ci["created_at"],
        "the restart must not recreate the CI"
    );

    // The agent reconnects by itself and new samples keep coming.
    let resume = now_secs();
    wait_for(Duration::from_secs(60), || async {
        let p = cpu_points(&c, &host, resume, now_secs() + 1.0).await?;
        Ok((p.len() >= 2).then_some(()))
    })
    .await
    .with_context(|| agent.log())?;

    // A clean stop writes a checkpoint; everything is still there afterwards.
    assert!(
        c.proc.stop(),
        "collector did not stop cleanly:\n{}",
        c.proc.log()
    );
    c.restart().await?;
    let after_stop = cpu_points(&c, &host, t0 - 5.0, cutoff).await?;
    assert_eq!(after_stop, before);
    let series = c
        .get_json(&format!("/api/v1/series?match[]={CPU_METRIC}"))
        .await?;
    assert!(
        series["data"].as_array().is_some_and(|s| !s.is_empty()),
        "{series}"
    );
    let metrics = c.metrics_text().await?;
    assert!(metrics.contains("tocsin_storage_bytes"), "{metrics}");
    drop(agent);
    Ok(())
}
