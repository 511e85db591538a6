//! Text rendering of the notification API's answers.

use serde_json::Value;

use super::table::{Table, cell};

/// Notifications as a table: ID, STATUS, RECEIVER, CHANNEL, EVENT, INCIDENT, ATTEMPTS, ERROR.
pub fn render_notifications(body: &Value) -> String {
    let mut t = Table::new(&[
        "ID",
        "STATUS",
        "RECEIVER",
        "CHANNEL",
        "EVENT",
        "INCIDENT",
        "ATTEMPTS",
        "LAST ERROR",
    ])
    .max_cell(80);
    for r in body["data"].as_array().into_iter().flatten() {
        let n = &r["notification"];
        t.row([
            cell(&n["id"]),
            cell(&r["status"]),
            cell(&n["receiver"]),
            cell(&r["channel"]),
            cell(&n["event"]),
            format!(
                "#{} {}",
                cell(&n["incident"]["id"]),
                cell(&n["incident"]["title"])
            ),
            cell(&r["attempts"]),
            cell(&r["last_error"]),
        ]);
    }
    if t.is_empty() {
        return "no notifications\n".into();
    }
    t.render()
}

/// The receivers as a table: NAME, KIND, ENDPOINT, SIGNED.
pub fn render_receivers(body: &Value) -> String {
    let mut t = Table::new(&["NAME", "KIND", "ENDPOINT", "SIGNED"]).max_cell(80);
    for r in body["data"].as_array().into_iter().flatten() {
        let endpoint = if r["url"].is_null() {
            format!("{} → {}", cell(&r["smtp_server"]), cell(&r["to"]))
        } else {
            cell(&r["url"])
        };
        t.row([
            cell(&r["name"]),
            cell(&r["kind"]),
            endpoint,
            cell(&r["signed"]),
        ]);
    }
    if t.is_empty() {
        return "no receivers configured ([[notify.receiver]] in the collector's config)\n".into();
    }
    t.render()
}

/// The outcome of a test message.
pub fn render_test(body: &Value) -> String {
    let d = &body["data"];
    match d["error"].as_str() {
        Some(e) => format!("{}: {} ({e})\n", cell(&d["receiver"]), cell(&d["outcome"])),
        None => format!("{}: {}\n", cell(&d["receiver"]), cell(&d["outcome"])),
    }
}

/// One retried notification.
pub fn render_retry(body: &Value) -> String {
    let r = &body["data"];
    format!(
        "notification {} is {} again\n",
        cell(&r["notification"]["id"]),
        cell(&r["status"])
    )
}
