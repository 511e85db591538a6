//! Errors of the notification subsystem, each of a stated [`ErrorKind`].

use thiserror::Error;
use tocsin_model::{ErrorKind, Kinded};
use tocsin_storage::StorageError;

/// What can go wrong opening the subsystem or acting on notifications.
#[derive(Debug, Error)]
pub enum NotifyError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The `[notify]` configuration cannot be used; the message names every problem.
    #[error("{0}")]
    Config(String),
    /// A notification or receiver asked for does not exist.
    #[error("{0}")]
    NotFound(String),
}

impl Kinded for NotifyError {
    fn kind(&self) -> ErrorKind {
        match self {
            NotifyError::Storage(e) => e.kind(),
            NotifyError::Config(_) => ErrorKind::Invalid,
            NotifyError::NotFound(_) => ErrorKind::NotFound,
        }
    }
}
