//! The Prometheus HTTP API endpoints' semantics, independent of the web
//! framework: parameters in, the JSON of the response's `data` out.
//! Parameter errors use Prometheus' wording (`invalid parameter "x": ...`).

use std::collections::BTreeSet;

use super::eval::{self, Range};
use super::expr::{self, Expr, Plan};
use super::selector::{self, Matcher};
use super::{Labels, QueryError, SeriesSource, format};
use tocsin_model::prom_time::{parse_duration, parse_time};

/// Request parameters from a query string and/or a form body, in order;
/// names may repeat (`match[]`).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` parts. As in Go's
    /// `Request.FormValue`, pass the body before the query string so that
    /// body values win.
    pub fn parse(parts: &[&[u8]]) -> Self {
        Self(
            parts
                .iter()
                .flat_map(|p| form_urlencoded::parse(p).into_owned())
                .collect(),
        )
    }

    /// First non-empty value of a parameter (Go treats empty as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter, in order.
    pub fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

fn invalid(param: &str, err: impl std::fmt::Display) -> QueryError {
    QueryError::BadData(format!("invalid parameter {param:?}: {err}"))
}

fn time_param(params: &Params, name: &str, default: i64) -> Result<i64, QueryError> {
    params
        .get(name)
        .map_or(Ok(default), |s| parse_time(s).map_err(|e| invalid(name, e)))
}

fn expr_param(params: &Params) -> Result<Expr, QueryError> {
    expr::parse(params.get("query").unwrap_or("")).map_err(|e| invalid("query", e))
}

/// Checks that the parsed query is one Tocsin evaluates (see [`Expr::plan`]).
fn plan(expr: &Expr) -> Result<Plan<'_>, QueryError> {
    expr.plan().map_err(|e| invalid("query", e))
}

/// `match[]` selectors; `None` when there are none.
fn match_params(params: &Params) -> Result<Option<Vec<Vec<Matcher>>>, QueryError> {
    let sets = params
        .all("match[]")
        .map(selector::parse)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((!sets.is_empty()).then_some(sets))
}

/// Series matching any of the selector sets, deduplicated, sorted by labels.
fn select_union(
    source: &dyn SeriesSource,
    sets: &[Vec<Matcher>],
) -> Result<Vec<(u64, Labels)>, QueryError> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for set in sets {
        for (id, labels) in source.select(set)? {
            if seen.insert(id) {
                out.push((id, labels));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// `/api/v1/query`: `query`, optional `time` (default `now_ms`); `timeout`
/// is accepted and ignored. A selector gives a `vector`, scalar arithmetic
/// a `scalar` (`1+1`, Grafana's health check).
pub fn query(
    source: &dyn SeriesSource,
    params: &Params,
    now_ms: i64,
) -> Result<String, QueryError> {
    let t = time_param(params, "time", now_ms)?;
    let expr = expr_param(params)?;
    Ok(match plan(&expr)? {
        Plan::Vector(matchers) => format::vector(&eval::instant(source, matchers, t)?),
        Plan::Scalar(v) => format::scalar(t, v),
    })
}

/// `/api/v1/query_range`: `query`, `start`, `end`, `step`. Always a
/// `matrix`; a scalar is one unlabelled series with a point per step.
pub fn query_range(source: &dyn SeriesSource, params: &Params) -> Result<String, QueryError> {
    let param = |name| params.get(name).unwrap_or("");
    let start = parse_time(param("start")).map_err(|e| invalid("start", e))?;
    let end = parse_time(param("end")).map_err(|e| invalid("end", e))?;
    if end < start {
        return Err(invalid(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    let step = parse_duration(param("step")).map_err(|e| invalid("step", e))?;
    let range = Range::new(start, end, step)?;
    let expr = expr_param(params)?;
    let series = match plan(&expr)? {
        Plan::Vector(matchers) => eval::range(source, matchers, &range)?,
        Plan::Scalar(v) => eval::scalar_range(v, &range),
    };
    Ok(format::matrix(&series))
}

/// `/api/v1/query_exemplars`: `query`, optional `start` and `end`. Tocsin
/// keeps no exemplars, so a valid request gets `[]`, as from a Prometheus
/// without exemplar storage; Grafana asks when exemplars are toggled on.
pub fn query_exemplars(params: &Params) -> Result<String, QueryError> {
    let start = time_param(params, "start", i64::MIN)?;
    let end = time_param(params, "end", i64::MAX)?;
    if end < start {
        return Err(invalid(
            "end",
            "end timestamp must not be before start time",
        ));
    }
    expr_param(params)?;
    Ok("[]".into())
}

/// `/api/v1/format_query`: the query printed back in canonical PromQL form
/// (a JSON string), for Grafana's "Format query" button. Any syntactically
/// valid query is formatted, evaluable by Tocsin or not.
pub fn format_query(params: &Params) -> Result<String, QueryError> {
    let expr = expr_param(params)?;
    Ok(serde_json::Value::String(expr.to_string()).to_string())
}

/// `/api/v1/series`: `match[]` (required, repeatable), optional `start` and
/// `end`. When a time is given, only series with samples in `[start, end]`
/// are listed (Prometheus is block-granular here; Tocsin is exact).
pub fn series(source: &dyn SeriesSource, params: &Params) -> Result<String, QueryError> {
    let Some(sets) = match_params(params)? else {
        return Err(QueryError::BadData("no match[] parameter provided".into()));
    };
    let bounded = params.get("start").is_some() || params.get("end").is_some();
    let start = time_param(params, "start", i64::MIN)?;
    let end = time_param(params, "end", i64::MAX)?;
    let mut out = String::from("[");
    for (id, labels) in select_union(source, &sets)? {
        if bounded && source.samples(id, start, end)?.is_empty() {
            continue;
        }
        if out.len() > 1 {
            out.push(',');
        }
        format::metric(&mut out, &labels);
    }
    out.push(']');
    Ok(out)
}

/// `/api/v1/labels`: all label names, or those of the series matching the
/// optional `match[]` selectors. `start`/`end` are not used for filtering.
pub fn labels(source: &dyn SeriesSource, params: &Params) -> Result<String, QueryError> {
    let names: Vec<String> = match match_params(params)? {
        None => source.label_names()?,
        Some(sets) => {
            let names: BTreeSet<String> = select_union(source, &sets)?
                .into_iter()
                .flat_map(|(_, l)| l.into_iter().map(|(n, _)| n))
                .collect();
            names.into_iter().collect()
        }
    };
    Ok(json_strings(&names))
}

/// `/api/v1/label/{name}/values`: all values of a label, or those among the
/// series matching the optional `match[]` selectors.
pub fn label_values(
    source: &dyn SeriesSource,
    name: &str,
    params: &Params,
) -> Result<String, QueryError> {
    if !valid_label_name(name) {
        return Err(QueryError::BadData(format!("invalid label name: {name:?}")));
    }
    let values: Vec<String> = match match_params(params)? {
        None => source.label_values(name)?,
        Some(sets) => {
            let values: BTreeSet<String> = select_union(source, &sets)?
                .into_iter()
                .filter_map(|(_, l)| l.into_iter().find(|(n, _)| n == name).map(|(_, v)| v))
                .collect();
            values.into_iter().collect()
        }
    };
    Ok(json_strings(&values))
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, Prometheus' classic label name.
pub fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn json_strings(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_keep_order_repeats_and_body_precedence() {
        let p = Params::parse(&[
            b"query=up&match%5B%5D=a",
            b"query=down&match[]=b%7Bx%3D%22y%22%7D&time=",
        ]);
        assert_eq!(p.get("query"), Some("up"));
        assert_eq!(
            p.all("match[]").collect::<Vec<_>>(),
            vec!["a", "b{x=\"y\"}"]
        );
        assert_eq!(p.get("time"), None, "empty counts as absent");
        assert_eq!(Params::parse(&[b"q=a+b%20c"]).get("q"), Some("a b c"));
    }

    fn params(form: &str) -> Params {
        Params::parse(&[form.as_bytes()])
    }

    const T0: i64 = 1_700_000_000_000;

    fn source() -> crate::mem::MemSource {
        let mut s = crate::mem::MemSource::default();
        s.add(&[("__name__", "metric"), ("host", "a")], &[(T0, 5.0)]);
        s
    }

    #[test]
    fn instant_scalar_query() {
        let got = query(&source(), &params("query=1%2B1&time=4"), T0).unwrap();
        assert_eq!(got, r#"{"resultType":"scalar","result":[4,"2"]}"#);
        // Without `time`, evaluated now.
        let got = query(&source(), &params("query=-2^2"), T0).unwrap();
        assert_eq!(got, r#"{"resultType":"scalar","result":[1700000000,"-4"]}"#);
        // Selectors still give vectors, also in parentheses.
        let got = query(&source(), &params("query=(metric)&time=1700000000"), 0).unwrap();
        assert!(
            got.starts_with(r#"{"resultType":"vector","result":[{"metric":{"__name__":"metric""#)
        );
    }

    #[test]
    fn range_scalar_query() {
        let p = params("query=1%2B1&start=1700000000&end=1700000030&step=15");
        assert_eq!(
            query_range(&source(), &p).unwrap(),
            r#"{"resultType":"matrix","result":[{"metric":{},"values":[[1700000000,"2"],[1700000015,"2"],[1700000030,"2"]]}]}"#
        );
    }

    #[test]
    fn arithmetic_on_selectors_is_bad_data() {
        for form in [
            "query=metric%20%2B%201&time=1",
            "query=metric%20%2B%201&start=0&end=10&step=1",
        ] {
            let p = params(form);
            let err = if form.contains("step") {
                query_range(&source(), &p)
            } else {
                query(&source(), &p, T0)
            };
            let Err(QueryError::BadData(msg)) = err else {
                panic!("{form}: {err:?}");
            };
            assert!(
                msg.starts_with(
                    r#"invalid parameter "query": 1:8: operator "+" on a vector selector is not supported; only instant vector selectors"#
                ),
                "{msg}"
            );
        }
    }

    #[test]
    fn exemplars_are_empty() {
        let ok = |form: &str| query_exemplars(&params(form));
        assert_eq!(ok("query=up&start=1&end=2").unwrap(), "[]");
        assert_eq!(ok("query=up%20%2B%201").unwrap(), "[]");
        assert!(ok("query=up&start=2&end=1").is_err());
        assert!(ok("query=rate(up%5B5m%5D)").is_err());
        assert!(ok("").is_err());
    }

    #[test]
    fn format_query_prints_promql() {
        let f = |form: &str| format_query(&params(form));
        assert_eq!(f("query=1%2B1").unwrap(), r#""1 + 1""#);
        assert_eq!(
            f("query=up%7Bb%3D%22x%22%2Ca%3D%22y%22%7D%2B%20%201").unwrap(),
            r#""up{a=\"y\",b=\"x\"} + 1""#
        );
        assert!(
            f("query=1%2B").unwrap_err().to_string().starts_with(
                "invalid parameter \"query\": 1:3: parse error: unexpected end of input"
            )
        );
    }

    #[test]
    fn label_name_validation() {
        for ok in ["job", "_x", "__name__", "A9_"] {
            assert!(valid_label_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a.b", "é"] {
            assert!(!valid_label_name(bad), "{bad}");
        }
    }
}
