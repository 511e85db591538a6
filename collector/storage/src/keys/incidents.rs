//! Key layouts of incidents, maintenance windows, problem records and the
//! notification outbox (CF `incidents`). Newest-first indexes store `!id`
//! and `!ordered(time)` so that a forward scan (the only direction `Db`
//! offers) yields the newest entry first.

use super::*;

/// `[NOTIFICATION][id u64]`: one notification of the outbox.
pub fn notification(id: u64) -> Vec<u8> {
    id_key(NOTIFICATION, id)
}

/// Decodes a [`notification`] key.
pub fn decode_notification(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(NOTIFICATION, "notification", key)
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
