//! The durable outbox: every notification is a record in RocksDB, written in
//! the same batch as the incident change that caused it (see
//! [`tocsin_incidents::OutboxHook`]), and stays `pending` until a receiver
//! accepted it. The record is marked `delivered` before anything else is
//! done about the delivery, so a restart never sends a delivered
//! notification again, and never loses a pending one.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::Notification;
use tocsin_storage::{Cf, Db, StorageError, WriteTx, keys};

pub use tocsin_model::notification::{DeliveryStatus, OutboxRecord};

/// See the module docs.
pub struct Outbox {
    db: Arc<Db>,
    next_id: AtomicU64,
    /// Pending notifications by (due time, id).
    due: Mutex<BTreeSet<(i64, u64)>>,
    /// Staged in a write that has not committed yet.
    staged: Mutex<Vec<Slot>>,
    /// Unfinished (pending) notification ids per (receiver, incident): a
    /// notification waits until the earlier ones of its pair are done, so a
    /// receiver never hears "resolved" before "opened".
    unfinished: Mutex<HashMap<(String, u64), BTreeSet<u64>>>,
    wake: Notify,
}

/// A record to schedule: (due time, id), and its (receiver, incident).
type Slot = ((i64, u64), (String, u64));

fn order_key(n: &Notification) -> (String, u64) {
    (n.receiver.clone(), n.incident.id)
}

impl Outbox {
    /// Opens the outbox in `db`, picking up every pending notification.
    pub fn open(db: Arc<Db>) -> Result<Self, StorageError> {
        let mut due = BTreeSet::new();
        let mut unfinished: HashMap<(String, u64), BTreeSet<u64>> = HashMap::new();
        let mut last = 0;
        for item in db.iter_prefix(Cf::Incidents, &[keys::NOTIFICATION]) {
            let (key, value) = item?;
            let id = keys::decode_notification(&key)?;
            last = last.max(id);
            let rec: OutboxRecord = decode(&value)?;
            if rec.status == DeliveryStatus::Pending {
                due.insert((rec.next_attempt_at, id));
                unfinished
                    .entry(order_key(&rec.notification))
                    .or_default()
                    .insert(id);
            }
        }
        if !due.is_empty() {
            tracing::info!(pending = due.len(), "undelivered notifications picked up");
        }
        Ok(Self {
            db,
            next_id: AtomicU64::new(last + 1),
            due: Mutex::new(due),
            staged: Mutex::new(Vec::new()),
            unfinished: Mutex::new(unfinished),
            wake: Notify::new(),
        })
    }

    /// A fresh notification id.
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds a pending record for `n`, due at `due_at`, to `batch`; it is
    /// scheduled once [`Outbox::committed`] confirms the write. Only the
    /// incident manager stages (under its lock, one write at a time); other
    /// writers use [`Outbox::enqueue`], so a commit never schedules records of
    /// a write that has not happened.
    pub fn stage(&self, batch: &mut WriteTx, n: Notification, channel: &str, due_at: i64) {
        if let Some(slot) = self.record_into(batch, n, channel, due_at) {
            self.staged.lock().push(slot);
        }
    }

    /// Adds the pending record of `n` to `batch`; its (due time, id).
    fn record_into(
        &self,
        batch: &mut WriteTx,
        n: Notification,
        channel: &str,
        due_at: i64,
    ) -> Option<Slot> {
        let id = n.id;
        let key = order_key(&n);
        let rec = OutboxRecord {
            notification: n,
            channel: channel.to_string(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: due_at,
            last_error: None,
            delivered_at: None,
            grouped_into: None,
        };
        match serde_json::to_vec(&rec) {
            Ok(v) => {
                batch.put(Cf::Incidents, keys::notification(id), v);
                Some(((due_at, id), key))
            }
            Err(e) => {
                tracing::error!(id, error = %e, "cannot encode a notification");
                None
            }
        }
    }

    /// The write holding the staged records succeeded or failed.
    pub fn committed(&self, ok: bool) {
        let staged = std::mem::take(&mut *self.staged.lock());
        if ok && !staged.is_empty() {
            self.schedule(staged);
        }
    }

    fn schedule(&self, slots: Vec<Slot>) {
        let mut unfinished = self.unfinished.lock();
        let mut due = self.due.lock();
        for (slot, key) in slots {
            unfinished.entry(key).or_default().insert(slot.1);
            due.insert(slot);
        }
        drop((due, unfinished));
        self.wake.notify_one();
    }

    /// Whether an earlier notification to the same receiver about the same
    /// incident is not finished yet (`rec` must wait for it).
    pub fn waits_for_earlier(&self, rec: &OutboxRecord) -> bool {
        self.unfinished
            .lock()
            .get(&order_key(&rec.notification))
            .and_then(|ids| ids.first())
            .is_some_and(|first| *first < rec.notification.id)
    }

    /// Stores `n` on its own (reminders, tests) and makes it due now.
    pub fn enqueue(&self, n: Notification, channel: &str, now: i64) -> Result<(), StorageError> {
        let mut batch = self.db.tx();
        let slot = self.record_into(&mut batch, n, channel, now);
        self.db.write(batch, true)?;
        self.schedule(slot.into_iter().collect());
        Ok(())
    }

    /// Schedules `id` again at `at` (after its state could not be stored).
    pub fn reschedule(&self, id: u64, at: i64) {
        self.due.lock().insert((at, id));
    }

    /// Takes the id of a notification due at `now`, if any.
    pub fn take_due(&self, now: i64) -> Option<u64> {
        let mut due = self.due.lock();
        let first = *due.iter().next()?;
        if first.0 > now {
            return None;
        }
        due.remove(&first);
        Some(first.1)
    }

    /// When the earliest pending notification is due.
    pub fn next_due_at(&self) -> Option<i64> {
        self.due.lock().iter().next().map(|(at, _)| *at)
    }

    /// Resolves when a notification was added.
    pub async fn changed(&self) {
        self.wake.notified().await;
    }

    /// Takes the pending, never attempted `opened` notifications of
    /// `lead`'s receiver created within `window_ms` of it, to travel in
    /// `lead`'s message. Store `lead` with them first, then
    /// [`Outbox::mark_grouped`]: a crash in between sends them twice rather
    /// than never.
    pub fn take_group(
        &self,
        lead: &OutboxRecord,
        window_ms: i64,
    ) -> Result<Vec<OutboxRecord>, StorageError> {
        let n = &lead.notification;
        let candidates: Vec<(i64, u64)> = self
            .due
            .lock()
            .iter()
            .copied()
            .filter(|(_, id)| *id != n.id)
            .collect();
        let mut members = Vec::new();
        for (due_at, id) in candidates {
            let Some(mut rec) = self.get(id)? else {
                continue;
            };
            let m = &rec.notification;
            if rec.status != DeliveryStatus::Pending
                || rec.attempts > 0
                || m.receiver != n.receiver
                || m.event != super::NotifyEvent::Opened
                || (m.created_at - n.created_at).abs() > window_ms
            {
                continue;
            }
            if !self.due.lock().remove(&(due_at, id)) {
                continue;
            }
            rec.grouped_into = Some(n.id);
            members.push(rec);
        }
        Ok(members)
    }

    /// Stores `members` (from [`Outbox::take_group`]) as sent inside their lead.
    pub fn mark_grouped(&self, members: &mut [OutboxRecord]) -> Result<(), StorageError> {
        for rec in members {
            rec.status = DeliveryStatus::Grouped;
            self.save(rec)?;
        }
        Ok(())
    }

    /// One record.
    pub fn get(&self, id: u64) -> Result<Option<OutboxRecord>, StorageError> {
        self.db
            .get(Cf::Incidents, &keys::notification(id))?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Stores `rec` (fsynced) without scheduling it.
    pub fn save(&self, rec: &OutboxRecord) -> Result<(), StorageError> {
        let value = serde_json::to_vec(rec)
            .map_err(|e| StorageError::Corrupt(format!("notification: {e}")))?;
        let mut batch = self.db.tx();
        batch.put(
            Cf::Incidents,
            keys::notification(rec.notification.id),
            value,
        );
        self.db.write(batch, true)?;
        let mut unfinished = self.unfinished.lock();
        let key = order_key(&rec.notification);
        if rec.status == DeliveryStatus::Pending {
            unfinished
                .entry(key)
                .or_default()
                .insert(rec.notification.id);
        } else if let Some(ids) = unfinished.get_mut(&key) {
            ids.remove(&rec.notification.id);
            if ids.is_empty() {
                unfinished.remove(&key);
            }
        }
        Ok(())
    }

    /// Stores `rec` (fsynced) and schedules it again if it is still pending.
    pub fn update(&self, rec: &OutboxRecord) -> Result<(), StorageError> {
        self.save(rec)?;
        if rec.status == DeliveryStatus::Pending {
            self.due
                .lock()
                .insert((rec.next_attempt_at, rec.notification.id));
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The newest `limit` records with one of `statuses` (all when empty), newest first.
    pub fn list(
        &self,
        statuses: &[DeliveryStatus],
        limit: usize,
    ) -> Result<Vec<OutboxRecord>, StorageError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iter_prefix_rev(Cf::Incidents, &[keys::NOTIFICATION])
        {
            let (_, value) = item?;
            let rec: OutboxRecord = decode(&value)?;
            if statuses.is_empty() || statuses.contains(&rec.status) {
                out.push(rec);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Makes a failed notification due again now, with a fresh set of
    /// attempts (any other is returned unchanged). `None`: no such notification.
    pub fn retry(&self, id: u64, now: i64) -> Result<Option<OutboxRecord>, StorageError> {
        let Some(mut rec) = self.get(id)? else {
            return Ok(None);
        };
        // Only a failed notification is retried: a pending one is already
        // on its way (retrying it could send it twice at once), a delivered
        // or grouped one arrived.
        if rec.status != DeliveryStatus::Failed {
            return Ok(Some(rec));
        }
        self.due.lock().retain(|(_, i)| *i != id);
        rec.status = DeliveryStatus::Pending;
        rec.attempts = 0;
        rec.next_attempt_at = now;
        self.update(&rec)?;
        Ok(Some(rec))
    }
}

fn decode(value: &[u8]) -> Result<OutboxRecord, StorageError> {
    serde_json::from_slice(value).map_err(|e| StorageError::Corrupt(format!("notification: {e}")))
}
