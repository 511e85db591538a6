//! The working calendar and the date math under it. Pure functions, no storage.
//!
//! [`BusinessHours`] are working days, daily hours and holidays read in a
//! fixed UTC offset (no time-zone database, so no daylight-saving changes);
//! [`super::sla::deadline`] and [`super::sla::elapsed`] run a business-hours
//! clock on them. Dates are proleptic Gregorian days since 1970-01-01; times
//! are Unix milliseconds, written as RFC 3339 text in JSON.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tocsin_model::time::{format_date, parse_date, parse_hhmm, parse_offset};

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

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_model::time::{civil_from_days, days_from_civil, format_date, parse_date};

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
