//! Helpers shared by the CMDB's tests.

use std::sync::Arc;

use super::Cmdb;
use tocsin_storage::Db;

/// A CMDB on a temporary store (keep the directory alive).
pub(super) fn cmdb() -> (tempfile::TempDir, Cmdb) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path()).unwrap());
    (dir, Cmdb::new(db))
}

/// A CI's relations as `(kind, target)`.
pub(super) fn relations(c: &Cmdb, id: &str) -> Vec<(String, String)> {
    c.detail(id)
        .unwrap()
        .unwrap()
        .relations
        .into_iter()
        .map(|r| (r.kind, r.target))
        .collect()
}
