//! ICMPv6 echo packets as a host's ping would write them, with a real checksum so that the
//! receiving end can tell the node carried the packet unchanged.

/// IPv6 next header for ICMPv6.
pub const NEXT_HEADER_ICMPV6: u8 = 58;
pub const ECHO_REQUEST: u8 = 128;
pub const ECHO_REPLY: u8 = 129;
const IPV6_HEADER_LEN: usize = 40;
const ECHO_HEADER_LEN: usize = 8;

/// One echo request or reply, borrowed from a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Echo<'a> {
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub kind: u8,
    pub ident: u16,
    pub seq: u16,
    pub payload: &'a [u8],
    /// The ICMPv6 checksum over the pseudo-header verified.
    pub checksum_ok: bool,
}

/// A whole IPv6 packet: 40-byte header (hop limit 64) and an ICMPv6 echo message.
pub fn echo_packet(
    src: &[u8; 16],
    dst: &[u8; 16],
    kind: u8,
    ident: u16,
    seq: u16,
    payload: &[u8],
) -> Vec<u8> {
    let body_len = ECHO_HEADER_LEN + payload.len();
    let mut p = Vec::with_capacity(IPV6_HEADER_LEN + body_len);
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&(body_len as u16).to_be_bytes());
    p.push(NEXT_HEADER_ICMPV6);
    p.push(64);
    p.extend_from_slice(src);
    p.extend_from_slice(dst);
    p.extend_from_slice(&[kind, 0, 0, 0]);
    p.extend_from_slice(&ident.to_be_bytes());
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(payload);
    let sum = checksum(src, dst, &p[IPV6_HEADER_LEN..]);
    p[IPV6_HEADER_LEN + 2..IPV6_HEADER_LEN + 4].copy_from_slice(&sum.to_be_bytes());
    p
}

/// `None` unless `packet` is an IPv6 packet carrying an ICMPv6 echo request or reply.
pub fn parse_echo(packet: &[u8]) -> Option<Echo<'_>> {
    let header = packet.get(..IPV6_HEADER_LEN)?;
    if header[0] >> 4 != 6 || header[6] != NEXT_HEADER_ICMPV6 {
        return None;
    }
    let body_len = u16::from_be_bytes([header[4], header[5]]) as usize;
    let body = packet.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + body_len)?;
    if body.len() < ECHO_HEADER_LEN || !matches!(body[0], ECHO_REQUEST | ECHO_REPLY) {
        return None;
    }
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&header[8..24]);
    dst.copy_from_slice(&header[24..40]);
    // Summing a message that includes its own checksum gives zero when it is intact.
    let checksum_ok = checksum(&src, &dst, body) == 0;
    Some(Echo {
        src,
        dst,
        kind: body[0],
        ident: u16::from_be_bytes([body[4], body[5]]),
        seq: u16::from_be_bytes([body[6], body[7]]),
        payload: &body[ECHO_HEADER_LEN..],
        checksum_ok,
    })
}

/// The ICMPv6 checksum (RFC 4443 §2.3): one's complement sum over the pseudo-header and the
/// message.
fn checksum(src: &[u8; 16], dst: &[u8; 16], message: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).copied().map(u32::from).unwrap_or(0);
            sum += hi | lo;
        }
    };
    add(src);
    add(dst);
    add(&(message.len() as u32).to_be_bytes());
    add(&[0, 0, 0, NEXT_HEADER_ICMPV6]);
    add(message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_round_trips_with_a_valid_checksum() {
        let src = [0xfc; 16];
        let mut dst = [0xfc; 16];
        dst[15] = 1;
        let p = echo_packet(&src, &dst, ECHO_REQUEST, 7, 3, b"odd");
        let e = parse_echo(&p).unwrap();
        assert!(e.checksum_ok);
        assert_eq!(
            (e.kind, e.ident, e.seq, e.payload),
            (ECHO_REQUEST, 7, 3, &b"odd"[..])
        );
        let mut bad = p.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(!parse_echo(&bad).unwrap().checksum_ok);
        // The hop limit is not covered by the checksum (the node rewrites it to 42).
        let mut relayed = p;
        relayed[7] = 42;
        assert!(parse_echo(&relayed).unwrap().checksum_ok);
    }

    #[test]
    fn known_checksum() {
        // fe80::1 -> fe80::2 echo request id 1 seq 1, no payload: sum computed by hand.
        let mut a = [0u8; 16];
        a[0] = 0xfe;
        a[1] = 0x80;
        let mut b = a;
        a[15] = 1;
        b[15] = 2;
        let p = echo_packet(&a, &b, ECHO_REQUEST, 1, 1, &[]);
        // 2 * 0xfe80 + 1 + 2 + length 8 + 58 + 0x8000 + id 1 + seq 1 = 0x2_7d47,
        // folded 0x7d49, complemented 0x82b6.
        assert_eq!(u16::from_be_bytes([p[42], p[43]]), 0x82b6);
    }
}
