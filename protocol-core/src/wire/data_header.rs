//! The 4-byte DataHeader that starts the plaintext of every inner (end-to-end) message
//! (`wire/DataHeader.h`), and its content type (`wire/ContentType.h`).
//!
//! ```text
//! 0                       1        2
//! [version:4 | flags:4]  [unused] [content type u16]
//! ```

use super::error::{check_len, check_room, WireError};
use super::field::read_u16;

pub const DATA_HEADER_LEN: usize = 4;
/// The only version ever written. Receivers in v22.3 never check it.
pub const DATA_HEADER_VERSION: u8 = 1;

/// What an inner message carries. IPv6 payloads keep their next-header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// 0..=255: an IPv6 payload with this next-header value (58 ICMPv6, 17 UDP, 6 TCP...).
    Ip6(u8),
    /// 256: bencoded router (DHT) messages; the only type allowed in handshake packets.
    Cjdht,
    /// 257: IpTunnel, whole IPv4/IPv6 packets for non-fc traffic.
    IpTun,
    /// Anything else (258..=0x7fff reserved, 0x8000.. free), kept as it came.
    /// Build values with [`ContentType::from_u16`] so 0..=257 never land here.
    Other(u16),
}

impl ContentType {
    pub const ICMPV6: ContentType = ContentType::Ip6(58);
    pub const UDP: ContentType = ContentType::Ip6(17);
    pub const TCP: ContentType = ContentType::Ip6(6);

    pub const fn from_u16(value: u16) -> Self {
        match value {
            0..=255 => ContentType::Ip6(value as u8),
            256 => ContentType::Cjdht,
            257 => ContentType::IpTun,
            other => ContentType::Other(other),
        }
    }

    pub const fn as_u16(self) -> u16 {
        match self {
            ContentType::Ip6(next_header) => next_header as u16,
            ContentType::Cjdht => 256,
            ContentType::IpTun => 257,
            ContentType::Other(value) => value,
        }
    }

    /// The IPv6 next-header value, if this type stands for one.
    pub const fn ip6_next_header(self) -> Option<u8> {
        match self {
            ContentType::Ip6(next_header) => Some(next_header),
            ContentType::Other(value) if value <= 255 => Some(value as u8),
            _ => None,
        }
    }
}

impl From<u16> for ContentType {
    fn from(value: u16) -> Self {
        ContentType::from_u16(value)
    }
}

impl From<ContentType> for u16 {
    fn from(value: ContentType) -> Self {
        value.as_u16()
    }
}

/// A typed view over a buffer that starts with a DataHeader.
#[derive(Debug, Clone, Copy)]
pub struct DataHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DataHeader<T> {
    /// Wrap a buffer without checking it; accessors may then panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        DataHeader { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        check_len(buffer.as_ref(), DATA_HEADER_LEN)?;
        Ok(DataHeader { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[0] & 0x0f
    }

    pub fn unused(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    pub fn content_type(&self) -> ContentType {
        ContentType::from_u16(read_u16(self.buffer.as_ref(), 2))
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[DATA_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DataHeader<T> {
    /// Version is 4 bits; higher bits are dropped.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[0];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Flags are 4 bits; higher bits are dropped.
    pub fn set_flags(&mut self, flags: u8) {
        let b = &mut self.buffer.as_mut()[0];
        *b = (*b & 0xf0) | (flags & 0x0f);
    }

    pub fn set_unused(&mut self, value: u8) {
        self.buffer.as_mut()[1] = value;
    }

    pub fn set_content_type(&mut self, content_type: ContentType) {
        self.buffer.as_mut()[2..4].copy_from_slice(&content_type.as_u16().to_be_bytes());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[DATA_HEADER_LEN..]
    }
}

/// A parsed DataHeader. The unused byte is dropped on parse and written as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeaderRepr {
    /// 4 bits; 1 in everything the reference sends. Not checked on receive, as there.
    pub version: u8,
    /// 4 bits; always 0 in v22.3.
    pub flags: u8,
    pub content_type: ContentType,
}

impl DataHeaderRepr {
    /// The header we put in front of content of this type.
    pub const fn new(content_type: ContentType) -> Self {
        DataHeaderRepr {
            version: DATA_HEADER_VERSION,
            flags: 0,
            content_type,
        }
    }

    pub fn parse<T: AsRef<[u8]>>(header: &DataHeader<T>) -> Self {
        DataHeaderRepr {
            version: header.version(),
            flags: header.flags(),
            content_type: header.content_type(),
        }
    }

    /// Parse the first 4 bytes of `bytes`.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        Ok(Self::parse(&DataHeader::new_checked(bytes)?))
    }

    pub const fn buffer_len(&self) -> usize {
        DATA_HEADER_LEN
    }

    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        check_room(out, DATA_HEADER_LEN)?;
        let mut header = DataHeader::new_unchecked(out);
        header.set_version(self.version);
        header.set_flags(self.flags);
        header.set_unused(0);
        header.set_content_type(self.content_type);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_cjdht_and_icmp_headers() {
        let cjdht = DataHeaderRepr::parse_bytes(&[0x10, 0x00, 0x01, 0x00]).unwrap();
        assert_eq!(cjdht, DataHeaderRepr::new(ContentType::Cjdht));
        let icmp = DataHeaderRepr::parse_bytes(&[0x10, 0x00, 0x00, 0x3a]).unwrap();
        assert_eq!(icmp, DataHeaderRepr::new(ContentType::ICMPV6));
        let mut out = [0u8; 4];
        icmp.emit(&mut out).unwrap();
        assert_eq!(out, [0x10, 0x00, 0x00, 0x3a]);
    }

    #[test]
    fn content_type_ranges() {
        assert_eq!(ContentType::from_u16(0), ContentType::Ip6(0));
        assert_eq!(ContentType::from_u16(255), ContentType::Ip6(255));
        assert_eq!(ContentType::from_u16(256), ContentType::Cjdht);
        assert_eq!(ContentType::from_u16(257), ContentType::IpTun);
        assert_eq!(ContentType::from_u16(258), ContentType::Other(258));
        assert_eq!(ContentType::from_u16(0x8000).as_u16(), 0x8000);
        assert_eq!(ContentType::Cjdht.ip6_next_header(), None);
        assert_eq!(ContentType::UDP.ip6_next_header(), Some(17));
    }

    #[test]
    fn nibbles_do_not_bleed() {
        let mut buf = [0u8; 4];
        let mut h = DataHeader::new_unchecked(&mut buf[..]);
        h.set_flags(0xff);
        h.set_version(1);
        assert_eq!(buf[0], 0x1f);
        assert!(DataHeaderRepr::parse_bytes(&buf[..3]).is_err());
    }
}
