//! Name resolution through the system resolver (`getaddrinfo`: /etc/hosts,
//! then DNS as nsswitch says), timed: the `dns` check, and the first step of
//! every other check whose target is a name.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::outcome::Outcome;

/// The keys of a `dns` check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsCheckConfig {
    /// The name to resolve (or an IP address).
    #[serde(default)]
    pub host: String,
    /// Addresses the name must resolve to (all of them, any order).
    #[serde(default)]
    pub expect_addresses: Vec<String>,
}

impl DnsCheckConfig {
    /// A `dns` check of `host` that accepts any address.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            expect_addresses: Vec::new(),
        }
    }

    /// Adds the problems with the kind's own keys (the host aside).
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        for a in &self.expect_addresses {
            if a.trim().parse::<IpAddr>().is_err() {
                p.push(format!("expect_addresses: {a:?} is not an IP address"));
            }
        }
    }
}

/// The addresses of a target and how long resolving them took.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// Addresses in the resolver's order, without duplicates.
    pub addresses: Vec<IpAddr>,
    /// Time spent resolving; `None` when the target was an IP address.
    pub lookup_time: Option<Duration>,
}

/// Resolves `host` (a name, or an IP literal, bracketed or not).
pub async fn resolve(host: &str) -> Result<Resolved, String> {
    let host = host.trim();
    if let Ok(ip) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(Resolved {
            addresses: vec![ip],
            lookup_time: None,
        });
    }
    let started = Instant::now();
    let found = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?;
    let lookup_time = Some(started.elapsed());
    let mut addresses = Vec::new();
    for a in found {
        if !addresses.contains(&a.ip()) {
            addresses.push(a.ip());
        }
    }
    if addresses.is_empty() {
        return Err(format!("cannot resolve {host}: no address"));
    }
    Ok(Resolved {
        addresses,
        lookup_time,
    })
}

/// Records the lookup time of `resolved` on `outcome`.
pub fn measure_lookup(outcome: &mut Outcome, resolved: &Resolved) {
    if let Some(t) = resolved.lookup_time {
        outcome.measure("probe_dns_lookup_time_seconds", t.as_secs_f64());
    }
}

/// Runs a `dns` check: the name must resolve, to `expect_addresses` when given.
pub async fn run(check: &DnsCheckConfig) -> Outcome {
    let started = Instant::now();
    let host = check.host.trim();
    let resolved = resolve(host).await;
    let elapsed = started.elapsed();
    let resolved = match resolved {
        Ok(r) => r,
        Err(why) => {
            let mut o = Outcome::failed(elapsed, why);
            o.measure("probe_dns_lookup_time_seconds", elapsed.as_secs_f64());
            o.measure("probe_dns_answers", 0.0);
            return o;
        }
    };
    let mut o = Outcome::passed(elapsed);
    o.measure(
        "probe_dns_lookup_time_seconds",
        resolved.lookup_time.unwrap_or_default().as_secs_f64(),
    );
    o.measure("probe_dns_answers", resolved.addresses.len() as f64);
    if !check.expect_addresses.is_empty() {
        let want: BTreeSet<IpAddr> = check
            .expect_addresses
            .iter()
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        let got: BTreeSet<IpAddr> = resolved.addresses.iter().copied().collect();
        if want != got {
            let list = |s: &BTreeSet<IpAddr>| {
                s.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            o.fail(format!(
                "{host} resolves to {}, expected {}",
                list(&got),
                list(&want)
            ));
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn literals_need_no_lookup_and_names_are_timed() {
        let r = resolve("[::1]").await.unwrap();
        assert_eq!(
            (r.addresses, r.lookup_time),
            (vec!["::1".parse::<IpAddr>().unwrap()], None)
        );
        let r = resolve("localhost").await.unwrap();
        assert!(r.lookup_time.is_some());
        assert!(r.addresses.iter().all(IpAddr::is_loopback), "{r:?}");
        let e = resolve("no-such-host.invalid").await.unwrap_err();
        assert!(e.contains("cannot resolve no-such-host.invalid"), "{e}");
    }

    #[tokio::test]
    async fn dns_check_compares_the_addresses() {
        let mut c = DnsCheckConfig::new("localhost");
        let o = run(&c).await;
        assert!(o.success(), "{o:?}");
        assert!(
            o.measurements
                .iter()
                .any(|(m, v)| *m == "probe_dns_answers" && *v >= 1.0)
        );
        c.expect_addresses = vec!["192.0.2.1".into()];
        let o = run(&c).await;
        let why = o.failure.unwrap();
        assert!(why.contains("expected 192.0.2.1"), "{why}");
        c.host = "no-such-host.invalid".into();
        let o = run(&c).await;
        assert!(!o.success());
        assert!(o.measurements.contains(&("probe_dns_answers", 0.0)));
    }
}
