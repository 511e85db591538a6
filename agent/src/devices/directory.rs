//! Who is who among the polled devices, for the SNMP trap receiver: which
//! device sent from an IP address, and what an ifIndex of a device is called.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value as Json;

use crate::snmp::{DeviceClass, DevicePoll, SnmpTarget};

/// One interface of a device as of its latest poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// ifName (or ifDescr), as in the `interface` label of the device's series.
    pub name: String,
    /// ifAlias, as in the `alias` label (empty when not set).
    pub alias: String,
    /// ifAdminStatus (1 up, 2 down, 3 testing) at the latest poll, if read.
    pub admin_status: Option<u32>,
}

/// A configured device.
#[derive(Debug, Clone)]
struct Device {
    class: DeviceClass,
    name: String,
    interfaces: HashMap<u32, InterfaceInfo>,
}

#[derive(Debug, Default)]
struct Inner {
    by_ip: HashMap<IpAddr, String>,
    devices: BTreeMap<String, Device>,
}

/// Source address → device id, and (device id, ifIndex) → interface, for
/// every configured device; updated by every poll.
#[derive(Debug, Default)]
pub struct DeviceDirectory {
    inner: RwLock<Inner>,
}

impl DeviceDirectory {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a configured device (its address counts as its source address
    /// when it is an IP address; host names count once a poll resolved them).
    pub fn register(&self, target: &SnmpTarget) {
        let id = target.device_id();
        let mut inner = self.write();
        if let Ok(ip) = target
            .address
            .trim()
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
        {
            inner.by_ip.insert(ip, id.clone());
        }
        inner.devices.insert(
            id,
            Device {
                class: target.class,
                name: target.display_name(),
                interfaces: HashMap::new(),
            },
        );
    }

    /// The id of the device that sends from `ip`, if it is a configured one.
    pub fn device_for_ip(&self, ip: IpAddr) -> Option<String> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.read().by_ip.get(&ip).cloned()
    }

    /// Interface `if_index` of device `device_id`, as of the latest poll.
    pub fn interface(&self, device_id: &str, if_index: u32) -> Option<InterfaceInfo> {
        self.read()
            .devices
            .get(device_id)?
            .interfaces
            .get(&if_index)
            .cloned()
    }

    /// Whether `device_id` is a configured device.
    pub fn contains(&self, device_id: &str) -> bool {
        self.read().devices.contains_key(device_id)
    }

    /// Class and display name of a configured device.
    pub fn class_and_name(&self, device_id: &str) -> Option<(DeviceClass, String)> {
        self.read()
            .devices
            .get(device_id)
            .map(|d| (d.class, d.name.clone()))
    }

    /// Takes the management address and the interfaces from a poll of
    /// `device_id` (a poll without an `interfaces` attribute keeps the old ones).
    pub fn update(&self, device_id: &str, poll: &DevicePoll) {
        let ip = poll
            .attributes
            .get("management_ip")
            .and_then(Json::as_str)
            .and_then(|s| s.parse::<IpAddr>().ok());
        let interfaces = poll
            .attributes
            .get("interfaces")
            .and_then(Json::as_array)
            .map(|list| interfaces(list, poll));
        let mut inner = self.write();
        if let Some(ip) = ip {
            inner.by_ip.insert(ip, device_id.to_owned());
        }
        if let (Some(ifs), Some(device)) = (interfaces, inner.devices.get_mut(device_id)) {
            device.interfaces = ifs;
        }
    }
}

/// ifIndex → interface from the `interfaces` attribute, with the admin
/// status taken from the poll's `snmp_if_admin_status` samples.
fn interfaces(list: &[Json], poll: &DevicePoll) -> HashMap<u32, InterfaceInfo> {
    let mut admin: HashMap<(&str, &str), u32> = HashMap::new();
    for s in poll
        .samples
        .iter()
        .filter(|s| s.metric == "snmp_if_admin_status")
    {
        let label = |name: &str| {
            s.labels
                .iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str())
        };
        // Status values are small integers; anything else is not a status.
        if (0.0..=255.0).contains(&s.value) {
            admin.insert((label("interface"), label("alias")), s.value as u32);
        }
    }
    list.iter()
        .filter_map(|i| {
            let index = i.get("index")?.as_str()?.parse::<u32>().ok()?;
            let name = i.get("name")?.as_str()?.to_owned();
            let alias = i
                .get("alias")
                .and_then(Json::as_str)
                .unwrap_or("")
                .to_owned();
            let admin_status = admin.get(&(name.as_str(), alias.as_str())).copied();
            Some((
                index,
                InterfaceInfo {
                    name,
                    alias,
                    admin_status,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::series::PolledSample;

    fn admin(iface: &str, alias: &str, value: f64) -> PolledSample {
        PolledSample {
            metric: "snmp_if_admin_status".into(),
            labels: vec![
                ("interface".into(), iface.into()),
                ("alias".into(), alias.into()),
            ],
            counter: false,
            value,
        }
    }

    #[test]
    fn addresses_and_interfaces_are_looked_up() {
        let dir = DeviceDirectory::default();
        let mut t = SnmpTarget::v2c("10.0.0.1", 161, "c");
        t.id = Some("sw1".into());
        dir.register(&t);
        dir.register(&SnmpTarget::v2c("router.example", 161, "c"));
        assert_eq!(
            dir.device_for_ip("10.0.0.1".parse().unwrap()).as_deref(),
            Some("sw1")
        );
        assert_eq!(
            dir.device_for_ip("::ffff:10.0.0.1".parse().unwrap())
                .as_deref(),
            Some("sw1"),
            "IPv4-mapped sources are found too"
        );
        assert_eq!(dir.device_for_ip("10.0.0.2".parse().unwrap()), None);
        assert!(dir.contains("router.example"));

        let mut poll = DevicePoll {
            reachable: true,
            samples: vec![admin("Gi0/1", "uplink", 1.0), admin("Gi0/2", "", 2.0)],
            ..Default::default()
        };
        poll.attributes
            .insert("management_ip".into(), json!("192.0.2.7"));
        poll.attributes.insert(
            "interfaces".into(),
            json!([
                {"index": "10101", "name": "Gi0/1", "alias": "uplink"},
                {"index": "10102", "name": "Gi0/2", "alias": ""},
                {"index": "3", "name": "Vlan1", "alias": ""},
            ]),
        );
        dir.update("router.example", &poll);
        assert_eq!(
            dir.device_for_ip("192.0.2.7".parse().unwrap()).as_deref(),
            Some("router.example")
        );
        let gi1 = dir.interface("router.example", 10101).unwrap();
        assert_eq!(
            (gi1.name.as_str(), gi1.alias.as_str(), gi1.admin_status),
            ("Gi0/1", "uplink", Some(1))
        );
        assert_eq!(
            dir.interface("router.example", 10102).unwrap().admin_status,
            Some(2)
        );
        assert_eq!(
            dir.interface("router.example", 3).unwrap().admin_status,
            None
        );
        assert_eq!(dir.interface("router.example", 4), None);
        assert_eq!(dir.interface("sw1", 10101), None);

        // An unreachable poll keeps the interfaces known.
        dir.update("router.example", &DevicePoll::default());
        assert!(dir.interface("router.example", 10101).is_some());
    }
}
