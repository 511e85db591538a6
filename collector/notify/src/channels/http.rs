//! Shared HTTP delivery: sending a rendered request and classifying the answer.
//!
//! | answer | outcome |
//! |---|---|
//! | 2xx (robots: and body `errcode`/`code` = 0) | `Delivered` |
//! | 429, 5xx, connect/send errors, timeouts | `Retry` (with `Retry-After`, seconds or HTTP date) |
//! | robots: rate-limit or "system busy" codes | `Retry` (DingTalk 130101 after 60 s) |
//! | other 4xx, 3xx (redirects are not followed), other robot codes (e.g. DingTalk 310000: keyword/sign/IP check failed) | `Failed` |
//!
//! Error texts never contain secrets: URLs appear with their query and
//! token-like path segments redacted, and every known secret value is
//! scrubbed from quoted response bodies.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::DeliveryOutcome;
use super::config::ReceiverKind;
use super::secret::REDACTED;

/// One HTTP POST, fully rendered: what goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Target URL (for robots: with signing query parameters).
    pub url: String,
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: Vec<u8>,
}

/// How much of an error body is quoted in an error message.
const BODY_QUOTE: usize = 300;

/// A client suitable for delivery: no redirects (a receiver that redirects is
/// misconfigured, and a redirect would resend signed bodies elsewhere), rustls
/// for `https://`, and a connect timeout. Per-receiver timeouts are set per request.
pub fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("tocsin/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Sends `req` and classifies the answer. `secrets` are scrubbed from errors.
pub async fn send(
    client: &reqwest::Client,
    req: &HttpRequest,
    kind: ReceiverKind,
    timeout: Duration,
    secrets: &[&str],
) -> DeliveryOutcome {
    let shown = redact_url(&req.url);
    let mut builder = client
        .post(&req.url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(req.body.clone());
    for (k, v) in &req.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let resp = match builder.send().await {
        Ok(r) => r,
        Err(e) => return transport_error(&shown, &e, secrets),
    };
    let status = resp.status();
    let retry_after = retry_after(resp.headers(), SystemTime::now());
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) if status.is_success() && !kind.is_robot() => {
            // The receiver accepted it; a broken body after that changes nothing.
            tracing::debug!(url = %shown, error = %e.without_url(), "reading a 2xx body failed");
            return DeliveryOutcome::Delivered;
        }
        Err(e) => return transport_error(&shown, &e, secrets),
    };
    let text = scrub(&quote(&body), secrets);
    if let Some(outcome) = classify_status(status, retry_after) {
        return match outcome {
            DeliveryOutcome::Retry { error, after } => DeliveryOutcome::Retry {
                error: format!("{shown}: {error}: {text}"),
                after,
            },
            DeliveryOutcome::Failed { error } => DeliveryOutcome::Failed {
                error: format!("{shown}: {error}: {text}"),
            },
            DeliveryOutcome::Delivered => DeliveryOutcome::Delivered,
        };
    }
    // 2xx from a robot: the JSON body says whether it was accepted.
    robot_outcome(kind, &body, &shown, secrets)
}

/// Classifies an HTTP status: `None` for 2xx (delivered, or for robots still
/// to be checked against the body), `Retry` for 408, 429 and 5xx, `Failed`
/// for everything else (other 4xx, and 3xx since redirects are not followed).
pub fn classify_status(status: StatusCode, after: Option<Duration>) -> Option<DeliveryOutcome> {
    let error = format!("HTTP {status}");
    let transient = status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error();
    if status.is_success() {
        None
    } else if transient {
        Some(DeliveryOutcome::Retry { error, after })
    } else {
        Some(DeliveryOutcome::Failed { error })
    }
}

/// The outcome of a 2xx answer from `kind`.
fn robot_outcome(
    kind: ReceiverKind,
    body: &[u8],
    shown: &str,
    secrets: &[&str],
) -> DeliveryOutcome {
    if !kind.is_robot() {
        return DeliveryOutcome::Delivered;
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return DeliveryOutcome::Failed {
            error: format!(
                "{shown}: answered 2xx without the robot's JSON result: {}",
                scrub(&quote(body), secrets)
            ),
        };
    };
    // DingTalk and WeCom: errcode/errmsg; Feishu: code/msg (older: StatusCode/StatusMessage).
    let code = ["errcode", "code", "StatusCode"]
        .iter()
        .find_map(|k| json.get(*k).and_then(serde_json::Value::as_i64));
    let msg = ["errmsg", "msg", "StatusMessage"]
        .iter()
        .find_map(|k| json.get(*k).and_then(serde_json::Value::as_str))
        .unwrap_or("");
    let msg = scrub(msg, secrets);
    match code {
        Some(0) => DeliveryOutcome::Delivered,
        None => DeliveryOutcome::Failed {
            error: format!("{shown}: answered 2xx without an error code"),
        },
        Some(c) => {
            let error = format!("{shown}: {} error {c}: {msg}", kind.as_str());
            match robot_retry(kind, c) {
                Some(after) => DeliveryOutcome::Retry { error, after },
                None => DeliveryOutcome::Failed { error },
            }
        }
    }
}

/// Robot error codes that mean "later": rate limits and "system busy".
/// `Some(after)` for those, `None` for permanent errors.
fn robot_retry(kind: ReceiverKind, code: i64) -> Option<Option<Duration>> {
    match (kind, code) {
        // -1: system busy (DingTalk, WeCom).
        (ReceiverKind::Dingtalk | ReceiverKind::Wecom, -1) => Some(None),
        // DingTalk: "send too fast" (20 messages a minute per robot).
        (ReceiverKind::Dingtalk, 130101) => Some(Some(Duration::from_secs(60))),
        // WeCom: 45009 API frequency limit, 45033 concurrency limit.
        (ReceiverKind::Wecom, 45009 | 45033) => Some(Some(Duration::from_secs(60))),
        // Feishu: 9499 / 11232 rate limited.
        (ReceiverKind::Feishu, 9499 | 11232) => Some(Some(Duration::from_secs(60))),
        _ => None,
    }
}

fn transport_error(shown: &str, e: &reqwest::Error, secrets: &[&str]) -> DeliveryOutcome {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    let mut chain = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let error = scrub(&format!("{shown}: {what}{chain}"), secrets);
    if e.is_builder() {
        DeliveryOutcome::Failed { error }
    } else {
        DeliveryOutcome::Retry { error, after: None }
    }
}

/// `Retry-After` as a delay: delay-seconds or an HTTP date (past dates: zero).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value (RFC 9110: delay-seconds or HTTP-date).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A URL fit for logs and error messages: no user info, the query replaced
/// by `<redacted>`, and token-like path segments (long, or mixing letters and
/// digits like Feishu's hook ids) replaced by `<redacted>`.
pub fn redact_url(text: &str) -> String {
    let Ok(mut url) = reqwest::Url::parse(text) else {
        return REDACTED.to_string();
    };
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    let had_query = url.query().is_some();
    url.set_query(None);
    let path: Vec<String> = url
        .path_segments()
        .map(|segs| {
            segs.map(|s| {
                if looks_like_token(s) {
                    REDACTED.to_string()
                } else {
                    s.to_string()
                }
            })
            .collect()
        })
        .unwrap_or_default();
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    for seg in &path {
        out.push('/');
        out.push_str(seg);
    }
    if had_query {
        out.push('?');
        out.push_str(REDACTED);
    }
    out
}

fn looks_like_token(seg: &str) -> bool {
    let digits = seg.chars().filter(char::is_ascii_digit).count();
    let letters = seg.chars().filter(char::is_ascii_alphabetic).count();
    seg.len() >= 24 || (seg.len() >= 12 && digits >= 3 && letters >= 3)
}

/// Secret values hidden in a URL: query values and token-like path segments.
pub fn url_secrets(text: &str) -> Vec<String> {
    let Ok(url) = reqwest::Url::parse(text) else {
        return vec![text.to_string()];
    };
    let mut out: Vec<String> = url.query_pairs().map(|(_, v)| v.into_owned()).collect();
    if let Some(segs) = url.path_segments() {
        out.extend(segs.filter(|s| looks_like_token(s)).map(str::to_string));
    }
    if let Some(p) = url.password() {
        out.push(p.to_string());
    }
    out.retain(|s| s.len() >= 4);
    out
}

/// Replaces every occurrence of each secret (of 4+ characters) with `<redacted>`.
pub fn scrub(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s, REDACTED);
    }
    out
}

/// The start of a response body as text, for error messages.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_string();
    }
    let mut end = text.len().min(BODY_QUOTE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut q: String = text[..end].replace(['\n', '\r'], " ");
    if end < text.len() {
        q.push('…');
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(120));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(120))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn statuses() {
        assert!(classify_status(StatusCode::OK, None).is_none());
        assert!(matches!(
            classify_status(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3))),
            Some(DeliveryOutcome::Retry { after: Some(d), .. }) if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify_status(StatusCode::BAD_GATEWAY, None),
            Some(DeliveryOutcome::Retry { .. })
        ));
        assert!(matches!(
            classify_status(StatusCode::UNAUTHORIZED, None),
            Some(DeliveryOutcome::Failed { .. })
        ));
        assert!(matches!(
            classify_status(StatusCode::MOVED_PERMANENTLY, None),
            Some(DeliveryOutcome::Failed { .. })
        ));
    }

    #[test]
    fn urls_lose_their_tokens() {
        assert_eq!(
            redact_url("https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789"),
            "https://oapi.dingtalk.com/robot/send?<redacted>"
        );
        assert_eq!(
            redact_url(
                "https://open.feishu.cn/open-apis/bot/v2/hook/1d8d7d0e-2b1f-4c1a-9a7e-0f0e0d0c0b0a"
            ),
            "https://open.feishu.cn/open-apis/bot/v2/hook/<redacted>"
        );
        assert_eq!(
            redact_url("http://user:pw@127.0.0.1:8080/api/v1/alerts"),
            "http://127.0.0.1:8080/api/v1/alerts"
        );
        let s = url_secrets("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx");
        assert_eq!(s, vec!["693a91f6-7xxx".to_string()]);
        assert_eq!(
            scrub("bad key 693a91f6-7xxx!", &["693a91f6-7xxx"]),
            "bad key <redacted>!"
        );
    }

    #[test]
    fn robot_codes() {
        use ReceiverKind as K;
        let ok = robot_outcome(K::Dingtalk, br#"{"errcode":0,"errmsg":"ok"}"#, "u", &[]);
        assert_eq!(ok, DeliveryOutcome::Delivered);
        let feishu = robot_outcome(K::Feishu, br#"{"code":0,"msg":"success"}"#, "u", &[]);
        assert_eq!(feishu, DeliveryOutcome::Delivered);
        let kw = robot_outcome(
            K::Dingtalk,
            br#"{"errcode":310000,"errmsg":"keywords not in content"}"#,
            "u",
            &[],
        );
        assert!(
            matches!(kw, DeliveryOutcome::Failed { ref error } if error.contains("310000")),
            "{kw:?}"
        );
        let fast = robot_outcome(
            K::Dingtalk,
            br#"{"errcode":130101,"errmsg":"send too fast"}"#,
            "u",
            &[],
        );
        assert!(
            matches!(fast, DeliveryOutcome::Retry { after: Some(_), .. }),
            "{fast:?}"
        );
        let wecom = robot_outcome(K::Wecom, br#"{"errcode":45009}"#, "u", &[]);
        assert!(matches!(wecom, DeliveryOutcome::Retry { .. }));
        let html = robot_outcome(K::Wecom, b"<html>proxy</html>", "u", &[]);
        assert!(matches!(html, DeliveryOutcome::Failed { .. }));
        let plain = robot_outcome(K::Webhook, b"whatever", "u", &[]);
        assert_eq!(plain, DeliveryOutcome::Delivered);
    }
}
