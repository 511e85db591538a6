//! Validation of everything an agent sends, before anything is stored.

use thiserror::Error;
use tocsin_proto::v1::{DeviceEvent, SampleBatch, SeriesDef};

use tocsin_query::Labels;

/// Limits on ingested data (from the collector config).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most samples in one batch.
    pub max_batch_samples: usize,
    /// Most labels on one series, not counting the metric name.
    pub max_labels: usize,
    /// Longest metric name, in bytes.
    pub max_metric_name_bytes: usize,
    /// Longest label name, in bytes.
    pub max_label_name_bytes: usize,
    /// Longest label value, in bytes.
    pub max_label_value_bytes: usize,
    /// How far in the future (ms, by the collector's clock) a timestamp may be.
    pub max_future_ms: i64,
}

/// Earliest accepted sample time: 2000-01-01T00:00:00Z.
pub const MIN_TIMESTAMP_MS: i64 = 946_684_800_000;

/// Why a batch was rejected. [`Invalid::reason`] is the metric label; each
/// variant's fields are the ones its message names.
#[allow(missing_docs)]
#[derive(Debug, Error, PartialEq)]
pub enum Invalid {
    /// Sequence number 0.
    #[error("sequence number must be at least 1")]
    ZeroSequence,
    /// Too many samples.
    #[error("batch has {count} samples, the limit is {limit}")]
    TooManySamples { count: usize, limit: usize },
    /// Column lengths differ.
    #[error(
        "series_ids, timestamps_ms and values have different lengths ({ids}, {timestamps}, {values})"
    )]
    RaggedColumns {
        ids: usize,
        timestamps: usize,
        values: usize,
    },
    /// Empty metric name.
    #[error("series {id}: metric name is empty")]
    EmptyMetricName { id: u32 },
    /// Bad metric name.
    #[error(
        "series {id}: invalid metric name {name:?}: must match [a-zA-Z_:][a-zA-Z0-9_:]* and be at most {limit} bytes"
    )]
    MetricName { id: u32, name: String, limit: usize },
    /// Bad label name.
    #[error(
        "series {id}: invalid label name {name:?}: must match [a-zA-Z_][a-zA-Z0-9_]*, not start with \"__\", and be at most {limit} bytes"
    )]
    LabelName { id: u32, name: String, limit: usize },
    /// Label value too long or containing NUL.
    #[error(
        "series {id}: value of label {name:?} is {len} bytes or contains NUL; the limit is {limit} bytes"
    )]
    LabelValue {
        id: u32,
        name: String,
        len: usize,
        limit: usize,
    },
    /// Same label twice.
    #[error("series {id}: label {name:?} appears twice")]
    DuplicateLabel { id: u32, name: String },
    /// Too many labels.
    #[error("series {id}: {count} labels, the limit is {limit}")]
    TooManyLabels { id: u32, count: usize, limit: usize },
    /// A stream-local id redeclared with another definition.
    #[error("series {id} is already declared on this stream with other labels")]
    Redeclared { id: u32 },
    /// A sample refers to an id never declared.
    #[error("sample {index}: series id {id} was not declared on this stream")]
    Undeclared { index: usize, id: u32 },
    /// Timestamp out of range.
    #[error(
        "sample {index}: timestamp {ts} ms is outside the accepted range (after 2000-01-01 and at most {max_future_ms} ms ahead of the collector's clock)"
    )]
    Timestamp {
        index: usize,
        ts: i64,
        max_future_ms: i64,
    },
    /// NaN or infinite value.
    #[error("sample {index}: value {value} is not a finite number")]
    NonFinite { index: usize, value: f64 },
    /// A series of a CI the stream did not report.
    #[error("series {id}: CI {ci:?} was not reported with a DeviceReport on this stream")]
    UnknownCi { id: u32, ci: String },
    /// A malformed event.
    #[error("event {index}: {problem}")]
    Event { index: usize, problem: String },
}

impl Invalid {
    /// Short machine-readable reason, used as a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            Invalid::ZeroSequence => "invalid_sequence",
            Invalid::TooManySamples { .. } => "too_many_samples",
            Invalid::RaggedColumns { .. } => "ragged_columns",
            Invalid::EmptyMetricName { .. } => "empty_metric_name",
            Invalid::MetricName { .. } => "invalid_metric_name",
            Invalid::LabelName { .. } => "invalid_label_name",
            Invalid::LabelValue { .. } => "label_value_too_long",
            Invalid::DuplicateLabel { .. } => "duplicate_label",
            Invalid::TooManyLabels { .. } => "too_many_labels",
            Invalid::Redeclared { .. } => "redeclared_series",
            Invalid::Undeclared { .. } => "undeclared_series",
            Invalid::Timestamp { .. } => "invalid_timestamp",
            Invalid::NonFinite { .. } => "non_finite_value",
            Invalid::UnknownCi { .. } => "unknown_ci",
            Invalid::Event { .. } => "invalid_event",
        }
    }
}

fn is_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Validates a series declaration and returns its sorted label set with `__name__`.
pub fn series_labels(def: &SeriesDef, limits: &Limits) -> Result<Labels, Invalid> {
    let id = def.id;
    if def.metric.is_empty() {
        return Err(Invalid::EmptyMetricName { id });
    }
    if def.metric.len() > limits.max_metric_name_bytes || !is_metric_name(&def.metric) {
        return Err(Invalid::MetricName {
            id,
            name: def.metric.clone(),
            limit: limits.max_metric_name_bytes,
        });
    }
    if def.labels.len() > limits.max_labels {
        return Err(Invalid::TooManyLabels {
            id,
            count: def.labels.len(),
            limit: limits.max_labels,
        });
    }
    let mut labels: Labels = Vec::with_capacity(def.labels.len() + 1);
    labels.push(("__name__".to_string(), def.metric.clone()));
    for l in &def.labels {
        if l.name.len() > limits.max_label_name_bytes || !is_label_name(&l.name) {
            return Err(Invalid::LabelName {
                id,
                name: l.name.clone(),
                limit: limits.max_label_name_bytes,
            });
        }
        if l.value.len() > limits.max_label_value_bytes || l.value.contains('\0') {
            return Err(Invalid::LabelValue {
                id,
                name: l.name.clone(),
                len: l.value.len(),
                limit: limits.max_label_value_bytes,
            });
        }
        labels.push((l.name.clone(), l.value.clone()));
    }
    labels.sort();
    if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Invalid::DuplicateLabel {
            id,
            name: w[0].0.clone(),
        });
    }
    Ok(labels)
}

/// Validates the sample columns of a batch. `declared` tells whether a
/// stream-local id is known (declared earlier on the stream or in this batch).
pub fn samples(
    batch: &SampleBatch,
    limits: &Limits,
    now_ms: i64,
    declared: impl Fn(u32) -> bool,
) -> Result<(), Invalid> {
    if batch.seq == 0 {
        return Err(Invalid::ZeroSequence);
    }
    let (ids, timestamps, values) = (&batch.series_ids, &batch.timestamps_ms, &batch.values);
    if ids.len() != timestamps.len() || ids.len() != values.len() {
        return Err(Invalid::RaggedColumns {
            ids: ids.len(),
            timestamps: timestamps.len(),
            values: values.len(),
        });
    }
    if ids.len() > limits.max_batch_samples {
        return Err(Invalid::TooManySamples {
            count: ids.len(),
            limit: limits.max_batch_samples,
        });
    }
    let max_ts = now_ms.saturating_add(limits.max_future_ms);
    for (index, ((&id, &ts), &value)) in ids.iter().zip(timestamps).zip(values).enumerate() {
        if !declared(id) {
            return Err(Invalid::Undeclared { index, id });
        }
        if !(MIN_TIMESTAMP_MS..=max_ts).contains(&ts) {
            return Err(Invalid::Timestamp {
                index,
                ts,
                max_future_ms: limits.max_future_ms,
            });
        }
        if !value.is_finite() {
            return Err(Invalid::NonFinite { index, value });
        }
    }
    Ok(())
}

/// Most events in one batch.
pub const MAX_EVENTS: usize = 1000;
/// Longest event summary, trap OID, source or field value, in bytes.
pub const MAX_EVENT_TEXT_BYTES: usize = 4096;
/// Most varbind fields on one event.
pub const MAX_EVENT_FIELDS: usize = 128;

/// Checks a batch's events: known CI, known kind, sane time and sizes.
pub fn events(
    events: &[DeviceEvent],
    now_ms: i64,
    max_future_ms: i64,
    known_ci: impl Fn(&str) -> bool,
) -> Result<(), Invalid> {
    let bad = |index: usize, problem: String| Err(Invalid::Event { index, problem });
    if events.len() > MAX_EVENTS {
        return bad(
            MAX_EVENTS,
            format!(
                "batch has {} events, the limit is {MAX_EVENTS}",
                events.len()
            ),
        );
    }
    for (index, e) in events.iter().enumerate() {
        if !e.ci_id.is_empty() && !known_ci(&e.ci_id) {
            return bad(
                index,
                format!(
                    "CI {:?} was not reported with a DeviceReport on this stream",
                    e.ci_id
                ),
            );
        }
        if !tocsin_cmdb::EVENT_KINDS.contains(&e.kind.as_str()) {
            return bad(
                index,
                format!(
                    "kind {:?} is not one of {}",
                    e.kind,
                    tocsin_cmdb::EVENT_KINDS.join(", ")
                ),
            );
        }
        if e.timestamp_ms < MIN_TIMESTAMP_MS || e.timestamp_ms > now_ms + max_future_ms {
            return bad(
                index,
                format!("timestamp {} ms is out of range", e.timestamp_ms),
            );
        }
        if e.fields.len() > MAX_EVENT_FIELDS {
            return bad(
                index,
                format!("{} fields, the limit is {MAX_EVENT_FIELDS}", e.fields.len()),
            );
        }
        let texts = [&e.summary, &e.trap_oid, &e.source]
            .into_iter()
            .chain(e.fields.iter().flat_map(|(k, v)| [k, v]));
        if texts.into_iter().any(|t| t.len() > MAX_EVENT_TEXT_BYTES) {
            return bad(
                index,
                format!("a text field is longer than {MAX_EVENT_TEXT_BYTES} bytes"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_proto::v1::Label;

    pub(crate) fn limits() -> Limits {
        Limits {
            max_batch_samples: 10,
            max_labels: 3,
            max_metric_name_bytes: 64,
            max_label_name_bytes: 16,
            max_label_value_bytes: 32,
            max_future_ms: 3_600_000,
        }
    }

    fn def(metric: &str, labels: &[(&str, &str)]) -> SeriesDef {
        SeriesDef {
            id: 1,
            metric: metric.into(),
            labels: labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            kind: 1,
            ci_id: String::new(),
        }
    }

    #[test]
    fn accepts_and_sorts_valid_series() {
        let l = series_labels(&def("node_load1", &[("z", "1"), ("host", "a")]), &limits()).unwrap();
        let names: Vec<_> = l.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, vec!["__name__", "host", "z"]);
    }

    #[test]
    fn rejects_bad_series_with_named_reason() {
        let lim = limits();
        let cases = [
            (def("", &[]), "empty_metric_name"),
            (def("1abc", &[]), "invalid_metric_name"),
            (def("a-b", &[]), "invalid_metric_name"),
            (def("m", &[("__x", "1")]), "invalid_label_name"),
            (def("m", &[("bad-name", "1")]), "invalid_label_name"),
            (def("m", &[("a", &"x".repeat(33))]), "label_value_too_long"),
            (def("m", &[("a", "nul\0")]), "label_value_too_long"),
            (def("m", &[("a", "1"), ("a", "2")]), "duplicate_label"),
            (
                def("m", &[("a", "1"), ("b", "1"), ("c", "1"), ("d", "1")]),
                "too_many_labels",
            ),
        ];
        for (d, reason) in cases {
            let err = series_labels(&d, &lim).unwrap_err();
            assert_eq!(err.reason(), reason, "{err}");
        }
    }

    #[test]
    fn rejects_bad_samples() {
        let now = 1_700_000_000_000;
        let batch = |ids: Vec<u32>, ts: Vec<i64>, vals: Vec<f64>| SampleBatch {
            seq: 1,
            series: vec![],
            series_ids: ids,
            timestamps_ms: ts,
            values: vals,
            events: Vec::new(),
        };
        let ok = |_: u32| true;
        assert!(samples(&batch(vec![1], vec![now], vec![1.0]), &limits(), now, ok).is_ok());
        let cases = [
            (batch(vec![1], vec![now], vec![]), "ragged_columns"),
            (
                batch(vec![1; 11], vec![now; 11], vec![1.0; 11]),
                "too_many_samples",
            ),
            (batch(vec![2], vec![now], vec![1.0]), "undeclared_series"),
            (batch(vec![1], vec![5], vec![1.0]), "invalid_timestamp"),
            (
                batch(vec![1], vec![now + 7_200_000], vec![1.0]),
                "invalid_timestamp",
            ),
            (
                batch(vec![1], vec![now], vec![f64::NAN]),
                "non_finite_value",
            ),
            (
                batch(vec![1], vec![now], vec![f64::INFINITY]),
                "non_finite_value",
            ),
        ];
        for (b, reason) in cases {
            assert_eq!(
                samples(&b, &limits(), now, |id| id == 1)
                    .unwrap_err()
                    .reason(),
                reason
            );
        }
        let mut zero = batch(vec![], vec![], vec![]);
        zero.seq = 0;
        assert_eq!(
            samples(&zero, &limits(), now, ok).unwrap_err(),
            Invalid::ZeroSequence
        );
    }
}
