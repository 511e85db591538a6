//! Series index: label set ↔ series id, and the label=value → ids postings.
//!
//! The whole index is kept in memory for lookups on the ingest path and is
//! written through to RocksDB (CF `series` and `postings`) when a series is
//! first seen.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};

use super::db::{Cf, Db};
use super::{StorageError, keys};
use tocsin_model::{Labels, SeriesId};
use tocsin_model::{MatchOp, Matcher};

/// A borrowed label set.
type LabelSlice<'a> = &'a [(String, String)];

/// A stored series: its labels (sorted, with `__name__`) and metric kind.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesDef {
    /// Sorted label set including `__name__`.
    pub labels: Labels,
    /// Metric kind as the protocol numbers it (1 gauge, 2 counter, 0 unspecified).
    pub kind: i32,
}

#[derive(Default)]
struct Maps {
    by_key: HashMap<Vec<u8>, SeriesId>,
    by_id: HashMap<SeriesId, Arc<SeriesDef>>,
}

/// See the module docs.
pub struct SeriesIndex {
    db: Arc<Db>,
    maps: RwLock<Maps>,
    create: Mutex<()>,
    next_id: AtomicU64,
}

impl SeriesIndex {
    /// Loads every series from RocksDB.
    pub fn load(db: Arc<Db>) -> Result<Self, StorageError> {
        let mut maps = Maps::default();
        let mut max_id = 0;
        for item in db.iter_prefix(Cf::Series, &[keys::SERIES_BY_ID]) {
            let (key, value) = item?;
            let id = keys::decode_series_by_id(&key)?;
            let (&kind, canonical) = value
                .split_first()
                .ok_or_else(|| StorageError::Corrupt(format!("empty series record {id}")))?;
            let labels = keys::decode_canonical_labels(canonical)?;
            maps.by_key.insert(canonical.to_vec(), id);
            maps.by_id.insert(
                id,
                Arc::new(SeriesDef {
                    labels,
                    kind: i32::from(kind),
                }),
            );
            max_id = max_id.max(id);
        }
        tracing::info!(series = maps.by_id.len(), "loaded series index");
        Ok(Self {
            db,
            maps: RwLock::new(maps),
            create: Mutex::new(()),
            next_id: AtomicU64::new(max_id + 1),
        })
    }

    /// Number of series.
    pub fn len(&self) -> usize {
        self.maps.read().by_id.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id of a (validated, sorted) label set, creating the series if new.
    /// The `kind` of an existing series is not changed.
    pub fn resolve(
        &self,
        labels: &Labels,
        kind: i32,
        sync: bool,
    ) -> Result<SeriesId, StorageError> {
        let ids = self.resolve_all(&[(labels.as_slice(), kind)], sync)?;
        Ok(ids[0])
    }

    /// Ids of many label sets; all series that are new are created in one
    /// atomic write (one fsync however many a reconnecting agent declares).
    pub fn resolve_all(
        &self,
        defs: &[(LabelSlice, i32)],
        sync: bool,
    ) -> Result<Vec<SeriesId>, StorageError> {
        let canonical: Vec<Vec<u8>> = defs
            .iter()
            .map(|(l, _)| keys::canonical_labels(l))
            .collect();
        {
            let maps = self.maps.read();
            let known: Option<Vec<SeriesId>> = canonical
                .iter()
                .map(|c| maps.by_key.get(c).copied())
                .collect();
            if let Some(ids) = known {
                return Ok(ids);
            }
        }
        let _creating = self.create.lock();
        let maps = self.maps.read();
        let mut ids = Vec::with_capacity(defs.len());
        // (canonical key, id, labels, kind) of each series this call creates.
        let mut created: Vec<(Vec<u8>, SeriesId, LabelSlice, u8)> = Vec::new();
        let mut batch = self.db.tx();
        for (canon, (labels, kind)) in canonical.iter().zip(defs) {
            let existing = maps
                .by_key
                .get(canon)
                .copied()
                .or_else(|| created.iter().find(|c| c.0 == *canon).map(|c| c.1));
            if let Some(id) = existing {
                ids.push(id);
                continue;
            }
            let id = self.next_id.fetch_add(1, Ordering::SeqCst);
            let kind_byte = u8::try_from(*kind).unwrap_or(0);
            let mut by_key_value = id.to_be_bytes().to_vec();
            by_key_value.push(kind_byte);
            batch.put(Cf::Series, keys::series_by_labels(canon), by_key_value);
            let mut by_id_value = vec![kind_byte];
            by_id_value.extend_from_slice(canon);
            batch.put(Cf::Series, keys::series_by_id(id), by_id_value);
            for (name, value) in labels.iter() {
                batch.put(Cf::Postings, keys::posting(name, value, id), []);
            }
            created.push((canon.clone(), id, labels, kind_byte));
            ids.push(id);
        }
        drop(maps);
        if created.is_empty() {
            return Ok(ids);
        }
        self.db.write(batch, sync)?;
        let mut maps = self.maps.write();
        for (canon, id, labels, kind) in created {
            maps.by_key.insert(canon, id);
            maps.by_id.insert(
                id,
                Arc::new(SeriesDef {
                    labels: labels.to_vec(),
                    kind: i32::from(kind),
                }),
            );
        }
        Ok(ids)
    }

    /// Labels of a series.
    pub fn labels(&self, id: SeriesId) -> Option<Labels> {
        self.maps.read().by_id.get(&id).map(|d| d.labels.clone())
    }

    /// Definition of a series.
    pub fn get(&self, id: SeriesId) -> Option<Arc<SeriesDef>> {
        self.maps.read().by_id.get(&id).cloned()
    }

    /// Series matching every matcher. Equality matchers narrow the candidates
    /// through the postings in RocksDB; the rest are checked on the labels.
    pub fn select(&self, matchers: &[Matcher]) -> Result<Vec<(SeriesId, Labels)>, StorageError> {
        let mut candidates: Option<BTreeSet<SeriesId>> = None;
        for m in matchers
            .iter()
            .filter(|m| m.op == MatchOp::Equal && !m.value.is_empty())
        {
            let prefix = keys::posting_value_prefix(&m.name, &m.value);
            let mut ids = BTreeSet::new();
            for item in self.db.iter_prefix(Cf::Postings, &prefix) {
                ids.insert(keys::decode_posting(&item?.0)?.id);
            }
            candidates = Some(match candidates {
                Some(c) => c.intersection(&ids).copied().collect(),
                None => ids,
            });
        }
        let maps = self.maps.read();
        let matches = |def: &SeriesDef| {
            matchers.iter().all(|m| {
                let v = def
                    .labels
                    .iter()
                    .find(|(n, _)| *n == m.name)
                    .map_or("", |(_, v)| v.as_str());
                m.matches(v)
            })
        };
        let mut out: Vec<(SeriesId, Labels)> = match candidates {
            Some(ids) => ids
                .into_iter()
                .filter_map(|id| maps.by_id.get(&id).map(|d| (id, d)))
                .filter(|(_, d)| matches(d))
                .map(|(id, d)| (id, d.labels.clone()))
                .collect(),
            None => maps
                .by_id
                .iter()
                .filter(|(_, d)| matches(d))
                .map(|(id, d)| (*id, d.labels.clone()))
                .collect(),
        };
        out.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(out)
    }

    /// Every label name in use.
    pub fn label_names(&self) -> Vec<String> {
        let maps = self.maps.read();
        let names: BTreeSet<&str> = maps
            .by_id
            .values()
            .flat_map(|d| d.labels.iter().map(|(n, _)| n.as_str()))
            .collect();
        names.into_iter().map(String::from).collect()
    }

    /// Every value of one label.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let maps = self.maps.read();
        let values: BTreeSet<&str> = maps
            .by_id
            .values()
            .flat_map(|d| {
                d.labels
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        values.into_iter().map(String::from).collect()
    }
}
