//! What kind of failure an error is. Every crate's error states its kind;
//! the collector maps kinds to gRPC and HTTP statuses in exactly one place.

/// The kind of a failure, as a client should understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Something asked for does not exist.
    NotFound,
    /// The request conflicts with the current state (e.g. acknowledging a closed incident).
    Conflict,
    /// The request or the data is malformed; retrying it unchanged will not help.
    Invalid,
    /// A dependency is not available now; retrying later may help.
    Unavailable,
    /// A fault inside the collector (storage, a task); details stay in the log.
    Internal,
}

/// An error that states its [`ErrorKind`].
pub trait Kinded {
    /// The kind of this error.
    fn kind(&self) -> ErrorKind;
}
