//! A device task against a real net-snmp `snmpd` (Debian packages `snmpd`
//! and `snmp`) on a free loopback port: one round goes all the way to queued
//! batches of ci_id-tagged series and a stored device report.

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tocsin_agent::Shared;
use tocsin_agent::devices::{DeviceTask, PollResources, enqueue_device_data, spawn_all};
use tocsin_agent::queue::{Batch, BatchQueue, MemoryQueue};
use tocsin_agent::series::{Declared, PolledSample, Registry, encode_batch};
use tocsin_agent::snmp::{DeviceClass, SnmpTarget};
use tocsin_agent::stats::Stats;
use tocsin_proto::v1::{DeviceEvent, Inventory, SeriesDef};
use tokio::sync::watch;

mod common;

use common::{Targets, start_snmpd};
use tocsin_e2e::snmpd::{COMMUNITY, Snmpd};

/// A switch at `snmpd`, id `lab-sw`, pinged twice per round.
fn target(snmpd: &Snmpd) -> SnmpTarget {
    let mut t = snmpd.v2c(COMMUNITY);
    t.id = Some("lab-sw".into());
    t.name = Some("Lab switch".into());
    t.class = DeviceClass::Switch;
    t.icmp_probes = 2;
    t
}

fn shared() -> Arc<Shared> {
    let registry = Registry::new([
        ("host".to_owned(), "agent-host".to_owned()),
        ("env".to_owned(), "prod".to_owned()),
    ]);
    let mut queue = MemoryQueue::new(1000);
    queue.resync(0).expect("numbering starts");
    let (_tx, inventory) = watch::channel(Arc::new(Inventory::default()));
    Arc::new(Shared::new(
        "agent-1".into(),
        Box::new(queue),
        registry,
        inventory,
        Arc::new(Stats::default()),
        500,
    ))
}

/// Every queued batch after `after`.
fn batches_after(shared: &Shared, mut after: u64) -> Vec<Batch> {
    let mut out = vec![];
    while let Some(b) = shared.queue().next_after(after).expect("queue") {
        after = b.seq;
        out.push(b);
    }
    out
}

/// (metric, labels without host) → (value, definition).
type Seen = BTreeMap<(String, Vec<(String, String)>), (f64, SeriesDef)>;

/// Every sample in `batches`, by metric and labels (without host).
fn samples(shared: &Shared, batches: &[Batch]) -> Seen {
    let registry = shared.registry();
    let mut out = BTreeMap::new();
    for b in batches {
        for (id, v) in b.series_ids.iter().zip(&b.values) {
            let def = registry.def(*id).expect("registered").clone();
            let labels = def
                .labels
                .iter()
                .filter(|l| l.name != "host")
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            out.insert((def.metric.clone(), labels), (*v, def));
        }
    }
    out
}

fn value(s: &Seen, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    s.get(&(metric.to_owned(), labels)).map(|x| x.0)
}

#[tokio::test]
async fn a_poll_round_queues_device_series_after_storing_the_report() {
    let mut snmpd = start_snmpd("").await;
    let shared = shared();
    let target = target(&snmpd);
    shared.directory.register(&target);
    let mut task = DeviceTask::new(target, PollResources::default());
    assert_eq!(task.id(), "lab-sw");

    let outcome = task.poll_once(&shared).await.expect("queued");
    assert!(outcome.reachable && outcome.complete, "{outcome:?}");

    // The report: sysName wins over the configured name; attributes are JSON.
    let report = shared.reports.get("lab-sw").expect("report stored");
    assert!(report.complete);
    assert_eq!(
        (report.name.as_str(), report.class.as_str()),
        ("tocsin-test-device", "switch")
    );
    assert_eq!(report.attributes_json["sysLocation"], "\"rack-42, room 7\"");
    assert_eq!(report.attributes_json["management_ip"], "\"127.0.0.1\"");
    assert!(report.attributes_json["interfaces"].contains("\"name\":\"lo\""));

    // The batches: every series on the device's CI, host = the device id,
    // none of the agent's labels, all at the round's start.
    let batches = batches_after(&shared, 0);
    assert!(!batches.is_empty());
    let ts = batches[0].timestamps_ms[0];
    assert!(
        batches
            .iter()
            .all(|b| b.timestamps_ms.iter().all(|&t| t == ts))
    );
    let s = samples(&shared, &batches);
    assert_eq!(s.len(), outcome.samples);
    for (_, def) in s.values() {
        assert_eq!(def.ci_id, "lab-sw", "{def:?}");
        assert!(
            def.labels
                .iter()
                .any(|l| l.name == "host" && l.value == "lab-sw"),
            "{def:?}"
        );
        assert!(!def.labels.iter().any(|l| l.name == "env"), "{def:?}");
    }
    assert_eq!(value(&s, "snmp_up", &[]), Some(1.0));
    assert_eq!(value(&s, "device_reachable", &[]), Some(1.0));
    assert_eq!(
        value(&s, "icmp_up", &[]),
        Some(1.0),
        "127.0.0.1 answers ping"
    );
    assert_eq!(value(&s, "icmp_loss_percent", &[]), Some(0.0));
    assert!(value(&s, "icmp_rtt_seconds", &[]).is_some_and(|r| r > 0.0 && r < 1.0));
    assert!(value(&s, "snmp_poll_duration_seconds", &[]).is_some_and(|d| d > 0.0 && d < 20.0));
    assert_eq!(
        value(
            &s,
            "snmp_if_link_down",
            &[("alias", ""), ("interface", "lo")]
        ),
        Some(0.0)
    );
    assert!(
        value(
            &s,
            "snmp_if_in_octets_total",
            &[("alias", ""), ("interface", "lo")]
        )
        .is_some()
    );
    assert!(
        !s.keys().any(|(m, _)| m == "snmp_poll_errors_total"),
        "no errors yet"
    );

    // The encoded batch declares the series with their CI.
    let wire = encode_batch(&batches[0], &shared.registry(), &mut Declared::new());
    assert!(wire.series.iter().all(|d| d.ci_id == "lab-sw"));

    // The directory knows the device's address and interfaces.
    assert_eq!(
        shared
            .directory
            .device_for_ip("127.0.0.1".parse().unwrap())
            .as_deref(),
        Some("lab-sw")
    );
    let lo = shared
        .directory
        .interface("lab-sw", 1)
        .expect("ifIndex 1 is lo");
    assert_eq!((lo.name.as_str(), lo.admin_status), ("lo", Some(1)));

    // The trap receiver's path: same series, events in the same batch.
    let last = batches.last().unwrap().seq;
    let link = PolledSample {
        metric: "snmp_if_link_down".into(),
        labels: vec![
            ("interface".into(), "lo".into()),
            ("alias".into(), "".into()),
        ],
        counter: false,
        value: 1.0,
    };
    let event = DeviceEvent {
        ci_id: "lab-sw".into(),
        timestamp_ms: 5,
        kind: "linkDown".into(),
        ..Default::default()
    };
    enqueue_device_data(&shared, "lab-sw", 5, vec![link], vec![event.clone()]);
    let trap = batches_after(&shared, last);
    assert_eq!(trap.len(), 1);
    assert_eq!(trap[0].events, vec![event]);
    let link_id = s[&(
        "snmp_if_link_down".to_owned(),
        vec![
            ("alias".into(), "".into()),
            ("interface".into(), "lo".into()),
        ],
    )]
        .1
        .id;
    assert_eq!(
        (trap[0].series_ids.as_slice(), trap[0].values.as_slice()),
        ([link_id].as_slice(), [1.0].as_slice())
    );

    // snmpd gone: the report keeps what it knew but is incomplete; ping still answers.
    snmpd.proc.crash();
    let last = trap[0].seq;
    let outcome = task.poll_once(&shared).await.expect("queued");
    assert!(outcome.reachable && !outcome.complete, "{outcome:?}");
    let report = shared.reports.get("lab-sw").unwrap();
    assert!(!report.complete);
    assert_eq!(report.name, "tocsin-test-device");
    assert!(report.attributes_json.contains_key("interfaces"));
    let s = samples(&shared, &batches_after(&shared, last));
    assert_eq!(value(&s, "snmp_up", &[]), Some(0.0));
    assert_eq!(value(&s, "icmp_up", &[]), Some(1.0));
    assert_eq!(value(&s, "device_reachable", &[]), Some(1.0));
    assert_eq!(
        value(&s, "snmp_poll_errors_total", &[("subtree", "system")]),
        Some(1.0)
    );
}

#[tokio::test]
async fn a_dead_device_does_not_delay_a_live_one_and_tasks_stop_on_shutdown() {
    let snmpd = start_snmpd("").await;
    let shared = shared();
    let mut dead = SnmpTarget::v2c(
        "127.0.0.1",
        UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("free port")
            .port(),
        COMMUNITY,
    );
    dead.id = Some("dead".into());
    dead.icmp = false;
    dead.timeout = Duration::from_secs(3);
    dead.retries = 2;
    let live = target(&snmpd);
    let (stop_tx, stop_rx) = watch::channel(false);
    let started = Instant::now();
    let tasks = spawn_all(&[dead, live], &PollResources::default(), &shared, &stop_rx);

    while !shared.reports.contains("lab-sw") {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the live device was not polled at once"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !shared.reports.contains("dead"),
        "the dead one is still waiting for its answer"
    );
    assert!(shared.directory.contains("dead"));
    assert!(!shared.queue().is_empty());

    stop_tx.send(true).unwrap();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(2), t)
            .await
            .expect("device tasks stop at once on shutdown")
            .unwrap();
    }
}
