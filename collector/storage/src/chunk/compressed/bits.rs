//! Bit-level writer and reader (most significant bit first) and the small
//! integer codes the chunk format is built from: fixed-width fields,
//! length-prefixed integers, Elias-gamma run lengths and adaptive Rice codes.

use super::CodecError;

/// Unary prefixes longer than this switch a Rice code to its escape form.
pub(crate) const RICE_ESCAPE: u32 = 5;

/// Length field of a length-prefixed switch marker.
const LEN_SWITCH: u64 = 127;

/// Number of significant bits of `z` (0 for 0).
#[inline]
pub(crate) fn bitlen(z: u64) -> u32 {
    64 - z.leading_zeros()
}

/// Appends bits to a byte vector, most significant bit first.
///
/// Whole bytes go to `buf`; up to 7 pending bits stay in `acc`.
#[derive(Debug, Default, Clone)]
pub(crate) struct BitWriter {
    pub(crate) buf: Vec<u8>,
    /// Pending bits (the low `pending` bits).
    acc: u8,
    /// Pending bit count, always < 8 between calls.
    pending: u8,
}

impl BitWriter {
    /// A writer that continues after `buf` with `pending` bits (< 8) held in
    /// the low bits of `acc`.
    pub(crate) fn from_parts(buf: Vec<u8>, acc: u8, pending: u8) -> BitWriter {
        BitWriter {
            buf,
            acc,
            pending: pending & 7,
        }
    }

    /// The buffer and the pending bits, for [`BitWriter::from_parts`].
    pub(crate) fn into_parts(self) -> (Vec<u8>, u8, u8) {
        (self.buf, self.acc, self.pending)
    }

    /// Writes the low `nb` bits of `v` (`nb <= 64`).
    #[inline]
    pub(crate) fn write(&mut self, v: u64, nb: u32) {
        if nb > 32 {
            self.write32(v >> 32, nb - 32);
            self.write32(v, 32);
        } else {
            self.write32(v, nb);
        }
    }

    #[inline]
    fn write32(&mut self, v: u64, nb: u32) {
        if nb == 0 {
            return;
        }
        let v = v & ((1u64 << nb) - 1);
        let acc = (u64::from(self.acc) << nb) | v;
        let mut n = u32::from(self.pending) + nb;
        if n >= 8 {
            self.grow(n as usize / 8);
            while n >= 8 {
                n -= 8;
                self.buf.push((acc >> n) as u8);
            }
        }
        // n < 8 here.
        self.acc = (acc & ((1u64 << n) - 1)) as u8;
        self.pending = n as u8;
    }

    /// Grows the buffer by small steps so that an open chunk keeps little slack.
    #[inline]
    fn grow(&mut self, extra: usize) {
        if self.buf.capacity() - self.buf.len() < extra {
            let step = (self.buf.len() / 8).max(8).max(extra);
            self.buf.reserve_exact(step);
        }
    }

    /// Writes one bit.
    #[inline]
    pub(crate) fn bit(&mut self, b: bool) {
        self.write32(u64::from(b), 1);
    }

    /// Writes `z` as 7 bits of bit length then its significant bits.
    pub(crate) fn len_prefixed(&mut self, z: u64) {
        let n = bitlen(z);
        self.write(u64::from(n), 7);
        self.write(z, n);
    }

    /// Writes `r >= 1` as an Elias-gamma code.
    pub(crate) fn gamma(&mut self, r: u64) {
        let n = bitlen(r);
        self.write(0, n - 1);
        self.write(r, n);
    }

    /// Writes `z` as a Rice code with parameter `k`: the quotient `z >> k` in
    /// unary (ones closed by a zero) then the `k` low bits; a quotient of
    /// [`RICE_ESCAPE`] or more is written as that many ones then `z`
    /// length-prefixed in 6 bits (bit length - 1) plus its bits below the top one.
    #[inline]
    pub(crate) fn rice(&mut self, z: u64, k: u32) {
        let q = z >> k;
        if q < u64::from(RICE_ESCAPE) {
            // q ones, a zero, then k bits: at most 16 + 1 + 63 bits.
            let ones = ((1u64 << q) - 1) << 1;
            self.write(ones, q as u32 + 1);
            self.write(z, k);
        } else {
            self.write((1u64 << RICE_ESCAPE) - 1, RICE_ESCAPE);
            let n = bitlen(z); // >= 1 because z >= RICE_ESCAPE
            self.write(u64::from(n - 1), 6);
            self.write(z, n - 1);
        }
    }

    /// Writes the marker that a [`BitReader::rice_or_switch`] reads as a
    /// switch: the escape prefix with a bit-length field of 0 (never valid,
    /// escaped values have at least 3 bits).
    pub(crate) fn rice_switch(&mut self) {
        self.write((1u64 << RICE_ESCAPE) - 1, RICE_ESCAPE);
        self.write(0, 6);
    }

    /// Writes the marker that [`BitReader::len_prefixed_or_switch`] reads as a
    /// switch: a length field of 127.
    pub(crate) fn len_switch(&mut self) {
        self.write(LEN_SWITCH, 7);
    }

    /// Closes the stream: pads the last byte with zero bits.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.pending > 0 {
            let p = u32::from(self.pending);
            self.buf.push(((u32::from(self.acc)) << (8 - p)) as u8);
        }
        self.buf
    }
}

/// Reads bits written by [`BitWriter`].
pub(crate) struct BitReader<'a> {
    buf: &'a [u8],
    /// Next bit position.
    pos: usize,
}

fn truncated() -> CodecError {
    CodecError::Corrupt("bit stream truncated".into())
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        BitReader { buf, pos: 0 }
    }

    /// Bits left in the buffer.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() * 8 - self.pos
    }

    /// The 64 bits starting at the current position (zeros past the end).
    #[inline]
    fn peek64(&self) -> u64 {
        let byte = self.pos / 8;
        let word = match self.buf.get(byte..byte + 8) {
            Some(s) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                u64::from_be_bytes(a)
            }
            None => {
                let mut a = [0u8; 8];
                let tail = self.buf.get(byte..).unwrap_or(&[]);
                a[..tail.len()].copy_from_slice(tail);
                u64::from_be_bytes(a)
            }
        };
        word << (self.pos % 8)
    }

    /// Reads `nb <= 64` bits.
    #[inline]
    pub(crate) fn read(&mut self, nb: u32) -> Result<u64, CodecError> {
        if nb == 0 {
            return Ok(0);
        }
        if nb > 56 {
            let hi = self.read(nb - 32)?;
            let lo = self.read(32)?;
            return Ok((hi << 32) | lo);
        }
        if self.remaining() < nb as usize {
            return Err(truncated());
        }
        let v = self.peek64() >> (64 - nb);
        self.pos += nb as usize;
        Ok(v)
    }

    /// Reads one bit.
    #[inline]
    pub(crate) fn bit(&mut self) -> Result<bool, CodecError> {
        Ok(self.read(1)? == 1)
    }

    /// Counts (and consumes) up to `limit <= 32` leading one bits, plus the
    /// closing zero if one was found before the limit.
    #[inline]
    fn unary(&mut self, limit: u32) -> Result<u32, CodecError> {
        let ones = self.peek64().leading_ones().min(limit);
        let used = if ones < limit { ones + 1 } else { ones };
        if self.remaining() < used as usize {
            return Err(truncated());
        }
        self.pos += used as usize;
        Ok(ones)
    }

    /// Reads a [`BitWriter::len_prefixed`] value.
    pub(crate) fn len_prefixed(&mut self) -> Result<u64, CodecError> {
        self.len_prefixed_or_switch()?
            .ok_or_else(|| CodecError::Corrupt("unexpected switch marker".into()))
    }

    /// Reads a length-prefixed value, or `None` for [`BitWriter::len_switch`].
    pub(crate) fn len_prefixed_or_switch(&mut self) -> Result<Option<u64>, CodecError> {
        let n = self.read(7)?;
        if n == LEN_SWITCH {
            return Ok(None);
        }
        if n > 64 {
            return Err(CodecError::Corrupt(format!("bit length {n} over 64")));
        }
        self.read(n as u32).map(Some)
    }

    /// Reads a [`BitWriter::gamma`] value.
    pub(crate) fn gamma(&mut self) -> Result<u64, CodecError> {
        let zeros = self.peek64().leading_zeros();
        if zeros > 31 {
            return Err(CodecError::Corrupt("run length code too long".into()));
        }
        self.read(zeros)?;
        self.read(zeros + 1)
    }

    /// Reads a [`BitWriter::rice`] value.
    #[inline]
    pub(crate) fn rice(&mut self, k: u32) -> Result<u64, CodecError> {
        self.rice_or_switch(k)?
            .ok_or_else(|| CodecError::Corrupt("unexpected switch marker".into()))
    }

    /// Reads a Rice value, or `None` for [`BitWriter::rice_switch`].
    #[inline]
    pub(crate) fn rice_or_switch(&mut self, k: u32) -> Result<Option<u64>, CodecError> {
        let q = self.unary(RICE_ESCAPE)?;
        if q < RICE_ESCAPE {
            let low = self.read(k)?;
            Ok(Some((u64::from(q) << k) | low))
        } else {
            let n = self.read(6)? as u32; // bit length - 1
            if n == 0 {
                return Ok(None);
            }
            let low = self.read(n)?;
            Ok(Some((1u64 << n) | low))
        }
    }

    /// Checks that only zero padding (less than a byte) is left.
    pub(crate) fn expect_end(&self) -> Result<(), CodecError> {
        let left = self.remaining();
        if left >= 8 {
            return Err(CodecError::Corrupt(format!("{} trailing bytes", left / 8)));
        }
        if left > 0 && self.peek64() != 0 {
            return Err(CodecError::Corrupt("non-zero padding".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        let vals = [
            0u64,
            1,
            2,
            3,
            15,
            16,
            17,
            255,
            1 << 20,
            u64::MAX >> 1,
            u64::MAX,
        ];
        let mut w = BitWriter::default();
        for &v in &vals {
            for k in [0u32, 1, 5, 20, 63] {
                w.rice(v, k);
            }
            w.len_prefixed(v);
            if v > 0 && v < 1 << 31 {
                w.gamma(v);
            }
            w.write(v, 64);
            w.bit(v & 1 == 1);
        }
        let bytes = w.finish();
        let mut r = BitReader::new(&bytes);
        for &v in &vals {
            for k in [0u32, 1, 5, 20, 63] {
                assert_eq!(r.rice(k).unwrap(), v, "rice k={k}");
            }
            assert_eq!(r.len_prefixed().unwrap(), v);
            if v > 0 && v < 1 << 31 {
                assert_eq!(r.gamma().unwrap(), v);
            }
            assert_eq!(r.read(64).unwrap(), v);
            assert_eq!(r.bit().unwrap(), v & 1 == 1);
        }
        r.expect_end().unwrap();
    }

    #[test]
    fn reader_reports_truncation() {
        let mut r = BitReader::new(&[0xff]);
        assert!(r.read(9).is_err());
        assert!(r.rice(3).is_err());
    }
}
