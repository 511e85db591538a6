//! Encoding 2, the compressed chunk format new chunks are written in: a
//! timestamp stream and a value stream of adaptive bit codes.
//!
//! # Layout
//!
//! ```text
//! byte 0          ENCODING_COMPRESSED (2)
//! varint          n, the sample count (n = 0: nothing follows)
//! varint          T, byte length of the timestamp stream
//! T bytes         timestamp stream: zigzag varint t0 (first timestamp), then
//!                 a bit stream for samples 1..n, zero-padded to a byte
//! rest            value stream: a bit stream for samples 0..n, zero-padded
//!
//! Bit streams are most significant bit first. Each stream is decoded in
//! step with the other, one sample at a time; runs in one stream are
//! independent of the other.
//!
//! Timestamp stream, per sample (r = delta - predicted delta, z = zigzag(r)):
//!   first delta of the chunk        L(z)
//!   while run-eligible (Rice k = 0, or the last r was 0):
//!     0 G                           a run of G zero residuals (this sample
//!                                   and the next G-1)
//!     1 T                           one non-zero residual
//!   otherwise                       T
//! T  k > 0: R_k(z);  k = 0: 0 G (r = G whole predicted deltas, as when
//!    scrapes were missed) | 1 R_0(z)
//!
//! Value stream: sample 0 is tagged: 0 M | 10 s:5 M | 11 X. Later samples:
//!   while run-eligible (after an XOR-coded value; or after a decimal when
//!   Rice k = 0 or the last value was exactly its prediction):
//!     0 G                           a run of G values equal to their
//!                                   prediction (same bits after an XOR)
//!     1 V                           one other value
//!   otherwise                       V
//! V  untagged, the kind of the previous value is kept:
//!      after a decimal:  M | S_M 0 s:5 M (rescale) | S_M 1 X (XOR)
//!      after an XOR:     X | S_X 0 M (decimal) | S_X 1 s:5 M (rescale)
//! M  decimal mantissa m at scale s (value = m / 10^s, |m| <= 2^53):
//!      zigzag(m - prediction) as R_k, or L for the chunk's first mantissa
//! X  XOR with the previous value's bits: 0 (equal) | 10 bits inside the
//!      previous window | 11 lead:6 (len-1):6 bits (new window)
//! G  Elias gamma: (bitlen-1) zeros, then the bits (runs are cut at 65535)
//! L  7-bit bit length (0..=64), then the bits
//! R_k  Rice: q = z >> k as q ones and a zero, then k low bits; q >= 5:
//!      five ones, 6-bit (bitlen-1), the bits below the top one
//! S_M  switch marker: five ones + 6 zero bits inside R_k (never a value),
//!      or length 127 inside L
//! S_X  switch marker: 11 lead=63 len-1=63 (never a valid window)
//! ```
//!
//! Nothing else is stored: the predictions and Rice parameters follow from
//! the samples already decoded, and [`model`] holds the state that encoder and
//! decoder update identically after every sample:
//! - predicted delta: the reference interval (the last delta seen twice in a
//!   row) or the previous delta (plain delta-of-delta), whichever had the
//!   smaller residuals lately;
//! - predicted mantissa: previous mantissa (delta coding) or previous plus its
//!   delta (delta-of-delta), whichever had the smaller residuals lately;
//! - Rice k for timestamps: average residual bit length over ~8 samples;
//!   for mantissas: bit length of 3/4 of the mean residual over ~4 samples;
//! - decimal scale: starts at 0, only grows (rescale codes).
//!
//! A value is coded as a decimal only when `m / 10^s` reproduces its bits
//! exactly; everything else (NaN payloads, infinities, -0.0, values with more
//! than 15-16 significant digits, huge or tiny magnitudes) takes the XOR
//! code, so every f64 and every i64 timestamp round-trips bit-exactly.

mod appender;
pub mod bits;
mod decoder;
pub mod model;
#[cfg(test)]
mod tests;

pub(crate) use super::varint::{get_varint, put_varint};
pub use appender::Appender;

/// First byte of every chunk in this encoding.
pub const ENCODING_COMPRESSED: u8 = 2;

/// Most samples one chunk may hold; the decoder rejects larger counts.
pub const MAX_SAMPLES: usize = 1 << 20;

/// Why a chunk could not be decoded or a sample not appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not a valid chunk; the text names the problem.
    #[error("corrupt chunk: {0}")]
    Corrupt(String),
    /// A pushed timestamp is not after the previous one.
    #[error("timestamp {ts} is not after the chunk's last timestamp {last}")]
    OutOfOrder {
        /// The chunk's last timestamp.
        last: i64,
        /// The rejected timestamp.
        ts: i64,
    },
    /// The chunk already holds [`MAX_SAMPLES`] samples.
    #[error("chunk full ({MAX_SAMPLES} samples)")]
    ChunkFull,
}

/// Encodes time-ordered samples (strictly increasing timestamps, at most
/// [`MAX_SAMPLES`]; other input encodes but does not decode).
pub fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
    let mut a = Appender::new();
    for &(t, v) in samples {
        a.push_unchecked(t, v);
    }
    a.bytes()
}

/// Decodes a chunk, appending the samples with `start <= t <= end` to `out`.
///
/// The whole chunk is validated; truncated or corrupt input gives
/// [`CodecError::Corrupt`] (samples appended before the problem was found
/// stay in `out`).
pub fn decode_into(
    buf: &[u8],
    start: i64,
    end: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), CodecError> {
    match buf.first() {
        Some(&ENCODING_COMPRESSED) => decoder::decode_body(&buf[1..], start, end, out),
        Some(other) => Err(CodecError::Corrupt(format!("unknown encoding {other}"))),
        None => Err(CodecError::Corrupt("empty chunk".into())),
    }
}

impl From<CodecError> for crate::StorageError {
    fn from(e: CodecError) -> Self {
        crate::StorageError::Corrupt(e.to_string())
    }
}
