//! Collector errors, and their mapping to gRPC and HTTP statuses — the only
//! place where that mapping happens. Internal details are logged, not shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use thiserror::Error;
use tonic::Code;

use crate::incidents::IncidentError;
use crate::incidents::maintenance::MaintenanceError;
use crate::ingest::Invalid;
use crate::storage::StorageError;

/// Errors the collector reports to its clients.
#[derive(Debug, Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A batch failed validation; nothing of it was stored.
    #[error("invalid batch: {0}")]
    InvalidBatch(#[from] Invalid),
    /// A request is malformed.
    #[error("{0}")]
    InvalidRequest(String),
    /// The agent broke the stream protocol (e.g. no Hello first).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// Something asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (e.g. acknowledging a closed incident).
    #[error("{0}")]
    Conflict(String),
    /// A blocking task panicked or was cancelled.
    #[error("internal task failed: {0}")]
    Task(String),
}

impl Error {
    /// The gRPC code of this error.
    pub fn grpc_code(&self) -> Code {
        match self {
            Error::InvalidBatch(_) | Error::InvalidRequest(_) => Code::InvalidArgument,
            Error::Protocol(_) => Code::FailedPrecondition,
            Error::NotFound(_) => Code::NotFound,
            Error::Conflict(_) => Code::FailedPrecondition,
            Error::Storage(_) | Error::Task(_) => Code::Internal,
        }
    }

    /// The message shown to clients: internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self {
            Error::Storage(_) | Error::Task(_) => {
                tracing::error!(error = %self, "internal error");
                "internal error; see the collector log".to_string()
            }
            other => other.to_string(),
        }
    }

    fn http(&self) -> (StatusCode, &'static str) {
        match self {
            Error::InvalidBatch(_) | Error::InvalidRequest(_) | Error::Protocol(_) => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            Error::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::Storage(_) | Error::Task(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.grpc_code(), e.public_message())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Task(e.to_string())
    }
}

impl From<IncidentError> for Error {
    fn from(e: IncidentError) -> Self {
        match e {
            IncidentError::NotFound(id) => Error::NotFound(format!("no incident with id {id}")),
            IncidentError::IllegalTransition { message, .. } => Error::Conflict(message),
            IncidentError::Invalid(m) => Error::InvalidRequest(m),
            IncidentError::Storage(s) => Error::Storage(s),
        }
    }
}

impl From<MaintenanceError> for Error {
    fn from(e: MaintenanceError) -> Self {
        match e {
            MaintenanceError::Invalid(m) => Error::InvalidRequest(m),
            MaintenanceError::NotFound(id) => {
                Error::NotFound(format!("no maintenance window with id {id}"))
            }
            MaintenanceError::Storage(s) => Error::Storage(s),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.http();
        (
            status,
            Json(json!({"error": {"code": code, "message": self.public_message()}})),
        )
            .into_response()
    }
}
