//! The loop every periodic task of the agent runs: wait for the next tick
//! (the first at once, late ticks delayed rather than bunched), run one
//! round, and stop as soon as shutdown is signalled, even mid-round.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

/// Ticks on an interval until shutdown.
#[derive(Debug)]
pub struct Schedule {
    tick: Interval,
    shutdown: watch::Receiver<bool>,
}

impl Schedule {
    /// A schedule ticking every `interval`, ending when `shutdown` turns true.
    pub fn new(interval: Duration, shutdown: watch::Receiver<bool>) -> Self {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { tick, shutdown }
    }

    /// A schedule whose first tick comes after `offset` (then every `interval`).
    pub fn starting_after(
        offset: Duration,
        interval: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + offset, interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Self { tick, shutdown }
    }

    /// Waits for the next tick; `false` once shutdown was signalled.
    pub async fn next(&mut self) -> bool {
        if *self.shutdown.borrow() {
            return false;
        }
        tokio::select! {
            _ = self.tick.tick() => true,
            _ = self.shutdown.changed() => false,
        }
    }

    /// Runs `round` unless shutdown comes first (the round is then dropped).
    pub async fn round<F: Future>(&mut self, round: F) -> Option<F::Output> {
        tokio::select! {
            out = round => Some(out),
            _ = self.shutdown.changed() => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ticks_until_shutdown_and_abandons_a_round() {
        let (tx, rx) = watch::channel(false);
        let mut s = Schedule::new(Duration::from_millis(10), rx);
        assert!(s.next().await, "the first tick is at once");
        assert_eq!(s.round(async { 7 }).await, Some(7));
        assert!(s.next().await);
        let _ = tx.send(true);
        assert_eq!(s.round(std::future::pending::<()>()).await, None);
        assert!(!s.next().await);
    }
}
