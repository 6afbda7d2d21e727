//! fc00d: the Linux/OpenWrt daemon around `protocol_core::node::Node`, and the modules shared
//! by the daemon binary, fc00ctl and tests.

pub mod admin;
pub mod admin_glue;
pub mod config;
pub mod daemon;
pub mod log;
pub mod state;
pub mod sys;
pub mod uci;
