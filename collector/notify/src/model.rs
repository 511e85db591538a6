//! What a notification is: one event of one incident (or of a group of
//! incidents opened together) for one receiver. The outbox stores these; the
//! channels render them into each receiver's format. The types live in
//! `tocsin-model` (the API serves them too) and are re-exported here.

pub use tocsin_model::notification::{ChildSummary, Notification, NotifyEvent};
