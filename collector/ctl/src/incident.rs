//! Text rendering of one incident (`GET /api/v1/incidents/{id}`): header,
//! CI snapshot, values, SLA stages, children and timeline.

use super::format::{duration, join, name, number, opt, pairs, time, time_opt, yes_no};
use super::incidents::{ci_name, sla_summary, stages};
use super::table::Table;
use tocsin_api_types::{Incident, IncidentDetail};
use tocsin_model::incident::{SlaState, TimelineEntry};

/// Widest timeline message before it is cut.
const MESSAGE_WIDTH: usize = 100;

/// One incident as text; `now_ms` is used for the SLA summary.
pub fn render_incident(d: &IncidentDetail, now_ms: i64) -> String {
    let i = &d.incident;
    let mut out = format!("incident {}  {}\n", i.id, i.title);
    out.push_str(&pairs(&header(i)));
    out.push_str(&format!("\nCI {}\n", i.ci_id));
    let ci = ci_pairs(i);
    out.push_str(if ci.is_empty() {
        "  (not in the CMDB when the incident opened)\n"
    } else {
        &ci
    });
    out.push_str("\nVALUES\n");
    out.push_str(&pairs(&values(i)));
    out.push_str(&sla(&i.sla, now_ms));
    out.push_str("\nCHILDREN\n");
    let children: Vec<String> = d.children.iter().map(u64::to_string).collect();
    if children.is_empty() {
        out.push_str("(none)\n");
    } else {
        out.push_str(&format!("{}\n", children.join(", ")));
    }
    out.push_str("\nTIMELINE\n");
    out.push_str(&timeline(&d.timeline));
    out
}

fn header(i: &Incident) -> Vec<(&'static str, String)> {
    let severity = match (i.severity.as_str(), i.current_severity.as_str()) {
        (max, now) if now == max => max.to_string(),
        (max, now) => format!("{max} (now {now})"),
    };
    let who_when = |who: &Option<String>, when: Option<i64>| {
        let (who, when) = (opt(who.as_deref()), time_opt(when));
        match (who.is_empty(), when.is_empty()) {
            (_, true) => String::new(),
            (true, false) => when,
            (false, false) => format!("{when} by {who}"),
        }
    };
    let assigned = match (opt(i.assigned_to.as_deref()), time_opt(i.assigned_at)) {
        (who, when) if who.is_empty() || when.is_empty() => who,
        (who, when) => format!("{who} since {when}"),
    };
    let object: Vec<String> = i.object.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        ("status", i.status.as_str().to_string()),
        ("severity", severity),
        (
            "priority",
            join(&[
                name(&i.priority),
                paren("criticality", &name(&i.criticality)),
            ]),
        ),
        ("tier", i.tier.to_string()),
        ("rule", i.rule.clone()),
        ("object", object.join(", ")),
        ("opened", time(i.opened_at)),
        (
            "acknowledged",
            who_when(&i.acknowledged_by, i.acknowledged_at),
        ),
        ("assigned", assigned),
        ("resolved", who_when(&i.resolved_by, i.resolved_at)),
        ("closed", who_when(&i.closed_by, i.closed_at)),
        ("parent", opt(i.parent_id)),
        ("problem", opt(i.problem_id)),
        ("suppressed", opt(i.suppressed.as_deref())),
        ("description", i.description.clone()),
    ]
}

fn paren(label: &str, v: &str) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!("({label} {v})")
    }
}

fn ci_pairs(i: &Incident) -> String {
    let Some(ci) = &i.ci else {
        return String::new();
    };
    let text = |v: &Option<String>| opt(v.as_deref());
    pairs(&[
        ("name", ci_name(i)),
        ("class", ci.class.clone()),
        ("hostname", text(&ci.hostname)),
        ("IPs", ci.ip_addresses.join(", ")),
        ("model", join(&[text(&ci.vendor), text(&ci.model)])),
        ("serial", text(&ci.serial_number)),
        ("location", text(&ci.location)),
        ("OS", join(&[text(&ci.os_name), text(&ci.os_version)])),
        (
            "owner",
            join(&[text(&ci.owner), paren("dept.", &text(&ci.department))]),
        ),
        ("criticality", text(&ci.criticality)),
    ])
}

fn values(i: &Incident) -> Vec<(&'static str, String)> {
    let flapping = if i.flapping {
        format!("yes ({} transitions in the window)", i.flap_transitions)
    } else {
        yes_no(false)
    };
    vec![
        ("last", number(i.last_value)),
        ("peak", number(i.peak_value)),
        ("threshold", number(i.threshold)),
        ("occurrences", i.occurrences.to_string()),
        ("reopen_count", i.reopen_count.to_string()),
        ("flapping", flapping),
        ("condition active", yes_no(i.condition_active)),
        ("first sample", time(i.first_sample_at)),
        ("last sample", time(i.last_sample_at)),
    ]
}

fn sla(sla: &SlaState, now_ms: i64) -> String {
    let policy: Vec<String> = [name(&sla.policy), name(&sla.coverage)]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let summary = match sla_summary(sla, now_ms) {
        s if s == "-" => "no clock".to_string(),
        s => s,
    };
    let mut out = if policy.is_empty() {
        format!("\nSLA: {summary}\n")
    } else {
        format!("\nSLA ({}): {summary}\n", policy.join(", "))
    };
    if let Some(note) = &sla.note {
        out.push_str(&format!("  {note}\n"));
    }
    let mut t = Table::new(&["STAGE", "TARGET", "DUE", "STATUS", "DONE"]);
    for (stage, s) in stages(sla) {
        t.row([
            stage.to_string(),
            duration(s.target),
            time(s.due_at),
            name(&s.status),
            time_opt(s.done_at),
        ]);
    }
    if !t.is_empty() {
        out.push_str(&t.render());
    }
    out
}

fn timeline(entries: &[TimelineEntry]) -> String {
    let mut t = Table::new(&["TIME", "ACTOR", "KIND", "MESSAGE"]).max_cell(MESSAGE_WIDTH);
    for e in entries {
        t.row([
            time(e.at),
            e.actor.clone(),
            name(&e.kind),
            e.message.clone(),
        ]);
    }
    if t.is_empty() {
        "(empty)\n".into()
    } else {
        t.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::tests::{T0, sample};
    use tocsin_model::incident::TimelineKind;

    fn detail() -> IncidentDetail {
        let entry = |at: &str, actor: &str, kind, message: &str| TimelineEntry {
            at: tocsin_model::time::parse_rfc3339(at).unwrap(),
            actor: actor.into(),
            kind,
            message: message.into(),
            data: serde_json::Value::Null,
        };
        IncidentDetail {
            incident: sample(),
            children: vec![9, 12],
            timeline: vec![
                entry(
                    "2026-11-23T10:00:00.010Z",
                    "system",
                    TimelineKind::Opened,
                    "opened: load 2.5 on web01",
                ),
                entry(
                    "2026-11-23T10:05:00.000Z",
                    "bob",
                    TimelineKind::Acknowledged,
                    "acknowledged: looking",
                ),
            ],
        }
    }

    #[test]
    fn header_ci_and_values() {
        let out = render_incident(&detail(), T0 + 3_600_000);
        let want_head = "incident 7  load 2.5 on web01
  status        acknowledged
  severity      major (now general)
  priority      P2 (criticality medium)
  tier          2
  rule          load_test
  opened        2026-11-23T10:00:00Z
  acknowledged  2026-11-23T10:05:00Z by bob
  description   load is high

CI h1
  name      web01
  class     host
  hostname  web01.example
  IPs       10.0.0.5, 10.0.1.5
  model     Dell R740
  serial    SN1
  location  DC1 rack 4
  OS        Debian GNU/Linux 12
  owner     alice (dept. ops)

VALUES
  last              2.5
  peak              3.1235
  threshold         2
  occurrences       42
  reopen_count      1
  flapping          no
  condition active  yes
  first sample      2026-11-23T10:00:00Z
  last sample       2026-11-23T10:20:00Z
";
        assert!(out.starts_with(want_head), "{out}");
    }

    #[test]
    fn sla_children_and_timeline() {
        let out = render_incident(&detail(), T0 + 3_600_000);
        let want_tail = "
SLA (major, 24x7): assign breached
STAGE    TARGET  DUE                   STATUS    DONE
respond  10m     2026-11-23T10:10:00Z  met       2026-11-23T10:05:00Z
assign   1h      2026-11-23T11:00:00Z  breached  2026-11-23T11:00:00Z
resolve  4h      2026-11-23T14:00:00Z  pending

CHILDREN
9, 12

TIMELINE
TIME                  ACTOR   KIND          MESSAGE
2026-11-23T10:00:00Z  system  opened        opened: load 2.5 on web01
2026-11-23T10:05:00Z  bob     acknowledged  acknowledged: looking
";
        assert!(out.ends_with(want_tail), "{out}");
    }

    #[test]
    fn bare_incident() {
        let i = Incident {
            ci: None,
            assigned_to: Some("carol".into()),
            assigned_at: Some(T0 + 1_800_000),
            flapping: true,
            flap_transitions: 6,
            sla: SlaState {
                note: Some("suppressed: maintenance window 3".into()),
                ..SlaState::default()
            },
            ..sample()
        };
        let bare = IncidentDetail {
            incident: i,
            timeline: Vec::new(),
            children: Vec::new(),
        };
        let out = render_incident(&bare, T0);
        assert!(
            out.contains("\nCI h1\n  (not in the CMDB when the incident opened)\n"),
            "{out}"
        );
        assert!(
            out.contains("  assigned      carol since 2026-11-23T10:30:00Z\n"),
            "{out}"
        );
        assert!(
            out.contains("  flapping          yes (6 transitions in the window)\n"),
            "{out}"
        );
        assert!(
            out.contains("\nSLA: no clock\n  suppressed: maintenance window 3\n\nCHILDREN\n(none)\n\nTIMELINE\n(empty)\n"),
            "{out}"
        );
    }
}
