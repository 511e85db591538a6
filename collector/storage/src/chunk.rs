//! Chunk encoding: the samples of one series within one time partition.
//!
//! A chunk starts with an encoding byte so that a compressed (Gorilla-style)
//! encoding can be added later without touching any key: readers dispatch on
//! the byte. Encoding 1 is `varint count`, the first timestamp as a zigzag
//! varint, the following timestamps as zigzag varint deltas, then the values
//! as little-endian f64.

use super::StorageError;

/// Length of a time partition: chunks never span two partitions.
pub const PARTITION_MS: i64 = 2 * 60 * 60 * 1000;
/// A chunk is cut when it holds this many samples.
pub const MAX_CHUNK_SAMPLES: usize = 240;
/// Encoding byte of [`encode`].
pub const ENCODING_DELTA_F64: u8 = 1;

/// Start of the partition that contains `ts_ms`.
pub fn partition_start(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(PARTITION_MS) * PARTITION_MS
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint at `*pos`, advancing it.
pub fn get_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Appends a signed value as a zigzag varint.
pub fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads a zigzag varint at `*pos`, advancing it.
pub fn get_signed(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let u = get_varint(buf, pos)?;
    Some(((u >> 1) as i64) ^ -((u & 1) as i64))
}

/// Appends an unsigned varint.
pub fn put_unsigned(out: &mut Vec<u8>, v: u64) {
    put_varint(out, v)
}

/// Encodes samples (time-ordered) with encoding 1.
pub fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + samples.len() * 10);
    out.push(ENCODING_DELTA_F64);
    put_varint(&mut out, samples.len() as u64);
    let mut prev = 0i64;
    for (i, (ts, _)) in samples.iter().enumerate() {
        put_signed(&mut out, if i == 0 { *ts } else { ts.wrapping_sub(prev) });
        prev = *ts;
    }
    for (_, v) in samples {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes a chunk, appending the samples with `start <= t <= end` to `out`.
pub fn decode_into(
    buf: &[u8],
    start: i64,
    end: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), StorageError> {
    let corrupt = |why: &str| StorageError::Corrupt(format!("chunk: {why}"));
    match buf.first() {
        Some(&ENCODING_DELTA_F64) => {}
        Some(other) => return Err(corrupt(&format!("unknown encoding {other}"))),
        None => return Err(corrupt("empty")),
    }
    let mut pos = 1;
    let n = get_varint(buf, &mut pos).ok_or_else(|| corrupt("truncated count"))? as usize;
    if n > MAX_CHUNK_SAMPLES * 16 {
        return Err(corrupt("implausible sample count"));
    }
    let mut times = Vec::with_capacity(n);
    let mut ts = 0i64;
    for i in 0..n {
        let d = get_signed(buf, &mut pos).ok_or_else(|| corrupt("truncated timestamps"))?;
        ts = if i == 0 { d } else { ts.wrapping_add(d) };
        times.push(ts);
    }
    let values = &buf[pos..];
    if values.len() != n * 8 {
        return Err(corrupt("value section has the wrong length"));
    }
    for (t, v) in times.into_iter().zip(values.chunks_exact(8)) {
        if t >= start && t <= end {
            let bytes: [u8; 8] = v.try_into().map_err(|_| corrupt("value"))?;
            out.push((t, f64::from_le_bytes(bytes)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_range_filter() {
        let s: Vec<(i64, f64)> = (0..100)
            .map(|i| (1_700_000_000_000 + i * 10_000, i as f64 * 0.5))
            .collect();
        let enc = encode(&s);
        let mut all = Vec::new();
        decode_into(&enc, i64::MIN, i64::MAX, &mut all).unwrap();
        assert_eq!(all, s);
        let mut some = Vec::new();
        decode_into(&enc, s[10].0, s[19].0, &mut some).unwrap();
        assert_eq!(some, s[10..20]);
        assert!(
            enc.len() < s.len() * 16,
            "delta timestamps must be smaller than raw"
        );
    }

    #[test]
    fn rejects_corrupt_chunks() {
        let enc = encode(&[(1, 1.0), (2, 2.0)]);
        let mut out = Vec::new();
        assert!(decode_into(&enc[..enc.len() - 1], 0, 10, &mut out).is_err());
        assert!(decode_into(&[9, 0], 0, 10, &mut out).is_err());
        assert!(decode_into(&[], 0, 10, &mut out).is_err());
    }

    #[test]
    fn partitions_are_aligned() {
        assert_eq!(partition_start(PARTITION_MS + 5), PARTITION_MS);
        assert_eq!(partition_start(-1), -PARTITION_MS);
        assert_eq!(partition_start(0), 0);
    }

    #[test]
    fn signed_varints_round_trip() {
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            let mut b = Vec::new();
            put_signed(&mut b, v);
            let mut p = 0;
            assert_eq!(get_signed(&b, &mut p), Some(v));
            assert_eq!(p, b.len());
        }
    }
}
