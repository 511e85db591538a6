//! People's actions on an incident (`POST /api/v1/incidents/{id}/{action}`):
//! the request body and the one-line confirmation.

use serde_json::{Map, Value, json};

/// Actor used when neither `--actor` nor `$USER` names one.
pub const DEFAULT_ACTOR: &str = "tocsinctl";

/// An action and its argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Acknowledge, with an optional note.
    Ack(Option<String>),
    /// Assign to an engineer.
    Assign(String),
    /// Add a comment.
    Comment(String),
    /// Resolve, with a required note.
    Resolve(String),
    /// Close, with an optional note.
    Close(Option<String>),
}

impl Action {
    /// The last path segment: `ack`, `assign`, `comment`, `resolve`, `close`.
    pub fn path(&self) -> &'static str {
        match self {
            Action::Ack(_) => "ack",
            Action::Assign(_) => "assign",
            Action::Comment(_) => "comment",
            Action::Resolve(_) => "resolve",
            Action::Close(_) => "close",
        }
    }

    /// The JSON body: `actor`, plus `note` (comment text too) or `assignee`.
    pub fn body(&self, actor: &str) -> Value {
        let mut b = Map::new();
        b.insert("actor".into(), json!(actor));
        match self {
            Action::Ack(Some(n)) | Action::Close(Some(n)) => {
                b.insert("note".into(), json!(n));
            }
            Action::Comment(n) | Action::Resolve(n) => {
                b.insert("note".into(), json!(n));
            }
            Action::Assign(a) => {
                b.insert("assignee".into(), json!(a));
            }
            Action::Ack(None) | Action::Close(None) => {}
        }
        Value::Object(b)
    }

    /// One line saying what was done.
    pub fn confirmation(&self, id: u64) -> String {
        match self {
            Action::Ack(_) => format!("incident {id} acknowledged\n"),
            Action::Assign(a) => format!("incident {id} assigned to {a}\n"),
            Action::Comment(_) => format!("comment added to incident {id}\n"),
            Action::Resolve(_) => format!("incident {id} resolved\n"),
            Action::Close(_) => format!("incident {id} closed\n"),
        }
    }
}

/// The actor sent with actions: `--actor`, else `$USER`, else
/// [`DEFAULT_ACTOR`]; blank names do not count.
pub fn actor(flag: Option<String>, user_env: Option<String>) -> String {
    [flag, user_env]
        .into_iter()
        .flatten()
        .map(|a| a.trim().to_string())
        .find(|a| !a.is_empty())
        .unwrap_or_else(|| DEFAULT_ACTOR.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(Action::Ack(None).body("bob"), json!({"actor": "bob"}));
        assert_eq!(
            Action::Ack(Some("on it".into())).body("bob"),
            json!({"actor": "bob", "note": "on it"})
        );
        assert_eq!(
            Action::Assign("carol".into()).body("bob"),
            json!({"actor": "bob", "assignee": "carol"})
        );
        assert_eq!(
            Action::Comment("rebooted".into()).body("bob"),
            json!({"actor": "bob", "note": "rebooted"})
        );
        assert_eq!(
            Action::Resolve("fixed".into()).body("bob"),
            json!({"actor": "bob", "note": "fixed"})
        );
        assert_eq!(Action::Close(None).path(), "close");
        assert_eq!(Action::Resolve(String::new()).path(), "resolve");
    }

    #[test]
    fn confirmations() {
        assert_eq!(
            Action::Ack(None).confirmation(7),
            "incident 7 acknowledged\n"
        );
        assert_eq!(
            Action::Assign("carol".into()).confirmation(7),
            "incident 7 assigned to carol\n"
        );
        assert_eq!(
            Action::Comment("x".into()).confirmation(7),
            "comment added to incident 7\n"
        );
        assert_eq!(Action::Close(None).confirmation(7), "incident 7 closed\n");
    }

    #[test]
    fn actor_falls_back() {
        assert_eq!(actor(Some("ann".into()), Some("u".into())), "ann");
        assert_eq!(actor(Some(" ".into()), Some("u".into())), "u");
        assert_eq!(actor(None, None), DEFAULT_ACTOR);
    }
}
