//! Fake notification receivers: a recording HTTP server answering from a
//! programmable script, and a tiny SMTP sink that records the messages it is
//! given. The HTTP one is the only recording HTTP receiver of the workspace:
//! the end-to-end tests and `tocsin-notify`'s delivery tests both use it.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One answer of the recording server.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: String,
    /// How long the server waits before answering (after recording the request).
    pub delay: Duration,
}

impl Reply {
    /// An answer with `status` and `body`, given at once.
    pub fn new(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    /// The same answer, given only after `delay` (a slow receiver).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// One request the server received, with the status it answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: String,
    /// Path and query, e.g. `/robot/send?access_token=t`.
    pub uri: String,
    /// Request headers, names lowercase (the last value of repeated ones).
    pub headers: BTreeMap<String, String>,
    /// Raw body bytes.
    pub body: Vec<u8>,
    /// The status answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A request header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The `Idempotency-Key` header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.header("idempotency-key")
    }
}

#[derive(Default)]
struct HttpState {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    requests: Vec<Recorded>,
}

/// A recording HTTP server on 127.0.0.1 (any path, any method).
#[derive(Clone)]
pub struct HttpReceiver {
    addr: SocketAddr,
    state: Arc<Mutex<HttpState>>,
}

impl HttpReceiver {
    /// Starts a server answering 200 `{"errcode":0,"errmsg":"ok"}` by default
    /// (fine for webhooks and for the DingTalk/WeCom robots).
    pub async fn start() -> Result<Self> {
        Self::start_with(Reply::new(200, r#"{"errcode":0,"errmsg":"ok"}"#)).await
    }

    /// Starts a server answering `default` unless a scripted answer is queued.
    pub async fn start_with(default: Reply) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(HttpState {
            default: Some(default),
            ..HttpState::default()
        }));
        let st = state.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let st = st.clone();
                async move {
                    let (delay, resp) = handle(&st, method, uri, headers, body);
                    tokio::time::sleep(delay).await;
                    resp
                }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, state })
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues answers given before falling back to the default one.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// Changes the default answer (and drops queued ones).
    pub fn set_default(&self, reply: Reply) {
        let mut s = self.state.lock().unwrap();
        s.script.clear();
        s.default = Some(reply);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests carrying `Idempotency-Key: key`.
    pub fn with_key(&self, key: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.idempotency_key() == Some(key))
            .collect()
    }

    /// Waits until a request satisfying `pred` arrived; returns it.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Result<Recorded> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.requests().into_iter().find(&pred) {
                return Ok(r);
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = self
                    .requests()
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {} -> {}: {}",
                            r.method,
                            r.uri,
                            r.status,
                            String::from_utf8_lossy(&r.body)
                        )
                    })
                    .collect();
                anyhow::bail!(
                    "timed out after {timeout:?} waiting for {what}; received:\n{}",
                    seen.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Records one request and builds its answer; returns how long to wait
/// before giving it.
fn handle(
    st: &Mutex<HttpState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (Duration, Response) {
    let mut s = st.lock().unwrap();
    let reply = s
        .script
        .pop_front()
        .or_else(|| s.default.clone())
        .unwrap_or_else(|| Reply::new(200, "{}"));
    let mut hs = BTreeMap::new();
    for (k, v) in &headers {
        hs.insert(
            k.as_str().to_ascii_lowercase(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
    }
    s.requests.push(Recorded {
        method: method.to_string(),
        uri: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string()),
        headers: hs,
        body: body.to_vec(),
        status: reply.status,
        at: Instant::now(),
    });
    let mut resp = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body,
    )
        .into_response();
    resp.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    for (k, v) in reply.headers {
        if let (Ok(k), Ok(v)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(&v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    (reply.delay, resp)
}

/// One message the SMTP sink accepted.
#[derive(Debug, Clone)]
pub struct Mail {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message as received (dot-unstuffed), CRLF line ends.
    pub data: String,
}

impl Mail {
    /// Top-level headers, unfolded, names lowercase.
    pub fn headers(&self) -> BTreeMap<String, String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        parse_headers(head)
    }

    /// One top-level header (name case-insensitive), unfolded and with
    /// RFC 2047 encoded words left as they are.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers().get(&name.to_ascii_lowercase()).cloned()
    }

    /// The MIME leaf parts as (content type, decoded body).
    pub fn parts(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        collect_parts(&self.data, &mut out);
        out
    }
}

fn parse_headers(head: &str) -> BTreeMap<String, String> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    let mut out = BTreeMap::new();
    for line in unfolded.split("\r\n") {
        if let Some((k, v)) = line.split_once(':') {
            out.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

fn collect_parts(entity: &str, out: &mut Vec<(String, String)>) {
    let (head, body) = entity.split_once("\r\n\r\n").unwrap_or((entity, ""));
    let headers = parse_headers(head);
    let ctype = headers.get("content-type").cloned().unwrap_or_default();
    if ctype.to_ascii_lowercase().starts_with("multipart/") {
        let Some(boundary) = ctype.split(';').find_map(|p| {
            p.trim()
                .strip_prefix("boundary=")
                .map(|b| b.trim_matches('"').to_string())
        }) else {
            return;
        };
        let delim = format!("--{boundary}");
        for chunk in body.split(&delim).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
            collect_parts(chunk, out);
        }
        return;
    }
    let cte = headers
        .get("content-transfer-encoding")
        .map(|s| s.to_ascii_lowercase())
        .unwrap_or_default();
    let decoded = match cte.as_str() {
        "base64" => {
            use base64::Engine as _;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_else(|_| body.to_string())
        }
        "quoted-printable" => decode_qp(body),
        _ => body.to_string(),
    };
    let ctype = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    out.push((ctype, decoded));
}

fn decode_qp(s: &str) -> String {
    let s = s.replace("=\r\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'='
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A tiny SMTP server on 127.0.0.1 recording every message (no TLS, no auth).
#[derive(Clone)]
pub struct SmtpSink {
    /// The port it listens on.
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Starts the sink.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let m = mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let _ = session(sock, m).await;
                });
            }
        });
        Ok(Self { port, mails })
    }

    /// Every message so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Waits until a message satisfying `pred` arrived.
    pub async fn wait_for(&self, timeout: Duration, pred: impl Fn(&Mail) -> bool) -> Result<Mail> {
        crate::wait_for(timeout, || async {
            Ok(self.mails().into_iter().find(|m| pred(m)))
        })
        .await
        .with_context(|| format!("no matching e-mail; received: {:#?}", self.mails()))
    }
}

async fn session(sock: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) -> Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP tocsin-e2e\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n")
                .await?;
        } else if upper.starts_with("HELO") {
            w.write_all(b"250 sink.test\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = addr(&cmd[10..]);
            to.clear();
            w.write_all(b"250 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(addr(&cmd[8..]));
            w.write_all(b"250 OK\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            mails.lock().unwrap().push(Mail {
                from: from.clone(),
                to: std::mem::take(&mut to),
                data,
            });
            w.write_all(b"250 OK queued\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 Bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n").await?;
        } else {
            w.write_all(b"502 Command not implemented\r\n").await?;
        }
    }
}

/// `<a@b>` (with optional parameters after it) → `a@b`.
fn addr(s: &str) -> String {
    let s = s.trim();
    match (s.find('<'), s.find('>')) {
        (Some(a), Some(b)) if a < b => s[a + 1..b].to_string(),
        _ => s.split_whitespace().next().unwrap_or("").to_string(),
    }
}

/// Lowercase hex of HMAC-SHA256(`key`, `msg`), computed independently of the collector.
pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    hmac_sha256(key, msg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// HMAC-SHA256(`key`, `msg`).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC takes keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// Standard base64.
pub fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
