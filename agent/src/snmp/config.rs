//! One SNMP target as configured: where it is, how to authenticate, how often
//! to poll it, and what kind of device it is. Credentials are held in
//! [`Secret`], whose `Debug` never shows them.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::validate::{MAX_CI_ID_LEN, check_ci_id, is_ci_id_char, timing_problems};

/// Shortest accepted polling interval.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// Most retries accepted per request.
pub const MAX_RETRIES: u32 = 10;
/// Shortest password the USM key derivation accepts (RFC 3414).
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest display name accepted.
pub const MAX_NAME_LEN: usize = 256;
/// Most ICMP echo requests per poll.
pub const MAX_ICMP_PROBES: u32 = 20;

/// A credential: deserialized from a string, never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; use only to hand it to the SNMP library.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// SNMP protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SnmpVersion {
    /// SNMPv2c with a community string.
    V2c,
    /// SNMPv3 with a USM user.
    V3,
}

/// SNMPv3 authentication protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthProtocol {
    /// HMAC-SHA-96 (SHA-1).
    Sha,
    /// HMAC-SHA-256 (RFC 7860).
    Sha256,
}

/// SNMPv3 privacy (encryption) protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivProtocol {
    /// AES-128-CFB (RFC 3826).
    Aes,
    /// AES-256-CFB with Blumenthal key extension (net-snmp's `AES256`).
    Aes256,
}

/// What kind of device a target is; it becomes the device CI's class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceClass {
    /// An Ethernet switch.
    Switch,
    /// A router.
    Router,
    /// A firewall.
    Firewall,
    /// A storage array or NAS.
    Storage,
    /// An uninterruptible power supply.
    Ups,
    /// A load balancer.
    LoadBalancer,
    /// A wireless controller or access point.
    Wireless,
    /// A printer.
    Printer,
    /// A server polled by SNMP instead of by an agent.
    Server,
    /// Anything else.
    Other,
}

impl DeviceClass {
    /// The class as written in configuration, e.g. `load_balancer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Switch => "switch",
            Self::Router => "router",
            Self::Firewall => "firewall",
            Self::Storage => "storage",
            Self::Ups => "ups",
            Self::LoadBalancer => "load_balancer",
            Self::Wireless => "wireless",
            Self::Printer => "printer",
            Self::Server => "server",
            Self::Other => "other",
        }
    }
}

/// One device polled by SNMP (a `[[snmp]]` entry of the agent's config).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnmpTarget {
    /// The device's CI id: 1-128 characters of `[A-Za-z0-9._:-]`. Default:
    /// `name` if set, else `address`, with any other character replaced by `_`.
    #[serde(default)]
    pub id: Option<String>,
    /// Display name, used when the device gives no sysName.
    #[serde(default)]
    pub name: Option<String>,
    /// Host name or IP address of the device.
    pub address: String,
    /// UDP port of the device's SNMP agent.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Protocol version: `v2c` (needs `community`) or `v3` (needs `user` and `auth_*`).
    pub version: SnmpVersion,
    /// v2c community string.
    #[serde(default)]
    pub community: Option<Secret>,
    /// v3 USM user name.
    #[serde(default)]
    pub user: Option<String>,
    /// v3 authentication protocol: `sha` or `sha256`.
    #[serde(default)]
    pub auth_protocol: Option<AuthProtocol>,
    /// v3 authentication password (at least 8 characters).
    #[serde(default)]
    pub auth_password: Option<Secret>,
    /// v3 privacy protocol: `aes` or `aes256`; absent means authNoPriv.
    #[serde(default)]
    pub priv_protocol: Option<PrivProtocol>,
    /// v3 privacy password (at least 8 characters).
    #[serde(default)]
    pub priv_password: Option<Secret>,
    /// How often the device is polled, e.g. `60s`.
    #[serde(default = "default_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// How long one request waits for an answer, e.g. `2s`.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How many times a request is resent after a timeout.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The device's class, e.g. `switch`, `router`, `storage`.
    pub class: DeviceClass,
    /// Where the device is (overrides nothing; sysLocation is reported separately).
    #[serde(default)]
    pub location: Option<String>,
    /// Who is responsible for the device.
    #[serde(default)]
    pub owner: Option<String>,
    /// Whether the device is also pinged (ICMP echo) on every poll.
    #[serde(default = "default_icmp")]
    pub icmp: bool,
    /// Echo requests per poll (each waits up to `timeout`), 1 to 20.
    #[serde(default = "default_icmp_probes")]
    pub icmp_probes: u32,
}

fn default_icmp() -> bool {
    true
}

fn default_icmp_probes() -> u32 {
    3
}

fn default_port() -> u16 {
    161
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_timeout() -> Duration {
    Duration::from_secs(2)
}

fn default_retries() -> u32 {
    1
}

impl SnmpTarget {
    /// A v2c target with every other setting at its default.
    pub fn v2c(address: impl Into<String>, port: u16, community: impl Into<String>) -> Self {
        Self {
            id: None,
            name: None,
            address: address.into(),
            port,
            version: SnmpVersion::V2c,
            community: Some(Secret::new(community)),
            user: None,
            auth_protocol: None,
            auth_password: None,
            priv_protocol: None,
            priv_password: None,
            interval: default_interval(),
            timeout: default_timeout(),
            retries: default_retries(),
            class: DeviceClass::Other,
            location: None,
            owner: None,
            icmp: default_icmp(),
            icmp_probes: default_icmp_probes(),
        }
    }

    /// The device's CI id: `id` as configured, else `name`, else `address`,
    /// with characters outside `[A-Za-z0-9._:-]` replaced by `_` and cut to
    /// [`MAX_CI_ID_LEN`] characters.
    pub fn device_id(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let base = self
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(self.address.trim());
        let id: String = base
            .chars()
            .map(|c| if is_ci_id_char(c) { c } else { '_' })
            .take(MAX_CI_ID_LEN)
            .collect();
        if id.is_empty() { "_".to_owned() } else { id }
    }

    /// The name shown when the device gives no sysName: `name`, else the device id.
    pub fn display_name(&self) -> String {
        self.name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map_or_else(|| self.device_id(), str::to_owned)
    }

    /// Every problem with this target, each as `key: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(id) = &self.id
            && let Err(why) = check_ci_id(id)
        {
            p.push(format!("id: {why}"));
        }
        if let Some(name) = &self.name
            && (name.trim().is_empty() || name.len() > MAX_NAME_LEN)
        {
            p.push(format!(
                "name: must be 1 to {MAX_NAME_LEN} bytes, not blank"
            ));
        }
        if self.icmp && !(1..=MAX_ICMP_PROBES).contains(&self.icmp_probes) {
            p.push(format!(
                "icmp_probes: must be between 1 and {MAX_ICMP_PROBES}, got {}",
                self.icmp_probes
            ));
        }
        if self.address.trim().is_empty() {
            p.push("address: must not be empty".to_owned());
        }
        if self.port == 0 {
            p.push("port: must not be 0".to_owned());
        }
        match self.version {
            SnmpVersion::V2c => self.v2c_problems(&mut p),
            SnmpVersion::V3 => self.v3_problems(&mut p),
        }
        timing_problems(self.interval, self.timeout, MIN_INTERVAL, &mut p);
        if self.retries > MAX_RETRIES {
            p.push(format!(
                "retries: at most {MAX_RETRIES}, got {}",
                self.retries
            ));
        }
        p
    }

    fn v2c_problems(&self, p: &mut Vec<String>) {
        match &self.community {
            Some(c) if !c.expose().is_empty() => {}
            _ => p.push("community: required for version v2c".to_owned()),
        }
        let v3_keys = [
            ("user", self.user.is_some()),
            ("auth_protocol", self.auth_protocol.is_some()),
            ("auth_password", self.auth_password.is_some()),
            ("priv_protocol", self.priv_protocol.is_some()),
            ("priv_password", self.priv_password.is_some()),
        ];
        for (key, set) in v3_keys {
            if set {
                p.push(format!("{key}: only valid with version v3"));
            }
        }
    }

    fn v3_problems(&self, p: &mut Vec<String>) {
        if self.community.is_some() {
            p.push("community: only valid with version v2c".to_owned());
        }
        if self.user.as_deref().is_none_or(str::is_empty) {
            p.push("user: required for version v3".to_owned());
        }
        if self.auth_protocol.is_none() {
            p.push("auth_protocol: required for version v3 (sha or sha256)".to_owned());
        }
        password_problem(p, "auth_password", self.auth_password.as_ref(), true);
        let has_priv = self.priv_protocol.is_some();
        password_problem(p, "priv_password", self.priv_password.as_ref(), has_priv);
        if !has_priv && self.priv_password.is_some() {
            p.push("priv_password: set without priv_protocol".to_owned());
        }
    }
}

/// Adds the problem with a USM password at `key`, if any: missing although
/// `required`, or shorter than RFC 3414 allows.
pub fn password_problem(p: &mut Vec<String>, key: &str, value: Option<&Secret>, required: bool) {
    match value {
        None if required => p.push(format!("{key}: required")),
        Some(s) if s.expose().len() < MIN_PASSWORD_LEN => p.push(format!(
            "{key}: must be at least {MIN_PASSWORD_LEN} characters"
        )),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SnmpTarget {
        toml::from_str(text).expect("valid target")
    }

    #[test]
    fn defaults_apply() {
        let t = parse(
            "address = \"10.0.0.1\"\nversion = \"v2c\"\ncommunity = \"public\"\nclass = \"switch\"\n",
        );
        assert_eq!(t.port, 161);
        assert_eq!(t.interval, Duration::from_secs(60));
        assert_eq!(t.timeout, Duration::from_secs(2));
        assert_eq!(t.retries, 1);
        assert_eq!(t.class, DeviceClass::Switch);
        assert!(t.icmp);
        assert_eq!(t.icmp_probes, 3);
        assert_eq!(t.device_id(), "10.0.0.1");
        assert_eq!(t.display_name(), "10.0.0.1");
        assert!(t.validate().is_empty(), "{:?}", t.validate());
    }

    #[test]
    fn device_ids_default_to_name_then_address_and_are_sanitized() {
        let mut t = SnmpTarget::v2c("fe80::1%eth0", 161, "c");
        assert_eq!(t.device_id(), "fe80::1_eth0");
        t.address = "2001:db8::1".into();
        assert_eq!(t.device_id(), "2001:db8::1", "IPv6 colons are kept");
        t.address = "sw1.example/net".into();
        assert_eq!(t.device_id(), "sw1.example_net");
        t.name = Some("Core Switch 1".into());
        assert_eq!(t.device_id(), "Core_Switch_1");
        assert_eq!(t.display_name(), "Core Switch 1");
        t.id = Some("core-sw-1".into());
        assert_eq!(t.device_id(), "core-sw-1");
        t.name = None;
        t.id = None;
        t.address = "a".repeat(200);
        assert_eq!(t.device_id().len(), MAX_CI_ID_LEN);
        assert!(t.validate().is_empty(), "{:?}", t.validate());
    }

    #[test]
    fn explicit_ids_names_and_probes_are_checked() {
        let mut t = SnmpTarget::v2c("10.0.0.1", 161, "c");
        for bad in ["", "a/b", "sw 1", &"x".repeat(129)] {
            t.id = Some(bad.to_owned());
            let p = t.validate();
            assert!(p.iter().any(|x| x.starts_with("id:")), "{bad:?}: {p:?}");
        }
        t.id = Some("Sw-1.dc:2_a".into());
        assert!(t.validate().is_empty(), "{:?}", t.validate());
        t.name = Some("  ".into());
        t.icmp_probes = 0;
        let p = t.validate();
        assert!(p.iter().any(|x| x.starts_with("name:")), "{p:?}");
        assert!(p.iter().any(|x| x.starts_with("icmp_probes:")), "{p:?}");
        t.icmp = false;
        assert_eq!(t.validate().len(), 1, "probes do not matter without icmp");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let r: Result<SnmpTarget, _> = toml::from_str(
            "address = \"a\"\nversion = \"v2c\"\ncommunity = \"c\"\nclass = \"ups\"\ncomunity = \"x\"\n",
        );
        assert!(r.unwrap_err().to_string().contains("comunity"));
    }

    #[test]
    fn v3_problems_are_all_reported_with_keys() {
        let t = parse(
            "address = \"\"\nport = 0\nversion = \"v3\"\ncommunity = \"c\"\nauth_password = \"short\"\n\
             priv_protocol = \"aes\"\nclass = \"router\"\ntimeout = \"0s\"\nretries = 11\n",
        );
        let p = t.validate();
        for key in [
            "address:",
            "port:",
            "community:",
            "user:",
            "auth_protocol:",
            "auth_password:",
            "priv_password:",
            "timeout:",
            "retries:",
        ] {
            assert!(
                p.iter().any(|x| x.starts_with(key)),
                "{key} missing in {p:?}"
            );
        }
    }

    #[test]
    fn v2c_rejects_v3_keys() {
        let t = parse("address = \"a\"\nversion = \"v2c\"\nuser = \"u\"\nclass = \"storage\"\n");
        let p = t.validate();
        assert!(p.iter().any(|x| x.starts_with("community:")), "{p:?}");
        assert!(p.iter().any(|x| x.starts_with("user:")), "{p:?}");
    }

    #[test]
    fn debug_never_shows_credentials() {
        let t = parse(
            "address = \"a\"\nversion = \"v3\"\nuser = \"ops\"\nauth_protocol = \"sha256\"\n\
             auth_password = \"authsecret1\"\npriv_protocol = \"aes256\"\npriv_password = \"privsecret1\"\nclass = \"firewall\"\n",
        );
        assert!(t.validate().is_empty(), "{:?}", t.validate());
        let shown = format!("{t:?} {:?}", SnmpTarget::v2c("a", 161, "community9"));
        for secret in ["authsecret1", "privsecret1", "community9"] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("<redacted>"));
    }
}
