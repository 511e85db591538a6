//! A real `tocsin-collector` process for tests and benches: started on port
//! 0, its bound addresses read from its `--ready-file`, restarted on the
//! same addresses.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde::Deserialize;
use serde_json::Value;

use crate::process::{Proc, bin};
use crate::wait_for;

/// How long a collector may take to bind and open its store.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The collector's ready file: where its two servers listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct BoundAddrs {
    /// gRPC ingest.
    pub grpc: SocketAddr,
    /// HTTP API.
    pub http: SocketAddr,
}

/// How to start a collector.
#[derive(Debug, Clone)]
pub struct CollectorSpec {
    /// The `tocsin-collector` binary.
    pub binary: PathBuf,
    /// Its store (`--data-dir`).
    pub data_dir: PathBuf,
    /// Where its logs (`collector-N.log`, one per start) and ready file go.
    pub log_dir: PathBuf,
    /// A TOML config file (`--config`); addresses and data dir still come from flags.
    pub config: Option<PathBuf>,
    /// `RUST_LOG` for the process; `None` leaves the environment (and so the
    /// config's `log.level`) alone.
    pub rust_log: Option<String>,
}

impl CollectorSpec {
    /// `binary` with its store in `data_dir`, logging at info, no config file.
    pub fn new(binary: PathBuf, data_dir: &Path, log_dir: &Path) -> Self {
        Self {
            binary,
            data_dir: data_dir.to_path_buf(),
            log_dir: log_dir.to_path_buf(),
            config: None,
            rust_log: Some("info".to_string()),
        }
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
    addrs: Option<BoundAddrs>,
    spec: CollectorSpec,
    starts: u32,
}

impl Collector {
    /// Starts a collector on free ports with its store in `data_dir`.
    pub async fn start(data_dir: &Path, log_dir: &Path) -> Result<Self> {
        Self::launch(CollectorSpec::new(
            bin("tocsin-collector"),
            data_dir,
            log_dir,
        ))
        .await
    }

    /// Like [`Collector::start`], with a TOML config file holding `config`
    /// (written into `log_dir`); ports and data dir still come from flags.
    pub async fn start_with_config(data_dir: &Path, log_dir: &Path, config: &str) -> Result<Self> {
        let path = log_dir.join("collector.toml");
        std::fs::write(&path, config)?;
        let mut spec = CollectorSpec::new(bin("tocsin-collector"), data_dir, log_dir);
        spec.config = Some(path);
        Self::launch(spec).await
    }

    /// Starts a collector as `spec` says, on ports the kernel picks, and
    /// waits until it is healthy.
    pub async fn launch(spec: CollectorSpec) -> Result<Self> {
        let mut c = Self {
            proc: Proc::placeholder(spec.log_dir.join("collector-0.log")),
            grpc_url: String::new(),
            http_url: String::new(),
            addrs: None,
            spec,
            starts: 0,
        };
        c.restart().await?;
        Ok(c)
    }

    /// Where the gRPC and HTTP servers listen.
    pub fn addrs(&self) -> BoundAddrs {
        self.addrs
            .unwrap_or_else(|| unreachable!("launch starts the collector once before returning"))
    }

    /// (Re)starts the process and waits for health. The first start binds
    /// port 0 and reads the ports from the ready file; later starts bind
    /// those same ports again, so agents reconnect to the same URL.
    pub async fn restart(&mut self) -> Result<()> {
        self.proc.crash();
        self.starts += 1;
        let ready = self.spec.log_dir.join("collector-ready.json");
        match std::fs::remove_file(&ready) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                bail!("cannot remove the old {}: {e}", ready.display())
            }
            _ => {}
        }
        let (grpc, http) = match self.addrs {
            Some(a) => (a.grpc.to_string(), a.http.to_string()),
            None => ("127.0.0.1:0".to_string(), "127.0.0.1:0".to_string()),
        };
        let mut cmd = Command::new(&self.spec.binary);
        cmd.arg("--data-dir")
            .arg(&self.spec.data_dir)
            .args(["--grpc-addr", &grpc, "--http-addr", &http])
            .arg("--ready-file")
            .arg(&ready);
        if let Some(level) = &self.spec.rust_log {
            cmd.env("RUST_LOG", level);
        }
        if let Some(config) = &self.spec.config {
            cmd.arg("--config").arg(config);
        }
        self.proc = Proc::spawn(
            cmd,
            self.spec
                .log_dir
                .join(format!("collector-{}.log", self.starts)),
        )?;
        let bound: BoundAddrs = self
            .proc
            .wait_for_json_file(&ready, START_TIMEOUT)
            .await
            .context("collector did not report its addresses")?;
        if let Some(before) = self.addrs {
            ensure!(
                bound == before,
                "restarted collector listens on {bound:?}, not on {before:?}"
            );
        }
        self.addrs = Some(bound);
        self.grpc_url = format!("http://{}", bound.grpc);
        self.http_url = format!("http://{}", bound.http);
        let url = format!("{}/healthz", self.http_url);
        wait_for(START_TIMEOUT, || async {
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
