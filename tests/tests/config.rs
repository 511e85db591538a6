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
    let (ok, out) = check("tocsin-agent", "intervall = \"5s\"\n")?;
    assert!(
        !ok && out.contains("intervall"),
        "unknown key not named:\n{out}"
    );
    Ok(())
}
