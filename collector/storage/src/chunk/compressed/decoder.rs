//! Decoder of encoding [`super::ENCODING_COMPRESSED`].

use super::bits::BitReader;
use super::model::{MAX_SCALE, NO_WINDOW, TsModel, ValModel, from_decimal, unzigzag};
use super::{CodecError, MAX_SAMPLES, get_varint};

fn corrupt(why: impl Into<String>) -> CodecError {
    CodecError::Corrupt(why.into())
}

/// Decodes the chunk after its encoding byte (`body`), appending the samples
/// with `start <= t <= end` to `out`. The whole chunk is always validated.
pub(crate) fn decode_body(
    body: &[u8],
    start: i64,
    end: i64,
    out: &mut Vec<(i64, f64)>,
) -> Result<(), CodecError> {
    let mut pos = 0;
    let n = get_varint(body, &mut pos).ok_or_else(|| corrupt("truncated sample count"))?;
    if n > MAX_SAMPLES as u64 {
        return Err(corrupt(format!("implausible sample count {n}")));
    }
    let n = n as usize;
    if n == 0 {
        if pos != body.len() {
            return Err(corrupt("bytes after an empty chunk"));
        }
        return Ok(());
    }
    let ts_len = get_varint(body, &mut pos).ok_or_else(|| corrupt("truncated stream length"))?;
    let ts_end = usize::try_from(ts_len)
        .ok()
        .and_then(|l| pos.checked_add(l))
        .filter(|&e| e <= body.len())
        .ok_or_else(|| {
            corrupt(format!(
                "timestamp stream of {ts_len} bytes overruns the chunk"
            ))
        })?;
    let ts_bytes = &body[pos..ts_end];
    let mut tpos = 0;
    let t0 = get_varint(ts_bytes, &mut tpos)
        .map(unzigzag)
        .ok_or_else(|| corrupt("truncated first timestamp"))?;
    let mut tr = BitReader::new(&ts_bytes[tpos..]);
    let mut vr = BitReader::new(&body[ts_end..]);
    let mut ts = TsModel::start(t0);
    let mut val = ValModel::default();
    let emit = |t: i64, v: f64, out: &mut Vec<(i64, f64)>| {
        if t >= start && t <= end {
            out.push((t, v));
        }
    };
    out.reserve(n.min(8192));
    let v = read_value(&mut vr, &mut val, true)?;
    emit(t0, v, out);
    // Samples still covered by the current run of each stream.
    let (mut ts_run, mut val_run) = (0usize, 0usize);
    let mut i = 1;
    while i < n {
        // Inside runs of both streams, remember the state to spot a steady one.
        let before = (ts_run > 0 && val_run > 0).then_some((ts, val));
        let left = n - i;
        let r = if ts_run > 0 {
            ts_run -= 1;
            0
        } else if ts.run_eligible() {
            if tr.bit()? {
                read_ts(&mut tr, &ts)?
            } else {
                ts_run = run_length(&mut tr, left)? - 1;
                0
            }
        } else {
            read_ts(&mut tr, &ts)?
        };
        let prev = ts.prev;
        let t = ts.apply(r);
        if t <= prev {
            return Err(corrupt(format!("timestamp {t} not after {prev}")));
        }
        let repeat = if val_run > 0 {
            val_run -= 1;
            true
        } else if val.run_eligible() {
            if vr.bit()? {
                false
            } else {
                val_run = run_length(&mut vr, left)? - 1;
                true
            }
        } else {
            false
        };
        let v = if repeat {
            repeat_value(&mut val)
        } else {
            read_value(&mut vr, &mut val, false)?
        };
        emit(t, v, out);
        i += 1;
        let bulk = ts_run.min(val_run);
        let steady = before.is_some_and(|(t_b, v_b)| val == v_b && ts.same_but_prev(&t_b));
        if bulk > 0 && steady {
            // Steady state: every further sample of both runs adds the same
            // delta and repeats the value without changing any other state.
            let mut t = t;
            for _ in 0..bulk {
                t = t
                    .checked_add(ts.delta)
                    .filter(|_| ts.delta > 0)
                    .ok_or_else(|| corrupt(format!("timestamp after {t} not increasing")))?;
                emit(t, v, out);
            }
            ts.prev = t;
            ts_run -= bulk;
            val_run -= bulk;
            i += bulk;
        }
    }
    tr.expect_end()?;
    vr.expect_end()
}

/// Reads a run length (gamma) that must fit in the `left` samples.
fn run_length(r: &mut BitReader<'_>, left: usize) -> Result<usize, CodecError> {
    let g = r.gamma()?;
    if g == 0 || g > left as u64 {
        return Err(corrupt(format!(
            "run of {g} overflows the {left} samples left"
        )));
    }
    Ok(g as usize)
}

/// The next value of a value run: the prediction (or the previous bits).
#[inline]
fn repeat_value(val: &mut ValModel) -> f64 {
    if val.xor_mode {
        let bits = val.prev_bits;
        val.apply_xor(bits);
        return f64::from_bits(bits);
    }
    let m = val.predict();
    // An unchanged mantissa is the previous value itself.
    let bits = if m == val.m {
        val.prev_bits
    } else {
        from_decimal(m, val.scale).to_bits()
    };
    val.apply_int(m, bits);
    f64::from_bits(bits)
}

/// Reads a timestamp residual that is not part of a run (see
/// `Appender::write_ts`).
#[inline]
fn read_ts(r: &mut BitReader<'_>, ts: &TsModel) -> Result<i64, CodecError> {
    let k = ts.rice.k();
    if !ts.trained {
        Ok(unzigzag(r.len_prefixed()?))
    } else if k > 0 {
        Ok(unzigzag(r.rice(k)?))
    } else if !r.bit()? {
        Ok((r.gamma()? as i64).wrapping_mul(ts.predicted_delta()))
    } else {
        Ok(unzigzag(r.rice(0)?))
    }
}

/// Reads one value code (see `Appender::write_value`) and updates the value state.
#[inline]
fn read_value(r: &mut BitReader<'_>, val: &mut ValModel, first: bool) -> Result<f64, CodecError> {
    if first {
        if !r.bit()? {
            return read_mantissa(r, val);
        }
        if !r.bit()? {
            return read_rescaled(r, val);
        }
        return read_xor_value(r, val);
    }
    if !val.xor_mode {
        let z = if val.has_int {
            r.rice_or_switch(val.k())?
        } else {
            r.len_prefixed_or_switch()?
        };
        return match z {
            Some(z) => Ok(apply_mantissa(val, z)),
            None if r.bit()? => read_xor_value(r, val),
            None => read_rescaled(r, val),
        };
    }
    match read_xor(r, val)? {
        Some(x) => {
            let bits = val.prev_bits ^ x;
            val.apply_xor(bits);
            Ok(f64::from_bits(bits))
        }
        None if r.bit()? => read_rescaled(r, val),
        None => read_mantissa(r, val),
    }
}

fn read_xor_value(r: &mut BitReader<'_>, val: &mut ValModel) -> Result<f64, CodecError> {
    let x = read_xor(r, val)?.ok_or_else(|| corrupt("unexpected XOR switch marker"))?;
    let bits = val.prev_bits ^ x;
    val.apply_xor(bits);
    Ok(f64::from_bits(bits))
}

fn read_rescaled(r: &mut BitReader<'_>, val: &mut ValModel) -> Result<f64, CodecError> {
    let s = r.read(5)? as u8;
    if s > MAX_SCALE {
        return Err(corrupt(format!("decimal scale {s} over {MAX_SCALE}")));
    }
    val.rescale(s)
        .ok_or_else(|| corrupt(format!("cannot rescale from {} to {s}", val.scale)))?;
    read_mantissa(r, val)
}

#[inline]
fn read_mantissa(r: &mut BitReader<'_>, val: &mut ValModel) -> Result<f64, CodecError> {
    let z = if val.has_int {
        r.rice(val.k())?
    } else {
        r.len_prefixed()?
    };
    Ok(apply_mantissa(val, z))
}

#[inline]
fn apply_mantissa(val: &mut ValModel, z: u64) -> f64 {
    let m = val.predict().wrapping_add(unzigzag(z));
    let v = from_decimal(m, val.scale);
    val.apply_int(m, v.to_bits());
    v
}

/// Reads an XOR code, returning the XOR word (updating the window), or
/// `None` for the switch marker.
fn read_xor(r: &mut BitReader<'_>, val: &mut ValModel) -> Result<Option<u64>, CodecError> {
    if !r.bit()? {
        return Ok(Some(0));
    }
    if !r.bit()? {
        if val.lead == NO_WINDOW {
            return Err(corrupt("XOR window reused before being set"));
        }
        let len = 64 - u32::from(val.lead) - u32::from(val.trail);
        return Ok(Some(r.read(len)? << val.trail));
    }
    let lead = r.read(6)? as u32;
    let len = r.read(6)? as u32 + 1;
    if lead == 63 && len == 64 {
        return Ok(None);
    }
    if lead + len > 64 {
        return Err(corrupt(format!("XOR field of {lead}+{len} bits over 64")));
    }
    let trail = 64 - lead - len;
    val.lead = lead as u8;
    val.trail = trail as u8;
    Ok(Some(r.read(len)? << trail))
}
