//! LLDP-MIB (IEEE 802.1AB): the neighbours a device sees on each local port.

use async_snmp::{Oid, Value};

use super::{Decoder, hex, oid};
use crate::snmp::poll::LldpNeighbour;
use crate::snmp::walk::{Column, Rows, index_string};

/// lldpLocPortEntry (1.0.8802.1.1.2.1.3.7.1), indexed by lldpLocPortNum.
pub fn local_port_entry() -> Oid {
    oid(&[1, 0, 8802, 1, 1, 2, 1, 3, 7, 1])
}

/// lldpLocPortTable columns read.
pub const LOCAL_COLUMNS: &[Column] = &[
    (2, "lldpLocPortIdSubtype"),
    (3, "lldpLocPortId"),
    (4, "lldpLocPortDesc"),
];

/// lldpRemEntry (1.0.8802.1.1.2.1.4.1.1), indexed by timeMark, localPortNum, remIndex.
pub fn remote_entry() -> Oid {
    oid(&[1, 0, 8802, 1, 1, 2, 1, 4, 1, 1])
}

/// lldpRemTable columns read.
pub const REMOTE_COLUMNS: &[Column] = &[
    (4, "lldpRemChassisIdSubtype"),
    (5, "lldpRemChassisId"),
    (6, "lldpRemPortIdSubtype"),
    (7, "lldpRemPortId"),
    (8, "lldpRemPortDesc"),
    (9, "lldpRemSysName"),
];

/// Chassis id subtype macAddress(4); port id subtypes macAddress(3), interfaceName(5), local(7).
const CHASSIS_MAC: f64 = 4.0;
const PORT_MAC: f64 = 3.0;
const PORT_NAMES: [f64; 2] = [5.0, 7.0];

/// An id as text: MACs (and anything unprintable) in hex, the rest as a string.
fn id_text(bytes: &[u8], is_mac: bool) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !is_mac && !s.chars().any(char::is_control) => s.trim().to_owned(),
        _ => hex(bytes),
    }
}

/// A port's name: its id when that is a name, else its description, else its id.
fn port_name(
    row: &std::collections::BTreeMap<u32, Value>,
    cols: (u32, u32, u32),
    what: &str,
    d: &mut Decoder,
) -> Option<String> {
    let (subtype_col, id_col, desc_col) = cols;
    let subtype = row.get(&subtype_col).and_then(|v| d.num(what, v));
    let id = row
        .get(&id_col)
        .and_then(|v| d.bytes(what, v))
        .filter(|b| !b.is_empty())
        .map(|b| id_text(b, subtype == Some(PORT_MAC)));
    if subtype.is_some_and(|s| PORT_NAMES.contains(&s)) && id.is_some() {
        return id;
    }
    row.get(&desc_col)
        .and_then(|v| d.text(what, v))
        .filter(|s| !s.is_empty())
        .or(id)
}

/// Joins the remote table with the local port table.
pub fn decode(local: &Rows, remote: &Rows, d: &mut Decoder) -> Vec<LldpNeighbour> {
    let mut out = Vec::new();
    for (index, row) in remote {
        let [_time_mark, local_num, _rem_index] = index.as_slice() else {
            continue;
        };
        let local_port = local
            .get(&vec![*local_num])
            .and_then(|r| port_name(r, (2, 3, 4), "lldpLocPortTable", d))
            .unwrap_or_else(|| index_string(&[*local_num]));
        let what = "lldpRemTable";
        let remote_port = port_name(row, (6, 7, 8), what, d).unwrap_or_default();
        let chassis_mac = row.get(&4).and_then(|v| d.num(what, v)) == Some(CHASSIS_MAC);
        let remote_chassis_id = row
            .get(&5)
            .and_then(|v| d.bytes(what, v))
            .map(|b| id_text(b, chassis_mac))
            .unwrap_or_default();
        let remote_sys_name = row
            .get(&9)
            .and_then(|v| d.text(what, v))
            .unwrap_or_default();
        out.push(LldpNeighbour {
            local_port,
            remote_sys_name,
            remote_port,
            remote_chassis_id,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_join_local_ports() {
        let mut local = Rows::new();
        local.insert(
            vec![5],
            [
                (2, Value::Integer(5)),
                (3, Value::OctetString("Gi1/0/5".into())),
                (4, Value::OctetString("GigabitEthernet1/0/5".into())),
            ]
            .into(),
        );
        let mut remote = Rows::new();
        remote.insert(
            vec![0, 5, 1],
            [
                (4, Value::Integer(4)),
                (
                    5,
                    Value::OctetString(vec![0, 0x1b, 0x21, 0x3a, 0x4b, 0x5c].into()),
                ),
                (6, Value::Integer(3)),
                (
                    7,
                    Value::OctetString(vec![0xa, 0xb, 0xc, 0xd, 0xe, 0xf].into()),
                ),
                (8, Value::OctetString("eth0".into())),
                (9, Value::OctetString("web01.example".into())),
            ]
            .into(),
        );
        remote.insert(
            vec![0, 9],
            [(9, Value::OctetString("bad index".into()))].into(),
        );
        remote.insert(vec![0, 7, 2], [(9, Value::Integer(1))].into());
        let mut d = Decoder::default();
        let n = decode(&local, &remote, &mut d);
        assert_eq!(n.len(), 2, "{n:?}");
        assert_eq!(n[0].local_port, "Gi1/0/5");
        assert_eq!(n[0].remote_port, "eth0");
        assert_eq!(n[0].remote_chassis_id, "00:1b:21:3a:4b:5c");
        assert_eq!(n[0].remote_sys_name, "web01.example");
        assert_eq!(n[1].local_port, "7");
        assert_eq!(n[1].remote_sys_name, "");
        let mut e = vec![];
        d.finish(&mut e);
        assert_eq!(e.len(), 1);
    }
}
