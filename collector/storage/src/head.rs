//! The in-memory head: the newest chunk of every active series, plus chunks
//! sealed since the last checkpoint.

use std::collections::HashMap;

use super::chunk::{self, MAX_CHUNK_SAMPLES, partition_start};
use super::db::{Cf, Db, WriteTx};
use super::{AppendOutcome, Sample, StorageError, keys};
use tocsin_model::SeriesId;

#[derive(Default)]
struct HeadSeries {
    /// Full chunks not yet written to the `chunks` column family.
    sealed: Vec<Vec<(i64, f64)>>,
    /// The chunk being appended to (time-ordered, non-empty once loaded).
    current: Vec<(i64, f64)>,
    dirty: bool,
}

impl HeadSeries {
    fn last_ts(&self) -> Option<i64> {
        self.current.last().map(|s| s.0)
    }
}

/// Counts for the collector's own metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadStats {
    /// Series with a chunk in memory.
    pub series: usize,
    /// Samples held in memory.
    pub samples: usize,
}

/// See the module docs.
#[derive(Default)]
pub struct Head {
    series: HashMap<SeriesId, HeadSeries>,
}

impl Head {
    /// Appends time-ordered samples, skipping any not newer than what the series holds.
    pub fn append(&mut self, db: &Db, samples: &[Sample]) -> Result<AppendOutcome, StorageError> {
        let mut outcome = AppendOutcome::default();
        for &(id, ts, v) in samples {
            let s = match self.series.get_mut(&id) {
                Some(s) => s,
                None => {
                    let loaded = load_last_chunk(db, id)?;
                    self.series.entry(id).or_insert(loaded)
                }
            };
            if s.last_ts().is_some_and(|last| ts <= last) {
                outcome.skipped += 1;
                continue;
            }
            if let Some(first) = s.current.first()
                && (s.current.len() >= MAX_CHUNK_SAMPLES
                    || partition_start(first.0) != partition_start(ts))
            {
                let full = std::mem::take(&mut s.current);
                s.sealed.push(full);
            }
            s.current.push((ts, v));
            s.dirty = true;
            outcome.stored += 1;
        }
        Ok(outcome)
    }

    /// Samples of `id` in `[start, end]` held in memory, and the start keys of
    /// the in-memory chunks (stored chunks with those keys are older copies).
    pub fn read(&self, id: SeriesId, start: i64, end: i64) -> (Vec<(i64, f64)>, Vec<i64>) {
        let Some(s) = self.series.get(&id) else {
            return (Vec::new(), Vec::new());
        };
        let chunks = s
            .sealed
            .iter()
            .chain(std::iter::once(&s.current))
            .filter(|c| !c.is_empty());
        let mut samples = Vec::new();
        let mut starts = Vec::new();
        for c in chunks {
            starts.push(c[0].0);
            samples.extend(c.iter().filter(|(t, _)| *t >= start && *t <= end));
        }
        (samples, starts)
    }

    /// Adds a put of every changed chunk to `batch`; returns how many.
    pub fn persist_into(&self, batch: &mut WriteTx) -> usize {
        let mut n = 0;
        for (id, s) in self.series.iter().filter(|(_, s)| s.dirty) {
            for c in s
                .sealed
                .iter()
                .chain(std::iter::once(&s.current))
                .filter(|c| !c.is_empty())
            {
                batch.put(Cf::Chunks, keys::chunk(*id, c[0].0), chunk::encode(c));
                n += 1;
            }
        }
        n
    }

    /// Forgets sealed chunks and dirty marks after [`Head::persist_into`]'s batch was written.
    pub fn mark_persisted(&mut self) {
        for s in self.series.values_mut() {
            s.sealed.clear();
            s.dirty = false;
        }
    }

    /// Sizes for metrics.
    pub fn stats(&self) -> HeadStats {
        HeadStats {
            series: self.series.len(),
            samples: self
                .series
                .values()
                .map(|s| s.current.len() + s.sealed.iter().map(Vec::len).sum::<usize>())
                .sum(),
        }
    }
}

/// The newest stored chunk of a series becomes its current head chunk, so
/// appends continue it and duplicates of stored samples are recognised.
fn load_last_chunk(db: &Db, id: SeriesId) -> Result<HeadSeries, StorageError> {
    let mut s = HeadSeries::default();
    if let Some((_, value)) = db.last_with_prefix(Cf::Chunks, &keys::chunk_series_prefix(id))? {
        chunk::decode_into(&value, i64::MIN, i64::MAX, &mut s.current)?;
    }
    Ok(s)
}
