//! Any bytes from any address on any link kind: the node never panics and its tables stay
//! within their bounds.

use proptest::prelude::*;
use protocol_core::identity::{generate_keypair, PrivateKey};
use protocol_core::node::{BeaconMode, Event, Io, LinkAddr, LinkId, LinkKind, Node, NODE_HEADROOM};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::sync::OnceLock;

struct Sink(usize);

impl Io for Sink {
    fn transmit(&mut self, _link: LinkId, _to: &LinkAddr, frame: &[u8]) {
        assert!(frame.len() <= 1600);
        self.0 += 1;
    }
    fn deliver_ipv6(&mut self, _packet: &[u8]) {}
    fn event(&mut self, _event: Event) {}
}

/// Key generation is slow in debug builds; one key serves every case.
fn key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| generate_keypair(&mut ChaCha20Rng::seed_from_u64(1)).0)
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn arbitrary_frames_are_total(
        frames in proptest::collection::vec(
            (0u8..3, any::<bool>(), any::<u8>(), proptest::collection::vec(any::<u8>(), 0..300)),
            1..20,
        ),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let private = key();
        let mut node = Node::<2, 4, 8>::new(private, &mut rng);
        let links = [
            node.add_link(LinkKind::Udp).unwrap(),
            node.add_link(LinkKind::Ethernet).unwrap(),
            node.add_link(LinkKind::Other).unwrap(),
        ];
        for l in links {
            node.set_beacon(l, BeaconMode::Accept).unwrap();
        }
        node.add_password(b"pw", None).unwrap();
        let mut io = Sink(0);
        let mut now = 10_000;
        for (link, bcast, who, bytes) in frames {
            let from = LinkAddr::Mac([0, 0, 0, 0, 0, who]);
            let mut buf = vec![0u8; NODE_HEADROOM + bytes.len()];
            buf[NODE_HEADROOM..].copy_from_slice(&bytes);
            node.handle_frame(links[link as usize], &from, bcast, &mut buf, NODE_HEADROOM,
                bytes.len(), now, &mut rng, &mut io);
            now += 700;
            node.poll(now, &mut rng, &mut io);
            prop_assert!(node.stats().peer_count <= 2);
        }
        // Lengths and starts that do not fit the buffer are refused, not trusted.
        let mut small = [0u8; 8];
        node.handle_frame(links[0], &LinkAddr::Broadcast, false, &mut small, 6, 100, now,
            &mut rng, &mut io);
        node.handle_frame(links[1], &LinkAddr::Broadcast, true, &mut small, usize::MAX, 2, now,
            &mut rng, &mut io);
    }
}
