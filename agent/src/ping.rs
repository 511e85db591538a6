//! ICMP reachability checks with `surge-ping`: one shared client per address
//! family, opened on first use (an unprivileged DGRAM socket when
//! `net.ipv4.ping_group_range` allows it, else a RAW socket, which needs root
//! or CAP_NET_RAW). When neither can be opened, ICMP is unavailable: one
//! warning is logged and no ICMP result is reported (rather than "unreachable").

use std::net::IpAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::Duration;

use futures_util::future::join_all;
use surge_ping::{Client, Config, ICMP, PingIdentifier, PingSequence};

/// Echo payload (the size `ping` sends by default).
const PAYLOAD: [u8; 56] = [0; 56];
/// Delay between the start of two probes of one check.
const PROBE_SPACING: Duration = Duration::from_millis(50);

/// The outcome of one reachability check.
#[derive(Debug, Clone, PartialEq)]
pub enum IcmpResult {
    /// No ICMP socket could be opened on this host.
    Unavailable,
    /// Echo requests were sent (or the address could not be resolved: all lost).
    Probed {
        /// Echo requests sent.
        sent: u32,
        /// Echo replies received in time.
        answered: u32,
        /// Average round-trip time of the answered requests.
        rtt_avg: Option<Duration>,
        /// Shortest round trip.
        rtt_min: Option<Duration>,
        /// Longest round trip.
        rtt_max: Option<Duration>,
    },
}

impl IcmpResult {
    /// Whether at least one echo request was answered.
    pub fn answered(&self) -> bool {
        matches!(self, Self::Probed { answered, .. } if *answered > 0)
    }

    /// Lost requests in percent (`None` when ICMP is unavailable).
    pub fn loss_percent(&self) -> Option<f64> {
        match self {
            Self::Unavailable => None,
            Self::Probed { sent: 0, .. } => Some(100.0),
            Self::Probed { sent, answered, .. } => {
                Some(100.0 * f64::from(sent.saturating_sub(*answered)) / f64::from(*sent))
            }
        }
    }
}

/// The agent's ICMP clients, shared by every device task.
#[derive(Default)]
pub struct Pinger {
    v4: OnceLock<Option<Client>>,
    v6: OnceLock<Option<Client>>,
    warned: AtomicBool,
    /// Sequence numbers, unique across checks so concurrent checks of the
    /// same address never wait for the same reply.
    seq: AtomicU16,
}

impl std::fmt::Debug for Pinger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pinger")
            .field("v4", &self.v4.get().map(Option::is_some))
            .field("v6", &self.v6.get().map(Option::is_some))
            .finish()
    }
}

impl Pinger {
    /// No socket is opened until the first check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `probes` echo requests to `address` (an IP address or a host
    /// name), each waiting up to `timeout`, and reports what came back.
    pub async fn check(&self, address: &str, probes: u32, timeout: Duration) -> IcmpResult {
        let Some(ip) = resolve(address).await else {
            return IcmpResult::Probed {
                sent: probes,
                answered: 0,
                rtt_avg: None,
                rtt_min: None,
                rtt_max: None,
            };
        };
        let Some(client) = self.client(ip) else {
            return IcmpResult::Unavailable;
        };
        let ident = PingIdentifier(rand::random());
        let tries = (0..probes).map(|i| {
            let seq = PingSequence(self.seq.fetch_add(1, Ordering::Relaxed));
            let client = client.clone();
            async move {
                tokio::time::sleep(PROBE_SPACING * i).await;
                let mut pinger = client.pinger(ip, ident).await;
                pinger.timeout(timeout);
                pinger.ping(seq, &PAYLOAD).await.ok().map(|(_, rtt)| rtt)
            }
        });
        let rtts: Vec<Duration> = join_all(tries).await.into_iter().flatten().collect();
        let answered = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
        let rtt_avg = (answered > 0).then(|| rtts.iter().sum::<Duration>() / answered);
        IcmpResult::Probed {
            sent: probes,
            answered,
            rtt_avg,
            rtt_min: rtts.iter().min().copied(),
            rtt_max: rtts.iter().max().copied(),
        }
    }

    /// The client for `ip`'s family, opened on first use.
    fn client(&self, ip: IpAddr) -> Option<Client> {
        let (cell, kind) = match ip {
            IpAddr::V4(_) => (&self.v4, ICMP::V4),
            IpAddr::V6(_) => (&self.v6, ICMP::V6),
        };
        cell.get_or_init(|| {
            // surge-ping tries the DGRAM socket first and falls back to RAW.
            match Client::new(&Config::builder().kind(kind).build()) {
                Ok(c) => Some(c),
                Err(e) => {
                    if !self.warned.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            error = %e,
                            family = ?kind,
                            "ICMP unavailable: cannot open an ICMP socket; allow unprivileged \
                             ping with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` or run \
                             with CAP_NET_RAW. Devices are judged by SNMP alone and ICMP checks do \
                             not run"
                        );
                    }
                    None
                }
            }
        })
        .clone()
    }
}

/// The first address of `address` (an IP literal, bracketed or not, or a host name).
async fn resolve(address: &str) -> Option<IpAddr> {
    let address = address.trim();
    if let Ok(ip) = address.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Some(ip);
    }
    match tokio::net::lookup_host((address, 0)).await {
        Ok(mut addrs) => addrs.next().map(|a| a.ip()),
        Err(e) => {
            tracing::debug!(address, error = %e, "cannot resolve the device's address for ICMP");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_and_answered() {
        let r = IcmpResult::Probed {
            sent: 4,
            answered: 1,
            rtt_avg: Some(Duration::from_millis(3)),
            rtt_min: Some(Duration::from_millis(3)),
            rtt_max: Some(Duration::from_millis(3)),
        };
        assert!(r.answered());
        assert_eq!(r.loss_percent(), Some(75.0));
        let none = IcmpResult::Probed {
            sent: 3,
            answered: 0,
            rtt_avg: None,
            rtt_min: None,
            rtt_max: None,
        };
        assert!(!none.answered());
        assert_eq!(none.loss_percent(), Some(100.0));
        assert_eq!(IcmpResult::Unavailable.loss_percent(), None);
        assert!(!IcmpResult::Unavailable.answered());
    }

    #[tokio::test]
    async fn loopback_answers_and_a_bad_name_does_not() {
        let pinger = Pinger::new();
        let r = pinger.check("127.0.0.1", 3, Duration::from_secs(1)).await;
        if r == IcmpResult::Unavailable {
            eprintln!("no ICMP socket on this host; skipping the loopback check");
            return;
        }
        assert!(
            matches!(
                r,
                IcmpResult::Probed {
                    sent: 3,
                    answered: 3,
                    rtt_avg: Some(_),
                    rtt_min: Some(_),
                    rtt_max: Some(_),
                }
            ),
            "{r:?}"
        );
        let r = pinger
            .check("no-such-host.invalid", 2, Duration::from_millis(200))
            .await;
        assert_eq!(r.loss_percent(), Some(100.0));
    }
}
