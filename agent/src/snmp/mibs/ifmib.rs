//! IF-MIB ifTable and ifXTable: one row per interface, labelled by ifName (or
//! ifDescr) and ifAlias. 64-bit HC counters win over 32-bit ones when present.

use async_snmp::Oid;
use serde_json::{Value as Json, json};

use super::{Decoder, hex, oid, sample};
use crate::series::PolledSample;
use crate::snmp::walk::{Column, Rows, index_string};

/// ifEntry (1.3.6.1.2.1.2.2.1).
pub fn if_entry() -> Oid {
    oid(&[1, 3, 6, 1, 2, 1, 2, 2, 1])
}

/// ifXEntry (1.3.6.1.2.1.31.1.1.1).
pub fn ifx_entry() -> Oid {
    oid(&[1, 3, 6, 1, 2, 1, 31, 1, 1, 1])
}

/// ifTable columns read.
pub const IF_COLUMNS: &[Column] = &[
    (2, "ifDescr"),
    (3, "ifType"),
    (4, "ifMtu"),
    (5, "ifSpeed"),
    (6, "ifPhysAddress"),
    (7, "ifAdminStatus"),
    (8, "ifOperStatus"),
    (10, "ifInOctets"),
    (11, "ifInUcastPkts"),
    (13, "ifInDiscards"),
    (14, "ifInErrors"),
    (16, "ifOutOctets"),
    (17, "ifOutUcastPkts"),
    (19, "ifOutDiscards"),
    (20, "ifOutErrors"),
];

/// ifXTable columns read.
pub const IFX_COLUMNS: &[Column] = &[
    (1, "ifName"),
    (2, "ifInMulticastPkts"),
    (3, "ifInBroadcastPkts"),
    (4, "ifOutMulticastPkts"),
    (5, "ifOutBroadcastPkts"),
    (6, "ifHCInOctets"),
    (7, "ifHCInUcastPkts"),
    (8, "ifHCInMulticastPkts"),
    (9, "ifHCInBroadcastPkts"),
    (10, "ifHCOutOctets"),
    (11, "ifHCOutUcastPkts"),
    (12, "ifHCOutMulticastPkts"),
    (13, "ifHCOutBroadcastPkts"),
    (15, "ifHighSpeed"),
    (18, "ifAlias"),
];

/// Counters: (metric, ifXTable HC column, fallback column and which table it is in).
const COUNTERS: [(&str, u32, u32, bool); 10] = [
    ("snmp_if_in_octets_total", 6, 10, false),
    ("snmp_if_out_octets_total", 10, 16, false),
    ("snmp_if_in_unicast_packets_total", 7, 11, false),
    ("snmp_if_out_unicast_packets_total", 11, 17, false),
    ("snmp_if_in_multicast_packets_total", 8, 2, true),
    ("snmp_if_out_multicast_packets_total", 12, 4, true),
    ("snmp_if_in_broadcast_packets_total", 9, 3, true),
    ("snmp_if_out_broadcast_packets_total", 13, 5, true),
    ("snmp_if_in_errors_total", 0, 14, false),
    ("snmp_if_out_errors_total", 0, 20, false),
];

/// Discard counters (ifTable only).
const DISCARDS: [(&str, u32); 2] = [
    ("snmp_if_in_discards_total", 13),
    ("snmp_if_out_discards_total", 19),
];

/// Turns ifTable and ifXTable rows into samples and the `interfaces` attribute.
pub fn decode(
    if_rows: &Rows,
    ifx_rows: &Rows,
    d: &mut Decoder,
    samples: &mut Vec<PolledSample>,
) -> Json {
    let empty = Default::default();
    let mut interfaces = Vec::new();
    for (index, row) in if_rows {
        let xrow = ifx_rows.get(index).unwrap_or(&empty);
        let mut text = |r: &std::collections::BTreeMap<u32, _>, c: u32, what: &str| {
            r.get(&c)
                .and_then(|v| d.text(what, v))
                .filter(|s| !s.is_empty())
        };
        let descr = text(row, 2, "ifTable.ifDescr");
        let name = text(xrow, 1, "ifXTable.ifName")
            .or_else(|| descr.clone())
            .unwrap_or_else(|| format!("if{}", index_string(index)));
        let alias = text(xrow, 18, "ifXTable.ifAlias").unwrap_or_default();
        let labels = [("interface", name.as_str()), ("alias", alias.as_str())];
        let mut num = |r: &std::collections::BTreeMap<u32, _>, c: u32, what: &str| {
            r.get(&c).and_then(|v| d.num(what, v))
        };

        let if_speed = num(row, 5, "ifTable.ifSpeed");
        let high_speed = num(xrow, 15, "ifXTable.ifHighSpeed");
        let speed = match (if_speed, high_speed) {
            (Some(s), Some(h)) if s >= f64::from(u32::MAX) => Some(h * 1e6),
            (Some(s), _) => Some(s),
            (None, Some(h)) => Some(h * 1e6),
            (None, None) => None,
        };
        let gauges = [
            ("snmp_if_oper_status", num(row, 8, "ifTable.ifOperStatus")),
            ("snmp_if_admin_status", num(row, 7, "ifTable.ifAdminStatus")),
            ("snmp_if_speed_bits", speed),
        ];
        for (metric, value) in gauges {
            if let Some(v) = value {
                samples.push(sample(metric, &labels, false, v));
            }
        }
        for (metric, hc, fallback, fallback_in_x) in COUNTERS {
            let hc_value = (hc != 0).then(|| num(xrow, hc, "ifXTable")).flatten();
            let value = hc_value.or_else(|| {
                let r = if fallback_in_x { xrow } else { row };
                num(
                    r,
                    fallback,
                    if fallback_in_x { "ifXTable" } else { "ifTable" },
                )
            });
            if let Some(v) = value {
                samples.push(sample(metric, &labels, true, v));
            }
        }
        for (metric, col) in DISCARDS {
            if let Some(v) = num(row, col, "ifTable") {
                samples.push(sample(metric, &labels, true, v));
            }
        }
        let if_type = num(row, 3, "ifTable.ifType");
        let mtu = num(row, 4, "ifTable.ifMtu");
        let mac = row
            .get(&6)
            .and_then(|v| d.bytes("ifTable.ifPhysAddress", v))
            .filter(|b| !b.is_empty())
            .map(hex);
        interfaces.push(json!({
            "index": index_string(index),
            "name": name,
            "descr": descr,
            "alias": alias,
            "type": if_type,
            "mtu": mtu,
            "mac": mac,
            "speed_bits": speed,
        }));
    }
    Json::Array(interfaces)
}

#[cfg(test)]
mod tests {

    use async_snmp::Value;

    use super::*;

    fn rows(entries: &[(u32, u32, Value)]) -> Rows {
        let mut r = Rows::new();
        for (index, col, v) in entries {
            r.entry(vec![*index]).or_default().insert(*col, v.clone());
        }
        r
    }

    fn find<'a>(s: &'a [PolledSample], metric: &str, iface: &str) -> Option<&'a PolledSample> {
        s.iter().find(|x| {
            x.metric == metric && x.labels.iter().any(|(k, v)| k == "interface" && v == iface)
        })
    }

    #[test]
    fn hc_counters_and_names_win() {
        let if_rows = rows(&[
            (1, 2, Value::OctetString("GigabitEthernet0/1".into())),
            (1, 5, Value::Gauge32(u32::MAX)),
            (1, 8, Value::Integer(2)),
            (1, 10, Value::Counter32(100)),
            (1, 16, Value::Counter32(7)),
            (1, 6, Value::OctetString(vec![0, 1, 2, 3, 4, 5].into())),
            (2, 2, Value::OctetString("lo".into())),
            (2, 10, Value::Counter32(42)),
            (2, 14, Value::OctetString("bogus".into())),
        ]);
        let ifx_rows = rows(&[
            (1, 1, Value::OctetString("Gi0/1".into())),
            (1, 6, Value::Counter64(5_000_000_000)),
            (1, 15, Value::Gauge32(25_000)),
            (1, 18, Value::OctetString("uplink".into())),
        ]);
        let (mut d, mut s, mut e) = (Decoder::default(), vec![], vec![]);
        let ifs = decode(&if_rows, &ifx_rows, &mut d, &mut s);
        d.finish(&mut e);
        let gi_in = find(&s, "snmp_if_in_octets_total", "Gi0/1").expect("hc in");
        assert_eq!(gi_in.value, 5e9);
        assert!(gi_in.counter);
        assert!(gi_in.labels.contains(&("alias".into(), "uplink".into())));
        assert_eq!(
            find(&s, "snmp_if_out_octets_total", "Gi0/1").map(|x| x.value),
            Some(7.0)
        );
        assert_eq!(
            find(&s, "snmp_if_speed_bits", "Gi0/1").map(|x| x.value),
            Some(25e9)
        );
        assert_eq!(
            find(&s, "snmp_if_oper_status", "Gi0/1").map(|x| x.value),
            Some(2.0)
        );
        assert_eq!(
            find(&s, "snmp_if_in_octets_total", "lo").map(|x| x.value),
            Some(42.0)
        );
        assert!(find(&s, "snmp_if_in_errors_total", "lo").is_none());
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(ifs[0]["mac"], "00:01:02:03:04:05");
        assert_eq!(ifs[1]["name"], "lo");
    }
}
