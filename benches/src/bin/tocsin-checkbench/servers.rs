//! The targets, served by this binary again in a child process (`--serve`):
//! plain HTTP, HTTPS with an rcgen CA and leaf, and a TCP listener.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tocsin_agent::checks::{CheckConfig, HttpCheckConfig, IcmpCheckConfig, TcpCheckConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use super::*;

/// Runs the servers until stdin closes; prints `ready <http> <https> <tcp>`.
pub(crate) fn serve(dir: &Path, threads: usize, backlog: u32) -> Result<()> {
    let runtime = if threads == 0 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(async {
        let (config, ca_pem) = tls_server_config()?;
        std::fs::write(dir.join("ca.pem"), ca_pem).context("writing ca.pem")?;
        let (http, https, tcp) = (listen(backlog)?, listen(backlog)?, listen(backlog)?);
        println!(
            "ready {} {} {}",
            http.local_addr()?.port(),
            https.local_addr()?.port(),
            tcp.local_addr()?.port()
        );
        std::io::stdout().flush()?;
        tokio::spawn(serve_http(http, None));
        tokio::spawn(serve_http(https, Some(TlsAcceptor::from(Arc::new(config)))));
        tokio::spawn(async move {
            loop {
                // Accept and close at once: the check only wants the connect.
                if tcp.accept().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        });
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await?;
        Ok(())
    })
}

/// A listener on a free loopback port with room for `backlog` connections
/// not yet accepted: when the agent's checks all connect at the same instant,
/// a full queue drops SYNs and the client retries only after 1 s.
pub(crate) fn listen(backlog: u32) -> Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.bind("127.0.0.1:0".parse()?)?;
    Ok(socket.listen(backlog)?)
}

/// A CA and a leaf for `localhost` and `127.0.0.1` (ECDSA P-256, rcgen's
/// default); the server's configuration and the CA's PEM.
pub(crate) fn tls_server_config() -> Result<(rustls::ServerConfig, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, date_time_ymd,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "tocsin-checkbench CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = date_time_ymd(2024, 1, 1);
    ca.not_after = date_time_ymd(2040, 1, 1);
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = date_time_ymd(2024, 1, 1);
    leaf.not_after = date_time_ymd(2039, 1, 1);
    let key = KeyPair::generate()?;
    let cert = leaf.signed_by(&key, &issuer)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, ca_pem))
}

/// Answers every connection with one fixed 200 response, then closes it.
pub(crate) async fn serve_http(listener: TcpListener, tls: Option<TlsAcceptor>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = match tls {
                None => answer(stream).await,
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => answer(stream).await,
                    Err(e) => Err(e),
                },
            };
        });
    }
}

/// Reads one request head and writes the response.
pub(crate) async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// The server process; stopped (stdin closed, then waited for) when dropped.
pub(crate) struct Servers {
    pub(crate) child: Child,
    pub(crate) http: u16,
    pub(crate) https: u16,
    pub(crate) tcp: u16,
    pub(crate) ca_pem: PathBuf,
    pub(crate) _dir: tempfile::TempDir,
}

impl Servers {
    pub(crate) fn spawn(threads: usize, backlog: u32) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("--serve")
            .arg(dir.path())
            .args(["--server-threads", &threads.to_string()])
            .args(["--backlog", &backlog.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the server process")?;
        let stdout = child.stdout.take().context("server stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let ports: Vec<u16> = line
            .strip_prefix("ready ")
            .map(|rest| {
                rest.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default();
        let [http, https, tcp] = ports[..] else {
            let _ = child.kill();
            let status = child.wait()?;
            bail!("server process did not start (said {line:?}, status {status})");
        };
        Ok(Self {
            child,
            http,
            https,
            tcp,
            ca_pem: dir.path().join("ca.pem"),
            _dir: dir,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The checks: `n` of each kind, named `<kind>-<i>`.
    pub(crate) fn checks(
        &self,
        n: [usize; 4],
        host: &str,
        timeout: Duration,
    ) -> Vec<(bool, CheckConfig)> {
        let [http, https, tcp, icmp] = n;
        let mut out = Vec::with_capacity(http + https + tcp + icmp);
        for i in 0..http {
            let url = format!("http://{host}:{}/http-{i}", self.http);
            let c = CheckConfig::new(&format!("http-{i}"), HttpCheckConfig::new(url));
            out.push((false, c));
        }
        for i in 0..https {
            let mut http = HttpCheckConfig::new(format!("https://{host}:{}/https-{i}", self.https));
            http.tls_ca_file = Some(self.ca_pem.clone());
            out.push((true, CheckConfig::new(&format!("https-{i}"), http)));
        }
        for i in 0..tcp {
            let tcp = TcpCheckConfig::new(format!("{host}:{}", self.tcp));
            out.push((false, CheckConfig::new(&format!("tcp-{i}"), tcp)));
        }
        for i in 0..icmp {
            let icmp = IcmpCheckConfig::new("127.0.0.1");
            out.push((false, CheckConfig::new(&format!("icmp-{i}"), icmp)));
        }
        for (_, c) in &mut out {
            c.timeout = timeout;
        }
        out
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
