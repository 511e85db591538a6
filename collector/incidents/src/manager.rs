//! [`IncidentManager`]: turns rule events into incidents and applies
//! people's actions. This file: construction, the periodic `flush`/`tick`
//! (coalesced value updates, SLA escalation, topology detach, stale
//! conditions) and the read side. Events are in `events.rs`, people's
//! actions in `actions.rs`.

use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::json;

use super::config::IncidentConfig;
use super::error::IncidentError;
use super::hooks::{IncidentListener, OutboxHook, Suppressor};
use super::problems::ProblemStore;
use super::sla_clock;
use super::state::State;
use super::store::{Store, Txn};
use super::topology;
use tocsin_cmdb::Cmdb;
use tocsin_model::event::Severity;
use tocsin_model::incident::{
    Incident, IncidentDetail, SYSTEM, Status, TimelineEntry, TimelineKind,
};
use tocsin_model::time::Clock;
use tocsin_storage::{Db, StorageError};

/// See the module docs of [`crate`].
pub struct IncidentManager {
    pub(super) store: Store,
    pub(super) cmdb: Arc<Cmdb>,
    pub(super) config: IncidentConfig,
    pub(super) state: Mutex<State>,
    pub(super) clock: Clock,
    pub(super) listener: Option<Arc<dyn IncidentListener>>,
    pub(super) outbox: Option<Arc<dyn OutboxHook>>,
    pub(super) suppressor: Option<Arc<dyn Suppressor>>,
    pub(super) problems: Option<Arc<ProblemStore>>,
}

/// Filters of [`IncidentManager::list`]; empty lists and `None` match all.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Any of these statuses.
    pub status: Vec<Status>,
    /// Any of these severities.
    pub severity: Vec<Severity>,
    /// Incidents of this CI.
    pub ci_id: Option<String>,
    /// Opened at or after (ms).
    pub opened_from_ms: Option<i64>,
    /// Opened at or before (ms).
    pub opened_to_ms: Option<i64>,
    /// Leave out incidents attached to a parent.
    pub top_level_only: bool,
    /// Most incidents returned (newest first).
    pub limit: Option<usize>,
}

impl IncidentFilter {
    fn matches(&self, inc: &Incident) -> bool {
        (self.status.is_empty() || self.status.contains(&inc.status))
            && (self.severity.is_empty() || self.severity.contains(&inc.severity))
            && self.ci_id.as_ref().is_none_or(|c| *c == inc.ci_id)
            && self.opened_from_ms.is_none_or(|t| inc.opened_at >= t)
            && self.opened_to_ms.is_none_or(|t| inc.opened_at <= t)
            && (!self.top_level_only || inc.parent_id.is_none())
    }
}

pub(super) fn ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl IncidentManager {
    /// Opens the manager on `db`, loading live incidents into memory.
    pub fn open(
        db: Arc<Db>,
        cmdb: Arc<Cmdb>,
        config: IncidentConfig,
    ) -> Result<Self, StorageError> {
        Self::open_with_clock(db, cmdb, config, Clock::system())
    }

    /// [`open`](Self::open) with another wall clock (tests, simulations).
    pub fn open_with_clock(
        db: Arc<Db>,
        cmdb: Arc<Cmdb>,
        config: IncidentConfig,
        clock: Clock,
    ) -> Result<Self, StorageError> {
        let store = Store::new(db);
        let state = State::load(&store, &config, clock.now_ms())?;
        tracing::info!(
            live = state.live.len(),
            next_id = state.next_id,
            "incidents loaded"
        );
        Ok(Self {
            store,
            cmdb,
            config,
            state: Mutex::new(state),
            clock,
            listener: None,
            outbox: None,
            suppressor: None,
            problems: None,
        })
    }

    /// Sets the listener told about every timeline entry written.
    pub fn with_listener(mut self, listener: Arc<dyn IncidentListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Sets the outbox that stages notifications in the same write as the
    /// incident changes that cause them.
    pub fn with_outbox(mut self, outbox: Arc<dyn OutboxHook>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Sets the check that suppresses incidents (maintenance windows).
    pub fn with_suppressor(mut self, suppressor: Arc<dyn Suppressor>) -> Self {
        self.suppressor = Some(suppressor);
        self
    }

    /// Records every opening with the problem store and links incidents to
    /// the problem records they raise or join.
    pub fn with_problems(mut self, problems: Arc<ProblemStore>) -> Self {
        self.problems = Some(problems);
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &IncidentConfig {
        &self.config
    }

    pub(super) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The wall clock the manager reads (the system clock unless
    /// [`open_with_clock`](Self::open_with_clock) gave another).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// What the suppressor says about `inc` at `now` (its reason, or `None`
    /// when no window covers it); `None` without a suppressor. The CI class
    /// is the one recorded when the incident opened.
    pub(super) fn suppression(&self, inc: &Incident, now: i64) -> Option<Option<String>> {
        let class = inc.ci.as_ref().map(|c| c.class.as_str());
        self.suppressor
            .as_ref()
            .map(|s| s.suppress(&inc.ci_id, class, now))
    }

    /// After a failed write, memory may be ahead of the store: reload it.
    pub(super) fn recover(&self, st: &mut State) {
        match State::load(&self.store, &self.config, self.now()) {
            Ok(fresh) => *st = fresh,
            Err(e) => tracing::error!(error = %e, "cannot reload incidents after a failed write"),
        }
    }

    /// Commits `txn` (on failure reloads memory) and tells the listener.
    pub(super) fn commit(
        &self,
        mut st: parking_lot::MutexGuard<'_, State>,
        txn: Txn,
        sync: bool,
    ) -> Result<(), StorageError> {
        let outbox = self.outbox.as_deref();
        let result = txn.commit_staged(sync, |batch, written| {
            if let Some(o) = outbox {
                o.stage(batch, written);
            }
        });
        if let Some(o) = outbox {
            o.committed(result.is_ok());
        }
        match result {
            Ok(written) => {
                drop(st);
                if let Some(l) = &self.listener {
                    for (inc, entry) in &written {
                        l.on_entry(inc, entry);
                    }
                }
                self.link_problems(&written);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "incident write failed");
                self.recover(&mut st);
                Err(e)
            }
        }
    }

    /// Records new incidents with the problem store; links them (a second
    /// write) when they raise or join a problem. Failures are logged: the
    /// incident itself is already stored.
    fn link_problems(&self, written: &[(Incident, TimelineEntry)]) {
        let Some(problems) = &self.problems else {
            return;
        };
        for (inc, _) in written
            .iter()
            .filter(|(_, e)| e.kind == TimelineKind::Opened)
        {
            let linked = problems
                .record(&inc.rule, &inc.ci_id, inc.id, inc.opened_at)
                .map_err(IncidentError::from)
                .and_then(|problem| match problem {
                    Some(p) => {
                        let ids = problems
                            .get(p)
                            .map_or_else(|| vec![inc.id], |pr| pr.incident_ids);
                        for id in ids {
                            if self.get_incident(id)?.problem_id != Some(p) {
                                self.set_problem(id, SYSTEM, p)?;
                            }
                        }
                        Ok(())
                    }
                    None => Ok(()),
                });
            if let Err(e) = linked {
                tracing::warn!(incident = inc.id, error = %e, "cannot link incident to its problem");
            }
        }
    }

    /// Writes coalesced value updates (call every second and on shutdown).
    pub fn flush(&self) -> Result<(), StorageError> {
        self.flush_at(self.now())
    }

    fn flush_at(&self, now: i64) -> Result<(), StorageError> {
        let mut st = self.state.lock();
        let mut txn = Txn::new(&self.store);
        let interval = ms(self.config.value_update_interval);
        for live in st.live.values_mut() {
            let entry_due = live.agg.samples > 0 && now - live.last_value_entry_ms >= interval;
            if !live.dirty && !entry_due {
                continue;
            }
            if entry_due {
                txn.entry(&mut live.inc, live.agg.entry(now))?;
                live.agg = Default::default();
                live.last_value_entry_ms = now;
            }
            txn.put(&live.inc)?;
            live.dirty = false;
        }
        self.commit(st, txn, false)
    }

    /// Every second: flushes value updates, lifts the suppression of active
    /// incidents no maintenance window covers any more (their SLA clock starts
    /// now, see [`sla_clock`]), escalates SLA breaches, detaches children
    /// whose parent resolved, and ends stale conditions.
    pub fn tick(&self, now_ms: i64) -> Result<(), StorageError> {
        self.flush_at(now_ms)?;
        let now = now_ms;
        let mut st = self.state.lock();
        let mut txn = Txn::new(&self.store);
        let mut ids: Vec<u64> = st.live.keys().copied().collect();
        ids.sort_unstable();
        for id in &ids {
            let Some(live) = st.live.get_mut(id) else {
                continue;
            };
            if live.inc.status.is_active()
                && let Some(reason) = live.inc.suppressed.clone()
                && self.suppression(&live.inc, now) == Some(None)
            {
                let inc = &mut live.inc;
                inc.suppressed = None;
                sla_clock::on_unsuppress(inc, &self.config, now);
                let entry = TimelineEntry {
                    at: now,
                    actor: SYSTEM.into(),
                    kind: TimelineKind::Unsuppressed,
                    message: "maintenance window ended; incident is now worked normally".into(),
                    data: json!({"previous_reason": reason}),
                };
                txn.entry(inc, entry)?;
                txn.put(inc)?;
                live.dirty = false;
            }
            let breaches = sla_clock::breaches(&mut live.inc, now);
            for (stage, due) in &breaches {
                let inc = &mut live.inc;
                let from = inc.tier;
                inc.tier = (inc.tier + 1).min(3);
                let message = if from == inc.tier {
                    format!("{stage} SLA breached; already at tier {from}")
                } else {
                    format!(
                        "{stage} SLA breached; escalated from tier {from} to tier {}",
                        inc.tier
                    )
                };
                let data = json!({"stage": stage, "due_at": tocsin_model::time::rfc3339(*due),
                                  "from_tier": from, "to_tier": inc.tier});
                let entry = TimelineEntry {
                    at: now,
                    actor: SYSTEM.into(),
                    kind: TimelineKind::Escalated,
                    message,
                    data,
                };
                txn.entry(inc, entry)?;
            }
            if !breaches.is_empty() {
                txn.put(&live.inc)?;
                live.dirty = false;
            }
        }
        topology::detach_orphans(&mut st, &self.store, &mut txn, &self.config, now)?;
        let stale = ms(self.config.condition_stale_after);
        for id in ids {
            let latched_stale = st
                .live
                .get(&id)
                .is_some_and(|l| !l.inc.status.is_active() && now - l.last_event_ms > stale);
            if latched_stale && let Some(mut live) = st.forget(id) {
                let msg = format!(
                    "no breaching sample for {}; the fault counts as over",
                    humantime::format_duration(self.config.condition_stale_after)
                );
                self.end_condition(&mut txn, &mut live.inc, msg, now)?;
            }
        }
        self.commit(st, txn, true)
    }

    /// Records that the condition of a (no longer live) incident is over.
    pub(super) fn end_condition(
        &self,
        txn: &mut Txn,
        inc: &mut Incident,
        message: String,
        now: i64,
    ) -> Result<(), StorageError> {
        inc.condition_active = false;
        let entry = TimelineEntry {
            at: now,
            actor: SYSTEM.into(),
            kind: TimelineKind::ConditionCleared,
            message,
            data: serde_json::Value::Null,
        };
        txn.entry(inc, entry)?;
        txn.put(inc)?;
        txn.set_live(inc.id, false);
        Ok(())
    }

    /// One incident (the in-memory copy if it is live).
    pub fn get_incident(&self, id: u64) -> Result<Incident, IncidentError> {
        let live = self.state.lock().live.get(&id).map(|l| l.inc.clone());
        match live {
            Some(inc) => Ok(inc),
            None => self.store.get(id)?.ok_or(IncidentError::NotFound(id)),
        }
    }

    /// One incident with its timeline and children.
    pub fn get(&self, id: u64) -> Result<IncidentDetail, IncidentError> {
        Ok(IncidentDetail {
            incident: self.get_incident(id)?,
            timeline: self.store.timeline(id)?,
            children: self.store.children(id)?,
        })
    }

    /// Incidents matching `filter`, newest first.
    pub fn list(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StorageError> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let only_active = !filter.status.is_empty() && filter.status.iter().all(|s| s.is_active());
        if only_active {
            let st = self.state.lock();
            let mut out: Vec<Incident> = st
                .live
                .values()
                .map(|l| &l.inc)
                .filter(|i| filter.matches(i))
                .cloned()
                .collect();
            out.sort_by_key(|i| std::cmp::Reverse((i.opened_at, i.id)));
            out.truncate(limit);
            return Ok(out);
        }
        let mut out = Vec::new();
        let from = filter.opened_from_ms.unwrap_or(i64::MIN);
        let to = filter.opened_to_ms.unwrap_or(i64::MAX);
        self.store
            .scan_newest(filter.ci_id.as_deref(), from, to, |id| {
                if let Some(inc) = self.store.get(id)?
                    && filter.matches(&inc)
                {
                    out.push(inc);
                }
                Ok(out.len() < limit)
            })?;
        let st = self.state.lock();
        for inc in &mut out {
            if let Some(l) = st.live.get(&inc.id) {
                *inc = l.inc.clone();
            }
        }
        Ok(out)
    }

    /// Open and acknowledged incidents of one CI, newest first.
    pub fn open_for_ci(&self, ci_id: &str) -> Vec<Incident> {
        let st = self.state.lock();
        let mut out: Vec<Incident> = st
            .live
            .values()
            .filter(|l| l.inc.ci_id == ci_id && l.inc.status.is_active())
            .map(|l| l.inc.clone())
            .collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.id));
        out
    }

    /// Dedup keys of the open and acknowledged incidents with their severity
    /// (for seeding the rule evaluator's state after a restart).
    pub fn open_keys(&self) -> Vec<(String, Severity)> {
        let st = self.state.lock();
        let mut out: Vec<(String, Severity)> = st
            .live
            .values()
            .filter(|l| l.inc.status.is_active())
            .map(|l| (l.inc.key.clone(), l.inc.current_severity))
            .collect();
        out.sort();
        out
    }
}
