//! What rule evaluation tells the incident manager: the contract between
//! `rules` (which decides that a condition holds) and `incidents` (which
//! decides what that means for people).

use serde::{Deserialize, Serialize};

use crate::series::Labels;

/// Severity levels (DESIGN.md): warning < general < major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// 预警: an early-warning threshold; people are told, no SLA clock runs.
    Warning,
    /// 一般故障: an auxiliary subsystem fails without stopping the business.
    General,
    /// 重大故障: a whole business system is down.
    Major,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Warning, Severity::General, Severity::Major];

    /// The lowercase name used in config files and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::General => "general",
            Severity::Major => "major",
        }
    }
}

/// One decision of the evaluator about one rule on one object of one CI.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvent {
    /// Rule name.
    pub rule: String,
    /// The CI the data belongs to.
    pub ci_id: String,
    /// Labels identifying the object inside the CI (e.g. `mountpoint="/"`),
    /// sorted by name; empty for CI-wide conditions.
    pub object: Labels,
    /// Deterministic deduplication key: rule + CI + object labels. The same
    /// fault always yields the same key, across restarts and resends.
    pub key: String,
    /// Time of the sample (or clock tick, for no-data rules) that caused it, ms.
    pub at_ms: i64,
    /// What happened.
    pub kind: EventKind,
}

/// See [`RuleEvent`].
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The condition holds (it held for the rule's `for`). Sent when it first
    /// fires, when the crossed severity changes, and for every further
    /// breaching sample (a value update).
    Firing {
        /// Highest severity whose threshold is crossed.
        severity: Severity,
        /// The evaluated value (after rate/delta, if the rule has one).
        value: f64,
        /// The threshold of `severity`.
        threshold: f64,
        /// The rule's `critical_severity`: the severity to fire at instead
        /// when the CI's criticality is `critical` (and it is higher).
        critical_severity: Option<Severity>,
        /// Rendered title template.
        title: String,
        /// Rendered description template.
        description: String,
    },
    /// The recovery condition held for the rule's `recover_for`.
    Resolved {
        /// The value that completed the recovery.
        value: f64,
    },
    /// The rule/CI pair changes state too often (or calmed down again). While
    /// flapping, the evaluator keeps the incident firing and reports the
    /// transitions instead of resolving and re-opening it.
    Flapping {
        /// Whether the pair is flapping now.
        flapping: bool,
        /// State changes counted in the flap window.
        transitions: u32,
    },
}

/// A deterministic key for `rule` on `ci_id` and its object labels.
pub fn dedup_key(rule: &str, ci_id: &str, object: &[(String, String)]) -> String {
    let mut key = format!("{rule}/{ci_id}");
    for (name, value) in object {
        key.push('/');
        key.push_str(name);
        key.push('=');
        key.push_str(value);
    }
    key
}
