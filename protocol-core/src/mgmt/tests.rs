extern crate std;
use super::*;
use crate::node::PeerStats;
use crate::peering::{LinkAddr, LinkId, PeerCounters, PeerState, ShortName};

fn frame_of<T: Serialize>(seq: u16, body: &T) -> ([u8; MAX_FRAME_LEN], usize) {
    let mut out = [0u8; MAX_FRAME_LEN];
    let n = encode_frame(seq, body, &mut out).expect("encodes");
    (out, n)
}

fn decode_whole<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<Envelope<T>, FrameError> {
    let mut dec = FrameDecoder::<MAX_FRAME_LEN>::new();
    let (used, event) = dec.push(bytes);
    assert_eq!(used, bytes.len(), "one frame consumes everything");
    match event {
        Some(FrameEvent::Frame(f)) => decode_frame(f),
        other => panic!("expected a frame, got {other:?}"),
    }
}

/// The wire format, pinned: seq 0x0102, `Request::GetPeers { page: 3 }`.
#[test]
fn get_peers_frame_bytes() {
    let (out, n) = frame_of(0x0102, &Request::GetPeers { page: 3 });
    // postcard: seq varint 0x82 0x02, variant 4, page 3; then CRC-32 (LE) of those 4 bytes.
    let body = [0x82, 0x02, 0x04, 0x03];
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&body);
    let mut raw = body.to_vec();
    raw.extend_from_slice(&crc.to_le_bytes());
    // COBS of `raw` (no zero inside unless the CRC has one) plus the delimiter.
    let mut expected = [0u8; 16];
    let m = cobs::encode(&raw, &mut expected);
    assert_eq!(&out[..n - 1], &expected[..m]);
    assert_eq!(out[n - 1], 0);
    assert_eq!(
        decode_whole::<Request>(&out[..n]),
        Ok(Envelope {
            seq: 0x0102,
            body: Request::GetPeers { page: 3 }
        })
    );
}

fn full_string<const N: usize>(c: char) -> heapless::String<N> {
    let mut s = heapless::String::new();
    while s.push(c).is_ok() {}
    s
}

fn worst_peer() -> PeerStats {
    PeerStats {
        key: PublicKey([0xff; 32]),
        link: LinkId(u8::MAX),
        addr: LinkAddr::Udp6 {
            ip: [0xff; 16],
            port: u16::MAX,
        },
        label: u64::MAX,
        version: u32::MAX,
        state: PeerState::Unresponsive,
        is_incoming: true,
        is_up: true,
        user: ShortName::new("u".repeat(64).as_bytes()),
        name: ShortName::new("n".repeat(64).as_bytes()),
        lladdr: crate::wire::control::LlAddrField([0xff; crate::wire::control::LLADDR_ADDR_LEN]),
        counters: all_max_counters(),
    }
}

fn all_max_counters() -> PeerCounters {
    // Every field at its maximum: the largest varints postcard can produce.
    PeerCounters {
        bytes_in: u64::MAX,
        bytes_out: u64::MAX,
        packets_in: u64::MAX,
        packets_out: u64::MAX,
        duplicates: u32::MAX,
        lost: u32::MAX,
        out_of_range: u32::MAX,
        last_seen_ms: u64::MAX,
        kbps_in: u32::MAX,
        kbps_out: u32::MAX,
    }
}

/// The largest response of each kind fits in one frame: the device can never be asked for
/// something it cannot send.
#[test]
fn worst_case_responses_fit() {
    let mut peers = heapless::Vec::new();
    while peers.push(worst_peer()).is_ok() {}
    let row = SessionRow {
        ip6: Ip6([0xff; 16]),
        key: PublicKey([0xff; 32]),
        version: u32::MAX,
        state: SessionState::Established,
        best_label: u64::MAX,
        metric: u32::MAX,
        packets_in: u64::MAX,
        packets_out: u64::MAX,
        duplicates: u32::MAX,
        lost_packets: u32::MAX,
    };
    let mut sessions = heapless::Vec::new();
    while sessions.push(row).is_ok() {}
    let stats = DeviceStats {
        uptime_ms: u64::MAX,
        peers: u16::MAX,
        sessions: u16::MAX,
        node_store: u16::MAX,
        memory: MemoryStats {
            static_ram_bytes: u32::MAX,
            stack_bytes: u32::MAX,
            stack_high_water_bytes: u32::MAX,
            node_bytes: u32::MAX,
        },
        ..max_counters_stats()
    };
    let responses = [
        Response::Peers {
            page: u8::MAX,
            total: u16::MAX,
            peers,
        },
        Response::Sessions {
            page: u8::MAX,
            total: u16::MAX,
            sessions,
        },
        Response::Stats(stats),
        Response::Hello {
            protocol: u16::MAX,
            board: full_string('b'),
            firmware: full_string('f'),
        },
    ];
    for r in &responses {
        let (out, n) = frame_of(u16::MAX, r);
        assert!(n <= MAX_FRAME_LEN);
        assert_eq!(
            decode_whole::<Response>(&out[..n]).map(|e| e.body).as_ref(),
            Ok(r)
        );
    }
    let add = Request::AddUdpPeer(UdpPeer {
        addr: SocketAddr::V6 {
            ip: [0xff; 16],
            port: u16::MAX,
        },
        public_key: [0xff; 32],
        password: full_string('p'),
        login: full_string('l'),
        peer_name: full_string('n'),
    });
    let (out, n) = frame_of(u16::MAX, &add);
    assert_eq!(decode_whole::<Request>(&out[..n]).map(|e| e.body), Ok(add));
}

fn max_counters_stats() -> DeviceStats {
    // Every counter at its maximum: the largest varints postcard can produce.
    let mut s = DeviceStats::default();
    s.switch.forwarded = u64::MAX;
    s.switch.delivered_to_router = u64::MAX;
    s.switch.errors_sent = u64::MAX;
    s.switch.dropped_runt = u64::MAX;
    s.switch.dropped_runt_cause = u64::MAX;
    s.switch.dropped_errors_suppressed = u64::MAX;
    s.switch.dropped_label_shift_overflow = u64::MAX;
    s.switch.dropped_unknown_source = u64::MAX;
    s.switch.dropped_error_buffer_too_small = u64::MAX;
    s.peering.frames_in = u64::MAX;
    s.peering.frames_bad_link_header = u64::MAX;
    s.peering.frames_unknown_link = u64::MAX;
    s.peering.hellos_accepted = u64::MAX;
    s.peering.hellos_refused = u64::MAX;
    s.peering.refused_table_full = u64::MAX;
    s.peering.evicted_unresponsive = u64::MAX;
    s.peering.decrypt_failed = u64::MAX;
    s.peering.dropped_not_established = u64::MAX;
    s.peering.dropped_incompatible = u64::MAX;
    s.peering.beacons_sent = u64::MAX;
    s.peering.beacons_accepted = u64::MAX;
    s.peering.beacons_ignored = u64::MAX;
    s.peering.pings_sent = u64::MAX;
    s.peering.pongs_matched = u64::MAX;
    s.peering.pongs_unmatched = u64::MAX;
    s.peering.switch_errors_sent = u64::MAX;
    s.peering.switch_dropped = u64::MAX;
    s.peering.encrypt_failed = u64::MAX;
    s.control.pings_answered = u64::MAX;
    s.control.keypings_answered = u64::MAX;
    s.control.rpath_answered = u64::MAX;
    s.control.getsnode_answered = u64::MAX;
    s.control.lladdr_answered = u64::MAX;
    s.control.keepalive_pongs = u64::MAX;
    s.control.other_responses = u64::MAX;
    s.control.errors_received = u64::MAX;
    s.control.dropped_invalid = u64::MAX;
    s.control.dropped_version = u64::MAX;
    s.control.dropped_not_one_hop = u64::MAX;
    s.node.runt_delivered = u64::MAX;
    s.node.cjdht_queue_full = u64::MAX;
    s.node.notice_queue_full = u64::MAX;
    s.node.drain_limit_hit = u64::MAX;
    s
}

#[test]
fn corruption_is_detected_not_misread() {
    let (out, n) = frame_of(7, &Request::Reboot);
    for i in 0..n - 1 {
        for bit in 0..8 {
            let mut bad = out;
            bad[i] ^= 1 << bit;
            if bad[i] == 0 {
                continue; // becomes a delimiter: a different, shorter frame
            }
            let r = decode_whole::<Request>(&bad[..n]);
            assert!(
                matches!(
                    r,
                    Err(FrameError::BadCrc | FrameError::BadCobs | FrameError::TooShort)
                ),
                "flip of byte {i} bit {bit} gave {r:?}"
            );
        }
    }
}

#[test]
fn unknown_body_keeps_seq() {
    // A variant number no Request has, with a valid CRC.
    let body = [0x2a, 0x7f];
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&body);
    let mut raw = body.to_vec();
    raw.extend_from_slice(&crc.to_le_bytes());
    let mut enc = [0u8; 16];
    let m = cobs::encode(&raw, &mut enc);
    assert_eq!(
        decode_frame::<Request>(&mut enc[..m]),
        Err(FrameError::UnknownBody { seq: 42 })
    );
}

#[test]
fn decoder_splits_stream_and_survives_oversize() {
    let (a, na) = frame_of(1, &Request::Hello);
    let (b, nb) = frame_of(2, &Request::GetStats);
    let mut stream = std::vec::Vec::new();
    stream.extend_from_slice(&[0, 0]); // flush bytes are ignored
    stream.extend_from_slice(&[0x55; 40]); // garbage longer than the small buffer
    stream.push(0);
    stream.extend_from_slice(&a[..na]);
    stream.extend_from_slice(&b[..nb]);
    let mut dec = FrameDecoder::<32>::new();
    let mut seen = std::vec::Vec::new();
    // Feed one byte at a time: frames may arrive in any fragmentation.
    for chunk in stream.chunks(1) {
        let mut rest = chunk;
        while !rest.is_empty() {
            let (used, ev) = dec.push(rest);
            match ev {
                Some(FrameEvent::Frame(f)) => seen.push(std::format!(
                    "{:?}",
                    decode_frame::<Request>(f).map(|e| e.seq)
                )),
                Some(FrameEvent::Oversized) => seen.push("oversized".into()),
                None => {}
            }
            rest = &rest[used..];
        }
    }
    assert_eq!(seen, ["oversized", "Ok(1)", "Ok(2)"]);
}

#[test]
fn too_small_output_is_an_error() {
    let mut out = [0u8; 3];
    assert_eq!(
        encode_frame(1, &Request::Hello, &mut out),
        Err(FrameError::BufferTooSmall)
    );
}
