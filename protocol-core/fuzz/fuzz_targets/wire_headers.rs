//! Every fixed header parser on arbitrary bytes: switch header, ETH header, beacons, UDP
//! beacon header, DataHeader, RouteHeader, IPv6 strip/rebuild and the switch payload
//! classifier. Parses must not panic; what parses must re-emit to the same bytes (minus
//! the fields the reference ignores).
#![no_main]
use libfuzzer_sys::fuzz_target;
use protocol_core::identity::Ip6;
use protocol_core::wire::beacon::{parse_udp_beacon, BeaconRepr, UdpBeaconHeaderRepr};
use protocol_core::wire::data_header::DataHeaderRepr;
use protocol_core::wire::eth::EthHeaderRepr;
use protocol_core::wire::ipv6::{rebuild_ipv6, route_from_tun, strip_ipv6, IPV6_HEADER_LEN};
use protocol_core::wire::route_header::RouteHeaderRepr;
use protocol_core::wire::switch_packet::{classify_switch_packet, SwitchPayloadKind};
use protocol_core::wire::SwitchHeaderRepr;

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }

    if let Ok(repr) = SwitchHeaderRepr::parse_bytes(data) {
        let mut out = [0u8; 12];
        repr.emit(&mut out).unwrap();
        assert_eq!(&out[..], &data[..12]);
    }

    if let Ok(kind) = classify_switch_packet(data) {
        let first = u32::from_be_bytes([data[12], data[13], data[14], data[15]]);
        match kind {
            SwitchPayloadKind::Control => assert_eq!(first, 0xffff_ffff),
            SwitchPayloadKind::Handshake { state } => assert!(state == first && state <= 3),
            SwitchPayloadKind::Data { handle } => assert!(handle == first && handle > 3),
        }
    }

    if let Ok((repr, payload)) = EthHeaderRepr::parse(data) {
        let mut out = [0u8; 4096 + 6];
        let n = EthHeaderRepr::emit_frame(payload, &mut out).unwrap();
        assert_eq!(n, 6 + repr.payload_len);
        assert_eq!(out[1], 0);
        assert_eq!(out[0], data[0]);
        assert_eq!(&out[2..n], &data[2..n]);
    }

    if let Ok(beacon) = BeaconRepr::parse(data) {
        let mut out = [0u8; 56];
        beacon.emit(&mut out).unwrap();
        assert_eq!(&out[..], &data[..56]);
    }

    if let Ok(header) = UdpBeaconHeaderRepr::parse(data) {
        let mut out = [0u8; 8];
        header.emit(&mut out).unwrap();
        assert_eq!(&out[..], &data[..8]);
        let _ = parse_udp_beacon(data);
    }

    if let Ok(dh) = DataHeaderRepr::parse_bytes(data) {
        let mut out = [0u8; 4];
        dh.emit(&mut out).unwrap();
        assert_eq!([out[0], out[2], out[3]], [data[0], data[2], data[3]]);
        assert_eq!(DataHeaderRepr::parse_bytes(&out).unwrap(), dh);
    }

    if let Ok(rh) = RouteHeaderRepr::parse(data) {
        let mut out = [0u8; 68];
        rh.emit(&mut out).unwrap();
        assert_eq!(&out[..49], &data[..49]);
        assert_eq!(&out[52..], &data[52..68]);
        assert_eq!(RouteHeaderRepr::parse(&out).unwrap(), rh);
    }

    if let Ok(stripped) = strip_ipv6(data) {
        let _ = route_from_tun(&stripped, &Ip6([0xfc; 16]));
        let payload = &data[stripped.payload.clone()];
        if payload.len() <= u16::MAX as usize {
            let mut buf = [0u8; 4096 + IPV6_HEADER_LEN];
            let end = IPV6_HEADER_LEN + payload.len();
            buf[IPV6_HEADER_LEN..end].copy_from_slice(payload);
            let whole = rebuild_ipv6(
                &mut buf,
                IPV6_HEADER_LEN..end,
                &stripped.src,
                &stripped.dst,
                stripped.content_type,
            )
            .unwrap();
            let rebuilt = &buf[whole];
            assert_eq!(rebuilt.len(), data.len());
            // Version, next header, addresses and payload survive; tc/flow/hop are reset.
            assert_eq!(rebuilt[0], 0x60);
            assert_eq!(rebuilt[6], data[6]);
            assert_eq!(rebuilt[7], 42);
            assert_eq!(&rebuilt[8..], &data[8..]);
            assert_eq!(
                usize::from(u16::from_be_bytes([rebuilt[4], rebuilt[5]])),
                payload.len()
            );
        }
    }
});
