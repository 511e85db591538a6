//! The adaptive state shared by the encoder ([`super::Appender`]) and the
//! decoder. Both sides call the same update functions after every sample, so
//! every choice the format makes without spending bits on it (Rice
//! parameters, the value predictor) is mirrored exactly.

use super::bits::bitlen;

/// Largest decimal scale: values are `m / 10^scale` with `scale <= 22`, the
/// largest power of ten that an f64 holds exactly.
pub(crate) const MAX_SCALE: u8 = 22;

/// Largest integer mantissa magnitude (every integer up to 2^53 is an exact f64).
const MAX_MANTISSA: i64 = 1 << 53;

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Zigzag mapping of a signed integer to an unsigned one.
#[inline]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
#[inline]
pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// The float a decimal mantissa stands for: `m / 10^scale`, correctly rounded.
#[inline]
pub(crate) fn from_decimal(m: i64, scale: u8) -> f64 {
    let x = m as f64;
    if scale == 0 {
        x
    } else {
        x / POW10[usize::from(scale).min(POW10.len() - 1)]
    }
}

/// The mantissa `m` with `from_decimal(m, scale)` bit-identical to `v`, if any.
pub(crate) fn to_decimal(v: f64, scale: u8) -> Option<i64> {
    let p = *POW10.get(usize::from(scale))?;
    let x = (v * p).round();
    // NaN, infinities and mantissas too large to be exact fail this test.
    if x.is_nan() || x.abs() > MAX_MANTISSA as f64 {
        return None;
    }
    let m = x as i64;
    let want = v.to_bits();
    [m, m - 1, m + 1]
        .into_iter()
        .find(|&c| c.abs() <= MAX_MANTISSA && from_decimal(c, scale).to_bits() == want)
}

/// The smallest scale at which `v` is an exact decimal, with its mantissa.
pub(crate) fn min_decimal(v: f64) -> Option<(u8, i64)> {
    if !v.is_finite() {
        return None;
    }
    (0..=MAX_SCALE).find_map(|s| to_decimal(v, s).map(|m| (s, m)))
}

/// Adaptive Rice parameter for timestamp residuals: a running average of
/// residual bit lengths (robust to the rare large outlier of a late scrape).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogRice {
    /// ≈ 8 × average bit length.
    acc: u16,
}

impl LogRice {
    /// Current Rice parameter.
    #[inline]
    pub(crate) fn k(self) -> u32 {
        u32::from(self.acc >> 3)
    }

    /// Learns from one coded residual.
    #[inline]
    fn update(&mut self, z: u64) {
        self.acc = self.acc - (self.acc >> 3) + bitlen(z) as u16;
    }
}

/// Adaptive Rice parameter for value residuals: `k` is the bit length of
/// 3/4 of a running mean of the residuals (window of about 4 samples).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MeanRice {
    /// ≈ 4 × mean residual.
    acc: u64,
}

impl MeanRice {
    /// Current Rice parameter.
    #[inline]
    pub(crate) fn k(self) -> u32 {
        bitlen((self.acc * 3) >> 4).min(62)
    }

    /// Learns from one coded residual.
    #[inline]
    fn update(&mut self, z: u64) {
        self.acc = self.acc - (self.acc >> 2) + z.min(1 << 48);
    }
}

/// Which of two predictors has been cheaper lately: a decaying sum of
/// residual bit-length differences, positive when the second one wins.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Preference(i16);

impl Preference {
    /// Whether the second predictor is in use.
    #[inline]
    fn second(self) -> bool {
        self.0 > 0
    }

    /// Learns from the residuals both predictors would have had.
    #[inline]
    fn update(&mut self, z_first: u64, z_second: u64) {
        self.0 = self.0 - (self.0 >> 3) + bitlen(z_first) as i16 - bitlen(z_second) as i16;
    }
}

/// Timestamp state: the delta is predicted either as the previous delta
/// (plain delta-of-delta) or as the reference interval (the last delta seen
/// twice in a row), whichever has been cheaper lately.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TsModel {
    /// Last timestamp.
    pub(crate) prev: i64,
    /// Last delta (wrapping).
    pub(crate) delta: i64,
    /// Reference interval.
    base: i64,
    /// Reference interval (first) against previous delta (second).
    pref: Preference,
    /// Whether a first delta has been seen (before it, residuals are coded length-prefixed).
    pub(crate) trained: bool,
    /// Whether the last residual was 0.
    last_zero: bool,
    pub(crate) rice: LogRice,
}

impl TsModel {
    /// Starts a chunk at `t0`.
    pub(crate) fn start(t0: i64) -> Self {
        TsModel {
            prev: t0,
            ..Default::default()
        }
    }

    /// The predicted delta: reference interval or previous delta.
    #[inline]
    pub(crate) fn predicted_delta(&self) -> i64 {
        if self.pref.second() {
            self.delta
        } else {
            self.base
        }
    }

    /// Whether residual `r` takes the whole-intervals code: the stream is
    /// regular (`k == 0`) and `r` is a positive multiple (below 2^31) of the
    /// predicted delta, as when scrapes were missed.
    #[inline]
    pub(crate) fn intervals(&self, r: i64) -> Option<u64> {
        let p = self.predicted_delta();
        if self.trained && self.rice.k() == 0 && r > 0 && p > 0 && r % p == 0 && r / p < 1 << 31 {
            Some((r / p) as u64)
        } else {
            None
        }
    }

    /// Whether both states are equal but for the last timestamp.
    #[inline]
    pub(crate) fn same_but_prev(&self, o: &TsModel) -> bool {
        (
            self.delta,
            self.base,
            self.pref,
            self.trained,
            self.rice,
            self.last_zero,
        ) == (o.delta, o.base, o.pref, o.trained, o.rice, o.last_zero)
    }

    /// Whether the next residual may start or continue a run of zeros: the
    /// stream is regular (Rice `k == 0`) or the last residual was 0.
    #[inline]
    pub(crate) fn run_eligible(&self) -> bool {
        self.trained && (self.rice.k() == 0 || self.last_zero)
    }

    /// The residual of `ts` against the predicted timestamp.
    #[inline]
    pub(crate) fn residual(&self, ts: i64) -> i64 {
        ts.wrapping_sub(self.prev)
            .wrapping_sub(self.predicted_delta())
    }

    /// Applies a residual; returns the new timestamp.
    #[inline]
    pub(crate) fn apply(&mut self, r: i64) -> i64 {
        let d = self.predicted_delta().wrapping_add(r);
        if self.trained {
            let z_dod = zigzag(d.wrapping_sub(self.delta));
            let z_base = zigzag(d.wrapping_sub(self.base));
            if self.intervals(r).is_none() {
                self.rice.update(zigzag(r));
            }
            self.pref.update(z_base, z_dod);
            if d == self.delta {
                self.base = d;
            }
        } else {
            self.base = d;
            self.trained = true;
        }
        self.last_zero = r == 0;
        self.delta = d;
        self.prev = self.prev.wrapping_add(d);
        self.prev
    }
}

/// Value state: decimal mantissas with an adaptive predictor, plus the
/// previous bits and window of the XOR fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValModel {
    /// Bits of the previous value.
    pub(crate) prev_bits: u64,
    /// Last decimal mantissa and its delta.
    pub(crate) m: i64,
    pub(crate) d: i64,
    /// Previous mantissa (first) against mantissa plus delta (second).
    pref: Preference,
    pub(crate) rice: MeanRice,
    /// Current decimal scale (only grows within a chunk).
    pub(crate) scale: u8,
    /// Whether the previous value was XOR-coded.
    pub(crate) xor_mode: bool,
    /// Whether a decimal value has been coded in this chunk.
    pub(crate) has_int: bool,
    /// Whether the last value was exactly its prediction.
    last_repeat: bool,
    /// XOR window (leading, trailing zero counts); `lead == NO_WINDOW` before the first.
    pub(crate) lead: u8,
    pub(crate) trail: u8,
}

/// Marks an XOR window that has not been set yet.
pub(crate) const NO_WINDOW: u8 = 0xff;

impl Default for ValModel {
    fn default() -> Self {
        ValModel {
            prev_bits: 0,
            m: 0,
            d: 0,
            pref: Preference::default(),
            rice: MeanRice::default(),
            scale: 0,
            xor_mode: false,
            has_int: false,
            last_repeat: false,
            lead: NO_WINDOW,
            trail: 0,
        }
    }
}

impl ValModel {
    /// Whether the delta-of-delta predictor is in use.
    #[inline]
    fn use_dod(&self) -> bool {
        self.pref.second()
    }

    /// Whether the next value may start or continue a run: after an XOR-coded
    /// value, or after decimals while the Rice parameter is 0 or the last
    /// value was predicted exactly.
    #[inline]
    pub(crate) fn run_eligible(&self) -> bool {
        self.xor_mode || (self.has_int && (self.rice.k() == 0 || self.last_repeat))
    }

    /// Predicted next mantissa.
    #[inline]
    pub(crate) fn predict(&self) -> i64 {
        if self.use_dod() {
            self.m.wrapping_add(self.d)
        } else {
            self.m
        }
    }

    /// Rice parameter for the next residual.
    #[inline]
    pub(crate) fn k(&self) -> u32 {
        self.rice.k()
    }

    /// Applies a decimal-coded value with mantissa `m` and float bits `bits`
    /// (whose residual against [`Self::predict`] is what was coded).
    #[inline]
    pub(crate) fn apply_int(&mut self, m: i64, bits: u64) {
        self.last_repeat = self.has_int && !self.xor_mode && m == self.predict();
        if self.has_int {
            let d = m.wrapping_sub(self.m);
            let z_delta = zigzag(d);
            let z_dod = zigzag(d.wrapping_sub(self.d));
            self.rice
                .update(if self.use_dod() { z_dod } else { z_delta });
            self.pref.update(z_delta, z_dod);
            self.d = d;
        } else {
            self.d = 0;
            self.has_int = true;
        }
        self.m = m;
        self.prev_bits = bits;
        self.xor_mode = false;
    }

    /// Applies an XOR-coded value (the window is kept by the XOR code itself).
    #[inline]
    pub(crate) fn apply_xor(&mut self, bits: u64) {
        self.last_repeat = self.xor_mode && bits == self.prev_bits;
        self.prev_bits = bits;
        self.xor_mode = true;
    }

    /// Moves the mantissa history to a larger scale; `None` (state unchanged)
    /// if it would not stay exact.
    pub(crate) fn rescale(&mut self, scale: u8) -> Option<()> {
        if scale <= self.scale || scale > MAX_SCALE {
            return None;
        }
        let f = 10i128.pow(u32::from(scale - self.scale));
        let limit = i128::from(MAX_MANTISSA) * 2;
        let m = i128::from(self.m) * f;
        let d = i128::from(self.d) * f;
        if m.abs() > limit || d.abs() > limit {
            return None;
        }
        self.m = m as i64;
        self.d = d as i64;
        self.scale = scale;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        for (v, s, m) in [
            (0.18, 2, 18),
            (1760.42, 2, 176042),
            (0.000391002, 9, 391002),
            (5.0, 0, 5),
        ] {
            assert_eq!(min_decimal(v), Some((s, m)), "{v}");
        }
        for v in [
            f64::NAN,
            f64::INFINITY,
            -0.0,
            1e300,
            5e-324,
            1.7954047818410287e9,
        ] {
            if let Some((s, m)) = min_decimal(v) {
                assert_eq!(from_decimal(m, s).to_bits(), v.to_bits(), "{v}");
            }
        }
        assert_eq!(min_decimal(-0.0), None);
    }

    #[test]
    fn zigzag_round_trips() {
        for v in [0i64, 1, -1, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
