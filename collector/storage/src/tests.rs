//! Storage round trips through RocksDB on disk: log replay after a crash,
//! checkpoints, chunk cutting, and duplicate suppression.

use std::path::Path;

use super::chunk::{MAX_CHUNK_SAMPLES, PARTITION_MS};
use super::*;

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % PARTITION_MS;

fn open(dir: &Path) -> Storage {
    Storage::open(dir, StorageOptions { sync_writes: false }).unwrap()
}

fn series(s: &Storage, host: &str) -> SeriesId {
    let labels = vec![
        ("__name__".to_string(), "m".to_string()),
        ("host".to_string(), host.to_string()),
    ];
    s.series().resolve(&labels, 1, false).unwrap()
}

#[test]
fn log_is_replayed_after_a_crash_and_duplicates_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    {
        let s = open(dir.path());
        id = series(&s, "a");
        let out = s
            .append(&[(id, T0, 1.0), (id, T0 + 1000, 2.0)], s.db().tx())
            .unwrap();
        assert_eq!(
            out,
            AppendOutcome {
                stored: 2,
                skipped: 0
            }
        );
        // Dropped without a checkpoint: only the ingest log has the samples.
    }
    let s = open(dir.path());
    assert_eq!(series(&s, "a"), id, "series ids are stable across restarts");
    assert_eq!(
        s.samples(id, T0, T0 + 5000).unwrap(),
        vec![(T0, 1.0), (T0 + 1000, 2.0)]
    );
    // The same samples again (a resent batch) are not stored twice.
    let out = s
        .append(&[(id, T0 + 1000, 2.0), (id, T0 + 2000, 3.0)], s.db().tx())
        .unwrap();
    assert_eq!(
        out,
        AppendOutcome {
            stored: 1,
            skipped: 1
        }
    );
    assert_eq!(s.samples(id, T0, T0 + 5000).unwrap().len(), 3);
}

#[test]
fn checkpoint_moves_samples_to_chunks_and_truncates_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b);
    {
        let s = open(dir.path());
        a = series(&s, "a");
        b = series(&s, "b");
        // Enough samples to cut several chunks, crossing a partition boundary.
        let n = MAX_CHUNK_SAMPLES as i64 * 3;
        let step = PARTITION_MS / MAX_CHUNK_SAMPLES as i64 / 2;
        let samples: Vec<Sample> = (0..n)
            .flat_map(|i| {
                [
                    (a, T0 + i * step, i as f64),
                    (b, T0 + i * step, -(i as f64)),
                ]
            })
            .collect();
        s.append(&samples, s.db().tx()).unwrap();
        assert!(s.checkpoint().unwrap() >= 6);
        assert!(
            s.db().iter_prefix(Cf::Log, &[keys::LOG]).next().is_none(),
            "log truncated"
        );
        // More samples after the checkpoint live only in the log.
        s.append(&[(a, T0 + n * step, 9999.0)], s.db().tx())
            .unwrap();
    }
    let s = open(dir.path());
    let n = MAX_CHUNK_SAMPLES * 3;
    let all_a = s.samples(a, i64::MIN / 2, i64::MAX / 2).unwrap();
    assert_eq!(all_a.len(), n + 1);
    assert!(
        all_a.windows(2).all(|w| w[0].0 < w[1].0),
        "time-ordered, no duplicates"
    );
    assert_eq!(all_a.last().unwrap().1, 9999.0);
    let all_b = s.samples(b, i64::MIN / 2, i64::MAX / 2).unwrap();
    assert_eq!(all_b.len(), n);
    // A range inside one stored chunk returns just that range.
    let step = PARTITION_MS / MAX_CHUNK_SAMPLES as i64 / 2;
    let part = s.samples(a, T0 + 10 * step, T0 + 19 * step).unwrap();
    assert_eq!(part.len(), 10);
    assert_eq!(part[0], (T0 + 10 * step, 10.0));
    // Appends continue after a restart without duplicating the chunk the head reloaded.
    s.append(&[(b, T0 + n as i64 * step, 1.0)], s.db().tx())
        .unwrap();
    s.checkpoint().unwrap();
    assert_eq!(
        s.samples(b, i64::MIN / 2, i64::MAX / 2).unwrap().len(),
        n + 1
    );
}

#[test]
fn select_uses_postings_and_label_matchers() {
    use tocsin_model::{MatchOp, Matcher};
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let (a, b) = (series(&s, "a"), series(&s, "b"));
    let other = s
        .series()
        .resolve(
            &vec![
                ("__name__".to_string(), "other".to_string()),
                ("host".to_string(), "a".to_string()),
            ],
            2,
            false,
        )
        .unwrap();
    let m = |n: &str, op, v: &str| Matcher::new(n, op, v).unwrap();
    let ids = |ms: &[Matcher]| {
        s.series()
            .select(ms)
            .unwrap()
            .into_iter()
            .map(|x| x.0)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&[m("__name__", MatchOp::Equal, "m")]), vec![a, b]);
    assert_eq!(
        ids(&[
            m("__name__", MatchOp::Equal, "m"),
            m("host", MatchOp::NotEqual, "a")
        ]),
        vec![b]
    );
    assert_eq!(ids(&[m("host", MatchOp::Regex, "a|z")]), vec![a, other]);
    assert_eq!(
        ids(&[
            m("__name__", MatchOp::NotRegex, "m"),
            m("host", MatchOp::Equal, "a")
        ]),
        vec![other]
    );
    assert!(ids(&[m("host", MatchOp::Equal, "nope")]).is_empty());
    assert_eq!(s.series().label_values("host"), vec!["a", "b"]);
    assert_eq!(s.series().label_names(), vec!["__name__", "host"]);
    assert_eq!(s.series().get(other).unwrap().kind, 2);
}

#[test]
fn chunks_of_encoding_1_stay_readable_and_are_continued_in_encoding_2() {
    use super::chunk::{ENCODING_COMPRESSED, ENCODING_DELTA_F64, delta_f64};
    let dir = tempfile::tempdir().unwrap();
    let id;
    // Values no decimal scale captures exactly, and the special ones.
    let old: Vec<(i64, f64)> = (0..50)
        .map(|i| (T0 + i * 1000, (i as f64).sqrt()))
        .chain([
            (T0 + 50_000, f64::NAN),
            (T0 + 51_000, -0.0),
            (T0 + 52_000, f64::INFINITY),
            (T0 + 53_000, f64::MIN_POSITIVE / 3.0),
        ])
        .collect();
    {
        let s = open(dir.path());
        id = series(&s, "legacy");
        // A chunk as an older collector wrote it.
        let mut tx = s.db().tx();
        tx.put(Cf::Chunks, keys::chunk(id, T0), delta_f64::encode(&old));
        s.db().write(tx, true).unwrap();
    }
    let s = open(dir.path());
    let bits = |v: &[(i64, f64)]| v.iter().map(|(t, x)| (*t, x.to_bits())).collect::<Vec<_>>();
    let read = s.samples(id, T0, T0 + PARTITION_MS).unwrap();
    assert_eq!(bits(&read), bits(&old), "encoding 1 reads bit-exactly");
    // New samples continue the same chunk, which is rewritten in encoding 2.
    s.append(
        &[(id, T0 + 54_000, 1.5), (id, T0 + 55_000, 2.5)],
        s.db().tx(),
    )
    .unwrap();
    s.checkpoint().unwrap();
    let stored = s
        .db()
        .get(Cf::Chunks, &keys::chunk(id, T0))
        .unwrap()
        .unwrap();
    assert_eq!(stored[0], ENCODING_COMPRESSED);
    assert_ne!(stored[0], ENCODING_DELTA_F64);
    let mut want = old.clone();
    want.extend([(T0 + 54_000, 1.5), (T0 + 55_000, 2.5)]);
    drop(s);
    let s = open(dir.path());
    let read = s.samples(id, T0, T0 + PARTITION_MS).unwrap();
    assert_eq!(bits(&read), bits(&want));
}

#[test]
fn the_head_holds_its_open_chunks_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let ids: Vec<SeriesId> = (0..100).map(|i| series(&s, &format!("h{i}"))).collect();
    // One sample per second for two minutes: a counter and a gauge with two decimals.
    for t in 0..120 {
        let batch: Vec<Sample> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let v = if i % 2 == 0 {
                    (t * 17 + i as i64) as f64
                } else {
                    ((t * 7 + i as i64) % 1000) as f64 / 100.0
                };
                (*id, T0 + t * 1000, v)
            })
            .collect();
        s.append(&batch, s.db().tx()).unwrap();
    }
    let stats = s.head_stats();
    assert_eq!(stats.samples, 12_000);
    // Raw, the head held 16 bytes per sample.
    assert!(
        stats.bytes * 8 < stats.samples * 16,
        "{} bytes for {} samples",
        stats.bytes,
        stats.samples
    );
}
