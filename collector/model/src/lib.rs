//! Tocsin's shared vocabulary, at the bottom of the collector's crates: every
//! other crate may use it and it uses none of them.
//!
//! - [`series`]: series ids, label sets and label matchers;
//! - [`event`]: severities and the rule events the rules hand to incidents;
//! - [`ci`]: configuration items, their relations and change records;
//! - [`incident`]: incidents, their SLA state and timeline;
//! - [`maintenance`]: maintenance windows; [`problem`]: problem records;
//! - [`rule`]: threshold rules and their settings as the API serves them;
//! - [`notification`]: notifications and their delivery state in the outbox;
//! - [`receiver`]: notification receivers as the API shows them;
//! - [`time`]: Unix milliseconds, the injectable [`time::Clock`], RFC 3339 text and date math;
//! - [`prom_time`]: Prometheus' time, duration and value text formats;
//! - [`error`]: the kinds every crate's errors are sorted into.

pub mod ci;
pub mod error;
pub mod event;
pub mod incident;
pub mod maintenance;
pub mod notification;
pub mod problem;
pub mod prom_time;
pub mod receiver;
pub mod rule;
pub mod series;
pub mod time;

pub use ci::{Change, Ci, CiDetail, DeviceEventRecord, Relation};
pub use error::{ErrorKind, Kinded};
pub use event::{EventKind, RuleEvent, Severity, dedup_key};
pub use incident::{
    CiSnapshot, Coverage, Criticality, Incident, IncidentDetail, Priority, SlaStage, SlaState,
    StageStatus, Status, TimelineEntry, TimelineKind,
};
pub use maintenance::{MaintenanceWindow, NewWindow};
pub use problem::{Problem, ProblemStatus};
pub use rule::RuleInfo;
pub use series::{Labels, METRIC_NAME, MatchOp, Matcher, SeriesId};
