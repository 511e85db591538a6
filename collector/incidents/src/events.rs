//! Rule events → incidents: open, deduplicate, update, raise severity,
//! resolve, reopen, flap. Lifecycle changes are written before `handle`
//! returns (one atomic, synced write per call); value updates of an open
//! incident stay in memory until the next `flush`.

use serde_json::json;

use super::manager::{IncidentManager, ms};
use super::sla_clock;
use super::state::{Live, State};
use super::store::Txn;
use super::topology;
use tocsin_model::event::{EventKind, RuleEvent, Severity};
use tocsin_model::incident::{Criticality, Incident, SYSTEM, Status, TimelineEntry, TimelineKind};
use tocsin_storage::StorageError;

/// The fields of a `Firing` event.
pub(super) struct Firing<'a> {
    /// Highest severity crossed, or the rule's `critical_severity` on a
    /// critical CI (see `crossed`).
    pub severity: Severity,
    /// The severity actually crossed, when `severity` was raised because the
    /// CI's criticality is `critical`.
    pub crossed: Option<Severity>,
    /// Evaluated value.
    pub value: f64,
    /// Threshold of the crossed severity.
    pub threshold: f64,
    /// Rendered title.
    pub title: &'a str,
    /// Rendered description.
    pub description: &'a str,
}

/// An entry by the system.
pub(super) fn sys(
    now: i64,
    kind: TimelineKind,
    message: String,
    data: serde_json::Value,
) -> TimelineEntry {
    TimelineEntry {
        at: now,
        actor: SYSTEM.into(),
        kind,
        message,
        data,
    }
}

/// How a timeline message tells that `severity` replaced the crossed one.
pub(super) fn critical_note(crossed: Severity, severity: Severity) -> String {
    format!(
        " ({} threshold crossed; {} because the CI's criticality is critical)",
        crossed.as_str(),
        severity.as_str()
    )
}

/// Worst of two values: the threshold is a ceiling when the incident opened
/// at or above it, a floor otherwise.
fn worse(peak: f64, value: f64, threshold: f64) -> f64 {
    if peak >= threshold {
        peak.max(value)
    } else {
        peak.min(value)
    }
}

/// Applies a breaching sample to an incident's values (occurrences count
/// breaching samples).
fn apply_value(inc: &mut Incident, f: &Firing<'_>, at_ms: i64) {
    if f.value.is_finite() {
        inc.last_value = f.value;
        inc.peak_value = worse(inc.peak_value, f.value, inc.threshold);
    }
    inc.occurrences += 1;
    inc.last_sample_at = inc.last_sample_at.max(at_ms);
    inc.current_severity = f.severity;
    inc.condition_active = true;
}

impl IncidentManager {
    /// Applies the events of one ingested batch. See the module docs of
    /// [`crate`] for the rules.
    pub fn handle(&self, events: Vec<RuleEvent>) -> Result<(), StorageError> {
        if events.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let mut st = self.state.lock();
        let mut txn = Txn::new(&self.store);
        for ev in &events {
            if let Err(e) = self.apply(&mut st, &mut txn, ev, now) {
                self.recover(&mut st);
                return Err(e);
            }
        }
        if txn.is_empty() {
            return Ok(());
        }
        self.commit(st, txn, true)
    }

    fn apply(
        &self,
        st: &mut State,
        txn: &mut Txn,
        ev: &RuleEvent,
        now: i64,
    ) -> Result<(), StorageError> {
        match &ev.kind {
            EventKind::Firing {
                severity,
                value,
                threshold,
                critical_severity,
                title,
                description,
            } => {
                let raised = self.critical_raise(&ev.ci_id, *severity, *critical_severity)?;
                let f = Firing {
                    severity: raised.unwrap_or(*severity),
                    crossed: raised.map(|_| *severity),
                    value: *value,
                    threshold: *threshold,
                    title,
                    description,
                };
                self.on_firing(st, txn, ev, &f, now)
            }
            EventKind::Resolved { value } => self.on_resolved(st, txn, ev, *value, now),
            EventKind::Flapping {
                flapping,
                transitions,
            } => self.on_flapping(st, txn, ev, *flapping, *transitions, now),
        }
    }

    /// The rule's `critical_severity` when it is above the crossed severity
    /// and the CI's criticality is `critical` (read now, so a CI marked
    /// critical while its incident is open raises it with the next sample).
    fn critical_raise(
        &self,
        ci_id: &str,
        crossed: Severity,
        critical_severity: Option<Severity>,
    ) -> Result<Option<Severity>, StorageError> {
        let Some(raised) = critical_severity.filter(|s| *s > crossed) else {
            return Ok(None);
        };
        let ci = self.cmdb.get_ci(ci_id)?;
        let criticality =
            Criticality::from_attribute(ci.as_ref().and_then(|c| c.attributes.get("criticality")));
        Ok((criticality == Criticality::Critical).then_some(raised))
    }

    fn on_firing(
        &self,
        st: &mut State,
        txn: &mut Txn,
        ev: &RuleEvent,
        f: &Firing<'_>,
        now: i64,
    ) -> Result<(), StorageError> {
        let mut previous = None;
        if let Some(&id) = st.by_key.get(&ev.key) {
            let stale = ms(self.config.condition_stale_after);
            let Some(live) = st.live.get_mut(&id) else {
                return Err(StorageError::Corrupt(format!(
                    "key index names incident {id}, not in memory"
                )));
            };
            if live.inc.status.is_active() {
                apply_value(&mut live.inc, f, ev.at_ms);
                live.agg.add(f.value, ev.at_ms);
                live.last_event_ms = now;
                live.dirty = true;
                if f.severity > live.inc.severity {
                    self.raise(txn, &mut live.inc, f, now)?;
                    live.dirty = false;
                }
                return Ok(());
            }
            // Ended by a person while the condition held: same fault, unless
            // it got worse or went quiet for too long.
            if f.severity <= live.inc.severity && now - live.last_event_ms <= stale {
                live.last_event_ms = now;
                return Ok(());
            }
            let mut live = st
                .forget(id)
                .unwrap_or_else(|| unreachable!("checked above"));
            let msg = if f.severity > live.inc.severity {
                format!(
                    "the condition got worse ({}); treated as a new fault",
                    f.severity.as_str()
                )
            } else {
                "the condition was quiet too long; treated as a new fault".to_string()
            };
            self.end_condition(txn, &mut live.inc, msg, now)?;
            previous = Some(live.inc);
        }
        let previous = match previous {
            Some(p) => Some(p),
            None => txn.latest_for_key(&self.store, &ev.key)?,
        };
        if let Some(inc) = &previous
            && inc.status.is_active()
        {
            // Never a duplicate, even if memory lost track of an open incident.
            tracing::warn!(incident = inc.id, key = %inc.key, "open incident was not in memory; adopted");
            let upstream = topology::upstream(self.store.db(), &self.config.topology, &inc.ci_id)?;
            txn.set_live(inc.id, true);
            st.remember(Live::new(inc.clone(), upstream, now));
            return self.on_firing(st, txn, ev, f, now);
        }
        if let Some(inc) = previous
            && inc.status == Status::Resolved
            && inc
                .resolved_at
                .is_some_and(|r| now - r < ms(self.config.reopen_window))
        {
            return self.reopen(st, txn, inc, ev, f, now);
        }
        self.open_new(st, txn, ev, f, now)
    }

    /// Raises the severity of an active incident (with its priority and SLA).
    fn raise(
        &self,
        txn: &mut Txn,
        inc: &mut Incident,
        f: &Firing<'_>,
        now: i64,
    ) -> Result<(), StorageError> {
        let (from, from_priority) = (inc.severity, inc.priority);
        inc.severity = f.severity;
        inc.threshold = f.threshold;
        inc.title = f.title.to_string();
        inc.description = f.description.to_string();
        if f.crossed.is_some() {
            inc.criticality = Criticality::Critical;
        }
        inc.priority = self
            .config
            .priority_matrix
            .priority(inc.severity, inc.criticality);
        sla_clock::on_severity_rise(inc, &self.config, now);
        let mut msg = format!(
            "severity rose from {} to {}: value {} crossed {}",
            from.as_str(),
            f.severity.as_str(),
            f.value,
            f.threshold
        );
        let mut data = json!({"from": from, "to": f.severity, "value": f.value, "threshold": f.threshold,
                              "priority_from": from_priority, "priority_to": inc.priority});
        if let Some(crossed) = f.crossed {
            msg.push_str(&critical_note(crossed, f.severity));
            data["crossed_severity"] = json!(crossed);
        }
        txn.entry(inc, sys(now, TimelineKind::SeverityChanged, msg, data))?;
        txn.put(inc)
    }

    fn reopen(
        &self,
        st: &mut State,
        txn: &mut Txn,
        mut inc: Incident,
        ev: &RuleEvent,
        f: &Firing<'_>,
        now: i64,
    ) -> Result<(), StorageError> {
        let resolved_for = now - inc.resolved_at.unwrap_or(now);
        inc.status = Status::Open;
        inc.resolved_at = None;
        inc.resolved_by = None;
        inc.reopen_count += 1;
        apply_value(&mut inc, f, ev.at_ms);
        // Ask the suppressor again: a window may have started or ended since.
        let was_suppressed = inc.suppressed.clone();
        if let Some(suppressed) = self.suppression(&inc, now) {
            inc.suppressed = suppressed;
        }
        match (&was_suppressed, inc.suppressed.clone()) {
            (_, Some(reason)) => {
                sla_clock::stop(&mut inc, format!("suppressed: {reason}"), now);
            }
            (Some(_), None) => sla_clock::on_unsuppress(&mut inc, &self.config, now),
            (None, None) => sla_clock::on_reopen(&mut inc, &self.config, now),
        }
        let msg = format!(
            "fired again {} after it was resolved (value {}); reopened",
            humantime::format_duration(std::time::Duration::from_secs(
                u64::try_from(resolved_for / 1000).unwrap_or(0)
            )),
            f.value
        );
        let data =
            json!({"value": f.value, "severity": f.severity, "reopen_count": inc.reopen_count});
        txn.entry(&mut inc, sys(now, TimelineKind::Reopened, msg, data))?;
        match (&was_suppressed, inc.suppressed.clone()) {
            (was, Some(reason)) if was.as_ref() != Some(&reason) => {
                let msg = format!("suppressed: {reason}; no notification, no SLA");
                let data = json!({"reason": reason});
                txn.entry(&mut inc, sys(now, TimelineKind::Suppressed, msg, data))?;
            }
            (Some(reason), None) => {
                let msg = "reopened outside a maintenance window; incident is worked normally"
                    .to_string();
                let data = json!({"previous_reason": reason});
                txn.entry(&mut inc, sys(now, TimelineKind::Unsuppressed, msg, data))?;
            }
            _ => {}
        }
        if f.severity > inc.severity {
            self.raise(txn, &mut inc, f, now)?;
        }
        txn.set_live(inc.id, true);
        txn.put(&inc)?;
        let id = inc.id;
        let parent = inc.parent_id;
        let upstream = topology::upstream(self.store.db(), &self.config.topology, &inc.ci_id)?;
        let mut live = Live::new(inc, upstream, now);
        live.agg.add(f.value, ev.at_ms);
        st.remember(live);
        st.adopt_children(id);
        if let Some(p) = parent
            && !st.is_active(p)
        {
            topology::detach(
                st,
                &self.store,
                txn,
                &self.config,
                id,
                "its parent incident is no longer open",
                now,
            )?;
        }
        Ok(())
    }

    fn on_resolved(
        &self,
        st: &mut State,
        txn: &mut Txn,
        ev: &RuleEvent,
        value: f64,
        now: i64,
    ) -> Result<(), StorageError> {
        let Some(&id) = st.by_key.get(&ev.key) else {
            return Ok(());
        };
        let Some(mut live) = st.forget(id) else {
            return Ok(());
        };
        let inc = &mut live.inc;
        if !inc.status.is_active() {
            return self.end_condition(
                txn,
                inc,
                format!("the condition cleared (value {value})"),
                now,
            );
        }
        if live.agg.samples > 0 {
            txn.entry(inc, live.agg.entry(now))?;
        }
        if value.is_finite() {
            inc.last_value = value;
        }
        inc.last_sample_at = inc.last_sample_at.max(ev.at_ms);
        inc.condition_active = false;
        Self::mark_resolved(st, inc, SYSTEM, now);
        let msg = format!("resolved automatically: the condition cleared (value {value})");
        txn.entry(
            inc,
            sys(now, TimelineKind::Resolved, msg, json!({"value": value})),
        )?;
        txn.set_live(id, false);
        txn.put(inc)
    }

    /// Sets an active incident resolved (status, times, SLA, children).
    pub(super) fn mark_resolved(st: &mut State, inc: &mut Incident, actor: &str, now: i64) {
        inc.status = Status::Resolved;
        inc.resolved_at = Some(now);
        inc.resolved_by = Some(actor.to_string());
        sla_clock::on_resolve(inc, now);
        st.orphan_children(inc.id, now);
    }

    fn on_flapping(
        &self,
        st: &mut State,
        txn: &mut Txn,
        ev: &RuleEvent,
        flapping: bool,
        transitions: u32,
        now: i64,
    ) -> Result<(), StorageError> {
        let Some(live) = st.by_key.get(&ev.key).and_then(|id| st.live.get_mut(id)) else {
            return Ok(());
        };
        let inc = &mut live.inc;
        if !inc.status.is_active() {
            return Ok(());
        }
        inc.flap_transitions = transitions;
        if inc.flapping == flapping {
            live.dirty = true;
            return Ok(());
        }
        inc.flapping = flapping;
        let msg = if flapping {
            format!("flapping: {transitions} state changes in the flap window; kept open")
        } else {
            "stopped flapping".to_string()
        };
        let data = json!({"flapping": flapping, "transitions": transitions});
        txn.entry(inc, sys(now, TimelineKind::Flapping, msg, data))?;
        txn.put(inc)?;
        live.dirty = false;
        Ok(())
    }
}
