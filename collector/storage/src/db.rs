//! RocksDB handle with a closed set of column families.

use std::path::Path;
use std::sync::Arc;

use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Direction,
    IteratorMode, LogLevel, Options, ReadOptions, WriteBatch, WriteOptions,
};

use super::StorageError;

/// The column families of the store. Adding one is a code change, never a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// Small records: checkpoint marker, per-agent ingest state.
    Meta,
    /// Series index: label set ↔ series id.
    Series,
    /// Inverted index: label name/value → series ids.
    Postings,
    /// Sample chunks, per series and time.
    Chunks,
    /// Ingest log: batches not yet covered by a checkpoint.
    Log,
    /// CMDB: CIs, their change history and relations.
    Cmdb,
    /// Incidents, their timelines, maintenance windows and problem records.
    Incidents,
}

impl Cf {
    /// Every column family, in a fixed order.
    pub const ALL: [Cf; 7] = [
        Cf::Meta,
        Cf::Series,
        Cf::Postings,
        Cf::Chunks,
        Cf::Log,
        Cf::Cmdb,
        Cf::Incidents,
    ];

    /// The name RocksDB knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Series => "series",
            Cf::Postings => "postings",
            Cf::Chunks => "chunks",
            Cf::Log => "log",
            Cf::Cmdb => "cmdb",
            Cf::Incidents => "incidents",
        }
    }

    fn options(self) -> Options {
        let mut o = Options::default();
        match self {
            // Chunks are compressed already (encoding 2); zstd over 16 KiB
            // blocks still finds what neighbouring series share (about a
            // fifth less on node_exporter data), and chunks are written once
            // per checkpoint, so its cost is small.
            Cf::Chunks => {
                o.set_compression_type(DBCompressionType::Zstd);
                let mut table = BlockBasedOptions::default();
                table.set_block_size(16 * 1024);
                o.set_block_based_table_factory(&table);
            }
            // Log records live for one checkpoint interval; compressing them is wasted work.
            Cf::Log => o.set_compression_type(DBCompressionType::None),
            _ => o.set_compression_type(DBCompressionType::Lz4),
        }
        o
    }
}

/// One atomic write across column families, started with [`Db::tx`] and
/// applied with [`Db::write`]: every put and delete in it lands, or none.
/// Modules stage their records into a transaction they are handed (an
/// incident change and the notifications it causes, a batch's samples and
/// the agent's sequence number), so one write keeps them consistent.
pub struct WriteTx {
    db: Arc<Db>,
    batch: WriteBatch,
}

impl WriteTx {
    /// Sets `key` to `value` in `cf`.
    pub fn put(&mut self, cf: Cf, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batch.put_cf(self.db.cf(cf), key, value);
    }

    /// Removes `key` from `cf`.
    pub fn delete(&mut self, cf: Cf, key: impl AsRef<[u8]>) {
        self.batch.delete_cf(self.db.cf(cf), key);
    }

    /// Removes every key of `cf` in `from..to`.
    pub fn delete_range<K: AsRef<[u8]>>(&mut self, cf: Cf, from: K, to: K) {
        self.batch.delete_range_cf(self.db.cf(cf), from, to);
    }

    /// Number of puts and deletes staged.
    pub fn len(&self) -> usize {
        self.batch.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }
}

/// An owned key/value pair read from RocksDB.
pub type KeyValue = (Box<[u8]>, Box<[u8]>);

/// The opened database.
pub struct Db {
    inner: DB,
}

impl Db {
    /// Opens or creates the database in `dir` with every column family.
    pub fn open(dir: &Path) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_max_background_jobs(2);
        opts.set_bytes_per_sync(1 << 20);
        // RocksDB's own diagnostic log: warnings only, a few small files.
        opts.set_log_level(LogLevel::Warn);
        opts.set_max_log_file_size(1 << 20);
        opts.set_keep_log_file_num(3);
        let cfs = Cf::ALL
            .iter()
            .map(|cf| ColumnFamilyDescriptor::new(cf.name(), cf.options()));
        let inner = DB::open_cf_descriptors(&opts, dir, cfs)?;
        Ok(Self { inner })
    }

    /// Starts an atomic write on this database; [`Db::write`] applies it.
    pub fn tx(self: &Arc<Self>) -> WriteTx {
        WriteTx {
            db: self.clone(),
            batch: WriteBatch::default(),
        }
    }

    /// The handle of a column family (all are created at open).
    pub(crate) fn cf(&self, cf: Cf) -> &ColumnFamily {
        self.inner
            .cf_handle(cf.name())
            .unwrap_or_else(|| unreachable!("column family {} is created at open", cf.name()))
    }

    /// Reads one value.
    pub fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.inner.get_cf(self.cf(cf), key)?)
    }

    /// Applies a write transaction atomically (all of it or nothing); `sync`
    /// fsyncs the WAL first, so the write survives power loss.
    pub fn write(&self, tx: WriteTx, sync: bool) -> Result<(), StorageError> {
        debug_assert!(
            std::ptr::eq(Arc::as_ptr(&tx.db), self),
            "a write transaction is applied to the database it was started on"
        );
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        Ok(self.inner.write_opt(tx.batch, &opts)?)
    }

    /// Iterates forward from `from` to the end of the column family.
    pub fn iter_from<'a>(
        &'a self,
        cf: Cf,
        from: &[u8],
    ) -> impl Iterator<Item = Result<KeyValue, StorageError>> + 'a {
        self.inner
            .iterator_cf(self.cf(cf), IteratorMode::From(from, Direction::Forward))
            .map(|r| r.map_err(StorageError::from))
    }

    /// Iterates over every key starting with `prefix`.
    pub fn iter_prefix<'a>(
        &'a self,
        cf: Cf,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = Result<KeyValue, StorageError>> + 'a {
        let mut ro = ReadOptions::default();
        if let Some(upper) = prefix_successor(prefix) {
            ro.set_iterate_upper_bound(upper);
        }
        self.inner
            .iterator_cf_opt(
                self.cf(cf),
                ro,
                IteratorMode::From(prefix, Direction::Forward),
            )
            .map(|r| r.map_err(StorageError::from))
            .take_while(move |r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
    }

    /// The greatest key starting with `prefix`, with its value.
    pub fn last_with_prefix(
        &self,
        cf: Cf,
        prefix: &[u8],
    ) -> Result<Option<KeyValue>, StorageError> {
        self.iter_prefix_rev(cf, prefix).next().transpose()
    }

    /// Iterates over every key starting with `prefix`, greatest first.
    pub fn iter_prefix_rev<'a>(
        &'a self,
        cf: Cf,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = Result<KeyValue, StorageError>> + 'a {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(prefix.to_vec());
        if let Some(upper) = prefix_successor(prefix) {
            ro.set_iterate_upper_bound(upper);
        }
        self.inner
            .iterator_cf_opt(self.cf(cf), ro, IteratorMode::End)
            .map(|r| r.map_err(StorageError::from))
            .take_while(move |r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
    }

    /// Approximate on-disk (SST) and in-memory (memtable) bytes of a column family.
    pub fn size_bytes(&self, cf: Cf) -> (u64, u64) {
        let prop = |name: &str| {
            self.inner
                .property_int_value_cf(self.cf(cf), name)
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        (
            prop("rocksdb.total-sst-files-size"),
            prop("rocksdb.cur-size-all-mem-tables"),
        )
    }

    /// Flushes memtables and the WAL (used on clean shutdown).
    pub fn flush(&self) -> Result<(), StorageError> {
        for cf in Cf::ALL {
            self.inner.flush_cf(self.cf(cf))?;
        }
        Ok(())
    }
}

/// The smallest byte string greater than every string starting with `prefix`.
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < 0xff {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_bounds_the_prefix() {
        assert_eq!(prefix_successor(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff]), None);
    }

    #[test]
    fn prefix_iteration_and_last_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path()).unwrap());
        let mut b = db.tx();
        for k in [&[1u8, 1][..], &[1, 2], &[1, 0xff], &[2, 0]] {
            b.put(Cf::Meta, k, b"v");
        }
        db.write(b, true).unwrap();
        let keys: Vec<_> = db
            .iter_prefix(Cf::Meta, &[1])
            .map(|r| r.unwrap().0.to_vec())
            .collect();
        assert_eq!(keys, vec![vec![1, 1], vec![1, 2], vec![1, 0xff]]);
        assert_eq!(
            db.last_with_prefix(Cf::Meta, &[1])
                .unwrap()
                .unwrap()
                .0
                .to_vec(),
            vec![1, 0xff]
        );
        assert!(db.last_with_prefix(Cf::Meta, &[3]).unwrap().is_none());
        assert!(db.iter_prefix(Cf::Chunks, &[1]).next().is_none());
    }
}
