//! SLA policy (DESIGN.md's SLA table) and the due-time math of a stage.
//! Pure functions, no storage.
//!
//! A clock with `24x7` coverage runs all the time; one with `business_hours`
//! coverage only runs inside the working hours of [`BusinessHours`] (see
//! [`super::calendar`]). The one SLA clock of an incident, its stages and
//! their results, is [`super::sla_clock`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::calendar::BusinessHours;
use tocsin_model::event::Severity;
/// Serde helpers for RFC 3339 times, where the incident modules take them from.
pub use tocsin_model::incident::Coverage;
pub use tocsin_model::time::{rfc3339_ms, rfc3339_ms_opt};

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
    /// Clock start → first acknowledgement or assignment.
    #[serde(with = "humantime_serde")]
    pub respond: Duration,
    /// Clock start → an engineer is assigned.
    #[serde(with = "humantime_serde")]
    pub assign: Duration,
    /// Clock start → resolution.
    #[serde(with = "humantime_serde")]
    pub resolve: Duration,
    /// When the clock runs.
    pub coverage: Coverage,
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

#[cfg(test)]
#[path = "sla_tests.rs"]
mod tests;
