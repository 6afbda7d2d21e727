//! fc00d library half: modules shared by the daemon binary, fc00ctl and tests.

pub mod admin;
