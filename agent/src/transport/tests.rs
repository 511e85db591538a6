//! Transport tests against an in-process fake collector speaking the real
//! gRPC protocol.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tocsin_proto::v1::agent_message::Msg;
use tocsin_proto::v1::ingest_server::{Ingest, IngestServer};
use tocsin_proto::v1::{
    AgentMessage, BatchResult, CollectorMessage, DeviceReport, Inventory, RegisterRequest,
    RegisterResponse, SampleBatch, collector_message,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::{Request, Response, Status, Streaming};

use super::*;
use crate::queue::{Batch, BatchQueue, MemoryQueue};
use crate::series::{Kind, Registry};

const AGENT: &str = "test-agent";

/// One message of a stream, in arrival order.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    /// A DeviceReport: device id and name.
    Report(String, String),
    /// A batch: its seq.
    Batch(u64),
}

/// What the fake collector saw, and how it should misbehave.
#[derive(Default, Clone)]
struct State {
    last_acked: u64,
    registrations: u32,
    /// Batches received, per stream.
    streams: Vec<Vec<SampleBatch>>,
    inventories: u32,
    /// Sequence numbers answered with INVALID_ARGUMENT.
    reject: HashSet<u64>,
    /// End the first stream with an error, unanswered, when its n-th batch arrives.
    cut_first_stream_at: Option<usize>,
    /// Reports and batches in arrival order, per stream.
    seen: Vec<Vec<Seen>>,
    /// Batches rejected (for any reason).
    rejected: u32,
}

#[derive(Clone, Default)]
struct Fake(Arc<Mutex<State>>);

impl Fake {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    /// A copy of the state, to assert on without holding the lock.
    fn snapshot(&self) -> State {
        self.state().clone()
    }

    /// Decides the answer to one batch, like the real collector: declarations
    /// of a rejected batch are not kept.
    fn answer(
        &self,
        stream: usize,
        declared: &mut HashSet<u32>,
        b: SampleBatch,
    ) -> Option<BatchResult> {
        let mut s = self.state();
        s.streams[stream].push(b.clone());
        s.seen[stream].push(Seen::Batch(b.seq));
        if stream == 0 && s.cut_first_stream_at == Some(s.streams[0].len()) {
            return None;
        }
        let new: HashSet<u32> = b.series.iter().map(|d| d.id).collect();
        let undeclared = b
            .series_ids
            .iter()
            .any(|id| !declared.contains(id) && !new.contains(id));
        // Like the collector: a device CI must have been reported on this stream.
        let reported = |ci: &str| {
            ci.is_empty()
                || s.seen[stream]
                    .iter()
                    .any(|m| matches!(m, Seen::Report(id, _) if id == ci))
        };
        let unknown_ci = b.series.iter().any(|d| !reported(&d.ci_id))
            || b.events.iter().any(|e| !reported(&e.ci_id));
        let (code, message) = if s.reject.contains(&b.seq) {
            (3, "rejected by the test".to_string())
        } else if undeclared {
            (3, "series id was not declared on this stream".to_string())
        } else if unknown_ci {
            (3, "unknown CI".to_string())
        } else {
            declared.extend(new);
            s.last_acked = s.last_acked.max(b.seq);
            (0, String::new())
        };
        if code != 0 {
            s.rejected += 1;
        }
        Some(BatchResult {
            seq: b.seq,
            code,
            message,
            samples_stored: 0,
        })
    }
}

#[tonic::async_trait]
impl Ingest for Fake {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterResponse>, Status> {
        let req = request.into_inner();
        assert_eq!(req.agent_id, AGENT);
        let mut s = self.state();
        s.registrations += 1;
        Ok(Response::new(RegisterResponse {
            ci_id: AGENT.into(),
            last_acked_seq: s.last_acked,
            max_batch_samples: 100,
        }))
    }

    type StreamStream = ReceiverStream<Result<CollectorMessage, Status>>;

    async fn stream(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let mut inbound = request.into_inner();
        match inbound.message().await? {
            Some(AgentMessage {
                msg: Some(Msg::Hello(h)),
            }) if h.agent_id == AGENT => {}
            other => {
                return Err(Status::failed_precondition(format!(
                    "the first message must be Hello, got {other:?}"
                )));
            }
        }
        let stream = {
            let mut s = self.state();
            s.streams.push(vec![]);
            s.seen.push(vec![]);
            s.streams.len() - 1
        };
        let (tx, rx) = mpsc::channel(64);
        let fake = self.clone();
        tokio::spawn(async move {
            let mut declared = HashSet::new();
            while let Ok(Some(m)) = inbound.message().await {
                match m.msg {
                    Some(Msg::Batch(b)) => match fake.answer(stream, &mut declared, b) {
                        Some(r) => {
                            let msg = CollectorMessage {
                                msg: Some(collector_message::Msg::Result(r)),
                            };
                            if tx.send(Ok(msg)).await.is_err() {
                                return;
                            }
                        }
                        None => {
                            let _ = tx
                                .send(Err(Status::unavailable("the test cut the stream")))
                                .await;
                            return;
                        }
                    },
                    Some(Msg::Inventory(_)) => fake.state().inventories += 1,
                    Some(Msg::Device(r)) => {
                        fake.state().seen[stream].push(Seen::Report(r.device_id, r.name));
                    }
                    _ => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

/// Starts the fake on a free port; returns its URL.
async fn serve(fake: Fake) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(IngestServer::new(fake))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    format!("http://{addr}")
}

/// Shared state whose registry knows series 1 (`a`) and 2 (`b`), with one
/// queued (not yet numbered) batch per entry of `batches`.
fn shared(batches: &[&[u32]]) -> (Arc<Shared>, watch::Sender<Arc<Inventory>>) {
    let mut registry = Registry::new([("host".to_string(), "h".to_string())]);
    assert_eq!(registry.id("a", Kind::Gauge, vec![]), 1);
    assert_eq!(registry.id("b", Kind::Counter, vec![]), 2);
    let mut queue = MemoryQueue::new(100);
    for ids in batches {
        let n = ids.len();
        let batch = Batch {
            seq: 0,
            series_ids: ids.to_vec(),
            timestamps_ms: vec![1_700_000_000_000; n],
            values: vec![1.0; n],
            events: vec![],
        };
        queue.push(batch).unwrap();
    }
    let (inv_tx, inv_rx) = watch::channel(Arc::new(Inventory {
        hostname: "h".into(),
        ..Default::default()
    }));
    let shared = Shared::new(
        AGENT.into(),
        Box::new(queue),
        registry,
        inv_rx,
        Arc::new(Stats::default()),
        100,
    );
    (Arc::new(shared), inv_tx)
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        sleep(Duration::from_millis(20)).await;
    }
}

fn seqs(batches: &[SampleBatch]) -> Vec<u64> {
    batches.iter().map(|b| b.seq).collect()
}

fn declared_ids(b: &SampleBatch) -> Vec<u32> {
    b.series.iter().map(|d| d.id).collect()
}

async fn stop(stop_tx: watch::Sender<bool>, task: tokio::task::JoinHandle<()>) {
    stop_tx.send(true).unwrap();
    timeout(Duration::from_secs(10), task)
        .await
        .expect("transport stops on shutdown")
        .unwrap();
}

#[tokio::test]
async fn resends_unacknowledged_batches_after_a_reconnect_and_declares_again() {
    let fake = Fake::default();
    {
        let mut s = fake.state();
        s.last_acked = 41; // this agent's earlier life ended at 41
        s.cut_first_stream_at = Some(2);
    }
    let url = serve(fake.clone()).await;
    let (shared, _inv) = shared(&[&[1, 2], &[1, 2], &[1]]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(url, shared.clone(), stop_rx));

    wait_until("the queue is empty", || shared.queue().is_empty()).await;
    let s = fake.snapshot();
    assert_eq!(s.registrations, 2, "one registration per connection");
    assert_eq!(s.streams.len(), 2);
    assert_eq!(
        seqs(&s.streams[0]),
        vec![42, 43],
        "numbering continues after last_acked_seq"
    );
    assert_eq!(
        seqs(&s.streams[1]),
        vec![43, 44],
        "only the unacknowledged batches are resent"
    );
    assert_eq!(declared_ids(&s.streams[0][0]), vec![1, 2]);
    assert!(
        s.streams[0][1].series.is_empty(),
        "declared once per stream"
    );
    assert_eq!(
        declared_ids(&s.streams[1][0]),
        vec![1, 2],
        "a new stream declares again"
    );
    assert!(s.streams[1][1].series.is_empty());
    assert_eq!(s.last_acked, 44);
    assert_eq!(Stats::get(&shared.stats.acked_batches), 3);
    stop(stop_tx, task).await;
}

#[tokio::test]
async fn rejected_batches_are_dropped_not_resent() {
    let fake = Fake::default();
    fake.state().reject.insert(2);
    let url = serve(fake.clone()).await;
    let (shared, inv_tx) = shared(&[&[1], &[1, 2], &[2]]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(url, shared.clone(), stop_rx));

    wait_until("the queue is empty", || shared.queue().is_empty()).await;
    // Batch 2 declared series 2 and was rejected: the agent reopens the stream
    // so batch 3, which uses series 2, declares it again instead of failing.
    let s = fake.snapshot();
    let all: Vec<u64> = s.streams.iter().flat_map(|st| seqs(st)).collect();
    assert_eq!(
        all.iter().filter(|&&q| q == 2).count(),
        1,
        "a rejected batch is never resent: {all:?}"
    );
    assert_eq!(s.last_acked, 3, "{all:?}");
    let last = s.streams.last().unwrap().last().unwrap();
    assert_eq!((last.seq, declared_ids(last)), (3, vec![2]));
    assert_eq!(Stats::get(&shared.stats.rejected_batches), 1);

    // An inventory change goes out on the open stream.
    let connections = fake.state().registrations;
    inv_tx.send_replace(Arc::new(Inventory {
        hostname: "renamed".into(),
        ..Default::default()
    }));
    wait_until("the inventory arrives", || fake.state().inventories == 1).await;
    assert_eq!(
        fake.state().registrations,
        connections,
        "no reconnect needed for an inventory update"
    );
    stop(stop_tx, task).await;
}

#[tokio::test]
async fn batches_collected_while_disconnected_are_sent_on_connect() {
    // Nothing listens at first: the transport keeps retrying while batches queue up.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let (shared, _inv) = shared(&[&[1]]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(format!("http://{addr}"), shared.clone(), stop_rx));
    wait_until("a connection attempt fails", || {
        Stats::get(&shared.stats.connection_failures) >= 1
    })
    .await;
    shared
        .queue()
        .push(Batch {
            seq: 0,
            series_ids: vec![2],
            timestamps_ms: vec![1],
            values: vec![2.0],
            events: vec![],
        })
        .unwrap();
    assert_eq!(shared.queue().len(), 2);

    let fake = Fake::default();
    let listener = TcpListener::bind(addr).await.unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(IngestServer::new(fake.clone()))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    wait_until("the queue is empty", || shared.queue().is_empty()).await;
    assert_eq!(seqs(&fake.state().streams[0]), vec![1, 2]);
    stop(stop_tx, task).await;
}

fn report(id: &str, name: &str) -> DeviceReport {
    DeviceReport {
        device_id: id.into(),
        class: "switch".into(),
        name: name.into(),
        ..Default::default()
    }
}

fn push(shared: &Shared, ids: &[u32]) {
    let n = ids.len();
    shared
        .queue()
        .push(Batch {
            seq: 0,
            series_ids: ids.to_vec(),
            timestamps_ms: vec![1; n],
            values: vec![1.0; n],
            events: vec![],
        })
        .unwrap();
    shared.new_batch.notify_one();
}

/// Checks the invariant on every stream the fake saw: each batch declaring a
/// series of device X comes after X's report on that stream.
fn assert_reports_precede_batches(s: &State) {
    for (i, (seen, batches)) in s.seen.iter().zip(&s.streams).enumerate() {
        for b in batches {
            let at = seen.iter().position(|m| *m == Seen::Batch(b.seq)).unwrap();
            for d in b.series.iter().filter(|d| !d.ci_id.is_empty()) {
                assert!(
                    seen[..at]
                        .iter()
                        .any(|m| matches!(m, Seen::Report(id, _) if *id == d.ci_id)),
                    "stream {i}: batch {} declares a series of {} before its report: {seen:?}",
                    b.seq,
                    d.ci_id
                );
            }
        }
    }
}

#[tokio::test]
async fn device_reports_are_sent_before_the_batches_that_use_them_on_every_stream() {
    let fake = Fake::default();
    fake.state().cut_first_stream_at = Some(2);
    let url = serve(fake.clone()).await;
    let (shared, _inv) = shared(&[]);
    let sw1 = shared
        .registry()
        .ci_series_id("sw1", "snmp_up".into(), Kind::Gauge, vec![]);
    assert_eq!(sw1, 3);
    shared.reports.store(report("sw1", "core"));
    push(&shared, &[1]);
    push(&shared, &[sw1]);
    push(&shared, &[sw1, 1]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(url, shared.clone(), stop_rx));

    wait_until("the queue is empty", || shared.queue().is_empty()).await;
    let s = fake.snapshot();
    assert_eq!(s.streams.len(), 2, "the first stream was cut");
    for seen in &s.seen {
        assert_eq!(
            seen.first(),
            Some(&Seen::Report("sw1".into(), "core".into())),
            "every stream starts with the reports: {seen:?}"
        );
    }
    assert_reports_precede_batches(&s);
    assert_eq!(s.rejected, 0);
    assert_eq!(s.last_acked, 3);

    // A changed report goes out on the open stream before the next batch.
    shared.reports.store(report("sw1", "core-renamed"));
    push(&shared, &[sw1]);
    // A device first seen now: report, then its series.
    let sw2 = shared
        .registry()
        .ci_series_id("sw2", "snmp_up".into(), Kind::Gauge, vec![]);
    shared.reports.store(report("sw2", "access"));
    push(&shared, &[sw2, sw1]);
    wait_until("the queue is empty", || shared.queue().is_empty()).await;
    let s = fake.snapshot();
    let last = s.seen.last().unwrap();
    let pos = |m: Seen| last.iter().position(|x| *x == m);
    let renamed =
        pos(Seen::Report("sw1".into(), "core-renamed".into())).expect("renamed report sent");
    assert!(renamed < pos(Seen::Batch(4)).unwrap(), "{last:?}");
    assert!(
        pos(Seen::Report("sw2".into(), "access".into())).unwrap() < pos(Seen::Batch(5)).unwrap()
    );
    assert_eq!(
        last.iter()
            .filter(|m| matches!(m, Seen::Report(id, _) if id == "sw2"))
            .count(),
        1,
        "an unchanged report is not sent again: {last:?}"
    );
    assert_reports_precede_batches(&s);
    assert_eq!((s.rejected, s.last_acked), (0, 5));
    stop(stop_tx, task).await;
}

#[tokio::test]
async fn a_batch_naming_a_device_without_a_report_is_never_sent() {
    let fake = Fake::default();
    let url = serve(fake.clone()).await;
    let (shared, _inv) = shared(&[]);
    let ghost = shared
        .registry()
        .ci_series_id("ghost", "snmp_up".into(), Kind::Gauge, vec![]);
    push(&shared, &[1]);
    push(&shared, &[ghost, 2]);
    push(&shared, &[2]);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(url, shared.clone(), stop_rx));
    wait_until("the queue is empty", || shared.queue().is_empty()).await;
    let s = fake.snapshot();
    assert_eq!(
        seqs(&s.streams[0]),
        vec![1, 3],
        "batch 2 is dropped, not sent"
    );
    assert_eq!(
        declared_ids(&s.streams[0][1]),
        vec![2],
        "what the dropped batch would have declared is declared by the next one"
    );
    assert_eq!(s.rejected, 0);
    stop(stop_tx, task).await;
}

#[test]
fn backoff_grows_to_the_cap_with_jitter() {
    let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut ceilings = vec![];
    for _ in 0..10 {
        let ceiling = b.ceiling();
        let d = b.next_delay();
        assert!(d <= ceiling, "{d:?} > {ceiling:?}");
        ceilings.push(ceiling.as_millis());
    }
    assert_eq!(
        ceilings,
        vec![
            500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000
        ]
    );
    b.reset();
    assert_eq!(b.ceiling(), Duration::from_millis(500));
    // Full jitter: delays are spread, not all at the ceiling.
    let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
    let delays: Vec<_> = (0..20).map(|_| b.next_delay()).collect();
    assert!(
        delays.iter().any(|d| *d < Duration::from_secs(9)),
        "{delays:?}"
    );
}
