//! `[[notify.receiver]]` entries: one receiver each.
//!
//! ```toml
//! [[notify.receiver]]
//! name = "ops-dingtalk"
//! kind = "dingtalk"
//! url = "env:TOCSIN_DINGTALK_URL"   # the URL carries the access token
//! secret = "env:TOCSIN_DINGTALK_SECRET"
//! timeout = "5s"
//!
//! [[notify.receiver]]
//! name = "noc-mail"
//! kind = "email"
//! smtp_host = "smtp.example.com"
//! tls = "starttls"
//! username = "tocsin"
//! password = "env:TOCSIN_SMTP_PASSWORD"
//! from = "Tocsin <tocsin@example.com>"
//! to = ["noc@example.com"]
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use super::alertmanager::AlertmanagerConfig;
use super::email::EmailConfig;
use super::pagerduty::PagerdutyConfig;
use super::robots::{DingtalkConfig, FeishuConfig, WecomConfig};
use super::secret::Secret;
use super::webhook::WebhookConfig;
use tocsin_config_keys::{field_names, unknown_keys_message};
pub use tocsin_model::receiver::ReceiverKind;

/// Headers Tocsin sets itself; `headers` may not override them.
pub const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
    "x-tocsin-signature",
    "x-tocsin-timestamp",
];

/// What a receiver sends, and where: one config struct per kind, each owned
/// by the module that implements the kind.
#[derive(Debug, Clone, PartialEq)]
pub enum ChannelConfig {
    /// `kind = "webhook"`.
    Webhook(WebhookConfig),
    /// `kind = "alertmanager"`.
    Alertmanager(AlertmanagerConfig),
    /// `kind = "pagerduty"`.
    Pagerduty(PagerdutyConfig),
    /// `kind = "dingtalk"`.
    Dingtalk(DingtalkConfig),
    /// `kind = "wecom"`.
    Wecom(WecomConfig),
    /// `kind = "feishu"`.
    Feishu(FeishuConfig),
    /// `kind = "email"`.
    Email(EmailConfig),
}

impl ChannelConfig {
    /// The kind of receiver.
    pub fn kind(&self) -> ReceiverKind {
        match self {
            Self::Webhook(_) => ReceiverKind::Webhook,
            Self::Alertmanager(_) => ReceiverKind::Alertmanager,
            Self::Pagerduty(_) => ReceiverKind::Pagerduty,
            Self::Dingtalk(_) => ReceiverKind::Dingtalk,
            Self::Wecom(_) => ReceiverKind::Wecom,
            Self::Feishu(_) => ReceiverKind::Feishu,
            Self::Email(_) => ReceiverKind::Email,
        }
    }

    /// Reads the kind's own keys (a table holding only those).
    fn from_value(kind: ReceiverKind, own: toml::Value) -> Result<Self, toml::de::Error> {
        Ok(match kind {
            ReceiverKind::Webhook => Self::Webhook(own.try_into()?),
            ReceiverKind::Alertmanager => Self::Alertmanager(own.try_into()?),
            ReceiverKind::Pagerduty => Self::Pagerduty(own.try_into()?),
            ReceiverKind::Dingtalk => Self::Dingtalk(own.try_into()?),
            ReceiverKind::Wecom => Self::Wecom(own.try_into()?),
            ReceiverKind::Feishu => Self::Feishu(own.try_into()?),
            ReceiverKind::Email => Self::Email(own.try_into()?),
        })
    }

    /// Every problem with the kind's own keys, each as `key: what is wrong`.
    fn validate(&self, p: &mut Vec<String>) {
        match self {
            Self::Webhook(c) => c.validate(p),
            Self::Alertmanager(c) => c.validate(p),
            Self::Pagerduty(c) => c.validate(p),
            Self::Dingtalk(c) => check_robot_url(&c.url, "dingtalk", c.secret.as_ref(), p),
            Self::Wecom(c) => check_robot_url(&c.url, "wecom", None, p),
            Self::Feishu(c) => check_robot_url(&c.url, "feishu", c.secret.as_ref(), p),
            Self::Email(c) => c.validate(p),
        }
    }
}

/// The keys every receiver has, whatever its kind (`kind` aside).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    name: String,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    timeout: Duration,
    #[serde(default)]
    external_url: Option<String>,
}

/// One `[[notify.receiver]]` entry: the keys every kind has, and the kind's
/// own in [`channel`](Self::channel).
///
/// In the file the kind is a key (`kind = "email"`) beside the others. A key
/// of another kind (`routing_key` on a webhook) does not stop the file from
/// loading: it is kept to be reported by [`validate`](Self::validate) with
/// every other problem. A key no kind knows is a parse error naming every
/// such key of the entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverConfig {
    /// Unique name, used by routes and in idempotency keys (`[A-Za-z0-9_.-]`).
    pub name: String,
    /// Time limit of one delivery attempt (connect, send, answer), e.g. `10s`.
    pub timeout: Duration,
    /// Base URL of the Tocsin console, for links (`<external_url>/incidents/<id>`)
    /// and Alertmanager's `externalURL`/`generatorURL`.
    pub external_url: Option<String>,
    /// `kind` and the kind's own keys.
    pub channel: ChannelConfig,
    /// Keys the entry set that only other kinds use, in key order.
    misplaced: Vec<String>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Longest accepted `timeout`.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

impl<'de> Deserialize<'de> for ReceiverConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(d)?;
        Self::from_table(table).map_err(D::Error::custom)
    }
}

impl ReceiverConfig {
    /// A receiver with defaults for everything but its name and channel (tests).
    pub fn new(name: &str, channel: ChannelConfig) -> Self {
        Self {
            name: name.to_owned(),
            timeout: default_timeout(),
            external_url: None,
            channel,
            misplaced: Vec::new(),
        }
    }

    /// Reads one `[[notify.receiver]]` table: `kind` first, then the keys
    /// every kind has and the kind's own keys, each into its struct.
    fn from_table(mut table: toml::Table) -> Result<Self, toml::de::Error> {
        let common_keys = field_names::<CommonKeys>();
        let Some(kind) = table.remove("kind") else {
            let unknown: Vec<String> = table
                .keys()
                .filter(|k| !common_keys.contains(&k.as_str()) && kinds_using(k).is_empty())
                .cloned()
                .collect();
            if unknown.is_empty() {
                return Err(toml::de::Error::missing_field("kind"));
            }
            let mut expected = vec!["kind"];
            expected.extend(common_keys);
            return Err(toml::de::Error::custom(format!(
                "{}, and missing field `kind`",
                unknown_keys_message(&unknown, &expected)
            )));
        };
        let kind: ReceiverKind = kind.try_into()?;
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
        let channel = ChannelConfig::from_value(kind, toml::Value::Table(own))?;
        let c: CommonKeys = toml::Value::Table(common).try_into()?;
        Ok(Self {
            name: c.name,
            timeout: c.timeout,
            external_url: c.external_url,
            channel,
            misplaced,
        })
    }

    /// Format and transport.
    pub fn kind(&self) -> ReceiverKind {
        self.channel.kind()
    }

    /// The URL requests go to (`None` for e-mail).
    pub fn endpoint(&self) -> Option<&str> {
        match &self.channel {
            ChannelConfig::Webhook(c) => Some(c.url.expose()),
            ChannelConfig::Alertmanager(c) => Some(c.url.expose()),
            ChannelConfig::Pagerduty(c) => Some(c.endpoint()),
            ChannelConfig::Dingtalk(c) => Some(c.url.expose()),
            ChannelConfig::Wecom(c) => Some(c.url.expose()),
            ChannelConfig::Feishu(c) => Some(c.url.expose()),
            ChannelConfig::Email(_) => None,
        }
    }

    /// Every problem, each as `key: problem` (keys relative to this entry).
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        let name_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
        if self.name.is_empty() || !self.name.chars().all(name_ok) {
            p.push(format!(
                "name: {:?} must be non-empty and use only A-Z a-z 0-9 _ . -",
                self.name
            ));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            p.push("timeout: must be more than 0s and at most 5m".to_string());
        }
        if let Some(u) = &self.external_url
            && let Err(e) = check_http_url(u)
        {
            p.push(format!("external_url: {e}"));
        }
        self.channel.validate(&mut p);
        for key in &self.misplaced {
            let kinds: Vec<&str> = kinds_using(key).iter().map(|k| k.as_str()).collect();
            p.push(format!(
                "{key}: not used by kind {} (only by {})",
                self.kind().as_str(),
                kinds.join(", ")
            ));
        }
        p
    }
}

/// Every kind, in the order problems list them.
const KINDS: [ReceiverKind; 7] = [
    ReceiverKind::Webhook,
    ReceiverKind::Alertmanager,
    ReceiverKind::Pagerduty,
    ReceiverKind::Dingtalk,
    ReceiverKind::Wecom,
    ReceiverKind::Feishu,
    ReceiverKind::Email,
];

/// The keys of `kind`'s own config struct.
fn kind_keys(kind: ReceiverKind) -> &'static [&'static str] {
    match kind {
        ReceiverKind::Webhook => field_names::<WebhookConfig>(),
        ReceiverKind::Alertmanager => field_names::<AlertmanagerConfig>(),
        ReceiverKind::Pagerduty => field_names::<PagerdutyConfig>(),
        ReceiverKind::Dingtalk => field_names::<DingtalkConfig>(),
        ReceiverKind::Wecom => field_names::<WecomConfig>(),
        ReceiverKind::Feishu => field_names::<FeishuConfig>(),
        ReceiverKind::Email => field_names::<EmailConfig>(),
    }
}

/// The kinds whose own keys include `key`.
fn kinds_using(key: &str) -> Vec<ReceiverKind> {
    KINDS
        .into_iter()
        .filter(|k| kind_keys(*k).contains(&key))
        .collect()
}

/// The parse error naming keys no kind knows, and the keys a `kind` receiver may have.
fn unknown_keys(keys: &[String], kind: ReceiverKind) -> toml::de::Error {
    let mut expected: Vec<&str> = vec!["kind"];
    expected.extend(field_names::<CommonKeys>());
    expected.extend(kind_keys(kind));
    toml::de::Error::custom(unknown_keys_message(keys, &expected))
}

/// A required URL of an HTTP kind: set, and an absolute http(s) URL.
pub(crate) fn check_url(url: &Secret, kind: &str, p: &mut Vec<String>) {
    if url.is_blank() {
        p.push(format!("url: required for kind {kind}"));
    } else if let Err(e) = check_http_url(url.expose()) {
        p.push(format!("url: {e}"));
    }
}

/// An optional secret, if set, is not empty.
pub(crate) fn check_secret(key: &str, s: Option<&Secret>, p: &mut Vec<String>) {
    if s.is_some_and(Secret::is_blank) {
        p.push(format!("{key}: must not be empty"));
    }
}

/// A chat robot's `url`, and its signing `secret` if it has one.
fn check_robot_url(url: &Secret, kind: &str, secret: Option<&Secret>, p: &mut Vec<String>) {
    check_url(url, kind, p);
    check_secret("secret", secret, p);
}

/// Extra request headers (`webhook`, `alertmanager`): valid, and none Tocsin sets itself.
pub(crate) fn check_headers(headers: &BTreeMap<String, Secret>, p: &mut Vec<String>) {
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            p.push(format!("headers.{name}: not a valid header name"));
        } else if RESERVED_HEADERS.contains(&lower.as_str()) {
            p.push(format!(
                "headers.{name}: set by Tocsin, cannot be overridden"
            ));
        }
        if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
            p.push(format!("headers.{name}: not a valid header value"));
        }
    }
}

/// Validates a list of receivers: each entry's problems under
/// `notify.receiver["<name>"]` (or `notify.receiver[<index>]`), plus duplicate names.
pub fn validate_receivers(receivers: &[ReceiverConfig]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, r) in receivers.iter().enumerate() {
        let prefix = if r.name.is_empty() {
            format!("notify.receiver[{i}]")
        } else {
            format!("notify.receiver[{:?}]", r.name)
        };
        if !r.name.is_empty() && !seen.insert(r.name.as_str()) {
            problems.push(format!("{prefix}.name: duplicate receiver name"));
        }
        problems.extend(r.validate().into_iter().map(|e| format!("{prefix}.{e}")));
    }
    problems
}

/// An absolute `http`/`https` URL with a host. Errors never repeat the URL.
pub(crate) fn check_http_url(text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".to_string());
    }
    Ok(())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
