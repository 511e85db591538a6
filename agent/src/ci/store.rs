//! The latest report of every CI the agent reports on besides its host
//! (polled devices, checked services), for the transport.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tocsin_proto::v1::DeviceReport;

/// A report as stored, with the store version it was stored at.
#[derive(Debug, Clone)]
struct Stored {
    version: u64,
    report: DeviceReport,
}

/// The latest report of every CI (device or service), each with a version that changes
/// whenever the report does. The transport sends every report on a new
/// stream, then those whose version changed since it last sent them.
#[derive(Debug, Default)]
pub struct ReportStore {
    reports: Mutex<BTreeMap<String, Stored>>,
    /// Bumped on every change; the version of the newest report.
    version: AtomicU64,
}

impl ReportStore {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Stored>> {
        self.reports.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores `report` as its CI's latest; returns whether it differs
    /// from the one stored before (only then is it sent again).
    pub fn store(&self, report: DeviceReport) -> bool {
        let mut reports = self.lock();
        if reports
            .get(&report.device_id)
            .is_some_and(|s| s.report == report)
        {
            return false;
        }
        let version = self.version.fetch_add(1, Ordering::SeqCst) + 1;
        reports.insert(report.device_id.clone(), Stored { version, report });
        true
    }

    /// The latest report of `device_id`.
    pub fn get(&self, device_id: &str) -> Option<DeviceReport> {
        self.lock().get(device_id).map(|s| s.report.clone())
    }

    /// Whether `device_id` has a report.
    pub fn contains(&self, device_id: &str) -> bool {
        self.lock().contains_key(device_id)
    }

    /// Number of CIs with a report.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no CI has a report yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The version of the newest change (0 = nothing stored yet).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// The store's version, and every report whose version is not the one
    /// `sent` maps its device to, with its version.
    pub fn changed_since(
        &self,
        sent: &impl Fn(&str) -> Option<u64>,
    ) -> (u64, Vec<(u64, DeviceReport)>) {
        let reports = self.lock();
        let changed = reports
            .values()
            .filter(|s| sent(&s.report.device_id) != Some(s.version))
            .map(|s| (s.version, s.report.clone()))
            .collect();
        (self.version(), changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(id: &str, name: &str) -> DeviceReport {
        DeviceReport {
            device_id: id.to_owned(),
            class: "switch".to_owned(),
            name: name.to_owned(),
            complete: true,
            ..Default::default()
        }
    }

    #[test]
    fn store_versions_change_only_with_the_report() {
        let store = ReportStore::default();
        let r = report("sw1", "core-sw");
        assert!(store.store(r.clone()));
        assert!(!store.store(r.clone()), "the same report is not a change");
        assert_eq!(store.version(), 1);
        let (v, changed) = store.changed_since(&|_| None);
        assert_eq!((v, changed.len()), (1, 1));
        let (_, changed) = store.changed_since(&|id| (id == "sw1").then_some(1));
        assert!(changed.is_empty());
        let mut r2 = r;
        r2.complete = false;
        assert!(store.store(r2));
        let (v, changed) = store.changed_since(&|id| (id == "sw1").then_some(1));
        assert_eq!((v, changed[0].0, changed[0].1.complete), (2, 2, false));
        assert!(store.contains("sw1") && !store.contains("sw2") && store.len() == 1);
    }
}
