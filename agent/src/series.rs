//! The series registry: gives every (CI, metric, labels, kind) an agent-local
//! `u32` id that stays the same for the life of the process, and tracks which
//! ids were already declared on the current stream.
//!
//! Host series (the agent's own CI) have static metric and label names and a
//! map of their own, so the host collection path allocates nothing extra.
//! Device series (SNMP-polled CIs) have owned names, carry the device id in
//! `SeriesDef.ci_id` and as their `host` label, and never the agent's extra labels.
//! They are found by a hash of their strings in a compact [`SeriesTable`]
//! ([`table`]) whose strings are interned once ([`intern`]): an agent polling
//! hundreds of devices holds ~150,000 series.
//!
//! Batches only carry ids; [`encode_batch`] adds a `SeriesDef` for each id the
//! stream has not seen yet. A new stream (after a reconnect) starts with
//! nothing declared, so resent batches declare again what they use.

mod intern;
mod sample;
mod table;

use std::collections::HashMap;

use tocsin_proto::v1::{Label, MetricKind, SampleBatch, SeriesDef};

use crate::queue::Batch;
pub use intern::{Interner, Sym};
pub use sample::PolledSample;
pub use table::{Series, SeriesTable, SeriesView};

/// Label names the agent sets itself; configured extra labels may not use them.
pub const RESERVED_LABELS: &[&str] = &[
    "host",
    "cpu",
    "mountpoint",
    "device",
    "fstype",
    "interface",
    "sensor",
];

/// Prometheus metric type of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A value that goes up and down.
    Gauge,
    /// A value that only goes up (except when the source restarts).
    Counter,
}

impl From<Kind> for MetricKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Gauge => MetricKind::Gauge,
            Kind::Counter => MetricKind::Counter,
        }
    }
}

/// One measured value, before it is given a series id.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name, e.g. `node_load1`.
    pub metric: &'static str,
    /// Gauge or counter.
    pub kind: Kind,
    /// Labels specific to this series (the host and extra labels are added by the registry).
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

impl Sample {
    /// A gauge sample without labels.
    pub fn gauge(metric: &'static str, value: f64) -> Self {
        Self {
            metric,
            kind: Kind::Gauge,
            labels: Vec::new(),
            value,
        }
    }

    /// A counter sample without labels.
    pub fn counter(metric: &'static str, value: f64) -> Self {
        Self {
            metric,
            kind: Kind::Counter,
            labels: Vec::new(),
            value,
        }
    }

    /// Adds a label.
    pub fn label(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.labels.push((name, value.into()));
        self
    }
}

/// Key of a host series with static names: looked up without allocating.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Key {
    metric: &'static str,
    kind: Kind,
    labels: Vec<(&'static str, String)>,
}

/// Maps series to agent-local ids; ids start at 1 and are never reused.
///
/// Definitions live in a compact [`SeriesTable`] (interned strings, about
/// 50 bytes a series); a series' `SeriesDef` is built by [`Registry::def`]
/// when a stream declares it.
#[derive(Debug)]
pub struct Registry {
    common: Vec<(String, String)>,
    /// Host series with static names (the collection path), by key.
    ids: HashMap<Key, u32>,
    /// Every series' definition; device series are also found by hash there.
    table: SeriesTable,
}

impl Registry {
    /// A registry adding `common` labels (host and configured extras) to every series.
    pub fn new(common: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            common: common.into_iter().collect(),
            ids: HashMap::new(),
            table: SeriesTable::new(),
        }
    }

    /// The id of the sample's series, registering it on first sight.
    pub fn id(
        &mut self,
        metric: &'static str,
        kind: Kind,
        mut labels: Vec<(&'static str, String)>,
    ) -> u32 {
        labels.sort();
        let key = Key {
            metric,
            kind,
            labels,
        };
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let id = self.table.insert(Series {
            ci: "",
            metric,
            kind,
            labels: &key.labels,
        });
        self.ids.insert(key, id);
        id
    }

    /// The id of a series of CI `ci_id`, registering it on first sight.
    ///
    /// For a device (`ci_id` not empty) the labels are `labels` plus `host` =
    /// `ci_id` (a `host` label in `labels` is replaced); the agent's common
    /// labels are not added. With `ci_id` empty the series is the host's and
    /// gets the common labels, as [`Registry::id`] does.
    pub fn ci_series_id(
        &mut self,
        ci_id: &str,
        metric: String,
        kind: Kind,
        mut labels: Vec<(String, String)>,
    ) -> u32 {
        if !ci_id.is_empty() {
            labels.retain(|(n, _)| n != "host");
        }
        labels.sort();
        labels.dedup_by(|b, a| a.0 == b.0);
        self.table.id_of(Series {
            ci: ci_id,
            metric: &metric,
            kind,
            labels: &labels,
        })
    }

    /// Turns samples polled from CI `ci_id` (see [`Registry::ci_series_id`]) into
    /// `(id, value)` pairs; non-finite values are skipped.
    pub fn intern_polled(&mut self, ci_id: &str, samples: Vec<PolledSample>) -> Vec<(u32, f64)> {
        let mut out = Vec::with_capacity(samples.len());
        for s in samples {
            if !s.value.is_finite() {
                continue;
            }
            let kind = if s.counter {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            out.push((self.ci_series_id(ci_id, s.metric, kind, s.labels), s.value));
        }
        out
    }

    /// Turns samples into `(id, value)` pairs; non-finite values are skipped.
    pub fn intern(&mut self, samples: Vec<Sample>) -> Vec<(u32, f64)> {
        samples
            .into_iter()
            .filter(|s| s.value.is_finite())
            .map(|s| (self.id(s.metric, s.kind, s.labels), s.value))
            .collect()
    }

    /// The declaration of `id`, built from the stored definition: its own
    /// labels plus the common labels (host series) or `host` = CI id
    /// (devices), sorted by name, the series' own label winning a clash.
    pub fn def(&self, id: u32) -> Option<SeriesDef> {
        let series = self.table.get(id)?;
        let label = |n: &str, v: &str| Label {
            name: n.to_owned(),
            value: v.to_owned(),
        };
        let mut labels: Vec<Label> = series.labels().map(|(n, v)| label(n, v)).collect();
        if series.ci.is_empty() {
            labels.extend(self.common.iter().map(|(n, v)| label(n, v)));
        } else {
            labels.push(label("host", series.ci));
        }
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        labels.dedup_by(|b, a| a.name == b.name); // series labels win over common ones
        Some(SeriesDef {
            id,
            metric: series.metric.to_owned(),
            labels,
            kind: MetricKind::from(series.kind) as i32,
            ci_id: series.ci.to_owned(),
        })
    }

    /// The CI id of series `id` (empty for the host), without building its definition.
    pub fn ci_of(&self, id: u32) -> Option<&str> {
        self.table.get(id).map(|s| s.ci)
    }

    /// Number of registered series.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no series is registered.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// The ids declared on one stream (a bit set; ids are dense).
#[derive(Debug, Default, Clone)]
pub struct Declared {
    bits: Vec<u64>,
}

impl Declared {
    /// Nothing declared: the state of a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `id` was declared.
    pub fn contains(&self, id: u32) -> bool {
        let (w, b) = (id as usize / 64, id % 64);
        self.bits.get(w).is_some_and(|x| x & (1 << b) != 0)
    }

    /// Marks `id` declared; returns whether it was new.
    pub fn insert(&mut self, id: u32) -> bool {
        let (w, b) = (id as usize / 64, id % 64);
        if self.bits.len() <= w {
            self.bits.resize(w + 1, 0);
        }
        let new = self.bits[w] & (1 << b) == 0;
        self.bits[w] |= 1 << b;
        new
    }

    /// Forgets `id`, so the next batch using it declares it again.
    pub fn remove(&mut self, id: u32) {
        if let Some(x) = self.bits.get_mut(id as usize / 64) {
            *x &= !(1 << (id % 64));
        }
    }
}

/// The wire form of `batch` for a stream whose declarations are `declared`:
/// ids used for the first time on the stream get their `SeriesDef` included.
pub fn encode_batch(batch: &Batch, registry: &Registry, declared: &mut Declared) -> SampleBatch {
    let ids = to_declare(batch, registry, declared);
    let mut wire = wire_batch(batch.clone());
    wire.series = definitions(&ids, registry);
    wire
}

/// The ids `batch` uses for the first time on a stream whose declarations
/// are `declared` (each once, in order of first use), now marked declared.
/// [`encode_batch`] in two steps, so the definitions can be built just
/// before the batch is written out ([`definitions`]).
pub fn to_declare(batch: &Batch, registry: &Registry, declared: &mut Declared) -> Vec<u32> {
    let mut ids = Vec::new();
    for &id in &batch.series_ids {
        if !declared.contains(id) && registry.ci_of(id).is_some() {
            declared.insert(id);
            ids.push(id);
        }
    }
    ids
}

/// The wire form of `batch`, without series definitions.
pub fn wire_batch(batch: Batch) -> SampleBatch {
    SampleBatch {
        seq: batch.seq,
        series: Vec::new(),
        series_ids: batch.series_ids,
        timestamps_ms: batch.timestamps_ms,
        values: batch.values,
        events: batch.events,
    }
}

/// The definitions of `ids` (unknown ids are skipped).
pub fn definitions(ids: &[u32], registry: &Registry) -> Vec<SeriesDef> {
    ids.iter().filter_map(|&id| registry.def(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> Registry {
        Registry::new([
            ("host".to_string(), "h1".to_string()),
            ("env".to_string(), "prod".to_string()),
        ])
    }

    fn batch(seq: u64, ids: &[u32]) -> Batch {
        Batch {
            seq,
            series_ids: ids.to_vec(),
            timestamps_ms: vec![1_700_000_000_000; ids.len()],
            values: vec![1.0; ids.len()],
            events: vec![],
        }
    }

    fn polled(metric: &str, labels: &[(&str, &str)], counter: bool, value: f64) -> PolledSample {
        PolledSample {
            metric: metric.to_owned(),
            labels: labels
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            counter,
            value,
        }
    }

    fn label_pairs(def: &SeriesDef) -> Vec<(&str, &str)> {
        def.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn device_series_carry_the_device_id_not_the_agent_labels() {
        let mut r = registry();
        let host = r.id("node_load1", Kind::Gauge, vec![]);
        let ids = r.intern_polled(
            "sw1",
            vec![
                polled(
                    "snmp_if_in_octets_total",
                    &[("interface", "Gi0/1"), ("alias", "up")],
                    true,
                    5.0,
                ),
                polled("snmp_up", &[], false, 1.0),
                polled("snmp_up", &[("host", "spoofed")], false, f64::NAN),
            ],
        );
        assert_eq!(ids.len(), 2, "non-finite values are skipped");
        let def = r.def(ids[0].0).unwrap();
        assert_eq!(def.ci_id, "sw1");
        assert_eq!(def.metric, "snmp_if_in_octets_total");
        assert_eq!(def.kind, MetricKind::Counter as i32);
        assert_eq!(
            label_pairs(&def),
            vec![("alias", "up"), ("host", "sw1"), ("interface", "Gi0/1")]
        );
        let up = r.def(ids[1].0).unwrap();
        assert_eq!(label_pairs(&up), vec![("host", "sw1")]);
        assert_eq!(up.kind, MetricKind::Gauge as i32);
        // A sample's own `host` label never overrides the device id.
        let spoof = r.ci_series_id(
            "sw1",
            "snmp_up".into(),
            Kind::Gauge,
            vec![("host".into(), "x".into())],
        );
        assert_eq!(spoof, ids[1].0);

        // The same metric and labels on another device (or the host) is another series.
        let other = r.ci_series_id("sw2", "snmp_up".into(), Kind::Gauge, vec![]);
        assert_ne!(other, ids[1].0);
        assert_eq!(r.def(other).unwrap().ci_id, "sw2");
        let on_host = r.ci_series_id("", "snmp_up".into(), Kind::Gauge, vec![]);
        let host_def = r.def(on_host).unwrap();
        assert_eq!(host_def.ci_id, "");
        assert_eq!(
            label_pairs(&host_def),
            vec![("env", "prod"), ("host", "h1")]
        );

        // Host series are unchanged by device series and keep their ids.
        assert_eq!(r.id("node_load1", Kind::Gauge, vec![]), host);
        assert_eq!(r.def(host).unwrap().ci_id, "");
        assert_eq!(
            label_pairs(&r.def(host).unwrap()),
            vec![("env", "prod"), ("host", "h1")]
        );
        // Stable ids on the next poll.
        let again = r.intern_polled("sw1", vec![polled("snmp_up", &[], false, 0.0)]);
        assert_eq!(again, vec![(ids[1].0, 0.0)]);
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let mut r = registry();
        let a = r.id("node_load1", Kind::Gauge, vec![]);
        let b = r.id(
            "node_cpu_core_usage_percent",
            Kind::Gauge,
            vec![("cpu", "0".into())],
        );
        let c = r.id(
            "node_cpu_core_usage_percent",
            Kind::Gauge,
            vec![("cpu", "1".into())],
        );
        let d = r.id("node_load1", Kind::Counter, vec![]);
        assert_eq!((a, b, c, d), (1, 2, 3, 4));
        assert_eq!(
            r.id(
                "node_cpu_core_usage_percent",
                Kind::Gauge,
                vec![("cpu", "1".into())]
            ),
            c
        );
        // Label order does not matter.
        let x = r.id(
            "m",
            Kind::Gauge,
            vec![("device", "sda".into()), ("fstype", "ext4".into())],
        );
        let y = r.id(
            "m",
            Kind::Gauge,
            vec![("fstype", "ext4".into()), ("device", "sda".into())],
        );
        assert_eq!(x, y);
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn definitions_carry_host_and_extra_labels_sorted() {
        let mut r = registry();
        let id = r.id(
            "node_network_receive_bytes_total",
            Kind::Counter,
            vec![("interface", "eth0".into())],
        );
        let def = r.def(id).unwrap();
        let labels: Vec<_> = def
            .labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect();
        assert_eq!(
            labels,
            vec![("env", "prod"), ("host", "h1"), ("interface", "eth0")]
        );
        assert_eq!(def.kind, MetricKind::Counter as i32);
        assert_eq!(def.metric, "node_network_receive_bytes_total");
        assert!(r.def(0).is_none() && r.def(99).is_none());
    }

    #[test]
    fn intern_skips_non_finite_values() {
        let mut r = registry();
        let out = r.intern(vec![
            Sample::gauge("a", 1.0),
            Sample::gauge("b", f64::NAN),
            Sample::gauge("a", 2.0),
        ]);
        assert_eq!(out, vec![(1, 1.0), (1, 2.0)]);
    }

    #[test]
    fn each_stream_declares_an_id_once() {
        let mut r = registry();
        let (a, b) = (
            r.id("a", Kind::Gauge, vec![]),
            r.id("b", Kind::Gauge, vec![]),
        );
        let mut stream1 = Declared::new();
        let w1 = encode_batch(&batch(1, &[a, a]), &r, &mut stream1);
        assert_eq!(
            w1.series.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![a],
            "declared once even if used twice"
        );
        let w2 = encode_batch(&batch(2, &[a, b]), &r, &mut stream1);
        assert_eq!(w2.series.iter().map(|d| d.id).collect::<Vec<_>>(), vec![b]);
        let w3 = encode_batch(&batch(3, &[a, b]), &r, &mut stream1);
        assert!(w3.series.is_empty());
        assert_eq!((w3.seq, w3.series_ids.len(), w3.values.len()), (3, 2, 2));

        // A new stream (reconnect) declares again what the resent batch uses.
        let mut stream2 = Declared::new();
        let again = encode_batch(&batch(2, &[a, b]), &r, &mut stream2);
        assert_eq!(again.series.len(), 2);

        // Forgetting an id makes the next batch declare it again.
        stream2.remove(b);
        let w = encode_batch(&batch(4, &[a, b]), &r, &mut stream2);
        assert_eq!(w.series.iter().map(|d| d.id).collect::<Vec<_>>(), vec![b]);
    }

    #[test]
    fn declared_set_handles_large_ids() {
        let mut d = Declared::new();
        assert!(d.insert(1000) && !d.insert(1000));
        assert!(d.contains(1000) && !d.contains(999) && !d.contains(5000));
        d.remove(1000);
        assert!(!d.contains(1000));
    }
}
