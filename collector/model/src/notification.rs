//! What a notification is: one event of one incident (or of a group of
//! incidents opened together) for one receiver, and its delivery state in
//! the outbox. `tocsin-notify` stores and sends these; the API lists them.

use serde::{Deserialize, Serialize};

use crate::Incident;

/// Why people are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    /// The incident opened (or reopened).
    Opened,
    /// Its severity rose.
    SeverityRaised,
    /// Someone acknowledged it.
    Acknowledged,
    /// An SLA stage was breached and the incident escalated to the next tier.
    Escalated,
    /// It resolved (by itself or by a person).
    Resolved,
    /// It was closed.
    Closed,
    /// The rule/CI pair started flapping.
    FlappingStarted,
    /// It stopped flapping.
    FlappingStopped,
    /// Still unacknowledged: a repeat reminder.
    Reminder,
    /// `tocsinctl notify test <receiver>`: not about a real incident.
    Test,
}

impl NotifyEvent {
    /// The name used in payloads and config, e.g. `severity_raised`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::SeverityRaised => "severity_raised",
            Self::Acknowledged => "acknowledged",
            Self::Escalated => "escalated",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::FlappingStarted => "flapping_started",
            Self::FlappingStopped => "flapping_stopped",
            Self::Reminder => "reminder",
            Self::Test => "test",
        }
    }

    /// Whether the incident's problem is over with this event (resolved or
    /// closed): Alertmanager `status: resolved`, PagerDuty `resolve`.
    pub fn is_resolution(self) -> bool {
        matches!(self, Self::Resolved | Self::Closed)
    }
}

/// A child incident absorbed by the notified incident (topology): listed in
/// the parent's message instead of being notified on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSummary {
    /// Incident id.
    pub id: u64,
    /// Its CI.
    pub ci_id: String,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: crate::Severity,
}

/// One message for one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Outbox id, increasing.
    pub id: u64,
    /// Stable across retries and restarts; receivers deduplicate on it
    /// (`<receiver>/<incident id>/<event>/<timeline entry number>`, or
    /// `…/reminder/r<n>` for the n-th reminder).
    pub idempotency_key: String,
    /// The receiver's name.
    pub receiver: String,
    /// What happened.
    pub event: NotifyEvent,
    /// The incident with its CI snapshot and SLA state, as the write that
    /// recorded the change left it (several changes in one write, e.g. an
    /// opening and a severity rise from one batch, all show the final state).
    pub incident: Incident,
    /// Other incidents opened within the grouping window on the same route,
    /// delivered in the same message (empty without grouping).
    pub grouped: Vec<Incident>,
    /// Incidents attached to this one as children.
    pub children: Vec<ChildSummary>,
    /// When the change happened, ms since the epoch.
    pub created_at: i64,
}

impl Notification {
    /// Every incident the message is about: the primary one first.
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        std::iter::once(&self.incident).chain(&self.grouped)
    }
}

/// Where a notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not delivered yet; retried until it is, or until the attempts run out.
    Pending,
    /// A receiver accepted it.
    Delivered,
    /// Given up: a permanent error, or every attempt failed.
    Failed,
    /// Sent inside another notification (`grouped_into`) of the grouping window.
    Grouped,
}

impl DeliveryStatus {
    /// The lowercase name used in the API, e.g. `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Grouped => "grouped",
        }
    }
}

/// One notification with its delivery state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxRecord {
    /// The message.
    pub notification: Notification,
    /// The receiver's channel kind (webhook, email…).
    pub channel: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Delivery attempts made.
    pub attempts: u32,
    /// When the next attempt is due, ms.
    pub next_attempt_at: i64,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When a receiver accepted it, ms.
    pub delivered_at: Option<i64>,
    /// The notification that carried this one (grouping window).
    #[serde(default)]
    pub grouped_into: Option<u64>,
}
