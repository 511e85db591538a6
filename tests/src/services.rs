//! Targets for the agent's service checks (issue 6): a plain HTTP server whose
//! behaviour a test switches at run time, an HTTPS server with a generated
//! certificate of chosen lifetime, and a loopback port nobody listens on.
//!
//! Both servers serve every connection in a task owned by the server, so
//! dropping a server closes its listener *and* its kept-alive connections:
//! a client sees it down at once.

use std::net::SocketAddr;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// The text every healthy answer contains (for `body_contains` checks).
pub const WELCOME: &str = "Welcome to the shop";

/// Body of [`Mode::WrongBody`] answers: a 200 without [`WELCOME`].
pub const MAINTENANCE: &str = "Maintenance page";

/// Where [`Mode::Redirect`] sends clients; this path answers like [`Mode::Ok`].
pub const LANDING: &str = "/landing";

/// How a [`ServiceServer`] answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 200 with a body containing [`WELCOME`].
    Ok,
    /// This status with the body "error".
    Status(u16),
    /// Sleeps this long, then answers like [`Mode::Ok`].
    Slow(Duration),
    /// 200 with [`MAINTENANCE`] as body (no [`WELCOME`]).
    WrongBody,
    /// 302 to [`LANDING`], which answers like [`Mode::Ok`].
    Redirect,
}

/// What the handler shares with the test.
struct Shared {
    mode: Mutex<Mode>,
    requests: AtomicUsize,
    last_headers: Mutex<HeaderMap>,
}

/// Locks a mutex, ignoring poisoning (a panicked test thread must not hide the state).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A local HTTP server on `127.0.0.1` whose answers follow a switchable
/// [`Mode`]; stops when dropped.
pub struct ServiceServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ServiceServer {
    /// Starts the server on a free port in [`Mode::Ok`].
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the service server")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(Mode::Ok),
            requests: AtomicUsize::new(0),
            last_headers: Mutex::new(HeaderMap::new()),
        });
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(serve(listener, None, app));
        Ok(Self { addr, shared, task })
    }

    /// Base URL, `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches how the following requests are answered.
    pub fn set(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Number of requests received so far (a followed redirect counts twice).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Value of header `name` in the last request, if it was present and
    /// valid UTF-8.
    pub fn last_header(&self, name: &str) -> Option<String> {
        lock(&self.shared.last_headers)
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl Drop for ServiceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The [`ServiceServer`] handler: any method, any path.
async fn answer(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    *lock(&shared.last_headers) = req.headers().clone();
    let mode = lock(&shared.mode).clone();
    match mode {
        Mode::Redirect if req.uri().path() != LANDING => {
            (StatusCode::FOUND, [(header::LOCATION, LANDING)]).into_response()
        }
        Mode::Ok | Mode::Redirect => welcome().into_response(),
        Mode::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, "error").into_response()
        }
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            welcome().into_response()
        }
        Mode::WrongBody => (StatusCode::OK, html(MAINTENANCE)).into_response(),
    }
}

pub(crate) fn welcome() -> (StatusCode, axum::response::Html<String>) {
    (StatusCode::OK, html(WELCOME))
}

fn html(text: &str) -> axum::response::Html<String> {
    axum::response::Html(page(text))
}

/// The HTML page the servers answer with, around `text`.
pub fn page(text: &str) -> String {
    format!("<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>\n")
}

/// Accepts connections until the task is aborted; each connection (TLS
/// handshake included) runs in a task of a set that dies with this one, so
/// a failed handshake or a broken connection never stops the server.
pub(crate) async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>, app: Router) {
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            // Reap finished connections so the set does not grow forever.
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let Ok((stream, _)) = accepted else {
            // e.g. EMFILE: back off a little rather than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        conns.spawn(async move {
            match tls {
                None => serve_conn(stream, app).await,
                // Clients that reject the certificate abort the handshake.
                Some(tls) => {
                    if let Ok(stream) = tls.accept(stream).await {
                        serve_conn(stream, app).await;
                    }
                }
            }
        });
    }
}

/// Serves HTTP/1.1 on one connection until the client closes it.
async fn serve_conn<S>(stream: S, app: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await;
}

pub use crate::tls_server::TlsServer;

/// A loopback TCP port with nothing listening: bound to `127.0.0.1:0`, then
/// released, so connecting to it is refused (unless someone grabs it meanwhile).
///
/// The one pre-picked port the harness keeps on purpose: a port nobody
/// listens on cannot be learnt from a process, because no process binds it.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn trusting(pem_file: &std::path::Path) -> Result<reqwest::Client> {
        let pem = std::fs::read(pem_file)?;
        Ok(reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem)?])
            .tls_info(true)
            .build()?)
    }

    /// The error and all its causes on one line.
    fn chain(e: &reqwest::Error) -> String {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        text
    }

    #[tokio::test]
    async fn modes_are_visible_to_the_client() -> Result<()> {
        let server = ServiceServer::start().await?;
        let client = reqwest::Client::new();
        let get = || client.get(server.url()).send();

        let r = get().await?;
        assert_eq!(r.status(), 200);
        assert!(r.text().await?.contains(WELCOME));

        server.set(Mode::Status(503));
        let r = get().await?;
        assert_eq!(r.status(), 503);
        assert_eq!(r.text().await?, "error");

        server.set(Mode::WrongBody);
        let r = get().await?;
        assert_eq!(r.status(), 200);
        let body = r.text().await?;
        assert!(
            body.contains(MAINTENANCE) && !body.contains(WELCOME),
            "{body}"
        );

        server.set(Mode::Redirect);
        let before = server.requests();
        let r = get().await?;
        assert_eq!(r.status(), 200);
        assert_eq!(r.url().path(), LANDING);
        assert!(r.text().await?.contains(WELCOME));
        assert_eq!(server.requests(), before + 2, "redirect and landing page");
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?
            .get(server.url())
            .send()
            .await?;
        assert_eq!(r.status(), 302);
        assert_eq!(r.headers()[reqwest::header::LOCATION], LANDING);

        let delay = Duration::from_millis(300);
        server.set(Mode::Slow(delay));
        let started = Instant::now();
        let r = get().await?;
        assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
        assert_eq!(r.status(), 200);
        assert!(r.text().await?.contains(WELCOME));

        server.set(Mode::Ok);
        assert_eq!(get().await?.status(), 200);
        assert_eq!(server.requests(), 8);
        Ok(())
    }

    #[tokio::test]
    async fn last_request_headers_are_recorded() -> Result<()> {
        let server = ServiceServer::start().await?;
        assert_eq!(server.last_header("x-check"), None);
        reqwest::Client::new()
            .get(format!("{}health?x=1", server.url()))
            .header("X-Check", "tocsin")
            .header(reqwest::header::USER_AGENT, "tocsin-agent/test")
            .send()
            .await?;
        assert_eq!(server.last_header("x-check").as_deref(), Some("tocsin"));
        assert_eq!(
            server.last_header("User-Agent").as_deref(),
            Some("tocsin-agent/test")
        );
        Ok(())
    }

    #[tokio::test]
    async fn dropped_server_refuses_even_kept_alive_connections() -> Result<()> {
        let server = ServiceServer::start().await?;
        let url = server.url();
        let client = reqwest::Client::new();
        assert_eq!(client.get(&url).send().await?.status(), 200);
        drop(server);
        // The abort takes effect once the runtime gets to the server's task.
        crate::wait_for(Duration::from_secs(10), || async {
            Ok(client.get(&url).send().await.is_err().then_some(()))
        })
        .await
        .context("a kept-alive connection is still served")?;
        Ok(())
    }

    #[tokio::test]
    async fn tls_server_is_trusted_through_its_ca() -> Result<()> {
        let days = 10;
        let server = TlsServer::start(days).await?;
        let client = trusting(server.ca_pem_path())?;
        for url in [server.url(), server.url_ip()] {
            let r = client.get(format!("{url}some/path")).send().await?;
            assert_eq!(r.status(), 200, "{url}");
            let info = r
                .extensions()
                .get::<reqwest::tls::TlsInfo>()
                .context("no TLS info")?;
            let der = info.peer_certificate().context("no peer certificate")?;
            let (_, cert) = x509_parser::parse_x509_certificate(der)?;
            let not_after = cert.validity().not_after.timestamp();
            assert_eq!(not_after, server.not_after_unix());
            let expected = time::OffsetDateTime::now_utc().unix_timestamp() + days * 86_400;
            assert!(
                (not_after - expected).abs() < 60,
                "{not_after} vs {expected}"
            );
            assert!(r.text().await?.contains(WELCOME));
        }
        Ok(())
    }

    #[tokio::test]
    async fn self_signed_certificate_fails_verification() -> Result<()> {
        let server = TlsServer::start_self_signed(2).await?;
        let other = TlsServer::start(2).await?;

        let err = trusting(other.ca_pem_path())?
            .get(server.url())
            .send()
            .await
            .err()
            .context("a foreign CA accepted the self-signed certificate")?;
        assert!(err.is_connect(), "{}", chain(&err));
        assert!(chain(&err).contains("certificate"), "{}", chain(&err));

        let err = reqwest::Client::new()
            .get(server.url())
            .send()
            .await
            .err()
            .context("the platform roots accepted the self-signed certificate")?;
        assert!(chain(&err).contains("certificate"), "{}", chain(&err));

        // Failed handshakes leave the server running; trusting the leaf works.
        let r = trusting(server.ca_pem_path())?
            .get(server.url())
            .send()
            .await?;
        assert_eq!(r.status(), 200);
        Ok(())
    }

    #[tokio::test]
    async fn closed_port_refuses_connections() -> Result<()> {
        let port = closed_port();
        let err = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .err()
            .context("something listens on the closed port")?;
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        Ok(())
    }
}
