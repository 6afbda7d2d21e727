//! The node's stats rows survive postcard (the serial management protocol) and JSON (the
//! admin API) unchanged. Run with `cargo test -p protocol-core --features serde`.

use protocol_core::crypto::testing::ScriptedRng;
use protocol_core::identity::{NodeAddress, PrivateKey};
use protocol_core::node::{Event, Io, Node, PeerStats};
use protocol_core::peering::{LinkAddr, LinkId, LinkKind, PeerConfig};

struct Quiet;

impl Io for Quiet {
    fn transmit(&mut self, _link: LinkId, _to: &LinkAddr, _frame: &[u8]) {}
    fn deliver_ipv6(&mut self, _packet: &[u8]) {}
    fn event(&mut self, _event: Event) {}
}

fn configured_peer() -> PeerStats {
    let mut rng = ScriptedRng::new(&[], 9);
    let mine = PrivateKey([1u8; 32]);
    let mut node: Box<Node<4, 4, 16>> = Box::new(Node::new(mine, &mut rng));
    let link = node.add_link(LinkKind::Udp).unwrap();
    // keys.json #1, a valid fc key.
    let peer_key = protocol_core::identity::PublicKey::parse_k(
        "7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k",
    )
    .unwrap();
    let addr = LinkAddr::Udp4 {
        ip: [127, 0, 0, 1],
        port: 11001,
    };
    let config = PeerConfig {
        public_key: peer_key,
        password: b"secret",
        login: Some(b"nodeB"),
        name: "peer0",
        version: 0,
    };
    node.connect(link, addr, config, &mut Quiet).unwrap();
    node.poll(1, &mut rng, &mut Quiet);
    node.stats().peers.into_iter().flatten().next().unwrap()
}

#[test]
fn peer_stats_round_trip_through_postcard_and_json() {
    let peer = configured_peer();
    let bytes = postcard::to_allocvec(&peer).unwrap();
    let back: PeerStats = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(back, peer);
    let json = serde_json::to_value(peer).unwrap();
    assert_eq!(json["label"], serde_json::json!(peer.label));
    let back: PeerStats = serde_json::from_value(json).unwrap();
    assert_eq!(back, peer);
}

#[test]
fn node_address_round_trips() {
    let addr = NodeAddress::parse(
        "v22.0000.0000.0000.0013.7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k",
    )
    .unwrap();
    let bytes = postcard::to_allocvec(&addr).unwrap();
    assert_eq!(postcard::from_bytes::<NodeAddress>(&bytes).unwrap(), addr);
}
