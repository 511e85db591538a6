//! Series identity: ids, label sets and the label matchers that select them.

use std::fmt;

use regex::Regex;
use thiserror::Error;

/// Numeric id of a stored series.
pub type SeriesId = u64;

/// A series' label set, sorted by label name, including `__name__`.
pub type Labels = Vec<(String, String)>;

/// A matcher's regular expression does not compile; the message names it.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct InvalidRegex(pub String);

/// Name of the label that holds the metric name.
pub const METRIC_NAME: &str = "__name__";

/// Match operator of a label matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~` (fully anchored)
    Regex,
    /// `!~` (fully anchored)
    NotRegex,
}

impl MatchOp {
    /// The operator as written in PromQL.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher, e.g. `mountpoint!="/boot"`.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name (`__name__` for the metric name).
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Right-hand side as written.
    pub value: String,
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher, compiling anchored regexes. As in Prometheus, `.`
    /// also matches a newline.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, InvalidRegex> {
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                Regex::new(&format!("^(?s:{value})$"))
                    .map_err(|e| InvalidRegex(format!("invalid regex {value:?}: {e}")))?,
            ),
            _ => None,
        };
        Ok(Self {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Whether a label value (`""` when the label is absent) satisfies the matcher.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.regex.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// Whether a label set (sorted or not) satisfies the matcher; an absent
    /// label counts as the empty string.
    pub fn matches_labels(&self, labels: &[(String, String)]) -> bool {
        let v = labels
            .iter()
            .find(|(n, _)| *n == self.name)
            .map_or("", |(_, v)| v.as_str());
        self.matches(v)
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op.as_str(), self.value)
    }
}
