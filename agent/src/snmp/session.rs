//! An open SNMP session (v2c or v3 USM) to one target, and the translation of
//! the library's errors into short, actionable messages.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_snmp::transport::UdpTransport;
use async_snmp::{Auth, Client, EngineCache, ErrorKind, Oid, Retry, UdpHandle, UsmConfig, VarBind};
use tokio::sync::OnceCell;

use super::config::{AuthProtocol, Credentials, PrivProtocol, SnmpTarget, SnmpVersion};

/// Why a request to a device failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnmpError {
    /// Nothing answered within timeout × (retries + 1).
    #[error("{0}")]
    NoResponse(String),
    /// The device rejected the v3 credentials.
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    /// The target's settings cannot be used.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Any other failure (network, decoding, protocol error).
    #[error("{0}")]
    Other(String),
}

impl SnmpError {
    /// Whether the device gave no sign of life (as opposed to answering with an error).
    pub fn is_unreachable(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Translates a library error for a target of `version`.
    pub fn from_lib(err: &async_snmp::Error, version: SnmpVersion) -> Self {
        match err.kind() {
            ErrorKind::Timeout | ErrorKind::ConstructionTimeout => {
                Self::NoResponse(match version {
                    SnmpVersion::V2c => "no response (wrong community, or device down?)".to_owned(),
                    SnmpVersion::V3 => "no response (device down or SNMP blocked?)".to_owned(),
                })
            }
            // The request could not even leave (no route, link down): no answer.
            ErrorKind::Network => Self::NoResponse(format!("network error: {err}")),
            ErrorKind::Auth => Self::AuthFailed("wrong user or auth password".to_owned()),
            ErrorKind::Report => Self::AuthFailed(report_reason(&err.to_string())),
            ErrorKind::Privacy => Self::AuthFailed(format!("privacy: {err}")),
            ErrorKind::Config => Self::Config(err.to_string()),
            _ => Self::Other(err.to_string()),
        }
    }
}

/// A readable reason from a v3 Report's message (which names the usmStats counter).
fn report_reason(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    let reason = if lower.contains("wrongdigest") || lower.contains("wrong digest") {
        "wrong auth password or protocol"
    } else if lower.contains("unknownuser") || lower.contains("unknown user") {
        "unknown user"
    } else if lower.contains("decryption") {
        "wrong privacy password or protocol"
    } else if lower.contains("unsupportedseclevel") || lower.contains("security level") {
        "security level not supported for this user"
    } else {
        return message.to_owned();
    };
    format!("{reason} ({message})")
}

/// Receive buffer asked for on a shared socket (the kernel caps it at
/// `net.core.rmem_max`): replies of many devices arrive on it at once.
const SHARED_RECV_BUFFER: usize = 4 << 20;

/// UDP sockets shared by every session of one poller: one per address
/// family, bound on first use. Sharing one socket (async-snmp matches
/// replies to requests by request id) instead of binding one per session
/// saves a buffer and a receive task per device, and avoids the ephemeral
/// port collisions `SO_REUSEADDR` sockets can get, which crossed replies
/// between devices polled at the same time.
#[derive(Clone, Default)]
pub struct Transports {
    v4: Arc<OnceCell<UdpTransport>>,
    v6: Arc<OnceCell<UdpTransport>>,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transports")
            .field("v4", &self.v4.initialized())
            .field("v6", &self.v6.initialized())
            .finish()
    }
}

impl Transports {
    /// Sockets not bound yet.
    pub fn new() -> Self {
        Self::default()
    }

    async fn get(&self, v6: bool) -> Result<&UdpTransport, SnmpError> {
        let (cell, bind) = if v6 {
            (&self.v6, "[::]:0")
        } else {
            (&self.v4, "0.0.0.0:0")
        };
        cell.get_or_try_init(|| async {
            UdpTransport::builder()
                .bind(bind)
                .recv_buffer_size(SHARED_RECV_BUFFER)
                .build()
                .await
                .map_err(|e| SnmpError::Other(format!("cannot bind a UDP socket on {bind}: {e}")))
        })
        .await
    }
}

/// An open session to one target.
pub struct Session {
    client: Client<UdpHandle>,
    version: SnmpVersion,
    /// v3 only: engine discovery results, to tell rejected credentials from silence.
    engines: Arc<EngineCache>,
}

impl Session {
    /// Opens a UDP session to `target` on a socket of its own (no packet is sent yet).
    pub async fn open(target: &SnmpTarget) -> Result<Self, SnmpError> {
        Self::open_with(target, &Transports::new()).await
    }

    /// Opens a session to `target` on the shared `transports`.
    pub async fn open_with(
        target: &SnmpTarget,
        transports: &Transports,
    ) -> Result<Self, SnmpError> {
        let auth = auth(target)?;
        let retry = Retry::fixed(target.retries, Duration::ZERO)
            .map_err(|e| SnmpError::Config(format!("retries: {e}")))?;
        let engines = Arc::new(EngineCache::new());
        let builder = || {
            Client::builder((target.address.as_str(), target.port), auth.clone())
                .engine_cache(Arc::clone(&engines))
                .request_timeout(target.timeout)
                .construction_timeout(target.timeout)
                .retry(retry.clone())
        };
        let literal_v6 = target
            .address
            .parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| ip.is_ipv6());
        let first_v6 = literal_v6.unwrap_or(false);
        let mut result = builder().build_with(transports.get(first_v6).await?).await;
        // A host name may resolve to IPv6 addresses only.
        if result.is_err() && literal_v6.is_none() {
            result = builder().build_with(transports.get(true).await?).await;
        }
        let client = result.map_err(|e| SnmpError::from_lib(&e, target.version()))?;
        Ok(Self {
            client,
            version: target.version(),
            engines,
        })
    }

    /// The device's resolved address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.client.peer_addr()
    }

    /// The SNMP version in use.
    pub fn version(&self) -> SnmpVersion {
        self.version
    }

    /// The underlying client, for walks.
    pub fn client(&self) -> &Client<UdpHandle> {
        &self.client
    }

    /// GETs `oids` in one exchange (split by the library if needed).
    pub async fn get(&self, oids: &[Oid]) -> Result<Vec<VarBind>, SnmpError> {
        self.client
            .get_many(oids)
            .await
            .map(|r| r.varbinds)
            .map_err(|e| self.error(&e))
    }

    /// Translates a library error from this session.
    ///
    /// A v3 agent answers a wrong password with an *unauthenticated* Report,
    /// which the library rightly refuses to trust, so the request times out.
    /// If the same agent answered engine discovery, that silence means it
    /// rejected the credentials.
    pub fn error(&self, err: &async_snmp::Error) -> SnmpError {
        let e = SnmpError::from_lib(err, self.version);
        if matches!(e, SnmpError::NoResponse(_))
            && self.version == SnmpVersion::V3
            && self.engines.get(&self.peer_addr()).is_some()
        {
            return SnmpError::AuthFailed(
                "the device answers engine discovery but ignores our requests \
                 (wrong user, auth or privacy password, or protocol?)"
                    .to_owned(),
            );
        }
        e
    }
}

fn auth(target: &SnmpTarget) -> Result<Auth, SnmpError> {
    match &target.credentials {
        Credentials::V2c(c) => {
            if c.community.is_empty() {
                return Err(SnmpError::Config("community: required".to_owned()));
            }
            Ok(Auth::v2c(c.community.expose().as_bytes().to_vec()))
        }
        Credentials::V3(u) => {
            let mut problems = Vec::new();
            u.validate(&mut problems);
            if !problems.is_empty() {
                return Err(SnmpError::Config(problems.join("; ")));
            }
            let ap = match u.auth.protocol {
                AuthProtocol::Sha => async_snmp::AuthProtocol::Sha1,
                AuthProtocol::Sha256 => async_snmp::AuthProtocol::Sha256,
            };
            let usm = UsmConfig::new(u.user.clone().into_bytes());
            let apw = u.auth.password.expose();
            let usm = match &u.privacy {
                Some(p) => {
                    let pp = match p.protocol {
                        PrivProtocol::Aes => async_snmp::PrivProtocol::Aes128,
                        PrivProtocol::Aes256 => async_snmp::PrivProtocol::Aes256Blumenthal,
                    };
                    usm.auth_priv(ap, apw, pp, p.password.expose())
                }
                None => usm.auth(ap, apw),
            }
            .map_err(|e| SnmpError::Config(e.to_string()))?;
            Ok(usm.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_reasons_are_readable() {
        assert!(report_reason("Report: usmStatsWrongDigests").starts_with("wrong auth password"));
        assert!(report_reason("usmStatsUnknownUserNames").starts_with("unknown user"));
        assert_eq!(report_reason("something else"), "something else");
    }

    #[test]
    fn unreachable_classification() {
        assert!(SnmpError::NoResponse("x".into()).is_unreachable());
        assert!(SnmpError::AuthFailed("x".into()).is_unreachable());
        assert!(!SnmpError::Other("x".into()).is_unreachable());
    }
}
