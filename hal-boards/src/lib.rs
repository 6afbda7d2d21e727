//! Board support for the fc00 firmware. Filled in by the firmware issue; for now it only
//! re-exports the core so the workspace graph is in place.
#![no_std]

pub use protocol_core;
