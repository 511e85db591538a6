//! Service checks through the whole chain: the real agent probing servers
//! the tests start (HTTP that can fail on demand, HTTPS with rcgen
//! certificates, a closed TCP port, ICMP to 127.0.0.1 and ::1), the real
//! collector storing the `probe_*` series on service CIs and opening, with
//! its built-in rules, one incident per failing check on the right CI,
//! resolved when the check passes again.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};
use tocsin_e2e::api::{WAIT, ci_when, incident_with, incident_within, incidents_of, value_until};
use tocsin_e2e::netns::Netns;
use tocsin_e2e::services::{Mode, ServiceServer, TlsServer, WELCOME, closed_port, page};
use tocsin_e2e::{Collector, Proc, hostname, start_agent_with_config, wait_for};

/// A collector (with `collector_config`) and an agent running `checks`.
async fn start(dir: &Path, collector_config: &str, checks: &str) -> Result<(Collector, Proc)> {
    let c = Collector::start_with_config(&dir.join("data"), dir, collector_config).await?;
    let agent = start_agent_with_config(
        &c.grpc_url,
        &dir.join("agent-state"),
        &format!("interval = \"5s\"\n{checks}"),
        &dir.join("agent.log"),
    )?;
    Ok((c, agent))
}

/// The events of CI `ci`, oldest first.
async fn events_of(c: &Collector, ci: &str) -> Result<Vec<Value>> {
    let body = c.get_json(&format!("/api/v1/cis/{ci}/events")).await?;
    let mut events: Vec<Value> = body["data"].as_array().cloned().unwrap_or_default();
    events.sort_by_key(|e| e["timestamp"].as_str().unwrap_or_default().to_owned());
    Ok(events)
}

/// Waits for an event of `kind` on `ci` whose reason contains `text`.
async fn event_with(c: &Collector, ci: &str, kind: &str, text: &str) -> Result<Value> {
    wait_for(WAIT, || async {
        Ok(events_of(c, ci)
            .await?
            .into_iter()
            .find(|e| e["kind"] == kind && e["summary"].as_str().is_some_and(|s| s.contains(text))))
    })
    .await
    .with_context(|| format!("no {kind} event containing {text:?} on {ci}"))
}

/// Sets people's attributes on a CI.
async fn patch_ci(c: &Collector, id: &str, attributes: Value) -> Result<()> {
    let r = reqwest::Client::new()
        .patch(format!("{}/api/v1/cis/{id}", c.http_url))
        .json(&json!({ "attributes": attributes, "actor": "ops" }))
        .send()
        .await?;
    ensure!(r.status().is_success(), "PATCH {id}: {}", r.status());
    Ok(())
}

fn is_open(i: &Value) -> bool {
    i["status"] == "open" || i["status"] == "acknowledged"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_http_check_is_one_incident_on_its_service_until_it_recovers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServiceServer::start().await?;
    let checks = format!(
        r#"
        [[check]]
        name = "shop-home"
        kind = "http"
        url = "{url}"
        interval = "1s"
        timeout = "1s"
        body_contains = "{WELCOME}"
        headers = {{ "X-Probe" = "tocsin" }}
        labels = {{ service = "shop" }}
        ci = {{ id = "shop", name = "Shop", owner = "team-web", runs_on = "{host}" }}
        "#,
        url = server.url(),
        host = hostname(),
    );
    let (c, _agent) = start(dir.path(), "", &checks).await?;

    // The service CI, related to the agent's host.
    let ci = ci_when(&c, "shop", |ci| {
        ci["relations"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await?;
    assert_eq!(
        (ci["class"].as_str(), ci["name"].as_str()),
        (Some("application"), Some("Shop"))
    );
    let a = &ci["attributes"];
    assert_eq!(a["url"], server.url().as_str());
    assert_eq!(a["owner"], "team-web");
    assert_eq!(a["checks"], json!(["shop-home"]));
    let host_ci = a["runs_on"]["ci"]
        .as_str()
        .context("runs_on resolved")?
        .to_owned();
    assert_eq!(ci["relations"][0]["kind"], "runs_on");
    assert_eq!(ci["relations"][0]["target"], host_ci.as_str());
    let host = c.get_json(&format!("/api/v1/cis/{host_ci}")).await?;
    assert_eq!(host["data"]["class"], "host");

    // Passing: series on the service CI, the custom header sent.
    let q = |m: &str| format!("{m}{{host=\"shop\",check=\"shop-home\",service=\"shop\"}}");
    value_until(&c, &q("probe_success"), |v| v == 1.0).await?;
    value_until(&c, &q("probe_http_status_code"), |v| v == 200.0).await?;
    value_until(&c, &q("probe_http_body_match"), |v| v == 1.0).await?;
    let bytes = page(WELCOME).len() as f64;
    value_until(&c, &q("probe_http_response_bytes"), |v| v == bytes).await?;
    ensure!(server.last_header("x-probe").as_deref() == Some("tocsin"));

    // Server errors: one general incident on the service CI, the reason in its events.
    server.set(Mode::Status(500));
    value_until(&c, &q("probe_http_status_code"), |v| v == 500.0).await?;
    value_until(&c, &q("probe_success"), |v| v == 0.0).await?;
    let opened = incident_with(&c, "shop", "service_check_failed", is_open).await?;
    assert_eq!(opened["severity"], "general", "{opened}");
    assert_eq!(opened["object"], json!({"check": "shop-home"}));
    assert_eq!(
        opened["ci"]["hostname"], "127.0.0.1",
        "the target host in the snapshot"
    );
    let title = opened["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("shop-home") && title.contains("Shop"),
        "{title}"
    );
    event_with(&c, "shop", "check_failed", "HTTP status 500, expected 2xx").await?;

    // A wrong body is the same fault still: the same incident.
    server.set(Mode::WrongBody);
    value_until(&c, &q("probe_http_body_match"), |v| v == 0.0).await?;
    event_with(
        &c,
        "shop",
        "check_failed",
        &format!("body does not contain {WELCOME:?}"),
    )
    .await?;
    value_until(&c, &q("probe_http_status_code"), |v| v == 200.0).await?;
    let all = incidents_of(&c, "shop", "service_check_failed").await?;
    assert_eq!(all.len(), 1, "one failing check, one incident: {all:?}");
    assert_eq!(all[0]["id"], opened["id"]);
    assert!(is_open(&all[0]));

    // Fixed: resolved by itself.
    server.set(Mode::Ok);
    incident_with(&c, "shop", "service_check_failed", |i| {
        i["id"] == opened["id"] && i["status"] == "resolved"
    })
    .await?;
    event_with(&c, "shop", "check_recovered", "passes again").await?;

    // Redirects are followed and counted.
    server.set(Mode::Redirect);
    value_until(&c, &q("probe_http_redirects"), |v| v == 1.0).await?;
    value_until(&c, &q("probe_success"), |v| v == 1.0).await?;

    // Marked critical by people: the next failure is major.
    patch_ci(&c, "shop", json!({ "criticality": "critical" })).await?;
    server.set(Mode::Status(503));
    let major = incident_with(&c, "shop", "service_check_failed", |i| {
        is_open(i) && i["severity"] == "major"
    })
    .await?;
    assert_eq!(major["priority"], "P1", "{major}");
    server.set(Mode::Ok);
    incident_with(&c, "shop", "service_check_failed", |i| {
        i["id"] == major["id"] && i["status"] == "resolved"
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_service_raises_a_warning_and_not_a_failure() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServiceServer::start().await?;
    server.set(Mode::Slow(Duration::from_millis(700)));
    let checks = format!(
        r#"
        [[check]]
        name = "api"
        kind = "http"
        url = "{url}"
        interval = "2s"
        timeout = "2s"
        slow_after = "250ms"
        ci = {{ id = "api", class = "service" }}
        "#,
        url = server.url(),
    );
    let (c, _agent) = start(dir.path(), "", &checks).await?;
    value_until(&c, "probe_duration_threshold_ratio{check=\"api\"}", |v| {
        v > 2.0
    })
    .await?;
    value_until(&c, "probe_success{check=\"api\"}", |v| v == 1.0).await?;
    // The rule waits a minute of sustained slowness.
    let slow = incident_within(
        &c,
        "api",
        "service_check_slow",
        Duration::from_secs(120),
        is_open,
    )
    .await?;
    assert_eq!(slow["severity"], "warning", "{slow}");
    ensure!(
        incidents_of(&c, "api", "service_check_failed")
            .await?
            .is_empty()
    );
    server.set(Mode::Ok);
    value_until(&c, "probe_duration_threshold_ratio{check=\"api\"}", |v| {
        v < 0.5
    })
    .await?;
    incident_with(&c, "api", "service_check_slow", |i| {
        i["id"] == slow["id"] && i["status"] == "resolved"
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_expiring_soon_or_untrusted_open_the_right_incidents() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let soon = TlsServer::start(2).await?;
    let later = TlsServer::start(10).await?;
    let untrusted = TlsServer::start_self_signed(60).await?;
    let check = |name: &str, url: &str, ca: Option<&Path>| {
        let ca = ca.map_or(String::new(), |p| {
            format!("tls_ca_file = {:?}\n", p.display().to_string())
        });
        format!(
            "[[check]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{url}\"\ninterval = \"1s\"\ntimeout = \"1s\"\n{ca}ci = {{ id = \"{name}\" }}\n"
        )
    };
    let checks = check("tls-2d", &soon.url(), Some(soon.ca_pem_path()))
        + &check("tls-10d", &later.url(), Some(later.ca_pem_path()))
        + &check("tls-untrusted", &untrusted.url(), None);
    let (c, _agent) = start(dir.path(), "", &checks).await?;

    let days = value_until(&c, "probe_tls_cert_expiry_days{check=\"tls-2d\"}", |_| true).await?;
    let expected = (soon.not_after_unix() as f64 - tocsin_e2e::now_secs()) / 86_400.0;
    assert!((days - expected).abs() < 0.01, "{days} vs {expected}");
    value_until(&c, "probe_tls_cert_valid{check=\"tls-2d\"}", |v| v == 1.0).await?;
    value_until(&c, "probe_success{check=\"tls-2d\"}", |v| v == 1.0).await?;
    let general = incident_with(&c, "tls-2d", "service_certificate_expiring", is_open).await?;
    assert_eq!(general["severity"], "general", "under 3 days: {general}");
    let warning = incident_with(&c, "tls-10d", "service_certificate_expiring", is_open).await?;
    assert_eq!(warning["severity"], "warning", "under 14 days: {warning}");

    // Renewed: the new expiry is seen and the incident resolves by itself.
    soon.renew(90)?;
    value_until(&c, "probe_tls_cert_expiry_days{check=\"tls-2d\"}", |v| {
        v > 89.0
    })
    .await?;
    incident_with(&c, "tls-2d", "service_certificate_expiring", |i| {
        i["id"] == general["id"] && i["status"] == "resolved"
    })
    .await?;

    // Untrusted: the check fails with the reason, the expiry is still known.
    value_until(&c, "probe_tls_cert_valid{check=\"tls-untrusted\"}", |v| {
        v == 0.0
    })
    .await?;
    value_until(&c, "probe_success{check=\"tls-untrusted\"}", |v| v == 0.0).await?;
    value_until(
        &c,
        "probe_tls_cert_expiry_days{check=\"tls-untrusted\"}",
        |v| v > 59.0,
    )
    .await?;
    incident_with(&c, "tls-untrusted", "service_check_failed", is_open).await?;
    event_with(&c, "tls-untrusted", "check_failed", "certificate").await?;
    ensure!(
        incidents_of(&c, "tls-untrusted", "service_certificate_expiring")
            .await?
            .is_empty()
    );
    ensure!(
        incidents_of(&c, "tls-2d", "service_check_failed")
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_icmp_and_dns_checks() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let port = closed_port();
    let checks = format!(
        r#"
        [[check]]
        name = "db-port"
        kind = "tcp"
        address = "127.0.0.1:{port}"
        interval = "1s"
        timeout = "1s"
        ci = {{ id = "db", class = "service", runs_on = "{host}" }}

        [[check]]
        name = "ping-v4"
        kind = "icmp"
        host = "127.0.0.1"
        interval = "1s"
        timeout = "1s"

        [[check]]
        name = "ping-v6"
        kind = "icmp"
        host = "::1"
        probes = 5
        interval = "1s"
        timeout = "1s"

        [[check]]
        name = "resolver"
        kind = "dns"
        host = "localhost"
        interval = "1s"
        timeout = "1s"
        "#,
        host = hostname(),
    );
    let (c, _agent) = start(dir.path(), "", &checks).await?;

    // Nothing listens: one incident on the db service.
    value_until(&c, "probe_success{check=\"db-port\",host=\"db\"}", |v| {
        v == 0.0
    })
    .await?;
    let failed = incident_with(&c, "db", "service_check_failed", is_open).await?;
    event_with(&c, "db", "check_failed", "refused").await?;
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    value_until(&c, "probe_success{check=\"db-port\"}", |v| v == 1.0).await?;
    value_until(&c, "probe_tcp_connect_seconds{check=\"db-port\"}", |v| {
        v < 1.0
    })
    .await?;
    incident_with(&c, "db", "service_check_failed", |i| {
        i["id"] == failed["id"] && i["status"] == "resolved"
    })
    .await?;
    drop(listener);

    // ICMP over IPv4 and IPv6, on the host's CI (no [check.ci]).
    let host_label = format!("host=\"{}\"", hostname());
    for check in ["ping-v4", "ping-v6"] {
        let sel = |m: &str| format!("{m}{{check=\"{check}\",{host_label}}}");
        value_until(&c, &sel("probe_success"), |v| v == 1.0).await?;
        value_until(&c, &sel("probe_icmp_loss_percent"), |v| v == 0.0).await?;
        let min = value_until(&c, &sel("probe_icmp_rtt_min_seconds"), |v| v > 0.0).await?;
        let max = value_until(&c, &sel("probe_icmp_rtt_max_seconds"), |v| v > 0.0).await?;
        ensure!(min <= max && max < 0.5, "{check}: {min} {max}");
    }
    value_until(&c, "probe_success{check=\"resolver\"}", |v| v == 1.0).await?;
    value_until(&c, "probe_dns_answers{check=\"resolver\"}", |v| v >= 1.0).await?;
    value_until(
        &c,
        "probe_dns_lookup_time_seconds{check=\"resolver\"}",
        |v| v > 0.0,
    )
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_stops_answering_ping_is_one_incident_until_it_answers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let gw = Netns::create()?;
    let checks = format!(
        r#"
        [[check]]
        name = "gw-ping"
        kind = "icmp"
        host = "{address}"
        probes = 3
        interval = "1s"
        timeout = "500ms"
        ci = {{ id = "gw", class = "service", name = "Gateway" }}
        "#,
        address = gw.address,
    );
    let (c, _agent) = start(dir.path(), "", &checks).await?;
    let sel = |m: &str| format!("{m}{{check=\"gw-ping\",host=\"gw\"}}");
    value_until(&c, &sel("probe_success"), |v| v == 1.0).await?;
    value_until(&c, &sel("probe_icmp_loss_percent"), |v| v == 0.0).await?;

    gw.set_link(false)?;
    value_until(&c, &sel("probe_icmp_loss_percent"), |v| v == 100.0).await?;
    value_until(&c, &sel("probe_success"), |v| v == 0.0).await?;
    let down = incident_with(&c, "gw", "service_check_failed", is_open).await?;
    event_with(&c, "gw", "check_failed", "no echo reply").await?;

    gw.set_link(true)?;
    value_until(&c, &sel("probe_success"), |v| v == 1.0).await?;
    incident_with(&c, "gw", "service_check_failed", |i| {
        i["id"] == down["id"] && i["status"] == "resolved"
    })
    .await?;
    let all = incidents_of(&c, "gw", "service_check_failed").await?;
    assert_eq!(all.len(), 1, "{all:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_incident_joins_the_incident_of_the_host_it_runs_on() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // A rule that always fires on the agent's host stands for a host fault.
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"host_down_drill\"\nselector = \"node_load1\"\ncomparison = \">=\"\nthresholds = { major = 0 }\nrecovery = -1\n",
    )?;
    let checks = format!(
        r#"
        [[check]]
        name = "app-port"
        kind = "tcp"
        address = "127.0.0.1:{port}"
        interval = "1s"
        timeout = "1s"
        ci = {{ id = "app", runs_on = "{host}" }}
        "#,
        port = closed_port(),
        host = hostname(),
    );
    let config = format!("rules_file = {:?}\n", rules.display().to_string());
    let (c, _agent) = start(dir.path(), &config, &checks).await?;
    let app = ci_when(&c, "app", |ci| {
        ci["attributes"]["runs_on"]["ci"].is_string()
    })
    .await?;
    let host_ci = app["attributes"]["runs_on"]["ci"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let host_incident = incident_with(&c, &host_ci, "host_down_drill", is_open).await?;
    let child = incident_with(&c, "app", "service_check_failed", is_open).await?;
    assert_eq!(child["parent_id"], host_incident["id"], "{child}");
    Ok(())
}

/// Runs an agent with the ICMP check in `config` in a network namespace of
/// its own (so this host's sysctls do not matter), as nobody, after the
/// shell commands `setup`; returns its log once the check passed, or once a
/// run found no ICMP socket (the pinger keeps that answer, so no later run
/// can pass).
async fn icmp_verdict(dir: &Path, config: &Path, name: &str, setup: &str) -> Result<String> {
    let state = dir.join(name);
    std::fs::create_dir(&state)?;
    std::fs::set_permissions(&state, std::os::unix::fs::PermissionsExt::from_mode(0o777))?;
    let log = dir.join(format!("{name}.log"));
    let script = format!(
        "ip link set lo up && {setup} exec setpriv --reuid=65534 --regid=65534 --clear-groups {agent} --collector http://127.0.0.1:9 --state-dir {state} --config {config}",
        agent = tocsin_e2e::bin("tocsin-agent").display(),
        state = state.display(),
        config = config.display(),
    );
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--net", "sh", "-c", &script])
        .env("RUST_LOG", "info");
    let mut agent = Proc::spawn(cmd, log)?;
    agent
        .wait_for_log(WAIT, "the ICMP check passing or unavailable", |l| {
            l.contains("check passing") || l.contains("no ICMP socket can be opened")
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprivileged_icmp_needs_ping_group_range_and_says_so() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )?;
    let config = dir.path().join("agent.toml");
    std::fs::write(
        &config,
        "[[check]]\nname = \"gw\"\nkind = \"icmp\"\nhost = \"127.0.0.1\"\ninterval = \"1s\"\ntimeout = \"1s\"\n",
    )?;
    // First with the kernel's default range (no one may ping), then with the
    // range opened.
    let denied = icmp_verdict(dir.path(), &config, "denied", "").await?;
    assert!(
        denied.contains("net.ipv4.ping_group_range") && denied.contains("ICMP unavailable"),
        "{denied}"
    );
    assert!(!denied.contains("check passing"), "{denied}");
    let allowed = icmp_verdict(
        dir.path(),
        &config,
        "allowed",
        "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range &&",
    )
    .await?;
    assert!(allowed.contains("check passing"), "{allowed}");
    assert!(!allowed.contains("ICMP unavailable"), "{allowed}");
    Ok(())
}
