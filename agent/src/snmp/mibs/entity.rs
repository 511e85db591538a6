//! ENTITY-MIB entPhysicalTable: model, serial number, hardware, firmware and
//! software revisions of the chassis (the first entity of class chassis).

use std::collections::BTreeMap;

use async_snmp::Oid;
use serde_json::Value as Json;

use super::{Decoder, oid};
use crate::snmp::walk::{Column, Rows};

/// entPhysicalEntry (1.3.6.1.2.1.47.1.1.1.1).
pub fn physical_entry() -> Oid {
    oid(&[1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1])
}

/// entPhysicalClass value of a chassis.
pub const CLASS_CHASSIS: f64 = 3.0;

/// entPhysicalTable columns read.
pub const COLUMNS: &[Column] = &[
    (2, "entPhysicalDescr"),
    (5, "entPhysicalClass"),
    (8, "entPhysicalHardwareRev"),
    (9, "entPhysicalFirmwareRev"),
    (10, "entPhysicalSoftwareRev"),
    (11, "entPhysicalSerialNum"),
    (12, "entPhysicalMfgName"),
    (13, "entPhysicalModelName"),
];

/// Attribute names for the text columns of the chassis row.
const ATTRIBUTES: [(u32, &str); 7] = [
    (13, "model"),
    (11, "serial"),
    (8, "hardware_revision"),
    (9, "firmware_revision"),
    (10, "software_revision"),
    (12, "manufacturer"),
    (2, "chassis_descr"),
];

/// Adds the chassis' non-empty attributes.
pub fn decode(rows: &Rows, d: &mut Decoder, attributes: &mut BTreeMap<String, Json>) {
    let what = "entPhysicalTable";
    let chassis = rows
        .values()
        .find(|row| {
            row.get(&5)
                .and_then(|v| d.num(what, v))
                .is_some_and(|c| c == CLASS_CHASSIS)
        })
        .or_else(|| rows.values().next());
    let Some(row) = chassis else { return };
    for (col, name) in ATTRIBUTES {
        if let Some(text) = row.get(&col).and_then(|v| d.text(what, v)) {
            let text = text.trim().to_owned();
            if !text.is_empty() {
                attributes.insert(name.to_owned(), Json::String(text));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_snmp::Value;

    use super::*;

    #[test]
    fn chassis_row_is_chosen() {
        let mut rows = Rows::new();
        rows.insert(
            vec![1],
            [
                (5, Value::Integer(10)),
                (13, Value::OctetString("PSU".into())),
            ]
            .into(),
        );
        rows.insert(
            vec![1001],
            [
                (5, Value::Integer(3)),
                (13, Value::OctetString("WS-C3850-48T".into())),
                (11, Value::OctetString("FOC1234X0AB".into())),
                (9, Value::OctetString("".into())),
                (10, Value::OctetString("16.12.4".into())),
            ]
            .into(),
        );
        let (mut d, mut a) = (Decoder::default(), BTreeMap::new());
        decode(&rows, &mut d, &mut a);
        assert_eq!(a["model"], "WS-C3850-48T");
        assert_eq!(a["serial"], "FOC1234X0AB");
        assert_eq!(a["software_revision"], "16.12.4");
        assert!(!a.contains_key("firmware_revision"));
    }
}
