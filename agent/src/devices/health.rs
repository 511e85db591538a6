//! A device's state as the logs tell it: a line when it becomes unreachable
//! or reachable again, or when the set of failing subtrees changes — never
//! one per poll.

use std::collections::BTreeSet;

use crate::snmp::SubtreeError;

/// A change worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The device answers (first poll, or again after being unreachable).
    Reachable,
    /// Neither SNMP nor ICMP answered; `error` says what SNMP reported.
    Unreachable {
        /// The first SNMP error of the poll.
        error: String,
    },
    /// The subtrees that fail are now these (with their errors).
    Errors(Vec<String>),
    /// Every subtree reads again.
    ErrorsCleared,
}

/// The last state seen of one device.
#[derive(Debug, Default)]
pub struct Health {
    reachable: Option<bool>,
    failing: BTreeSet<String>,
}

impl Health {
    /// Records one poll's outcome; returns the changes to log.
    pub fn observe(&mut self, reachable: bool, errors: &[SubtreeError]) -> Vec<Change> {
        let mut changes = Vec::new();
        if self.reachable != Some(reachable) {
            changes.push(if reachable {
                Change::Reachable
            } else {
                Change::Unreachable {
                    error: errors.first().map_or_else(
                        || "no answer".to_owned(),
                        |e| format!("{}: {}", e.subtree, e.error),
                    ),
                }
            });
            self.reachable = Some(reachable);
        }
        // While unreachable, the connection error says it all.
        let failing: BTreeSet<String> = if reachable {
            errors.iter().map(|e| e.subtree.clone()).collect()
        } else {
            BTreeSet::new()
        };
        if failing != self.failing {
            if failing.is_empty() {
                if reachable {
                    changes.push(Change::ErrorsCleared);
                }
            } else {
                changes.push(Change::Errors(
                    errors
                        .iter()
                        .map(|e| format!("{}: {}", e.subtree, e.error))
                        .collect(),
                ));
            }
            self.failing = failing;
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_are_reported() {
        let mut h = Health::default();
        let timeout = [SubtreeError::new("system", "no response")];
        assert_eq!(
            h.observe(false, &timeout),
            vec![Change::Unreachable {
                error: "system: no response".into()
            }]
        );
        assert!(h.observe(false, &timeout).is_empty(), "still down: silent");
        assert_eq!(h.observe(true, &[]), vec![Change::Reachable]);
        assert!(h.observe(true, &[]).is_empty());
        let partial = [SubtreeError::new(
            "entPhysicalTable.x",
            "poll deadline passed (kept 3 values)",
        )];
        assert_eq!(
            h.observe(true, &partial),
            vec![Change::Errors(vec![
                "entPhysicalTable.x: poll deadline passed (kept 3 values)".into()
            ])]
        );
        // Same subtree, different message text: not a change.
        let again = [SubtreeError::new(
            "entPhysicalTable.x",
            "poll deadline passed (kept 5 values)",
        )];
        assert!(h.observe(true, &again).is_empty());
        assert_eq!(h.observe(true, &[]), vec![Change::ErrorsCleared]);
        assert_eq!(
            h.observe(false, &[]),
            vec![Change::Unreachable {
                error: "no answer".into()
            }]
        );
    }
}
