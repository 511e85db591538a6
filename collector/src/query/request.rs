//! The Prometheus HTTP API endpoints' semantics, independent of the web
//! framework: parameters in, the JSON of the response's `data` out.
//! Parameter errors use Prometheus' wording (`invalid parameter "x": ...`).

use std::collections::BTreeSet;

use super::eval::{self, Range};
use super::selector::{self, Matcher};
use super::time::{parse_duration, parse_time};
use super::{Labels, QueryError, SeriesSource, format};

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

fn selector_param(params: &Params) -> Result<Vec<Matcher>, QueryError> {
    selector::parse(params.get("query").unwrap_or("")).map_err(|e| invalid("query", e))
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
/// is accepted and ignored.
pub fn query(
    source: &dyn SeriesSource,
    params: &Params,
    now_ms: i64,
) -> Result<String, QueryError> {
    let t = time_param(params, "time", now_ms)?;
    let matchers = selector_param(params)?;
    Ok(format::vector(&eval::instant(source, &matchers, t)?))
}

/// `/api/v1/query_range`: `query`, `start`, `end`, `step`.
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
    let matchers = selector_param(params)?;
    Ok(format::matrix(&eval::range(source, &matchers, &range)?))
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
