//! Property tests: for every wire format, `emit(parse(x)) == x` on byte strings the format
//! can represent, `parse(emit(r)) == r` on reprs, and parsers never panic on junk.

use proptest::collection::vec;
use proptest::prelude::*;
use protocol_core::identity::{Ip6, PublicKey};
use protocol_core::wire::beacon::{BeaconRepr, UdpBeaconHeaderRepr};
use protocol_core::wire::control::{
    checksum, ControlFrame, ControlRepr, ControlType, ErrorType, GetSnode, LlAddrField,
    ERROR_CAUSE_MAX_LEN,
};
use protocol_core::wire::data_header::{ContentType, DataHeaderRepr};
use protocol_core::wire::eth::EthHeaderRepr;
use protocol_core::wire::ipv6::{rebuild_ipv6, strip_ipv6};
use protocol_core::wire::route_header::RouteHeaderRepr;
use protocol_core::wire::switch_packet::{classify_switch_packet, SwitchPayloadKind};
use protocol_core::wire::{emit_error, SwitchHeaderRepr};

/// Bytes of a control frame with a chosen type, body and a correct checksum.
fn frame_with(type_code: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff, 0xff, 0xff, 0xff, 0, 0];
    f.extend_from_slice(&type_code.to_be_bytes());
    f.extend_from_slice(body);
    ControlFrame::new_unchecked(&mut f[..]).fill_checksum();
    f
}

fn magic_for(t: ControlType) -> u32 {
    use protocol_core::wire::control::*;
    match t {
        ControlType::Error => 0,
        ControlType::Ping => PING_MAGIC,
        ControlType::Pong => PONG_MAGIC,
        ControlType::KeyPing => KEYPING_MAGIC,
        ControlType::KeyPong => KEYPONG_MAGIC,
        ControlType::GetSnodeQuery => GETSNODE_QUERY_MAGIC,
        ControlType::GetSnodeReply => GETSNODE_REPLY_MAGIC,
        ControlType::RPathQuery => RPATH_QUERY_MAGIC,
        ControlType::RPathReply => RPATH_REPLY_MAGIC,
        ControlType::LlAddrQuery => LLADDR_QUERY_MAGIC,
        ControlType::LlAddrReply => LLADDR_REPLY_MAGIC,
    }
}

fn check_repr_round_trip(repr: &ControlRepr<'_>) -> Result<(), TestCaseError> {
    let mut out = vec![0u8; repr.buffer_len()];
    let n = repr.emit(&mut out).unwrap();
    prop_assert_eq!(n, out.len());
    prop_assert_eq!(checksum(&out[4..]), 0);
    let back = ControlRepr::parse(&out).unwrap();
    prop_assert_eq!(&back, repr);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn switch_header_bytes_round_trip(bytes in prop::array::uniform12(any::<u8>())) {
        let repr = SwitchHeaderRepr::parse_bytes(&bytes).unwrap();
        let mut out = [0u8; 12];
        repr.emit(&mut out).unwrap();
        prop_assert_eq!(out, bytes);
    }

    /// Any type code, a body that starts with the right magic (so most parse), a good
    /// checksum: whatever parses re-emits to the same bytes.
    #[test]
    fn control_bytes_round_trip(
        type_code in 0u16..14,
        version in any::<u32>(),
        mut body in vec(any::<u8>(), 0..400),
    ) {
        if let Some(t) = ControlType::from_u16(type_code) {
            if body.len() >= 8 && t != ControlType::Error {
                body[..4].copy_from_slice(&magic_for(t).to_be_bytes());
                body[4..8].copy_from_slice(&version.to_be_bytes());
            }
            if t == ControlType::Error && body.len() >= 4 {
                body[..4].copy_from_slice(&(version % 16).to_be_bytes());
            }
        }
        let frame = frame_with(type_code, &body);
        if let Ok(repr) = ControlRepr::parse(&frame) {
            let mut out = vec![0u8; frame.len()];
            prop_assert_eq!(repr.emit(&mut out).unwrap(), frame.len());
            prop_assert_eq!(out, frame);
        }
    }

    #[test]
    fn control_junk_never_panics(bytes in vec(any::<u8>(), 0..300), fix in any::<bool>()) {
        let mut bytes = bytes;
        if fix && bytes.len() >= 8 {
            bytes[..4].copy_from_slice(&[0xff; 4]);
            ControlFrame::new_unchecked(&mut bytes[..]).fill_checksum();
        }
        if let Ok(repr) = ControlRepr::parse(&bytes) {
            let mut out = vec![0u8; bytes.len()];
            prop_assert_eq!(repr.emit(&mut out).unwrap(), bytes.len());
            prop_assert_eq!(out, bytes);
        }
    }

    #[test]
    fn ping_pong_reprs(version in any::<u32>(), data in vec(any::<u8>(), 0..=256), pong in any::<bool>()) {
        let repr = if pong {
            ControlRepr::Pong { version, data: &data }
        } else {
            ControlRepr::Ping { version, data: &data }
        };
        check_repr_round_trip(&repr)?;
    }

    #[test]
    fn keyping_reprs(
        version in any::<u32>(),
        key in prop::array::uniform32(any::<u8>()),
        data in vec(any::<u8>(), 0..=64),
        pong in any::<bool>(),
    ) {
        let key = PublicKey(key);
        let repr = if pong {
            ControlRepr::KeyPong { version, key, data: &data }
        } else {
            ControlRepr::KeyPing { version, key, data: &data }
        };
        check_repr_round_trip(&repr)?;
    }

    #[test]
    fn getsnode_reprs(
        version in any::<u32>(),
        snode_version in any::<u32>(),
        kbps in any::<u32>(),
        snode_key in prop::array::uniform32(any::<u8>()),
        path_to_snode in any::<u64>(),
        data in vec(any::<u8>(), 0..40),
        reply in any::<bool>(),
    ) {
        let s = GetSnode { version, snode_version, kbps, snode_key, path_to_snode, data: &data };
        let repr = if reply { ControlRepr::GetSnodeReply(s) } else { ControlRepr::GetSnodeQuery(s) };
        check_repr_round_trip(&repr)?;
    }

    #[test]
    fn rpath_and_lladdr_reprs(
        version in any::<u32>(),
        path in any::<u64>(),
        raw in prop::array::uniform32(any::<u8>()),
        data in vec(any::<u8>(), 0..40),
        which in 0u8..4,
    ) {
        let addr = LlAddrField(raw);
        let repr = match which {
            0 => ControlRepr::RPathQuery { version, path, data: &data },
            1 => ControlRepr::RPathReply { version, path, data: &data },
            2 => ControlRepr::LlAddrQuery { version, addr, data: &data },
            _ => ControlRepr::LlAddrReply { version, addr, data: &data },
        };
        check_repr_round_trip(&repr)?;
    }

    #[test]
    fn emit_error_keeps_at_most_256_cause_bytes(
        code in 0u32..14,
        cause in vec(any::<u8>(), 16..600),
    ) {
        let error_type = ErrorType::from_u32(code).unwrap();
        prop_assert_eq!(error_type.as_u32(), code);
        let mut out = vec![0u8; 400];
        let n = emit_error(&mut out, error_type, &cause).unwrap();
        let kept = cause.len().min(ERROR_CAUSE_MAX_LEN);
        prop_assert_eq!(n, 12 + kept);
        let repr = ControlRepr::parse(&out[..n]).unwrap();
        prop_assert_eq!(repr, ControlRepr::Error { error_type, cause: &cause[..kept] });
        let c = repr.error_cause().unwrap();
        prop_assert_eq!(c.switch_header(), SwitchHeaderRepr::parse_bytes(&cause).unwrap());
        prop_assert_eq!(c.handle(), u32::from_be_bytes(cause[12..16].try_into().unwrap()));
    }

    #[test]
    fn eth_bytes_round_trip(bytes in vec(any::<u8>(), 0..200), shape in any::<bool>()) {
        let mut bytes = bytes;
        if shape && bytes.len() >= 6 {
            let len = (bytes[2] as usize % bytes.len()) as u16;
            bytes[..6].copy_from_slice(&[0, 0, (len >> 8) as u8, len as u8, 0xfc, 0]);
        }
        if let Ok((repr, payload)) = EthHeaderRepr::parse(&bytes) {
            prop_assert_eq!(repr.payload_len, payload.len());
            let mut out = vec![0u8; 6 + payload.len()];
            EthHeaderRepr::emit_frame(payload, &mut out).unwrap();
            // The zero byte is not checked, so it is the only byte allowed to differ.
            let mut expect = bytes[..out.len()].to_vec();
            expect[1] = 0;
            prop_assert_eq!(out, expect);
        }
    }

    #[test]
    fn beacon_bytes_round_trip(bytes in prop::array::uniform32(any::<u8>()), more in vec(any::<u8>(), 24)) {
        let mut raw = more.clone();
        raw.extend_from_slice(&bytes);
        let repr = BeaconRepr::parse(&raw).unwrap();
        let mut out = [0u8; 56];
        repr.emit(&mut out).unwrap();
        prop_assert_eq!(&out[..], &raw[..]);
    }

    #[test]
    fn udp_beacon_header_round_trip(bytes in prop::array::uniform8(any::<u8>()), shape in any::<bool>()) {
        let mut bytes = bytes;
        if shape {
            bytes[..6].copy_from_slice(&[0xff, 0xff, 0xff, 0xfc, 0, 0]);
        }
        if let Ok(repr) = UdpBeaconHeaderRepr::parse(&bytes) {
            let mut out = [0u8; 8];
            repr.emit(&mut out).unwrap();
            prop_assert_eq!(out, bytes);
        } else {
            prop_assert!(!shape);
        }
    }

    #[test]
    fn data_header_round_trip(b0 in any::<u8>(), ct in any::<u16>()) {
        let bytes = [b0, 0, (ct >> 8) as u8, ct as u8];
        let repr = DataHeaderRepr::parse_bytes(&bytes).unwrap();
        prop_assert_eq!(repr.content_type, ContentType::from_u16(ct));
        prop_assert_eq!(repr.content_type.as_u16(), ct);
        let mut out = [0u8; 4];
        repr.emit(&mut out).unwrap();
        prop_assert_eq!(out, bytes);
    }

    #[test]
    fn route_header_round_trip(mut bytes in vec(any::<u8>(), 68)) {
        bytes[49..52].fill(0);
        let repr = RouteHeaderRepr::parse(&bytes).unwrap();
        let mut out = [0u8; 68];
        repr.emit(&mut out).unwrap();
        prop_assert_eq!(&out[..], &bytes[..]);
    }

    /// A packet in the shape the reference rebuilds survives strip + rebuild unchanged.
    #[test]
    fn ipv6_strip_rebuild(
        next_header in any::<u8>(),
        src in prop::array::uniform16(any::<u8>()),
        dst in prop::array::uniform16(any::<u8>()),
        payload in vec(any::<u8>(), 0..300),
        headroom in 0usize..8,
    ) {
        let mut packet = vec![0x60, 0, 0, 0];
        packet.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        packet.extend_from_slice(&[next_header, 42]);
        packet.extend_from_slice(&src);
        packet.extend_from_slice(&dst);
        packet.extend_from_slice(&payload);
        let s = strip_ipv6(&packet).unwrap();
        prop_assert_eq!(s.content_type, ContentType::Ip6(next_header));
        prop_assert_eq!(s.src, Ip6(src));
        prop_assert_eq!(s.dst, Ip6(dst));

        let start = 40 + headroom;
        let mut buf = vec![0xa5u8; start + payload.len()];
        buf[start..].copy_from_slice(&packet[s.payload.clone()]);
        let end = buf.len();
        let whole = rebuild_ipv6(&mut buf, start..end, &s.src, &s.dst, s.content_type).unwrap();
        prop_assert_eq!(&buf[whole], &packet[..]);
    }

    #[test]
    fn ipv6_junk_never_panics(bytes in vec(any::<u8>(), 0..100)) {
        if let Ok(s) = strip_ipv6(&bytes) {
            prop_assert_eq!(bytes[0] >> 4, 6);
            prop_assert_eq!(s.payload.end, bytes.len());
        }
    }

    #[test]
    fn classifier_is_total_and_consistent(bytes in vec(any::<u8>(), 0..160), first in prop::sample::select(vec![0u32, 1, 2, 3, 4, 99, 0xffff_ffff])) {
        let mut bytes = bytes;
        if bytes.len() >= 16 {
            bytes[12..16].copy_from_slice(&first.to_be_bytes());
        }
        if let Ok(kind) = classify_switch_packet(&bytes) {
            let v = u32::from_be_bytes(bytes[12..16].try_into().unwrap());
            match kind {
                SwitchPayloadKind::Control => prop_assert_eq!(v, 0xffff_ffff),
                SwitchPayloadKind::Handshake { state } => {
                    prop_assert!(state <= 3 && bytes.len() >= 136);
                }
                SwitchPayloadKind::Data { handle } => {
                    prop_assert!(handle > 3 && handle != 0xffff_ffff && bytes.len() >= 36);
                }
            }
        }
    }
}
