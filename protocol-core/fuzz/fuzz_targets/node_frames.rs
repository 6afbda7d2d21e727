//! A whole node under hostile links: the fuzz input is a sequence of frames, each on a
//! chosen link (UDP or Ethernet), from a chosen address, optionally as a broadcast, with
//! time jumps and TUN packets in between. Nothing may panic and tables stay bounded.
#![no_main]
use libfuzzer_sys::fuzz_target;
use protocol_core::crypto::testing::ScriptedRng;
use protocol_core::identity::PrivateKey;
use protocol_core::node::{Event, Io, Node, IPV6_HEADROOM, NODE_HEADROOM};
use protocol_core::peering::{BeaconMode, LinkAddr, LinkId, LinkKind};

struct NullIo;

impl Io for NullIo {
    fn transmit(&mut self, _link: LinkId, _to: &LinkAddr, frame: &[u8]) {
        assert!(frame.len() <= 4096, "node emitted an oversize frame");
    }
    fn deliver_ipv6(&mut self, packet: &[u8]) {
        assert!(packet.len() >= 40);
    }
    fn event(&mut self, _event: Event) {}
}

fuzz_target!(|data: &[u8]| {
    let mut rng = ScriptedRng::new(&[], 7);
    let key = PrivateKey([
        0x88, 0x9e, 0xa1, 0xf2, 0x8b, 0x69, 0x39, 0x6d, 0xab, 0x10, 0x17, 0x2b, 0xe2, 0xf6, 0x69,
        0x5a, 0xd6, 0x33, 0x65, 0x97, 0x72, 0x5e, 0x13, 0xaf, 0xba, 0xd6, 0xe3, 0x5e, 0xaf, 0x9d,
        0x5a, 0x6f,
    ]);
    let mut node: Box<Node<4, 4, 16>> = Box::new(Node::new(key, &mut rng));
    let Ok(udp) = node.add_link(LinkKind::Udp) else {
        return;
    };
    let Ok(eth) = node.add_link(LinkKind::Ethernet) else {
        return;
    };
    let _ = node.set_beacon(eth, BeaconMode::Accept);
    let _ = node.add_password(b"pw", None);
    let mut io = NullIo;
    let mut now = 1u64;
    let mut buf = vec![0u8; IPV6_HEADROOM + 2048];

    // Each record: [flags][len][bytes...]
    let mut rest = data;
    while let [flags, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        now += u64::from(flags >> 5) * 700;
        let from_byte = flags & 0x03;
        match (flags >> 2) & 0x07 {
            0 | 1 => {
                let from = LinkAddr::Udp4 {
                    ip: [127, 0, 0, 1],
                    port: 1000 + u16::from(from_byte),
                };
                buf[NODE_HEADROOM..NODE_HEADROOM + len].copy_from_slice(frame);
                node.handle_frame(
                    udp,
                    &from,
                    false,
                    &mut buf,
                    NODE_HEADROOM,
                    len,
                    now,
                    &mut rng,
                    &mut io,
                );
            }
            2 | 3 => {
                let from = LinkAddr::Mac([2, 0, 0, 0, 0, from_byte]);
                let broadcast = flags & 0x10 != 0;
                buf[NODE_HEADROOM..NODE_HEADROOM + len].copy_from_slice(frame);
                node.handle_frame(
                    eth,
                    &from,
                    broadcast,
                    &mut buf,
                    NODE_HEADROOM,
                    len,
                    now,
                    &mut rng,
                    &mut io,
                );
            }
            4 => {
                buf[IPV6_HEADROOM..IPV6_HEADROOM + len].copy_from_slice(frame);
                node.handle_ipv6(&mut buf, IPV6_HEADROOM, len, now, &mut rng, &mut io);
            }
            _ => node.poll(now, &mut rng, &mut io),
        }
    }
    node.poll(now + 300_000, &mut rng, &mut io);
    let stats = node.stats();
    assert!(stats.peers.iter().flatten().count() <= 4);
});
