//! Device reports, device series and device events through the ingest path.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use parking_lot::Mutex;
use tocsin_proto::v1::{DeviceEvent, DeviceReport, Hello, Label, SeriesDef};

use super::super::tests::{batch, register, setup};
use super::super::*;

/// Remembers which CI every observed sample was attributed to.
#[derive(Default)]
struct CiRecorder {
    cis: Mutex<Vec<String>>,
    seen: AtomicUsize,
}

impl SampleObserver for CiRecorder {
    fn observe(&self, samples: &[ObservedSample<'_>], _: std::time::Instant) {
        self.cis
            .lock()
            .extend(samples.iter().map(|s| s.ci.id.clone()));
    }
    fn seen(&self, _: &CiContext) {
        self.seen.fetch_add(1, SeqCst);
    }
}

fn report(id: &str) -> DeviceReport {
    DeviceReport {
        device_id: id.into(),
        class: "switch".into(),
        name: format!("{id}.lab"),
        attributes_json: [
            ("sysName".to_string(), "\"sw1.lab\"".to_string()),
            (
                "interfaces".to_string(),
                "[{\"name\":\"Gi0/1\"}]".to_string(),
            ),
        ]
        .into(),
        complete: true,
        neighbours: vec![],
        runs_on: String::new(),
    }
}

/// A checked service that runs on `runs_on`.
fn service_report(id: &str, runs_on: &str) -> DeviceReport {
    let attributes = [
        ("url", "\"https://shop.example.com/\""),
        ("target", "\"https://shop.example.com/\""),
        ("target_host", "\"shop.example.com\""),
        ("checks", "[\"home\"]"),
        ("check_kinds", "[\"http\"]"),
        ("checker", "\"poller\""),
        ("criticality", "\"critical\""),
    ];
    DeviceReport {
        device_id: id.into(),
        class: "application".into(),
        name: "Web shop".into(),
        attributes_json: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        complete: true,
        neighbours: vec![],
        runs_on: runs_on.into(),
    }
}

fn device_def(id: u32, ci: &str) -> SeriesDef {
    SeriesDef {
        id,
        metric: "m".into(),
        labels: vec![Label {
            name: "host".into(),
            value: ci.into(),
        }],
        kind: 1,
        ci_id: ci.into(),
    }
}

fn event(ci: &str, kind: &str) -> DeviceEvent {
    DeviceEvent {
        ci_id: ci.into(),
        timestamp_ms: now_ms(),
        kind: kind.into(),
        trap_oid: "1.3.6.1.6.3.1.1.5.3".into(),
        source: "127.0.0.1:40000".into(),
        summary: "linkDown on Gi0/1".into(),
        fields: [("ifIndex.1".to_string(), "1".to_string())].into(),
    }
}

fn session(ing: &Ingestor, agent: &str) -> StreamSession {
    register(ing, agent);
    ing.open_session(&Hello {
        agent_id: agent.into(),
    })
    .unwrap()
}

#[test]
fn device_series_need_a_report_on_the_same_stream_and_belong_to_the_device() {
    let dir = tempfile::tempdir().unwrap();
    let (ing, storage, metrics) = setup(dir.path());
    let rec = Arc::new(CiRecorder::default());
    let ing = ing.with_observer(rec.clone());
    let mut s = session(&ing, "poller");
    let t = now_ms();

    let early = batch(1, vec![device_def(1, "sw1")], &[(1, t, 1.0)]);
    let r = ing.ingest(&mut s, early.clone());
    assert_eq!(r.code, tonic::Code::InvalidArgument as i32);
    assert!(
        r.message.contains("\"sw1\" was not reported"),
        "{}",
        r.message
    );

    ing.update_device(&mut s, &report("sw1")).unwrap();
    let ci = ing.cmdb.get_ci("sw1").unwrap().unwrap();
    assert_eq!((ci.class.as_str(), ci.name.as_str()), ("switch", "sw1.lab"));
    assert_eq!(ci.attributes["poller"], "poller");
    assert_eq!(ci.attributes["interfaces"][0]["name"], "Gi0/1");

    let host = batch(
        2,
        vec![super::super::tests::def(2, "poller")],
        &[(2, t, 5.0)],
    );
    assert_eq!(ing.ingest(&mut s, early).code, 0);
    assert_eq!(ing.ingest(&mut s, host).code, 0);
    assert_eq!(
        *rec.cis.lock(),
        vec!["sw1".to_string(), "poller".to_string()]
    );

    // A new stream forgets the devices until they are reported again.
    let mut s2 = ing
        .open_session(&Hello {
            agent_id: "poller".into(),
        })
        .unwrap();
    let again = batch(3, vec![device_def(1, "sw1")], &[(1, t + 1, 1.0)]);
    assert_ne!(ing.ingest(&mut s2, again).code, 0);
    assert!(metrics.render(&storage).contains("reason=\"unknown_ci\""));
}

#[test]
fn bad_reports_are_refused_with_the_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let (ing, _, _) = setup(dir.path());
    let mut s = session(&ing, "poller");
    let cases: Vec<(DeviceReport, &str)> = vec![
        (
            DeviceReport {
                device_id: "sw 1".into(),
                ..report("x")
            },
            "device_id",
        ),
        (
            DeviceReport {
                device_id: "poller".into(),
                ..report("x")
            },
            "agent's host CI",
        ),
        (
            DeviceReport {
                class: "toaster".into(),
                ..report("sw1")
            },
            "class must be one of",
        ),
        (
            DeviceReport {
                attributes_json: [("model".to_string(), "{not json".to_string())].into(),
                ..report("sw1")
            },
            "attribute \"model\" is not valid JSON",
        ),
    ];
    for (r, want) in cases {
        let err = ing.update_device(&mut s, &r).unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    }
    assert!(ing.cmdb.get_ci("sw1").unwrap().is_none(), "nothing stored");
}

#[test]
fn events_are_stored_with_their_batch_once_and_malformed_ones_reject_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ing, storage, metrics) = setup(dir.path());
    let mut s = session(&ing, "poller");
    ing.update_device(&mut s, &report("sw1")).unwrap();
    let t = now_ms();

    let mut bad = batch(1, vec![device_def(1, "sw1")], &[(1, t, 2.0)]);
    bad.events = vec![event("sw1", "linkDown"), event("sw1", "meltdown")];
    let r = ing.ingest(&mut s, bad);
    assert!(
        r.message.contains("event 1: kind \"meltdown\""),
        "{}",
        r.message
    );
    let mut unknown = batch(1, vec![], &[]);
    unknown.events = vec![event("sw9", "linkDown")];
    assert!(ing.ingest(&mut s, unknown).message.contains("\"sw9\""));
    assert!(
        ing.cmdb.events("sw1", 10).unwrap().is_empty(),
        "rejected batches store nothing"
    );

    let mut good = batch(1, vec![device_def(1, "sw1")], &[(1, t, 2.0)]);
    good.events = vec![event("sw1", "linkDown"), event("", "trap")];
    assert_eq!(ing.ingest(&mut s, good.clone()).code, 0);
    assert_eq!(ing.ingest(&mut s, good).code, 0, "resent");
    let stored = ing.cmdb.events("sw1", 10).unwrap();
    assert_eq!(stored.len(), 1, "a resent batch stores its events once");
    assert_eq!(stored[0].kind, "linkDown");
    assert_eq!(stored[0].agent, "poller");
    assert_eq!(stored[0].fields["ifIndex.1"], "1");
    let host = ing.cmdb.events("poller", 10).unwrap();
    assert_eq!(
        host.len(),
        1,
        "events of unknown senders land on the agent's CI"
    );
    assert!(
        metrics
            .render(&storage)
            .contains("tocsin_device_events_total{kind=\"linkDown\"} 1")
    );
}

#[test]
fn service_reports_make_service_cis_whose_series_and_check_events_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let (ing, _, _) = setup(dir.path());
    let rec = Arc::new(CiRecorder::default());
    let ing = ing.with_observer(rec.clone());
    let mut s = session(&ing, "poller");
    let t = now_ms();

    // The agent's host registered with hostname h1: runs_on names it with a domain.
    ing.update_device(&mut s, &service_report("shop", "H1.example.com"))
        .unwrap();
    let d = ing.cmdb.detail("shop").unwrap().unwrap();
    assert_eq!(d.ci.class, "application");
    assert_eq!(d.ci.attributes["checker"], "poller");
    assert_eq!(d.ci.attributes["criticality"], "critical");
    assert_eq!(
        d.ci.attributes["runs_on"],
        serde_json::json!({"declared": "H1.example.com", "ci": "poller"})
    );
    assert_eq!(
        d.relations
            .iter()
            .map(|r| (r.kind.as_str(), r.target.as_str()))
            .collect::<Vec<_>>(),
        [("runs_on", "poller")]
    );
    assert!(d.changes.iter().all(|c| c.source == "check:poller"));

    let mut b = batch(1, vec![device_def(1, "shop")], &[(1, t, 0.0)]);
    let mut failed = event("shop", "check_failed");
    failed.summary = "HTTP status 503".into();
    b.events = vec![failed, event("shop", "check_recovered")];
    assert_eq!(ing.ingest(&mut s, b).code, 0);
    assert_eq!(*rec.cis.lock(), vec!["shop".to_string()]);
    let events = ing.cmdb.events("shop", 10).unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .any(|e| e.kind == "check_failed" && e.summary == "HTTP status 503")
    );

    // A bad criticality refuses the report, naming the CI and the attribute.
    let mut bad = service_report("shop2", "");
    bad.attributes_json
        .insert("criticality".into(), "\"urgent\"".into());
    let err = ing.update_device(&mut s, &bad).unwrap_err().to_string();
    assert!(
        err.contains("shop2") && err.contains("criticality"),
        "{err}"
    );
    let r = ing.ingest(
        &mut s,
        batch(2, vec![device_def(2, "shop2")], &[(2, t, 1.0)]),
    );
    assert_ne!(r.code, 0, "its series stay refused");
}
