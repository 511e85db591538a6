//! Prometheus' JSON for query results, written by hand because timestamps
//! are JSON numbers with exactly Prometheus' digits (`1435781451.780`) and
//! values are strings (`"NaN"`, `"+Inf"`), which serde_json cannot express.

use std::fmt::Write;

use super::Labels;
use super::eval::{MatrixSeries, VectorSample};
use tocsin_model::prom_time::{format_timestamp, format_value};

/// `{"status":"success","data":<data>}` around already serialised data.
pub fn success(data: &str) -> String {
    format!(r#"{{"status":"success","data":{data}}}"#)
}

/// `{"resultType":"vector","result":[{"metric":{..},"value":[t,"v"]},..]}`.
pub fn vector(samples: &[VectorSample]) -> String {
    let mut out = String::from(r#"{"resultType":"vector","result":["#);
    for (i, s) in samples.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":"#);
        metric(&mut out, &s.labels);
        out.push_str(r#","value":"#);
        point(&mut out, s.t_ms, s.value);
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// `{"resultType":"scalar","result":[t,"v"]}`.
pub fn scalar(t_ms: i64, value: f64) -> String {
    let mut out = String::from(r#"{"resultType":"scalar","result":"#);
    point(&mut out, t_ms, value);
    out.push('}');
    out
}

/// `{"resultType":"matrix","result":[{"metric":{..},"values":[[t,"v"],..]},..]}`.
pub fn matrix(series: &[MatrixSeries]) -> String {
    let mut out = String::from(r#"{"resultType":"matrix","result":["#);
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"metric":"#);
        metric(&mut out, &s.labels);
        out.push_str(r#","values":["#);
        for (j, &(t, v)) in s.points.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            point(&mut out, t, v);
        }
        out.push_str("]}");
    }
    out.push_str("]}");
    out
}

/// A label set as a JSON object, in the labels' (sorted) order.
pub fn metric(out: &mut String, labels: &Labels) {
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(out, name);
        out.push(':');
        string(out, value);
    }
    out.push('}');
}

fn point(out: &mut String, t_ms: i64, v: f64) {
    let _ = write!(out, r#"[{},"{}"]"#, format_timestamp(t_ms), format_value(v));
}

fn string(out: &mut String, s: &str) {
    // Serialising a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn vector_json_matches_prometheus() {
        let v = vec![VectorSample {
            labels: labels(&[("__name__", "x"), ("host", "a")]),
            t_ms: 1_700_000_000_123,
            value: 42.0,
        }];
        assert_eq!(
            success(&vector(&v)),
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"x","host":"a"},"value":[1700000000.123,"42"]}]}}"#
        );
        assert_eq!(vector(&[]), r#"{"resultType":"vector","result":[]}"#);
    }

    #[test]
    fn scalar_json_matches_prometheus() {
        assert_eq!(
            success(&scalar(4_000, 2.0)),
            r#"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#
        );
        assert_eq!(
            scalar(1_700_000_000_500, f64::NEG_INFINITY),
            r#"{"resultType":"scalar","result":[1700000000.500,"-Inf"]}"#
        );
    }

    #[test]
    fn matrix_json_matches_prometheus() {
        let m = vec![
            MatrixSeries {
                labels: labels(&[("__name__", "x")]),
                points: vec![(1000, 0.5), (2000, f64::NAN)],
            },
            MatrixSeries {
                labels: labels(&[("__name__", "y"), ("q", "a\"b\\c")]),
                points: vec![(1500, f64::INFINITY)],
            },
        ];
        assert_eq!(
            matrix(&m),
            r#"{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[[1,"0.5"],[2,"NaN"]]},{"metric":{"__name__":"y","q":"a\"b\\c"},"values":[[1.500,"+Inf"]]}]}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&matrix(&m)).unwrap();
        assert_eq!(parsed["result"][1]["metric"]["q"], "a\"b\\c");
    }
}
