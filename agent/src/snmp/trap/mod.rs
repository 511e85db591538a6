//! SNMP trap and inform receiver: devices push notifications (linkDown,
//! coldStart, vendor traps…) to the agent, which decodes each into a
//! [`ReceivedTrap`].
//!
//! [`config`] holds the `[traps]` settings, [`decode`] turns a notification
//! into a [`ReceivedTrap`] (pure functions; the IF-MIB varbinds name the
//! [`TrapInterface`] it is about), and [`TrapReceiver`] listens.
//! The protocol work (BER decoding, USM, inform acknowledgement) is done by
//! async-snmp's `NotificationReceiver`.
//!
//! # What is accepted
//!
//! - **v1 and v2c** traps and v2c informs whose community is one of
//!   `communities`; with no communities, every v1/v2c notification is refused.
//!   v1 traps are mapped to the v2 form (RFC 3584 §3.1).
//! - **v3** traps and informs from one of `users`, at authNoPriv or better,
//!   and at authPriv when the user has a privacy protocol; noAuthNoPriv is
//!   always refused. For a v3 *trap* the sender is the authoritative engine:
//!   the user's keys are localized to whatever engine ID the trap carries, so
//!   unlike net-snmp's `snmptrapd` no per-sender engine ID is configured
//!   (timeliness is tracked per sender engine, for up to 8192 engines).
//!   For a v3 *inform* this receiver is authoritative: the sender discovers
//!   our engine ID first (net-snmp's `snmpinform` does this automatically).
//!   That engine ID is random and new at every start and is not persisted,
//!   which keeps replay protection without stored engine boots, but a sender
//!   configured with a fixed receiver engine ID (instead of discovering it)
//!   will not work.
//!
//! Informs are acknowledged by async-snmp before [`TrapReceiver::recv`]
//! returns them; refused informs are not acknowledged, so the sender retries
//! and then gives up.
//!
//! # Limits
//!
//! Datagrams that do not decode as SNMP are dropped inside async-snmp (which
//! logs them at warn with their source) and are *not* counted by
//! [`TrapReceiver::refused`]; v3 messages failing USM (unknown user, wrong
//! password, wrong privacy key, unsupported level) and everything refused by
//! community or security level are.

pub mod config;
pub mod decode;
mod gate;
mod interface;
mod names;
mod summary;

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_snmp::notification::{
    InformAckOutcome, NotificationReceiver, NotificationReceiverBuilder,
};
use async_snmp::{AuthoritativeEngine, UsmUser};

pub use config::TrapConfig;
pub use decode::{ReceivedTrap, TrapKind};
pub use interface::TrapInterface;

use crate::snmp::config::{AuthProtocol, PrivProtocol};
use gate::{Gate, RateLimit};

/// Pause after a socket error before receiving again.
const ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Why the trap receiver could not start.
#[derive(Debug, thiserror::Error)]
pub enum TrapError {
    /// The UDP socket could not be bound.
    #[error("cannot listen for SNMP traps on {addr}: {reason}")]
    Bind {
        /// The address from `listen`.
        addr: SocketAddr,
        /// What went wrong, with a hint when there is an obvious fix.
        reason: String,
    },
    /// The settings cannot be used (see [`TrapConfig::validate`]).
    #[error("invalid [traps] settings: {0}")]
    Config(String),
    /// The SNMPv3 engine could not be set up (e.g. no randomness for its ID).
    #[error("cannot set up the SNMPv3 engine for traps: {0}")]
    Engine(String),
}

/// A bound SNMP trap/inform receiver.
///
/// Share it with an `Arc` to receive from one task and read [`Self::refused`]
/// from another.
pub struct TrapReceiver {
    inner: NotificationReceiver,
    gate: Arc<Gate>,
    loud_errors: RateLimit,
}

impl std::fmt::Debug for TrapReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrapReceiver")
            .field("local_addr", &self.local_addr())
            .field("refused", &self.refused())
            .finish_non_exhaustive()
    }
}

impl TrapReceiver {
    /// Binds the UDP socket of `config.listen` and prepares the v1/v2c
    /// communities and v3 users. Does not run [`TrapConfig::validate`]; a
    /// v3 user without authentication is refused here as [`TrapError::Config`].
    pub async fn bind(config: &TrapConfig) -> Result<Self, TrapError> {
        let gate = Arc::new(Gate::new(config));
        let policy_gate = Arc::clone(&gate);
        let mut builder = NotificationReceiver::builder()
            .bind(config.listen.to_string())
            .acceptance_policy(move |n| policy_gate.evaluate(n));
        if !config.users.is_empty() {
            builder = with_users(builder, config)?;
        }
        let inner = builder
            .build()
            .await
            .map_err(|e| build_error(config.listen, &e))?;
        tracing::info!(
            listen = %inner.local_addr(),
            communities = config.communities.len(),
            users = config.users.len(),
            "SNMP trap receiver listening"
        );
        if config.communities.is_empty() {
            tracing::info!("no trap communities configured: v1/v2c notifications are refused");
        }
        Ok(Self {
            inner,
            gate,
            loud_errors: RateLimit::new(Duration::from_secs(60)),
        })
    }

    /// The bound address (useful when `listen` has port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr()
    }

    /// This receiver's SNMPv3 engine ID in hex, which v3 inform senders
    /// discover; new at every start.
    pub fn engine_id(&self) -> String {
        self.inner
            .engine_id()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Notifications refused so far: unknown community, unknown v3 user,
    /// wrong v3 password or privacy key, too low a security level. Datagrams
    /// that are not SNMP at all are not counted (see the module docs).
    pub fn refused(&self) -> u64 {
        let usm = [
            self.inner.usm_unknown_usernames(),
            self.inner.usm_wrong_digests(),
            self.inner.usm_decryption_errors(),
            self.inner.usm_unsupported_sec_levels(),
        ];
        self.gate.refused() + usm.iter().map(|n| u64::from(*n)).sum::<u64>()
    }

    /// Waits for the next accepted notification; an inform has already been
    /// acknowledged. Malformed and refused datagrams and socket errors are
    /// logged and skipped, so this never fails. Dropping the future may lose
    /// a datagram whose processing had begun.
    pub async fn recv(&self) -> ReceivedTrap {
        loop {
            match self.inner.recv().await {
                Ok(received) => {
                    log_ack(received.source, received.inform_ack.as_ref());
                    let trap =
                        ReceivedTrap::from_notification(received.source, &received.notification);
                    tracing::debug!(
                        source = %trap.source,
                        version = ?received.notification.version(),
                        kind = trap.kind.as_str(),
                        trap_oid = %trap.trap_oid,
                        "received SNMP notification"
                    );
                    return trap;
                }
                Err(e) => {
                    if self.loud_errors.allow() {
                        tracing::warn!(error = %e, "SNMP trap receive failed; continuing");
                    } else {
                        tracing::debug!(error = %e, "SNMP trap receive failed; continuing");
                    }
                    tokio::time::sleep(ERROR_PAUSE).await;
                }
            }
        }
    }
}

/// Adds the v3 users and the (unpersisted, random) local engine to `builder`.
fn with_users(
    mut builder: NotificationReceiverBuilder,
    config: &TrapConfig,
) -> Result<NotificationReceiverBuilder, TrapError> {
    for (i, u) in config.users.iter().enumerate() {
        let mut problems = Vec::new();
        u.validate(&mut problems);
        if !problems.is_empty() {
            return Err(TrapError::Config(format!(
                "users[{i}]: {}",
                problems.join("; ")
            )));
        }
        let ap = match u.auth.protocol {
            AuthProtocol::Sha => async_snmp::AuthProtocol::Sha1,
            AuthProtocol::Sha256 => async_snmp::AuthProtocol::Sha256,
        };
        let apw = &u.auth.password;
        let privacy = u
            .privacy
            .as_ref()
            .map(|p| (lib_priv(p.protocol), &p.password));
        let configure = |user: UsmUser| match privacy {
            Some((pp, ppw)) => user.auth_priv(ap, apw.expose(), pp, ppw.expose()),
            None => user.auth(ap, apw.expose()),
        };
        builder = builder
            .usm_user(u.user.clone(), configure)
            .map_err(|e| TrapError::Config(format!("users[{i}] ({}): {e}", u.user)))?;
    }
    let engine_id =
        async_snmp::generate_engine_id().map_err(|e| TrapError::Engine(e.to_string()))?;
    let engine = AuthoritativeEngine::install(engine_id, |_| Ok::<(), Infallible>(()))
        .map_err(|e| TrapError::Engine(e.to_string()))?;
    Ok(builder.authoritative_engine(engine))
}

fn lib_priv(p: PrivProtocol) -> async_snmp::PrivProtocol {
    match p {
        PrivProtocol::Aes => async_snmp::PrivProtocol::Aes128,
        PrivProtocol::Aes256 => async_snmp::PrivProtocol::Aes256Blumenthal,
    }
}

/// Translates a failure of async-snmp's `build`, which binds the socket.
fn build_error(addr: SocketAddr, err: &async_snmp::Error) -> TrapError {
    match err {
        async_snmp::Error::Network { source, .. } => TrapError::Bind {
            addr,
            reason: bind_reason(addr, source),
        },
        async_snmp::Error::Config(_) => TrapError::Config(err.to_string()),
        other => TrapError::Engine(other.to_string()),
    }
}

/// An `io::Error` from binding `addr`, with a hint for the usual causes.
fn bind_reason(addr: SocketAddr, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied if addr.port() < 1024 => format!(
            "{e} (ports below 1024, such as the trap port 162, need root or \
             CAP_NET_BIND_SERVICE: e.g. `setcap cap_net_bind_service=+ep` on the agent, \
             AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit, or listen on a \
             high port such as 1162)"
        ),
        io::ErrorKind::AddrInUse => {
            format!("{e} (is another trap receiver, e.g. snmptrapd, already listening?)")
        }
        io::ErrorKind::AddrNotAvailable => format!("{e} (this host has no such address)"),
        _ if addr.port() < 1024 => format!(
            "{e} (note: port {} needs root or CAP_NET_BIND_SERVICE)",
            addr.port()
        ),
        _ => e.to_string(),
    }
}

/// Logs an inform's acknowledgement unless it was simply sent.
fn log_ack(source: SocketAddr, ack: Option<&InformAckOutcome>) {
    match ack {
        None | Some(InformAckOutcome::Sent) => {}
        Some(InformAckOutcome::SuppressedBySize) => {
            tracing::warn!(%source, "inform not acknowledged: response too large");
        }
        Some(InformAckOutcome::Failed(e)) => {
            tracing::warn!(%source, error = %e, "inform acknowledgement failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_reasons_hint_at_the_fix() {
        let low: SocketAddr = "0.0.0.0:162".parse().unwrap();
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let r = bind_reason(low, &denied);
        assert!(
            r.contains("CAP_NET_BIND_SERVICE") && r.contains("162"),
            "{r}"
        );
        let in_use = io::Error::from(io::ErrorKind::AddrInUse);
        assert!(bind_reason("0.0.0.0:1162".parse().unwrap(), &in_use).contains("snmptrapd"));
        let e = TrapError::Bind {
            addr: low,
            reason: r,
        };
        assert!(
            e.to_string()
                .starts_with("cannot listen for SNMP traps on 0.0.0.0:162: ")
        );
    }

    #[tokio::test]
    async fn v3_user_without_auth_is_a_config_error() {
        let config: TrapConfig =
            toml::from_str("listen = \"127.0.0.1:0\"\n[[users]]\nuser = \"x\"\n").unwrap();
        let err = TrapReceiver::bind(&config).await.unwrap_err();
        assert!(
            matches!(err, TrapError::Config(ref m) if m.contains("users[0]")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn binding_a_used_port_names_the_address() {
        let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let config = TrapConfig {
            listen: addr,
            ..TrapConfig::default()
        };
        let err = TrapReceiver::bind(&config).await.unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, TrapError::Bind { .. }), "{text}");
        assert!(text.contains(&addr.to_string()), "{text}");
    }
}
