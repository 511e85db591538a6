//! The storage side of the query engine's [`SeriesSource`] contract.

use tocsin_model::{Labels, Matcher, SeriesId};
use tocsin_storage::{Storage, StorageError};

use crate::{QueryError, SeriesSource};

impl From<StorageError> for QueryError {
    fn from(e: StorageError) -> Self {
        QueryError::Internal(e.to_string())
    }
}

impl SeriesSource for Storage {
    fn select(&self, matchers: &[Matcher]) -> Result<Vec<(SeriesId, Labels)>, QueryError> {
        Ok(self.series().select(matchers)?)
    }

    fn samples(
        &self,
        id: SeriesId,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<(i64, f64)>, QueryError> {
        Ok(Storage::samples(self, id, start_ms, end_ms)?)
    }

    fn label_names(&self) -> Result<Vec<String>, QueryError> {
        Ok(self.series().label_names())
    }

    fn label_values(&self, name: &str) -> Result<Vec<String>, QueryError> {
        Ok(self.series().label_values(name))
    }
}
