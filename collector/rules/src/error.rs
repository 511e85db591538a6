//! The rules crate's error: a rules file that cannot be used.

use tocsin_model::{ErrorKind, Kinded};

/// A rules file was rejected; every problem is listed, each prefixed with
/// the rule and the key (`rule "cpu": for: …`). The rules in force stay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rules file rejected: {}", problems.join("; "))]
pub struct RulesError {
    /// Every problem found.
    pub problems: Vec<String>,
}

impl From<Vec<String>> for RulesError {
    fn from(problems: Vec<String>) -> Self {
        Self { problems }
    }
}

impl Kinded for RulesError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}
