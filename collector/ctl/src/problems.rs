//! Text rendering of the problem records (`GET /api/v1/problems`).

use super::format::{name, time};
use super::table::Table;
use tocsin_api_types::problems::Problem;

/// The problems as a table: ID, STATUS, RULE, CI, COUNT, INCIDENTS,
/// CREATED, UPDATED.
pub fn render_problems(problems: &[Problem]) -> String {
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
    for p in problems {
        let ids: Vec<String> = p.incident_ids.iter().map(u64::to_string).collect();
        t.row([
            p.id.to_string(),
            name(&p.status),
            p.rule.clone(),
            p.ci_id.clone(),
            ids.len().to_string(),
            ids.join(", "),
            time(p.created_at),
            time(p.updated_at),
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
        let body: Vec<Problem> = serde_json::from_value(json!([
            {"id": 1, "rule": "load_test", "ci_id": "h1", "incident_ids": [3, 5, 9],
             "created_at": "2026-11-23T10:00:00.000Z", "updated_at": "2026-11-23T12:00:00.000Z",
             "status": "open"}
        ]))
        .unwrap();
        assert_eq!(
            render_problems(&body),
            "\
ID  STATUS  RULE       CI  COUNT  INCIDENTS  CREATED               UPDATED
1   open    load_test  h1  3      3, 5, 9    2026-11-23T10:00:00Z  2026-11-23T12:00:00Z
"
        );
        assert_eq!(render_problems(&[]), "no problems\n");
    }
}
