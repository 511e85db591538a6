//! The in-memory head: the newest chunk of every active series, compressed
//! as samples arrive (encoding 2), plus chunks sealed since the last
//! checkpoint.

use std::collections::HashMap;

use super::chunk::compressed::Appender;
use super::chunk::{self, MAX_CHUNK_SAMPLES, partition_start};
use super::db::{Cf, Db, WriteTx};
use super::{AppendOutcome, Sample, StorageError, keys};
use tocsin_model::SeriesId;

/// A chunk sealed since the last checkpoint, already encoded.
struct SealedChunk {
    /// Timestamp of its first sample (its key).
    start: i64,
    /// Samples in it.
    len: usize,
    /// The encoded chunk.
    bytes: Vec<u8>,
}

#[derive(Default)]
struct HeadSeries {
    /// Full chunks not yet written to the `chunks` column family.
    sealed: Vec<SealedChunk>,
    /// The chunk being appended to, compressed as samples arrive.
    current: Appender,
    /// Timestamp of `current`'s first sample.
    current_start: Option<i64>,
    dirty: bool,
}

impl HeadSeries {
    fn last_ts(&self) -> Option<i64> {
        self.current.last_ts()
    }

    /// Moves the current chunk to the sealed ones.
    fn seal(&mut self) {
        if let Some(start) = self.current_start.take() {
            let full = std::mem::take(&mut self.current);
            self.sealed.push(SealedChunk {
                start,
                len: full.len(),
                bytes: full.bytes(),
            });
        }
    }

    /// Appends a sample newer than every sample held.
    fn push(&mut self, ts: i64, v: f64) -> Result<(), StorageError> {
        self.current.push(ts, v)?;
        self.current_start.get_or_insert(ts);
        Ok(())
    }
}

/// Counts for the collector's own metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeadStats {
    /// Series with a chunk in memory.
    pub series: usize,
    /// Samples held in memory.
    pub samples: usize,
    /// Bytes of encoded samples held in memory (open and sealed chunks).
    pub bytes: usize,
}

/// What the head holds of one series in a time range: the samples, and the
/// start keys of its in-memory chunks.
pub type HeadRead = (Vec<(i64, f64)>, Vec<i64>);

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
            if let Some(first) = s.current_start
                && (s.current.len() >= MAX_CHUNK_SAMPLES
                    || partition_start(first) != partition_start(ts))
            {
                s.seal();
            }
            s.push(ts, v)?;
            s.dirty = true;
            outcome.stored += 1;
        }
        Ok(outcome)
    }

    /// Samples of `id` in `[start, end]` held in memory, and the start keys of
    /// the in-memory chunks (stored chunks with those keys are older copies).
    pub fn read(&self, id: SeriesId, start: i64, end: i64) -> Result<HeadRead, StorageError> {
        let mut samples = Vec::new();
        let mut starts = Vec::new();
        let Some(s) = self.series.get(&id) else {
            return Ok((samples, starts));
        };
        for c in &s.sealed {
            starts.push(c.start);
            chunk::decode_into(&c.bytes, start, end, &mut samples)?;
        }
        if let Some(first) = s.current_start {
            starts.push(first);
            chunk::decode_into(&s.current.bytes(), start, end, &mut samples)?;
        }
        Ok((samples, starts))
    }

    /// Adds a put of every changed chunk to `batch`; returns how many.
    pub fn persist_into(&self, batch: &mut WriteTx) -> usize {
        let mut n = 0;
        for (id, s) in self.series.iter().filter(|(_, s)| s.dirty) {
            for c in &s.sealed {
                batch.put(Cf::Chunks, keys::chunk(*id, c.start), &c.bytes);
                n += 1;
            }
            if let Some(first) = s.current_start {
                batch.put(Cf::Chunks, keys::chunk(*id, first), s.current.bytes());
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
        let mut stats = HeadStats {
            series: self.series.len(),
            ..HeadStats::default()
        };
        for s in self.series.values() {
            stats.samples += s.current.len() + s.sealed.iter().map(|c| c.len).sum::<usize>();
            stats.bytes +=
                s.current.encoded_len() + s.sealed.iter().map(|c| c.bytes.len()).sum::<usize>();
        }
        stats
    }
}

/// The newest stored chunk of a series becomes its current head chunk, so
/// appends continue it and duplicates of stored samples are recognised.
fn load_last_chunk(db: &Db, id: SeriesId) -> Result<HeadSeries, StorageError> {
    let mut s = HeadSeries::default();
    if let Some((_, value)) = db.last_with_prefix(Cf::Chunks, &keys::chunk_series_prefix(id))? {
        let mut stored = Vec::new();
        chunk::decode_into(&value, i64::MIN, i64::MAX, &mut stored)?;
        for (ts, v) in stored {
            s.push(ts, v)?;
        }
    }
    Ok(s)
}
