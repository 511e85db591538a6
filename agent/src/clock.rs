//! Wall-clock time as the agent stamps it on samples and events.
//!
//! Scheduling uses tokio's clock ([`crate::schedule`]) so that it can be
//! tested on a paused clock; only timestamps sent to the collector and
//! dates compared with the wall clock (certificate expiry) come from here.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> i64 {
    since_epoch().map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Seconds since the Unix epoch, with fractions (0 if the clock is before it).
pub fn now_secs_f64() -> f64 {
    since_epoch().map_or(0.0, |d| d.as_secs_f64())
}

fn since_epoch() -> Option<std::time::Duration> {
    SystemTime::now().duration_since(UNIX_EPOCH).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_readings_agree() {
        let (ms, secs) = (now_ms(), now_secs_f64());
        assert!(ms > 1_600_000_000_000, "{ms}");
        assert!((secs * 1000.0 - ms as f64).abs() < 5_000.0, "{ms} {secs}");
    }
}
