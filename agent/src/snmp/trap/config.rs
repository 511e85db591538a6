//! The `[traps]` section: where to listen and which senders to believe.
//! Credentials are held in [`Secret`], whose `Debug` never shows them.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};

use serde::Deserialize;

use crate::snmp::config::{Secret, UsmUser};

/// Settings of the SNMP trap/inform receiver (the agent's `[traps]` section).
///
/// v1/v2c notifications are accepted only with one of `communities`; v3
/// notifications only from one of `users`, at authNoPriv or better (authPriv
/// when the user has a privacy protocol).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrapConfig {
    /// UDP address to listen on; port 162 needs root or `CAP_NET_BIND_SERVICE`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Accepted v1/v2c communities; empty refuses every v1/v2c notification.
    #[serde(default)]
    pub communities: Vec<Secret>,
    /// Accepted SNMPv3 USM users; empty refuses every v3 notification.
    /// The keys are localized to whatever engine ID the sender uses, so a
    /// trap sender's engine ID need not be configured.
    #[serde(default)]
    pub users: Vec<UsmUser>,
}

/// The standard trap port on every IPv4 address.
pub fn default_listen() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::UNSPECIFIED, 162))
}

impl Default for TrapConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            communities: Vec::new(),
            users: Vec::new(),
        }
    }
}

impl TrapConfig {
    /// Every problem with these settings, each as `key: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.listen.port() == 0 {
            p.push("listen: port must not be 0".to_owned());
        }
        if self.communities.is_empty() && self.users.is_empty() {
            p.push(
                "communities: empty and no users either, so every trap would be refused; \
                 add a community (v1/v2c) or a user (v3)"
                    .to_owned(),
            );
        }
        for (i, c) in self.communities.iter().enumerate() {
            if c.expose().is_empty() {
                p.push(format!("communities[{i}]: must not be empty"));
            }
        }
        let mut seen = HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if !u.user.is_empty() && !seen.insert(u.user.as_str()) {
                p.push(format!("users[{i}].user: duplicate user {:?}", u.user));
            }
            let mut own = Vec::new();
            u.validate(&mut own);
            p.extend(own.into_iter().map(|x| format!("users[{i}].{x}")));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TrapConfig {
        toml::from_str(text).expect("valid [traps] section")
    }

    #[test]
    fn defaults_listen_on_162_and_refuse_everything() {
        let c = parse("");
        assert_eq!(c.listen, "0.0.0.0:162".parse().unwrap());
        assert_eq!(c, TrapConfig::default());
        let problems = c.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("communities: empty and no users"));
    }

    #[test]
    fn full_section_parses_and_validates() {
        let c = parse(
            "listen = \"127.0.0.1:1162\"\ncommunities = [\"public\", \"ops\"]\n\
             [[users]]\nuser = \"trapper\"\nauth_protocol = \"sha\"\nauth_password = \"authpass1\"\n\
             priv_protocol = \"aes\"\npriv_password = \"privpass1\"\n",
        );
        assert_eq!(c.communities.len(), 2);
        assert_eq!(
            c.users[0].privacy.as_ref().map(|p| p.protocol),
            Some(crate::snmp::config::PrivProtocol::Aes)
        );
        assert!(c.validate().is_empty(), "{:?}", c.validate());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<TrapConfig>("port = 162\n").is_err());
        assert!(toml::from_str::<TrapConfig>("[[users]]\nuser = \"a\"\nauth = \"x\"\n").is_err());
    }

    #[test]
    fn user_problems_are_named() {
        let c = parse(
            "communities = [\"\"]\nlisten = \"0.0.0.0:0\"\n\
             [[users]]\nuser = \"a\"\nauth_password = \"short\"\npriv_password = \"privpass1\"\n\
             [[users]]\nuser = \"a\"\nauth_protocol = \"sha256\"\nauth_password = \"authpass1\"\n\
             priv_protocol = \"aes256\"\n",
        );
        let p = c.validate();
        let expect = [
            "listen: port must not be 0",
            "communities[0]: must not be empty",
            "users[0].auth_protocol: required",
            "users[0].auth_password: must be at least 8",
            "users[0].priv_password: set without priv_protocol",
            "users[1].user: duplicate user",
            "users[1].priv_password: required",
        ];
        for e in expect {
            assert!(p.iter().any(|x| x.starts_with(e)), "missing {e:?} in {p:?}");
        }
        assert_eq!(p.len(), expect.len(), "{p:?}");
    }

    #[test]
    fn debug_never_shows_credentials() {
        let c = parse(
            "communities = [\"s3cret-comm\"]\n[[users]]\nuser = \"u\"\nauth_protocol = \"sha\"\n\
             auth_password = \"s3cret-auth\"\n",
        );
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
