//! Topology suppression: one root cause, one incident to work.
//!
//! A CI's parents are the targets of its relations of the configured kinds
//! (default `depends_on`, `connected_to` and `runs_on`, so a checked
//! service's incident joins the one of the host it runs on). A new incident
//! on a CI whose parent has an open or acknowledged incident at least as
//! severe is attached to that incident's root as a child (a host's warning
//! never hides a major outage of what runs on it); it is stored and worked like any other,
//! but runs no SLA clock of its own and is not meant to be notified. When the
//! parent's incident opens later than its dependents' (they noticed first),
//! the dependents' top-level incidents opened within `attach_window` are
//! attached to it then. Children still open `detach_after` after their root
//! resolved are detached and worked on their own from then on.
//!
//! Relations should point from the dependent to what it depends on; for a
//! pair related both ways, the incident that opens first becomes the parent.

use serde_json::json;

use super::config::{IncidentConfig, TopologyConfig};
use super::sla_clock;
use super::state::State;
use super::store::{Store, Txn};
use tocsin_model::event::Severity;
use tocsin_model::incident::{Incident, SYSTEM, TimelineEntry, TimelineKind};
use tocsin_storage::{Cf, Db, StorageError, keys};

/// The CIs `ci_id` depends on, read from its CMDB relations (the relation
/// keys only: cheaper than `Cmdb::detail`, which also reads the history).
pub fn upstream(
    db: &Db,
    config: &TopologyConfig,
    ci_id: &str,
) -> Result<Vec<String>, StorageError> {
    let mut out = Vec::new();
    if !config.enabled {
        return Ok(out);
    }
    let prefix = keys::ci_relation_prefix(ci_id);
    for item in db.iter_prefix(Cf::Cmdb, &prefix) {
        let (_, kind, target) = keys::decode_ci_relation(&item?.0)?;
        if config.relations.contains(&kind) && !out.contains(&target) {
            out.push(target);
        }
    }
    Ok(out)
}

/// The root of the oldest active incident on one of the `upstream` CIs
/// that is at least as severe as `severity`: a host's disk warning does not
/// swallow the major outage of a service running on it.
pub fn find_parent(st: &State, upstream: &[String], severity: Severity) -> Option<u64> {
    if upstream.is_empty() {
        return None;
    }
    let mut parent = st
        .live
        .values()
        .filter(|l| {
            l.inc.status.is_active()
                && l.inc.severity >= severity
                && upstream.contains(&l.inc.ci_id)
        })
        .map(|l| l.inc.id)
        .min()?;
    for _ in 0..16 {
        match st.live.get(&parent).and_then(|l| l.inc.parent_id) {
            Some(p) if st.is_active(p) => parent = p,
            _ => break,
        }
    }
    Some(parent)
}

fn entry(now: i64, kind: TimelineKind, message: String, data: serde_json::Value) -> TimelineEntry {
    TimelineEntry {
        at: now,
        actor: SYSTEM.into(),
        kind,
        message,
        data,
    }
}

/// Records on the parent (live) that `child` was attached to it.
pub fn note_child_attached(
    st: &mut State,
    txn: &mut Txn,
    parent: u64,
    child: &Incident,
    now: i64,
) -> Result<(), StorageError> {
    txn.set_child(parent, child.id, true);
    if let Some(p) = st.live.get_mut(&parent) {
        let msg = format!(
            "incident {} on {} attached: {}",
            child.id, child.ci_id, child.title
        );
        let data = json!({"child_id": child.id, "ci_id": child.ci_id, "rule": child.rule});
        txn.entry(
            &mut p.inc,
            entry(now, TimelineKind::ChildAttached, msg, data),
        )?;
        txn.put(&p.inc)?;
        p.dirty = false;
    }
    Ok(())
}

/// Attaches recent top-level incidents on CIs that depend on `ci_id` to `root`.
pub fn attach_dependents(
    st: &mut State,
    txn: &mut Txn,
    config: &IncidentConfig,
    root: u64,
    ci_id: &str,
    now: i64,
) -> Result<(), StorageError> {
    if !config.topology.enabled {
        return Ok(());
    }
    let since = now.saturating_sub(
        i64::try_from(config.topology.attach_window.as_millis()).unwrap_or(i64::MAX),
    );
    let Some(root_severity) = st.live.get(&root).map(|l| l.inc.severity) else {
        return Ok(());
    };
    let mut found: Vec<u64> = st
        .live
        .values()
        .filter(|l| {
            l.inc.id != root
                && l.inc.severity <= root_severity
                && l.inc.parent_id.is_none()
                && l.inc.status.is_active()
                && l.inc.opened_at >= since
                && l.upstream.iter().any(|u| u == ci_id)
        })
        .map(|l| l.inc.id)
        .collect();
    found.sort_unstable();
    for id in found {
        let Some(child) = st.live.get_mut(&id) else {
            continue;
        };
        let inc = &mut child.inc;
        inc.parent_id = Some(root);
        sla_clock::stop(
            inc,
            format!("attached to incident {root}; its SLA applies"),
            now,
        );
        let msg = format!("attached to incident {root}: {ci_id}, which this CI depends on, failed");
        txn.entry(
            inc,
            entry(now, TimelineKind::Attached, msg, json!({"parent_id": root})),
        )?;
        txn.put(inc)?;
        child.dirty = false;
        let snapshot = child.inc.clone();
        note_child_attached(st, txn, root, &snapshot, now)?;
    }
    Ok(())
}

/// Detaches `child` (live) from its parent: it is worked on its own now.
pub fn detach(
    st: &mut State,
    store: &Store,
    txn: &mut Txn,
    config: &IncidentConfig,
    child: u64,
    reason: &str,
    now: i64,
) -> Result<(), StorageError> {
    st.orphan_since.remove(&child);
    let Some(live) = st.live.get_mut(&child) else {
        return Ok(());
    };
    let Some(parent) = live.inc.parent_id.take() else {
        return Ok(());
    };
    let inc = &mut live.inc;
    sla_clock::start(inc, config, now);
    let msg = format!("detached from incident {parent}: {reason}");
    txn.entry(
        inc,
        entry(
            now,
            TimelineKind::Detached,
            msg,
            json!({"parent_id": parent}),
        ),
    )?;
    txn.put(inc)?;
    live.dirty = false;
    txn.set_child(parent, child, false);
    let mut p = match st.live.get(&parent) {
        Some(l) => l.inc.clone(),
        None => match txn.load(store, parent)? {
            Some(p) => p,
            None => return Ok(()),
        },
    };
    let msg = format!("incident {child} detached: {reason}");
    txn.entry(
        &mut p,
        entry(
            now,
            TimelineKind::ChildDetached,
            msg,
            json!({"child_id": child}),
        ),
    )?;
    txn.put(&p)?;
    if let Some(l) = st.live.get_mut(&parent) {
        l.inc = p;
        l.dirty = false;
    }
    Ok(())
}

/// Detaches the children whose root resolved `detach_after` ago or more.
pub fn detach_orphans(
    st: &mut State,
    store: &Store,
    txn: &mut Txn,
    config: &IncidentConfig,
    now: i64,
) -> Result<(), StorageError> {
    let after = i64::try_from(config.topology.detach_after.as_millis()).unwrap_or(i64::MAX);
    let mut due: Vec<u64> = st
        .orphan_since
        .iter()
        .filter(|(_, since)| now.saturating_sub(**since) >= after)
        .map(|(id, _)| *id)
        .collect();
    due.sort_unstable();
    for id in due {
        if st.is_active(id) {
            detach(
                st,
                store,
                txn,
                config,
                id,
                "its parent incident was resolved",
                now,
            )?;
        } else {
            st.orphan_since.remove(&id);
        }
    }
    Ok(())
}
