use super::*;
use crate::rule::{Comparison, Transform};
use tocsin_model::event::Severity;

const NO_DEFAULTS: &str = "[defaults]\nenabled = false\n";

fn errors(text: &str) -> Vec<String> {
    parse(text).expect_err("should be rejected").problems
}

fn has(errors: &[String], needle: &str) {
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "no problem contains {needle:?}: {errors:#?}"
    );
}

#[test]
fn parses_every_field_with_defaults() {
    let set = parse(&format!(
        r#"{NO_DEFAULTS}
[[rule]]
name = "fs"
selector = 'node_filesystem_used_percent{{fstype!="tmpfs"}}'
ci_class = "host"
comparison = ">="
thresholds = {{ warning = 80, general = 90.5, major = 95 }}
for = "5m"
recovery = 75
recover_for = "30s"
delta = "10m"
object_labels = ["mountpoint"]
title = "{{{{labels.mountpoint}}}} is {{{{value}}}}%"

[[rule]]
name = "errors"
selector = "node_network_receive_errors_total"
thresholds = {{ major = 5 }}
rate = "1m"
enabled = false

[flapping]
window = "5m"
max_transitions = 3

[no_data]
severity = "general"
intervals = 4
"#
    ))
    .unwrap();
    assert_eq!(set.rules.len(), 2);
    let fs = set.get("fs").unwrap();
    assert_eq!(fs.comparison, Comparison::Ge);
    assert_eq!(fs.thresholds.general, Some(90.5));
    assert_eq!(fs.for_ms(), 300_000);
    assert_eq!(fs.recover_for_ms(), 30_000);
    assert_eq!(fs.recovery, 75.0);
    assert_eq!(fs.ci_class.as_deref(), Some("host"));
    assert_eq!(
        fs.transform,
        Some(Transform::Delta(Duration::from_secs(600)))
    );
    assert_eq!(fs.object_labels, Some(vec!["mountpoint".to_string()]));
    assert_eq!(fs.title.source(), "{{labels.mountpoint}} is {{value}}%");
    assert!(fs.enabled && !fs.builtin);
    let errors = set.get("errors").unwrap();
    assert!(!errors.enabled);
    assert_eq!(errors.comparison, Comparison::Gt);
    assert_eq!(
        errors.recovery, 5.0,
        "recovery defaults to the lowest threshold"
    );
    assert_eq!(errors.for_ms(), 0);
    assert_eq!(
        errors.transform,
        Some(Transform::Rate(Duration::from_secs(60)))
    );
    assert_eq!(set.flapping.window, Duration::from_secs(300));
    assert_eq!(set.flapping.max_transitions, 3);
    assert_eq!(set.no_data.severity, Severity::General);
    assert_eq!(set.no_data.intervals, 4);
    assert_eq!(set.no_data.min_silence, Duration::from_secs(60));
    assert_eq!(set.no_data.startup_grace, Duration::from_secs(120));
}

#[test]
fn empty_file_is_the_builtins() {
    let set = parse("").unwrap();
    assert_eq!(set.rules.len(), builtin_rules().len());
    assert!(set.rules.iter().all(|r| r.builtin && r.enabled));
    assert_eq!(set.flapping, FlapConfig::default());
    assert_eq!(set.no_data, NoDataConfig::default());
    assert!(parse(NO_DEFAULTS).unwrap().rules.is_empty());
}

#[test]
fn file_rules_override_and_disable_builtins() {
    let set = parse(
        r#"
[[rule]]
name = "cpu_high"
selector = "node_cpu_usage_percent"
thresholds = { major = 99 }

[[rule]]
name = "memory_high"
enabled = false
"#,
    )
    .unwrap();
    let cpu = set.get("cpu_high").unwrap();
    assert!(!cpu.builtin);
    assert_eq!(cpu.thresholds.warning, None, "replaced whole, not merged");
    assert_eq!(cpu.thresholds.major, Some(99.0));
    assert_eq!(cpu.for_ms(), 0);
    let mem = set.get("memory_high").unwrap();
    assert!(!mem.enabled && mem.builtin);
    assert!(set.get("filesystem_full").unwrap().enabled);
    assert_eq!(set.rules.len(), builtin_rules().len());

    // Switching off a rule that does not exist is a (typo-catching) error.
    let e = errors("[[rule]]\nname = \"cpu_hihg\"\nenabled = false\n");
    has(&e, r#"rule "cpu_hihg": enabled: "#);
}

#[test]
fn reports_every_problem_with_rule_and_key() {
    let e = errors(
        r#"
[[rule]]
name = "cpu_high"
selector = "node_cpu_usage_percent"
thresholds = { warning = 90, general = 80 }
recovery = 95
for = "soon"
bogus = 1

[[rule]]
name = "Bad-Name"
selector = "rate(x[5m])"
comparison = "=="
thresholds = { critical = 3 }

[[rule]]
selector = "up"
thresholds = {}
rate = "1m"
delta = "1m"
title = "{{vaule}}"
object_labels = ["a", "a", "9x"]

[[rule]]
name = "cpu_high"
selector = "x"
thresholds = { warning = 1 }

[[rule]]
name = "down"
selector = "x"
comparison = "<"
thresholds = { warning = 10, general = 20 }
recovery = 5
recover_for = 30
"#,
    );
    has(
        &e,
        r#"rule "cpu_high": thresholds: general (80) must be above warning (90) for comparison ">""#,
    );
    has(&e, r#"rule "cpu_high": for: invalid duration "soon""#);
    has(&e, r#"rule "cpu_high": bogus: unknown key"#);
    has(
        &e,
        r#"rule "cpu_high": name: defined more than once (rules #1, #4)"#,
    );
    has(
        &e,
        r#"rule "Bad-Name": name: "Bad-Name" must match [a-z0-9_]+"#,
    );
    has(&e, r#"rule "Bad-Name": selector: "#);
    has(&e, r#"rule "Bad-Name": comparison: "==" must be one of"#);
    has(
        &e,
        r#"rule "Bad-Name": thresholds.critical: unknown severity"#,
    );
    has(&e, "rule #3: name: missing");
    has(&e, "rule #3: thresholds: set at least one");
    has(&e, "rule #3: delta: set at most one of rate and delta");
    has(&e, "rule #3: title: unknown placeholder {{vaule}}");
    has(&e, "rule #3: object_labels: lists a label more than once");
    has(
        &e,
        r#"rule #3: object_labels: "9x" is not a valid label name"#,
    );
    has(
        &e,
        r#"rule "down": thresholds: general (20) must be below warning (10) for comparison "<""#,
    );
    has(
        &e,
        r#"rule "down": recovery: 5 must be at or above the lowest threshold (warning 10)"#,
    );
    has(
        &e,
        r#"rule "down": recover_for: must be a duration such as "30s""#,
    );
    // The recovery of the first rule is checked against its lowest threshold too.
    has(
        &e,
        r#"rule "cpu_high": recovery: 95 must be at or below the lowest threshold (warning 90)"#,
    );
    assert!(e.iter().all(|p| p.starts_with("rule ")), "{e:#?}");
    assert!(e.len() >= 17, "{e:#?}");
}

#[test]
fn selector_errors_carry_the_parser_message() {
    let e = errors(&format!(
        "{NO_DEFAULTS}[[rule]]\nname = \"x\"\nselector = \"up{{a=\"\nthresholds = {{ warning = 1 }}\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with(r#"rule "x": selector: 1:"#), "{e:?}");
}

#[test]
fn missing_selector_and_thresholds_are_named() {
    let e = errors("[[rule]]\nname = \"x\"\n");
    has(&e, r#"rule "x": selector: missing"#);
    has(&e, r#"rule "x": thresholds: missing"#);
    let e = errors("[[rule]]\nname = \"x\"\nselector = 5\nthresholds = { warning = \"high\" }\n");
    has(&e, r#"rule "x": selector: invalid type"#);
    has(&e, r#"rule "x": thresholds.warning: invalid type"#);
}

#[test]
fn section_and_top_level_problems() {
    let e = errors(
        "rules = 1\n[flapping]\nwindow = \"0s\"\nmax_transitions = 0\n[no_data]\nseverity = \"critical\"\n",
    );
    has(&e, "rules: unknown key");
    has(&e, "flapping.window: must be longer than 0s");
    has(&e, "flapping.max_transitions: must be at least 1");
    has(&e, "no_data.severity: unknown variant `critical`");
    let e = errors(
        "[no_data]\nmin_silence = \"1ms\"\nintervals = 0\nsurprise = true\nstartup_grace = 120\n[defaults]\nenabled = \"no\"\n",
    );
    has(&e, "no_data.surprise: unknown key");
    has(&e, "no_data.intervals: must be at least 1");
    has(&e, "no_data.min_silence: must be at least 1s");
    has(
        &e,
        r#"no_data.startup_grace: must be a duration such as "30s" or "5m", got 120"#,
    );
    has(&e, "defaults.enabled: invalid type");
    assert_eq!(e.len(), 5, "{e:#?}");
    let e = errors("[[rule]\nname = 1");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("line 1, column"), "{e:?}");
}

#[test]
fn agent_lost_is_reserved() {
    let e =
        errors("[[rule]]\nname = \"agent_lost\"\nselector = \"up\"\nthresholds = { major = 0 }\n");
    has(&e, r#"rule "agent_lost": name: "#);
}

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, "[[rule]]\nname = \"cpu_high\"\nenabled = false\n").unwrap();
    assert!(!load(&path).unwrap().get("cpu_high").unwrap().enabled);
    let e = load(&dir.path().join("missing.toml")).unwrap_err();
    assert!(e.problems[0].contains("cannot read file"), "{e:?}");
}

#[test]
fn critical_severity_is_a_severity_above_the_lowest_threshold() {
    let set = parse(&format!(
        r#"{NO_DEFAULTS}
[[rule]]
name = "check_failed"
selector = "probe_success"
comparison = "<"
thresholds = {{ general = 1 }}
critical_severity = "major"
"#
    ))
    .unwrap();
    let rule = set.get("check_failed").unwrap();
    assert_eq!(rule.critical_severity, Some(Severity::Major));
    let json = serde_json::to_value(rule).unwrap();
    assert_eq!(json["critical_severity"], "major");
    let plain = parse(&format!(
        "{NO_DEFAULTS}{}",
        r#"
[[rule]]
name = "plain"
selector = "m"
thresholds = { warning = 1 }
"#
    ))
    .unwrap();
    assert_eq!(plain.get("plain").unwrap().critical_severity, None);

    let e = errors(
        r#"
[[rule]]
name = "typo"
selector = "probe_success"
thresholds = { warning = 1 }
critical_severity = "urgent"

[[rule]]
name = "noop"
selector = "probe_success"
thresholds = { general = 1, major = 2 }
critical_severity = "general"

[[rule]]
name = "number"
selector = "probe_success"
thresholds = { general = 1 }
critical_severity = 3
"#,
    );
    has(
        &e,
        r#"rule "typo": critical_severity: "urgent" must be one of warning, general, major"#,
    );
    has(
        &e,
        r#"rule "noop": critical_severity: general never raises"#,
    );
    has(&e, r#"rule "number": critical_severity: "#);
    assert_eq!(e.len(), 3, "{e:#?}");
}
