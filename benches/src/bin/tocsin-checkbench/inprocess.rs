//! The default mode: checks built and run in this process, with memory
//! per check, latency per kind and CPU per probe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use hdrhistogram::Histogram;
use tocsin_agent::checks::{CheckConfig, CheckTask, HttpCheckConfig, Outcome};
use tocsin_agent::ping::Pinger;
use tocsin_benches::procstat;
use tokio::sync::Semaphore;

use super::*;
use crate::servers::Servers;

/// CPU time of this process's live threads, in nanoseconds, from
/// `/proc/self/task/*/schedstat` (finer than the 10 ms ticks of
/// `/proc/<pid>/stat`; a thread that exits takes its time with it, and this
/// bench's threads do not exit while measuring). A running thread's figure
/// is only brought up to date when it is descheduled, so this sleeps 50 µs
/// first.
pub(crate) fn cpu_now() -> Duration {
    std::thread::sleep(Duration::from_micros(50));
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return procstat::cpu_time(std::process::id()).unwrap_or_default();
    };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

pub(crate) fn rss() -> u64 {
    procstat::memory(std::process::id()).unwrap_or_default().rss
}

pub(crate) fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else {
        format!("{ms:.0}ms")
    }
}

pub(crate) fn us(h: &Histogram<u64>, q: f64) -> String {
    ms(Duration::from_micros(h.value_at_quantile(q)))
}

pub(crate) fn mb(bytes: u64) -> String {
    format!("{:.1}MB", bytes as f64 / 1e6)
}

pub(crate) fn kb(bytes: f64) -> String {
    format!("{:.1}KB", bytes / 1e3)
}

/// Bytes per item between two RSS readings (0 if RSS went down).
pub(crate) fn per(before: u64, after: u64, n: usize) -> f64 {
    after.saturating_sub(before) as f64 / n.max(1) as f64
}

/// One probe's result, without its measurements.
pub(crate) struct Probe {
    pub(crate) label: &'static str,
    pub(crate) name: String,
    pub(crate) duration: Duration,
    pub(crate) failure: Option<String>,
}

/// A built check: its kind's label, its name, the task.
type Task = (&'static str, String, Arc<CheckTask>);

/// Runs every task once, concurrently (at most `concurrency` at a time, 0 = all).
pub(crate) async fn cycle(tasks: &[Task], concurrency: usize) -> Vec<Probe> {
    let limit = Arc::new(Semaphore::new(if concurrency == 0 {
        tasks.len().max(1)
    } else {
        concurrency
    }));
    let mut set = tokio::task::JoinSet::new();
    for (label, name, task) in tasks {
        let (label, name) = (*label, name.clone());
        let (task, limit) = (Arc::clone(task), Arc::clone(&limit));
        set.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            let started = tokio::time::Instant::now();
            let outcome: Option<Outcome> = task.probe().await;
            let (duration, failure) = match outcome {
                Some(o) => (o.duration, o.failure),
                None => (
                    started.elapsed(),
                    Some("ICMP unavailable (no ICMP socket)".to_owned()),
                ),
            };
            Probe {
                label,
                name,
                duration,
                failure,
            }
        });
    }
    let mut out = Vec::with_capacity(tasks.len());
    while let Some(joined) = set.join_next().await {
        out.push(joined.expect("probe task panicked"));
    }
    out
}

/// Per-kind figures.
pub(crate) struct KindStats {
    pub(crate) label: &'static str,
    pub(crate) checks: usize,
    pub(crate) mem_per_check: f64,
    pub(crate) hist: Histogram<u64>,
    pub(crate) failed: usize,
    pub(crate) alone_wall: Vec<Duration>,
    pub(crate) alone_cpu: Duration,
    pub(crate) alone_probes: usize,
}

pub(crate) async fn bench(args: &Args) -> Result<bool> {
    let servers = Servers::spawn(args.server_threads, args.backlog)?;
    let host = if args.hostname {
        "localhost"
    } else {
        "127.0.0.1"
    };
    let counts = [args.http, args.https, args.tcp, args.icmp];
    let configs = servers.checks(counts, host, args.timeout);
    ensure!(!configs.is_empty(), "no checks");
    println!(
        "checks: http={} https={} tcp={} icmp={} host={host} cycles={} concurrency={} timeout={} \
         runtime=current_thread server_pid={} server_threads={} backlog={}",
        args.http,
        args.https,
        args.tcp,
        args.icmp,
        args.cycles,
        if args.concurrency == 0 {
            "all".to_owned()
        } else {
            args.concurrency.to_string()
        },
        humantime::format_duration(args.timeout),
        servers.pid(),
        args.server_threads,
        args.backlog,
    );

    // Build the tasks kind by kind, measuring what each adds. A first HTTP
    // check, kept but never run, loads the system's CA certificates (once
    // per process) and initialises reqwest/rustls statics.
    let pinger = Arc::new(Pinger::new());
    let rss_start = rss();
    let cpu_start = cpu_now();
    let build_start = Instant::now();
    let warm = {
        let c = CheckConfig::new(
            "warm-up",
            HttpCheckConfig::new(format!("http://{host}:{}/", servers.http)),
        );
        CheckTask::new(c, pinger.clone()).map_err(anyhow::Error::msg)?
    };
    let rss_warm = rss();
    let mut tasks: Vec<Task> = Vec::with_capacity(configs.len());
    let mut stats: Vec<KindStats> = Vec::new();
    for kind in KINDS {
        for https in [false, true] {
            let group: Vec<&CheckConfig> = configs
                .iter()
                .filter(|(h, c)| c.kind() == kind && *h == https)
                .map(|(_, c)| c)
                .collect();
            if group.is_empty() {
                continue;
            }
            let label = label(kind, https);
            let before = rss();
            for c in &group {
                let task = CheckTask::new((*c).clone(), pinger.clone())
                    .map_err(|e| anyhow::anyhow!("check {}: {e}", c.name))?;
                tasks.push((label, c.name.clone(), Arc::new(task)));
            }
            stats.push(KindStats {
                label,
                checks: group.len(),
                mem_per_check: per(before, rss(), group.len()),
                hist: Histogram::new_with_bounds(1, 120_000_000, 3)?,
                failed: 0,
                alone_wall: Vec::new(),
                alone_cpu: Duration::ZERO,
                alone_probes: 0,
            });
        }
    }
    let build_wall = build_start.elapsed();
    let build_cpu = cpu_now() - cpu_start;
    let rss_built = rss();
    println!(
        "build: {} tasks in {:.2}s (CPU {:.2}s); RSS {} at start, {} after the first HTTP check \
         (+{}), {} with all tasks (+{} for {} tasks, {} per task)",
        tasks.len(),
        build_wall.as_secs_f64(),
        build_cpu.as_secs_f64(),
        mb(rss_start),
        mb(rss_warm),
        kb(per(rss_start, rss_warm, 1)),
        mb(rss_built),
        mb(rss_built.saturating_sub(rss_warm)),
        tasks.len(),
        kb(per(rss_warm, rss_built, tasks.len())),
    );

    let mut failures: Vec<(String, String)> = Vec::new();
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    for c in 1..=args.cycles {
        let cpu0 = cpu_now();
        let srv0 = procstat::cpu_time(servers.pid());
        let t0 = Instant::now();
        let probes = cycle(&tasks, args.concurrency).await;
        let wall = t0.elapsed();
        let cpu = cpu_now() - cpu0;
        let srv = srv0
            .zip(procstat::cpu_time(servers.pid()))
            .map(|(a, b)| b - a);
        let failed = probes.iter().filter(|p| p.failure.is_some()).count();
        for p in &probes {
            let s = stats
                .iter_mut()
                .find(|s| s.label == p.label)
                .context("kind")?;
            s.hist
                .saturating_record(u64::try_from(p.duration.as_micros()).unwrap_or(u64::MAX));
            if let Some(why) = &p.failure {
                s.failed += 1;
                failures.push((format!("cycle {c} {} {}", p.label, p.name), why.clone()));
            }
        }
        let mut d: Vec<Duration> = probes.iter().map(|p| p.duration).collect();
        d.sort();
        println!(
            "cycle {c}: wall={} probes={} failed={failed} p50={} max={} cpu={:.3}s ({:.0}µs/probe) \
             server_cpu={} VmRSS={}",
            ms(wall),
            probes.len(),
            ms(d[d.len() / 2]),
            ms(d[d.len() - 1]),
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / probes.len() as f64,
            srv.map_or("-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
            mb(rss()),
        );
        walls.push(wall);
        cpus.push(cpu);
        tokio::time::sleep(args.pause).await;
    }

    // Each kind alone, for its CPU per probe.
    for s in &mut stats {
        let group: Vec<Task> = tasks
            .iter()
            .filter(|(l, _, _)| *l == s.label)
            .cloned()
            .collect();
        for c in 1..=args.cycles {
            let cpu0 = cpu_now();
            let t0 = Instant::now();
            let probes = cycle(&group, args.concurrency).await;
            s.alone_wall.push(t0.elapsed());
            s.alone_cpu += cpu_now() - cpu0;
            s.alone_probes += probes.len();
            for p in probes {
                if let Some(why) = p.failure {
                    s.failed += 1;
                    failures.push((format!("alone cycle {c} {} {}", p.label, p.name), why));
                }
            }
            tokio::time::sleep(args.pause.min(Duration::from_millis(300))).await;
        }
    }

    let mem = procstat::memory(std::process::id()).unwrap_or_default();
    println!();
    println!(
        "{:<6} {:>6} {:>11} {:>7} {:>6} {:>8} {:>8} {:>8} {:>11} {:>10}",
        "kind",
        "checks",
        "mem/check",
        "probes",
        "failed",
        "p50",
        "p99",
        "max",
        "alone wall",
        "CPU/probe"
    );
    for s in &stats {
        let best = s.alone_wall.iter().min().copied().unwrap_or_default();
        println!(
            "{:<6} {:>6} {:>11} {:>7} {:>6} {:>8} {:>8} {:>8} {:>11} {:>10}",
            s.label,
            s.checks,
            kb(s.mem_per_check),
            s.hist.len(),
            s.failed,
            us(&s.hist, 0.5),
            us(&s.hist, 0.99),
            ms(Duration::from_micros(s.hist.max())),
            ms(best),
            format!(
                "{:.0}µs",
                s.alone_cpu.as_secs_f64() * 1e6 / s.alone_probes.max(1) as f64
            ),
        );
    }
    let best = walls.iter().min().copied().unwrap_or_default();
    let worst = walls.iter().max().copied().unwrap_or_default();
    let cpu_avg = cpus.iter().sum::<Duration>() / u32::try_from(cpus.len().max(1))?;
    println!(
        "summary: {} checks, cycle best={} worst={} CPU/cycle={:.3}s; RSS start={} built={} \
         end={} VmHWM={}; failures={}",
        tasks.len(),
        ms(best),
        ms(worst),
        cpu_avg.as_secs_f64(),
        mb(rss_start),
        mb(rss_built),
        mb(mem.rss),
        mb(mem.peak),
        failures.len(),
    );
    for (what, why) in failures.iter().take(20) {
        println!("  FAILED {what}: {why}");
    }
    if failures.len() > 20 {
        println!("  … and {} more", failures.len() - 20);
    }
    drop(warm);
    Ok(failures.is_empty())
}
