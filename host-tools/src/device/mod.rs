//! Devices running the fc00 firmware, reached over a serial port or a TCP-backed UART with
//! the management protocol of `protocol_core::mgmt` (postcard in COBS frames with a CRC-32,
//! sequence numbers pairing answers with requests).

pub mod cli;
pub mod client;
pub mod fake;
pub mod link;
