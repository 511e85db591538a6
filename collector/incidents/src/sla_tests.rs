use super::*;
use crate::calendar::BusinessHoursConfig;
use tocsin_model::time::parse_rfc3339;

const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

fn t(text: &str) -> i64 {
    parse_rfc3339(text).unwrap()
}

fn hours(offset: &str, holidays: &[&str]) -> BusinessHours {
    BusinessHoursConfig {
        utc_offset: offset.into(),
        holidays: holidays.iter().map(|h| h.to_string()).collect(),
        ..Default::default()
    }
    .build()
    .unwrap()
}

fn due(start: &str, target: Duration, h: &BusinessHours) -> String {
    tocsin_model::time::rfc3339(deadline(t(start), target, Coverage::BusinessHours, h))
}

// 2024-05-03 is a Friday; 2024-05-06 the following Monday.

#[test]
fn friday_evening_rolls_over_to_monday() {
    let h = BusinessHours::default();
    assert_eq!(
        due("2024-05-03T17:55:00Z", 10 * MIN, &h),
        "2024-05-06T08:05:00.000Z"
    );
    // Exactly at closing time: nothing left that day.
    assert_eq!(
        due("2024-05-03T18:00:00Z", 10 * MIN, &h),
        "2024-05-06T08:10:00.000Z"
    );
}

#[test]
fn weekend_start_waits_for_monday() {
    let h = BusinessHours::default();
    assert_eq!(
        due("2024-05-04T11:00:00Z", 10 * MIN, &h),
        "2024-05-06T08:10:00.000Z"
    );
    assert_eq!(
        due("2024-05-05T23:59:59Z", 10 * MIN, &h),
        "2024-05-06T08:10:00.000Z"
    );
}

#[test]
fn start_inside_and_outside_hours() {
    let h = BusinessHours::default();
    assert_eq!(
        due("2024-05-06T09:00:00Z", 2 * HOUR, &h),
        "2024-05-06T11:00:00.000Z"
    );
    assert_eq!(
        due("2024-05-06T06:00:00Z", 10 * MIN, &h),
        "2024-05-06T08:10:00.000Z"
    );
    assert_eq!(
        due("2024-05-06T19:00:00Z", 10 * MIN, &h),
        "2024-05-07T08:10:00.000Z"
    );
    assert_eq!(
        due("2024-05-06T17:00:00Z", 2 * HOUR, &h),
        "2024-05-07T09:00:00.000Z"
    );
    assert_eq!(
        due("2024-05-04T11:00:00Z", Duration::ZERO, &h),
        "2024-05-04T11:00:00.000Z"
    );
}

#[test]
fn holidays_are_skipped() {
    let h = hours("+00:00", &["2024-05-06", "2024-05-07"]);
    assert_eq!(
        due("2024-05-03T17:55:00Z", 10 * MIN, &h),
        "2024-05-08T08:05:00.000Z"
    );
    assert!(!h.is_working_time(t("2024-05-06T10:00:00Z")));
    assert!(h.is_working_time(t("2024-05-08T10:00:00Z")));
}

#[test]
fn multi_day_resolve_counts_business_time_only() {
    let h = BusinessHours::default();
    // 24 h of business time = 2.4 working days of 10 h.
    assert_eq!(
        due("2024-05-06T08:00:00Z", 24 * HOUR, &h),
        "2024-05-08T12:00:00.000Z"
    );
    // Thursday 14:00: 4 h + Friday 10 h + Monday 10 h, due exactly at Monday's close.
    assert_eq!(
        due("2024-05-02T14:00:00Z", 24 * HOUR, &h),
        "2024-05-06T18:00:00.000Z"
    );
}

#[test]
fn always_on_is_plain_addition() {
    let h = BusinessHours::default();
    let s = t("2024-05-03T17:55:00Z");
    assert_eq!(
        deadline(s, 4 * HOUR, Coverage::AlwaysOn, &h),
        t("2024-05-03T21:55:00Z")
    );
    assert_eq!(elapsed(s, s + 1234, Coverage::AlwaysOn, &h), 1234);
    assert_eq!(elapsed(s, s - 1, Coverage::AlwaysOn, &h), 0);
    assert_eq!(
        deadline(i64::MAX - 1, HOUR, Coverage::AlwaysOn, &h),
        i64::MAX
    );
}

#[test]
fn utc_offset_moves_the_working_day() {
    let h = hours("+08:00", &[]);
    // Friday 17:55 in +08:00 is 09:55Z; due Monday 08:05 local = 00:05Z.
    assert_eq!(
        due("2024-05-03T09:55:00Z", 10 * MIN, &h),
        "2024-05-06T00:05:00.000Z"
    );
    assert_eq!(
        due("2024-05-03T17:55:00+08:00", 10 * MIN, &h),
        "2024-05-06T00:05:00.000Z"
    );
    assert!(h.is_working_time(t("2024-05-06T00:00:00Z")));
    assert!(!h.is_working_time(t("2024-05-05T23:59:59Z")));
    // A holiday is a local calendar day: 2024-05-06 local starts at 2024-05-05T16:00Z.
    let h = hours("+08:00", &["2024-05-06"]);
    assert_eq!(
        due("2024-05-03T09:55:00Z", 10 * MIN, &h),
        "2024-05-07T00:05:00.000Z"
    );
    let h = hours("-05:00", &[]);
    assert_eq!(
        due("2024-05-03T22:55:00Z", 10 * MIN, &h),
        "2024-05-06T13:05:00.000Z"
    );
}

#[test]
fn elapsed_counts_working_time() {
    let h = BusinessHours::default();
    let e = |a: &str, b: &str| elapsed(t(a), t(b), Coverage::BusinessHours, &h);
    assert_eq!(
        e("2024-05-03T17:00:00Z", "2024-05-06T09:00:00Z"),
        2 * 3_600_000
    );
    assert_eq!(e("2024-05-04T00:00:00Z", "2024-05-05T23:00:00Z"), 0);
    assert_eq!(
        e("2024-05-06T00:00:00Z", "2024-05-13T00:00:00Z"),
        50 * 3_600_000
    );
    assert_eq!(e("2024-05-06T10:00:00Z", "2024-05-06T09:00:00Z"), 0);
}

#[test]
fn elapsed_is_the_inverse_of_deadline() {
    for h in [
        BusinessHours::default(),
        hours("+08:00", &["2024-05-08"]),
        hours("-03:30", &["2024-05-10", "2024-05-13"]),
    ] {
        let mut start = t("2024-05-01T00:00:00Z");
        while start < t("2024-05-15T00:00:00Z") {
            for target in [MIN, 10 * MIN, 2 * HOUR, 24 * HOUR, 100 * HOUR] {
                let d = deadline(start, target, Coverage::BusinessHours, &h);
                let ms = target.as_millis() as i64;
                assert_eq!(elapsed(start, d, Coverage::BusinessHours, &h), ms);
                // The deadline is the first instant with that much working time.
                assert!(elapsed(start, d - 1, Coverage::BusinessHours, &h) < ms);
            }
            start += 37 * 60_000 + 13;
        }
    }
}

#[test]
fn default_policy_is_the_design_table() {
    let p: SlaPolicy = toml::from_str("").unwrap();
    assert_eq!(p, SlaPolicy::default());
    let major = p.targets(Severity::Major).unwrap();
    assert_eq!(
        (major.respond, major.assign, major.resolve),
        (10 * MIN, HOUR, 4 * HOUR)
    );
    assert_eq!(major.coverage, Coverage::AlwaysOn);
    let general = p.targets(Severity::General).unwrap();
    assert_eq!(
        (general.respond, general.assign, general.resolve),
        (10 * MIN, 2 * HOUR, 24 * HOUR)
    );
    assert_eq!(general.coverage, Coverage::BusinessHours);
    assert!(p.targets(Severity::Warning).is_none());
    assert_eq!(p.validate("sla"), Ok(()));
    // It survives a JSON round trip, with the documented names.
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["major"]["coverage"], "24x7");
    assert_eq!(json["general"]["coverage"], "business_hours");
    assert_eq!(json["warning"], false);
    assert_eq!(json["business_hours"]["utc_offset"], "+00:00");
    assert_eq!(serde_json::from_value::<SlaPolicy>(json).unwrap(), p);
}

#[test]
fn policy_from_toml() {
    let p: SlaPolicy = toml::from_str(
        r#"
        general = false
        [warning]
        respond = "1h"
        assign = "4h"
        resolve = "3days"
        coverage = "business_hours"
        [business_hours]
        days = ["mon", "tuesday", "wed", "thu", "fri", "sat"]
        start = "09:00"
        end = "17:30"
        utc_offset = "+08:00"
        holidays = ["2024-10-01"]
        "#,
    )
    .unwrap();
    assert!(p.general.is_none());
    assert!(p.major.is_some());
    assert_eq!(p.warning.unwrap().resolve, 72 * HOUR);
    let bh = BusinessHoursConfig::from(p.business_hours.clone());
    assert_eq!(bh.days.len(), 6);
    assert_eq!((bh.start.as_str(), bh.end.as_str()), ("09:00", "17:30"));
    assert_eq!(bh.holidays, vec!["2024-10-01"]);
    // Errors name the key.
    let err = |text: &str| toml::from_str::<SlaPolicy>(text).unwrap_err().to_string();
    assert!(err("major = true").contains("false for no SLA clock"));
    assert!(err("[major]\nrespond = \"1m\"").contains("missing field"));
    assert!(
        err("[general]\nrespond=\"1m\"\nassign=\"1m\"\nresolve=\"1m\"\ncoverage=\"5x8\"")
            .contains("24x7")
    );
    assert!(err("[business_hours]\nstart = \"8\"\nutc_offset = \"x\"").contains("start:"));
    assert!(err("[business_hours]\nstart = \"8\"\nutc_offset = \"x\"").contains("utc_offset:"));
    assert!(err("bogus = 1").contains("unknown field"));
}

#[test]
fn policy_validation_names_every_key() {
    let mut p = SlaPolicy::default();
    p.major.as_mut().unwrap().respond = Duration::ZERO;
    p.major.as_mut().unwrap().assign = 5 * HOUR;
    p.general.as_mut().unwrap().resolve = Duration::from_secs(400 * 86_400);
    let problems = p.validate("sla").unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("sla.general.resolve:"));
    assert!(problems[1].starts_with("sla.major.respond:"));
    assert!(problems[2].starts_with("sla.major.assign: must not exceed resolve"));
}
