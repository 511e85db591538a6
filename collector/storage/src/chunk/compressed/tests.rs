//! Round-trip, streaming and corruption tests (proptest) of the codec.

use super::*;
use proptest::prelude::*;

fn bits_of(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

fn decode_all(buf: &[u8]) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    decode_into(buf, i64::MIN, i64::MAX, &mut out).expect("decodes");
    out
}

/// Checks round trip, range filtering and appender equality for `s`.
fn check(s: &[(i64, f64)]) -> Result<(), TestCaseError> {
    let enc = encode(s);
    prop_assert_eq!(enc[0], ENCODING_COMPRESSED);
    prop_assert_eq!(bits_of(&decode_all(&enc)), bits_of(s));
    let mut a = Appender::new();
    for (i, &(t, v)) in s.iter().enumerate() {
        a.push(t, v)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        if i % 17 == 0 || i + 1 == s.len() {
            let b = a.bytes();
            prop_assert_eq!(a.encoded_len(), b.len());
            prop_assert_eq!(bits_of(&decode_all(&b)), bits_of(&s[..=i]));
        }
    }
    prop_assert_eq!(a.bytes(), enc.clone());
    prop_assert_eq!(a.len(), s.len());
    prop_assert_eq!(a.last_ts(), s.last().map(|x| x.0));
    if s.len() >= 3 {
        let (lo, hi) = (s[s.len() / 3].0, s[2 * s.len() / 3].0);
        let mut out = Vec::new();
        decode_into(&enc, lo, hi, &mut out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want: Vec<_> = s
            .iter()
            .copied()
            .filter(|&(t, _)| t >= lo && t <= hi)
            .collect();
        prop_assert_eq!(bits_of(&out), bits_of(&want));
    }
    Ok(())
}

/// Strictly increasing timestamps of several shapes.
fn timestamps(max: usize) -> impl Strategy<Value = Vec<i64>> {
    // Regular steps with optional jitter and missed samples (whole-step gaps).
    let regular =
        (any::<i64>(), 1i64..100_000, 0i64..4, 1..max).prop_flat_map(|(t0, step, jmode, n)| {
            let jitter = match jmode {
                0 | 3 => 0,
                1 => step / 20,
                _ => step / 2,
            };
            let gaps = if jmode >= 2 { 0u8..12 } else { 0u8..1 };
            proptest::collection::vec((-jitter..=jitter, gaps), n).prop_map(move |js| {
                let mut out = Vec::with_capacity(js.len());
                let mut base = t0;
                for (j, gap) in js {
                    let t = base.saturating_add(j);
                    if out.last().is_some_and(|&l: &i64| t <= l) {
                        break;
                    }
                    out.push(t);
                    let skip = if gap >= 9 { i64::from(gap - 7) } else { 1 };
                    match step.checked_mul(skip).and_then(|s| base.checked_add(s)) {
                        Some(b) => base = b,
                        None => break,
                    }
                }
                out
            })
        });
    let arbitrary = proptest::collection::btree_set(
        prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -5i64..5],
        1..max,
    )
    .prop_map(|s| s.into_iter().collect::<Vec<_>>());
    prop_oneof![3 => regular, 1 => arbitrary]
}

fn special() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>()
            .prop_map(|p| f64::from_bits(0x7ff0_0000_0000_0000 | (p & 0xf_ffff_ffff_ffff) | 1)),
        any::<u64>().prop_map(|p| f64::from_bits(0xfff8_0000_0000_0000 | (p & 0x7_ffff_ffff_ffff))),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(-2.2e-310),
        Just(f64::MAX),
        Just(f64::MIN),
        Just(f64::EPSILON),
        Just(9_007_199_254_740_993.0),
        Just(1e22),
        Just(1e-22),
    ]
}

/// Values of several shapes, `n` of them.
fn values(n: usize) -> BoxedStrategy<Vec<f64>> {
    let walk = (
        0u32..4,
        -1000i64..1000,
        proptest::collection::vec(-50i64..50, n),
    )
        .prop_map(|(dec, start, steps)| {
            let p = 10f64.powi(dec as i32);
            let mut m = start;
            steps
                .into_iter()
                .map(|s| {
                    m += s;
                    m as f64 / p
                })
                .collect()
        });
    let counter = (
        proptest::collection::vec(0u64..5000, n),
        proptest::collection::vec(0u8..100, n),
    )
        .prop_map(|(inc, reset)| {
            let mut c = 0u64;
            inc.into_iter()
                .zip(reset)
                .map(|(i, r)| {
                    c = if r == 0 { 0 } else { c + i };
                    c as f64
                })
                .collect()
        });
    let constant = prop_oneof![
        any::<f64>(),
        special(),
        (-100i64..100).prop_map(|x| x as f64)
    ]
    .prop_map(move |v| vec![v; n]);
    let gauge = (1u32..4, proptest::collection::vec(0i64..100_000, n)).prop_map(|(dec, ms)| {
        let p = 10f64.powi(dec as i32);
        ms.into_iter().map(|m| m as f64 / p).collect()
    });
    let random_bits = proptest::collection::vec(any::<u64>().prop_map(f64::from_bits), n);
    let mixed = proptest::collection::vec(
        prop_oneof![
            special(),
            any::<f64>(),
            (0i64..1000).prop_map(|x| x as f64 / 100.0),
            Just(1.0)
        ],
        n,
    );
    let drift =
        (any::<f64>(), proptest::collection::vec(-1e-6f64..1e-6, n)).prop_map(|(v0, ds)| {
            ds.into_iter()
                .scan(v0, |v, d| {
                    *v += 1.0 + d;
                    Some(*v)
                })
                .collect()
        });
    prop_oneof![walk, counter, constant, gauge, random_bits, mixed, drift].boxed()
}

fn series(max: usize) -> impl Strategy<Value = Vec<(i64, f64)>> {
    timestamps(max).prop_flat_map(|ts| {
        let n = ts.len();
        // Two value shapes glued together exercise switches inside a chunk.
        (values(n), values(n), 0..=n).prop_map(move |(a, b, cut)| {
            ts.iter()
                .enumerate()
                .map(|(i, &t)| (t, if i < cut { a[i] } else { b[i] }))
                .collect()
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn round_trips_bit_exactly(s in series(300)) {
        check(&s)?;
    }

    #[test]
    fn round_trips_long_chunks(s in series(3000)) {
        check(&s)?;
    }

    #[test]
    fn random_bytes_never_panic(mut b in proptest::collection::vec(any::<u8>(), 0..200), first in any::<bool>()) {
        if first && !b.is_empty() {
            b[0] = ENCODING_COMPRESSED;
        }
        let mut out = Vec::new();
        let _ = decode_into(&b, i64::MIN, i64::MAX, &mut out);
    }

    #[test]
    fn truncated_chunks_are_rejected(s in series(200), cut in any::<prop::sample::Index>()) {
        let enc = encode(&s);
        let len = cut.index(enc.len());
        let mut out = Vec::new();
        prop_assert!(decode_into(&enc[..len], i64::MIN, i64::MAX, &mut out).is_err());
    }

    #[test]
    fn corrupted_chunks_never_panic(s in series(200), at in any::<prop::sample::Index>(), x in 1u8..=255) {
        let mut enc = encode(&s);
        let i = at.index(enc.len());
        enc[i] ^= x;
        let mut out = Vec::new();
        let _ = decode_into(&enc, i64::MIN, i64::MAX, &mut out);
        let mut longer = encode(&s);
        longer.push(x);
        prop_assert!(decode_into(&longer, i64::MIN, i64::MAX, &mut out).is_err());
    }
}

#[test]
fn empty_and_single() {
    assert_eq!(encode(&[]), vec![ENCODING_COMPRESSED, 0]);
    assert!(decode_all(&encode(&[])).is_empty());
    for v in [0.0, -0.0, f64::NAN, 1.5, f64::MAX] {
        for t in [i64::MIN, -1, 0, i64::MAX] {
            let d = decode_all(&encode(&[(t, v)]));
            assert_eq!(bits_of(&d), bits_of(&[(t, v)]));
        }
    }
}

#[test]
fn extreme_timestamps() {
    let s = [
        (i64::MIN, 1.0),
        (-1, 2.0),
        (0, 3.0),
        (i64::MAX - 1, 4.0),
        (i64::MAX, 5.0),
    ];
    assert_eq!(bits_of(&decode_all(&encode(&s))), bits_of(&s));
}

#[test]
fn appender_rejects_out_of_order() {
    let mut a = Appender::new();
    a.push(10, 1.0).expect("first");
    assert_eq!(
        a.push(10, 2.0),
        Err(CodecError::OutOfOrder { last: 10, ts: 10 })
    );
    assert_eq!(
        a.push(9, 2.0),
        Err(CodecError::OutOfOrder { last: 10, ts: 9 })
    );
    assert_eq!(a.len(), 1);
}

#[test]
fn constant_regular_series_is_tiny() {
    let s: Vec<_> = (0..7200)
        .map(|i| (1_795_404_781_000 + i * 1000, 42.0))
        .collect();
    let enc = encode(&s);
    assert!(enc.len() <= 24, "{} bytes", enc.len());
    assert_eq!(bits_of(&decode_all(&enc)), bits_of(&s));
}

#[test]
fn rejects_bad_headers() {
    let mut out = Vec::new();
    assert!(decode_into(&[], 0, 1, &mut out).is_err());
    assert!(decode_into(&[1, 0], 0, 1, &mut out).is_err());
    assert!(decode_into(&[ENCODING_COMPRESSED], 0, 1, &mut out).is_err());
    assert!(
        decode_into(
            &[ENCODING_COMPRESSED, 0x80, 0x80, 0x80, 0x40],
            0,
            1,
            &mut out
        )
        .is_err()
    );
    assert!(decode_into(&[ENCODING_COMPRESSED, 0, 0], 0, 1, &mut out).is_err());
}

#[test]
fn every_code_path_round_trips() {
    let t = |i: i64| 1_795_404_781_000 + i * 1000;
    let s = vec![
        (t(0), f64::NAN), // first value XOR-coded
        (t(1), 1.0),      // XOR -> decimal switch (no decimal yet)
        (t(2), 1.0),      // repeat
        (t(4), 1.0),      // one missed interval
        (t(5), 1.25),     // decimal -> rescale switch
        (t(6), -0.0),     // decimal -> XOR switch
        (t(7), -0.0),     // XOR repeat
        (t(8), 2.125),    // XOR -> rescale switch
        (t(9) + 3, 2.5),  // irregular timestamp
        (t(10), f64::INFINITY),
        (t(11), 3.0),                  // XOR -> decimal switch
        (t(12), 1.7954047818410287e9), // too many digits: XOR
    ];
    assert_eq!(bits_of(&decode_all(&encode(&s))), bits_of(&s));
}
