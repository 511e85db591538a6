//! Typed reads of the keys of one TOML table, each problem recorded with
//! its key (and a prefix such as `rule "cpu_high": `), so that validation
//! goes on after the first problem and reports them all.

use std::fmt::Display;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Reads the keys of one table, recording problems under a prefix.
pub(crate) struct Fields<'a> {
    pub(crate) table: &'a Table,
    pub(crate) prefix: String,
    pub(crate) problems: &'a mut Vec<String>,
}

impl<'a> Fields<'a> {
    /// Reads `table`; problems go to `problems` as `{prefix}{key}: {message}`.
    pub(crate) fn new(table: &'a Table, prefix: String, problems: &'a mut Vec<String>) -> Self {
        Self {
            table,
            prefix,
            problems,
        }
    }

    /// Records a problem with `key`.
    pub(crate) fn problem(&mut self, key: &str, msg: impl Display) {
        self.problems.push(format!("{}{key}: {msg}", self.prefix));
    }

    /// Reports every key not in `known`; whether there was none.
    pub(crate) fn reject_unknown(&mut self, known: &[&str], what: &str) -> bool {
        let mut ok = true;
        for key in self.table.keys() {
            if !known.contains(&key.as_str()) {
                let msg = format!("{what} (known: {})", known.join(", "));
                self.problem(key, msg);
                ok = false;
            }
        }
        ok
    }

    /// The value of `key` as a `T`; `None` when absent or of the wrong type
    /// (a problem then).
    pub(crate) fn get<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let value = self.table.get(key)?.clone();
        match value.try_into::<T>() {
            Ok(v) => Some(v),
            Err(e) => {
                self.problem(key, e.message().trim());
                None
            }
        }
    }

    /// A duration written as text (`"90s"`, `"5m"`, `"1h 30m"`).
    pub(crate) fn duration(&mut self, key: &str) -> Option<Duration> {
        match self.table.get(key)? {
            Value::String(text) => match humantime::parse_duration(text) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.problem(key, format!("invalid duration {text:?}: {e}"));
                    None
                }
            },
            other => {
                let msg = format!("must be a duration such as \"30s\" or \"5m\", got {other}");
                self.problem(key, msg);
                None
            }
        }
    }
}
