//! Who may send us notifications: the acceptance policy handed to
//! async-snmp, which checks v1/v2c communities and v3 users' security
//! levels, counts refusals, and logs them without ever logging a credential.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_snmp::SecurityLevel;
use async_snmp::notification::{NotificationAcceptance, NotificationEnvelope};

use super::config::TrapConfig;

/// How often a refusal is logged at warn; the others go to debug.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Allows one event per period (lock-free; the first event is allowed).
#[derive(Debug)]
pub(super) struct RateLimit {
    start: Instant,
    period: Duration,
    /// Milliseconds since `start` from which the next event is allowed.
    next_ms: AtomicU64,
}

impl RateLimit {
    pub(super) fn new(period: Duration) -> Self {
        Self {
            start: Instant::now(),
            period,
            next_ms: AtomicU64::new(0),
        }
    }

    /// Whether an event now may be logged loudly.
    pub(super) fn allow(&self) -> bool {
        let now = millis(self.start.elapsed());
        let next = self.next_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_ms
                .compare_exchange(
                    next,
                    now + millis(self.period),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The acceptance policy: accepted communities and v3 users, and the count
/// of notifications it refused.
#[derive(Debug)]
pub(super) struct Gate {
    /// Accepted communities, as bytes (never logged).
    communities: Vec<Vec<u8>>,
    /// Accepted v3 users and the lowest security level accepted from each.
    users: HashMap<Vec<u8>, SecurityLevel>,
    refused: AtomicU64,
    loud: RateLimit,
}

impl Gate {
    pub(super) fn new(config: &TrapConfig) -> Self {
        let users = config
            .users
            .iter()
            .map(|u| {
                let level = if u.privacy.is_some() {
                    SecurityLevel::AuthPriv
                } else {
                    SecurityLevel::AuthNoPriv
                };
                (u.user.as_bytes().to_vec(), level)
            })
            .collect();
        Self {
            communities: config
                .communities
                .iter()
                .map(|c| c.expose().as_bytes().to_vec())
                .collect(),
            users,
            refused: AtomicU64::new(0),
            loud: RateLimit::new(WARN_EVERY),
        }
    }

    /// Notifications refused so far by this policy.
    pub(super) fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Accepts or refuses one fully decoded notification.
    pub(super) fn evaluate(&self, n: &NotificationEnvelope<'_>) -> NotificationAcceptance {
        match self.refusal(n) {
            None => NotificationAcceptance::Accept,
            Some(reason) => {
                self.count_refusal(n.source, reason);
                NotificationAcceptance::Reject
            }
        }
    }

    /// Why `n` is refused, or `None` if it is accepted.
    fn refusal(&self, n: &NotificationEnvelope<'_>) -> Option<&'static str> {
        if let Some(community) = n.community {
            let given = community.as_bytes();
            return match self.communities.iter().any(|c| same_secret(c, given)) {
                true => None,
                false if self.communities.is_empty() => {
                    Some("v1/v2c notification, but no communities are configured")
                }
                false => Some("unknown community"),
            };
        }
        let (Some(user), Some(level)) = (n.username, n.security_level) else {
            return Some("neither a community nor a v3 user");
        };
        match self.users.get(user) {
            None => Some("unknown v3 user"),
            Some(min) if level < *min => {
                Some("v3 security level below the user's (authNoPriv/authPriv)")
            }
            Some(_) => None,
        }
    }

    /// Counts a refusal and logs it: at warn at most once a minute, else at debug.
    pub(super) fn count_refusal(&self, source: SocketAddr, reason: &str) {
        let total = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if self.loud.allow() {
            tracing::warn!(
                %source,
                reason,
                refused_total = total,
                "refused SNMP notification (further refusals within a minute are logged at debug)"
            );
        } else {
            tracing::debug!(%source, reason, refused_total = total, "refused SNMP notification");
        }
    }
}

/// Compares a secret in time independent of where the first difference is.
fn same_secret(expected: &[u8], given: &[u8]) -> bool {
    expected.len() == given.len()
        && expected
            .iter()
            .zip(given)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret(b"public", b"public"));
        assert!(!same_secret(b"public", b"publik"));
        assert!(!same_secret(b"public", b"publi"));
        assert!(!same_secret(b"", b"x"));
    }

    #[test]
    fn rate_limit_allows_one_per_period() {
        let r = RateLimit::new(Duration::from_secs(3600));
        assert!(r.allow());
        assert!(!r.allow());
        let r = RateLimit::new(Duration::ZERO);
        assert!(r.allow());
        assert!(r.allow());
    }

    #[test]
    fn users_need_their_level() {
        let config: TrapConfig = toml::from_str(
            "[[users]]\nuser = \"a\"\nauth_protocol = \"sha\"\nauth_password = \"authpass1\"\n\
             [[users]]\nuser = \"p\"\nauth_protocol = \"sha\"\nauth_password = \"authpass1\"\n\
             priv_protocol = \"aes\"\npriv_password = \"privpass1\"\n",
        )
        .unwrap();
        let gate = Gate::new(&config);
        assert_eq!(gate.users[b"a".as_slice()], SecurityLevel::AuthNoPriv);
        assert_eq!(gate.users[b"p".as_slice()], SecurityLevel::AuthPriv);
        assert!(gate.communities.is_empty());
        gate.count_refusal("127.0.0.1:1".parse().unwrap(), "test");
        assert_eq!(gate.refused(), 1);
    }
}
