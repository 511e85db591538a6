//! CIs an agent reports besides its host — devices it polls and services it
//! checks (class `application` or `service`): their reports become CIs,
//! their series and events are attributed to them. A stream may only send
//! samples or events of a CI it reported on that same stream.

use std::collections::BTreeMap;
use std::sync::Arc;

use tocsin_proto::v1::{DeviceEvent, DeviceReport, SeriesDef};

use super::{CiContext, Ingestor, Invalid, StreamSession};
use crate::error::Error;
use tocsin_cmdb::{CI_CLASSES, Cmdb, DeviceUpdate, Neighbour, check_id, is_service_class};
use tocsin_storage::WriteTx;

/// Most attributes on one device report.
pub const MAX_DEVICE_ATTRIBUTES: usize = 256;
/// Most LLDP neighbours on one device report.
pub const MAX_NEIGHBOURS: usize = 4096;
/// Longest device name, in bytes.
pub const MAX_DEVICE_NAME_BYTES: usize = 256;
/// Longest `runs_on` declaration (a CI id or a host name), in bytes.
pub const MAX_RUNS_ON_BYTES: usize = 256;

impl StreamSession {
    /// The CI a series declaration belongs to.
    pub(super) fn ci_of(&self, def: &SeriesDef) -> Result<Arc<CiContext>, Invalid> {
        if def.ci_id.is_empty() {
            return Ok(self.ci.clone());
        }
        self.devices
            .get(&def.ci_id)
            .cloned()
            .ok_or_else(|| Invalid::UnknownCi {
                id: def.id,
                ci: def.ci_id.clone(),
            })
    }
}

impl Ingestor {
    /// Applies a device or service report: creates or updates the CI (and
    /// its LLDP or runs_on relations) and lets the stream send its samples.
    pub fn update_device(
        &self,
        session: &mut StreamSession,
        report: &DeviceReport,
    ) -> Result<(), Error> {
        let update = self.device_update(&session.agent_id, report)?;
        let id = update.id.clone();
        let service = is_service_class(&update.class);
        let outcome = if service {
            self.cmdb.upsert_service(update)?
        } else {
            self.cmdb.upsert_device(update)?
        };
        if !outcome.ignored.is_empty() {
            tracing::debug!(ci = %id, service, ignored = ?outcome.ignored, "unknown attributes dropped");
        }
        if outcome.relations_added + outcome.relations_removed > 0 {
            let kind = if service { "runs_on" } else { "LLDP" };
            tracing::info!(
                ci = %id,
                added = outcome.relations_added,
                removed = outcome.relations_removed,
                "{kind} relations updated"
            );
        }
        let ci = self
            .cmdb
            .get_ci(&id)?
            .ok_or_else(|| Error::Protocol(format!("device CI {id} vanished")))?;
        self.metrics.device_reports.inc();
        session.devices.insert(
            id.clone(),
            Arc::new(CiContext {
                id,
                class: ci.class,
                name: ci.name,
            }),
        );
        Ok(())
    }

    /// Checks a report and turns it into a CMDB update.
    fn device_update(&self, agent_id: &str, report: &DeviceReport) -> Result<DeviceUpdate, Error> {
        let id = &report.device_id;
        check_id("device_id", id)?;
        if self.agents.is_registered(id)? {
            return Err(Error::InvalidRequest(format!(
                "device_id: {id} is the id of an agent's host CI; give the device its own id"
            )));
        }
        if !CI_CLASSES.contains(&report.class.as_str()) {
            return Err(Error::InvalidRequest(format!(
                "device {id}: class must be one of {}, got {:?}",
                CI_CLASSES.join(", "),
                report.class
            )));
        }
        if report.name.len() > MAX_DEVICE_NAME_BYTES {
            return Err(Error::InvalidRequest(format!(
                "device {id}: name is longer than {MAX_DEVICE_NAME_BYTES} bytes"
            )));
        }
        if report.attributes_json.len() > MAX_DEVICE_ATTRIBUTES {
            return Err(Error::InvalidRequest(format!(
                "device {id}: {} attributes, the limit is {MAX_DEVICE_ATTRIBUTES}",
                report.attributes_json.len()
            )));
        }
        if report.runs_on.len() > MAX_RUNS_ON_BYTES {
            return Err(Error::InvalidRequest(format!(
                "device {id}: runs_on is longer than {MAX_RUNS_ON_BYTES} bytes"
            )));
        }
        if report.neighbours.len() > MAX_NEIGHBOURS {
            return Err(Error::InvalidRequest(format!(
                "device {id}: {} neighbours, the limit is {MAX_NEIGHBOURS}",
                report.neighbours.len()
            )));
        }
        let mut attributes = BTreeMap::new();
        for (key, text) in &report.attributes_json {
            let value = serde_json::from_str(text).map_err(|e| {
                Error::InvalidRequest(format!(
                    "device {id}: attribute {key:?} is not valid JSON: {e}"
                ))
            })?;
            attributes.insert(key.clone(), value);
        }
        let name = if report.name.trim().is_empty() {
            id.clone()
        } else {
            report.name.clone()
        };
        Ok(DeviceUpdate {
            id: id.clone(),
            class: report.class.clone(),
            name,
            attributes,
            complete: report.complete,
            neighbours: report
                .neighbours
                .iter()
                .map(|n| Neighbour {
                    local_port: n.local_port.clone(),
                    remote_sys_name: n.remote_sys_name.clone(),
                    remote_port: n.remote_port.clone(),
                    remote_chassis_id: n.remote_chassis_id.clone(),
                })
                .collect(),
            runs_on: report.runs_on.clone(),
            agent: agent_id.to_string(),
        })
    }

    /// Adds a batch's (already validated) events to its write.
    pub(super) fn add_events(
        &self,
        session: &StreamSession,
        events: &[DeviceEvent],
        batch: &mut WriteTx,
    ) -> Result<(), Error> {
        for e in events {
            let ci = if e.ci_id.is_empty() {
                &session.ci.id
            } else {
                &e.ci_id
            };
            let mut record = Cmdb::event_record(ci, &session.agent_id, e.timestamp_ms);
            record.kind.clone_from(&e.kind);
            record.trap_oid.clone_from(&e.trap_oid);
            record.source.clone_from(&e.source);
            record.summary.clone_from(&e.summary);
            record.fields = e
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.cmdb.put_event(batch, &record, e.timestamp_ms)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
