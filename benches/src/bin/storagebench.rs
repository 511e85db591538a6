//! `tocsin-storagebench`: loads one recording (Prometheus/OpenMetrics text
//! with a timestamp on every sample) into Tocsin, Prometheus and
//! VictoriaMetrics, and prints the bytes each keeps on disk per sample.
//!
//! - Tocsin: the real collector over gRPC with the recording's own
//!   timestamps, stopped cleanly (`tocsin.rs`);
//! - Prometheus: `promtool tsdb create-blocks-from openmetrics` (`prometheus.rs`);
//! - VictoriaMetrics: `/api/v1/import/prometheus`, force flush and merge (`victoria.rs`).
//!
//! Every system gets the same samples: the file's, less a second sample of a
//! series at a timestamp it already has (`recording.rs`). Bytes are apparent
//! file sizes (`disk.rs`); B/sample divides them by the input's sample count.

#[path = "storagebench/disk.rs"]
mod disk;
#[path = "storagebench/prometheus.rs"]
mod prometheus;
#[path = "storagebench/recording.rs"]
mod recording;
#[path = "storagebench/report.rs"]
mod report;
#[path = "storagebench/tocsin.rs"]
mod tocsin;
#[path = "storagebench/victoria.rs"]
mod victoria;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;

use recording::{Recording, TsUnit};
use report::{Failure, Input, Outcome};

/// The shared recording, relative to this crate (`<repo>/../shared/data/…`).
const DEFAULT_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/data/node-1s-20min.om.zst"
);

/// A system the bench can load the recording into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum System {
    /// The real `tocsin-collector`, fed over gRPC.
    Tocsin,
    /// Blocks written by `promtool tsdb create-blocks-from openmetrics`.
    Prometheus,
    /// Single-node `victoria-metrics`, fed by its Prometheus text import.
    VictoriaMetrics,
}

/// Loads one recording into Tocsin, Prometheus and VictoriaMetrics and
/// compares their bytes on disk per sample.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// The recording: Prometheus or OpenMetrics text with a timestamp on
    /// every sample, plain or `.zst` [default: ../shared/data/node-1s-20min.om.zst
    /// next to the repository].
    #[arg(long)]
    file: Option<PathBuf>,
    /// Unit of the file's timestamps: `s` (OpenMetrics, fraction allowed) or
    /// `ms` (Prometheus text).
    #[arg(long, value_enum, default_value = "s")]
    ts_unit: TsUnit,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Systems to load, comma-separated.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "tocsin,prometheus,victoria-metrics"
    )]
    systems: Vec<System>,
    /// The `tocsin-collector` binary [default: next to this one].
    #[arg(long)]
    collector_bin: Option<PathBuf>,
    /// The `promtool` binary.
    #[arg(long, default_value = "promtool")]
    promtool: PathBuf,
    /// The `victoria-metrics` binary.
    #[arg(long, default_value = "victoria-metrics")]
    victoria_metrics: PathBuf,
    /// Samples per batch sent to Tocsin (at most the collector's `max_batch_samples`).
    #[arg(long, default_value_t = 10_000)]
    batch_samples: usize,
    /// Keep the working directory (data dirs, blocks, logs) and print where it is.
    #[arg(long)]
    keep: bool,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        tokio::select! {
            r = run(args) => r,
            _ = tokio::signal::ctrl_c() => bail!("interrupted"),
        }
    })
}

async fn run(args: Args) -> Result<()> {
    let file = args
        .file
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FILE));
    eprintln!("reading {}", file.display());
    let rec = Recording::load(&file, args.ts_unit)
        .with_context(|| format!("loading {}", file.display()))?;
    let Some(range_ms) = rec.time_range() else {
        bail!("{} holds no sample", file.display());
    };
    let input = input(&file, &rec, range_ms);
    eprintln!(
        "{} series, {} samples, {} .. {} ms",
        input.series, input.samples, range_ms.0, range_ms.1
    );

    let work = tempfile::Builder::new()
        .prefix("tocsin-storagebench-")
        .tempdir()?;
    let (mut outcomes, mut failures) = (Vec::new(), Vec::new());
    for system in dedup(&args.systems) {
        let (name, result) = load(system, &rec, work.path(), &args).await;
        match result {
            Ok(o) => {
                eprintln!("{name}: {} bytes", o.bytes);
                outcomes.push(o);
            }
            Err(e) => {
                eprintln!("{name}: failed: {e:#}");
                failures.push(Failure {
                    system: name,
                    error: format!("{e:#}"),
                });
            }
        }
    }
    if args.keep {
        eprintln!("kept {}", work.keep().display());
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report::json(&input, &outcomes, &failures))?
        );
    } else {
        print!("{}", report::table(&input, &outcomes, &failures));
    }
    if !failures.is_empty() {
        bail!("{} system(s) failed", failures.len());
    }
    Ok(())
}

fn dedup(systems: &[System]) -> Vec<System> {
    let mut out = Vec::new();
    for s in systems {
        if !out.contains(s) {
            out.push(*s);
        }
    }
    out
}

async fn load(
    system: System,
    rec: &Recording,
    work: &Path,
    args: &Args,
) -> (&'static str, Result<Outcome>) {
    let (name, dir) = match system {
        System::Tocsin => ("tocsin", work.join("tocsin")),
        System::Prometheus => ("prometheus", work.join("prometheus")),
        System::VictoriaMetrics => ("victoria-metrics", work.join("victoria-metrics")),
    };
    eprintln!("{name}: loading into {}", dir.display());
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return (name, Err(e.into()));
    }
    let result = match system {
        System::Tocsin => match collector_bin(args) {
            Ok(binary) => {
                let opts = tocsin::Options {
                    binary,
                    batch_samples: args.batch_samples,
                };
                tocsin::run(rec, &dir, &opts).await
            }
            Err(e) => Err(e),
        },
        System::Prometheus => prometheus::run(rec, &dir, &args.promtool).await,
        System::VictoriaMetrics => victoria::run(rec, &dir, &args.victoria_metrics).await,
    };
    (name, result)
}

fn collector_bin(args: &Args) -> Result<PathBuf> {
    let path = match &args.collector_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("no parent directory of this binary")?
            .join("tocsin-collector"),
    };
    if !path.exists() {
        bail!(
            "{} not found: cargo build --release -p tocsin-collector --bins, or --collector-bin",
            path.display()
        );
    }
    Ok(path)
}

fn input(file: &Path, rec: &Recording, range_ms: (i64, i64)) -> Input {
    let s = &rec.stats;
    let mut remarks = Vec::new();
    if s.duplicates > 0 {
        remarks.push(format!(
            "input: {} samples dropped, their series already had a sample at that timestamp",
            s.duplicates
        ));
    }
    if s.out_of_order > 0 {
        remarks.push(format!(
            "input: {} samples were older than an earlier line of their series (sent sorted)",
            s.out_of_order
        ));
    }
    if s.non_finite > 0 {
        remarks.push(format!("input: {} NaN/Inf values", s.non_finite));
    }
    Input {
        name: file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into(),
        ),
        series: rec.series.len() as u64,
        samples: rec.samples.len() as u64,
        range_ms,
        remarks,
    }
}
