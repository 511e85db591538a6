//! Device reports on one stream. The collector accepts a series or event of
//! a device CI only after that device's report arrived on the same stream,
//! so the invariant is: **no batch naming CI X is sent on a stream before
//! X's report was.** [`SentReports`] tracks what a stream was sent and says
//! which CIs a batch still lacks.

use std::collections::{BTreeSet, HashMap};

use tocsin_proto::v1::{DeviceReport, SampleBatch};

use crate::ci::ReportStore;

/// The device reports sent on one stream, with the version each was sent at.
#[derive(Debug, Default)]
pub struct SentReports {
    /// The store's version when it was last synced (`None`: never).
    synced: Option<u64>,
    versions: HashMap<String, u64>,
}

impl SentReports {
    /// Nothing sent: the state of a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reports to send now (never sent on this stream, or changed since),
    /// marked as sent. Cheap when nothing changed.
    pub fn pending(&mut self, store: &ReportStore) -> Vec<DeviceReport> {
        if self.synced == Some(store.version()) {
            return Vec::new();
        }
        let (version, changed) = store.changed_since(&|id| self.versions.get(id).copied());
        self.synced = Some(version);
        changed
            .into_iter()
            .map(|(v, report)| {
                self.versions.insert(report.device_id.clone(), v);
                report
            })
            .collect()
    }

    /// Whether device `ci_id`'s report was sent on this stream.
    pub fn was_sent(&self, ci_id: &str) -> bool {
        self.versions.contains_key(ci_id)
    }

    /// The device CIs `wire` needs whose report was not sent on this stream:
    /// those of the series it declares and of its events. (Series it only
    /// references were declared earlier on the stream, so their CI's report
    /// went out before that.)
    pub fn missing(&self, wire: &SampleBatch) -> BTreeSet<String> {
        self.missing_of(required_cis(wire))
    }

    /// The CIs among `cis` (the host's empty id aside) whose report was not
    /// sent on this stream.
    pub fn missing_of<'a>(&self, cis: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        cis.into_iter()
            .filter(|ci| !ci.is_empty() && !self.was_sent(ci))
            .map(str::to_owned)
            .collect()
    }
}

/// The device CIs (not the host's empty id) that `wire` declares series of or carries events of.
pub fn required_cis(wire: &SampleBatch) -> BTreeSet<&str> {
    wire.series
        .iter()
        .map(|d| d.ci_id.as_str())
        .chain(wire.events.iter().map(|e| e.ci_id.as_str()))
        .filter(|ci| !ci.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use tocsin_proto::v1::{DeviceEvent, SeriesDef};

    use super::*;

    fn report(id: &str, name: &str) -> DeviceReport {
        DeviceReport {
            device_id: id.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn wire(series_cis: &[&str], event_cis: &[&str]) -> SampleBatch {
        SampleBatch {
            series: series_cis
                .iter()
                .map(|ci| SeriesDef {
                    ci_id: (*ci).into(),
                    ..Default::default()
                })
                .collect(),
            events: event_cis
                .iter()
                .map(|ci| DeviceEvent {
                    ci_id: (*ci).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn each_report_is_sent_once_per_stream_and_again_when_changed() {
        let store = ReportStore::default();
        let mut stream = SentReports::new();
        assert!(stream.pending(&store).is_empty());
        store.store(report("sw1", "a"));
        store.store(report("sw2", "b"));
        let names: Vec<_> = stream
            .pending(&store)
            .into_iter()
            .map(|r| r.device_id)
            .collect();
        assert_eq!(names, vec!["sw1", "sw2"]);
        assert!(stream.pending(&store).is_empty());
        store.store(report("sw2", "b")); // unchanged
        assert!(stream.pending(&store).is_empty());
        store.store(report("sw2", "renamed"));
        let again = stream.pending(&store);
        assert_eq!((again.len(), again[0].name.as_str()), (1, "renamed"));

        // A new stream starts over.
        let mut next = SentReports::new();
        assert_eq!(next.pending(&store).len(), 2);
    }

    #[test]
    fn a_batch_lacks_the_cis_whose_report_was_not_sent() {
        let store = ReportStore::default();
        let mut stream = SentReports::new();
        let b = wire(&["", "sw1", "sw1"], &["sw2", ""]);
        assert_eq!(required_cis(&b), BTreeSet::from(["sw1", "sw2"]));
        assert_eq!(
            stream.missing(&b),
            BTreeSet::from(["sw1".to_owned(), "sw2".to_owned()])
        );
        store.store(report("sw1", "a"));
        stream.pending(&store);
        assert_eq!(stream.missing(&b), BTreeSet::from(["sw2".to_owned()]));
        store.store(report("sw2", "b"));
        stream.pending(&store);
        assert!(stream.missing(&b).is_empty());
        assert!(
            stream.missing(&wire(&[""], &[""])).is_empty(),
            "host series need no report"
        );
    }
}
