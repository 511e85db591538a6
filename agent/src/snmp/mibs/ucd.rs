//! UCD-SNMP-MIB (net-snmp and many Linux appliances): load averages and memory.

use async_snmp::{Oid, Value};

use super::{Decoder, oid, sample};
use crate::series::PolledSample;

/// laLoadInt column (1.3.6.1.4.1.2021.10.1.5): load × 100 per laIndex 1, 2, 3.
pub fn load_int() -> Oid {
    oid(&[1, 3, 6, 1, 4, 1, 2021, 10, 1, 5])
}

/// memory group (1.3.6.1.4.1.2021.4).
pub fn memory() -> Oid {
    oid(&[1, 3, 6, 1, 4, 1, 2021, 4])
}

/// Memory scalars (suffix under memory, i.e. `N.0`) in kB, and their metric names.
const MEMORY: [(u32, &str); 6] = [
    (3, "snmp_ucd_swap_total_bytes"),
    (4, "snmp_ucd_swap_available_bytes"),
    (5, "snmp_ucd_memory_total_bytes"),
    (6, "snmp_ucd_memory_available_bytes"),
    (14, "snmp_ucd_memory_buffer_bytes"),
    (15, "snmp_ucd_memory_cached_bytes"),
];

/// `snmp_ucd_load_average{period="1m"|"5m"|"15m"}` from laLoadInt rows.
pub fn decode_load(values: &[(Vec<u32>, Value)], d: &mut Decoder, samples: &mut Vec<PolledSample>) {
    for (index, v) in values {
        let period = match index.as_slice() {
            [1] => "1m",
            [2] => "5m",
            [3] => "15m",
            _ => continue,
        };
        if let Some(x) = d.num("laTable.laLoadInt", v) {
            samples.push(sample(
                "snmp_ucd_load_average",
                &[("period", period)],
                false,
                x / 100.0,
            ));
        }
    }
}

/// Memory samples (bytes) from the memory group's scalars.
pub fn decode_memory(
    values: &[(Vec<u32>, Value)],
    d: &mut Decoder,
    samples: &mut Vec<PolledSample>,
) {
    for (suffix, v) in values {
        let [col, 0] = suffix.as_slice() else {
            continue;
        };
        if let Some(&(_, metric)) = MEMORY.iter().find(|(c, _)| c == col)
            && let Some(kb) = d.num("memory", v)
        {
            samples.push(sample(metric, &[], false, kb * 1024.0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_and_memory() {
        let (mut d, mut s) = (Decoder::default(), vec![]);
        decode_load(
            &[(vec![1], Value::Integer(125)), (vec![9], Value::Integer(1))],
            &mut d,
            &mut s,
        );
        decode_memory(
            &[
                (vec![5, 0], Value::Integer(2048)),
                (vec![1, 0], Value::Integer(0)),
                (vec![100, 0], Value::Integer(0)),
            ],
            &mut d,
            &mut s,
        );
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].value, 1.25);
        assert_eq!(s[0].labels, vec![("period".into(), "1m".into())]);
        assert_eq!(s[1].metric, "snmp_ucd_memory_total_bytes");
        assert_eq!(s[1].value, 2_097_152.0);
    }
}
