//! The collector's ingest path, "decode batch → index → write", without gRPC.
//!
//! Every iteration decodes a prost-encoded `SampleBatch` of 1,000 samples (one
//! sample for each of 1,000 series: 10 hosts × 100 node-exporter-like series,
//! as a poller covering ten hosts would send) and hands it to
//! [`Ingestor::ingest`] on a real RocksDB store in a temporary directory.
//! Sequence numbers and timestamps increase every iteration, so every sample is
//! stored, none is skipped as a duplicate. Throughput is in samples.
//!
//! Benches (`sync` = `[storage] sync_writes = true`, the default; `nosync` = false):
//! - `ingest/declared/*`: each batch opens a fresh stream session and declares
//!   its 1,000 series (labels validated, index looked up; the series exist
//!   after the first iteration), then writes the samples.
//! - `ingest/steady/*`: the session already knows the series; batches carry ids only.
//! - `ingest/new_series/nosync`: every batch declares 1,000 series never seen
//!   before, so each is created in the index (one RocksDB write per series).
//! - `decode/*`: prost decoding alone, for reference.
//!
//! A checkpoint (head → chunks) runs every [`CHECKPOINT_EVERY`] batches outside
//! the timed section so the in-memory head stays small, as the collector's
//! periodic checkpoint does.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use prost::Message;
use tempfile::TempDir;
use tocsin_benches::workload::{BatchGen, inventory, series_defs};
use tocsin_cmdb::Cmdb;
use tocsin_collector::config::LimitsConfig;
use tocsin_collector::ingest::{Ingestor, StreamSession};
use tocsin_collector::metrics::Metrics;
use tocsin_model::time::now_ms;
use tocsin_proto::v1::{Hello, RegisterRequest, SampleBatch};
use tocsin_storage::{Storage, StorageOptions};

/// Hosts covered by one batch.
const HOSTS: usize = 10;
/// Series per host.
const SERIES_PER_HOST: usize = 100;
/// Samples per batch: one per series.
const BATCH_SAMPLES: usize = HOSTS * SERIES_PER_HOST;
/// Batches between two (untimed) checkpoints.
const CHECKPOINT_EVERY: u64 = 500;
const AGENT: &str = "bench-poller";

/// A real store in a temporary directory, with one registered agent.
struct Rig {
    storage: Arc<Storage>,
    ingestor: Ingestor,
    /// Next batch sequence number.
    seq: u64,
    /// Batches ingested so far; batch `n` is shifted `n` ms into the future.
    batches: u64,
    _dir: TempDir,
}

impl Rig {
    fn new(sync_writes: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-bench-")
            .tempdir()
            .expect("temp dir");
        let storage = Arc::new(
            Storage::open(dir.path(), StorageOptions { sync_writes }).expect("open store"),
        );
        let cmdb = Arc::new(Cmdb::new(storage.db().clone()));
        let limits = LimitsConfig::default().limits();
        let ingestor = Ingestor::new(storage.clone(), cmdb, limits, Arc::new(Metrics::default()));
        let register = RegisterRequest {
            agent_id: AGENT.into(),
            agent_version: "bench".into(),
            inventory: Some(inventory("bench-poller", 0)),
        };
        let last = ingestor
            .register(register)
            .expect("register")
            .last_acked_seq;
        Self {
            storage,
            ingestor,
            seq: last + 1,
            batches: 0,
            _dir: dir,
        }
    }

    fn session(&self) -> StreamSession {
        self.ingestor
            .open_session(&Hello {
                agent_id: AGENT.into(),
            })
            .expect("open session")
    }

    /// Decodes `bytes`, renumbers and shifts the batch so that it is new, and
    /// ingests it. Only this is timed.
    fn ingest(&mut self, session: &mut StreamSession, bytes: &[u8]) -> Duration {
        let (seq, shift) = (self.seq, self.batches as i64);
        let start = Instant::now();
        let mut batch = SampleBatch::decode(bytes).expect("decode");
        batch.seq = seq;
        batch.timestamps_ms.iter_mut().for_each(|t| *t += shift);
        let result = self.ingestor.ingest(session, batch);
        let elapsed = start.elapsed();
        assert_eq!(result.code, 0, "batch rejected: {}", result.message);
        assert_eq!(
            result.samples_stored as usize, BATCH_SAMPLES,
            "samples skipped: {result:?}"
        );
        self.seq += 1;
        self.batches += 1;
        if self.batches.is_multiple_of(CHECKPOINT_EVERY) {
            self.storage.checkpoint().expect("checkpoint");
        }
        elapsed
    }
}

fn hosts(prefix: &str) -> Vec<String> {
    (0..HOSTS).map(|h| format!("{prefix}{h:02}")).collect()
}

/// Encoded declaring batch and encoded ids-only batch over the same series.
fn encoded_batches(host_prefix: &str) -> (Vec<u8>, Vec<u8>) {
    // Start an hour back: plenty of room for millions of 1 ms shifts.
    let mut g = BatchGen::new(
        series_defs(&hosts(host_prefix), SERIES_PER_HOST),
        1,
        now_ms() - 3_600_000,
        1,
    );
    let declared = g.next_batch(BATCH_SAMPLES);
    let steady = g.next_batch(BATCH_SAMPLES);
    assert_eq!(
        (declared.series.len(), steady.series.len()),
        (BATCH_SAMPLES, 0)
    );
    (declared.encode_to_vec(), steady.encode_to_vec())
}

fn mode(sync: bool) -> &'static str {
    if sync { "sync" } else { "nosync" }
}

fn bench_declared(group: &mut BenchmarkGroup<'_, WallTime>, sync: bool) {
    let (bytes, _) = encoded_batches("web");
    let mut rig = Rig::new(sync);
    group.bench_function(format!("declared/{}", mode(sync)), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let mut session = rig.session();
                    rig.ingest(&mut session, &bytes)
                })
                .sum()
        })
    });
}

fn bench_steady(group: &mut BenchmarkGroup<'_, WallTime>, sync: bool) {
    let (declared, steady) = encoded_batches("db");
    let mut rig = Rig::new(sync);
    let mut session = rig.session();
    rig.ingest(&mut session, &declared);
    group.bench_function(format!("steady/{}", mode(sync)), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rig.ingest(&mut session, &steady)).sum())
    });
}

fn bench_new_series(group: &mut BenchmarkGroup<'_, WallTime>) {
    let mut rig = Rig::new(false);
    let mut round = 0u64;
    group.bench_function("new_series/nosync", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    round += 1;
                    let (bytes, _) = encoded_batches(&format!("new{round}-"));
                    let mut session = rig.session();
                    rig.ingest(&mut session, &bytes)
                })
                .sum()
        })
    });
}

fn ingest(c: &mut Criterion) {
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BATCH_SAMPLES as u64));
    for sync in [false, true] {
        bench_declared(&mut group, sync);
        bench_steady(&mut group, sync);
    }
    // Creating series is slow (one write each): few, long iterations.
    group.sampling_mode(SamplingMode::Flat);
    bench_new_series(&mut group);
    group.finish();
}

fn decode(c: &mut Criterion) {
    let (declared, steady) = encoded_batches("app");
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(BATCH_SAMPLES as u64));
    group.bench_function("declared", |b| {
        b.iter(|| SampleBatch::decode(black_box(declared.as_slice())).unwrap())
    });
    group.bench_function("steady", |b| {
        b.iter(|| SampleBatch::decode(black_box(steady.as_slice())).unwrap())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = ingest, decode
}
criterion_main!(benches);
