//! `[notify]`: receivers, routes, reminders, grouping and retries.

use std::time::Duration;

use serde::Deserialize;

use super::channels::config::{ReceiverConfig, validate_receivers};
use super::notifier::NotifyRules;
use super::routing::{Route, route_problems};

/// `[notify]` of the collector's config.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// `[[notify.receiver]]`: where messages go.
    pub receiver: Vec<ReceiverConfig>,
    /// `[[notify.route]]`: who hears about what, tried in order.
    pub route: Vec<Route>,
    /// Receivers of incidents no route matches.
    pub default_receivers: Vec<String>,
    /// Remind the receivers of an unacknowledged `major` incident this often
    /// (`0s`: never).
    #[serde(with = "humantime_serde")]
    pub repeat_interval: Duration,
    /// Incidents opened within this window on the same receiver are sent as
    /// one message listing them (`0s`: each on its own).
    #[serde(with = "humantime_serde")]
    pub group_window: Duration,
    /// Delivery retries.
    pub retry: RetryConfig,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            receiver: Vec::new(),
            route: Vec::new(),
            default_receivers: Vec::new(),
            repeat_interval: Duration::from_secs(30 * 60),
            group_window: Duration::ZERO,
            retry: RetryConfig::default(),
        }
    }
}

/// `[notify.retry]`: exponential backoff between attempts, honouring a
/// receiver's `Retry-After` when it asks for longer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryConfig {
    /// Wait before the second attempt; doubles each time.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Longest wait between attempts.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Attempts before a notification is marked failed (it can be retried
    /// by hand: `POST /api/v1/notifications/{id}/retry`).
    pub max_attempts: u32,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(600),
            max_attempts: 30,
        }
    }
}

impl RetryConfig {
    /// The wait after attempt number `attempts` (1-based), at least `asked`.
    pub fn backoff(&self, attempts: u32, asked: Option<Duration>) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        exp.min(self.max_backoff).max(asked.unwrap_or_default())
    }
}

impl NotifyConfig {
    /// Every problem, each as `notify.<key>: what is wrong`.
    pub fn validate(&self) -> Vec<String> {
        let mut p = validate_receivers(&self.receiver);
        let names: Vec<&str> = self.receiver.iter().map(|r| r.name.as_str()).collect();
        p.extend(route_problems(&self.route, &self.default_receivers, &names));
        if self.retry.max_attempts == 0 {
            p.push("notify.retry.max_attempts: must be at least 1".into());
        }
        if self.retry.initial_backoff.is_zero() {
            p.push("notify.retry.initial_backoff: must be more than 0s".into());
        }
        if self.retry.max_backoff < self.retry.initial_backoff {
            p.push("notify.retry.max_backoff: must not be below initial_backoff".into());
        }
        if self.group_window > Duration::from_secs(300) {
            p.push("notify.group_window: at most 5m (messages would wait too long)".into());
        }
        p
    }

    /// What the notifier needs for routing.
    pub fn rules(&self) -> NotifyRules {
        NotifyRules {
            receivers: self
                .receiver
                .iter()
                .map(|r| (r.name.clone(), r.kind().as_str().to_string()))
                .collect(),
            routes: self.route.clone(),
            default_receivers: self.default_receivers.clone(),
            group_window_ms: i64::try_from(self.group_window.as_millis()).unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_honours_retry_after() {
        let r = RetryConfig::default();
        assert_eq!(r.backoff(1, None), Duration::from_secs(2));
        assert_eq!(r.backoff(3, None), Duration::from_secs(8));
        assert_eq!(r.backoff(40, None), Duration::from_secs(600));
        assert_eq!(
            r.backoff(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn unknown_receivers_and_bad_retry_are_named() {
        let c: NotifyConfig = toml::from_str(
            "default_receivers = [\"ops\"]\n[retry]\nmax_attempts = 0\n[[route]]\nreceivers = [\"x\"]\n",
        )
        .unwrap();
        let p = c.validate();
        assert!(
            p.iter()
                .any(|x| x == "notify.default_receivers: no receiver named \"ops\""),
            "{p:?}"
        );
        assert!(
            p.iter().any(|x| x.starts_with("notify.route[0].receivers")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|x| x.starts_with("notify.retry.max_attempts")),
            "{p:?}"
        );
    }
}
