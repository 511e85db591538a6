//! Small text formats shared by the incident views: times, durations,
//! numbers and key/value blocks.

use std::fmt::Display;
use std::time::Duration;

use serde::Serialize;

use super::table::cell;
use tocsin_model::prom_time::format_value;
use tocsin_model::time::rfc3339;

/// A time as RFC 3339 without its fraction of a second
/// (`2026-11-23T10:00:00Z`).
pub fn time(ms: i64) -> String {
    let s = rfc3339(ms);
    match (s.find('.'), s.find(['Z', '+'])) {
        (Some(dot), Some(zone)) if dot < zone && s.as_bytes().get(10) == Some(&b'T') => {
            format!("{}{}", &s[..dot], &s[zone..])
        }
        _ => s,
    }
}

/// [`time`] of an optional time; empty when absent.
pub fn time_opt(ms: Option<i64>) -> String {
    ms.map(time).unwrap_or_default()
}

/// A duration as the API writes it (`10m`, `1h 30m`).
pub fn duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A value as its JSON text shows it: enum names as the API spells them
/// (`acknowledged`, `P2`, `24x7`), strings bare; empty for `null`.
pub fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .map(|v| cell(&v))
        .unwrap_or_default()
}

/// An optional value, empty when absent.
pub fn opt<T: Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A duration in ms as `45s`, `9m`, `3h20m`, `2d4h` (two units at most,
/// rounded down; negative as positive).
pub fn span(ms: i64) -> String {
    let s = ms.unsigned_abs() / 1000;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match () {
        _ if d > 0 && h > 0 => format!("{d}d{h}h"),
        _ if d > 0 => format!("{d}d"),
        _ if h > 0 && m > 0 => format!("{h}h{m}m"),
        _ if h > 0 => format!("{h}h"),
        _ if m > 0 => format!("{m}m"),
        _ => format!("{s}s"),
    }
}

/// A number for people: at most four decimals, no trailing zeros
/// (`93.456789` → `93.4568`, `0.0` → `0`); huge or tiny values as Prometheus
/// writes them.
pub fn number(f: f64) -> String {
    let abs = f.abs();
    if !f.is_finite() || abs >= 1e15 || (abs != 0.0 && abs < 1e-4) {
        return format_value(f);
    }
    let s = format!("{f:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// `yes` or `no`.
pub fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.into()
}

/// Aligned `key  value` lines, indented by two spaces; pairs with an empty
/// value are left out. Control characters in values become spaces.
pub fn pairs(items: &[(&str, String)]) -> String {
    let shown: Vec<_> = items.iter().filter(|(_, v)| !v.is_empty()).collect();
    let width = shown.iter().map(|(k, _)| k.chars().count()).max();
    let mut out = String::new();
    for (k, v) in shown {
        let pad = width.unwrap_or(0) - k.chars().count();
        let v: String = v
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        out.push_str(&format!("  {k}{}  {v}\n", " ".repeat(pad)));
    }
    out
}

/// The non-empty `parts` joined with a space (e.g. vendor and model).
pub fn join(parts: &[String]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_lose_their_fraction() {
        assert_eq!(time(1_795_428_000_123), "2026-11-23T10:00:00Z");
        assert_eq!(time_opt(Some(1_795_428_000_000)), "2026-11-23T10:00:00Z");
        assert_eq!(time_opt(None), "");
        assert_eq!(duration(Duration::from_secs(5400)), "1h 30m");
    }

    #[test]
    fn spans() {
        assert_eq!(span(45_999), "45s");
        assert_eq!(span(-540_000), "9m");
        assert_eq!(span(3_600_000), "1h");
        assert_eq!(span(12_000_000), "3h20m");
        assert_eq!(span(86_400_000 * 2 + 4 * 3_600_000 + 60_000), "2d4h");
        assert_eq!(span(86_400_000), "1d");
    }

    #[test]
    fn numbers_and_names() {
        assert_eq!(number(93.456789), "93.4568");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(-0.00001), "-0.00001");
        assert_eq!(number(1.5e-7), "1.5e-07");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(2.5), "2.5");
        assert_eq!(yes_no(true), "yes");
        assert_eq!(name(&tocsin_model::Priority::P2), "P2");
        assert_eq!(name(&tocsin_model::Coverage::AlwaysOn), "24x7");
        assert_eq!(name(&None::<u8>), "");
        assert_eq!(opt(Some(3)), "3");
        assert_eq!(opt(None::<&str>), "");
    }

    #[test]
    fn key_value_blocks() {
        let out = pairs(&[
            ("name", "web01".into()),
            ("hostname", String::new()),
            ("ip", "10.0.0.5".into()),
            ("os", "a\nb".into()),
        ]);
        assert_eq!(out, "  name  web01\n  ip    10.0.0.5\n  os    a b\n");
        assert_eq!(pairs(&[("x", String::new())]), "");
        assert_eq!(
            join(&["Dell".into(), String::new(), "R740".into()]),
            "Dell R740"
        );
    }
}
