//! fc00 protocol core: the cjdns protocol as a `no_std`, allocation-free, sans-IO library.
//!
//! Layers, lowest first: [`identity`] (keys and addresses), [`wire`] (typed views over
//! headers), [`switch`] (labels and source-route forwarding), [`crypto`] (CryptoAuth).
//! A module knows the layers below it, never above.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod control;
pub mod crypto;
pub mod identity;
#[cfg(feature = "mgmt")]
pub mod mgmt;
pub mod node;
pub mod peering;
pub mod router;
pub mod session;
pub mod switch;
pub mod wire;
