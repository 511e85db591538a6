//! Chat group robots: DingTalk (`dingtalk`), WeCom/企业微信 (`wecom`) and
//! Feishu/Lark (`feishu`).
//!
//! - DingTalk: `{"msgtype":"markdown","markdown":{"title","text"}}`. Signed
//!   mode (`secret`): `&timestamp=<ms>&sign=<s>` is added to the URL, where
//!   `s` = URL-encode(base64(HMAC-SHA256(key = secret, message =
//!   "<timestamp_ms>\n<secret>"))), per DingTalk's robot security settings.
//! - WeCom: `{"msgtype":"markdown","markdown":{"content"}}` (content is cut
//!   to WeCom's 4096-byte limit).
//! - Feishu: `{"msg_type":"text","content":{"text"}}`. Signed mode (`secret`):
//!   `"timestamp": "<unix seconds>"` and `"sign": base64(HMAC-SHA256(key =
//!   "<timestamp>\n<secret>", message = empty))` in the body, per Feishu's docs.
//!
//! Every message carries severity, CI name/IP/location, status, priority and
//! tier, the value, SLA due times, grouped incidents and children, and ends
//! with the idempotency key (`key: …`), which survives truncation.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::config::{ChannelConfig, ReceiverConfig};
use super::http::HttpRequest;
use super::secret::Secret;
use super::text::{self, ci_name, facts, headline, incident_url, one_line};
use crate::Notification;
use tocsin_incidents::Incident;

/// Byte limits of the message text per robot (below each API's own).
const DINGTALK_MAX: usize = 18_000;
const WECOM_MAX: usize = 4_000;
const FEISHU_MAX: usize = 18_000;

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(msg);
    B64.encode(mac.finalize().into_bytes())
}

/// DingTalk's `sign` query value (already URL-encoded) for `timestamp_ms`.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let b64 = hmac_b64(
        secret.as_bytes(),
        format!("{timestamp_ms}\n{secret}").as_bytes(),
    );
    form_urlencoded::byte_serialize(b64.as_bytes()).collect()
}

/// Feishu's `sign` body value for `timestamp_s`.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    hmac_b64(format!("{timestamp_s}\n{secret}").as_bytes(), b"")
}

/// The message as markdown (DingTalk, WeCom), at most `max` bytes.
pub fn markdown(n: &Notification, cfg: &ReceiverConfig, max: usize) -> String {
    let mut out = format!("### {}\n\n", headline(n));
    out.push_str(&incident_block(&n.incident, n.created_at, cfg, true));
    for inc in &n.grouped {
        out.push_str(&format!(
            "\n#### Also: #{} {}\n\n",
            inc.id,
            one_line(&inc.title)
        ));
        out.push_str(&incident_block(inc, n.created_at, cfg, true));
    }
    if !n.children.is_empty() {
        out.push_str("\n**Attached children:**\n\n");
        for c in &n.children {
            out.push_str(&format!(
                "- #{} [{}] {} ({})\n",
                c.id,
                c.severity.as_str(),
                one_line(&c.title),
                c.ci_id
            ));
        }
    }
    finish(out, &format!("\n\n`key: {}`", n.idempotency_key), max)
}

/// The message as plain text (Feishu), at most `max` bytes.
pub fn plain(n: &Notification, cfg: &ReceiverConfig, max: usize) -> String {
    let mut out = format!("{}\n", headline(n));
    out.push_str(&incident_block(&n.incident, n.created_at, cfg, false));
    for inc in &n.grouped {
        out.push_str(&format!("\nAlso: #{} {}\n", inc.id, one_line(&inc.title)));
        out.push_str(&incident_block(inc, n.created_at, cfg, false));
    }
    if !n.children.is_empty() {
        out.push_str("\nAttached children:\n");
        for c in &n.children {
            out.push_str(&format!(
                "- #{} [{}] {} ({})\n",
                c.id,
                c.severity.as_str(),
                one_line(&c.title),
                c.ci_id
            ));
        }
    }
    finish(out, &format!("\nkey: {}", n.idempotency_key), max)
}

fn incident_block(inc: &Incident, at: i64, cfg: &ReceiverConfig, md: bool) -> String {
    let mut out = String::new();
    for (label, value) in facts(inc, at) {
        if md {
            out.push_str(&format!("- **{label}**: {}\n", one_line(&value)));
        } else {
            out.push_str(&format!("{label}: {}\n", one_line(&value)));
        }
    }
    if !inc.description.trim().is_empty() {
        out.push('\n');
        for line in inc.description.lines() {
            if md {
                out.push_str(&format!("> {line}\n"));
            } else {
                out.push_str(&format!("{line}\n"));
            }
        }
    }
    if let Some(url) = incident_url(cfg.external_url.as_deref(), inc.id) {
        if md {
            out.push_str(&format!("\n[Open #{} ({})]({url})\n", inc.id, ci_name(inc)));
        } else {
            out.push_str(&format!("{url}\n"));
        }
    }
    out
}

/// `body` cut to fit `max` bytes together with `tail`, then `tail`.
fn finish(mut body: String, tail: &str, max: usize) -> String {
    let room = max.saturating_sub(tail.len());
    if body.len() > room {
        let mut end = room.saturating_sub("\n…".len());
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push_str("\n…");
    }
    body.trim_end().to_string() + tail
}

/// `kind = "dingtalk"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingtalkConfig {
    /// The robot's webhook URL (required); it carries the access token, so
    /// it is a secret and may be `env:VAR`.
    #[serde(default)]
    pub url: Secret,
    /// The robot's signing secret (signed mode).
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// `kind = "wecom"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomConfig {
    /// The robot's webhook URL (required); it carries the key, so it is a
    /// secret and may be `env:VAR`.
    #[serde(default)]
    pub url: Secret,
}

/// `kind = "feishu"`: the receiver's own keys.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeishuConfig {
    /// The robot's webhook URL (required); a secret, may be `env:VAR`.
    #[serde(default)]
    pub url: Secret,
    /// The robot's signing secret (signed mode).
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// The signing secret of a DingTalk or Feishu robot, if set.
fn signing_secret(cfg: &ReceiverConfig) -> Option<&Secret> {
    match &cfg.channel {
        ChannelConfig::Dingtalk(c) => c.secret.as_ref(),
        ChannelConfig::Feishu(c) => c.secret.as_ref(),
        _ => None,
    }
}

/// The JSON body for `n` (Feishu signed at `now_ms` when `secret` is set).
pub fn body(n: &Notification, cfg: &ReceiverConfig, now_ms: i64) -> Value {
    match &cfg.channel {
        ChannelConfig::Dingtalk(_) => json!({
            "msgtype": "markdown",
            "markdown": {"title": text::one_line(&headline(n)), "text": markdown(n, cfg, DINGTALK_MAX)},
        }),
        ChannelConfig::Wecom(_) => json!({
            "msgtype": "markdown",
            "markdown": {"content": markdown(n, cfg, WECOM_MAX)},
        }),
        _ => {
            let mut v = json!({"msg_type": "text", "content": {"text": plain(n, cfg, FEISHU_MAX)}});
            if let Some(secret) = signing_secret(cfg) {
                let ts = now_ms / 1000;
                v["timestamp"] = json!(ts.to_string());
                v["sign"] = json!(feishu_sign(secret.expose(), ts));
            }
            v
        }
    }
}

/// The complete request for `n` at `now_ms`.
pub fn request(n: &Notification, cfg: &ReceiverConfig, url: &str, now_ms: i64) -> HttpRequest {
    let mut url = url.to_string();
    if let ChannelConfig::Dingtalk(c) = &cfg.channel
        && let Some(secret) = &c.secret
    {
        let sep = if url.contains('?') { '&' } else { '?' };
        let sign = dingtalk_sign(secret.expose(), now_ms);
        url.push_str(&format!("{sep}timestamp={now_ms}&sign={sign}"));
    }
    HttpRequest {
        url,
        headers: vec![("Idempotency-Key".to_string(), n.idempotency_key.clone())],
        body: serde_json::to_vec(&body(n, cfg, now_ms)).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NotifyEvent;
    use crate::channels::testutil::{T0, base64_std, config, hmac_sha256, incident, notification};

    const SECRET: &str = "SEC0123456789abcdef";

    /// Percent-encoding of base64 output, written out (`+`, `/`, `=` are the only specials).
    fn urlencode_b64(s: &str) -> String {
        s.replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    }

    #[test]
    fn dingtalk_sign_matches_an_independent_computation() {
        let ts = 1_700_000_000_000i64;
        let expected = urlencode_b64(&base64_std(&hmac_sha256(
            SECRET.as_bytes(),
            format!("{ts}\n{SECRET}").as_bytes(),
        )));
        assert_eq!(dingtalk_sign(SECRET, ts), expected);
        // Computed once with Python's hmac/base64/urllib.parse.quote_plus.
        assert_eq!(expected, "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D");
        let cfg = config(&format!(
            "name = \"d\"\nkind = \"dingtalk\"\nurl = \"https://oapi.dingtalk.com/robot/send?access_token=t\"\nsecret = \"{SECRET}\""
        ));
        let req = request(
            &notification(NotifyEvent::Opened),
            &cfg,
            cfg.endpoint().unwrap(),
            ts,
        );
        assert_eq!(
            req.url,
            format!(
                "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp={ts}&sign={expected}"
            )
        );
    }

    #[test]
    fn feishu_sign_matches_an_independent_computation() {
        let expected = base64_std(&hmac_sha256(
            format!("1700000000\n{SECRET}").as_bytes(),
            b"",
        ));
        assert_eq!(feishu_sign(SECRET, 1_700_000_000), expected);
        assert_eq!(expected, "PiO7POLlSx/DM2qf8Dy/XCWeJK3exVnevp5G99LEN2M=");
        let cfg = config(&format!(
            "name = \"f\"\nkind = \"feishu\"\nurl = \"https://open.feishu.cn/open-apis/bot/v2/hook/x\"\nsecret = \"{SECRET}\""
        ));
        let v = body(&notification(NotifyEvent::Opened), &cfg, 1_700_000_000_999);
        assert_eq!(v["msg_type"], "text");
        assert_eq!(v["timestamp"], "1700000000");
        assert_eq!(v["sign"], expected.as_str());
        let text = v["content"]["text"].as_str().unwrap();
        assert!(
            text.starts_with("[MAJOR] #12 opened: Disk <full>"),
            "{text}"
        );
        assert!(text.ends_with("key: ops/12/opened/1"), "{text}");
    }

    #[test]
    fn dingtalk_and_wecom_markdown() {
        let n = notification(NotifyEvent::Opened);
        let d = config(
            "name = \"d\"\nkind = \"dingtalk\"\nurl = \"https://h/robot/send?access_token=t\"",
        );
        let v = body(&n, &d, T0);
        assert_eq!(v["msgtype"], "markdown");
        assert_eq!(v["markdown"]["title"], headline(&n).as_str());
        let text = v["markdown"]["text"].as_str().unwrap();
        for needle in [
            "### [MAJOR] #12 opened",
            "web01",
            "10.0.0.1",
            "DC1 机房 A-3",
            "major 重大故障",
            "open · P1 · tier 1 (一线)",
            "97.5 (threshold 90)",
            "respond by 2023-11-14 22:23:20 UTC (in 9m, pending)",
            "resolve by 2023-11-15 02:13:20 UTC (in 3h59m, pending)",
            "#13 [general] db01 unreachable",
            "`key: ops/12/opened/1`",
        ] {
            assert!(text.contains(needle), "{needle:?} not in {text}");
        }
        let w = config(
            "name = \"w\"\nkind = \"wecom\"\nurl = \"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k\"",
        );
        let v = body(&n, &w, T0);
        assert_eq!(v["msgtype"], "markdown");
        assert!(
            v["markdown"]["content"]
                .as_str()
                .unwrap()
                .contains("tier 1 (一线)")
        );
    }

    #[test]
    fn wecom_is_cut_to_its_limit_and_keeps_the_key() {
        let mut n = notification(NotifyEvent::Opened);
        for i in 0..60 {
            n.grouped.push(incident(100 + i, &format!("k{i}")));
        }
        let w = config("name = \"w\"\nkind = \"wecom\"\nurl = \"https://h/send?key=k\"");
        let content = body(&n, &w, T0)["markdown"]["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(content.len() <= WECOM_MAX, "{}", content.len());
        assert!(content.ends_with("`key: ops/12/opened/1`"));
        assert!(content.contains('…'));
    }
}
