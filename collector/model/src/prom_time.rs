//! Prometheus API time and duration parameters, and the JSON formatting of
//! sample timestamps and values. All times are milliseconds since the epoch.

/// Parses a time parameter as Prometheus does: unix seconds as a float
/// (`1435781451.781`, rounded to the millisecond) or RFC 3339 with optional
/// fractional seconds (`2015-07-01T20:10:51.781Z`, `...+02:00`).
pub fn parse_time(s: &str) -> Result<i64, String> {
    let invalid = || format!("cannot parse {s:?} to a valid timestamp");
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(invalid());
        }
        let secs = f.trunc();
        let ms = (f.fract() * 1000.0).round();
        let total = secs * 1000.0 + ms;
        if total.abs() >= i64::MAX as f64 {
            return Err(invalid());
        }
        return Ok(total as i64);
    }
    parse_rfc3339(s).ok_or_else(invalid)
}

/// Parses a duration parameter as Prometheus does: float seconds (`15`,
/// `0.5`) or a Prometheus duration (`5m`, `1h30m`, `500ms`, `1d`, `1w`, `1y`,
/// units in decreasing order, each at most once). Returns milliseconds,
/// truncating sub-millisecond parts. Negative float values are returned as
/// such; callers decide whether they are allowed.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        let ms = f * 1000.0;
        if !ms.is_finite() || ms.abs() >= i64::MAX as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok(ms as i64);
    }
    parse_prom_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Units of a Prometheus duration, in the only order they may appear.
const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

fn parse_prom_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut rest = s;
    let mut next_unit = 0;
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let idx = UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == &rest[..unit_len])?
            + next_unit;
        total = total.checked_add(n.checked_mul(UNITS[idx].1)?)?;
        rest = &rest[unit_len..];
        next_unit = idx + 1;
    }
    (next_unit > 0).then_some(total)
}

/// RFC 3339 (Go's `time.RFC3339Nano` layout): `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 59
    {
        return None;
    }
    let mut pos = 19;
    let mut millis = 0;
    if sep(pos, b'.') {
        let digits = b[pos + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if !(1..=9).contains(&digits) {
            return None;
        }
        // Truncate to milliseconds, as Prometheus' timestamp.FromTime does.
        let frac = num(pos + 1, digits)?;
        millis = frac * 1000 / 10_i64.pow(digits as u32);
        pos += 1 + digits;
    }
    let offset_secs = match b.get(pos)? {
        b'Z' if b.len() == pos + 1 => 0,
        sign @ (b'+' | b'-') if b.len() == pos + 6 && sep(pos + 3, b':') => {
            let (oh, om) = (num(pos + 1, 2)?, num(pos + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'-' { -off } else { off }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset_secs;
    Some(secs * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (era-based method).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats a millisecond timestamp as Prometheus' JSON number of seconds:
/// `1435781451.781`, `1435781451.78` is written `1435781451.780`, whole
/// seconds without a fraction.
pub fn format_timestamp(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    match abs % 1000 {
        0 => format!("{sign}{}", abs / 1000),
        frac => format!("{sign}{}.{frac:03}", abs / 1000),
    }
}

/// Formats a sample value as Prometheus does (Go's `strconv.FormatFloat`
/// with the shortest representation: fixed notation, exponent notation below
/// 1e-6 and from 1e21 on, `NaN`, `+Inf`, `-Inf`).
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` / `1.5e-7`; Go writes `1e+21` / `1.5e-07`.
        let s = format!("{v:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = exp.strip_prefix('-').map_or(("+", exp), |d| ("-", d));
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    // Rust's Display is the shortest round-trip representation in fixed notation.
    format!("{v}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_float_times() {
        assert_eq!(parse_time("1435781451.781"), Ok(1_435_781_451_781));
        assert_eq!(parse_time("1435781451"), Ok(1_435_781_451_000));
        assert_eq!(parse_time("1435781451.7816"), Ok(1_435_781_451_782));
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("-1.5"), Ok(-1500));
        assert_eq!(parse_time("1e9"), Ok(1_000_000_000_000));
        assert!(parse_time("NaN").is_err());
        assert!(parse_time("inf").is_err());
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("2015-07-01T20:10:51Z"), Ok(1_435_781_451_000));
        assert_eq!(
            parse_time("2015-07-01T22:10:51.781+02:00"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T15:40:51.781-04:30"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781999999Z"),
            Ok(1_435_781_451_781)
        );
        assert_eq!(parse_time("2015-07-01T20:10:51.7Z"), Ok(1_435_781_451_700));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("1969-12-31T23:59:59Z"), Ok(-1000));
        assert_eq!(parse_time("2024-02-29T00:00:00Z"), Ok(1_709_164_800_000));
        assert_eq!(parse_time("2000-03-01T00:00:00Z"), Ok(951_868_800_000));
    }

    #[test]
    fn bad_times() {
        for s in [
            "",
            "abc",
            "2015-07-01",
            "2015-07-01T20:10:51",
            "2015-07-01 20:10:51Z",
            "2015-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2015-07-01T24:00:00Z",
            "2015-07-01T20:10:60Z",
            "2015-07-01T20:10:51.Z",
            "2015-07-01T20:10:51.1234567890Z",
            "2015-07-01T20:10:51+0200",
            "2015-07-01T20:10:51Zjunk",
        ] {
            assert_eq!(
                parse_time(s),
                Err(format!("cannot parse {s:?} to a valid timestamp")),
                "{s}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15"), Ok(15_000));
        assert_eq!(parse_duration("0.5"), Ok(500));
        assert_eq!(parse_duration("10s"), Ok(10_000));
        assert_eq!(parse_duration("5m"), Ok(300_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("1m500ms"), Ok(60_500));
        assert_eq!(parse_duration("1d"), Ok(86_400_000));
        assert_eq!(parse_duration("1w"), Ok(604_800_000));
        assert_eq!(parse_duration("1y"), Ok(31_536_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("-5"), Ok(-5000));
        assert_eq!(parse_duration("0s"), Ok(0));
    }

    #[test]
    fn bad_durations() {
        for s in [
            "", "m", "5x", "1m1h", "1s1s", "1.5m", "-5m", "5 m", "5mms", "1e400",
        ] {
            let e = parse_duration(s);
            assert!(e.is_err(), "{s}: {e:?}");
        }
        assert_eq!(
            parse_duration("5x"),
            Err("cannot parse \"5x\" to a valid duration".into())
        );
        assert!(parse_duration("1e400").unwrap_err().contains("overflows"));
        assert!(parse_duration("999999999999y").is_err());
    }

    #[test]
    fn timestamps_like_prometheus() {
        assert_eq!(format_timestamp(1_435_781_451_781), "1435781451.781");
        assert_eq!(format_timestamp(1_435_781_451_780), "1435781451.780");
        assert_eq!(format_timestamp(1_435_781_451_005), "1435781451.005");
        assert_eq!(format_timestamp(1_435_781_451_000), "1435781451");
        assert_eq!(format_timestamp(0), "0");
        assert_eq!(format_timestamp(-1500), "-1.500");
    }

    #[test]
    fn values_like_prometheus() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.5), "0.5");
        assert_eq!(format_value(-42.25), "-42.25");
        assert_eq!(format_value(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(1e20), "100000000000000000000");
        assert_eq!(format_value(123456789.0), "123456789");
        assert_eq!(format_value(1e21), "1e+21");
        assert_eq!(format_value(1.5e300), "1.5e+300");
        assert_eq!(format_value(0.000001), "0.000001");
        assert_eq!(format_value(1e-7), "1e-07");
        assert_eq!(format_value(-2.5e-10), "-2.5e-10");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
    }
}
