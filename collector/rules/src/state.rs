//! The state machine of one rule on one series, with flap detection.
//!
//! ```text
//!  OK ──breach──► Pending ──held `for`──► Firing ──cleared──► Recovering ──held `recover_for`──► OK
//!   ▲               │ no breach                ▲                 │ breach (or back in the band)
//!   └───────────────┘                          └─────────────────┘
//! ```
//!
//! "Breach": the value crosses at least one threshold. "Cleared": the value
//! is past `recovery`. A firing value between `recovery` and the lowest
//! threshold (the hysteresis band) keeps it firing without a value update.
//! The severity follows the highest threshold crossed by each breaching
//! sample (`for` only delays the first firing).
//!
//! Flapping: each OK→Firing and Firing→OK transition is recorded; more than
//! `max_transitions` in the flap window marks the pair flapping. While
//! flapping, a completed recovery is not reported (the incident stays open,
//! firing samples still update it); once no transition happened for a whole
//! window, flapping ends and, if the condition is clear, the recovery is
//! reported then.

use std::collections::VecDeque;

use super::rule::{FlapConfig, Rule, millis};
use super::window::Window;
use tocsin_model::event::Severity;

/// Where the state machine is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Phase {
    /// Condition clear (or in the band, never fired).
    Ok,
    /// Breaching since `since`, waiting for `for`.
    Pending { since: i64 },
    /// Firing at `severity`.
    Firing { severity: Severity },
    /// Firing, but cleared since `since`, waiting for `recover_for`.
    Recovering { since: i64, severity: Severity },
}

/// What a sample led to; the evaluator turns these into events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decision {
    /// Firing (first time, severity change or value update).
    Fire {
        severity: Severity,
        value: f64,
        threshold: f64,
    },
    /// Recovery completed.
    Resolve { value: f64 },
    /// Flapping started or ended.
    Flap { flapping: bool, transitions: u32 },
}

/// State of one rule on one series.
#[derive(Debug, Clone)]
pub(crate) struct RuleState {
    phase: Phase,
    last_value: f64,
    window: Option<Window>,
    /// Times of OK↔Firing transitions inside the flap window.
    transitions: VecDeque<i64>,
    flapping: bool,
}

impl RuleState {
    /// A fresh state (OK) for `rule`.
    pub(crate) fn new(rule: &Rule) -> Self {
        Self {
            phase: Phase::Ok,
            last_value: f64::NAN,
            window: rule.transform.map(Window::new),
            transitions: VecDeque::new(),
            flapping: false,
        }
    }

    /// A fresh state for a changed `rule` that continues an open incident:
    /// it starts firing, so it resolves through the new rule's recovery.
    pub(crate) fn carried(rule: &Rule, from: &RuleState) -> Self {
        let mut s = Self::new(rule);
        if let Some(severity) = from.open_severity() {
            s.phase = Phase::Firing { severity };
            s.last_value = from.last_value;
        }
        s
    }

    /// A fresh state for `rule` whose incident was open before a restart:
    /// it starts firing at `severity`.
    pub(crate) fn restored(rule: &Rule, severity: Severity) -> Self {
        let mut s = Self::new(rule);
        s.phase = Phase::Firing { severity };
        s
    }

    /// The last evaluated value (NaN before the first).
    pub(crate) fn last_value(&self) -> f64 {
        self.last_value
    }

    /// The severity of the incident this state keeps open, if any (firing,
    /// recovering, or recovered while flapping).
    pub(crate) fn open_severity(&self) -> Option<Severity> {
        match self.phase {
            Phase::Firing { severity } | Phase::Recovering { severity, .. } => Some(severity),
            _ if self.flapping => Some(Severity::Warning),
            _ => None,
        }
    }

    /// Feeds one sample (newer than every previous one).
    pub(crate) fn step(
        &mut self,
        rule: &Rule,
        flap: &FlapConfig,
        t: i64,
        raw: f64,
        out: &mut Vec<Decision>,
    ) {
        let value = match &mut self.window {
            None => raw,
            Some(w) => match w.push(t, raw) {
                Some(v) => v,
                None => return,
            },
        };
        if value.is_nan() {
            return;
        }
        self.last_value = value;
        let breach = rule.breached(value);
        match (self.phase, breach) {
            (Phase::Ok | Phase::Pending { .. }, Some((severity, threshold))) => {
                let since = match self.phase {
                    Phase::Pending { since } => since,
                    _ => t,
                };
                if t - since >= rule.for_ms() {
                    self.phase = Phase::Firing { severity };
                    out.push(Decision::Fire {
                        severity,
                        value,
                        threshold,
                    });
                    self.transition(flap, t, out);
                } else {
                    self.phase = Phase::Pending { since };
                }
            }
            (Phase::Ok | Phase::Pending { .. }, None) => self.phase = Phase::Ok,
            (Phase::Firing { .. } | Phase::Recovering { .. }, Some((severity, threshold))) => {
                self.phase = Phase::Firing { severity };
                out.push(Decision::Fire {
                    severity,
                    value,
                    threshold,
                });
            }
            (Phase::Firing { severity } | Phase::Recovering { severity, .. }, None) => {
                if !rule.cleared(value) {
                    // In the hysteresis band: still firing, nothing new to say.
                    self.phase = Phase::Firing { severity };
                } else {
                    let since = match self.phase {
                        Phase::Recovering { since, .. } => since,
                        _ => t,
                    };
                    if t - since >= rule.recover_for_ms() {
                        self.phase = Phase::Ok;
                        self.transition(flap, t, out);
                        if !self.flapping {
                            out.push(Decision::Resolve { value });
                        }
                    } else {
                        self.phase = Phase::Recovering { since, severity };
                    }
                }
            }
        }
        self.calm_down(flap, t, out);
    }

    /// Records an OK↔Firing transition; may start flapping.
    fn transition(&mut self, flap: &FlapConfig, t: i64, out: &mut Vec<Decision>) {
        if !flap.enabled {
            return;
        }
        self.transitions.push_back(t);
        self.prune(flap, t);
        let n = self.transitions.len() as u32;
        if !self.flapping && n > flap.max_transitions {
            self.flapping = true;
            out.push(Decision::Flap {
                flapping: true,
                transitions: n,
            });
        }
    }

    /// Ends flapping once a whole window passed without a transition.
    fn calm_down(&mut self, flap: &FlapConfig, t: i64, out: &mut Vec<Decision>) {
        if !self.flapping {
            return;
        }
        self.prune(flap, t);
        if !self.transitions.is_empty() && flap.enabled {
            return;
        }
        self.flapping = false;
        out.push(Decision::Flap {
            flapping: false,
            transitions: 0,
        });
        if matches!(self.phase, Phase::Ok | Phase::Pending { .. }) {
            out.push(Decision::Resolve {
                value: self.last_value,
            });
        }
    }

    fn prune(&mut self, flap: &FlapConfig, t: i64) {
        let start = t.saturating_sub(millis(flap.window));
        while self.transitions.front().is_some_and(|&x| x <= start) {
            self.transitions.pop_front();
        }
    }
}
