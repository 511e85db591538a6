//! Text rendering of Prometheus query results, and the default range step.

use serde_json::{Map, Value};

use super::table::Table;

/// Widest metric column; label sets are long but worth seeing.
const METRIC_WIDTH: usize = 120;

/// Default step of a range query: a sixtieth of the range, in whole
/// seconds, at least one second.
pub fn default_step_ms(range_ms: i64) -> i64 {
    ((range_ms as f64 / 60.0 / 1000.0).round() as i64).max(1) * 1000
}

/// `name{a="b", c="d"}` as Prometheus writes series.
pub fn series_name(metric: &Map<String, Value>) -> String {
    let name = metric
        .get("__name__")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let labels: Vec<String> = metric
        .iter()
        .filter(|(k, _)| *k != "__name__")
        .map(|(k, v)| {
            format!(
                "{k}=\"{}\"",
                v.as_str()
                    .unwrap_or_default()
                    .replace('\\', "\\\\")
                    .replace('"', "\\\"")
            )
        })
        .collect();
    if labels.is_empty() && !name.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", labels.join(", "))
    }
}

/// A query response (`{"data":{"resultType":..,"result":..}}`) as text.
pub fn render(body: &Value) -> String {
    let data = &body["data"];
    let empty = Vec::new();
    let result = data["result"].as_array().unwrap_or(&empty);
    match data["resultType"].as_str() {
        Some("vector") => vector(result),
        Some("matrix") => matrix(result),
        // Scalars and strings: `[time, "value"]`.
        _ => format!("{}\n", data["result"][1].as_str().unwrap_or_default()),
    }
}

fn metric(series: &Value) -> String {
    series["metric"]
        .as_object()
        .map(series_name)
        .unwrap_or_default()
}

fn vector(result: &[Value]) -> String {
    if result.is_empty() {
        return "no series\n".into();
    }
    let mut t = Table::new(&["SERIES", "VALUE"]).max_cell(METRIC_WIDTH);
    for s in result {
        t.row([
            metric(s),
            s["value"][1].as_str().unwrap_or_default().to_string(),
        ]);
    }
    t.render()
}

fn matrix(result: &[Value]) -> String {
    if result.is_empty() {
        return "no series\n".into();
    }
    let mut t = Table::new(&["SERIES", "POINTS", "LAST", "MIN", "MAX"]).max_cell(METRIC_WIDTH);
    for s in result {
        let values: Vec<&str> = s["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p[1].as_str())
            .collect();
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
            metric(s),
            values.len().to_string(),
            values.last().copied().unwrap_or_default().to_string(),
            min.unwrap_or_default().to_string(),
            max.unwrap_or_default().to_string(),
        ]);
    }
    t.render()
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
        let m = json!({"__name__": "cpu", "host": "a", "q": "x\"y"});
        assert_eq!(
            series_name(m.as_object().unwrap()),
            r#"cpu{host="a", q="x\"y"}"#
        );
        assert_eq!(
            series_name(json!({"__name__": "up"}).as_object().unwrap()),
            "up"
        );
        assert_eq!(
            series_name(json!({"job": "x"}).as_object().unwrap()),
            r#"{job="x"}"#
        );
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
