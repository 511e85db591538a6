//! Prometheus-compatible query layer: parsing of selectors and scalar
//! arithmetic, time parsing and evaluation of instant and range queries
//! over a [`SeriesSource`].

use thiserror::Error;

pub use tocsin_model::{Labels, SeriesId};

/// What the query engine needs from storage.
pub trait SeriesSource: Send + Sync {
    /// Series whose labels satisfy every matcher (matchers follow Prometheus
    /// semantics: a missing label has the value "").
    fn select(&self, matchers: &[selector::Matcher])
    -> Result<Vec<(SeriesId, Labels)>, QueryError>;
    /// Samples of one series with `start_ms <= t <= end_ms`, in time order.
    fn samples(
        &self,
        id: SeriesId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(i64, f64)>, QueryError>;
    /// All label names in use, sorted (including `__name__`).
    fn label_names(&self) -> Result<Vec<String>, QueryError>;
    /// All values of one label, sorted.
    fn label_values(&self, name: &str) -> Result<Vec<String>, QueryError>;
}

/// Errors of the query layer, mapped to Prometheus `errorType`s in `api::prom`.
#[derive(Debug, Error)]
pub enum QueryError {
    /// The request is malformed (Prometheus `bad_data`, HTTP 400).
    #[error("{0}")]
    BadData(String),
    /// The query is valid but cannot be executed (Prometheus `execution`, HTTP 422).
    #[error("{0}")]
    Execution(String),
    /// Storage failed; details are logged, not shown to API users (HTTP 500).
    #[error("internal storage error: {0}")]
    Internal(String),
}

impl From<tocsin_model::series::InvalidRegex> for QueryError {
    fn from(e: tocsin_model::series::InvalidRegex) -> Self {
        QueryError::BadData(e.0)
    }
}

impl tocsin_model::Kinded for QueryError {
    fn kind(&self) -> tocsin_model::ErrorKind {
        match self {
            QueryError::BadData(_) | QueryError::Execution(_) => tocsin_model::ErrorKind::Invalid,
            QueryError::Internal(_) => tocsin_model::ErrorKind::Internal,
        }
    }
}

pub mod eval;
pub mod expr;
pub mod format;
pub mod mem;
mod number;
pub mod request;
pub mod selector;
mod storage_source;
mod strlit;
