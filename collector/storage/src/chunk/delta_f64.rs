//! Encoding 1, the first chunk format: `varint count`, the first timestamp
//! as a zigzag varint, the following timestamps as zigzag varint deltas,
//! then the values as little-endian f64. Chunks written with it stay
//! readable.

use super::varint::{get_signed, get_varint, put_signed, put_varint};
use super::{ENCODING_DELTA_F64, MAX_DECODED_SAMPLES, corrupt};
use crate::StorageError;

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
    if buf.first() != Some(&ENCODING_DELTA_F64) {
        return Err(corrupt("not encoding 1"));
    }
    let mut pos = 1;
    let n = get_varint(buf, &mut pos).ok_or_else(|| corrupt("truncated count"))? as usize;
    // Every sample takes at least one timestamp byte and eight value bytes.
    if n > MAX_DECODED_SAMPLES || n.saturating_mul(9) > buf.len() {
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
