//! The gRPC transport: Register, then one long-lived Stream that sends the
//! queued batches within a window of unacknowledged ones and applies the
//! collector's results to the queue. Any failure ends the session; the agent
//! reconnects with exponential backoff and full jitter, and resends every
//! batch still in the queue (the collector acknowledges duplicates again
//! without storing them twice).
//!
//! Device reports go out on every new stream before any batch, and again
//! whenever one changes; no batch naming a device CI is sent on a stream
//! before that device's report (see [`reports`]).

pub mod reports;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tocsin_proto::v1::ingest_client::IngestClient;
use tocsin_proto::v1::{
    AgentMessage, BatchResult, Hello, RegisterRequest, SampleBatch, agent_message,
    collector_message,
};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;

use crate::Shared;
use crate::error::{Error, Result};
use crate::queue::Resync;
use crate::series::{Declared, definitions, to_declare, wire_batch};
use crate::stats::Stats;
use reports::SentReports;

/// Most batches sent but not yet acknowledged on a stream.
pub const WINDOW: usize = 32;
/// How long a batch may wait for its result before the stream is considered dead.
const ACK_TIMEOUT: Duration = Duration::from_secs(60);
/// Time allowed for connecting, registering, and opening the stream.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a shutdown waits for queued batches to be acknowledged.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Exponential backoff with full jitter: the n-th delay is uniform in
/// `[0, min(cap, base * 2^n)]`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    /// Backoff starting at `base` and never exceeding `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap,
            attempt: 0,
        }
    }

    /// The upper bound of the next delay.
    pub fn ceiling(&self) -> Duration {
        self.base
            .saturating_mul(2u32.saturating_pow(self.attempt.min(20)))
            .min(self.cap)
    }

    /// The next delay, drawn at random under the current ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=ms))
    }

    /// Back to the first delay, after a successful connection.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// Runs sessions until `shutdown` becomes true, reconnecting after failures.
pub async fn run(url: String, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let result = session(&url, &shared, &mut shutdown, &mut backoff).await;
        shared
            .stats
            .connected
            .store(false, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = result {
            if *shutdown.borrow() {
                tracing::warn!(error = %e, "stopping before the collector acknowledged everything");
            } else {
                Stats::add(&shared.stats.connection_failures, 1);
                let delay = backoff.next_delay();
                let queued = shared.queue().len();
                tracing::warn!(error = %e, retry_in = ?delay, queued_batches = queued, "collector connection failed");
                tokio::select! {
                    _ = sleep(delay) => continue,
                    _ = shutdown.changed() => {}
                }
            }
        }
        let left = shared.queue().len();
        if left > 0 {
            tracing::warn!(
                batches = left,
                "stopped with unacknowledged batches; they are lost"
            );
        }
        return;
    }
}

/// One connection: Register, open the stream, and exchange batches and
/// results until an error or a shutdown (`Ok` after a clean drain).
async fn session(
    url: &str,
    shared: &Arc<Shared>,
    shutdown: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Result<()> {
    let endpoint = Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .tcp_keepalive(Some(Duration::from_secs(30)))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    let channel = call(shutdown, "connect", endpoint.connect()).await??;
    let mut client = IngestClient::new(channel);

    let mut inventory_rx = shared.inventory.clone();
    let inventory = inventory_rx.borrow_and_update().as_ref().clone();
    let request = RegisterRequest {
        agent_id: shared.agent_id.clone(),
        agent_version: env!("CARGO_PKG_VERSION").to_string(),
        inventory: Some(inventory),
    };
    let reg = call(shutdown, "Register", client.register(request)).await??;
    let reg = reg.into_inner();
    let resync = shared.queue().resync(reg.last_acked_seq)?;
    shared.set_collector_limit(reg.max_batch_samples);
    match resync {
        Resync::Renumbered => tracing::warn!(
            last_acked_seq = reg.last_acked_seq,
            "the collector has seen higher sequence numbers than this agent used; queued batches were renumbered"
        ),
        Resync::Started | Resync::Acked(_) => {}
    }
    shared.update_queue_stats();
    tracing::info!(
        ci_id = %reg.ci_id,
        last_acked_seq = reg.last_acked_seq,
        max_batch_samples = reg.max_batch_samples,
        queued_batches = shared.queue().len(),
        "registered with the collector"
    );

    let (tx, rx) = mpsc::channel(WINDOW + 8);
    let hello = AgentMessage {
        msg: Some(agent_message::Msg::Hello(Hello {
            agent_id: shared.agent_id.clone(),
        })),
    };
    tx.send(Outgoing::Message(Box::new(hello)))
        .await
        .map_err(|_| closed())?;
    let for_stream = Arc::clone(shared);
    let outbound = ReceiverStream::new(rx).map(move |out: Outgoing| out.into_message(&for_stream));
    let response = call(shutdown, "opening the stream", client.stream(outbound)).await??;
    let mut inbound = response.into_inner();
    backoff.reset();
    shared
        .stats
        .connected
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!("stream open");

    let mut declared = Declared::new();
    let mut sent_reports = SentReports::new();
    send_reports(shared, &mut sent_reports, &tx).await?;
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut last_sent = 0u64;
    let mut inventory_alive = true;
    let mut drain_deadline: Option<Instant> = if *shutdown.borrow() {
        Some(Instant::now() + DRAIN_TIMEOUT)
    } else {
        None
    };

    loop {
        // Reports that changed go out before the batches that follow them.
        send_reports(shared, &mut sent_reports, &tx).await?;
        // Fill the window with the next queued batches, oldest first.
        while in_flight.len() < WINDOW {
            let Some(batch) = shared.queue().next_after(last_sent)? else {
                break;
            };
            let (declare, cis) = {
                let registry = shared.registry();
                let declare = to_declare(&batch, &registry, &mut declared);
                let cis: BTreeSet<String> = declare
                    .iter()
                    .filter_map(|&id| registry.ci_of(id))
                    .chain(batch.events.iter().map(|e| e.ci_id.as_str()))
                    .filter(|ci| !ci.is_empty())
                    .map(str::to_owned)
                    .collect();
                (declare, cis)
            };
            let cis = || cis.iter().map(String::as_str);
            if !sent_reports.missing_of(cis()).is_empty() {
                // A report stored after the last sync: send it first.
                send_reports(shared, &mut sent_reports, &tx).await?;
                let missing = sent_reports.missing_of(cis());
                if !missing.is_empty() {
                    // Never happens: devices store their report before queueing.
                    for &id in &declare {
                        declared.remove(id);
                    }
                    shared.queue().remove(batch.seq)?;
                    shared.update_queue_stats();
                    last_sent = batch.seq;
                    tracing::error!(seq = batch.seq, cis = ?missing, "batch names devices without a report; it is dropped");
                    continue;
                }
            }
            let declares = !declare.is_empty();
            let (seq, samples, events) = (batch.seq, batch.samples(), batch.events.len());
            tx.send(Outgoing::Batch(wire_batch(batch), declare))
                .await
                .map_err(|_| closed())?;
            tracing::debug!(seq, samples, events, "batch sent");
            in_flight.push_back(InFlight {
                seq,
                declares,
                sent: Instant::now(),
            });
            last_sent = seq;
        }
        if drain_deadline.is_some() && shared.queue().is_empty() {
            tracing::info!("all batches acknowledged");
            return Ok(());
        }
        let ack_deadline = in_flight.front().map(|f| f.sent + ACK_TIMEOUT);

        tokio::select! {
            msg = inbound.message() => match msg? {
                Some(m) => match m.msg {
                    Some(collector_message::Msg::Result(r)) => on_result(shared, &mut in_flight, &mut declared, r)?,
                    None => tracing::debug!("empty message from the collector"),
                },
                None => return Err(Error::Protocol("the collector closed the stream".into())),
            },
            _ = shared.new_batch.notified(), if drain_deadline.is_none() => {}
            changed = inventory_rx.changed(), if inventory_alive => {
                if changed.is_ok() {
                    let inv = inventory_rx.borrow_and_update().as_ref().clone();
                    tx.send(Outgoing::Message(Box::new(AgentMessage { msg: Some(agent_message::Msg::Inventory(inv)) }))).await.map_err(|_| closed())?;
                    tracing::info!("inventory update sent");
                } else {
                    inventory_alive = false;
                }
            }
            _ = shutdown.changed(), if drain_deadline.is_none() => {
                tracing::info!(queued_batches = shared.queue().len(), "draining the queue before stopping");
                drain_deadline = Some(Instant::now() + DRAIN_TIMEOUT);
            }
            _ = sleep_until(drain_deadline.unwrap_or_else(Instant::now)), if drain_deadline.is_some() => {
                return Err(Error::Timeout("draining the queue"));
            }
            _ = sleep_until(ack_deadline.unwrap_or_else(Instant::now)), if ack_deadline.is_some() => {
                let seq = in_flight.front().map_or(0, |f| f.seq);
                return Err(Error::Protocol(format!("no result for batch {seq} within {ACK_TIMEOUT:?}")));
            }
        }
    }
}

/// Sends the device reports this stream has not seen in their latest version.
async fn send_reports(
    shared: &Shared,
    sent: &mut SentReports,
    tx: &mpsc::Sender<Outgoing>,
) -> Result<()> {
    for report in sent.pending(&shared.reports) {
        tracing::debug!(device = %report.device_id, complete = report.complete, "device report sent");
        tx.send(Outgoing::Message(Box::new(AgentMessage {
            msg: Some(agent_message::Msg::Device(report)),
        })))
        .await
        .map_err(|_| closed())?;
    }
    Ok(())
}

/// Runs one setup step with [`CALL_TIMEOUT`], giving up at once on shutdown.
async fn call<T>(
    shutdown: &mut watch::Receiver<bool>,
    what: &'static str,
    step: impl Future<Output = T>,
) -> Result<T> {
    if *shutdown.borrow() {
        return Err(Error::Protocol(format!("shutting down before {what}")));
    }
    tokio::select! {
        r = timeout(CALL_TIMEOUT, step) => r.map_err(|_| Error::Timeout(what)),
        _ = shutdown.changed() => Err(Error::Protocol(format!("shutting down during {what}"))),
    }
}

/// A message on its way to the stream.
#[derive(Debug)]
enum Outgoing {
    /// Ready as it is (boxed: the other variant is the frequent one).
    Message(Box<AgentMessage>),
    /// A batch without its series definitions, and the ids to declare in it:
    /// the definitions are built from the registry only when the stream takes
    /// the batch to write it out, so a window full of first-time batches
    /// (hundreds of thousands of definitions after a start) is never held.
    Batch(SampleBatch, Vec<u32>),
}

impl Outgoing {
    /// The message to write, with the batch's definitions filled in.
    fn into_message(self, shared: &Shared) -> AgentMessage {
        let msg = match self {
            Self::Message(m) => return *m,
            Self::Batch(mut wire, declare) => {
                wire.series = definitions(&declare, &shared.registry());
                agent_message::Msg::Batch(wire)
            }
        };
        AgentMessage { msg: Some(msg) }
    }
}

/// A batch sent on the current stream and not yet answered.
#[derive(Debug)]
struct InFlight {
    seq: u64,
    /// Whether it declared series (which the collector forgets if it rejects the batch).
    declares: bool,
    sent: Instant,
}

fn closed() -> Error {
    Error::Protocol("the stream was closed".into())
}

/// Applies one BatchResult: acknowledge (code 0) or drop for good (other codes).
fn on_result(
    shared: &Shared,
    in_flight: &mut VecDeque<InFlight>,
    declared: &mut Declared,
    r: BatchResult,
) -> Result<()> {
    let Some(pos) = in_flight.iter().position(|f| f.seq == r.seq) else {
        tracing::debug!(seq = r.seq, "result for a batch not in flight; ignored");
        return Ok(());
    };
    // Results come in order: anything sent before this batch is settled too.
    let this = in_flight
        .drain(..=pos)
        .next_back()
        .ok_or_else(|| Error::Protocol("empty in-flight list".into()))?;
    if r.code == 0 {
        shared.queue().ack(r.seq)?;
        Stats::add(&shared.stats.acked_batches, 1);
        tracing::debug!(seq = r.seq, stored = r.samples_stored, "batch acknowledged");
        shared.update_queue_stats();
        return Ok(());
    }
    tracing::error!(seq = r.seq, code = r.code, message = %r.message, "the collector rejected a batch; it is dropped");
    shared.queue().remove(r.seq)?;
    Stats::add(&shared.stats.rejected_batches, 1);
    shared.update_queue_stats();
    if this.declares {
        // The collector kept none of that batch's declarations, yet batches sent
        // after it rely on them: start a fresh stream that declares everything again.
        *declared = Declared::new();
        return Err(Error::Protocol(format!(
            "batch {} carried series declarations and was rejected; reopening the stream",
            r.seq
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
