//! The agent's SNMP integration tests use the workspace's one snmpd harness
//! ([`tocsin_e2e::snmpd`]); this adds the agent-side view of it: the
//! [`SnmpTarget`]s that poll it.
#![allow(dead_code)] // each test file uses a different part

use std::time::Duration;

use tocsin_agent::snmp::config::{AuthProtocol, PrivProtocol, UsmAuth, UsmPrivacy, UsmUser};
use tocsin_agent::snmp::{Credentials, Secret, SnmpTarget};
use tocsin_e2e::snmpd::{PRIV_PASS, Snmpd, USER};

/// Starts snmpd on a free loopback port with `extra` config lines appended.
pub async fn start_snmpd(extra: &str) -> Snmpd {
    Snmpd::start_temp(extra)
        .await
        .expect("start snmpd (apt-get install -y snmpd snmp)")
}

/// Targets polling a test snmpd, with short timeouts.
pub trait Targets {
    /// A v2c target with `community`.
    fn v2c(&self, community: &str) -> SnmpTarget;
    /// A v3 authPriv target of the test user with `auth_pass`.
    fn v3(&self, auth_pass: &str) -> SnmpTarget;
}

impl Targets for Snmpd {
    fn v2c(&self, community: &str) -> SnmpTarget {
        let mut t = SnmpTarget::v2c(self.address.clone(), self.port, community);
        t.timeout = Duration::from_millis(500);
        t.retries = 1;
        t.interval = Duration::from_secs(20);
        t
    }

    fn v3(&self, auth_pass: &str) -> SnmpTarget {
        let mut t = self.v2c("unused");
        t.credentials = Credentials::V3(UsmUser::new(
            USER,
            UsmAuth {
                protocol: AuthProtocol::Sha,
                password: Secret::new(auth_pass),
            },
            Some(UsmPrivacy {
                protocol: PrivProtocol::Aes,
                password: Secret::new(PRIV_PASS),
            }),
        ));
        t
    }
}
