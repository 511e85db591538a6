//! Every RocksDB key layout of the collector, in one place.
//!
//! Keys start with a one-byte prefix naming the record type; numeric ids are
//! fixed-width big-endian so that byte order equals numeric order; signed
//! timestamps have their sign bit flipped for the same reason. Strings that
//! are followed by more key material are terminated by `0x00`, which is
//! therefore forbidden inside them (ingest validation rejects it). Every
//! encoder has a validating decoder, and the tests check that encoded keys
//! sort the way the readers expect.

use super::StorageError;

/// Prefix: series by canonical label set (CF `series`).
pub const SERIES_BY_LABELS: u8 = 0x10;
/// Prefix: series by id (CF `series`).
pub const SERIES_BY_ID: u8 = 0x11;
/// Prefix: postings, label name/value → series id (CF `postings`).
pub const POSTING: u8 = 0x20;
/// Prefix: a chunk of samples of one series (CF `chunks`).
pub const CHUNK: u8 = 0x30;
/// Prefix: ingest log record (CF `log`).
pub const LOG: u8 = 0x40;
/// Prefix: per-agent ingest state (CF `meta`).
pub const AGENT: u8 = 0x01;
/// Key: the log sequence number covered by the last checkpoint (CF `meta`).
pub const CHECKPOINT: &[u8] = &[0x02];
/// Prefix: a CI record (CF `cmdb`).
pub const CI: u8 = 0x50;
/// Prefix: a CI attribute change record (CF `cmdb`).
pub const CI_CHANGE: u8 = 0x51;
/// Prefix: a CI relation (CF `cmdb`).
pub const CI_RELATION: u8 = 0x52;

fn corrupt(what: &str, key: &[u8]) -> StorageError {
    StorageError::Corrupt(format!("malformed {what} key {key:02x?}"))
}

/// Maps a signed timestamp to an unsigned value with the same order.
fn ts_to_ordered(ts: i64) -> u64 {
    (ts as u64) ^ (1 << 63)
}

fn ordered_to_ts(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

fn read_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// `[SERIES_BY_LABELS][canonical label set]`.
pub fn series_by_labels(canonical: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + canonical.len());
    k.push(SERIES_BY_LABELS);
    k.extend_from_slice(canonical);
    k
}

/// `[SERIES_BY_ID][id u64]`.
pub fn series_by_id(id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(SERIES_BY_ID);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Decodes a [`series_by_id`] key.
pub fn decode_series_by_id(key: &[u8]) -> Result<u64, StorageError> {
    match key {
        [SERIES_BY_ID, rest @ ..] => read_u64(rest).ok_or_else(|| corrupt("series-by-id", key)),
        _ => Err(corrupt("series-by-id", key)),
    }
}

/// Canonical encoding of a sorted label set: `name 0x00 value 0x00` repeated.
pub fn canonical_labels(labels: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(labels.iter().map(|(n, v)| n.len() + v.len() + 2).sum());
    for (n, v) in labels {
        out.extend_from_slice(n.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Decodes [`canonical_labels`], checking UTF-8 and structure.
pub fn decode_canonical_labels(bytes: &[u8]) -> Result<Vec<(String, String)>, StorageError> {
    let err = || corrupt("label set", bytes);
    let utf8 = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| err());
    let mut labels = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let name_end = rest.iter().position(|b| *b == 0).ok_or_else(err)?;
        let after = &rest[name_end + 1..];
        let value_end = after.iter().position(|b| *b == 0).ok_or_else(err)?;
        if name_end == 0 {
            return Err(err());
        }
        labels.push((utf8(&rest[..name_end])?, utf8(&after[..value_end])?));
        rest = &after[value_end + 1..];
    }
    Ok(labels)
}

/// `[POSTING][name 0x00][value 0x00][id u64]`.
pub fn posting(name: &str, value: &str, id: u64) -> Vec<u8> {
    let mut k = posting_value_prefix(name, value);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Prefix of every posting of one label name.
pub fn posting_name_prefix(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + name.len());
    k.push(POSTING);
    k.extend_from_slice(name.as_bytes());
    k.push(0);
    k
}

/// Prefix of every posting of one label name and value.
pub fn posting_value_prefix(name: &str, value: &str) -> Vec<u8> {
    let mut k = posting_name_prefix(name);
    k.extend_from_slice(value.as_bytes());
    k.push(0);
    k
}

/// A decoded posting key.
#[derive(Debug, PartialEq, Eq)]
pub struct Posting {
    /// Label name.
    pub name: String,
    /// Label value.
    pub value: String,
    /// Series id.
    pub id: u64,
}

/// Decodes a [`posting`] key.
pub fn decode_posting(key: &[u8]) -> Result<Posting, StorageError> {
    let err = || corrupt("posting", key);
    let rest = key.strip_prefix(&[POSTING]).ok_or_else(err)?;
    if rest.len() < 10 {
        return Err(err());
    }
    let (text, id) = rest.split_at(rest.len() - 8);
    let text = text.strip_suffix(&[0]).ok_or_else(err)?;
    let sep = text.iter().position(|b| *b == 0).ok_or_else(err)?;
    let (name, value) = (&text[..sep], &text[sep + 1..]);
    if name.is_empty() || value.contains(&0) {
        return Err(err());
    }
    Ok(Posting {
        name: String::from_utf8(name.to_vec()).map_err(|_| err())?,
        value: String::from_utf8(value.to_vec()).map_err(|_| err())?,
        id: read_u64(id).ok_or_else(err)?,
    })
}

/// `[CHUNK][series id u64][first sample timestamp, order-preserving u64]`.
pub fn chunk(series: u64, start_ms: i64) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(CHUNK);
    k.extend_from_slice(&series.to_be_bytes());
    k.extend_from_slice(&ts_to_ordered(start_ms).to_be_bytes());
    k
}

/// Prefix of every chunk of one series.
pub fn chunk_series_prefix(series: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(CHUNK);
    k.extend_from_slice(&series.to_be_bytes());
    k
}

/// Decodes a [`chunk`] key into (series id, start timestamp).
pub fn decode_chunk(key: &[u8]) -> Result<(u64, i64), StorageError> {
    match key {
        [CHUNK, rest @ ..] if rest.len() == 16 => {
            let series = read_u64(&rest[..8]).ok_or_else(|| corrupt("chunk", key))?;
            let ts = read_u64(&rest[8..]).ok_or_else(|| corrupt("chunk", key))?;
            Ok((series, ordered_to_ts(ts)))
        }
        _ => Err(corrupt("chunk", key)),
    }
}

/// `[LOG][log sequence u64]`.
pub fn log(seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(LOG);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Decodes a [`log`] key.
pub fn decode_log(key: &[u8]) -> Result<u64, StorageError> {
    match key {
        [LOG, rest @ ..] => read_u64(rest).ok_or_else(|| corrupt("log", key)),
        _ => Err(corrupt("log", key)),
    }
}

/// `[AGENT][agent id]`.
pub fn agent(agent_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + agent_id.len());
    k.push(AGENT);
    k.extend_from_slice(agent_id.as_bytes());
    k
}

/// `[CI][ci id]`.
pub fn ci(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(CI);
    k.extend_from_slice(id.as_bytes());
    k
}

/// Decodes a [`ci`] key.
pub fn decode_ci(key: &[u8]) -> Result<String, StorageError> {
    match key {
        [CI, rest @ ..] if !rest.is_empty() => {
            String::from_utf8(rest.to_vec()).map_err(|_| corrupt("ci", key))
        }
        _ => Err(corrupt("ci", key)),
    }
}

/// Prefix of every change record of one CI.
pub fn ci_change_prefix(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + id.len());
    k.push(CI_CHANGE);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k
}

/// `[CI_CHANGE][ci id 0x00][time ms, ordered][counter u32]`: changes of a CI in time order.
pub fn ci_change(id: &str, at_ms: i64, counter: u32) -> Vec<u8> {
    let mut k = ci_change_prefix(id);
    k.extend_from_slice(&ts_to_ordered(at_ms).to_be_bytes());
    k.extend_from_slice(&counter.to_be_bytes());
    k
}

/// Decodes a [`ci_change`] key into (ci id, time, counter).
pub fn decode_ci_change(key: &[u8]) -> Result<(String, i64, u32), StorageError> {
    let err = || corrupt("ci change", key);
    let rest = key.strip_prefix(&[CI_CHANGE]).ok_or_else(err)?;
    if rest.len() < 14 {
        return Err(err());
    }
    let (id, tail) = rest.split_at(rest.len() - 12);
    let id = id.strip_suffix(&[0]).ok_or_else(err)?;
    if id.is_empty() || id.contains(&0) {
        return Err(err());
    }
    let at = ordered_to_ts(read_u64(&tail[..8]).ok_or_else(err)?);
    let counter = u32::from_be_bytes(tail[8..].try_into().map_err(|_| err())?);
    Ok((
        String::from_utf8(id.to_vec()).map_err(|_| err())?,
        at,
        counter,
    ))
}

/// Prefix of every relation of one CI.
pub fn ci_relation_prefix(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + id.len());
    k.push(CI_RELATION);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k
}

/// `[CI_RELATION][ci id 0x00][kind 0x00][target ci id]`.
pub fn ci_relation(id: &str, kind: &str, target: &str) -> Vec<u8> {
    let mut k = ci_relation_prefix(id);
    k.extend_from_slice(kind.as_bytes());
    k.push(0);
    k.extend_from_slice(target.as_bytes());
    k
}

/// Decodes a [`ci_relation`] key into (ci id, kind, target).
pub fn decode_ci_relation(key: &[u8]) -> Result<(String, String, String), StorageError> {
    let err = || corrupt("ci relation", key);
    let rest = key.strip_prefix(&[CI_RELATION]).ok_or_else(err)?;
    let mut parts = rest.splitn(3, |b| *b == 0);
    let mut next = || {
        parts
            .next()
            .filter(|p| !p.is_empty())
            .and_then(|p| String::from_utf8(p.to_vec()).ok())
            .ok_or_else(err)
    };
    Ok((next()?, next()?, next()?))
}

// ---------------------------------------------------------------------------
// Incidents (CF `incidents`), prefixes 0x60–0x67, owned by `crate::incidents`.
// Newest-first indexes store `!id` and `!ordered(time)` so that a forward
// scan (the only direction `Db` offers) yields the newest entry first.
// ---------------------------------------------------------------------------

/// Prefix: an incident record by id (CF `incidents`).
pub const INCIDENT: u8 = 0x60;
/// Prefix: dedup key → id of the latest incident with that key (CF `incidents`).
pub const INCIDENT_BY_KEY: u8 = 0x61;
/// Prefix: a timeline entry of an incident (CF `incidents`).
pub const INCIDENT_TIMELINE: u8 = 0x62;
/// Prefix: incidents of one CI, newest first (CF `incidents`).
pub const INCIDENT_BY_CI: u8 = 0x63;
/// Prefix: incidents by opening time, newest first (CF `incidents`).
pub const INCIDENT_BY_TIME: u8 = 0x64;
/// Prefix: parent incident → attached child incident (CF `incidents`).
pub const INCIDENT_CHILD: u8 = 0x65;
/// Prefix: incidents the manager keeps in memory (open, acknowledged, or
/// ended by a person while their condition still holds) (CF `incidents`).
pub const INCIDENT_LIVE: u8 = 0x66;
// 0x67 is reserved for incidents.

fn id_key(prefix: u8, id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(prefix);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn decode_id_key(prefix: u8, what: &str, key: &[u8]) -> Result<u64, StorageError> {
    match key {
        [p, rest @ ..] if *p == prefix && rest.len() == 8 => {
            read_u64(rest).ok_or_else(|| corrupt(what, key))
        }
        _ => Err(corrupt(what, key)),
    }
}

/// `[INCIDENT][id u64]`.
pub fn incident(id: u64) -> Vec<u8> {
    id_key(INCIDENT, id)
}

/// Decodes an [`incident`] key.
pub fn decode_incident(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(INCIDENT, "incident", key)
}

/// `[INCIDENT_BY_KEY][dedup key]`; the value is the incident id (u64 big-endian).
pub fn incident_by_key(dedup_key: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + dedup_key.len());
    k.push(INCIDENT_BY_KEY);
    k.extend_from_slice(dedup_key.as_bytes());
    k
}

/// Decodes an [`incident_by_key`] key into the dedup key.
pub fn decode_incident_by_key(key: &[u8]) -> Result<String, StorageError> {
    match key {
        [INCIDENT_BY_KEY, rest @ ..] if !rest.is_empty() => {
            String::from_utf8(rest.to_vec()).map_err(|_| corrupt("incident by key", key))
        }
        _ => Err(corrupt("incident by key", key)),
    }
}

/// Prefix of every timeline entry of one incident.
pub fn incident_timeline_prefix(id: u64) -> Vec<u8> {
    id_key(INCIDENT_TIMELINE, id)
}

/// `[INCIDENT_TIMELINE][id u64][seq u32]`: an incident's timeline in order.
pub fn incident_timeline(id: u64, seq: u32) -> Vec<u8> {
    let mut k = incident_timeline_prefix(id);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Decodes an [`incident_timeline`] key into (incident id, seq).
pub fn decode_incident_timeline(key: &[u8]) -> Result<(u64, u32), StorageError> {
    let err = || corrupt("incident timeline", key);
    match key {
        [INCIDENT_TIMELINE, rest @ ..] if rest.len() == 12 => {
            let id = read_u64(&rest[..8]).ok_or_else(err)?;
            let seq = u32::from_be_bytes(rest[8..].try_into().map_err(|_| err())?);
            Ok((id, seq))
        }
        _ => Err(err()),
    }
}

/// Prefix of the incidents of one CI (the CI id must not contain `0x00`).
pub fn incident_by_ci_prefix(ci_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + ci_id.len());
    k.push(INCIDENT_BY_CI);
    k.extend_from_slice(ci_id.as_bytes());
    k.push(0);
    k
}

/// `[INCIDENT_BY_CI][ci id 0x00][!id u64]`: a CI's incidents, newest first.
pub fn incident_by_ci(ci_id: &str, id: u64) -> Vec<u8> {
    let mut k = incident_by_ci_prefix(ci_id);
    k.extend_from_slice(&(!id).to_be_bytes());
    k
}

/// Decodes an [`incident_by_ci`] key into (ci id, incident id).
pub fn decode_incident_by_ci(key: &[u8]) -> Result<(String, u64), StorageError> {
    let err = || corrupt("incident by CI", key);
    let rest = key.strip_prefix(&[INCIDENT_BY_CI]).ok_or_else(err)?;
    if rest.len() < 10 {
        return Err(err());
    }
    let (ci, id) = rest.split_at(rest.len() - 8);
    let ci = ci.strip_suffix(&[0]).ok_or_else(err)?;
    if ci.is_empty() || ci.contains(&0) {
        return Err(err());
    }
    Ok((
        String::from_utf8(ci.to_vec()).map_err(|_| err())?,
        !read_u64(id).ok_or_else(err)?,
    ))
}

/// `[INCIDENT_BY_TIME][!ordered(opened ms) u64][!id u64]`: newest first;
/// incidents opened in the same millisecond come highest id first.
pub fn incident_by_time(opened_ms: i64, id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(17);
    k.push(INCIDENT_BY_TIME);
    k.extend_from_slice(&(!ts_to_ordered(opened_ms)).to_be_bytes());
    k.extend_from_slice(&(!id).to_be_bytes());
    k
}

/// Decodes an [`incident_by_time`] key into (opened ms, incident id).
pub fn decode_incident_by_time(key: &[u8]) -> Result<(i64, u64), StorageError> {
    let err = || corrupt("incident by time", key);
    match key {
        [INCIDENT_BY_TIME, rest @ ..] if rest.len() == 16 => {
            let t = !read_u64(&rest[..8]).ok_or_else(err)?;
            let id = !read_u64(&rest[8..]).ok_or_else(err)?;
            Ok((ordered_to_ts(t), id))
        }
        _ => Err(err()),
    }
}

/// Prefix of the children of one incident.
pub fn incident_child_prefix(parent: u64) -> Vec<u8> {
    id_key(INCIDENT_CHILD, parent)
}

/// `[INCIDENT_CHILD][parent id u64][child id u64]`: children in id order.
pub fn incident_child(parent: u64, child: u64) -> Vec<u8> {
    let mut k = incident_child_prefix(parent);
    k.extend_from_slice(&child.to_be_bytes());
    k
}

/// Decodes an [`incident_child`] key into (parent id, child id).
pub fn decode_incident_child(key: &[u8]) -> Result<(u64, u64), StorageError> {
    let err = || corrupt("incident child", key);
    match key {
        [INCIDENT_CHILD, rest @ ..] if rest.len() == 16 => Ok((
            read_u64(&rest[..8]).ok_or_else(err)?,
            read_u64(&rest[8..]).ok_or_else(err)?,
        )),
        _ => Err(err()),
    }
}

/// `[INCIDENT_LIVE][id u64]`: an incident loaded into memory at startup.
pub fn incident_live(id: u64) -> Vec<u8> {
    id_key(INCIDENT_LIVE, id)
}

/// Decodes an [`incident_live`] key.
pub fn decode_incident_live(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(INCIDENT_LIVE, "live incident", key)
}

// ---------------------------------------------------------------------------
// Maintenance windows and problem records (CF `incidents`), prefixes
// 0x68–0x6F, owned by `crate::incidents::{maintenance, problems}`.
// ---------------------------------------------------------------------------

/// Prefix: a maintenance window by id (CF `incidents`).
pub const MAINTENANCE: u8 = 0x68;
/// Prefix: a problem record by id (CF `incidents`).
pub const PROBLEM: u8 = 0x69;
/// Prefix: an incident opening not linked to a problem (yet), per rule and
/// CI, in time order (CF `incidents`).
pub const PROBLEM_CANDIDATE: u8 = 0x6A;
// 0x6B–0x6F are reserved for maintenance windows and problems.

/// `[MAINTENANCE][id u64]`.
pub fn maintenance(id: u64) -> Vec<u8> {
    id_key(MAINTENANCE, id)
}

/// Decodes a [`maintenance`] key.
pub fn decode_maintenance(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(MAINTENANCE, "maintenance window", key)
}

/// `[PROBLEM][id u64]`.
pub fn problem(id: u64) -> Vec<u8> {
    id_key(PROBLEM, id)
}

/// Decodes a [`problem`] key.
pub fn decode_problem(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(PROBLEM, "problem", key)
}

/// Prefix of the candidate openings of one rule on one CI (neither may contain `0x00`).
pub fn problem_candidate_prefix(rule: &str, ci_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + rule.len() + ci_id.len());
    k.push(PROBLEM_CANDIDATE);
    k.extend_from_slice(rule.as_bytes());
    k.push(0);
    k.extend_from_slice(ci_id.as_bytes());
    k.push(0);
    k
}

/// `[PROBLEM_CANDIDATE][rule 0x00][ci id 0x00][ordered(opened ms) u64][incident id u64]`.
pub fn problem_candidate(rule: &str, ci_id: &str, opened_ms: i64, incident: u64) -> Vec<u8> {
    let mut k = problem_candidate_prefix(rule, ci_id);
    k.extend_from_slice(&ts_to_ordered(opened_ms).to_be_bytes());
    k.extend_from_slice(&incident.to_be_bytes());
    k
}

/// A decoded [`problem_candidate`] key.
#[derive(Debug, PartialEq, Eq)]
pub struct ProblemCandidate {
    /// Rule name.
    pub rule: String,
    /// CI id.
    pub ci_id: String,
    /// When the incident opened, ms.
    pub opened_ms: i64,
    /// Incident id.
    pub incident: u64,
}

/// Decodes a [`problem_candidate`] key.
pub fn decode_problem_candidate(key: &[u8]) -> Result<ProblemCandidate, StorageError> {
    let err = || corrupt("problem candidate", key);
    let rest = key.strip_prefix(&[PROBLEM_CANDIDATE]).ok_or_else(err)?;
    if rest.len() < 20 {
        return Err(err());
    }
    let (text, tail) = rest.split_at(rest.len() - 16);
    let text = text.strip_suffix(&[0]).ok_or_else(err)?;
    let sep = text.iter().position(|b| *b == 0).ok_or_else(err)?;
    let (rule, ci_id) = (&text[..sep], &text[sep + 1..]);
    if rule.is_empty() || ci_id.is_empty() || ci_id.contains(&0) {
        return Err(err());
    }
    Ok(ProblemCandidate {
        rule: String::from_utf8(rule.to_vec()).map_err(|_| err())?,
        ci_id: String::from_utf8(ci_id.to_vec()).map_err(|_| err())?,
        opened_ms: ordered_to_ts(read_u64(&tail[..8]).ok_or_else(err)?),
        incident: read_u64(&tail[8..]).ok_or_else(err)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn series_id_round_trip_and_order() {
        for id in [0, 1, 255, 256, u64::MAX] {
            assert_eq!(decode_series_by_id(&series_by_id(id)).unwrap(), id);
        }
        assert!(series_by_id(255) < series_by_id(256));
        assert!(decode_series_by_id(&[SERIES_BY_ID, 1, 2]).is_err());
        assert!(decode_series_by_id(&log(1)).is_err());
    }

    #[test]
    fn canonical_labels_round_trip() {
        let l = labels(&[("__name__", "cpu"), ("host", "a b"), ("x", "")]);
        assert_eq!(decode_canonical_labels(&canonical_labels(&l)).unwrap(), l);
        assert_eq!(decode_canonical_labels(&[]).unwrap(), vec![]);
        assert!(decode_canonical_labels(b"name\0value").is_err());
        assert!(decode_canonical_labels(b"name\0").is_err());
        assert!(decode_canonical_labels(&[b'a', 0, 0xff, 0]).is_err());
    }

    #[test]
    fn posting_round_trip_and_order() {
        let k = posting("host", "web01", 42);
        assert_eq!(
            decode_posting(&k).unwrap(),
            Posting {
                name: "host".into(),
                value: "web01".into(),
                id: 42
            }
        );
        // All ids of one value are contiguous and in id order, and a value is
        // never interleaved with a longer value that shares its prefix.
        assert!(posting("host", "web", 2) < posting("host", "web", 300));
        assert!(posting("host", "web", u64::MAX) < posting("host", "web0", 0));
        assert!(posting("host", "z", 0) < posting("hostname", "a", 0));
        assert!(k.starts_with(&posting_value_prefix("host", "web01")));
        assert!(!posting("host", "web01", 1).starts_with(&posting_value_prefix("host", "web0")));
        assert!(decode_posting(&[POSTING, b'a', 0, 0]).is_err());
    }

    #[test]
    fn chunk_keys_sort_by_series_then_time() {
        assert_eq!(decode_chunk(&chunk(7, -5)).unwrap(), (7, -5));
        assert_eq!(
            decode_chunk(&chunk(7, 1_700_000_000_000)).unwrap(),
            (7, 1_700_000_000_000)
        );
        assert!(chunk(7, -1) < chunk(7, 0));
        assert!(chunk(7, 0) < chunk(7, 1));
        assert!(chunk(7, i64::MAX) < chunk(8, i64::MIN));
        assert!(chunk(7, 5).starts_with(&chunk_series_prefix(7)));
        assert!(decode_chunk(&chunk(7, 5)[..16]).is_err());
    }

    #[test]
    fn log_keys_sort_by_sequence() {
        assert_eq!(decode_log(&log(99)).unwrap(), 99);
        assert!(log(255) < log(256));
        assert!(decode_log(&[LOG]).is_err());
    }

    #[test]
    fn ci_keys_round_trip_and_order() {
        assert_eq!(decode_ci(&ci("abc")).unwrap(), "abc");
        assert!(decode_ci(&[CI]).is_err());
        let k = ci_change("abc", 1_000, 3);
        assert_eq!(decode_ci_change(&k).unwrap(), ("abc".into(), 1_000, 3));
        assert!(ci_change("abc", 999, 9) < ci_change("abc", 1_000, 0));
        assert!(ci_change("abc", 1_000, 0) < ci_change("abc", 1_000, 1));
        assert!(k.starts_with(&ci_change_prefix("abc")));
        assert!(!ci_change("abcd", 0, 0).starts_with(&ci_change_prefix("abc")));
        let r = ci_relation("a", "connected_to", "b");
        assert_eq!(
            decode_ci_relation(&r).unwrap(),
            ("a".into(), "connected_to".into(), "b".into())
        );
        assert!(decode_ci_relation(&[CI_RELATION, b'a', 0]).is_err());
    }

    #[test]
    fn incident_keys_round_trip_and_order() {
        assert_eq!(decode_incident(&incident(42)).unwrap(), 42);
        assert!(incident(255) < incident(256));
        assert!(decode_incident(&[INCIDENT, 1]).is_err());
        assert!(decode_incident(&incident_live(1)).is_err());
        assert_eq!(decode_incident_live(&incident_live(7)).unwrap(), 7);
        assert!(decode_incident_live(&incident(7)).is_err());

        let k = incident_by_key("cpu/h1/cpu=0");
        assert_eq!(decode_incident_by_key(&k).unwrap(), "cpu/h1/cpu=0");
        assert!(decode_incident_by_key(&[INCIDENT_BY_KEY]).is_err());
        assert!(decode_incident_by_key(&[INCIDENT_BY_KEY, 0xff]).is_err());

        // Timeline: by incident, then sequence; one incident's entries are contiguous.
        assert_eq!(
            decode_incident_timeline(&incident_timeline(3, 9)).unwrap(),
            (3, 9)
        );
        assert!(incident_timeline(3, 255) < incident_timeline(3, 256));
        assert!(incident_timeline(3, u32::MAX) < incident_timeline(4, 0));
        assert!(incident_timeline(3, 1).starts_with(&incident_timeline_prefix(3)));
        assert!(decode_incident_timeline(&incident_timeline(3, 9)[..12]).is_err());

        // By CI: newest (highest id) first, never mixed with a longer CI id.
        assert_eq!(
            decode_incident_by_ci(&incident_by_ci("h1", 5)).unwrap(),
            ("h1".into(), 5)
        );
        assert!(incident_by_ci("h1", 300) < incident_by_ci("h1", 2));
        assert!(incident_by_ci("h1", 0) < incident_by_ci("h10", u64::MAX));
        assert!(!incident_by_ci("h10", 1).starts_with(&incident_by_ci_prefix("h1")));
        assert!(decode_incident_by_ci(&[INCIDENT_BY_CI, b'h', 0, 1]).is_err());

        // By time: newest first, then highest id first; negative times sort last.
        for (t, id) in [(1_700_000_000_000, 3), (-5, 1), (0, u64::MAX)] {
            assert_eq!(
                decode_incident_by_time(&incident_by_time(t, id)).unwrap(),
                (t, id)
            );
        }
        assert!(incident_by_time(2_000, 1) < incident_by_time(1_000, 9));
        assert!(incident_by_time(1_000, 9) < incident_by_time(1_000, 8));
        assert!(incident_by_time(0, 1) < incident_by_time(-1, 1));
        assert!(decode_incident_by_time(&[INCIDENT_BY_TIME, 0]).is_err());

        assert_eq!(
            decode_incident_child(&incident_child(4, 11)).unwrap(),
            (4, 11)
        );
        assert!(incident_child(4, 11) < incident_child(4, 256));
        assert!(incident_child(4, u64::MAX) < incident_child(5, 0));
        assert!(incident_child(4, 1).starts_with(&incident_child_prefix(4)));
        assert!(decode_incident_child(&incident(4)).is_err());
    }

    #[test]
    fn maintenance_and_problem_keys_round_trip_and_order() {
        assert_eq!(decode_maintenance(&maintenance(9)).unwrap(), 9);
        assert!(maintenance(255) < maintenance(256));
        assert!(decode_maintenance(&problem(9)).is_err());
        assert!(decode_maintenance(&[MAINTENANCE, 0, 1]).is_err());
        assert_eq!(decode_problem(&problem(u64::MAX)).unwrap(), u64::MAX);
        assert!(problem(1) < problem(2));
        assert!(decode_problem(&maintenance(1)).is_err());

        // Candidates: one rule/CI pair is contiguous, in time then incident order,
        // and never mixed with a pair whose rule or CI is a longer string.
        let k = problem_candidate("cpu", "h1", -5, 7);
        assert_eq!(
            decode_problem_candidate(&k).unwrap(),
            ProblemCandidate {
                rule: "cpu".into(),
                ci_id: "h1".into(),
                opened_ms: -5,
                incident: 7
            }
        );
        let prefix = problem_candidate_prefix("cpu", "h1");
        assert!(k.starts_with(&prefix));
        let h1 = |t, id| problem_candidate("cpu", "h1", t, id);
        assert!(h1(-1, 9) < h1(0, 1));
        assert!(h1(1_000, 1) < h1(1_000, 256));
        assert!(h1(255, 0) < h1(256, 0));
        assert!(h1(i64::MAX, u64::MAX) < problem_candidate("cpu", "h10", i64::MIN, 0));
        assert!(!problem_candidate("cpu", "h10", 0, 0).starts_with(&prefix));
        assert!(!problem_candidate("cpu2", "h1", 0, 0).starts_with(&prefix));
        assert!(decode_problem_candidate(&k[..k.len() - 1]).is_err());
        assert!(decode_problem_candidate(&problem_candidate("", "h1", 0, 0)).is_err());
        assert!(decode_problem_candidate(&problem_candidate("cpu", "", 0, 0)).is_err());
        assert!(decode_problem_candidate(&problem_candidate("cpu", "a\0b", 0, 0)).is_err());
        assert!(decode_problem_candidate(&maintenance(1)).is_err());
    }
}
