//! The `http` check with reqwest: status, body match, time to first byte,
//! size, redirects, and for https the certificate's expiry and validity.
//!
//! Each check owns one client that never reuses a connection and never
//! resumes a TLS session, so every run measures a fresh resolve, connect and
//! handshake (as blackbox_exporter does). The client's resolver times the
//! lookup; its certificate verifier records the leaf and the verdict
//! ([`tls`](super::tls)); its redirect policy counts the redirects.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use regex::Regex;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, redirect};
use serde::Deserialize;
use tokio::time::Instant;

use super::dns;
use super::outcome::Outcome;
use super::tls::{self, CertificateSlot};

/// Most redirects a check may follow.
pub const MAX_REDIRECTS: u32 = 20;
/// Most bytes of a response body kept for `body_contains` / `body_regex`.
pub const MAX_BODY_MATCH_BYTES: usize = 1 << 20;
/// Default `max_redirects`.
const DEFAULT_MAX_REDIRECTS: u32 = 10;

/// The keys of an `http` check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheckConfig {
    /// The URL (`http://` or `https://`).
    #[serde(default)]
    pub url: String,
    /// Request method (default `GET`).
    pub method: Option<String>,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Statuses that count as success (default: any 2xx).
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// The body must contain this text.
    pub body_contains: Option<String>,
    /// The body must match this regular expression.
    pub body_regex: Option<String>,
    /// Follow redirects (default true); when false a 3xx is the response.
    pub follow_redirects: Option<bool>,
    /// Most redirects followed (default 10).
    pub max_redirects: Option<u32>,
    /// https: extra CA certificates (PEM) to trust besides the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// https: do not fail on an invalid certificate (its expiry and
    /// validity are still reported).
    #[serde(default)]
    pub tls_insecure: bool,
}

impl HttpCheckConfig {
    /// A `GET` of `url` that expects a 2xx, everything else at its default.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// Adds the problems with the kind's own keys.
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        let url = self.url.trim();
        if !url.is_empty()
            && let Err(why) = check_url(url)
        {
            p.push(format!("url: {why}"));
        }
        if let Some(n) = self.max_redirects
            && n > MAX_REDIRECTS
        {
            p.push(format!("max_redirects: at most {MAX_REDIRECTS}, got {n}"));
        }
        if let Some(m) = &self.method
            && Method::from_bytes(m.as_bytes()).is_err()
        {
            p.push(format!("method: {m:?} is not an HTTP method"));
        }
        for (name, value) in &self.headers {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                p.push(format!("headers.{name}: not a valid header name"));
            } else if HeaderValue::from_str(value).is_err() {
                p.push(format!("headers.{name}: not a valid header value"));
            }
        }
        if let Some(s) = self
            .expect_status
            .iter()
            .find(|s| !(100..=599).contains(*s))
        {
            p.push(format!("expect_status: {s} is not an HTTP status"));
        }
        if let Some(re) = &self.body_regex
            && let Err(e) = Regex::new(re)
        {
            p.push(format!("body_regex: {e}"));
        }
        if let Some(path) = &self.tls_ca_file
            && let Err(e) = tls::read_pem_certs(path)
        {
            p.push(format!("tls_ca_file: {e}"));
        }
    }
}

/// Checks an http(s) URL with a host.
fn check_url(url: &str) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("{url:?}: only http:// and https:// are supported"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host"));
    }
    // The URL is a label, a CI attribute and part of log lines.
    if parsed.password().is_some() {
        return Err(
            "must not carry a password (user:password@); send credentials with `headers`, \
             e.g. { Authorization = \"Basic …\" }"
                .to_owned(),
        );
    }
    Ok(())
}

/// Seconds per day.
const DAY: f64 = 86_400.0;

/// What the client's hooks record during one run.
#[derive(Debug, Default)]
struct Observed {
    /// Time the last lookup took (`None`: no lookup, the host is an IP).
    lookup: Mutex<Option<Duration>>,
    /// Redirects followed.
    redirects: AtomicU32,
}

/// Resolves with the system resolver and records how long it took.
struct TimedResolver(Arc<Observed>);

impl Resolve for TimedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let observed = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let r = dns::resolve(&host).await?;
            *observed
                .lookup
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = r.lookup_time;
            let addrs: Addrs = Box::new(r.addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// One HTTP check, ready to run again and again.
pub struct HttpProber {
    client: reqwest::Client,
    method: Method,
    url: reqwest::Url,
    expect_status: Vec<u16>,
    body_contains: Option<String>,
    body_regex: Option<Regex>,
    timeout: Duration,
    observed: Arc<Observed>,
    certificate: CertificateSlot,
}

impl std::fmt::Debug for HttpProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProber")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl HttpProber {
    /// Builds the client of a validated `check`; a run fails after `timeout`.
    pub fn new(check: &HttpCheckConfig, timeout: Duration) -> Result<Self, String> {
        let url = reqwest::Url::parse(check.url.trim()).map_err(|e| format!("url: {e}"))?;
        let extra_roots = match &check.tls_ca_file {
            Some(path) => tls::read_pem_certs(path)?,
            None => Vec::new(),
        };
        let (tls_config, certificate) = tls::client_config(&extra_roots, check.tls_insecure)?;
        let observed = Arc::new(Observed::default());
        let mut headers = HeaderMap::new();
        for (name, value) in &check.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("headers.{name}: {e}"))?;
            let value = HeaderValue::from_str(value).map_err(|e| format!("headers.{name}: {e}"))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config)
            .dns_resolver(Arc::new(TimedResolver(observed.clone())))
            .redirect(redirect_policy(check, observed.clone()))
            .pool_max_idle_per_host(0)
            .no_proxy()
            .timeout(timeout)
            .user_agent(concat!("tocsin-agent/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let body_regex = match &check.body_regex {
            Some(re) => Some(Regex::new(re).map_err(|e| format!("body_regex: {e}"))?),
            None => None,
        };
        let method = match &check.method {
            Some(m) => Method::from_bytes(m.as_bytes()).map_err(|e| format!("method: {e}"))?,
            None => Method::GET,
        };
        Ok(Self {
            client,
            method,
            url,
            expect_status: check.expect_status.clone(),
            body_contains: check.body_contains.clone(),
            body_regex,
            timeout,
            observed,
            certificate,
        })
    }

    /// Runs the check once.
    pub async fn run(&self) -> Outcome {
        *self
            .observed
            .lookup
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.observed.redirects.store(0, Ordering::Relaxed);
        *self
            .certificate
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let started = Instant::now();
        let sent = self
            .client
            .request(self.method.clone(), self.url.clone())
            .send()
            .await;
        let mut o = match sent {
            Ok(response) => self.read(response, started).await,
            Err(e) => {
                let bad_cert = self
                    .certificate
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .as_ref()
                    .and_then(|c| c.error.clone());
                let why = if let Some(cert) = bad_cert {
                    format!("TLS: {cert}")
                } else if e.is_timeout() {
                    format!(
                        "timed out after {}",
                        humantime::format_duration(self.timeout)
                    )
                } else {
                    describe(&e)
                };
                let mut o = Outcome::failed(started.elapsed(), why);
                o.measure("probe_http_status_code", 0.0);
                o
            }
        };
        if let Some(t) = *self
            .observed
            .lookup
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            o.measure("probe_dns_lookup_time_seconds", t.as_secs_f64());
        }
        o.measure(
            "probe_http_redirects",
            f64::from(self.observed.redirects.load(Ordering::Relaxed)),
        );
        let seen = self
            .certificate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(cert) = seen {
            o.measure("probe_tls_cert_expiry_days", days_left(cert.not_after));
            o.measure(
                "probe_tls_cert_valid",
                if cert.error.is_none() { 1.0 } else { 0.0 },
            );
            if let Some(why) = cert.error {
                // Tolerated with tls_insecure; otherwise the request failed on it already.
                tracing::debug!(url = %self.url, error = %why, "certificate not valid");
            }
        }
        o
    }

    /// Reads the response: status, time to first byte, body size and match.
    async fn read(&self, mut response: reqwest::Response, started: Instant) -> Outcome {
        let ttfb = started.elapsed();
        let status = response.status().as_u16();
        let matching = self.body_contains.is_some() || self.body_regex.is_some();
        let mut kept: Vec<u8> = Vec::new();
        let mut size: u64 = 0;
        let mut body_error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if matching && kept.len() < MAX_BODY_MATCH_BYTES {
                        let room = MAX_BODY_MATCH_BYTES - kept.len();
                        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(format!("reading the body failed: {}", describe(&e)));
                    break;
                }
            }
        }
        let mut o = Outcome::passed(started.elapsed());
        o.measure("probe_http_status_code", f64::from(status));
        o.measure("probe_http_time_to_first_byte_seconds", ttfb.as_secs_f64());
        o.measure("probe_http_response_bytes", size as f64);
        if let Some(why) = body_error {
            o.fail(why);
        }
        if !self.status_ok(status) {
            o.fail(format!(
                "HTTP status {status}, expected {}",
                self.expected()
            ));
        }
        if matching {
            let body = String::from_utf8_lossy(&kept);
            let matched = self.body_matches(&body);
            o.measure("probe_http_body_match", if matched { 1.0 } else { 0.0 });
            if !matched {
                o.fail(self.mismatch());
            }
        }
        o
    }

    fn status_ok(&self, status: u16) -> bool {
        if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        }
    }

    fn expected(&self) -> String {
        if self.expect_status.is_empty() {
            "2xx".to_owned()
        } else {
            let list: Vec<String> = self.expect_status.iter().map(u16::to_string).collect();
            list.join(" or ")
        }
    }

    fn body_matches(&self, body: &str) -> bool {
        self.body_contains
            .as_deref()
            .is_none_or(|t| body.contains(t))
            && self.body_regex.as_ref().is_none_or(|re| re.is_match(body))
    }

    fn mismatch(&self) -> String {
        match (&self.body_contains, &self.body_regex) {
            (Some(t), None) => format!("body does not contain {t:?}"),
            (None, Some(re)) => format!("body does not match /{re}/"),
            (Some(t), Some(re)) => format!("body does not contain {t:?} and match /{re}/"),
            (None, None) => String::new(),
        }
    }
}

/// Follows up to `max_redirects` (or none), counting them.
fn redirect_policy(check: &HttpCheckConfig, observed: Arc<Observed>) -> redirect::Policy {
    if check.follow_redirects == Some(false) {
        return redirect::Policy::none();
    }
    let max = check.max_redirects.unwrap_or(DEFAULT_MAX_REDIRECTS) as usize;
    let guard_headers = !check.headers.is_empty();
    redirect::Policy::custom(move |attempt| {
        let followed = attempt.previous().len();
        if followed > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        // Custom headers often carry tokens: they go to the configured
        // origin only, never to another host or over a downgrade to http.
        if guard_headers && let Some(refused) = leaves_origin(attempt.previous(), attempt.url()) {
            return attempt.error(refused);
        }
        observed.redirects.store(
            u32::try_from(followed).unwrap_or(u32::MAX),
            Ordering::Relaxed,
        );
        attempt.follow()
    })
}

/// Why a redirect to `next` must not be followed with the check's custom
/// headers (another host than the first request's, or https → http).
fn leaves_origin(previous: &[reqwest::Url], next: &reqwest::Url) -> Option<String> {
    let first = previous.first()?;
    let downgrade = first.scheme() == "https" && next.scheme() != "https";
    if next.host_str() == first.host_str() && !downgrade {
        return None;
    }
    Some(format!(
        "redirect to {}://{} not followed: the check's custom headers are only sent to {}://{}",
        next.scheme(),
        next.host_str().unwrap_or(""),
        first.scheme(),
        first.host_str().unwrap_or("")
    ))
}

/// Days from now until `not_after` (negative once expired).
fn days_left(not_after: i64) -> f64 {
    let now = crate::clock::now_secs_f64();
    (not_after as f64 - now) / DAY
}

/// A request error with its causes, the way an operator wants to read it
/// ("… connection refused", "… invalid peer certificate: …").
fn describe(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
