//! End-to-end tests of the SNMP poller against a real net-snmp `snmpd`
//! (Debian packages `snmpd` and `snmp`), started on a free loopback port with
//! a generated config: one v2c community and one v3 authPriv user.

use std::time::{Duration, Instant};

use tocsin_agent::snmp::{DevicePoll, poll};

mod common;

use common::{Targets, start_snmpd};
use tocsin_e2e::snmpd::{AUTH_PASS, COMMUNITY, PRIV_PASS};

fn sample<'a>(p: &'a DevicePoll, metric: &str, label: (&str, &str)) -> Option<&'a f64> {
    p.samples
        .iter()
        .find(|s| s.metric == metric && s.labels.iter().any(|(k, v)| k == label.0 && v == label.1))
        .map(|s| {
            assert!(s.value.is_finite());
            &s.value
        })
}

fn assert_system(p: &DevicePoll) {
    assert!(p.reachable, "{:?}", p.errors);
    assert_eq!(p.attributes["sysName"], "tocsin-test-device");
    assert_eq!(p.attributes["sysLocation"], "rack-42, room 7");
    assert_eq!(p.attributes["sysContact"], "ops@example.test");
    assert_eq!(p.attributes["vendor"], "net-snmp");
    assert_eq!(p.attributes["management_ip"], "127.0.0.1");
    assert!(
        p.attributes["sysDescr"]
            .as_str()
            .is_some_and(|d| d.contains("Linux")),
        "{:?}",
        p.attributes.get("sysDescr")
    );
}

#[tokio::test]
async fn v2c_poll_reads_system_interfaces_and_storage() {
    let snmpd = start_snmpd("").await;
    let p = poll(&snmpd.v2c(COMMUNITY)).await;
    assert_system(&p);
    assert!(p.errors.is_empty(), "{:?}", p.errors);

    let ifs = p.attributes["interfaces"].as_array().expect("interfaces");
    assert!(ifs.iter().any(|i| i["name"] == "lo"), "{ifs:?}");
    for metric in ["snmp_if_in_octets_total", "snmp_if_out_octets_total"] {
        let s = p
            .samples
            .iter()
            .find(|s| s.metric == metric && s.labels.contains(&("interface".into(), "lo".into())))
            .unwrap_or_else(|| panic!("{metric} for lo missing"));
        assert!(s.counter, "{metric} must be a counter");
        assert!(s.labels.iter().any(|(k, _)| k == "alias"));
    }
    assert_eq!(
        sample(&p, "snmp_if_oper_status", ("interface", "lo")),
        Some(&1.0)
    );
    assert_eq!(
        sample(&p, "snmp_if_admin_status", ("interface", "lo")),
        Some(&1.0)
    );

    let size = sample(&p, "snmp_hr_storage_size_bytes", ("type", "ram")).expect("ram size");
    let used = sample(&p, "snmp_hr_storage_used_bytes", ("type", "ram")).expect("ram used");
    assert!(*size > 0.0 && used <= size, "size {size} used {used}");
    assert!(
        p.samples
            .iter()
            .any(|s| s.metric == "snmp_hr_storage_used_percent")
    );
    assert!(p.samples.iter().any(|s| s.metric == "snmp_uptime_seconds"));
    assert!(sample(&p, "snmp_ucd_load_average", ("period", "1m")).is_some());
    assert!(
        p.samples
            .iter()
            .any(|s| s.metric == "snmp_ucd_memory_total_bytes")
    );
}

#[tokio::test]
async fn v3_auth_priv_poll_works() {
    let snmpd = start_snmpd("").await;
    let p = poll(&snmpd.v3(AUTH_PASS)).await;
    assert_system(&p);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert!(
        p.samples
            .iter()
            .any(|s| s.metric == "snmp_if_in_octets_total")
    );
}

#[tokio::test]
async fn wrong_community_is_a_clear_error() {
    let snmpd = start_snmpd("").await;
    let p = poll(&snmpd.v2c("not-the-community")).await;
    assert!(!p.reachable);
    assert!(p.samples.is_empty() && p.attributes.is_empty());
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(
        p.errors[0].error.contains("wrong community"),
        "{:?}",
        p.errors
    );
}

#[tokio::test]
async fn wrong_v3_password_is_a_clear_error() {
    let snmpd = start_snmpd("").await;
    let p = poll(&snmpd.v3("wrong-password")).await;
    assert!(!p.reachable);
    assert!(p.attributes.is_empty());
    let e = &p.errors[0].error;
    assert!(e.starts_with("authentication failed"), "{:?}", p.errors);
    assert!(!e.contains("wrong-password") && !e.contains(PRIV_PASS));
}

#[tokio::test]
async fn stopped_snmpd_is_unreachable_within_timeout_and_retries() {
    let mut snmpd = start_snmpd("").await;
    let target = snmpd.v2c(COMMUNITY);
    assert!(poll(&target).await.reachable);
    snmpd.proc.crash();
    let started = Instant::now();
    let p = poll(&target).await;
    let took = started.elapsed();
    assert!(!p.reachable);
    assert!(p.errors[0].error.contains("no response"), "{:?}", p.errors);
    // timeout 500 ms × (1 retry + 1), plus slack.
    assert!(took < Duration::from_millis(1_800), "took {took:?}");
    assert!(took >= Duration::from_millis(900), "took {took:?}");
}

#[tokio::test]
async fn values_of_wrong_types_are_skipped_with_an_error() {
    // lo's ifHCInOctets as a string and its ifAlias as an integer.
    let snmpd = start_snmpd(
        "override 1.3.6.1.2.1.31.1.1.1.6.1 octet_str \"bogus\"\n\
         override 1.3.6.1.2.1.31.1.1.1.18.1 integer 7",
    )
    .await;
    let p = poll(&snmpd.v2c(COMMUNITY)).await;
    assert_system(&p);
    let skipped: Vec<_> = p
        .errors
        .iter()
        .filter(|e| e.error.contains("unexpected type"))
        .collect();
    assert!(
        skipped.iter().any(|e| e.subtree == "ifXTable"),
        "{:?}",
        p.errors
    );
    assert!(
        skipped.iter().any(|e| e.subtree == "ifXTable.ifAlias"),
        "{:?}",
        p.errors
    );
    // The 32-bit ifInOctets stands in for the unusable HC counter.
    assert!(sample(&p, "snmp_if_in_octets_total", ("interface", "lo")).is_some());
    assert!(sample(&p, "snmp_if_out_octets_total", ("interface", "lo")).is_some());
}

#[tokio::test]
async fn a_subtree_that_hangs_gives_partial_results_within_the_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("slow.sh");
    std::fs::write(&script, "#!/bin/sh\nsleep 3\n").expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    // ENTITY-MIB answers through a script that takes 3 s (snmpd blocks meanwhile).
    let snmpd = start_snmpd(&format!("pass .1.3.6.1.2.1.47 {}", script.display())).await;
    let mut target = snmpd.v2c(COMMUNITY);
    target.interval = Duration::from_secs(4);
    let started = Instant::now();
    let p = poll(&target).await;
    let took = started.elapsed();
    assert_system(&p);
    assert!(took < Duration::from_millis(5_500), "took {took:?}");
    assert!(
        p.errors
            .iter()
            .any(|e| e.subtree.starts_with("entPhysicalTable.")),
        "{:?}",
        p.errors
    );
    assert!(!p.attributes.contains_key("model"));
}
