//! HTTP client of the collector's JSON API, turning transport and API
//! failures into one-line messages.

use std::io::ErrorKind;
use std::time::Duration;

use reqwest::{Client as Http, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;

/// What can go wrong talking to the collector.
#[derive(Debug, Error)]
pub enum CliError {
    /// The collector could not be reached (refused, DNS, timeout...).
    #[error("cannot reach collector at {url}: {reason}")]
    Unreachable {
        /// Base URL as given.
        url: String,
        /// Root cause, e.g. `connection refused`.
        reason: String,
    },
    /// The API answered with an error status.
    #[error("{message}")]
    Api {
        /// HTTP status code.
        status: u16,
        /// The API's error message, or a description of the status.
        message: String,
    },
    /// Anything else: bad arguments, unexpected responses.
    #[error("{0}")]
    Other(String),
}

/// A successful API answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The parsed body.
    pub json: Value,
    /// The body as sent (for `--json`, which keeps the server's formatting).
    pub text: String,
}

impl Reply {
    /// The `data` member of the answer as the typed body `T` from
    /// `tocsin-api-types`; a body of another shape is an error naming the
    /// mismatch, never a silent default.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, CliError> {
        let data = self.json.get("data").cloned().unwrap_or(Value::Null);
        serde_json::from_value(data).map_err(|e| {
            CliError::Other(format!(
                "the collector sent an answer this tocsinctl does not understand: {e}"
            ))
        })
    }
}

/// A client for one collector.
#[derive(Debug, Clone)]
pub struct Client {
    base: Url,
    shown: String,
    http: Http,
}

impl Client {
    /// A client for the collector at `base` (e.g. `http://127.0.0.1:7080`).
    pub fn new(base: &str) -> Result<Self, CliError> {
        let url = Url::parse(base)
            .map_err(|e| CliError::Other(format!("invalid collector URL {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(CliError::Other(format!(
                "invalid collector URL {base:?}: expected http://host:port"
            )));
        }
        let http = Http::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("tocsinctl/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Other(format!("cannot create HTTP client: {e}")))?;
        Ok(Self {
            base: url,
            shown: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The URL of an API path given as segments (each percent-encoded), with
    /// query parameters.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// GETs `segments` with `query` and returns the JSON body of a
    /// successful response.
    pub async fn get(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Reply, CliError> {
        self.send(self.http.get(self.url(segments, query))).await
    }

    /// GETs `segments` with `query` and returns the answer's `data` as `T`.
    pub async fn get_typed<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, CliError> {
        self.get(segments, query).await?.data()
    }

    /// POSTs the typed request body `body` to `segments`.
    pub async fn post_json<B: Serialize>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<Reply, CliError> {
        self.send(self.http.post(self.url(segments, &[])).json(body))
            .await
    }

    /// POSTs `body` (as JSON; no body when `None`) to `segments`.
    pub async fn post(&self, segments: &[&str], body: Option<&Value>) -> Result<Reply, CliError> {
        let req = self.http.post(self.url(segments, &[]));
        self.send(match body {
            Some(b) => req.json(b),
            None => req,
        })
        .await
    }

    /// DELETEs `segments`.
    pub async fn delete(&self, segments: &[&str]) -> Result<Reply, CliError> {
        self.send(self.http.delete(self.url(segments, &[]))).await
    }

    /// Sends a request and returns the JSON body of a successful response.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Reply, CliError> {
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| self.unreachable(&e))?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        if !status.is_success() {
            return Err(CliError::Api {
                status: status.as_u16(),
                message: error_message(status, json.as_ref(), &body),
            });
        }
        let json = json.ok_or_else(|| {
            CliError::Other(format!(
                "the collector at {} sent a response that is not JSON",
                self.shown
            ))
        })?;
        Ok(Reply {
            json,
            text: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn unreachable(&self, e: &reqwest::Error) -> CliError {
        CliError::Unreachable {
            url: self.shown.clone(),
            reason: root_cause(e),
        }
    }
}

/// The message of an error body: Tocsin's `{"error":{"message":..}}`,
/// Prometheus' `{"error":".."}`, or a short plain-text body (axum's
/// rejections); else the status.
fn error_message(status: reqwest::StatusCode, json: Option<&Value>, raw: &[u8]) -> String {
    let from_json = json.and_then(|b| match &b["error"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_string),
        _ => None,
    });
    let text = || {
        let t = std::str::from_utf8(raw).ok()?.trim();
        let one_line = !t.is_empty() && t.len() <= 300 && !t.contains('\n');
        (json.is_none() && one_line).then(|| t.to_string())
    };
    from_json
        .or_else(text)
        .unwrap_or_else(|| format!("the collector answered HTTP {status}"))
}

/// A short reason from the innermost error: `connection refused`, ...
fn root_cause(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut inner: &dyn std::error::Error = e;
    let mut io = None;
    while let Some(next) = inner.source() {
        if let Some(err) = next.downcast_ref::<std::io::Error>() {
            io = Some(err);
        }
        inner = next;
    }
    match io.map(|e| (e.kind(), e)) {
        Some((ErrorKind::ConnectionRefused, _)) => "connection refused".into(),
        Some((ErrorKind::ConnectionReset, _)) => "connection reset".into(),
        Some((ErrorKind::TimedOut, _)) => "timed out".into(),
        Some((_, err)) => strip_os_error(&err.to_string()),
        None => strip_os_error(&inner.to_string()),
    }
}

/// `Connection refused (os error 111)` → `Connection refused`.
fn strip_os_error(s: &str) -> String {
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn urls_are_built_from_segments() {
        let c = Client::new("http://127.0.0.1:7080").unwrap();
        assert_eq!(
            c.url(&["api", "v1", "cis"], &[]).as_str(),
            "http://127.0.0.1:7080/api/v1/cis"
        );
        assert_eq!(
            c.url(&["api", "v1", "cis", "a/b c"], &[]).as_str(),
            "http://127.0.0.1:7080/api/v1/cis/a%2Fb%20c"
        );
        let q = c.url(
            &["api", "v1", "query"],
            &[("query", r#"up{job="x"}"#), ("time", "1.5")],
        );
        assert_eq!(
            q.as_str(),
            "http://127.0.0.1:7080/api/v1/query?query=up%7Bjob%3D%22x%22%7D&time=1.5"
        );
        let prefixed = Client::new("https://mon.example/tocsin/").unwrap();
        assert_eq!(
            prefixed.url(&["api"], &[]).as_str(),
            "https://mon.example/tocsin/api"
        );
    }

    #[test]
    fn bad_base_urls_are_rejected() {
        assert!(Client::new("127.0.0.1:7080").is_err());
        assert!(Client::new("ftp://x").is_err());
        assert!(
            Client::new("not a url")
                .unwrap_err()
                .to_string()
                .starts_with("invalid collector URL")
        );
    }

    #[test]
    fn error_messages_from_both_api_styles() {
        let s = reqwest::StatusCode::NOT_FOUND;
        let tocsin = json!({"error": {"code": "not_found", "message": "no CI with id X"}});
        assert_eq!(error_message(s, Some(&tocsin), b""), "no CI with id X");
        let prom = json!({"status": "error", "errorType": "bad_data", "error": "bad query"});
        assert_eq!(error_message(s, Some(&prom), b""), "bad query");
        assert_eq!(
            error_message(s, None, b""),
            "the collector answered HTTP 404 Not Found"
        );
        assert_eq!(
            error_message(s, None, b"Invalid URL: bad id\n"),
            "Invalid URL: bad id"
        );
        assert_eq!(
            error_message(s, None, b"<html>\n<body>x</body>\n</html>"),
            "the collector answered HTTP 404 Not Found"
        );
        assert_eq!(
            strip_os_error("Connection refused (os error 111)"),
            "Connection refused"
        );
    }

    #[tokio::test]
    async fn refused_connection_is_one_line() {
        // Bind then drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let c = Client::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let err = c.get(&["api", "v1", "cis"], &[]).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot reach collector at http://127.0.0.1:{port}: connection refused")
        );
    }
}
