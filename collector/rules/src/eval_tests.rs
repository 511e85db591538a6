use super::*;
use crate::testutil::*;

#[test]
fn for_zero_fires_on_the_first_sample_and_updates_on_every_breach() {
    let ev = Evaluator::new(rules(CPU));
    let s = cpu();
    assert_eq!(
        s.feed(
            &ev,
            &[(10, 50.0), (20, 85.0), (30, 86.0), (40, 60.0), (50, 61.0)]
        ),
        ["20:fire:warning:85", "30:fire:warning:86", "40:resolved:60"]
    );
    let e = &ev.observe(&s.info(), 60_000, 97.5)[0];
    assert_eq!(e.rule, "cpu");
    assert_eq!(e.ci_id, "h1");
    assert_eq!(e.key, "cpu/h1");
    assert!(e.object.is_empty());
    let EventKind::Firing {
        threshold, title, ..
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert_eq!(*threshold, 95.0);
    assert_eq!(title, "cpu on web01: 97.5 (major threshold 95)");
}

#[test]
fn firing_events_carry_the_rules_critical_severity() {
    let ev = Evaluator::new(rules(
        r#"
[[rule]]
name = "check_failed"
selector = "probe_success"
comparison = "<"
thresholds = { general = 1 }
critical_severity = "major"
object_labels = ["check"]
"#,
    ));
    let s = Series::new(7, &[("__name__", "probe_success"), ("check", "home")]);
    let e = &ev.observe(&s.info(), 1_000, 0.0)[0];
    let EventKind::Firing {
        severity,
        critical_severity,
        ..
    } = &e.kind
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (*severity, *critical_severity),
        (Severity::General, Some(Severity::Major)),
        "the evaluator reports the crossed severity; the incident manager raises it"
    );
    assert_eq!(e.key, "check_failed/h1/check=home");
}

#[test]
fn for_and_recover_for_delay_firing_and_resolving() {
    let ev = Evaluator::new(rules(&format!(
        "{CPU}for = \"30s\"\nrecover_for = \"20s\"\n"
    )));
    let s = cpu();
    // Breach at 10..30 then a dip: the pending timer restarts.
    assert!(
        s.feed(&ev, &[(10, 85.0), (20, 85.0), (30, 85.0), (35, 50.0)])
            .is_empty()
    );
    assert!(
        s.feed(&ev, &[(40, 85.0), (50, 85.0), (60, 85.0)])
            .is_empty()
    );
    assert_eq!(s.feed(&ev, &[(70, 91.0)]), ["70:fire:general:91"]);
    // Cleared at 80; a breach at 90 interrupts the recovery.
    assert_eq!(
        s.feed(&ev, &[(80, 50.0), (90, 85.0)]),
        ["90:fire:warning:85"]
    );
    assert!(s.feed(&ev, &[(100, 50.0), (110, 50.0)]).is_empty());
    assert_eq!(s.feed(&ev, &[(120, 50.0)]), ["120:resolved:50"]);
    assert!(s.feed(&ev, &[(130, 50.0)]).is_empty());
}

#[test]
fn hysteresis_band_neither_resolves_nor_reopens() {
    let ev = Evaluator::new(rules(CPU));
    let s = cpu();
    assert_eq!(s.feed(&ev, &[(10, 81.0)]), ["10:fire:warning:81"]);
    // Between recovery (70) and the threshold (80): still firing, silent.
    let mut out = Vec::new();
    for i in 0..20 {
        let v = if i % 2 == 0 { 75.0 } else { 80.0 };
        out.extend(s.feed(&ev, &[(20 + i * 10, v)]));
    }
    assert!(out.is_empty(), "{out:?}");
    // Back above: a value update, not a new firing after a resolve.
    assert_eq!(s.feed(&ev, &[(300, 82.0)]), ["300:fire:warning:82"]);
    assert_eq!(s.feed(&ev, &[(310, 70.0)]), ["310:resolved:70"]);
    // Never fired: values in the band do nothing.
    let t = Series::new(2, &[("__name__", "node_cpu_usage_percent"), ("host", "db")]);
    assert!(
        t.feed(&ev, &[(10, 75.0), (20, 79.0), (30, 70.0)])
            .is_empty()
    );
}

#[test]
fn severity_rises_and_falls_while_firing() {
    let ev = Evaluator::new(rules(CPU));
    let s = cpu();
    assert_eq!(
        s.feed(
            &ev,
            &[
                (10, 82.0),
                (20, 92.0),
                (30, 99.0),
                (40, 93.0),
                (50, 81.0),
                (60, 75.0)
            ]
        ),
        [
            "10:fire:warning:82",
            "20:fire:general:92",
            "30:fire:major:99",
            "40:fire:general:93",
            "50:fire:warning:81",
        ]
    );
}

#[test]
fn below_comparison_and_inclusive_operators() {
    let ev = Evaluator::new(rules(
        r#"
[[rule]]
name = "disk_free_low"
selector = "free"
comparison = "<="
thresholds = { warning = 20, major = 5 }
recovery = 25
"#,
    ));
    let s = Series::new(1, &[("__name__", "free")]);
    assert_eq!(
        s.feed(
            &ev,
            &[
                (1, 21.0),
                (2, 20.0),
                (3, 5.0),
                (4, 24.0),
                (5, 25.0),
                (6, 26.0)
            ]
        ),
        ["2:fire:warning:20", "3:fire:major:5", "6:resolved:26"]
    );
}

#[test]
fn rate_of_a_counter_with_reset() {
    let ev = Evaluator::new(rules(
        r#"
[[rule]]
name = "rx_errors"
selector = "node_network_receive_errors_total"
rate = "30s"
thresholds = { warning = 1 }
object_labels = ["interface"]
"#,
    ));
    let s = Series::new(
        7,
        &[
            ("__name__", "node_network_receive_errors_total"),
            ("host", "web01"),
            ("interface", "eth0"),
        ],
    );
    // 0.5/s, then 2/s; the counter resets at 40 s (host reboot) and keeps
    // counting 2/s, which must not look like a huge negative rate.
    assert!(
        s.feed(&ev, &[(0, 100.0), (10, 105.0), (20, 110.0)])
            .is_empty()
    );
    // Window (0 s, 30 s]: 35 over 20 s.
    assert_eq!(s.feed(&ev, &[(30, 140.0)]), ["30:fire:warning:1.75"]);
    assert_eq!(s.feed(&ev, &[(40, 20.0)]), ["40:fire:warning:2.5"]);
    assert_eq!(s.feed(&ev, &[(50, 40.0)]), ["50:fire:warning:2"]);
    // 1/s is not above 1: cleared.
    assert_eq!(s.feed(&ev, &[(60, 40.0), (70, 40.0)]), ["60:resolved:1"]);
    let e = ev.observe(&s.info(), 80_000, 100.0);
    assert_eq!(e[0].key, "rx_errors/h1/interface=eth0");
}

#[test]
fn delta_of_a_gauge() {
    let ev = Evaluator::new(rules(
        r#"
[[rule]]
name = "processes_jump"
selector = "node_processes"
delta = "1m"
thresholds = { warning = 100 }
"#,
    ));
    let s = Series::new(3, &[("__name__", "node_processes"), ("host", "web01")]);
    assert!(
        s.feed(&ev, &[(0, 200.0), (30, 250.0), (60, 290.0)])
            .is_empty()
    );
    // Window (30 s, 90 s]: 400 − 290.
    assert_eq!(s.feed(&ev, &[(90, 400.0)]), ["90:fire:warning:110"]);
    assert_eq!(s.feed(&ev, &[(120, 400.0)]), ["120:resolved:0"]);
}

#[test]
fn object_labels_and_keys() {
    let ev = Evaluator::new(rules(
        r#"
[[rule]]
name = "fs"
selector = "node_filesystem_used_percent"
thresholds = { warning = 80 }
object_labels = ["mountpoint"]

[[rule]]
name = "fs_default"
selector = "node_filesystem_used_percent"
thresholds = { warning = 80 }
title = "{{object}}"

[[rule]]
name = "any_errors"
selector = '{__name__=~"node_network_.*_errors_total"}'
thresholds = { warning = 80 }
"#,
    ));
    let fs = Series::new(
        1,
        &[
            ("__name__", "node_filesystem_used_percent"),
            ("device", "/dev/sda1"),
            ("env", "prod"),
            ("fstype", "ext4"),
            ("host", "web01"),
            ("mountpoint", "/"),
        ],
    );
    let mut keys: Vec<_> = ev
        .observe(&fs.info(), 1000, 90.0)
        .into_iter()
        .map(|e| (e.key, e.object))
        .collect();
    keys.sort();
    assert_eq!(keys[0].0, "fs/h1/mountpoint=/");
    assert_eq!(keys[0].1, labels(&[("mountpoint", "/")]));
    assert_eq!(
        keys[1].0,
        "fs_default/h1/device=/dev/sda1/fstype=ext4/mountpoint=/"
    );
    let errs = Series::new(
        2,
        &[
            ("__name__", "node_network_receive_errors_total"),
            ("interface", "eth0"),
        ],
    );
    let e = ev.observe(&errs.info(), 1000, 90.0);
    assert_eq!(
        e[0].key,
        "any_errors/h1/__name__=node_network_receive_errors_total/interface=eth0"
    );
}

#[test]
fn ci_class_filter_unmatched_series_and_old_samples() {
    let ev = Evaluator::new(rules(&format!("{CPU}ci_class = \"switch\"\n")));
    assert!(
        cpu().feed(&ev, &[(1, 99.0)]).is_empty(),
        "host is not a switch"
    );
    let ev = Evaluator::new(rules(CPU));
    let other = Series::new(9, &[("__name__", "node_load1")]);
    assert!(other.feed(&ev, &[(1, 99.0)]).is_empty());
    let s = cpu();
    assert_eq!(s.feed(&ev, &[(10, 85.0)]), ["10:fire:warning:85"]);
    assert!(
        s.feed(&ev, &[(10, 50.0), (5, 50.0)]).is_empty(),
        "not newer: ignored"
    );
    assert_eq!(s.feed(&ev, &[(11, 50.0)]), ["11:resolved:50"]);
}
