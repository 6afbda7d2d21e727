//! Board support for the fc00 firmware: Ethernet drivers, serial, key storage, and the
//! Ethernet splitter that feeds the cjdns node and the IP stack from one device.
//!
//! Portable code (drivers over a [`mmio::RegisterBlock`], the splitter, key stores) builds on
//! any target, so it is linted and unit-tested on the host. Cortex-M-only glue (time driver,
//! interrupt vectors) is behind the `mps2` feature and `target_arch = "arm"`.
#![no_std]

pub mod cmsdk_uart;
pub mod ether_split;
pub mod flash_key_store;
pub mod key_store;
pub mod lan9118;
#[cfg(target_arch = "arm")]
pub mod memory;
pub mod mmio;
pub mod mps2;

pub use key_store::{KeyStore, RamKeyStore};
pub use protocol_core;
