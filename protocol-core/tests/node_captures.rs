//! The node against the reference's own bytes (captures/eth-fc00-vAB): it accepts a real
//! cjdns beacon and answers it the way cjdns did (a 172-byte AuthType-2 Hello carrying the
//! keepalive ping), its own beacon has the captured layout, and it answers the captured
//! keepalive ping.

mod common;

use protocol_core::control::{ControlAction, ControlHandler};
use protocol_core::crypto::header::{AuthType, HandshakePacket, PacketKind};
use protocol_core::identity::{generate_keypair, PublicKey};
use protocol_core::node::{BeaconMode, Event, Io, LinkAddr, LinkId, LinkKind, Node, NODE_HEADROOM};
use protocol_core::wire::ControlRepr;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[derive(Default)]
struct Rec {
    sent: Vec<(LinkId, LinkAddr, Vec<u8>)>,
    events: Vec<Event>,
}

impl Io for Rec {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        self.sent.push((link, *to, frame.to_vec()));
    }
    fn deliver_ipv6(&mut self, _packet: &[u8]) {}
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

fn mac(text: &str) -> [u8; 6] {
    let v: Vec<u8> = text
        .split(':')
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

fn capture() -> Vec<serde_json::Value> {
    common::reference_json("captures/eth-fc00-vAB.decoded.json")
        .as_array()
        .expect("capture is a list of packets")
        .clone()
}

#[test]
fn captured_beacon_is_answered_with_a_local_peers_hello() {
    let packets = capture();
    let beacon = packets
        .iter()
        .find(|p| p["beacon"].is_object() && p["n"] == 1)
        .expect("beacon n=1 in capture");
    let beacon_hex = beacon["beacon"]["hex"].as_str().unwrap();
    let from = LinkAddr::Mac(mac(beacon["src"].as_str().unwrap()));
    let mut frame = vec![0u8, 0, 0, 62, 0xfc, 0];
    frame.extend_from_slice(&common::unhex(beacon_hex));

    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let (private, public, _) = generate_keypair(&mut rng);
    let mut node = Node::<8, 16, 128>::new(private, &mut rng);
    let link = node.add_link(LinkKind::Ethernet).unwrap();
    node.set_beacon(link, BeaconMode::Accept).unwrap();
    let mut io = Rec::default();
    let mut buf = vec![0u8; NODE_HEADROOM + frame.len()];
    buf[NODE_HEADROOM..].copy_from_slice(&frame);
    node.handle_frame(
        link,
        &from,
        true,
        &mut buf,
        NODE_HEADROOM,
        frame.len(),
        5_000,
        &mut rng,
        &mut io,
    );
    assert_eq!(node.stats().peer_count, 1);
    assert_eq!(io.sent.len(), 1, "exactly one answer: the Hello");
    let (l, to, hello) = &io.sent[0];
    assert_eq!((*l, *to), (link, from));
    // Same size and header as the Hello cjdns sent in the capture (n=2).
    let theirs = packets.iter().find(|p| p["n"] == 2).unwrap();
    assert_eq!(
        hello.len() + 14,
        theirs["frame_len"].as_u64().unwrap() as usize
    );
    assert_eq!(&hello[..6], &[0, 0, 0, 178, 0xfc, 0]);
    let h = HandshakePacket::new_checked(&hello[6..]).unwrap();
    assert_eq!(h.kind(), PacketKind::Hello);
    assert_eq!(h.auth_type(), AuthType::Login);
    assert_eq!(
        hex::encode(h.lookup()),
        theirs["outer"]["auth_lookup"].as_str().unwrap()
    );
    assert_eq!(h.permanent_key(), public.0);
    assert!(matches!(io.events[0], Event::PeerAdded { .. }));
}

#[test]
fn our_beacon_has_the_captured_layout() {
    let packets = capture();
    let theirs = &packets[0];
    let their_hex = common::unhex(theirs["beacon"]["hex"].as_str().unwrap());
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let (private, public, _) = generate_keypair(&mut rng);
    let mut node = Node::<8, 16, 128>::new(private, &mut rng);
    let link = node.add_link(LinkKind::Ethernet).unwrap();
    node.set_beacon(link, BeaconMode::Send).unwrap();
    let mut io = Rec::default();
    node.poll(1_000, &mut rng, &mut io);
    let beacons: Vec<_> = io
        .sent
        .iter()
        .filter(|(_, to, _)| *to == LinkAddr::Broadcast)
        .collect();
    assert_eq!(beacons.len(), 1);
    let b = &beacons[0].2;
    assert_eq!(b.len() + 14, theirs["frame_len"].as_u64().unwrap() as usize);
    assert_eq!(&b[..6], &[0, 0, 0, 62, 0xfc, 0]);
    assert_eq!(&b[6..10], &their_hex[..4], "version 21 as cjdns advertises");
    let password = &b[10..30];
    assert_eq!(password[19], 0);
    assert!(password[..19]
        .iter()
        .all(|c| b"0123456789bcdfghjklmnpqrstuvwxyz".contains(c)));
    assert_eq!(&b[30..62], &public.0);
    // The next beacon leaves 32768 ms later.
    let count = |io: &Rec| {
        io.sent
            .iter()
            .filter(|(_, to, _)| *to == LinkAddr::Broadcast)
            .count()
    };
    node.poll(1_000 + 32_767, &mut rng, &mut io);
    assert_eq!(count(&io), 1);
    node.poll(1_000 + 32_768, &mut rng, &mut io);
    assert_eq!(count(&io), 2);
}

#[test]
fn captured_keepalive_ping_is_answered() {
    let packets = capture();
    let ping = packets.iter().find(|p| p["n"] == 2).unwrap();
    let mut plain = common::unhex(ping["outer_plain_hex"].as_str().unwrap());
    let data = match ControlRepr::parse(&plain[12..]).unwrap() {
        ControlRepr::Ping { version, data } => {
            assert_eq!(version, 22);
            data.to_vec()
        }
        other => panic!("not a ping: {other:?}"),
    };
    assert!(data.ends_with(b"IFACE_CNTRLR") && data.len() == 24);
    let mut h = ControlHandler::new();
    let key = PublicKey([3; 32]);
    assert_eq!(h.handle(&mut plain, &key, |_| None), ControlAction::Reply);
    // The reply's label is the delivered label bit-reversed.
    assert_eq!(&plain[..8], &[0x80, 0, 0, 0, 0, 0, 0, 1]);
    match ControlRepr::parse(&plain[12..]).unwrap() {
        ControlRepr::Pong { version, data: d } => {
            assert_eq!(version, 22);
            assert_eq!(d, &data[..]);
        }
        other => panic!("not a pong: {other:?}"),
    }
}
