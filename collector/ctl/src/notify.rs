//! Text rendering of the notification API's answers.

use tocsin_api_types::notifications::{OutboxRecord, ReceiverView, TestAnswer};

use super::table::Table;

/// Notifications as a table: ID, STATUS, RECEIVER, CHANNEL, EVENT, INCIDENT, ATTEMPTS, ERROR.
pub fn render_notifications(records: &[OutboxRecord]) -> String {
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
    for r in records {
        let n = &r.notification;
        t.row([
            n.id.to_string(),
            r.status.as_str().to_string(),
            n.receiver.clone(),
            r.channel.clone(),
            n.event.as_str().to_string(),
            format!("#{} {}", n.incident.id, n.incident.title),
            r.attempts.to_string(),
            r.last_error.clone().unwrap_or_default(),
        ]);
    }
    if t.is_empty() {
        return "no notifications\n".into();
    }
    t.render()
}

/// The receivers as a table: NAME, KIND, ENDPOINT, SIGNED.
pub fn render_receivers(receivers: &[ReceiverView]) -> String {
    let mut t = Table::new(&["NAME", "KIND", "ENDPOINT", "SIGNED"]).max_cell(80);
    for r in receivers {
        let endpoint = match &r.url {
            Some(url) => url.clone(),
            None => format!(
                "{} → {}",
                r.smtp_server.as_deref().unwrap_or_default(),
                r.to.join(", ")
            ),
        };
        t.row([
            r.name.clone(),
            r.kind.as_str().to_string(),
            endpoint,
            r.signed.to_string(),
        ]);
    }
    if t.is_empty() {
        return "no receivers configured ([[notify.receiver]] in the collector's config)\n".into();
    }
    t.render()
}

/// The outcome of a test message.
pub fn render_test(answer: &TestAnswer) -> String {
    let outcome = answer.outcome.as_str();
    match &answer.error {
        Some(e) => format!("{}: {outcome} ({e})\n", answer.receiver),
        None => format!("{}: {outcome}\n", answer.receiver),
    }
}

/// One retried notification.
pub fn render_retry(record: &OutboxRecord) -> String {
    format!(
        "notification {} is {} again\n",
        record.notification.id,
        record.status.as_str()
    )
}
