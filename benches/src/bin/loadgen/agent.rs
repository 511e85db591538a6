//! One simulated agent: Register, open the stream, send batches within a
//! window of unacknowledged ones (paced at a fixed interval with `--rate`),
//! and count what comes back.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use prost::Message;
use tocsin_benches::workload::{BatchGen, inventory, series_defs};
use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_client::IngestClient;
use tocsin_proto::v1::{AgentMessage, BatchResult, Hello, RegisterRequest, collector_message};
use tokio::sync::mpsc;
use tokio::time::{Interval, MissedTickBehavior};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

/// How long an agent waits for one acknowledgement before giving up.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(120);
/// Rejection messages printed as they happen (the rest are only counted).
const PRINTED_REJECTIONS: u64 = 5;

/// What every agent is told.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Distinct series per agent.
    pub series: usize,
    /// Samples per batch.
    pub batch_samples: usize,
    /// Unacknowledged batches allowed per stream.
    pub window: usize,
    /// Timestamp of the first tick.
    pub start_ms: i64,
    /// `--rate`: time between two batches of one agent (`None`: as fast as
    /// acknowledgements allow).
    pub pace: Option<Duration>,
}

/// Counters shared by all agents and the main task.
#[derive(Default)]
pub struct Shared {
    /// Samples of batches acknowledged with code 0.
    pub acked_samples: AtomicU64,
    /// Samples the collector reported as stored.
    pub stored_samples: AtomicU64,
    /// Batches acknowledged with code 0.
    pub acked_batches: AtomicU64,
    /// Batches acknowledged with a non-zero code.
    pub rejected_batches: AtomicU64,
    /// Encoded bytes of the batches sent.
    pub sent_bytes: AtomicU64,
    /// Agents whose series are all declared (their declaring batches acknowledged).
    pub declared_agents: AtomicUsize,
    /// Agents that failed.
    pub failed_agents: AtomicUsize,
    /// Ack latencies are recorded while set.
    pub measuring: AtomicBool,
    /// Agents stop sending, wait for their outstanding acks and close the stream.
    pub stop: AtomicBool,
    /// Rejections by code: count and first message.
    pub rejections: Mutex<BTreeMap<i32, (u64, String)>>,
}

struct InFlight {
    seq: u64,
    sent: Instant,
    samples: u64,
}

/// Runs agent `index` until [`Shared::stop`]; returns its ack latencies (µs) while measuring.
pub async fn run(
    index: usize,
    endpoint: Endpoint,
    cfg: AgentConfig,
    shared: Arc<Shared>,
) -> anyhow::Result<Histogram<u64>> {
    let agent_id = format!("loadgen-{index}");
    let hostname = format!("loadgen-host-{index:04}");
    let mut declared_signalled = false;
    let result = drive(
        &agent_id,
        &hostname,
        index,
        endpoint,
        &cfg,
        &shared,
        &mut declared_signalled,
    )
    .await;
    if result.is_err() {
        shared.failed_agents.fetch_add(1, Ordering::SeqCst);
    }
    result.with_context(|| format!("agent {agent_id}"))
}

async fn drive(
    agent_id: &str,
    hostname: &str,
    index: usize,
    endpoint: Endpoint,
    cfg: &AgentConfig,
    shared: &Shared,
    declared_signalled: &mut bool,
) -> anyhow::Result<Histogram<u64>> {
    let channel = endpoint.connect().await.context("connect")?;
    let mut client = IngestClient::new(channel);
    let registered = client
        .register(RegisterRequest {
            agent_id: agent_id.to_string(),
            agent_version: "loadgen".into(),
            inventory: Some(inventory(hostname, index)),
        })
        .await
        .context("Register")?
        .into_inner();
    if cfg.batch_samples > registered.max_batch_samples as usize {
        bail!(
            "--batch-samples {} exceeds the collector's limit {}",
            cfg.batch_samples,
            registered.max_batch_samples
        );
    }
    let defs = series_defs(&[hostname.to_string()], cfg.series);
    let mut generator = BatchGen::new(defs, registered.last_acked_seq + 1, cfg.start_ms, 1);

    let (tx, mut inbound) = open_stream(&mut client, agent_id, cfg.window + 1).await?;

    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(cfg.window);
    let mut last_declaring_seq = None;
    // Paced agents start spread over one period so their batches interleave.
    let mut pacer = cfg.pace.map(|period| {
        let offset = period.mul_f64(index as f64 * 0.618_034 % 1.0);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
        // Batches not sent while the window was full go out as soon as there
        // is room again: the average rate is the one asked for.
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        tick
    });
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed);
        let room = !stopping && in_flight.len() < cfg.window;
        if room && pacer.is_none() {
            send_next(
                &mut generator,
                cfg,
                shared,
                &tx,
                &mut in_flight,
                &mut last_declaring_seq,
            )
            .await?;
            continue;
        }
        if in_flight.is_empty() && stopping {
            break;
        }
        let deadline = in_flight.front().map(|f| f.sent + ACK_TIMEOUT);
        let result = tokio::select! {
            m = inbound.message(), if !in_flight.is_empty() => match m {
                Err(status) => bail!("stream failed: {status}"),
                Ok(None) => bail!(
                    "collector closed the stream with {} batches unacknowledged",
                    in_flight.len()
                ),
                Ok(Some(m)) => match m.msg {
                    Some(collector_message::Msg::Result(r)) => r,
                    None => continue,
                },
            },
            _ = tick(&mut pacer), if room => {
                send_next(&mut generator, cfg, shared, &tx, &mut in_flight, &mut last_declaring_seq).await?;
                continue;
            }
            () = sleep_until(deadline) => bail!("no acknowledgement within {ACK_TIMEOUT:?}"),
        };
        let Some(pos) = in_flight.iter().position(|f| f.seq == result.seq) else {
            bail!("acknowledgement for unknown batch {}", result.seq);
        };
        let done = in_flight.remove(pos).unwrap_or_else(|| unreachable!());
        if shared.measuring.load(Ordering::Relaxed) {
            hist.saturating_record(done.sent.elapsed().as_micros() as u64);
        }
        account(shared, agent_id, &result, done.samples);
        if !*declared_signalled
            && last_declaring_seq.is_some_and(|s| result.seq >= s)
            && !generator.declaring()
        {
            *declared_signalled = true;
            shared.declared_agents.fetch_add(1, Ordering::SeqCst);
        }
    }
    drop(tx);
    Ok(hist)
}

/// Sends the generator's next batch and remembers it as in flight.
/// Opens the agent's Stream (Hello first) with room for `capacity` queued messages.
pub async fn open_stream(
    client: &mut IngestClient<tonic::transport::Channel>,
    agent_id: &str,
    capacity: usize,
) -> anyhow::Result<(
    mpsc::Sender<AgentMessage>,
    tonic::Streaming<tocsin_proto::v1::CollectorMessage>,
)> {
    let (tx, rx) = mpsc::channel(capacity);
    tx.send(AgentMessage {
        msg: Some(Msg::Hello(Hello {
            agent_id: agent_id.to_string(),
        })),
    })
    .await?;
    let inbound = client
        .stream(ReceiverStream::new(rx))
        .await
        .context("open Stream")?
        .into_inner();
    Ok((tx, inbound))
}

async fn send_next(
    generator: &mut BatchGen,
    cfg: &AgentConfig,
    shared: &Shared,
    tx: &mpsc::Sender<AgentMessage>,
    in_flight: &mut VecDeque<InFlight>,
    last_declaring_seq: &mut Option<u64>,
) -> anyhow::Result<()> {
    if generator.declaring() {
        *last_declaring_seq = Some(generator.next_seq());
    }
    let batch = generator.next_batch(cfg.batch_samples);
    let (seq, samples) = (batch.seq, batch.series_ids.len() as u64);
    let msg = AgentMessage {
        msg: Some(Msg::Batch(batch)),
    };
    shared
        .sent_bytes
        .fetch_add(msg.encoded_len() as u64, Ordering::Relaxed);
    in_flight.push_back(InFlight {
        seq,
        sent: Instant::now(),
        samples,
    });
    tx.send(msg).await.context("stream closed by the collector")
}

/// The next tick of `pacer`; never, without one.
async fn tick(pacer: &mut Option<Interval>) {
    match pacer {
        Some(p) => {
            p.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`; forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

fn account(shared: &Shared, agent_id: &str, result: &BatchResult, samples: u64) {
    if result.code == 0 {
        shared.acked_batches.fetch_add(1, Ordering::Relaxed);
        shared.acked_samples.fetch_add(samples, Ordering::Relaxed);
        shared
            .stored_samples
            .fetch_add(u64::from(result.samples_stored), Ordering::Relaxed);
        return;
    }
    let n = shared.rejected_batches.fetch_add(1, Ordering::Relaxed);
    if n < PRINTED_REJECTIONS {
        eprintln!(
            "{agent_id}: batch {} rejected: code {} {}",
            result.seq, result.code, result.message
        );
    }
    shared
        .rejections
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(result.code)
        .or_insert_with(|| (0, result.message.clone()))
        .0 += 1;
}
