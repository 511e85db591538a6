//! Helpers shared by the evaluator's tests.

use super::config::parse;
use super::eval::{Evaluator, SeriesInfo};
use super::rule::RuleSet;
use tocsin_model::Labels;
use tocsin_model::event::{EventKind, RuleEvent};

/// A rule set of `toml` without the built-in rules.
pub(crate) fn rules(toml: &str) -> RuleSet {
    parse(&format!("[defaults]\nenabled = false\n{toml}")).unwrap()
}

/// Sorted labels.
pub(crate) fn labels(pairs: &[(&str, &str)]) -> Labels {
    let mut l: Labels = pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    l.sort();
    l
}

/// A series of CI `h1` (class host, name web01).
pub(crate) struct Series {
    pub(crate) id: u64,
    pub(crate) labels: Labels,
}

impl Series {
    pub(crate) fn new(id: u64, pairs: &[(&str, &str)]) -> Self {
        Self {
            id,
            labels: labels(pairs),
        }
    }

    pub(crate) fn info(&self) -> SeriesInfo<'_> {
        SeriesInfo {
            series_id: self.id,
            labels: &self.labels,
            ci_id: "h1",
            ci_class: "host",
            ci_name: "web01",
        }
    }

    /// Feeds `(seconds, value)` samples; returns the events in short form.
    pub(crate) fn feed(&self, ev: &Evaluator, samples: &[(i64, f64)]) -> Vec<String> {
        samples
            .iter()
            .flat_map(|&(t, v)| ev.observe(&self.info(), t * 1000, v))
            .map(|e| short(&e))
            .collect()
    }
}

/// `"{seconds}:fire:{severity}:{value}"`, `"{s}:resolved:{value}"`, `"{s}:flapping:{bool}"`.
pub(crate) fn short(e: &RuleEvent) -> String {
    let t = e.at_ms / 1000;
    match &e.kind {
        EventKind::Firing {
            severity, value, ..
        } => format!("{t}:fire:{}:{value}", severity.as_str()),
        EventKind::Resolved { value } => format!("{t}:resolved:{value}"),
        EventKind::Flapping { flapping, .. } => format!("{t}:flapping:{flapping}"),
    }
}

/// A CPU rule: 80/90/95, recovery 70.
pub(crate) const CPU: &str = r#"
[[rule]]
name = "cpu"
selector = "node_cpu_usage_percent"
thresholds = { warning = 80, general = 90, major = 95 }
recovery = 70
"#;

/// A series the CPU rule selects.
pub(crate) fn cpu() -> Series {
    Series::new(
        1,
        &[("__name__", "node_cpu_usage_percent"), ("host", "web01")],
    )
}
