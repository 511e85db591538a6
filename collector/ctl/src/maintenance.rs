//! Maintenance windows (`/api/v1/maintenance`): the body of a new window
//! from the command line, and the text of the list and of a confirmation.

use super::format::time;
use super::table::Table;
use tocsin_api_types::maintenance::{MaintenanceWindow, NewWindow};
use tocsin_model::prom_time::{parse_duration, parse_time};

/// A window as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct NewWindowArgs {
    /// `--ci`.
    pub ci: Option<String>,
    /// `--class`.
    pub class: Option<String>,
    /// `--start`: RFC 3339, unix seconds or `now` (the default).
    pub start: Option<String>,
    /// `--end`: RFC 3339 or unix seconds.
    pub end: Option<String>,
    /// `--duration`, e.g. `2h`, instead of `--end`.
    pub duration: Option<String>,
    /// `--reason`.
    pub reason: String,
}

impl NewWindowArgs {
    /// The body of `POST /api/v1/maintenance`, or a one-line problem.
    pub fn body(&self, created_by: &str, now_ms: i64) -> Result<NewWindow, String> {
        let start = match self.start.as_deref().map(str::trim) {
            None | Some("now") => now_ms,
            Some(s) => parse_time(s).map_err(|_| {
                format!("invalid --start {s:?}: expected RFC 3339 (2024-05-01T08:00:00+08:00), unix seconds or now")
            })?,
        };
        let end = match (&self.end, &self.duration) {
            (Some(e), None) => parse_time(e.trim()).map_err(|_| {
                format!("invalid --end {e:?}: expected RFC 3339 (2024-05-01T10:00:00+08:00) or unix seconds")
            })?,
            (None, Some(d)) => match parse_duration(d.trim()) {
                Ok(ms) if ms > 0 => start.saturating_add(ms),
                _ => return Err(format!("invalid --duration {d:?}: expected e.g. 30m, 2h, 1h30m")),
            },
            _ => return Err("give either --end or --duration".into()),
        };
        Ok(NewWindow {
            ci_id: self.ci.clone(),
            ci_class: self.class.clone(),
            starts_at: start,
            ends_at: end,
            reason: self.reason.clone(),
            created_by: created_by.to_string(),
        })
    }
}

/// The windows as a table: ID, TARGET, STARTS, ENDS, STATE, REASON, BY.
pub fn render_windows(windows: &[MaintenanceWindow], now_ms: i64) -> String {
    let mut t = Table::new(&["ID", "TARGET", "STARTS", "ENDS", "STATE", "REASON", "BY"]);
    for w in windows {
        t.row([
            w.id.to_string(),
            target(w),
            time(w.starts_at),
            time(w.ends_at),
            state(w, now_ms).into(),
            w.reason.clone(),
            w.created_by.clone(),
        ]);
    }
    if t.is_empty() {
        return "no maintenance windows\n".into();
    }
    t.render()
}

/// One line about a window the API returned, after `verb` (`added`,
/// `deleted`).
pub fn confirmation(w: &MaintenanceWindow, verb: &str) -> String {
    format!(
        "maintenance window {} {verb}: {} from {} to {}\n",
        w.id,
        target(w),
        time(w.starts_at),
        time(w.ends_at)
    )
}

/// `ci h1`, `class switch`, or both.
fn target(w: &MaintenanceWindow) -> String {
    let parts: Vec<String> = [("ci", &w.ci_id), ("class", &w.ci_class)]
        .into_iter()
        .filter_map(|(k, v)| Some(format!("{k} {}", v.as_ref()?)))
        .collect();
    parts.join(", ")
}

/// `scheduled`, `active` or `ended` at `now_ms`.
fn state(w: &MaintenanceWindow, now_ms: i64) -> &'static str {
    if now_ms < w.starts_at {
        "scheduled"
    } else if now_ms < w.ends_at {
        "active"
    } else {
        "ended"
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::incidents::tests::T0;
    use tocsin_model::time::{parse_rfc3339, rfc3339};

    fn args() -> NewWindowArgs {
        NewWindowArgs {
            ci: Some("h1".into()),
            reason: "CHG-42 kernel update".into(),
            ..Default::default()
        }
    }

    #[test]
    fn body_from_start_and_duration() {
        let a = NewWindowArgs {
            duration: Some("1h30m".into()),
            ..args()
        };
        assert_eq!(
            serde_json::to_value(a.body("bob", T0).unwrap()).unwrap(),
            json!({"ci_id": "h1", "starts_at": "2026-11-23T10:00:00.000Z",
                   "ends_at": "2026-11-23T11:30:00.000Z",
                   "reason": "CHG-42 kernel update", "created_by": "bob"})
        );
        let b = NewWindowArgs {
            ci: None,
            class: Some("switch".into()),
            start: Some("2026-11-24T08:00:00+08:00".into()),
            end: Some("2026-11-24T10:00:00+08:00".into()),
            ..args()
        };
        let body = b.body("bob", T0).unwrap();
        assert_eq!(
            (body.ci_id, body.ci_class.as_deref()),
            (None, Some("switch"))
        );
        assert_eq!(rfc3339(body.starts_at), "2026-11-24T00:00:00.000Z");
        assert_eq!(rfc3339(body.ends_at), "2026-11-24T02:00:00.000Z");
    }

    #[test]
    fn bad_times_are_one_line() {
        let bad_start = NewWindowArgs {
            start: Some("tomorrow".into()),
            duration: Some("1h".into()),
            ..args()
        };
        assert!(
            bad_start
                .body("b", T0)
                .unwrap_err()
                .starts_with("invalid --start \"tomorrow\"")
        );
        let bad_dur = NewWindowArgs {
            duration: Some("-5m".into()),
            ..args()
        };
        assert!(
            bad_dur
                .body("b", T0)
                .unwrap_err()
                .starts_with("invalid --duration")
        );
        assert_eq!(
            args().body("b", T0).unwrap_err(),
            "give either --end or --duration"
        );
    }

    #[test]
    fn window_table_and_confirmation() {
        let w = |id: u64, start: &str, end: &str| MaintenanceWindow {
            id,
            ci_id: Some("h1".into()),
            ci_class: None,
            starts_at: parse_rfc3339(start).unwrap(),
            ends_at: parse_rfc3339(end).unwrap(),
            reason: "CHG-42".into(),
            created_by: "bob".into(),
            created_at: parse_rfc3339("2026-11-23T09:00:00.000Z").unwrap(),
        };
        let class = MaintenanceWindow {
            ci_id: None,
            ci_class: Some("switch".into()),
            ..w(3, "2026-11-23T11:00:00.000Z", "2026-11-23T12:00:00.000Z")
        };
        let body = [
            w(1, "2026-11-23T09:00:00.000Z", "2026-11-23T09:30:00.000Z"),
            w(2, "2026-11-23T09:00:00.000Z", "2026-11-23T11:00:00.000Z"),
            class,
        ];
        assert_eq!(
            render_windows(&body, T0),
            "\
ID  TARGET        STARTS                ENDS                  STATE      REASON  BY
1   ci h1         2026-11-23T09:00:00Z  2026-11-23T09:30:00Z  ended      CHG-42  bob
2   ci h1         2026-11-23T09:00:00Z  2026-11-23T11:00:00Z  active     CHG-42  bob
3   class switch  2026-11-23T11:00:00Z  2026-11-23T12:00:00Z  scheduled  CHG-42  bob
"
        );
        assert_eq!(render_windows(&[], T0), "no maintenance windows\n");
        let one = w(2, "2026-11-23T09:00:00.000Z", "2026-11-23T11:00:00.000Z");
        assert_eq!(
            confirmation(&one, "added"),
            "maintenance window 2 added: ci h1 from 2026-11-23T09:00:00Z to 2026-11-23T11:00:00Z\n"
        );
    }
}
