//! Waiting on the collector's API: a CI once it is ready, a query's value
//! once it is wanted, the incidents of a rule on a CI.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::{Collector, wait_for};

/// How long the helpers wait by default.
pub const WAIT: Duration = Duration::from_secs(40);

/// `s` percent-encoded for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The CI once it exists and `ready` holds for it.
pub async fn ci_when(c: &Collector, id: &str, ready: impl Fn(&Value) -> bool) -> Result<Value> {
    wait_for(WAIT, || async {
        let Ok(body) = c.get_json(&format!("/api/v1/cis/{id}")).await else {
            return Ok(None);
        };
        Ok(ready(&body["data"]).then(|| body["data"].clone()))
    })
    .await
    .with_context(|| format!("CI {id} never became ready"))
}

/// The newest value of an instant query's first series, once there is one.
pub async fn value_of(c: &Collector, query: &str) -> Result<f64> {
    value_until(c, query, |_| true).await
}

/// Waits until an instant query's first value satisfies `want`.
pub async fn value_until(c: &Collector, query: &str, want: impl Fn(f64) -> bool) -> Result<f64> {
    let path = format!("/api/v1/query?query={}", urlencode(query));
    wait_for(WAIT, || async {
        let body = c.get_json(&path).await?;
        Ok(body["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|v| want(*v)))
    })
    .await
    .with_context(|| format!("{query} never reached the wanted value"))
}

/// The incidents of `rule` on `ci` (any status), newest first.
pub async fn incidents_of(c: &Collector, ci: &str, rule: &str) -> Result<Vec<Value>> {
    let body = c.get_json(&format!("/api/v1/incidents?ci={ci}")).await?;
    Ok(body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["rule"] == rule)
        .cloned()
        .collect())
}

/// The first incident of `rule` on `ci` for which `want` holds, waiting up to [`WAIT`].
pub async fn incident_with(
    c: &Collector,
    ci: &str,
    rule: &str,
    want: impl Fn(&Value) -> bool,
) -> Result<Value> {
    incident_within(c, ci, rule, WAIT, want).await
}

/// As [`incident_with`], waiting up to `timeout`.
pub async fn incident_within(
    c: &Collector,
    ci: &str,
    rule: &str,
    timeout: Duration,
    want: impl Fn(&Value) -> bool,
) -> Result<Value> {
    wait_for(timeout, || async {
        Ok(incidents_of(c, ci, rule).await?.into_iter().find(&want))
    })
    .await
    .with_context(|| format!("no matching {rule} incident on {ci}"))
}
