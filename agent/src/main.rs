//! `tocsin-agent`: collects host metrics and inventory and sends them to a
//! Tocsin collector. See `deploy/agent.toml` for the configuration file.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tocsin_agent::config::{Config, Overrides};
use tracing_subscriber::EnvFilter;

/// Tocsin agent: host metrics, inventory, and a reliable gRPC sender.
///
/// Every option can also be set in the TOML configuration file; options on the
/// command line win over the file.
#[derive(Debug, Parser)]
#[command(name = "tocsin-agent", version, about)]
struct Cli {
    /// gRPC URL of the collector [default: http://127.0.0.1:7070]
    #[arg(long, value_name = "URL")]
    collector: Option<String>,

    /// Collection interval, e.g. 1s, 10s, 5m; at least 1s [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    interval: Option<Duration>,

    /// Directory for the agent's persistent state [default: ./tocsin-agent-state]
    #[arg(long, value_name = "PATH")]
    state_dir: Option<PathBuf>,

    /// TOML configuration file
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Validate the configuration, print every problem, and exit (0 if valid, 1 if not)
    #[arg(long)]
    check_config: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        collector: cli.collector,
        interval: cli.interval,
        state_dir: cli.state_dir,
    };
    let config = match Config::load(cli.config.as_deref(), overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tocsin-agent: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        match &cli.config {
            Some(p) => println!("{}: configuration is valid", p.display()),
            None => println!(
                "configuration is valid (no --config file given; defaults and flags checked)"
            ),
        }
        return ExitCode::SUCCESS;
    }

    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| config.log_level.clone());
    // async-snmp logs every request timeout of a dead device as an error, each
    // poll; the agent reports device state changes itself. Quiet it unless
    // the filter names it.
    let directives = if directives.contains("async_snmp") {
        directives
    } else {
        format!("{directives},async_snmp=off")
    };
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();

    // One worker thread is plenty: the work is a little I/O every interval.
    // Collection itself runs on the blocking pool so a slow filesystem cannot stall sending.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tocsin-agent: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tocsin_agent::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "tocsin-agent failed");
            ExitCode::FAILURE
        }
    }
}
