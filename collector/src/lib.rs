//! Tocsin collector: gRPC ingest, RocksDB storage, CMDB and the HTTP API.
//!
//! Data flows one way: [`ingest`] (gRPC, validation) → [`storage`] (durable
//! write, series index, samples) and [`cmdb`] (CIs); [`api`] and [`query`]
//! read. [`server`] wires them together.

pub mod alerting;
pub mod api;
pub mod cli;
pub mod cmdb;
pub mod config;
pub mod error;
pub mod incidents;
pub mod ingest;
pub mod metrics;
pub mod notify;
pub mod query;
pub mod rules;
pub mod server;
pub mod storage;
pub mod time;
