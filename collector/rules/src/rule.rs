//! A validated rule and the rule set the evaluator runs: what a rule
//! selects, when its condition holds and when it counts as cleared.

use std::time::Duration;

use serde::Serialize;

use super::template::Template;
use tocsin_model::event::Severity;
pub use tocsin_model::rule::{
    Comparison, FlapConfig, NoDataConfig, RuleInfo, Thresholds, Transform,
};
use tocsin_model::{METRIC_NAME, MatchOp, Matcher};

/// Labels that describe the CI as a whole rather than an object inside it;
/// they are left out of a rule's object when `object_labels` is not given
/// (`__name__` too, unless the selector matches several metric names).
/// (`host` names the CI itself; the rest are the usual deployment-wide labels
/// set in an agent's `[labels]`.)
pub const CI_WIDE_LABELS: &[&str] = &[
    "__name__",
    "host",
    "instance",
    "job",
    "env",
    "environment",
    "dc",
    "datacenter",
    "region",
    "zone",
    "site",
    "rack",
    "cluster",
    "team",
    "owner",
];

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Unique name, `[a-z0-9_]+`.
    pub name: String,
    /// The selector as written.
    pub selector: String,
    /// The parsed selector.
    #[serde(skip)]
    pub matchers: Vec<Matcher>,
    /// Only series of CIs of this class.
    pub ci_class: Option<String>,
    /// Comparison with the thresholds.
    pub comparison: Comparison,
    /// Threshold per severity.
    pub thresholds: Thresholds,
    /// When the CI of the event has criticality `critical`, the event fires
    /// at this severity instead of the crossed one, if it is higher (the
    /// threshold stays the crossed one). Applied by the incident manager.
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
    /// Labels identifying the object inside the CI; `None`: every label
    /// except [`CI_WIDE_LABELS`]. They should tell the rule's series of one
    /// CI apart: series sharing an object share the event key.
    pub object_labels: Option<Vec<String>>,
    /// Title template.
    pub title: Template,
    /// Description template.
    pub description: Template,
    /// Whether the rule is evaluated.
    pub enabled: bool,
    /// Whether the rule is one of the built-in defaults (not from the file).
    pub builtin: bool,
}

impl Rule {
    /// Whether the rule applies to a series of a CI of class `ci_class`.
    pub fn selects(&self, labels: &[(String, String)], ci_class: &str) -> bool {
        self.ci_class.as_deref().is_none_or(|c| c == ci_class)
            && self.matchers.iter().all(|m| m.matches_labels(labels))
    }

    /// The object labels of a series (sorted by name; absent labels omitted).
    pub fn object_of(&self, labels: &[(String, String)]) -> Vec<(String, String)> {
        match &self.object_labels {
            None => {
                // A selector that does not fix the metric name can match
                // several metrics of one object: the name then identifies.
                let fixed_name = self
                    .matchers
                    .iter()
                    .any(|m| m.name == METRIC_NAME && m.op == MatchOp::Equal);
                labels
                    .iter()
                    .filter(|(n, _)| {
                        (n == METRIC_NAME && !fixed_name) || !CI_WIDE_LABELS.contains(&n.as_str())
                    })
                    .cloned()
                    .collect()
            }
            Some(names) => {
                let mut object: Vec<_> = labels
                    .iter()
                    .filter(|(n, _)| names.contains(n))
                    .cloned()
                    .collect();
                object.sort();
                object
            }
        }
    }

    /// The highest severity whose threshold `value` crosses, with that threshold.
    #[inline]
    pub fn breached(&self, value: f64) -> Option<(Severity, f64)> {
        let t = &self.thresholds;
        [
            (Severity::Major, t.major),
            (Severity::General, t.general),
            (Severity::Warning, t.warning),
        ]
        .into_iter()
        .find_map(|(s, t)| {
            t.filter(|&t| self.comparison.holds(value, t))
                .map(|t| (s, t))
        })
    }

    /// Whether `value` is past the recovery threshold (the condition cleared).
    #[inline]
    pub fn cleared(&self, value: f64) -> bool {
        !value.is_nan() && !self.comparison.holds(value, self.recovery)
    }

    /// `for` in milliseconds.
    pub fn for_ms(&self) -> i64 {
        millis(self.for_)
    }

    /// `recover_for` in milliseconds.
    pub fn recover_for_ms(&self) -> i64 {
        millis(self.recover_for)
    }

    /// The rule as the API serves it.
    pub fn info(&self) -> RuleInfo {
        RuleInfo {
            name: self.name.clone(),
            selector: self.selector.clone(),
            ci_class: self.ci_class.clone(),
            comparison: self.comparison,
            thresholds: self.thresholds,
            critical_severity: self.critical_severity,
            for_: self.for_,
            recovery: self.recovery,
            recover_for: self.recover_for,
            transform: self.transform,
            object_labels: self.object_labels.clone(),
            title: self.title.source().to_string(),
            description: self.description.source().to_string(),
            enabled: self.enabled,
            builtin: self.builtin,
        }
    }
}

/// A duration in ms, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Name of the built-in no-data rule.
pub const AGENT_LOST: &str = "agent_lost";

/// Built-in defaults merged with the rules file.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleSet {
    /// Every rule, built-in and from the file, enabled or not, sorted by name.
    pub rules: Vec<Rule>,
    /// Flap detection settings.
    pub flapping: FlapConfig,
    /// The no-data (`agent_lost`) rule.
    pub no_data: NoDataConfig,
}

impl RuleSet {
    /// The rule named `name`.
    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }
}
