//! Flapping, reloads, restarts and cost of the evaluator.

use super::*;
use crate::testutil::*;
use tocsin_model::event::Severity;

#[test]
fn flapping_keeps_the_incident_open_until_stable_for_a_window() {
    let ev = Evaluator::new(rules(&format!(
        "{CPU}\n[flapping]\nwindow = \"100s\"\nmax_transitions = 3\n"
    )));
    let s = cpu();
    let out = s.feed(&ev, &[(10, 85.0), (20, 50.0), (30, 85.0), (40, 50.0)]);
    assert_eq!(
        out,
        [
            "10:fire:warning:85",
            "20:resolved:50",
            "30:fire:warning:85",
            "40:flapping:true",
        ],
        "the 4th transition (a recovery) starts flapping and is not reported"
    );
    // Flapping: breaches update the incident, recoveries are swallowed.
    assert_eq!(
        s.feed(&ev, &[(50, 85.0), (60, 50.0), (100, 50.0), (130, 50.0)]),
        ["50:fire:warning:85"]
    );
    // The last transition was at 60 s: calm once 100 s passed without one.
    assert_eq!(
        s.feed(&ev, &[(160, 50.0)]),
        ["160:flapping:false", "160:resolved:50"]
    );
    // Normal behaviour again.
    assert_eq!(
        s.feed(&ev, &[(170, 85.0), (180, 50.0)]),
        ["170:fire:warning:85", "180:resolved:50"]
    );
}

#[test]
fn flapping_ends_while_firing_without_resolving() {
    let ev = Evaluator::new(rules(&format!(
        "{CPU}\n[flapping]\nwindow = \"100s\"\nmax_transitions = 1\n"
    )));
    let s = cpu();
    assert_eq!(
        s.feed(&ev, &[(10, 85.0), (20, 50.0), (30, 85.0)]),
        [
            "10:fire:warning:85",
            "20:flapping:true",
            "30:fire:warning:85"
        ]
    );
    assert_eq!(
        s.feed(&ev, &[(131, 75.0)]),
        ["131:flapping:false"],
        "in the band: stays firing, no resolve"
    );
}

#[test]
fn reload_keeps_unchanged_state_and_carries_open_incidents() {
    let both = format!(
        "{CPU}for = \"20s\"\n[[rule]]\nname = \"cpu2\"\nselector = \"node_cpu_usage_percent\"\nthresholds = {{ warning = 50 }}\n"
    );
    let ev = Evaluator::new(rules(&both));
    let s = cpu();
    let feed = |t: i64, v: f64| -> Vec<String> {
        ev.observe(&s.info(), t * 1000, v)
            .iter()
            .map(|e| format!("{}@{}", e.rule, short(e)))
            .collect()
    };
    assert_eq!(feed(0, 60.0), ["cpu2@0:fire:warning:60"]);
    assert_eq!(feed(10, 85.0), ["cpu2@10:fire:warning:85"], "cpu pending");
    // Same definitions: cpu's pending timer (since 10 s) survives.
    ev.reload(rules(&both));
    assert_eq!(
        feed(30, 85.0),
        ["cpu@30:fire:warning:85", "cpu2@30:fire:warning:85"]
    );

    // cpu2 changed (title) while firing: no resolve, it carries on firing
    // and resolves through its new definition; cpu was removed: resolved.
    let changed = "[[rule]]\nname = \"cpu2\"\nselector = \"node_cpu_usage_percent\"\nthresholds = { warning = 50 }\ntitle = \"new\"\n";
    ev.reload(rules(changed));
    let events = ev.observe(&s.info(), 40_000, 55.0);
    let shorts: Vec<_> = events
        .iter()
        .map(|e| format!("{}@{}", e.rule, short(e)))
        .collect();
    assert_eq!(shorts, ["cpu@40:resolved:85", "cpu2@40:fire:warning:55"]);
    assert_eq!(events[0].key, "cpu/h1");
    let EventKind::Firing { title, .. } = &events[1].kind else {
        panic!()
    };
    assert_eq!(title, "new");
    assert_eq!(feed(50, 40.0), ["cpu2@50:resolved:40"]);
    // Removing a rule whose state is OK resolves nothing.
    ev.reload(rules(""));
    assert!(feed(60, 99.0).is_empty());
    assert!(ev.rules().rules.is_empty());
}

#[test]
fn incidents_open_before_a_restart_resolve_when_clear() {
    let ev = Evaluator::new(rules(CPU));
    ev.restore_open([
        ("cpu/h1".to_string(), Severity::General),
        ("cpu/gone".to_string(), Severity::Major),
    ]);
    let s = cpu();
    // In the band: still firing (nothing new); clear: resolved.
    assert!(s.feed(&ev, &[(10, 75.0)]).is_empty());
    assert_eq!(s.feed(&ev, &[(20, 60.0)]), ["20:resolved:60"]);
    // Without the restore, a clear first sample says nothing.
    let fresh = Evaluator::new(rules(CPU));
    assert!(s.feed(&fresh, &[(10, 75.0), (20, 60.0)]).is_empty());
}

#[test]
fn evaluator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Evaluator>();
    check::<crate::NoData>();
}

/// Not an assertion on time: prints the cost per sample (run with
/// `--nocapture`) so regressions are visible.
#[test]
fn prints_cost_per_sample() {
    let ev = Evaluator::new(crate::config::parse("").unwrap());
    let series: Vec<Series> = (0..10_000u64)
        .map(|i| {
            let name = if i % 10 == 0 {
                "node_cpu_usage_percent"
            } else {
                "node_load1"
            };
            Series::new(i, &[("__name__", name), ("host", "web01")])
        })
        .collect();
    let rounds = 20i64;
    for s in &series {
        ev.observe(&s.info(), 0, 50.0);
    }
    let start = std::time::Instant::now();
    let mut events = 0usize;
    for r in 1..=rounds {
        for s in &series {
            events += ev.observe(&s.info(), r * 10_000, 50.0).len();
        }
    }
    let all = start.elapsed().as_nanos() as f64 / (rounds as f64 * series.len() as f64);
    let start = std::time::Instant::now();
    for r in rounds + 1..=rounds * 3 {
        for s in series.iter().filter(|s| s.id % 10 == 0) {
            events += ev.observe(&s.info(), r * 10_000, 99.0).len();
        }
    }
    let firing =
        start.elapsed().as_nanos() as f64 / (2.0 * rounds as f64 * series.len() as f64 / 10.0);
    println!(
        "observe: {all:.0} ns/sample (10% matched, none firing), {firing:.0} ns/sample (matched, firing after 5m: {events} events)"
    );
    assert!(events > 0);
}
