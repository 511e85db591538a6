//! `tocsin-loadgen`: simulates many agents over real gRPC streams against a
//! running collector and reports sustained ingest throughput, acknowledgement
//! latency and the collector's memory.
//!
//! Every simulated agent registers (`loadgen-<i>`, with a small inventory),
//! opens its stream, declares its series in its first batches, then sends
//! batches as fast as acknowledgements allow within `--window` unacknowledged
//! batches. Each batch continues a round-robin walk over the agent's series,
//! one tick (1 ms) per pass, so no sample is a duplicate.
//!
//! With `--rate` the agents share a fixed total rate, each sending a batch
//! every `agents × batch-samples / rate` seconds (tokio intervals) instead of
//! as fast as acknowledgements allow. With `--probe` one more agent,
//! `loadgen-probe`, measures breach → incident persisted (see `probe.rs`).
//!
//! Phases: declaring (every agent's declaring batches acknowledged) →
//! `--warmup` → `--duration` measured → drain. Only the measured period
//! counts towards the rate and the latency histogram.

#[path = "loadgen/agent.rs"]
mod agent;
#[path = "loadgen/probe.rs"]
mod probe;
#[path = "loadgen/spawn.rs"]
mod spawn;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use tocsin_benches::procstat;
use tonic::transport::Endpoint;

use agent::{AgentConfig, Shared};
use spawn::SpawnedCollector;

/// Simulates N agents streaming batches to a Tocsin collector and measures it.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// gRPC URL of the collector (ignored with --spawn-collector).
    #[arg(long, default_value = "http://127.0.0.1:7070")]
    collector: String,
    /// Number of simulated agents, each with its own connection and stream.
    #[arg(long, default_value_t = 50)]
    agents: usize,
    /// Distinct series per agent.
    #[arg(long, default_value_t = 1000)]
    series_per_agent: usize,
    /// Samples per batch.
    #[arg(long, default_value_t = 1000)]
    batch_samples: usize,
    /// Length of the measured period.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Load before the measured period starts (after every series is declared).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Unacknowledged batches allowed per stream.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Pid of the collector, to report its CPU use and memory (VmRSS / VmHWM).
    #[arg(long)]
    collector_pid: Option<u32>,
    /// Start this collector binary on free ports with a temporary data dir, and kill it at the end.
    #[arg(long)]
    spawn_collector: Option<PathBuf>,
    /// Config file for the spawned collector (e.g. `[storage] sync_writes = false`).
    #[arg(long, requires = "spawn_collector")]
    collector_config: Option<PathBuf>,
    /// Data dir for the spawned collector instead of a temporary one (kept afterwards).
    #[arg(long, requires = "spawn_collector")]
    collector_data_dir: Option<PathBuf>,
    /// Total samples/s over all agents (not counting the probe), each agent
    /// sending its batches at a fixed interval; default: as fast as acks allow.
    #[arg(long)]
    rate: Option<f64>,
    /// Run the probe agent: a breach/clear sample every --probe-interval,
    /// against a rule the load generator writes and the spawned collector
    /// loads; reports send → ack (= incident persisted) latencies.
    #[arg(long)]
    probe: bool,
    /// Time between two probe batches.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    probe_interval: Duration,
    /// URL of the collector's HTTP API, to check the probe's incident and read
    /// /metrics (known with --spawn-collector).
    #[arg(long)]
    collector_http: Option<String>,
    /// How often progress is printed.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    progress: Duration,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.agents == 0 || args.series_per_agent == 0 || args.batch_samples == 0 || args.window == 0
    {
        bail!("--agents, --series-per-agent, --batch-samples and --window must be at least 1");
    }
    if args.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        bail!("--rate must be a positive number of samples/s");
    }
    if args.probe_interval.is_zero() {
        bail!("--probe-interval must be longer than 0");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::select! {
            r = run(args) => r,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

/// Figures taken at the start and end of the measured period.
struct Snapshot {
    at: Instant,
    acked: u64,
    collector_cpu: Option<Duration>,
    own_cpu: Option<Duration>,
}

impl Snapshot {
    fn take(shared: &Shared, collector: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            acked: shared.acked_samples.load(Ordering::SeqCst),
            collector_cpu: collector.and_then(procstat::cpu_time),
            own_cpu: procstat::cpu_time(std::process::id()),
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    // With the probe, the spawned collector loads the probe's rule.
    let probe_dir = match (&args.spawn_collector, args.probe) {
        (Some(_), true) => Some(
            tempfile::Builder::new()
                .prefix("tocsin-loadgen-probe-")
                .tempdir()
                .context("temp dir")?,
        ),
        _ => None,
    };
    let collector_config = match &probe_dir {
        Some(dir) => Some(probe::write_config(
            dir.path(),
            args.collector_config.as_deref(),
        )?),
        None => args.collector_config.clone(),
    };
    if args.probe && args.spawn_collector.is_none() {
        eprintln!(
            "probe: the collector must have loaded these rules (its rules_file):\n{}",
            probe::RULES
        );
    }
    let spawned = match &args.spawn_collector {
        Some(bin) => Some(
            SpawnedCollector::start(
                bin,
                collector_config.as_deref(),
                args.collector_data_dir.as_deref(),
            )
            .await?,
        ),
        None => None,
    };
    let http_url = spawned
        .as_ref()
        .map(|s| s.http_url.clone())
        .or_else(|| args.collector_http.clone());
    let url = spawned
        .as_ref()
        .map_or_else(|| args.collector.clone(), |s| s.url.clone());
    let collector_pid = spawned.as_ref().map(|s| s.pid).or(args.collector_pid);
    let endpoint = Endpoint::from_shared(url.clone())
        .with_context(|| format!("invalid --collector {url}"))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);

    let shared = Arc::new(Shared::default());
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let cfg = AgentConfig {
        series: args.series_per_agent,
        batch_samples: args.batch_samples,
        window: args.window,
        start_ms: now_ms - i64::try_from((args.duration + args.warmup).as_millis())?,
        pace: args
            .rate
            .map(|r| Duration::from_secs_f64((args.agents * args.batch_samples) as f64 / r)),
    };
    eprintln!(
        "loadgen: {} agents x {} series, {} samples/batch, window {}, rate {}{} -> {url}",
        args.agents,
        args.series_per_agent,
        args.batch_samples,
        args.window,
        args.rate.map_or_else(
            || "unlimited".to_string(),
            |r| format!(
                "{} samples/s (a batch every {:?} per agent)",
                thousands(r as u64),
                cfg.pace.unwrap_or_default()
            )
        ),
        if args.probe {
            format!(", probe every {:?}", args.probe_interval)
        } else {
            String::new()
        },
    );
    let started = Instant::now();
    let agents: Vec<_> = (0..args.agents)
        .map(|i| tokio::spawn(agent::run(i, endpoint.clone(), cfg.clone(), shared.clone())))
        .collect();
    let prober = args.probe.then(|| {
        tokio::spawn(probe::run(
            endpoint.clone(),
            args.probe_interval,
            shared.clone(),
        ))
    });

    // Declaring: wait until every agent's series exist.
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut last_print = Instant::now();
    loop {
        tick.tick().await;
        let (declared, failed) = (
            shared.declared_agents.load(Ordering::SeqCst),
            shared.failed_agents.load(Ordering::SeqCst),
        );
        if declared + failed >= args.agents {
            break;
        }
        if last_print.elapsed() >= args.progress {
            last_print = Instant::now();
            eprintln!(
                "  declaring: {declared}/{} agents done after {:.1}s, {} samples acked",
                args.agents,
                started.elapsed().as_secs_f64(),
                thousands(shared.acked_samples.load(Ordering::Relaxed))
            );
        }
    }
    let declare_time = started.elapsed();
    if shared.failed_agents.load(Ordering::SeqCst) == args.agents {
        shared.stop.store(true, Ordering::SeqCst);
        if let Some(p) = prober {
            p.abort();
        }
        report_agent_errors(agents).await;
        bail!("every agent failed");
    }
    eprintln!(
        "  declared {} series in {:.1}s; warming up for {:?}",
        thousands((args.agents * args.series_per_agent) as u64),
        declare_time.as_secs_f64(),
        args.warmup
    );
    tokio::time::sleep(args.warmup).await;

    // Measured period.
    shared.measuring.store(true, Ordering::SeqCst);
    let begin = Snapshot::take(&shared, collector_pid);
    let mut previous = (begin.at, begin.acked);
    let end_at = begin.at + args.duration;
    while Instant::now() < end_at {
        tokio::time::sleep(
            args.progress
                .min(end_at.saturating_duration_since(Instant::now())),
        )
        .await;
        let (now, acked) = (Instant::now(), shared.acked_samples.load(Ordering::SeqCst));
        let rate =
            (acked - previous.1) as f64 / now.duration_since(previous.0).as_secs_f64().max(1e-9);
        eprintln!(
            "  t={:>5.1}s rate={} samples/s",
            now.duration_since(begin.at).as_secs_f64(),
            thousands(rate as u64)
        );
        previous = (now, acked);
    }
    let end = Snapshot::take(&shared, collector_pid);
    shared.measuring.store(false, Ordering::SeqCst);
    let memory = collector_pid.and_then(procstat::memory);
    shared.stop.store(true, Ordering::SeqCst);

    let mut hist = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let mut errors = 0;
    for (i, handle) in agents.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(h)) => hist.add(h)?,
            Ok(Err(e)) => {
                errors += 1;
                eprintln!("agent {i} failed: {e:#}");
            }
            Err(e) => {
                errors += 1;
                eprintln!("agent {i} panicked: {e}");
            }
        }
    }

    let secs = end.at.duration_since(begin.at).as_secs_f64();
    let measured = end.acked - begin.acked;
    let cores = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}", (b.saturating_sub(a)).as_secs_f64() / secs),
        _ => "n/a".into(),
    };
    let ms = |us: u64| format!("{:.1}ms", us as f64 / 1000.0);
    let (acked_total, stored_total) = (
        shared.acked_samples.load(Ordering::SeqCst),
        shared.stored_samples.load(Ordering::SeqCst),
    );
    let rejected = shared.rejected_batches.load(Ordering::SeqCst);
    println!(
        "agents={} series={} declare={:.1}s samples={} duration={secs:.1}s rate={} samples/s \
         ack_p50={} ack_p99={} ack_max={} rejected={rejected} failed_agents={errors} \
         collector_rss={} peak={} collector_cpu={} cores loadgen_cpu={} cores",
        args.agents,
        thousands((args.agents * args.series_per_agent) as u64),
        declare_time.as_secs_f64(),
        thousands(measured),
        thousands((measured as f64 / secs) as u64),
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.max()),
        memory.map_or_else(|| "n/a".into(), |m| mib(m.rss)),
        memory.map_or_else(|| "n/a".into(), |m| mib(m.peak)),
        cores(begin.collector_cpu, end.collector_cpu),
        cores(begin.own_cpu, end.own_cpu),
    );
    println!(
        "whole run: {} samples acked ({} stored, {} skipped as duplicates) in {} batches, {:.1} MB sent, {:.1}s",
        thousands(acked_total),
        thousands(stored_total),
        thousands(acked_total - stored_total),
        thousands(shared.acked_batches.load(Ordering::SeqCst)),
        shared.sent_bytes.load(Ordering::SeqCst) as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    if let Some(p) = prober {
        match p.await {
            Ok(Ok(report)) => {
                if let Err(e) = probe::verify(&report, http_url.as_deref()).await {
                    errors += 1;
                    eprintln!("probe check failed: {e:#}");
                }
            }
            Ok(Err(e)) => {
                errors += 1;
                eprintln!("probe failed: {e:#}");
            }
            Err(e) => {
                errors += 1;
                eprintln!("probe panicked: {e}");
            }
        }
    }
    for (code, (count, message)) in shared
        .rejections
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        println!("rejected: code={code} batches={count} first message: {message}");
    }
    drop(spawned);
    drop(probe_dir);
    if errors > 0 {
        bail!("{errors} agents (or the probe) failed");
    }
    Ok(())
}

async fn report_agent_errors(agents: Vec<tokio::task::JoinHandle<anyhow::Result<Histogram<u64>>>>) {
    for handle in agents {
        if let Ok(Err(e)) = handle.await {
            eprintln!("{e:#}");
        }
    }
}

/// `1234567` → `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{}MB", bytes / (1 << 20))
}
