//! `tocsin-checkbench`: speed and memory of the agent's service checks.
//!
//! It starts local targets in a child process (this binary again, with
//! `--serve`): a plain HTTP server, an HTTPS server with an rcgen
//! certificate (a CA and a leaf for `localhost` / `127.0.0.1`; the CA's PEM
//! goes to a temporary file every HTTPS check trusts through `tls_ca_file`)
//! and a TCP listener. The servers run in their own process so that this
//! process's CPU time and memory are the checks' alone.
//!
//! Default mode: builds `--http`, `--https`, `--tcp` and `--icmp` checks
//! ([`CheckTask`]s, as the agent does at start-up) and measures the memory
//! each kind adds, then runs `--cycles` cycles. A cycle spawns one task per
//! check (as the agent runs each check in its own task), on a current-thread
//! runtime as in `tocsin-agent`, each calling [`CheckTask::probe`] once.
//! Every probe's duration goes into an HdrHistogram per kind. Then each kind
//! runs the same number of cycles alone, to attribute CPU per probe. Any
//! failed probe is printed and makes the exit status 1.
//!
//! `--breakdown`: what one HTTP check's memory is made of (its rustls
//! configuration with its own root store, its reqwest client) and what a
//! root store shared by all checks would cost instead.
//!
//! `--agent`: runs the real `tocsin-agent` with `--agent-http` /
//! `--agent-https` / `--agent-tcp` checks against the same servers, reporting
//! into a real `tocsin-collector`, and samples the agent's VmRSS, VmHWM and
//! CPU time every `--sample-every` for `--agent-duration`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use clap::Parser;
use hdrhistogram::Histogram;
use tocsin_agent::checks::{CheckConfig, CheckKind, CheckTask, HttpProber, Outcome};
use tocsin_agent::devices::Pinger;
use tocsin_benches::procstat;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// Measures the agent's service checks: probe latency, CPU, memory per check.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// HTTP checks (plain http://).
    #[arg(long, default_value_t = 300)]
    http: usize,
    /// HTTPS checks (full TLS handshake each run, verified against the bench's CA).
    #[arg(long, default_value_t = 100)]
    https: usize,
    /// TCP connect checks.
    #[arg(long, default_value_t = 100)]
    tcp: usize,
    /// ICMP checks of 127.0.0.1 (3 echo requests each; needs root or ping_group_range).
    #[arg(long, default_value_t = 0)]
    icmp: usize,
    /// Cycles with every check, then as many with each kind alone.
    #[arg(long, default_value_t = 5)]
    cycles: u32,
    /// At most this many probes in flight (0: all at once, as the agent).
    #[arg(long, default_value_t = 0)]
    concurrency: usize,
    /// Pause between cycles.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pause: Duration,
    /// Each check's timeout.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Targets by the name `localhost` instead of 127.0.0.1, so every probe
    /// resolves it first (getaddrinfo on the blocking pool).
    #[arg(long)]
    hostname: bool,
    /// Listen backlog of the servers (Rust's std and tokio use 128, nginx 511).
    #[arg(long, default_value_t = 4096)]
    backlog: u32,
    /// Worker threads of the server process.
    #[arg(long, default_value_t = 1)]
    server_threads: usize,
    /// Only break down the memory of `--http` HTTP checks.
    #[arg(long)]
    breakdown: bool,
    /// Measure the whole agent binary instead (see the --agent-* flags).
    #[arg(long)]
    agent: bool,
    /// --agent: HTTP checks in the agent's config.
    #[arg(long, default_value_t = 500)]
    agent_http: usize,
    /// --agent: HTTPS checks.
    #[arg(long, default_value_t = 100)]
    agent_https: usize,
    /// --agent: TCP checks.
    #[arg(long, default_value_t = 100)]
    agent_tcp: usize,
    /// --agent: ICMP checks of 127.0.0.1.
    #[arg(long, default_value_t = 0)]
    agent_icmp: usize,
    /// --agent: every check's interval.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    agent_interval: Duration,
    /// --agent: how long the agent runs.
    #[arg(long, default_value = "3m", value_parser = humantime::parse_duration)]
    agent_duration: Duration,
    /// --agent: CPU per minute is computed from this point on (start-up excluded).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    agent_warmup: Duration,
    /// --agent: how often the agent's /proc figures are printed.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    sample_every: Duration,
    /// --agent: the agent binary [default: tocsin-agent next to this binary].
    #[arg(long)]
    agent_bin: Option<PathBuf>,
    /// --agent: the collector binary [default: tocsin-collector next to this binary].
    #[arg(long)]
    collector_bin: Option<PathBuf>,
    /// Internal: serve the targets, writing the CA's PEM into this directory.
    #[arg(long, hide = true)]
    serve: Option<PathBuf>,
}

/// The page every HTTP(S) answer carries.
const BODY: &str = "<html><head><title>Welcome to the shop</title></head><body><h1>Welcome to the shop</h1></body></html>\n";

/// The kinds in report order.
const KINDS: [CheckKind; 4] = [
    CheckKind::Http,
    CheckKind::Tcp,
    CheckKind::Icmp,
    CheckKind::Dns,
];

fn label(kind: CheckKind, https: bool) -> &'static str {
    match (kind, https) {
        (CheckKind::Http, true) => "https",
        (k, _) => k.as_str(),
    }
}

// ---------------------------------------------------------------------------
// The targets (child process).

/// Runs the servers until stdin closes; prints `ready <http> <https> <tcp>`.
fn serve(dir: &Path, threads: usize, backlog: u32) -> Result<()> {
    let runtime = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let (config, ca_pem) = tls_server_config()?;
        std::fs::write(dir.join("ca.pem"), ca_pem).context("writing ca.pem")?;
        let (http, https, tcp) = (listen(backlog)?, listen(backlog)?, listen(backlog)?);
        println!(
            "ready {} {} {}",
            http.local_addr()?.port(),
            https.local_addr()?.port(),
            tcp.local_addr()?.port()
        );
        std::io::stdout().flush()?;
        tokio::spawn(serve_http(http, None));
        tokio::spawn(serve_http(https, Some(TlsAcceptor::from(Arc::new(config)))));
        tokio::spawn(async move {
            loop {
                // Accept and close at once: the check only wants the connect.
                if tcp.accept().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await?;
        Ok(())
    })
}

/// A listener on a free loopback port with room for `backlog` connections
/// not yet accepted: when the agent's checks all connect at the same instant,
/// a full queue drops SYNs and the client retries only after 1 s.
fn listen(backlog: u32) -> Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    Ok(socket.listen(backlog)?)
}

/// A CA and a leaf for `localhost` and `127.0.0.1` (ECDSA P-256, rcgen's
/// default); the server's configuration and the CA's PEM.
fn tls_server_config() -> Result<(rustls::ServerConfig, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, date_time_ymd,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "tocsin-checkbench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = date_time_ymd(2024, 1, 1);
    ca.not_after = date_time_ymd(2040, 1, 1);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = date_time_ymd(2024, 1, 1);
    leaf.not_after = date_time_ymd(2039, 1, 1);
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &issuer)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, ca_pem))
}

/// Answers every connection with one fixed 200 response, then closes it.
async fn serve_http(listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = match tls {
                None => answer(stream).await,
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => answer(stream).await,
                    Err(e) => Err(e),
                },
            };
        });
    }
}

/// Reads one request head and writes the response.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The server process; stopped (stdin closed, then waited for) when dropped.
struct Servers {
    child: Child,
    http: u16,
    https: u16,
    tcp: u16,
    ca_pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl Servers {
    fn spawn(threads: usize, backlog: u32) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve")
            .arg(dir.path())
            .args(["--server-threads", &threads.to_string()])
            .args(["--backlog", &backlog.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the server process")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let ports: Vec<u16> = line
            .strip_prefix("ready ")
            .map(|rest| {
                rest.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let [http, https, tcp] = ports[..] else {
            let _ = child.kill();
            let status = child.wait()?;
            bail!("server process did not start (said {line:?}, status {status})");
        };
        Ok(Self {
            child,
            http,
            https,
            tcp,
            ca_pem: dir.path().join("ca.pem"),
            _dir: dir,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The checks: `n` of each kind, named `<kind>-<i>`.
    fn checks(&self, n: [usize; 4], host: &str, timeout: Duration) -> Vec<(bool, CheckConfig)> {
        let [http, https, tcp, icmp] = n;
        let mut out = Vec::with_capacity(http + https + tcp + icmp);
        for i in 0..http {
            let mut c = CheckConfig::new(&format!("http-{i}"), CheckKind::Http);
            c.url = Some(format!("http://{host}:{}/http-{i}", self.http));
            out.push((false, c));
        }
        for i in 0..https {
            let mut c = CheckConfig::new(&format!("https-{i}"), CheckKind::Http);
            c.url = Some(format!("https://{host}:{}/https-{i}", self.https));
            c.tls_ca_file = Some(self.ca_pem.clone());
            out.push((true, c));
        }
        for i in 0..tcp {
            let mut c = CheckConfig::new(&format!("tcp-{i}"), CheckKind::Tcp);
            c.address = Some(format!("{host}:{}", self.tcp));
            out.push((false, c));
        }
        for i in 0..icmp {
            let mut c = CheckConfig::new(&format!("icmp-{i}"), CheckKind::Icmp);
            c.host = Some("127.0.0.1".to_owned());
            out.push((false, c));
        }
        for (_, c) in &mut out {
            c.timeout = timeout;
        }
        out
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Measuring.

/// CPU time of this process's live threads, in nanoseconds, from
/// `/proc/self/task/*/schedstat` (finer than the 10 ms ticks of
/// `/proc/<pid>/stat`; a thread that exits takes its time with it, and this
/// bench's threads do not exit while measuring). A running thread's figure
/// is only brought up to date when it is descheduled, so this sleeps 50 µs
/// first.
fn cpu_now() -> Duration {
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

fn rss() -> u64 {
    procstat::memory(std::process::id()).unwrap_or_default().rss
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2}ms")
    } else {
        format!("{ms:.0}ms")
    }
}

fn us(h: &Histogram<u64>, q: f64) -> String {
    ms(Duration::from_micros(h.value_at_quantile(q)))
}

fn mb(bytes: u64) -> String {
    format!("{:.1}MB", bytes as f64 / 1e6)
}

fn kb(bytes: f64) -> String {
    format!("{:.1}KB", bytes / 1e3)
}

/// Bytes per item between two RSS readings (0 if RSS went down).
fn per(before: u64, after: u64, n: usize) -> f64 {
    after.saturating_sub(before) as f64 / n.max(1) as f64
}

/// One probe's result, without its measurements.
struct Probe {
    label: &'static str,
    name: String,
    duration: Duration,
    failure: Option<String>,
}

/// A built check: its kind's label, its name, the task.
type Task = (&'static str, String, Arc<CheckTask>);

/// Runs every task once, concurrently (at most `concurrency` at a time, 0 = all).
async fn cycle(tasks: &[Task], concurrency: usize) -> Vec<Probe> {
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
struct KindStats {
    label: &'static str,
    checks: usize,
    mem_per_check: f64,
    hist: Histogram<u64>,
    failed: usize,
    alone_wall: Vec<Duration>,
    alone_cpu: Duration,
    alone_probes: usize,
}

async fn bench(args: &Args) -> Result<bool> {
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
        let mut c = CheckConfig::new("warm-up", CheckKind::Http);
        c.url = Some(format!("http://{host}:{}/", servers.http));
        CheckTask::new(c, pinger.clone()).map_err(anyhow::Error::msg)?
    };
    let rss_warm = rss();
    let mut tasks: Vec<Task> = Vec::with_capacity(configs.len());
    let mut stats: Vec<KindStats> = Vec::new();
    for kind in KINDS {
        for https in [false, true] {
            let group: Vec<&CheckConfig> = configs
                .iter()
                .filter(|(h, c)| c.kind == kind && *h == https)
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

// ---------------------------------------------------------------------------
// --breakdown

/// What one HTTP check's memory is made of.
async fn breakdown(args: &Args) -> Result<()> {
    use tocsin_agent::checks::tls;
    let n = args.http.max(1);
    // Load the system roots and initialise statics once.
    let first = tls::client_config(&[], false).map_err(anyhow::Error::msg)?;
    let roots = rustls_native_certs::load_native_certs().certs;
    let mut store = rustls::RootCertStore::empty();
    store.add_parsable_certificates(roots.iter().cloned());
    let anchor_bytes: usize = store
        .roots
        .iter()
        .map(|a| {
            a.subject.len()
                + a.subject_public_key_info.len()
                + a.name_constraints.as_ref().map_or(0, |c| c.len())
        })
        .sum();
    println!(
        "system roots: {} certificates ({} of DER); a RootCertStore of them holds {} trust \
         anchors, {} of subject + SPKI + constraints in {} heap allocations",
        roots.len(),
        kb(roots.iter().map(|c| c.len()).sum::<usize>() as f64),
        store.roots.len(),
        kb(anchor_bytes as f64),
        store.roots.len() * 2,
    );

    // 1. The agent's per-check TLS configuration (own root store, verifier).
    let (before, cpu0) = (rss(), cpu_now());
    let configs: Vec<_> = (0..n)
        .map(|_| tls::client_config(&[], false).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let (own, own_cpu) = (per(before, rss(), n), (cpu_now() - cpu0) / n as u32);

    // 2. The same with one root store shared by every check.
    let shared = Arc::new(store);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let (before, cpu0) = (rss(), cpu_now());
    let shared_configs: Vec<rustls::ClientConfig> = (0..n)
        .map(|_| {
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
                shared.clone(),
                provider.clone(),
            )
            .build()?;
            Ok(
                rustls::ClientConfig::builder_with_provider(provider.clone())
                    .with_safe_default_protocol_versions()?
                    .with_webpki_verifier(verifier)
                    .with_no_client_auth(),
            )
        })
        .collect::<Result<_>>()?;
    let (sharing, sharing_cpu) = (per(before, rss(), n), (cpu_now() - cpu0) / n as u32);

    // 3. A reqwest client as HttpProber builds it, on a shared (cloned) TLS config.
    let (before, cpu0) = (rss(), cpu_now());
    let clients: Vec<reqwest::Client> = (0..n)
        .map(|_| {
            reqwest::Client::builder()
                .tls_backend_preconfigured(first.0.clone())
                .pool_max_idle_per_host(0)
                .no_proxy()
                .timeout(args.timeout)
                .build()
                .map_err(anyhow::Error::from)
        })
        .collect::<Result<_>>()?;
    let (client, client_cpu) = (per(before, rss(), n), (cpu_now() - cpu0) / n as u32);

    // 4. Whole HttpProbers (the agent's HTTP check).
    let mut check = CheckConfig::new("b", CheckKind::Http);
    check.url = Some("http://127.0.0.1:9/".to_owned());
    let (before, cpu0) = (rss(), cpu_now());
    let probers: Vec<HttpProber> = (0..n)
        .map(|_| HttpProber::new(&check).map_err(anyhow::Error::msg))
        .collect::<Result<_>>()?;
    let (prober, prober_cpu) = (per(before, rss(), n), (cpu_now() - cpu0) / n as u32);

    println!("per check, {n} of each (RSS growth / n; CPU to build one):");
    let rows = [
        (
            "tls::client_config (own RootCertStore + verifier), as now",
            own,
            own_cpu,
        ),
        (
            "rustls ClientConfig on one shared Arc<RootCertStore>",
            sharing,
            sharing_cpu,
        ),
        (
            "reqwest::Client on an already built TLS config",
            client,
            client_cpu,
        ),
        ("HttpProber::new (the whole HTTP check)", prober, prober_cpu),
    ];
    for (what, bytes, cpu) in rows {
        println!(
            "  {what:<58} {:>9}  {:>7.0}µs",
            kb(bytes),
            cpu.as_secs_f64() * 1e6
        );
    }
    drop((configs, shared_configs, clients, probers, first));
    Ok(())
}

// ---------------------------------------------------------------------------
// --agent

/// A free loopback TCP port.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process killed (SIGKILL) and reaped when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sibling(explicit: Option<&PathBuf>, name: &str) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.clone()),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("no parent directory of this binary")?
            .join(name)),
    }
}

fn spawn_logged(mut cmd: Command, log: &Path) -> Result<Proc> {
    let file = std::fs::File::create(log)?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    Ok(Proc(child))
}

/// The agent's config: `interval`, then one `[[check]]` per check.
fn agent_config(checks: &[(bool, CheckConfig)], interval: Duration) -> String {
    let every = humantime::format_duration(interval).to_string();
    let mut out = format!("interval = \"{every}\"\n");
    for (_, c) in checks {
        out.push_str(&format!(
            "\n[[check]]\nname = \"{}\"\nkind = \"{}\"\ninterval = \"{every}\"\ntimeout = \"{}\"\n",
            c.name,
            c.kind.as_str(),
            humantime::format_duration(c.timeout)
        ));
        let target = match c.kind {
            CheckKind::Http => format!("url = \"{}\"\n", c.target()),
            CheckKind::Tcp => format!("address = \"{}\"\n", c.target()),
            CheckKind::Icmp | CheckKind::Dns => format!("host = \"{}\"\n", c.target()),
        };
        out.push_str(&target);
        if let Some(ca) = &c.tls_ca_file {
            out.push_str(&format!("tls_ca_file = \"{}\"\n", ca.display()));
        }
    }
    out
}

async fn agent(args: &Args) -> Result<bool> {
    let servers = Servers::spawn(args.server_threads, args.backlog)?;
    let host = if args.hostname {
        "localhost"
    } else {
        "127.0.0.1"
    };
    let checks = servers.checks(
        [
            args.agent_http,
            args.agent_https,
            args.agent_tcp,
            args.agent_icmp,
        ],
        host,
        args.timeout.min(args.agent_interval),
    );
    let dir = tempfile::tempdir()?;
    let (grpc, http) = (free_port()?, free_port()?);
    let mut cmd = Command::new(sibling(args.collector_bin.as_ref(), "tocsin-collector")?);
    cmd.arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}")])
        .args(["--http-addr", &format!("127.0.0.1:{http}")])
        .env("RUST_LOG", "info");
    let collector = spawn_logged(cmd, &dir.path().join("collector.log"))?;
    let api = format!("http://127.0.0.1:{http}");
    let web = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = web.get(format!("{api}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the collector did not become healthy; see its log"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let config = dir.path().join("agent.toml");
    std::fs::write(&config, agent_config(&checks, args.agent_interval))?;
    let log = dir.path().join("agent.log");
    let mut cmd = Command::new(sibling(args.agent_bin.as_ref(), "tocsin-agent")?);
    cmd.args(["--collector", &format!("http://127.0.0.1:{grpc}")])
        .arg("--state-dir")
        .arg(dir.path().join("agent"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info");
    let started = Instant::now();
    let agent = spawn_logged(cmd, &log)?;
    let pid = agent.0.id();
    println!(
        "agent pid={pid} checks: http={} https={} tcp={} icmp={} interval={} for {}; collector pid={} \
         server pid={}",
        args.agent_http,
        args.agent_https,
        args.agent_tcp,
        args.agent_icmp,
        humantime::format_duration(args.agent_interval),
        humantime::format_duration(args.agent_duration),
        collector.0.id(),
        servers.pid(),
    );

    let mut at_warmup: Option<(Duration, Duration)> = None;
    let mut last_cpu = Duration::ZERO;
    let (cpu, mem) = loop {
        tokio::time::sleep(args.sample_every).await;
        let t = started.elapsed();
        let (Some(mem), Some(cpu)) = (procstat::memory(pid), procstat::cpu_time(pid)) else {
            bail!(
                "the agent exited; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        println!(
            "t={:>4.0}s agent VmRSS={} VmHWM={} cpu={:.2}s (+{:.2}s) collector_cpu={} server_cpu={}",
            t.as_secs_f64(),
            mb(mem.rss),
            mb(mem.peak),
            cpu.as_secs_f64(),
            (cpu - last_cpu).as_secs_f64(),
            procstat::cpu_time(collector.0.id())
                .map_or("-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
            procstat::cpu_time(servers.pid())
                .map_or("-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
        );
        last_cpu = cpu;
        if at_warmup.is_none() && t >= args.agent_warmup {
            at_warmup = Some((t, cpu));
        }
        if t >= args.agent_duration {
            break (cpu, mem);
        }
    };
    let end = started.elapsed();
    let (t0, cpu0) = at_warmup.unwrap_or_default();
    let minutes = (end - t0).as_secs_f64() / 60.0;
    let per_minute = (cpu - cpu0).as_secs_f64() / minutes.max(1e-9);
    let checks_per_minute = checks.len() as f64 * 60.0 / args.agent_interval.as_secs_f64();

    // Every check must pass: no "check failing" in the log, and the
    // collector holds a passing probe_success series per check.
    let text = std::fs::read_to_string(&log)?;
    let failing: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("check failing") || l.contains("check cannot run"))
        .collect();
    let body: serde_json::Value = web
        .get(format!("{api}/api/v1/query"))
        .query(&[("query", "probe_success")])
        .send()
        .await?
        .json()
        .await?;
    let series = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let passing = series
        .iter()
        .filter(|s| s["value"][1].as_str() == Some("1"))
        .count();
    println!(
        "summary: agent with {} checks ({:.0} probes/min): VmHWM={} VmRSS={} at {:.0}s; CPU {:.2}s \
         in the first {:.0}s (start-up and first runs), then {:.2}s per minute ({:.1}% of a core, \
         {:.0}µs per probe); collector: {}/{} probe_success series passing; {} failing lines in \
         the agent log",
        checks.len(),
        checks_per_minute,
        mb(mem.peak),
        mb(mem.rss),
        end.as_secs_f64(),
        cpu0.as_secs_f64(),
        t0.as_secs_f64(),
        per_minute,
        per_minute / 60.0 * 100.0,
        per_minute * 1e6 / checks_per_minute.max(1.0),
        passing,
        series.len(),
        failing.len(),
    );
    for l in failing.iter().take(10) {
        println!("  {l}");
    }
    drop(agent);
    drop(collector);
    Ok(failing.is_empty() && passing == checks.len() && series.len() == checks.len())
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.serve {
        return serve(dir, args.server_threads, args.backlog);
    }
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    // The agent's runtime (agent/src/main.rs): one thread, a small blocking pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()?;
    let ok = runtime.block_on(async {
        if args.breakdown {
            breakdown(&args).await.map(|()| true)
        } else if args.agent {
            agent(&args).await
        } else {
            bench(&args).await
        }
    })?;
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
