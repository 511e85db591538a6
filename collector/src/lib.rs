//! Tocsin collector: the top of the collector's crates.
//!
//! Data flows one way: [`ingest`] (gRPC, validation) → `tocsin-storage`
//! (durable write, series index, samples) and `tocsin-cmdb` (CIs) →
//! [`alerting`] (`tocsin-rules` → `tocsin-incidents` → `tocsin-notify`);
//! [`api`] serves the HTTP API over them with `tocsin-query`. [`server`]
//! wires them together from the [`config`]; [`error`] is the one place where
//! error kinds become gRPC and HTTP statuses.

pub mod alerting;
pub mod api;
pub mod config;
pub mod error;
pub mod ingest;
pub mod metrics;
pub mod server;
pub mod startup;
