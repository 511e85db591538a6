//! SNMP polling of devices that cannot run an agent (switches, routers,
//! firewalls, storage, UPSes): one [`SnmpTarget`] in, one [`DevicePoll`] out.
//!
//! [`config`] holds the target's settings, [`session`] opens a v2c or v3 USM
//! session, [`walk`] reads subtrees with bounded GETBULK walks, [`mibs`]
//! decodes the standard MIBs, and [`poll`](poll()) runs one full poll.

pub mod config;
pub mod mibs;
pub mod poll;
pub mod session;
pub mod trap;
pub mod walk;

pub use config::{
    Community, Credentials, DeviceClass, Secret, SnmpTarget, SnmpVersion, UsmAuth, UsmPrivacy,
    UsmUser,
};
pub use poll::{DevicePoll, LldpNeighbour, poll, poll_with};
pub use session::{SnmpError, Transports};
pub use walk::SubtreeError;
