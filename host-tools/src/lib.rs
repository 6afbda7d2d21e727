//! Library half of `fc00ctl`: the many-node simulator, shared by the binary and the tests.

pub mod sim;
