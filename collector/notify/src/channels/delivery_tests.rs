//! Delivery against real local receivers: the workspace's recording HTTP
//! receiver (`tocsin_e2e::receivers::HttpReceiver`) and a tiny SMTP sink,
//! both on 127.0.0.1.

use std::time::Duration;

use tocsin_e2e::receivers::{HttpReceiver, Reply};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::testutil::{config, hmac_sha256_hex, notification};
use super::{DeliveryOutcome, Receiver, http};
use crate::NotifyEvent;

fn receiver(toml_text: &str) -> Receiver {
    Receiver::new(config(toml_text)).unwrap()
}

/// A recording receiver answering `reply` to everything.
async fn recording(reply: Reply) -> HttpReceiver {
    HttpReceiver::start_with(reply).await.unwrap()
}

fn webhook(base: &str, extra: &str) -> Receiver {
    receiver(&format!(
        "name = \"ops\"\nkind = \"webhook\"\nurl = \"{base}/hook\"\ntimeout = \"2s\"\n{extra}"
    ))
}

#[tokio::test]
async fn webhook_200_delivers_with_headers_and_signature() {
    let server = recording(Reply::new(200, "")).await;
    let r = webhook(
        &server.url(""),
        "hmac_secret = \"k3y-for-hmac\"\nheaders = { X-Team = \"noc\", Authorization = \"Bearer t0ken-xyz\" }",
    );
    let client = http::client().unwrap();
    let n = notification(NotifyEvent::Opened);
    assert_eq!(r.deliver(&client, &n).await, DeliveryOutcome::Delivered);
    let got = server.requests();
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.uri, "/hook");
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(req.header("idempotency-key"), Some("ops/12/opened/1"));
    assert_eq!(req.header("x-team"), Some("noc"));
    assert_eq!(req.header("authorization"), Some("Bearer t0ken-xyz"));
    let sig = req.header("x-tocsin-signature").unwrap();
    assert_eq!(
        sig,
        format!("sha256={}", hmac_sha256_hex(b"k3y-for-hmac", &req.body))
    );
    let ts: i64 = req.header("x-tocsin-timestamp").unwrap().parse().unwrap();
    let body = req.json();
    assert_eq!(body["idempotency_key"], "ops/12/opened/1");
    let sent_at = humantime::parse_rfc3339(body["sent_at"].as_str().unwrap()).unwrap();
    let sent_s = sent_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(sent_s, u64::try_from(ts).unwrap());
}

#[tokio::test]
async fn statuses_map_to_outcomes() {
    let server = recording(Reply::new(200, "")).await;
    let r = webhook(
        &server.url(""),
        "headers = { Authorization = \"Bearer sekrit-value\" }",
    );
    let client = http::client().unwrap();
    let n = notification(NotifyEvent::Opened);

    server.set_default(Reply::new(429, "").header("retry-after", "7"));
    match r.deliver(&client, &n).await {
        DeliveryOutcome::Retry { after, error } => {
            assert_eq!(after, Some(Duration::from_secs(7)));
            assert!(error.contains("429"), "{error}");
        }
        other => panic!("429: {other:?}"),
    }

    server.set_default(Reply::new(503, ""));
    assert!(matches!(
        r.deliver(&client, &n).await,
        DeliveryOutcome::Retry { after: None, .. }
    ));

    server.set_default(Reply::new(
        400,
        "bad request: Bearer sekrit-value not accepted",
    ));
    match r.deliver(&client, &n).await {
        DeliveryOutcome::Failed { error } => {
            assert!(error.contains("400"), "{error}");
            assert!(!error.contains("sekrit-value"), "secret leaked: {error}");
        }
        other => panic!("400: {other:?}"),
    }
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_slow_receiver_times_out_into_retry() {
    let server = recording(Reply::new(200, "").delayed(Duration::from_secs(3))).await;
    let r = receiver(&format!(
        "name = \"ops\"\nkind = \"alertmanager\"\nurl = \"{}/am\"\ntimeout = \"300ms\"",
        server.url("")
    ));
    let started = std::time::Instant::now();
    let outcome = r
        .deliver(&http::client().unwrap(), &notification(NotifyEvent::Opened))
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    match outcome {
        DeliveryOutcome::Retry { error, after: None } => {
            assert!(error.contains("timed out"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let r = webhook(&format!("http://{addr}"), "");
    let outcome = r
        .deliver(&http::client().unwrap(), &notification(NotifyEvent::Opened))
        .await;
    assert!(
        matches!(outcome, DeliveryOutcome::Retry { .. }),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn dingtalk_errcode_in_a_200_fails_without_leaking_the_token() {
    let server = recording(Reply::new(
        200,
        r#"{"errcode":310000,"errmsg":"sign not match, token=abcdef0123456789"}"#,
    ))
    .await;
    let r = receiver(&format!(
        "name = \"dd\"\nkind = \"dingtalk\"\nurl = \"{}/robot/send?access_token=abcdef0123456789\"\n\
         secret = \"SECxyz-signing\"",
        server.url("")
    ));
    let client = http::client().unwrap();
    let n = notification(NotifyEvent::Opened);
    match r.deliver(&client, &n).await {
        DeliveryOutcome::Failed { error } => {
            assert!(error.contains("310000"), "{error}");
            assert!(!error.contains("abcdef0123456789"), "token leaked: {error}");
            assert!(!error.contains("SECxyz"), "secret leaked: {error}");
            assert!(error.contains("/robot/send?<redacted>"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    let req = &server.requests()[0];
    assert!(
        req.uri
            .starts_with("/robot/send?access_token=abcdef0123456789&timestamp="),
        "{}",
        req.uri
    );
    assert!(req.uri.contains("&sign="));
    assert_eq!(req.header("idempotency-key"), Some("ops/12/opened/1"));
    assert_eq!(req.json()["msgtype"], "markdown");

    server.set_default(Reply::new(200, r#"{"errcode":0,"errmsg":"ok"}"#));
    assert_eq!(r.deliver(&client, &n).await, DeliveryOutcome::Delivered);
}

#[tokio::test]
async fn pagerduty_sends_one_event_per_incident() {
    let server = recording(Reply::new(202, r#"{"status":"success","dedup_key":"x"}"#)).await;
    let r = receiver(&format!(
        "name = \"pd\"\nkind = \"pagerduty\"\nurl = \"{}/v2/enqueue\"\nrouting_key = \"rk-0123\"",
        server.url("")
    ));
    let mut n = notification(NotifyEvent::Acknowledged);
    n.grouped.push(super::testutil::incident(14, "k14"));
    assert_eq!(
        r.deliver(&http::client().unwrap(), &n).await,
        DeliveryOutcome::Delivered
    );
    let got = server.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].json()["event_action"], "acknowledge");
    assert_eq!(got[1].json()["event_action"], "trigger");
    assert_eq!(got[1].json()["dedup_key"], "k14");
}

#[test]
fn public_view_hides_secrets() {
    let r = receiver(
        "name = \"dd\"\nkind = \"dingtalk\"\nurl = \"https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789\"\n\
         secret = \"SECxyz-signing\"",
    );
    let v = serde_json::to_string(&r.public_view()).unwrap();
    assert!(!v.contains("abcdef0123456789"), "{v}");
    assert!(!v.contains("SECxyz"), "{v}");
    assert!(v.contains("\"signed\":true"), "{v}");
    let dbg = format!("{r:?}");
    assert!(
        !dbg.contains("abcdef0123456789") && !dbg.contains("SECxyz"),
        "{dbg}"
    );
    let m = receiver(
        "name = \"m\"\nkind = \"email\"\nsmtp_host = \"smtp.example.com\"\nusername = \"u\"\n\
         password = \"pa55word\"\nfrom = \"t@example.com\"\nto = [\"n@example.com\"]",
    );
    let v = serde_json::to_string(&m.public_view()).unwrap();
    assert!(!v.contains("pa55word"), "{v}");
    assert!(v.contains("smtp.example.com:587"), "{v}");
}

/// What the SMTP sink received.
#[derive(Debug, Default)]
struct Mail {
    from: String,
    rcpt: Vec<String>,
    data: String,
}

/// A minimal SMTP server for one session: 220, EHLO/HELO → 250,
/// MAIL/RCPT → 250, DATA → 354 … "." → 250, QUIT → 221.
async fn smtp_sink(listener: TcpListener) -> Mail {
    let (sock, _) = listener.accept().await.unwrap();
    let (r, mut w) = sock.into_split();
    let mut lines = BufReader::new(r).lines();
    let mut mail = Mail::default();
    w.write_all(b"220 sink ESMTP\r\n").await.unwrap();
    while let Some(line) = lines.next_line().await.unwrap() {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink\r\n250 8BITMIME\r\n").await.unwrap();
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = line[10..].trim().to_string();
            w.write_all(b"250 OK\r\n").await.unwrap();
        } else if upper.starts_with("RCPT TO:") {
            mail.rcpt.push(line[8..].trim().to_string());
            w.write_all(b"250 OK\r\n").await.unwrap();
        } else if upper == "DATA" {
            w.write_all(b"354 go ahead\r\n").await.unwrap();
            while let Some(l) = lines.next_line().await.unwrap() {
                if l == "." {
                    break;
                }
                mail.data.push_str(l.strip_prefix('.').unwrap_or(&l));
                mail.data.push('\n');
            }
            w.write_all(b"250 queued\r\n").await.unwrap();
        } else if upper == "QUIT" {
            w.write_all(b"221 bye\r\n").await.unwrap();
            break;
        } else {
            w.write_all(b"250 OK\r\n").await.unwrap();
        }
    }
    mail
}

#[tokio::test]
async fn email_reaches_a_real_smtp_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = tokio::spawn(smtp_sink(listener));
    let r = receiver(&format!(
        "name = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
         timeout = \"5s\"\nfrom = \"Tocsin <tocsin@example.com>\"\n\
         to = [\"noc@example.com\", \"Li Si <li.si@example.com>\"]"
    ));
    let n = notification(NotifyEvent::Opened);
    let outcome = r.deliver(&http::client().unwrap(), &n).await;
    assert_eq!(outcome, DeliveryOutcome::Delivered);
    let mail = tokio::time::timeout(Duration::from_secs(5), sink)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mail.from, "<tocsin@example.com>");
    assert_eq!(mail.rcpt, vec!["<noc@example.com>", "<li.si@example.com>"]);
    let data = &mail.data;
    assert!(
        data.contains("Message-ID: <ops/12/opened/1@example.com>"),
        "{data}"
    );
    assert!(data.contains("multipart/alternative"), "{data}");
    assert!(data.contains("Content-Type: text/plain"), "{data}");
    assert!(data.contains("Content-Type: text/html"), "{data}");
    let subject = data.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(
        subject.contains("[MAJOR] #12 opened: Disk <full>"),
        "{subject}"
    );
    let to = data.lines().find(|l| l.starts_with("To:")).unwrap();
    assert_eq!(to, "To: noc@example.com, \"Li Si\" <li.si@example.com>");
    // Both bodies, decoded from quoted-printable.
    let text = part(data, "text/plain");
    let html = part(data, "text/html");
    assert!(text.contains("Disk <full> & \"nearly\" out"), "{text}");
    assert!(text.contains("Location: DC1 机房 A-3"), "{text}");
    assert!(text.contains("key: ops/12/opened/1"), "{text}");
    assert!(
        html.contains("Disk &lt;full&gt; &amp; &quot;nearly&quot; out"),
        "{html}"
    );
    assert!(html.contains("<td>DC1 机房 A-3</td>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
}

/// The decoded body of the MIME part with `content_type` (quoted-printable or 7bit).
fn part(data: &str, content_type: &str) -> String {
    let start = data.find(&format!("Content-Type: {content_type}")).unwrap();
    let rest = &data[start..];
    let headers_end = rest.find("\n\n").unwrap();
    let qp = rest[..headers_end].contains("quoted-printable");
    let body = &rest[headers_end + 2..];
    let body = &body[..body.find("\n--").unwrap_or(body.len())];
    if !qp {
        return body.to_string();
    }
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn smtp_permanent_rejection_fails() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let (r, mut w) = sock.split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 sink\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let reply: &[u8] = if line.starts_with("EHLO") {
                b"250 sink\r\n"
            } else if line.starts_with("MAIL") {
                b"550 5.7.1 sender rejected\r\n"
            } else {
                b"221 bye\r\n"
            };
            w.write_all(reply).await.unwrap();
        }
    });
    let r = receiver(&format!(
        "name = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
         from = \"tocsin@example.com\"\nto = [\"noc@example.com\"]"
    ));
    let outcome = r
        .deliver(&http::client().unwrap(), &notification(NotifyEvent::Opened))
        .await;
    assert!(
        matches!(outcome, DeliveryOutcome::Failed { ref error } if error.contains("550")),
        "{outcome:?}"
    );
}
