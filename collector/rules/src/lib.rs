//! Threshold rules evaluated on every ingested sample, and the no-data
//! (`agent_lost`) detector. They decide *that* a condition holds; the
//! incident manager decides what that means for people ([`event`] is the
//! contract between the two).
//!
//! - [`config`]: the rules file (TOML), validated with every problem named,
//!   merged with the built-in [`defaults`] into a [`RuleSet`].
//! - [`eval`]: the streaming [`Evaluator`]: per series, the rules that select
//!   it; per rule and series, a state machine (OK → pending → firing →
//!   recovering → OK) with hysteresis, `for`/`recover_for`, rate/delta
//!   windows and flap detection.
//! - [`nodata`]: [`NoData`], the silent-agent detector, ticked every second.
//!
//! Hook-up: call [`Evaluator::observe`] for each stored sample and
//! [`NoData::seen`] for each batch, [`NoData::tick`] every second, and hand
//! the returned [`RuleEvent`]s to the incident manager; on reload, parse the
//! file with [`config::load`], then [`Evaluator::reload`] and
//! [`NoData::set_config`].

pub mod config;
pub mod defaults;
mod error;
pub mod eval;
mod fields;
pub mod nodata;
pub mod rule;
mod state;
pub mod template;
#[cfg(test)]
mod testutil;
mod validate;
mod window;

pub use config::{load, parse};
pub use error::RulesError;
pub use eval::{Evaluator, SeriesInfo};
pub use nodata::NoData;
pub use rule::{
    AGENT_LOST, Comparison, FlapConfig, NoDataConfig, Rule, RuleSet, Thresholds, Transform,
};
pub use tocsin_model::event::{EventKind, RuleEvent, Severity, dedup_key};
