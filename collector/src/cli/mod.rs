//! `tocsinctl` support: the HTTP client of the collector API and the text
//! rendering of its answers.

pub mod client;
pub mod cmdb;
pub mod pretty;
pub mod promql;
pub mod table;
