//! Receivers: configuration, rendering and delivery per channel.
//!
//! A [`Receiver`] is a validated [`ReceiverConfig`]; it renders a
//! [`Notification`] into its channel's format (pure functions, one module
//! per channel) and delivers it, answering a [`DeliveryOutcome`] the outbox
//! acts on: delivered, retry (maybe after a delay the receiver asked for),
//! or failed for good. Delivery is at-least-once: every payload and every
//! HTTP request (`Idempotency-Key` header) carries the notification's stable
//! idempotency key for receivers to deduplicate on.
//!
//! Secrets (URL tokens, header values, HMAC keys, routing keys, robot
//! secrets, SMTP passwords) are [`Secret`]s: never in `Debug`, logs, error
//! texts or [`Receiver::public_view`].

pub mod alertmanager;
pub mod config;
pub mod email;
pub mod http;
pub mod pagerduty;
pub mod robots;
pub mod secret;
pub mod text;
pub mod webhook;

#[cfg(test)]
mod delivery_tests;
#[cfg(test)]
pub(crate) mod testutil;

use std::collections::BTreeMap;
use std::time::Duration;

pub use alertmanager::AlertmanagerConfig;
pub use config::{ChannelConfig, ReceiverConfig, ReceiverKind, validate_receivers};
pub use email::EmailConfig;
pub use http::HttpRequest;
pub use pagerduty::{PAGERDUTY_EVENTS_URL, PagerdutyConfig};
pub use robots::{DingtalkConfig, FeishuConfig, WecomConfig};
pub use secret::{Secret, SecretError};
pub use tocsin_model::receiver::{ReceiverView, SmtpTls};
pub use webhook::WebhookConfig;

use crate::Notification;

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver accepted it.
    Delivered,
    /// Try again later (429, 5xx, network errors, timeouts, SMTP 4xx).
    Retry {
        /// What went wrong (no secrets).
        error: String,
        /// How long the receiver asked us to wait (`Retry-After`), if it did.
        after: Option<Duration>,
    },
    /// Permanent: retrying the same request cannot succeed (4xx, SMTP 5xx,
    /// robot errors such as a failed keyword or signature check).
    Failed {
        /// What went wrong (no secrets).
        error: String,
    },
}

/// The receiver configuration is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("receiver {name:?} is invalid: {}", problems.join("; "))]
pub struct InvalidReceiver {
    /// The receiver's name.
    pub name: String,
    /// Every problem, `key: problem`.
    pub problems: Vec<String>,
}

/// What was rendered for one notification: HTTP requests or an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendered {
    /// POSTs to send in order (several for PagerDuty with grouped incidents).
    Http(Vec<HttpRequest>),
    /// An e-mail.
    Email(email::EmailContent),
}

/// A configured, validated receiver.
#[derive(Debug, Clone)]
pub struct Receiver {
    config: ReceiverConfig,
}

impl Receiver {
    /// Validates `config` into a receiver.
    pub fn new(config: ReceiverConfig) -> Result<Self, InvalidReceiver> {
        let problems = config.validate();
        if problems.is_empty() {
            Ok(Self { config })
        } else {
            Err(InvalidReceiver {
                name: config.name.clone(),
                problems,
            })
        }
    }

    /// Name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Kind.
    pub fn kind(&self) -> ReceiverKind {
        self.config.kind()
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// The API view: never shows secrets.
    pub fn public_view(&self) -> ReceiverView {
        let c = &self.config;
        let mut view = ReceiverView {
            name: c.name.clone(),
            kind: c.kind(),
            url: c.endpoint().map(http::redact_url),
            timeout: humantime::format_duration(c.timeout).to_string(),
            headers: Vec::new(),
            signed: false,
            external_url: c.external_url.clone(),
            smtp_server: None,
            tls: None,
            username: None,
            from: None,
            to: Vec::new(),
        };
        match &c.channel {
            ChannelConfig::Webhook(w) => {
                view.headers = w.headers.keys().cloned().collect();
                view.signed = w.hmac_secret.is_some();
            }
            ChannelConfig::Alertmanager(a) => view.headers = a.headers.keys().cloned().collect(),
            ChannelConfig::Dingtalk(d) => view.signed = d.secret.is_some(),
            ChannelConfig::Feishu(f) => view.signed = f.secret.is_some(),
            ChannelConfig::Pagerduty(_) | ChannelConfig::Wecom(_) => {}
            ChannelConfig::Email(e) => {
                view.smtp_server = Some(format!("{}:{}", e.smtp_host, e.smtp_port()));
                view.tls = Some(e.tls);
                view.username = e.username.clone();
                view.from = Some(e.from.clone());
                view.to = e.to.clone();
            }
        }
        view
    }

    /// Renders `n` as it would be sent at `now_ms` (ms since the epoch; it
    /// matters for `sent_at` and signatures).
    pub fn render(&self, n: &Notification, now_ms: i64) -> Rendered {
        let c = &self.config;
        let url = c.endpoint().unwrap_or_default();
        let reqs = match c.kind() {
            ReceiverKind::Email => return Rendered::Email(email::render(n, c)),
            ReceiverKind::Webhook => vec![webhook::request(n, c, url, now_ms)],
            ReceiverKind::Alertmanager => vec![alertmanager::request(n, c, url)],
            ReceiverKind::Pagerduty => pagerduty::requests(n, c, url),
            ReceiverKind::Dingtalk | ReceiverKind::Wecom | ReceiverKind::Feishu => {
                vec![robots::request(n, c, url, now_ms)]
            }
        };
        Rendered::Http(reqs)
    }

    /// Delivers `n` once. For several requests (PagerDuty with grouped
    /// incidents) the first that is not delivered decides; a retry resends all,
    /// which the receiver deduplicates.
    pub async fn deliver(&self, client: &reqwest::Client, n: &Notification) -> DeliveryOutcome {
        let reqs = match self.render(n, tocsin_model::time::now_ms()) {
            Rendered::Email(_) => return email::deliver(&self.config, n).await,
            Rendered::Http(reqs) => reqs,
        };
        let secrets = self.secret_values();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        for req in &reqs {
            let outcome = http::send(
                client,
                req,
                self.config.kind(),
                self.config.timeout,
                &secrets,
            )
            .await;
            if outcome != DeliveryOutcome::Delivered {
                return outcome;
            }
        }
        DeliveryOutcome::Delivered
    }

    /// Every secret value of this receiver, for scrubbing error texts.
    fn secret_values(&self) -> Vec<String> {
        let c = &self.config;
        let (secrets, headers): (Vec<&Secret>, _) = match &c.channel {
            ChannelConfig::Webhook(w) => (w.hmac_secret.iter().collect(), Some(&w.headers)),
            ChannelConfig::Alertmanager(a) => (Vec::new(), Some(&a.headers)),
            ChannelConfig::Pagerduty(p) => (vec![&p.routing_key], None),
            ChannelConfig::Dingtalk(d) => (d.secret.iter().collect(), None),
            ChannelConfig::Wecom(_) => (Vec::new(), None),
            ChannelConfig::Feishu(f) => (f.secret.iter().collect(), None),
            ChannelConfig::Email(e) => (e.password.iter().collect(), None),
        };
        let mut out: Vec<String> = secrets
            .into_iter()
            .chain(headers.into_iter().flat_map(|h| h.values()))
            .map(|s| s.expose().to_string())
            .collect();
        if let Some(u) = c.endpoint() {
            out.extend(http::url_secrets(u));
        }
        out
    }
}

/// Validates every receiver config and builds the receivers by name, or
/// returns all problems (`notify.receiver["name"].key: problem`).
pub fn build_receivers(
    configs: Vec<ReceiverConfig>,
) -> Result<BTreeMap<String, Receiver>, Vec<String>> {
    let problems = validate_receivers(&configs);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(configs
        .into_iter()
        .map(|c| (c.name.clone(), Receiver { config: c }))
        .collect())
}
