//! Devices an agent polls by SNMP (switches, routers, storage…): their CI,
//! the attributes the poller owns, and the `connected_to` relations derived
//! from the neighbours the device sees over LLDP.
//!
//! LLDP relations point from the neighbour to the device that sees it (a
//! host depends on its switch port; two switches that see each other end up
//! related both ways, which topology suppression handles). The matched
//! neighbours are kept in the device's `lldp_neighbours` attribute, so a
//! neighbour that disappears shows in the change history and its relation is
//! removed again.
//!
//! The storing of a reported CI ([`Ownership`], `store_reported`,
//! `sync_relations`) is shared with the services an agent checks (`services.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{Ci, Cmdb};
use crate::error::CmdbError;

/// Attributes an SNMP poller owns on a device CI. When a poll was complete,
/// those absent from it are removed; `location` and `owner` are only touched
/// when the poller's configuration sets them (otherwise people own them).
pub const DEVICE_ATTRIBUTES: &[&str] = &[
    "sysName",
    "sysDescr",
    "sysObjectID",
    "sysContact",
    "sysLocation",
    "vendor",
    "model",
    "serial",
    "hardware_revision",
    "firmware_revision",
    "software_revision",
    "manufacturer",
    "chassis_descr",
    "management_ip",
    "interfaces",
    "poller",
    "lldp_neighbours",
];

/// How a device's poller owns its CI.
const DEVICE: Ownership = Ownership {
    owned: DEVICE_ATTRIBUTES,
    configured: &["location", "owner"],
    agent_attribute: "poller",
    source: "snmp",
};

/// The relation kind LLDP neighbours become.
const LLDP_RELATION: &str = "connected_to";

/// One LLDP neighbour as reported by the poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// The device's own port.
    pub local_port: String,
    /// The neighbour's system name.
    pub remote_sys_name: String,
    /// The neighbour's port.
    pub remote_port: String,
    /// The neighbour's chassis id (a MAC when it is one).
    pub remote_chassis_id: String,
}

/// What an agent reported about one CI besides its host: a device it polls
/// or a service it checks (see [`Cmdb::upsert_service`]).
#[derive(Debug, Clone)]
pub struct DeviceUpdate {
    /// CI id.
    pub id: String,
    /// CI class.
    pub class: String,
    /// Display name.
    pub name: String,
    /// Attributes (unknown names are dropped, see [`DEVICE_ATTRIBUTES`]).
    pub attributes: BTreeMap<String, Value>,
    /// Whether the report was complete (absent owned attributes are then removed).
    pub complete: bool,
    /// LLDP neighbours (devices only; used only when complete).
    pub neighbours: Vec<Neighbour>,
    /// The host a service runs on, as declared (services only; empty: none).
    pub runs_on: String,
    /// The agent that polls the device or checks the service.
    pub agent: String,
}

/// What [`Cmdb::upsert_device`] or [`Cmdb::upsert_service`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DeviceOutcome {
    /// Attribute changes recorded.
    pub changes: usize,
    /// Relations added (LLDP, runs_on).
    pub relations_added: usize,
    /// Relations removed (the neighbour is gone, runs_on changed).
    pub relations_removed: usize,
    /// Attribute names that were dropped as unknown.
    pub ignored: Vec<String>,
}

/// What the agent reporting a kind of CI (device, service) owns on it.
pub(super) struct Ownership {
    /// Attributes the agent owns: those absent from a complete report are removed.
    pub owned: &'static [&'static str],
    /// Attributes the agent sets only when its configuration names them
    /// (otherwise people own them): never removed by a report.
    pub configured: &'static [&'static str],
    /// The owned attribute that names the reporting agent.
    pub agent_attribute: &'static str,
    /// Change-record source prefix: changes are recorded as `<source>:<agent>`.
    pub source: &'static str,
}

impl Ownership {
    /// The change-record source for `agent`.
    pub(super) fn source(&self, agent: &str) -> String {
        format!("{}:{agent}", self.source)
    }

    /// The attributes of `reported` this kind of CI knows, with the agent's
    /// own; the names of the others are added to `ignored`.
    pub(super) fn attributes(
        &self,
        reported: BTreeMap<String, Value>,
        agent: &str,
        ignored: &mut Vec<String>,
    ) -> BTreeMap<String, Value> {
        let mut attributes = BTreeMap::new();
        for (k, v) in reported {
            if self.owned.contains(&k.as_str()) || self.configured.contains(&k.as_str()) {
                attributes.insert(k, v);
            } else {
                ignored.push(k);
            }
        }
        attributes.insert(self.agent_attribute.into(), Value::from(agent));
        attributes
    }
}

impl Cmdb {
    /// Creates or updates a polled device's CI and its LLDP relations.
    pub fn upsert_device(&self, mut update: DeviceUpdate) -> Result<DeviceOutcome, CmdbError> {
        let existing = self.get_ci(&update.id)?;
        let mut outcome = DeviceOutcome::default();
        let reported = std::mem::take(&mut update.attributes);
        let mut attributes = DEVICE.attributes(reported, &update.agent, &mut outcome.ignored);
        let old_targets = existing.as_ref().map(lldp_targets).unwrap_or_default();
        let mut new_targets = old_targets.clone();
        if update.complete {
            let all = self.list()?;
            let list = neighbour_list(&update.id, &update.neighbours, &all);
            new_targets = targets_of(&list);
            attributes.insert("lldp_neighbours".into(), list);
        }
        outcome.changes = self.store_reported(&update, existing.as_ref(), &DEVICE, attributes)?;
        // A neighbour depends on the device that sees it (its uplink).
        let changes = new_targets
            .difference(&old_targets)
            .map(|t| (t.as_str(), update.id.as_str(), true))
            .chain(
                old_targets
                    .difference(&new_targets)
                    .map(|t| (t.as_str(), update.id.as_str(), false)),
            );
        let source = DEVICE.source(&update.agent);
        self.sync_relations(LLDP_RELATION, &source, changes, &mut outcome)?;
        Ok(outcome)
    }

    /// Stores the attributes of a reported CI on behalf of its agent (all
    /// the owned ones when the report was complete, else those present). A
    /// CI that exists keeps its class (a hand-made one may be more precise).
    pub(super) fn store_reported(
        &self,
        update: &DeviceUpdate,
        existing: Option<&Ci>,
        ownership: &Ownership,
        attributes: BTreeMap<String, Value>,
    ) -> Result<usize, CmdbError> {
        let mut owned: Vec<&str> = attributes.keys().map(String::as_str).collect();
        if update.complete {
            owned.extend(ownership.owned.iter().copied());
            owned.sort_unstable();
            owned.dedup();
        }
        let class = existing.map_or(update.class.as_str(), |c| &c.class);
        let source = ownership.source(&update.agent);
        Ok(self.upsert(
            &update.id,
            class,
            &update.name,
            attributes.clone(),
            &owned,
            &source,
        )?)
    }

    /// Adds or removes relations `(from, to, add)` of `kind` on behalf of
    /// `source`, counting them in `outcome`. One relation that cannot change
    /// (its CI was deleted meanwhile) does not stop the others.
    pub(super) fn sync_relations<'a>(
        &self,
        kind: &str,
        source: &str,
        changes: impl IntoIterator<Item = (&'a str, &'a str, bool)>,
        outcome: &mut DeviceOutcome,
    ) -> Result<(), CmdbError> {
        for (from, to, add) in changes {
            match self.set_relation(from, kind, to, source, add) {
                Ok(true) if add => outcome.relations_added += 1,
                Ok(true) => outcome.relations_removed += 1,
                Ok(false) => {}
                Err(CmdbError::NotFound(why)) => {
                    tracing::debug!(from, to, kind, why, "relation skipped");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The CIs matched as neighbours in a device's stored `lldp_neighbours`.
fn lldp_targets(ci: &Ci) -> BTreeSet<String> {
    ci.attributes
        .get("lldp_neighbours")
        .map(targets_of)
        .unwrap_or_default()
}

fn targets_of(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.get("ci").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// The neighbours as an attribute value, each with the CI it was matched to
/// (or `null`), sorted so that an unchanged neighbour table is an unchanged value.
fn neighbour_list(device: &str, neighbours: &[Neighbour], cis: &[Ci]) -> Value {
    let mut rows: Vec<Value> = neighbours
        .iter()
        .map(|n| {
            let ci = match_neighbour(device, n, cis).map(|c| c.id.clone());
            json!({
                "local_port": n.local_port,
                "remote_sys_name": n.remote_sys_name,
                "remote_port": n.remote_port,
                "remote_chassis_id": n.remote_chassis_id,
                "ci": ci,
            })
        })
        .collect();
    rows.sort_by_key(|v| v.to_string());
    rows.dedup();
    Value::Array(rows)
}

/// The CI an LLDP neighbour is: a host or device with the chassis MAC, else
/// a device whose sysName or a host whose hostname/FQDN/name is the
/// advertised system name (compared case-insensitively, also without the domain).
pub fn match_neighbour<'a>(device: &str, n: &Neighbour, cis: &'a [Ci]) -> Option<&'a Ci> {
    let others = || cis.iter().filter(move |c| c.id != device);
    let mac = normalise_mac(&n.remote_chassis_id);
    if let Some(mac) = &mac
        && let Some(ci) = others().find(|c| has_mac(c, mac))
    {
        return Some(ci);
    }
    let wanted = n.remote_sys_name.trim();
    if wanted.is_empty() {
        return None;
    }
    others()
        .find(|c| {
            c.attributes.contains_key("poller")
                && c.attributes
                    .get("sysName")
                    .and_then(Value::as_str)
                    .is_some_and(|s| same_name(s, wanted))
        })
        .or_else(|| others().find(|c| known_as(c, wanted, same_name)))
}

/// Whether the CI's name, `hostname` or `fqdn` is `wanted` by `same`.
pub(super) fn known_as(ci: &Ci, wanted: &str, same: impl Fn(&str, &str) -> bool) -> bool {
    same(&ci.name, wanted)
        || ["hostname", "fqdn"].iter().any(|k| {
            ci.attributes
                .get(*k)
                .and_then(Value::as_str)
                .is_some_and(|s| same(s, wanted))
        })
}

/// Whether two host names are the same, ignoring case and the domain part.
pub(super) fn same_name(a: &str, b: &str) -> bool {
    let short = |s: &str| s.split('.').next().unwrap_or(s).to_ascii_lowercase();
    a.eq_ignore_ascii_case(b) || short(a) == short(b)
}

/// `aa:bb:cc:dd:ee:ff` from a MAC in any common notation, or `None`.
fn normalise_mac(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(char::is_ascii_hexdigit).collect();
    let separators_ok = s
        .chars()
        .all(|c| c.is_ascii_hexdigit() || ":-. ".contains(c));
    if hex.len() != 12 || !separators_ok {
        return None;
    }
    let hex = hex.to_ascii_lowercase();
    let pairs: Vec<&str> = (0..6).map(|i| &hex[i * 2..i * 2 + 2]).collect();
    Some(pairs.join(":"))
}

fn has_mac(ci: &Ci, mac: &str) -> bool {
    strings(ci, "mac_addresses").any(|m| normalise_mac(m).as_deref() == Some(mac))
}

/// The strings in the CI's array attribute `key`.
pub(super) fn strings<'a>(ci: &'a Ci, key: &str) -> impl Iterator<Item = &'a str> {
    ci.attributes
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
