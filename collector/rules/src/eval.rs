//! Streaming evaluation: every ingested sample goes through
//! [`Evaluator::observe`], which runs the state machines of the rules that
//! select its series and returns the resulting events.
//!
//! Per series the evaluator caches which rules select it (computed on the
//! series' first sample in each rule-set generation), so a sample of a
//! series no rule selects costs one shard lock and one hash lookup. State is
//! sharded by series id, each shard behind its own mutex.
//!
//! A series' CI and CI class are taken from its first sample in a
//! generation. Samples not newer than the series' previous sample are
//! ignored.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use super::rule::{FlapConfig, Rule, RuleSet};
use super::state::{Decision, RuleState};
use super::template::Context;
use tocsin_model::Labels;
use tocsin_model::event::{EventKind, RuleEvent, Severity, dedup_key};

const SHARDS: usize = 64;

/// What the evaluator needs to know about the series of a sample.
#[derive(Debug, Clone, Copy)]
pub struct SeriesInfo<'a> {
    /// Storage id of the series.
    pub series_id: u64,
    /// Its labels (sorted, with `__name__`).
    pub labels: &'a Labels,
    /// The CI the series belongs to.
    pub ci_id: &'a str,
    /// That CI's class (`host`, `switch`…).
    pub ci_class: &'a str,
    /// That CI's name, for templates.
    pub ci_name: &'a str,
}

/// One generation of the rule set, as the evaluator runs it.
#[derive(Debug)]
struct Compiled {
    generation: u64,
    /// Enabled rules only. A rule unchanged by a reload keeps its `Arc`.
    rules: Vec<Arc<Rule>>,
    flapping: FlapConfig,
    set: Arc<RuleSet>,
}

/// A rule that selects a series, with its state on that series.
#[derive(Debug)]
struct Match {
    /// Index into `Compiled::rules`.
    rule: usize,
    object: Labels,
    key: String,
    state: RuleState,
}

/// Everything the evaluator keeps per series.
#[derive(Debug)]
struct Entry {
    /// Generation `matches` was computed for (`None`: not yet).
    set: Option<Arc<Compiled>>,
    last_ts: i64,
    matches: Vec<Match>,
}

impl Default for Entry {
    fn default() -> Self {
        Self {
            set: None,
            last_ts: i64::MIN,
            matches: Vec::new(),
        }
    }
}

type Shard = HashMap<u64, Entry, BuildHasherDefault<IdHasher>>;

/// Evaluates the rules on every sample. `Send + Sync`; share it in an `Arc`.
#[derive(Debug)]
pub struct Evaluator {
    current: RwLock<Arc<Compiled>>,
    /// Keys of incidents open before a restart, not yet claimed by a series.
    restored: Mutex<HashMap<String, Severity>>,
    has_restored: AtomicBool,
    generation: AtomicU64,
    shards: Box<[Mutex<Shard>]>,
}

impl Evaluator {
    /// An evaluator running `set`.
    pub fn new(set: RuleSet) -> Self {
        let compiled = Compiled {
            generation: 1,
            rules: set
                .rules
                .iter()
                .filter(|r| r.enabled)
                .map(|r| Arc::new(r.clone()))
                .collect(),
            flapping: set.flapping,
            set: Arc::new(set),
        };
        Self {
            current: RwLock::new(Arc::new(compiled)),
            restored: Mutex::new(HashMap::new()),
            has_restored: AtomicBool::new(false),
            generation: AtomicU64::new(1),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// Declares the incidents that were open before a restart (event key →
    /// severity), so that the rule/series they belong to starts firing
    /// instead of OK: its first clear sample then resolves the incident,
    /// which would otherwise stay open forever. Call it before the first
    /// sample; keys of rules that no longer exist are simply never claimed.
    pub fn restore_open(&self, open: impl IntoIterator<Item = (String, Severity)>) {
        let mut restored = self.restored.lock();
        restored.extend(open);
        self.has_restored
            .store(!restored.is_empty(), Ordering::Release);
    }

    /// The rule set being evaluated.
    pub fn rules(&self) -> Arc<RuleSet> {
        self.current.read().set.clone()
    }

    /// Swaps in a new rule set. Rules whose definition did not change keep
    /// their state. A changed rule starts afresh, except that an incident it
    /// kept open stays open (its state starts firing and resolves through
    /// the new definition). For a rule that was removed, disabled, or no
    /// longer selects a series (or changed its object key), an open
    /// incident is resolved with the series' next sample.
    pub fn reload(&self, set: RuleSet) {
        let mut current = self.current.write();
        let rules = set
            .rules
            .iter()
            .filter(|r| r.enabled)
            .map(|r| match current.rules.iter().find(|old| ***old == *r) {
                Some(old) => old.clone(),
                None => Arc::new(r.clone()),
            })
            .collect();
        let generation = current.generation + 1;
        *current = Arc::new(Compiled {
            generation,
            rules,
            flapping: set.flapping,
            set: Arc::new(set),
        });
        self.generation.store(generation, Ordering::Release);
    }

    /// Evaluates one sample of a series; returns the events it caused
    /// (usually none).
    pub fn observe(&self, series: &SeriesInfo<'_>, ts_ms: i64, value: f64) -> Vec<RuleEvent> {
        let mut events = Vec::new();
        let mut shard = self.shards[shard_of(series.series_id)].lock();
        let entry = shard.entry(series.series_id).or_default();
        let generation = self.generation.load(Ordering::Acquire);
        if entry
            .set
            .as_ref()
            .is_none_or(|s| s.generation != generation)
        {
            self.refresh(entry, series, ts_ms, &mut events);
        }
        if entry.matches.is_empty() || ts_ms <= entry.last_ts {
            return events;
        }
        entry.last_ts = ts_ms;
        let Some(set) = &entry.set else {
            return events;
        };
        let mut decisions = Vec::new();
        for m in &mut entry.matches {
            let rule = &set.rules[m.rule];
            m.state
                .step(rule, &set.flapping, ts_ms, value, &mut decisions);
            for d in decisions.drain(..) {
                events.push(event(rule, m, series, ts_ms, d));
            }
        }
        events
    }

    /// Recomputes which rules select the series, carrying states over.
    fn refresh(
        &self,
        entry: &mut Entry,
        series: &SeriesInfo<'_>,
        ts: i64,
        out: &mut Vec<RuleEvent>,
    ) {
        let current = self.current.read().clone();
        let old_set = entry.set.take();
        let mut old: Vec<Option<Match>> = std::mem::take(&mut entry.matches)
            .into_iter()
            .map(Some)
            .collect();
        let old_rule = |m: &Match| old_set.as_ref().map(|s| s.rules[m.rule].clone());
        for (index, rule) in current.rules.iter().enumerate() {
            if !rule.selects(series.labels, series.ci_class) {
                continue;
            }
            let object = rule.object_of(series.labels);
            let key = dedup_key(&rule.name, series.ci_id, &object);
            let prev = old
                .iter_mut()
                .find(|m| {
                    m.as_ref()
                        .and_then(old_rule)
                        .is_some_and(|r| r.name == rule.name)
                })
                .and_then(Option::take);
            let state = match prev {
                Some(p) if p.key != key => {
                    old.push(Some(p));
                    RuleState::new(rule)
                }
                Some(p) if old_rule(&p).is_some_and(|r| Arc::ptr_eq(&r, rule)) => p.state,
                Some(p) => RuleState::carried(rule, &p.state),
                None => match self.claim_restored(&key) {
                    Some(severity) => RuleState::restored(rule, severity),
                    None => RuleState::new(rule),
                },
            };
            entry.matches.push(Match {
                rule: index,
                object,
                key,
                state,
            });
        }
        for m in old.into_iter().flatten() {
            if m.state.open_severity().is_some()
                && let Some(rule) = old_rule(&m)
            {
                let value = m.state.last_value();
                out.push(event(&rule, &m, series, ts, Decision::Resolve { value }));
            }
        }
        entry.set = Some(current);
    }
}

impl Evaluator {
    /// Takes the restored open incident of `key`, if any.
    fn claim_restored(&self, key: &str) -> Option<Severity> {
        if !self.has_restored.load(Ordering::Acquire) {
            return None;
        }
        let mut restored = self.restored.lock();
        let severity = restored.remove(key);
        if restored.is_empty() {
            self.has_restored.store(false, Ordering::Release);
        }
        severity
    }
}

/// Builds the event for one decision.
fn event(rule: &Rule, m: &Match, series: &SeriesInfo<'_>, at_ms: i64, d: Decision) -> RuleEvent {
    let kind = match d {
        Decision::Fire {
            severity,
            value,
            threshold,
        } => {
            let cx = Context {
                value,
                threshold,
                severity,
                ci: series.ci_name,
                rule: &rule.name,
                labels: series.labels,
                object: &m.object,
            };
            EventKind::Firing {
                severity,
                value,
                threshold,
                critical_severity: rule.critical_severity,
                title: rule.title.render(&cx),
                description: rule.description.render(&cx),
            }
        }
        Decision::Resolve { value } => EventKind::Resolved { value },
        Decision::Flap {
            flapping,
            transitions,
        } => EventKind::Flapping {
            flapping,
            transitions,
        },
    };
    RuleEvent {
        rule: rule.name.clone(),
        ci_id: series.ci_id.to_string(),
        object: m.object.clone(),
        key: m.key.clone(),
        at_ms,
        kind,
    }
}

fn shard_of(id: u64) -> usize {
    (id % SHARDS as u64) as usize
}

/// A cheap hasher for series ids (not DoS-resistant; ids are ours).
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        let h = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod lifecycle_tests;
