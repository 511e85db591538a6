//! Tocsin agent: collects host metrics and the host's inventory, and sends
//! them to a Tocsin collector over gRPC without losing data while the
//! collector restarts or the network drops (within a bounded queue).
//!
//! Data flows one way: [`collect`] → [`series`] (ids) → [`queue`] (batches)
//! → [`transport`] (gRPC stream, acknowledgements). [`devices`] polls SNMP
//! devices into the same queue, each as its own CI with a report the
//! transport sends first. [`checks`] run ICMP/TCP/HTTP(S)/DNS service checks
//! into the same queue, on service CIs reported the same way. [`daemon`]
//! wires the tasks together.
//!
//! # Layers
//!
//! Modules depend only on the layers below them:
//!
//! 1. **Shared pieces**, owned by the module whose job they are: [`clock`]
//!    (wall-clock timestamps), [`ping`] (the ICMP pinger), [`series`] (the
//!    [`PolledSample`](series::PolledSample) and series ids), [`queue`],
//!    [`schedule`], [`stats`], [`validate`] (checks every config section
//!    uses), [`error`], and [`ci`] (CI reports and the one path that queues
//!    samples and events on a CI).
//! 2. **Protocols and probes**: [`snmp`] (the SNMP client, MIB decoding, the
//!    trap receiver) and [`checks`] (service checks). Neither imports the
//!    other, nor [`devices`].
//! 3. **Features on a protocol**: [`devices`] runs one polling task per SNMP
//!    device with the [`snmp`] client and turns received traps into samples
//!    and events; it is the only module that builds on [`snmp`], and
//!    [`snmp`] and [`checks`] never import it.
//! 4. **Wiring**: [`config`] (the file, assembled from each module's own
//!    config types), [`daemon`], [`transport`], and [`Shared`].

pub mod checks;
pub mod ci;
pub mod clock;
pub mod collect;
pub mod config;
pub mod daemon;
pub mod devices;
pub mod error;
pub mod ffi;
pub mod inventory;
pub mod ping;
pub mod queue;
pub mod schedule;
pub mod series;
pub mod snmp;
pub mod state;
pub mod stats;
pub mod transport;
pub mod validate;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tocsin_proto::v1::Inventory;
use tokio::sync::{Notify, watch};

pub use config::Config;
pub use daemon::run;
pub use error::{Error, Result};

use ci::ReportStore;
use devices::DeviceDirectory;
use queue::BatchQueue;
use series::Registry;
use stats::Stats;

/// State shared by the collection loop, the inventory loop, the device tasks,
/// the SNMP trap receiver, and the transport.
pub struct Shared {
    /// This agent's persistent id.
    pub agent_id: String,
    queue: Mutex<Box<dyn BatchQueue>>,
    registry: Mutex<Registry>,
    /// Signalled whenever batches are queued.
    pub new_batch: Notify,
    /// The latest inventory; the transport sends it when it changes.
    pub inventory: watch::Receiver<Arc<Inventory>>,
    /// The agent's own counters.
    pub stats: Arc<Stats>,
    /// The latest report of every device and service CI; the transport sends
    /// each on every new stream, and again when it changes.
    pub reports: ReportStore,
    /// Configured devices by address and their interfaces, for the trap receiver.
    pub directory: DeviceDirectory,
    /// Configured samples per batch.
    max_batch_samples: usize,
    /// The collector's limit from the last RegisterResponse (0 = not known yet).
    collector_limit: AtomicUsize,
}

impl Shared {
    /// Shared state around a queue and a registry.
    pub fn new(
        agent_id: String,
        queue: Box<dyn BatchQueue>,
        registry: Registry,
        inventory: watch::Receiver<Arc<Inventory>>,
        stats: Arc<Stats>,
        max_batch_samples: usize,
    ) -> Self {
        Self {
            agent_id,
            queue: Mutex::new(queue),
            registry: Mutex::new(registry),
            new_batch: Notify::new(),
            inventory,
            stats,
            reports: ReportStore::default(),
            directory: DeviceDirectory::default(),
            max_batch_samples,
            collector_limit: AtomicUsize::new(0),
        }
    }

    /// The send queue (a panic elsewhere does not make it unusable).
    pub fn queue(&self) -> MutexGuard<'_, Box<dyn BatchQueue>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The series registry.
    pub fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the collector's samples-per-batch limit (0 = none given).
    pub fn set_collector_limit(&self, limit: u32) {
        self.collector_limit.store(
            usize::try_from(limit).unwrap_or(usize::MAX),
            Ordering::Relaxed,
        );
    }

    /// Samples per batch in force: the smaller of the configuration and the collector's limit.
    pub fn max_batch_samples(&self) -> usize {
        match self.collector_limit.load(Ordering::Relaxed) {
            0 => self.max_batch_samples,
            limit => self.max_batch_samples.min(limit),
        }
    }

    /// Publishes the queue's length and drop count to the stats.
    pub fn update_queue_stats(&self) {
        let (len, dropped) = {
            let q = self.queue();
            (q.len(), q.dropped())
        };
        Stats::set(&self.stats.queue_batches, len as u64);
        Stats::set(&self.stats.dropped_batches, dropped);
    }
}
