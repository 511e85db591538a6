//! `tocsin-collector`: receives agent data over gRPC, stores it, serves the API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tocsin_collector::config::CollectorConfig;

/// Tocsin collector.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// TOML configuration file (every key optional; see deploy/collector.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Validate the configuration file, print every problem, and exit.
    #[arg(long)]
    check_config: bool,
    /// Data directory of the embedded store (config key `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// gRPC ingest address (config key `grpc_addr`, default 127.0.0.1:7070).
    #[arg(long)]
    grpc_addr: Option<SocketAddr>,
    /// HTTP API address (config key `http_addr`, default 127.0.0.1:7080).
    #[arg(long)]
    http_addr: Option<SocketAddr>,
    /// Once listening, write the bound addresses as JSON to this file
    /// (config key `ready_file`); with port 0 in the addresses, this is how
    /// a supervisor learns the ports.
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut config = match &args.config {
        Some(path) => match CollectorConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("tocsin-collector: {e}");
                return ExitCode::from(2);
            }
        },
        None if args.check_config => {
            eprintln!("tocsin-collector: --check-config needs --config <file>");
            return ExitCode::from(2);
        }
        None => CollectorConfig::default(),
    };
    if let Some(d) = args.data_dir {
        config.data_dir = d;
    }
    if let Some(a) = args.grpc_addr {
        config.grpc_addr = a;
    }
    if let Some(a) = args.http_addr {
        config.http_addr = a;
    }
    if let Some(f) = args.ready_file {
        config.ready_file = Some(f);
    }
    if let Err(problems) = config.validate() {
        eprintln!(
            "tocsin-collector: invalid configuration:\n  {}",
            problems.join("\n  ")
        );
        return ExitCode::from(2);
    }
    if args.check_config {
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log.level));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tocsin-collector: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(tocsin_collector::server::run(
        config,
        shutdown_signal(),
        |_| {},
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "collector failed");
            eprintln!("tocsin-collector: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown requested");
}
