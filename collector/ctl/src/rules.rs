//! Text rendering of the rules in force (`GET /api/v1/rules`) and of a
//! reload (`POST /api/v1/rules/reload`).

use super::format::{duration, number, pairs, yes_no};
use super::table::Table;
use tocsin_api_types::rules::{RuleInfo, RulesInForce, RulesReloaded, Transform};
use tocsin_model::Severity;

/// Widest cell (selectors can be long).
const MAX_CELL: usize = 70;

/// The rules as a table (NAME, SELECTOR, CLASS, THRESHOLDS, FOR, ENABLED,
/// BUILTIN), followed by the flapping and no-data settings.
pub fn render_rules(data: &RulesInForce) -> String {
    let mut t = Table::new(&[
        "NAME",
        "SELECTOR",
        "CLASS",
        "THRESHOLDS",
        "FOR",
        "ENABLED",
        "BUILTIN",
    ])
    .max_cell(MAX_CELL);
    for r in &data.rules {
        t.row([
            r.name.clone(),
            selector(r),
            r.ci_class.clone().unwrap_or_default(),
            thresholds(r),
            duration(r.for_),
            yes_no(r.enabled),
            yes_no(r.builtin),
        ]);
    }
    let mut out = if t.is_empty() {
        "no rules\n".to_string()
    } else {
        t.render()
    };
    let (flap, nd) = (&data.flapping, &data.no_data);
    let settings = [
        (
            "flapping",
            on_off(
                flap.enabled,
                format!(
                    "more than {} state changes in {}",
                    flap.max_transitions,
                    duration(flap.window)
                ),
            ),
        ),
        (
            "no data (agent_lost)",
            on_off(
                nd.enabled,
                format!(
                    "{}, silent for {} intervals and at least {}, startup grace {}",
                    nd.severity.as_str(),
                    nd.intervals,
                    duration(nd.min_silence),
                    duration(nd.startup_grace)
                ),
            ),
        ),
    ];
    out.push('\n');
    out.push_str(&pairs(&settings));
    out
}

/// The selector, wrapped as `rate(sel[1m])` / `delta(sel[1m])` when the rule
/// evaluates a rate or delta.
fn selector(r: &RuleInfo) -> String {
    match r.transform {
        Some(Transform::Rate(w)) => format!("rate({}[{}])", r.selector, duration(w)),
        Some(Transform::Delta(w)) => format!("delta({}[{}])", r.selector, duration(w)),
        None => r.selector.clone(),
    }
}

/// `>= warning 80, general 90, major 95`, and `; critical CI: major` when
/// the rule has a `critical_severity`.
fn thresholds(r: &RuleInfo) -> String {
    let set: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| Some(format!("{} {}", s.as_str(), number(r.thresholds.get(*s)?))))
        .collect();
    let mut out = format!("{} {}", r.comparison.as_str(), set.join(", "))
        .trim()
        .to_string();
    if let Some(s) = r.critical_severity {
        out.push_str(&format!("; critical CI: {}", s.as_str()));
    }
    out
}

/// `off`, or `details` when enabled.
fn on_off(enabled: bool, details: String) -> String {
    if enabled { details } else { "off".into() }
}

/// One line after a reload.
pub fn render_reload(r: &RulesReloaded) -> String {
    format!("rules reloaded: {} rules in force\n", r.rules)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use tocsin_api_types::rules::RulesAnswer;

    fn body() -> RulesInForce {
        let answer: RulesAnswer = serde_json::from_value(
            json!({"status": "success", "data": {"groups": [], "rules": [
            {"name": "filesystem_full", "selector": "node_filesystem_used_percent",
             "ci_class": null, "comparison": ">",
             "thresholds": {"warning": 80.0, "general": 90.0, "major": 95.0},
             "for": "1m", "recovery": 75.0, "recover_for": "5m", "transform": null,
             "object_labels": ["mountpoint"], "title": "t", "description": "d",
             "enabled": true, "builtin": true},
            {"name": "if_errors", "selector": "if_in_errors_total{ifName=~\"eth.*\"}",
             "ci_class": "switch", "comparison": ">=",
             "thresholds": {"warning": 0.5, "general": null, "major": 10.0},
             "for": "0s", "recovery": 0.0, "recover_for": "0s", "transform": {"rate": "5m"},
             "object_labels": null, "title": "t", "description": "d",
             "enabled": false, "builtin": false}
        ],
        "flapping": {"enabled": true, "window": "10m", "max_transitions": 5},
        "no_data": {"enabled": false, "severity": "major", "min_silence": "1m",
                    "intervals": 3, "startup_grace": "2m"}}}),
        )
        .unwrap();
        answer.data
    }

    #[test]
    fn rules_table() {
        assert_eq!(
            render_rules(&body()),
            "\
NAME             SELECTOR                                       CLASS   THRESHOLDS                          FOR  ENABLED  BUILTIN
filesystem_full  node_filesystem_used_percent                           > warning 80, general 90, major 95  1m   yes      yes
if_errors        rate(if_in_errors_total{ifName=~\"eth.*\"}[5m])  switch  >= warning 0.5, major 10            0s   no       no

  flapping              more than 5 state changes in 10m
  no data (agent_lost)  off
"
        );
    }

    #[test]
    fn critical_severity_follows_the_thresholds() {
        let mut r = body().rules.remove(0);
        r.comparison = tocsin_api_types::rules::Comparison::Lt;
        r.thresholds = tocsin_api_types::rules::Thresholds {
            general: Some(1.0),
            ..Default::default()
        };
        r.critical_severity = Some(Severity::Major);
        assert_eq!(thresholds(&r), "< general 1; critical CI: major");
    }

    #[test]
    fn no_rules_and_reload() {
        let none = RulesInForce {
            rules: Vec::new(),
            ..body()
        };
        assert!(render_rules(&none).starts_with("no rules\n\n  flapping "));
        assert_eq!(
            render_reload(&RulesReloaded { rules: 9 }),
            "rules reloaded: 9 rules in force\n"
        );
    }
}
