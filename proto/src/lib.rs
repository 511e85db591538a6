//! The Tocsin wire protocol, package `tocsin.v1`, generated at build time.

/// Version 1 of the agent <-> collector protocol.
pub mod v1 {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("tocsin.v1");
}
