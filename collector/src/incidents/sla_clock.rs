//! The SLA clock of one incident: which stages run, when they are due, and
//! whether each was met, breached or skipped. Pure functions on
//! [`Incident`]; the calendar math (business hours, holidays) is
//! [`super::sla::deadline`], called only from [`due_ms`].
//!
//! Rules:
//! - A clock runs for an incident whose severity has targets, that is not
//!   suppressed and not attached to a parent. It starts when the incident
//!   opens, when it rises from a severity without SLA, or when it is
//!   detached from its parent.
//! - A severity rise recomputes the due times of pending stages from the
//!   clock's start with the new severity's targets.
//! - Acknowledging meets `respond`; assigning meets `assign` (and `respond`,
//!   if still pending); resolving meets `resolve` and skips the stages not
//!   reached that were not due yet. A stage reached after its due time is
//!   breached.
//! - Reopening restarts skipped `respond`/`assign` stages from the reopening
//!   and makes a met `resolve` stage pending again (it keeps its due time:
//!   resolution is measured from the opening).

use std::time::Duration;

use super::config::IncidentConfig;
use super::model::{Incident, SlaStage, SlaState, StageStatus};
use super::sla::{self, Coverage, SlaTargets};

/// When an SLA stage of `target` started at `start_ms` is due: the one
/// place due times are computed (business hours from `incidents.sla`).
pub fn due_ms(config: &IncidentConfig, coverage: Coverage, start_ms: i64, target: Duration) -> i64 {
    sla::deadline(start_ms, target, coverage, &config.sla.business_hours)
}

/// Stage names, in the order they are reported.
pub const STAGES: [&str; 3] = ["respond", "assign", "resolve"];

fn stage_mut<'a>(sla: &'a mut SlaState, name: &str) -> &'a mut Option<SlaStage> {
    match name {
        "respond" => &mut sla.respond,
        "assign" => &mut sla.assign,
        _ => &mut sla.resolve,
    }
}

fn target_of(t: &SlaTargets, name: &str) -> Duration {
    match name {
        "respond" => t.respond,
        "assign" => t.assign,
        _ => t.resolve,
    }
}

/// Why no clock may run for this incident, if so.
fn blocked(inc: &Incident) -> Option<String> {
    if let Some(reason) = &inc.suppressed {
        return Some(format!("suppressed: {reason}"));
    }
    inc.parent_id
        .map(|p| format!("attached to incident {p}; its SLA applies"))
}

/// Starts (or restarts) the clock at `now`; stages already met or breached
/// keep their result. Without targets, or when blocked, records why.
pub fn start(inc: &mut Incident, config: &IncidentConfig, now: i64) {
    if let Some(reason) = blocked(inc) {
        stop(inc, reason, now);
        return;
    }
    let Some(&targets) = config.sla.targets(inc.severity) else {
        inc.sla.note = Some(format!("no SLA for severity {}", inc.severity.as_str()));
        return;
    };
    inc.sla.policy = Some(inc.severity);
    inc.sla.coverage = Some(targets.coverage);
    inc.sla.note = None;
    inc.sla.started_at = Some(now);
    for name in STAGES {
        let stage = stage_mut(&mut inc.sla, name);
        if stage
            .as_ref()
            .is_some_and(|s| matches!(s.status, StageStatus::Met | StageStatus::Breached))
        {
            continue;
        }
        let target = target_of(&targets, name);
        *stage = Some(SlaStage {
            target,
            due_at: due_ms(config, targets.coverage, now, target),
            status: StageStatus::Pending,
            done_at: None,
        });
    }
}

/// Stops the clock: pending stages are skipped; `reason` is shown.
pub fn stop(inc: &mut Incident, reason: String, now: i64) {
    for name in STAGES {
        if let Some(s) = stage_mut(&mut inc.sla, name)
            && s.status == StageStatus::Pending
        {
            s.status = StageStatus::Skipped;
            s.done_at = Some(now);
        }
    }
    inc.sla.note = Some(reason);
}

/// Applies the targets of a higher severity (call after raising `severity`).
pub fn on_severity_rise(inc: &mut Incident, config: &IncidentConfig, now: i64) {
    let (Some(started), Some(&targets)) = (inc.sla.started_at, config.sla.targets(inc.severity))
    else {
        if inc.sla.started_at.is_none() && inc.status.is_active() {
            start(inc, config, now);
        }
        return;
    };
    if blocked(inc).is_some() {
        return;
    }
    inc.sla.policy = Some(inc.severity);
    inc.sla.coverage = Some(targets.coverage);
    for name in STAGES {
        if let Some(s) = stage_mut(&mut inc.sla, name)
            && s.status == StageStatus::Pending
        {
            s.target = target_of(&targets, name);
            s.due_at = due_ms(config, targets.coverage, started, s.target);
        }
    }
}

fn reach(stage: &mut Option<SlaStage>, now: i64) {
    if let Some(s) = stage
        && s.status == StageStatus::Pending
    {
        s.status = if now <= s.due_at {
            StageStatus::Met
        } else {
            StageStatus::Breached
        };
        s.done_at = Some(now);
    }
}

/// First acknowledgement.
pub fn on_ack(inc: &mut Incident, now: i64) {
    reach(&mut inc.sla.respond, now);
}

/// An engineer was assigned (also counts as the response).
pub fn on_assign(inc: &mut Incident, now: i64) {
    reach(&mut inc.sla.respond, now);
    reach(&mut inc.sla.assign, now);
}

/// Resolved (automatically or by a person).
pub fn on_resolve(inc: &mut Incident, now: i64) {
    reach(&mut inc.sla.resolve, now);
    for s in [&mut inc.sla.respond, &mut inc.sla.assign]
        .into_iter()
        .flatten()
    {
        if s.status == StageStatus::Pending {
            s.status = if now <= s.due_at {
                StageStatus::Skipped
            } else {
                StageStatus::Breached
            };
            s.done_at = Some(now);
        }
    }
}

/// Reopened: see the module docs.
pub fn on_reopen(inc: &mut Incident, config: &IncidentConfig, now: i64) {
    if blocked(inc).is_some() {
        return;
    }
    let Some(coverage) = inc.sla.coverage else {
        return;
    };
    for name in ["respond", "assign"] {
        if let Some(s) = stage_mut(&mut inc.sla, name)
            && s.status == StageStatus::Skipped
        {
            s.status = StageStatus::Pending;
            s.due_at = due_ms(config, coverage, now, s.target);
            s.done_at = None;
        }
    }
    if let Some(s) = &mut inc.sla.resolve
        && matches!(s.status, StageStatus::Met | StageStatus::Skipped)
    {
        s.status = StageStatus::Pending;
        s.done_at = None;
    }
}

/// Marks pending stages whose due time has passed as breached; returns
/// their names with their due times.
pub fn breaches(inc: &mut Incident, now: i64) -> Vec<(&'static str, i64)> {
    let mut out = Vec::new();
    if !inc.status.is_active() || blocked(inc).is_some() {
        return out;
    }
    for name in STAGES {
        if let Some(s) = stage_mut(&mut inc.sla, name)
            && s.status == StageStatus::Pending
            && now > s.due_at
        {
            s.status = StageStatus::Breached;
            s.done_at = Some(now);
            out.push((name, s.due_at));
        }
    }
    out
}
