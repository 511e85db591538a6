//! `/api/v1/maintenance`: maintenance windows. `GET` answers
//! `Data<Vec<MaintenanceWindow>>`; `POST` takes a [`NewWindow`] and answers
//! `Data<MaintenanceWindow>`, as does `DELETE /api/v1/maintenance/{id}`.

pub use tocsin_model::maintenance::{MaintenanceWindow, NewWindow};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn windows_round_trip_and_leave_out_an_absent_target() {
        let wire = json!({"id": 3, "ci_class": "switch",
                          "starts_at": "2026-11-23T11:00:00.000Z",
                          "ends_at": "2026-11-23T12:00:00.000Z", "reason": "CHG-42",
                          "created_by": "bob", "created_at": "2026-11-23T09:00:00.000Z"});
        let w: MaintenanceWindow = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            (w.ci_id.as_deref(), w.ci_class.as_deref()),
            (None, Some("switch"))
        );
        assert_eq!(serde_json::to_value(&w).unwrap(), wire);
    }

    #[test]
    fn a_new_window_round_trips_and_accepts_null_targets() {
        let wire = json!({"ci_id": "h1", "starts_at": "2026-11-23T10:00:00.000Z",
                          "ends_at": "2026-11-23T11:30:00.000Z", "reason": "CHG-42",
                          "created_by": "bob"});
        let n: NewWindow = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(n.ends_at - n.starts_at, 5_400_000);
        assert_eq!(serde_json::to_value(&n).unwrap(), wire);
        let with_null: NewWindow = serde_json::from_value(json!({
            "ci_id": "h1", "ci_class": null, "starts_at": "2026-11-23T10:00:00+08:00",
            "ends_at": "2026-11-23T11:00:00Z", "reason": "r"}))
        .unwrap();
        assert_eq!(
            (with_null.ci_class, with_null.created_by.as_str()),
            (None, "")
        );
        assert!(serde_json::from_value::<NewWindow>(json!({"ci": "h1"})).is_err());
    }
}
