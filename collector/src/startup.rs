//! Why the collector could not start, or did not stop cleanly: each case
//! names what failed and where, for the operator reading the log or the
//! terminal.

use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

/// A failure starting or stopping the collector.
#[derive(Debug, Error)]
pub enum StartupError {
    /// The data directory could not be created.
    #[error("cannot create data_dir {path}: {source}")]
    DataDir {
        /// The configured `data_dir`.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store could not be opened.
    #[error("cannot open store in {path}: {source}")]
    OpenStore {
        /// The configured `data_dir`.
        path: PathBuf,
        /// Why.
        source: tocsin_storage::StorageError,
    },
    /// A listening socket could not be bound.
    #[error("cannot listen on {setting} {addr}: {source}")]
    Listen {
        /// `grpc_addr` or `http_addr`.
        setting: &'static str,
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The ready file could not be written.
    #[error("cannot write ready_file {path}: {source}")]
    ReadyFile {
        /// The configured `ready_file`.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The rules file is invalid; every problem is listed.
    #[error("invalid rules file:\n  {}", .0.problems.join("\n  "))]
    Rules(tocsin_rules::RulesError),
    /// Incidents, maintenance, problems or notifications could not be
    /// opened or restored from the store.
    #[error("cannot restore state: {0}")]
    Restore(#[from] crate::error::Error),
    /// A server stopped with an error.
    #[error("{server} server failed: {message}")]
    Serve {
        /// `gRPC` or `HTTP`.
        server: &'static str,
        /// Why.
        message: String,
    },
    /// The final checkpoint at shutdown failed (the ingest log still holds
    /// the data; the next start replays it).
    #[error("final checkpoint failed: {0}")]
    FinalCheckpoint(tocsin_storage::StorageError),
    /// A local address could not be read back from a bound socket.
    #[error("cannot read a bound address: {0}")]
    LocalAddr(std::io::Error),
    /// A startup or shutdown task panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
