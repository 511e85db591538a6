//! Every RocksDB key layout of the collector, in one place (the storage
//! crate is the only one that sees RocksDB).
//!
//! Keys start with a one-byte prefix naming the record type; numeric ids are
//! fixed-width big-endian so that byte order equals numeric order; signed
//! timestamps have their sign bit flipped for the same reason. Strings that
//! are followed by more key material are terminated by `0x00`, which is
//! therefore forbidden inside them (ingest validation rejects it). Every
//! encoder has a validating decoder, and the tests check that encoded keys
//! sort the way the readers expect.
//!
//! The layouts live in one file per owner — [`series`] (series index,
//! postings, chunks, ingest log, agent state), [`cmdb`] and [`incidents`]
//! (incidents, maintenance windows, problem records, the notification
//! outbox) — and every one-byte
//! prefix is declared here, in one table, so collisions are visible at a
//! glance. Everything is re-exported, so callers write `keys::chunk(..)`.

mod cmdb;
mod incidents;
mod series;

pub use cmdb::*;
pub use incidents::*;
pub use series::*;

use super::StorageError;

/// Prefix: series by canonical label set (CF `series`).
pub const SERIES_BY_LABELS: u8 = 0x10;
/// Prefix: series by id (CF `series`).
pub const SERIES_BY_ID: u8 = 0x11;
/// Prefix: postings, label name/value → series id (CF `postings`).
pub const POSTING: u8 = 0x20;
/// Prefix: a chunk of samples of one series (CF `chunks`).
pub const CHUNK: u8 = 0x30;
/// Prefix: ingest log record (CF `log`).
pub const LOG: u8 = 0x40;
/// Prefix: per-agent ingest state (CF `meta`).
pub const AGENT: u8 = 0x01;
/// Key: the log sequence number covered by the last checkpoint (CF `meta`).
pub const CHECKPOINT: &[u8] = &[0x02];
/// Prefix: a CI record (CF `cmdb`).
pub const CI: u8 = 0x50;
/// Prefix: a CI attribute change record (CF `cmdb`).
pub const CI_CHANGE: u8 = 0x51;
/// Prefix: a CI relation (CF `cmdb`).
pub const CI_RELATION: u8 = 0x52;
/// Prefix: an event a device sent about itself, e.g. an SNMP trap (CF `cmdb`).
pub const CI_EVENT: u8 = 0x53;
/// Prefix: an incident record by id (CF `incidents`).
pub const INCIDENT: u8 = 0x60;
/// Prefix: dedup key → id of the latest incident with that key (CF `incidents`).
pub const INCIDENT_BY_KEY: u8 = 0x61;
/// Prefix: a timeline entry of an incident (CF `incidents`).
pub const INCIDENT_TIMELINE: u8 = 0x62;
/// Prefix: incidents of one CI, newest first (CF `incidents`).
pub const INCIDENT_BY_CI: u8 = 0x63;
/// Prefix: incidents by opening time, newest first (CF `incidents`).
pub const INCIDENT_BY_TIME: u8 = 0x64;
/// Prefix: parent incident → attached child incident (CF `incidents`).
pub const INCIDENT_CHILD: u8 = 0x65;
/// Prefix: incidents the manager keeps in memory (open, acknowledged, or
/// ended by a person while their condition still holds) (CF `incidents`).
pub const INCIDENT_LIVE: u8 = 0x66;
// 0x67 is unassigned.
/// Prefix: a maintenance window by id (CF `incidents`).
pub const MAINTENANCE: u8 = 0x68;
/// Prefix: a problem record by id (CF `incidents`).
pub const PROBLEM: u8 = 0x69;
/// Prefix: an incident opening not linked to a problem (yet), per rule and
/// CI, in time order (CF `incidents`).
pub const PROBLEM_CANDIDATE: u8 = 0x6A;
/// Prefix: a notification in the outbox, by id (CF `incidents`).
pub const NOTIFICATION: u8 = 0x6B;
// 0x6C–0x6F are unassigned.

pub(crate) fn corrupt(what: &str, key: &[u8]) -> StorageError {
    StorageError::Corrupt(format!("malformed {what} key {key:02x?}"))
}

/// Maps a signed timestamp to an unsigned value with the same order.
pub(crate) fn ts_to_ordered(ts: i64) -> u64 {
    (ts as u64) ^ (1 << 63)
}

pub(crate) fn ordered_to_ts(v: u64) -> i64 {
    (v ^ (1 << 63)) as i64
}

pub(crate) fn read_u64(b: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(b.try_into().ok()?))
}

/// `[prefix][id u64]`.
pub(crate) fn id_key(prefix: u8, id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(9);
    k.push(prefix);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Decodes [`id_key`].
pub(crate) fn decode_id_key(prefix: u8, what: &str, key: &[u8]) -> Result<u64, StorageError> {
    match key {
        [p, rest @ ..] if *p == prefix && rest.len() == 8 => {
            read_u64(rest).ok_or_else(|| corrupt(what, key))
        }
        _ => Err(corrupt(what, key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_is_unique_per_column_family() {
        // Prefixes only need to be unique within a column family, but keeping
        // them globally unique makes a misplaced key show up as a decode error.
        let prefixes = [
            AGENT,
            CHECKPOINT[0],
            SERIES_BY_LABELS,
            SERIES_BY_ID,
            POSTING,
            CHUNK,
            LOG,
            CI,
            CI_CHANGE,
            CI_RELATION,
            CI_EVENT,
            INCIDENT,
            INCIDENT_BY_KEY,
            INCIDENT_TIMELINE,
            INCIDENT_BY_CI,
            INCIDENT_BY_TIME,
            INCIDENT_CHILD,
            INCIDENT_LIVE,
            MAINTENANCE,
            PROBLEM,
            PROBLEM_CANDIDATE,
            NOTIFICATION,
        ];
        let mut sorted = prefixes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), prefixes.len(), "duplicate key prefix");
    }

    #[test]
    fn id_keys_round_trip_and_sort_numerically() {
        assert_eq!(
            decode_id_key(INCIDENT, "incident", &id_key(INCIDENT, 300)).unwrap(),
            300
        );
        assert!(id_key(INCIDENT, 255) < id_key(INCIDENT, 256));
        assert!(decode_id_key(INCIDENT, "incident", &id_key(PROBLEM, 1)).is_err());
        assert!(decode_id_key(INCIDENT, "incident", &[INCIDENT, 1]).is_err());
    }
}
