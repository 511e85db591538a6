//! Problem records (问题管理): a rule that keeps firing on the same CI points
//! at an underlying problem worth its own record.
//!
//! The rule, precisely: every incident opening is recorded per (rule, CI).
//! Openings not linked to a problem are *candidates*; candidates more than
//! `window` older than the newest one are forgotten. When the candidates of a
//! pair reach `threshold`, a problem is created linking all of them, in
//! opening order. While that problem is open, every later incident of the
//! pair joins it. Once it is closed, counting starts afresh.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

pub use tocsin_model::problem::{Problem, ProblemStatus};
use tocsin_storage::{Cf, Db, StorageError, keys};

/// `[problems]`: when recurring incidents raise a problem record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProblemConfig {
    /// Create problem records at all.
    pub enabled: bool,
    /// Incidents of one rule on one CI, opened within `window`, that raise a problem.
    pub threshold: u32,
    /// How far apart (oldest to newest opening) the counted incidents may be.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
}

impl Default for ProblemConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            threshold: 3,
            window: Duration::from_secs(7 * 86_400),
        }
    }
}

impl ProblemConfig {
    /// Checks value ranges, reporting every problem prefixed with `key` (e.g. `problems`).
    pub fn validate(&self, key: &str) -> Result<(), Vec<String>> {
        let mut p = Vec::new();
        if !(2..=1000).contains(&self.threshold) {
            p.push(format!(
                "{key}.threshold: must be between 2 and 1000, got {}",
                self.threshold
            ));
        }
        if self.window < Duration::from_secs(60) || self.window > Duration::from_secs(366 * 86_400)
        {
            p.push(format!(
                "{key}.window: must be between 1m and 366days, got {}",
                humantime::format_duration(self.window)
            ));
        }
        if p.is_empty() { Ok(()) } else { Err(p) }
    }
}

#[derive(Default)]
struct State {
    problems: BTreeMap<u64, Problem>,
    /// (rule, CI) → its open problem.
    open: HashMap<(String, String), u64>,
    /// Incident → the problem it is linked to.
    linked: HashMap<u64, u64>,
}

impl State {
    fn index(&mut self, p: &Problem) {
        if p.status == ProblemStatus::Open {
            self.open.insert((p.rule.clone(), p.ci_id.clone()), p.id);
        }
        for incident in &p.incident_ids {
            self.linked.insert(*incident, p.id);
        }
    }
}

/// See the module docs. Problems and candidates live in the `incidents`
/// column family; problems are also kept in memory.
pub struct ProblemStore {
    db: Arc<Db>,
    config: ProblemConfig,
    state: Mutex<State>,
}

impl ProblemStore {
    /// Loads every stored problem.
    pub fn open(db: Arc<Db>, config: ProblemConfig) -> Result<Self, StorageError> {
        let mut state = State::default();
        for item in db.iter_prefix(Cf::Incidents, &[keys::PROBLEM]) {
            let (key, value) = item?;
            let id = keys::decode_problem(&key)?;
            let p: Problem = serde_json::from_slice(&value).map_err(|e| corrupt(id, e))?;
            if p.id != id {
                return Err(StorageError::Corrupt(format!(
                    "problem stored under id {id} has id {}",
                    p.id
                )));
            }
            state.index(&p);
            state.problems.insert(id, p);
        }
        tracing::debug!(problems = state.problems.len(), "problem records loaded");
        Ok(Self {
            db,
            config,
            state: Mutex::new(state),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ProblemConfig {
        &self.config
    }

    /// Records that `incident_id` of `rule` on `ci_id` opened at `opened_at_ms`.
    /// Returns the problem the incident is linked to: one it just raised, the
    /// open one it joined, or the one it was already linked to. Recording the
    /// same incident again changes nothing.
    pub fn record(
        &self,
        rule: &str,
        ci_id: &str,
        incident_id: u64,
        opened_at_ms: i64,
    ) -> Result<Option<u64>, StorageError> {
        if !self.config.enabled {
            return Ok(None);
        }
        if [rule, ci_id]
            .iter()
            .any(|s| s.is_empty() || s.contains('\0'))
        {
            tracing::warn!(
                rule,
                ci_id,
                "rule or CI id unusable in a problem key; not recorded"
            );
            return Ok(None);
        }
        let mut state = self.state.lock();
        if let Some(id) = state.linked.get(&incident_id) {
            return Ok(Some(*id));
        }
        let cf = Cf::Incidents;
        let mut batch = self.db.tx();
        if let Some(&id) = state.open.get(&(rule.to_string(), ci_id.to_string())) {
            let mut p = state.problems[&id].clone();
            p.incident_ids.push(incident_id);
            p.updated_at = p.updated_at.max(opened_at_ms);
            batch.put(cf, keys::problem(id), encode(&p)?);
            self.db.write(batch, true)?;
            tracing::info!(
                problem = id,
                incident = incident_id,
                rule,
                ci_id,
                "incident joined problem"
            );
            state.index(&p);
            state.problems.insert(id, p);
            return Ok(Some(id));
        }

        let prefix = keys::problem_candidate_prefix(rule, ci_id);
        let mut candidates = Vec::new();
        for item in self.db.iter_prefix(Cf::Incidents, &prefix) {
            let c = keys::decode_problem_candidate(&item?.0)?;
            candidates.push((c.opened_ms, c.incident, false));
        }
        if !candidates.iter().any(|c| c.1 == incident_id) {
            candidates.push((opened_at_ms, incident_id, true));
        }
        candidates.sort_unstable();
        let newest = candidates.last().map_or(opened_at_ms, |c| c.0);
        let window = i64::try_from(self.config.window.as_millis()).unwrap_or(i64::MAX);
        let from = newest.saturating_sub(window);
        let (stale, live): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|c| c.0 < from);
        let key = |c: &(i64, u64, bool)| keys::problem_candidate(rule, ci_id, c.0, c.1);
        for c in stale.iter().filter(|c| !c.2) {
            batch.delete(cf, key(c));
        }
        if live.len() < self.config.threshold as usize {
            for c in live.iter().filter(|c| c.2) {
                batch.put(cf, key(c), []);
            }
            self.db.write(batch, true)?;
            return Ok(None);
        }
        let id = state.problems.last_key_value().map_or(1, |(id, _)| id + 1);
        let p = Problem {
            id,
            rule: rule.to_string(),
            ci_id: ci_id.to_string(),
            incident_ids: live.iter().map(|c| c.1).collect(),
            created_at: opened_at_ms,
            updated_at: newest,
            status: ProblemStatus::Open,
            closed_at: None,
        };
        for c in live.iter().filter(|c| !c.2) {
            batch.delete(cf, key(c));
        }
        batch.put(cf, keys::problem(id), encode(&p)?);
        self.db.write(batch, true)?;
        tracing::info!(
            problem = id,
            rule,
            ci_id,
            incidents = p.incident_ids.len(),
            "recurring incidents raised a problem"
        );
        state.index(&p);
        state.problems.insert(id, p);
        Ok(Some(id))
    }

    /// Closes a problem (a no-op if it is closed already); `None` if unknown.
    pub fn close(&self, id: u64, at_ms: i64) -> Result<Option<Problem>, StorageError> {
        let mut state = self.state.lock();
        let Some(mut p) = state.problems.get(&id).cloned() else {
            return Ok(None);
        };
        if p.status == ProblemStatus::Closed {
            return Ok(Some(p));
        }
        p.status = ProblemStatus::Closed;
        p.closed_at = Some(at_ms);
        let mut batch = self.db.tx();
        batch.put(Cf::Incidents, keys::problem(id), encode(&p)?);
        self.db.write(batch, true)?;
        tracing::info!(problem = id, "problem closed");
        state.open.remove(&(p.rule.clone(), p.ci_id.clone()));
        state.problems.insert(id, p.clone());
        Ok(Some(p))
    }

    /// Every problem, by id.
    pub fn list(&self) -> Vec<Problem> {
        self.state.lock().problems.values().cloned().collect()
    }

    /// One problem.
    pub fn get(&self, id: u64) -> Option<Problem> {
        self.state.lock().problems.get(&id).cloned()
    }

    /// The problem an incident is linked to.
    pub fn problem_of(&self, incident_id: u64) -> Option<u64> {
        self.state.lock().linked.get(&incident_id).copied()
    }
}

fn encode(p: &Problem) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(p).map_err(|e| corrupt(p.id, e))
}

fn corrupt(id: u64, e: serde_json::Error) -> StorageError {
    StorageError::Corrupt(format!("problem {id}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_714_700_000_000;

    fn store(dir: &std::path::Path) -> ProblemStore {
        ProblemStore::open(Arc::new(Db::open(dir).unwrap()), ProblemConfig::default()).unwrap()
    }

    fn candidates(s: &ProblemStore, rule: &str, ci: &str) -> usize {
        let prefix = keys::problem_candidate_prefix(rule, ci);
        s.db.iter_prefix(Cf::Incidents, &prefix).count()
    }

    #[test]
    fn reaching_the_threshold_raises_a_problem_that_later_incidents_join() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert_eq!(s.record("cpu", "h1", 1, T0).unwrap(), None);
        assert_eq!(s.record("cpu", "h1", 2, T0 + DAY).unwrap(), None);
        // Other pairs count separately.
        assert_eq!(s.record("cpu", "h2", 3, T0 + DAY).unwrap(), None);
        assert_eq!(s.record("mem", "h1", 4, T0 + DAY).unwrap(), None);
        assert!(s.list().is_empty());
        assert_eq!(s.record("cpu", "h1", 5, T0 + 2 * DAY).unwrap(), Some(1));
        let p = s.get(1).unwrap();
        assert_eq!((p.rule.as_str(), p.ci_id.as_str()), ("cpu", "h1"));
        assert_eq!(p.incident_ids, vec![1, 2, 5]);
        assert_eq!(
            (p.status, p.created_at),
            (ProblemStatus::Open, T0 + 2 * DAY)
        );
        assert_eq!(candidates(&s, "cpu", "h1"), 0);
        // Later incidents join, whatever the gap; recording twice changes nothing.
        assert_eq!(s.record("cpu", "h1", 6, T0 + 30 * DAY).unwrap(), Some(1));
        assert_eq!(s.record("cpu", "h1", 6, T0 + 30 * DAY).unwrap(), Some(1));
        assert_eq!(s.record("cpu", "h1", 2, T0).unwrap(), Some(1));
        assert_eq!(s.get(1).unwrap().incident_ids, vec![1, 2, 5, 6]);
        assert_eq!(s.get(1).unwrap().updated_at, T0 + 30 * DAY);
        assert_eq!(s.problem_of(5), Some(1));
        assert_eq!(s.problem_of(3), None);
        assert_eq!(s.list().len(), 1);
    }

    #[test]
    fn openings_outside_the_window_do_not_count() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert_eq!(s.record("disk", "h1", 1, T0).unwrap(), None);
        assert_eq!(s.record("disk", "h1", 2, T0 + 8 * DAY).unwrap(), None);
        assert_eq!(s.record("disk", "h1", 3, T0 + 9 * DAY).unwrap(), None);
        // The first opening was forgotten.
        assert_eq!(candidates(&s, "disk", "h1"), 2);
        // An opening older than the window of the newest one is not kept.
        assert_eq!(s.record("disk", "h1", 4, T0 + DAY).unwrap(), None);
        assert_eq!(candidates(&s, "disk", "h1"), 2);
        // Exactly `window` apart still counts.
        assert_eq!(s.record("disk", "h1", 5, T0 + 15 * DAY).unwrap(), Some(1));
        assert_eq!(s.get(1).unwrap().incident_ids, vec![2, 3, 5]);
    }

    #[test]
    fn survives_restart_and_closing_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = store(dir.path());
            s.record("cpu", "h1", 1, T0).unwrap();
            s.record("cpu", "h1", 2, T0 + 1).unwrap();
        }
        let s = store(dir.path());
        assert_eq!(s.record("cpu", "h1", 3, T0 + 2).unwrap(), Some(1));
        drop(s);
        let s = store(dir.path());
        assert_eq!(s.get(1).unwrap().incident_ids, vec![1, 2, 3]);
        assert_eq!(s.record("cpu", "h1", 4, T0 + 3).unwrap(), Some(1));
        let closed = s.close(1, T0 + 4).unwrap().unwrap();
        assert_eq!(
            (closed.status, closed.closed_at),
            (ProblemStatus::Closed, Some(T0 + 4))
        );
        assert_eq!(s.close(9, T0).unwrap(), None);
        drop(s);
        let s = store(dir.path());
        assert_eq!(s.get(1).unwrap().status, ProblemStatus::Closed);
        assert_eq!(s.record("cpu", "h1", 4, T0 + 3).unwrap(), Some(1));
        assert_eq!(s.record("cpu", "h1", 5, T0 + 5).unwrap(), None);
        assert_eq!(s.record("cpu", "h1", 6, T0 + 6).unwrap(), None);
        assert_eq!(s.record("cpu", "h1", 7, T0 + 7).unwrap(), Some(2));
        assert_eq!(s.get(2).unwrap().incident_ids, vec![5, 6, 7]);
        let json = serde_json::to_value(s.get(2).unwrap()).unwrap();
        assert_eq!(json["status"], "open");
        assert_eq!(json["created_at"], tocsin_model::time::rfc3339(T0 + 7));
        assert!(json.get("closed_at").is_none());
    }

    #[test]
    fn disabled_or_unusable_input_records_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let config = ProblemConfig {
            enabled: false,
            threshold: 2,
            ..Default::default()
        };
        let s = ProblemStore::open(db.clone(), config).unwrap();
        for id in 1..5 {
            assert_eq!(s.record("cpu", "h1", id, T0).unwrap(), None);
        }
        drop(s);
        let s = ProblemStore::open(db, ProblemConfig::default()).unwrap();
        assert_eq!(s.record("cpu\0x", "h1", 1, T0).unwrap(), None);
        assert_eq!(s.record("cpu", "", 1, T0).unwrap(), None);
        assert!(
            s.db.iter_prefix(Cf::Incidents, &[keys::PROBLEM_CANDIDATE])
                .next()
                .is_none()
        );
    }

    #[test]
    fn config_defaults_and_validation() {
        let c: ProblemConfig = toml::from_str("").unwrap();
        assert_eq!(c, ProblemConfig::default());
        assert_eq!(
            (c.threshold, c.window),
            (3, Duration::from_secs(7 * 86_400))
        );
        assert_eq!(c.validate("problems"), Ok(()));
        let c: ProblemConfig = toml::from_str("threshold = 5\nwindow = \"30days\"").unwrap();
        assert_eq!(c.window, Duration::from_secs(30 * 86_400));
        assert!(toml::from_str::<ProblemConfig>("count = 5").is_err());
        let c = ProblemConfig {
            enabled: true,
            threshold: 1,
            window: Duration::from_secs(1),
        };
        let p = c.validate("problems").unwrap_err();
        assert_eq!(p.len(), 2);
        assert!(p[0].starts_with("problems.threshold:"));
        assert!(p[1].starts_with("problems.window:"));
    }
}
