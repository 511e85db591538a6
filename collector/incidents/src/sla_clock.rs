//! The SLA clock of an incident: the one place SLA behaviour lives. Pure
//! functions on [`Incident`], whose [`SlaState`] (stored and served by the
//! API) is the only record of the clock; the manager calls them on opening,
//! actions, severity changes, resolution, reopening, topology changes and
//! every `tick`. Targets and coverage come from the policy in
//! [`super::sla`]; due times from its calendar math, called only from
//! [`due_ms`].
//!
//! **Who has a clock.** An incident whose severity has targets (by default
//! major and general, not warning), that is not suppressed (opened inside a
//! maintenance window) and not attached to a parent (the parent's SLA
//! applies). The others have no stages and a `note` saying why.
//!
//! **Start.** The clock starts at `started_at`: the opening; or, for an
//! incident opened without a clock, the moment its severity rises to one
//! with targets, or the moment it is detached from its parent. So
//! `started_at` can be later than `opened_at`. Each stage is due its
//! target after `started_at`, counted under the severity's coverage (`24x7`,
//! or only inside business hours). A later rise recomputes the due times of
//! the pending stages from `started_at` with the new severity's targets;
//! met or breached stages keep theirs.
//!
//! **Stages** and what ends them:
//! - `respond`: the first acknowledgement or assignment;
//! - `assign`: an engineer is assigned;
//! - `resolve`: resolution (automatic or by a person).
//!
//! **Results** (`status`, with `done_at` the moment it was decided):
//! - `pending`: not ended, not yet due;
//! - `met`: ended at or before its due time;
//! - `breached`: its due time passed first. Each `tick` marks pending stages
//!   past due breached and returns them; the manager raises the tier once
//!   per stage (1 → 2 → 3) with an `escalated` entry. An action that ends
//!   a stage after its due time, before a tick noticed, marks it breached
//!   without escalating.
//! - `skipped`: not needed. Resolving skips `respond`/`assign` not reached
//!   and not yet due (those past due are breached); being attached to a
//!   parent after opening skips every pending stage.
//!
//! **Reopening** restarts skipped `respond`/`assign` stages, due from the
//! reopening, and makes a met or skipped `resolve` pending again; it keeps
//! its due time: resolution is measured from `started_at`.
//!
//! **Suppression lifted.** The manager asks the suppressor again when an
//! incident reopens and, on every `tick`, for each active suppressed
//! incident. Reopened inside a window, it is suppressed again and runs no
//! clock (pending stages are skipped, the note names the window). Once no
//! window covers it (the window ended, or it reopened outside one), it is
//! unsuppressed and [`on_unsuppress`] runs the clock from that moment: an
//! incident that never had a clock starts one (`started_at` = now); one
//! whose clock ran before (it was suppressed again on a reopening) resumes
//! it as a reopening does.

use std::time::Duration;

use super::config::IncidentConfig;
use super::sla::{self, Coverage, SlaTargets};
use tocsin_model::incident::{Incident, SlaStage, SlaState, StageStatus};

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

/// The suppression was lifted at `now` (call after clearing `suppressed`):
/// see the module docs.
pub fn on_unsuppress(inc: &mut Incident, config: &IncidentConfig, now: i64) {
    if inc.sla.started_at.is_none() {
        start(inc, config, now);
        return;
    }
    if let Some(reason) = blocked(inc) {
        inc.sla.note = Some(reason);
        return;
    }
    inc.sla.note = None;
    on_reopen(inc, config, now);
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

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::event::Severity;
    use tocsin_model::time::parse_rfc3339;

    fn t(text: &str) -> i64 {
        parse_rfc3339(text).unwrap()
    }

    /// An open incident of `severity` opened at `opened`, with no clock yet.
    fn incident(severity: Severity, opened: &str) -> Incident {
        serde_json::from_value(serde_json::json!({
            "id": 1, "key": "k", "rule": "cpu", "ci_id": "h1", "object": {},
            "title": "", "description": "", "status": "open", "severity": severity,
            "current_severity": severity, "priority": "P2", "criticality": "medium",
            "opened_at": opened, "acknowledged_at": null, "assigned_at": null,
            "resolved_at": null, "closed_at": null, "last_value": 0.0, "peak_value": 0.0,
            "threshold": 0.0, "first_sample_at": opened, "last_sample_at": opened,
            "occurrences": 1, "reopen_count": 0, "flapping": false, "flap_transitions": 0,
            "condition_active": true, "tier": 1, "sla": {}, "timeline_count": 0,
            "updated_at": opened,
        }))
        .unwrap()
    }

    /// `incident`, with its clock started at the opening.
    fn started(severity: Severity, opened: &str) -> Incident {
        let mut inc = incident(severity, opened);
        let opened = inc.opened_at;
        start(&mut inc, &IncidentConfig::default(), opened);
        inc
    }

    fn stage(inc: &Incident, name: &str) -> (StageStatus, i64, Option<i64>) {
        let s = match name {
            "respond" => &inc.sla.respond,
            "assign" => &inc.sla.assign,
            _ => &inc.sla.resolve,
        };
        let s = s.as_ref().unwrap();
        (s.status, s.due_at, s.done_at)
    }

    #[test]
    fn clock_tracks_each_stage() {
        // Major runs 24x7: a Saturday makes no difference.
        let mut inc = started(Severity::Major, "2024-05-04T03:00:00Z");
        assert_eq!(inc.sla.started_at, Some(inc.opened_at));
        assert_eq!(inc.sla.policy, Some(Severity::Major));
        assert_eq!(inc.sla.coverage, Some(Coverage::AlwaysOn));
        assert_eq!(stage(&inc, "respond").1, t("2024-05-04T03:10:00Z"));
        assert_eq!(stage(&inc, "assign").1, t("2024-05-04T04:00:00Z"));
        assert_eq!(stage(&inc, "resolve").1, t("2024-05-04T07:00:00Z"));
        on_ack(&mut inc, t("2024-05-04T03:05:00Z"));
        assert_eq!(
            stage(&inc, "respond"),
            (
                StageStatus::Met,
                t("2024-05-04T03:10:00Z"),
                Some(t("2024-05-04T03:05:00Z"))
            )
        );
        assert_eq!(stage(&inc, "assign").0, StageStatus::Pending);
        // Due at 04:00 exactly: breached only after it.
        assert_eq!(breaches(&mut inc, t("2024-05-04T04:00:00Z")), vec![]);
        let late = t("2024-05-04T04:00:00.001Z");
        assert_eq!(
            breaches(&mut inc, late),
            vec![("assign", t("2024-05-04T04:00:00Z"))]
        );
        assert_eq!(stage(&inc, "assign").2, Some(late));
        assert_eq!(breaches(&mut inc, late + 1), vec![], "once per stage");
        let json = serde_json::to_value(&inc.sla).unwrap();
        assert_eq!(json["respond"]["status"], "met");
        assert_eq!(json["respond"]["due_at"], "2024-05-04T03:10:00.000Z");
        assert_eq!(json["respond"]["target"], "10m");
        assert_eq!(json["assign"]["status"], "breached");
        assert_eq!(json["resolve"]["done_at"], serde_json::Value::Null);
        assert_eq!(serde_json::from_value::<SlaState>(json).unwrap(), inc.sla);
    }

    #[test]
    fn late_finishes_and_resolution() {
        // General on a Saturday: its business-hours clock starts Monday 08:00.
        let mut inc = started(Severity::General, "2024-05-04T03:00:00Z");
        assert_eq!(inc.sla.coverage, Some(Coverage::BusinessHours));
        assert_eq!(stage(&inc, "respond").1, t("2024-05-06T08:10:00Z"));
        assert_eq!(stage(&inc, "resolve").1, t("2024-05-08T12:00:00Z"));
        on_ack(&mut inc, t("2024-05-06T08:11:00Z"));
        assert_eq!(stage(&inc, "respond").0, StageStatus::Breached);
        // Resolved before an engineer was due: `assign` was not needed.
        on_resolve(&mut inc, t("2024-05-06T09:00:00Z"));
        assert_eq!(
            stage(&inc, "assign").0,
            StageStatus::Skipped,
            "not met: nobody was assigned"
        );
        assert_eq!(stage(&inc, "assign").2, Some(t("2024-05-06T09:00:00Z")));
        assert_eq!(stage(&inc, "resolve").0, StageStatus::Met);
        inc.status = crate::Status::Resolved;
        assert_eq!(breaches(&mut inc, i64::MAX), vec![]);

        // Assignment counts as the response.
        let mut inc = started(Severity::Major, "2024-05-04T03:00:00Z");
        on_assign(&mut inc, t("2024-05-04T03:01:00Z"));
        assert_eq!(stage(&inc, "respond").0, StageStatus::Met);
        assert_eq!(stage(&inc, "assign").0, StageStatus::Met);

        // Resolved after `respond` was due, nobody having responded: breached.
        let mut inc = started(Severity::Major, "2024-05-04T03:00:00Z");
        on_resolve(&mut inc, t("2024-05-04T03:30:00Z"));
        assert_eq!(stage(&inc, "respond").0, StageStatus::Breached);
        assert_eq!(stage(&inc, "assign").0, StageStatus::Skipped);

        // Unacknowledged and past every due time: all breached, in order.
        let mut inc = started(Severity::Major, "2024-05-04T03:00:00Z");
        let names: Vec<_> = breaches(&mut inc, t("2024-05-04T08:00:00Z"))
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, STAGES);
        assert_eq!(stage(&inc, "resolve").2, Some(t("2024-05-04T08:00:00Z")));
    }

    #[test]
    fn warnings_suppressed_incidents_and_children_have_no_clock() {
        let config = IncidentConfig::default();
        let inc = started(Severity::Warning, "2024-05-04T03:00:00Z");
        assert_eq!(inc.sla.note.as_deref(), Some("no SLA for severity warning"));
        let mut suppressed = incident(Severity::Major, "2024-05-04T03:00:00Z");
        suppressed.suppressed = Some("change CHG-42".into());
        let mut child = incident(Severity::Major, "2024-05-04T03:00:00Z");
        child.parent_id = Some(7);
        for (mut inc, note) in [
            (inc, "no SLA"),
            (suppressed, "suppressed: change CHG-42"),
            (child, "attached to incident 7"),
        ] {
            let opened = inc.opened_at;
            start(&mut inc, &config, opened);
            assert!(inc.sla.note.as_deref().unwrap().starts_with(note));
            assert_eq!(inc.sla.started_at, None);
            assert!(inc.sla.respond.is_none() && inc.sla.resolve.is_none());
            assert_eq!(breaches(&mut inc, i64::MAX), vec![]);
        }
    }

    #[test]
    fn clock_starts_at_started_at() {
        let config = IncidentConfig::default();
        // A warning that rises to major: the clock starts at the rise.
        let mut inc = started(Severity::Warning, "2024-05-04T03:00:00Z");
        inc.severity = Severity::Major;
        on_severity_rise(&mut inc, &config, t("2024-05-04T03:30:00Z"));
        assert_eq!(inc.sla.started_at, Some(t("2024-05-04T03:30:00Z")));
        assert_eq!(inc.sla.note, None);
        assert_eq!(stage(&inc, "respond").1, t("2024-05-04T03:40:00Z"));

        // General → major: pending stages are due from the start with the
        // major targets; a met stage keeps its due time.
        let mut inc = started(Severity::General, "2024-05-06T09:00:00Z");
        on_ack(&mut inc, t("2024-05-06T09:05:00Z"));
        inc.severity = Severity::Major;
        on_severity_rise(&mut inc, &config, t("2024-05-06T09:30:00Z"));
        assert_eq!(inc.sla.coverage, Some(Coverage::AlwaysOn));
        assert_eq!(stage(&inc, "respond").1, t("2024-05-06T09:10:00Z"));
        assert_eq!(stage(&inc, "assign").1, t("2024-05-06T10:00:00Z"));
        assert_eq!(stage(&inc, "resolve").1, t("2024-05-06T13:00:00Z"));

        // Attached to a parent after opening, then detached: pending stages
        // are skipped, then restart from the detachment.
        let mut inc = started(Severity::Major, "2024-05-04T03:00:00Z");
        inc.parent_id = Some(7);
        stop(&mut inc, "attached".into(), t("2024-05-04T03:05:00Z"));
        assert_eq!(stage(&inc, "respond").0, StageStatus::Skipped);
        inc.parent_id = None;
        start(&mut inc, &config, t("2024-05-04T03:20:00Z"));
        assert_eq!(inc.sla.started_at, Some(t("2024-05-04T03:20:00Z")));
        assert_eq!(
            stage(&inc, "respond"),
            (StageStatus::Pending, t("2024-05-04T03:30:00Z"), None)
        );
        assert_eq!(stage(&inc, "resolve").1, t("2024-05-04T07:20:00Z"));
    }
}
