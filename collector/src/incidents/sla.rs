//! SLA policy and calendar math (DESIGN.md's SLA table). Pure functions, no storage.
//!
//! A clock with `24x7` coverage runs all the time; one with `business_hours`
//! coverage only runs inside the working hours of [`BusinessHours`], read in
//! a fixed UTC offset (no time-zone database, so no daylight-saving changes).
//! An incident has three stages: `respond` (opening → first human action),
//! `assign` (opening → an engineer is assigned) and `resolve` (opening →
//! resolution). Resolution stops every clock: a stage still running then is
//! finished at the resolution time. Warning incidents (by default) and
//! suppressed ones (maintenance) have no clock.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rules::event::Severity;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Inputs are clamped to about ±31,000 years, far from any overflow.
const LIMIT_MS: i64 = 1_000_000_000_000_000;
/// A deadline further than this many days away is reported as `i64::MAX`.
const MAX_SCAN_DAYS: i64 = 1_000_000;
/// Longest SLA target accepted by validation.
const MAX_TARGET: Duration = Duration::from_secs(366 * 86_400);

/// The SLA policy: targets per severity plus the working calendar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaPolicy {
    /// Targets of major incidents; `false` runs no clock.
    #[serde(with = "targets_or_off")]
    pub major: Option<SlaTargets>,
    /// Targets of general incidents; `false` runs no clock.
    #[serde(with = "targets_or_off")]
    pub general: Option<SlaTargets>,
    /// Targets of warnings; `false` (the default) runs no clock.
    #[serde(with = "targets_or_off")]
    pub warning: Option<SlaTargets>,
    /// Working hours used by targets with `business_hours` coverage.
    pub business_hours: BusinessHours,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            major: Some(SlaTargets {
                respond: minutes(10),
                assign: minutes(60),
                resolve: minutes(4 * 60),
                coverage: Coverage::AlwaysOn,
            }),
            general: Some(SlaTargets {
                respond: minutes(10),
                assign: minutes(2 * 60),
                resolve: minutes(24 * 60),
                coverage: Coverage::BusinessHours,
            }),
            warning: None,
            business_hours: BusinessHours::default(),
        }
    }
}

impl SlaPolicy {
    /// The targets of `severity`, if its incidents run a clock.
    pub fn targets(&self, severity: Severity) -> Option<&SlaTargets> {
        match severity {
            Severity::Major => self.major.as_ref(),
            Severity::General => self.general.as_ref(),
            Severity::Warning => self.warning.as_ref(),
        }
    }

    /// Checks the targets, reporting every problem prefixed with `key` (where
    /// the policy sits in the config, e.g. `sla`). Business hours are checked
    /// when they are parsed.
    pub fn validate(&self, key: &str) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for severity in Severity::ALL {
            let Some(t) = self.targets(severity) else {
                continue;
            };
            let at = format!("{key}.{}", severity.as_str());
            for (name, d) in [
                ("respond", t.respond),
                ("assign", t.assign),
                ("resolve", t.resolve),
            ] {
                if d < Duration::from_secs(1) || d > MAX_TARGET {
                    problems.push(format!(
                        "{at}.{name}: must be between 1s and 366days, got {}",
                        humantime::format_duration(d)
                    ));
                }
            }
            for (name, d) in [("respond", t.respond), ("assign", t.assign)] {
                if d > t.resolve {
                    problems.push(format!(
                        "{at}.{name}: must not exceed resolve ({}), got {}",
                        humantime::format_duration(t.resolve),
                        humantime::format_duration(d)
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// The targets of one severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTargets {
    /// Opening → first acknowledgement (or assignment, or resolution).
    #[serde(with = "humantime_serde")]
    pub respond: Duration,
    /// Opening → an engineer is assigned (or the incident is resolved).
    #[serde(with = "humantime_serde")]
    pub assign: Duration,
    /// Opening → resolution.
    #[serde(with = "humantime_serde")]
    pub resolve: Duration,
    /// When the clock runs.
    pub coverage: Coverage,
}

/// When an SLA clock runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Coverage {
    /// 7×24: all the time.
    #[serde(rename = "24x7")]
    AlwaysOn,
    /// 5×8: only inside [`BusinessHours`].
    #[serde(rename = "business_hours")]
    BusinessHours,
}

/// `false` (or null) for no clock, otherwise a table of [`SlaTargets`].
mod targets_or_off {
    use serde::de::{self, MapAccess, Visitor, value::MapAccessDeserializer};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::SlaTargets;

    pub fn serialize<S: Serializer>(v: &Option<SlaTargets>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(t) => t.serialize(s),
            None => s.serialize_bool(false),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SlaTargets>, D::Error> {
        struct Off;
        impl<'de> Visitor<'de> for Off {
            type Value = Option<SlaTargets>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table with respond, assign, resolve and coverage, or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                if v {
                    Err(E::custom(
                        "true is not a set of targets: give respond, assign, resolve and coverage, or false for no SLA clock",
                    ))
                } else {
                    Ok(None)
                }
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                SlaTargets::deserialize(MapAccessDeserializer::new(map)).map(Some)
            }
        }
        d.deserialize_any(Off)
    }
}

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
    fn add_working_time(&self, start_ms: i64, amount_ms: i64) -> i64 {
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
    fn working_time_between(&self, start_ms: i64, end_ms: i64) -> i64 {
        let offset = self.offset_ms();
        let a = start_ms.clamp(-LIMIT_MS, LIMIT_MS) + offset;
        let b = end_ms.clamp(-LIMIT_MS, LIMIT_MS) + offset;
        (a.div_euclid(DAY_MS)..=b.div_euclid(DAY_MS))
            .filter_map(|day| self.span(day))
            .map(|(open, close)| (b.min(close) - a.max(open)).max(0))
            .sum()
    }
}

/// When `target` has run out for a clock started at `start_ms` (ms). With
/// business-hours coverage the clock only runs inside working hours: opened
/// Friday 17:55 with 10 minutes to go, it is due Monday 08:05.
pub fn deadline(start_ms: i64, target: Duration, coverage: Coverage, hours: &BusinessHours) -> i64 {
    let target_ms = i64::try_from(target.as_millis()).unwrap_or(i64::MAX);
    match coverage {
        Coverage::AlwaysOn => start_ms.saturating_add(target_ms),
        Coverage::BusinessHours => hours.add_working_time(start_ms, target_ms),
    }
}

/// Clock time (ms) that runs between two instants under `coverage`; 0 if `end_ms <= start_ms`.
pub fn elapsed(start_ms: i64, end_ms: i64, coverage: Coverage, hours: &BusinessHours) -> i64 {
    if end_ms <= start_ms {
        return 0;
    }
    match coverage {
        Coverage::AlwaysOn => end_ms.saturating_sub(start_ms),
        Coverage::BusinessHours => hours.working_time_between(start_ms, end_ms),
    }
}

/// A stage of an incident's SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Opening → first acknowledgement.
    Respond,
    /// Opening → an engineer is assigned.
    Assign,
    /// Opening → resolution.
    Resolve,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 3] = [Stage::Respond, Stage::Assign, Stage::Resolve];

    /// The lowercase name used in the API and timelines.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Respond => "respond",
            Stage::Assign => "assign",
            Stage::Resolve => "resolve",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a stage stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// Not finished and not yet due.
    Pending,
    /// Finished on or before its due time.
    Met,
    /// Finished late, or still running past its due time.
    Breached,
}

/// What the SLA clock needs to know about an incident (times in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaFacts {
    /// Current severity; its targets apply from the opening.
    pub severity: Severity,
    /// When the incident opened.
    pub opened_at: i64,
    /// First acknowledgement.
    pub acknowledged_at: Option<i64>,
    /// First assignment of an engineer.
    pub assigned_at: Option<i64>,
    /// Resolution (stops every clock).
    pub resolved_at: Option<i64>,
    /// Opened inside a maintenance window: no clock.
    pub suppressed: bool,
}

/// The SLA clock of one incident: each stage's due time and finish time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClock {
    /// `(due, finished)` per stage in [`Stage::ALL`] order; `None` = no clock.
    stages: Option<[(i64, Option<i64>); 3]>,
}

impl SlaClock {
    /// The clock of an incident under `policy`.
    pub fn new(policy: &SlaPolicy, facts: &SlaFacts) -> Self {
        let targets = policy.targets(facts.severity).filter(|_| !facts.suppressed);
        let stages = targets.map(|t| {
            let due = |d| deadline(facts.opened_at, d, t.coverage, &policy.business_hours);
            let first = |times: &[Option<i64>]| times.iter().flatten().min().copied();
            let resolved = facts.resolved_at;
            [
                (
                    due(t.respond),
                    first(&[facts.acknowledged_at, facts.assigned_at, resolved]),
                ),
                (due(t.assign), first(&[facts.assigned_at, resolved])),
                (due(t.resolve), resolved),
            ]
        });
        Self { stages }
    }

    /// Whether a clock runs at all (not for warnings or suppressed incidents by default).
    pub fn is_running(&self) -> bool {
        self.stages.is_some()
    }

    /// The due time of `stage`, ms.
    pub fn due(&self, stage: Stage) -> Option<i64> {
        self.stages.map(|s| s[stage as usize].0)
    }

    /// The state of every stage at `now_ms`; `None` when no clock runs.
    pub fn state_at(&self, now_ms: i64) -> Option<SlaState> {
        let stages = self.stages?;
        let one = |stage: Stage| {
            let (due, at) = stages[stage as usize];
            let status = match at {
                Some(t) if t <= due => StageStatus::Met,
                Some(_) => StageStatus::Breached,
                None if now_ms > due => StageStatus::Breached,
                None => StageStatus::Pending,
            };
            StageState { due, status, at }
        };
        Some(SlaState {
            respond: one(Stage::Respond),
            assign: one(Stage::Assign),
            resolve: one(Stage::Resolve),
        })
    }

    /// Every stage breached by `now_ms` (running past due, or finished late), in order.
    /// The caller escalates once per stage.
    pub fn breached_stages_at(&self, now_ms: i64) -> Vec<Stage> {
        self.state_at(now_ms).map_or_else(Vec::new, |s| {
            Stage::ALL
                .into_iter()
                .filter(|st| s.stage(*st).status == StageStatus::Breached)
                .collect()
        })
    }

    /// The earliest due time of a stage still pending at `now_ms`: when to look again.
    pub fn next_due_after(&self, now_ms: i64) -> Option<i64> {
        let s = self.state_at(now_ms)?;
        Stage::ALL
            .into_iter()
            .map(|st| s.stage(st))
            .filter(|st| st.status == StageStatus::Pending)
            .map(|st| st.due)
            .min()
    }
}

/// The SLA state of an incident, as shown by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaState {
    /// Response stage.
    pub respond: StageState,
    /// Assignment stage.
    pub assign: StageState,
    /// Resolution stage.
    pub resolve: StageState,
}

impl SlaState {
    /// The state of one stage.
    pub fn stage(&self, stage: Stage) -> &StageState {
        match stage {
            Stage::Respond => &self.respond,
            Stage::Assign => &self.assign,
            Stage::Resolve => &self.resolve,
        }
    }
}

/// One stage: due time, status and when it finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageState {
    /// Due time (RFC 3339 in JSON).
    #[serde(with = "rfc3339_ms")]
    pub due: i64,
    /// Pending, met or breached.
    pub status: StageStatus,
    /// When the stage finished, if it has (RFC 3339 in JSON).
    #[serde(
        default,
        with = "rfc3339_ms_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub at: Option<i64>,
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
#[path = "sla_tests.rs"]
mod tests;
