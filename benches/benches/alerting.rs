//! The cost of streaming rule evaluation on the ingest path, in process.
//!
//! A real store (RocksDB in a temporary directory) with the collector's
//! alerting wired as in `server::open_alerting`: [`Storage`], [`Cmdb`],
//! [`IncidentManager`] (with the maintenance and problem stores) and the
//! [`Alerting`] observer attached to the [`Ingestor`]. The collector
//! evaluates a batch's samples and persists the incidents they change
//! before `Ingestor::ingest` returns (and before the batch is acknowledged),
//! so the time of `ingest` is the sample → incident latency without the
//! network and gRPC. Only `ingest` is timed; batches are built outside the
//! timed section.
//!
//! Rules: the built-in host rules, plus
//! - `bench_load_high`: `node_load{window="1m",host=~"hot.*"} > 1000`, one
//!   incident per host (`object_labels = ["host"]`). Workload gauges are
//!   around 1e6, so every such sample breaches.
//! - `bench_probe_high`: `bench_probe_value > 50`, recovery 10, one incident
//!   per `probe` label.
//!
//! Benches:
//! - `alerting/steady_1000/*`: a 1,000-sample steady-state batch (10 hosts ×
//!   100 node-exporter-like series, ids only), as in the `ingest` bench.
//!   `no_observer`: no alerting attached (the baseline). `no_match`: hosts
//!   `cold*`, no rule selects any series. `breach_10`: hosts `hot*`, 10
//!   samples (one `node_load{window="1m"}` per host) breach `bench_load_high`;
//!   their 10 incidents are open already, so each breach is a value update
//!   (kept in memory, written coalesced by the collector's 1 s tick).
//! - `alerting/one_sample/*` (sync): one-sample batches.
//!   `new_series`: declares a series no rule selects (the reference: one
//!   index write). `new_incident`: declares `bench_probe_value{probe="<n>"}`,
//!   a new `probe` label every iteration, with a breaching value, so every
//!   batch creates a series and opens (and persists) a new incident. From
//!   the fourth on, the incidents of this rule on this CI form a problem
//!   record (`[problems]` default: 3 in 7 days) that every new one joins;
//!   every 100 incidents the batches come from another agent (CI), so a
//!   problem record holds at most 100 incidents.
//!   `new_incident_no_problems`: the same with `[problems] enabled = false`.
//!   `reopen_resolve`: one series alternating breach / clear, as
//!   `tocsin-loadgen --probe` does: every batch reopens or resolves its
//!   incident.
//!
//! `sync` = `[storage] sync_writes = true` (the default); `nosync` = false.
//! Incident changes are always written with sync.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use tempfile::TempDir;
use tocsin_benches::workload::{BatchGen, inventory, series_defs};
use tocsin_cmdb::Cmdb;
use tocsin_collector::alerting::{AlertingParts, AlertingSetup};
use tocsin_collector::config::LimitsConfig;
use tocsin_collector::ingest::{Ingestor, StreamSession};
use tocsin_collector::metrics::Metrics;
use tocsin_incidents::problems::ProblemConfig;
use tocsin_incidents::{IncidentConfig, IncidentFilter, IncidentManager, Status};
use tocsin_model::time::now_ms;
use tocsin_proto::v1::{Hello, Label, MetricKind, RegisterRequest, SampleBatch, SeriesDef};
use tocsin_storage::{Storage, StorageOptions};

/// Hosts covered by one steady batch.
const HOSTS: usize = 10;
/// Series per host.
const SERIES_PER_HOST: usize = 100;
/// Samples per steady batch: one per series.
const BATCH_SAMPLES: usize = HOSTS * SERIES_PER_HOST;
/// Batches between two (untimed) checkpoints.
const CHECKPOINT_EVERY: u64 = 500;
const AGENT: &str = "bench-poller";
/// `one_sample/new_*`: new incidents opened on one CI before the next CI
/// takes over. Opening an incident that joins a problem record costs time
/// proportional to the incidents already in it; this bounds them.
const INCIDENTS_PER_CI: u32 = 100;

const RULES: &str = r#"
[[rule]]
name = "bench_load_high"
selector = 'node_load{window="1m",host=~"hot.*"}'
thresholds = { major = 1000 }
object_labels = ["host"]

[[rule]]
name = "bench_probe_high"
selector = "bench_probe_value"
thresholds = { major = 50 }
recovery = 10
object_labels = ["probe"]
"#;

/// A store with alerting (or not), one registered agent and its stream session.
struct Rig {
    storage: Arc<Storage>,
    ingestor: Ingestor,
    incidents: Option<Arc<IncidentManager>>,
    session: StreamSession,
    /// Next batch sequence number.
    seq: u64,
    /// Batches ingested so far.
    batches: u64,
    _dir: TempDir,
}

impl Rig {
    fn new(sync_writes: bool, alerting: bool) -> Self {
        Self::with_problems(sync_writes, alerting, true)
    }

    /// [`Rig::new`], with problem records on or off.
    fn with_problems(sync_writes: bool, alerting: bool, problems: bool) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-bench-alerting-")
            .tempdir()
            .expect("temp dir");
        let storage = Arc::new(
            Storage::open(dir.path(), StorageOptions { sync_writes }).expect("open store"),
        );
        let cmdb = Arc::new(Cmdb::new(storage.db().clone()));
        let metrics = Arc::new(Metrics::default());
        let limits = LimitsConfig::default().limits();
        let mut ingestor = Ingestor::new(storage.clone(), cmdb.clone(), limits, metrics.clone());
        let mut incidents = None;
        if alerting {
            let problem_config = ProblemConfig {
                enabled: problems,
                ..ProblemConfig::default()
            };
            let rules = tocsin_rules::parse(RULES).expect("bench rules");
            let setup = AlertingSetup {
                rules,
                rules_file: None,
                incidents: IncidentConfig::default(),
                problems: problem_config,
                outbox: None,
            };
            let parts = AlertingParts::open(storage.db(), &cmdb, metrics, setup).expect("alerting");
            incidents = Some(parts.alerting.incidents().clone());
            ingestor = ingestor.with_observer(parts.alerting);
        }
        let (session, seq) = connect(&ingestor, AGENT);
        Self {
            storage,
            ingestor,
            incidents,
            session,
            seq,
            batches: 0,
            _dir: dir,
        }
    }

    /// Continues as agent (and host CI) `agent`, on a new stream.
    fn switch_agent(&mut self, agent: &str) {
        (self.session, self.seq) = connect(&self.ingestor, agent);
    }

    /// Numbers and ingests `batch`; only the ingest is timed.
    fn ingest(&mut self, mut batch: SampleBatch) -> Duration {
        batch.seq = self.seq;
        let samples = batch.series_ids.len();
        let start = Instant::now();
        let result = self.ingestor.ingest(&mut self.session, batch);
        let elapsed = start.elapsed();
        assert_eq!(result.code, 0, "batch rejected: {}", result.message);
        assert_eq!(
            result.samples_stored as usize, samples,
            "samples skipped: {result:?}"
        );
        self.seq += 1;
        self.batches += 1;
        if self.batches.is_multiple_of(CHECKPOINT_EVERY) {
            self.storage.checkpoint().expect("checkpoint");
        }
        elapsed
    }

    /// Incidents of `rule` with status `status`.
    fn incidents(&self, rule: &str, status: Status) -> usize {
        let filter = IncidentFilter {
            status: vec![status],
            ..Default::default()
        };
        self.incidents
            .as_ref()
            .map(|m| m.list(&filter).expect("list"))
            .unwrap_or_default()
            .iter()
            .filter(|i| i.rule == rule)
            .count()
    }
}

/// Registers `agent` and opens its stream; returns the session and the next
/// sequence number.
fn connect(ingestor: &Ingestor, agent: &str) -> (StreamSession, u64) {
    let last = ingestor
        .register(RegisterRequest {
            agent_id: agent.into(),
            agent_version: "bench".into(),
            inventory: Some(inventory(agent, 0)),
        })
        .expect("register")
        .last_acked_seq;
    let session = ingestor
        .open_session(&Hello {
            agent_id: agent.into(),
        })
        .expect("open session");
    (session, last + 1)
}

/// Endless steady 1,000-sample batches over hosts `<prefix>00..09`; the
/// first batch declares the series.
struct Steady {
    declared: SampleBatch,
    steady: SampleBatch,
    shift: i64,
}

impl Steady {
    fn new(host_prefix: &str) -> Self {
        let hosts: Vec<String> = (0..HOSTS).map(|h| format!("{host_prefix}{h:02}")).collect();
        // Start an hour back: plenty of room for millions of 1 ms shifts.
        let mut g = BatchGen::new(
            series_defs(&hosts, SERIES_PER_HOST),
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
        Self {
            declared,
            steady,
            shift: 0,
        }
    }

    /// The next ids-only batch, 1 ms later than the one before.
    fn next(&mut self) -> SampleBatch {
        self.shift += 1;
        let mut b = self.steady.clone();
        b.timestamps_ms.iter_mut().for_each(|t| *t += self.shift);
        b
    }
}

fn mode(sync: bool) -> &'static str {
    if sync { "sync" } else { "nosync" }
}

fn bench_steady(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, sync: bool) {
    let (alerting, hosts) = match name {
        "no_observer" => (false, "plain"),
        "no_match" => (true, "cold"),
        _ => (true, "hot"),
    };
    let mut rig = Rig::new(sync, alerting);
    let mut batches = Steady::new(hosts);
    rig.ingest(batches.declared.clone());
    let expected_open = if name == "breach_10" { HOSTS } else { 0 };
    assert_eq!(
        rig.incidents("bench_load_high", Status::Open),
        expected_open
    );
    group.bench_function(format!("steady_1000/{name}/{}", mode(sync)), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rig.ingest(batches.next())).sum())
    });
    assert_eq!(
        rig.incidents("bench_load_high", Status::Open),
        expected_open
    );
}

/// A one-sample batch; declares `series` (as stream-local id `id`) if given.
fn one_sample(id: u32, series: Option<SeriesDef>, ts: i64, value: f64) -> SampleBatch {
    SampleBatch {
        seq: 0,
        series: series.into_iter().collect(),
        series_ids: vec![id],
        timestamps_ms: vec![ts],
        values: vec![value],
        events: Vec::new(),
    }
}

fn probe_def(id: u32, metric: &str, probe: &str) -> SeriesDef {
    SeriesDef {
        id,
        metric: metric.into(),
        labels: vec![Label {
            name: "probe".into(),
            value: probe.into(),
        }],
        kind: MetricKind::Gauge as i32,
        ci_id: String::new(),
    }
}

/// Every iteration declares a new series `metric{probe="n<k>"}` and sends
/// one breaching sample of it. Every [`INCIDENTS_PER_CI`] iterations the
/// batches come from another agent (CI), outside the timed section.
fn bench_new(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    metric: &'static str,
    problems: bool,
) {
    let mut rig = Rig::with_problems(true, true, problems);
    let mut k = 0u32;
    let ts = now_ms() - 1000;
    group.bench_function(format!("one_sample/{name}/sync"), |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    k += 1;
                    if k.is_multiple_of(INCIDENTS_PER_CI) {
                        rig.switch_agent(&format!("{AGENT}-{k}"));
                    }
                    let def = probe_def(k, metric, &format!("n{k}"));
                    rig.ingest(one_sample(k, Some(def), ts, 100.0))
                })
                .sum()
        })
    });
    let opened = rig.incidents("bench_probe_high", Status::Open);
    let expected = if metric == "bench_probe_value" {
        k as usize
    } else {
        0
    };
    assert_eq!(opened, expected, "one incident per new series");
}

/// One series alternating breach / clear: every batch reopens or resolves.
fn bench_reopen_resolve(group: &mut BenchmarkGroup<'_, WallTime>) {
    let mut rig = Rig::new(true, true);
    let mut ts = now_ms() - 3_600_000;
    rig.ingest(one_sample(
        0,
        Some(probe_def(0, "bench_probe_value", "flip")),
        ts,
        100.0,
    ));
    let mut breach = false;
    group.bench_function("one_sample/reopen_resolve/sync", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    ts += 1;
                    let value = if breach { 100.0 } else { 0.0 };
                    breach = !breach;
                    rig.ingest(one_sample(0, None, ts, value))
                })
                .sum()
        })
    });
    let total = rig.incidents("bench_probe_high", Status::Open)
        + rig.incidents("bench_probe_high", Status::Resolved);
    assert_eq!(total, 1, "one incident, reopened and resolved");
}

fn alerting(c: &mut Criterion) {
    let mut group = c.benchmark_group("alerting");
    group.throughput(Throughput::Elements(BATCH_SAMPLES as u64));
    for sync in [false, true] {
        for name in ["no_observer", "no_match", "breach_10"] {
            bench_steady(&mut group, name, sync);
        }
    }
    group.throughput(Throughput::Elements(1));
    // fsync-bound: few, long iterations.
    group.sampling_mode(SamplingMode::Flat);
    bench_new(&mut group, "new_series", "bench_other_value", true);
    bench_new(&mut group, "new_incident", "bench_probe_value", true);
    bench_new(
        &mut group,
        "new_incident_no_problems",
        "bench_probe_value",
        false,
    );
    bench_reopen_resolve(&mut group);
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
    targets = alerting
}
criterion_main!(benches);
