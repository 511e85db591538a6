//! The collector's client-facing error and the one place where error kinds
//! become gRPC and HTTP statuses. Every domain crate returns its own error
//! stating an [`ErrorKind`]; it converts into [`Error`] here. Internal details
//! are logged, not shown. The Prometheus-compatible query API answers in
//! Prometheus' own error shape ([`PromError`]), also mapped here.

use std::fmt::Display;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use thiserror::Error;
use tocsin_api_types::{ErrorBody, ErrorDetail};
use tocsin_model::{ErrorKind, Kinded};
use tocsin_query::QueryError;
use tonic::Code;

use crate::ingest::Invalid;

/// Errors the collector reports to its clients.
#[derive(Debug, Error)]
pub enum Error {
    /// A batch failed validation; nothing of it was stored.
    #[error("invalid batch: {0}")]
    InvalidBatch(Invalid),
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
    /// A dependency is not available now; retrying later may help.
    #[error("{0}")]
    Unavailable(String),
    /// A fault inside the collector (the store failed, a task panicked).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidBatch(_) | Error::InvalidRequest(_) => ErrorKind::Invalid,
            // The stream is in the wrong state for the message: a failed precondition.
            Error::Protocol(_) | Error::Conflict(_) => ErrorKind::Conflict,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The gRPC code of this error.
    pub fn grpc_code(&self) -> Code {
        match self.kind() {
            ErrorKind::Invalid => Code::InvalidArgument,
            ErrorKind::Conflict => Code::FailedPrecondition,
            ErrorKind::NotFound => Code::NotFound,
            ErrorKind::Unavailable => Code::Unavailable,
            ErrorKind::Internal => Code::Internal,
        }
    }

    /// The message shown to clients: internal details stay in the log.
    pub fn public_message(&self) -> String {
        match self.kind() {
            ErrorKind::Internal => {
                tracing::error!(error = %self, "internal error");
                "internal error; see the collector log".to_string()
            }
            _ => self.to_string(),
        }
    }

    fn http(&self) -> (StatusCode, &'static str) {
        match self.kind() {
            ErrorKind::Invalid => (StatusCode::BAD_REQUEST, "bad_request"),
            ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorKind::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl Error {
    /// The client-facing error of a domain error: its kind, its message.
    pub fn of<E: Kinded + Display>(e: &E) -> Self {
        let message = e.to_string();
        match e.kind() {
            ErrorKind::Invalid => Error::InvalidRequest(message),
            ErrorKind::NotFound => Error::NotFound(message),
            ErrorKind::Conflict => Error::Conflict(message),
            ErrorKind::Unavailable => Error::Unavailable(message),
            ErrorKind::Internal => Error::Internal(message),
        }
    }
}

/// Every domain crate's error converts by its kind (`?` in handlers and the ingest service).
macro_rules! from_kinded {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::of(&e)
            }
        }
    )*};
}

from_kinded!(
    tocsin_storage::StorageError,
    tocsin_cmdb::CmdbError,
    tocsin_incidents::IncidentError,
    tocsin_incidents::maintenance::MaintenanceError,
    tocsin_notify::NotifyError,
    tocsin_rules::RulesError,
);

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::InvalidBatch(e)
    }
}

impl From<Error> for tonic::Status {
    fn from(e: Error) -> Self {
        tonic::Status::new(e.grpc_code(), e.public_message())
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("internal task failed: {e}"))
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.http();
        (
            status,
            Json(ErrorBody {
                error: ErrorDetail {
                    code: code.to_string(),
                    message: self.public_message(),
                },
            }),
        )
            .into_response()
    }
}

/// A query error as the Prometheus-compatible API answers it.
#[derive(Debug)]
pub struct PromError(pub QueryError);

impl From<QueryError> for PromError {
    fn from(e: QueryError) -> Self {
        PromError(e)
    }
}

/// Query errors become HTTP responses in Prometheus' shape:
/// `{"status":"error","errorType":"bad_data","error":"..."}`.
impl IntoResponse for PromError {
    fn into_response(self) -> Response {
        let (status, kind, message) = match self.0 {
            QueryError::BadData(m) => (StatusCode::BAD_REQUEST, "bad_data", m),
            QueryError::Execution(m) => (StatusCode::UNPROCESSABLE_ENTITY, "execution", m),
            QueryError::Internal(detail) => {
                tracing::error!(error = %detail, "query failed on a storage error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal server error; see the collector log".to_string(),
                )
            }
        };
        let body = tocsin_api_types::prom::PromErrorBody {
            status: "error".to_string(),
            error_type: kind.to_string(),
            error: message,
        };
        (status, axum::Json(body)).into_response()
    }
}
