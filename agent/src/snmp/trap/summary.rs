//! The one line a person reads about a trap, e.g. "linkDown on eth0
//! (ifIndex 2): admin up, oper down".

use std::net::SocketAddr;
use std::time::Duration;

use super::decode::{ReceivedTrap, TrapKind};
use super::interface::TrapInterface;

/// `ifAdminStatus`/`ifOperStatus` value names (IF-MIB).
fn status_name(status: i64) -> String {
    let name = match status {
        1 => "up",
        2 => "down",
        3 => "testing",
        4 => "unknown",
        5 => "dormant",
        6 => "notPresent",
        7 => "lowerLayerDown",
        other => return format!("status {other}"),
    };
    name.to_owned()
}

/// Seconds as e.g. `12s` or `3days 4h 5m 6s`.
fn uptime_text(seconds: f64) -> String {
    humantime::format_duration(Duration::from_secs(seconds as u64)).to_string()
}

impl ReceivedTrap {
    /// Names the trap's interface as the poller knows it (from its ifIndex)
    /// when the trap itself did not carry ifName or ifDescr, and says so in
    /// the summary.
    pub fn name_interface(&mut self, name: &str) {
        if let Some(i) = &mut self.interface
            && i.name.is_none()
        {
            i.name = Some(name.to_owned());
            self.summary = summary(
                self.source,
                self.kind,
                &self.trap_oid,
                self.uptime_seconds,
                self.interface.as_ref(),
            );
        }
    }
}

/// The summary of a trap with these facts.
pub(super) fn summary(
    source: SocketAddr,
    kind: TrapKind,
    trap_oid: &str,
    uptime_seconds: Option<f64>,
    interface: Option<&TrapInterface>,
) -> String {
    let uptime =
        uptime_seconds.map_or_else(String::new, |s| format!(" (uptime {})", uptime_text(s)));
    match kind {
        TrapKind::ColdStart => format!("coldStart: device restarted{uptime}"),
        TrapKind::WarmStart => format!("warmStart: SNMP agent reinitialised{uptime}"),
        TrapKind::AuthenticationFailure => format!(
            "authenticationFailure: {} refused a badly authenticated SNMP request",
            source.ip()
        ),
        TrapKind::LinkDown | TrapKind::LinkUp => link_summary(source, kind, interface),
        TrapKind::Other if trap_oid.is_empty() => {
            format!("trap without snmpTrapOID.0 from {}", source.ip())
        }
        TrapKind::Other => format!("trap {trap_oid} from {}", source.ip()),
    }
}

fn link_summary(source: SocketAddr, kind: TrapKind, interface: Option<&TrapInterface>) -> String {
    let Some(i) = interface else {
        return format!(
            "{} from {} (no interface named)",
            kind.as_str(),
            source.ip()
        );
    };
    let which = match &i.name {
        Some(name) => format!("{name} (ifIndex {})", i.if_index),
        None => format!("ifIndex {}", i.if_index),
    };
    let states: Vec<String> = [("admin", i.admin_status), ("oper", i.oper_status)]
        .into_iter()
        .filter_map(|(what, s)| s.map(|s| format!("{what} {}", status_name(s))))
        .collect();
    if states.is_empty() {
        format!("{} on {which}", kind.as_str())
    } else {
        format!("{} on {which}: {}", kind.as_str(), states.join(", "))
    }
}
