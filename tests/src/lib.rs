//! Harness for the end-to-end tests: starts the real `tocsin-collector`,
//! `tocsin-agent` and `tocsinctl` binaries on free loopback ports, waits for
//! them to be healthy, and kills them when dropped.
//!
//! The binaries are looked up in `$TOCSIN_BIN_DIR`, or else next to the test
//! executable's `deps/` directory (the same cargo target profile), so the
//! test command builds them first: `cargo build --release --bins`.

pub mod api;
pub mod grpc;
pub mod netns;
pub mod notify;
pub mod probe;
pub mod receivers;
pub mod services;
pub mod snmpd;
pub mod tls_server;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Directory holding the built binaries.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("TOCSIN_BIN_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent directory");
    deps.parent().expect("deps has a parent").to_path_buf()
}

/// Full path of one binary, with a helpful panic if it was not built.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.exists(),
        "{} not found: build the binaries first (cargo build --release --bins)",
        p.display()
    );
    p
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A child process that is killed when dropped; its output goes to a log file.
pub struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    /// A process slot with nothing running yet.
    pub fn placeholder(log: PathBuf) -> Self {
        Self { child: None, log }
    }

    /// Spawns `cmd` with stdout and stderr going to `log`.
    pub fn spawn(mut cmd: Command, log: PathBuf) -> Result<Self> {
        let out = std::fs::File::create(&log)?;
        cmd.stdout(out.try_clone()?)
            .stderr(out)
            .stdin(Stdio::null());
        let child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        Ok(Self {
            child: Some(child),
            log,
        })
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Kills the process hard (SIGKILL), like a crash.
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns whether it exited successfully.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = c.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.crash();
    }
}

/// A running collector.
pub struct Collector {
    /// The process.
    pub proc: Proc,
    /// gRPC address as an URL for agents.
    pub grpc_url: String,
    /// Base URL of the HTTP API.
    pub http_url: String,
    grpc_port: u16,
    http_port: u16,
    data_dir: PathBuf,
    log_dir: PathBuf,
    config: Option<PathBuf>,
    starts: u32,
}

impl Collector {
    /// Starts a collector on free ports with its store in `data_dir`.
    pub async fn start(data_dir: &Path, log_dir: &Path) -> Result<Self> {
        Self::start_with(data_dir, log_dir, None).await
    }

    /// Like [`Collector::start`], with a TOML config file holding `config`
    /// (written into `log_dir`); ports and data dir still come from flags.
    pub async fn start_with_config(data_dir: &Path, log_dir: &Path, config: &str) -> Result<Self> {
        let path = log_dir.join("collector.toml");
        std::fs::write(&path, config)?;
        Self::start_with(data_dir, log_dir, Some(path)).await
    }

    async fn start_with(data_dir: &Path, log_dir: &Path, config: Option<PathBuf>) -> Result<Self> {
        let (grpc_port, http_port) = (free_port(), free_port());
        let mut c = Self {
            proc: Proc {
                child: None,
                log: log_dir.join("collector-0.log"),
            },
            grpc_url: format!("http://127.0.0.1:{grpc_port}"),
            http_url: format!("http://127.0.0.1:{http_port}"),
            grpc_port,
            http_port,
            data_dir: data_dir.to_path_buf(),
            log_dir: log_dir.to_path_buf(),
            config,
            starts: 0,
        };
        c.restart().await?;
        Ok(c)
    }

    /// (Re)starts the process on the same ports and data directory and waits for health.
    pub async fn restart(&mut self) -> Result<()> {
        self.proc.crash();
        self.starts += 1;
        let mut cmd = Command::new(bin("tocsin-collector"));
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--grpc-addr")
            .arg(format!("127.0.0.1:{}", self.grpc_port))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{}", self.http_port))
            .env("RUST_LOG", "info");
        if let Some(config) = &self.config {
            cmd.arg("--config").arg(config);
        }
        self.proc = Proc::spawn(
            cmd,
            self.log_dir.join(format!("collector-{}.log", self.starts)),
        )?;
        let url = format!("{}/healthz", self.http_url);
        wait_for(Duration::from_secs(60), || async {
            match reqwest::get(&url).await {
                Ok(r) if r.status().is_success() => Ok(Some(())),
                _ => Ok(None),
            }
        })
        .await
        .with_context(|| {
            format!(
                "collector did not become healthy; log:\n{}",
                self.proc.log()
            )
        })
    }

    /// GET a JSON document from the API.
    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let r = reqwest::get(format!("{}{path}", self.http_url)).await?;
        let status = r.status();
        let body: Value = r
            .json()
            .await
            .with_context(|| format!("GET {path}: body is not JSON"))?;
        if !status.is_success() {
            bail!("GET {path}: HTTP {status}: {body}");
        }
        Ok(body)
    }

    /// POST a JSON body; returns the HTTP status and the JSON answer.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<(u16, Value)> {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.http_url))
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let body: Value = r
            .json()
            .await
            .with_context(|| format!("POST {path}: body is not JSON"))?;
        Ok((status, body))
    }

    /// The `/metrics` exposition text.
    pub async fn metrics_text(&self) -> Result<String> {
        Ok(reqwest::get(format!("{}/metrics", self.http_url))
            .await?
            .text()
            .await?)
    }
}

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
