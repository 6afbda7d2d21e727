//! The 6-byte ETHInterface header that follows the Ethernet header in ethertype 0xfc00
//! frames (`interface/ETHInterface.h`, `interface/ETHInterface_linux.c`).
//!
//! ```text
//! 0         1      2                   4
//! [version][zero][length = payload + 6][fc 00]
//! ```
//!
//! The header comment says the length excludes the header; the code includes it. A receiver
//! subtracts 6, drops the frame if that is more than it holds and otherwise cuts it to that
//! length, which is how minimum-size Ethernet padding goes away.

use super::error::{check_len, check_room, WireError};
use super::field::read_u16;

pub const ETH_HEADER_LEN: usize = 6;
/// Frames with any other version are dropped.
pub const ETH_VERSION: u8 = 0;
/// Both the ethertype and the header's trailing magic.
pub const ETH_MAGIC: u16 = 0xfc00;
pub const ETHERTYPE_FC00: u16 = ETH_MAGIC;
/// Receive buffer of the reference, header included (`MAX_PACKET_SIZE`).
pub const ETH_MAX_FRAME_LEN: usize = 1496;
/// Largest payload whose length still fits the 16-bit length field.
pub const ETH_MAX_PAYLOAD_LEN: usize = u16::MAX as usize - ETH_HEADER_LEN;

/// A typed view over a buffer that starts with an ETHInterface header.
#[derive(Debug, Clone, Copy)]
pub struct EthHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthHeader<T> {
    /// Wrap a buffer without checking it; accessors may then panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthHeader { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        check_len(buffer.as_ref(), ETH_HEADER_LEN)?;
        Ok(EthHeader { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0]
    }

    /// Padding; never checked.
    pub fn zero(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// Payload length plus 6.
    pub fn length(&self) -> u16 {
        read_u16(self.buffer.as_ref(), 2)
    }

    pub fn magic(&self) -> u16 {
        read_u16(self.buffer.as_ref(), 4)
    }

    /// The payload as the reference receiver sees it, after its version, length and magic
    /// checks (in that order).
    pub fn payload(&self) -> Result<&[u8], WireError> {
        if self.version() != ETH_VERSION {
            return Err(WireError::UnsupportedVersion(u32::from(self.version())));
        }
        let body = &self.buffer.as_ref()[ETH_HEADER_LEN..];
        // The reference subtracts in 16 bits, so a length below 6 wraps to something huge
        // and the frame is dropped as "larger than frame".
        let claimed = usize::from(self.length())
            .checked_sub(ETH_HEADER_LEN)
            .ok_or(WireError::BadLength)?;
        let payload = body.get(..claimed).ok_or(WireError::BadLength)?;
        if self.magic() != ETH_MAGIC {
            return Err(WireError::BadMagic);
        }
        Ok(payload)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthHeader<T> {
    pub fn set_version(&mut self, version: u8) {
        self.buffer.as_mut()[0] = version;
    }

    pub fn set_zero(&mut self, value: u8) {
        self.buffer.as_mut()[1] = value;
    }

    pub fn set_length(&mut self, length: u16) {
        self.buffer.as_mut()[2..4].copy_from_slice(&length.to_be_bytes());
    }

    pub fn set_magic(&mut self, magic: u16) {
        self.buffer.as_mut()[4..6].copy_from_slice(&magic.to_be_bytes());
    }
}

/// A parsed ETHInterface header: all it says is how long the payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthHeaderRepr {
    pub payload_len: usize,
}

impl EthHeaderRepr {
    /// Parse a frame (after the Ethernet header) into the header and its payload, with any
    /// bytes past the announced length cut off.
    pub fn parse(frame: &[u8]) -> Result<(Self, &[u8]), WireError> {
        let header = EthHeader::new_checked(frame)?;
        let payload = header.payload()?;
        let repr = EthHeaderRepr {
            payload_len: payload.len(),
        };
        Ok((
            repr,
            &frame[ETH_HEADER_LEN..ETH_HEADER_LEN + repr.payload_len],
        ))
    }

    pub const fn buffer_len(&self) -> usize {
        ETH_HEADER_LEN
    }

    /// Write the 6 header bytes into the start of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        check_room(out, ETH_HEADER_LEN)?;
        let length =
            u16::try_from(self.payload_len + ETH_HEADER_LEN).map_err(|_| WireError::BadLength)?;
        let mut header = EthHeader::new_unchecked(out);
        header.set_version(ETH_VERSION);
        header.set_zero(0);
        header.set_length(length);
        header.set_magic(ETH_MAGIC);
        Ok(())
    }

    /// Write header and payload into `out`; returns the frame length.
    pub fn emit_frame(payload: &[u8], out: &mut [u8]) -> Result<usize, WireError> {
        let len = ETH_HEADER_LEN + payload.len();
        check_room(out, len)?;
        EthHeaderRepr {
            payload_len: payload.len(),
        }
        .emit(out)?;
        out[ETH_HEADER_LEN..len].copy_from_slice(payload);
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Beacon frame header from captures/eth-fc00-vAB: 56-byte payload.
    const BEACON_HDR: [u8; 6] = [0x00, 0x00, 0x00, 0x3e, 0xfc, 0x00];

    #[test]
    fn parse_captured_header() {
        let mut frame = [0u8; 62];
        frame[..6].copy_from_slice(&BEACON_HDR);
        let (repr, payload) = EthHeaderRepr::parse(&frame).unwrap();
        assert_eq!(repr.payload_len, 56);
        assert_eq!(payload.len(), 56);
        let mut out = [0u8; 6];
        repr.emit(&mut out).unwrap();
        assert_eq!(out, BEACON_HDR);
    }

    #[test]
    fn padding_is_cut_off() {
        // 4-byte payload padded to 46 bytes by the Ethernet minimum.
        let mut frame = [0u8; 46];
        frame[..6].copy_from_slice(&[0, 0, 0, 10, 0xfc, 0]);
        frame[6..10].copy_from_slice(b"abcd");
        let (repr, payload) = EthHeaderRepr::parse(&frame).unwrap();
        assert_eq!(repr.payload_len, 4);
        assert_eq!(payload, b"abcd");
    }

    #[test]
    fn refusals() {
        let longer = [0, 0, 0, 11, 0xfc, 0, 1, 2, 3, 4];
        assert_eq!(EthHeaderRepr::parse(&longer), Err(WireError::BadLength));
        let below_header = [0, 0, 0, 5, 0xfc, 0, 1];
        assert_eq!(
            EthHeaderRepr::parse(&below_header),
            Err(WireError::BadLength)
        );
        let version = [1, 0, 0, 6, 0xfc, 0];
        assert_eq!(
            EthHeaderRepr::parse(&version),
            Err(WireError::UnsupportedVersion(1))
        );
        let magic = [0, 0, 0, 6, 0xfc, 1];
        assert_eq!(EthHeaderRepr::parse(&magic), Err(WireError::BadMagic));
        assert!(matches!(
            EthHeaderRepr::parse(&[0, 0, 0]),
            Err(WireError::Truncated { .. })
        ));
        // The zero byte is not checked.
        let zero = [0, 7, 0, 6, 0xfc, 0];
        assert_eq!(EthHeaderRepr::parse(&zero).unwrap().0.payload_len, 0);
    }

    #[test]
    fn emit_frame_writes_length_including_header() {
        let mut out = [0u8; 16];
        let n = EthHeaderRepr::emit_frame(b"xy", &mut out).unwrap();
        assert_eq!(&out[..n], &[0, 0, 0, 8, 0xfc, 0, b'x', b'y']);
    }
}
