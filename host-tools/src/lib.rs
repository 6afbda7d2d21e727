//! Library half of `fc00ctl`: the admin client and commands, the serial device client, the
//! many-node simulator; shared by the binary and the tests.

pub mod admin;
pub mod device;
pub mod error;
pub mod sim;
pub mod table;
