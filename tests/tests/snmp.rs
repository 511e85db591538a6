//! Network gear through the whole chain: a real net-snmp `snmpd` polled by
//! the real agent (v2c and v3), reported to the real collector as device
//! CIs with interface series, built-in device rules opening incidents, and
//! SNMP traps sent with net-snmp's `snmptrap` reaching the collector.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use tocsin_e2e::api::{WAIT, ci_when, incident_with, incidents_of, value_of, value_until};
use tocsin_e2e::snmpd::{AUTH_PASS, COMMUNITY, Netns, PRIV_PASS, SYS_NAME, Snmpd};
use tocsin_e2e::{Collector, Proc, start_agent_with_config, wait_for};

/// A collector with only the built-in rules, and an agent polling `targets`.
async fn start(dir: &Path, agent_config: &str) -> Result<(Collector, Proc)> {
    let c = Collector::start(&dir.join("data"), dir).await?;
    let config = format!("interval = \"5s\"\n{agent_config}");
    let agent = start_agent_with_config(
        &c.grpc_url,
        &dir.join("agent-state"),
        &config,
        &dir.join("agent.log"),
    )?;
    Ok((c, agent))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_devices_become_cis_with_interface_series_over_v2c_and_v3() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut snmpd = Snmpd::start(
        &dir.path().join("sw"),
        "sysDescr Tocsin test switch, firmware 1.0",
    )
    .await?;
    let router = Snmpd::start(&dir.path().join("rt"), "").await?;
    let targets = snmpd.v2c_target("sw-v2c", COMMUNITY, "location = \"DC1 hall A\"")
        + &router.v3_target("rt-v3", AUTH_PASS, "icmp = false");
    let (c, agent) = start(dir.path(), &targets).await?;

    let ci = ci_when(&c, "sw-v2c", |ci| ci["attributes"]["sysName"] == SYS_NAME).await?;
    let a = &ci["attributes"];
    assert_eq!(ci["class"], "switch");
    assert_eq!(ci["name"], SYS_NAME);
    assert_eq!(a["sysLocation"], "rack-42, room 7");
    assert_eq!(a["sysContact"], "ops@example.test");
    assert_eq!(a["location"], "DC1 hall A");
    assert_eq!(a["management_ip"], "127.0.0.1");
    assert!(
        a["sysObjectID"]
            .as_str()
            .is_some_and(|o| o.starts_with("1.3.6.1.4.1.8072")),
        "net-snmp's enterprise: {a}"
    );
    let ifaces = a["interfaces"].as_array().context("interfaces attribute")?;
    assert!(ifaces.iter().any(|i| i["name"] == "lo"), "{ifaces:?}");
    assert!(a["poller"].as_str().is_some_and(|p| !p.is_empty()));

    // v3 authPriv reaches the same device as its own CI.
    let v3 = ci_when(&c, "rt-v3", |ci| ci["attributes"]["sysName"] == SYS_NAME).await?;
    assert_eq!(v3["class"], "router");

    // Interface series, on the device CI, with real counters.
    let octets = value_of(
        &c,
        r#"snmp_if_in_octets_total{host="sw-v2c",interface="lo"}"#,
    )
    .await?;
    assert!(octets > 0.0, "lo has carried our own SNMP traffic");
    assert_eq!(
        value_of(&c, r#"snmp_if_oper_status{host="rt-v3",interface="lo"}"#).await?,
        1.0
    );
    assert_eq!(value_of(&c, r#"snmp_up{host="sw-v2c"}"#).await?, 1.0);
    assert_eq!(
        value_of(&c, r#"device_reachable{host="sw-v2c"}"#).await?,
        1.0
    );
    assert_eq!(value_of(&c, r#"icmp_up{host="sw-v2c"}"#).await?, 1.0);
    assert_eq!(
        value_of(&c, r#"snmp_if_link_down{host="sw-v2c",interface="lo"}"#).await?,
        0.0
    );

    // snmpd just started: its uptime is minutes old, so the device counts as rebooted.
    let rebooted = incident_with(&c, "sw-v2c", "device_rebooted", |_| true).await?;
    assert_eq!(rebooted["severity"], "warning");
    assert_eq!(
        rebooted["ci"]["hostname"], SYS_NAME,
        "CI snapshot: {rebooted}"
    );
    assert_eq!(rebooted["ci"]["ip_addresses"][0], "127.0.0.1");
    assert_eq!(rebooted["ci"]["location"], "DC1 hall A");

    // A "firmware upgrade": the new sysDescr is recorded as a change by the poller.
    snmpd
        .restart_with("sysDescr Tocsin test switch, firmware 2.0")
        .await?;
    let ci = ci_when(&c, "sw-v2c", |ci| {
        ci["attributes"]["sysDescr"]
            .as_str()
            .is_some_and(|d| d.contains("firmware 2.0"))
    })
    .await?;
    let change = ci["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ch| {
            ch["attribute"] == "sysDescr" && ch["new"].as_str().is_some_and(|n| n.contains("2.0"))
        })
        .context("sysDescr change recorded")?;
    assert!(
        change["old"]
            .as_str()
            .is_some_and(|o| o.contains("firmware 1.0"))
    );
    assert!(
        change["source"]
            .as_str()
            .is_some_and(|s| s.starts_with("snmp:"))
    );

    let log = agent.log();
    for secret in [COMMUNITY, AUTH_PASS, PRIV_PASS] {
        assert!(!log.contains(secret), "the agent logged a credential");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_counted_and_reported_without_stopping_the_agent() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut devices = Vec::new();
    for name in ["a", "b", "c"] {
        devices.push(Snmpd::start(&dir.path().join(name), "").await?);
    }
    let targets = devices[0].v3_target("bad-v3", "wrong-password-1", "")
        + &devices[1].v2c_target("bad-v2c", "not-the-community", "")
        + &devices[2].v2c_target("good", COMMUNITY, "icmp = false");
    let (c, mut agent) = start(dir.path(), &targets).await?;

    // The devices exist as CIs (from the configuration), SNMP is down, ICMP is up.
    let bad = ci_when(&c, "bad-v3", |_| true).await?;
    assert_eq!(bad["class"], "router");
    assert!(bad["attributes"].get("sysName").is_none());
    for id in ["bad-v3", "bad-v2c"] {
        assert_eq!(
            value_of(&c, &format!(r#"snmp_up{{host="{id}"}}"#)).await?,
            0.0
        );
        assert_eq!(
            value_of(&c, &format!(r#"icmp_up{{host="{id}"}}"#)).await?,
            1.0
        );
        assert_eq!(
            value_of(&c, &format!(r#"device_reachable{{host="{id}"}}"#)).await?,
            1.0
        );
        value_until(
            &c,
            &format!(r#"snmp_poll_errors_total{{host="{id}"}}"#),
            |v| v >= 2.0,
        )
        .await?;
    }
    // The good device next to them is unaffected.
    ci_when(&c, "good", |ci| ci["attributes"]["sysName"] == SYS_NAME).await?;
    assert!(
        incidents_of(&c, "bad-v3", "device_unreachable")
            .await?
            .is_empty()
    );

    let log = agent.log();
    assert!(
        log.contains("bad-v3") && (log.contains("auth") || log.contains("Auth")),
        "a clear error names the device and the authentication problem:\n{log}"
    );
    assert!(!log.contains("wrong-password-1") && !log.contains("not-the-community"));
    assert!(agent.stop(), "the agent still runs and stops cleanly");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_stops_answering_opens_one_unreachable_incident_and_recovers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let ns = Netns::create().context("network namespaces (ip netns) are needed")?;
    let mut snmpd = Snmpd::start_in(&ns, dir.path(), "").await?;
    let targets = snmpd.v2c_target("edge-1", COMMUNITY, "icmp_probes = 2");
    let (c, _agent) = start(dir.path(), &targets).await?;
    ci_when(&c, "edge-1", |ci| ci["attributes"]["sysName"] == SYS_NAME).await?;
    assert_eq!(value_of(&c, r#"icmp_up{host="edge-1"}"#).await?, 1.0);

    // SNMP stops, ICMP still answers: partial results, errors counted, no incident.
    snmpd.proc.crash();
    value_until(&c, r#"snmp_up{host="edge-1"}"#, |v| v == 0.0).await?;
    assert_eq!(
        value_of(&c, r#"device_reachable{host="edge-1"}"#).await?,
        1.0
    );
    assert!(
        incidents_of(&c, "edge-1", "device_unreachable")
            .await?
            .is_empty()
    );
    let ci = ci_when(&c, "edge-1", |_| true).await?;
    assert_eq!(
        ci["attributes"]["sysName"], SYS_NAME,
        "known attributes are kept"
    );

    // Cut off entirely: one unreachable incident, major, on the device CI.
    ns.set_link(false)?;
    let inc = incident_with(&c, "edge-1", "device_unreachable", |i| {
        i["status"] == "open"
    })
    .await?;
    assert_eq!(inc["severity"], "major");
    assert_eq!(inc["ci"]["class"], "switch");
    // Two more batches from the agent, each evaluated before it is counted:
    // at least one whole batch of later rounds, all still unreachable.
    let batches = || async {
        let text = c.metrics_text().await?;
        tocsin_e2e::metric_value(&text, "tocsin_ingest_batches_total")
            .context("tocsin_ingest_batches_total")
    };
    let seen = batches().await?;
    wait_for(WAIT, || async {
        Ok((batches().await? >= seen + 2.0).then_some(()))
    })
    .await
    .context("the agent stopped reporting")?;
    assert_eq!(
        incidents_of(&c, "edge-1", "device_unreachable")
            .await?
            .len(),
        1,
        "one fault, one incident"
    );

    // Back on the network with SNMP running: the incident resolves itself.
    ns.set_link(true)?;
    snmpd.restart_with("").await?;
    incident_with(&c, "edge-1", "device_unreachable", |i| {
        i["status"] == "resolved"
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_down_trap_opens_the_interface_incident_before_the_next_poll() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let snmpd = Snmpd::start(dir.path(), "").await?;
    // The agent refuses `traps.listen` on port 0 (devices need a fixed trap
    // destination), so this port is picked before the agent starts.
    let trap_port = tocsin_e2e::process::pre_picked_udp_port();
    let mut targets = snmpd.v2c_target("sw-trap", COMMUNITY, "icmp = false");
    // One poll now, the next one only in ten minutes.
    targets = targets.replace("interval = \"2s\"", "interval = \"10m\"");
    let config = format!(
        "{targets}\n[traps]\nlisten = \"127.0.0.1:{trap_port}\"\ncommunities = [\"trap-secret\"]\n"
    );
    let (c, agent) = start(dir.path(), &config).await?;
    let ci = ci_when(&c, "sw-trap", |ci| {
        ci["attributes"]["interfaces"].is_array()
    })
    .await?;
    let lo = ci["attributes"]["interfaces"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["name"] == "lo")
        .context("lo interface")?;
    let if_index: u32 = lo["index"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .context("interface index")?;

    let trap = |community: &str, args: &[String]| -> Result<()> {
        let out = Command::new("snmptrap")
            .args(["-v", "2c", "-c", community])
            .arg(format!("127.0.0.1:{trap_port}"))
            .arg("")
            .args(args)
            .env("MIBS", "")
            .output()
            .context("snmptrap (apt-get install -y snmp)")?;
        ensure!(
            out.status.success(),
            "snmptrap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    let link_down = [
        "1.3.6.1.6.3.1.1.5.3".to_string(),
        format!("1.3.6.1.2.1.2.2.1.1.{if_index}"),
        "i".into(),
        if_index.to_string(),
        format!("1.3.6.1.2.1.2.2.1.7.{if_index}"),
        "i".into(),
        "1".into(),
        format!("1.3.6.1.2.1.2.2.1.8.{if_index}"),
        "i".into(),
        "2".into(),
    ];
    // A wrong community is refused; the right one gets through.
    trap("guess", &link_down)?;
    trap("trap-secret", &link_down)?;

    let inc = incident_with(&c, "sw-trap", "device_interface_down", |i| {
        i["status"] == "open"
    })
    .await?;
    assert_eq!(inc["object"]["interface"], "lo", "{inc}");
    let events = wait_for(WAIT, || async {
        let body = c.get_json("/api/v1/cis/sw-trap/events").await?;
        let list = body["data"].as_array().cloned().unwrap_or_default();
        Ok((!list.is_empty()).then_some(list))
    })
    .await?;
    assert_eq!(
        events.len(),
        1,
        "the refused trap was not stored: {events:?}"
    );
    assert_eq!(events[0]["kind"], "linkDown");
    assert!(
        events[0]["summary"]
            .as_str()
            .is_some_and(|s| s.contains("lo"))
    );
    assert!(!agent.log().contains("trap-secret"));

    // linkUp clears it, still long before the next poll.
    let mut link_up = link_down.clone();
    link_up[0] = "1.3.6.1.6.3.1.1.5.4".into();
    link_up[9] = "1".into();
    trap("trap-secret", &link_up)?;
    incident_with(&c, "sw-trap", "device_interface_down", |i| {
        i["status"] == "resolved"
    })
    .await?;
    let text = c.metrics_text().await?;
    assert!(
        text.contains("tocsin_device_events_total{kind=\"linkUp\"} 1"),
        "{text}"
    );
    Ok(())
}
