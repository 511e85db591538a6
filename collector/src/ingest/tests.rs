//! Ingest semantics on a real store: acks, idempotent resends, per-stream
//! series declarations, and all-or-nothing rejection.

use std::sync::Arc;

use tocsin_proto::v1::{Hello, Inventory, Label, RegisterRequest, SampleBatch, SeriesDef};

use super::*;
use tocsin_storage::StorageOptions;

pub(super) fn setup(dir: &std::path::Path) -> (Ingestor, Arc<Storage>, Arc<Metrics>) {
    let storage = Arc::new(Storage::open(dir, StorageOptions { sync_writes: false }).unwrap());
    let cmdb = Arc::new(Cmdb::new(storage.db().clone()));
    let metrics = Arc::new(Metrics::default());
    let limits = crate::config::LimitsConfig::default().limits();
    (
        Ingestor::new(storage.clone(), cmdb, limits, metrics.clone()),
        storage,
        metrics,
    )
}

pub(super) fn register(ing: &Ingestor, id: &str) -> u64 {
    let inv = Inventory {
        hostname: "h1".into(),
        cpu_cores: 4,
        ..Default::default()
    };
    ing.register(RegisterRequest {
        agent_id: id.into(),
        agent_version: "t".into(),
        inventory: Some(inv),
    })
    .unwrap()
    .last_acked_seq
}

pub(super) fn def(id: u32, host: &str) -> SeriesDef {
    SeriesDef {
        id,
        metric: "m".into(),
        labels: vec![Label {
            name: "host".into(),
            value: host.into(),
        }],
        kind: 1,
        ci_id: String::new(),
    }
}

pub(super) fn batch(seq: u64, defs: Vec<SeriesDef>, samples: &[(u32, i64, f64)]) -> SampleBatch {
    SampleBatch {
        seq,
        series: defs,
        series_ids: samples.iter().map(|s| s.0).collect(),
        timestamps_ms: samples.iter().map(|s| s.1).collect(),
        values: samples.iter().map(|s| s.2).collect(),
        events: Vec::new(),
    }
}

fn all(storage: &Storage) -> Vec<(i64, f64)> {
    let m = tocsin_query::selector::Matcher::new(
        "__name__",
        tocsin_query::selector::MatchOp::Equal,
        "m",
    )
    .unwrap();
    let ids = storage.series().select(&[m]).unwrap();
    ids.iter()
        .flat_map(|(id, _)| storage.samples(*id, 0, i64::MAX).unwrap())
        .collect()
}

#[test]
fn resent_batches_are_acked_but_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let t = now_ms() - 10_000;
    {
        let (ing, storage, metrics) = setup(dir.path());
        assert_eq!(register(&ing, "a1"), 0);
        let mut s = ing
            .open_session(&Hello {
                agent_id: "a1".into(),
            })
            .unwrap();
        let b1 = batch(1, vec![def(7, "h1")], &[(7, t, 1.0), (7, t + 1, 2.0)]);
        let r = ing.ingest(&mut s, b1.clone());
        assert_eq!((r.code, r.samples_stored), (0, 2), "{r:?}");
        // Ack lost, agent resends on the same stream.
        let r = ing.ingest(&mut s, b1.clone());
        assert_eq!((r.code, r.samples_stored), (0, 0), "{r:?}");
        // A new stream must declare again; a resent batch carries its declarations.
        let mut s2 = ing
            .open_session(&Hello {
                agent_id: "a1".into(),
            })
            .unwrap();
        let r = ing.ingest(&mut s2, batch(2, vec![], &[(7, t + 2, 3.0)]));
        assert_eq!(
            r.code,
            tonic::Code::InvalidArgument as i32,
            "undeclared id on a new stream: {r:?}"
        );
        let r = ing.ingest(&mut s2, b1);
        assert_eq!((r.code, r.samples_stored), (0, 0));
        let r = ing.ingest(&mut s2, batch(3, vec![], &[(7, t + 2, 3.0)]));
        assert_eq!((r.code, r.samples_stored), (0, 1), "{r:?}");
        assert_eq!(all(&storage), vec![(t, 1.0), (t + 1, 2.0), (t + 2, 3.0)]);
        assert_eq!(metrics.batches_duplicate.get(), 2);
    }
    // After a collector restart the agent learns where its sequence stands.
    let (ing, storage, _) = setup(dir.path());
    assert_eq!(register(&ing, "a1"), 3);
    assert_eq!(all(&storage).len(), 3);
}

#[test]
fn a_rejected_batch_stores_nothing_not_even_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let (ing, storage, metrics) = setup(dir.path());
    register(&ing, "a2");
    let mut s = ing
        .open_session(&Hello {
            agent_id: "a2".into(),
        })
        .unwrap();
    let t = now_ms();
    let mut bad_def = def(2, "x");
    bad_def.metric = "no spaces allowed".into();
    let r = ing.ingest(&mut s, batch(1, vec![def(1, "h"), bad_def], &[(1, t, 1.0)]));
    assert_eq!(r.code, tonic::Code::InvalidArgument as i32);
    assert!(r.message.contains("invalid metric name"), "{}", r.message);
    assert!(
        storage.series().is_empty(),
        "no series may be created by a rejected batch"
    );
    let r = ing.ingest(
        &mut s,
        batch(2, vec![def(1, "h")], &[(1, t, 1.0), (1, t + 1, f64::NAN)]),
    );
    assert_eq!(r.code, tonic::Code::InvalidArgument as i32);
    assert!(all(&storage).is_empty());
    assert!(
        metrics
            .render(&storage)
            .contains("tocsin_ingest_batches_rejected_total{reason=\"non_finite_value\"} 1")
    );
    // Redeclaring a stream id with other labels is refused.
    assert_eq!(
        ing.ingest(&mut s, batch(3, vec![def(1, "h")], &[(1, t, 1.0)]))
            .code,
        0
    );
    let r = ing.ingest(&mut s, batch(4, vec![def(1, "other")], &[(1, t + 5, 1.0)]));
    assert_eq!(r.code, tonic::Code::InvalidArgument as i32, "{r:?}");
}

#[test]
fn streams_need_a_registered_valid_agent() {
    let dir = tempfile::tempdir().unwrap();
    let (ing, _, _) = setup(dir.path());
    assert!(matches!(
        ing.open_session(&Hello {
            agent_id: "ghost".into()
        }),
        Err(Error::Protocol(_))
    ));
    let bad = RegisterRequest {
        agent_id: "bad id with spaces".into(),
        ..Default::default()
    };
    assert!(matches!(ing.register(bad), Err(Error::InvalidRequest(_))));
}

/// Records what the observer hook is told.
#[derive(Default)]
struct Recorder {
    seen: std::sync::atomic::AtomicUsize,
    observed: std::sync::atomic::AtomicUsize,
}

impl SampleObserver for Recorder {
    fn observe(&self, samples: &[ObservedSample<'_>], _: std::time::Instant) {
        self.observed
            .fetch_add(samples.len(), std::sync::atomic::Ordering::SeqCst);
    }
    fn seen(&self, _: &CiContext) {
        self.seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn every_batch_proves_the_agent_alive_but_only_stored_samples_are_evaluated() {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().unwrap();
    let (ing, _, _) = setup(dir.path());
    let rec = Arc::new(Recorder::default());
    let ing = ing.with_observer(rec.clone());
    register(&ing, "a3");
    let mut s = ing
        .open_session(&Hello {
            agent_id: "a3".into(),
        })
        .unwrap();
    assert_eq!(
        rec.seen.load(SeqCst),
        1,
        "connecting counts as a sign of life"
    );
    let t = now_ms();
    let ok = batch(1, vec![def(1, "h")], &[(1, t, 1.0), (1, t + 1, 2.0)]);
    assert_eq!(ing.ingest(&mut s, ok.clone()).code, 0);
    assert_eq!(ing.ingest(&mut s, ok).code, 0, "duplicate");
    assert_ne!(
        ing.ingest(&mut s, batch(2, vec![], &[(1, t + 2, f64::NAN)]))
            .code,
        0,
        "rejected"
    );
    assert_eq!(rec.seen.load(SeqCst), 4);
    assert_eq!(
        rec.observed.load(SeqCst),
        2,
        "duplicates and rejected batches are not evaluated"
    );
}
