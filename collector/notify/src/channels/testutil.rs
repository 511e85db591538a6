//! Test helpers: a realistic notification, a receiver config from TOML, and
//! HMAC/base64 written out independently of the crates under test. The
//! recording HTTP receiver is the workspace's one, `tocsin_e2e::receivers`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::config::ReceiverConfig;
use crate::{ChildSummary, Notification, NotifyEvent};
use tocsin_incidents::sla::Coverage;
use tocsin_incidents::{Incident, Priority, SlaState, Status};
use tocsin_model::Severity;
use tocsin_model::incident::{CiSnapshot, Criticality, SlaStage, StageStatus};

/// 2023-11-14 22:13:20 UTC.
pub const T0: i64 = 1_700_000_000_000;

/// An open major incident on `web01` with a running SLA clock.
pub fn incident(id: u64, key: &str) -> Incident {
    let stage = |mins: u64| SlaStage {
        target: Duration::from_secs(mins * 60),
        due_at: T0 + i64::try_from(mins).unwrap() * 60_000,
        status: StageStatus::Pending,
        done_at: None,
    };
    Incident {
        id,
        key: key.to_string(),
        rule: "disk_full".to_string(),
        ci_id: "host-web01".to_string(),
        ci: Some(CiSnapshot {
            name: "web01".to_string(),
            class: "host".to_string(),
            hostname: Some("web01.example.com".to_string()),
            ip_addresses: vec!["10.0.0.1".to_string()],
            location: Some("DC1 机房 A-3".to_string()),
            owner: Some("Zhang San".to_string()),
            ..CiSnapshot::default()
        }),
        object: BTreeMap::from([("mountpoint".to_string(), "/".to_string())]),
        title: "Disk <full> & \"nearly\" out".to_string(),
        description: "Usage 97.5% > 90%\n<script>alert(1)</script>".to_string(),
        status: Status::Open,
        severity: Severity::Major,
        current_severity: Severity::Major,
        priority: Priority::P1,
        criticality: Criticality::High,
        opened_at: T0,
        acknowledged_at: None,
        acknowledged_by: None,
        assigned_to: None,
        assigned_at: None,
        resolved_at: None,
        resolved_by: None,
        closed_at: None,
        closed_by: None,
        last_value: 97.5,
        peak_value: 98.0,
        threshold: 90.0,
        first_sample_at: T0,
        last_sample_at: T0,
        occurrences: 3,
        reopen_count: 0,
        flapping: false,
        flap_transitions: 0,
        condition_active: true,
        tier: 1,
        parent_id: None,
        suppressed: None,
        problem_id: None,
        sla: SlaState {
            policy: Some(Severity::Major),
            coverage: Some(Coverage::AlwaysOn),
            note: None,
            started_at: Some(T0),
            respond: Some(stage(10)),
            assign: Some(stage(60)),
            resolve: Some(stage(240)),
        },
        timeline_count: 1,
        updated_at: T0,
    }
}

/// Incident 12 `opened`, created one minute after it opened, with one child.
pub fn notification(event: NotifyEvent) -> Notification {
    let mut inc = incident(12, "disk_full|host-web01|mountpoint=/");
    match event {
        NotifyEvent::Acknowledged => {
            inc.status = Status::Acknowledged;
            inc.acknowledged_at = Some(T0 + 120_000);
            inc.acknowledged_by = Some("li.si".to_string());
        }
        NotifyEvent::Resolved => {
            inc.status = Status::Resolved;
            inc.resolved_at = Some(T0 + 600_000);
            inc.resolved_by = Some("system".to_string());
        }
        _ => {}
    }
    Notification {
        id: 7,
        idempotency_key: format!("ops/12/{}/1", event.as_str()),
        receiver: "ops".to_string(),
        event,
        incident: inc,
        grouped: Vec::new(),
        children: vec![ChildSummary {
            id: 13,
            ci_id: "host-db01".to_string(),
            title: "db01 unreachable".to_string(),
            severity: Severity::General,
        }],
        created_at: T0 + 60_000,
    }
}

/// A receiver config from TOML (panics on parse errors).
pub fn config(toml_text: &str) -> ReceiverConfig {
    toml::from_str(toml_text).unwrap()
}

/// SHA-256 and HMAC written out from FIPS 180-4 / RFC 2104, independent of the crates.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    fn sha256(data: &[u8]) -> [u8; 32] {
        const K: [u32; 64] = [
            0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
            0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
            0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
            0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
            0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
            0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
            0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
            0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
            0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
            0xc67178f2,
        ];
        let mut h: [u32; 8] = [
            0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
            0x5be0cd19,
        ];
        let mut m = data.to_vec();
        m.push(0x80);
        while m.len() % 64 != 56 {
            m.push(0);
        }
        m.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
        for chunk in m.chunks(64) {
            let mut w = [0u32; 64];
            for i in 0..16 {
                w[i] = u32::from_be_bytes(chunk[i * 4..i * 4 + 4].try_into().unwrap());
            }
            for i in 16..64 {
                let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
                let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16]
                    .wrapping_add(s0)
                    .wrapping_add(w[i - 7])
                    .wrapping_add(s1);
            }
            let mut v = h;
            for i in 0..64 {
                let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
                let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
                let t1 = v[7]
                    .wrapping_add(s1)
                    .wrapping_add(ch)
                    .wrapping_add(K[i])
                    .wrapping_add(w[i]);
                let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
                let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
                let t2 = s0.wrapping_add(maj);
                v = [
                    t1.wrapping_add(t2),
                    v[0],
                    v[1],
                    v[2],
                    v[3].wrapping_add(t1),
                    v[4],
                    v[5],
                    v[6],
                ];
            }
            for i in 0..8 {
                h[i] = h[i].wrapping_add(v[i]);
            }
        }
        let mut out = [0u8; 32];
        for i in 0..8 {
            out[i * 4..i * 4 + 4].copy_from_slice(&h[i].to_be_bytes());
        }
        out
    }
    let mut k = if key.len() > 64 {
        sha256(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(64, 0);
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(msg.iter().copied())
        .collect();
    let ih = sha256(&inner);
    let outer: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(ih.iter().copied())
        .collect();
    sha256(&outer)
}

/// Lowercase hex of [`hmac_sha256`].
pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    hmac_sha256(key, msg)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Standard base64 with padding (RFC 4648), written out for tests.
pub fn base64_std(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn independent_crypto_matches_known_vectors() {
    // RFC 4231 test case 2; RFC 4648 section 10.
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(base64_std(b"foob"), "Zm9vYg==");
    assert_eq!(base64_std(b"fooba"), "Zm9vYmE=");
    assert_eq!(base64_std(b"foobar"), "Zm9vYmFy");
}
