//! The 12-byte switch header that starts every peer-link plaintext (`wire/SwitchHeader.h`).
//!
//! ```text
//! 0       8          9                10
//! [label] [cong:7|suppressErrors:1] [version:2|labelShift:6] [trafficClass u16]
//! ```

use super::error::{check_len, check_room, WireError};

pub const SWITCH_HEADER_LEN: usize = 12;
/// The only switch header version ever written; receivers do not check it.
pub const SWITCH_HEADER_VERSION: u8 = 1;

/// A typed view over a buffer that starts with a switch header.
#[derive(Debug, Clone, Copy)]
pub struct SwitchHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SwitchHeader<T> {
    /// Wrap a buffer without checking it; accessors may then panic on a short buffer, so
    /// only use this on buffers you have sized yourself.
    pub const fn new_unchecked(buffer: T) -> Self {
        SwitchHeader { buffer }
    }

    /// Wrap a buffer, checking it holds a whole header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        check_len(buffer.as_ref(), SWITCH_HEADER_LEN)?;
        Ok(SwitchHeader { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn label(&self) -> u64 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&self.bytes()[0..8]);
        u64::from_be_bytes(raw)
    }

    pub fn congestion(&self) -> u8 {
        self.bytes()[8] >> 1
    }

    pub fn suppress_errors(&self) -> bool {
        self.bytes()[8] & 1 != 0
    }

    pub fn version(&self) -> u8 {
        self.bytes()[9] >> 6
    }

    pub fn label_shift(&self) -> u8 {
        self.bytes()[9] & 0x3f
    }

    pub fn traffic_class(&self) -> u16 {
        u16::from_be_bytes([self.bytes()[10], self.bytes()[11]])
    }

    /// Everything after the header.
    pub fn payload(&self) -> &[u8] {
        &self.bytes()[SWITCH_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SwitchHeader<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_label(&mut self, label: u64) {
        self.bytes_mut()[0..8].copy_from_slice(&label.to_be_bytes());
    }

    /// Congestion is 7 bits; higher bits are dropped.
    pub fn set_congestion(&mut self, congestion: u8) {
        let b = &mut self.bytes_mut()[8];
        *b = (*b & 1) | (congestion << 1);
    }

    pub fn set_suppress_errors(&mut self, suppress: bool) {
        let b = &mut self.bytes_mut()[8];
        *b = (*b & !1) | u8::from(suppress);
    }

    /// Version is 2 bits; higher bits are dropped.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.bytes_mut()[9];
        *b = (*b & 0x3f) | ((version & 3) << 6);
    }

    /// Label shift is 6 bits; higher bits are dropped.
    pub fn set_label_shift(&mut self, shift: u8) {
        let b = &mut self.bytes_mut()[9];
        *b = (*b & 0xc0) | (shift & 0x3f);
    }

    pub fn set_traffic_class(&mut self, tc: u16) {
        self.bytes_mut()[10..12].copy_from_slice(&tc.to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.bytes_mut()[SWITCH_HEADER_LEN..]
    }
}

/// A parsed switch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SwitchHeaderRepr {
    pub label: u64,
    /// 7 bits.
    pub congestion: u8,
    pub suppress_errors: bool,
    /// 2 bits; always 1 when we write.
    pub version: u8,
    /// 6 bits: how many label bits switches have consumed so far.
    pub label_shift: u8,
    pub traffic_class: u16,
}

impl SwitchHeaderRepr {
    /// A fresh header for a packet we originate on `label`.
    pub const fn new(label: u64) -> Self {
        SwitchHeaderRepr {
            label,
            congestion: 0,
            suppress_errors: false,
            version: SWITCH_HEADER_VERSION,
            label_shift: 0,
            traffic_class: 0,
        }
    }

    pub fn parse<T: AsRef<[u8]>>(header: &SwitchHeader<T>) -> Self {
        SwitchHeaderRepr {
            label: header.label(),
            congestion: header.congestion(),
            suppress_errors: header.suppress_errors(),
            version: header.version(),
            label_shift: header.label_shift(),
            traffic_class: header.traffic_class(),
        }
    }

    /// Parse the first 12 bytes of `bytes`.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        Ok(Self::parse(&SwitchHeader::new_checked(bytes)?))
    }

    pub const fn buffer_len(&self) -> usize {
        SWITCH_HEADER_LEN
    }

    /// Write the header into the first 12 bytes of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        check_room(out, SWITCH_HEADER_LEN)?;
        let mut h = SwitchHeader::new_unchecked(out);
        h.set_label(self.label);
        h.set_congestion(self.congestion);
        h.set_suppress_errors(self.suppress_errors);
        h.set_version(self.version);
        h.set_label_shift(self.label_shift);
        h.set_traffic_class(self.traffic_class);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // B->A after one hop, from captures/udp-loopback-AB: label 8000.0000.0000.0001, shift 4.
    const ONE_HOP: [u8; 12] = [0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x44, 0x00, 0x00];

    #[test]
    fn parse_one_hop() {
        let repr = SwitchHeaderRepr::parse_bytes(&ONE_HOP).unwrap();
        assert_eq!(repr.label, 0x8000_0000_0000_0001);
        assert_eq!(repr.version, 1);
        assert_eq!(repr.label_shift, 4);
        assert!(!repr.suppress_errors);
        let mut out = [0u8; 12];
        repr.emit(&mut out).unwrap();
        assert_eq!(out, ONE_HOP);
    }

    #[test]
    fn truncated_is_an_error() {
        assert_eq!(
            SwitchHeaderRepr::parse_bytes(&ONE_HOP[..11]),
            Err(WireError::Truncated {
                needed: 12,
                got: 11
            })
        );
    }

    #[test]
    fn bit_fields_do_not_bleed() {
        let mut buf = [0u8; 12];
        let mut h = SwitchHeader::new_unchecked(&mut buf[..]);
        h.set_suppress_errors(true);
        h.set_congestion(0x7f);
        h.set_version(1);
        h.set_label_shift(63);
        assert_eq!(buf[8], 0xff);
        assert_eq!(buf[9], 0x7f);
    }
}
