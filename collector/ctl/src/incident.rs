//! Text rendering of one incident (`GET /api/v1/incidents/{id}`): header,
//! CI snapshot, values, SLA stages, children and timeline.

use serde_json::Value;

use super::format::{join, number, pairs, time, yes_no};
use super::incidents::{STAGES, ci_name, sla_summary};
use super::table::{Table, cell};

/// Widest timeline message before it is cut.
const MESSAGE_WIDTH: usize = 100;

/// One incident as text; `now_ms` is used for the SLA summary.
pub fn render_incident(body: &Value, now_ms: i64) -> String {
    let i = &body["data"];
    let mut out = format!("incident {}  {}\n", cell(&i["id"]), cell(&i["title"]));
    out.push_str(&pairs(&header(i)));
    out.push_str(&format!("\nCI {}\n", cell(&i["ci_id"])));
    let ci = ci_pairs(i);
    out.push_str(if ci.is_empty() {
        "  (not in the CMDB when the incident opened)\n"
    } else {
        &ci
    });
    out.push_str("\nVALUES\n");
    out.push_str(&pairs(&values(i)));
    out.push_str(&sla(&i["sla"], now_ms));
    out.push_str("\nCHILDREN\n");
    let children: Vec<String> = i["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(cell)
        .collect();
    if children.is_empty() {
        out.push_str("(none)\n");
    } else {
        out.push_str(&format!("{}\n", children.join(", ")));
    }
    out.push_str("\nTIMELINE\n");
    out.push_str(&timeline(&i["timeline"]));
    out
}

fn header(i: &Value) -> Vec<(&'static str, String)> {
    let severity = match (cell(&i["severity"]), cell(&i["current_severity"])) {
        (max, now) if now.is_empty() || now == max => max,
        (max, now) => format!("{max} (now {now})"),
    };
    let who_when = |who: &str, when: &str| {
        let (who, when) = (cell(&i[who]), time(&i[when]));
        match (who.is_empty(), when.is_empty()) {
            (_, true) => String::new(),
            (true, false) => when,
            (false, false) => format!("{when} by {who}"),
        }
    };
    let assigned = match (cell(&i["assigned_to"]), time(&i["assigned_at"])) {
        (who, when) if who.is_empty() || when.is_empty() => who,
        (who, when) => format!("{who} since {when}"),
    };
    let object: Vec<String> = i["object"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", cell(v)))
        .collect();
    vec![
        ("status", cell(&i["status"])),
        ("severity", severity),
        (
            "priority",
            join(&[
                cell(&i["priority"]),
                paren("criticality", &cell(&i["criticality"])),
            ]),
        ),
        ("tier", cell(&i["tier"])),
        ("rule", cell(&i["rule"])),
        ("object", object.join(", ")),
        ("opened", time(&i["opened_at"])),
        (
            "acknowledged",
            who_when("acknowledged_by", "acknowledged_at"),
        ),
        ("assigned", assigned),
        ("resolved", who_when("resolved_by", "resolved_at")),
        ("closed", who_when("closed_by", "closed_at")),
        ("parent", cell(&i["parent_id"])),
        ("problem", cell(&i["problem_id"])),
        ("suppressed", cell(&i["suppressed"])),
        ("description", cell(&i["description"])),
    ]
}

fn paren(label: &str, v: &str) -> String {
    if v.is_empty() {
        String::new()
    } else {
        format!("({label} {v})")
    }
}

fn ci_pairs(i: &Value) -> String {
    let ci = &i["ci"];
    if !ci.is_object() {
        return String::new();
    }
    pairs(&[
        ("name", ci_name(i)),
        ("class", cell(&ci["class"])),
        ("hostname", cell(&ci["hostname"])),
        ("IPs", cell(&ci["ip_addresses"])),
        ("model", join(&[cell(&ci["vendor"]), cell(&ci["model"])])),
        ("serial", cell(&ci["serial_number"])),
        ("location", cell(&ci["location"])),
        ("OS", join(&[cell(&ci["os_name"]), cell(&ci["os_version"])])),
        (
            "owner",
            join(&[cell(&ci["owner"]), paren("dept.", &cell(&ci["department"]))]),
        ),
        ("criticality", cell(&ci["criticality"])),
    ])
}

fn values(i: &Value) -> Vec<(&'static str, String)> {
    let flapping = match (yes_no(&i["flapping"]), cell(&i["flap_transitions"])) {
        (f, t) if f == "yes" => format!("yes ({t} transitions in the window)"),
        (f, _) => f,
    };
    vec![
        ("last", number(&i["last_value"])),
        ("peak", number(&i["peak_value"])),
        ("threshold", number(&i["threshold"])),
        ("occurrences", cell(&i["occurrences"])),
        ("reopen_count", cell(&i["reopen_count"])),
        ("flapping", flapping),
        ("condition active", yes_no(&i["condition_active"])),
        ("first sample", time(&i["first_sample_at"])),
        ("last sample", time(&i["last_sample_at"])),
    ]
}

fn sla(sla: &Value, now_ms: i64) -> String {
    let policy: Vec<String> = [cell(&sla["policy"]), cell(&sla["coverage"])]
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
    if !sla["note"].is_null() {
        out.push_str(&format!("  {}\n", cell(&sla["note"])));
    }
    let mut t = Table::new(&["STAGE", "TARGET", "DUE", "STATUS", "DONE"]);
    for stage in STAGES {
        let s = &sla[stage];
        if s.is_object() {
            t.row([
                stage.to_string(),
                cell(&s["target"]),
                time(&s["due_at"]),
                cell(&s["status"]),
                time(&s["done_at"]),
            ]);
        }
    }
    if !t.is_empty() {
        out.push_str(&t.render());
    }
    out
}

fn timeline(entries: &Value) -> String {
    let mut t = Table::new(&["TIME", "ACTOR", "KIND", "MESSAGE"]).max_cell(MESSAGE_WIDTH);
    for e in entries.as_array().into_iter().flatten() {
        t.row([
            time(&e["at"]),
            cell(&e["actor"]),
            cell(&e["kind"]),
            cell(&e["message"]),
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
    use serde_json::json;

    use super::*;
    use crate::incidents::tests::{T0, sample};

    fn detail() -> Value {
        let mut i = sample();
        i["children"] = json!([9, 12]);
        i["timeline"] = json!([
            {"at": "2026-11-23T10:00:00.010Z", "actor": "system", "kind": "opened",
             "message": "opened: load 2.5 on web01", "data": null},
            {"at": "2026-11-23T10:05:00.000Z", "actor": "bob", "kind": "acknowledged",
             "message": "acknowledged: looking", "data": null}
        ]);
        json!({ "data": i })
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
        let mut i = sample();
        i["ci"] = json!(null);
        i["assigned_to"] = json!("carol");
        i["assigned_at"] = json!("2026-11-23T10:30:00.000Z");
        i["flapping"] = json!(true);
        i["flap_transitions"] = json!(6);
        i["sla"] = json!({"policy": null, "note": "suppressed: maintenance window 3"});
        let out = render_incident(&json!({ "data": i }), T0);
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
