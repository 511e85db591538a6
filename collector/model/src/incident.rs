//! Incident records and timeline entries: the JSON that is stored in the
//! `incidents` column family and served by the API, unchanged.
//!
//! Times are milliseconds in memory and RFC 3339 text in JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ci::Ci;
use crate::event::Severity;
use crate::time::{rfc3339_ms as ms, rfc3339_ms_opt as opt_ms};

/// Lifecycle state: `open` → `acknowledged` → `resolved` → `closed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nobody has taken it yet.
    Open,
    /// Someone is working on it.
    Acknowledged,
    /// The condition cleared (automatically) or a person resolved it.
    Resolved,
    /// Final: never reopened; a new breach opens a new incident.
    Closed,
}

impl Status {
    /// The lowercase name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Acknowledged => "acknowledged",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }

    /// Open or acknowledged: the fault is still being worked.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Open | Status::Acknowledged)
    }
}

/// Priority from the severity × criticality matrix; P1 is the most urgent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Priority {
    /// Most urgent.
    P1,
    /// Urgent.
    P2,
    /// Normal.
    P3,
    /// Low.
    P4,
}

/// The CI attribute `criticality`; anything else (or nothing) counts as medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    /// Low.
    Low,
    /// Medium (the default).
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Criticality {
    /// Reads the attribute value (case-insensitive), defaulting to medium.
    pub fn from_attribute(value: Option<&Value>) -> Self {
        match value
            .and_then(Value::as_str)
            .map(|s| s.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("low") => Criticality::Low,
            Some("high") => Criticality::High,
            Some("critical") => Criticality::Critical,
            _ => Criticality::Medium,
        }
    }
}

/// What the CI was when the incident opened (the CI may change later).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CiSnapshot {
    /// Display name.
    pub name: String,
    /// CI class (host, switch…).
    pub class: String,
    /// Hostname, sysName, or a service's target host.
    pub hostname: Option<String>,
    /// IP addresses.
    pub ip_addresses: Vec<String>,
    /// Vendor.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Physical location.
    pub location: Option<String>,
    /// OS name.
    pub os_name: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Criticality attribute as set on the CI (`null`: not set, medium assumed).
    pub criticality: Option<String>,
}

impl CiSnapshot {
    /// Copies the attributes an engineer needs from a CI record.
    pub fn of(ci: &Ci) -> Self {
        let text = |k: &str| match ci.attributes.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        // Hosts report hostname, ip_addresses, serial_number and OS; polled
        // devices sysName, management_ip, serial, sysLocation and firmware;
        // checked services the target_host they probe.
        let first = |keys: &[&str]| keys.iter().find_map(|k| text(k));
        let ip_addresses = match ci.attributes.get("ip_addresses") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => text("management_ip").into_iter().collect(),
        };
        Self {
            name: ci.name.clone(),
            class: ci.class.clone(),
            hostname: first(&["hostname", "sysName", "target_host"]),
            ip_addresses,
            vendor: text("vendor"),
            model: text("model"),
            serial_number: first(&["serial_number", "serial"]),
            location: first(&["location", "sysLocation"]),
            os_name: text("os_name"),
            os_version: first(&["os_version", "firmware_revision", "software_revision"]),
            owner: first(&["owner", "sysContact"]),
            department: text("department"),
            criticality: text("criticality"),
        }
    }
}

/// State of one SLA stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// Not reached yet, due time not passed.
    Pending,
    /// Reached in time.
    Met,
    /// The due time passed first.
    Breached,
    /// Not needed: the incident was resolved, or attached to a parent, first.
    Skipped,
}

/// One SLA stage (respond, assign or resolve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaStage {
    /// Allowed time, e.g. `10m`.
    #[serde(with = "humantime_serde")]
    pub target: Duration,
    /// When it is due.
    #[serde(with = "ms")]
    pub due_at: i64,
    /// Pending, met, breached or skipped.
    pub status: StageStatus,
    /// When it was met, breached or skipped.
    #[serde(with = "opt_ms", default)]
    pub done_at: Option<i64>,
}

/// The SLA clock of an incident; the incidents crate's `sla_clock` module keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SlaState {
    /// The severity whose targets apply; `null` when no clock runs.
    pub policy: Option<Severity>,
    /// `24x7` or `business_hours`.
    pub coverage: Option<Coverage>,
    /// Why no clock runs (or ran), when that is the case.
    pub note: Option<String>,
    /// When the clock started.
    #[serde(with = "opt_ms")]
    pub started_at: Option<i64>,
    /// Clock start → first acknowledgement or assignment.
    pub respond: Option<SlaStage>,
    /// Clock start → an engineer assigned.
    pub assign: Option<SlaStage>,
    /// Clock start → resolution.
    pub resolve: Option<SlaStage>,
}

/// An incident. The incidents crate documents the rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Sequential id, starting at 1.
    pub id: u64,
    /// Deduplication key (rule + CI + object labels).
    pub key: String,
    /// Rule name.
    pub rule: String,
    /// CI id.
    pub ci_id: String,
    /// The CI as it was at opening; `null` if the CI was not in the CMDB.
    pub ci: Option<CiSnapshot>,
    /// Labels identifying the object inside the CI (mountpoint, interface…).
    pub object: BTreeMap<String, String>,
    /// Title (from the rule's template).
    pub title: String,
    /// Description (from the rule's template).
    pub description: String,
    /// Lifecycle state.
    pub status: Status,
    /// Highest severity reached.
    pub severity: Severity,
    /// Severity of the latest breaching sample.
    pub current_severity: Severity,
    /// From severity × CI criticality.
    pub priority: Priority,
    /// The CI criticality used for the priority.
    pub criticality: Criticality,
    /// When the incident opened.
    #[serde(with = "ms")]
    pub opened_at: i64,
    /// First acknowledgement.
    #[serde(with = "opt_ms")]
    pub acknowledged_at: Option<i64>,
    /// Who acknowledged it.
    pub acknowledged_by: Option<String>,
    /// The engineer it is assigned to.
    pub assigned_to: Option<String>,
    /// When it was last assigned.
    #[serde(with = "opt_ms")]
    pub assigned_at: Option<i64>,
    /// When it was (last) resolved; `null` again after a reopen.
    #[serde(with = "opt_ms")]
    pub resolved_at: Option<i64>,
    /// Who resolved it (`system` when the condition cleared).
    pub resolved_by: Option<String>,
    /// When it was closed.
    #[serde(with = "opt_ms")]
    pub closed_at: Option<i64>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Latest evaluated value.
    pub last_value: f64,
    /// Worst value seen (highest, or lowest for a rule whose threshold is a floor).
    pub peak_value: f64,
    /// Threshold of `severity`.
    pub threshold: f64,
    /// Sample time of the first breaching sample.
    #[serde(with = "ms")]
    pub first_sample_at: i64,
    /// Sample time of the latest breaching sample.
    #[serde(with = "ms")]
    pub last_sample_at: i64,
    /// Breaching samples (firing events) seen, across reopenings.
    pub occurrences: u64,
    /// How often it was reopened.
    pub reopen_count: u32,
    /// The rule/CI pair changes state too often.
    pub flapping: bool,
    /// State changes in the flap window, as last reported.
    pub flap_transitions: u32,
    /// Whether the rule's condition still holds, as far as the manager knows.
    pub condition_active: bool,
    /// Support tier working it (1 → 2 → 3 on SLA breaches).
    pub tier: u8,
    /// The incident this one is attached to (topology suppression).
    pub parent_id: Option<u64>,
    /// Why it is suppressed (e.g. a maintenance window); not notified, no SLA.
    pub suppressed: Option<String>,
    /// Problem record it belongs to.
    pub problem_id: Option<u64>,
    /// SLA clock.
    pub sla: SlaState,
    /// Number of timeline entries.
    pub timeline_count: u32,
    /// Last change of this record.
    #[serde(with = "ms")]
    pub updated_at: i64,
}

/// An incident with its timeline and attached children, as the API serves
/// it (`GET /api/v1/incidents/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: Incident,
    /// Timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Ids of the incidents attached to this one.
    pub children: Vec<u64>,
}

/// Kinds of timeline entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// The incident opened.
    Opened,
    /// Breaching samples since the previous value update (coalesced).
    ValueUpdate,
    /// The severity rose.
    SeverityChanged,
    /// Someone acknowledged it.
    Acknowledged,
    /// Someone assigned it.
    Assigned,
    /// A comment.
    Comment,
    /// An SLA stage was breached and the tier raised.
    Escalated,
    /// Resolved (automatically or by a person).
    Resolved,
    /// Fired again within the reopen window.
    Reopened,
    /// Closed.
    Closed,
    /// Flapping started or stopped.
    Flapping,
    /// A notification was sent (recorded by the notifier).
    Notified,
    /// Opened or reopened inside a maintenance window (or otherwise suppressed).
    Suppressed,
    /// No longer suppressed (its maintenance window ended, or it reopened
    /// outside one): worked normally from now on, with an SLA clock.
    Unsuppressed,
    /// Another incident was attached to this one as a child.
    ChildAttached,
    /// An attached child was detached again (its parent resolved).
    ChildDetached,
    /// This incident was attached to a parent after it opened.
    Attached,
    /// This incident was detached from its parent and works on its own.
    Detached,
    /// The condition cleared after a person had resolved or closed it.
    ConditionCleared,
    /// Linked to a problem record.
    ProblemLinked,
}

/// One line of an incident's timeline: who did what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    #[serde(with = "ms")]
    pub at: i64,
    /// `system` or the person (or component) who acted.
    pub actor: String,
    /// What happened.
    pub kind: TimelineKind,
    /// Human-readable sentence.
    pub message: String,
    /// Details (values, old/new severity, stage…); `null` when none.
    #[serde(default)]
    pub data: Value,
}

/// When an SLA clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Coverage {
    /// 7×24: all the time.
    #[serde(rename = "24x7")]
    AlwaysOn,
    /// 5×8: only inside the configured business hours.
    #[serde(rename = "business_hours")]
    BusinessHours,
}

/// The actor of automatic changes.
pub const SYSTEM: &str = "system";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn criticality_defaults_to_medium() {
        assert_eq!(
            Criticality::from_attribute(Some(&json!("Critical"))),
            Criticality::Critical
        );
        assert_eq!(
            Criticality::from_attribute(Some(&json!("low"))),
            Criticality::Low
        );
        assert_eq!(Criticality::from_attribute(None), Criticality::Medium);
        assert_eq!(
            Criticality::from_attribute(Some(&json!(3))),
            Criticality::Medium
        );
    }

    #[test]
    fn snapshot_takes_what_exists() {
        let ci: Ci = serde_json::from_value(json!({
            "id": "h1", "class": "host", "name": "web01",
            "attributes": {"hostname": "web01", "ip_addresses": ["10.0.0.1"],
                           "location": "DC1", "cpu_cores": 8},
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"
        }))
        .unwrap();
        let s = CiSnapshot::of(&ci);
        assert_eq!(s.hostname.as_deref(), Some("web01"));
        assert_eq!(s.ip_addresses, vec!["10.0.0.1".to_string()]);
        assert_eq!(s.location.as_deref(), Some("DC1"));
        assert_eq!(s.owner, None);
        assert_eq!(s.class, "host");
    }

    #[test]
    fn service_snapshot_names_its_target_host() {
        let ci: Ci = serde_json::from_value(json!({
            "id": "shop", "class": "application", "name": "Web shop",
            "attributes": {"target_host": "shop.example.com", "owner": "web team",
                           "criticality": "critical", "url": "https://shop.example.com/"},
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"
        }))
        .unwrap();
        let s = CiSnapshot::of(&ci);
        assert_eq!(s.hostname.as_deref(), Some("shop.example.com"));
        assert_eq!(s.owner.as_deref(), Some("web team"));
        assert_eq!(s.criticality.as_deref(), Some("critical"));
        assert_eq!(s.class, "application");
    }
}
