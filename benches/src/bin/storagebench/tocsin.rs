//! Tocsin: the real `tocsin-collector` (port 0, ready file, fresh data
//! dir) fed by one agent over gRPC with the recording's own timestamps,
//! stopped with SIGTERM (final checkpoint and memtable flush), then the
//! data dir measured. A second start on the same dir reads the bytes per
//! column family from `/metrics`.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tocsin_e2e::{Collector, CollectorSpec, metric_value};
use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_client::IngestClient;
use tocsin_proto::v1::{
    AgentMessage, BatchResult, Hello, Inventory, Label, RegisterRequest, SampleBatch, SeriesDef,
    collector_message,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::disk;
use crate::recording::{Recording, Sample};
use crate::report::Outcome;

/// The agent the recording is sent as (also its host CI's name).
const AGENT_ID: &str = "storagebench";
/// How long one batch may wait for its acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(120);
/// Rejections printed with their message (the rest are counted).
const PRINTED_REJECTIONS: usize = 5;

/// The collector's config: nothing but limits that let any recording in.
/// `max_future_skew` is the only limit on time (the lower bound is fixed
/// at 2000-01-01), so a recording from the future is accepted too.
const CONFIG: &str = "[limits]\nmax_future_skew = \"100years\"\n";

/// How the bench runs the collector.
pub struct Options {
    /// The `tocsin-collector` binary.
    pub binary: PathBuf,
    /// Samples per batch (lowered to the collector's `max_batch_samples`).
    pub batch_samples: usize,
}

/// Loads `rec` into a fresh collector under `work` and measures its data dir.
pub async fn run(rec: &Recording, work: &Path, opts: &Options) -> Result<Outcome> {
    let data = work.join("data");
    let config = work.join("collector.toml");
    std::fs::write(&config, CONFIG)?;
    let mut spec = CollectorSpec::new(opts.binary.clone(), &data, work);
    spec.config = Some(config);
    let mut collector = Collector::launch(spec)
        .await
        .with_context(|| format!("starting {}", opts.binary.display()))?;
    let mut out = Outcome {
        system: "tocsin",
        note: "clean shutdown (SIGTERM), all files in data_dir".into(),
        ..Outcome::default()
    };

    let started = Instant::now();
    let sent = send(rec, &collector.grpc_url, opts.batch_samples).await?;
    let metrics = collector.metrics_text().await?;
    if !collector.proc.stop() {
        bail!(
            "the collector did not exit cleanly after SIGTERM; log:\n{}",
            collector.proc.log()
        );
    }
    out.load_secs = started.elapsed().as_secs_f64();
    out.stored_samples = Some(sent.stored);
    out.remarks = sent.remarks;
    let counted = metric_value(&metrics, "tocsin_ingest_samples_total").unwrap_or(-1.0);
    if counted != sent.stored as f64 {
        out.remarks.push(format!(
            "tocsin: acks say {} samples stored, /metrics tocsin_ingest_samples_total says {counted}",
            sent.stored
        ));
    }
    let skipped = metric_value(&metrics, "tocsin_ingest_samples_skipped_total").unwrap_or(0.0);
    if skipped > 0.0 {
        out.remarks.push(format!(
            "tocsin: {skipped} samples skipped as not newer than their series' last"
        ));
    }

    let files = disk::files(&data)?;
    out.bytes = disk::sum(&files, |_| true);
    let sst = disk::sum(&files, |p| disk::has_ext(p, "sst"));
    let wal = disk::sum(&files, |p| disk::has_ext(p, "log"));
    let info_log = disk::sum(&files, |p| disk::name_starts(p, "LOG"));
    let options = disk::sum(&files, |p| disk::name_starts(p, "OPTIONS"));
    out.parts = vec![
        ("sst".into(), sst),
        ("wal".into(), wal),
        ("info_log(LOG*)".into(), info_log),
        ("OPTIONS".into(), options),
        (
            "other(MANIFEST,CURRENT,…)".into(),
            out.bytes - sst - wal - info_log - options,
        ),
    ];

    // A second start on the stopped store: its column family sizes and
    // series count, and proof that what was measured opens again.
    collector
        .restart()
        .await
        .context("restarting on the data")?;
    let metrics = collector.metrics_text().await?;
    if !collector.proc.stop() {
        out.remarks
            .push("tocsin: the second start did not exit cleanly".into());
    }
    out.stored_series = metric_value(&metrics, "tocsin_series").map(|v| v as u64);
    out.parts.extend(sst_per_cf(&metrics));
    Ok(out)
}

/// `tocsin_storage_bytes{cf,tier="sst"}` as (`sst:<cf>`, bytes), non-zero ones.
fn sst_per_cf(metrics: &str) -> Vec<(String, u64)> {
    metrics
        .lines()
        .filter(|l| l.starts_with("tocsin_storage_bytes{") && l.contains("tier=\"sst\""))
        .filter_map(|l| {
            let cf = l.split("cf=\"").nth(1)?.split('"').next()?;
            let v: f64 = l.rsplit(' ').next()?.parse().ok()?;
            (v > 0.0).then(|| (format!("sst:{cf}"), v as u64))
        })
        .collect()
}

/// What sending found.
struct Sent {
    /// Samples the acks say were stored.
    stored: u64,
    /// Rejections and samples not sent.
    remarks: Vec<String>,
}

/// Sends the recording in timestamp order, one batch at a time, each
/// declaring the series it uses for the first time on the stream.
async fn send(rec: &Recording, url: &str, batch_samples: usize) -> Result<Sent> {
    let mut client = IngestClient::connect(url.to_string()).await?;
    let registered = client
        .register(RegisterRequest {
            agent_id: AGENT_ID.into(),
            agent_version: "storagebench".into(),
            inventory: Some(Inventory {
                hostname: AGENT_ID.into(),
                ..Default::default()
            }),
        })
        .await
        .context("Register")?
        .into_inner();
    let per_batch = batch_samples
        .min(registered.max_batch_samples as usize)
        .max(1);
    let (tx, rx) = mpsc::channel(2);
    tx.send(AgentMessage {
        msg: Some(Msg::Hello(Hello {
            agent_id: AGENT_ID.into(),
        })),
    })
    .await?;
    let mut inbound = client
        .stream(ReceiverStream::new(rx))
        .await
        .context("open Stream")?
        .into_inner();

    // The collector refuses a whole batch for one NaN or infinite value;
    // leave those out rather than lose their batch.
    let finite: Vec<Sample> = rec
        .samples
        .iter()
        .copied()
        .filter(|s| s.value.is_finite())
        .collect();
    let mut remarks = Vec::new();
    if finite.len() < rec.samples.len() {
        remarks.push(format!(
            "tocsin: {} NaN/Inf samples not sent (the collector refuses non-finite values)",
            rec.samples.len() - finite.len()
        ));
    }
    let mut declared: HashSet<u32> = HashSet::new();
    let (mut stored, mut rejected_samples) = (0u64, 0u64);
    let mut rejections: VecDeque<String> = VecDeque::new();
    let mut rejected_batches = 0usize;
    let mut seq = registered.last_acked_seq;
    for chunk in finite.chunks(per_batch) {
        seq += 1;
        let batch = batch(rec, chunk, seq, &declared);
        let new_ids: Vec<u32> = batch.series.iter().map(|d| d.id).collect();
        tx.send(AgentMessage {
            msg: Some(Msg::Batch(batch)),
        })
        .await
        .context("stream closed by the collector")?;
        let result = ack(&mut inbound).await?;
        if result.seq != seq {
            bail!("acknowledgement for batch {}, expected {seq}", result.seq);
        }
        if result.code == 0 {
            declared.extend(new_ids);
            stored += u64::from(result.samples_stored);
        } else {
            rejected_batches += 1;
            rejected_samples += chunk.len() as u64;
            if rejections.len() < PRINTED_REJECTIONS {
                rejections.push_back(format!(
                    "batch {seq} rejected: code {} {}",
                    result.code, result.message
                ));
            }
        }
    }
    drop(tx);
    if rejected_batches > 0 {
        remarks.push(format!(
            "tocsin: {rejected_batches} batches ({rejected_samples} samples) rejected; first: {}",
            Vec::from(rejections).join("; ")
        ));
    }
    Ok(Sent { stored, remarks })
}

fn batch(rec: &Recording, chunk: &[Sample], seq: u64, declared: &HashSet<u32>) -> SampleBatch {
    let mut seen = HashSet::new();
    let series = chunk
        .iter()
        .filter(|s| !declared.contains(&s.series) && seen.insert(s.series))
        .map(|s| {
            let def = &rec.series[s.series as usize];
            SeriesDef {
                id: s.series,
                metric: def.metric.clone(),
                labels: def
                    .labels
                    .iter()
                    .map(|(name, value)| Label {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                kind: def.kind,
                ci_id: String::new(),
            }
        })
        .collect();
    SampleBatch {
        seq,
        series,
        series_ids: chunk.iter().map(|s| s.series).collect(),
        timestamps_ms: chunk.iter().map(|s| s.ts_ms).collect(),
        values: chunk.iter().map(|s| s.value).collect(),
        events: Vec::new(),
    }
}

async fn ack(
    inbound: &mut tonic::Streaming<tocsin_proto::v1::CollectorMessage>,
) -> Result<BatchResult> {
    loop {
        let m = tokio::time::timeout(ACK_TIMEOUT, inbound.message())
            .await
            .context("no acknowledgement in time")?
            .context("stream failed")?
            .context("the collector closed the stream")?;
        if let Some(collector_message::Msg::Result(r)) = m.msg {
            return Ok(r);
        }
    }
}
