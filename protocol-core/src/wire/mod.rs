//! Typed views over cjdns headers, smoltcp style: a `Packet<T: AsRef<[u8]>>` view with
//! checked accessors, and a `Repr` with `parse` and `emit`. Every parse is total.

pub mod bencode;
mod error;
pub mod switch_header;

pub use error::WireError;
pub use switch_header::{SwitchHeader, SwitchHeaderRepr, SWITCH_HEADER_LEN};

// Link layers, control frames and the session-layer headers.
pub mod beacon;
pub mod control;
pub mod data_header;
pub mod eth;
mod field;
pub mod ipv6;
pub mod route_header;
pub mod switch_packet;

pub use beacon::{BeaconRepr, UdpBeaconHeaderRepr, BEACON_LEN, UDP_BEACON_HEADER_LEN};
pub use control::{checksum, emit_error, ControlFrame, ControlRepr, ErrorType, CONTROL_MARKER};
pub use data_header::{ContentType, DataHeader, DataHeaderRepr, DATA_HEADER_LEN};
pub use eth::{EthHeader, EthHeaderRepr, ETH_HEADER_LEN};
pub use ipv6::{rebuild_ipv6, route_from_tun, strip_ipv6, StrippedIpv6, TunRoute};
pub use route_header::{RouteHeaderRepr, ROUTE_HEADER_LEN};
pub use switch_packet::{classify_switch_packet, SwitchPayloadKind};
