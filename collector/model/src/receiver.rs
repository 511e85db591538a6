//! Notification receivers as the API shows them: kind, endpoint with
//! tokens redacted, never a secret value.

use serde::{Deserialize, Serialize};

/// Which format and transport a receiver uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    /// Generic JSON webhook (documented schema, optional HMAC signature).
    Webhook,
    /// Alertmanager-compatible webhook (`version: "4"`).
    Alertmanager,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// DingTalk group robot (markdown; optional signed-secret mode).
    Dingtalk,
    /// WeCom (企业微信) group robot (markdown).
    Wecom,
    /// Feishu/Lark group robot (text; optional signed mode).
    Feishu,
    /// E-mail over SMTP.
    Email,
}

impl ReceiverKind {
    /// The lowercase name used in config and API output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Alertmanager => "alertmanager",
            Self::Pagerduty => "pagerduty",
            Self::Dingtalk => "dingtalk",
            Self::Wecom => "wecom",
            Self::Feishu => "feishu",
            Self::Email => "email",
        }
    }

    /// Delivered by HTTP POST (everything but e-mail).
    pub fn is_http(self) -> bool {
        !matches!(self, Self::Email)
    }

    /// A chat robot that answers HTTP 200 with an error code in the body.
    pub fn is_robot(self) -> bool {
        matches!(self, Self::Dingtalk | Self::Wecom | Self::Feishu)
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (local relays only; no password allowed).
    None,
    /// Plain connection upgraded with STARTTLS, which is required (default port 587).
    #[default]
    Starttls,
    /// TLS from the first byte, "SMTPS" (default port 465).
    Tls,
}

impl SmtpTls {
    /// The port used when `smtp_port` is not set.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::Starttls => 587,
            Self::Tls => 465,
        }
    }
}

/// What the API shows about a receiver: no secret values, URLs with tokens redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverView {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: ReceiverKind,
    /// Endpoint with query and token-like path segments redacted (HTTP kinds).
    pub url: Option<String>,
    /// Attempt time limit, e.g. `10s`.
    pub timeout: String,
    /// Names of the custom headers (values are secret).
    pub headers: Vec<String>,
    /// Requests are signed (webhook HMAC, DingTalk/Feishu secret).
    pub signed: bool,
    /// Console base URL for links.
    pub external_url: Option<String>,
    /// SMTP server `host:port` (e-mail).
    pub smtp_server: Option<String>,
    /// SMTP security (e-mail).
    pub tls: Option<SmtpTls>,
    /// SMTP user name, if authenticating (e-mail).
    pub username: Option<String>,
    /// Sender (e-mail).
    pub from: Option<String>,
    /// Recipients (e-mail).
    pub to: Vec<String>,
}
