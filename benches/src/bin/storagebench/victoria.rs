//! VictoriaMetrics: single-node `victoria-metrics` on a loopback port with
//! its own `-storageDataPath`, the recording POSTed to
//! `/api/v1/import/prometheus` (timestamps in milliseconds), flushed and
//! force-merged until no merge runs and the size stays put, counted back,
//! stopped with SIGTERM, then `data/` + `indexdb/` measured (`cache/` holds
//! caches it rebuilds, and is reported apart).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tocsin_e2e::Proc;

use crate::disk;
use crate::recording::Recording;
use crate::report::Outcome;

/// Bytes of text per import request.
const PIECE_BYTES: usize = 8 << 20;
/// How long VictoriaMetrics may take to start, and to finish its merges.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const MERGE_TIMEOUT: Duration = Duration::from_secs(600);
/// Polls in a row with no merge running and an unchanged size that count as settled.
const SETTLED_POLLS: u32 = 4;
const POLL: Duration = Duration::from_millis(500);

/// Loads `rec` into a fresh VictoriaMetrics under `work` and measures its storage.
pub async fn run(rec: &Recording, work: &Path, binary: &Path) -> Result<Outcome> {
    let store = work.join("storage");
    let port = free_tcp_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(binary);
    cmd.arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", store.display()))
        .arg("-retentionPeriod=100y");
    let mut proc = Proc::spawn(cmd, work.join("victoria-metrics.log"))
        .with_context(|| format!("starting {}", binary.display()))?;
    let http = reqwest::Client::new();
    wait_healthy(&mut proc, &http, &base).await?;

    let started = Instant::now();
    for piece in rec.prometheus_text_pieces(PIECE_BYTES) {
        let r = http
            .post(format!("{base}/api/v1/import/prometheus"))
            .body(piece)
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("import: HTTP {}: {}", r.status(), r.text().await?);
        }
    }
    for step in ["force_flush", "force_merge"] {
        let r = http.get(format!("{base}/internal/{step}")).send().await?;
        if !r.status().is_success() {
            bail!("/internal/{step}: HTTP {}: {}", r.status(), r.text().await?);
        }
    }
    let rows = settle(&http, &base, &store).await?;
    let load_secs = started.elapsed().as_secs_f64();

    let mut remarks = Vec::new();
    let (stored_series, stored_samples) = exported(&http, &base).await?;
    if rows != stored_samples {
        remarks.push(format!(
            "victoria-metrics: vm_rows (storage parts) says {rows} rows, /api/v1/export returned {stored_samples} samples"
        ));
    }
    let count: serde_json::Value = http
        .get(format!("{base}/api/v1/series/count"))
        .send()
        .await?
        .json()
        .await?;
    if let Some(n) = count["data"][0].as_u64().filter(|&n| n != stored_series) {
        remarks.push(format!(
            "victoria-metrics: /api/v1/series/count says {n}, /api/v1/export returned {stored_series} series"
        ));
    }
    if !proc.stop() {
        remarks.push("victoria-metrics: did not exit cleanly after SIGTERM".into());
    }

    let files = disk::files(&store)?;
    let data = disk::sum(&files, |p| disk::under(p, "data"));
    let indexdb = disk::sum(&files, |p| disk::under(p, "indexdb"));
    let cache = disk::sum(&files, |p| disk::under(p, "cache"));
    let other = disk::sum(&files, |_| true) - data - indexdb - cache;
    Ok(Outcome {
        system: "victoria-metrics",
        bytes: data + indexdb + other,
        stored_samples: Some(stored_samples),
        stored_series: Some(stored_series),
        load_secs,
        note: "import + force merge, data+indexdb (cache/ apart)".into(),
        parts: vec![
            ("data".into(), data),
            ("indexdb".into(), indexdb),
            ("other".into(), other),
            ("cache(not counted)".into(), cache),
        ],
        remarks,
    })
}

/// A loopback TCP port that was free a moment ago: VictoriaMetrics cannot
/// bind port 0 and report the port it got, so the bench picks one (racy,
/// as `tocsin_e2e::process::pre_picked_udp_port` explains).
fn free_tcp_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_healthy(proc: &mut Proc, http: &reqwest::Client, base: &str) -> Result<()> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if let Some(status) = proc.exited() {
            bail!(
                "victoria-metrics exited with {status}; log:\n{}",
                proc.log()
            );
        }
        if Instant::now() > deadline {
            bail!(
                "victoria-metrics not healthy after {START_TIMEOUT:?}; log:\n{}",
                proc.log()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until no merge runs, no row is pending and the size on disk has
/// not changed for [`SETTLED_POLLS`] polls; returns the rows in storage parts.
async fn settle(http: &reqwest::Client, base: &str, store: &Path) -> Result<u64> {
    let deadline = Instant::now() + MERGE_TIMEOUT;
    let (mut last_size, mut quiet) = (u64::MAX, 0);
    loop {
        let text = http
            .get(format!("{base}/metrics"))
            .send()
            .await?
            .text()
            .await?;
        let busy = sum_metric(&text, "vm_active_merges{") + sum_metric(&text, "vm_pending_rows{");
        let size = disk::total(&store.join("data")) + disk::total(&store.join("indexdb"));
        if busy == 0.0 && size == last_size {
            quiet += 1;
            if quiet >= SETTLED_POLLS {
                return Ok((sum_metric(&text, "vm_rows{type=\"storage/small\"}")
                    + sum_metric(&text, "vm_rows{type=\"storage/big\"}"))
                    as u64);
            }
        } else {
            quiet = 0;
        }
        last_size = size;
        if Instant::now() > deadline {
            bail!("merges still running after {MERGE_TIMEOUT:?}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Sum of the values of every line of `text` starting with `prefix`.
fn sum_metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Series and samples read back through `/api/v1/export` (JSON lines,
/// each with one series' `metric`, `values` and `timestamps`).
async fn exported(http: &reqwest::Client, base: &str) -> Result<(u64, u64)> {
    let body = http
        .get(format!("{base}/api/v1/export"))
        .query(&[("match[]", "{__name__!=\"\"}")])
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let mut series = std::collections::HashSet::new();
    let mut samples = 0u64;
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).context("export line")?;
        series.insert(v["metric"].to_string());
        samples += v["values"].as_array().map_or(0, |a| a.len() as u64);
    }
    Ok((series.len() as u64, samples))
}
