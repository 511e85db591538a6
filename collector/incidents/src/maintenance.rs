//! Maintenance windows: a CI (or every CI of a class) is under planned work
//! from a start to an end, for a reason (e.g. an approved change). Incidents
//! that open (or reopen) inside a window are recorded as suppressed: not
//! notified and not counted against the SLA. When the window ends (or is
//! deleted) while such an incident is still open, the manager's next `tick`
//! lifts the suppression and its SLA clock starts then.
//!
//! Windows are few, so all of them are kept in memory (loaded at open) and
//! every change is written through to the `incidents` column family. Times
//! are Unix ms in Rust and RFC 3339 text in JSON (any UTC offset on input).

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use thiserror::Error;

pub use tocsin_model::maintenance::{MaintenanceWindow, NewWindow};
use tocsin_model::time::Clock;
use tocsin_storage::{Cf, Db, StorageError, keys};

/// Longest window accepted: 30 days.
pub const MAX_WINDOW_MS: i64 = 30 * 86_400_000;
const MAX_TEXT: usize = 1024;
const MAX_ID: usize = 256;

/// Errors of maintenance window operations.
#[derive(Debug, Error)]
pub enum MaintenanceError {
    /// The request is invalid; the message names every offending field.
    #[error("{0}")]
    Invalid(String),
    /// No window has this id.
    #[error("no maintenance window with id {0}")]
    NotFound(u64),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl tocsin_model::Kinded for MaintenanceError {
    fn kind(&self) -> tocsin_model::ErrorKind {
        match self {
            MaintenanceError::Invalid(_) => tocsin_model::ErrorKind::Invalid,
            MaintenanceError::NotFound(_) => tocsin_model::ErrorKind::NotFound,
            MaintenanceError::Storage(e) => tocsin_model::Kinded::kind(e),
        }
    }
}

/// Checks every field of `new` at `now`, returning the window (trimmed) or every problem.
fn check(new: NewWindow, id: u64, now: i64) -> Result<MaintenanceWindow, MaintenanceError> {
    let mut p = Vec::new();
    let mut text = |key: &str, v: Option<String>, max: usize| {
        let v = v.map(|v| v.trim().to_string());
        match &v {
            Some(s) if s.is_empty() => p.push(format!("{key}: must not be empty")),
            Some(s) if s.chars().count() > max => {
                p.push(format!("{key}: must be at most {max} characters"))
            }
            Some(s) if s.chars().any(char::is_control) => {
                p.push(format!("{key}: must not contain control characters"))
            }
            _ => {}
        }
        v
    };
    let ci_id = text("ci_id", new.ci_id, MAX_ID);
    let ci_class = text("ci_class", new.ci_class, MAX_ID);
    let reason = text("reason", Some(new.reason), MAX_TEXT).unwrap_or_default();
    let created_by = text("created_by", Some(new.created_by), MAX_ID).unwrap_or_default();
    if ci_id.is_none() && ci_class.is_none() {
        p.push("ci_id, ci_class: give at least one".into());
    }
    if let Some(class) = &ci_class
        && !class.is_empty()
        && !tocsin_cmdb::CI_CLASSES.contains(&class.as_str())
    {
        p.push(format!(
            "ci_class: must be one of {}, got {class:?}",
            tocsin_cmdb::CI_CLASSES.join(", ")
        ));
    }
    if new.ends_at <= new.starts_at {
        p.push("ends_at: must be after starts_at".into());
    } else if new.ends_at - new.starts_at > MAX_WINDOW_MS {
        p.push("ends_at: a window may last at most 30 days".into());
    }
    if new.ends_at <= now {
        p.push("ends_at: must be in the future".into());
    }
    if !p.is_empty() {
        return Err(MaintenanceError::Invalid(p.join("; ")));
    }
    Ok(MaintenanceWindow {
        id,
        ci_id,
        ci_class,
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        reason,
        created_by,
        created_at: now,
    })
}

/// See the module docs.
pub struct MaintenanceStore {
    db: Arc<Db>,
    /// All windows by id; the write lock is held across the RocksDB write.
    windows: RwLock<BTreeMap<u64, MaintenanceWindow>>,
    /// Stamps new windows and tells which have ended.
    clock: Clock,
}

impl MaintenanceStore {
    /// Loads every stored window.
    pub fn open(db: Arc<Db>) -> Result<Self, StorageError> {
        Self::open_with_clock(db, Clock::system())
    }

    /// [`open`](Self::open) with another wall clock (tests, simulations).
    pub fn open_with_clock(db: Arc<Db>, clock: Clock) -> Result<Self, StorageError> {
        let mut windows = BTreeMap::new();
        for item in db.iter_prefix(Cf::Incidents, &[keys::MAINTENANCE]) {
            let (key, value) = item?;
            let id = keys::decode_maintenance(&key)?;
            let w: MaintenanceWindow = serde_json::from_slice(&value)
                .map_err(|e| StorageError::Corrupt(format!("maintenance window {id}: {e}")))?;
            if w.id != id {
                return Err(StorageError::Corrupt(format!(
                    "maintenance window stored under id {id} has id {}",
                    w.id
                )));
            }
            windows.insert(id, w);
        }
        tracing::debug!(windows = windows.len(), "maintenance windows loaded");
        Ok(Self {
            db,
            windows: RwLock::new(windows),
            clock,
        })
    }

    /// Validates and stores a new window.
    pub fn add(&self, new: NewWindow) -> Result<MaintenanceWindow, MaintenanceError> {
        let mut windows = self.windows.write();
        let id = windows.last_key_value().map_or(1, |(id, _)| id + 1);
        let window = check(new, id, self.clock.now_ms())?;
        let mut batch = self.db.tx();
        let value = serde_json::to_vec(&window)
            .map_err(|e| StorageError::Corrupt(format!("maintenance window {id}: {e}")))?;
        batch.put(Cf::Incidents, keys::maintenance(id), value);
        self.db.write(batch, true)?;
        tracing::info!(
            id,
            ci_id = window.ci_id.as_deref(),
            ci_class = window.ci_class.as_deref(),
            created_by = %window.created_by,
            "maintenance window added"
        );
        windows.insert(id, window.clone());
        Ok(window)
    }

    /// Every window (past, current and future), by id.
    pub fn list(&self) -> Vec<MaintenanceWindow> {
        self.windows.read().values().cloned().collect()
    }

    /// One window.
    pub fn get(&self, id: u64) -> Option<MaintenanceWindow> {
        self.windows.read().get(&id).cloned()
    }

    /// Deletes a window, returning it.
    pub fn delete(&self, id: u64) -> Result<MaintenanceWindow, MaintenanceError> {
        let mut windows = self.windows.write();
        if !windows.contains_key(&id) {
            return Err(MaintenanceError::NotFound(id));
        }
        let mut batch = self.db.tx();
        batch.delete(Cf::Incidents, keys::maintenance(id));
        self.db.write(batch, true)?;
        tracing::info!(id, "maintenance window deleted");
        windows.remove(&id).ok_or(MaintenanceError::NotFound(id))
    }

    /// The window covering a CI of `ci_class` at `at_ms`; of several, the one
    /// ending last (then the lowest id).
    pub fn active_for(&self, ci_id: &str, ci_class: &str, at_ms: i64) -> Option<MaintenanceWindow> {
        self.windows
            .read()
            .values()
            .filter(|w| w.covers(ci_id, ci_class, at_ms))
            .min_by_key(|w| (std::cmp::Reverse(w.ends_at), w.id))
            .cloned()
    }
}

/// Suppresses incidents that open inside a window; the reason names the window.
impl super::hooks::Suppressor for MaintenanceStore {
    fn suppress(&self, ci_id: &str, ci_class: Option<&str>, at_ms: i64) -> Option<String> {
        self.active_for(ci_id, ci_class.unwrap_or(""), at_ms)
            .map(|w| format!("maintenance window {}: {}", w.id, w.reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::time::ManualClock;

    const HOUR: i64 = 3_600_000;
    /// 2023-11-14T22:13:20Z, the time of every test's clock.
    const NOW: i64 = 1_700_000_000_000;

    fn store(dir: &std::path::Path) -> MaintenanceStore {
        let clock = ManualClock::new(NOW).clock();
        MaintenanceStore::open_with_clock(Arc::new(Db::open(dir).unwrap()), clock).unwrap()
    }

    fn new(ci_id: Option<&str>, ci_class: Option<&str>, starts_at: i64, ends_at: i64) -> NewWindow {
        NewWindow {
            ci_id: ci_id.map(String::from),
            ci_class: ci_class.map(String::from),
            starts_at,
            ends_at,
            reason: "CHG-42 firmware upgrade".into(),
            created_by: "alice".into(),
        }
    }

    #[test]
    fn add_list_survive_restart_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let now = NOW;
        let (a, b) = {
            let s = store(dir.path());
            let a = s.add(new(Some("h1"), None, now, now + HOUR)).unwrap();
            let b = s
                .add(new(None, Some("switch"), now, now + 2 * HOUR))
                .unwrap();
            assert_eq!((a.id, b.id), (1, 2));
            assert_eq!(a.created_at, now);
            assert_eq!(s.list(), vec![a.clone(), b.clone()]);
            (a, b)
        };
        let s = store(dir.path());
        assert_eq!(s.list(), vec![a.clone(), b.clone()]);
        assert_eq!(s.get(2), Some(b.clone()));
        assert_eq!(s.delete(1).unwrap(), a);
        assert!(matches!(s.delete(1), Err(MaintenanceError::NotFound(1))));
        // Ids are not reused while a higher one exists, and deletion persists.
        assert_eq!(s.add(new(Some("h2"), None, now, now + HOUR)).unwrap().id, 3);
        drop(s);
        let s = store(dir.path());
        assert_eq!(
            s.list().iter().map(|w| w.id).collect::<Vec<_>>(),
            vec![2, 3]
        );
    }

    #[test]
    fn active_matches_ci_class_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let now = NOW;
        let (start, end) = (now + HOUR, now + 3 * HOUR);
        let by_ci = s.add(new(Some("h1"), None, start, end)).unwrap();
        let by_class = s.add(new(None, Some("switch"), start, end + HOUR)).unwrap();
        let both = s
            .add(new(Some("fw1"), Some("firewall"), start, end))
            .unwrap();

        assert_eq!(s.active_for("h1", "host", start), Some(by_ci.clone()));
        assert_eq!(s.active_for("h1", "host", end - 1), Some(by_ci.clone()));
        assert_eq!(s.active_for("h1", "host", start - 1), None);
        assert_eq!(s.active_for("h1", "host", end), None);
        assert_eq!(s.active_for("h2", "host", start), None);
        assert_eq!(s.active_for("sw9", "switch", end), Some(by_class.clone()));
        assert_eq!(s.active_for("fw1", "firewall", start), Some(both.clone()));
        assert_eq!(s.active_for("fw1", "host", start), None);
        assert_eq!(s.active_for("fw2", "firewall", start), None);
        // A CI matched by two windows gets the one that lasts longer.
        assert_eq!(s.active_for("h1", "switch", start), Some(by_class));
        s.delete(by_ci.id).unwrap();
        assert_eq!(s.active_for("h1", "host", start), None);
        // The manager's view: a window bound to a class needs the class.
        use crate::hooks::Suppressor;
        let reason = s.suppress("sw9", Some("switch"), start);
        assert_eq!(
            reason.as_deref(),
            Some("maintenance window 2: CHG-42 firmware upgrade")
        );
        assert_eq!(s.suppress("sw9", None, start), None);
        assert!(s.suppress("fw1", Some("firewall"), start).is_some());
    }

    #[test]
    fn validation_names_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let now = NOW;
        let invalid = |w: NewWindow| match s.add(w) {
            Err(MaintenanceError::Invalid(m)) => m,
            other => panic!("expected invalid, got {other:?}"),
        };
        let m = invalid(NewWindow {
            reason: "  ".into(),
            created_by: String::new(),
            ..new(None, None, now + HOUR, now + HOUR)
        });
        for key in [
            "reason:",
            "created_by:",
            "ci_id, ci_class:",
            "ends_at: must be after",
        ] {
            assert!(m.contains(key), "{key} in {m}");
        }
        let m = invalid(new(Some(""), Some("hots"), now, now + 31 * 24 * HOUR));
        for key in [
            "ci_id: must not be empty",
            "ci_class: must be one of",
            "at most 30 days",
        ] {
            assert!(m.contains(key), "{key} in {m}");
        }
        let m = invalid(new(Some("h1"), None, now - 2 * HOUR, now - HOUR));
        assert_eq!(m, "ends_at: must be in the future");
        assert!(s.list().is_empty());
        // Surrounding blanks are trimmed.
        let w = s
            .add(NewWindow {
                reason: " patch ".into(),
                ..new(Some(" h1 "), None, now, now + HOUR)
            })
            .unwrap();
        assert_eq!(
            (w.ci_id.as_deref(), w.reason.as_str()),
            (Some("h1"), "patch")
        );
    }

    #[test]
    fn json_uses_rfc3339_and_rejects_unknown_fields() {
        let w: NewWindow = serde_json::from_str(
            r#"{"ci_id":"h1","starts_at":"2024-05-03T18:00:00+08:00",
                "ends_at":"2024-05-03T12:00:00Z","reason":"r","created_by":"bob"}"#,
        )
        .unwrap();
        assert_eq!(w.ends_at - w.starts_at, 2 * HOUR);
        let mw = check(w, 1, 0).unwrap();
        let json = serde_json::to_value(&mw).unwrap();
        assert_eq!(json["starts_at"], "2024-05-03T10:00:00.000Z");
        assert!(json.get("ci_class").is_none());
        assert_eq!(
            serde_json::from_value::<MaintenanceWindow>(json).unwrap(),
            mw
        );
        assert!(serde_json::from_str::<NewWindow>(r#"{"ci":"h1"}"#).is_err());
        assert!(
            serde_json::from_str::<NewWindow>(
                r#"{"ci_id":"h1","starts_at":"tomorrow","ends_at":"2024-05-03T12:00:00Z","reason":"r"}"#
            )
            .is_err()
        );
    }
}
