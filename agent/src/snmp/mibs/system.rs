//! SNMPv2-MIB `system` group: sysDescr, sysObjectID, sysUpTime, sysContact,
//! sysName, sysLocation, and the vendor named by sysObjectID's enterprise number.

use std::collections::BTreeMap;

use async_snmp::{Oid, VarBind};
use serde_json::Value as Json;

use super::{Decoder, oid, sample};
use crate::series::PolledSample;

/// `system` scalars read by one GET, as (column under 1.3.6.1.2.1.1, attribute name).
pub const SCALARS: [(u32, &str); 6] = [
    (1, "sysDescr"),
    (2, "sysObjectID"),
    (3, "sysUpTime"),
    (4, "sysContact"),
    (5, "sysName"),
    (6, "sysLocation"),
];

/// Prefix of private enterprise numbers: 1.3.6.1.4.1.
pub const ENTERPRISES: [u32; 6] = [1, 3, 6, 1, 4, 1];

/// The OIDs to GET (each `.0` instance).
pub fn oids() -> Vec<Oid> {
    SCALARS
        .iter()
        .map(|(c, _)| oid(&[1, 3, 6, 1, 2, 1, 1, *c, 0]))
        .collect()
}

/// Vendors of common network and storage gear by IANA enterprise number.
pub fn vendor(enterprise: u32) -> Option<&'static str> {
    Some(match enterprise {
        2 => "IBM",
        9 => "Cisco",
        11 => "HP",
        311 => "Microsoft",
        674 => "Dell",
        789 => "NetApp",
        1991 => "Brocade",
        2011 => "Huawei",
        2636 => "Juniper",
        3375 => "F5",
        6876 => "VMware",
        8072 => "net-snmp",
        12356 => "Fortinet",
        14988 => "MikroTik",
        25506 => "H3C",
        30065 => "Arista",
        _ => return None,
    })
}

/// The enterprise number in a sysObjectID under 1.3.6.1.4.1, if it is one.
pub fn enterprise_of(sys_object_id: &Oid) -> Option<u32> {
    let arcs = sys_object_id.arcs();
    arcs.strip_prefix(&ENTERPRISES[..])
        .and_then(|rest| rest.first().copied())
}

/// Decodes the GET reply into attributes and the `snmp_uptime_seconds` sample.
pub fn decode(
    varbinds: &[VarBind],
    d: &mut Decoder,
    attributes: &mut BTreeMap<String, Json>,
    samples: &mut Vec<PolledSample>,
) {
    for vb in varbinds {
        if vb.value.is_exception() {
            continue;
        }
        let arcs = vb.oid.arcs();
        let Some(&(_, name)) = SCALARS
            .iter()
            .find(|(c, _)| arcs == [1, 3, 6, 1, 2, 1, 1, *c, 0])
        else {
            continue;
        };
        let what = format!("system.{name}");
        match name {
            "sysObjectID" => {
                if let Some(o) = d.oid(&what, &vb.value) {
                    attributes.insert(name.to_owned(), Json::String(o.to_string()));
                    if let Some(v) = enterprise_of(o).and_then(vendor) {
                        attributes.insert("vendor".to_owned(), Json::String(v.to_owned()));
                    }
                }
            }
            "sysUpTime" => {
                if let Some(ticks) = d.num(&what, &vb.value) {
                    samples.push(sample("snmp_uptime_seconds", &[], false, ticks / 100.0));
                }
            }
            _ => {
                if let Some(t) = d.text(&what, &vb.value) {
                    attributes.insert(name.to_owned(), Json::String(t));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_snmp::Value;

    use super::*;

    #[test]
    fn decodes_system_group_and_vendor() {
        let vbs = vec![
            VarBind::new(
                oid(&[1, 3, 6, 1, 2, 1, 1, 5, 0]),
                Value::OctetString("sw1".into()),
            ),
            VarBind::new(
                oid(&[1, 3, 6, 1, 2, 1, 1, 2, 0]),
                Value::ObjectIdentifier(oid(&[1, 3, 6, 1, 4, 1, 9, 1, 1208])),
            ),
            VarBind::new(oid(&[1, 3, 6, 1, 2, 1, 1, 3, 0]), Value::TimeTicks(12_345)),
            VarBind::new(oid(&[1, 3, 6, 1, 2, 1, 1, 6, 0]), Value::Integer(3)),
            VarBind::new(oid(&[1, 3, 6, 1, 2, 1, 1, 4, 0]), Value::NoSuchObject),
        ];
        let (mut d, mut a, mut s, mut e) = (Decoder::default(), BTreeMap::new(), vec![], vec![]);
        decode(&vbs, &mut d, &mut a, &mut s);
        d.finish(&mut e);
        assert_eq!(a["sysName"], "sw1");
        assert_eq!(a["vendor"], "Cisco");
        assert_eq!(a["sysObjectID"], "1.3.6.1.4.1.9.1.1208");
        assert!(!a.contains_key("sysLocation") && !a.contains_key("sysContact"));
        assert_eq!(s.len(), 1);
        assert!((s[0].value - 123.45).abs() < 1e-9);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].subtree, "system.sysLocation");
    }

    #[test]
    fn vendor_table() {
        assert_eq!(vendor(8072), Some("net-snmp"));
        assert_eq!(vendor(30065), Some("Arista"));
        assert_eq!(vendor(4), None);
        assert_eq!(
            enterprise_of(&oid(&[1, 3, 6, 1, 4, 1, 2636, 1])),
            Some(2636)
        );
        assert_eq!(enterprise_of(&oid(&[1, 3, 6, 1, 2, 1])), None);
    }
}
