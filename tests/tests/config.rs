//! `--check-config` validates a file and names every problem by its key.

use anyhow::Result;
use tocsin_e2e::run;

fn check(bin: &str, text: &str) -> Result<(bool, String)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text)?;
    let out = run(
        bin,
        &[
            "--config",
            path.to_str().unwrap_or_default(),
            "--check-config",
        ],
    )?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

#[test]
fn collector_check_config_reports_every_problem() -> Result<()> {
    let (ok, out) = check("tocsin-collector", "grpc_addr = \"127.0.0.1:7070\"\n")?;
    assert!(ok, "{out}");
    let bad = "http_addr = \"127.0.0.1:7070\"\n[limits]\nmax_labels = 0\n[storage]\ncheckpoint_interval = \"1ms\"\n";
    let (ok, out) = check("tocsin-collector", bad)?;
    assert!(!ok, "invalid config accepted: {out}");
    for key in [
        "http_addr",
        "limits.max_labels",
        "storage.checkpoint_interval",
    ] {
        assert!(out.contains(key), "problem with {key} not reported:\n{out}");
    }
    let (ok, out) = check("tocsin-collector", "[storage]\nsync_writez = true\n")?;
    assert!(
        !ok && out.contains("sync_writez"),
        "unknown key not named:\n{out}"
    );
    Ok(())
}

#[test]
fn agent_check_config_reports_every_problem() -> Result<()> {
    let (ok, out) = check("tocsin-agent", "interval = \"5s\"\n")?;
    assert!(ok, "{out}");
    let (ok, out) = check(
        "tocsin-agent",
        "interval = \"100ms\"\ncollector = \"not a url\"\n",
    )?;
    assert!(!ok, "invalid config accepted: {out}");
    for key in ["interval", "collector"] {
        assert!(out.contains(key), "problem with {key} not reported:\n{out}");
    }
    let (ok, out) = check(
        "tocsin-agent",
        "[[check]]\nname = \"shop\"\nkind = \"http\"\nurl = \"ftp://shop/\"\nprobes = 3\nci = { criticality = \"urgent\" }\n",
    )?;
    assert!(!ok, "invalid check accepted: {out}");
    for key in ["check[0].url", "check[0].probes", "check[0].ci.criticality"] {
        assert!(out.contains(key), "problem with {key} not reported:\n{out}");
    }
    let (ok, out) = check("tocsin-agent", "intervall = \"5s\"\n")?;
    assert!(
        !ok && out.contains("intervall"),
        "unknown key not named:\n{out}"
    );
    Ok(())
}

#[test]
fn receiver_problems_are_all_named_in_one_run() -> Result<()> {
    let bad = "[[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"ftp://x/\"\n\
               routing_key = \"k\"\nsmtp_host = \"h\"\n\
               [[notify.receiver]]\nname = \"pd\"\nkind = \"pagerduty\"\nheaders = { X = \"1\" }\n\
               [[notify.receiver]]\nname = \"mail\"\nkind = \"email\"\nsecret = \"s\"\n";
    let (ok, out) = check("tocsin-collector", bad)?;
    assert!(!ok, "invalid receivers accepted: {out}");
    for want in [
        "notify.receiver[\"hook\"].url:",
        "notify.receiver[\"hook\"].routing_key: not used by kind webhook (only by pagerduty)",
        "notify.receiver[\"hook\"].smtp_host: not used by kind webhook (only by email)",
        "notify.receiver[\"pd\"].routing_key: required",
        "notify.receiver[\"pd\"].headers: not used by kind pagerduty",
        "notify.receiver[\"mail\"].smtp_host: required",
        "notify.receiver[\"mail\"].from: required",
        "notify.receiver[\"mail\"].to:",
        "notify.receiver[\"mail\"].secret: not used by kind email",
    ] {
        assert!(out.contains(want), "{want} not reported:\n{out}");
    }
    let unknown = "[[notify.receiver]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://h/\"\n\
                   urll = \"x\"\ntokn = \"y\"\n";
    let (ok, out) = check("tocsin-collector", unknown)?;
    assert!(!ok, "unknown keys accepted: {out}");
    for key in ["`urll`", "`tokn`"] {
        assert!(out.contains(key), "unknown key {key} not named:\n{out}");
    }
    Ok(())
}

#[test]
fn snmp_credential_problems_are_all_named_in_one_run() -> Result<()> {
    let bad = "[[snmp]]\naddress = \"10.0.0.1\"\nversion = \"v2c\"\nclass = \"switch\"\n\
               user = \"u\"\nauth_password = \"authpass1\"\n\
               [[snmp]]\naddress = \"10.0.0.2\"\nversion = \"v3\"\nclass = \"switch\"\n\
               community = \"c\"\npriv_protocol = \"aes\"\n";
    let (ok, out) = check("tocsin-agent", bad)?;
    assert!(!ok, "invalid snmp targets accepted: {out}");
    for want in [
        "snmp[0].community: required",
        "snmp[0].user: only valid with version v3",
        "snmp[0].auth_password: only valid with version v3",
        "snmp[1].community: only valid with version v2c",
        "snmp[1].user: required",
        "snmp[1].auth_protocol: required",
        "snmp[1].auth_password: required",
        "snmp[1].priv_password: required",
    ] {
        assert!(out.contains(want), "{want} not reported:\n{out}");
    }
    let unknown = "[[snmp]]\naddress = \"10.0.0.1\"\nversion = \"v3\"\nclass = \"switch\"\n\
                   usr = \"u\"\nauth_proto = \"sha\"\n";
    let (ok, out) = check("tocsin-agent", unknown)?;
    assert!(!ok, "unknown keys accepted: {out}");
    for key in ["`usr`", "`auth_proto`"] {
        assert!(out.contains(key), "unknown key {key} not named:\n{out}");
    }
    Ok(())
}

#[test]
fn shipped_example_configs_are_valid() -> Result<()> {
    let deploy = tocsin_e2e::workspace_root().join("deploy");
    let rules = deploy.join("rules.toml");
    let collector = std::fs::read_to_string(deploy.join("collector.toml"))?.replace(
        "# rules_file = \"/etc/tocsin/rules.toml\"",
        &format!("rules_file = {:?}", rules.display().to_string()),
    );
    let (ok, out) = check("tocsin-collector", &collector)?;
    assert!(ok, "deploy/collector.toml with deploy/rules.toml: {out}");
    let (ok, out) = check(
        "tocsin-agent",
        &std::fs::read_to_string(deploy.join("agent.toml"))?,
    )?;
    assert!(ok, "deploy/agent.toml: {out}");
    Ok(())
}

#[test]
fn rules_file_problems_name_the_rule_and_key() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"cpu\"\nselector = \"node_cpu_usage_percent\"\nthresholds = { warning = 90, general = 80 }\n\
         [[rule]]\nname = \"bad_sel\"\nselector = \"node_load1{\"\nthresholds = { warning = 1 }\nfoo = 1\n",
    )?;
    let (ok, out) = check(
        "tocsin-collector",
        &format!("rules_file = {:?}\n", rules.display().to_string()),
    )?;
    assert!(!ok, "{out}");
    for needle in [
        "rule \"cpu\"",
        "thresholds",
        "rule \"bad_sel\"",
        "selector",
        "foo",
    ] {
        assert!(out.contains(needle), "{needle} not reported:\n{out}");
    }
    Ok(())
}
