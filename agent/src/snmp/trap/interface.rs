//! The interface a notification is about, from its IF-MIB varbinds
//! (`ifIndex`, `ifDescr`, `ifName`, `ifAdminStatus`, `ifOperStatus`).

use async_snmp::{Oid, Value, VarBind};

use super::names::clean_text;

/// `ifEntry`: column `c` of interface `n` is `ifEntry.c.n`.
pub(super) const IF_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 2, 2, 1];
/// `ifXEntry`: column `c` of interface `n` is `ifXEntry.c.n`.
pub(super) const IF_X_ENTRY: &[u32] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1];

/// The interface a notification is about (from its IF-MIB varbinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrapInterface {
    /// The interface's `ifIndex`.
    pub if_index: u32,
    /// `ifName` (preferred) or `ifDescr`, if the notification carries one.
    pub name: Option<String>,
    /// `ifAdminStatus` (1 up, 2 down, 3 testing), if carried as an INTEGER.
    pub admin_status: Option<i64>,
    /// `ifOperStatus` (1 up, 2 down, … 7 lowerLayerDown), if carried as an INTEGER.
    pub oper_status: Option<i64>,
}

/// An IF-MIB column this module reads, and its interface index.
fn if_column(oid: &Oid) -> Option<(&'static str, u32)> {
    let arcs = oid.arcs();
    if let Some(&[column, index]) = arcs.strip_prefix(IF_ENTRY) {
        let name = match column {
            1 => "ifIndex",
            2 => "ifDescr",
            7 => "ifAdminStatus",
            8 => "ifOperStatus",
            _ => return None,
        };
        return Some((name, index));
    }
    match arcs.strip_prefix(IF_X_ENTRY) {
        Some(&[1, index]) => Some(("ifName", index)),
        _ => None,
    }
}

/// The interface the varbinds are about: the value of an `ifIndex` varbind
/// if there is a valid one, else the instance of the first IF-MIB varbind.
pub(super) fn interface(varbinds: &[&VarBind]) -> Option<TrapInterface> {
    let columns: Vec<(&str, u32, &Value)> = varbinds
        .iter()
        .filter_map(|vb| if_column(&vb.oid).map(|(c, i)| (c, i, &vb.value)))
        .collect();
    let by_value = columns.iter().find_map(|(c, _, v)| match (c, v) {
        (&"ifIndex", Value::Integer(i)) => u32::try_from(*i).ok().filter(|i| *i > 0),
        _ => None,
    });
    let if_index = by_value.or_else(|| columns.first().map(|(_, i, _)| *i))?;
    let get = |column: &str| {
        columns
            .iter()
            .find(|(c, i, _)| *c == column && *i == if_index)
            .map(|(_, _, v)| *v)
    };
    let text = |column: &str| {
        get(column)
            .and_then(Value::as_str)
            .map(clean_text)
            .filter(|s| !s.trim().is_empty())
    };
    let int = |column: &str| match get(column) {
        Some(Value::Integer(v)) => Some(i64::from(*v)),
        _ => None,
    };
    Some(TrapInterface {
        if_index,
        name: text("ifName").or_else(|| text("ifDescr")),
        admin_status: int("ifAdminStatus"),
        oper_status: int("ifOperStatus"),
    })
}
