//! Text rendering of Prometheus query results, and the default range step.

use std::collections::BTreeMap;

use serde_json::Value;
use tocsin_api_types::prom::{MatrixSeries, QueryData, VectorSample};

use tocsin_model::prom_time::{format_timestamp, parse_duration, parse_time};
use tocsin_model::time::now_ms;

use super::client::{CliError, Client, Reply};
use super::table::Table;

/// Widest metric column; label sets are long but worth seeing.
const METRIC_WIDTH: usize = 120;

/// Default step of a range query: a sixtieth of the range, in whole
/// seconds, at least one second.
pub fn default_step_ms(range_ms: i64) -> i64 {
    ((range_ms as f64 / 60.0 / 1000.0).round() as i64).max(1) * 1000
}

/// `name{a="b", c="d"}` as Prometheus writes series.
pub fn series_name(metric: &BTreeMap<String, String>) -> String {
    let name = metric
        .get("__name__")
        .map(String::as_str)
        .unwrap_or_default();
    let labels: Vec<String> = metric
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    if labels.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", labels.join(", "))
    }
}

/// A query response (`{"data":{"resultType":..,"result":..}}`) as text.
pub fn render(body: &Value) -> String {
    let Ok(data) = serde_json::from_value::<QueryData<Value>>(body["data"].clone()) else {
        return "\n".into();
    };
    match data.result_type.as_str() {
        "vector" => vector(&serde_json::from_value::<Vec<_>>(data.result).unwrap_or_default()),
        "matrix" => matrix(&serde_json::from_value::<Vec<_>>(data.result).unwrap_or_default()),
        // Scalars and strings: `[time, "value"]`.
        _ => {
            let point: Option<(f64, String)> = serde_json::from_value(data.result).ok();
            format!("{}\n", point.map(|p| p.1).unwrap_or_default())
        }
    }
}

fn vector(result: &[VectorSample]) -> String {
    if result.is_empty() {
        return "no series\n".into();
    }
    let mut t = Table::new(&["SERIES", "VALUE"]).max_cell(METRIC_WIDTH);
    for s in result {
        t.row([series_name(&s.metric), s.value.1.clone()]);
    }
    t.render()
}

fn matrix(result: &[MatrixSeries]) -> String {
    if result.is_empty() {
        return "no series\n".into();
    }
    let mut t = Table::new(&["SERIES", "POINTS", "LAST", "MIN", "MAX"]).max_cell(METRIC_WIDTH);
    for s in result {
        let values: Vec<&str> = s.values.iter().map(|p| p.1.as_str()).collect();
        let numbers = values
            .iter()
            .filter_map(|v| Some((*v, v.parse::<f64>().ok()?)))
            .filter(|(_, n)| !n.is_nan());
        // Keep the server's text of the extremes rather than reformatting.
        let min = numbers
            .clone()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(s, _)| s);
        let max = numbers.max_by(|a, b| a.1.total_cmp(&b.1)).map(|(s, _)| s);
        t.row([
            series_name(&s.metric),
            values.len().to_string(),
            values.last().copied().unwrap_or_default().to_string(),
            min.unwrap_or_default().to_string(),
            max.unwrap_or_default().to_string(),
        ]);
    }
    t.render()
}

/// Asks for `expr` at `time` (default now), or over `range` ending then,
/// every `step` (default: [`default_step_ms`]).
pub async fn query(
    client: &Client,
    expr: &str,
    range: Option<String>,
    step: Option<String>,
    time: Option<String>,
) -> Result<Reply, CliError> {
    let bad = |flag: &str, e: String| CliError::Other(format!("invalid --{flag}: {e}"));
    let at = match &time {
        Some(t) => parse_time(t).map_err(|e| bad("time", e))?,
        None => now_ms(),
    };
    let Some(range) = range else {
        let t = format_timestamp(at);
        return client
            .get(&["api", "v1", "query"], &[("query", expr), ("time", &t)])
            .await;
    };
    let range_ms = positive_duration(&range).map_err(|e| bad("range", e))?;
    let step_ms = match &step {
        Some(s) => positive_duration(s).map_err(|e| bad("step", e))?,
        None => default_step_ms(range_ms),
    };
    let (start, end, step) = (
        format_timestamp(at - range_ms),
        format_timestamp(at),
        format_timestamp(step_ms),
    );
    let params = [
        ("query", expr),
        ("start", &start),
        ("end", &end),
        ("step", &step),
    ];
    client.get(&["api", "v1", "query_range"], &params).await
}

fn positive_duration(s: &str) -> Result<i64, String> {
    match parse_duration(s)? {
        ms if ms > 0 => Ok(ms),
        _ => Err(format!("{s:?} is not a positive duration")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn default_steps() {
        assert_eq!(default_step_ms(3_600_000), 60_000);
        assert_eq!(default_step_ms(90_000), 2_000, "1.5s rounds to 2s");
        assert_eq!(default_step_ms(10_000), 1_000, "at least one second");
        assert_eq!(default_step_ms(86_400_000), 1_440_000);
    }

    #[test]
    fn series_names() {
        let labels = |v: Value| serde_json::from_value::<BTreeMap<String, String>>(v).unwrap();
        let m = labels(json!({"__name__": "cpu", "host": "a", "q": "x\"y"}));
        assert_eq!(series_name(&m), r#"cpu{host="a", q="x\"y"}"#);
        assert_eq!(series_name(&labels(json!({"__name__": "up"}))), "up");
        assert_eq!(series_name(&labels(json!({"job": "x"}))), r#"{job="x"}"#);
    }

    #[test]
    fn vector_table() {
        let body = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "cpu", "host": "a"}, "value": [1700000000.5, "42"]},
            {"metric": {"__name__": "cpu", "host": "bb"}, "value": [1700000000.5, "NaN"]}
        ]}});
        assert_eq!(
            render(&body),
            "SERIES          VALUE\ncpu{host=\"a\"}   42\ncpu{host=\"bb\"}  NaN\n"
        );
        let empty = json!({"data": {"resultType": "vector", "result": []}});
        assert_eq!(render(&empty), "no series\n");
    }

    #[test]
    fn matrix_summary() {
        let body = json!({"data": {"resultType": "matrix", "result": [
            {"metric": {"__name__": "load"}, "values": [[1, "0.5"], [2, "-1"], [3, "NaN"], [4, "1e+21"], [5, "0.25"]]}
        ]}});
        assert_eq!(
            render(&body),
            "SERIES  POINTS  LAST  MIN  MAX\nload    5       0.25  -1   1e+21\n"
        );
    }
}
