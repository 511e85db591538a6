//! Text rendering of the rules in force (`GET /api/v1/rules`) and of a
//! reload (`POST /api/v1/rules/reload`).

use serde_json::Value;

use super::format::{number, pairs, yes_no};
use super::table::{Table, cell};

/// Severities in rising order, as the thresholds are listed.
const SEVERITIES: [&str; 3] = ["warning", "general", "major"];

/// Widest cell (selectors can be long).
const MAX_CELL: usize = 70;

/// The rules as a table (NAME, SELECTOR, CLASS, THRESHOLDS, FOR, ENABLED,
/// BUILTIN), followed by the flapping and no-data settings.
pub fn render_rules(body: &Value) -> String {
    let data = &body["data"];
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
    for r in data["rules"].as_array().into_iter().flatten() {
        t.row([
            cell(&r["name"]),
            selector(r),
            cell(&r["ci_class"]),
            thresholds(r),
            cell(&r["for"]),
            yes_no(&r["enabled"]),
            yes_no(&r["builtin"]),
        ]);
    }
    let mut out = if t.is_empty() {
        "no rules\n".to_string()
    } else {
        t.render()
    };
    let flap = &data["flapping"];
    let nd = &data["no_data"];
    let settings = [
        (
            "flapping",
            on_off(
                flap,
                format!(
                    "more than {} state changes in {}",
                    cell(&flap["max_transitions"]),
                    cell(&flap["window"])
                ),
            ),
        ),
        (
            "no data (agent_lost)",
            on_off(
                nd,
                format!(
                    "{}, silent for {} intervals and at least {}, startup grace {}",
                    cell(&nd["severity"]),
                    cell(&nd["intervals"]),
                    cell(&nd["min_silence"]),
                    cell(&nd["startup_grace"])
                ),
            ),
        ),
    ];
    let settings = pairs(&settings);
    if !settings.is_empty() {
        out.push('\n');
        out.push_str(&settings);
    }
    out
}

/// The selector, wrapped as `rate(sel[1m])` / `delta(sel[1m])` when the rule
/// evaluates a rate or delta.
fn selector(r: &Value) -> String {
    let sel = cell(&r["selector"]);
    match r["transform"].as_object().and_then(|o| o.iter().next()) {
        Some((f, window)) => format!("{f}({sel}[{}])", cell(window)),
        None => sel,
    }
}

/// `>= warning 80, general 90, major 95`, and `; critical CI: major` when
/// the rule has a `critical_severity`.
fn thresholds(r: &Value) -> String {
    let set: Vec<String> = SEVERITIES
        .iter()
        .filter(|s| !r["thresholds"][**s].is_null())
        .map(|s| format!("{s} {}", number(&r["thresholds"][*s])))
        .collect();
    let mut out = format!("{} {}", cell(&r["comparison"]), set.join(", "))
        .trim()
        .to_string();
    if let Some(s) = r["critical_severity"].as_str() {
        out.push_str(&format!("; critical CI: {s}"));
    }
    out
}

/// `off`, or `details` when enabled; empty when the section is absent.
fn on_off(section: &Value, details: String) -> String {
    match section["enabled"].as_bool() {
        Some(true) => details,
        Some(false) => "off".into(),
        None => String::new(),
    }
}

/// One line after a reload (`{"data":{"rules":N}}`).
pub fn render_reload(body: &Value) -> String {
    format!(
        "rules reloaded: {} rules in force\n",
        cell(&body["data"]["rules"])
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn body() -> Value {
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
                    "intervals": 3, "startup_grace": "2m"}}})
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
        let r = json!({"comparison": "<", "thresholds": {"general": 1.0},
                       "critical_severity": "major"});
        assert_eq!(thresholds(&r), "< general 1; critical CI: major");
    }

    #[test]
    fn no_rules_and_reload() {
        assert_eq!(render_rules(&json!({"data": {"rules": []}})), "no rules\n");
        assert_eq!(
            render_reload(&json!({"data": {"rules": 9}})),
            "rules reloaded: 9 rules in force\n"
        );
    }
}
