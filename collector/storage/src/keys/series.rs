//! Key layouts of the series index, postings, chunks, the ingest log and agent state.

use super::*;

/// `[SERIES_BY_LABELS][canonical label set]`.
pub fn series_by_labels(canonical: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + canonical.len());
    k.push(SERIES_BY_LABELS);
    k.extend_from_slice(canonical);
    k
}

/// `[SERIES_BY_ID][id u64]`.
pub fn series_by_id(id: u64) -> Vec<u8> {
    id_key(SERIES_BY_ID, id)
}

/// Decodes a [`series_by_id`] key.
pub fn decode_series_by_id(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(SERIES_BY_ID, "series-by-id", key)
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
    id_key(LOG, seq)
}

/// Decodes a [`log`] key.
pub fn decode_log(key: &[u8]) -> Result<u64, StorageError> {
    decode_id_key(LOG, "log", key)
}

/// `[AGENT][agent id]`.
pub fn agent(agent_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + agent_id.len());
    k.push(AGENT);
    k.extend_from_slice(agent_id.as_bytes());
    k
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
}
