//! The compact store of series definitions behind the
//! [`Registry`](super::Registry).
//!
//! An agent polling 200 switches of 48 ports holds ~150,000 series, each
//! known for the life of the process. Stored as a prost `SeriesDef` plus an
//! owned hash-map key they took ~700 bytes each (~100 MB). Here a series is
//! a 16-byte [`Entry`] of interned names (its label set is interned whole:
//! every metric of one interface shares it) and a 32-bit hash → id index
//! entry: about 35 bytes. The `SeriesDef` is built only when a stream
//! declares the id.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

use super::Kind;
use super::intern::{Interner, Sym};

/// Entries per chunk of the entry store: chunks never move, so the store
/// grows without copying and wastes at most one partly filled chunk.
const CHUNK: usize = 8192;

/// A series as given to the table: CI id (empty for the host), metric, kind,
/// and its own labels, sorted by name with no name twice.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a, N, V> {
    /// CI id; empty for the agent's host.
    pub ci: &'a str,
    /// Metric name.
    pub metric: &'a str,
    /// Gauge or counter.
    pub kind: Kind,
    /// The series' own labels (not the host or common labels).
    pub labels: &'a [(N, V)],
}

/// One stored series: 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    ci: Sym,
    metric: Sym,
    /// The interned set of (name, value) pairs.
    labels: Sym,
    kind: Kind,
}

/// A `Hasher` for keys that already are hashes (the index's `u32` keys):
/// spreads them over 64 bits, as the map takes its control bits from the top.
#[derive(Debug, Default, Clone, Copy)]
pub struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Series ids (from 1, never reused) and their definitions, with interned strings.
#[derive(Debug)]
pub struct SeriesTable<S = RandomState> {
    strings: Interner<str>,
    label_sets: Interner<[(Sym, Sym)]>,
    /// Series id `i` at index `i - 1`, in chunks of [`CHUNK`].
    entries: Vec<Vec<Entry>>,
    len: usize,
    /// 32-bit hash of an indexed series → its id (the first one with that hash).
    index: HashMap<u32, u32, BuildHasherDefault<PreHashed>>,
    /// Ids of further series whose hash is already in `index`.
    collisions: HashMap<u32, Vec<u32>>,
    hasher: S,
}

impl Default for SeriesTable {
    fn default() -> Self {
        Self::with_hasher(RandomState::new())
    }
}

impl SeriesTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S: BuildHasher> SeriesTable<S> {
    /// An empty table hashing series with `hasher`.
    pub fn with_hasher(hasher: S) -> Self {
        Self {
            strings: Interner::new(),
            label_sets: Interner::new(),
            entries: Vec::new(),
            len: 0,
            index: HashMap::default(),
            collisions: HashMap::new(),
            hasher,
        }
    }

    /// Stores `series` under a new id, without indexing it (for series the
    /// caller looks up by a key of its own).
    pub fn insert<N: AsRef<str>, V: AsRef<str>>(&mut self, series: Series<'_, N, V>) -> u32 {
        let pairs: Vec<(Sym, Sym)> = series
            .labels
            .iter()
            .map(|(n, v)| {
                (
                    self.strings.intern(n.as_ref()),
                    self.strings.intern(v.as_ref()),
                )
            })
            .collect();
        let entry = Entry {
            ci: self.strings.intern(series.ci),
            metric: self.strings.intern(series.metric),
            labels: self.label_sets.intern(&pairs),
            kind: series.kind,
        };
        match self.entries.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(entry),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(entry);
                self.entries.push(chunk);
            }
        }
        self.len += 1;
        u32::try_from(self.len).unwrap_or(u32::MAX)
    }

    /// The id of `series`, stored and indexed under a new id on first sight.
    /// Only finds series stored by this method, not by [`SeriesTable::insert`].
    pub fn id_of<N: AsRef<str>, V: AsRef<str>>(&mut self, series: Series<'_, N, V>) -> u32 {
        let hash = self.hash(&series);
        let Some(&first) = self.index.get(&hash) else {
            let id = self.insert(series);
            self.index.insert(hash, id);
            return id;
        };
        if self.matches(first, &series) {
            return first;
        }
        if let Some(&id) = self
            .collisions
            .get(&hash)
            .and_then(|ids| ids.iter().find(|&&id| self.matches(id, &series)))
        {
            return id;
        }
        let id = self.insert(series);
        self.collisions.entry(hash).or_default().push(id);
        id
    }

    fn hash<N: AsRef<str>, V: AsRef<str>>(&self, s: &Series<'_, N, V>) -> u32 {
        let mut h = self.hasher.build_hasher();
        s.ci.hash(&mut h);
        s.metric.hash(&mut h);
        s.kind.hash(&mut h);
        h.write_usize(s.labels.len());
        for (n, v) in s.labels {
            n.as_ref().hash(&mut h);
            v.as_ref().hash(&mut h);
        }
        let h = h.finish();
        (h ^ (h >> 32)) as u32
    }

    fn matches<N: AsRef<str>, V: AsRef<str>>(&self, id: u32, s: &Series<'_, N, V>) -> bool {
        let Some(view) = self.get(id) else {
            return false;
        };
        view.kind == s.kind
            && view.metric == s.metric
            && view.ci == s.ci
            && view.labels.len() == s.labels.len()
            && view
                .labels()
                .zip(s.labels)
                .all(|((vn, vv), (n, v))| vn == n.as_ref() && vv == v.as_ref())
    }

    /// The series stored under `id`.
    pub fn get(&self, id: u32) -> Option<SeriesView<'_>> {
        let i = (id as usize).checked_sub(1)?;
        let entry = self.entries.get(i / CHUNK)?.get(i % CHUNK)?;
        Some(SeriesView {
            strings: &self.strings,
            ci: self.strings.resolve(entry.ci).unwrap_or_default(),
            metric: self.strings.resolve(entry.metric).unwrap_or_default(),
            kind: entry.kind,
            labels: self.label_sets.resolve(entry.labels).unwrap_or_default(),
        })
    }

    /// Number of stored series.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no series is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of distinct interned strings (names and values) and label sets.
    pub fn interned(&self) -> (usize, usize) {
        (self.strings.len(), self.label_sets.len())
    }
}

/// A stored series, borrowed from its [`SeriesTable`].
#[derive(Debug, Clone, Copy)]
pub struct SeriesView<'a> {
    strings: &'a Interner<str>,
    /// CI id; empty for the agent's host.
    pub ci: &'a str,
    /// Metric name.
    pub metric: &'a str,
    /// Gauge or counter.
    pub kind: Kind,
    labels: &'a [(Sym, Sym)],
}

impl<'a> SeriesView<'a> {
    /// The series' own labels, as stored.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let strings = self.strings;
        self.labels.iter().map(move |&(n, v)| {
            (
                strings.resolve(n).unwrap_or_default(),
                strings.resolve(v).unwrap_or_default(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s<'a>(
        ci: &'a str,
        metric: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> Series<'a, &'a str, &'a str> {
        Series {
            ci,
            metric,
            kind: Kind::Gauge,
            labels,
        }
    }

    fn round_trip(
        t: &SeriesTable<impl BuildHasher>,
        id: u32,
    ) -> (String, String, Kind, Vec<(String, String)>) {
        let v = t.get(id).expect("stored");
        let labels = v
            .labels()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        (v.ci.to_owned(), v.metric.to_owned(), v.kind, labels)
    }

    fn exercise<S: BuildHasher>(mut t: SeriesTable<S>) {
        let gi1 = [("alias", "uplink"), ("interface", "Gi0/1")];
        let gi2 = [("alias", "uplink"), ("interface", "Gi0/2")];
        let a = t.id_of(s("sw1", "snmp_if_in_octets_total", &gi1));
        let b = t.id_of(s("sw1", "snmp_if_in_octets_total", &gi2));
        let c = t.id_of(s("sw2", "snmp_if_in_octets_total", &gi1));
        let d = t.id_of(s("sw1", "snmp_up", &[]));
        let e = t.id_of(Series {
            kind: Kind::Counter,
            ..s("sw1", "snmp_up", &[])
        });
        let f = t.id_of(s("", "snmp_up", &[]));
        // A value moved into a name is another series.
        let g = t.id_of(s("sw1", "m", &[("ab", "c")]));
        let h = t.id_of(s("sw1", "m", &[("a", "bc")]));
        assert_eq!((a, b, c, d, e, f, g, h), (1, 2, 3, 4, 5, 6, 7, 8));
        // Same series, same id, whatever string type carries it.
        let owned: Vec<(String, String)> = gi2
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let metric = String::from("snmp_if_in_octets_total");
        assert_eq!(
            t.id_of(Series {
                ci: "sw1",
                metric: &metric,
                kind: Kind::Gauge,
                labels: &owned,
            }),
            b
        );
        assert_eq!(t.id_of(s("sw2", "snmp_if_in_octets_total", &gi1)), c);
        assert_eq!(t.id_of(s("", "snmp_up", &[])), f);
        assert_eq!(t.id_of(s("sw1", "m", &[("a", "bc")])), h);
        assert_eq!(t.len(), 8);

        // Definitions round-trip.
        assert_eq!(
            round_trip(&t, b),
            (
                "sw1".to_owned(),
                "snmp_if_in_octets_total".to_owned(),
                Kind::Gauge,
                vec![
                    ("alias".to_owned(), "uplink".to_owned()),
                    ("interface".to_owned(), "Gi0/2".to_owned())
                ]
            )
        );
        assert_eq!(round_trip(&t, e).2, Kind::Counter);
        assert!(round_trip(&t, e).3.is_empty() && round_trip(&t, f).0.is_empty());
        assert_eq!(round_trip(&t, h).3, vec![("a".to_owned(), "bc".to_owned())]);
        assert!(t.get(0).is_none() && t.get(9).is_none());

        // Unindexed series get ids in the same sequence and are not found by `id_of`.
        let u = t.insert(s("", "node_load1", &[]));
        assert_eq!(u, 9);
        assert_eq!(t.id_of(s("", "node_load1", &[])), 10);
        assert_eq!(round_trip(&t, u).1, "node_load1");
        // Strings and label sets are stored once.
        let (strings, sets) = t.interned();
        assert_eq!(sets, 5, "gi1, gi2, none, ab=c, a=bc");
        assert!(strings < 20, "{strings} strings");
    }

    #[test]
    fn same_series_same_id_and_definitions_round_trip() {
        exercise(SeriesTable::new());
    }

    /// A hasher under which every series hashes alike.
    #[derive(Debug)]
    struct Constant;

    impl Hasher for Constant {
        fn finish(&self) -> u64 {
            7
        }
        fn write(&mut self, _: &[u8]) {}
    }

    #[derive(Debug)]
    struct AllCollide;

    impl BuildHasher for AllCollide {
        type Hasher = Constant;
        fn build_hasher(&self) -> Constant {
            Constant
        }
    }

    #[test]
    fn hash_collisions_are_told_apart() {
        exercise(SeriesTable::with_hasher(AllCollide));
        let mut t = SeriesTable::with_hasher(AllCollide);
        let ids: Vec<u32> = (0..50)
            .map(|i| t.id_of(s(&format!("sw{i}"), "m", &[])))
            .collect();
        assert_eq!(ids, (1..=50).collect::<Vec<_>>());
        assert_eq!(t.id_of(s("sw49", "m", &[])), 50);
        assert_eq!(t.id_of(s("sw0", "m", &[])), 1);
    }

    #[test]
    fn ids_run_on_across_chunks() {
        let mut t = SeriesTable::new();
        let n = u32::try_from(CHUNK * 2 + 3).unwrap();
        for i in 1..=n {
            let v = i.to_string();
            assert_eq!(t.id_of(s("sw", "m", &[("i", &v)])), i);
        }
        for i in [1, 8192, 8193, n] {
            let v = i.to_string();
            assert_eq!(t.id_of(s("sw", "m", &[("i", &v)])), i);
            assert_eq!(round_trip(&t, i).3, vec![("i".to_owned(), v)]);
        }
        assert!(t.get(n + 1).is_none());
        assert_eq!(t.len(), n as usize);
    }
}
