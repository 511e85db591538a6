//! Evaluation of instant and range queries of one selector over a
//! [`SeriesSource`], with Prometheus' lookback semantics: the value of a
//! series at time `t` is its latest sample with `t - 5m < ts <= t`; and of
//! range queries of a constant scalar.

use super::selector::Matcher;
use super::{Labels, QueryError, SeriesSource};

/// How far back a query looks for a series' latest sample (Prometheus'
/// default `--query.lookback-delta`).
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Maximum points per series of a range query (Prometheus' limit).
pub const MAX_POINTS: i64 = 11_000;

/// One element of an instant vector: a series' value at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorSample {
    /// The series' labels, including `__name__`.
    pub labels: Labels,
    /// Evaluation time (not the sample's own timestamp), as in Prometheus.
    pub t_ms: i64,
    /// The sample value.
    pub value: f64,
}

/// One series of a range query result.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixSeries {
    /// The series' labels, including `__name__`.
    pub labels: Labels,
    /// `(step time, value)` for every step that has a sample in its lookback window.
    pub points: Vec<(i64, f64)>,
}

/// A validated range query window: `start..=end` every `step`, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    /// First evaluation time.
    pub start_ms: i64,
    /// Last possible evaluation time (inclusive).
    pub end_ms: i64,
    /// Distance between evaluation times (> 0).
    pub step_ms: i64,
}

impl Range {
    /// Validates a range with Prometheus' checks and error messages.
    pub fn new(start_ms: i64, end_ms: i64, step_ms: i64) -> Result<Self, QueryError> {
        if end_ms < start_ms {
            return Err(QueryError::BadData(
                "invalid parameter \"end\": end timestamp must not be before start time".into(),
            ));
        }
        if step_ms <= 0 {
            return Err(QueryError::BadData(
                "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if (end_ms - start_ms) / step_ms > MAX_POINTS {
            return Err(QueryError::BadData(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
            ));
        }
        Ok(Self {
            start_ms,
            end_ms,
            step_ms,
        })
    }

    /// The evaluation times, in order.
    pub fn steps(&self) -> impl Iterator<Item = i64> + use<> {
        let Range {
            start_ms,
            end_ms,
            step_ms,
        } = *self;
        (0..)
            .map(move |i| start_ms + i * step_ms)
            .take_while(move |t| *t <= end_ms)
    }
}

/// Evaluates a selector at `t_ms`: every matching series that has a sample
/// in `(t - lookback, t]`, sorted by labels.
pub fn instant(
    source: &dyn SeriesSource,
    matchers: &[Matcher],
    t_ms: i64,
) -> Result<Vec<VectorSample>, QueryError> {
    let mut out = Vec::new();
    for (id, labels) in source.select(matchers)? {
        let samples = source.samples(id, t_ms - LOOKBACK_MS + 1, t_ms)?;
        if let Some(&(_, value)) = samples.iter().rev().find(|(ts, _)| in_window(*ts, t_ms)) {
            out.push(VectorSample {
                labels,
                t_ms,
                value,
            });
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// Evaluates a selector at every step of `range`; series without any point
/// are left out. Each series' samples are read once for the whole range.
pub fn range(
    source: &dyn SeriesSource,
    matchers: &[Matcher],
    range: &Range,
) -> Result<Vec<MatrixSeries>, QueryError> {
    let mut out = Vec::new();
    for (id, labels) in source.select(matchers)? {
        let samples = source.samples(id, range.start_ms - LOOKBACK_MS + 1, range.end_ms)?;
        let points = walk(&samples, range);
        if !points.is_empty() {
            out.push(MatrixSeries { labels, points });
        }
    }
    out.sort_by(|a, b| a.labels.cmp(&b.labels));
    Ok(out)
}

/// A range query of a scalar: as in Prometheus, one series without labels
/// holding the value at every step.
pub fn scalar_range(value: f64, range: &Range) -> Vec<MatrixSeries> {
    vec![MatrixSeries {
        labels: Labels::new(),
        points: range.steps().map(|t| (t, value)).collect(),
    }]
}

fn in_window(ts: i64, t: i64) -> bool {
    t - LOOKBACK_MS < ts && ts <= t
}

/// One pass over time-ordered samples: for each step, the latest sample at
/// or before it, if still within the lookback window.
fn walk(samples: &[(i64, f64)], range: &Range) -> Vec<(i64, f64)> {
    let mut points = Vec::new();
    let mut next = 0; // index of the first sample after the current step
    for t in range.steps() {
        while next < samples.len() && samples[next].0 <= t {
            next += 1;
        }
        if let Some(&(ts, v)) = next.checked_sub(1).map(|i| &samples[i])
            && in_window(ts, t)
        {
            points.push((t, v));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::MemSource;
    use crate::selector::parse;

    const T0: i64 = 1_700_000_000_000;

    fn source() -> MemSource {
        let mut s = MemSource::default();
        // cpu on host b: every 60s from T0 to T0+10m.
        let b: Vec<(i64, f64)> = (0..=10).map(|i| (T0 + i * 60_000, i as f64)).collect();
        s.add(&[("__name__", "cpu"), ("host", "b")], &b);
        // cpu on host a: a single sample at T0.
        s.add(&[("__name__", "cpu"), ("host", "a")], &[(T0, 42.0)]);
        s.add(&[("__name__", "mem"), ("host", "a")], &[(T0, 1.0)]);
        s
    }

    #[test]
    fn instant_picks_latest_sample_in_lookback() {
        let s = source();
        let got = instant(&s, &parse("cpu").unwrap(), T0 + 90_000).unwrap();
        assert_eq!(got.len(), 2);
        // Sorted by labels: host a first; timestamps are the evaluation time.
        assert_eq!(got[0].labels[1].1, "a");
        assert_eq!((got[0].t_ms, got[0].value), (T0 + 90_000, 42.0));
        assert_eq!((got[1].t_ms, got[1].value), (T0 + 90_000, 1.0));
    }

    #[test]
    fn instant_window_is_left_open_right_closed() {
        let s = source();
        let m = parse(r#"cpu{host="a"}"#).unwrap();
        assert_eq!(
            instant(&s, &m, T0).unwrap().len(),
            1,
            "sample exactly at t counts"
        );
        assert_eq!(
            instant(&s, &m, T0 - 1).unwrap().len(),
            0,
            "future samples do not"
        );
        assert_eq!(instant(&s, &m, T0 + LOOKBACK_MS - 1).unwrap().len(), 1);
        assert_eq!(
            instant(&s, &m, T0 + LOOKBACK_MS).unwrap().len(),
            0,
            "stale after 5m"
        );
    }

    #[test]
    fn range_walks_steps_and_drops_empty_series() {
        let s = source();
        let r = Range::new(T0 - 60_000, T0 + 6 * 60_000, 120_000).unwrap();
        assert_eq!(
            r.steps().collect::<Vec<_>>(),
            vec![T0 - 60_000, T0 + 60_000, T0 + 180_000, T0 + 300_000]
        );
        let got = range(&s, &parse(r#"{__name__=~"cpu|mem"}"#).unwrap(), &r).unwrap();
        let names: Vec<_> = got
            .iter()
            .map(|m| (m.labels[0].1.as_str(), m.labels[1].1.as_str()))
            .collect();
        assert_eq!(names, vec![("cpu", "a"), ("cpu", "b"), ("mem", "a")]);
        // host a: one sample at T0, visible until T0+5m (exclusive).
        assert_eq!(
            got[0].points,
            vec![(T0 + 60_000, 42.0), (T0 + 180_000, 42.0)]
        );
        assert_eq!(
            got[1].points,
            vec![(T0 + 60_000, 1.0), (T0 + 180_000, 3.0), (T0 + 300_000, 5.0)]
        );
        // No series at all before the data.
        let early = Range::new(T0 - 3_600_000, T0 - 1, 60_000).unwrap();
        assert!(
            range(&s, &parse("cpu").unwrap(), &early)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn scalar_range_has_a_point_per_step() {
        let r = Range::new(T0, T0 + 30_000, 15_000).unwrap();
        assert_eq!(
            scalar_range(2.0, &r),
            vec![MatrixSeries {
                labels: vec![],
                points: vec![(T0, 2.0), (T0 + 15_000, 2.0), (T0 + 30_000, 2.0)],
            }]
        );
    }

    #[test]
    fn range_reads_each_series_once() {
        let s = source();
        let r = Range::new(T0, T0 + 600_000, 1_000).unwrap();
        range(&s, &parse("cpu").unwrap(), &r).unwrap();
        assert_eq!(s.sample_reads(), 2);
        assert_eq!(s.last_read(), Some((T0 - LOOKBACK_MS + 1, T0 + 600_000)));
    }

    #[test]
    fn range_validation_uses_prometheus_messages() {
        let msg = |r: Result<Range, QueryError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(Range::new(10, 5, 1)),
            "invalid parameter \"end\": end timestamp must not be before start time"
        );
        assert!(
            msg(Range::new(0, 5, 0))
                .contains("zero or negative query resolution step widths are not accepted")
        );
        assert!(msg(Range::new(0, 5, -1)).starts_with("invalid parameter \"step\""));
        assert_eq!(
            msg(Range::new(0, 11_001_000, 1_000)),
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
        );
        // Exactly 11,000 intervals is allowed, as in Prometheus.
        assert!(Range::new(0, 11_000_000, 1_000).is_ok());
        assert_eq!(Range::new(5, 5, 1).unwrap().steps().count(), 1);
    }

    #[test]
    fn storage_errors_propagate() {
        let s = MemSource::failing();
        assert!(matches!(
            instant(&s, &parse("cpu").unwrap(), T0),
            Err(QueryError::Internal(_))
        ));
    }
}
