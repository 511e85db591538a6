//! Text rendering of the problem records (`GET /api/v1/problems`).

use serde_json::Value;

use super::format::time;
use super::table::{Table, cell};

/// The problems as a table: ID, STATUS, RULE, CI, COUNT, INCIDENTS,
/// CREATED, UPDATED.
pub fn render_problems(body: &Value) -> String {
    let mut t = Table::new(&[
        "ID",
        "STATUS",
        "RULE",
        "CI",
        "COUNT",
        "INCIDENTS",
        "CREATED",
        "UPDATED",
    ]);
    for p in body["data"].as_array().into_iter().flatten() {
        let incidents = p["incident_ids"].as_array().map_or(0, Vec::len);
        t.row([
            cell(&p["id"]),
            cell(&p["status"]),
            cell(&p["rule"]),
            cell(&p["ci_id"]),
            incidents.to_string(),
            cell(&p["incident_ids"]),
            time(&p["created_at"]),
            time(&p["updated_at"]),
        ]);
    }
    if t.is_empty() {
        return "no problems\n".into();
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn problem_table() {
        let body = json!({"data": [
            {"id": 1, "rule": "load_test", "ci_id": "h1", "incident_ids": [3, 5, 9],
             "created_at": "2026-11-23T10:00:00.000Z", "updated_at": "2026-11-23T12:00:00.000Z",
             "status": "open"}
        ]});
        assert_eq!(
            render_problems(&body),
            "\
ID  STATUS  RULE       CI  COUNT  INCIDENTS  CREATED               UPDATED
1   open    load_test  h1  3      3, 5, 9    2026-11-23T10:00:00Z  2026-11-23T12:00:00Z
"
        );
        assert_eq!(render_problems(&json!({"data": []})), "no problems\n");
    }
}
