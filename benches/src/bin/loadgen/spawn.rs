//! `--spawn-collector`: runs the collector binary through the shared test
//! harness (`tocsin_e2e::Collector`: port 0, addresses read from its ready
//! file) with a temporary data directory, and kills it when dropped.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tempfile::TempDir;
use tocsin_e2e::{Collector, CollectorSpec};

/// A collector process started by the load generator.
pub struct SpawnedCollector {
    /// Its process id.
    pub pid: u32,
    /// URL of its gRPC server.
    pub url: String,
    /// URL of its HTTP API (`/api/v1/...`, `/metrics`).
    pub http_url: String,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
    // Dropped first: kills the process before its directory goes.
    _collector: Collector,
    _dir: TempDir,
}

impl SpawnedCollector {
    /// Starts `binary` (with `--config config` if given) on ports the kernel
    /// picks, storing its data in `data_dir` or a fresh temporary directory,
    /// and waits until it is healthy.
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
        let mut spec = CollectorSpec::new(binary.to_path_buf(), &data, dir.path());
        spec.config = config.map(Path::to_path_buf);
        // The environment's RUST_LOG or the config's log level, as an operator runs it.
        spec.rust_log = None;
        let collector = Collector::launch(spec)
            .await
            .with_context(|| format!("starting {}", binary.display()))?;
        let me = Self {
            pid: collector.proc.pid(),
            url: collector.grpc_url.clone(),
            http_url: collector.http_url.clone(),
            log: collector.proc.log_path().to_path_buf(),
            _collector: collector,
            _dir: dir,
        };
        eprintln!(
            "spawned collector pid={} grpc={} http={} data_dir={} log={}",
            me.pid,
            me.url,
            me.http_url,
            data.display(),
            me.log.display()
        );
        Ok(me)
    }
}
