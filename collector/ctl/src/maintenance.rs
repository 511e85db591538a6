//! Maintenance windows (`/api/v1/maintenance`): the body of a new window
//! from the command line, and the text of the list and of a confirmation.

use serde_json::{Map, Value, json};

use super::format::{millis, time};
use super::table::{Table, cell};
use tocsin_model::prom_time::{parse_duration, parse_time};
use tocsin_model::time::rfc3339;

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
    /// The JSON body of `POST /api/v1/maintenance`, or a one-line problem.
    pub fn body(&self, created_by: &str, now_ms: i64) -> Result<Value, String> {
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
        let mut b = Map::new();
        if let Some(ci) = &self.ci {
            b.insert("ci_id".into(), json!(ci));
        }
        if let Some(class) = &self.class {
            b.insert("ci_class".into(), json!(class));
        }
        b.insert("starts_at".into(), json!(rfc3339(start)));
        b.insert("ends_at".into(), json!(rfc3339(end)));
        b.insert("reason".into(), json!(self.reason));
        b.insert("created_by".into(), json!(created_by));
        Ok(Value::Object(b))
    }
}

/// The windows as a table: ID, TARGET, STARTS, ENDS, STATE, REASON, BY.
pub fn render_windows(body: &Value, now_ms: i64) -> String {
    let mut t = Table::new(&["ID", "TARGET", "STARTS", "ENDS", "STATE", "REASON", "BY"]);
    for w in body["data"].as_array().into_iter().flatten() {
        t.row([
            cell(&w["id"]),
            target(w),
            time(&w["starts_at"]),
            time(&w["ends_at"]),
            state(w, now_ms).into(),
            cell(&w["reason"]),
            cell(&w["created_by"]),
        ]);
    }
    if t.is_empty() {
        return "no maintenance windows\n".into();
    }
    t.render()
}

/// One line about a window the API returned (`{"data": window}`), after
/// `verb` (`added`, `deleted`).
pub fn confirmation(body: &Value, verb: &str) -> String {
    let w = &body["data"];
    format!(
        "maintenance window {} {verb}: {} from {} to {}\n",
        cell(&w["id"]),
        target(w),
        time(&w["starts_at"]),
        time(&w["ends_at"])
    )
}

/// `ci h1`, `class switch`, or both.
fn target(w: &Value) -> String {
    let parts: Vec<String> = [("ci", &w["ci_id"]), ("class", &w["ci_class"])]
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| format!("{k} {}", cell(v)))
        .collect();
    parts.join(", ")
}

/// `scheduled`, `active` or `ended` at `now_ms`.
fn state(w: &Value, now_ms: i64) -> &'static str {
    match (millis(&w["starts_at"]), millis(&w["ends_at"])) {
        (Some(s), _) if now_ms < s => "scheduled",
        (_, Some(e)) if now_ms < e => "active",
        (_, Some(_)) => "ended",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::tests::T0;

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
            a.body("bob", T0).unwrap(),
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
        assert_eq!(body["ci_class"], "switch");
        assert!(body.get("ci_id").is_none());
        assert_eq!(body["starts_at"], "2026-11-24T00:00:00.000Z");
        assert_eq!(body["ends_at"], "2026-11-24T02:00:00.000Z");
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
        let w = |id: u64, start: &str, end: &str| {
            json!({"id": id, "ci_id": "h1", "starts_at": start, "ends_at": end,
                   "reason": "CHG-42", "created_by": "bob",
                   "created_at": "2026-11-23T09:00:00.000Z"})
        };
        let mut class = w(3, "2026-11-23T11:00:00.000Z", "2026-11-23T12:00:00.000Z");
        class.as_object_mut().unwrap().remove("ci_id");
        class["ci_class"] = json!("switch");
        let body = json!({"data": [
            w(1, "2026-11-23T09:00:00.000Z", "2026-11-23T09:30:00.000Z"),
            w(2, "2026-11-23T09:00:00.000Z", "2026-11-23T11:00:00.000Z"),
            class
        ]});
        assert_eq!(
            render_windows(&body, T0),
            "\
ID  TARGET        STARTS                ENDS                  STATE      REASON  BY
1   ci h1         2026-11-23T09:00:00Z  2026-11-23T09:30:00Z  ended      CHG-42  bob
2   ci h1         2026-11-23T09:00:00Z  2026-11-23T11:00:00Z  active     CHG-42  bob
3   class switch  2026-11-23T11:00:00Z  2026-11-23T12:00:00Z  scheduled  CHG-42  bob
"
        );
        assert_eq!(
            render_windows(&json!({"data": []}), T0),
            "no maintenance windows\n"
        );
        let one = json!({"data": w(2, "2026-11-23T09:00:00.000Z", "2026-11-23T11:00:00.000Z")});
        assert_eq!(
            confirmation(&one, "added"),
            "maintenance window 2 added: ci h1 from 2026-11-23T09:00:00Z to 2026-11-23T11:00:00Z\n"
        );
    }
}
