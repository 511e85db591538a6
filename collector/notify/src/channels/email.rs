//! E-mail over SMTP (`kind = "email"`), sent with lettre's tokio transport.
//!
//! One `multipart/alternative` message (plain text + HTML, every value
//! HTML-escaped) to all `to` addresses. `Message-ID` is derived from the
//! idempotency key (`<key with unsafe characters replaced>@<from domain>`), so a
//! retried message is recognisably the same; `References` names a per-incident
//! id so mail clients thread all messages of one incident.
//!
//! Outcomes: SMTP 5xx → `Failed`; 4xx, connection and TLS errors, timeouts → `Retry`.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use serde::Deserialize;

use super::DeliveryOutcome;
use super::config::{ChannelConfig, ReceiverConfig, check_secret};
use super::http::scrub;
use super::secret::Secret;
use super::text::{facts, headline, incident_url, one_line};
use crate::Notification;
use tocsin_incidents::Incident;
use tocsin_model::receiver::SmtpTls;

/// The rendered parts of an e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// Subject line, e.g. `[MAJOR] #12 opened: Disk full (web01)`.
    pub subject: String,
    /// `text/plain` body.
    pub text: String,
    /// `text/html` body.
    pub html: String,
    /// `Message-ID` value, with angle brackets.
    pub message_id: String,
    /// `References` value: the incident's thread id.
    pub thread_id: String,
}

/// HTML-escapes `&`, `<`, `>`, `"` and `'`.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Characters allowed in a Message-ID's left part (RFC 5322 `atext` and `.`).
fn msgid_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `kind = "email"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// SMTP server host name (required).
    #[serde(default)]
    pub smtp_host: String,
    /// SMTP port (default by `tls`: 25, 587 or 465).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` (default) or `tls`.
    #[serde(default)]
    pub tls: SmtpTls,
    /// SMTP user name (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Sender, e.g. `Tocsin <tocsin@example.com>` (required).
    #[serde(default)]
    pub from: String,
    /// Recipients (at least one).
    #[serde(default)]
    pub to: Vec<String>,
}

impl EmailConfig {
    /// The SMTP port in use.
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or_else(|| self.tls.default_port())
    }

    /// Every problem, each as `key: what is wrong`.
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        let h = &self.smtp_host;
        if h.trim().is_empty() {
            p.push("smtp_host: required for kind email".to_string());
        } else if h.contains(['/', ' ', ':']) {
            p.push(format!("smtp_host: {h:?} is not a host name"));
        }
        if self.smtp_port == Some(0) {
            p.push("smtp_port: must not be 0".to_string());
        }
        if self.from.trim().is_empty() {
            p.push("from: required for kind email".to_string());
        } else if self.from.parse::<Mailbox>().is_err() {
            p.push(format!("from: {:?} is not an e-mail address", self.from));
        }
        if self.to.is_empty() {
            p.push("to: at least one recipient is required for kind email".to_string());
        }
        for (i, t) in self.to.iter().enumerate() {
            if t.parse::<Mailbox>().is_err() {
                p.push(format!("to[{i}]: {t:?} is not an e-mail address"));
            }
        }
        if self.username.is_some() != self.password.is_some() {
            p.push("username: username and password go together".to_string());
        }
        check_secret("password", self.password.as_ref(), p);
        if self.password.is_some() && self.tls == SmtpTls::None {
            p.push("password: would be sent in clear text with tls = \"none\"".to_string());
        }
    }
}

/// The e-mail keys of `cfg`, if it is an e-mail receiver.
fn own(cfg: &ReceiverConfig) -> Result<&EmailConfig, String> {
    match &cfg.channel {
        ChannelConfig::Email(e) => Ok(e),
        _ => Err(format!("receiver {:?} is not an e-mail receiver", cfg.name)),
    }
}

fn domain(cfg: &ReceiverConfig) -> String {
    own(cfg)
        .ok()
        .map(|e| e.from.as_str())
        .and_then(|f| f.parse::<Mailbox>().ok())
        .map(|m| m.email.domain().to_string())
        .unwrap_or_else(|| "tocsin.invalid".to_string())
}

/// Renders subject, bodies and ids for `n`.
pub fn render(n: &Notification, cfg: &ReceiverConfig) -> EmailContent {
    let dom = domain(cfg);
    let mut text = format!("{}\n\n", headline(n));
    let mut html = String::from("<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n");
    html.push_str(&format!("<h2>{}</h2>\n", escape_html(&headline(n))));
    for (i, inc) in n.incidents().enumerate() {
        if i > 0 {
            text.push_str(&format!(
                "\n--- Also: #{} {}\n",
                inc.id,
                one_line(&inc.title)
            ));
            html.push_str(&format!(
                "<h3>Also: #{} {}</h3>\n",
                inc.id,
                escape_html(&inc.title)
            ));
        }
        incident_parts(inc, n.created_at, cfg, &mut text, &mut html);
    }
    if !n.children.is_empty() {
        text.push_str("\nAttached children:\n");
        html.push_str("<h3>Attached children</h3>\n<ul>\n");
        for c in &n.children {
            let line = format!(
                "#{} [{}] {} ({})",
                c.id,
                c.severity.as_str(),
                c.title,
                c.ci_id
            );
            text.push_str(&format!("- {}\n", one_line(&line)));
            html.push_str(&format!("<li>{}</li>\n", escape_html(&line)));
        }
        html.push_str("</ul>\n");
    }
    text.push_str(&format!("\nkey: {}\n", n.idempotency_key));
    html.push_str(&format!(
        "<p style=\"color:#888\">key: {}</p>\n</body></html>\n",
        escape_html(&n.idempotency_key)
    ));
    EmailContent {
        subject: headline(n),
        text,
        html,
        message_id: format!("<{}@{dom}>", msgid_safe(&n.idempotency_key)),
        thread_id: format!(
            "<incident-{}-{}@{dom}>",
            n.incident.id,
            msgid_safe(&n.receiver)
        ),
    }
}

fn incident_parts(
    inc: &Incident,
    at: i64,
    cfg: &ReceiverConfig,
    text: &mut String,
    html: &mut String,
) {
    html.push_str("<table cellpadding=\"4\" style=\"border-collapse:collapse\">\n");
    for (label, value) in facts(inc, at) {
        text.push_str(&format!("{label}: {}\n", one_line(&value)));
        html.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
            escape_html(label),
            escape_html(&value)
        ));
    }
    html.push_str("</table>\n");
    if !inc.description.trim().is_empty() {
        text.push_str(&format!("\n{}\n", inc.description));
        html.push_str(&format!(
            "<pre style=\"white-space:pre-wrap\">{}</pre>\n",
            escape_html(&inc.description)
        ));
    }
    if let Some(url) = incident_url(cfg.external_url.as_deref(), inc.id) {
        text.push_str(&format!("{url}\n"));
        let u = escape_html(&url);
        html.push_str(&format!("<p><a href=\"{u}\">{u}</a></p>\n"));
    }
}

/// The complete message for `n`; fails only on addresses that do not parse
/// (which config validation already rejects).
pub fn message(n: &Notification, cfg: &ReceiverConfig) -> Result<Message, String> {
    let e = own(cfg)?;
    let c = render(n, cfg);
    let from: Mailbox = e.from.parse().map_err(|e| format!("from: {e}"))?;
    let mut b = Message::builder()
        .from(from)
        .subject(c.subject)
        .message_id(Some(c.message_id))
        .references(c.thread_id)
        .date_now();
    for to in &e.to {
        b = b.to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?);
    }
    b.multipart(
        MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(c.text),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(c.html),
            ),
    )
    .map_err(|e| e.to_string())
}

/// Sends `n` by SMTP as configured.
pub async fn deliver(cfg: &ReceiverConfig, n: &Notification) -> DeliveryOutcome {
    let msg = match message(n, cfg) {
        Ok(m) => m,
        Err(error) => return DeliveryOutcome::Failed { error },
    };
    let e = match own(cfg) {
        Ok(e) => e,
        Err(error) => return DeliveryOutcome::Failed { error },
    };
    let host = e.smtp_host.clone();
    let tls = match e.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls | SmtpTls::Tls => match TlsParameters::new(host.clone()) {
            Ok(p) if e.tls == SmtpTls::Tls => Tls::Wrapper(p),
            Ok(p) => Tls::Required(p),
            Err(e) => {
                return DeliveryOutcome::Failed {
                    error: format!("TLS setup: {e}"),
                };
            }
        },
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(e.smtp_port())
        .tls(tls)
        .timeout(Some(cfg.timeout));
    if let (Some(u), Some(p)) = (&e.username, &e.password) {
        builder = builder.credentials(Credentials::new(u.clone(), p.expose().to_string()));
    }
    let transport = builder.build();
    // lettre's timeout is per command; bound the whole exchange too.
    let whole = cfg.timeout.saturating_mul(3).max(Duration::from_secs(1));
    let secrets: Vec<&str> = e.password.iter().map(|p| p.expose()).collect();
    let shown = format!("smtp://{host}:{}", e.smtp_port());
    match tokio::time::timeout(whole, transport.send(msg)).await {
        Err(_) => DeliveryOutcome::Retry {
            error: format!("{shown}: timed out"),
            after: None,
        },
        Ok(Ok(_)) => DeliveryOutcome::Delivered,
        Ok(Err(e)) => {
            let error = scrub(&format!("{shown}: {}", error_chain(&e)), &secrets);
            if e.is_permanent() {
                DeliveryOutcome::Failed { error }
            } else {
                DeliveryOutcome::Retry { error, after: None }
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(x) = src {
        s.push_str(": ");
        s.push_str(&x.to_string());
        src = x.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NotifyEvent;
    use crate::channels::testutil::{config, notification};

    fn cfg() -> ReceiverConfig {
        config(
            "name = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\ntls = \"none\"\n\
             from = \"Tocsin <tocsin@example.com>\"\nto = [\"noc@example.com\"]\n\
             external_url = \"https://console.example/?a=1&b=2\"",
        )
    }

    #[test]
    fn subject_ids_and_escaping() {
        let n = notification(NotifyEvent::Opened);
        let c = render(&n, &cfg());
        assert_eq!(
            c.subject,
            "[MAJOR] #12 opened: Disk <full> & \"nearly\" out (web01)"
        );
        assert_eq!(c.message_id, "<ops/12/opened/1@example.com>");
        assert_eq!(c.thread_id, "<incident-12-ops@example.com>");
        assert!(
            c.html
                .contains("Disk &lt;full&gt; &amp; &quot;nearly&quot; out")
        );
        assert!(c.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(c.html.contains("?a=1&amp;b=2"));
        assert!(!c.html.contains("<script>"), "{}", c.html);
        assert!(!c.html.contains("<full>"));
        assert!(c.text.contains("<script>alert(1)</script>"));
        assert!(
            c.text
                .contains("SLA: respond by 2023-11-14 22:23:20 UTC (in 9m, pending)")
        );
        assert!(c.text.contains("key: ops/12/opened/1"));
    }

    #[test]
    fn message_ids_stay_valid() {
        let mut n = notification(NotifyEvent::Opened);
        n.idempotency_key = "my rcv/12/opened/<1>".to_string();
        assert_eq!(
            render(&n, &cfg()).message_id,
            "<my-rcv/12/opened/-1-@example.com>"
        );
        assert_eq!(escape_html("'a'"), "&#39;a&#39;");
    }
}
