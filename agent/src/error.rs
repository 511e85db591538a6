//! Errors of the agent. Each variant names what failed and, where there is
//! one, the path or key involved, so a log line is actionable on its own.

use std::path::PathBuf;

/// Anything that can go wrong in the agent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; every problem is listed, each naming its key.
    #[error("invalid configuration:\n  {}", .0.join("\n  "))]
    Config(Vec<String>),

    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },

    /// The state directory holds something the agent cannot use.
    #[error("{path}: {reason}")]
    State {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// System information is unavailable.
    #[error("cannot read system information: {0}")]
    System(#[from] sysinfo::Error),

    /// Connecting to the collector failed.
    #[error("cannot connect to the collector: {}", chain(.0))]
    Connect(#[from] tonic::transport::Error),

    /// A gRPC call failed or the stream ended with a status.
    #[error("collector returned {}: {}", .0.code(), .0.message())]
    Rpc(#[from] tonic::Status),

    /// The collector broke the protocol or closed the stream.
    #[error("{0}")]
    Protocol(String),

    /// A call did not complete in time.
    #[error("{0} timed out")]
    Timeout(&'static str),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// An error and its sources, `outer: inner: innermost` (transport errors
/// only say "transport error" at the top).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Result with the agent's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
