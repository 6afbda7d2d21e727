//! Round trips of the serial management protocol through the framing, for arbitrary
//! requests and byte streams.
use proptest::prelude::*;
use protocol_core::mgmt::{
    decode_frame, encode_frame, Envelope, FrameDecoder, FrameEvent, Request, SocketAddr, UdpPeer,
    MAX_FRAME_LEN, MAX_NAME_LEN, MAX_PASSWORD_LEN,
};

fn hstring<const N: usize>() -> impl Strategy<Value = heapless::String<N>> {
    proptest::collection::vec(any::<char>(), 0..N).prop_map(|chars| {
        let mut s = heapless::String::new();
        for c in chars {
            if s.push(c).is_err() {
                break;
            }
        }
        s
    })
}

fn request() -> impl Strategy<Value = Request> {
    let addr = prop_oneof![
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::V4 { ip, port }),
        (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::V6 { ip, port }),
    ];
    prop_oneof![
        Just(Request::Hello),
        Just(Request::GetIdentity),
        any::<[u8; 32]>().prop_map(|private_key| Request::SetIdentity { private_key }),
        Just(Request::GetStats),
        any::<u8>().prop_map(|page| Request::GetPeers { page }),
        any::<u8>().prop_map(|page| Request::GetSessions { page }),
        (
            addr,
            any::<[u8; 32]>(),
            hstring::<MAX_PASSWORD_LEN>(),
            hstring::<MAX_NAME_LEN>(),
            hstring::<MAX_NAME_LEN>()
        )
            .prop_map(|(addr, public_key, password, login, peer_name)| {
                Request::AddUdpPeer(UdpPeer {
                    addr,
                    public_key,
                    password,
                    login,
                    peer_name,
                })
            }),
        any::<[u8; 32]>().prop_map(|public_key| Request::RemoveUdpPeer { public_key }),
        (hstring::<MAX_NAME_LEN>(), hstring::<MAX_PASSWORD_LEN>())
            .prop_map(|(user, password)| Request::AddPassword { user, password }),
        hstring::<MAX_NAME_LEN>().prop_map(|user| Request::RemovePassword { user }),
        Just(Request::Reboot),
    ]
}

proptest! {
    #[test]
    fn request_round_trips(seq in any::<u16>(), req in request(), split in 1usize..64) {
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = encode_frame(seq, &req, &mut out).expect("every request fits");
        prop_assert_eq!(out[n - 1], 0);
        prop_assert!(!out[..n - 1].contains(&0), "COBS leaves no zero inside a frame");
        let mut dec = FrameDecoder::<MAX_FRAME_LEN>::new();
        let mut got = None;
        for chunk in out[..n].chunks(split) {
            let mut rest = chunk;
            while !rest.is_empty() {
                let (used, ev) = dec.push(rest);
                if let Some(FrameEvent::Frame(f)) = ev {
                    got = Some(decode_frame::<Request>(f));
                }
                rest = &rest[used..];
            }
        }
        prop_assert_eq!(got, Some(Ok(Envelope { seq, body: req })));
    }

    /// Any byte stream: the decoder never panics and every frame it yields decodes to a
    /// value or a typed error.
    #[test]
    fn arbitrary_streams_are_total(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut dec = FrameDecoder::<64>::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let (used, ev) = dec.push(rest);
            prop_assert!(used > 0);
            if let Some(FrameEvent::Frame(f)) = ev {
                let _ = decode_frame::<Request>(f);
            }
            rest = &rest[used..];
        }
    }
}
