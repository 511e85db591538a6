//! What the agent does with an SNMP trap: it becomes a
//! [`DeviceEvent`] on the device that sent it (matched by source address;
//! an unknown sender's trap lands on the agent's host CI), and the standard
//! traps also become samples of the series the poller reports, so the same
//! rules react before the next poll: linkDown/linkUp update the interface's
//! status and `snmp_if_link_down`, coldStart/warmStart the device's uptime.

use std::sync::Arc;

use tocsin_proto::v1::DeviceEvent;
use tokio::sync::watch;

use super::enqueue_device_data;
use super::samples::link_down;
use crate::Shared;
use crate::clock::now_ms;
use crate::series::PolledSample;
use crate::snmp::trap::{ReceivedTrap, TrapKind, TrapReceiver};

/// Receives traps until `shutdown` turns true.
pub async fn run(receiver: TrapReceiver, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            trap = receiver.recv() => handle(&shared, trap),
            _ = shutdown.changed() => return,
        }
    }
}

/// Queues one trap's event and samples.
pub fn handle(shared: &Shared, mut trap: ReceivedTrap) {
    let ts_ms = now_ms();
    let device = shared
        .directory
        .device_for_ip(trap.source.ip())
        .unwrap_or_default();
    if let Some(known) = trap
        .interface
        .as_ref()
        .and_then(|i| shared.directory.interface(&device, i.if_index))
    {
        trap.name_interface(&known.name);
    }
    let samples = if device.is_empty() {
        Vec::new()
    } else {
        trap_samples(shared, &device, &trap)
    };
    tracing::info!(
        device = %device,
        source = %trap.source,
        kind = trap.kind.as_str(),
        summary = %trap.summary,
        samples = samples.len(),
        "trap received"
    );
    let event = DeviceEvent {
        ci_id: device.clone(),
        timestamp_ms: ts_ms,
        kind: trap.kind.as_str().to_owned(),
        trap_oid: bounded(trap.trap_oid),
        source: trap.source.to_string(),
        summary: bounded(trap.summary),
        // The collector refuses events beyond these limits (and the batch
        // with them): a hostile or chatty sender must not cost the samples.
        fields: trap
            .fields
            .into_iter()
            .take(MAX_EVENT_FIELDS)
            .map(|(k, v)| (bounded(k), bounded(v)))
            .collect(),
    };
    enqueue_device_data(shared, &device, ts_ms, samples, vec![event]);
}

/// Most varbinds kept per event (the collector accepts 128).
const MAX_EVENT_FIELDS: usize = 128;
/// Longest text kept per field, in bytes (the collector accepts 4096).
const MAX_EVENT_TEXT: usize = 1024;

/// `text` cut to [`MAX_EVENT_TEXT`] bytes on a character boundary.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_EVENT_TEXT {
        let mut end = MAX_EVENT_TEXT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// The samples a standard trap implies, labelled exactly like the poller's.
fn trap_samples(shared: &Shared, device: &str, trap: &ReceivedTrap) -> Vec<PolledSample> {
    match trap.kind {
        TrapKind::LinkDown | TrapKind::LinkUp => link_samples(shared, device, trap),
        TrapKind::ColdStart | TrapKind::WarmStart => trap
            .uptime_seconds
            .map(|up| vec![gauge("snmp_uptime_seconds", Vec::new(), up)])
            .unwrap_or_default(),
        TrapKind::AuthenticationFailure | TrapKind::Other => Vec::new(),
    }
}

/// Interface status from a linkDown/linkUp trap. The interface is named as
/// the last poll named it (by ifIndex); without a poll, by the trap's ifName
/// or ifDescr. A missing oper status follows the trap's kind, a missing
/// admin status the last poll (else up: a link that goes down was enabled).
fn link_samples(shared: &Shared, device: &str, trap: &ReceivedTrap) -> Vec<PolledSample> {
    let Some(iface) = &trap.interface else {
        return Vec::new();
    };
    let known = shared.directory.interface(device, iface.if_index);
    let (name, alias) = match (&known, &iface.name) {
        (Some(k), _) => (k.name.clone(), k.alias.clone()),
        (None, Some(n)) => (n.clone(), String::new()),
        (None, None) => return Vec::new(),
    };
    let oper = iface.oper_status.unwrap_or(match trap.kind {
        TrapKind::LinkDown => 2,
        _ => 1,
    });
    let admin = iface
        .admin_status
        .or_else(|| known.and_then(|k| k.admin_status).map(i64::from))
        .unwrap_or(1);
    let labels = vec![("interface".to_owned(), name), ("alias".to_owned(), alias)];
    #[allow(clippy::cast_precision_loss)]
    let mut samples = vec![
        gauge("snmp_if_admin_status", labels.clone(), admin as f64),
        gauge("snmp_if_oper_status", labels, oper as f64),
    ];
    let derived = link_down(&samples);
    samples.extend(derived);
    samples
}

fn gauge(metric: &str, labels: Vec<(String, String)>, value: f64) -> PolledSample {
    PolledSample {
        metric: metric.to_owned(),
        labels,
        counter: false,
        value,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::SocketAddr;

    use super::*;
    use crate::snmp::trap::TrapInterface;

    fn trap(kind: TrapKind, interface: Option<TrapInterface>) -> ReceivedTrap {
        ReceivedTrap {
            source: "127.0.0.1:50000".parse::<SocketAddr>().unwrap(),
            kind,
            trap_oid: "1.3.6.1.6.3.1.1.5.3".into(),
            uptime_seconds: Some(12.5),
            interface,
            fields: BTreeMap::new(),
            summary: "s".into(),
        }
    }

    fn shared() -> Shared {
        let (_tx, rx) = tokio::sync::watch::channel(Arc::default());
        Shared::new(
            "agent".into(),
            Box::new(crate::queue::MemoryQueue::new(10)),
            crate::series::Registry::new([]),
            rx,
            Arc::default(),
            100,
        )
    }

    fn value(samples: &[PolledSample], metric: &str) -> Option<f64> {
        samples.iter().find(|s| s.metric == metric).map(|s| s.value)
    }

    #[test]
    fn link_down_without_a_poll_uses_the_trap_name_and_statuses() {
        let shared = shared();
        let iface = TrapInterface {
            if_index: 3,
            name: Some("Gi0/3".into()),
            admin_status: Some(1),
            oper_status: Some(2),
        };
        let s = trap_samples(&shared, "sw1", &trap(TrapKind::LinkDown, Some(iface)));
        assert_eq!(value(&s, "snmp_if_link_down"), Some(1.0));
        assert_eq!(value(&s, "snmp_if_oper_status"), Some(2.0));
        let labels = &s[0].labels;
        assert_eq!(labels[0], ("interface".into(), "Gi0/3".into()));
    }

    #[test]
    fn admin_down_ports_are_not_link_down_and_link_up_clears() {
        let shared = shared();
        let admin_down = TrapInterface {
            if_index: 3,
            name: Some("Gi0/3".into()),
            admin_status: Some(2),
            oper_status: Some(2),
        };
        let s = trap_samples(&shared, "sw1", &trap(TrapKind::LinkDown, Some(admin_down)));
        assert_eq!(value(&s, "snmp_if_link_down"), Some(0.0));
        let bare = TrapInterface {
            if_index: 3,
            name: Some("Gi0/3".into()),
            admin_status: None,
            oper_status: None,
        };
        let s = trap_samples(&shared, "sw1", &trap(TrapKind::LinkUp, Some(bare)));
        assert_eq!(value(&s, "snmp_if_oper_status"), Some(1.0));
        assert_eq!(value(&s, "snmp_if_link_down"), Some(0.0));
        assert!(trap_samples(&shared, "sw1", &trap(TrapKind::LinkDown, None)).is_empty());
    }

    #[test]
    fn texts_are_cut_on_character_boundaries() {
        let long = "é".repeat(MAX_EVENT_TEXT);
        let cut = bounded(long);
        assert!(cut.len() <= MAX_EVENT_TEXT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(bounded("short".into()), "short");
    }

    #[test]
    fn cold_start_reports_the_uptime_and_other_traps_nothing() {
        let shared = shared();
        let s = trap_samples(&shared, "sw1", &trap(TrapKind::ColdStart, None));
        assert_eq!(value(&s, "snmp_uptime_seconds"), Some(12.5));
        assert!(trap_samples(&shared, "sw1", &trap(TrapKind::Other, None)).is_empty());
    }
}
