//! The samples of one device poll beyond what the MIBs give: whether SNMP
//! and ICMP answered, how long the poll took, what failed so far, and which
//! interfaces are administratively up but not operating.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use crate::ping::IcmpResult;
use crate::series::PolledSample;

/// ifOperStatus values that mean "the link is down": down(2), notPresent(6), lowerLayerDown(7).
const OPER_DOWN: [f64; 3] = [2.0, 6.0, 7.0];

/// What one round measured besides the MIB samples.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundFacts<'a> {
    /// Whether SNMP answered with valid credentials.
    pub snmp_up: bool,
    /// How long the SNMP poll took.
    pub duration: Duration,
    /// Errors per subtree since the agent started (cumulative).
    pub errors_total: &'a BTreeMap<String, u64>,
    /// The ICMP check, when enabled.
    pub icmp: Option<&'a IcmpResult>,
}

impl RoundFacts<'_> {
    /// Whether the device answered SNMP or ICMP.
    pub fn reachable(&self) -> bool {
        self.snmp_up || self.icmp.is_some_and(IcmpResult::answered)
    }
}

fn gauge(metric: &str, labels: Vec<(String, String)>, value: f64) -> PolledSample {
    PolledSample {
        metric: metric.to_owned(),
        labels,
        counter: false,
        value,
    }
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Every sample of one round: `polled` (from the MIBs), `snmp_if_link_down`
/// derived from them, and the round's own metrics.
pub fn round_samples(polled: Vec<PolledSample>, facts: &RoundFacts<'_>) -> Vec<PolledSample> {
    let mut all = poll_samples(polled);
    all.extend(fact_samples(facts));
    all
}

/// The samples of a poll: `polled` (from the MIBs) and `snmp_if_link_down`
/// derived from them; the first part of [`round_samples`].
pub fn poll_samples(mut polled: Vec<PolledSample>) -> Vec<PolledSample> {
    let link_down = link_down(&polled);
    polled.extend(link_down);
    polled
}

/// The round's own metrics (SNMP and ICMP state, poll duration, errors);
/// the last part of [`round_samples`].
pub fn fact_samples(facts: &RoundFacts<'_>) -> Vec<PolledSample> {
    let mut out = vec![
        gauge("snmp_up", vec![], bool_value(facts.snmp_up)),
        gauge(
            "snmp_poll_duration_seconds",
            vec![],
            facts.duration.as_secs_f64(),
        ),
    ];
    for (subtree, &count) in facts.errors_total {
        out.push(PolledSample {
            metric: "snmp_poll_errors_total".to_owned(),
            labels: vec![("subtree".to_owned(), subtree.clone())],
            counter: true,
            value: count as f64,
        });
    }
    if let Some(icmp @ IcmpResult::Probed { rtt_avg, .. }) = facts.icmp {
        out.push(gauge("icmp_up", vec![], bool_value(icmp.answered())));
        if let Some(rtt) = rtt_avg {
            out.push(gauge("icmp_rtt_seconds", vec![], rtt.as_secs_f64()));
        }
        if let Some(loss) = icmp.loss_percent() {
            out.push(gauge("icmp_loss_percent", vec![], loss));
        }
    }
    out.push(gauge(
        "device_reachable",
        vec![],
        bool_value(facts.reachable()),
    ));
    out
}

/// `snmp_if_link_down{interface,alias}`: 1 when an interface is admin up(1)
/// and oper down, notPresent or lowerLayerDown, else 0; only for interfaces
/// with both statuses read.
pub fn link_down(samples: &[PolledSample]) -> Vec<PolledSample> {
    let key = |s: &PolledSample| -> Vec<(String, String)> {
        s.labels
            .iter()
            .filter(|(k, _)| k == "interface" || k == "alias")
            .cloned()
            .collect()
    };
    let oper: HashMap<Vec<(String, String)>, f64> = samples
        .iter()
        .filter(|s| s.metric == "snmp_if_oper_status")
        .map(|s| (key(s), s.value))
        .collect();
    samples
        .iter()
        .filter(|s| s.metric == "snmp_if_admin_status")
        .filter_map(|admin| {
            let labels = key(admin);
            let oper = *oper.get(&labels)?;
            let down = admin.value == 1.0 && OPER_DOWN.contains(&oper);
            Some(gauge("snmp_if_link_down", labels, bool_value(down)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(metric: &str, iface: &str, value: f64) -> PolledSample {
        PolledSample {
            metric: metric.into(),
            labels: vec![
                ("interface".into(), iface.into()),
                ("alias".into(), format!("{iface}-alias")),
            ],
            counter: false,
            value,
        }
    }

    fn value_of(s: &[PolledSample], metric: &str, label: Option<(&str, &str)>) -> Option<f64> {
        s.iter()
            .find(|x| {
                x.metric == metric
                    && label.is_none_or(|(k, v)| x.labels.iter().any(|(a, b)| a == k && b == v))
            })
            .map(|x| x.value)
    }

    #[test]
    fn link_down_needs_admin_up_and_oper_down() {
        let mut s = vec![];
        // (interface, admin, oper)
        for (i, a, o) in [
            ("up-up", 1.0, 1.0),
            ("up-down", 1.0, 2.0),
            ("up-notpresent", 1.0, 6.0),
            ("up-lowerlayer", 1.0, 7.0),
            ("up-dormant", 1.0, 5.0),
            ("shut", 2.0, 2.0),
        ] {
            s.push(status("snmp_if_admin_status", i, a));
            s.push(status("snmp_if_oper_status", i, o));
        }
        s.push(status("snmp_if_admin_status", "no-oper", 1.0));
        let d = link_down(&s);
        let get = |i: &str| value_of(&d, "snmp_if_link_down", Some(("interface", i)));
        assert_eq!(get("up-up"), Some(0.0));
        assert_eq!(get("up-down"), Some(1.0));
        assert_eq!(get("up-notpresent"), Some(1.0));
        assert_eq!(get("up-lowerlayer"), Some(1.0));
        assert_eq!(get("up-dormant"), Some(0.0));
        assert_eq!(get("shut"), Some(0.0), "admin down is not a fault");
        assert_eq!(get("no-oper"), None);
        assert_eq!(d.len(), 6);
        assert!(
            d[1].labels
                .contains(&("alias".into(), "up-down-alias".into()))
        );
        assert!(!d[0].counter);
    }

    #[test]
    fn round_metrics_follow_snmp_and_icmp() {
        let errors = BTreeMap::from([("entPhysicalTable.entPhysicalModelName".to_owned(), 3)]);
        let icmp = IcmpResult::Probed {
            sent: 4,
            answered: 3,
            rtt_avg: Some(Duration::from_millis(2)),
            rtt_min: Some(Duration::from_millis(1)),
            rtt_max: Some(Duration::from_millis(3)),
        };
        let facts = RoundFacts {
            snmp_up: false,
            duration: Duration::from_millis(1500),
            errors_total: &errors,
            icmp: Some(&icmp),
        };
        let s = round_samples(vec![status("snmp_if_admin_status", "x", 1.0)], &facts);
        assert_eq!(value_of(&s, "snmp_up", None), Some(0.0));
        assert_eq!(value_of(&s, "snmp_poll_duration_seconds", None), Some(1.5));
        let e = s
            .iter()
            .find(|x| x.metric == "snmp_poll_errors_total")
            .unwrap();
        assert!(e.counter && e.value == 3.0);
        assert_eq!(
            e.labels,
            vec![(
                "subtree".to_owned(),
                "entPhysicalTable.entPhysicalModelName".to_owned()
            )]
        );
        assert_eq!(value_of(&s, "icmp_up", None), Some(1.0));
        assert_eq!(value_of(&s, "icmp_rtt_seconds", None), Some(0.002));
        assert_eq!(value_of(&s, "icmp_loss_percent", None), Some(25.0));
        assert_eq!(
            value_of(&s, "device_reachable", None),
            Some(1.0),
            "ICMP answered"
        );
        assert_eq!(
            value_of(&s, "snmp_if_admin_status", None),
            Some(1.0),
            "polled samples are kept"
        );

        // Nothing answered: unreachable, no RTT.
        let lost = IcmpResult::Probed {
            sent: 3,
            answered: 0,
            rtt_avg: None,
            rtt_min: None,
            rtt_max: None,
        };
        let s = round_samples(
            vec![],
            &RoundFacts {
                icmp: Some(&lost),
                ..facts.clone()
            },
        );
        assert_eq!(value_of(&s, "device_reachable", None), Some(0.0));
        assert_eq!(value_of(&s, "icmp_up", None), Some(0.0));
        assert_eq!(value_of(&s, "icmp_rtt_seconds", None), None);
        assert_eq!(value_of(&s, "icmp_loss_percent", None), Some(100.0));

        // ICMP unavailable or disabled: no ICMP series; SNMP decides.
        for icmp in [Some(&IcmpResult::Unavailable), None] {
            let s = round_samples(
                vec![],
                &RoundFacts {
                    snmp_up: true,
                    icmp,
                    ..facts.clone()
                },
            );
            assert!(!s.iter().any(|x| x.metric.starts_with("icmp_")), "{s:?}");
            assert_eq!(value_of(&s, "device_reachable", None), Some(1.0));
        }
    }
}
