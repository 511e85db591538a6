//! The manager's in-memory state: the "live" incidents (open, acknowledged,
//! or ended by a person while their condition still holds), the dedup key
//! index over them, and value updates not yet written.

use std::collections::HashMap;

use serde_json::json;

use super::config::IncidentConfig;
use super::store::Store;
use super::topology;
use tocsin_model::incident::{Incident, SYSTEM, TimelineEntry, TimelineKind};
use tocsin_model::time::rfc3339;
use tocsin_storage::StorageError;

/// Breaching samples since the last `value_update` timeline entry.
#[derive(Debug, Default, Clone)]
pub struct ValueAgg {
    /// Samples.
    pub samples: u64,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
    /// Latest value.
    pub last: f64,
    /// Sample time of the first one.
    pub from_ms: i64,
    /// Sample time of the latest one.
    pub to_ms: i64,
}

impl ValueAgg {
    /// Adds one sample.
    pub fn add(&mut self, value: f64, at_ms: i64) {
        if self.samples == 0 {
            (self.min, self.max, self.from_ms) = (value, value, at_ms);
        }
        self.samples += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.last = value;
        self.to_ms = self.to_ms.max(at_ms);
    }

    /// The coalesced timeline entry.
    pub fn entry(&self, now: i64) -> TimelineEntry {
        TimelineEntry {
            at: now,
            actor: SYSTEM.into(),
            kind: TimelineKind::ValueUpdate,
            message: format!(
                "{} breaching sample{}, last {}, range {}..{}",
                self.samples,
                if self.samples == 1 { "" } else { "s" },
                self.last,
                self.min,
                self.max
            ),
            data: json!({
                "samples": self.samples, "last": self.last, "min": self.min,
                "max": self.max, "from": rfc3339(self.from_ms), "to": rfc3339(self.to_ms),
            }),
        }
    }
}

/// An incident held in memory.
#[derive(Debug, Clone)]
pub struct Live {
    /// The incident, including value updates not yet written.
    pub inc: Incident,
    /// CIs the incident's CI depends on (topology parents), read at opening.
    pub upstream: Vec<String>,
    /// Wall-clock time of the latest event for its key.
    pub last_event_ms: i64,
    /// Value updates not yet in the timeline.
    pub agg: ValueAgg,
    /// When the last `value_update` entry was written.
    pub last_value_entry_ms: i64,
    /// The record in memory is newer than the stored one.
    pub dirty: bool,
}

impl Live {
    /// A freshly loaded or opened incident.
    pub fn new(inc: Incident, upstream: Vec<String>, now: i64) -> Self {
        Self {
            inc,
            upstream,
            last_event_ms: now,
            agg: ValueAgg::default(),
            last_value_entry_ms: now,
            dirty: false,
        }
    }
}

/// Whether an incident belongs in memory.
pub fn is_live(inc: &Incident) -> bool {
    inc.status.is_active() || inc.condition_active
}

/// See the module docs.
#[derive(Debug, Default)]
pub struct State {
    /// Live incidents by id.
    pub live: HashMap<u64, Live>,
    /// Dedup key → live incident id (at most one live incident per key).
    pub by_key: HashMap<String, u64>,
    /// Next incident id.
    pub next_id: u64,
    /// Attached children whose parent resolved, with the time it did.
    pub orphan_since: HashMap<u64, i64>,
}

impl State {
    /// Loads the live incidents from the store.
    pub fn load(store: &Store, config: &IncidentConfig, now: i64) -> Result<Self, StorageError> {
        let mut st = State {
            next_id: store.max_id()? + 1,
            ..State::default()
        };
        for id in store.live_ids()? {
            let Some(inc) = store.get(id)? else {
                return Err(StorageError::Corrupt(format!(
                    "live incident {id} has no record"
                )));
            };
            let upstream = if inc.parent_id.is_none() && inc.status.is_active() {
                topology::upstream(store.db(), &config.topology, &inc.ci_id)?
            } else {
                Vec::new()
            };
            st.by_key.insert(inc.key.clone(), id);
            st.live.insert(id, Live::new(inc, upstream, now));
        }
        let children: Vec<(u64, u64)> = st
            .live
            .values()
            .filter(|l| l.inc.status.is_active())
            .filter_map(|l| l.inc.parent_id.map(|p| (l.inc.id, p)))
            .collect();
        for (child, parent) in children {
            if !st.is_active(parent) {
                st.orphan_since.insert(child, now);
            }
        }
        Ok(st)
    }

    /// Whether `id` is a live, open or acknowledged incident.
    pub fn is_active(&self, id: u64) -> bool {
        self.live.get(&id).is_some_and(|l| l.inc.status.is_active())
    }

    /// Marks the active children of `parent` as orphaned at `now`.
    pub fn orphan_children(&mut self, parent: u64, now: i64) {
        for l in self.live.values() {
            if l.inc.parent_id == Some(parent) && l.inc.status.is_active() {
                self.orphan_since.entry(l.inc.id).or_insert(now);
            }
        }
    }

    /// The children of `parent` are attached to an active incident again.
    pub fn adopt_children(&mut self, parent: u64) {
        let live = &self.live;
        self.orphan_since
            .retain(|child, _| live.get(child).and_then(|l| l.inc.parent_id) != Some(parent));
    }

    /// Removes an incident from memory.
    pub fn forget(&mut self, id: u64) -> Option<Live> {
        let live = self.live.remove(&id)?;
        if self.by_key.get(&live.inc.key) == Some(&id) {
            self.by_key.remove(&live.inc.key);
        }
        self.orphan_since.remove(&id);
        Some(live)
    }

    /// Puts an incident into memory.
    pub fn remember(&mut self, live: Live) {
        self.by_key.insert(live.inc.key.clone(), live.inc.id);
        self.live.insert(live.inc.id, live);
    }
}
