//! Changes people make to the CMDB: CIs created by hand, attributes that
//! agents cannot discover (location, owner, criticality…), and relations.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{AGENT_ATTRIBUTES, Ci, Cmdb};
use crate::error::CmdbError;
use tocsin_model::time::{now_ms, rfc3339};
use tocsin_storage::{Cf, keys};

/// Relation kinds (DESIGN.md): used for impact and for suppressing incidents
/// downstream of a failed parent.
pub const RELATION_KINDS: &[&str] = &["runs_on", "connected_to", "depends_on"];

/// CI classes that may be created by hand.
pub const CI_CLASSES: &[&str] = &[
    "host",
    "switch",
    "router",
    "firewall",
    "load_balancer",
    "vpn",
    "waf",
    "storage",
    "san_switch",
    "nas",
    "ups",
    "environment",
    "application",
    "database",
    "service",
    "terminal",
    "wireless",
    "printer",
    "server",
    "other",
];

/// Accepted values of the `criticality` attribute (default medium).
pub const CRITICALITIES: &[&str] = &["low", "medium", "high", "critical"];

/// Checks a CI id (also used for agent ids): 1-128 characters of `[A-Za-z0-9._:-]`.
pub fn check_id(what: &str, id: &str) -> Result<(), CmdbError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(CmdbError::Invalid(format!(
            "{what}: {id:?} must be 1-128 characters of [A-Za-z0-9._:-]"
        )))
    }
}

/// Whether `value` is one of [`CRITICALITIES`].
pub(super) fn valid_criticality(value: &Value) -> bool {
    value.as_str().is_some_and(|v| CRITICALITIES.contains(&v))
}

fn check_attributes(attributes: &BTreeMap<String, Value>) -> Result<(), CmdbError> {
    for (name, value) in attributes {
        let valid_name = name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(CmdbError::Invalid(format!(
                "attributes: invalid name {name:?} (use [a-z][a-z0-9_]*)"
            )));
        }
        if AGENT_ATTRIBUTES.contains(&name.as_str()) {
            return Err(CmdbError::Invalid(format!(
                "attributes.{name}: discovered by the agent; it cannot be set by hand"
            )));
        }
        if name == "criticality" && !value.is_null() && !valid_criticality(value) {
            return Err(CmdbError::Invalid(format!(
                "attributes.criticality: must be one of {}, got {value}",
                CRITICALITIES.join(", ")
            )));
        }
    }
    Ok(())
}

impl Cmdb {
    /// Creates a CI by hand (an application, a device no poller reaches yet…).
    pub fn create(
        &self,
        id: &str,
        class: &str,
        name: &str,
        attributes: BTreeMap<String, Value>,
        actor: &str,
    ) -> Result<Ci, CmdbError> {
        check_id("id", id)?;
        if !CI_CLASSES.contains(&class) {
            return Err(CmdbError::Invalid(format!(
                "class: must be one of {}, got {class:?}",
                CI_CLASSES.join(", ")
            )));
        }
        if name.trim().is_empty() {
            return Err(CmdbError::Invalid("name: must not be empty".into()));
        }
        check_attributes(&attributes)?;
        if self.get_ci(id)?.is_some() {
            return Err(CmdbError::Invalid(format!(
                "id: a CI with id {id} already exists"
            )));
        }
        let owned: Vec<&str> = attributes.keys().map(String::as_str).collect();
        self.upsert(
            id,
            class,
            name,
            attributes.clone(),
            &owned,
            &format!("user:{actor}"),
        )?;
        self.get_ci(id)?
            .ok_or_else(|| CmdbError::NotFound(format!("no CI with id {id}")))
    }

    /// Sets (or, with `null`, removes) attributes people own; agent-discovered
    /// attributes are refused. Every change is recorded with `user:<actor>`.
    pub fn set_attributes(
        &self,
        id: &str,
        attributes: BTreeMap<String, Value>,
        actor: &str,
    ) -> Result<Ci, CmdbError> {
        check_attributes(&attributes)?;
        let ci = self
            .get_ci(id)?
            .ok_or_else(|| CmdbError::NotFound(format!("no CI with id {id}")))?;
        let owned: Vec<&str> = attributes.keys().map(String::as_str).collect();
        let present: BTreeMap<String, Value> = attributes
            .clone()
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .collect();
        self.upsert(
            id,
            &ci.class,
            &ci.name,
            present,
            &owned,
            &format!("user:{actor}"),
        )?;
        self.get_ci(id)?
            .ok_or_else(|| CmdbError::NotFound(format!("no CI with id {id}")))
    }

    /// Adds a relation `id --kind--> target`, recorded in the CI's history.
    pub fn add_relation(
        &self,
        id: &str,
        kind: &str,
        target: &str,
        actor: &str,
    ) -> Result<(), CmdbError> {
        self.set_relation(id, kind, target, &format!("user:{actor}"), true)?;
        Ok(())
    }

    /// Removes a relation, recorded in the CI's history.
    pub fn remove_relation(
        &self,
        id: &str,
        kind: &str,
        target: &str,
        actor: &str,
    ) -> Result<(), CmdbError> {
        if self.set_relation(id, kind, target, &format!("user:{actor}"), false)? {
            Ok(())
        } else {
            Err(CmdbError::NotFound(format!(
                "no relation {id} {kind} {target}"
            )))
        }
    }

    /// Adds or removes a relation on behalf of `source` (`user:<actor>`,
    /// `snmp:<agent>`), recorded in the CI's history. Returns whether anything
    /// changed: adding an existing relation or removing a missing one is a no-op.
    pub fn set_relation(
        &self,
        id: &str,
        kind: &str,
        target: &str,
        source: &str,
        add: bool,
    ) -> Result<bool, CmdbError> {
        if !RELATION_KINDS.contains(&kind) {
            return Err(CmdbError::Invalid(format!(
                "kind: must be one of {}, got {kind:?}",
                RELATION_KINDS.join(", ")
            )));
        }
        if id == target {
            return Err(CmdbError::Invalid(
                "target: a CI cannot relate to itself".into(),
            ));
        }
        for ci in [id, target] {
            if self.get_ci(ci)?.is_none() {
                return Err(CmdbError::NotFound(format!("no CI with id {ci}")));
            }
        }
        let _guard = self.write.lock();
        let key = keys::ci_relation(id, kind, target);
        let exists = self.db.get(Cf::Cmdb, &key)?.is_some();
        if exists == add {
            return Ok(false);
        }
        let now = now_ms();
        let cf = Cf::Cmdb;
        let mut batch = self.db.tx();
        let (old, new) = if add {
            batch.put(
                cf,
                &key,
                serde_json::to_vec(&rfc3339(now)).unwrap_or_default(),
            );
            (Value::Null, Value::from(target))
        } else {
            batch.delete(cf, &key);
            (Value::from(target), Value::Null)
        };
        let change = super::Change {
            at: rfc3339(now),
            attribute: format!("relation.{kind}"),
            old,
            new,
            source: source.to_string(),
        };
        let counter = self
            .change_counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        batch.put(
            cf,
            keys::ci_change(id, now, counter),
            serde_json::to_vec(&change).unwrap_or_default(),
        );
        self.db.write(batch, true)?;
        tracing::info!(ci = id, kind, target, add, source, "CI relation changed");
        Ok(true)
    }

    /// CIs this CI runs on, depends on or is connected to (its possible
    /// root causes): the targets of all its relations.
    pub fn parents(&self, id: &str) -> Result<Vec<String>, CmdbError> {
        let Some(detail) = self.detail(id)? else {
            return Ok(Vec::new());
        };
        let mut out: Vec<String> = Vec::new();
        for r in detail.relations {
            if RELATION_KINDS.contains(&r.kind.as_str()) && !out.contains(&r.target) {
                out.push(r.target);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Arc;

    fn cmdb() -> (tempfile::TempDir, Cmdb) {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(tocsin_storage::Db::open(dir.path()).unwrap());
        (dir, Cmdb::new(db))
    }

    fn attrs(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn people_set_their_attributes_not_the_agents() {
        let (_d, c) = cmdb();
        c.create(
            "sw1",
            "switch",
            "core-sw-1",
            attrs(json!({"location": "DC1"})),
            "ops",
        )
        .unwrap();
        let ci = c
            .set_attributes(
                "sw1",
                attrs(json!({"criticality": "critical", "location": null})),
                "ops",
            )
            .unwrap();
        assert_eq!(ci.attributes.get("criticality"), Some(&json!("critical")));
        assert!(!ci.attributes.contains_key("location"));
        let err = c
            .set_attributes("sw1", attrs(json!({"hostname": "x"})), "ops")
            .unwrap_err();
        assert!(err.to_string().contains("attributes.hostname"), "{err}");
        let err = c
            .set_attributes("sw1", attrs(json!({"criticality": "urgent"})), "ops")
            .unwrap_err();
        assert!(err.to_string().contains("attributes.criticality"), "{err}");
        assert!(matches!(
            c.set_attributes("nope", attrs(json!({})), "ops"),
            Err(CmdbError::NotFound(_))
        ));
        let d = c.detail("sw1").unwrap().unwrap();
        assert!(
            d.changes.iter().any(|ch| ch.attribute == "location"
                && ch.new.is_null()
                && ch.source == "user:ops")
        );
    }

    #[test]
    fn relations_are_validated_recorded_and_removable() {
        let (_d, c) = cmdb();
        c.create("h1", "host", "web01", BTreeMap::new(), "ops")
            .unwrap();
        c.create("sw1", "switch", "core", BTreeMap::new(), "ops")
            .unwrap();
        c.add_relation("h1", "depends_on", "sw1", "ops").unwrap();
        c.add_relation("h1", "depends_on", "sw1", "ops").unwrap();
        assert_eq!(c.parents("h1").unwrap(), vec!["sw1".to_string()]);
        assert!(
            c.add_relation("h1", "likes", "sw1", "ops")
                .unwrap_err()
                .to_string()
                .contains("kind")
        );
        assert!(matches!(
            c.add_relation("h1", "runs_on", "ghost", "ops"),
            Err(CmdbError::NotFound(_))
        ));
        assert!(c.add_relation("h1", "runs_on", "h1", "ops").is_err());
        c.create("app", "application", "shop", BTreeMap::new(), "ops")
            .unwrap();
        c.add_relation("app", "runs_on", "h1", "ops").unwrap();
        c.add_relation("app", "depends_on", "h1", "ops").unwrap();
        assert_eq!(c.parents("app").unwrap(), vec!["h1".to_string()]);
        c.remove_relation("h1", "depends_on", "sw1", "ops").unwrap();
        assert!(c.parents("h1").unwrap().is_empty());
        let d = c.detail("h1").unwrap().unwrap();
        assert_eq!(
            d.changes
                .iter()
                .filter(|ch| ch.attribute == "relation.depends_on")
                .count(),
            2
        );
        assert!(
            c.create("h1", "host", "again", BTreeMap::new(), "ops")
                .is_err(),
            "duplicate id"
        );
        assert!(
            c.create("x", "toaster", "t", BTreeMap::new(), "ops")
                .unwrap_err()
                .to_string()
                .contains("class")
        );
    }
}
