//! The HTTP prober against small servers written here: plain HTTP/1.1 that
//! answers by path, and the same behind TLS with rcgen certificates.

use std::sync::Arc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// Answers one request on `stream` according to its path.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request).to_string();
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let probe_header = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("x-probe: ")
                .or_else(|| l.strip_prefix("X-Probe: "))
        })
        .unwrap_or("")
        .to_owned();
    let (status, extra, body) = match path.as_str() {
        "/error" => (
            "500 Internal Server Error",
            String::new(),
            "error".to_owned(),
        ),
        "/moved" => ("302 Found", "Location: /hop\r\n".to_owned(), String::new()),
        "/hop" => ("302 Found", "Location: /\r\n".to_owned(), String::new()),
        "/loop" => ("302 Found", "Location: /loop\r\n".to_owned(), String::new()),
        "/away" => {
            let host = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("host: ")
                        .or_else(|| l.strip_prefix("Host: "))
                })
                .unwrap_or("")
                .replace("127.0.0.1", "localhost");
            (
                "302 Found",
                format!("Location: http://{host}/\r\n"),
                String::new(),
            )
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            ("200 OK", String::new(), "late".to_owned())
        }
        "/headers" => ("200 OK", String::new(), format!("probe={probe_header}")),
        _ => ("200 OK", String::new(), "Welcome to the shop".to_owned()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// A plain HTTP server; returns its base URL.
async fn http_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(answer(s));
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// How long a test request may take.
const TIMEOUT: Duration = Duration::from_secs(2);

fn check(url: &str) -> HttpCheckConfig {
    HttpCheckConfig::new(url)
}

fn get(o: &Outcome, metric: &str) -> Option<f64> {
    o.measurements
        .iter()
        .find(|(m, _)| *m == metric)
        .map(|(_, v)| *v)
}

#[tokio::test]
async fn status_body_size_and_redirects() {
    let base = http_server().await;
    let mut c = check(&format!("{base}/"));
    c.body_contains = Some("Welcome".into());
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    assert!(o.success(), "{o:?}");
    assert_eq!(get(&o, "probe_http_status_code"), Some(200.0));
    assert_eq!(get(&o, "probe_http_response_bytes"), Some(19.0));
    assert_eq!(get(&o, "probe_http_body_match"), Some(1.0));
    assert_eq!(get(&o, "probe_http_redirects"), Some(0.0));
    assert!(get(&o, "probe_http_time_to_first_byte_seconds").unwrap() <= o.duration.as_secs_f64());
    assert_eq!(
        get(&o, "probe_dns_lookup_time_seconds"),
        None,
        "an IP needs no lookup"
    );
    assert_eq!(get(&o, "probe_tls_cert_valid"), None, "plain http");

    c.body_contains = Some("Checkout".into());
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    assert_eq!(
        o.failure.as_deref(),
        Some("body does not contain \"Checkout\"")
    );
    assert_eq!(get(&o, "probe_http_body_match"), Some(0.0));

    c.body_contains = None;
    c.body_regex = Some("^Welcome to the (shop|store)$".into());
    assert!(HttpProber::new(&c, TIMEOUT).unwrap().run().await.success());

    let o = HttpProber::new(&check(&format!("{base}/error")), TIMEOUT)
        .unwrap()
        .run()
        .await;
    assert_eq!(o.failure.as_deref(), Some("HTTP status 500, expected 2xx"));
    assert_eq!(get(&o, "probe_http_status_code"), Some(500.0));

    let mut c = check(&format!("{base}/error"));
    c.expect_status = vec![500];
    assert!(
        HttpProber::new(&c, TIMEOUT).unwrap().run().await.success(),
        "500 was expected"
    );

    let o = HttpProber::new(&check(&format!("{base}/moved")), TIMEOUT)
        .unwrap()
        .run()
        .await;
    assert!(o.success(), "{o:?}");
    assert_eq!(get(&o, "probe_http_redirects"), Some(2.0));

    let mut c = check(&format!("{base}/moved"));
    c.follow_redirects = Some(false);
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    assert_eq!(o.failure.as_deref(), Some("HTTP status 302, expected 2xx"));

    let mut c = check(&format!("{base}/loop"));
    c.max_redirects = Some(3);
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    let why = o.failure.unwrap();
    assert!(why.contains("more than 3 redirects"), "{why}");
}

#[tokio::test]
async fn names_are_timed_headers_sent_and_slowness_times_out() {
    let base = http_server().await.replace("127.0.0.1", "localhost");
    let mut c = check(&format!("{base}/headers"));
    c.headers.insert("X-Probe".into(), "tocsin".into());
    c.body_contains = Some("probe=tocsin".into());
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    assert!(o.success(), "{o:?}");
    assert!(get(&o, "probe_dns_lookup_time_seconds").is_some());

    // Custom headers never follow a redirect to another host.
    let ip_base = base.replace("localhost", "127.0.0.1");
    let mut c = check(&format!("{ip_base}/away"));
    assert!(
        HttpProber::new(&c, TIMEOUT).unwrap().run().await.success(),
        "no headers: followed"
    );
    c.headers.insert("X-Probe".into(), "secret-token".into());
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    let why = o.failure.unwrap();
    assert!(
        why.contains("redirect to http://localhost not followed"),
        "{why}"
    );
    assert!(!why.contains("secret-token"), "{why}");

    let c = check(&format!("{base}/slow"));
    let o = HttpProber::new(&c, Duration::from_millis(300))
        .unwrap()
        .run()
        .await;
    assert_eq!(o.failure.as_deref(), Some("timed out after 300ms"));
    assert_eq!(get(&o, "probe_http_status_code"), Some(0.0));

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = HttpProber::new(&check(&format!("http://127.0.0.1:{port}/")), TIMEOUT)
        .unwrap()
        .run()
        .await;
    let why = o.failure.unwrap();
    assert!(why.to_lowercase().contains("refused"), "{why}");
}

/// A CA, a leaf for localhost signed by it valid for `days`, and the CA's PEM.
fn certificates(days: i64) -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    leaf.not_before = now - time::Duration::days(1);
    leaf.not_after = now + time::Duration::days(days);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    (leaf_cert.der().clone(), key, ca_cert.pem())
}

/// An HTTPS server on localhost; returns its base URL and the CA's PEM file.
async fn https_server(days: i64) -> (String, tempfile::NamedTempFile) {
    let (cert, key, ca_pem) = certificates(days);
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    answer(tls).await;
                }
            });
        }
    });
    let ca_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca_file.path(), ca_pem).unwrap();
    (format!("https://localhost:{port}/"), ca_file)
}

#[tokio::test]
async fn certificate_expiry_and_validity() {
    let (url, ca_file) = https_server(5).await;
    let mut c = check(&url);
    c.tls_ca_file = Some(ca_file.path().to_owned());
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    assert!(o.success(), "{o:?}");
    let days = get(&o, "probe_tls_cert_expiry_days").unwrap();
    assert!((4.9..=5.0).contains(&days), "{days}");
    assert_eq!(get(&o, "probe_tls_cert_valid"), Some(1.0));
    // A second run is a full handshake again: the certificate is seen again.
    let prober = HttpProber::new(&c, TIMEOUT).unwrap();
    for _ in 0..2 {
        let o = prober.run().await;
        assert_eq!(get(&o, "probe_tls_cert_valid"), Some(1.0), "{o:?}");
    }

    // Without the CA: a failed check naming the reason, expiry still known.
    let o = HttpProber::new(&check(&url), TIMEOUT).unwrap().run().await;
    let why = o.failure.clone().unwrap();
    assert_eq!(
        why,
        "TLS: certificate issued by an unknown CA (UnknownIssuer)"
    );
    assert_eq!(get(&o, "probe_tls_cert_valid"), Some(0.0));
    assert!(get(&o, "probe_tls_cert_expiry_days").unwrap() > 4.9);

    // tls_insecure tolerates it but still reports it.
    let mut c = check(&url);
    c.tls_insecure = true;
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    assert!(o.success(), "{o:?}");
    assert_eq!(get(&o, "probe_tls_cert_valid"), Some(0.0));

    // An expired certificate.
    let (url, ca_file) = https_server(-2).await;
    let mut c = check(&url);
    c.tls_ca_file = Some(ca_file.path().to_owned());
    let o = HttpProber::new(&c, TIMEOUT).unwrap().run().await;
    let why = o.failure.clone().unwrap();
    assert_eq!(why, "TLS: certificate expired", "the same text every run");
    assert!(get(&o, "probe_tls_cert_expiry_days").unwrap() < -1.9);
}
