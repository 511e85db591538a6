//! One service check as configured (a `[[check]]` entry): what to probe,
//! how often, what counts as success, and optionally the service CI it
//! belongs to. Validation names every problem by its key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::snmp::config::check_device_id;

/// Shortest accepted check interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Most ICMP echo requests per check.
pub const MAX_PROBES: u32 = 20;
/// Most redirects a check may follow.
pub const MAX_REDIRECTS: u32 = 20;
/// Most bytes of a response body kept for `body_contains` / `body_regex`.
pub const MAX_BODY_MATCH_BYTES: usize = 1 << 20;
/// Longest display name, description or `runs_on` accepted.
pub const MAX_TEXT_LEN: usize = 256;
/// CI criticalities the collector accepts.
pub const CRITICALITIES: &[&str] = &["low", "medium", "high", "critical"];

/// What a check probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// ICMP echo (`host`): round-trip times and loss.
    Icmp,
    /// TCP connect (`address` = host:port).
    Tcp,
    /// HTTP(S) request (`url`).
    Http,
    /// Name resolution (`host`).
    Dns,
}

impl CheckKind {
    /// The kind as written in configuration and in the `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Icmp => "icmp",
            Self::Tcp => "tcp",
            Self::Http => "http",
            Self::Dns => "dns",
        }
    }

    /// Response time above which a check of this kind is slow, unless set.
    pub fn default_slow_after(self) -> Duration {
        match self {
            Self::Icmp => Duration::from_millis(500),
            Self::Tcp | Self::Dns => Duration::from_secs(1),
            Self::Http => Duration::from_secs(2),
        }
    }
}

/// CI class of a checked service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceClass {
    /// An application (a web shop, an ERP front end…).
    #[default]
    Application,
    /// A technical service (DNS, LDAP, a database listener…).
    Service,
}

impl ServiceClass {
    /// The CI class name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Application => "application",
            Self::Service => "service",
        }
    }
}

/// `[check.ci]`: the service CI a check's results belong to. Checks naming
/// the same `id` share one CI; what they declare must agree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CiDeclaration {
    /// CI id, 1-128 characters of `[A-Za-z0-9._:-]`; default: the check's name.
    pub id: Option<String>,
    /// `application` (default) or `service`.
    #[serde(default)]
    pub class: Option<ServiceClass>,
    /// Display name; default: the id.
    pub name: Option<String>,
    /// Owner or department responsible for the service.
    pub owner: Option<String>,
    /// Where the service runs (data centre, room).
    pub location: Option<String>,
    /// `low`, `medium`, `high` or `critical`; a failing check of a critical
    /// service opens a `major` incident.
    pub criticality: Option<String>,
    /// What the service is, for people.
    pub description: Option<String>,
    /// The host the service runs on: a CI id or a host's hostname/FQDN.
    /// Becomes a `runs_on` relation, so the host's incident absorbs the service's.
    pub runs_on: Option<String>,
}

/// One service check (a `[[check]]` entry of the agent's config).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    /// Unique name, 1-128 characters of `[A-Za-z0-9._:-]`: the `check` label.
    pub name: String,
    /// `icmp`, `tcp`, `http` or `dns`.
    pub kind: CheckKind,
    /// icmp, dns: host name or IP address.
    pub host: Option<String>,
    /// tcp: `host:port` (`[v6]:port` for IPv6 literals).
    pub address: Option<String>,
    /// http: the URL (`http://` or `https://`).
    pub url: Option<String>,
    /// How often the check runs.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// How long one run may take before it fails as timed out.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Response time above which the check counts as slow (`0s` = never);
    /// default 500ms for icmp (average round trip), 1s for tcp and dns, 2s for http.
    #[serde(default, with = "humantime_serde")]
    pub slow_after: Option<Duration>,
    /// Labels added to the check's series, e.g. `{ service = "shop", owner = "team-web" }`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// icmp: echo requests per run (default 3).
    pub probes: Option<u32>,
    /// http: request method (default `GET`).
    pub method: Option<String>,
    /// http: request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// http: statuses that count as success (default: any 2xx).
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// http: the body must contain this text.
    pub body_contains: Option<String>,
    /// http: the body must match this regular expression.
    pub body_regex: Option<String>,
    /// http: follow redirects (default true); when false a 3xx is the response.
    pub follow_redirects: Option<bool>,
    /// http: most redirects followed (default 10).
    pub max_redirects: Option<u32>,
    /// https: extra CA certificates (PEM) to trust besides the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// https: do not fail on an invalid certificate (its expiry and
    /// validity are still reported).
    #[serde(default)]
    pub tls_insecure: bool,
    /// dns: addresses the name must resolve to (all of them, any order).
    #[serde(default)]
    pub expect_addresses: Vec<String>,
    /// The service CI the results belong to; absent = the agent's host CI.
    pub ci: Option<CiDeclaration>,
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl CheckConfig {
    /// A check with defaults for everything but its name and kind (tests, benches).
    pub fn new(name: &str, kind: CheckKind) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            host: None,
            address: None,
            url: None,
            interval: default_interval(),
            timeout: default_timeout(),
            slow_after: None,
            labels: BTreeMap::new(),
            probes: None,
            method: None,
            headers: BTreeMap::new(),
            expect_status: Vec::new(),
            body_contains: None,
            body_regex: None,
            follow_redirects: None,
            max_redirects: None,
            tls_ca_file: None,
            tls_insecure: false,
            expect_addresses: Vec::new(),
            ci: None,
        }
    }

    /// What the check probes, as shown in the `target` label: the URL,
    /// `host:port` or host.
    pub fn target(&self) -> &str {
        let t = match self.kind {
            CheckKind::Http => &self.url,
            CheckKind::Tcp => &self.address,
            CheckKind::Icmp | CheckKind::Dns => &self.host,
        };
        t.as_deref().map_or("", str::trim)
    }

    /// The response time above which the check is slow; `None` = never.
    pub fn slow_after(&self) -> Option<Duration> {
        let d = self.slow_after.unwrap_or(self.kind.default_slow_after());
        (!d.is_zero()).then_some(d)
    }

    /// The id of the service CI, if the check declares one.
    pub fn ci_id(&self) -> Option<&str> {
        self.ci
            .as_ref()
            .map(|ci| ci.id.as_deref().unwrap_or(&self.name))
    }

    /// ICMP echo requests per run.
    pub fn probes(&self) -> u32 {
        self.probes.unwrap_or(3)
    }

    /// Every problem with this check, each as `key: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(why) = check_device_id(&self.name) {
            p.push(format!("name: {why}"));
        }
        self.target_problems(&mut p);
        self.kind_only_problems(&mut p);
        crate::config::timing_problems(self.interval, self.timeout, MIN_INTERVAL, &mut p);
        if self.labels.len() > crate::config::MAX_EXTRA_LABELS {
            p.push(format!(
                "labels: at most {} labels, got {}",
                crate::config::MAX_EXTRA_LABELS,
                self.labels.len()
            ));
        }
        if self.target().len() > crate::config::MAX_LABEL_VALUE_BYTES {
            p.push(format!(
                "{}: longer than {} bytes (it is the `target` label)",
                self.target_key(),
                crate::config::MAX_LABEL_VALUE_BYTES
            ));
        }
        for (name, value) in &self.labels {
            if let Err(why) = crate::config::check_label(name, value) {
                p.push(format!("labels.{name}: {why}"));
            } else if ["check", "kind", "target"].contains(&name.as_str()) {
                p.push(format!(
                    "labels.{name}: {name:?} is set by the check itself; choose another name"
                ));
            }
        }
        if let Some(n) = self.probes
            && !(1..=MAX_PROBES).contains(&n)
        {
            p.push(format!(
                "probes: must be between 1 and {MAX_PROBES}, got {n}"
            ));
        }
        if let Some(n) = self.max_redirects
            && n > MAX_REDIRECTS
        {
            p.push(format!("max_redirects: at most {MAX_REDIRECTS}, got {n}"));
        }
        if let Some(m) = &self.method
            && reqwest::Method::from_bytes(m.as_bytes()).is_err()
        {
            p.push(format!("method: {m:?} is not an HTTP method"));
        }
        for (name, value) in &self.headers {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                p.push(format!("headers.{name}: not a valid header name"));
            } else if reqwest::header::HeaderValue::from_str(value).is_err() {
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
            && let Err(e) = regex::Regex::new(re)
        {
            p.push(format!("body_regex: {e}"));
        }
        if let Some(path) = &self.tls_ca_file
            && let Err(e) = super::tls::read_pem_certs(path)
        {
            p.push(format!("tls_ca_file: {e}"));
        }
        for a in &self.expect_addresses {
            if a.trim().parse::<std::net::IpAddr>().is_err() {
                p.push(format!("expect_addresses: {a:?} is not an IP address"));
            }
        }
        if let Some(ci) = &self.ci {
            p.extend(ci.validate().into_iter().map(|x| format!("ci.{x}")));
        }
        p
    }

    /// The key naming the check's target.
    fn target_key(&self) -> &'static str {
        match self.kind {
            CheckKind::Http => "url",
            CheckKind::Tcp => "address",
            CheckKind::Icmp | CheckKind::Dns => "host",
        }
    }

    fn target_problems(&self, p: &mut Vec<String>) {
        let key = self.target_key();
        let value = match self.kind {
            CheckKind::Http => &self.url,
            CheckKind::Tcp => &self.address,
            CheckKind::Icmp | CheckKind::Dns => &self.host,
        };
        let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
            p.push(format!("{key}: required for kind {}", self.kind.as_str()));
            return;
        };
        let problem = match self.kind {
            CheckKind::Http => check_url(value).err(),
            CheckKind::Tcp => super::tcp::split_address(value).err(),
            CheckKind::Icmp | CheckKind::Dns => None,
        };
        if let Some(why) = problem {
            p.push(format!("{key}: {why}"));
        }
    }

    /// Keys set that the check's kind does not use.
    fn kind_only_problems(&self, p: &mut Vec<String>) {
        use CheckKind::{Dns, Http, Icmp, Tcp};
        let keys: [(&str, bool, &[CheckKind]); 14] = [
            ("host", self.host.is_some(), &[Icmp, Dns]),
            ("address", self.address.is_some(), &[Tcp]),
            ("url", self.url.is_some(), &[Http]),
            ("probes", self.probes.is_some(), &[Icmp]),
            ("method", self.method.is_some(), &[Http]),
            ("headers", !self.headers.is_empty(), &[Http]),
            ("expect_status", !self.expect_status.is_empty(), &[Http]),
            ("body_contains", self.body_contains.is_some(), &[Http]),
            ("body_regex", self.body_regex.is_some(), &[Http]),
            ("follow_redirects", self.follow_redirects.is_some(), &[Http]),
            ("max_redirects", self.max_redirects.is_some(), &[Http]),
            ("tls_ca_file", self.tls_ca_file.is_some(), &[Http]),
            ("tls_insecure", self.tls_insecure, &[Http]),
            (
                "expect_addresses",
                !self.expect_addresses.is_empty(),
                &[Dns],
            ),
        ];
        for (key, set, kinds) in keys {
            if set && !kinds.contains(&self.kind) {
                p.push(format!(
                    "{key}: not used by kind {} (only by {})",
                    self.kind.as_str(),
                    kinds
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
}

impl CiDeclaration {
    /// Every problem with the declaration, each as `key: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(id) = &self.id
            && let Err(why) = check_device_id(id)
        {
            p.push(format!("id: {why}"));
        }
        let texts = [
            ("name", &self.name),
            ("owner", &self.owner),
            ("location", &self.location),
            ("description", &self.description),
            ("runs_on", &self.runs_on),
        ];
        for (key, value) in texts {
            if let Some(v) = value
                && (v.trim().is_empty() || v.len() > MAX_TEXT_LEN)
            {
                p.push(format!(
                    "{key}: must be 1 to {MAX_TEXT_LEN} bytes, not blank"
                ));
            }
        }
        if let Some(c) = &self.criticality
            && !CRITICALITIES.contains(&c.as_str())
        {
            p.push(format!(
                "criticality: must be one of {}, got {c:?}",
                CRITICALITIES.join(", ")
            ));
        }
        p
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

/// Problems of the `[[check]]` entries, each prefixed `check[i].`: those of
/// each check, names used twice, CI ids that clash with a device, and
/// checks sharing a CI that declare it differently.
pub fn checks_problems(checks: &[CheckConfig], device_ids: &[String], p: &mut Vec<String>) {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut cis: BTreeMap<&str, (usize, &CiDeclaration)> = BTreeMap::new();
    for (i, c) in checks.iter().enumerate() {
        p.extend(c.validate().into_iter().map(|x| format!("check[{i}].{x}")));
        if let Some(first) = names.insert(&c.name, i) {
            p.push(format!(
                "check[{i}].name: {:?} is already used by check[{first}]",
                c.name
            ));
        }
        let (Some(id), Some(decl)) = (c.ci_id(), &c.ci) else {
            continue;
        };
        if device_ids.iter().any(|d| d == id) {
            p.push(format!(
                "check[{i}].ci.id: {id:?} is the id of an [[snmp]] device; give the service its own id"
            ));
        }
        match cis.get(id) {
            None => {
                cis.insert(id, (i, decl));
            }
            Some((first, other)) => {
                if let Some(key) = conflict(other, decl) {
                    p.push(format!(
                        "check[{i}].ci.{key}: differs from check[{first}], which declares the same CI {id:?}"
                    ));
                }
            }
        }
    }
}

/// The first key two declarations of one CI set to different values.
fn conflict(a: &CiDeclaration, b: &CiDeclaration) -> Option<&'static str> {
    let differ =
        |x: &Option<String>, y: &Option<String>| matches!((x, y), (Some(x), Some(y)) if x != y);
    if matches!((a.class, b.class), (Some(x), Some(y)) if x != y) {
        return Some("class");
    }
    [
        ("name", &a.name, &b.name),
        ("owner", &a.owner, &b.owner),
        ("location", &a.location, &b.location),
        ("criticality", &a.criticality, &b.criticality),
        ("description", &a.description, &b.description),
        ("runs_on", &a.runs_on, &b.runs_on),
    ]
    .into_iter()
    .find(|(_, x, y)| differ(x, y))
    .map(|(key, _, _)| key)
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
