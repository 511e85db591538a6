//! One `[[rule]]` table → a [`Rule`], collecting every problem, each
//! prefixed with the rule's name and the key.

use toml::Value;

use super::fields::Fields;
use super::rule::{Comparison, Rule, Thresholds, Transform};
use super::template::{Template, is_label_name};
use tocsin_model::event::Severity;
use tocsin_query::selector::{self, METRIC_NAME};

/// Keys a `[[rule]]` table may have.
pub(crate) const RULE_KEYS: &[&str] = &[
    "name",
    "selector",
    "ci_class",
    "comparison",
    "thresholds",
    "critical_severity",
    "for",
    "recovery",
    "recover_for",
    "rate",
    "delta",
    "object_labels",
    "title",
    "description",
    "enabled",
];

const THRESHOLD_KEYS: &[&str] = &["warning", "general", "major"];

/// Title used when a rule has none.
pub(crate) const DEFAULT_TITLE: &str =
    "{{rule}} on {{ci}}: {{value}} ({{severity}} threshold {{threshold}})";
/// Description used when a rule has none.
pub(crate) const DEFAULT_DESCRIPTION: &str = "Rule {{rule}} crossed its {{severity}} threshold {{threshold}} on {{ci}} {{object}}: the value is {{value}}.";

/// What one table of the file says.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A complete rule.
    Rule(Box<Rule>),
    /// `name` + `enabled = false` only: switches off the built-in rule of that name.
    Disable(String),
}

/// Validates the `index`-th (0-based) `[[rule]]` table.
pub(crate) fn rule(value: &Value, index: usize, problems: &mut Vec<String>) -> Option<Parsed> {
    let Some(table) = value.as_table() else {
        problems.push(format!("rule #{}: must be a table", index + 1));
        return None;
    };
    let before = problems.len();
    let name = table.get("name").and_then(Value::as_str);
    let prefix = match name {
        Some(n) => format!("rule {n:?}: "),
        None => format!("rule #{}: ", index + 1),
    };
    let mut f = Fields {
        table,
        prefix,
        problems,
    };
    for key in table.keys() {
        if !RULE_KEYS.contains(&key.as_str()) {
            f.problem(
                key,
                format!("unknown key (known: {})", RULE_KEYS.join(", ")),
            );
        }
    }
    let name: Option<String> = f.get("name");
    match &name {
        None if !table.contains_key("name") => f.problem("name", "missing"),
        Some(n) if !valid_name(n) => f.problem("name", format!("{n:?} must match [a-z0-9_]+")),
        Some(n) if n == super::rule::AGENT_LOST => f.problem(
            "name",
            "\"agent_lost\" is the built-in no-data rule; configure it in [no_data]",
        ),
        _ => {}
    }
    let enabled = f.get::<bool>("enabled").unwrap_or(true);
    if !enabled && table.keys().all(|k| k == "name" || k == "enabled") {
        return name
            .filter(|_| f.problems.len() == before)
            .map(Parsed::Disable);
    }

    let selector: Option<String> = f.get("selector");
    let matchers = match &selector {
        None if !table.contains_key("selector") => {
            f.problem("selector", "missing");
            None
        }
        None => None,
        Some(s) => selector::parse(s)
            .map_err(|e| f.problem("selector", e))
            .ok(),
    };
    let ci_class: Option<String> = f.get("ci_class");
    if ci_class.as_deref() == Some("") {
        f.problem("ci_class", "must not be empty");
    }
    let comparison = match f.get::<String>("comparison") {
        None => Some(Comparison::Gt),
        Some(s) => Comparison::parse(&s).or_else(|| {
            f.problem(
                "comparison",
                format!("{s:?} must be one of \">\", \">=\", \"<\", \"<=\""),
            );
            None
        }),
    };
    let thresholds = thresholds(&mut f, comparison.unwrap_or(Comparison::Gt));
    let critical_severity = critical_severity(&mut f, thresholds);
    let for_ = f.duration("for").unwrap_or_default();
    let recover_for = f.duration("recover_for").unwrap_or_default();
    let recovery = recovery(&mut f, comparison, thresholds);
    let transform = transform(&mut f);
    let object_labels = object_labels(&mut f);
    let title = template(&mut f, "title", DEFAULT_TITLE);
    let description = template(&mut f, "description", DEFAULT_DESCRIPTION);

    if f.problems.len() != before {
        return None;
    }
    Some(Parsed::Rule(Box::new(Rule {
        name: name?,
        selector: selector?,
        matchers: matchers?,
        ci_class,
        comparison: comparison?,
        thresholds: thresholds?,
        critical_severity,
        for_,
        recovery: recovery?,
        recover_for,
        transform,
        object_labels,
        title: title?,
        description: description?,
        enabled,
        builtin: false,
    })))
}

/// `[a-z0-9_]+`
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn template(f: &mut Fields<'_>, key: &str, default: &str) -> Option<Template> {
    let text = f.get::<String>(key).unwrap_or_else(|| default.to_string());
    Template::parse(&text).map_err(|e| f.problem(key, e)).ok()
}

fn thresholds(f: &mut Fields<'_>, cmp: Comparison) -> Option<Thresholds> {
    let Some(value) = f.table.get("thresholds") else {
        f.problem(
            "thresholds",
            "missing (set at least one of warning, general, major)",
        );
        return None;
    };
    let Some(table) = value.as_table() else {
        f.problem("thresholds", "must be a table such as { warning = 80 }");
        return None;
    };
    let prefix = format!("{}thresholds.", f.prefix);
    let mut sub = Fields::new(table, prefix, f.problems);
    let mut ok = sub.reject_unknown(THRESHOLD_KEYS, "unknown severity");
    let mut one = |key: &str| {
        let v = sub.get::<f64>(key);
        if v.is_some_and(|v| !v.is_finite()) {
            sub.problem(key, "must be a finite number");
            ok = false;
        }
        if table.contains_key(key) && v.is_none() {
            ok = false;
        }
        v
    };
    let t = Thresholds {
        warning: one("warning"),
        general: one("general"),
        major: one("major"),
    };
    if !ok {
        return None;
    }
    let set: Vec<_> = t.iter().collect();
    if set.is_empty() {
        f.problem("thresholds", "set at least one of warning, general, major");
        return None;
    }
    let word = if cmp.upward() { "above" } else { "below" };
    for pair in set.windows(2) {
        let ((lo_sev, lo), (hi_sev, hi)) = (pair[0], pair[1]);
        let ordered = if cmp.upward() { hi > lo } else { hi < lo };
        if !ordered {
            f.problem(
                "thresholds",
                format!(
                    "{} ({hi}) must be {word} {} ({lo}) for comparison {:?}",
                    hi_sev.as_str(),
                    lo_sev.as_str(),
                    cmp.as_str()
                ),
            );
        }
    }
    // Misordered thresholds were reported; return them anyway so that
    // `recovery` is checked too (the rule is rejected either way).
    Some(t)
}

/// `critical_severity`: a severity above the lowest one with a threshold
/// (otherwise it could never raise anything).
fn critical_severity(f: &mut Fields<'_>, t: Option<Thresholds>) -> Option<Severity> {
    let text = f.get::<String>("critical_severity")?;
    let Some(severity) = Severity::ALL.into_iter().find(|s| s.as_str() == text) else {
        f.problem(
            "critical_severity",
            format!("{text:?} must be one of warning, general, major"),
        );
        return None;
    };
    if let Some((lowest, _)) = t.and_then(|t| t.iter().next())
        && severity <= lowest
    {
        f.problem(
            "critical_severity",
            format!(
                "{text} never raises anything: it must be above the lowest severity with a threshold ({})",
                lowest.as_str()
            ),
        );
        return None;
    }
    Some(severity)
}

fn recovery(f: &mut Fields<'_>, cmp: Option<Comparison>, t: Option<Thresholds>) -> Option<f64> {
    let lowest = t.and_then(|t| t.iter().next());
    let given = f.get::<f64>("recovery");
    if f.table.contains_key("recovery") && given.is_none() {
        return None;
    }
    let Some(v) = given else {
        return lowest.map(|(_, t)| t);
    };
    if !v.is_finite() {
        f.problem("recovery", "must be a finite number");
        return None;
    }
    let (Some(cmp), Some((sev, lowest))) = (cmp, lowest) else {
        return Some(v);
    };
    let ok = if cmp.upward() {
        v <= lowest
    } else {
        v >= lowest
    };
    if !ok {
        let word = if cmp.upward() {
            "at or below"
        } else {
            "at or above"
        };
        f.problem(
            "recovery",
            format!(
                "{v} must be {word} the lowest threshold ({} {lowest}) for comparison {:?}",
                sev.as_str(),
                cmp.as_str()
            ),
        );
        return None;
    }
    Some(v)
}

fn transform(f: &mut Fields<'_>) -> Option<Transform> {
    let rate = f.duration("rate");
    let delta = f.duration("delta");
    if f.table.contains_key("rate") && f.table.contains_key("delta") {
        f.problem("delta", "set at most one of rate and delta");
        return None;
    }
    for (key, d) in [("rate", rate), ("delta", delta)] {
        if d.is_some_and(|d| d.is_zero()) {
            f.problem(key, "the window must be longer than 0s");
            return None;
        }
    }
    rate.map(Transform::Rate).or(delta.map(Transform::Delta))
}

fn object_labels(f: &mut Fields<'_>) -> Option<Vec<String>> {
    let mut labels: Vec<String> = f.get("object_labels")?;
    for l in &labels {
        if !is_label_name(l) || l.starts_with("__") && l != METRIC_NAME {
            f.problem("object_labels", format!("{l:?} is not a valid label name"));
        }
    }
    labels.sort();
    let before = labels.len();
    labels.dedup();
    if labels.len() != before {
        f.problem("object_labels", "lists a label more than once");
    }
    Some(labels)
}
