//! Typed views over cjdns headers, smoltcp style: a `Packet<T: AsRef<[u8]>>` view with
//! checked accessors, and a `Repr` with `parse` and `emit`. Every parse is total.

pub mod control;
mod error;
pub mod switch_header;

pub use control::{checksum, emit_error, ControlFrame, ControlRepr, ErrorType, CONTROL_MARKER};
pub use error::WireError;
pub use switch_header::{SwitchHeader, SwitchHeaderRepr, SWITCH_HEADER_LEN};
