//! The rules file (TOML): `[[rule]]` tables, `[flapping]`, `[no_data]` and
//! `[defaults]`, merged with the built-in rules into a [`RuleSet`].
//!
//! ```toml
//! [defaults]
//! enabled = true               # false drops every built-in rule
//!
//! [[rule]]
//! name = "filesystem_full"     # same name as a built-in: replaces it whole
//! selector = 'node_filesystem_used_percent{fstype!="nfs"}'
//! ci_class = "host"            # optional
//! comparison = ">"             # > (default), >=, <, <=
//! thresholds = { warning = 80, general = 90, major = 95 }
//! critical_severity = "major"  # optional: the severity on a CI whose
//!                              # criticality is critical, if higher
//! for = "5m"                   # default 0s: the first breaching sample fires
//! recovery = 75                # default: the lowest threshold
//! recover_for = "2m"           # default 0s
//! rate = "1m"                  # or delta = "1m"; optional
//! object_labels = ["mountpoint"]
//! title = "{{labels.mountpoint}} on {{ci}} is {{value}}% full"
//! description = "..."
//!
//! [[rule]]
//! name = "cpu_high"
//! enabled = false              # switches a built-in off
//!
//! [flapping]
//! window = "10m"
//! max_transitions = 5
//!
//! [no_data]
//! enabled = true
//! severity = "major"
//! min_silence = "60s"
//! intervals = 3
//! startup_grace = "2m"
//! ```
//!
//! Every problem is reported, each prefixed with the rule and the key.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use toml::{Table, Value};

use super::defaults::builtin_rules;
use super::error::RulesError;
use super::fields::Fields;
use super::rule::{FlapConfig, NoDataConfig, Rule, RuleSet};
use super::validate::{self, Parsed};

const TOP_KEYS: &[&str] = &["rule", "flapping", "no_data", "defaults"];

/// Reads and validates a rules file; every problem is listed.
pub fn load(path: &Path) -> Result<RuleSet, RulesError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![format!("{}: cannot read file: {e}", path.display())])?;
    parse(&text)
}

/// Parses and validates rules-file text merged with the built-in rules.
pub fn parse(text: &str) -> Result<RuleSet, RulesError> {
    let table: Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e
            .span()
            .map(|s| line_col(text, s.start))
            .unwrap_or_default();
        vec![format!(
            "line {}, column {}: {}",
            at.0,
            at.1,
            e.message().trim()
        )]
    })?;
    let mut p = Vec::new();
    for key in table.keys() {
        if !TOP_KEYS.contains(&key.as_str()) {
            p.push(format!(
                "{key}: unknown key (known: {})",
                TOP_KEYS.join(", ")
            ));
        }
    }
    let defaults_enabled = section(&table, "defaults", &mut p, |f| {
        f.reject_unknown(&["enabled"], "unknown key");
        f.get("enabled").unwrap_or(true)
    })
    .unwrap_or(true);
    let flapping = section(&table, "flapping", &mut p, flapping).unwrap_or_default();
    let no_data = section(&table, "no_data", &mut p, no_data).unwrap_or_default();

    let builtins = builtin_rules();
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    if defaults_enabled {
        rules.extend(builtins.iter().map(|r| (r.name.clone(), r.clone())));
    }
    duplicate_names(&table, &mut p);
    for parsed in parse_rules(&table, &mut p) {
        match parsed {
            Parsed::Rule(r) => {
                rules.insert(r.name.clone(), *r);
            }
            Parsed::Disable(n) => match builtins.iter().find(|r| r.name == n) {
                Some(b) => {
                    let mut off = b.clone();
                    off.enabled = false;
                    rules.insert(n, off);
                }
                None => p.push(format!(
                    "rule {n:?}: enabled: `enabled = false` without a selector switches off a built-in rule, and there is no built-in rule {n:?}"
                )),
            },
        }
    }
    if !p.is_empty() {
        return Err(p.into());
    }
    Ok(RuleSet {
        rules: rules.into_values().collect(),
        flapping,
        no_data,
    })
}

/// Reads the optional table `key` with `read`, problems prefixed `key.`.
fn section<T>(
    table: &Table,
    key: &str,
    p: &mut Vec<String>,
    read: impl FnOnce(&mut Fields<'_>) -> T,
) -> Option<T> {
    match table.get(key)? {
        Value::Table(t) => Some(read(&mut Fields::new(t, format!("{key}."), p))),
        _ => {
            p.push(format!("{key}: must be a table ([{key}])"));
            None
        }
    }
}

/// `[flapping]`
fn flapping(f: &mut Fields<'_>) -> FlapConfig {
    f.reject_unknown(&["enabled", "window", "max_transitions"], "unknown key");
    let d = FlapConfig::default();
    let c = FlapConfig {
        enabled: f.get("enabled").unwrap_or(d.enabled),
        window: f.duration("window").unwrap_or(d.window),
        max_transitions: f.get("max_transitions").unwrap_or(d.max_transitions),
    };
    if c.window.is_zero() {
        f.problem("window", "must be longer than 0s");
    }
    if c.max_transitions == 0 {
        f.problem("max_transitions", "must be at least 1");
    }
    c
}

/// `[no_data]`
fn no_data(f: &mut Fields<'_>) -> NoDataConfig {
    let keys = [
        "enabled",
        "severity",
        "min_silence",
        "intervals",
        "startup_grace",
    ];
    f.reject_unknown(&keys, "unknown key");
    let d = NoDataConfig::default();
    let c = NoDataConfig {
        enabled: f.get("enabled").unwrap_or(d.enabled),
        severity: f.get("severity").unwrap_or(d.severity),
        min_silence: f.duration("min_silence").unwrap_or(d.min_silence),
        intervals: f.get("intervals").unwrap_or(d.intervals),
        startup_grace: f.duration("startup_grace").unwrap_or(d.startup_grace),
    };
    if c.intervals == 0 {
        f.problem("intervals", "must be at least 1");
    }
    if c.min_silence < Duration::from_secs(1) {
        f.problem("min_silence", "must be at least 1s");
    }
    c
}

/// The valid `[[rule]]` tables of a parsed file; problems are added to `p`.
pub(crate) fn parse_rules(table: &Table, p: &mut Vec<String>) -> Vec<Parsed> {
    let rules = match table.get("rule") {
        None => return Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            p.push("rule: must be an array of tables ([[rule]])".into());
            return Vec::new();
        }
    };
    rules
        .iter()
        .enumerate()
        .filter_map(|(i, v)| validate::rule(v, i, p))
        .collect()
}

/// Reports every name given to more than one `[[rule]]`.
fn duplicate_names(table: &Table, p: &mut Vec<String>) {
    let Some(Value::Array(rules)) = table.get("rule") else {
        return;
    };
    let mut seen: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(name) = rule.get("name").and_then(Value::as_str) {
            seen.entry(name).or_default().push(i + 1);
        }
    }
    for (name, at) in seen.into_iter().filter(|(_, at)| at.len() > 1) {
        let at: Vec<_> = at.iter().map(|i| format!("#{i}")).collect();
        p.push(format!(
            "rule {name:?}: name: defined more than once (rules {})",
            at.join(", ")
        ));
    }
}

/// 1-based line and column of byte `pos`.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let before = &text[..pos.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
