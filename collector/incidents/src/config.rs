//! `[incidents]` configuration: reopen window, priority matrix, SLA policy
//! (targets per severity and business hours, defined by [`super::sla`]),
//! topology suppression. Every key is optional; defaults follow DESIGN.md.

use std::time::Duration;

use serde::Deserialize;

use super::sla::SlaPolicy;
use tocsin_cmdb::RELATION_KINDS;
use tocsin_model::event::Severity;
use tocsin_model::incident::{Criticality, Priority};

/// `[incidents]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentConfig {
    /// A resolved incident whose rule fires again within this time after its
    /// resolution is reopened instead of a new incident being opened.
    #[serde(with = "humantime_serde")]
    pub reopen_window: Duration,
    /// Breaching samples of an open incident are written to its timeline as
    /// one coalesced `value_update` entry at most this often.
    #[serde(with = "humantime_serde")]
    pub value_update_interval: Duration,
    /// When a person resolves or closes an incident whose condition still
    /// holds, further breaching samples belong to the same fault and are
    /// ignored; after this long without one the fault counts as over, and
    /// the next breach reopens or opens an incident.
    #[serde(with = "humantime_serde")]
    pub condition_stale_after: Duration,
    /// Priority per severity and CI criticality.
    pub priority_matrix: PriorityMatrix,
    /// SLA targets per severity (`[incidents.sla.major]` with `respond`,
    /// `assign`, `resolve`, `coverage` = `24x7` | `business_hours`, or
    /// `major = false`) and `[incidents.sla.business_hours]`.
    pub sla: SlaPolicy,
    /// Suppression of incidents downstream of a failed CI.
    pub topology: TopologyConfig,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            reopen_window: Duration::from_secs(3600),
            value_update_interval: Duration::from_secs(60),
            condition_stale_after: Duration::from_secs(15 * 60),
            priority_matrix: PriorityMatrix::default(),
            sla: SlaPolicy::default(),
            topology: TopologyConfig::default(),
        }
    }
}

/// `[incidents.priority_matrix]`: one row per severity; a row that is given
/// must name all four criticalities.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityMatrix {
    /// Priorities of `major` incidents.
    pub major: PriorityRow,
    /// Priorities of `general` incidents.
    pub general: PriorityRow,
    /// Priorities of `warning` incidents.
    pub warning: PriorityRow,
}

impl Default for PriorityMatrix {
    fn default() -> Self {
        use Priority::*;
        let row = |critical, high, medium, low| PriorityRow {
            critical,
            high,
            medium,
            low,
        };
        Self {
            major: row(P1, P1, P2, P3),
            general: row(P2, P2, P3, P4),
            warning: row(P3, P4, P4, P4),
        }
    }
}

impl PriorityMatrix {
    /// The priority of `severity` on a CI of `criticality`.
    pub fn priority(&self, severity: Severity, criticality: Criticality) -> Priority {
        let row = match severity {
            Severity::Major => &self.major,
            Severity::General => &self.general,
            Severity::Warning => &self.warning,
        };
        match criticality {
            Criticality::Critical => row.critical,
            Criticality::High => row.high,
            Criticality::Medium => row.medium,
            Criticality::Low => row.low,
        }
    }
}

/// One row of the priority matrix.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRow {
    /// On a CI of criticality `critical`.
    pub critical: Priority,
    /// On a CI of criticality `high`.
    pub high: Priority,
    /// On a CI of criticality `medium` (also when none is set).
    pub medium: Priority,
    /// On a CI of criticality `low`.
    pub low: Priority,
}

/// `[incidents.topology]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopologyConfig {
    /// Attach incidents on dependent CIs to an open incident of the CI they
    /// depend on, instead of opening them as separate top-level incidents.
    pub enabled: bool,
    /// Relation kinds whose target counts as the parent of the CI (default
    /// `depends_on`, `connected_to`, `runs_on`: a service's incident joins
    /// its host's).
    pub relations: Vec<String>,
    /// When a parent's incident opens after its dependents' (the dependents
    /// noticed first), top-level incidents on dependents opened this
    /// recently are attached to it too.
    #[serde(with = "humantime_serde")]
    pub attach_window: Duration,
    /// Children still open this long after their parent resolved are
    /// detached and worked on their own (their SLA clock starts then).
    #[serde(with = "humantime_serde")]
    pub detach_after: Duration,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            relations: vec!["depends_on".into(), "connected_to".into(), "runs_on".into()],
            attach_window: Duration::from_secs(300),
            detach_after: Duration::from_secs(300),
        }
    }
}

impl IncidentConfig {
    /// Every problem, each naming its key (relative to `incidents.`).
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.value_update_interval.is_zero() {
            p.push("incidents.value_update_interval: must be greater than 0".into());
        }
        if self.condition_stale_after.is_zero() {
            p.push("incidents.condition_stale_after: must be greater than 0".into());
        }
        if let Err(problems) = self.sla.validate("incidents.sla") {
            p.extend(problems);
        }
        for r in &self.topology.relations {
            if !RELATION_KINDS.contains(&r.as_str()) {
                p.push(format!(
                    "incidents.topology.relations: unknown relation {r:?} (use {})",
                    RELATION_KINDS.join(", ")
                ));
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<IncidentConfig, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_follow_design() {
        let c = parse("").unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.reopen_window, Duration::from_secs(3600));
        let major = c.sla.targets(Severity::Major).unwrap();
        assert_eq!(major.respond, Duration::from_secs(600));
        assert_eq!(major.resolve, Duration::from_secs(4 * 3600));
        assert!(c.sla.targets(Severity::Warning).is_none());
        assert_eq!(
            c.priority_matrix
                .priority(Severity::Major, Criticality::Critical),
            Priority::P1
        );
        assert_eq!(
            c.priority_matrix
                .priority(Severity::General, Criticality::Medium),
            Priority::P3
        );
        assert_eq!(
            c.priority_matrix
                .priority(Severity::Warning, Criticality::Low),
            Priority::P4
        );
        assert_eq!(
            c.topology.relations,
            ["depends_on", "connected_to", "runs_on"]
        );
    }

    #[test]
    fn parses_overrides() {
        let c = parse(
            r#"
            reopen_window = "30m"
            [sla]
            general = false
            [sla.major]
            respond = "5m"
            assign = "30m"
            resolve = "2h"
            coverage = "24x7"
            [priority_matrix.warning]
            critical = "P2"
            high = "P3"
            medium = "P4"
            low = "P4"
            [topology]
            relations = ["runs_on"]
            "#,
        )
        .unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.reopen_window, Duration::from_secs(1800));
        assert_eq!(
            c.sla.targets(Severity::Major).unwrap().resolve,
            Duration::from_secs(7200)
        );
        assert!(c.sla.targets(Severity::General).is_none());
        assert_eq!(
            c.priority_matrix
                .priority(Severity::Warning, Criticality::Critical),
            Priority::P2
        );
        assert_eq!(c.topology.relations, vec!["runs_on".to_string()]);
    }

    #[test]
    fn rejects_bad_values_naming_keys() {
        assert!(parse("bogus = 1").unwrap_err().contains("bogus"));
        assert!(
            parse("[priority_matrix.major]\ncritical = \"P1\"")
                .unwrap_err()
                .contains("high")
        );
        assert!(parse("[priority_matrix.major]\ncritical = \"P0\"").is_err());
        assert!(parse("reopen_window = \"soon\"").is_err());
        let c = parse(
            r#"
            value_update_interval = "0s"
            [sla.major]
            respond = "5h"
            assign = "1h"
            resolve = "4h"
            coverage = "24x7"
            [topology]
            relations = ["likes"]
            "#,
        )
        .unwrap();
        let problems = c.validate();
        for key in [
            "incidents.value_update_interval",
            "incidents.sla.major.respond",
            "incidents.topology.relations",
        ] {
            assert!(
                problems.iter().any(|p| p.starts_with(key)),
                "{key} missing in {problems:?}"
            );
        }
    }
}
