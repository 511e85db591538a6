//! Threshold rules as the API serves them (`GET /api/v1/rules`): how a
//! value is compared, the thresholds, rate/delta transforms, and the
//! flapping and no-data settings. The rules crate validates and evaluates
//! them; its `Rule` adds the parsed selector and templates and turns into a
//! [`RuleInfo`] for the API.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::event::Severity;

/// How a value is compared with the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    /// `>`: fires above the threshold.
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `<`: fires below the threshold.
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
}

impl Comparison {
    /// Parses `>`, `>=`, `<` or `<=`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            ">" => Self::Gt,
            ">=" => Self::Ge,
            "<" => Self::Lt,
            "<=" => Self::Le,
            _ => return None,
        })
    }

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }

    /// Whether higher values are worse (`>`, `>=`).
    pub fn upward(self) -> bool {
        matches!(self, Self::Gt | Self::Ge)
    }

    /// Whether `value <op> threshold` holds. NaN never holds.
    #[inline]
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Gt => value > threshold,
            Self::Ge => value >= threshold,
            Self::Lt => value < threshold,
            Self::Le => value <= threshold,
        }
    }
}

/// Threshold per severity; at least one is set.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Thresholds {
    /// `warning` threshold.
    pub warning: Option<f64>,
    /// `general` threshold.
    pub general: Option<f64>,
    /// `major` threshold.
    pub major: Option<f64>,
}

impl Thresholds {
    /// The set thresholds, lowest severity first.
    pub fn iter(&self) -> impl Iterator<Item = (Severity, f64)> + '_ {
        [
            (Severity::Warning, self.warning),
            (Severity::General, self.general),
            (Severity::Major, self.major),
        ]
        .into_iter()
        .filter_map(|(s, t)| t.map(|t| (s, t)))
    }

    /// The threshold of `severity`, if set.
    pub fn get(&self, severity: Severity) -> Option<f64> {
        match severity {
            Severity::Warning => self.warning,
            Severity::General => self.general,
            Severity::Major => self.major,
        }
    }
}

/// Evaluate a function of the recent samples instead of the raw value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transform {
    /// Per-second rate of a counter over the window; a decrease is a reset.
    Rate(#[serde(with = "humantime_serde")] Duration),
    /// Plain change of a gauge over the window (newest − oldest sample).
    Delta(#[serde(with = "humantime_serde")] Duration),
}

/// One rule in force, as the API serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// Unique name, `[a-z0-9_]+`.
    pub name: String,
    /// The selector as written.
    pub selector: String,
    /// Only series of CIs of this class.
    pub ci_class: Option<String>,
    /// Comparison with the thresholds.
    pub comparison: Comparison,
    /// Threshold per severity.
    pub thresholds: Thresholds,
    /// The severity an event fires at on a CI of criticality `critical`, if higher.
    pub critical_severity: Option<Severity>,
    /// How long the condition must hold before firing.
    #[serde(rename = "for", with = "humantime_serde")]
    pub for_: Duration,
    /// Value at which the condition counts as cleared.
    pub recovery: f64,
    /// How long the recovery condition must hold before resolving.
    #[serde(with = "humantime_serde")]
    pub recover_for: Duration,
    /// Rate or delta over a window, if any.
    pub transform: Option<Transform>,
    /// Labels identifying the object inside the CI; `None`: every label but
    /// the CI-wide ones.
    pub object_labels: Option<Vec<String>>,
    /// Title template, as written.
    pub title: String,
    /// Description template, as written.
    pub description: String,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// Whether the rule is one of the built-in defaults (not from the file).
    pub builtin: bool,
}

/// `[flapping]`: when a rule/object counts as flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlapConfig {
    /// Whether flap detection runs.
    pub enabled: bool,
    /// The window transitions are counted in.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// More OK↔firing transitions than this in the window is flapping.
    pub max_transitions: u32,
}

impl Default for FlapConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(600),
            max_transitions: 5,
        }
    }
}

/// `[no_data]`: the built-in `agent_lost` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoDataConfig {
    /// Whether silent agents open incidents.
    pub enabled: bool,
    /// Severity of the `agent_lost` event.
    pub severity: Severity,
    /// Shortest silence that counts.
    #[serde(with = "humantime_serde")]
    pub min_silence: Duration,
    /// Silent for this many of the agent's intervals (or `min_silence`,
    /// whichever is longer).
    pub intervals: u32,
    /// Nothing fires this long after the collector started.
    #[serde(with = "humantime_serde")]
    pub startup_grace: Duration,
}

impl Default for NoDataConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            severity: Severity::Major,
            min_silence: Duration::from_secs(60),
            intervals: 3,
            startup_grace: Duration::from_secs(120),
        }
    }
}
