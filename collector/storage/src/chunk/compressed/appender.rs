//! Streaming encoder: the open chunk of a series, kept compressed.

use super::bits::{BitWriter, bitlen};
use super::model::{NO_WINDOW, TsModel, ValModel, min_decimal, to_decimal, zigzag};
use super::{CodecError, ENCODING_COMPRESSED, MAX_SAMPLES, put_varint};

/// Streaming encoder of one chunk (encoding [`ENCODING_COMPRESSED`]).
///
/// Samples are compressed as they are pushed; [`Appender::bytes`] returns the
/// encoded chunk at any time, byte-identical to [`super::encode`] of the same
/// samples. Memory: `size_of::<Appender>()` plus [`Appender::heap_bytes`],
/// which grows with the compressed size only (in small steps).
#[derive(Debug, Default, Clone)]
pub struct Appender {
    /// Timestamp stream: first timestamp (varint), then whole bytes of bits.
    ts_buf: Vec<u8>,
    /// Value stream: whole bytes of bits.
    val_buf: Vec<u8>,
    ts: TsModel,
    val: ValModel,
    n: u32,
    /// Zero timestamp residuals not yet written (a pending run).
    ts_run: u16,
    /// Predicted values not yet written (a pending run).
    val_run: u16,
    /// Pending bits of each stream (low bits) and their counts.
    ts_acc: u8,
    ts_pending: u8,
    val_acc: u8,
    val_pending: u8,
}

/// How one value is coded.
enum ValueCode {
    /// Decimal mantissa at the current scale.
    Int(i64),
    /// Rescale to a larger decimal scale, then the mantissa.
    Rescale(u8, i64),
    /// XOR of the float bits against the previous value.
    Xor,
}

impl Appender {
    /// An empty chunk.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of samples pushed.
    pub fn len(&self) -> usize {
        self.n as usize
    }

    /// Whether no sample was pushed.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Timestamp of the last sample, if any.
    pub fn last_ts(&self) -> Option<i64> {
        (self.n > 0).then_some(self.ts.prev)
    }

    /// Heap memory held (the compressed bit stream's allocation).
    pub fn heap_bytes(&self) -> usize {
        self.ts_buf.capacity() + self.val_buf.capacity()
    }

    /// Appends a sample; `ts` must be later than [`Appender::last_ts`] and the
    /// chunk must hold fewer than [`MAX_SAMPLES`] samples.
    pub fn push(&mut self, ts: i64, v: f64) -> Result<(), CodecError> {
        if let Some(last) = self.last_ts()
            && ts <= last
        {
            return Err(CodecError::OutOfOrder { last, ts });
        }
        if self.len() >= MAX_SAMPLES {
            return Err(CodecError::ChunkFull);
        }
        self.push_unchecked(ts, v);
        Ok(())
    }

    /// Appends without the ordering and size checks (any i64 sequence encodes).
    pub(crate) fn push_unchecked(&mut self, ts: i64, v: f64) {
        let mut tw = BitWriter::from_parts(
            std::mem::take(&mut self.ts_buf),
            self.ts_acc,
            self.ts_pending,
        );
        let mut vw = BitWriter::from_parts(
            std::mem::take(&mut self.val_buf),
            self.val_acc,
            self.val_pending,
        );
        self.encode_sample(&mut tw, &mut vw, ts, v);
        (self.ts_buf, self.ts_acc, self.ts_pending) = tw.into_parts();
        (self.val_buf, self.val_acc, self.val_pending) = vw.into_parts();
    }

    fn encode_sample(&mut self, tw: &mut BitWriter, vw: &mut BitWriter, ts: i64, v: f64) {
        if self.n == 0 {
            put_varint(&mut tw.buf, zigzag(ts));
            self.ts = TsModel::start(ts);
            let code = self.classify(v);
            self.write_value(vw, v, code, true);
            self.n = 1;
            return;
        }
        self.n += 1;
        // Timestamp stream.
        let r = self.ts.residual(ts);
        if self.ts.run_eligible() {
            if r == 0 {
                Self::extend_run(tw, &mut self.ts_run);
            } else {
                Self::flush_run(tw, &mut self.ts_run);
                tw.bit(true);
                self.write_ts(tw, r);
            }
        } else {
            self.write_ts(tw, r);
        }
        self.ts.apply(r);
        // Value stream.
        let code = self.classify(v);
        if self.val.run_eligible() {
            let repeat = match code {
                ValueCode::Int(m) => !self.val.xor_mode && m == self.val.predict(),
                ValueCode::Xor => self.val.xor_mode && v.to_bits() == self.val.prev_bits,
                ValueCode::Rescale(..) => false,
            };
            if repeat {
                Self::extend_run(vw, &mut self.val_run);
                self.apply_value(v, &code);
                return;
            }
            Self::flush_run(vw, &mut self.val_run);
            vw.bit(true);
        }
        self.write_value(vw, v, code, false);
    }

    /// Counts one more sample in a pending run (writing out a full one).
    fn extend_run(w: &mut BitWriter, run: &mut u16) {
        if *run == u16::MAX {
            Self::flush_run(w, run);
        }
        *run += 1;
    }

    /// Writes a pending run as `0` gamma(run).
    fn flush_run(w: &mut BitWriter, run: &mut u16) {
        if *run > 0 {
            w.bit(false);
            w.gamma(u64::from(*run));
            *run = 0;
        }
    }

    /// Writes a timestamp residual that is not part of a run: the chunk's
    /// first delta as L; with Rice `k > 0` as R_k; in a regular stream
    /// (`k == 0`, residual not 0) `0` gamma(m) for m whole predicted
    /// intervals or `1` R_0.
    fn write_ts(&mut self, w: &mut BitWriter, r: i64) {
        let z = zigzag(r);
        let k = self.ts.rice.k();
        if !self.ts.trained {
            w.len_prefixed(z);
        } else if k > 0 {
            w.rice(z, k);
        } else if let Some(m) = self.ts.intervals(r) {
            w.bit(false);
            w.gamma(m);
        } else {
            w.bit(true);
            w.rice(z, 0);
        }
    }

    /// Chooses how `v` is coded given the current state.
    fn classify(&self, v: f64) -> ValueCode {
        if self.val.xor_mode && v.to_bits() == self.val.prev_bits {
            return ValueCode::Xor;
        }
        if let Some(m) = to_decimal(v, self.val.scale) {
            return ValueCode::Int(m);
        }
        if let Some((s, m)) = min_decimal(v)
            && s > self.val.scale
            && self.val.clone().rescale(s).is_some()
        {
            return ValueCode::Rescale(s, m);
        }
        ValueCode::Xor
    }

    /// Updates the value state after `v` was coded as `code` (or repeated).
    fn apply_value(&mut self, v: f64, code: &ValueCode) {
        match *code {
            ValueCode::Int(m) => self.val.apply_int(m, v.to_bits()),
            ValueCode::Rescale(s, m) => {
                // classify() checked that the rescale fits.
                let _ = self.val.rescale(s);
                self.val.apply_int(m, v.to_bits());
            }
            ValueCode::Xor => self.val.apply_xor(v.to_bits()),
        }
    }

    /// Writes a value code. Sample 0: `0` mantissa, `10` s:5 mantissa
    /// (rescale), `11` XOR. Later samples keep the previous sample's kind
    /// without a tag: after a decimal, a mantissa, or the mantissa switch
    /// marker then `0` s:5 mantissa (rescale) or `1` XOR; after an XOR-coded
    /// value, an XOR code, or the XOR switch marker then `0` mantissa or
    /// `1` s:5 mantissa (rescale).
    fn write_value(&mut self, w: &mut BitWriter, v: f64, code: ValueCode, first: bool) {
        let bits = v.to_bits();
        if first {
            match code {
                ValueCode::Int(m) => {
                    w.bit(false);
                    self.write_mantissa(w, m);
                }
                ValueCode::Rescale(s, m) => {
                    w.write(0b10, 2);
                    self.write_rescaled(w, s, m);
                }
                ValueCode::Xor => {
                    w.write(0b11, 2);
                    self.write_xor(w, bits);
                }
            }
        } else if !self.val.xor_mode {
            match code {
                ValueCode::Int(m) => self.write_mantissa(w, m),
                ValueCode::Rescale(s, m) => {
                    self.write_mantissa_switch(w);
                    w.bit(false);
                    self.write_rescaled(w, s, m);
                }
                ValueCode::Xor => {
                    self.write_mantissa_switch(w);
                    w.bit(true);
                    self.write_xor(w, bits);
                }
            }
        } else {
            match code {
                ValueCode::Xor => self.write_xor(w, bits),
                ValueCode::Int(m) => {
                    self.write_xor_switch(w);
                    w.bit(false);
                    self.write_mantissa(w, m);
                }
                ValueCode::Rescale(s, m) => {
                    self.write_xor_switch(w);
                    w.bit(true);
                    self.write_rescaled(w, s, m);
                }
            }
        }
        match code {
            ValueCode::Int(m) | ValueCode::Rescale(_, m) => self.val.apply_int(m, bits),
            ValueCode::Xor => self.val.apply_xor(bits),
        }
    }

    fn write_rescaled(&mut self, w: &mut BitWriter, s: u8, m: i64) {
        w.write(u64::from(s), 5);
        // classify() checked that the rescale fits.
        let _ = self.val.rescale(s);
        self.write_mantissa(w, m);
    }

    fn write_mantissa_switch(&mut self, w: &mut BitWriter) {
        if self.val.has_int {
            w.rice_switch();
        } else {
            w.len_switch();
        }
    }

    /// The XOR switch marker: `11`, 63 leading zeros and a 64-bit length
    /// (impossible together).
    fn write_xor_switch(&mut self, w: &mut BitWriter) {
        w.write(0b11, 2);
        w.write(63, 6);
        w.write(63, 6);
    }

    fn write_mantissa(&mut self, w: &mut BitWriter, m: i64) {
        let z = zigzag(m.wrapping_sub(self.val.predict()));
        if self.val.has_int {
            w.rice(z, self.val.k());
        } else {
            w.len_prefixed(z);
        }
    }

    /// XOR code: `0` same bits; `10` meaningful bits inside the previous
    /// window; `11` + 6-bit leading zeros + 6-bit (length - 1) + bits.
    fn write_xor(&mut self, w: &mut BitWriter, bits: u64) {
        let x = bits ^ self.val.prev_bits;
        if x == 0 {
            w.bit(false);
            return;
        }
        let lead = x.leading_zeros() as u8;
        let trail = x.trailing_zeros() as u8;
        if self.val.lead != NO_WINDOW && lead >= self.val.lead && trail >= self.val.trail {
            let len = 64 - u32::from(self.val.lead) - u32::from(self.val.trail);
            w.write(0b10, 2);
            w.write(x >> self.val.trail, len);
        } else {
            let len = 64 - u32::from(lead) - u32::from(trail);
            w.write(0b11, 2);
            w.write(u64::from(lead), 6);
            w.write(u64::from(len - 1), 6);
            w.write(x >> trail, len);
            self.val.lead = lead;
            self.val.trail = trail;
        }
    }

    /// The encoded chunk holding every sample pushed so far.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.ts_buf.len() + self.val_buf.len());
        out.push(ENCODING_COMPRESSED);
        put_varint(&mut out, u64::from(self.n));
        if self.n == 0 {
            return out;
        }
        let ts = Self::finish(&self.ts_buf, self.ts_acc, self.ts_pending, self.ts_run);
        put_varint(&mut out, ts.len() as u64);
        out.extend_from_slice(&ts);
        let vals = Self::finish(&self.val_buf, self.val_acc, self.val_pending, self.val_run);
        out.extend_from_slice(&vals);
        out
    }

    /// A stream's bytes with its pending run and bits written out.
    fn finish(buf: &[u8], acc: u8, pending: u8, mut run: u16) -> Vec<u8> {
        let mut w = BitWriter::from_parts(Vec::with_capacity(buf.len() + 8), acc, pending);
        w.buf.extend_from_slice(buf);
        Self::flush_run(&mut w, &mut run);
        w.finish()
    }

    /// Exact size of [`Appender::bytes`] without building it.
    pub fn encoded_len(&self) -> usize {
        let varint_len = |v: u64| (bitlen(v).max(1) as usize).div_ceil(7);
        let head = 1 + varint_len(u64::from(self.n));
        if self.n == 0 {
            return head;
        }
        let stream = |buf: &[u8], pending: u8, run: u16| {
            let run_bits = if run > 0 {
                2 * bitlen(u64::from(run)) as usize
            } else {
                0
            };
            buf.len() + (usize::from(pending) + run_bits).div_ceil(8)
        };
        let ts = stream(&self.ts_buf, self.ts_pending, self.ts_run);
        head + varint_len(ts as u64) + ts + stream(&self.val_buf, self.val_pending, self.val_run)
    }
}
