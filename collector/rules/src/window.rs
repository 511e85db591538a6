//! Sliding window of a series' recent samples for `rate` and `delta` rules.
//!
//! The window holds the samples with `t > newest − window` (left-open, as
//! Prometheus' range selectors). Unlike Prometheus there is no extrapolation
//! to the window's edges: `rate` is the increase between the oldest and the
//! newest sample in the window divided by the time between them, and
//! `delta` is newest − oldest. Both need two samples in the window; a window
//! shorter than the series' sample interval therefore never yields a value.

use std::collections::VecDeque;

use super::rule::Transform;

/// Recent samples of one series, with the running counter increase.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    span_ms: i64,
    rate: bool,
    /// `(t ms, value, increase since the previous sample)`.
    samples: VecDeque<(i64, f64, f64)>,
    /// Sum of the increases of every sample but the oldest.
    increase: f64,
}

impl Window {
    /// A window for `transform`.
    pub(crate) fn new(transform: Transform) -> Self {
        let (span, rate) = match transform {
            Transform::Rate(d) => (d, true),
            Transform::Delta(d) => (d, false),
        };
        Self {
            span_ms: super::rule::millis(span),
            rate,
            samples: VecDeque::new(),
            increase: 0.0,
        }
    }

    /// Adds a sample (newer than every other) and returns the rate or delta
    /// over the window, or `None` while fewer than two samples are in it.
    pub(crate) fn push(&mut self, t: i64, value: f64) -> Option<f64> {
        let inc = match self.samples.back() {
            // A counter that went down was reset (restarted from 0).
            Some(&(_, prev, _)) if value < prev => value,
            Some(&(_, prev, _)) => value - prev,
            None => 0.0,
        };
        self.samples.push_back((t, value, inc));
        self.increase += inc;
        let oldest_kept = t.saturating_sub(self.span_ms);
        while self
            .samples
            .front()
            .is_some_and(|&(ts, _, _)| ts <= oldest_kept)
        {
            self.samples.pop_front();
            // The new oldest sample's increase happened before the window.
            if let Some(front) = self.samples.front_mut() {
                self.increase -= front.2;
                front.2 = 0.0;
            }
        }
        if self.samples.len() == 1 {
            self.increase = 0.0;
        }
        let (&(t0, v0, _), &(t1, v1, _)) = (self.samples.front()?, self.samples.back()?);
        if t1 <= t0 {
            return None;
        }
        Some(if self.rate {
            self.increase / ((t1 - t0) as f64 / 1000.0)
        } else {
            v1 - v0
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn rate(secs: u64) -> Window {
        Window::new(Transform::Rate(Duration::from_secs(secs)))
    }

    #[test]
    fn rate_needs_two_samples_and_divides_by_their_distance() {
        let mut w = rate(60);
        assert_eq!(w.push(0, 100.0), None);
        assert_eq!(w.push(10_000, 150.0), Some(5.0));
        assert_eq!(w.push(20_000, 250.0), Some(7.5));
    }

    #[test]
    fn rate_handles_counter_resets() {
        let mut w = rate(60);
        w.push(0, 1000.0);
        w.push(10_000, 1100.0);
        // Reset: the counter restarted from 0 and counted 40 since.
        let r = w.push(20_000, 40.0).unwrap();
        assert!((r - 140.0 / 20.0).abs() < 1e-9, "{r}");
        let r = w.push(30_000, 100.0).unwrap();
        assert!((r - 200.0 / 30.0).abs() < 1e-9, "{r}");
    }

    #[test]
    fn old_samples_leave_the_window() {
        let mut w = rate(30);
        w.push(0, 0.0);
        w.push(10_000, 1000.0); // a burst, then steady 10/s
        w.push(20_000, 1100.0);
        w.push(30_000, 1200.0);
        // Window (10 s, 40 s]: the burst left it, 200 over 20 s.
        assert_eq!(w.push(40_000, 1300.0), Some(10.0));
        assert_eq!(w.push(50_000, 1400.0), Some(10.0));
        // After a long gap only the new sample remains.
        assert_eq!(w.push(500_000, 5.0), None);
        assert_eq!(w.push(510_000, 15.0), Some(1.0));
    }

    #[test]
    fn delta_is_newest_minus_oldest() {
        let mut w = Window::new(Transform::Delta(Duration::from_secs(60)));
        assert_eq!(w.push(0, 50.0), None);
        assert_eq!(w.push(30_000, 20.0), Some(-30.0));
        assert_eq!(w.push(60_000, 90.0), Some(70.0));
    }
}
