//! Services an agent checks (ICMP, TCP, HTTP, DNS probes): their CI (class
//! `application` or `service`), the attributes the checker owns, and the
//! `runs_on` relation to the host the service runs on.
//!
//! The agent declares the host as a CI id or a host name; the collector
//! resolves it to a CI (a CI with that id, else a host whose name, hostname
//! or FQDN matches, case-insensitively, also without the domain; an IP
//! address matches a host's `ip_addresses` too) and keeps
//! `runs_on = {"declared": <value>, "ci": <id or null>}` on the service, so
//! a change of the resolved host shows in the history and the relation the
//! checker set before can be removed again.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::devices::{DeviceOutcome, DeviceUpdate, Ownership, known_as, same_name, strings};
use super::edit::{CRITICALITIES, valid_criticality};
use super::{Ci, Cmdb};
use crate::error::CmdbError;

/// CI classes whose reports are services (checked, not polled).
pub const SERVICE_CLASSES: &[&str] = &["application", "service"];

/// Attributes a checker owns on a service CI; the ones absent from a complete
/// report are removed. `owner`, `location`, `criticality` and `description`
/// are only touched when the checker's configuration sets them.
pub const SERVICE_ATTRIBUTES: &[&str] = &[
    "url",
    "target",
    "target_host",
    "checks",
    "check_kinds",
    "checker",
    "runs_on",
];

const SERVICE: Ownership = Ownership {
    owned: SERVICE_ATTRIBUTES,
    configured: &["owner", "location", "criticality", "description"],
    agent_attribute: "checker",
    source: "check",
};

/// The relation kind (and attribute) a service's declared host becomes.
const RUNS_ON: &str = "runs_on";

/// Whether a report of this class is a service (else a device).
pub fn is_service_class(class: &str) -> bool {
    SERVICE_CLASSES.contains(&class)
}

impl Cmdb {
    /// Creates or updates a checked service's CI and its `runs_on` relation.
    /// A `criticality` outside [`CRITICALITIES`] refuses the whole report; a
    /// `runs_on` that names no CI is kept (with `ci: null`) without a relation.
    pub fn upsert_service(&self, mut update: DeviceUpdate) -> Result<DeviceOutcome, CmdbError> {
        if let Some(v) = update.attributes.get("criticality")
            && !valid_criticality(v)
        {
            return Err(CmdbError::Invalid(format!(
                "service {}: attribute \"criticality\" must be one of {}, got {v}",
                update.id,
                CRITICALITIES.join(", ")
            )));
        }
        let existing = self.get_ci(&update.id)?;
        let mut outcome = DeviceOutcome::default();
        let mut reported = std::mem::take(&mut update.attributes);
        // Derived from the report's own field only.
        if reported.remove(RUNS_ON).is_some() {
            outcome.ignored.push(RUNS_ON.into());
        }
        let mut attributes = SERVICE.attributes(reported, &update.agent, &mut outcome.ignored);
        let declared = update.runs_on.trim();
        let target = self.resolve_runs_on(&update.id, declared)?;
        if !declared.is_empty() {
            if target.is_none() {
                tracing::warn!(
                    service = %update.id,
                    runs_on = declared,
                    agent = %update.agent,
                    "runs_on names no CI id and no host; the service gets no runs_on relation"
                );
            }
            let value = json!({"declared": declared, "ci": target});
            attributes.insert(RUNS_ON.into(), value);
        }
        let old = existing.as_ref().and_then(runs_on_target);
        outcome.changes = self.store_reported(&update, existing.as_ref(), &SERVICE, attributes)?;
        // Remove the relation this checker set to a former host; (re)assert
        // the current one (a no-op when it exists).
        let id = update.id.as_str();
        let stale = old.as_deref().filter(|o| target.as_deref() != Some(*o));
        let changes = stale
            .map(|o| (id, o, false))
            .into_iter()
            .chain(target.as_deref().map(|t| (id, t, true)));
        self.sync_relations(
            RUNS_ON,
            &SERVICE.source(&update.agent),
            changes,
            &mut outcome,
        )?;
        Ok(outcome)
    }

    /// The CI a declared `runs_on` names: a CI with that id, else a host
    /// known by that name (see [`find_host`]). `None` when empty or unknown.
    fn resolve_runs_on(&self, service: &str, declared: &str) -> Result<Option<String>, CmdbError> {
        if declared.is_empty() {
            return Ok(None);
        }
        if declared != service && self.get_ci(declared)?.is_some() {
            return Ok(Some(declared.to_string()));
        }
        let cis = self.list()?;
        Ok(find_host(&cis, service, declared).map(|c| c.id.clone()))
    }
}

/// The host CI (other than `except`) whose name, `hostname` or `fqdn` is
/// `name`: compared case-insensitively, else also without the domain part.
/// An IP address matches exactly, a name or one of the host's `ip_addresses`.
fn find_host<'a>(cis: &'a [Ci], except: &str, name: &str) -> Option<&'a Ci> {
    let hosts = || cis.iter().filter(|c| c.class == "host" && c.id != except);
    let exact = hosts().find(|c| known_as(c, name, str::eq_ignore_ascii_case));
    if name.parse::<IpAddr>().is_ok() {
        return exact.or_else(|| hosts().find(|c| has_ip(c, name)));
    }
    exact.or_else(|| hosts().find(|c| known_as(c, name, same_name)))
}

fn has_ip(ci: &Ci, ip: &str) -> bool {
    strings(ci, "ip_addresses").any(|a| a == ip)
}

/// The CI a service's stored `runs_on` attribute resolved to.
fn runs_on_target(ci: &Ci) -> Option<String> {
    ci.attributes
        .get(RUNS_ON)
        .and_then(|v| v.get("ci"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[cfg(test)]
#[path = "services_tests.rs"]
mod tests;
