//! Encoding of one ingest log record: the samples of one durable append.
//!
//! Layout: varint count, then per sample varint series id, zigzag varint
//! timestamp delta (to the previous sample of the record), little-endian f64.

use super::Sample;
use super::StorageError;
use super::chunk::varint::{get_signed, get_varint, put_signed, put_unsigned};

/// Encodes samples into a log record.
pub fn encode(samples: &[Sample]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + samples.len() * 14);
    put_unsigned(&mut out, samples.len() as u64);
    let mut prev = 0i64;
    for (id, ts, v) in samples {
        put_unsigned(&mut out, *id);
        put_signed(&mut out, ts.wrapping_sub(prev));
        prev = *ts;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Decodes a log record, rejecting truncated or trailing data.
pub fn decode(buf: &[u8]) -> Result<Vec<Sample>, StorageError> {
    let corrupt = || StorageError::Corrupt("truncated or malformed ingest log record".into());
    let mut pos = 0;
    let n = get_varint(buf, &mut pos).ok_or_else(corrupt)? as usize;
    if n > buf.len() {
        return Err(corrupt());
    }
    let mut out = Vec::with_capacity(n);
    let mut prev = 0i64;
    for _ in 0..n {
        let id = get_varint(buf, &mut pos).ok_or_else(corrupt)?;
        let ts = prev.wrapping_add(get_signed(buf, &mut pos).ok_or_else(corrupt)?);
        prev = ts;
        let bytes: [u8; 8] = buf
            .get(pos..pos + 8)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?;
        pos += 8;
        out.push((id, ts, f64::from_le_bytes(bytes)));
    }
    if pos != buf.len() {
        return Err(corrupt());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = vec![
            (1, 1_700_000_000_000, 1.5),
            (300_000, 1_699_999_999_000, -2.0),
            (2, 0, f64::MAX),
        ];
        assert_eq!(decode(&encode(&s)).unwrap(), s);
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn rejects_truncation_and_trailing_bytes() {
        let enc = encode(&[(1, 5, 1.0)]);
        assert!(decode(&enc[..enc.len() - 1]).is_err());
        let mut long = enc.clone();
        long.push(0);
        assert!(decode(&long).is_err());
    }
}
