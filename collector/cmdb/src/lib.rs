//! CMDB: configuration items, their attribute change history and relations.
//!
//! Agents (and the SNMP polls and service checks they run) own the attributes
//! they discover; people own the rest (location, owner, criticality…). An
//! update from a source only
//! touches the attributes that source owns, and every change is recorded with
//! the old and new value, the time and the source.

mod devices;
mod edit;
mod error;
mod events;
mod inventory;
mod services;
#[cfg(test)]
mod testutil;

pub use devices::{DEVICE_ATTRIBUTES, DeviceOutcome, DeviceUpdate, Neighbour, match_neighbour};
pub use edit::{CI_CLASSES, CRITICALITIES, RELATION_KINDS, check_id};
pub use error::CmdbError;
pub use events::EVENT_KINDS;
pub use inventory::{AGENT_ATTRIBUTES, inventory_attributes};
pub use services::{SERVICE_ATTRIBUTES, SERVICE_CLASSES, is_service_class};
pub use tocsin_model::ci::DeviceEventRecord;
pub use tocsin_model::ci::{Change, Ci, CiDetail, Relation};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use parking_lot::Mutex;
use serde_json::Value;

use tocsin_model::time::{now_ms, rfc3339};
use tocsin_storage::{Cf, Db, StorageError, keys};

/// See the module docs.
pub struct Cmdb {
    db: Arc<Db>,
    write: Mutex<()>,
    /// Disambiguates change records written in the same millisecond.
    change_counter: AtomicU32,
}

impl Cmdb {
    /// A CMDB stored in `db`.
    pub fn new(db: Arc<Db>) -> Self {
        Self {
            db,
            write: Mutex::new(()),
            change_counter: AtomicU32::new(0),
        }
    }

    /// Creates the CI or updates the attributes `owned` by `source`, recording
    /// every change. Returns the number of attribute changes recorded.
    pub fn upsert(
        &self,
        id: &str,
        class: &str,
        name: &str,
        attributes: BTreeMap<String, Value>,
        owned: &[&str],
        source: &str,
    ) -> Result<usize, StorageError> {
        let _guard = self.write.lock();
        let now = now_ms();
        let existing = self.get_ci(id)?;
        let created = existing.is_none();
        let mut ci = existing.unwrap_or_else(|| Ci {
            id: id.to_string(),
            class: class.to_string(),
            name: name.to_string(),
            attributes: BTreeMap::new(),
            created_at: rfc3339(now),
            updated_at: rfc3339(now),
        });
        let mut changes = Vec::new();
        for key in owned {
            let old = ci.attributes.get(*key).cloned();
            let new = attributes.get(*key).cloned();
            if old == new {
                continue;
            }
            diff_attribute(key, old.as_ref(), new.as_ref(), &mut changes);
            match new {
                Some(v) => ci.attributes.insert(key.to_string(), v),
                None => ci.attributes.remove(*key),
            };
        }
        if ci.name != name && !name.is_empty() {
            changes.push((
                "name".to_string(),
                Some(Value::from(ci.name.clone())),
                Some(Value::from(name)),
            ));
            ci.name = name.to_string();
        }
        if changes.is_empty() && !created {
            return Ok(0);
        }
        ci.updated_at = rfc3339(now);
        let mut batch = self.db.tx();
        let cf = Cf::Cmdb;
        batch.put(cf, keys::ci(id), serde_json::to_vec(&ci).map_err(corrupt)?);
        for (attribute, old, new) in &changes {
            let change = Change {
                at: rfc3339(now),
                attribute: attribute.clone(),
                old: old.clone().unwrap_or(Value::Null),
                new: new.clone().unwrap_or(Value::Null),
                source: source.to_string(),
            };
            let counter = self.change_counter.fetch_add(1, Ordering::Relaxed);
            batch.put(
                cf,
                keys::ci_change(id, now, counter),
                serde_json::to_vec(&change).map_err(corrupt)?,
            );
        }
        self.db.write(batch, true)?;
        tracing::info!(
            ci = id,
            changes = changes.len(),
            created,
            source,
            "CI updated"
        );
        Ok(changes.len())
    }

    /// One CI record.
    pub fn get_ci(&self, id: &str) -> Result<Option<Ci>, StorageError> {
        self.db
            .get(Cf::Cmdb, &keys::ci(id))?
            .map(|v| serde_json::from_slice(&v).map_err(corrupt))
            .transpose()
    }

    /// All CIs, ordered by id.
    pub fn list(&self) -> Result<Vec<Ci>, StorageError> {
        let mut out = Vec::new();
        for item in self.db.iter_prefix(Cf::Cmdb, &[keys::CI]) {
            let (key, value) = item?;
            keys::decode_ci(&key)?;
            out.push(serde_json::from_slice(&value).map_err(corrupt)?);
        }
        Ok(out)
    }

    /// A CI with its relations and change history.
    pub fn detail(&self, id: &str) -> Result<Option<CiDetail>, StorageError> {
        let Some(ci) = self.get_ci(id)? else {
            return Ok(None);
        };
        let mut changes = Vec::new();
        let prefix = keys::ci_change_prefix(id);
        for item in self.db.iter_prefix(Cf::Cmdb, &prefix) {
            let (key, value) = item?;
            keys::decode_ci_change(&key)?;
            changes.push(serde_json::from_slice(&value).map_err(corrupt)?);
        }
        let mut relations = Vec::new();
        let prefix = keys::ci_relation_prefix(id);
        for item in self.db.iter_prefix(Cf::Cmdb, &prefix) {
            let (key, value) = item?;
            let (_, kind, target) = keys::decode_ci_relation(&key)?;
            let created_at = serde_json::from_slice::<String>(&value).map_err(corrupt)?;
            relations.push(Relation {
                kind,
                target,
                created_at,
            });
        }
        Ok(Some(CiDetail {
            ci,
            relations,
            changes,
        }))
    }
}

/// Records one change per attribute; object-valued attributes (installed
/// software) get one change per member, so a package upgrade reads as such.
fn diff_attribute(
    key: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    out: &mut Vec<(String, Option<Value>, Option<Value>)>,
) {
    if let (Some(Value::Object(o)), Some(Value::Object(n))) = (old, new) {
        for (k, nv) in n {
            if o.get(k) != Some(nv) {
                out.push((format!("{key}.{k}"), o.get(k).cloned(), Some(nv.clone())));
            }
        }
        for (k, ov) in o.iter().filter(|(k, _)| !n.contains_key(*k)) {
            out.push((format!("{key}.{k}"), Some(ov.clone()), None));
        }
        return;
    }
    out.push((key.to_string(), old.cloned(), new.cloned()));
}

fn corrupt(e: serde_json::Error) -> StorageError {
    StorageError::Corrupt(format!("CMDB record: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn records_changes_and_keeps_attributes_of_other_owners() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let cmdb = Cmdb::new(db.clone());
        let owned = ["os_version", "software"];
        let first =
            attrs(json!({"os_version": "12", "software": {"nginx": "1.22", "curl": "7.88"}}));
        cmdb.upsert("h1", "host", "web01", first, &owned, "agent:a")
            .unwrap();
        cmdb.upsert(
            "h1",
            "host",
            "web01",
            attrs(json!({"location": "DC1"})),
            &["location"],
            "user:ops",
        )
        .unwrap();
        let second = attrs(json!({"os_version": "13", "software": {"nginx": "1.24", "zsh": "5"}}));
        let n = cmdb
            .upsert("h1", "host", "web01", second.clone(), &owned, "agent:a")
            .unwrap();
        assert_eq!(n, 4, "os_version, nginx upgrade, zsh added, curl removed");
        assert_eq!(
            cmdb.upsert("h1", "host", "web01", second, &owned, "agent:a")
                .unwrap(),
            0
        );
        drop(cmdb);
        drop(db);

        let db = Arc::new(Db::open(dir.path()).unwrap());
        let d = Cmdb::new(db).detail("h1").unwrap().unwrap();
        assert_eq!(
            d.ci.attributes["location"],
            json!("DC1"),
            "agent updates must not erase people's attributes"
        );
        assert_eq!(d.ci.attributes["os_version"], json!("13"));
        let upgrade = d
            .changes
            .iter()
            .find(|c| c.attribute == "software.nginx" && c.new == json!("1.24"))
            .unwrap();
        assert_eq!(upgrade.old, json!("1.22"));
        assert_eq!(upgrade.source, "agent:a");
        assert!(
            d.changes
                .iter()
                .any(|c| c.attribute == "software.curl" && c.new.is_null())
        );
        assert!(
            d.changes
                .iter()
                .any(|c| c.attribute == "location" && c.source == "user:ops")
        );
    }
}
