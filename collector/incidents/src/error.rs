//! Errors of the incident manager's actions.

use thiserror::Error;

use tocsin_model::{ErrorKind, Kinded};
use tocsin_storage::StorageError;

/// Why an action on an incident was refused or failed. Nothing changed
/// unless the error is [`IncidentError::Storage`] (then nothing is known
/// to have changed: the write was atomic).
#[derive(Debug, Error)]
pub enum IncidentError {
    /// No incident has this id (HTTP 404).
    #[error("no incident with id {0}")]
    NotFound(u64),
    /// The incident's state does not allow the action (HTTP 409), e.g.
    /// `incident 42 is closed; it cannot be acknowledged`.
    #[error("{message}")]
    IllegalTransition {
        /// The incident.
        id: u64,
        /// What is wrong, as a sentence for the user.
        message: String,
    },
    /// The request is malformed, e.g. an empty note (HTTP 400).
    #[error("{0}")]
    Invalid(String),
    /// The store failed (HTTP 500).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Kinded for IncidentError {
    fn kind(&self) -> ErrorKind {
        match self {
            IncidentError::NotFound(_) => ErrorKind::NotFound,
            IncidentError::IllegalTransition { .. } => ErrorKind::Conflict,
            IncidentError::Invalid(_) => ErrorKind::Invalid,
            IncidentError::Storage(e) => e.kind(),
        }
    }
}
