//! Names and text of a trap's varbinds: `ifOperStatus.3` rather than a
//! dotted OID where the name is known, device text made safe and bounded,
//! and the community a v1 trap forwards never stored.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use async_snmp::{Oid, Value, VarBind};

use super::decode::{
    SNMP_TRAP_ADDRESS, SNMP_TRAP_COMMUNITY, SNMP_TRAP_ENTERPRISE, SNMP_TRAP_OID, SYS_UPTIME,
};
use super::interface::{IF_ENTRY, IF_X_ENTRY};

/// Longest text kept from one octet-string varbind, in characters.
pub(super) const MAX_TEXT: usize = 512;

/// Scalars known by name.
const SCALARS: &[(&[u32], &str)] = &[
    (&[1, 3, 6, 1, 2, 1, 1, 1, 0], "sysDescr.0"),
    (&[1, 3, 6, 1, 2, 1, 1, 2, 0], "sysObjectID.0"),
    (SYS_UPTIME, "sysUpTime.0"),
    (&[1, 3, 6, 1, 2, 1, 1, 4, 0], "sysContact.0"),
    (&[1, 3, 6, 1, 2, 1, 1, 5, 0], "sysName.0"),
    (&[1, 3, 6, 1, 2, 1, 1, 6, 0], "sysLocation.0"),
    (SNMP_TRAP_OID, "snmpTrapOID.0"),
    (SNMP_TRAP_ENTERPRISE, "snmpTrapEnterprise.0"),
    (SNMP_TRAP_ADDRESS, "snmpTrapAddress.0"),
    (SNMP_TRAP_COMMUNITY, "snmpTrapCommunity.0"),
];

/// ifTable columns known by name.
const IF_COLUMNS: &[(u32, &str)] = &[
    (1, "ifIndex"),
    (2, "ifDescr"),
    (3, "ifType"),
    (4, "ifMtu"),
    (5, "ifSpeed"),
    (6, "ifPhysAddress"),
    (7, "ifAdminStatus"),
    (8, "ifOperStatus"),
    (9, "ifLastChange"),
];

/// ifXTable columns known by name.
const IF_X_COLUMNS: &[(u32, &str)] = &[(1, "ifName"), (15, "ifHighSpeed"), (18, "ifAlias")];

/// Every varbind by name; a repeated name gets `#2`, `#3`….
pub(super) fn fields(varbinds: &[&VarBind]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for vb in varbinds {
        let name = field_name(&vb.oid);
        let value = if vb.oid.arcs() == SNMP_TRAP_COMMUNITY {
            "<redacted>".to_owned()
        } else {
            value_text(&vb.value)
        };
        let mut key = name.clone();
        let mut n = 1;
        while out.contains_key(&key) {
            n += 1;
            key = format!("{name}#{n}");
        }
        out.insert(key, value);
    }
    out
}

/// A known name such as `ifOperStatus.3`, else the dotted OID.
pub fn field_name(oid: &Oid) -> String {
    let arcs = oid.arcs();
    if let Some((_, name)) = SCALARS.iter().find(|(a, _)| *a == arcs) {
        return (*name).to_owned();
    }
    for (table, columns) in [(IF_ENTRY, IF_COLUMNS), (IF_X_ENTRY, IF_X_COLUMNS)] {
        let Some([column, instance @ ..]) = arcs.strip_prefix(table) else {
            continue;
        };
        if instance.is_empty() {
            continue;
        }
        if let Some((_, name)) = columns.iter().find(|(c, _)| c == column) {
            let mut s = (*name).to_owned();
            for arc in instance {
                let _ = write!(s, ".{arc}");
            }
            return s;
        }
    }
    oid.to_string()
}

/// A value as text; octet strings have control characters escaped and are
/// cut at [`MAX_TEXT`] characters.
fn value_text(value: &Value) -> String {
    match value {
        Value::OctetString(_) => match value.as_str() {
            Some(s) => clean_text(s),
            None => clean_text(&value.to_string()),
        },
        other => other.to_string(),
    }
}

/// Device-supplied text made safe for a log line or a summary.
pub(super) fn clean_text(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == MAX_TEXT {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
