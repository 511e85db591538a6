//! Tests of the incident manager on a real RocksDB and a real CMDB.

mod actions;
mod criticality;
mod events;
mod sla;
mod topology;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{IncidentConfig, IncidentDetail, IncidentManager};
use tocsin_cmdb::Cmdb;
use tocsin_model::event::{EventKind, RuleEvent, Severity, dedup_key};
use tocsin_model::incident::TimelineKind;
use tocsin_model::time::ManualClock;
use tocsin_storage::Db;

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000;
pub const MIN: i64 = 60_000;

/// A manager on a temporary store with a hand-driven clock.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub db: Arc<Db>,
    pub cmdb: Arc<Cmdb>,
    pub clock: ManualClock,
    pub config: IncidentConfig,
    pub mgr: IncidentManager,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_config(IncidentConfig::default())
    }

    pub fn with_config(config: IncidentConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let cmdb = Arc::new(Cmdb::new(db.clone()));
        let clock = ManualClock::new(T0);
        let mgr = Self::manager(&db, &cmdb, &clock, &config);
        Self {
            _dir: dir,
            db,
            cmdb,
            clock,
            config,
            mgr,
        }
    }

    fn manager(
        db: &Arc<Db>,
        cmdb: &Arc<Cmdb>,
        clock: &ManualClock,
        config: &IncidentConfig,
    ) -> IncidentManager {
        IncidentManager::open_with_clock(db.clone(), cmdb.clone(), config.clone(), clock.clock())
            .unwrap()
    }

    /// Opens a new manager on the same store, configured by `setup`.
    pub fn rebuild(&mut self, setup: impl FnOnce(IncidentManager) -> IncidentManager) {
        self.mgr = setup(Self::manager(
            &self.db,
            &self.cmdb,
            &self.clock,
            &self.config,
        ));
    }

    /// Drops the manager (without flushing) and opens a new one on the same store.
    pub fn restart(&mut self) {
        self.mgr = Self::manager(&self.db, &self.cmdb, &self.clock, &self.config);
    }

    pub fn advance(&self, ms: i64) -> i64 {
        self.clock.advance(ms)
    }

    /// Creates a host CI with people's attributes.
    pub fn host(&self, id: &str, attributes: Value) {
        let attributes: BTreeMap<String, Value> = serde_json::from_value(attributes).unwrap();
        let owned: Vec<&str> = attributes.keys().map(String::as_str).collect();
        self.cmdb
            .upsert(id, "host", id, attributes.clone(), &owned, "test")
            .unwrap();
    }

    pub fn handle(&self, events: Vec<RuleEvent>) {
        self.mgr.handle(events).unwrap();
    }

    pub fn get(&self, id: u64) -> IncidentDetail {
        self.mgr.get(id).unwrap()
    }

    pub fn kinds(&self, id: u64) -> Vec<TimelineKind> {
        self.get(id).timeline.iter().map(|e| e.kind).collect()
    }
}

fn event(rule: &str, ci: &str, at_ms: i64, kind: EventKind) -> RuleEvent {
    let object = vec![("mountpoint".to_string(), "/".to_string())];
    RuleEvent {
        rule: rule.into(),
        ci_id: ci.into(),
        key: dedup_key(rule, ci, &object),
        object,
        at_ms,
        kind,
    }
}

/// A breaching sample of rule `disk_full` on `ci`.
pub fn firing(ci: &str, severity: Severity, value: f64) -> RuleEvent {
    let threshold = match severity {
        Severity::Warning => 80.0,
        Severity::General => 90.0,
        Severity::Major => 95.0,
    };
    event(
        "disk_full",
        ci,
        T0,
        EventKind::Firing {
            severity,
            value,
            threshold,
            critical_severity: None,
            title: format!("{ci}: / is {value}% full"),
            description: "filesystem filling up".into(),
        },
    )
}

/// The recovery of rule `disk_full` on `ci`.
pub fn resolved(ci: &str, value: f64) -> RuleEvent {
    event("disk_full", ci, T0, EventKind::Resolved { value })
}

/// A flapping report of rule `disk_full` on `ci`.
pub fn flapping(ci: &str, flapping: bool, transitions: u32) -> RuleEvent {
    event(
        "disk_full",
        ci,
        T0,
        EventKind::Flapping {
            flapping,
            transitions,
        },
    )
}

/// A breaching sample of another rule.
pub fn firing_rule(rule: &str, ci: &str, severity: Severity) -> RuleEvent {
    let mut e = firing(ci, severity, 99.0);
    e.rule = rule.into();
    e.key = dedup_key(rule, ci, &e.object);
    e
}

#[test]
fn json_shape_is_stable() {
    let f = Fixture::new();
    f.host("h1", json!({"location": "DC1"}));
    f.handle(vec![firing("h1", Severity::Major, 97.0)]);
    let v = serde_json::to_value(f.get(1)).unwrap();
    for key in [
        "id",
        "key",
        "rule",
        "ci_id",
        "ci",
        "object",
        "title",
        "status",
        "severity",
        "priority",
        "opened_at",
        "acknowledged_at",
        "assigned_to",
        "resolved_at",
        "closed_at",
        "last_value",
        "peak_value",
        "threshold",
        "occurrences",
        "reopen_count",
        "flapping",
        "tier",
        "parent_id",
        "suppressed",
        "problem_id",
        "sla",
        "timeline",
        "children",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {v}");
    }
    assert_eq!(v["opened_at"], json!("2023-11-14T22:13:20.000Z"));
    assert_eq!(v["object"], json!({"mountpoint": "/"}));
    assert_eq!(v["status"], json!("open"));
    assert_eq!(v["severity"], json!("major"));
    assert_eq!(
        v["sla"]["respond"]["due_at"],
        json!("2023-11-14T22:23:20.000Z")
    );
    assert_eq!(v["sla"]["respond"]["target"], json!("10m"));
    assert_eq!(v["sla"]["coverage"], json!("24x7"));
    assert_eq!(v["timeline"][0]["kind"], json!("opened"));
    assert_eq!(v["ci"]["location"], json!("DC1"));
}

#[test]
fn manager_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<IncidentManager>();
}
