//! Service checks (`[[check]]`): ICMP, TCP, HTTP(S) and DNS probes run by
//! the agent on their own intervals, reported as `probe_*` samples so the
//! collector's rules and incidents apply to services as to hosts.
//!
//! A check that declares a CI (`[check.ci]`) reports on that service CI
//! ([`service`]), sent to the collector like a polled device's; otherwise
//! its series belong to the agent's host. One [`CheckTask`] per check runs
//! the probe ([`icmp`], [`tcp`], [`http`], [`dns`]), turns the
//! [`Outcome`] into samples, and records a `check_failed` /
//! `check_recovered` event on the CI whenever the check's verdict (or the
//! reason it fails) changes, so the reason is kept next to the incident.

pub mod config;
pub mod dns;
pub mod http;
pub mod icmp;
pub mod outcome;
pub mod service;
pub mod tcp;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use tocsin_proto::v1::DeviceEvent;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::clock::now_ms;
use crate::ping::Pinger;
use crate::schedule::Schedule;
use crate::{Shared, ci};

pub use config::{
    CheckConfig, CheckKind, CiDeclaration, ProbeConfig, ServiceClass, checks_problems,
};
pub use dns::DnsCheckConfig;
pub use http::{HttpCheckConfig, HttpProber};
pub use icmp::IcmpCheckConfig;
pub use outcome::Outcome;
pub use service::service_reports;
pub use tcp::TcpCheckConfig;

/// Longest text of an event's reason, in bytes (the collector accepts 4096).
const MAX_REASON_BYTES: usize = 1024;

/// How a check probes: its kind's config, and what it runs with.
#[derive(Debug)]
enum Prober {
    Icmp(IcmpCheckConfig, Arc<Pinger>),
    Tcp(TcpCheckConfig),
    Http(Box<HttpProber>),
    Dns(DnsCheckConfig),
}

/// What a run changed about a check's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// It started failing, or fails for another reason now.
    Failing(String),
    /// It passes again.
    Recovered,
}

/// Runs one check on its interval.
#[derive(Debug)]
pub struct CheckTask {
    check: CheckConfig,
    ci_id: String,
    prober: Prober,
    /// The last verdict: `None` before the first run, `Some(None)` passing,
    /// `Some(Some(reason))` failing.
    last: Option<Option<String>>,
    /// Whether "ICMP unavailable" was logged.
    unavailable_logged: bool,
}

impl CheckTask {
    /// A task for a validated `check`; ICMP checks share `pinger`.
    pub fn new(check: CheckConfig, pinger: Arc<Pinger>) -> Result<Self, String> {
        let prober = match &check.probe {
            ProbeConfig::Icmp(c) => Prober::Icmp(c.clone(), pinger),
            ProbeConfig::Tcp(c) => Prober::Tcp(c.clone()),
            ProbeConfig::Http(c) => Prober::Http(Box::new(HttpProber::new(c, check.timeout)?)),
            ProbeConfig::Dns(c) => Prober::Dns(c.clone()),
        };
        Ok(Self {
            ci_id: check.ci_id().unwrap_or_default().to_owned(),
            check,
            prober,
            last: None,
            unavailable_logged: false,
        })
    }

    /// Runs every interval (the first time at once) until `shutdown` turns
    /// true; a run in progress is abandoned on shutdown.
    pub async fn run(mut self, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
        let offset = start_offset(&self.check.name, self.check.interval);
        let mut schedule = Schedule::starting_after(offset, self.check.interval, shutdown);
        while schedule.next().await {
            if schedule.round(self.run_once(&shared)).await.is_none() {
                return;
            }
        }
    }

    /// One run: probe, queue the samples and any verdict event.
    pub async fn run_once(&mut self, shared: &Shared) {
        let ts_ms = now_ms();
        let Some(outcome) = self.probe().await else {
            if !self.unavailable_logged {
                self.unavailable_logged = true;
                tracing::error!(check = %self.check.name, target = self.check.target(), "{}", icmp::UNAVAILABLE);
            }
            return;
        };
        let events = self
            .observe(&outcome)
            .map(|t| self.event(ts_ms, &t))
            .into_iter()
            .collect();
        let samples = outcome.samples(&self.check);
        ci::enqueue(shared, &self.ci_id, ts_ms, samples, events);
    }

    /// Runs the probe once, bounded by the check's timeout (plus a little for
    /// the probe's own timeout to fire first). `None`: ICMP is unavailable.
    pub async fn probe(&self) -> Option<Outcome> {
        let started = Instant::now();
        // ICMP probes start 50 ms apart and each waits the full timeout.
        let spacing = match &self.prober {
            Prober::Icmp(c, _) => Duration::from_millis(50) * c.probes(),
            _ => Duration::ZERO,
        };
        let timeout = self.check.timeout;
        let limit = timeout + spacing + Duration::from_millis(500);
        let probe = async {
            match &self.prober {
                Prober::Icmp(c, pinger) => icmp::run(c, timeout, pinger).await,
                Prober::Tcp(c) => Some(tcp::run(c).await),
                Prober::Http(http) => Some(http.run().await),
                Prober::Dns(c) => Some(dns::run(c).await),
            }
        };
        tokio::time::timeout(limit, probe)
            .await
            .unwrap_or_else(|_| {
                Some(Outcome::failed(
                    started.elapsed(),
                    format!(
                        "timed out after {}",
                        humantime::format_duration(self.check.timeout)
                    ),
                ))
            })
    }

    /// Updates the verdict with `outcome`, logs a change, and returns it.
    pub fn observe(&mut self, outcome: &Outcome) -> Option<Transition> {
        let now = outcome.failure.clone();
        let before = self.last.replace(now.clone());
        let (check, target) = (&self.check.name, self.check.target());
        match (before, now) {
            (Some(Some(old)), Some(new)) if old == new => None,
            (_, Some(reason)) => {
                tracing::warn!(check, target, reason, "check failing");
                Some(Transition::Failing(reason))
            }
            (Some(Some(_)), None) => {
                tracing::info!(check, target, "check passing again");
                Some(Transition::Recovered)
            }
            (None, None) => {
                tracing::info!(check, target, "check passing");
                None
            }
            (Some(None), None) => None,
        }
    }

    /// The CI event recording `transition`.
    fn event(&self, ts_ms: i64, transition: &Transition) -> DeviceEvent {
        let (kind, summary) = match transition {
            Transition::Failing(reason) => (
                "check_failed",
                format!(
                    "{} check {} fails: {}",
                    self.check.kind().as_str(),
                    self.check.name,
                    bounded(reason)
                ),
            ),
            Transition::Recovered => (
                "check_recovered",
                format!(
                    "{} check {} passes again",
                    self.check.kind().as_str(),
                    self.check.name
                ),
            ),
        };
        let mut fields = std::collections::HashMap::from([
            ("check".to_owned(), self.check.name.clone()),
            ("kind".to_owned(), self.check.kind().as_str().to_owned()),
            ("target".to_owned(), bounded(self.check.target())),
        ]);
        if let Transition::Failing(reason) = transition {
            fields.insert("reason".to_owned(), bounded(reason));
        }
        DeviceEvent {
            ci_id: self.ci_id.clone(),
            timestamp_ms: ts_ms,
            kind: kind.to_owned(),
            trap_oid: String::new(),
            source: bounded(self.check.target()),
            summary,
            fields,
        }
    }
}

/// Longest delay before a check's first run.
const MAX_START_SPREAD: Duration = Duration::from_secs(15);

/// When a check first runs: spread by its name over the interval (at most
/// [`MAX_START_SPREAD`]), so hundreds of checks do not all connect in the
/// same instant — which inflates every measured duration by the others'
/// CPU and overflows the targets' accept queues.
fn start_offset(name: &str, interval: Duration) -> Duration {
    let spread = interval.min(MAX_START_SPREAD).as_millis() as u64;
    if spread == 0 {
        return Duration::ZERO;
    }
    // FNV-style hash: stable across runs and builds (std's is randomised).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    Duration::from_millis(h % spread)
}

/// `text` cut to [`MAX_REASON_BYTES`] on a character boundary.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_REASON_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_REASON_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// Stores the service CIs' reports and spawns one task per check (ICMP
/// checks share `pinger` with the device tasks); the tasks stop when `shutdown` turns true. A check whose client cannot be built
/// (unreadable CA file…) is logged and skipped.
pub fn spawn_all(
    checks: &[CheckConfig],
    pinger: &Arc<Pinger>,
    shared: &Arc<Shared>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    for report in service_reports(checks, &shared.agent_id) {
        shared.reports.store(report);
    }
    checks
        .iter()
        .filter_map(|c| match CheckTask::new(c.clone(), pinger.clone()) {
            Ok(task) => {
                tracing::info!(
                    check = %c.name,
                    kind = c.kind().as_str(),
                    target = c.target(),
                    ci = c.ci_id().unwrap_or("host"),
                    interval = %humantime::format_duration(c.interval),
                    "running check"
                );
                Some(tokio::spawn(task.run(shared.clone(), shutdown.clone())))
            }
            Err(e) => {
                tracing::error!(check = %c.name, error = %e, "check cannot run");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> CheckTask {
        let mut c = CheckConfig::new("shop", TcpCheckConfig::new("127.0.0.1:1"));
        c.ci = Some(CiDeclaration::default());
        CheckTask::new(c, Arc::new(Pinger::new())).unwrap()
    }

    #[test]
    fn one_event_per_change_of_verdict_or_reason() {
        let mut t = task();
        let ok = Outcome::passed(Duration::from_millis(1));
        let refused = Outcome::failed(Duration::from_millis(1), "connection refused");
        let timeout = Outcome::failed(Duration::from_secs(1), "timed out after 1s");
        assert_eq!(t.observe(&ok), None, "passing from the start is no news");
        assert_eq!(
            t.observe(&refused),
            Some(Transition::Failing("connection refused".into()))
        );
        assert_eq!(t.observe(&refused), None, "the same failure again");
        assert_eq!(
            t.observe(&timeout),
            Some(Transition::Failing("timed out after 1s".into()))
        );
        assert_eq!(t.observe(&ok), Some(Transition::Recovered));
        assert_eq!(t.observe(&ok), None);
        // Failing from the first run is news.
        assert!(matches!(
            task().observe(&refused),
            Some(Transition::Failing(_))
        ));
    }

    #[test]
    fn events_name_the_check_and_the_reason_on_the_service_ci() {
        let t = task();
        let e = t.event(1_000, &Transition::Failing("x".repeat(5000)));
        assert_eq!(
            (e.ci_id.as_str(), e.kind.as_str()),
            ("shop", "check_failed")
        );
        assert!(e.summary.starts_with("tcp check shop fails: xxx"));
        assert!(e.summary.len() < 1100 && e.fields["reason"].len() < 1100);
        assert_eq!(e.fields["target"], "127.0.0.1:1");
        let e = t.event(2_000, &Transition::Recovered);
        assert_eq!(e.kind, "check_recovered");
        assert_eq!(e.summary, "tcp check shop passes again");
        assert!(!e.fields.contains_key("reason"));
    }

    #[test]
    fn first_runs_are_spread_over_the_interval() {
        let a = start_offset("shop-home", Duration::from_secs(30));
        assert_eq!(
            a,
            start_offset("shop-home", Duration::from_secs(30)),
            "stable"
        );
        assert!(a < MAX_START_SPREAD);
        assert!(start_offset("x", Duration::from_secs(1)) < Duration::from_secs(1));
        let offsets: std::collections::BTreeSet<Duration> = (0..100)
            .map(|i| start_offset(&format!("check-{i}"), Duration::from_secs(10)))
            .collect();
        assert!(offsets.len() > 90, "spread, not bunched: {}", offsets.len());
    }

    #[tokio::test]
    async fn a_probe_is_bounded_by_the_timeout() {
        // A TCP connect to a blackholed address would hang; 192.0.2.1
        // (TEST-NET-1) is unroutable here, or refused quickly: either way
        // the run ends within the timeout and fails.
        let mut c = CheckConfig::new("hang", TcpCheckConfig::new("192.0.2.1:9"));
        c.timeout = Duration::from_millis(200);
        let t = CheckTask::new(c, Arc::new(Pinger::new())).unwrap();
        let started = Instant::now();
        let o = t.probe().await.unwrap();
        assert!(!o.success());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
