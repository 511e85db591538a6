//! Threshold rules evaluated on every ingested sample (being written).

pub mod event;
