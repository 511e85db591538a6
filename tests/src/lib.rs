//! Harness for the end-to-end tests (and the benches): starts the real
//! `tocsin-collector`, `tocsin-agent` and `tocsinctl` binaries, the
//! collector on port 0 with the bound ports read back from its ready file,
//! waits for them to be healthy, and kills them when dropped.
//!
//! The binaries are looked up in `$TOCSIN_BIN_DIR`, or else next to the test
//! executable's `deps/` directory (the same cargo target profile), so the
//! test command builds them first: `cargo build --release --bins`.

pub mod api;
pub mod collector;
pub mod grpc;
pub mod netns;
pub mod notify;
pub mod probe;
pub mod process;
pub mod receivers;
pub mod services;
pub mod snmpd;
pub mod tls_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub use collector::{BoundAddrs, Collector, CollectorSpec};
pub use process::{Proc, bin, bin_dir};

/// Value of one sample line (`name{labels} value`) in exposition text, if present.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|rest| rest.trim().parse().ok())
    })
}

/// Starts an agent reporting to `collector_url` every `interval`.
pub fn start_agent(
    collector_url: &str,
    state_dir: &Path,
    interval: &str,
    log: &Path,
) -> Result<Proc> {
    let mut cmd = Command::new(bin("tocsin-agent"));
    cmd.arg("--collector")
        .arg(collector_url)
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--interval")
        .arg(interval)
        .env("RUST_LOG", "info");
    Proc::spawn(cmd, log.to_path_buf())
}

/// Starts an agent with a TOML config file holding `config` (written next
/// to `log`); the collector URL and state directory come from flags.
pub fn start_agent_with_config(
    collector_url: &str,
    state_dir: &Path,
    config: &str,
    log: &Path,
) -> Result<Proc> {
    let path = log.with_extension("toml");
    std::fs::write(&path, config)?;
    let mut cmd = Command::new(bin("tocsin-agent"));
    cmd.arg("--collector")
        .arg(collector_url)
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--config")
        .arg(&path)
        .env("RUST_LOG", "info");
    Proc::spawn(cmd, log.to_path_buf())
}

/// Runs a binary to completion.
pub fn run(name: &str, args: &[&str]) -> Result<Output> {
    Command::new(bin(name))
        .args(args)
        .output()
        .with_context(|| format!("running {name}"))
}

/// Polls `check` until it yields `Some`, or fails after `timeout`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// This machine's hostname as the kernel reports it.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The CPU model from /proc/cpuinfo (`model name`), if the kernel reports one.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// Seconds since the Unix epoch, as Prometheus parameters want them.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The workspace root. Read from `CARGO_MANIFEST_DIR` when the test runs
/// (cargo sets it), not when it was compiled: a test binary reused from a
/// build in another checkout must still read this checkout's files.
pub fn workspace_root() -> PathBuf {
    let tests_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    tests_dir
        .parent()
        .map_or_else(|| tests_dir.clone(), Path::to_path_buf)
}
