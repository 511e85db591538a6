//! A sample as the SNMP poller, the trap receiver and the service checks
//! produce it: named Prometheus-style with owned strings, before the
//! [`Registry`](super::Registry) interns it to a series id.

use serde::Serialize;

/// One sample of a device or service CI, named Prometheus-style.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolledSample {
    /// Metric name, e.g. `snmp_if_in_octets_total`.
    pub metric: String,
    /// Labels, e.g. `interface` and `alias`.
    pub labels: Vec<(String, String)>,
    /// Whether the value is a monotonically increasing counter (it may wrap).
    pub counter: bool,
    /// The value.
    pub value: f64,
}
