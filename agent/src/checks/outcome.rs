//! What one run of a check found, and the samples it becomes.

use std::time::Duration;

use super::config::CheckConfig;
use crate::series::PolledSample;

/// The result of one run of a check.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Why the check failed; `None` = it succeeded.
    pub failure: Option<String>,
    /// How long the whole run took (name resolution included).
    pub duration: Duration,
    /// The response time compared with `slow_after` (the duration, or the
    /// average round trip for ICMP); only when the check succeeded.
    pub response_time: Option<Duration>,
    /// Kind-specific measurements, `(metric, value)`.
    pub measurements: Vec<(&'static str, f64)>,
}

impl Outcome {
    /// A run that succeeded after `duration`.
    pub fn passed(duration: Duration) -> Self {
        Self {
            failure: None,
            duration,
            response_time: Some(duration),
            measurements: Vec::new(),
        }
    }

    /// A run that failed after `duration` for `reason`.
    pub fn failed(duration: Duration, reason: impl Into<String>) -> Self {
        Self {
            failure: Some(reason.into()),
            duration,
            response_time: None,
            measurements: Vec::new(),
        }
    }

    /// Turns the run into a failure for `reason` (keeping its measurements).
    pub fn fail(&mut self, reason: impl Into<String>) {
        self.failure.get_or_insert_with(|| reason.into());
        self.response_time = None;
    }

    /// Adds a measurement.
    pub fn measure(&mut self, metric: &'static str, value: f64) {
        self.measurements.push((metric, value));
    }

    /// Whether the check succeeded.
    pub fn success(&self) -> bool {
        self.failure.is_none()
    }

    /// The samples of this run, labelled with the check's `check`, `kind`,
    /// `target` and configured labels.
    pub fn samples(&self, check: &CheckConfig) -> Vec<PolledSample> {
        let mut labels = vec![
            ("check".to_owned(), check.name.clone()),
            ("kind".to_owned(), check.kind().as_str().to_owned()),
            ("target".to_owned(), check.target().to_owned()),
        ];
        labels.extend(check.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let sample = |metric: &str, value: f64| PolledSample {
            metric: metric.to_owned(),
            labels: labels.clone(),
            counter: false,
            value,
        };
        let mut out = vec![
            sample("probe_success", if self.success() { 1.0 } else { 0.0 }),
            sample("probe_duration_seconds", self.duration.as_secs_f64()),
        ];
        if let (Some(rt), Some(limit)) = (self.response_time, check.slow_after()) {
            out.push(sample(
                "probe_duration_threshold_ratio",
                rt.as_secs_f64() / limit.as_secs_f64(),
            ));
        }
        out.extend(self.measurements.iter().map(|(m, v)| sample(m, *v)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::HttpCheckConfig;

    #[test]
    fn samples_carry_the_check_labels_and_the_slow_ratio_only_on_success() {
        let mut check = CheckConfig::new("shop", HttpCheckConfig::new("http://127.0.0.1:8080/"));
        check.labels.insert("service".into(), "shop".into());
        let mut ok = Outcome::passed(Duration::from_millis(500));
        ok.measure("probe_http_status_code", 200.0);
        let s = ok.samples(&check);
        let value = |s: &[PolledSample], m: &str| s.iter().find(|x| x.metric == m).map(|x| x.value);
        assert_eq!(value(&s, "probe_success"), Some(1.0));
        assert_eq!(
            value(&s, "probe_duration_threshold_ratio"),
            Some(0.25),
            "500ms of the 2s default"
        );
        assert_eq!(value(&s, "probe_http_status_code"), Some(200.0));
        let labels: Vec<&str> = s[0].labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(labels, ["check", "kind", "target", "service"]);
        assert_eq!(s[0].labels[2].1, "http://127.0.0.1:8080/");

        let mut bad = ok.clone();
        bad.fail("HTTP status 500");
        let s = bad.samples(&check);
        assert_eq!(value(&s, "probe_success"), Some(0.0));
        assert_eq!(value(&s, "probe_duration_threshold_ratio"), None);
        assert_eq!(
            value(&s, "probe_http_status_code"),
            Some(200.0),
            "measurements kept"
        );

        check.slow_after = Some(Duration::ZERO);
        assert_eq!(
            value(&ok.samples(&check), "probe_duration_threshold_ratio"),
            None
        );
    }
}
