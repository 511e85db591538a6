//! Pure decoding of a received notification into a [`ReceivedTrap`]: the
//! trap's kind, the interface it is about, every varbind by name, and a
//! one-line summary ([`super::summary`]); varbinds are named in
//! [`super::names`]. v1 traps are first mapped to the v2 form (RFC 3584 §3.1).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use async_snmp::notification::Notification;
use async_snmp::pdu::TrapV1Pdu;
use async_snmp::{Oid, Value, VarBind};

use super::interface::{TrapInterface, interface};
use super::names::fields;
use super::summary::summary;

/// `sysUpTime.0`.
pub(super) const SYS_UPTIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// `snmpTrapOID.0`.
pub(super) const SNMP_TRAP_OID: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];
/// `snmpTrapEnterprise.0`.
pub(super) const SNMP_TRAP_ENTERPRISE: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0];
/// `snmpTrapAddress.0`.
pub(super) const SNMP_TRAP_ADDRESS: &[u32] = &[1, 3, 6, 1, 6, 3, 18, 1, 3, 0];
/// `snmpTrapCommunity.0`: a credential, never stored.
pub(super) const SNMP_TRAP_COMMUNITY: &[u32] = &[1, 3, 6, 1, 6, 3, 18, 1, 4, 0];
/// `snmpTraps`: the standard traps are its children 1 to 6.
const SNMP_TRAPS: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 5];
/// `snmpTraps` dotted, followed by the dot before the child number.
const SNMP_TRAPS_DOT: &str = "1.3.6.1.6.3.1.1.5.";
/// What a notification reports, from its trap OID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// `coldStart`: the device restarted (its configuration may have changed).
    ColdStart,
    /// `warmStart`: the device's SNMP agent reinitialised.
    WarmStart,
    /// `linkDown`: an interface went down.
    LinkDown,
    /// `linkUp`: an interface came up.
    LinkUp,
    /// `authenticationFailure`: the device refused a badly authenticated request.
    AuthenticationFailure,
    /// Any other (e.g. enterprise-specific) notification.
    Other,
}

impl TrapKind {
    /// The standard trap OID's `snmpTraps` child number, if standard.
    fn from_trap_oid(oid: &str) -> Self {
        let Some(n) = oid.strip_prefix(SNMP_TRAPS_DOT) else {
            return Self::Other;
        };
        match n {
            "1" => Self::ColdStart,
            "2" => Self::WarmStart,
            "3" => Self::LinkDown,
            "4" => Self::LinkUp,
            "5" => Self::AuthenticationFailure,
            _ => Self::Other,
        }
    }

    /// The kind's name: `coldStart`, `warmStart`, `linkDown`, `linkUp`,
    /// `authenticationFailure`, or `trap` for any other notification.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ColdStart => "coldStart",
            Self::WarmStart => "warmStart",
            Self::LinkDown => "linkDown",
            Self::LinkUp => "linkUp",
            Self::AuthenticationFailure => "authenticationFailure",
            Self::Other => "trap",
        }
    }
}

/// One accepted notification (trap or acknowledged inform), decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedTrap {
    /// Where the datagram came from (not authenticated by SNMP).
    pub source: SocketAddr,
    /// What the notification reports.
    pub kind: TrapKind,
    /// The v2 trap OID, dotted (`snmpTrapOID.0`, or mapped from a v1 trap);
    /// empty if a notification built from raw varbinds had none.
    pub trap_oid: String,
    /// The sender's `sysUpTime.0` (v1: the trap's time-stamp), in seconds.
    pub uptime_seconds: Option<f64>,
    /// The interface the notification is about, if it names one.
    pub interface: Option<TrapInterface>,
    /// Every varbind: a known name (`ifOperStatus.3`, `sysUpTime.0`) or the
    /// dotted OID, to its value as text. A repeated name gets `#2`, `#3`….
    pub fields: BTreeMap<String, String>,
    /// One readable line, e.g. `linkDown on eth0 (ifIndex 2): admin up, oper down`.
    pub summary: String,
}

impl ReceivedTrap {
    /// Decodes a notification as delivered by async-snmp (any version).
    pub fn from_notification(source: SocketAddr, notification: &Notification) -> Self {
        match notification {
            Notification::TrapV1 { trap, .. } => Self::from_v1(source, trap),
            Notification::TrapV2c {
                uptime,
                trap_oid,
                varbinds,
                ..
            }
            | Notification::InformV2c {
                uptime,
                trap_oid,
                varbinds,
                ..
            }
            | Notification::TrapV3 {
                uptime,
                trap_oid,
                varbinds,
                ..
            }
            | Notification::InformV3 {
                uptime,
                trap_oid,
                varbinds,
                ..
            } => {
                let prefix = standard_prefix(*uptime, trap_oid.clone());
                build(
                    source,
                    Some(*uptime),
                    trap_oid.to_string(),
                    &prefix,
                    varbinds,
                )
            }
        }
    }

    /// Decodes a v2c/v3 notification from its complete varbind list, which
    /// should start with `sysUpTime.0` and `snmpTrapOID.0`. Both are looked
    /// up by name wherever they are; one that is missing or of the wrong type
    /// leaves `uptime_seconds` empty or `trap_oid` empty (kind `Other`).
    pub fn from_v2_varbinds(source: SocketAddr, varbinds: &[VarBind]) -> Self {
        let find = |arcs: &[u32]| varbinds.iter().find(|vb| vb.oid.arcs() == arcs);
        let uptime = find(SYS_UPTIME).and_then(|vb| match vb.value {
            Value::TimeTicks(t) => Some(t),
            _ => None,
        });
        let trap_oid = find(SNMP_TRAP_OID).map_or_else(String::new, |vb| match &vb.value {
            Value::ObjectIdentifier(oid) => oid.to_string(),
            _ => String::new(),
        });
        build(source, uptime, trap_oid, &[], varbinds)
    }

    /// Decodes a v1 trap, mapped to the v2 form (RFC 3584 §3.1): its trap OID
    /// comes from generic-trap/specific-trap, its time-stamp is the uptime,
    /// and `snmpTrapEnterprise.0`/`snmpTrapAddress.0` carry its enterprise
    /// and agent-addr fields.
    pub fn from_v1(source: SocketAddr, trap: &TrapV1Pdu) -> Self {
        let trap_oid = v1_trap_oid(
            trap.enterprise(),
            trap.generic_trap().as_i32(),
            trap.specific_trap(),
        );
        let mut prefix = standard_prefix(trap.time_stamp(), trap_oid.clone());
        prefix.push(VarBind::new(
            Oid::from_slice(SNMP_TRAP_ENTERPRISE),
            Value::ObjectIdentifier(trap.enterprise().clone()),
        ));
        prefix.push(VarBind::new(
            Oid::from_slice(SNMP_TRAP_ADDRESS),
            Value::IpAddress(trap.agent_addr()),
        ));
        let oid_text = trap_oid.to_string();
        build(
            source,
            Some(trap.time_stamp()),
            oid_text,
            &prefix,
            trap.varbinds(),
        )
    }
}

/// The v2 trap OID of a v1 trap (RFC 3584 §3.1): generic-trap 0 to 5 map to
/// `snmpTraps.1` to `.6`, enterpriseSpecific (6) to `enterprise.0.specific`.
/// Anything else (an undefined generic-trap, a negative specific-trap) maps
/// to the bare enterprise OID.
pub fn v1_trap_oid(enterprise: &Oid, generic: i32, specific: i32) -> Oid {
    match (generic, u32::try_from(specific)) {
        (0..=5, _) => Oid::new(
            SNMP_TRAPS
                .iter()
                .copied()
                .chain([generic.unsigned_abs() + 1]),
        ),
        (6, Ok(specific)) => Oid::new(enterprise.arcs().iter().copied().chain([0, specific])),
        _ => enterprise.clone(),
    }
}

/// The `sysUpTime.0` and `snmpTrapOID.0` varbinds async-snmp strips off.
fn standard_prefix(uptime: u32, trap_oid: Oid) -> Vec<VarBind> {
    vec![
        VarBind::new(Oid::from_slice(SYS_UPTIME), Value::TimeTicks(uptime)),
        VarBind::new(
            Oid::from_slice(SNMP_TRAP_OID),
            Value::ObjectIdentifier(trap_oid),
        ),
    ]
}

fn build(
    source: SocketAddr,
    uptime: Option<u32>,
    trap_oid: String,
    prefix: &[VarBind],
    varbinds: &[VarBind],
) -> ReceivedTrap {
    let all: Vec<&VarBind> = prefix.iter().chain(varbinds).collect();
    let kind = TrapKind::from_trap_oid(&trap_oid);
    let uptime_seconds = uptime.map(|t| f64::from(t) / 100.0);
    let interface = interface(&all);
    let summary = summary(source, kind, &trap_oid, uptime_seconds, interface.as_ref());
    ReceivedTrap {
        source,
        kind,
        trap_oid,
        uptime_seconds,
        interface,
        fields: fields(&all),
        summary,
    }
}

#[cfg(test)]
mod tests {
    use async_snmp::pdu::GenericTrap;

    use super::super::names::MAX_TEXT;
    use super::*;

    fn src() -> SocketAddr {
        "192.0.2.7:40000".parse().unwrap()
    }

    fn oid(s: &str) -> Oid {
        Oid::parse(s).unwrap()
    }

    fn vb(o: &str, v: Value) -> VarBind {
        VarBind::new(oid(o), v)
    }

    fn v2(trap_oid: &str, uptime: u32, rest: Vec<VarBind>) -> Vec<VarBind> {
        let mut all = vec![
            vb("1.3.6.1.2.1.1.3.0", Value::TimeTicks(uptime)),
            vb(
                "1.3.6.1.6.3.1.1.4.1.0",
                Value::ObjectIdentifier(oid(trap_oid)),
            ),
        ];
        all.extend(rest);
        all
    }

    fn text(s: &str) -> Value {
        Value::OctetString(s.as_bytes().to_vec().into())
    }

    #[test]
    fn link_down_with_name_and_states() {
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.6.3.1.1.5.3",
                1234,
                vec![
                    vb("1.3.6.1.2.1.2.2.1.1.2", Value::Integer(2)),
                    vb("1.3.6.1.2.1.2.2.1.7.2", Value::Integer(1)),
                    vb("1.3.6.1.2.1.2.2.1.8.2", Value::Integer(2)),
                    vb("1.3.6.1.2.1.31.1.1.1.1.2", text("eth0")),
                ],
            ),
        );
        assert_eq!(t.kind, TrapKind::LinkDown);
        assert_eq!(t.trap_oid, "1.3.6.1.6.3.1.1.5.3");
        assert_eq!(t.uptime_seconds, Some(12.34));
        let i = t.interface.as_ref().expect("interface");
        assert_eq!(
            *i,
            TrapInterface {
                if_index: 2,
                name: Some("eth0".into()),
                admin_status: Some(1),
                oper_status: Some(2)
            }
        );
        assert_eq!(
            t.summary,
            "linkDown on eth0 (ifIndex 2): admin up, oper down"
        );
        assert_eq!(t.fields["ifOperStatus.2"], "2");
        assert_eq!(t.fields["ifName.2"], "eth0");
        assert_eq!(t.fields["snmpTrapOID.0"], "1.3.6.1.6.3.1.1.5.3");
        assert!(t.fields.contains_key("sysUpTime.0"));
        assert_eq!(t.fields.len(), 6);
    }

    #[test]
    fn link_up_index_from_instance_and_descr_fallback() {
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.6.3.1.1.5.4",
                0,
                vec![
                    vb("1.3.6.1.2.1.2.2.1.8.7", Value::Integer(1)),
                    vb("1.3.6.1.2.1.2.2.1.2.7", text("GigabitEthernet0/7")),
                ],
            ),
        );
        assert_eq!(t.kind, TrapKind::LinkUp);
        let i = t.interface.expect("interface");
        assert_eq!(i.if_index, 7);
        assert_eq!(i.name.as_deref(), Some("GigabitEthernet0/7"));
        assert_eq!(
            t.summary,
            "linkUp on GigabitEthernet0/7 (ifIndex 7): oper up"
        );
    }

    #[test]
    fn wrong_types_are_kept_as_text_but_not_decoded() {
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &[
                vb("1.3.6.1.2.1.1.3.0", text("yesterday")),
                vb("1.3.6.1.6.3.1.1.4.1.0", text("1.3.6.1.6.3.1.1.5.3")),
                vb("1.3.6.1.2.1.2.2.1.1.4", text("four")),
                vb("1.3.6.1.2.1.2.2.1.8.4", text("down")),
                vb("1.3.6.1.2.1.2.2.1.7.4", Value::Counter32(2)),
            ],
        );
        assert_eq!(t.uptime_seconds, None);
        assert_eq!(t.trap_oid, "");
        assert_eq!(t.kind, TrapKind::Other);
        let i = t.interface.expect("index from the instance");
        assert_eq!((i.if_index, i.admin_status, i.oper_status), (4, None, None));
        assert_eq!(t.fields["ifOperStatus.4"], "down");
        assert_eq!(t.fields["sysUpTime.0"], "yesterday");
        assert_eq!(t.summary, "trap without snmpTrapOID.0 from 192.0.2.7");
    }

    #[test]
    fn link_down_without_interface_or_states() {
        let t = ReceivedTrap::from_v2_varbinds(src(), &v2("1.3.6.1.6.3.1.1.5.3", 5, vec![]));
        assert_eq!(t.interface, None);
        assert_eq!(t.summary, "linkDown from 192.0.2.7 (no interface named)");
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.6.3.1.1.5.3",
                5,
                vec![vb("1.3.6.1.2.1.2.2.1.1.9", Value::Integer(9))],
            ),
        );
        assert_eq!(t.summary, "linkDown on ifIndex 9");
    }

    #[test]
    fn invalid_if_index_value_falls_back_to_instance() {
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.6.3.1.1.5.3",
                5,
                vec![
                    vb("1.3.6.1.2.1.2.2.1.1.3", Value::Integer(-1)),
                    vb("1.3.6.1.2.1.2.2.1.8.3", Value::Integer(9)),
                ],
            ),
        );
        let i = t.interface.expect("interface");
        assert_eq!((i.if_index, i.oper_status), (3, Some(9)));
        assert_eq!(t.summary, "linkDown on ifIndex 3: oper status 9");
    }

    #[test]
    fn cold_start_and_enterprise_summaries() {
        let t = ReceivedTrap::from_v2_varbinds(src(), &v2("1.3.6.1.6.3.1.1.5.1", 1234, vec![]));
        assert_eq!(
            (t.kind, t.kind.as_str()),
            (TrapKind::ColdStart, "coldStart")
        );
        assert_eq!(t.summary, "coldStart: device restarted (uptime 12s)");
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.4.1.8072.2.3.0.1",
                1,
                vec![vb("1.3.6.1.4.1.8072.2.3.2.1", Value::Integer(42))],
            ),
        );
        assert_eq!((t.kind, t.kind.as_str()), (TrapKind::Other, "trap"));
        assert_eq!(t.summary, "trap 1.3.6.1.4.1.8072.2.3.0.1 from 192.0.2.7");
        assert_eq!(t.fields["1.3.6.1.4.1.8072.2.3.2.1"], "42");
        assert_eq!(t.interface, None);
        let t = ReceivedTrap::from_v2_varbinds(src(), &v2("1.3.6.1.6.3.1.1.5.55", 1, vec![]));
        assert_eq!(t.kind, TrapKind::Other);
    }

    #[test]
    fn kinds_from_standard_oids() {
        let cases = [
            ("1.3.6.1.6.3.1.1.5.1", TrapKind::ColdStart),
            ("1.3.6.1.6.3.1.1.5.2", TrapKind::WarmStart),
            ("1.3.6.1.6.3.1.1.5.3", TrapKind::LinkDown),
            ("1.3.6.1.6.3.1.1.5.4", TrapKind::LinkUp),
            ("1.3.6.1.6.3.1.1.5.5", TrapKind::AuthenticationFailure),
            ("1.3.6.1.6.3.1.1.5.6", TrapKind::Other),
            ("1.3.6.1.6.3.1.1.5", TrapKind::Other),
            ("1.3.6.1.6.3.1.1.51", TrapKind::Other),
        ];
        for (o, k) in cases {
            assert_eq!(TrapKind::from_trap_oid(o), k, "{o}");
        }
        assert_eq!(
            TrapKind::AuthenticationFailure.as_str(),
            "authenticationFailure"
        );
        assert_eq!(TrapKind::WarmStart.as_str(), "warmStart");
    }

    #[test]
    fn v1_generic_traps_map_to_standard_oids() {
        let ent = oid("1.3.6.1.4.1.8072.3.2.10");
        assert_eq!(v1_trap_oid(&ent, 0, 0).to_string(), "1.3.6.1.6.3.1.1.5.1");
        assert_eq!(v1_trap_oid(&ent, 2, 99).to_string(), "1.3.6.1.6.3.1.1.5.3");
        assert_eq!(v1_trap_oid(&ent, 5, 0).to_string(), "1.3.6.1.6.3.1.1.5.6");
        assert_eq!(
            v1_trap_oid(&ent, 6, 17).to_string(),
            "1.3.6.1.4.1.8072.3.2.10.0.17"
        );
        assert_eq!(
            v1_trap_oid(&ent, 6, -1).to_string(),
            "1.3.6.1.4.1.8072.3.2.10"
        );
        assert_eq!(
            v1_trap_oid(&ent, 9, 0).to_string(),
            "1.3.6.1.4.1.8072.3.2.10"
        );
        assert_eq!(
            v1_trap_oid(&ent, -3, 0).to_string(),
            "1.3.6.1.4.1.8072.3.2.10"
        );
    }

    #[test]
    fn v1_link_down_uses_timestamp_and_adds_enterprise() {
        let trap = TrapV1Pdu::from_raw_parts(
            oid("1.3.6.1.4.1.8072.3.2.10"),
            [10, 0, 0, 9],
            GenericTrap::LinkDown,
            0,
            4321,
            vec![
                vb("1.3.6.1.2.1.2.2.1.1.3", Value::Integer(3)),
                vb("1.3.6.1.2.1.2.2.1.8.3", Value::Integer(2)),
            ],
        );
        let t = ReceivedTrap::from_v1(src(), &trap);
        assert_eq!(t.kind, TrapKind::LinkDown);
        assert_eq!(t.trap_oid, "1.3.6.1.6.3.1.1.5.3");
        assert_eq!(t.uptime_seconds, Some(43.21));
        assert_eq!(t.summary, "linkDown on ifIndex 3: oper down");
        assert_eq!(t.fields["snmpTrapOID.0"], "1.3.6.1.6.3.1.1.5.3");
        assert_eq!(t.fields["snmpTrapEnterprise.0"], "1.3.6.1.4.1.8072.3.2.10");
        assert_eq!(t.fields["snmpTrapAddress.0"], "10.0.0.9");
        assert!(t.fields.contains_key("sysUpTime.0"));
    }

    #[test]
    fn v1_enterprise_specific_and_odd_generic() {
        let trap = TrapV1Pdu::from_raw_parts(
            oid("1.3.6.1.4.1.9999"),
            [0, 0, 0, 0],
            GenericTrap::EnterpriseSpecific,
            42,
            0,
            vec![],
        );
        let t = ReceivedTrap::from_v1(src(), &trap);
        assert_eq!(t.trap_oid, "1.3.6.1.4.1.9999.0.42");
        assert_eq!(t.summary, "trap 1.3.6.1.4.1.9999.0.42 from 192.0.2.7");
        let trap = TrapV1Pdu::from_raw_parts(
            oid("1.3.6.1.4.1.9999"),
            [0, 0, 0, 0],
            GenericTrap::from_i32(77),
            0,
            0,
            vec![],
        );
        let t = ReceivedTrap::from_v1(src(), &trap);
        assert_eq!(
            (t.kind, t.trap_oid.as_str()),
            (TrapKind::Other, "1.3.6.1.4.1.9999")
        );
    }

    #[test]
    fn repeated_names_control_characters_and_community_redaction() {
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.4.1.1.0.1",
                0,
                vec![
                    vb("1.3.6.1.2.1.1.5.0", text("sw1\nFAKE LOG LINE")),
                    vb("1.3.6.1.2.1.1.5.0", text("sw1-again")),
                    vb("1.3.6.1.6.3.18.1.4.0", text("s3cret")),
                    vb("1.3.6.1.2.1.2.2.1.99.1", Value::Integer(1)),
                    vb("1.3.6.1.2.1.2.2.1.7", Value::Integer(1)),
                ],
            ),
        );
        assert_eq!(t.fields["sysName.0"], "sw1\\nFAKE LOG LINE");
        assert_eq!(t.fields["sysName.0#2"], "sw1-again");
        assert_eq!(t.fields["snmpTrapCommunity.0"], "<redacted>");
        assert!(t.fields.contains_key("1.3.6.1.2.1.2.2.1.99.1"));
        assert!(t.fields.contains_key("1.3.6.1.2.1.2.2.1.7"));
        assert_eq!(t.interface, None);
    }

    #[test]
    fn long_and_binary_strings() {
        let long = "x".repeat(2000);
        let t = ReceivedTrap::from_v2_varbinds(
            src(),
            &v2(
                "1.3.6.1.4.1.1.0.1",
                0,
                vec![
                    vb("1.3.6.1.2.1.1.1.0", text(&long)),
                    vb(
                        "1.3.6.1.2.1.1.6.0",
                        Value::OctetString(vec![0xff, 0x00].into()),
                    ),
                ],
            ),
        );
        assert_eq!(t.fields["sysDescr.0"].chars().count(), MAX_TEXT + 1);
        assert_eq!(t.fields["sysLocation.0"], "0xff00");
    }

    #[test]
    fn from_notification_restores_the_stripped_prefix() {
        let n = Notification::TrapV2c {
            community: async_snmp::Community::from("public"),
            uptime: 100,
            trap_oid: oid("1.3.6.1.6.3.1.1.5.2"),
            varbinds: vec![],
            request_id: 1,
            decode_anomalies: vec![],
        };
        let t = ReceivedTrap::from_notification(src(), &n);
        assert_eq!(t.kind, TrapKind::WarmStart);
        assert_eq!(t.summary, "warmStart: SNMP agent reinitialised (uptime 1s)");
        assert_eq!(t.fields["snmpTrapOID.0"], "1.3.6.1.6.3.1.1.5.2");
        assert_eq!(t.fields.len(), 2);
    }
}
