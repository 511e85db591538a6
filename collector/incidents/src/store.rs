//! Incident persistence in the `incidents` column family (layouts in
//! `storage::keys`, prefixes 0x60–0x66):
//!
//! - incident record by id (JSON, as served);
//! - dedup key → id of the latest incident with that key (open or not), so a
//!   restart or a resent batch finds it again;
//! - timeline entries by (incident id, seq), in time order;
//! - incidents per CI and by opening time, both newest first;
//! - parent → attached children;
//! - the set of incidents loaded into memory at startup ("live").
//!
//! Every change goes through a [`Txn`]: one `WriteTx` holding the new
//! incident record together with its timeline entries and index updates.

use std::collections::HashMap;
use std::sync::Arc;

use tocsin_model::incident::{Incident, TimelineEntry};
use tocsin_storage::{Cf, Db, StorageError, WriteTx, decode_u64, keys};

fn corrupt(what: &str, e: serde_json::Error) -> StorageError {
    StorageError::Corrupt(format!("{what}: {e}"))
}

/// Read access to stored incidents.
pub struct Store {
    db: Arc<Db>,
}

impl Store {
    /// A store on `db`.
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }

    /// The database (for CMDB relation reads).
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// One incident.
    pub fn get(&self, id: u64) -> Result<Option<Incident>, StorageError> {
        self.db
            .get(Cf::Incidents, &keys::incident(id))?
            .map(|v| serde_json::from_slice(&v).map_err(|e| corrupt("incident record", e)))
            .transpose()
    }

    /// The id of the latest incident with this dedup key.
    pub fn id_for_key(&self, key: &str) -> Result<Option<u64>, StorageError> {
        self.db
            .get(Cf::Incidents, &keys::incident_by_key(key))?
            .map(|v| decode_u64(&v))
            .transpose()
    }

    /// The highest incident id ever allocated (0 when none).
    pub fn max_id(&self) -> Result<u64, StorageError> {
        match self.db.last_with_prefix(Cf::Incidents, &[keys::INCIDENT])? {
            Some((k, _)) => keys::decode_incident(&k),
            None => Ok(0),
        }
    }

    /// Ids of the incidents to hold in memory.
    pub fn live_ids(&self) -> Result<Vec<u64>, StorageError> {
        let mut out = Vec::new();
        for item in self.db.iter_prefix(Cf::Incidents, &[keys::INCIDENT_LIVE]) {
            out.push(keys::decode_incident_live(&item?.0)?);
        }
        Ok(out)
    }

    /// An incident's timeline, oldest first.
    pub fn timeline(&self, id: u64) -> Result<Vec<TimelineEntry>, StorageError> {
        let prefix = keys::incident_timeline_prefix(id);
        let mut out = Vec::new();
        for item in self.db.iter_prefix(Cf::Incidents, &prefix) {
            let (k, v) = item?;
            keys::decode_incident_timeline(&k)?;
            out.push(serde_json::from_slice(&v).map_err(|e| corrupt("timeline entry", e))?);
        }
        Ok(out)
    }

    /// Ids of the incidents attached to `parent`, oldest first.
    pub fn children(&self, parent: u64) -> Result<Vec<u64>, StorageError> {
        let prefix = keys::incident_child_prefix(parent);
        let mut out = Vec::new();
        for item in self.db.iter_prefix(Cf::Incidents, &prefix) {
            out.push(keys::decode_incident_child(&item?.0)?.1);
        }
        Ok(out)
    }

    /// Calls `visit` with incident ids newest first: of one CI when `ci_id`
    /// is given, otherwise those opened in `[from_ms, to_ms]`. Stops when
    /// `visit` returns `false`. (Per-CI ids are not filtered by time here.)
    pub fn scan_newest(
        &self,
        ci_id: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        mut visit: impl FnMut(u64) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        if let Some(ci) = ci_id {
            let prefix = keys::incident_by_ci_prefix(ci);
            for item in self.db.iter_prefix(Cf::Incidents, &prefix) {
                let (_, id) = keys::decode_incident_by_ci(&item?.0)?;
                if !visit(id)? {
                    break;
                }
            }
            return Ok(());
        }
        let start = keys::incident_by_time(to_ms, u64::MAX);
        for item in self.db.iter_from(Cf::Incidents, &start) {
            let (k, _) = item?;
            if k.first() != Some(&keys::INCIDENT_BY_TIME) {
                break;
            }
            let (opened, id) = keys::decode_incident_by_time(&k)?;
            if opened < from_ms || !visit(id)? {
                break;
            }
        }
        Ok(())
    }
}

/// One atomic change: incident records, timeline entries and index updates.
pub struct Txn {
    batch: WriteTx,
    db: Arc<Db>,
    written: HashMap<u64, Incident>,
    new_keys: HashMap<String, u64>,
    entries: Vec<(u64, TimelineEntry)>,
}

impl Txn {
    /// An empty change on `store`.
    pub fn new(store: &Store) -> Self {
        Self {
            batch: store.db.tx(),
            db: store.db.clone(),
            written: HashMap::new(),
            new_keys: HashMap::new(),
            entries: Vec::new(),
        }
    }

    /// An incident as this change leaves it (written earlier in it), or as stored.
    pub fn load(&self, store: &Store, id: u64) -> Result<Option<Incident>, StorageError> {
        match self.written.get(&id) {
            Some(inc) => Ok(Some(inc.clone())),
            None => store.get(id),
        }
    }

    /// The latest incident with this dedup key, seeing this change's writes.
    pub fn latest_for_key(
        &self,
        store: &Store,
        key: &str,
    ) -> Result<Option<Incident>, StorageError> {
        let id = match self.new_keys.get(key) {
            Some(id) => Some(*id),
            None => store.id_for_key(key)?,
        };
        match id {
            Some(id) => self.load(store, id),
            None => Ok(None),
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    /// Appends `entry` to the incident's timeline (the incident record must
    /// be [`put`](Self::put) afterwards: its entry count changed).
    pub fn entry(&mut self, inc: &mut Incident, entry: TimelineEntry) -> Result<(), StorageError> {
        let key = keys::incident_timeline(inc.id, inc.timeline_count);
        let value = serde_json::to_vec(&entry).map_err(|e| corrupt("timeline entry", e))?;
        self.batch.put(Cf::Incidents, key, value);
        inc.timeline_count += 1;
        inc.updated_at = inc.updated_at.max(entry.at);
        self.entries.push((inc.id, entry));
        Ok(())
    }

    /// Writes the incident record (the latest put of an id wins).
    pub fn put(&mut self, inc: &Incident) -> Result<(), StorageError> {
        let value = serde_json::to_vec(inc).map_err(|e| corrupt("incident record", e))?;
        self.batch.put(Cf::Incidents, keys::incident(inc.id), value);
        self.written.insert(inc.id, inc.clone());
        Ok(())
    }

    /// Index entries of a new incident: dedup key, CI, opening time.
    pub fn index_new(&mut self, inc: &Incident) {
        let cf = Cf::Incidents;
        self.batch
            .put(cf, keys::incident_by_key(&inc.key), inc.id.to_be_bytes());
        self.batch
            .put(cf, keys::incident_by_ci(&inc.ci_id, inc.id), []);
        self.batch
            .put(cf, keys::incident_by_time(inc.opened_at, inc.id), []);
        self.new_keys.insert(inc.key.clone(), inc.id);
    }

    /// Marks the incident as loaded into memory at startup, or not.
    pub fn set_live(&mut self, id: u64, live: bool) {
        let cf = Cf::Incidents;
        if live {
            self.batch.put(cf, keys::incident_live(id), []);
        } else {
            self.batch.delete(cf, keys::incident_live(id));
        }
    }

    /// Records (or removes) `child` as attached to `parent`.
    pub fn set_child(&mut self, parent: u64, child: u64, attached: bool) {
        let cf = Cf::Incidents;
        let key = keys::incident_child(parent, child);
        if attached {
            self.batch.put(cf, key, []);
        } else {
            self.batch.delete(cf, key);
        }
    }

    /// Writes everything atomically; returns the timeline entries written,
    /// each with the final state of its incident.
    pub fn commit(self, sync: bool) -> Result<Vec<(Incident, TimelineEntry)>, StorageError> {
        self.commit_staged(sync, |_, _| {})
    }

    /// Like [`Txn::commit`], letting `stage` add records caused by the
    /// change (with the incidents as changed) to the same atomic write.
    pub fn commit_staged(
        mut self,
        sync: bool,
        stage: impl FnOnce(&mut WriteTx, &[(Incident, TimelineEntry)]),
    ) -> Result<Vec<(Incident, TimelineEntry)>, StorageError> {
        if self.batch.is_empty() {
            return Ok(Vec::new());
        }
        let written = self.written;
        let pairs: Vec<(Incident, TimelineEntry)> = self
            .entries
            .into_iter()
            .filter_map(|(id, e)| written.get(&id).map(|inc| (inc.clone(), e)))
            .collect();
        stage(&mut self.batch, &pairs);
        self.db.write(self.batch, sync)?;
        Ok(pairs)
    }
}
