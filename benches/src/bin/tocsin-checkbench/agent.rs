//! `--agent`: the real agent with hundreds of checks against the targets,
//! reporting into a real collector; its VmRSS, VmHWM and CPU over time.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tocsin_agent::checks::{CheckConfig, CheckKind, ProbeConfig};
use tocsin_benches::procstat;
use tocsin_e2e::{Collector, CollectorSpec, Proc};

use super::*;
use crate::inprocess::mb;
use crate::servers::Servers;

pub(crate) fn sibling(explicit: Option<&PathBuf>, name: &str) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.clone()),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("no parent directory of this binary")?
            .join(name)),
    }
}

/// The agent's config: `interval`, then one `[[check]]` per check.
pub(crate) fn agent_config(checks: &[(bool, CheckConfig)], interval: Duration) -> String {
    let every = humantime::format_duration(interval).to_string();
    let mut out = format!("interval = \"{every}\"\n");
    for (_, c) in checks {
        out.push_str(&format!(
            "\n[[check]]\nname = \"{}\"\nkind = \"{}\"\ninterval = \"{every}\"\ntimeout = \"{}\"\n",
            c.name,
            c.kind().as_str(),
            humantime::format_duration(c.timeout)
        ));
        let target = match c.kind() {
            CheckKind::Http => format!("url = \"{}\"\n", c.target()),
            CheckKind::Tcp => format!("address = \"{}\"\n", c.target()),
            CheckKind::Icmp | CheckKind::Dns => format!("host = \"{}\"\n", c.target()),
        };
        out.push_str(&target);
        if let ProbeConfig::Http(http) = &c.probe
            && let Some(ca) = &http.tls_ca_file
        {
            out.push_str(&format!("tls_ca_file = \"{}\"\n", ca.display()));
        }
    }
    out
}

pub(crate) async fn agent(args: &Args) -> Result<bool> {
    let servers = Servers::spawn(args.server_threads, args.backlog)?;
    let host = if args.hostname {
        "localhost"
    } else {
        "127.0.0.1"
    };
    let checks = servers.checks(
        [
            args.agent_http,
            args.agent_https,
            args.agent_tcp,
            args.agent_icmp,
        ],
        host,
        args.timeout.min(args.agent_interval),
    );
    let dir = tempfile::tempdir()?;
    let collector = Collector::launch(CollectorSpec::new(
        sibling(args.collector_bin.as_ref(), "tocsin-collector")?,
        &dir.path().join("data"),
        dir.path(),
    ))
    .await?;
    let api = collector.http_url.clone();
    let web = reqwest::Client::new();

    let config = dir.path().join("agent.toml");
    std::fs::write(&config, agent_config(&checks, args.agent_interval))?;
    let log = dir.path().join("agent.log");
    let mut cmd = Command::new(sibling(args.agent_bin.as_ref(), "tocsin-agent")?);
    cmd.args(["--collector", &collector.grpc_url])
        .arg("--state-dir")
        .arg(dir.path().join("agent"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info");
    let started = Instant::now();
    let agent = Proc::spawn(cmd, log.clone())?;
    let pid = agent.pid();
    println!(
        "agent pid={pid} checks: http={} https={} tcp={} icmp={} interval={} for {}; collector pid={} \
         server pid={}",
        args.agent_http,
        args.agent_https,
        args.agent_tcp,
        args.agent_icmp,
        humantime::format_duration(args.agent_interval),
        humantime::format_duration(args.agent_duration),
        collector.proc.pid(),
        servers.pid(),
    );

    let mut at_warmup: Option<(Duration, Duration)> = None;
    let mut last_cpu = Duration::ZERO;
    let (cpu, mem) = loop {
        tokio::time::sleep(args.sample_every).await;
        let t = started.elapsed();
        let (Some(mem), Some(cpu)) = (procstat::memory(pid), procstat::cpu_time(pid)) else {
            bail!(
                "the agent exited; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        println!(
            "t={:>4.0}s agent VmRSS={} VmHWM={} cpu={:.2}s (+{:.2}s) collector_cpu={} server_cpu={}",
            t.as_secs_f64(),
            mb(mem.rss),
            mb(mem.peak),
            cpu.as_secs_f64(),
            (cpu - last_cpu).as_secs_f64(),
            procstat::cpu_time(collector.proc.pid())
                .map_or("-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
            procstat::cpu_time(servers.pid())
                .map_or("-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64())),
        );
        last_cpu = cpu;
        if at_warmup.is_none() && t >= args.agent_warmup {
            at_warmup = Some((t, cpu));
        }
        if t >= args.agent_duration {
            break (cpu, mem);
        }
    };
    let end = started.elapsed();
    let (t0, cpu0) = at_warmup.unwrap_or_default();
    let minutes = (end - t0).as_secs_f64() / 60.0;
    let per_minute = (cpu - cpu0).as_secs_f64() / minutes.max(1e-9);
    let checks_per_minute = checks.len() as f64 * 60.0 / args.agent_interval.as_secs_f64();

    // Every check must pass: no "check failing" in the log, and the
    // collector holds a passing probe_success series per check.
    let text = std::fs::read_to_string(&log)?;
    let failing: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("check failing") || l.contains("check cannot run"))
        .collect();
    let body: serde_json::Value = web
        .get(format!("{api}/api/v1/query"))
        .query(&[("query", "probe_success")])
        .send()
        .await?
        .json()
        .await?;
    let series = body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let passing = series
        .iter()
        .filter(|s| s["value"][1].as_str() == Some("1"))
        .count();
    println!(
        "summary: agent with {} checks ({:.0} probes/min): VmHWM={} VmRSS={} at {:.0}s; CPU {:.2}s \
         in the first {:.0}s (start-up and first runs), then {:.2}s per minute ({:.1}% of a core, \
         {:.0}µs per probe); collector: {}/{} probe_success series passing; {} failing lines in \
         the agent log",
        checks.len(),
        checks_per_minute,
        mb(mem.peak),
        mb(mem.rss),
        end.as_secs_f64(),
        cpu0.as_secs_f64(),
        t0.as_secs_f64(),
        per_minute,
        per_minute / 60.0 * 100.0,
        per_minute * 1e6 / checks_per_minute.max(1.0),
        passing,
        series.len(),
        failing.len(),
    );
    for l in failing.iter().take(10) {
        println!("  {l}");
    }
    drop(agent);
    drop(collector);
    Ok(failing.is_empty() && passing == checks.len() && series.len() == checks.len())
}
