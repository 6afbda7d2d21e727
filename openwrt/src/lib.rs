//! fc00d: the Linux/OpenWrt daemon around `protocol_core::node::Node`.

pub mod config;
pub mod daemon;
pub mod log;
pub mod state;
pub mod sys;
