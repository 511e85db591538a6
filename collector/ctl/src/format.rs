//! Small text formats shared by the incident views: times, durations,
//! numbers and key/value blocks.

use serde_json::Value;

use super::table::cell;
use tocsin_model::prom_time::{format_value, parse_time};

/// An RFC 3339 time from the API without its fraction of a second
/// (`2026-11-23T10:00:00.123Z` → `2026-11-23T10:00:00Z`); other values as
/// cells, `null` as empty.
pub fn time(v: &Value) -> String {
    let s = cell(v);
    match (s.find('.'), s.find(['Z', '+'])) {
        (Some(dot), Some(zone)) if dot < zone && s.as_bytes().get(10) == Some(&b'T') => {
            format!("{}{}", &s[..dot], &s[zone..])
        }
        _ => s,
    }
}

/// Unix ms of an RFC 3339 value, if it is one.
pub fn millis(v: &Value) -> Option<i64> {
    parse_time(v.as_str()?).ok()
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

/// A JSON number for people: at most four decimals, no trailing zeros
/// (`93.456789` → `93.4568`, `0.0` → `0`); huge or tiny values as Prometheus
/// writes them. Other values as cells.
pub fn number(v: &Value) -> String {
    let Some(f) = v.as_f64() else {
        return cell(v);
    };
    let abs = f.abs();
    if !f.is_finite() || abs >= 1e15 || (abs != 0.0 && abs < 1e-4) {
        return format_value(f);
    }
    let s = format!("{f:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// `yes`/`no` for a JSON boolean (empty when absent).
pub fn yes_no(v: &Value) -> String {
    match v.as_bool() {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => cell(v),
    }
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
    use serde_json::json;

    use super::*;

    #[test]
    fn times_lose_their_fraction() {
        assert_eq!(
            time(&json!("2026-11-23T10:00:00.123Z")),
            "2026-11-23T10:00:00Z"
        );
        assert_eq!(
            time(&json!("2026-11-23T10:00:00.5+08:00")),
            "2026-11-23T10:00:00+08:00"
        );
        assert_eq!(time(&json!("2026-11-23T10:00:00Z")), "2026-11-23T10:00:00Z");
        assert_eq!(time(&json!(null)), "");
        assert_eq!(time(&json!("v1.2 Z")), "v1.2 Z");
        assert_eq!(millis(&json!("1970-01-01T00:00:01.500Z")), Some(1500));
        assert_eq!(millis(&json!(3)), None);
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
    fn numbers() {
        assert_eq!(number(&json!(93.456789)), "93.4568");
        assert_eq!(number(&json!(0.0)), "0");
        assert_eq!(number(&json!(-0.00001)), "-0.00001");
        assert_eq!(number(&json!(1.5e-7)), "1.5e-07");
        assert_eq!(number(&json!(12)), "12");
        assert_eq!(number(&json!(2.5)), "2.5");
        assert_eq!(number(&json!(null)), "");
        assert_eq!(yes_no(&json!(true)), "yes");
        assert_eq!(yes_no(&json!(null)), "");
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
