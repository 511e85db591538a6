//! Wires the collector together and runs it until shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tocsin_proto::v1::ingest_server::IngestServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::alerting::{Alerting, AlertingParts, AlertingSetup};
use crate::api::{self, AppState};
use crate::config::{CollectorConfig, StorageConfig};
use crate::ingest::{IngestService, Ingestor};
use crate::metrics::Metrics;
use crate::startup::StartupError;
use tocsin_cmdb::Cmdb;
use tocsin_notify::Notifications;
use tocsin_storage::{Storage, StorageOptions};

/// A running collector's addresses (useful when bound to port 0); the
/// `ready_file` holds them as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoundAddrs {
    /// gRPC ingest.
    pub grpc: SocketAddr,
    /// HTTP API.
    pub http: SocketAddr,
}

impl BoundAddrs {
    /// Writes the addresses as one JSON object to `path`, through a
    /// temporary file beside it and a rename, so a reader sees either no
    /// file, the old one, or the whole new one.
    pub fn write_ready_file(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let json = serde_json::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, json + "\n")?;
        std::fs::rename(&tmp, path)
    }
}

/// Opens the store, binds both servers and runs until `shutdown` resolves;
/// then writes a final checkpoint. `on_bound` learns the addresses, after
/// they were written to `config.ready_file` if one is set.
pub async fn run(
    config: CollectorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    on_bound: impl FnOnce(BoundAddrs),
) -> Result<(), StartupError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartupError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let storage_options = StorageOptions {
        sync_writes: config.storage.sync_writes,
    };
    let dir = config.data_dir.clone();
    let storage = tokio::task::spawn_blocking(move || Storage::open(&dir, storage_options))
        .await?
        .map_err(|source| StartupError::OpenStore {
            path: config.data_dir.clone(),
            source,
        })?;
    let storage = Arc::new(storage);
    let cmdb = Arc::new(Cmdb::new(storage.db().clone()));
    let metrics = Arc::new(Metrics::default());
    let (alerting, notifications) = open_alerting(&config, &storage, &cmdb, &metrics).await?;
    let ingestor = Arc::new(
        Ingestor::new(
            storage.clone(),
            cmdb.clone(),
            config.limits.limits(),
            metrics.clone(),
        )
        .with_observer(alerting.alerting.clone()),
    );
    let AlertingParts {
        alerting,
        maintenance,
        problems,
    } = alerting;

    let grpc_listener = TcpListener::bind(config.grpc_addr)
        .await
        .map_err(|source| StartupError::Listen {
            setting: "grpc_addr",
            addr: config.grpc_addr,
            source,
        })?;
    let http_listener = TcpListener::bind(config.http_addr)
        .await
        .map_err(|source| StartupError::Listen {
            setting: "http_addr",
            addr: config.http_addr,
            source,
        })?;
    let bound = BoundAddrs {
        grpc: grpc_listener
            .local_addr()
            .map_err(StartupError::LocalAddr)?,
        http: http_listener
            .local_addr()
            .map_err(StartupError::LocalAddr)?,
    };
    tracing::info!(grpc = %bound.grpc, http = %bound.http, data_dir = %config.data_dir.display(), "collector listening");
    if let Some(path) = &config.ready_file {
        bound
            .write_ready_file(path)
            .map_err(|source| StartupError::ReadyFile {
                path: path.clone(),
                source,
            })?;
    }
    on_bound(bound);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };

    let service = IngestServer::new(IngestService::new(
        ingestor,
        metrics.clone(),
        stop_rx.clone(),
    ))
    .max_decoding_message_size(config.limits.max_message_bytes);
    let grpc = tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_service(service)
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(grpc_listener),
            stopped(stop_rx.clone()),
        );
    let app = api::router(Arc::new(AppState {
        storage: storage.clone(),
        cmdb,
        metrics: metrics.clone(),
        alerting: alerting.clone(),
        maintenance,
        problems,
        notifications: notifications.clone(),
    }));
    let http = axum::serve(http_listener, app).with_graceful_shutdown(stopped(stop_rx.clone()));
    let checkpoints = checkpoint_loop(storage.clone(), config.storage.clone(), stop_rx.clone());
    let ticks = alerting_loop(alerting.clone(), stop_rx.clone());
    let deliveries = notifications.clone().run(
        alerting.incidents().clone(),
        metrics.clone(),
        stop_rx.clone(),
    );

    let (grpc_res, http_res, (), (), ()) = tokio::join!(grpc, http, checkpoints, ticks, deliveries);
    grpc_res.map_err(|e| StartupError::Serve {
        server: "gRPC",
        message: e.to_string(),
    })?;
    http_res.map_err(|e| StartupError::Serve {
        server: "HTTP",
        message: e.to_string(),
    })?;

    let final_storage = storage.clone();
    let final_alerting = alerting.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = final_alerting.incidents().flush() {
            tracing::error!(error = %e, "final incident flush failed");
        }
        final_storage.checkpoint()?;
        final_storage.db().flush()
    })
    .await?
    .map_err(StartupError::FinalCheckpoint)?;
    tracing::info!("collector stopped cleanly");
    Ok(())
}

async fn checkpoint_loop(
    storage: Arc<Storage>,
    config: StorageConfig,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let due = last.elapsed() >= config.checkpoint_interval;
        let full = storage.unpersisted_samples() >= config.max_unpersisted_samples;
        if !due && !full {
            continue;
        }
        last = tokio::time::Instant::now();
        let s = storage.clone();
        match tokio::task::spawn_blocking(move || s.checkpoint()).await {
            Ok(Ok(chunks)) => tracing::debug!(chunks, early = full && !due, "checkpoint"),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "checkpoint failed; the ingest log keeps the data")
            }
            Err(e) => tracing::error!(error = %e, "checkpoint task failed"),
        }
    }
}

/// Rules, incidents, maintenance windows and problem records, restored from the store.
async fn open_alerting(
    config: &CollectorConfig,
    storage: &Arc<Storage>,
    cmdb: &Arc<Cmdb>,
    metrics: &Arc<Metrics>,
) -> Result<(AlertingParts, Arc<Notifications>), StartupError> {
    let rules = Alerting::load_rules(config.rules_file.as_deref()).map_err(StartupError::Rules)?;
    let (db, cmdb, metrics, config) = (
        storage.db().clone(),
        cmdb.clone(),
        metrics.clone(),
        config.clone(),
    );
    tokio::task::spawn_blocking(move || {
        let notifications = Arc::new(
            Notifications::open(db.clone(), config.notify).map_err(crate::error::Error::from)?,
        );
        let setup = AlertingSetup {
            rules,
            rules_file: config.rules_file,
            incidents: config.incidents,
            problems: config.problems,
            outbox: Some(notifications.hook()),
        };
        let parts = AlertingParts::open(&db, &cmdb, metrics, setup)?;
        Ok((parts, notifications))
    })
    .await?
}

/// Every second: no-data detection, SLA clocks, coalesced incident writes;
/// on SIGHUP: reload the rules file.
async fn alerting_loop(alerting: Arc<Alerting>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let reload = async {
            match hangup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tick.tick() => {
                let a = alerting.clone();
                if let Err(e) = tokio::task::spawn_blocking(move || a.tick(a.clock().now_ms())).await {
                    tracing::error!(error = %e, "alerting tick failed");
                }
            }
            _ = reload => {
                let a = alerting.clone();
                match tokio::task::spawn_blocking(move || a.reload()).await {
                    Ok(Ok(n)) => tracing::info!(rules = n, "SIGHUP: rules reloaded"),
                    Ok(Err(e)) => tracing::error!(problems = %e.problems.join("; "), "SIGHUP: rules file rejected; the running rules stay"),
                    Err(e) => tracing::error!(error = %e, "rules reload failed"),
                }
            }
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_file_holds_the_addresses_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.json");
        let first = BoundAddrs {
            grpc: "127.0.0.1:40001".parse().unwrap(),
            http: "127.0.0.1:40002".parse().unwrap(),
        };
        first.write_ready_file(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"grpc\":\"127.0.0.1:40001\",\"http\":\"127.0.0.1:40002\"}\n"
        );
        let second = BoundAddrs {
            grpc: "[::1]:7070".parse().unwrap(),
            ..first
        };
        second.write_ready_file(&path).unwrap();
        let read: BoundAddrs = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(read, second);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["ready.json"], "no temporary file left behind");
    }

    #[test]
    fn an_unwritable_ready_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let addrs = BoundAddrs {
            grpc: "127.0.0.1:1".parse().unwrap(),
            http: "127.0.0.1:2".parse().unwrap(),
        };
        assert!(
            addrs
                .write_ready_file(&dir.path().join("missing/ready.json"))
                .is_err()
        );
    }
}
