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

use serde::Deserialize;

use super::secret::Secret;
pub use tocsin_model::receiver::{ReceiverKind, SmtpTls};

/// PagerDuty's Events API v2 endpoint, used when a `pagerduty` receiver has no `url`.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Headers Tocsin sets itself; `headers` may not override them.
pub const RESERVED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
    "x-tocsin-signature",
    "x-tocsin-timestamp",
];

/// One `[[notify.receiver]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Unique name, used by routes and in idempotency keys (`[A-Za-z0-9_.-]`).
    pub name: String,
    /// Format and transport.
    pub kind: ReceiverKind,
    /// Endpoint for the HTTP kinds (required, except `pagerduty` which defaults
    /// to PagerDuty's Events API). A secret: robot URLs carry their token, so
    /// `env:VAR` works here and the API shows it with tokens redacted.
    #[serde(default)]
    pub url: Option<Secret>,
    /// Time limit of one delivery attempt (connect, send, answer), e.g. `10s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// `webhook`/`alertmanager`: extra request headers. Values are secrets
    /// (`Authorization` usually is) and may be `env:VAR`.
    #[serde(default)]
    pub headers: BTreeMap<String, Secret>,
    /// `webhook`: key for the `X-Tocsin-Signature` HMAC-SHA256 header.
    #[serde(default)]
    pub hmac_secret: Option<Secret>,
    /// `pagerduty`: the integration's routing key.
    #[serde(default)]
    pub routing_key: Option<Secret>,
    /// `dingtalk`/`feishu`: the robot's signing secret (signed mode).
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Base URL of the Tocsin console, for links (`<external_url>/incidents/<id>`)
    /// and Alertmanager's `externalURL`/`generatorURL`.
    #[serde(default)]
    pub external_url: Option<String>,
    /// `email`: SMTP server host name.
    #[serde(default)]
    pub smtp_host: Option<String>,
    /// `email`: SMTP port (default by `tls`: 25, 587 or 465).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `email`: `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// `email`: SMTP user name (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// `email`: SMTP password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// `email`: sender, e.g. `Tocsin <tocsin@example.com>`.
    #[serde(default)]
    pub from: Option<String>,
    /// `email`: recipients.
    #[serde(default)]
    pub to: Vec<String>,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

/// Longest accepted `timeout`.
const MAX_TIMEOUT: Duration = Duration::from_secs(300);

impl ReceiverConfig {
    /// The URL requests go to (`None` for e-mail, or an HTTP kind without `url`
    /// other than PagerDuty, which [`Self::validate`] rejects).
    pub fn endpoint(&self) -> Option<&str> {
        match (&self.url, self.kind) {
            (Some(u), k) if k.is_http() => Some(u.expose()),
            (None, ReceiverKind::Pagerduty) => Some(PAGERDUTY_EVENTS_URL),
            _ => None,
        }
    }

    /// The SMTP port in use.
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or_else(|| self.tls.default_port())
    }

    /// Every problem, each as `key: problem` (keys relative to this entry).
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        let kind = self.kind;
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
        if kind.is_http() {
            match (&self.url, kind) {
                (None, ReceiverKind::Pagerduty) => {}
                (None, _) => p.push(format!("url: required for kind {}", kind.as_str())),
                (Some(u), _) => {
                    if let Err(e) = check_http_url(u.expose()) {
                        p.push(format!("url: {e}"));
                    }
                }
            }
        } else if self.url.is_some() {
            p.push("url: not used by kind email".to_string());
        }
        if let Some(u) = &self.external_url
            && let Err(e) = check_http_url(u)
        {
            p.push(format!("external_url: {e}"));
        }
        self.check_headers(&mut p);
        let only = |p: &mut Vec<String>, set: bool, key: &str, kinds: &[ReceiverKind]| {
            if set && !kinds.contains(&kind) {
                let names: Vec<_> = kinds.iter().map(|k| k.as_str()).collect();
                p.push(format!("{key}: only for kind {}", names.join(" or ")));
            }
        };
        use ReceiverKind as K;
        only(
            &mut p,
            self.hmac_secret.is_some(),
            "hmac_secret",
            &[K::Webhook],
        );
        only(
            &mut p,
            self.routing_key.is_some(),
            "routing_key",
            &[K::Pagerduty],
        );
        only(
            &mut p,
            self.secret.is_some(),
            "secret",
            &[K::Dingtalk, K::Feishu],
        );
        let email_only = [
            ("smtp_host", self.smtp_host.is_some()),
            ("smtp_port", self.smtp_port.is_some()),
            ("tls", self.tls != SmtpTls::default()),
            ("username", self.username.is_some()),
            ("password", self.password.is_some()),
            ("from", self.from.is_some()),
            ("to", !self.to.is_empty()),
        ];
        for (key, set) in email_only {
            only(&mut p, set, key, &[K::Email]);
        }
        for (key, s) in [
            ("hmac_secret", &self.hmac_secret),
            ("routing_key", &self.routing_key),
            ("secret", &self.secret),
            ("password", &self.password),
        ] {
            if s.as_ref().is_some_and(Secret::is_blank) {
                p.push(format!("{key}: must not be empty"));
            }
        }
        if kind == K::Pagerduty && self.routing_key.is_none() {
            p.push("routing_key: required for kind pagerduty".to_string());
        }
        if kind == K::Email {
            self.check_email(&mut p);
        }
        p
    }

    fn check_headers(&self, p: &mut Vec<String>) {
        if self.headers.is_empty() {
            return;
        }
        if !matches!(
            self.kind,
            ReceiverKind::Webhook | ReceiverKind::Alertmanager
        ) {
            p.push("headers: only for kind webhook or alertmanager".to_string());
            return;
        }
        for (name, value) in &self.headers {
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

    fn check_email(&self, p: &mut Vec<String>) {
        match &self.smtp_host {
            None => p.push("smtp_host: required for kind email".to_string()),
            Some(h) if h.trim().is_empty() || h.contains(['/', ' ', ':']) => {
                p.push(format!("smtp_host: {h:?} is not a host name"));
            }
            Some(_) => {}
        }
        if self.smtp_port == Some(0) {
            p.push("smtp_port: must not be 0".to_string());
        }
        match &self.from {
            None => p.push("from: required for kind email".to_string()),
            Some(f) => {
                if f.parse::<lettre::message::Mailbox>().is_err() {
                    p.push(format!("from: {f:?} is not an e-mail address"));
                }
            }
        }
        if self.to.is_empty() {
            p.push("to: at least one recipient is required for kind email".to_string());
        }
        for (i, t) in self.to.iter().enumerate() {
            if t.parse::<lettre::message::Mailbox>().is_err() {
                p.push(format!("to[{i}]: {t:?} is not an e-mail address"));
            }
        }
        if self.username.is_some() != self.password.is_some() {
            p.push("username: username and password go together".to_string());
        }
        if self.password.is_some() && self.tls == SmtpTls::None {
            p.push("password: would be sent in clear text with tls = \"none\"".to_string());
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
fn check_http_url(text: &str) -> Result<(), String> {
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
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> ReceiverConfig {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn defaults_and_unknown_fields() {
        let r = parse("name = \"a\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/x\"");
        assert_eq!(r.timeout, Duration::from_secs(10));
        assert!(r.validate().is_empty(), "{:?}", r.validate());
        let e = toml::from_str::<ReceiverConfig>("name = \"a\"\nkind = \"webhook\"\nurll = \"x\"")
            .err()
            .unwrap();
        assert!(e.to_string().contains("urll"), "{e}");
    }

    #[test]
    fn reports_every_problem_with_its_key() {
        let r = parse(
            "name = \"bad name\"\nkind = \"dingtalk\"\nurl = \"ftp://x/robot?access_token=s3cr3t\"\n\
             timeout = \"0s\"\nrouting_key = \"k\"\nto = [\"a@b.c\"]\nheaders = { X = \"1\" }",
        );
        let p = r.validate();
        for key in [
            "name:",
            "timeout:",
            "url:",
            "routing_key:",
            "to:",
            "headers:",
        ] {
            assert!(
                p.iter().any(|e| e.starts_with(key)),
                "{key} missing in {p:?}"
            );
        }
        assert!(p.iter().all(|e| !e.contains("s3cr3t")), "{p:?}");
    }

    #[test]
    fn email_needs_its_fields() {
        let r = parse(
            "name = \"m\"\nkind = \"email\"\ntls = \"none\"\nusername = \"u\"\npassword = \"p\"\nto = [\"nope\"]",
        );
        let p = r.validate();
        for key in ["smtp_host:", "from:", "to[0]:", "password:"] {
            assert!(
                p.iter().any(|e| e.starts_with(key)),
                "{key} missing in {p:?}"
            );
        }
        let ok = parse(
            "name = \"m\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\ntls = \"tls\"\n\
             from = \"Tocsin <t@example.com>\"\nto = [\"noc@example.com\"]",
        );
        assert!(ok.validate().is_empty(), "{:?}", ok.validate());
        assert_eq!(ok.smtp_port(), 465);
    }

    #[test]
    fn pagerduty_defaults_its_url_and_needs_a_key() {
        let r = parse("name = \"pd\"\nkind = \"pagerduty\"");
        assert_eq!(r.endpoint(), Some(PAGERDUTY_EVENTS_URL));
        assert_eq!(
            r.validate(),
            vec!["routing_key: required for kind pagerduty"]
        );
    }

    #[test]
    fn reserved_headers_and_duplicates() {
        let a = parse(
            "name = \"w\"\nkind = \"webhook\"\nurl = \"https://h/x\"\nheaders = { Idempotency-Key = \"1\" }",
        );
        let b = a.clone();
        let p = validate_receivers(&[a, b]);
        assert!(p.contains(&"notify.receiver[\"w\"].name: duplicate receiver name".to_string()));
        assert!(
            p.iter()
                .any(|e| e.starts_with("notify.receiver[\"w\"].headers.Idempotency-Key:")),
            "{p:?}"
        );
    }
}
