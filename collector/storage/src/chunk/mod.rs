//! Chunks: the samples of one series within one time partition, encoded.
//!
//! Every chunk starts with an encoding byte, and readers dispatch on it, so
//! a new encoding never touches a key and old chunks stay readable:
//! - [`compressed`]: encoding 2, adaptive bit codes for timestamps and
//!   values, lossless for every f64 and i64; new chunks are written in it,
//!   and the head keeps its open chunks in it ([`compressed::Appender`]);
//! - [`delta_f64`]: encoding 1, varint timestamp deltas and raw f64 values;
//! - [`varint`]: the varints the encodings and the ingest log share.

pub mod compressed;
pub mod delta_f64;
pub mod varint;

use super::StorageError;

/// Length of a time partition: chunks never span two partitions.
pub const PARTITION_MS: i64 = 2 * 60 * 60 * 1000;
/// A chunk is cut when it holds this many samples.
pub const MAX_CHUNK_SAMPLES: usize = 240;
/// Encoding byte of [`delta_f64`].
pub const ENCODING_DELTA_F64: u8 = 1;
/// Encoding byte of [`compressed`].
pub use compressed::ENCODING_COMPRESSED;
/// A stored chunk claiming more samples than this is corrupt (a partition
/// of millisecond samples holds at most `PARTITION_MS`).
pub const MAX_DECODED_SAMPLES: usize = PARTITION_MS as usize;

/// Encodes time-ordered samples (strictly increasing timestamps) in the
/// encoding new chunks are written with.
pub fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    compressed::encode(samples)
}

/// Decodes a chunk of any known encoding, appending the samples with
/// `start <= t <= end` to `out`.
pub fn decode_into(
    buf: &[u8],
    start: i64,
    end: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), StorageError> {
    match buf.first() {
        Some(&ENCODING_COMPRESSED) => Ok(compressed::decode_into(buf, start, end, out)?),
        Some(&ENCODING_DELTA_F64) => delta_f64::decode_into(buf, start, end, out),
        Some(other) => Err(corrupt(&format!("unknown encoding {other}"))),
        None => Err(corrupt("empty")),
    }
}

/// A corrupt-chunk error naming the problem.
pub(crate) fn corrupt(why: &str) -> StorageError {
    StorageError::Corrupt(format!("chunk: {why}"))
}

/// Start of the partition that contains `ts_ms`.
pub fn partition_start(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(PARTITION_MS) * PARTITION_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Vec<(i64, f64)> {
        (0..100)
            .map(|i| (1_700_000_000_000 + i * 10_000, i as f64 * 0.5))
            .collect()
    }

    #[test]
    fn both_encodings_round_trip_and_filter_by_range() {
        let s = series();
        let legacy = delta_f64::encode(&s);
        let new = encode(&s);
        assert_eq!(legacy[0], ENCODING_DELTA_F64);
        assert_eq!(new[0], ENCODING_COMPRESSED);
        for enc in [&legacy, &new] {
            let mut all = Vec::new();
            decode_into(enc, i64::MIN, i64::MAX, &mut all).unwrap();
            assert_eq!(all, s);
            let mut some = Vec::new();
            decode_into(enc, s[10].0, s[19].0, &mut some).unwrap();
            assert_eq!(some, s[10..20]);
        }
        assert!(legacy.len() < s.len() * 16, "{} bytes", legacy.len());
        // A regular series of halves: a few bits per sample.
        assert!(
            new.len() * 8 < legacy.len(),
            "{} vs {}",
            new.len(),
            legacy.len()
        );
    }

    #[test]
    fn rejects_corrupt_chunks_of_either_encoding() {
        for enc in [
            delta_f64::encode(&[(1, 1.0), (2, 2.0)]),
            encode(&[(1, 1.0), (2, 2.5)]),
        ] {
            let mut out = Vec::new();
            let err = decode_into(&enc[..enc.len() - 1], 0, 10, &mut out).unwrap_err();
            assert!(err.to_string().contains("chunk"), "{err}");
        }
        let mut out = Vec::new();
        let err = decode_into(&[9, 0], 0, 10, &mut out).unwrap_err();
        assert!(err.to_string().contains("unknown encoding 9"), "{err}");
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
        use super::varint::{get_signed, put_signed};
        for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            let mut b = Vec::new();
            put_signed(&mut b, v);
            let mut p = 0;
            assert_eq!(get_signed(&b, &mut p), Some(v));
            assert_eq!(p, b.len());
        }
    }
}
