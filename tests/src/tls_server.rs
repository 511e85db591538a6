//! An HTTPS target for the agent's certificate checks: a certificate for
//! `localhost` and `127.0.0.1` with a chosen lifetime, signed by a generated
//! CA (or by itself), that the test can renew while the server runs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, anyhow};
use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tempfile::TempDir;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::aws_lc_rs;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;

use crate::services::{serve, welcome};

/// An HTTPS server on `127.0.0.1` with a freshly generated certificate for
/// `localhost` and `127.0.0.1`; answers 200 [`WELCOME`](crate::services::WELCOME)
/// on every path and stops when dropped.
pub struct TlsServer {
    addr: SocketAddr,
    ca_pem: PathBuf,
    not_after: AtomicI64,
    issuer: Option<Issuer<'static, KeyPair>>,
    current: Arc<CurrentCert>,
    task: JoinHandle<()>,
    _dir: TempDir,
}

/// The certificate the server presents now (swapped by [`TlsServer::renew`]).
#[derive(Debug)]
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.read().ok().map(|c| c.clone())
    }
}

impl TlsServer {
    /// Starts with a leaf certificate signed by a generated CA, valid from a
    /// day ago until `valid_days` days from now (negative: already expired).
    /// Clients trust it through [`TlsServer::ca_pem_path`].
    pub async fn start(valid_days: i64) -> Result<Self> {
        Self::start_inner(valid_days, true).await
    }

    /// Like [`TlsServer::start`], but the leaf certificate signs itself (no
    /// CA), so a client verifying against its usual roots rejects it;
    /// [`TlsServer::ca_pem_path`] then holds the leaf itself.
    pub async fn start_self_signed(valid_days: i64) -> Result<Self> {
        Self::start_inner(valid_days, false).await
    }

    async fn start_inner(valid_days: i64, with_ca: bool) -> Result<Self> {
        let (not_before, not_after) = validity(valid_days)?;
        let (issuer, ca_pem_text) = if with_ca {
            let (ca, pem) = generate_ca(not_before, not_after + time::Duration::days(365))?;
            (Some(ca), Some(pem))
        } else {
            (None, None)
        };
        let (leaf, key) = generate_leaf(not_before, not_after, issuer.as_ref())?;
        let trust_pem = ca_pem_text.unwrap_or_else(|| leaf.pem());
        let dir = tempfile::tempdir().context("temp dir for the CA certificate")?;
        let ca_pem = dir.path().join("ca.pem");
        std::fs::write(&ca_pem, trust_pem)
            .with_context(|| format!("writing {}", ca_pem.display()))?;

        let current = Arc::new(CurrentCert(RwLock::new(certified(&leaf, &key)?)));
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(aws_lc_rs::default_provider()))
                .with_safe_default_protocol_versions()
                .context("TLS protocol versions")?
                .with_no_client_auth()
                .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the TLS server")?;
        let addr = listener.local_addr()?;
        let app = Router::new().fallback(|| async { welcome() });
        let task = tokio::spawn(serve(
            listener,
            Some(TlsAcceptor::from(Arc::new(config))),
            app,
        ));
        Ok(Self {
            addr,
            ca_pem,
            not_after: AtomicI64::new(not_after.unix_timestamp()),
            issuer,
            current,
            task,
            _dir: dir,
        })
    }

    /// Presents a new certificate from the same issuer, valid until
    /// `valid_days` days from now, to every new connection.
    pub fn renew(&self, valid_days: i64) -> Result<()> {
        let (not_before, not_after) = validity(valid_days)?;
        let (leaf, key) = generate_leaf(not_before, not_after, self.issuer.as_ref())?;
        let next = certified(&leaf, &key)?;
        *self
            .current
            .0
            .write()
            .map_err(|_| anyhow!("certificate lock poisoned"))? = next;
        self.not_after
            .store(not_after.unix_timestamp(), Ordering::SeqCst);
        Ok(())
    }

    /// `https://localhost:PORT/` (matches the certificate's DNS name).
    pub fn url(&self) -> String {
        format!("https://localhost:{}/", self.addr.port())
    }

    /// `https://127.0.0.1:PORT/` (matches the certificate's IP address).
    pub fn url_ip(&self) -> String {
        format!("https://{}/", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM file of the certificate a client must trust: the CA, or the leaf
    /// itself for [`TlsServer::start_self_signed`] (which [`TlsServer::renew`]
    /// does not update).
    pub fn ca_pem_path(&self) -> &Path {
        &self.ca_pem
    }

    /// The current leaf certificate's `notAfter`, in seconds since the Unix epoch.
    pub fn not_after_unix(&self) -> i64 {
        self.not_after.load(Ordering::SeqCst)
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// From a day ago (whole seconds) to `valid_days` days from now.
fn validity(valid_days: i64) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    Ok((
        now - time::Duration::days(1),
        now + time::Duration::days(valid_days),
    ))
}

/// A CA able to sign server certificates, and its certificate in PEM for
/// clients to trust.
fn generate_ca(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<(Issuer<'static, KeyPair>, String)> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "Tocsin test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let key = KeyPair::generate().context("CA key")?;
    let pem = ca.self_signed(&key).context("CA certificate")?.pem();
    Ok((Issuer::new(ca, key), pem))
}

/// A server certificate for localhost and 127.0.0.1, signed by `issuer`
/// (or by itself), and its key.
fn generate_leaf(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    issuer: Option<&Issuer<'static, KeyPair>>,
) -> Result<(rcgen::Certificate, KeyPair)> {
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.not_before = not_before;
    params.not_after = not_after;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().context("leaf key")?;
    let cert = match issuer {
        Some(ca) => params.signed_by(&key, ca).context("leaf certificate")?,
        None => params
            .self_signed(&key)
            .context("self-signed certificate")?,
    };
    Ok((cert, key))
}

/// The certificate and key as rustls presents them.
fn certified(cert: &rcgen::Certificate, key: &KeyPair) -> Result<Arc<CertifiedKey>> {
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = aws_lc_rs::default_provider();
    Ok(Arc::new(
        CertifiedKey::from_der(vec![cert.der().clone()], key, &provider)
            .context("server certificate and key")?,
    ))
}
