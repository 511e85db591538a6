//! Errors of the CMDB, each of a stated [`ErrorKind`].

use thiserror::Error;
use tocsin_model::{ErrorKind, Kinded};
use tocsin_storage::StorageError;

/// What can go wrong reading or changing CIs.
#[derive(Debug, Error)]
pub enum CmdbError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A CI, relation or attribute given is malformed; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// A CI or relation asked for does not exist.
    #[error("{0}")]
    NotFound(String),
}

impl Kinded for CmdbError {
    fn kind(&self) -> ErrorKind {
        match self {
            CmdbError::Storage(e) => e.kind(),
            CmdbError::Invalid(_) => ErrorKind::Invalid,
            CmdbError::NotFound(_) => ErrorKind::NotFound,
        }
    }
}
