//! GETBULK walks that keep what they got: a subtree that times out, is cut
//! off by the poll's deadline, or exceeds the size bound yields its partial
//! results plus a [`SubtreeError`], never a failed poll.

use std::collections::BTreeMap;

use async_snmp::{Oid, OidOrdering, Value, WalkMethod, WalkOptions};
use futures_util::future::join_all;
use serde::Serialize;
use tokio::time::Instant;

use super::session::Session;

/// Most varbinds kept from one subtree; a hostile or broken agent cannot grow a poll beyond it.
pub const MAX_VARBINDS_PER_SUBTREE: usize = 100_000;
/// GETBULK max-repetitions per request.
pub const MAX_REPETITIONS: u32 = 25;

/// A subtree (or value) that could not be read completely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubtreeError {
    /// What was being read, e.g. `ifXTable.ifHCInOctets` or `system`.
    pub subtree: String,
    /// What went wrong.
    pub error: String,
}

impl SubtreeError {
    /// An error about `subtree`.
    pub fn new(subtree: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            subtree: subtree.into(),
            error: error.into(),
        }
    }
}

/// Rows of a table: index arcs → column number → value.
pub type Rows = BTreeMap<Vec<u32>, BTreeMap<u32, Value>>;

/// Walks the subtree under `root` until it ends, fails, reaches
/// [`MAX_VARBINDS_PER_SUBTREE`], or `deadline` passes. Returns every
/// `(suffix below root, value)` read, and the error that cut it short, if any.
pub async fn walk(
    session: &Session,
    root: Oid,
    deadline: Instant,
) -> (Vec<(Vec<u32>, Value)>, Option<String>) {
    let options = WalkOptions {
        method: WalkMethod::GetBulk,
        max_repetitions: MAX_REPETITIONS,
        ordering: OidOrdering::Strict,
        result_limit: Some(MAX_VARBINDS_PER_SUBTREE),
    };
    let mut out = Vec::new();
    let mut stream = match session.client().walk_with(root.clone(), options) {
        Ok(s) => s,
        Err(e) => return (out, Some(session.error(&e).to_string())),
    };
    loop {
        let next = match tokio::time::timeout_at(deadline, stream.next()).await {
            Ok(next) => next,
            Err(_) => {
                return (
                    out,
                    Some("poll deadline passed (partial results)".to_owned()),
                );
            }
        };
        match next {
            None => return (out, None),
            Some(Ok(vb)) => {
                if vb.value.is_exception() {
                    continue;
                }
                if let Some(suffix) = vb.oid.strip_prefix(&root) {
                    out.push((suffix.arcs().to_vec(), vb.value));
                }
            }
            Some(Err(e)) => {
                let msg = if e.kind() == async_snmp::ErrorKind::WalkAborted {
                    format!("{e} (kept {} values)", out.len())
                } else {
                    session.error(&e).to_string()
                };
                return (out, Some(msg));
            }
        }
    }
}

/// One column of a table: its number under the entry OID and its MIB name.
pub type Column = (u32, &'static str);

/// Walks each column of the table whose entry is `entry` (concurrently) and
/// joins them into rows by index. Errors are pushed to `errors`, named
/// `table.column`.
pub async fn walk_table(
    session: &Session,
    table: &str,
    entry: Oid,
    columns: &[Column],
    deadline: Instant,
    errors: &mut Vec<SubtreeError>,
) -> Rows {
    let walks = columns.iter().map(|&(col, _)| {
        let root = entry.child(col);
        walk(session, root, deadline)
    });
    let mut rows = Rows::new();
    for (&(col, name), (values, error)) in columns.iter().zip(join_all(walks).await) {
        if let Some(error) = error {
            errors.push(SubtreeError::new(format!("{table}.{name}"), error));
        }
        for (index, value) in values {
            rows.entry(index).or_default().insert(col, value);
        }
    }
    rows
}

/// Renders index arcs as a dotted string, e.g. `1.2`.
pub fn index_string(index: &[u32]) -> String {
    index
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(".")
}
