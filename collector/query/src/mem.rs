//! In-memory [`SeriesSource`] test double for the query engine and API tests.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::selector::Matcher;
use super::{Labels, QueryError, SeriesId, SeriesSource};

/// Series kept in a vector; records how samples are read.
#[derive(Default)]
pub struct MemSource {
    series: Vec<(Labels, Vec<(i64, f64)>)>,
    reads: Mutex<Vec<(i64, i64)>>,
    failing: bool,
}

impl MemSource {
    /// A source whose every call fails with an internal error.
    pub fn failing() -> Self {
        Self {
            failing: true,
            ..Self::default()
        }
    }

    /// Adds a series (labels in any order, samples in time order).
    pub fn add(&mut self, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> SeriesId {
        let mut labels: Labels = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        labels.sort();
        self.series.push((labels, samples.to_vec()));
        self.series.len() as SeriesId - 1
    }

    /// How many times `samples` was called.
    pub fn sample_reads(&self) -> usize {
        self.reads.lock().unwrap().len()
    }

    /// The `(start, end)` of the last `samples` call.
    pub fn last_read(&self) -> Option<(i64, i64)> {
        self.reads.lock().unwrap().last().copied()
    }

    fn check(&self) -> Result<(), QueryError> {
        if self.failing {
            Err(QueryError::Internal("disk on fire".into()))
        } else {
            Ok(())
        }
    }
}

impl SeriesSource for MemSource {
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<(SeriesId, Labels)>, QueryError> {
        self.check()?;
        Ok(self
            .series
            .iter()
            .enumerate()
            .filter(|(_, (labels, _))| matchers.iter().all(|m| m.matches_labels(labels)))
            .map(|(id, (labels, _))| (id as SeriesId, labels.clone()))
            .collect())
    }

    fn samples(
        &self,
        id: SeriesId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(i64, f64)>, QueryError> {
        self.check()?;
        self.reads.lock().unwrap().push((start_ms, end_ms));
        let (_, samples) = &self.series[id as usize];
        Ok(samples
            .iter()
            .copied()
            .filter(|(t, _)| (start_ms..=end_ms).contains(t))
            .collect())
    }

    fn label_names(&self) -> Result<Vec<String>, QueryError> {
        self.check()?;
        let names: BTreeSet<_> = self
            .series
            .iter()
            .flat_map(|(l, _)| l.iter().map(|(n, _)| n.clone()))
            .collect();
        Ok(names.into_iter().collect())
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>, QueryError> {
        self.check()?;
        let values: BTreeSet<_> = self
            .series
            .iter()
            .flat_map(|(l, _)| l.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()))
            .collect();
        Ok(values.into_iter().collect())
    }
}
