//! Text rendering of the incident list (`GET /api/v1/incidents`) and the
//! one-cell SLA summary shared with the detail view.

use super::format::{name, span, time};
use super::table::Table;
use tocsin_api_types::Incident;
use tocsin_model::incident::{SlaStage, SlaState, StageStatus};

/// SLA stages in the order they fall due.
pub const STAGES: [&str; 3] = ["respond", "assign", "resolve"];

/// Widest cell of the list (titles are the long ones).
const MAX_CELL: usize = 50;

/// The incident list as a table: ID, STATUS, SEV, PRI, CI, TITLE, OPENED,
/// SLA, TIER. `now_ms` is used for the SLA column's relative times.
pub fn render_incidents(list: &[Incident], now_ms: i64) -> String {
    let mut t = Table::new(&[
        "ID", "STATUS", "SEV", "PRI", "CI", "TITLE", "OPENED", "SLA", "TIER",
    ])
    .max_cell(MAX_CELL);
    for i in list {
        t.row([
            i.id.to_string(),
            status(i),
            i.severity.as_str().to_string(),
            name(&i.priority),
            ci_name(i),
            i.title.clone(),
            time(i.opened_at),
            sla_summary(&i.sla, now_ms),
            i.tier.to_string(),
        ]);
    }
    if t.is_empty() {
        return "no incidents\n".into();
    }
    t.render()
}

/// The status with what else a worker must know at a glance: `open+flap`
/// (flapping), `open+child` (attached to a parent), `open+supp`
/// (suppressed, e.g. by a maintenance window).
pub fn status(i: &Incident) -> String {
    let mut s = i.status.as_str().to_string();
    if i.flapping {
        s.push_str("+flap");
    }
    if i.parent_id.is_some() {
        s.push_str("+child");
    }
    if i.suppressed.is_some() {
        s.push_str("+supp");
    }
    s
}

/// The CI's name from the snapshot taken at opening, else its id.
pub fn ci_name(i: &Incident) -> String {
    match &i.ci {
        Some(ci) if !ci.name.is_empty() => ci.name.clone(),
        _ => i.ci_id.clone(),
    }
}

/// The stages of an SLA clock that exist, in [`STAGES`] order.
pub fn stages(sla: &SlaState) -> Vec<(&'static str, &SlaStage)> {
    let [respond, assign, resolve] = STAGES;
    [
        (respond, &sla.respond),
        (assign, &sla.assign),
        (resolve, &sla.resolve),
    ]
    .into_iter()
    .filter_map(|(s, v)| Some((s, v.as_ref()?)))
    .collect()
}

/// One cell for an incident's SLA clock: breached stages first
/// (`respond breached`), else the next pending stage (`resolve due in 3h20m`,
/// `respond overdue 2m` when the collector has not marked it yet), else
/// `met`; `-` when no clock runs.
pub fn sla_summary(sla: &SlaState, now_ms: i64) -> String {
    let stages = stages(sla);
    if stages.is_empty() {
        return "-".into();
    }
    let breached: Vec<&str> = stages
        .iter()
        .filter(|(_, v)| v.status == StageStatus::Breached)
        .map(|(s, _)| *s)
        .collect();
    if !breached.is_empty() {
        return format!("{} breached", breached.join(","));
    }
    let pending = stages
        .iter()
        .filter(|(_, v)| v.status == StageStatus::Pending)
        .map(|(s, v)| (*s, v.due_at))
        .min_by_key(|(_, due)| *due);
    match pending {
        Some((stage, due)) if due >= now_ms => format!("{stage} due in {}", span(due - now_ms)),
        Some((stage, due)) => format!("{stage} overdue {}", span(now_ms - due)),
        None if stages.iter().all(|(_, v)| v.status == StageStatus::Skipped) => "skipped".into(),
        None => "met".into(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::Value;

    use super::*;
    use tocsin_model::Severity;
    use tocsin_model::incident::{Priority, SlaStage, Status};

    /// 2026-11-23T10:00:00Z
    pub(crate) const T0: i64 = 1_795_428_000_000;

    /// An incident as the API serves it.
    pub(crate) fn sample() -> Incident {
        serde_json::from_value(sample_json()).unwrap()
    }

    /// [`sample`] as JSON (text: too deep for `json!`).
    pub(crate) fn sample_json() -> Value {
        serde_json::from_str(
            r#"{
            "id": 7, "key": "load_test|h1", "rule": "load_test", "ci_id": "h1",
            "ci": {"name": "web01", "class": "host", "hostname": "web01.example",
                   "ip_addresses": ["10.0.0.5", "10.0.1.5"], "vendor": "Dell",
                   "model": "R740", "serial_number": "SN1", "location": "DC1 rack 4",
                   "os_name": "Debian GNU/Linux", "os_version": "12",
                   "owner": "alice", "department": "ops", "criticality": null},
            "object": {}, "title": "load 2.5 on web01", "description": "load is high",
            "status": "acknowledged", "severity": "major", "current_severity": "general",
            "priority": "P2", "criticality": "medium",
            "opened_at": "2026-11-23T10:00:00.000Z",
            "acknowledged_at": "2026-11-23T10:05:00.000Z", "acknowledged_by": "bob",
            "assigned_to": null, "assigned_at": null, "resolved_at": null,
            "resolved_by": null, "closed_at": null, "closed_by": null,
            "last_value": 2.5, "peak_value": 3.1234567, "threshold": 2.0,
            "first_sample_at": "2026-11-23T10:00:00.000Z",
            "last_sample_at": "2026-11-23T10:20:00.000Z",
            "occurrences": 42, "reopen_count": 1, "flapping": false, "flap_transitions": 0,
            "condition_active": true, "tier": 2, "parent_id": null, "suppressed": null,
            "problem_id": null,
            "sla": {"policy": "major", "coverage": "24x7", "note": null,
                    "started_at": "2026-11-23T10:00:00.000Z",
                    "respond": {"target": "10m", "due_at": "2026-11-23T10:10:00.000Z",
                                "status": "met", "done_at": "2026-11-23T10:05:00.000Z"},
                    "assign": {"target": "1h", "due_at": "2026-11-23T11:00:00.000Z",
                               "status": "breached", "done_at": "2026-11-23T11:00:00.000Z"},
                    "resolve": {"target": "4h", "due_at": "2026-11-23T14:00:00.000Z",
                                "status": "pending", "done_at": null}},
            "timeline_count": 3, "updated_at": "2026-11-23T11:00:00.000Z"
        }"#,
        )
        .unwrap()
    }

    #[test]
    fn list_table() {
        let second = Incident {
            id: 8,
            ci: None,
            ci_id: "sw-core-1".into(),
            status: Status::Open,
            severity: Severity::Warning,
            priority: Priority::P4,
            tier: 1,
            parent_id: Some(7),
            title: "x".repeat(80),
            sla: SlaState {
                note: Some("warning: no SLA clock".into()),
                ..SlaState::default()
            },
            ..sample()
        };
        let out = render_incidents(&[sample(), second], T0 + 3_600_000);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "ID  STATUS        SEV      PRI  CI         TITLE{}  OPENED                SLA              TIER",
                " ".repeat(45)
            )
        );
        assert_eq!(
            lines[1],
            format!(
                "7   acknowledged  major    P2   web01      load 2.5 on web01{}  2026-11-23T10:00:00Z  assign breached  2",
                " ".repeat(33)
            )
        );
        assert!(
            lines[2].starts_with(&format!(
                "8   open+child    warning  P4   sw-core-1  {}…  2026-11-23T10:00:00Z  -                1",
                "x".repeat(49)
            )),
            "{out}"
        );
        assert_eq!(render_incidents(&[], T0), "no incidents\n");
    }

    #[test]
    fn sla_cells() {
        let mut sla = sample().sla;
        assert_eq!(sla_summary(&sla, T0), "assign breached");
        sla.assign.as_mut().unwrap().status = StageStatus::Met;
        assert_eq!(sla_summary(&sla, T0 + 3_600_000), "resolve due in 3h");
        assert_eq!(
            sla_summary(&sla, T0 + 4 * 3_600_000 + 90_000),
            "resolve overdue 1m"
        );
        sla.resolve.as_mut().unwrap().status = StageStatus::Met;
        assert_eq!(sla_summary(&sla, T0), "met");
        let skipped = SlaState {
            respond: Some(SlaStage {
                status: StageStatus::Skipped,
                ..sla.respond.clone().unwrap()
            }),
            ..SlaState::default()
        };
        assert_eq!(sla_summary(&skipped, T0), "skipped");
        assert_eq!(sla_summary(&SlaState::default(), T0), "-");
    }

    #[test]
    fn status_flags() {
        let mut i = sample();
        i.flapping = true;
        i.suppressed = Some("maintenance window 3".into());
        assert_eq!(status(&i), "acknowledged+flap+supp");
        i.ci.as_mut().unwrap().name = String::new();
        assert_eq!(ci_name(&i), "h1");
    }
}
