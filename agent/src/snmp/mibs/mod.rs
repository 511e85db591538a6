//! The standard MIBs the poller reads: their OIDs and how their values become
//! attributes and samples. Decoding is pure (rows in, samples out) so it is
//! tested without a device; values of unexpected types are skipped and counted.

pub mod entity;
pub mod host_resources;
pub mod ifmib;
pub mod lldp;
pub mod system;
pub mod ucd;

use std::collections::BTreeMap;

use async_snmp::{Oid, Value, ValueKind};

use super::walk::SubtreeError;
use crate::series::PolledSample;

/// An OID from its dotted arcs.
pub fn oid(arcs: &[u32]) -> Oid {
    Oid::from_slice(arcs)
}

/// Type-checked access to values; remembers what had to be skipped.
#[derive(Debug, Default)]
pub struct Decoder {
    skipped: BTreeMap<String, (usize, ValueKind)>,
}

impl Decoder {
    /// A numeric value (integer, counter, gauge, time ticks) as f64.
    pub fn num(&mut self, what: &str, v: &Value) -> Option<f64> {
        match v {
            Value::Integer(i) => Some(f64::from(*i)),
            Value::Counter32(n)
            | Value::Gauge32(n)
            | Value::UInteger32(n)
            | Value::TimeTicks(n) => Some(f64::from(*n)),
            // Counter64 wraps at 2^64; f64 keeps 53 bits, enough for rates.
            Value::Counter64(n) => Some(*n as f64),
            other => self.skip(what, other),
        }
    }

    /// A text value (OCTET STRING), lossily decoded, trailing NULs and spaces trimmed.
    pub fn text(&mut self, what: &str, v: &Value) -> Option<String> {
        match v {
            Value::OctetString(b) => Some(
                String::from_utf8_lossy(b)
                    .trim_end_matches(['\0', ' ', '\n', '\r'])
                    .to_owned(),
            ),
            other => self.skip(what, other),
        }
    }

    /// Raw bytes of an OCTET STRING.
    pub fn bytes<'v>(&mut self, what: &str, v: &'v Value) -> Option<&'v [u8]> {
        match v {
            Value::OctetString(b) => Some(b),
            other => self.skip(what, other),
        }
    }

    /// An OBJECT IDENTIFIER value.
    pub fn oid<'v>(&mut self, what: &str, v: &'v Value) -> Option<&'v Oid> {
        match v {
            Value::ObjectIdentifier(o) => Some(o),
            other => self.skip(what, other),
        }
    }

    fn skip<T>(&mut self, what: &str, v: &Value) -> Option<T> {
        let e = self.skipped.entry(what.to_owned()).or_insert((0, v.kind()));
        e.0 += 1;
        None
    }

    /// Moves one error per subtree with skipped values into `errors`.
    pub fn finish(self, errors: &mut Vec<SubtreeError>) {
        for (what, (count, kind)) in self.skipped {
            errors.push(SubtreeError::new(
                what,
                format!("skipped {count} value(s) of unexpected type {kind}"),
            ));
        }
    }
}

/// A sample with labels given as string pairs.
pub fn sample(metric: &str, labels: &[(&str, &str)], counter: bool, value: f64) -> PolledSample {
    PolledSample {
        metric: metric.to_owned(),
        labels: labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        counter,
        value,
    }
}

/// Formats bytes as a colon-separated hex string, e.g. `00:1a:2b:3c:4d:5e`.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_skips_and_counts_wrong_types() {
        let mut d = Decoder::default();
        assert_eq!(d.num("t.a", &Value::Counter64(5)), Some(5.0));
        assert_eq!(d.num("t.a", &Value::OctetString("x".into())), None);
        assert_eq!(d.num("t.a", &Value::Null), None);
        assert_eq!(d.text("t.b", &Value::Integer(1)), None);
        assert_eq!(
            d.text("t.b", &Value::OctetString("eth0\0".into()))
                .as_deref(),
            Some("eth0")
        );
        let mut errors = Vec::new();
        d.finish(&mut errors);
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].subtree, "t.a");
        assert!(errors[0].error.contains("skipped 2"), "{errors:?}");
    }

    #[test]
    fn hex_formats_macs() {
        assert_eq!(hex(&[0, 0x1a, 0xff]), "00:1a:ff");
    }
}
