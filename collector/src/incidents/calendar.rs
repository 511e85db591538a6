//! The working calendar and the date math under it. Pure functions, no storage.
//!
//! [`BusinessHours`] are working days, daily hours and holidays read in a
//! fixed UTC offset (no time-zone database, so no daylight-saving changes);
//! [`super::sla::deadline`] and [`super::sla::elapsed`] run a business-hours
//! clock on them. Dates are proleptic Gregorian days since 1970-01-01; times
//! are Unix milliseconds, written as RFC 3339 text in JSON.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Inputs are clamped to about ±31,000 years, far from any overflow.
const LIMIT_MS: i64 = 1_000_000_000_000_000;
/// A deadline further than this many days away is reported as `i64::MAX`.
const MAX_SCAN_DAYS: i64 = 1_000_000;

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday (`monday` or `mon`).
    #[serde(alias = "mon")]
    Monday,
    /// Tuesday (`tuesday` or `tue`).
    #[serde(alias = "tue")]
    Tuesday,
    /// Wednesday (`wednesday` or `wed`).
    #[serde(alias = "wed")]
    Wednesday,
    /// Thursday (`thursday` or `thu`).
    #[serde(alias = "thu")]
    Thursday,
    /// Friday (`friday` or `fri`).
    #[serde(alias = "fri")]
    Friday,
    /// Saturday (`saturday` or `sat`).
    #[serde(alias = "sat")]
    Saturday,
    /// Sunday (`sunday` or `sun`).
    #[serde(alias = "sun")]
    Sunday,
}

impl Weekday {
    /// Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];

    /// The weekday of a day counted from 1970-01-01 (a Thursday).
    pub fn of_epoch_day(day: i64) -> Weekday {
        Self::ALL[(day + 3).rem_euclid(7) as usize]
    }
}

/// `[sla.business_hours]` as written: text values, checked all at once by
/// [`BusinessHoursConfig::build`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHoursConfig {
    /// Working days.
    pub days: Vec<Weekday>,
    /// Start of the working day, `HH:MM` local time.
    pub start: String,
    /// End of the working day, `HH:MM` local time (`24:00` for midnight); after `start`.
    pub end: String,
    /// The fixed UTC offset of local time, `+HH:MM` or `-HH:MM`.
    pub utc_offset: String,
    /// Non-working dates (`YYYY-MM-DD`, local calendar).
    pub holidays: Vec<String>,
}

impl Default for BusinessHoursConfig {
    fn default() -> Self {
        Self {
            days: Weekday::ALL[..5].to_vec(),
            start: "08:00".into(),
            end: "18:00".into(),
            utc_offset: "+00:00".into(),
            holidays: Vec::new(),
        }
    }
}

impl BusinessHoursConfig {
    /// Parses and checks every value, reporting every problem with its key.
    pub fn build(&self) -> Result<BusinessHours, Vec<String>> {
        let mut problems = Vec::new();
        let mut days = [false; 7];
        for d in &self.days {
            days[*d as usize] = true;
        }
        if !days.contains(&true) {
            problems.push("days: must name at least one working day".to_string());
        }
        let mut clock = |key: &str, text: &str| {
            let v = parse_hhmm(text);
            if v.is_none() {
                problems.push(format!(
                    "{key}: expected HH:MM between 00:00 and 24:00, got {text:?}"
                ));
            }
            v
        };
        let (start, end) = (clock("start", &self.start), clock("end", &self.end));
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            problems.push(format!(
                "end: must be after start ({}), got {:?}",
                self.start, self.end
            ));
        }
        let offset = parse_offset(&self.utc_offset);
        if offset.is_none() {
            problems.push(format!(
                "utc_offset: expected +HH:MM or -HH:MM within ±14:00, got {:?}",
                self.utc_offset
            ));
        }
        let mut holidays = BTreeSet::new();
        for (i, text) in self.holidays.iter().enumerate() {
            match parse_date(text) {
                Some(day) => {
                    holidays.insert(day);
                }
                None => problems.push(format!(
                    "holidays[{i}]: expected a date YYYY-MM-DD, got {text:?}"
                )),
            }
        }
        match (start, end, offset) {
            (Some(start), Some(end), Some(offset)) if problems.is_empty() => Ok(BusinessHours {
                days,
                start_min: start,
                end_min: end,
                offset_min: offset,
                holidays,
            }),
            _ => Err(problems),
        }
    }
}

/// Checked working hours: days, daily hours and holidays in a fixed UTC offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BusinessHoursConfig", into = "BusinessHoursConfig")]
pub struct BusinessHours {
    days: [bool; 7],
    start_min: i64,
    end_min: i64,
    offset_min: i64,
    /// Local calendar days since 1970-01-01.
    holidays: BTreeSet<i64>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHoursConfig::default()
            .build()
            .unwrap_or_else(|p| unreachable!("default business hours are valid: {p:?}"))
    }
}

impl TryFrom<BusinessHoursConfig> for BusinessHours {
    type Error = String;
    fn try_from(c: BusinessHoursConfig) -> Result<Self, String> {
        c.build().map_err(|p| p.join("; "))
    }
}

impl From<BusinessHours> for BusinessHoursConfig {
    fn from(h: BusinessHours) -> Self {
        let hhmm = |m: i64| format!("{:02}:{:02}", m / 60, m % 60);
        let sign = if h.offset_min < 0 { '-' } else { '+' };
        Self {
            days: Weekday::ALL
                .into_iter()
                .filter(|d| h.days[*d as usize])
                .collect(),
            start: hhmm(h.start_min),
            end: hhmm(h.end_min),
            utc_offset: format!("{sign}{}", hhmm(h.offset_min.abs())),
            holidays: h.holidays.iter().map(|d| format_date(*d)).collect(),
        }
    }
}

impl BusinessHours {
    /// The local working interval of a local day, as local ms, if it is a working day.
    fn span(&self, day: i64) -> Option<(i64, i64)> {
        let working =
            self.days[Weekday::of_epoch_day(day) as usize] && !self.holidays.contains(&day);
        working.then(|| {
            let base = day * DAY_MS;
            (
                base + self.start_min * MINUTE_MS,
                base + self.end_min * MINUTE_MS,
            )
        })
    }

    fn offset_ms(&self) -> i64 {
        self.offset_min * MINUTE_MS
    }

    /// Whether `at_ms` lies inside working hours.
    pub fn is_working_time(&self, at_ms: i64) -> bool {
        let local = at_ms.clamp(-LIMIT_MS, LIMIT_MS) + self.offset_ms();
        self.span(local.div_euclid(DAY_MS))
            .is_some_and(|(open, close)| (open..close).contains(&local))
    }

    /// The instant at which `amount_ms` of working time has passed since `start_ms`.
    pub(super) fn add_working_time(&self, start_ms: i64, amount_ms: i64) -> i64 {
        let start_ms = start_ms.clamp(-LIMIT_MS, LIMIT_MS);
        if amount_ms <= 0 {
            return start_ms;
        }
        let offset = self.offset_ms();
        let mut local = start_ms + offset;
        let mut remaining = amount_ms;
        let mut day = local.div_euclid(DAY_MS);
        for _ in 0..MAX_SCAN_DAYS {
            if let Some((open, close)) = self.span(day) {
                let from = local.max(open);
                if from < close {
                    if remaining <= close - from {
                        return from + remaining - offset;
                    }
                    remaining -= close - from;
                }
            }
            day += 1;
            local = day * DAY_MS;
        }
        i64::MAX
    }

    /// Working time between two instants.
    pub(super) fn working_time_between(&self, start_ms: i64, end_ms: i64) -> i64 {
        let offset = self.offset_ms();
        let a = start_ms.clamp(-LIMIT_MS, LIMIT_MS) + offset;
        let b = end_ms.clamp(-LIMIT_MS, LIMIT_MS) + offset;
        (a.div_euclid(DAY_MS)..=b.div_euclid(DAY_MS))
            .filter_map(|day| self.span(day))
            .map(|(open, close)| (b.min(close) - a.max(open)).max(0))
            .sum()
    }
}

/// Serde for a Unix time in ms written as RFC 3339 text (any offset accepted on input).
pub mod rfc3339_ms {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Writes `ms` as RFC 3339 UTC text.
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::time::rfc3339(*ms))
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
            Some(ms) => s.serialize_str(&crate::time::rfc3339(*ms)),
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

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |acc, c| acc * 10 + i64::from(c - b'0')))
}

/// `HH:MM` (00:00–24:00) → minutes since midnight.
fn parse_hhmm(text: &str) -> Option<i64> {
    match text.as_bytes() {
        [h1, h2, b':', m1, m2] => {
            let (h, m) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            (m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
        }
        _ => None,
    }
}

/// `+HH:MM` / `-HH:MM` (within ±14:00) or `Z` → minutes east of UTC.
fn parse_offset(text: &str) -> Option<i64> {
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
fn parse_date(text: &str) -> Option<i64> {
    match text.as_bytes() {
        [y @ .., b'-', m1, m2, b'-', d1, d2] if y.len() == 4 => {
            let (y, m, d) = (digits(y)?, digits(&[*m1, *m2])?, digits(&[*d1, *d2])?);
            let day = days_from_civil(y, m, d);
            ((1..=12).contains(&m) && d >= 1 && civil_from_days(day) == (y, m, d)).then_some(day)
        }
        _ => None,
    }
}

fn format_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date `(year, month, day)` of a day since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
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
    use super::*;

    #[test]
    fn calendar_math_round_trips() {
        for day in -800_000..800_000 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(Weekday::of_epoch_day(0), Weekday::Thursday);
        assert_eq!(Weekday::of_epoch_day(-1), Weekday::Wednesday);
        assert_eq!(
            Weekday::of_epoch_day(parse_date("2024-05-03").unwrap()),
            Weekday::Friday
        );
        assert_eq!(parse_date("2024-02-29"), Some(days_from_civil(2024, 2, 29)));
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("2024-13-01"), None);
        assert_eq!(parse_date("2024-5-01"), None);
        assert_eq!(format_date(parse_date("1999-12-31").unwrap()), "1999-12-31");
    }

    #[test]
    fn parses_rfc3339() {
        let t = |text: &str| parse_rfc3339(text).unwrap();
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
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn business_hours_report_every_problem() {
        let c = BusinessHoursConfig {
            days: vec![],
            start: "8am".into(),
            end: "25:00".into(),
            utc_offset: "+8".into(),
            holidays: vec!["2024-05-01".into(), "May 2".into()],
        };
        let p = c.build().unwrap_err();
        assert_eq!(p.len(), 5, "{p:?}");
        for key in ["days:", "start:", "end:", "utc_offset:", "holidays[1]:"] {
            assert!(p.iter().any(|m| m.starts_with(key)), "{key} in {p:?}");
        }
        let c = BusinessHoursConfig {
            start: "18:00".into(),
            end: "08:00".into(),
            ..Default::default()
        };
        assert_eq!(
            c.build().unwrap_err(),
            vec![r#"end: must be after start (18:00), got "08:00""#]
        );
        let c = BusinessHoursConfig {
            end: "24:00".into(),
            ..Default::default()
        };
        assert!(c.build().is_ok());
    }
}
