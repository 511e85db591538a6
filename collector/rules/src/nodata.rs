//! The built-in no-data rule, `agent_lost`: a CI whose agent stops
//! reporting gets a firing event; when it reports again, a resolved one.
//!
//! A CI is silent too long when nothing was seen for longer than
//! `max(min_silence, intervals × interval)`. The interval is what the caller
//! passes to [`NoData::seen`]; when it passes 0 (unknown), it is estimated
//! from the gaps between consecutive `seen` calls (a moving average that
//! ignores gaps under 100 ms — several batches of one round — and gaps
//! longer than the current limit — outages); until a gap was measured the
//! limit is `min_silence`.
//!
//! After a collector restart nothing fires before `startup_grace` has passed,
//! so agents have time to reconnect; CIs known from the CMDB are registered
//! with [`NoData::expect`] so that those that never come back do fire.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::rule::{AGENT_LOST, NoDataConfig, millis};
use tocsin_model::event::{EventKind, RuleEvent, dedup_key};

/// Gaps shorter than this are several batches of one round, not an interval.
const MIN_GAP_MS: i64 = 100;

#[derive(Debug)]
struct Watch {
    name: String,
    last_seen_ms: i64,
    /// Reported or estimated interval; 0 = unknown.
    interval_ms: i64,
    /// Whether the interval is estimated (not reported by the caller).
    estimated: bool,
    /// `last_seen_ms` when the firing event went out; a resolved event is
    /// due when the CI is seen again.
    lost_at_ms: Option<i64>,
}

/// Tracks when each CI's agent last reported. `Send + Sync`.
#[derive(Debug)]
pub struct NoData {
    config: Mutex<NoDataConfig>,
    started_at_ms: i64,
    cis: Mutex<HashMap<String, Watch>>,
}

impl NoData {
    /// A detector for a collector started at `started_at_ms`.
    pub fn new(config: NoDataConfig, started_at_ms: i64) -> Self {
        Self {
            config: Mutex::new(config),
            started_at_ms,
            cis: Mutex::new(HashMap::new()),
        }
    }

    /// Replaces the configuration (rules reload); the CIs are kept.
    pub fn set_config(&self, config: NoDataConfig) {
        *self.config.lock() = config;
    }

    /// The agent of `ci_id` sent data or connected at `now_ms`; its
    /// reporting interval is `interval_ms` (0: estimate it).
    pub fn seen(&self, ci_id: &str, ci_name: &str, interval_ms: i64, now_ms: i64) {
        let limit_of = {
            let c = *self.config.lock();
            move |interval: i64| limit_ms(&c, interval)
        };
        let mut cis = self.cis.lock();
        let Some(w) = cis.get_mut(ci_id) else {
            cis.insert(
                ci_id.to_string(),
                Watch {
                    name: ci_name.to_string(),
                    last_seen_ms: now_ms,
                    interval_ms: interval_ms.max(0),
                    estimated: interval_ms <= 0,
                    lost_at_ms: None,
                },
            );
            return;
        };
        if w.name != ci_name {
            w.name = ci_name.to_string();
        }
        if interval_ms > 0 {
            w.interval_ms = interval_ms;
            w.estimated = false;
        } else {
            let gap = now_ms - w.last_seen_ms;
            if w.estimated && gap >= MIN_GAP_MS && gap <= limit_of(w.interval_ms) {
                w.interval_ms = if w.interval_ms == 0 {
                    gap
                } else {
                    (w.interval_ms * 4 + gap) / 5
                };
            }
        }
        w.last_seen_ms = w.last_seen_ms.max(now_ms);
    }

    /// Registers a CI known from the CMDB at startup, as if seen at `now_ms`
    /// with an unknown interval; no effect when it was seen already.
    pub fn expect(&self, ci_id: &str, ci_name: &str, now_ms: i64) {
        self.cis
            .lock()
            .entry(ci_id.to_string())
            .or_insert_with(|| Watch {
                name: ci_name.to_string(),
                last_seen_ms: now_ms,
                interval_ms: 0,
                estimated: true,
                lost_at_ms: None,
            });
    }

    /// Registers a CI whose `agent_lost` incident was open before a restart
    /// (silent since `lost_at_ms`): it does not fire again, and its return
    /// resolves the incident.
    pub fn restore_lost(&self, ci_id: &str, ci_name: &str, lost_at_ms: i64) {
        let mut cis = self.cis.lock();
        let w = cis.entry(ci_id.to_string()).or_insert_with(|| Watch {
            name: ci_name.to_string(),
            last_seen_ms: lost_at_ms,
            interval_ms: 0,
            estimated: true,
            lost_at_ms: None,
        });
        w.lost_at_ms = Some(w.last_seen_ms.min(lost_at_ms));
        w.last_seen_ms = w.last_seen_ms.min(lost_at_ms);
    }

    /// Stops watching a CI (deleted or decommissioned); resolves its
    /// incident if one was open.
    pub fn forget(&self, ci_id: &str, now_ms: i64) -> Vec<RuleEvent> {
        match self.cis.lock().remove(ci_id) {
            Some(w) if w.lost_at_ms.is_some() => vec![resolved(ci_id, &w, now_ms)],
            _ => Vec::new(),
        }
    }

    /// Checks every CI at `now_ms` (call it every second).
    pub fn tick(&self, now_ms: i64) -> Vec<RuleEvent> {
        let c = *self.config.lock();
        let grace_over = now_ms - self.started_at_ms >= millis(c.startup_grace);
        let mut events = Vec::new();
        for (ci_id, w) in self.cis.lock().iter_mut() {
            let silence = now_ms - w.last_seen_ms;
            let limit = limit_ms(&c, w.interval_ms);
            if w.lost_at_ms.is_some() && silence <= limit {
                events.push(resolved(ci_id, w, w.last_seen_ms));
                w.lost_at_ms = None;
            } else if w.lost_at_ms.is_none() && c.enabled && grace_over && silence > limit {
                w.lost_at_ms = Some(w.last_seen_ms);
                let (secs, limit_s) = (silence as f64 / 1000.0, limit as f64 / 1000.0);
                events.push(RuleEvent {
                    rule: AGENT_LOST.to_string(),
                    ci_id: ci_id.clone(),
                    object: Vec::new(),
                    key: dedup_key(AGENT_LOST, ci_id, &[]),
                    at_ms: now_ms,
                    kind: EventKind::Firing {
                        severity: c.severity,
                        value: secs.floor(),
                        threshold: limit_s,
                        critical_severity: None,
                        title: format!("Agent on {} stopped reporting", w.name),
                        description: format!(
                            "Nothing was received from the agent on {} for {:.0} s (limit {limit_s:.0} s); last seen {}.",
                            w.name,
                            secs,
                            tocsin_model::time::rfc3339(w.last_seen_ms)
                        ),
                    },
                });
            }
        }
        events
    }
}

/// The silence limit for a CI reporting every `interval_ms` (0: unknown).
fn limit_ms(c: &NoDataConfig, interval_ms: i64) -> i64 {
    millis(c.min_silence).max(interval_ms.saturating_mul(i64::from(c.intervals)))
}

/// The resolved event; its value is the length of the outage in seconds.
fn resolved(ci_id: &str, w: &Watch, at_ms: i64) -> RuleEvent {
    let lost_at = w.lost_at_ms.unwrap_or(w.last_seen_ms);
    RuleEvent {
        rule: AGENT_LOST.to_string(),
        ci_id: ci_id.to_string(),
        object: Vec::new(),
        key: dedup_key(AGENT_LOST, ci_id, &[]),
        at_ms,
        kind: EventKind::Resolved {
            value: ((at_ms - lost_at) as f64 / 1000.0).max(0.0).floor(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::event::Severity;

    const START: i64 = 1_700_000_000_000;
    const S: i64 = 1000;

    fn short(events: &[RuleEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Firing {
                    value, threshold, ..
                } => format!("{}:fire:{value}/{threshold}", e.ci_id),
                EventKind::Resolved { value } => format!("{}:resolved:{value}", e.ci_id),
                EventKind::Flapping { .. } => unreachable!(),
            })
            .collect()
    }

    /// Ticks every second from `from` to `to` (seconds after START).
    fn run(nd: &NoData, from: i64, to: i64) -> Vec<String> {
        (from..=to)
            .flat_map(|t| short(&nd.tick(START + t * S)))
            .collect()
    }

    #[test]
    fn fires_after_silence_once_and_resolves_on_return() {
        let nd = NoData::new(NoDataConfig::default(), START - 3600 * S);
        nd.seen("h1", "web01", 10 * S, START);
        assert!(
            run(&nd, 0, 60).is_empty(),
            "60 s (the minimum) is not yet too long"
        );
        assert_eq!(run(&nd, 61, 200), ["h1:fire:61/60"], "fires once");
        let e = nd.tick(START + 201 * S);
        assert!(e.is_empty());
        nd.seen("h1", "web01", 10 * S, START + 250 * S);
        let e = nd.tick(START + 251 * S);
        assert_eq!(
            short(&e),
            ["h1:resolved:250"],
            "resolved with the outage length"
        );
        assert_eq!(e[0].key, "agent_lost/h1");
        assert_eq!(e[0].at_ms, START + 250 * S);
        assert!(run(&nd, 252, 300).is_empty());
        let e = run(&nd, 301, 400);
        assert_eq!(
            e,
            ["h1:fire:61/60"],
            "and fires again after the next silence"
        );
    }

    #[test]
    fn firing_event_has_severity_title_and_key() {
        let config = NoDataConfig {
            severity: Severity::General,
            ..NoDataConfig::default()
        };
        let nd = NoData::new(config, START - 3600 * S);
        nd.seen("h1", "web01", 0, START);
        let e = nd.tick(START + 100 * S);
        let EventKind::Firing {
            severity, title, ..
        } = &e[0].kind
        else {
            panic!("{e:?}")
        };
        assert_eq!(*severity, Severity::General);
        assert_eq!(title, "Agent on web01 stopped reporting");
        assert_eq!(e[0].rule, "agent_lost");
        assert!(e[0].object.is_empty());
    }

    #[test]
    fn long_intervals_stretch_the_limit() {
        let nd = NoData::new(NoDataConfig::default(), START - 3600 * S);
        nd.seen("h1", "web01", 60 * S, START);
        assert!(run(&nd, 1, 180).is_empty(), "3 × 60 s");
        assert_eq!(run(&nd, 181, 181), ["h1:fire:181/180"]);
    }

    #[test]
    fn estimates_the_interval_from_the_gaps() {
        let nd = NoData::new(NoDataConfig::default(), START - 3600 * S);
        // Every 50 s, two batches 10 ms apart per round; the first gap (50 s)
        // is within the 60 s minimum, the estimate then stretches the limit
        // to about 150 s.
        for round in 0..10 {
            nd.seen("h1", "web01", 0, START + round * 50 * S);
            nd.seen("h1", "web01", 0, START + round * 50 * S + 10);
        }
        let last = 9 * 50;
        assert!(run(&nd, last, last + 149).is_empty());
        let e = run(&nd, last + 150, last + 151);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("h1:fire:149/149.9"), "{e:?}");
    }

    #[test]
    fn no_false_alarms_during_startup_grace() {
        let nd = NoData::new(NoDataConfig::default(), START);
        // Seen once right after the start, then silent; one never seen.
        nd.seen("h1", "web01", 10 * S, START + S);
        nd.expect("h2", "db01", START);
        nd.expect("h1", "ignored: already seen", START);
        assert!(run(&nd, 0, 119).is_empty(), "2 min grace");
        let mut at_grace = run(&nd, 120, 120);
        at_grace.sort();
        assert_eq!(at_grace, ["h1:fire:119/60", "h2:fire:120/60"]);
    }

    #[test]
    fn agents_returning_within_the_grace_do_not_fire() {
        let nd = NoData::new(NoDataConfig::default(), START);
        nd.expect("h1", "web01", START);
        nd.seen("h1", "web01", 10 * S, START + 90 * S);
        for t in (100..400).step_by(10) {
            nd.seen("h1", "web01", 10 * S, START + t * S);
        }
        assert!(run(&nd, 0, 400).is_empty());
    }

    #[test]
    fn restored_lost_cis_resolve_on_return_without_firing_again() {
        let nd = NoData::new(NoDataConfig::default(), START);
        nd.restore_lost("h1", "web01", START - 600 * S);
        nd.expect("h1", "web01", START);
        assert!(
            run(&nd, 0, 300).is_empty(),
            "already open: no second firing"
        );
        nd.seen("h1", "web01", 10 * S, START + 301 * S);
        assert_eq!(run(&nd, 302, 302), ["h1:resolved:901"]);
    }

    #[test]
    fn disabled_or_forgotten() {
        let nd = NoData::new(NoDataConfig::default(), START - 3600 * S);
        nd.seen("h1", "web01", 10 * S, START);
        assert_eq!(run(&nd, 100, 100).len(), 1);
        assert_eq!(
            short(&nd.forget("h1", START + 200 * S)),
            ["h1:resolved:200"]
        );
        assert!(nd.forget("h1", START + 200 * S).is_empty());
        nd.set_config(NoDataConfig {
            enabled: false,
            ..NoDataConfig::default()
        });
        nd.seen("h2", "db01", 10 * S, START);
        assert!(run(&nd, 100, 100).is_empty());
    }
}
