//! `/api/v1/problems`: problem records. `GET` answers `Data<Vec<Problem>>`.

pub use tocsin_model::problem::{Problem, ProblemStatus};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problems_round_trip_and_write_closed_at_only_when_closed() {
        let open = json!({"id": 1, "rule": "load_test", "ci_id": "h1",
                          "incident_ids": [3, 5, 9],
                          "created_at": "2026-11-23T10:00:00.000Z",
                          "updated_at": "2026-11-23T12:00:00.000Z", "status": "open"});
        let p: Problem = serde_json::from_value(open.clone()).unwrap();
        assert_eq!((p.status, p.closed_at), (ProblemStatus::Open, None));
        assert_eq!(serde_json::to_value(&p).unwrap(), open);
        let mut closed = open;
        closed["status"] = json!("closed");
        closed["closed_at"] = json!("2026-11-24T10:00:00.000Z");
        let p: Problem = serde_json::from_value(closed.clone()).unwrap();
        assert_eq!(p.status, ProblemStatus::Closed);
        assert_eq!(serde_json::to_value(&p).unwrap(), closed);
    }
}
