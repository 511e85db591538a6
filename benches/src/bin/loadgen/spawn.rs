//! `--spawn-collector`: runs the collector binary on free ports with a
//! temporary data directory, and kills it when dropped.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;
use tonic::transport::Endpoint;

/// A collector process started by the load generator.
pub struct SpawnedCollector {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// URL of its gRPC server.
    pub url: String,
    /// URL of its HTTP API (`/api/v1/...`, `/metrics`).
    pub http_url: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    _dir: TempDir,
}

impl Drop for SpawnedCollector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl SpawnedCollector {
    /// Starts `binary` (with `--config config` if given) on free ports, storing
    /// its data in `data_dir` or a fresh temporary directory, and waits until
    /// its gRPC server accepts connections.
    pub async fn start(
        binary: &Path,
        config: Option<&Path>,
        data_dir: Option<&Path>,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("tocsin-loadgen-")
            .tempdir()
            .context("temp dir")?;
        let data = data_dir.map_or_else(|| dir.path().join("data"), Path::to_path_buf);
        let log = dir.path().join("collector.log");
        let (grpc, http) = (free_port()?, free_port()?);
        let out = File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut cmd = Command::new(binary);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.arg("--data-dir")
            .arg(&data)
            .arg("--grpc-addr")
            .arg(format!("127.0.0.1:{grpc}"))
            .arg("--http-addr")
            .arg(format!("127.0.0.1:{http}"))
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id();
        let mut me = Self {
            child,
            pid,
            url: format!("http://127.0.0.1:{grpc}"),
            http_url: format!("http://127.0.0.1:{http}"),
            log,
            _dir: dir,
        };
        me.wait_ready(Duration::from_secs(60)).await?;
        eprintln!(
            "spawned collector pid={pid} grpc={} http={} data_dir={} log={}",
            me.url,
            me.http_url,
            data.display(),
            me.log.display()
        );
        Ok(me)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let endpoint =
            Endpoint::from_shared(self.url.clone())?.connect_timeout(Duration::from_secs(1));
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                bail!("collector exited with {status} before accepting connections:\n{log}");
            }
            if endpoint.connect().await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "collector did not accept gRPC connections within {timeout:?}; log: {}",
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
