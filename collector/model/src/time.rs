//! Time as the collector writes it: Unix milliseconds in memory, RFC 3339
//! text in JSON, and the proleptic Gregorian date math under both.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A source of wall-clock time in Unix ms, handed to the logic that depends
/// on it (SLA escalation, no-data detection, reminders, retries) so tests
/// can drive time by hand. Cheap to clone; clones read the same source.
///
/// [`Clock::system`] (also the [`Default`]) reads the system clock;
/// [`ManualClock::clock`] one that moves only when told to.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// The system clock ([`now_ms`]).
    pub fn system() -> Self {
        Self(Arc::new(now_ms))
    }

    /// A clock reading `f` (simulations, or a clock offset from another).
    pub fn from_fn(f: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// The time now, Unix ms.
    pub fn now_ms(&self) -> i64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now_ms()).finish()
    }
}

/// A clock that stands still until it is [set](ManualClock::set) or
/// [advanced](ManualClock::advance): tests and simulations. Clones share
/// the time, so a test keeps one and hands [`ManualClock::clock`] to the
/// code under test.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `start_ms`.
    pub fn new(start_ms: i64) -> Self {
        Self(Arc::new(AtomicI64::new(start_ms)))
    }

    /// The time now, Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Moves the clock to `ms` (backwards too: a clock step).
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }

    /// Moves the clock on by `ms` and returns the new time.
    pub fn advance(&self, ms: i64) -> i64 {
        self.0.fetch_add(ms, Ordering::SeqCst) + ms
    }

    /// A [`Clock`] reading this one.
    pub fn clock(&self) -> Clock {
        let time = self.0.clone();
        Clock::from_fn(move || time.load(Ordering::SeqCst))
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Self {
        manual.clock()
    }
}

/// RFC 3339 UTC text with millisecond precision for a Unix time in ms (negative clamps to the epoch).
pub fn rfc3339(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}

const DAY_MS: i64 = 86_400_000;

/// Serde for a Unix time in ms written as RFC 3339 text (any offset accepted on input).
pub mod rfc3339_ms {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes `ms` as RFC 3339 UTC text.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*ms))
    }

    /// Reads RFC 3339 text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text).map_err(D::Error::custom)
    }
}

/// [`rfc3339_ms`] for an optional time (null when absent).
pub mod rfc3339_ms_opt {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes `ms` as RFC 3339 UTC text, or null.
    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&super::rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }

    /// Reads RFC 3339 text or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| super::parse_rfc3339(&text).map_err(D::Error::custom))
            .transpose()
    }
}

/// Parses RFC 3339 (`2024-05-01T08:00:00+08:00`, fraction optional, `Z` or an
/// offset) into Unix ms; digits past milliseconds are truncated.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let err =
        || format!("expected an RFC 3339 time such as 2024-05-01T08:00:00+08:00, got {text:?}");
    let b = text.as_bytes();
    if b.len() < 20 || !text.is_ascii() || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err());
    }
    let day = parse_date(&text[..10]).ok_or_else(err)?;
    let (h, m, s) = match &b[11..19] {
        [h1, h2, b':', m1, m2, b':', s1, s2] => (
            digits(&[*h1, *h2]).filter(|v| *v < 24),
            digits(&[*m1, *m2]).filter(|v| *v < 60),
            digits(&[*s1, *s2]).filter(|v| *v <= 60),
        ),
        _ => return Err(err()),
    };
    let (h, m, s) = (h.ok_or_else(err)?, m.ok_or_else(err)?, s.ok_or_else(err)?);
    let mut rest = &b[19..];
    let mut ms = 0;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(err());
        }
        for (i, c) in tail[..n.min(3)].iter().enumerate() {
            ms += i64::from(c - b'0') * [100, 10, 1][i];
        }
        rest = &tail[n..];
    }
    let offset_min = match rest {
        [b'Z' | b'z'] => 0,
        [b'+' | b'-', ..] => parse_offset(&text[text.len() - rest.len()..]).ok_or_else(err)?,
        _ => return Err(err()),
    };
    Ok(day * DAY_MS + ((h * 60 + m - offset_min) * 60 + s) * 1000 + ms)
}

/// The value of a non-empty run of ASCII decimal digits; `None` for anything else.
pub fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0')))
}

/// `HH:MM` (00:00–24:00) → minutes since midnight.
pub fn parse_hhmm(text: &str) -> Option<i64> {
    match text.as_bytes() {
        [h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            (m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        }
        _ => None,
    }
}

/// `+HH:MM` / `-HH:MM` (within ±14:00) or `Z` → minutes east of UTC.
pub fn parse_offset(text: &str) -> Option<i64> {
    if text == "Z" {
        return Some(0);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    parse_hhmm(rest).filter(|m| *m <= 14 * 60).map(|m| sign * m)
}

/// `YYYY-MM-DD` → days since 1970-01-01.
pub fn parse_date(text: &str) -> Option<i64> {
    match text.as_bytes() {
        [y @ .., b'-', m1, m2, b'-', d1, d2] if y.len() == 4 => {
            let (y, m, d) = (digits(y)?, digits(&[*m1, *m2])?, digits(&[*d1, *d2])?);
            let day = days_from_civil(y, m, d);
            ((1..=12).contains(&m) && d >= 1 && civil_from_days(day) == (y, m, d)).then_some(day)
        }
        _ => None,
    }
}

/// `YYYY-MM-DD` of a day since 1970-01-01.
pub fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of a day since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::{Clock, ManualClock, now_ms};

    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_clocks_follow() {
        let manual = ManualClock::new(1_000);
        let clock = manual.clock();
        let copy = clock.clone();
        assert_eq!(clock.now_ms(), 1_000);
        assert_eq!(manual.advance(500), 1_500);
        assert_eq!((clock.now_ms(), copy.now_ms()), (1_500, 1_500));
        manual.set(200);
        assert_eq!(Clock::from(manual.clone()).now_ms(), 200);
        assert_eq!(format!("{clock:?}"), "Clock(200)");
    }

    #[test]
    fn the_system_clock_reads_now() {
        let before = now_ms();
        let read = Clock::default().now_ms();
        assert!(read >= before && read <= now_ms(), "{before} {read}");
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(
            super::rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(super::rfc3339(-5), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_rfc3339() {
        let t = |text: &str| super::parse_rfc3339(text).unwrap();
        assert_eq!(t("2023-11-14T22:13:20.123Z"), 1_700_000_000_123);
        assert_eq!(t("2023-11-15T06:13:20.123456+08:00"), 1_700_000_000_123);
        assert_eq!(t("2023-11-14 17:13:20-05:00"), 1_700_000_000_000);
        assert_eq!(t("1970-01-01T00:00:00Z"), 0);
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+8:00",
            "2023-11-14T22:13:20+15:00",
            "2023-11-14T22:13:2０Z",
        ] {
            assert!(super::parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
