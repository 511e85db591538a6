//! One SNMP target as configured: where it is, how to authenticate, how often
//! to poll it, and what kind of device it is. Credentials are held in
//! [`Secret`], whose `Debug` never shows them.

use std::fmt;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::validate::{
    MAX_CI_ID_LEN, check_ci_id, field_names, is_ci_id_char, timing_problems, unknown_keys_message,
};

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
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Whether the secret is empty (an unset key reads as empty).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

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

impl SnmpVersion {
    /// The version as written in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V2c => "v2c",
            Self::V3 => "v3",
        }
    }
}

/// How a target authenticates: `version` picks the variant, whose keys sit
/// beside the target's other keys in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `version = "v2c"`: a community string.
    V2c(Community),
    /// `version = "v3"`: a USM user.
    V3(UsmUser),
}

impl Credentials {
    /// The protocol version.
    pub fn version(&self) -> SnmpVersion {
        match self {
            Self::V2c(_) => SnmpVersion::V2c,
            Self::V3(_) => SnmpVersion::V3,
        }
    }

    /// The keys `version` allows.
    fn keys(version: SnmpVersion) -> &'static [&'static str] {
        match version {
            SnmpVersion::V2c => field_names::<Community>(),
            SnmpVersion::V3 => field_names::<UsmKeys>(),
        }
    }
}

/// `version = "v2c"`: the community string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Community {
    /// The community (required).
    #[serde(default)]
    pub community: Secret,
}

/// An SNMPv3 USM user (`version = "v3"` targets and `[[traps.users]]`),
/// written as the keys `user`, `auth_protocol`, `auth_password`,
/// `priv_protocol` and `priv_password`.
///
/// A missing key does not stop the file from loading: it is kept to be
/// reported by [`validate`](Self::validate) with every other problem.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "UsmKeys")]
pub struct UsmUser {
    /// USM user name.
    pub user: String,
    /// Authentication (required: Tocsin never speaks noAuthNoPriv).
    pub auth: UsmAuth,
    /// Privacy; `None` is authNoPriv.
    pub privacy: Option<UsmPrivacy>,
    /// Problems found while reading the keys, as `key: what is wrong`.
    problems: Vec<String>,
}

/// The authentication of a [`UsmUser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsmAuth {
    /// `auth_protocol`: `sha` or `sha256`.
    pub protocol: AuthProtocol,
    /// `auth_password`, at least 8 characters.
    pub password: Secret,
}

/// The privacy (encryption) of a [`UsmUser`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsmPrivacy {
    /// `priv_protocol`: `aes` or `aes256`.
    pub protocol: PrivProtocol,
    /// `priv_password`, at least 8 characters.
    pub password: Secret,
}

/// The keys of a [`UsmUser`] as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UsmKeys {
    #[serde(default)]
    user: String,
    #[serde(default)]
    auth_protocol: Option<AuthProtocol>,
    #[serde(default)]
    auth_password: Option<Secret>,
    #[serde(default)]
    priv_protocol: Option<PrivProtocol>,
    #[serde(default)]
    priv_password: Option<Secret>,
}

impl From<UsmKeys> for UsmUser {
    fn from(k: UsmKeys) -> Self {
        let mut problems = Vec::new();
        let protocol = k.auth_protocol.unwrap_or_else(|| {
            problems.push("auth_protocol: required (sha or sha256)".to_owned());
            AuthProtocol::Sha
        });
        if k.priv_protocol.is_none() && k.priv_password.is_some() {
            problems.push("priv_password: set without priv_protocol".to_owned());
        }
        Self {
            user: k.user,
            auth: UsmAuth {
                protocol,
                password: k.auth_password.unwrap_or_default(),
            },
            privacy: k.priv_protocol.map(|protocol| UsmPrivacy {
                protocol,
                password: k.priv_password.unwrap_or_default(),
            }),
            problems,
        }
    }
}

impl UsmUser {
    /// A user with authentication and, if given, privacy.
    pub fn new(user: impl Into<String>, auth: UsmAuth, privacy: Option<UsmPrivacy>) -> Self {
        Self {
            user: user.into(),
            auth,
            privacy,
            problems: Vec::new(),
        }
    }

    /// Adds every problem with this user to `p`, each as `key: what is wrong`.
    pub fn validate(&self, p: &mut Vec<String>) {
        if self.user.trim().is_empty() {
            p.push("user: required".to_owned());
        }
        p.extend(
            self.problems
                .iter()
                .filter(|x| x.starts_with("auth_"))
                .cloned(),
        );
        password_problem(p, "auth_password", &self.auth.password);
        if let Some(privacy) = &self.privacy {
            password_problem(p, "priv_password", &privacy.password);
        }
        p.extend(
            self.problems
                .iter()
                .filter(|x| !x.starts_with("auth_"))
                .cloned(),
        );
    }
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

/// The keys of a `[[snmp]]` entry every version has (`version` aside).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetKeys {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    address: String,
    #[serde(default = "default_port")]
    port: u16,
    #[serde(default = "default_interval", with = "humantime_serde")]
    interval: Duration,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    timeout: Duration,
    #[serde(default = "default_retries")]
    retries: u32,
    class: DeviceClass,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default = "default_icmp")]
    icmp: bool,
    #[serde(default = "default_icmp_probes")]
    icmp_probes: u32,
}

/// One device polled by SNMP (a `[[snmp]]` entry of the agent's config).
///
/// In the file the version is a key (`version = "v3"`) beside the others.
/// A key of the other version (`community` on a v3 target) does not stop the
/// file from loading: it is kept to be reported by
/// [`validate`](Self::validate) with every other problem. A key no version
/// knows is a parse error naming every such key of the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpTarget {
    /// The device's CI id: 1-128 characters of `[A-Za-z0-9._:-]`. Default:
    /// `name` if set, else `address`, with any other character replaced by `_`.
    pub id: Option<String>,
    /// Display name, used when the device gives no sysName.
    pub name: Option<String>,
    /// Host name or IP address of the device.
    pub address: String,
    /// UDP port of the device's SNMP agent.
    pub port: u16,
    /// `version` (`v2c` or `v3`) and its credentials.
    pub credentials: Credentials,
    /// How often the device is polled, e.g. `60s`.
    pub interval: Duration,
    /// How long one request waits for an answer, e.g. `2s`.
    pub timeout: Duration,
    /// How many times a request is resent after a timeout.
    pub retries: u32,
    /// The device's class, e.g. `switch`, `router`, `storage`.
    pub class: DeviceClass,
    /// Where the device is (overrides nothing; sysLocation is reported separately).
    pub location: Option<String>,
    /// Who is responsible for the device.
    pub owner: Option<String>,
    /// Whether the device is also pinged (ICMP echo) on every poll.
    pub icmp: bool,
    /// Echo requests per poll (each waits up to `timeout`), 1 to 20.
    pub icmp_probes: u32,
    /// Keys the entry set that only the other version uses, in key order.
    misplaced: Vec<String>,
}

impl<'de> Deserialize<'de> for SnmpTarget {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let table = toml::Table::deserialize(d)?;
        Self::from_table(table).map_err(D::Error::custom)
    }
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
            credentials: Credentials::V2c(Community {
                community: Secret::new(community),
            }),
            interval: default_interval(),
            timeout: default_timeout(),
            retries: default_retries(),
            class: DeviceClass::Other,
            location: None,
            owner: None,
            icmp: default_icmp(),
            icmp_probes: default_icmp_probes(),
            misplaced: Vec::new(),
        }
    }

    /// Reads one `[[snmp]]` table: `version` first, then the keys every
    /// version has and the version's own keys, each into its struct.
    fn from_table(mut table: toml::Table) -> Result<Self, toml::de::Error> {
        let common_keys = field_names::<TargetKeys>();
        let any_version = |key: &str| {
            [SnmpVersion::V2c, SnmpVersion::V3]
                .iter()
                .any(|v| Credentials::keys(*v).contains(&key))
        };
        let Some(version) = table.remove("version") else {
            let unknown: Vec<String> = table
                .keys()
                .filter(|k| !common_keys.contains(&k.as_str()) && !any_version(k))
                .cloned()
                .collect();
            if unknown.is_empty() {
                return Err(toml::de::Error::missing_field("version"));
            }
            let mut expected = vec!["version"];
            expected.extend(common_keys);
            return Err(toml::de::Error::custom(format!(
                "{}, and missing field `version`",
                unknown_keys_message(&unknown, &expected)
            )));
        };
        let version: SnmpVersion = version.try_into()?;
        let (mut common, mut own) = (toml::Table::new(), toml::Table::new());
        let (mut misplaced, mut unknown) = (Vec::new(), Vec::new());
        for (key, value) in table {
            if common_keys.contains(&key.as_str()) {
                common.insert(key, value);
            } else if Credentials::keys(version).contains(&key.as_str()) {
                own.insert(key, value);
            } else if any_version(&key) {
                misplaced.push(key);
            } else {
                unknown.push(key);
            }
        }
        if !unknown.is_empty() {
            let mut expected = vec!["version"];
            expected.extend(common_keys);
            expected.extend(Credentials::keys(version));
            return Err(toml::de::Error::custom(unknown_keys_message(
                &unknown, &expected,
            )));
        }
        let own = toml::Value::Table(own);
        let credentials = match version {
            SnmpVersion::V2c => Credentials::V2c(own.try_into()?),
            SnmpVersion::V3 => Credentials::V3(own.try_into()?),
        };
        let k: TargetKeys = toml::Value::Table(common).try_into()?;
        Ok(Self {
            id: k.id,
            name: k.name,
            address: k.address,
            port: k.port,
            credentials,
            interval: k.interval,
            timeout: k.timeout,
            retries: k.retries,
            class: k.class,
            location: k.location,
            owner: k.owner,
            icmp: k.icmp,
            icmp_probes: k.icmp_probes,
            misplaced,
        })
    }

    /// The protocol version.
    pub fn version(&self) -> SnmpVersion {
        self.credentials.version()
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
        match &self.credentials {
            Credentials::V2c(c) => {
                if c.community.is_empty() {
                    p.push("community: required for version v2c".to_owned());
                }
            }
            Credentials::V3(u) => u.validate(&mut p),
        }
        for key in &self.misplaced {
            let other = match self.version() {
                SnmpVersion::V2c => SnmpVersion::V3,
                SnmpVersion::V3 => SnmpVersion::V2c,
            };
            p.push(format!(
                "{key}: only valid with version {}, not {}",
                other.as_str(),
                self.version().as_str()
            ));
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
}

/// Adds the problem with a USM password at `key`, if any: missing, or
/// shorter than RFC 3414 allows.
fn password_problem(p: &mut Vec<String>, key: &str, value: &Secret) {
    if value.is_empty() {
        p.push(format!("{key}: required"));
    } else if value.expose().len() < MIN_PASSWORD_LEN {
        p.push(format!(
            "{key}: must be at least {MIN_PASSWORD_LEN} characters"
        ));
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
