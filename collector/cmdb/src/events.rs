//! Events agents report about a CI (a device's SNMP traps and informs, a
//! service check that failed or recovered), kept per CI in time order. They
//! are written in the same atomic write as the batch that carried them, so
//! they share its acknowledgement and its resend.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use super::{Cmdb, corrupt};
use tocsin_model::ci::DeviceEventRecord;
use tocsin_model::time::rfc3339;
use tocsin_storage::{Cf, StorageError, WriteTx, keys};

/// Event kinds an agent may report.
pub const EVENT_KINDS: &[&str] = &[
    "linkDown",
    "linkUp",
    "coldStart",
    "warmStart",
    "authenticationFailure",
    "trap",
    "check_failed",
    "check_recovered",
];

impl Cmdb {
    /// Adds `event`, received at `at_ms`, to `batch`.
    pub fn put_event(
        &self,
        batch: &mut WriteTx,
        event: &DeviceEventRecord,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        let counter = self.change_counter.fetch_add(1, Ordering::Relaxed);
        let value = serde_json::to_vec(event).map_err(corrupt)?;
        batch.put(
            Cf::Cmdb,
            keys::ci_event(&event.ci_id, at_ms, counter),
            value,
        );
        Ok(())
    }

    /// A record for an event of `ci_id` received by `agent` at `at_ms`.
    pub fn event_record(ci_id: &str, agent: &str, at_ms: i64) -> DeviceEventRecord {
        DeviceEventRecord {
            at: rfc3339(at_ms),
            ci_id: ci_id.to_string(),
            kind: String::new(),
            trap_oid: String::new(),
            source: String::new(),
            summary: String::new(),
            fields: BTreeMap::new(),
            agent: agent.to_string(),
        }
    }

    /// The newest `limit` events of a CI, newest first.
    pub fn events(
        &self,
        ci_id: &str,
        limit: usize,
    ) -> Result<Vec<DeviceEventRecord>, StorageError> {
        let prefix = keys::ci_event_prefix(ci_id);
        let mut out = Vec::new();
        for item in self.db.iter_prefix_rev(Cf::Cmdb, &prefix).take(limit) {
            let (key, value) = item?;
            keys::decode_ci_event(&key)?;
            out.push(serde_json::from_slice(&value).map_err(corrupt)?);
        }
        Ok(out)
    }
}
