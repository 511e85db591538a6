//! The `icmp` check: `probes` echo requests to the host (IPv4 or IPv6) with
//! the agent's shared [`Pinger`]; it succeeds when at least one is answered.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::dns;
use super::outcome::Outcome;
use crate::ping::{IcmpResult, Pinger};

/// Most echo requests per run.
pub const MAX_PROBES: u32 = 20;
/// Echo requests per run unless `probes` says otherwise.
const DEFAULT_PROBES: u32 = 3;

/// The keys of an `icmp` check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IcmpCheckConfig {
    /// Host name or IP address (IPv4 or IPv6).
    #[serde(default)]
    pub host: String,
    /// Echo requests per run (default 3).
    pub probes: Option<u32>,
}

impl IcmpCheckConfig {
    /// An `icmp` check of `host` with the default number of probes.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            probes: None,
        }
    }

    /// Echo requests per run.
    pub fn probes(&self) -> u32 {
        self.probes.unwrap_or(DEFAULT_PROBES)
    }

    /// Adds the problems with the kind's own keys (the host aside).
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        if let Some(n) = self.probes
            && !(1..=MAX_PROBES).contains(&n)
        {
            p.push(format!(
                "probes: must be between 1 and {MAX_PROBES}, got {n}"
            ));
        }
    }
}

/// Why an ICMP check cannot run on this host.
pub const UNAVAILABLE: &str = "ICMP unavailable: no ICMP socket can be opened; allow unprivileged \
     ping with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` (the agent's group must be \
     in the range) or run the agent as root or with CAP_NET_RAW";

/// Runs an `icmp` check. `None` when ICMP is unavailable on this host
/// (nothing is measured then: the service is not known to be down).
pub async fn run(check: &IcmpCheckConfig, timeout: Duration, pinger: &Pinger) -> Option<Outcome> {
    let started = Instant::now();
    let target = check.host.trim();
    let resolved = match dns::resolve(target).await {
        Ok(r) => r,
        Err(why) => return Some(Outcome::failed(started.elapsed(), why)),
    };
    let ip = resolved.addresses[0];
    let result = pinger.check(&ip.to_string(), check.probes(), timeout).await;
    let IcmpResult::Probed {
        answered,
        rtt_avg,
        rtt_min,
        rtt_max,
        ..
    } = &result
    else {
        return None;
    };
    let mut o = if *answered > 0 {
        let mut o = Outcome::passed(started.elapsed());
        o.response_time = *rtt_avg;
        o
    } else {
        Outcome::failed(
            started.elapsed(),
            format!(
                "no echo reply from {} to {} requests",
                target,
                check.probes()
            ),
        )
    };
    dns::measure_lookup(&mut o, &resolved);
    let rtts = [
        ("probe_icmp_rtt_min_seconds", rtt_min),
        ("probe_icmp_rtt_avg_seconds", rtt_avg),
        ("probe_icmp_rtt_max_seconds", rtt_max),
    ];
    for (metric, rtt) in rtts {
        if let Some(rtt) = rtt {
            o.measure(metric, rtt.as_secs_f64());
        }
    }
    if let Some(loss) = result.loss_percent() {
        o.measure("probe_icmp_loss_percent", loss);
    }
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn loopback_v4_and_v6_answer() {
        let pinger = Pinger::new();
        for host in ["127.0.0.1", "::1"] {
            let c = IcmpCheckConfig::new(host);
            let Some(o) = run(&c, Duration::from_secs(1), &pinger).await else {
                eprintln!("no ICMP socket on this host; skipping the loopback check");
                return;
            };
            assert!(o.success(), "{host}: {o:?}");
            let get = |m: &str| {
                o.measurements
                    .iter()
                    .find(|(x, _)| *x == m)
                    .map(|(_, v)| *v)
            };
            assert_eq!(get("probe_icmp_loss_percent"), Some(0.0));
            let (min, avg, max) = (
                get("probe_icmp_rtt_min_seconds").unwrap(),
                get("probe_icmp_rtt_avg_seconds").unwrap(),
                get("probe_icmp_rtt_max_seconds").unwrap(),
            );
            assert!(min <= avg && avg <= max && max < 1.0, "{min} {avg} {max}");
            assert!((o.response_time.unwrap().as_secs_f64() - avg).abs() < 1e-9);
        }
    }
}
