//! `tocsinctl` support: the HTTP client of the collector API and the text
//! rendering of its answers.

pub mod actions;
pub mod client;
pub mod cmdb;
pub mod format;
pub mod incident;
pub mod incidents;
pub mod maintenance;
pub mod notify;
pub mod pretty;
pub mod problems;
pub mod promql;
pub mod rules;
pub mod table;
