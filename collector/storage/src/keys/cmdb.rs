//! Key layouts of the CMDB: CIs, their change records and relations.

use super::*;

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
    timed_prefix(CI_CHANGE, id)
}

/// `[CI_CHANGE][ci id 0x00][time ms, ordered][counter u32]`: changes of a CI in time order.
pub fn ci_change(id: &str, at_ms: i64, counter: u32) -> Vec<u8> {
    timed(CI_CHANGE, id, at_ms, counter)
}

/// Decodes a [`ci_change`] key into (ci id, time, counter).
pub fn decode_ci_change(key: &[u8]) -> Result<(String, i64, u32), StorageError> {
    decode_timed(CI_CHANGE, "ci change", key)
}

/// Prefix of every event of one CI.
pub fn ci_event_prefix(id: &str) -> Vec<u8> {
    timed_prefix(CI_EVENT, id)
}

/// `[CI_EVENT][ci id 0x00][time ms, ordered][counter u32]`: events of a CI in time order.
pub fn ci_event(id: &str, at_ms: i64, counter: u32) -> Vec<u8> {
    timed(CI_EVENT, id, at_ms, counter)
}

/// Decodes a [`ci_event`] key into (ci id, time, counter).
pub fn decode_ci_event(key: &[u8]) -> Result<(String, i64, u32), StorageError> {
    decode_timed(CI_EVENT, "ci event", key)
}

fn timed_prefix(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + id.len() + 12);
    k.push(prefix);
    k.extend_from_slice(id.as_bytes());
    k.push(0);
    k
}

fn timed(prefix: u8, id: &str, at_ms: i64, counter: u32) -> Vec<u8> {
    let mut k = timed_prefix(prefix, id);
    k.extend_from_slice(&ts_to_ordered(at_ms).to_be_bytes());
    k.extend_from_slice(&counter.to_be_bytes());
    k
}

fn decode_timed(prefix: u8, what: &str, key: &[u8]) -> Result<(String, i64, u32), StorageError> {
    let err = || corrupt(what, key);
    let rest = key.strip_prefix(&[prefix]).ok_or_else(err)?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = ci_event("sw1", -5, 7);
        assert_eq!(decode_ci_event(&e).unwrap(), ("sw1".into(), -5, 7));
        assert!(ci_event("sw1", -5, 7) < ci_event("sw1", 0, 0));
        assert!(
            decode_ci_change(&e).is_err(),
            "an event key is not a change key"
        );
        assert!(e.starts_with(&ci_event_prefix("sw1")));
    }
}
