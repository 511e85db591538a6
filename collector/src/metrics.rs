//! The collector's own health, exported in Prometheus text format on `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use tocsin_storage::{Cf, Storage};

type Labeled<M> = Family<Vec<(String, String)>, M>;

/// Every metric the collector exports about itself.
pub struct Metrics {
    registry: Registry,
    /// Samples stored.
    pub samples_ingested: Counter,
    /// Samples skipped as duplicates of stored ones.
    pub samples_skipped: Counter,
    /// Batches stored.
    pub batches_accepted: Counter,
    /// Batches acknowledged again without writing (resent after a lost ack).
    pub batches_duplicate: Counter,
    /// Batches (or streams) rejected, by reason.
    pub batches_rejected: Labeled<Counter>,
    /// Agent streams open now.
    pub agents_connected: Gauge,
    /// Rule events handed to the incident manager.
    pub rule_events: Counter,
    /// Batch arrival → rule events evaluated and incidents persisted, seconds.
    pub sample_to_incident: Histogram,
    /// Device reports applied to the CMDB.
    pub device_reports: Counter,
    /// Device events (SNMP traps) stored, by kind.
    pub device_events: Labeled<Counter>,
    /// Notification delivery attempts, by receiver and outcome.
    pub notification_attempts: Labeled<Counter>,
    storage_bytes: Labeled<Gauge>,
    series: Gauge,
    head_samples: Gauge,
    head_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            samples_ingested: Counter::default(),
            samples_skipped: Counter::default(),
            batches_accepted: Counter::default(),
            batches_duplicate: Counter::default(),
            batches_rejected: Labeled::default(),
            agents_connected: Gauge::default(),
            rule_events: Counter::default(),
            sample_to_incident: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            device_reports: Counter::default(),
            device_events: Labeled::default(),
            notification_attempts: Labeled::default(),
            storage_bytes: Labeled::default(),
            series: Gauge::default(),
            head_samples: Gauge::default(),
            head_bytes: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "tocsin_ingest_samples",
            "Samples durably stored",
            m.samples_ingested.clone(),
        );
        registry.register(
            "tocsin_ingest_samples_skipped",
            "Samples skipped because a sample with the same or a newer timestamp was stored",
            m.samples_skipped.clone(),
        );
        registry.register(
            "tocsin_ingest_batches",
            "Batches durably stored",
            m.batches_accepted.clone(),
        );
        registry.register(
            "tocsin_ingest_batches_duplicate",
            "Resent batches acknowledged without being stored again",
            m.batches_duplicate.clone(),
        );
        registry.register(
            "tocsin_ingest_batches_rejected",
            "Batches or streams rejected, by reason",
            m.batches_rejected.clone(),
        );
        registry.register(
            "tocsin_agents_connected",
            "Agent streams currently open",
            m.agents_connected.clone(),
        );
        registry.register(
            "tocsin_storage_bytes",
            "RocksDB bytes per column family and tier (sst on disk, memtable in memory)",
            m.storage_bytes.clone(),
        );
        registry.register(
            "tocsin_rule_events",
            "Rule events handed to the incident manager",
            m.rule_events.clone(),
        );
        registry.register(
            "tocsin_sample_to_incident_seconds",
            "Batch arrival until its rule events are evaluated and the incidents persisted",
            m.sample_to_incident.clone(),
        );
        registry.register(
            "tocsin_device_reports",
            "Device reports (SNMP-polled device CIs) applied to the CMDB",
            m.device_reports.clone(),
        );
        registry.register(
            "tocsin_device_events",
            "Device events (SNMP traps and informs) stored, by kind",
            m.device_events.clone(),
        );
        registry.register(
            "tocsin_notification_attempts",
            "Notification delivery attempts, by receiver and outcome (delivered, retry, failed)",
            m.notification_attempts.clone(),
        );
        registry.register("tocsin_series", "Series in the index", m.series.clone());
        registry.register(
            "tocsin_head_samples",
            "Samples held in the in-memory head",
            m.head_samples.clone(),
        );
        registry.register(
            "tocsin_head_bytes",
            "Bytes of compressed samples held in the in-memory head",
            m.head_bytes.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Counts one rejection.
    pub fn reject(&self, reason: &str) {
        self.batches_rejected
            .get_or_create(&vec![("reason".to_string(), reason.to_string())])
            .inc();
    }

    /// Counts one stored device event.
    pub fn device_event(&self, kind: &str) {
        self.device_events
            .get_or_create(&vec![("kind".to_string(), kind.to_string())])
            .inc();
    }

    /// Counts one delivery attempt.
    pub fn notification_attempt(&self, receiver: &str, outcome: &str) {
        self.notification_attempts
            .get_or_create(&vec![
                ("receiver".to_string(), receiver.to_string()),
                ("outcome".to_string(), outcome.to_string()),
            ])
            .inc();
    }

    /// Renders the exposition text, refreshing the storage gauges first.
    pub fn render(&self, storage: &Storage) -> String {
        for cf in Cf::ALL {
            let (sst, mem) = storage.db().size_bytes(cf);
            for (tier, v) in [("sst", sst), ("memtable", mem)] {
                let labels = vec![
                    ("cf".to_string(), cf.name().to_string()),
                    ("tier".to_string(), tier.to_string()),
                ];
                self.storage_bytes
                    .get_or_create(&labels)
                    .set(i64::try_from(v).unwrap_or(i64::MAX));
            }
        }
        self.series
            .set(i64::try_from(storage.series().len()).unwrap_or(i64::MAX));
        let head = storage.head_stats();
        self.head_samples
            .set(i64::try_from(head.samples).unwrap_or(i64::MAX));
        self.head_bytes
            .set(i64::try_from(head.bytes).unwrap_or(i64::MAX));
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        out
    }
}

impl tocsin_notify::AttemptObserver for Metrics {
    fn attempt(&self, receiver: &str, outcome: &str) {
        self.notification_attempt(receiver, outcome);
    }
}
