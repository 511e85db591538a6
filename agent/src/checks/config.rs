//! One service check as configured (a `[[check]]` entry): what to probe,
//! how often, what counts as success, and optionally the service CI it
//! belongs to. Validation names every problem by its key.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::dns::DnsCheckConfig;
use super::http::HttpCheckConfig;
use super::icmp::IcmpCheckConfig;
use super::tcp::TcpCheckConfig;

use crate::validate::{
    MAX_EXTRA_LABELS, MAX_LABEL_VALUE_BYTES, check_ci_id, check_label, field_names,
    timing_problems, unknown_keys_message,
};

/// Shortest accepted check interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
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

/// What a check probes, and how: one config struct per kind, each owned by
/// the module that runs that kind of probe.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeConfig {
    /// `kind = "icmp"`.
    Icmp(IcmpCheckConfig),
    /// `kind = "tcp"`.
    Tcp(TcpCheckConfig),
    /// `kind = "http"`.
    Http(HttpCheckConfig),
    /// `kind = "dns"`.
    Dns(DnsCheckConfig),
}

impl ProbeConfig {
    /// The kind of probe.
    pub fn kind(&self) -> CheckKind {
        match self {
            Self::Icmp(_) => CheckKind::Icmp,
            Self::Tcp(_) => CheckKind::Tcp,
            Self::Http(_) => CheckKind::Http,
            Self::Dns(_) => CheckKind::Dns,
        }
    }

    /// What is probed, as written (untrimmed): the URL, `host:port` or host.
    fn raw_target(&self) -> &str {
        match self {
            Self::Icmp(c) => &c.host,
            Self::Tcp(c) => &c.address,
            Self::Http(c) => &c.url,
            Self::Dns(c) => &c.host,
        }
    }

    /// The key naming the target.
    pub fn target_key(&self) -> &'static str {
        match self {
            Self::Http(_) => "url",
            Self::Tcp(_) => "address",
            Self::Icmp(_) | Self::Dns(_) => "host",
        }
    }

    /// Every problem with the kind's own keys, each as `key: what is wrong`.
    fn validate(&self, p: &mut Vec<String>) {
        let key = self.target_key();
        if self.raw_target().trim().is_empty() {
            p.push(format!("{key}: required for kind {}", self.kind().as_str()));
        }
        match self {
            Self::Icmp(c) => c.validate(p),
            Self::Tcp(c) => c.validate(p),
            Self::Http(c) => c.validate(p),
            Self::Dns(c) => c.validate(p),
        }
    }
}

impl From<IcmpCheckConfig> for ProbeConfig {
    fn from(c: IcmpCheckConfig) -> Self {
        Self::Icmp(c)
    }
}

impl From<TcpCheckConfig> for ProbeConfig {
    fn from(c: TcpCheckConfig) -> Self {
        Self::Tcp(c)
    }
}

impl From<HttpCheckConfig> for ProbeConfig {
    fn from(c: HttpCheckConfig) -> Self {
        Self::Http(c)
    }
}

impl From<DnsCheckConfig> for ProbeConfig {
    fn from(c: DnsCheckConfig) -> Self {
        Self::Dns(c)
    }
}

/// The keys every check has, whatever its kind (`kind` aside).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    name: String,
    #[serde(default = "default_interval", with = "humantime_serde")]
    interval: Duration,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    timeout: Duration,
    #[serde(default, with = "humantime_serde")]
    slow_after: Option<Duration>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    ci: Option<CiDeclaration>,
}

/// One service check (a `[[check]]` entry of the agent's config): the keys
/// every kind has, and the kind's own in [`probe`](Self::probe).
///
/// In the file the kind is a key (`kind = "http"`) beside the others. A key
/// of another kind (`probes` on an http check) does not stop the file from
/// loading: it is kept to be reported by [`validate`](Self::validate) with
/// every other problem. A key no kind knows is a parse error.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// Unique name, 1-128 characters of `[A-Za-z0-9._:-]`: the `check` label.
    pub name: String,
    /// How often the check runs.
    pub interval: Duration,
    /// How long one run may take before it fails as timed out.
    pub timeout: Duration,
    /// Response time above which the check counts as slow (`0s` = never);
    /// default 500ms for icmp (average round trip), 1s for tcp and dns, 2s for http.
    pub slow_after: Option<Duration>,
    /// Labels added to the check's series, e.g. `{ service = "shop", owner = "team-web" }`.
    pub labels: BTreeMap<String, String>,
    /// The service CI the results belong to; absent = the agent's host CI.
    pub ci: Option<CiDeclaration>,
    /// `kind` and the kind's own keys.
    pub probe: ProbeConfig,
    /// Keys the entry set that only other kinds use, in key order.
    misplaced: Vec<String>,
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

impl<'de> Deserialize<'de> for CheckConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(d)?;
        Self::from_table(table).map_err(D::Error::custom)
    }
}

impl CheckConfig {
    /// A check with defaults for everything but its name and probe (tests, benches).
    pub fn new(name: &str, probe: impl Into<ProbeConfig>) -> Self {
        Self {
            name: name.to_owned(),
            interval: default_interval(),
            timeout: default_timeout(),
            slow_after: None,
            labels: BTreeMap::new(),
            ci: None,
            probe: probe.into(),
            misplaced: Vec::new(),
        }
    }

    /// Reads one `[[check]]` table: `kind` first, then the keys every kind
    /// has and the kind's own keys, each into its struct.
    fn from_table(mut table: toml::Table) -> Result<Self, toml::de::Error> {
        let kind: CheckKind = table
            .remove("kind")
            .ok_or_else(|| toml::de::Error::missing_field("kind"))?
            .try_into()?;
        let common_keys = field_names::<CommonKeys>();
        let mut common = toml::Table::new();
        let mut own = toml::Table::new();
        let mut misplaced = Vec::new();
        let mut unknown = Vec::new();
        for (key, value) in table {
            if common_keys.contains(&key.as_str()) {
                common.insert(key, value);
            } else if kind_keys(kind).contains(&key.as_str()) {
                own.insert(key, value);
            } else if !kinds_using(&key).is_empty() {
                misplaced.push(key);
            } else {
                unknown.push(key);
            }
        }
        if !unknown.is_empty() {
            return Err(unknown_keys(&unknown, kind));
        }
        let own = toml::Value::Table(own);
        let probe = match kind {
            CheckKind::Icmp => ProbeConfig::Icmp(own.try_into()?),
            CheckKind::Tcp => ProbeConfig::Tcp(own.try_into()?),
            CheckKind::Http => ProbeConfig::Http(own.try_into()?),
            CheckKind::Dns => ProbeConfig::Dns(own.try_into()?),
        };
        let c: CommonKeys = toml::Value::Table(common).try_into()?;
        Ok(Self {
            name: c.name,
            interval: c.interval,
            timeout: c.timeout,
            slow_after: c.slow_after,
            labels: c.labels,
            ci: c.ci,
            probe,
            misplaced,
        })
    }

    /// The kind of probe.
    pub fn kind(&self) -> CheckKind {
        self.probe.kind()
    }

    /// What the check probes, as shown in the `target` label: the URL,
    /// `host:port` or host.
    pub fn target(&self) -> &str {
        self.probe.raw_target().trim()
    }

    /// The response time above which the check is slow; `None` = never.
    pub fn slow_after(&self) -> Option<Duration> {
        let d = self.slow_after.unwrap_or(self.kind().default_slow_after());
        (!d.is_zero()).then_some(d)
    }

    /// The id of the service CI, if the check declares one.
    pub fn ci_id(&self) -> Option<&str> {
        self.ci
            .as_ref()
            .map(|ci| ci.id.as_deref().unwrap_or(&self.name))
    }

    /// Every problem with this check, each as `key: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(why) = check_ci_id(&self.name) {
            p.push(format!("name: {why}"));
        }
        self.probe.validate(&mut p);
        for key in &self.misplaced {
            let kinds: Vec<&str> = kinds_using(key).iter().map(|k| k.as_str()).collect();
            p.push(format!(
                "{key}: not used by kind {} (only by {})",
                self.kind().as_str(),
                kinds.join(", ")
            ));
        }
        timing_problems(self.interval, self.timeout, MIN_INTERVAL, &mut p);
        if self.labels.len() > MAX_EXTRA_LABELS {
            p.push(format!(
                "labels: at most {} labels, got {}",
                MAX_EXTRA_LABELS,
                self.labels.len()
            ));
        }
        if self.target().len() > MAX_LABEL_VALUE_BYTES {
            p.push(format!(
                "{}: longer than {} bytes (it is the `target` label)",
                self.probe.target_key(),
                MAX_LABEL_VALUE_BYTES
            ));
        }
        for (name, value) in &self.labels {
            if let Err(why) = check_label(name, value) {
                p.push(format!("labels.{name}: {why}"));
            } else if ["check", "kind", "target"].contains(&name.as_str()) {
                p.push(format!(
                    "labels.{name}: {name:?} is set by the check itself; choose another name"
                ));
            }
        }
        if let Some(ci) = &self.ci {
            p.extend(ci.validate().into_iter().map(|x| format!("ci.{x}")));
        }
        p
    }
}

/// Every kind, in the order problems list them.
const KINDS: [CheckKind; 4] = [
    CheckKind::Icmp,
    CheckKind::Tcp,
    CheckKind::Http,
    CheckKind::Dns,
];

/// The keys of `kind`'s own config struct.
fn kind_keys(kind: CheckKind) -> &'static [&'static str] {
    match kind {
        CheckKind::Icmp => field_names::<IcmpCheckConfig>(),
        CheckKind::Tcp => field_names::<TcpCheckConfig>(),
        CheckKind::Http => field_names::<HttpCheckConfig>(),
        CheckKind::Dns => field_names::<DnsCheckConfig>(),
    }
}

/// The kinds whose own keys include `key`.
fn kinds_using(key: &str) -> Vec<CheckKind> {
    KINDS
        .into_iter()
        .filter(|k| kind_keys(*k).contains(&key))
        .collect()
}

/// The parse error naming keys no kind knows, and the keys a `kind` check may have.
fn unknown_keys(keys: &[String], kind: CheckKind) -> toml::de::Error {
    let mut expected: Vec<&str> = vec!["kind"];
    expected.extend(field_names::<CommonKeys>());
    expected.extend(kind_keys(kind));
    toml::de::Error::custom(unknown_keys_message(keys, &expected))
}

impl CiDeclaration {
    /// Every problem with the declaration, each as `key: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(id) = &self.id
            && let Err(why) = check_ci_id(id)
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
