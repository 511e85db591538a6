//! HOST-RESOURCES-MIB: hrSystemUptime, hrProcessorLoad and hrStorageTable
//! (how storage arrays, NAS and Linux appliances report capacity).

use async_snmp::{Oid, Value};

use super::{Decoder, oid, sample};
use crate::series::PolledSample;
use crate::snmp::walk::{Column, Rows, index_string};

/// hrSystemUptime.0.
pub fn system_uptime() -> Oid {
    oid(&[1, 3, 6, 1, 2, 1, 25, 1, 1, 0])
}

/// hrProcessorEntry (1.3.6.1.2.1.25.3.3.1).
pub fn processor_entry() -> Oid {
    oid(&[1, 3, 6, 1, 2, 1, 25, 3, 3, 1])
}

/// hrProcessorTable columns read.
pub const PROCESSOR_COLUMNS: &[Column] = &[(2, "hrProcessorLoad")];

/// hrStorageEntry (1.3.6.1.2.1.25.2.3.1).
pub fn storage_entry() -> Oid {
    oid(&[1, 3, 6, 1, 2, 1, 25, 2, 3, 1])
}

/// hrStorageTable columns read.
pub const STORAGE_COLUMNS: &[Column] = &[
    (2, "hrStorageType"),
    (3, "hrStorageDescr"),
    (4, "hrStorageAllocationUnits"),
    (5, "hrStorageSize"),
    (6, "hrStorageUsed"),
];

/// The `type` label for an hrStorageType OID (hrStorageTypes, 1.3.6.1.2.1.25.2.1.N).
pub fn storage_type(o: &Oid) -> &'static str {
    match o.arcs() {
        [1, 3, 6, 1, 2, 1, 25, 2, 1, n] => match n {
            2 => "ram",
            3 => "virtual_memory",
            4 => "fixed_disk",
            5 => "removable_disk",
            6 => "floppy_disk",
            7 => "compact_disc",
            8 => "ram_disk",
            9 => "flash_memory",
            10 => "network_disk",
            _ => "other",
        },
        _ => "other",
    }
}

/// hrStorageSize/Used are Integer32 but count units; agents that overflow send negatives.
fn units(v: f64) -> f64 {
    if v < 0.0 { v + 4_294_967_296.0 } else { v }
}

/// `snmp_hr_system_uptime_seconds` from hrSystemUptime.0, if present and numeric.
pub fn decode_uptime(v: &Value, d: &mut Decoder, samples: &mut Vec<PolledSample>) {
    if v.is_exception() {
        return;
    }
    if let Some(ticks) = d.num("hrSystemUptime", v) {
        samples.push(sample(
            "snmp_hr_system_uptime_seconds",
            &[],
            false,
            ticks / 100.0,
        ));
    }
}

/// `snmp_hr_processor_load_percent{index}` per processor.
pub fn decode_processors(rows: &Rows, d: &mut Decoder, samples: &mut Vec<PolledSample>) {
    for (index, row) in rows {
        if let Some(load) = row
            .get(&2)
            .and_then(|v| d.num("hrProcessorTable.hrProcessorLoad", v))
        {
            let index = index_string(index);
            samples.push(sample(
                "snmp_hr_processor_load_percent",
                &[("index", &index)],
                false,
                load,
            ));
        }
    }
}

/// `snmp_hr_storage_{size,used}_bytes` and `used_percent` per storage area.
pub fn decode_storage(rows: &Rows, d: &mut Decoder, samples: &mut Vec<PolledSample>) {
    for (index, row) in rows {
        let what = "hrStorageTable";
        let descr = row
            .get(&3)
            .and_then(|v| d.text(what, v))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| index_string(index));
        let kind = row
            .get(&2)
            .and_then(|v| d.oid(what, v))
            .map_or("other", storage_type);
        let unit = row.get(&4).and_then(|v| d.num(what, v)).unwrap_or(0.0);
        let size = row.get(&5).and_then(|v| d.num(what, v)).map(units);
        let used = row.get(&6).and_then(|v| d.num(what, v)).map(units);
        if unit <= 0.0 {
            continue;
        }
        let labels = [("storage", descr.as_str()), ("type", kind)];
        if let Some(size) = size {
            samples.push(sample(
                "snmp_hr_storage_size_bytes",
                &labels,
                false,
                size * unit,
            ));
        }
        if let Some(used) = used {
            samples.push(sample(
                "snmp_hr_storage_used_bytes",
                &labels,
                false,
                used * unit,
            ));
        }
        if let (Some(size), Some(used)) = (size, used)
            && size > 0.0
        {
            samples.push(sample(
                "snmp_hr_storage_used_percent",
                &labels,
                false,
                100.0 * used / size,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn storage_is_scaled_by_allocation_units() {
        let mut rows = Rows::new();
        let row: BTreeMap<u32, Value> = [
            (
                2,
                Value::ObjectIdentifier(oid(&[1, 3, 6, 1, 2, 1, 25, 2, 1, 4])),
            ),
            (3, Value::OctetString("/".into())),
            (4, Value::Integer(4096)),
            (5, Value::Integer(1000)),
            (6, Value::Integer(250)),
        ]
        .into();
        rows.insert(vec![31], row);
        rows.insert(vec![32], [(4, Value::Integer(0))].into());
        let (mut d, mut s) = (Decoder::default(), vec![]);
        decode_storage(&rows, &mut d, &mut s);
        assert_eq!(s.len(), 3, "{s:?}");
        assert_eq!(s[0].metric, "snmp_hr_storage_size_bytes");
        assert_eq!(s[0].value, 4_096_000.0);
        assert_eq!(s[1].value, 1_024_000.0);
        assert_eq!(s[2].value, 25.0);
        assert!(s[0].labels.contains(&("type".into(), "fixed_disk".into())));
        assert!(s[0].labels.contains(&("storage".into(), "/".into())));
    }

    #[test]
    fn processors_and_negative_sizes() {
        let mut rows = Rows::new();
        rows.insert(vec![196_608], [(2, Value::Integer(17))].into());
        let (mut d, mut s) = (Decoder::default(), vec![]);
        decode_processors(&rows, &mut d, &mut s);
        assert_eq!(s[0].labels, vec![("index".into(), "196608".into())]);
        assert_eq!(s[0].value, 17.0);
        assert_eq!(units(-1.0), 4_294_967_295.0);
    }
}
