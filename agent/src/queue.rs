//! The send queue: batches wait here, in sequence order, until the collector
//! acknowledges them. [`BatchQueue`] is the interface the transport uses;
//! [`MemoryQueue`] is the bounded in-memory implementation. A disk spool can
//! implement the same trait (its methods return `Result` for that reason; such
//! a spool would also have to persist the series definitions its batches use,
//! since series ids are local to one agent process).

use std::collections::VecDeque;

use tocsin_proto::v1::DeviceEvent;

use crate::error::Result;

/// A batch of samples in columnar form: sample `i` is
/// `(series_ids[i], timestamps_ms[i], values[i])`, plus device events (SNMP
/// traps) that share the batch's acknowledgement and resend.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// Sequence number; 0 until the queue numbers it.
    pub seq: u64,
    /// Agent-local series ids (see [`crate::series::Registry`]).
    pub series_ids: Vec<u32>,
    /// Milliseconds since the Unix epoch.
    pub timestamps_ms: Vec<i64>,
    /// Values.
    pub values: Vec<f64>,
    /// Device events received since the previous batch.
    pub events: Vec<DeviceEvent>,
}

impl Batch {
    /// Size of the batch: samples plus events.
    pub fn len(&self) -> usize {
        self.series_ids.len() + self.events.len()
    }

    /// Number of samples.
    pub fn samples(&self) -> usize {
        self.series_ids.len()
    }

    /// Whether the batch has neither samples nor events.
    pub fn is_empty(&self) -> bool {
        self.series_ids.is_empty() && self.events.is_empty()
    }
}

/// Splits the samples of one collection round (all taken at `ts_ms`) into
/// batches of at most `max_samples` samples each.
pub fn split(samples: &[(u32, f64)], ts_ms: i64, max_samples: usize) -> Vec<Batch> {
    samples
        .chunks(max_samples.max(1))
        .map(|chunk| Batch {
            seq: 0,
            series_ids: chunk.iter().map(|s| s.0).collect(),
            timestamps_ms: vec![ts_ms; chunk.len()],
            values: chunk.iter().map(|s| s.1).collect(),
            events: Vec::new(),
        })
        .collect()
}

/// Like [`split`], with `events` too: each batch holds at most `max_items`
/// samples and events together; events go first, so they are never delayed
/// behind samples of the same round.
pub fn split_with_events(
    samples: &[(u32, f64)],
    ts_ms: i64,
    events: Vec<DeviceEvent>,
    max_items: usize,
) -> Vec<Batch> {
    let max = max_items.max(1);
    let mut batches = Vec::new();
    let mut events = events.into_iter().peekable();
    let mut rest = samples;
    while events.peek().is_some() || !rest.is_empty() {
        let events: Vec<DeviceEvent> = events.by_ref().take(max).collect();
        let (chunk, tail) = rest.split_at(rest.len().min(max - events.len()));
        rest = tail;
        batches.push(Batch {
            seq: 0,
            series_ids: chunk.iter().map(|s| s.0).collect(),
            timestamps_ms: vec![ts_ms; chunk.len()],
            values: chunk.iter().map(|s| s.1).collect(),
            events,
        });
    }
    batches
}

/// What [`BatchQueue::resync`] did with the collector's `last_acked_seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// First registration: waiting batches were numbered from `last_acked + 1`.
    Started,
    /// Batches up to `last_acked` were stored and removed (this many).
    Acked(usize),
    /// The collector is ahead of every number this agent used: unacknowledged
    /// batches were renumbered after its `last_acked` so they are not mistaken
    /// for duplicates (the collector still skips samples it already has).
    Renumbered,
}

/// Ordered storage of batches awaiting acknowledgement.
pub trait BatchQueue: Send {
    /// Appends a batch, numbering it if numbering has started. Returns how many
    /// of the oldest batches were dropped to make room.
    fn push(&mut self, batch: Batch) -> Result<usize>;
    /// Applies a `last_acked_seq` from a RegisterResponse (see [`Resync`]).
    fn resync(&mut self, last_acked: u64) -> Result<Resync>;
    /// The first numbered batch whose sequence number is greater than `after`.
    fn next_after(&self, after: u64) -> Result<Option<Batch>>;
    /// Removes every batch with a sequence number ≤ `seq`; returns how many.
    fn ack(&mut self, seq: u64) -> Result<usize>;
    /// Removes batch `seq` (rejected for good); returns whether it was queued.
    fn remove(&mut self, seq: u64) -> Result<bool>;
    /// Number of queued batches.
    fn len(&self) -> usize;
    /// Whether nothing is queued.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Batches dropped because the queue was full, since the start.
    fn dropped(&self) -> u64;
}

/// A bounded in-memory queue that drops the oldest batch when full.
#[derive(Debug)]
pub struct MemoryQueue {
    batches: VecDeque<Batch>,
    max_batches: usize,
    /// Next sequence number to assign; `None` before the first registration.
    next_seq: Option<u64>,
    dropped: u64,
}

impl MemoryQueue {
    /// A queue holding at most `max_batches` batches.
    pub fn new(max_batches: usize) -> Self {
        Self {
            batches: VecDeque::new(),
            max_batches: max_batches.max(1),
            next_seq: None,
            dropped: 0,
        }
    }

    fn number_from(&mut self, first: u64) {
        let mut next = first;
        for b in &mut self.batches {
            b.seq = next;
            next += 1;
        }
        self.next_seq = Some(next);
    }
}

impl BatchQueue for MemoryQueue {
    fn push(&mut self, mut batch: Batch) -> Result<usize> {
        let mut dropped = 0;
        while self.batches.len() >= self.max_batches {
            self.batches.pop_front();
            dropped += 1;
        }
        self.dropped += dropped as u64;
        if let Some(next) = self.next_seq.as_mut() {
            batch.seq = *next;
            *next += 1;
        } else {
            batch.seq = 0;
        }
        self.batches.push_back(batch);
        Ok(dropped)
    }

    fn resync(&mut self, last_acked: u64) -> Result<Resync> {
        match self.next_seq {
            None => {
                self.number_from(last_acked + 1);
                Ok(Resync::Started)
            }
            Some(next) if last_acked >= next => {
                self.number_from(last_acked + 1);
                Ok(Resync::Renumbered)
            }
            Some(_) => Ok(Resync::Acked(self.ack(last_acked)?)),
        }
    }

    fn next_after(&self, after: u64) -> Result<Option<Batch>> {
        if self.next_seq.is_none() {
            return Ok(None);
        }
        let i = self.batches.partition_point(|b| b.seq <= after);
        Ok(self.batches.get(i).cloned())
    }

    fn ack(&mut self, seq: u64) -> Result<usize> {
        if self.next_seq.is_none() {
            return Ok(0);
        }
        let n = self.batches.partition_point(|b| b.seq <= seq);
        self.batches.drain(..n);
        Ok(n)
    }

    fn remove(&mut self, seq: u64) -> Result<bool> {
        if self.next_seq.is_none() {
            return Ok(false);
        }
        match self.batches.binary_search_by_key(&seq, |b| b.seq) {
            Ok(i) => {
                self.batches.remove(i);
                Ok(true)
            }
            Err(_) => Ok(false),
        }
    }

    fn len(&self) -> usize {
        self.batches.len()
    }

    fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: f64) -> Batch {
        Batch {
            seq: 0,
            series_ids: vec![1],
            timestamps_ms: vec![1],
            values: vec![v],
            events: vec![],
        }
    }

    fn seqs(q: &MemoryQueue) -> Vec<u64> {
        let mut out = vec![];
        let mut after = 0;
        while let Some(x) = q.next_after(after).unwrap() {
            out.push(x.seq);
            after = x.seq;
        }
        out
    }

    #[test]
    fn batches_wait_for_a_number_until_registration() {
        let mut q = MemoryQueue::new(10);
        q.push(b(1.0)).unwrap();
        q.push(b(2.0)).unwrap();
        assert_eq!(
            q.next_after(0).unwrap(),
            None,
            "nothing is sendable before the sequence starts"
        );
        assert_eq!(q.resync(41).unwrap(), Resync::Started);
        assert_eq!(seqs(&q), vec![42, 43]);
        q.push(b(3.0)).unwrap();
        assert_eq!(seqs(&q), vec![42, 43, 44]);
        assert_eq!(q.next_after(42).unwrap().unwrap().values, vec![2.0]);
    }

    #[test]
    fn ack_removes_everything_up_to_seq() {
        let mut q = MemoryQueue::new(10);
        q.resync(0).unwrap();
        for i in 0..5 {
            q.push(b(f64::from(i))).unwrap();
        }
        assert_eq!(seqs(&q), vec![1, 2, 3, 4, 5]);
        assert_eq!(q.ack(3).unwrap(), 3);
        assert_eq!(seqs(&q), vec![4, 5]);
        assert_eq!(q.ack(3).unwrap(), 0, "acking again is harmless");
        assert!(q.remove(5).unwrap());
        assert!(!q.remove(5).unwrap());
        assert_eq!(seqs(&q), vec![4]);
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn full_queue_drops_the_oldest_and_counts() {
        let mut q = MemoryQueue::new(3);
        q.resync(0).unwrap();
        for i in 0..3 {
            assert_eq!(q.push(b(f64::from(i))).unwrap(), 0);
        }
        assert_eq!(q.push(b(3.0)).unwrap(), 1);
        assert_eq!(q.push(b(4.0)).unwrap(), 1);
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        assert_eq!(
            seqs(&q),
            vec![3, 4, 5],
            "the newest survive, numbers are never reused"
        );
        assert_eq!(q.next_after(0).unwrap().unwrap().values, vec![2.0]);
    }

    #[test]
    fn reregistration_acks_what_the_collector_stored() {
        let mut q = MemoryQueue::new(10);
        q.resync(10).unwrap();
        for i in 0..4 {
            q.push(b(f64::from(i))).unwrap();
        }
        // 11 and 12 were stored but their acks were lost with the connection.
        assert_eq!(q.resync(12).unwrap(), Resync::Acked(2));
        assert_eq!(seqs(&q), vec![13, 14]);
        // A collector ahead of us: renumber so nothing is taken for a duplicate.
        assert_eq!(q.resync(100).unwrap(), Resync::Renumbered);
        assert_eq!(seqs(&q), vec![101, 102]);
        q.push(b(9.0)).unwrap();
        assert_eq!(seqs(&q), vec![101, 102, 103]);
    }

    #[test]
    fn ticks_are_split_into_bounded_batches() {
        let samples: Vec<(u32, f64)> = (0..12).map(|i| (i, f64::from(i))).collect();
        let batches = split(&samples, 77, 5);
        assert_eq!(
            batches.iter().map(Batch::len).collect::<Vec<_>>(),
            vec![5, 5, 2]
        );
        assert!(
            batches
                .iter()
                .all(|b| b.timestamps_ms.iter().all(|&t| t == 77))
        );
        let rejoined: Vec<u32> = batches.iter().flat_map(|b| b.series_ids.clone()).collect();
        assert_eq!(rejoined, (0..12).collect::<Vec<_>>());
        assert_eq!(split(&samples, 1, 100).len(), 1);
        assert!(split(&[], 1, 100).is_empty());
    }

    fn event(kind: &str) -> DeviceEvent {
        DeviceEvent {
            ci_id: "sw1".into(),
            kind: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn events_count_toward_the_batch_size() {
        let samples: Vec<(u32, f64)> = (0..7).map(|i| (i, f64::from(i))).collect();
        let events: Vec<_> = ["linkDown", "linkUp", "coldStart"].map(event).into();
        let batches = split_with_events(&samples, 9, events, 4);
        let sizes: Vec<(usize, usize)> = batches
            .iter()
            .map(|b| (b.events.len(), b.samples()))
            .collect();
        assert_eq!(sizes, vec![(3, 1), (0, 4), (0, 2)]);
        assert!(
            batches
                .iter()
                .all(|b| b.len() <= 4 && b.timestamps_ms.len() == b.samples())
        );
        assert_eq!(batches[0].events[0].kind, "linkDown");
        let rejoined: Vec<u32> = batches.iter().flat_map(|b| b.series_ids.clone()).collect();
        assert_eq!(rejoined, (0..7).collect::<Vec<_>>());
        // Events alone, more than fit in one batch.
        let only = split_with_events(&[], 1, ["a", "b", "c"].map(event).into(), 2);
        assert_eq!(only.iter().map(Batch::len).collect::<Vec<_>>(), vec![2, 1]);
        assert!(!only[1].is_empty() && only[1].samples() == 0);
        assert!(split_with_events(&[], 1, vec![], 2).is_empty());
    }
}
