//! Devices polled by SNMP (and pinged), each reported as its own CI.
//!
//! One [`DeviceTask`] per `[[snmp]]` target polls on its own interval, so a
//! slow or dead device never delays another. A round runs the SNMP poll and
//! the ICMP check ([`crate::ping`]) concurrently, stores the device's
//! [`DeviceReport`](tocsin_proto::v1::DeviceReport) ([`report`]) and only then
//! queues its samples ([`samples`]) on the device's CI, so the transport can
//! always send a device's report before the first batch that uses it.
//! [`enqueue_device_data`] is the same path for the SNMP trap receiver.

pub mod directory;
pub mod health;
pub mod report;
pub mod samples;
pub mod traps;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tocsin_proto::v1::{DeviceEvent, DeviceReport};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::now_ms;
use crate::error::Result;
use crate::ping::Pinger;
use crate::schedule::Schedule;
use crate::series::PolledSample;
use crate::snmp::{DeviceClass, DevicePoll, SnmpTarget, SubtreeError, Transports, poll_with};
use crate::{Shared, ci};

pub use directory::{DeviceDirectory, InterfaceInfo};
pub use health::{Change, Health};
pub use report::build_report;
pub use samples::RoundFacts;

/// What one round did, for callers that want to know (tests, logs).
#[derive(Debug, Clone, PartialEq)]
pub struct RoundOutcome {
    /// Whether SNMP or ICMP answered.
    pub reachable: bool,
    /// Whether the stored report is complete.
    pub complete: bool,
    /// Samples queued.
    pub samples: usize,
}

/// Most SNMP polls in flight at once. A poll walks about 45 columns at
/// once and holds ~0.5 MB while it runs; device tasks that tick together
/// would otherwise all poll at the same moment (measured: 106 MB peak for
/// 200 devices unbounded, 16 MB with a cap of 16, at a shorter cycle).
pub const MAX_CONCURRENT_POLLS: usize = 24;

/// What the device tasks of one agent share: the ICMP pinger, the SNMP
/// sockets, and the slots that bound concurrent polls.
#[derive(Debug, Clone)]
pub struct PollResources {
    /// ICMP echo.
    pub pinger: Arc<Pinger>,
    /// SNMP sockets.
    pub transports: Transports,
    /// One permit per poll in flight.
    pub slots: Arc<Semaphore>,
}

impl Default for PollResources {
    fn default() -> Self {
        Self {
            pinger: Arc::new(Pinger::new()),
            transports: Transports::new(),
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_POLLS)),
        }
    }
}

/// Polls one device on its interval.
#[derive(Debug)]
pub struct DeviceTask {
    target: SnmpTarget,
    id: String,
    fallback_name: String,
    resources: PollResources,
    errors_total: BTreeMap<String, u64>,
    health: Health,
}

impl DeviceTask {
    /// A task for `target` (validated), polling with the shared `resources`.
    pub fn new(target: SnmpTarget, resources: PollResources) -> Self {
        Self {
            id: target.device_id(),
            fallback_name: target.display_name(),
            target,
            resources,
            errors_total: BTreeMap::new(),
            health: Health::default(),
        }
    }

    /// The device's CI id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Polls every interval (the first time at once) until `shutdown` turns
    /// true; a round in progress is abandoned on shutdown.
    pub async fn run(mut self, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
        let mut schedule = Schedule::new(self.target.interval, shutdown);
        while schedule.next().await {
            match schedule.round(self.poll_once(&shared)).await {
                None => return,
                Some(Err(e)) => {
                    tracing::error!(device = %self.id, error = %e, "cannot queue the device's samples");
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// One round: SNMP poll and ICMP check, then the report is stored and the
    /// samples (all stamped with the round's start) are queued.
    ///
    /// The poll is digested (report built, samples interned to ids) as soon
    /// as it ends, so its strings are freed before the ICMP check is awaited:
    /// rounds that start together never hold more full polls than there are
    /// poll slots.
    pub async fn poll_once(&mut self, shared: &Shared) -> Result<RoundOutcome> {
        let ts_ms = now_ms();
        let t = &self.target;
        let (id, fallback_name) = (&self.id, &self.fallback_name);
        let snmp = async {
            let (polled, duration) = {
                // The semaphore is never closed; without a permit, poll anyway.
                let _slot = self.resources.slots.acquire().await.ok();
                let started = Instant::now();
                let p = poll_with(t, &self.resources.transports).await;
                (p, started.elapsed())
            };
            digest(shared, id, t.class, fallback_name, polled, duration)
        };
        let icmp = async {
            if t.icmp {
                Some(
                    self.resources
                        .pinger
                        .check(&t.address, t.icmp_probes, t.timeout)
                        .await,
                )
            } else {
                None
            }
        };
        let (poll, icmp) = tokio::join!(snmp, icmp);
        let complete = poll.report.complete;
        if shared.reports.store(poll.report) {
            tracing::debug!(device = %self.id, complete, "device report changed");
        }

        for e in &poll.errors {
            *self.errors_total.entry(e.subtree.clone()).or_insert(0) += 1;
        }
        let facts = RoundFacts {
            snmp_up: poll.reachable,
            duration: poll.duration,
            errors_total: &self.errors_total,
            icmp: icmp.as_ref(),
        };
        let reachable = facts.reachable();
        let mut pairs = poll.pairs;
        pairs.extend(
            shared
                .registry()
                .intern_polled(&self.id, samples::fact_samples(&facts)),
        );
        for change in self.health.observe(reachable, &poll.errors) {
            self.log(change);
        }
        let n = ci::queue_pairs(shared, &self.id, ts_ms, &pairs, Vec::new())?;
        Ok(RoundOutcome {
            reachable,
            complete,
            samples: n,
        })
    }

    fn log(&self, change: Change) {
        let (device, address) = (&self.id, &self.target.address);
        match change {
            Change::Reachable => tracing::info!(device, address, "device reachable"),
            Change::Unreachable { error } => {
                tracing::warn!(device, address, error, "device unreachable")
            }
            Change::Errors(errors) => tracing::warn!(
                device,
                address,
                errors = %errors.join("; "),
                "part of the device's poll fails"
            ),
            Change::ErrorsCleared => tracing::info!(device, address, "device poll complete again"),
        }
    }
}

/// A poll reduced to what the rest of its round needs.
#[derive(Debug)]
struct PollDigest {
    /// Whether SNMP answered.
    reachable: bool,
    /// The device's report, to store once the round is over.
    report: DeviceReport,
    /// How long the poll took.
    duration: Duration,
    /// What failed.
    errors: Vec<SubtreeError>,
    /// The poll's samples (and `snmp_if_link_down`) as `(series id, value)`.
    pairs: Vec<(u32, f64)>,
}

/// Updates the directory, builds the report of device `id` from `polled`,
/// and interns its samples: everything a round needs from the full poll.
fn digest(
    shared: &Shared,
    id: &str,
    class: DeviceClass,
    fallback_name: &str,
    polled: DevicePoll,
    duration: Duration,
) -> PollDigest {
    shared.directory.update(id, &polled);
    // The previous report only fills in what an incomplete poll lacks.
    let previous = if polled.reachable && polled.errors.is_empty() {
        None
    } else {
        shared.reports.get(id)
    };
    let report = build_report(id, class, fallback_name, &polled, previous.as_ref());
    let pairs = shared
        .registry()
        .intern_polled(id, samples::poll_samples(polled.samples));
    PollDigest {
        reachable: polled.reachable,
        report,
        duration,
        errors: polled.errors,
        pairs,
    }
}

/// Registers every target in the directory and spawns its task; the tasks
/// share `resources` and stop when `shutdown` turns true.
pub fn spawn_all(
    targets: &[SnmpTarget],
    resources: &PollResources,
    shared: &Arc<Shared>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    targets
        .iter()
        .map(|t| {
            shared.directory.register(t);
            let task = DeviceTask::new(t.clone(), resources.clone());
            tracing::info!(
                device = %task.id(),
                address = %t.address,
                port = t.port,
                class = t.class.as_str(),
                interval = %humantime::format_duration(t.interval),
                icmp = t.icmp,
                "polling device"
            );
            tokio::spawn(task.run(shared.clone(), shutdown.clone()))
        })
        .collect()
}

/// Queues samples and events of device `ci_id` (empty = the agent's host CI),
/// all samples at `ts_ms`, exactly as a poll does: the same series and labels,
/// in batches with the events, and wakes the transport. For the SNMP trap
/// receiver.
///
/// A device without a report yet (a trap before its first poll) gets a
/// provisional, incomplete one if it is configured; samples of an unknown
/// device are dropped and its events are attached to the host CI
/// ([`ci::enqueue`]), so nothing queued ever names a CI the collector was
/// not told about.
pub fn enqueue_device_data(
    shared: &Shared,
    ci_id: &str,
    ts_ms: i64,
    samples: Vec<PolledSample>,
    events: Vec<DeviceEvent>,
) {
    for id in std::iter::once(ci_id).chain(events.iter().map(|e| e.ci_id.as_str())) {
        provide_report(shared, id);
    }
    ci::enqueue(shared, ci_id, ts_ms, samples, events);
}

/// Stores a provisional report for `ci_id` if it is a configured device
/// without one yet.
fn provide_report(shared: &Shared, ci_id: &str) {
    if ci::is_known(shared, ci_id) {
        return;
    }
    if let Some((class, name)) = shared.directory.class_and_name(ci_id) {
        shared.reports.store(DeviceReport {
            device_id: ci_id.to_owned(),
            class: class.as_str().to_owned(),
            name,
            ..Default::default()
        });
    }
}
