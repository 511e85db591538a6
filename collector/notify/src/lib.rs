//! Delivering incidents to people: receivers (webhook, Alertmanager,
//! PagerDuty, chat robots, e-mail), routes, and a durable outbox.

pub mod channels;
pub mod config;
mod error;
#[cfg(test)]
mod fixtures;
pub mod model;
pub mod notifier;
pub mod outbox;
pub mod reminders;
pub mod routing;
pub mod service;
pub mod worker;

pub use config::{NotifyConfig, RetryConfig};
pub use error::NotifyError;
pub use model::{ChildSummary, Notification, NotifyEvent};
pub use service::Notifications;
pub use worker::AttemptObserver;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod worker_tests;
