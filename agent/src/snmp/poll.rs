//! One full poll of one device: the system group by GET (which also decides
//! reachability), then every table by GETBULK walks, all bounded by the
//! target's interval. Failures become [`SubtreeError`]s, never a failed poll.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::config::SnmpTarget;
use super::mibs::{Decoder, entity, host_resources as hr, ifmib, lldp, system, ucd};
use super::session::{Session, Transports};
use super::walk::{SubtreeError, walk, walk_table};
use crate::series::PolledSample;

/// One LLDP neighbour seen by the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LldpNeighbour {
    /// The device's own port (its name where the device gives one).
    pub local_port: String,
    /// The neighbour's system name (empty if not advertised).
    pub remote_sys_name: String,
    /// The neighbour's port.
    pub remote_port: String,
    /// The neighbour's chassis id (a MAC in `aa:bb:…` form when it is one).
    pub remote_chassis_id: String,
}

/// The result of one poll of one device.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DevicePoll {
    /// Device CI attributes: sysName, sysDescr, sysObjectID, vendor, model, serial, …
    pub attributes: BTreeMap<String, Json>,
    /// Samples read.
    pub samples: Vec<PolledSample>,
    /// LLDP neighbours.
    pub neighbours: Vec<LldpNeighbour>,
    /// What could not be read; the rest of the poll is still valid.
    pub errors: Vec<SubtreeError>,
    /// Whether the device answered SNMP with valid credentials.
    pub reachable: bool,
}

/// Polls `target` once on a socket of its own. Never fails: problems are
/// reported in `errors`, and `reachable` is false when the device gave no
/// valid answer.
pub async fn poll(target: &SnmpTarget) -> DevicePoll {
    poll_with(target, &Transports::new()).await
}

/// [`poll`] on the shared `transports` (what a poller of many devices uses).
pub async fn poll_with(target: &SnmpTarget, transports: &Transports) -> DevicePoll {
    let mut out = DevicePoll::default();
    let problems = target.validate();
    if !problems.is_empty() {
        for p in problems {
            out.errors.push(SubtreeError::new("config", p));
        }
        return out;
    }
    let deadline = Instant::now() + target.interval;
    let session = match Session::open_with(target, transports).await {
        Ok(s) => s,
        Err(e) => {
            out.errors.push(SubtreeError::new("session", e.to_string()));
            return out;
        }
    };
    let mut d = Decoder::default();
    match session.get(&system::oids()).await {
        Ok(vbs) => {
            out.reachable = true;
            system::decode(&vbs, &mut d, &mut out.attributes, &mut out.samples);
        }
        Err(e) => {
            out.reachable = !e.is_unreachable();
            out.errors.push(SubtreeError::new("system", e.to_string()));
            return out;
        }
    }
    out.attributes.insert(
        "management_ip".to_owned(),
        Json::String(session.peer_addr().ip().to_string()),
    );
    out.attributes.insert(
        "class".to_owned(),
        Json::String(target.class.as_str().to_owned()),
    );
    for (key, value) in [("location", &target.location), ("owner", &target.owner)] {
        if let Some(v) = value {
            out.attributes
                .insert(key.to_owned(), Json::String(v.clone()));
        }
    }
    collect_tables(&session, deadline, &mut d, &mut out).await;
    d.finish(&mut out.errors);
    out
}

async fn collect_tables(
    session: &Session,
    deadline: Instant,
    d: &mut Decoder,
    out: &mut DevicePoll,
) {
    let (mut e1, mut e2, mut e3, mut e4, mut e5, mut e6, mut e7) =
        (vec![], vec![], vec![], vec![], vec![], vec![], vec![]);
    let uptime_oid = hr::system_uptime();
    let (
        if_rows,
        ifx_rows,
        processors,
        storage,
        entities,
        lldp_local,
        lldp_remote,
        uptime,
        load,
        mem,
    ) = tokio::join!(
        walk_table(
            session,
            "ifTable",
            ifmib::if_entry(),
            ifmib::IF_COLUMNS,
            deadline,
            &mut e1
        ),
        walk_table(
            session,
            "ifXTable",
            ifmib::ifx_entry(),
            ifmib::IFX_COLUMNS,
            deadline,
            &mut e2
        ),
        walk_table(
            session,
            "hrProcessorTable",
            hr::processor_entry(),
            hr::PROCESSOR_COLUMNS,
            deadline,
            &mut e3
        ),
        walk_table(
            session,
            "hrStorageTable",
            hr::storage_entry(),
            hr::STORAGE_COLUMNS,
            deadline,
            &mut e4
        ),
        walk_table(
            session,
            "entPhysicalTable",
            entity::physical_entry(),
            entity::COLUMNS,
            deadline,
            &mut e5
        ),
        walk_table(
            session,
            "lldpLocPortTable",
            lldp::local_port_entry(),
            lldp::LOCAL_COLUMNS,
            deadline,
            &mut e6
        ),
        walk_table(
            session,
            "lldpRemTable",
            lldp::remote_entry(),
            lldp::REMOTE_COLUMNS,
            deadline,
            &mut e7
        ),
        session.get(std::slice::from_ref(&uptime_oid)),
        walk(session, ucd::load_int(), deadline),
        walk(session, ucd::memory(), deadline),
    );
    for e in [e1, e2, e3, e4, e5, e6, e7] {
        out.errors.extend(e);
    }
    let interfaces = ifmib::decode(&if_rows, &ifx_rows, d, &mut out.samples);
    out.attributes.insert("interfaces".to_owned(), interfaces);
    hr::decode_processors(&processors, d, &mut out.samples);
    hr::decode_storage(&storage, d, &mut out.samples);
    match uptime {
        Ok(vbs) => {
            for vb in vbs.iter().filter(|vb| vb.oid == uptime_oid) {
                hr::decode_uptime(&vb.value, d, &mut out.samples);
            }
        }
        Err(e) => out
            .errors
            .push(SubtreeError::new("hrSystemUptime", e.to_string())),
    }
    entity::decode(&entities, d, &mut out.attributes);
    out.neighbours = lldp::decode(&lldp_local, &lldp_remote, d);
    for ((values, error), name) in [(load, "laTable.laLoadInt"), (mem, "memory")] {
        if let Some(error) = error {
            out.errors.push(SubtreeError::new(name, error));
        }
        match name {
            "memory" => ucd::decode_memory(&values, d, &mut out.samples),
            _ => ucd::decode_load(&values, d, &mut out.samples),
        }
    }
}
