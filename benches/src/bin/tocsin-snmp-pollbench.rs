//! `tocsin-snmp-pollbench`: polls many simulated SNMP devices the way the
//! agent does and reports how long one full polling cycle takes.
//!
//! It starts `tocsin-snmpsim` (next to its own binary, or `--simulator`), or
//! uses one already running (`--no-spawn`), builds one v2c
//! [`SnmpTarget`](tocsin_agent::snmp::SnmpTarget) per device and runs
//! `--cycles` full cycles. A cycle spawns one task per device, all at once,
//! each running [`tocsin_agent::snmp::poll`], on a current-thread tokio
//! runtime as in `tocsin-agent`. Every result is kept until the cycle ends (as
//! a batch waiting to be sent would be) and then checked: reachable, no
//! errors, `--interfaces` interfaces, and every interface's samples.
//!
//! Per cycle it prints the wall time, devices/s, samples, failed devices,
//! p50/p99/max per-device poll time and the CPU used by this process and by
//! the simulator; at the end this process's VmRSS and VmHWM.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use tocsin_agent::snmp::{DeviceClass, DevicePoll, SnmpTarget, Transports, poll, poll_with};
use tocsin_benches::procstat;
use tokio::sync::Semaphore;

/// Polls N simulated SNMP devices concurrently, cycle after cycle.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Number of devices polled per cycle.
    #[arg(long, default_value_t = 200)]
    devices: u32,
    /// Interfaces per simulated device.
    #[arg(long, default_value_t = 48)]
    interfaces: u32,
    /// Full polling cycles to run.
    #[arg(long, default_value_t = 3)]
    cycles: u32,
    /// UDP port of device 0; device i is on base-port + i.
    #[arg(long, default_value_t = 20161)]
    base_port: u16,
    /// Address of the simulated devices (loopback only).
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
    /// v2c community.
    #[arg(long, default_value = "public")]
    community: String,
    /// Per-poll deadline (the target's `interval`).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Per-request timeout (the target's `timeout`).
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Resends after a timeout (the target's `retries`).
    #[arg(long, default_value_t = 1)]
    retries: u32,
    /// Pause between cycles.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pause: Duration,
    /// Use a simulator that is already running instead of starting one.
    #[arg(long)]
    no_spawn: bool,
    /// The simulator binary [default: tocsin-snmpsim next to this binary].
    #[arg(long)]
    simulator: Option<PathBuf>,
    /// Worker threads of the spawned simulator (0: current-thread).
    #[arg(long, default_value_t = 1)]
    sim_threads: usize,
    /// PID of a simulator started by hand, to report its CPU (with --no-spawn).
    #[arg(long)]
    sim_pid: Option<u32>,
    /// Hold every device's result until the cycle ends, instead of checking
    /// and dropping it as soon as its poll ends (as the agent's per-device
    /// task does: it queues the samples compactly and drops the poll).
    #[arg(long)]
    hold_results: bool,
    /// At most this many polls in flight (0: all devices at once); the agent
    /// uses `MAX_CONCURRENT_POLLS`.
    #[arg(long, default_value_t = tocsin_agent::devices::MAX_CONCURRENT_POLLS)]
    concurrency: usize,
    /// Give every poll a UDP socket of its own, instead of the agent's
    /// shared sockets.
    #[arg(long)]
    separate_sockets: bool,
    /// Exit with status 1 if any device's poll was incomplete.
    #[arg(long)]
    strict: bool,
}

/// Samples each interface yields: 3 gauges, 10 counters, 2 discard counters.
const SAMPLES_PER_INTERFACE: usize = 15;

/// The spawned simulator; killed when dropped.
struct Simulator {
    child: Child,
}

impl Simulator {
    fn spawn(args: &Args) -> Result<Self> {
        let bin = match &args.simulator {
            Some(p) => p.clone(),
            None => std::env::current_exe()?
                .parent()
                .context("no parent directory of this binary")?
                .join("tocsin-snmpsim"),
        };
        let mut child = Command::new(&bin)
            .args(["--devices", &args.devices.to_string()])
            .args(["--interfaces", &args.interfaces.to_string()])
            .args(["--base-port", &args.base_port.to_string()])
            .args(["--community", &args.community])
            .args(["--bind", &args.address])
            .args(["--threads", &args.sim_threads.to_string()])
            .args(["--lifetime", "2h", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut sim = Self { child };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        if !line.starts_with("ready ") {
            let status = sim.child.try_wait()?;
            bail!("simulator did not start (said {line:?}, status {status:?})");
        }
        Ok(sim)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one device's poll gave, checked.
struct Outcome {
    device: usize,
    elapsed: Duration,
    samples: usize,
    problem: Option<String>,
}

fn check(device: u32, interfaces: u32, p: &DevicePoll) -> Option<String> {
    let mut problems = Vec::new();
    if !p.reachable {
        problems.push("unreachable".to_owned());
    }
    if !p.errors.is_empty() {
        let first: Vec<String> = p
            .errors
            .iter()
            .take(3)
            .map(|e| format!("{}: {}", e.subtree, e.error))
            .collect();
        problems.push(format!("{} error(s): {}", p.errors.len(), first.join("; ")));
    }
    let ifs = p
        .attributes
        .get("interfaces")
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    if ifs != interfaces as usize {
        problems.push(format!("{ifs} interfaces, expected {interfaces}"));
    }
    let if_samples = p
        .samples
        .iter()
        .filter(|s| s.metric.starts_with("snmp_if_"))
        .count();
    let want = interfaces as usize * SAMPLES_PER_INTERFACE;
    if if_samples != want {
        problems.push(format!("{if_samples} interface samples, expected {want}"));
    }
    let name = p.attributes.get("sysName").and_then(|v| v.as_str());
    let want_name = format!("sim-sw-{device}");
    if name != Some(want_name.as_str()) {
        problems.push(format!("sysName {name:?}, expected {want_name}"));
    }
    if !p.attributes.contains_key("serial") || p.neighbours.is_empty() {
        problems.push("no chassis serial or no LLDP neighbours".to_owned());
    }
    (!problems.is_empty()).then(|| problems.join(", "))
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.0}ms", d.as_secs_f64() * 1e3)
}

fn mb(bytes: u64) -> String {
    format!("{:.1}MB", bytes as f64 / 1e6)
}

async fn cycle(
    targets: &[SnmpTarget],
    interfaces: u32,
    drop_results: bool,
    concurrency: usize,
    transports: Option<&Transports>,
) -> (Duration, Vec<Outcome>) {
    let start = Instant::now();
    let limit = Arc::new(Semaphore::new(if concurrency == 0 {
        targets.len().max(1)
    } else {
        concurrency
    }));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, target) in targets.iter().enumerate() {
        let target = target.clone();
        let limit = Arc::clone(&limit);
        let transports = transports.cloned();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.expect("semaphore open");
            let t0 = Instant::now();
            let result = match &transports {
                Some(shared) => poll_with(&target, shared).await,
                None => poll(&target).await,
            };
            let elapsed = t0.elapsed();
            if drop_results {
                let outcome = Outcome {
                    device: i,
                    elapsed,
                    samples: result.samples.len(),
                    problem: check(i as u32, interfaces, &result),
                };
                (i, elapsed, Err(outcome))
            } else {
                (i, elapsed, Ok(result))
            }
        });
    }
    let mut results = Vec::with_capacity(targets.len());
    let mut outcomes = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("poll task panicked") {
            (i, elapsed, Ok(p)) => results.push((i, elapsed, p)),
            (_, _, Err(outcome)) => outcomes.push(outcome),
        }
    }
    let wall = start.elapsed();
    // Check after the cycle, with every result still held (as the agent holds
    // a cycle's results until they are sent).
    outcomes.extend(results.iter().map(|(i, elapsed, p)| Outcome {
        device: *i,
        elapsed: *elapsed,
        samples: p.samples.len(),
        problem: check(*i as u32, interfaces, p),
    }));
    (wall, outcomes)
}

async fn run(args: Args) -> Result<bool> {
    let sim = if args.no_spawn {
        None
    } else {
        Some(Simulator::spawn(&args)?)
    };
    let sim_pid = sim.as_ref().map(Simulator::pid).or(args.sim_pid);
    let me = std::process::id();
    let targets: Vec<SnmpTarget> = (0..args.devices)
        .map(|i| {
            let port = u16::try_from(u32::from(args.base_port) + i).expect("port in range");
            let mut t = SnmpTarget::v2c(args.address.clone(), port, args.community.clone());
            t.class = DeviceClass::Switch;
            t.interval = args.interval;
            t.timeout = args.timeout;
            t.retries = args.retries;
            t
        })
        .collect();
    let before = procstat::memory(me).unwrap_or_default();
    println!(
        "devices={} interfaces={} cycles={} interval={} timeout={} retries={} runtime=current_thread concurrency={} results={} sim_pid={}",
        args.devices,
        args.interfaces,
        args.cycles,
        humantime::format_duration(args.interval),
        humantime::format_duration(args.timeout),
        args.retries,
        if args.concurrency == 0 {
            "all".to_owned()
        } else {
            args.concurrency.to_string()
        },
        if args.hold_results {
            "held-until-cycle-end"
        } else {
            "dropped-per-device"
        },
        sim_pid.map_or("-".to_owned(), |p| p.to_string()),
    );
    println!("rss before first cycle: VmRSS={}", mb(before.rss));

    let transports = Transports::new();
    let mut all_ok = true;
    let mut walls = Vec::new();
    for c in 1..=args.cycles {
        let cpu0 = procstat::cpu_time(me).unwrap_or_default();
        let sim_cpu0 = sim_pid.and_then(procstat::cpu_time);
        let (wall, outcomes) = cycle(
            &targets,
            args.interfaces,
            !args.hold_results,
            args.concurrency,
            (!args.separate_sockets).then_some(&transports),
        )
        .await;
        let cpu = procstat::cpu_time(me).unwrap_or_default() - cpu0;
        let sim_cpu = sim_cpu0
            .zip(sim_pid.and_then(procstat::cpu_time))
            .map(|(a, b)| b - a);
        let samples: usize = outcomes.iter().map(|o| o.samples).sum();
        let mut failed: Vec<(usize, &String)> = outcomes
            .iter()
            .filter_map(|o| o.problem.as_ref().map(|p| (o.device, p)))
            .collect();
        failed.sort();
        let mut times: Vec<Duration> = outcomes.iter().map(|o| o.elapsed).collect();
        times.sort();
        let mem = procstat::memory(me).unwrap_or_default();
        println!(
            "cycle {c}: wall={:.2}s devices/s={:.1} samples={samples} ({}/device) failed={} \
             poll p50={} p99={} max={} poller_cpu={:.2}s sim_cpu={} VmRSS={}",
            wall.as_secs_f64(),
            f64::from(args.devices) / wall.as_secs_f64(),
            samples / outcomes.len().max(1),
            failed.len(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(times.last().copied().unwrap_or_default()),
            cpu.as_secs_f64(),
            sim_cpu.map_or("-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
            mb(mem.rss),
        );
        for (i, problem) in failed.iter().take(5) {
            println!(
                "  device {i} (port {}): {problem}",
                u32::from(args.base_port) + *i as u32
            );
        }
        if failed.len() > 5 {
            println!("  … and {} more", failed.len() - 5);
        }
        all_ok &= failed.is_empty();
        walls.push(wall);
        if c < args.cycles {
            tokio::time::sleep(args.pause).await;
        }
    }
    let mem = procstat::memory(me).unwrap_or_default();
    let best = walls.iter().min().copied().unwrap_or_default();
    let worst = walls.iter().max().copied().unwrap_or_default();
    println!(
        "summary: devices={} interfaces={} cycle best={:.2}s worst={:.2}s ({:.1}-{:.1} devices/s) \
         poller VmHWM={} VmRSS={} all_ok={all_ok}",
        args.devices,
        args.interfaces,
        best.as_secs_f64(),
        worst.as_secs_f64(),
        f64::from(args.devices) / worst.as_secs_f64(),
        f64::from(args.devices) / best.as_secs_f64(),
        mb(mem.peak),
        mb(mem.rss),
    );
    drop(sim);
    Ok(all_ok)
}

fn main() -> Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.devices > 0 && args.cycles > 0,
        "need devices and cycles"
    );
    anyhow::ensure!(
        u32::from(args.base_port) + args.devices - 1 <= u32::from(u16::MAX),
        "--base-port + --devices exceeds 65535"
    );
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let strict = args.strict;
    // The agent's runtime (agent/src/main.rs): one thread, a small blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()?;
    let ok = runtime.block_on(run(args))?;
    if strict && !ok {
        std::process::exit(1);
    }
    Ok(())
}
