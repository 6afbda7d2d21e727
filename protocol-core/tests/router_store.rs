//! Node store bounds and eviction under floods, and how replies feed the store.

use protocol_core::identity::{Ip6, NodeAddress, PublicKey};
use protocol_core::router::message::{emit_reply, Message, NodeEntry};
use protocol_core::router::node_store::{bucket_of, NodeStore, PEER_REACH};
use protocol_core::router::{Router, RouterEvent, RouterOut};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fc_key(rng: &mut ChaCha8Rng) -> PublicKey {
    loop {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        let key = PublicKey(k);
        if key.is_valid() {
            return key;
        }
    }
}

fn random_fc_ip6(rng: &mut ChaCha8Rng) -> Ip6 {
    let mut a = [0u8; 16];
    rng.fill_bytes(&mut a);
    a[0] = 0xfc;
    Ip6(a)
}

fn fake(rng: &mut ChaCha8Rng, label: u64) -> (NodeAddress, Ip6) {
    let mut k = [0u8; 32];
    rng.fill_bytes(&mut k);
    (
        NodeAddress {
            version: 22,
            label,
            key: PublicKey(k),
        },
        random_fc_ip6(rng),
    )
}

#[test]
fn flood_of_10000_nodes_stays_bounded_and_keeps_peers_and_near_nodes() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let me = random_fc_ip6(&mut rng);
    let mut store: NodeStore<256> = NodeStore::new(me);
    let mut peers = Vec::new();
    for (i, label) in [0x13u64, 0x15, 0x17, 0x19].into_iter().enumerate() {
        let (addr, ip6) = fake(&mut rng, label);
        assert!(store
            .insert(addr, ip6, PEER_REACH, true, i as u64)
            .is_new_path());
        peers.push(ip6);
    }
    // A node sharing 40 bits with us lives in a tiny bucket and must survive.
    let (near, mut near_ip6) = fake(&mut rng, 0x1353);
    near_ip6.0[..5].copy_from_slice(&me.0[..5]);
    near_ip6.0[5] = !me.0[5];
    assert!(store.insert(near, near_ip6, 1, false, 5).is_new_path());
    for i in 0..10_000u64 {
        let (addr, ip6) = fake(&mut rng, 0x1000 | (i & 0xfff));
        let reach = (rng.next_u32() % 100) + 1;
        store.insert(addr, ip6, reach, false, 10 + i);
        assert!(store.len() <= 256);
    }
    assert_eq!(store.len(), 256);
    for p in &peers {
        assert!(store.get(p).is_some_and(|n| n.is_peer), "peer evicted");
    }
    assert!(store.get(&near_ip6).is_some(), "near node evicted");
    assert!(bucket_of(&me, &near_ip6) >= 40);
    // No bucket hogs the table: the crowded far buckets got trimmed.
    let mut sizes = [0usize; 129];
    for n in store.iter() {
        sizes[bucket_of(&me, &n.ip6) as usize] += 1;
    }
    let max = *sizes.iter().max().unwrap();
    assert!(max < 200, "bucket sizes {sizes:?}");
}

#[test]
fn full_of_peers_refuses_strangers() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let me = random_fc_ip6(&mut rng);
    let mut store: NodeStore<4> = NodeStore::new(me);
    for label in [0x13u64, 0x15, 0x17, 0x19] {
        let (a, ip) = fake(&mut rng, label);
        store.insert(a, ip, PEER_REACH, true, 0);
    }
    let (a, ip) = fake(&mut rng, 0x153);
    assert_eq!(
        store.insert(a, ip, 5, false, 1),
        protocol_core::router::InsertOutcome::Refused
    );
    assert_eq!(store.len(), 4);
}

#[test]
fn shorter_paths_replace_longer_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let me = random_fc_ip6(&mut rng);
    let mut store: NodeStore<8> = NodeStore::new(me);
    let (mut a, ip) = fake(&mut rng, 0x1553);
    store.insert(a, ip, 1, false, 0);
    a.label = 0x153;
    assert!(store.insert(a, ip, 1, false, 1).is_new_path());
    a.label = 0x15553;
    assert!(!store.insert(a, ip, 1, false, 2).is_new_path());
    assert_eq!(store.get(&ip).unwrap().address.label, 0x153);
    // A broken path gives way to any other.
    store.path_timed_out(&ip, 0x153);
    assert_eq!(store.get(&ip).unwrap().reach, 0);
    assert!(store.insert(a, ip, 1, false, 3).is_new_path());
    assert_eq!(store.get(&ip).unwrap().address.label, 0x15553);
}

#[derive(Default)]
struct Out {
    sent: Vec<(NodeAddress, Vec<u8>)>,
    found: Vec<NodeAddress>,
    events: Vec<RouterEvent>,
}

impl RouterOut for Out {
    fn send_cjdht(&mut self, to: &NodeAddress, msg: &[u8], _reply_due_ms: Option<u64>) {
        self.sent.push((*to, msg.to_vec()));
    }
    fn path_found(&mut self, node: &NodeAddress) {
        self.found.push(*node);
    }
    fn event(&mut self, event: RouterEvent) {
        self.events.push(event);
    }
}

/// Answer the router's last query from `peer` with `entries`.
fn reply(
    router: &mut Router<64>,
    peer: &NodeAddress,
    entries: &[NodeEntry],
    out: &mut Out,
    rng: &mut ChaCha8Rng,
) {
    let (to, query) = out.sent.pop().expect("a query went out");
    assert_eq!(to, *peer);
    let txid = Message::parse(&query).unwrap().txid.to_vec();
    assert_eq!(&txid[..2], b"00");
    let mut buf = [0u8; 512];
    let len = emit_reply(&mut buf, &txid, entries, 0x13).unwrap();
    router.handle_cjdht(peer, &buf[..len], 5, rng, out);
}

#[test]
fn replies_are_spliced_filtered_and_bounded() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let me = fc_key(&mut rng);
    let mut router: Router<64> = Router::new(me);
    let mut out = Out::default();
    let peer = NodeAddress {
        version: 22,
        label: 0x13,
        key: fc_key(&mut rng),
    };
    router.peer_up(&peer, 0, &mut rng, &mut out);
    let (_, gp) = out.sent.last().unwrap().clone();
    let m = Message::parse(&gp).unwrap();
    assert_eq!((m.query, m.target), (Some(&b"gp"[..]), Some(&[0u8; 8][..])));

    let good = fc_key(&mut rng);
    let mut bad_key = [0u8; 32];
    bad_key[0] = 1;
    let bad_key = PublicKey(bad_key);
    assert!(!bad_key.is_valid());
    let entries = [
        NodeEntry {
            key: good,
            label: 0x15,
            version: 22,
        },
        NodeEntry {
            key: bad_key,
            label: 0x17,
            version: 22,
        },
        NodeEntry {
            key: me,
            label: 0x13,
            version: 22,
        },
        NodeEntry {
            key: fc_key(&mut rng),
            label: 1 << 58,
            version: 22,
        },
    ];
    reply(&mut router, &peer, &entries, &mut out, &mut rng);
    let good_ip6 = good.address().unwrap();
    assert_eq!(router.lookup(&good_ip6).map(|n| n.label), Some(0x153));
    assert_eq!(router.nodes().count(), 2, "peer + the one good entry");
    assert!(out.found.iter().any(|n| n.key == good && n.label == 0x153));

    // Flood: many replies full of strangers never outgrow the table or drop the peer.
    for _ in 0..40 {
        router.ping(&peer, 5, &mut rng, &mut out);
        let entries: Vec<_> = (0..8u64)
            .map(|i| NodeEntry {
                key: fc_key(&mut rng),
                label: 0x1553 + (i << 16),
                version: 22,
            })
            .collect();
        reply(&mut router, &peer, &entries, &mut out, &mut rng);
        assert!(router.nodes().count() <= 64);
    }
    assert_eq!(router.nodes().count(), 64);
    assert!(router
        .nodes()
        .any(|n| n.is_peer && n.address.key == peer.key));
}

#[test]
fn replies_without_our_prefix_or_unknown_txid_are_ignored() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut router: Router<16> = Router::new(fc_key(&mut rng));
    let mut out = Out::default();
    let peer = NodeAddress {
        version: 22,
        label: 0x13,
        key: fc_key(&mut rng),
    };
    router.peer_up(&peer, 0, &mut rng, &mut out);
    let stranger = fc_key(&mut rng);
    let entries = [NodeEntry {
        key: stranger,
        label: 0x15,
        version: 22,
    }];
    let mut buf = [0u8; 512];
    for txid in [&b"01abcdefabcdef"[..], b"00abcdefabcdef", b""] {
        let len = emit_reply(&mut buf, txid, &entries, 0x13).unwrap();
        router.handle_cjdht(&peer, &buf[..len], 1, &mut rng, &mut out);
    }
    assert!(router.lookup(&stranger.address().unwrap()).is_none());
    assert_eq!(router.nodes().count(), 1);
}

#[test]
fn queries_get_answers_with_dnd_and_invalid_targets() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let my_key = fc_key(&mut rng);
    let mut router: Router<16> = Router::new(my_key);
    let mut out = Out::default();
    let peer = NodeAddress {
        version: 22,
        label: 0x13,
        key: fc_key(&mut rng),
    };
    router.peer_up(&peer, 0, &mut rng, &mut out);
    let other = NodeAddress {
        version: 22,
        label: 0x15,
        key: fc_key(&mut rng),
    };
    router.peer_up(&other, 0, &mut rng, &mut out);
    // `other` answers its gp with dnd set: still used by us, not told to others.
    let (_, q) = out.sent.pop().unwrap();
    let txid = Message::parse(&q).unwrap().txid.to_vec();
    let reply = [
        b"d2:eii0e1:pi22e3:dndi1e4:txid".to_vec(),
        format!("{}:", txid.len()).into_bytes(),
        txid.clone(),
        b"e".to_vec(),
    ]
    .concat();
    // keys must be sorted for a cjdns writer but the reader takes any order
    router.handle_cjdht(&other, &reply, 1, &mut rng, &mut out);
    out.sent.clear();

    let ask =
        |router: &mut Router<16>, out: &mut Out, rng: &mut ChaCha8Rng, q: &[u8], tar: &[u8]| {
            let mut buf = [0u8; 256];
            let len =
                protocol_core::router::message::emit_query(&mut buf, q, b"xy", Some(tar), 0x13)
                    .unwrap();
            router.handle_cjdht(&peer, &buf[..len], 2, rng, out);
            let (to, r) = out.sent.pop().expect("a reply");
            assert_eq!(to, peer);
            let m = Message::parse(&r).unwrap();
            assert_eq!(m.txid, b"xy");
            assert!(m.query.is_none());
            m.node_entries()
                .map(|e| e.collect::<Vec<_>>())
                .unwrap_or_default()
        };
    let other_ip6 = other.key.address().unwrap();
    let fn_other = ask(&mut router, &mut out, &mut rng, b"fn", &other_ip6.0);
    assert!(
        fn_other.iter().all(|e| e.key != other.key),
        "dnd node passed on"
    );
    assert!(fn_other.iter().any(|e| e.key == peer.key));
    // gp leaves the dnd peer out too (`sendNodes` filters every list).
    let gp = ask(&mut router, &mut out, &mut rng, b"gp", &[0; 8]);
    assert_eq!(
        gp.iter().map(|e| e.label).collect::<Vec<_>>(),
        vec![0x13, 0x1]
    );
    assert_eq!(gp[1].key, my_key);
    // Paging: from 0x13 up only the peer at 0x13 is written.
    let tar = 0x13u64.to_be_bytes();
    let gp = ask(&mut router, &mut out, &mut rng, b"gp", &tar);
    assert_eq!(gp.iter().map(|e| e.label).collect::<Vec<_>>(), vec![0x13]);
    // Invalid target lengths: reply without n.
    assert!(ask(&mut router, &mut out, &mut rng, b"gp", &[0; 16]).is_empty());
    assert!(ask(&mut router, &mut out, &mut rng, b"fn", &[0; 8]).is_empty());
    // nh: the single best hop toward the peer is the peer.
    let nh = ask(
        &mut router,
        &mut out,
        &mut rng,
        b"nh",
        &peer.key.address().unwrap().0,
    );
    assert_eq!(nh.len(), 1);
    assert_eq!(nh[0].key, peer.key);
    // Unknown query: boilerplate reply. `sq`: no reply at all.
    assert!(ask(&mut router, &mut out, &mut rng, b"zz", &[0; 8]).is_empty());
    let mut buf = [0u8; 256];
    let len =
        protocol_core::router::message::emit_query(&mut buf, b"sq", b"xy", None, 0x13).unwrap();
    router.handle_cjdht(&peer, &buf[..len], 2, &mut rng, &mut out);
    assert!(out.sent.is_empty());
}

#[test]
fn reply_labels_are_widened_for_the_asker() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let mut router: Router<16> = Router::new(fc_key(&mut rng));
    let mut out = Out::default();
    let peer = NodeAddress {
        version: 22,
        label: 0x13,
        key: fc_key(&mut rng),
    };
    router.peer_up(&peer, 0, &mut rng, &mut out);
    // The asker sits behind a 7-bit director (iface 8 = 0x9e): our 4-bit 0x13 must be
    // re-encoded 7 bits wide so it can splice.
    let asker = NodeAddress {
        version: 22,
        label: 0x9e,
        key: fc_key(&mut rng),
    };
    let mut buf = [0u8; 256];
    let len =
        protocol_core::router::message::emit_query(&mut buf, b"gp", b"t", Some(&[0; 8]), 0x13)
            .unwrap();
    router.handle_cjdht(&asker, &buf[..len], 1, &mut rng, &mut out);
    let (_, r) = out.sent.pop().unwrap();
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.encoding_index, 1, "ei = form of our path to the asker");
    let labels: Vec<_> = m.node_entries().unwrap().map(|e| e.label).collect();
    assert_eq!(labels, vec![0x82, 0x1]);
}

#[test]
fn get_peers_pages_through_many_peers() {
    use protocol_core::switch::encoding::v3x5x8::label_for_interface;
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut router: Router<32> = Router::new(fc_key(&mut rng));
    let mut out = Out::default();
    let mut labels: Vec<u64> = (0..13u32)
        .filter(|i| *i != 1)
        .map(label_for_interface)
        .collect();
    let first = NodeAddress {
        version: 22,
        label: labels[0],
        key: fc_key(&mut rng),
    };
    router.peer_up(&first, 0, &mut rng, &mut out);
    for &label in &labels[1..] {
        let peer = NodeAddress {
            version: 22,
            label,
            key: fc_key(&mut rng),
        };
        router.peer_up(&peer, 0, &mut rng, &mut out);
    }
    labels.push(1);
    labels.sort();
    let ask = |router: &mut Router<32>, out: &mut Out, rng: &mut ChaCha8Rng, tar: u64| {
        let mut buf = [0u8; 256];
        let len = protocol_core::router::message::emit_query(
            &mut buf,
            b"gp",
            b"t",
            Some(&tar.to_be_bytes()),
            0x13,
        )
        .unwrap();
        router.handle_cjdht(&first, &buf[..len], 1, rng, out);
        let (_, r) = out.sent.pop().unwrap();
        let m = Message::parse(&r).unwrap();
        m.node_entries()
            .map(|e| e.map(|e| e.label).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    // First page: the 8 lowest labels, written farthest first.
    let page = ask(&mut router, &mut out, &mut rng, 0);
    let mut expect: Vec<u64> = labels[..8].to_vec();
    expect.reverse();
    assert_eq!(page, expect);
    // Next page starts at the highest label seen.
    let page = ask(&mut router, &mut out, &mut rng, labels[7]);
    let mut expect: Vec<u64> = labels[7..].to_vec();
    expect.reverse();
    assert_eq!(page, expect);
}
