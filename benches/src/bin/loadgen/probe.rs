//! `--probe`: one extra agent, `loadgen-probe`, that measures how long a
//! breach takes to become an incident while the other agents load the
//! collector.
//!
//! Every `--probe-interval` it sends a one-sample batch of
//! `tocsin_probe_value{probe="p1"}`, alternately [`BREACH`] and [`CLEAR`],
//! and waits for the acknowledgement. The collector evaluates the rules of
//! a batch and persists the incident changes they cause before it
//! acknowledges the batch, so send → ack of a breach covers sample arrival →
//! incident opened (or reopened) and persisted, and of a clear → incident
//! resolved and persisted. The rule ([`RULES`]) has `for = 0s` and
//! `recover_for = 0s`, and flap detection is off, so every breach opens or
//! reopens the incident and every clear resolves it.
//!
//! After the run, [`verify`] reads the incident back through the HTTP API and
//! the collector's own `tocsin_sample_to_incident_seconds` histogram from
//! `/metrics`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use tocsin_benches::workload::inventory;
use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_client::IngestClient;
use tocsin_proto::v1::{
    AgentMessage, Label, MetricKind, RegisterRequest, SampleBatch, SeriesDef, collector_message,
};
use tocsinctl::client::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::MissedTickBehavior;
use tonic::transport::Endpoint;

use crate::agent::{ACK_TIMEOUT, Shared};

/// The probe's agent id, which is also its CI id.
pub const AGENT: &str = "loadgen-probe";
/// The probe's metric.
pub const METRIC: &str = "tocsin_probe_value";
/// The rule the probe trips.
pub const RULE: &str = "probe_high";
/// A value above the rule's threshold.
pub const BREACH: f64 = 100.0;
/// A value below the rule's recovery threshold.
pub const CLEAR: f64 = 0.0;
/// The collector's histogram of batch arrival → incidents persisted.
const COLLECTOR_HISTOGRAM: &str = "tocsin_sample_to_incident_seconds";

/// The rules file the spawned collector loads (besides the built-in rules,
/// which select none of the load generator's series).
pub const RULES: &str = r#"# Written by tocsin-loadgen --probe.
# Flap detection off: every breach of the probe reopens its incident and
# every clear resolves it, instead of the incident being held open as flapping.
[flapping]
enabled = false

[[rule]]
name = "probe_high"
selector = 'tocsin_probe_value{probe="p1"}'
thresholds = { major = 50 }
recovery = 10
for = "0s"
recover_for = "0s"
title = "loadgen probe {{labels.probe}} on {{ci}} is {{value}}"
"#;

/// What the probe saw.
pub struct ProbeReport {
    /// Send → ack of breaching batches during the measured period, µs.
    pub breach: Histogram<u64>,
    /// Send → ack of clearing batches during the measured period, µs.
    pub clear: Histogram<u64>,
    /// Breaching batches acknowledged over the whole run.
    pub total_breaches: u64,
    /// Clearing batches acknowledged over the whole run.
    pub total_clears: u64,
}

/// Writes [`RULES`] into `dir` and a collector config that loads it: a copy
/// of `user_config` (if any) with `rules_file` added. Returns the config's path.
pub fn write_config(dir: &Path, user_config: Option<&Path>) -> anyhow::Result<PathBuf> {
    let rules = dir.join("probe-rules.toml");
    std::fs::write(&rules, RULES).with_context(|| format!("cannot write {}", rules.display()))?;
    let user = match user_config {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read --collector-config {}", p.display()))?,
        None => String::new(),
    };
    if user
        .lines()
        .any(|l| l.trim_start().starts_with("rules_file"))
    {
        bail!(
            "--probe writes its own rules file; remove rules_file from --collector-config \
             (or run without --probe)"
        );
    }
    // A top-level key must come before the first table, so it goes first.
    let config = format!(
        "# Written by tocsin-loadgen --probe.\nrules_file = {}\n\n{user}",
        toml_string(&rules.to_string_lossy())
    );
    let path = dir.join("collector.toml");
    std::fs::write(&path, config).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs the probe until [`Shared::stop`].
pub async fn run(
    endpoint: Endpoint,
    interval: Duration,
    shared: Arc<Shared>,
) -> anyhow::Result<ProbeReport> {
    drive(endpoint, interval, &shared)
        .await
        .with_context(|| format!("probe agent {AGENT}"))
}

async fn drive(
    endpoint: Endpoint,
    interval: Duration,
    shared: &Shared,
) -> anyhow::Result<ProbeReport> {
    let channel = endpoint.connect().await.context("connect")?;
    let mut client = IngestClient::new(channel);
    let registered = client
        .register(RegisterRequest {
            agent_id: AGENT.into(),
            agent_version: "loadgen".into(),
            inventory: Some(inventory("loadgen-probe-host", 65_535)),
        })
        .await
        .context("Register")?
        .into_inner();
    let (tx, mut inbound) = super::agent::open_stream(&mut client, AGENT, 2).await?;

    let mut report = ProbeReport {
        breach: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        clear: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        total_breaches: 0,
        total_clears: 0,
    };
    let mut seq = registered.last_acked_seq + 1;
    let mut last_ts = i64::MIN;
    let mut breach = true;
    let mut declare = Some(SeriesDef {
        id: 0,
        metric: METRIC.into(),
        labels: vec![Label {
            name: "probe".into(),
            value: "p1".into(),
        }],
        kind: MetricKind::Gauge as i32,
        ci_id: String::new(),
    });
    let mut tick = tokio::time::interval(interval);
    // A slow ack delays the next probe rather than causing a burst of them.
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    while !shared.stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let ts = wall_ms().max(last_ts.saturating_add(1));
        last_ts = ts;
        let value = if breach { BREACH } else { CLEAR };
        let batch = SampleBatch {
            seq,
            // Declared in the first batch only, as an agent does.
            series: declare.take().into_iter().collect(),
            series_ids: vec![0],
            timestamps_ms: vec![ts],
            values: vec![value],
            events: Vec::new(),
        };
        let sent = Instant::now();
        tx.send(AgentMessage {
            msg: Some(Msg::Batch(batch)),
        })
        .await
        .context("stream closed by the collector")?;
        let result = loop {
            match tokio::time::timeout(ACK_TIMEOUT, inbound.message()).await {
                Err(_) => bail!("no acknowledgement within {ACK_TIMEOUT:?}"),
                Ok(Err(status)) => bail!("stream failed: {status}"),
                Ok(Ok(None)) => bail!("collector closed the stream"),
                Ok(Ok(Some(m))) => {
                    if let Some(collector_message::Msg::Result(r)) = m.msg {
                        break r;
                    }
                }
            }
        };
        let latency = sent.elapsed();
        if result.seq != seq {
            bail!("acknowledgement for batch {}, expected {seq}", result.seq);
        }
        if result.code != 0 || result.samples_stored != 1 {
            bail!(
                "probe batch {seq} not stored: code {} stored {} {}",
                result.code,
                result.samples_stored,
                result.message
            );
        }
        let (hist, total) = if breach {
            (&mut report.breach, &mut report.total_breaches)
        } else {
            (&mut report.clear, &mut report.total_clears)
        };
        *total += 1;
        if shared.measuring.load(Ordering::Relaxed) {
            hist.saturating_record(latency.as_micros() as u64);
        }
        seq += 1;
        breach = !breach;
    }
    drop(tx);
    Ok(report)
}

fn ms(us: u64) -> String {
    format!("{:.1}ms", us as f64 / 1000.0)
}

fn summary(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "n/a".into();
    }
    format!(
        "p50={} p99={} max={}",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    )
}

/// Prints the probe's latencies, then checks the incident through the HTTP
/// API at `http` (if known) and prints the collector's own histogram.
pub async fn verify(report: &ProbeReport, http: Option<&str>) -> anyhow::Result<()> {
    println!(
        "probe: breaches={} clears={} ack(breach) {}; ack(clear) {}",
        report.breach.len(),
        report.clear.len(),
        summary(&report.breach),
        summary(&report.clear),
    );
    let Some(http) = http else {
        println!("probe: no --collector-http given; incident and /metrics not checked");
        return Ok(());
    };
    let client = Client::new(http)?;
    let reply = client
        .get(&["api", "v1", "incidents"], &[("ci", AGENT)])
        .await?;
    let incidents: Vec<_> = reply.json["data"]
        .as_array()
        .map(|a| a.iter().filter(|i| i["rule"] == RULE).collect())
        .unwrap_or_default();
    let [inc] = incidents.as_slice() else {
        bail!(
            "expected exactly one {RULE} incident on CI {AGENT}, the API lists {}",
            incidents.len()
        );
    };
    let reopens = inc["reopen_count"].as_u64().unwrap_or(0);
    println!(
        "probe: incident #{} status={} reopen_count={} (expected {}: {} breaches acked over the run) \
         occurrences={} flapping={}",
        inc["id"],
        inc["status"].as_str().unwrap_or("?"),
        reopens,
        report.total_breaches.saturating_sub(1),
        report.total_breaches,
        inc["occurrences"],
        inc["flapping"],
    );
    if reopens + 1 != report.total_breaches {
        eprintln!("probe: WARNING: reopen_count does not match the breaches sent");
    }
    let metrics = http_get_text(http, "/metrics").await?;
    match PromHistogram::parse(&metrics, COLLECTOR_HISTOGRAM) {
        Some(h) if h.count > 0 => println!(
            "collector {COLLECTOR_HISTOGRAM}: count={} mean={:.2}ms p50~{:.2}ms p99~{:.2}ms \
             (interpolated in buckets; {} probe batches acked)",
            h.count,
            h.sum / h.count as f64 * 1e3,
            h.quantile(0.5) * 1e3,
            h.quantile(0.99) * 1e3,
            report.total_breaches + report.total_clears,
        ),
        Some(_) => println!("collector {COLLECTOR_HISTOGRAM}: empty"),
        None => println!("collector {COLLECTOR_HISTOGRAM}: not found in /metrics"),
    }
    Ok(())
}

/// GETs `path` from `base` (`http://host:port`) over plain HTTP/1.1 and
/// returns the body.
async fn http_get_text(base: &str, path: &str) -> anyhow::Result<String> {
    let authority = base
        .strip_prefix("http://")
        .with_context(|| format!("{base}: only http:// URLs are supported"))?
        .trim_end_matches('/');
    let fetch = async {
        let mut conn = tokio::net::TcpStream::connect(authority).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nAccept-Encoding: identity\r\n\r\n"
        );
        conn.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        conn.read_to_end(&mut raw).await?;
        anyhow::Ok(raw)
    };
    let raw = tokio::time::timeout(Duration::from_secs(30), fetch)
        .await
        .with_context(|| format!("GET {base}{path}: timed out"))?
        .with_context(|| format!("GET {base}{path}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .with_context(|| format!("GET {base}{path}: malformed response"))?;
    let status = head.lines().next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("200") {
        bail!("GET {base}{path}: {status}");
    }
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    Ok(if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    })
}

/// Decodes an HTTP/1.1 chunked body.
fn dechunk(mut body: &str) -> anyhow::Result<String> {
    let mut out = String::new();
    loop {
        let (size, rest) = body.split_once("\r\n").context("truncated chunk header")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).context("truncated chunk")?;
        out.push_str(chunk);
        body = rest.get(size..).unwrap_or("").trim_start_matches("\r\n");
    }
}

/// A Prometheus histogram read from the text exposition format.
#[derive(Debug, PartialEq)]
struct PromHistogram {
    /// (upper bound, cumulative count), ascending, `+Inf` last.
    buckets: Vec<(f64, u64)>,
    count: u64,
    sum: f64,
}

impl PromHistogram {
    /// The unlabelled histogram `name` in `text`.
    fn parse(text: &str, name: &str) -> Option<Self> {
        let (bucket, count, sum) = (
            format!("{name}_bucket{{"),
            format!("{name}_count"),
            format!("{name}_sum"),
        );
        let mut h = Self {
            buckets: Vec::new(),
            count: 0,
            sum: 0.0,
        };
        let mut found = false;
        for line in text.lines() {
            let value = line.rsplit(' ').next().unwrap_or_default();
            if let Some(rest) = line.strip_prefix(&bucket) {
                let le = rest.split("le=\"").nth(1)?.split('"').next()?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                h.buckets.push((le, value.parse::<f64>().ok()? as u64));
            } else if line.starts_with(&count) && line[count.len()..].starts_with([' ', '{']) {
                h.count = value.parse::<f64>().ok()? as u64;
                found = true;
            } else if line.starts_with(&sum) && line[sum.len()..].starts_with([' ', '{']) {
                h.sum = value.parse().ok()?;
            }
        }
        h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.then_some(h)
    }

    /// The `q` quantile, interpolated linearly inside its bucket as
    /// PromQL's `histogram_quantile` does.
    fn quantile(&self, q: f64) -> f64 {
        let rank = q * self.count as f64;
        let mut lower = (0.0, 0u64);
        for &(le, cumulative) in &self.buckets {
            if cumulative as f64 >= rank {
                if le.is_infinite() {
                    return lower.0;
                }
                let in_bucket = (cumulative - lower.1) as f64;
                if in_bucket == 0.0 {
                    return le;
                }
                return lower.0 + (le - lower.0) * (rank - lower.1 as f64) / in_bucket;
            }
            lower = (le, cumulative);
        }
        lower.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_rules_are_valid() {
        let set = tocsin_rules::parse(RULES).expect("valid rules");
        let rule = set.get(RULE).expect("probe rule");
        assert!(rule.enabled);
        assert!(!set.flapping.enabled);
    }

    #[test]
    fn reads_a_histogram_and_its_quantiles() {
        let text = "# HELP x_seconds help\n# TYPE x_seconds histogram\n\
            x_seconds_sum 0.5\nx_seconds_count 100\n\
            x_seconds_bucket{le=\"0.001\"} 50\nx_seconds_bucket{le=\"0.002\"} 90\n\
            x_seconds_bucket{le=\"0.004\"} 100\nx_seconds_bucket{le=\"+Inf\"} 100\n\
            x_seconds_other 3\n";
        let h = PromHistogram::parse(text, "x_seconds").expect("found");
        assert_eq!((h.count, h.sum, h.buckets.len()), (100, 0.5, 4));
        assert!((h.quantile(0.5) - 0.001).abs() < 1e-12);
        assert!((h.quantile(0.99) - 0.0038).abs() < 1e-12);
        assert!(PromHistogram::parse(text, "y_seconds").is_none());
    }

    #[test]
    fn decodes_chunked_bodies() {
        assert_eq!(
            dechunk("5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n").unwrap(),
            "hello, world"
        );
    }

    #[test]
    fn config_gets_rules_file_first() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.toml");
        std::fs::write(&user, "[storage]\nsync_writes = false\n").unwrap();
        let path = write_config(dir.path(), Some(&user)).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let rules_line = text.lines().position(|l| l.starts_with("rules_file"));
        let storage_line = text.lines().position(|l| l == "[storage]");
        assert!(rules_line < storage_line, "{text}");
        std::fs::write(&user, "rules_file = \"x\"\n").unwrap();
        assert!(write_config(dir.path(), Some(&user)).is_err());
    }
}
