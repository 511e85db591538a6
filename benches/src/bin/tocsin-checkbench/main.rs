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
//! `--agent`: runs the real `tocsin-agent` with `--agent-http` /
//! `--agent-https` / `--agent-tcp` checks against the same servers, reporting
//! into a real `tocsin-collector`, and samples the agent's VmRSS, VmHWM and
//! CPU time every `--sample-every` for `--agent-duration`.

mod agent;
mod inprocess;
mod servers;

use agent::agent;
use inprocess::bench;
use servers::serve;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;
use tocsin_agent::checks::CheckKind;

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
        if args.agent {
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
