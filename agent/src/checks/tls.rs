//! TLS for HTTPS checks: a certificate verifier that remembers what the
//! server presented and what verification said, so a check reports the
//! certificate's expiry and validity even when verification fails (and
//! with `tls_insecure`, when the failure is tolerated).
//!
//! Trust: the system's CA certificates (loaded once per process), else the
//! Mozilla roots compiled in, plus a check's `tls_ca_file`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// What the server presented in the last handshake, and whether it verified.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenCertificate {
    /// The leaf certificate's notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// Why verification failed; `None` = verified.
    pub error: Option<String>,
}

/// Where a check's verifier records the certificate of the last handshake.
pub type CertificateSlot = Arc<Mutex<Option<SeenCertificate>>>;

/// Reads every certificate of a PEM file.
pub fn read_pem_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: not a valid PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in the file", path.display()));
    }
    Ok(certs)
}

/// The provider every check uses (the one reqwest is built with).
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// The trusted roots: the system's CA certificates, loaded and parsed once
/// per process, else the compiled-in Mozilla roots.
fn system_store() -> &'static Arc<rustls::RootCertStore> {
    static STORE: OnceLock<Arc<rustls::RootCertStore>> = OnceLock::new();
    STORE.get_or_init(|| {
        let loaded = rustls_native_certs::load_native_certs();
        let mut store = rustls::RootCertStore::empty();
        store.add_parsable_certificates(loaded.certs);
        if store.is_empty() {
            tracing::warn!(
                errors = loaded.errors.len(),
                "no system CA certificates found; HTTPS checks trust the built-in Mozilla roots"
            );
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        Arc::new(store)
    })
}

/// A WebPKI verifier trusting `roots`.
fn verifier(roots: Arc<rustls::RootCertStore>) -> Result<Arc<WebPkiServerVerifier>, String> {
    WebPkiServerVerifier::builder_with_provider(roots, provider())
        .build()
        .map_err(|e| format!("cannot build the certificate verifier: {e}"))
}

/// The verifier trusting the system's roots, built once and shared by every
/// check without a `tls_ca_file` (a root store is ~150 parsed certificates).
fn shared_verifier() -> Result<Arc<WebPkiServerVerifier>, String> {
    static SHARED: OnceLock<Result<Arc<WebPkiServerVerifier>, String>> = OnceLock::new();
    SHARED
        .get_or_init(|| verifier(system_store().clone()))
        .clone()
}

/// A verifier trusting the system's roots plus `extra_roots`, shared by
/// every check trusting the same extra certificates.
fn verifier_with(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<WebPkiServerVerifier>, String> {
    type Cache = Mutex<HashMap<Vec<Vec<u8>>, Arc<WebPkiServerVerifier>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key: Vec<Vec<u8>> = extra_roots.iter().map(|c| c.to_vec()).collect();
    let mut cache = CACHE
        .get_or_init(Cache::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(v) = cache.get(&key) {
        return Ok(v.clone());
    }
    let mut store = rustls::RootCertStore::clone(system_store());
    for cert in extra_roots {
        store
            .add(cert.clone())
            .map_err(|e| format!("tls_ca_file: unusable CA certificate: {e}"))?;
    }
    let v = verifier(Arc::new(store))?;
    cache.insert(key, v.clone());
    Ok(v)
}

/// The rustls client configuration of one check, and the slot its verifier
/// records the server's certificate in. `extra_roots` are trusted besides
/// the system's.
pub fn client_config(
    extra_roots: &[CertificateDer<'static>],
    insecure: bool,
) -> Result<(rustls::ClientConfig, CertificateSlot), String> {
    let inner = if extra_roots.is_empty() {
        shared_verifier()?
    } else {
        verifier_with(extra_roots)?
    };
    let seen = Arc::new(Mutex::new(None));
    let verifier = Arc::new(RecordingVerifier {
        inner,
        insecure,
        seen: seen.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    // Every run is a full handshake: a resumed session presents no certificate.
    config.resumption = rustls::client::Resumption::disabled();
    Ok((config, seen))
}

/// Delegates to the WebPKI verifier and records the leaf and the verdict.
#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    insecure: bool,
    seen: CertificateSlot,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let seen = not_after(end_entity).map(|not_after| SeenCertificate {
            not_after,
            error: verdict.as_ref().err().map(describe),
        });
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = seen;
        match verdict {
            Err(_) if self.insecure => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A verification error as a person reads it, the same text every run for
/// the same fault (rustls' own messages carry the current time).
pub fn describe(e: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(c) = e else {
        return e.to_string();
    };
    match c {
        C::Expired | C::ExpiredContext { .. } => "certificate expired".to_owned(),
        C::NotValidYet | C::NotValidYetContext { .. } => "certificate not valid yet".to_owned(),
        C::UnknownIssuer => "certificate issued by an unknown CA (UnknownIssuer)".to_owned(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "certificate not valid for this host name".to_owned()
        }
        C::Revoked => "certificate revoked".to_owned(),
        C::BadSignature => "certificate has a bad signature".to_owned(),
        other => format!("invalid certificate: {other:?}"),
    }
}

/// The notAfter of a DER certificate, seconds since the Unix epoch.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.validity().not_after.timestamp())
}
