//! Human-readable pieces shared by the chat robots and e-mail: headline,
//! facts about an incident (CI, status, value, SLA due times) and times.
//! Plain text only; each channel escapes or formats it for its medium.

use std::time::{Duration, UNIX_EPOCH};

use crate::{Notification, NotifyEvent};
use tocsin_incidents::Incident;
use tocsin_model::Severity;
use tocsin_model::incident::{SlaStage, StageStatus};

/// `2024-01-01 08:00:00 UTC`.
pub fn readable_time(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    let s = humantime::format_rfc3339_seconds(t).to_string();
    format!("{} UTC", s.trim_end_matches('Z').replace('T', " "))
}

/// `in 9m`, `12m ago`, `now` (minute precision; hours and days when larger).
pub fn relative(from_ms: i64, to_ms: i64) -> String {
    let secs = (to_ms - from_ms) / 1000;
    let mins = secs.unsigned_abs() / 60;
    if mins == 0 {
        return "now".to_string();
    }
    let span = if mins < 120 {
        format!("{mins}m")
    } else if mins < 48 * 60 {
        format!("{}h{:02}m", mins / 60, mins % 60)
    } else {
        format!("{}d{}h", mins / 1440, (mins % 1440) / 60)
    };
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

/// `MAJOR` / `GENERAL` / `WARNING`.
pub fn severity_tag(s: Severity) -> &'static str {
    match s {
        Severity::Major => "MAJOR",
        Severity::General => "GENERAL",
        Severity::Warning => "WARNING",
    }
}

/// `重大故障` / `一般故障` / `预警`.
pub fn severity_zh(s: Severity) -> &'static str {
    match s {
        Severity::Major => "重大故障",
        Severity::General => "一般故障",
        Severity::Warning => "预警",
    }
}

/// `tier 2 (二线)`.
pub fn tier(t: u8) -> String {
    let zh = match t {
        1 => "一线",
        2 => "二线",
        _ => "三线",
    };
    format!("tier {t} ({zh})")
}

/// The CI's display name, or its id when the CI was not in the CMDB.
pub fn ci_name(inc: &Incident) -> &str {
    inc.ci
        .as_ref()
        .map(|c| c.name.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or(&inc.ci_id)
}

/// What happened, as a short phrase: `opened`, `escalated to tier 2 (二线)`…
pub fn event_phrase(n: &Notification) -> String {
    match n.event {
        NotifyEvent::Opened if n.incident.reopen_count > 0 => "reopened".to_string(),
        NotifyEvent::Opened => "opened".to_string(),
        NotifyEvent::SeverityRaised => {
            format!("raised to {}", n.incident.severity.as_str())
        }
        NotifyEvent::Acknowledged => match &n.incident.acknowledged_by {
            Some(who) => format!("acknowledged by {who}"),
            None => "acknowledged".to_string(),
        },
        NotifyEvent::Escalated => format!("escalated to {}", tier(n.incident.tier)),
        NotifyEvent::Resolved => "resolved".to_string(),
        NotifyEvent::Closed => "closed".to_string(),
        NotifyEvent::FlappingStarted => "flapping".to_string(),
        NotifyEvent::FlappingStopped => "stopped flapping".to_string(),
        NotifyEvent::Reminder => "still unacknowledged".to_string(),
        NotifyEvent::Test => "test notification".to_string(),
    }
}

/// `[MAJOR] #12 opened: Disk full on / (web01)`, plus `(+2 more)` when grouped.
pub fn headline(n: &Notification) -> String {
    let inc = &n.incident;
    let mut h = format!(
        "[{}] #{} {}: {} ({})",
        severity_tag(inc.severity),
        inc.id,
        event_phrase(n),
        one_line(&inc.title),
        one_line(ci_name(inc))
    );
    if !n.grouped.is_empty() {
        h.push_str(&format!(" (+{} more)", n.grouped.len()));
    }
    h
}

/// Newlines and tabs become spaces (for subjects and list items).
pub fn one_line(s: &str) -> String {
    s.replace(['\r', '\n', '\t'], " ")
}

/// `<external_url>/incidents/<id>` when a console URL is configured.
pub fn incident_url(external_url: Option<&str>, id: u64) -> Option<String> {
    external_url.map(|u| format!("{}/incidents/{id}", u.trim_end_matches('/')))
}

/// Labelled facts about one incident, in display order; `at` is "now" for
/// the relative SLA times.
pub fn facts(inc: &Incident, at: i64) -> Vec<(&'static str, String)> {
    let mut f = Vec::new();
    let mut ci = ci_name(inc).to_string();
    if let Some(c) = &inc.ci {
        if !c.class.is_empty() {
            ci.push_str(&format!(" [{}]", c.class));
        }
        if let Some(h) = c.hostname.as_ref().filter(|h| **h != c.name) {
            ci.push_str(&format!(", host {h}"));
        }
    }
    f.push(("CI", ci));
    if let Some(c) = &inc.ci {
        if !c.ip_addresses.is_empty() {
            f.push(("IP", c.ip_addresses.join(", ")));
        }
        if let Some(l) = &c.location {
            f.push(("Location", l.clone()));
        }
        let owner: Vec<&str> = [&c.owner, &c.department]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        if !owner.is_empty() {
            f.push(("Owner", owner.join(" / ")));
        }
    }
    f.push((
        "Severity",
        format!("{} {}", inc.severity.as_str(), severity_zh(inc.severity)),
    ));
    f.push((
        "Status",
        format!(
            "{} · {:?} · {}",
            inc.status.as_str(),
            inc.priority,
            tier(inc.tier)
        ),
    ));
    if !inc.object.is_empty() {
        let o: Vec<String> = inc.object.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.push(("Object", o.join(", ")));
    }
    f.push((
        "Value",
        format!("{} (threshold {})", num(inc.last_value), num(inc.threshold)),
    ));
    f.push(("Opened", readable_time(inc.opened_at)));
    if let Some(t) = inc.acknowledged_at {
        let by = inc
            .acknowledged_by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
        f.push(("Acknowledged", format!("{}{by}", readable_time(t))));
    }
    if let Some(t) = inc.resolved_at {
        let by = inc
            .resolved_by
            .as_deref()
            .map(|b| format!(" by {b}"))
            .unwrap_or_default();
        f.push(("Resolved", format!("{}{by}", readable_time(t))));
    }
    f.push(("SLA", sla_text(inc, at)));
    f
}

/// `respond by 08:10:00 UTC (in 9m, pending); resolve by … (met)`, or why no clock runs.
pub fn sla_text(inc: &Incident, at: i64) -> String {
    let s = &inc.sla;
    let stages = [
        ("respond", &s.respond),
        ("assign", &s.assign),
        ("resolve", &s.resolve),
    ];
    let parts: Vec<String> = stages
        .iter()
        .filter_map(|(name, st)| st.as_ref().map(|st| stage_text(name, st, at)))
        .collect();
    if parts.is_empty() {
        return s.note.clone().unwrap_or_else(|| "no SLA clock".to_string());
    }
    parts.join("; ")
}

fn stage_text(name: &str, st: &SlaStage, at: i64) -> String {
    let due = readable_time(st.due_at);
    match st.status {
        StageStatus::Pending => format!("{name} by {due} ({}, pending)", relative(at, st.due_at)),
        StageStatus::Met => format!("{name} by {due} (met)"),
        StageStatus::Breached => format!("{name} by {due} (BREACHED)"),
        StageStatus::Skipped => format!("{name}: skipped"),
    }
}

/// A number without a useless `.0`.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(readable_time(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        assert_eq!(relative(0, 9 * 60_000 + 5_000), "in 9m");
        assert_eq!(relative(0, -12 * 60_000), "12m ago");
        assert_eq!(relative(0, 150 * 60_000), "in 2h30m");
        assert_eq!(relative(0, 30_000), "now");
        assert_eq!(num(97.0), "97");
        assert_eq!(num(97.12345), "97.123");
    }
}
