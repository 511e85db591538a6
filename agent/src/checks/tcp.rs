//! The `tcp` check: resolve the host, then time a TCP connect to it.

use std::net::SocketAddr;

use serde::Deserialize;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::dns;
use super::outcome::Outcome;

/// The keys of a `tcp` check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpCheckConfig {
    /// `host:port` (`[v6]:port` for IPv6 literals).
    #[serde(default)]
    pub address: String,
}

impl TcpCheckConfig {
    /// A `tcp` check of `address` (`host:port`).
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
        }
    }

    /// Adds the problems with the kind's own keys.
    pub(super) fn validate(&self, p: &mut Vec<String>) {
        let address = self.address.trim();
        if !address.is_empty()
            && let Err(why) = split_address(address)
        {
            p.push(format!("address: {why}"));
        }
    }
}

/// Splits `host:port` (`[v6]:port` for IPv6 literals) into host and port.
pub fn split_address(address: &str) -> Result<(&str, u16), String> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("{address:?} is not host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || (host.contains(':') && !address.starts_with('[')) {
        return Err(format!(
            "{address:?} is not host:port (write IPv6 addresses as [addr]:port)"
        ));
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok((host, p)),
        _ => Err(format!("{address:?}: {port:?} is not a port number")),
    }
}

/// Runs a `tcp` check: success when the connection is accepted.
pub async fn run(check: &TcpCheckConfig) -> Outcome {
    let started = Instant::now();
    let (host, port) = match split_address(check.address.trim()) {
        Ok(hp) => hp,
        Err(why) => return Outcome::failed(started.elapsed(), why),
    };
    let resolved = match dns::resolve(host).await {
        Ok(r) => r,
        Err(why) => return Outcome::failed(started.elapsed(), why),
    };
    // Each address in the resolver's order, as a client would try them.
    let mut last_error = String::new();
    let mut connect_time = None;
    for ip in &resolved.addresses {
        let addr = SocketAddr::new(*ip, port);
        let connecting = Instant::now();
        match TcpStream::connect(addr).await {
            Ok(_) => {
                connect_time = Some(connecting.elapsed());
                break;
            }
            Err(e) => last_error = format!("cannot connect to {host}:{port}: {e}"),
        }
    }
    let mut o = match connect_time {
        Some(t) => {
            let mut o = Outcome::passed(started.elapsed());
            o.measure("probe_tcp_connect_seconds", t.as_secs_f64());
            o
        }
        None => Outcome::failed(started.elapsed(), last_error),
    };
    dns::measure_lookup(&mut o, &resolved);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_into_host_and_port() {
        assert_eq!(split_address("db01:5432"), Ok(("db01", 5432)));
        assert_eq!(split_address("[::1]:80"), Ok(("::1", 80)));
        assert!(split_address("::1:80").unwrap_err().contains("[addr]:port"));
        assert!(split_address("db01").is_err());
        assert!(split_address("db01:0").is_err());
        assert!(split_address(":80").is_err());
    }

    #[tokio::test]
    async fn open_and_closed_ports() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut c = TcpCheckConfig::new(format!("localhost:{port}"));
        let o = run(&c).await;
        assert!(o.success(), "{o:?}");
        let metrics: Vec<&str> = o.measurements.iter().map(|(m, _)| *m).collect();
        assert_eq!(
            metrics,
            ["probe_tcp_connect_seconds", "probe_dns_lookup_time_seconds"]
        );
        drop(listener);
        c.address = format!("127.0.0.1:{port}");
        let o = run(&c).await;
        let why = o.failure.unwrap();
        assert!(why.contains("refused"), "{why}");
        assert!(
            o.measurements.is_empty(),
            "no lookup for a literal, no connect time"
        );
    }
}
