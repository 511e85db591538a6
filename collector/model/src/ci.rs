//! CMDB record types, as stored and as served by the API.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A configuration item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ci {
    /// Stable id (for agent hosts: the agent id).
    pub id: String,
    /// CI class: host, switch, router, firewall, storage, ups, application…
    pub class: String,
    /// Display name (hostname or sysName).
    pub name: String,
    /// Attributes by name.
    pub attributes: BTreeMap<String, Value>,
    /// When the CI was first seen (RFC 3339).
    pub created_at: String,
    /// When an attribute last changed (RFC 3339).
    pub updated_at: String,
}

/// One attribute change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// When (RFC 3339).
    pub at: String,
    /// Attribute name; `software.<package>` for one installed package.
    pub attribute: String,
    /// Value before (`null` when the attribute was new).
    pub old: Value,
    /// Value after (`null` when the attribute was removed).
    pub new: Value,
    /// Who or what reported it, e.g. `agent:<id>`.
    pub source: String,
}

/// A relation from one CI to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    /// `runs_on`, `connected_to` or `depends_on`.
    pub kind: String,
    /// The other CI's id.
    pub target: String,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
}

/// A CI with its relations and change history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiDetail {
    /// The CI.
    #[serde(flatten)]
    pub ci: Ci,
    /// Outgoing relations.
    pub relations: Vec<Relation>,
    /// Attribute changes, oldest first.
    pub changes: Vec<Change>,
}

/// One stored event a device (or a check) reported about a CI, e.g. an SNMP trap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEventRecord {
    /// When the agent received it (RFC 3339).
    pub at: String,
    /// The CI it concerns.
    pub ci_id: String,
    /// What happened (`link_down`, `cold_start`, `check_failed`…; the CMDB lists them all).
    pub kind: String,
    /// snmpTrapOID.0.
    pub trap_oid: String,
    /// Sender address.
    pub source: String,
    /// One readable line.
    pub summary: String,
    /// Varbinds by name or OID.
    pub fields: BTreeMap<String, String>,
    /// The agent that received it.
    pub agent: String,
}
