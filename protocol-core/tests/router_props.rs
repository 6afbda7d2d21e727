//! Property tests: the codec round-trips what it writes, and no byte string — random, or a
//! CJDHT-shaped dict with random fields — makes the router panic or send a reply that
//! does not parse.

use proptest::prelude::*;
use protocol_core::identity::{NodeAddress, PublicKey};
use protocol_core::router::message::{emit_query, emit_reply, Message, NodeEntry};
use protocol_core::router::{Router, RouterEvent, RouterOut};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Default)]
struct Out {
    sent: Vec<Vec<u8>>,
}

impl RouterOut for Out {
    fn send_cjdht(&mut self, _to: &NodeAddress, msg: &[u8], _reply_due_ms: Option<u64>) {
        self.sent.push(msg.to_vec());
    }
    fn path_found(&mut self, _node: &NodeAddress) {}
    fn event(&mut self, _event: RouterEvent) {}
}

/// A key whose address is fc (found once, reused).
fn fc_key(seed: u8) -> PublicKey {
    let mut k = [seed; 32];
    for i in 0u32.. {
        k[..4].copy_from_slice(&i.to_be_bytes());
        if PublicKey(k).is_valid() {
            return PublicKey(k);
        }
    }
    unreachable!()
}

fn router_with_peers() -> (Router<32>, NodeAddress) {
    let mut router = Router::new(fc_key(1));
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut out = Out::default();
    let peer = NodeAddress {
        version: 22,
        label: 0x13,
        key: fc_key(2),
    };
    router.peer_up(&peer, 0, &mut rng, &mut out);
    router.peer_up(
        &NodeAddress {
            version: 22,
            label: 0x15,
            key: fc_key(3),
        },
        0,
        &mut rng,
        &mut out,
    );
    (router, peer)
}

fn entry() -> impl Strategy<Value = NodeEntry> {
    (any::<[u8; 32]>(), any::<u64>(), any::<u32>()).prop_map(|(k, label, version)| NodeEntry {
        key: PublicKey(k),
        label,
        version,
    })
}

/// A dict with CJDHT keys and values of random type and content, sorted or not.
fn cjdht_like() -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        any::<i64>().prop_map(|i| format!("i{i}e").into_bytes()),
        (0i64..30).prop_map(|i| format!("i{i}e").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..90).prop_map(|b| {
            let mut v = format!("{}:", b.len()).into_bytes();
            v.extend(b);
            v
        }),
        Just(b"5:\x61\x14\x45\x81\x00".to_vec()),
        Just(b"2:pn".to_vec()),
        Just(b"2:gp".to_vec()),
        Just(b"2:fn".to_vec()),
        Just(b"2:nh".to_vec()),
        Just(b"le".to_vec()),
    ];
    let key = prop_oneof![
        Just("ei"),
        Just("es"),
        Just("p"),
        Just("q"),
        Just("tar"),
        Just("txid"),
        Just("n"),
        Just("np"),
        Just("dnd"),
    ];
    proptest::collection::vec((key, value), 0..10).prop_map(|fields| {
        let mut out = b"d".to_vec();
        for (k, v) in fields {
            out.extend(format!("{}:{k}", k.len()).into_bytes());
            out.extend(v);
        }
        out.push(b'e');
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn reply_round_trips(txid in proptest::collection::vec(any::<u8>(), 0..40),
                         entries in proptest::collection::vec(entry(), 0..9),
                         path in 1u64..) {
        let mut buf = [0u8; 512];
        let len = emit_reply(&mut buf, &txid, &entries, path).unwrap();
        prop_assert_eq!(len % 4, 0);
        let m = Message::parse(&buf[..len]).unwrap();
        prop_assert_eq!(m.txid, &txid[..]);
        prop_assert!(m.query.is_none());
        let got: Vec<_> = m.node_entries().map(|e| e.collect()).unwrap_or_default();
        prop_assert_eq!(got, entries.into_iter().take(8).collect::<Vec<_>>());
    }

    #[test]
    fn query_round_trips(txid in proptest::collection::vec(any::<u8>(), 0..40),
                         tar in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
                         q in proptest::collection::vec(any::<u8>(), 1..4),
                         path in 1u64..) {
        let mut buf = [0u8; 512];
        let len = emit_query(&mut buf, &q, &txid, tar.as_deref(), path).unwrap();
        prop_assert_eq!(len % 4, 0);
        let m = Message::parse(&buf[..len]).unwrap();
        prop_assert_eq!(m.query, Some(&q[..]));
        prop_assert_eq!(m.txid, &txid[..]);
        prop_assert_eq!(m.target, tar.as_deref());
        prop_assert_eq!(m.version, 22);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                                label in any::<u64>()) {
        let (mut router, mut peer) = router_with_peers();
        peer.label = label;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = Out::default();
        router.handle_cjdht(&peer, &bytes, 10, &mut rng, &mut out);
        router.poll(10_000, &mut rng, &mut out);
        for m in &out.sent {
            prop_assert!(Message::parse(m).is_ok());
        }
    }

    #[test]
    fn cjdht_shaped_dicts_never_panic(msg in cjdht_like(), label in any::<u64>()) {
        let (mut router, mut peer) = router_with_peers();
        peer.label = label;
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let mut out = Out::default();
        router.handle_cjdht(&peer, &msg, 10, &mut rng, &mut out);
        for m in &out.sent {
            prop_assert!(Message::parse(m).is_ok());
        }
        prop_assert!(out.sent.len() <= 1);
        prop_assert!(router.nodes().count() <= 32);
    }
}
