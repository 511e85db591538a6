//! The collector's only door to RocksDB.
//!
//! Samples take this path: an ingested batch is written as one record of the
//! ingest log (together with the agent's batch sequence number, in one
//! atomic, WAL-backed write), then appended to the in-memory head, which
//! holds the newest chunk of every series. A periodic checkpoint writes the
//! head's chunks into the `chunks` column family and drops the log records it
//! covers; after a crash the log is replayed into the head. Readers merge
//! stored chunks with the head.

pub mod chunk;
mod db;
mod head;
pub mod keys;
mod logrec;
mod series;

pub use db::{Cf, Db, KeyValue, WriteTx};
pub use head::HeadStats;
pub use series::{SeriesDef, SeriesIndex};

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use thiserror::Error;

use head::Head;
use tocsin_model::{Labels, SeriesId};

/// Errors of the storage layer.
#[derive(Debug, Error)]
pub enum StorageError {
    /// RocksDB reported an error.
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    /// A stored record could not be decoded.
    #[error("corrupt data: {0}")]
    Corrupt(String),
}

impl tocsin_model::Kinded for StorageError {
    fn kind(&self) -> tocsin_model::ErrorKind {
        tocsin_model::ErrorKind::Internal
    }
}

/// Storage tuning from the collector config.
#[derive(Debug, Clone)]
pub struct StorageOptions {
    /// fsync the WAL before acknowledging a write (survives power loss, not just a crash).
    pub sync_writes: bool,
}

/// One sample ready to store: (series id, timestamp ms, value).
pub type Sample = (SeriesId, i64, f64);

/// Result of appending a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples added.
    pub stored: u32,
    /// Samples skipped because a sample with the same or a newer timestamp was already stored.
    pub skipped: u32,
}

/// The collector's store: series index, samples, and the raw column families
/// other modules (CMDB, agent state) keep their records in.
pub struct Storage {
    db: Arc<Db>,
    series: SeriesIndex,
    head: Mutex<Head>,
    /// Ingest holds it shared while writing a log record and applying it to the
    /// head; a checkpoint holds it exclusively, so it never drops a log record
    /// whose samples are not in the head yet.
    gate: RwLock<()>,
    next_log_seq: AtomicU64,
    /// Samples appended since the last checkpoint (they live in the log and the head).
    unpersisted: AtomicU64,
    options: StorageOptions,
}

impl Storage {
    /// Opens (or creates) the store in `dir` and recovers the head from the log.
    pub fn open(dir: &Path, options: StorageOptions) -> Result<Self, StorageError> {
        let db = Arc::new(Db::open(dir)?);
        let series = SeriesIndex::load(db.clone())?;
        let checkpoint = db
            .get(Cf::Meta, keys::CHECKPOINT)?
            .map(|v| decode_u64(&v))
            .transpose()?
            .unwrap_or(0);
        let storage = Self {
            db: db.clone(),
            series,
            head: Mutex::new(Head::default()),
            gate: RwLock::new(()),
            next_log_seq: AtomicU64::new(checkpoint + 1),
            unpersisted: AtomicU64::new(0),
            options,
        };
        storage.replay_log(checkpoint)?;
        Ok(storage)
    }

    /// The raw database, for modules that keep their own records (CMDB, agent state).
    pub fn db(&self) -> &Arc<Db> {
        &self.db
    }

    /// The series index.
    pub fn series(&self) -> &SeriesIndex {
        &self.series
    }

    /// Whether writes are fsynced before they are acknowledged.
    pub fn sync_writes(&self) -> bool {
        self.options.sync_writes
    }

    fn replay_log(&self, checkpoint: u64) -> Result<(), StorageError> {
        let mut head = self.head.lock();
        let mut last = checkpoint;
        let mut replayed = 0usize;
        for item in self.db.iter_from(Cf::Log, &keys::log(checkpoint + 1)) {
            let (key, value) = item?;
            let seq = keys::decode_log(&key)?;
            let samples = logrec::decode(&value)?;
            replayed += samples.len();
            head.append(&self.db, &samples)?;
            last = seq;
        }
        self.next_log_seq.store(last + 1, Ordering::SeqCst);
        tracing::info!(
            checkpoint,
            last_log_seq = last,
            samples = replayed,
            "recovered ingest log"
        );
        Ok(())
    }

    /// Durably writes `samples` plus the caller's extra records (`extra`, e.g.
    /// the agent's batch sequence number) in one atomic write, then makes the
    /// samples visible to readers. Samples of a series must be in time order;
    /// ones not newer than what is stored are skipped, so a resent batch never
    /// duplicates data.
    pub fn append(
        &self,
        samples: &[Sample],
        extra: WriteTx,
    ) -> Result<AppendOutcome, StorageError> {
        let _shared = self.gate.read();
        let mut batch = extra;
        if !samples.is_empty() {
            let seq = self.next_log_seq.fetch_add(1, Ordering::SeqCst);
            batch.put(Cf::Log, keys::log(seq), logrec::encode(samples));
        }
        self.db.write(batch, self.options.sync_writes)?;
        let outcome = self.head.lock().append(&self.db, samples)?;
        self.unpersisted
            .fetch_add(u64::from(outcome.stored), Ordering::Relaxed);
        Ok(outcome)
    }

    /// Samples stored since the last checkpoint; the checkpoint loop also
    /// runs early when this grows large, which bounds memory and log size.
    pub fn unpersisted_samples(&self) -> u64 {
        self.unpersisted.load(Ordering::Relaxed)
    }

    /// Writes the head's chunks to the `chunks` column family and drops the log
    /// records they cover. Returns the number of chunks written.
    pub fn checkpoint(&self) -> Result<usize, StorageError> {
        let _exclusive = self.gate.write();
        let covered = self.next_log_seq.load(Ordering::SeqCst) - 1;
        let mut head = self.head.lock();
        let mut batch = self.db.tx();
        let written = head.persist_into(&mut batch);
        batch.delete_range(Cf::Log, keys::log(0), keys::log(covered + 1));
        batch.put(Cf::Meta, keys::CHECKPOINT, covered.to_be_bytes());
        self.db.write(batch, true)?;
        head.mark_persisted();
        self.unpersisted.store(0, Ordering::Relaxed);
        tracing::debug!(chunks = written, log_seq = covered, "checkpoint written");
        Ok(written)
    }

    /// Samples of one series with `start_ms <= t <= end_ms`, in time order.
    pub fn samples(
        &self,
        id: SeriesId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(i64, f64)>, StorageError> {
        let (memory_chunks, memory_starts) = self.head.lock().read(id, start_ms, end_ms)?;
        let mut out = Vec::new();
        let from = keys::chunk(id, chunk::partition_start(start_ms));
        let prefix = keys::chunk_series_prefix(id);
        for item in self.db.iter_from(Cf::Chunks, &from) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) {
                break;
            }
            let (_, chunk_start) = keys::decode_chunk(&key)?;
            if chunk_start > end_ms {
                break;
            }
            if memory_starts.contains(&chunk_start) {
                continue; // the head holds a newer copy of this chunk
            }
            chunk::decode_into(&value, start_ms, end_ms, &mut out)?;
        }
        out.extend(memory_chunks);
        out.sort_by_key(|s| s.0);
        out.dedup_by_key(|s| s.0);
        Ok(out)
    }

    /// Head statistics for metrics.
    pub fn head_stats(&self) -> HeadStats {
        self.head.lock().stats()
    }

    /// Looks up the labels of a series.
    pub fn labels(&self, id: SeriesId) -> Option<Labels> {
        self.series.labels(id)
    }
}

/// Decodes a big-endian u64 value.
pub fn decode_u64(v: &[u8]) -> Result<u64, StorageError> {
    v.try_into().map(u64::from_be_bytes).map_err(|_| {
        StorageError::Corrupt(format!("expected 8-byte integer, got {} bytes", v.len()))
    })
}

#[cfg(test)]
mod tests;
