//! How IPv6 rides inside cjdns (`net/TUNAdapter.c`): the 40-byte IPv6 header of a packet
//! from TUN is removed, its next-header becomes the DataHeader content type, and source and
//! destination are implied by the session keys. On the way out to TUN the header is rebuilt
//! with traffic class and flow label 0 and hop limit 42.
//!
//! Traffic class, flow label, hop limit and the header's payload-length field are not
//! transmitted; extension headers stay in the payload, announced by next-header.

use core::ops::Range;

use super::data_header::ContentType;
use super::error::{check_len, WireError};
use super::field::read_array;
use crate::identity::{Ip6, ADDRESS_PREFIX};

pub const IPV6_HEADER_LEN: usize = 40;
/// Hop limit of every IPv6 header the reference rebuilds (seen as `ttl=42` in ping6).
pub const REBUILT_HOP_LIMIT: u8 = 42;

/// An IPv6 packet from TUN with its header taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrippedIpv6 {
    pub src: Ip6,
    pub dst: Ip6,
    /// The header's next-header value, as the DataHeader will carry it.
    pub content_type: ContentType,
    /// Where the payload lies in the packet: everything after the 40-byte header (the
    /// header's own payload-length field is ignored, as in the reference).
    pub payload: Range<usize>,
}

/// Take apart an IPv6 packet read from TUN: it must hold a whole header with version 6.
pub fn strip_ipv6(packet: &[u8]) -> Result<StrippedIpv6, WireError> {
    check_len(packet, IPV6_HEADER_LEN)?;
    let version = packet[0] >> 4;
    if version != 6 {
        return Err(WireError::UnsupportedVersion(u32::from(version)));
    }
    Ok(StrippedIpv6 {
        src: Ip6(read_array(packet, 8)),
        dst: Ip6(read_array(packet, 24)),
        content_type: ContentType::Ip6(packet[6]),
        payload: IPV6_HEADER_LEN..packet.len(),
    })
}

/// Where the TUN adapter sends a stripped packet, decided in the reference's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunRoute {
    /// Destination outside fc00::/8: hand the whole packet to IpTunnel.
    IpTunnel,
    /// Source is not our own address: drop (INVALID).
    WrongSource,
    /// Addressed to ourselves: write it straight back to TUN.
    Loopback,
    /// To another cjdns node: strip the header and send it through a session.
    Session,
}

pub fn route_from_tun(packet: &StrippedIpv6, my_ip6: &Ip6) -> TunRoute {
    if packet.dst.0[0] != ADDRESS_PREFIX {
        TunRoute::IpTunnel
    } else if packet.src != *my_ip6 {
        TunRoute::WrongSource
    } else if packet.dst == *my_ip6 {
        TunRoute::Loopback
    } else {
        TunRoute::Session
    }
}

/// Rebuild the 40-byte IPv6 header in place in front of `payload` (a range of `buf`
/// with at least 40 bytes of headroom before it). `src` is the peer's address, `dst` our
/// own. Returns the range of the whole packet. Refuses content types that are not IPv6
/// next-header values and payloads too long for the 16-bit length field.
pub fn rebuild_ipv6(
    buf: &mut [u8],
    payload: Range<usize>,
    src: &Ip6,
    dst: &Ip6,
    content_type: ContentType,
) -> Result<Range<usize>, WireError> {
    let next_header = content_type
        .ip6_next_header()
        .ok_or(WireError::UnknownType(u32::from(content_type.as_u16())))?;
    if payload.start > payload.end || payload.end > buf.len() {
        return Err(WireError::BadLength);
    }
    let start = payload
        .start
        .checked_sub(IPV6_HEADER_LEN)
        .ok_or(WireError::BufferTooSmall {
            needed: IPV6_HEADER_LEN,
            got: payload.start,
        })?;
    let payload_len =
        u16::try_from(payload.end - payload.start).map_err(|_| WireError::BadLength)?;
    let header = &mut buf[start..payload.start];
    header[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
    header[4..6].copy_from_slice(&payload_len.to_be_bytes());
    header[6] = next_header;
    header[7] = REBUILT_HOP_LIMIT;
    header[8..24].copy_from_slice(&src.0);
    header[24..40].copy_from_slice(&dst.0);
    Ok(start..payload.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: Ip6 = Ip6([
        0xfc, 0x09, 0x8d, 0xb0, 0x6f, 0x5e, 0xb6, 0xf2, 0x10, 0x77, 0x9c, 0xec, 0xf0, 0xde, 0x1c,
        0xca,
    ]);
    const PEER: Ip6 = Ip6([0xfc, 0x11, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);

    fn packet(src: &Ip6, dst: &Ip6) -> [u8; 48] {
        let mut p = [0u8; 48];
        // version 6, traffic class 0xab, flow 0x12345, payload 8, ICMPv6, hop limit 64.
        p[..8].copy_from_slice(&[0x6a, 0xb1, 0x23, 0x45, 0x00, 0x08, 58, 64]);
        p[8..24].copy_from_slice(&src.0);
        p[24..40].copy_from_slice(&dst.0);
        p[40..].copy_from_slice(&[0x80, 0, 0xaa, 0xbb, 0, 1, 0, 1]);
        p
    }

    #[test]
    fn strip_then_rebuild() {
        let p = packet(&ME, &PEER);
        let s = strip_ipv6(&p).unwrap();
        assert_eq!(s.src, ME);
        assert_eq!(s.dst, PEER);
        assert_eq!(s.content_type, ContentType::ICMPV6);
        assert_eq!(s.payload, 40..48);
        assert_eq!(route_from_tun(&s, &ME), TunRoute::Session);

        // Receiving side: payload sits after 40+ bytes of headroom.
        let mut buf = [0xeeu8; 60];
        buf[52..60].copy_from_slice(&p[40..]);
        let whole = rebuild_ipv6(&mut buf, 52..60, &ME, &PEER, s.content_type).unwrap();
        assert_eq!(whole, 12..60);
        let rebuilt = &buf[whole];
        assert_eq!(&rebuilt[..8], &[0x60, 0, 0, 0, 0, 8, 58, 42]);
        assert_eq!(&rebuilt[8..40], &p[8..40]);
        assert_eq!(&rebuilt[40..], &p[40..]);
    }

    #[test]
    fn tun_routes() {
        let mut outside = PEER;
        outside.0[0] = 0x20;
        let s = strip_ipv6(&packet(&ME, &outside)).unwrap();
        assert_eq!(route_from_tun(&s, &ME), TunRoute::IpTunnel);
        let s = strip_ipv6(&packet(&PEER, &PEER)).unwrap();
        assert_eq!(route_from_tun(&s, &ME), TunRoute::WrongSource);
        let s = strip_ipv6(&packet(&ME, &ME)).unwrap();
        assert_eq!(route_from_tun(&s, &ME), TunRoute::Loopback);
    }

    #[test]
    fn strip_refusals() {
        let p = packet(&ME, &PEER);
        assert!(matches!(
            strip_ipv6(&p[..39]),
            Err(WireError::Truncated { .. })
        ));
        let mut v4 = p;
        v4[0] = 0x45;
        assert_eq!(strip_ipv6(&v4), Err(WireError::UnsupportedVersion(4)));
    }

    #[test]
    fn rebuild_refusals() {
        let mut buf = [0u8; 64];
        assert_eq!(
            rebuild_ipv6(&mut buf, 39..50, &ME, &PEER, ContentType::UDP),
            Err(WireError::BufferTooSmall {
                needed: 40,
                got: 39
            })
        );
        assert_eq!(
            rebuild_ipv6(&mut buf, 40..65, &ME, &PEER, ContentType::UDP),
            Err(WireError::BadLength)
        );
        assert_eq!(
            rebuild_ipv6(&mut buf, 40..50, &ME, &PEER, ContentType::Cjdht),
            Err(WireError::UnknownType(256))
        );
    }
}
