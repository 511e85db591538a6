//! The `icmp` check: `probes` echo requests to the host (IPv4 or IPv6) with
//! the agent's shared [`Pinger`]; it succeeds when at least one is answered.

use tokio::time::Instant;

use super::config::CheckConfig;
use super::dns;
use super::outcome::Outcome;
use crate::devices::{IcmpResult, Pinger};

/// Why an ICMP check cannot run on this host.
pub const UNAVAILABLE: &str = "ICMP unavailable: no ICMP socket can be opened; allow unprivileged \
     ping with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` (the agent's group must be \
     in the range) or run the agent as root or with CAP_NET_RAW";

/// Runs an `icmp` check. `None` when ICMP is unavailable on this host
/// (nothing is measured then: the service is not known to be down).
pub async fn run(check: &CheckConfig, pinger: &Pinger) -> Option<Outcome> {
    let started = Instant::now();
    let resolved = match dns::resolve(check.target()).await {
        Ok(r) => r,
        Err(why) => return Some(Outcome::failed(started.elapsed(), why)),
    };
    let ip = resolved.addresses[0];
    let result = pinger
        .check(&ip.to_string(), check.probes(), check.timeout)
        .await;
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
                check.target(),
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
    use std::time::Duration;

    use super::*;
    use crate::checks::config::CheckKind;

    #[tokio::test]
    async fn loopback_v4_and_v6_answer() {
        let pinger = Pinger::new();
        for host in ["127.0.0.1", "::1"] {
            let mut c = CheckConfig::new("lo", CheckKind::Icmp);
            c.host = Some(host.into());
            c.timeout = Duration::from_secs(1);
            let Some(o) = run(&c, &pinger).await else {
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
