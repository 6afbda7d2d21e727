//! The CJDHT codec and query answering against the real messages in the captures: every
//! captured message parses with the decoded fields, every captured query is re-emitted
//! byte for byte, and every captured reply is rebuilt from its query and the responder's
//! peers as they were at that moment (the smallest set of the responder's real peers that
//! reproduces it; which set matched is printed).

mod common;

use std::collections::HashMap;

use protocol_core::identity::{NodeAddress, PublicKey};
use protocol_core::router::message::{emit_query, Message};
use protocol_core::router::{Router, RouterEvent, RouterOut};
use protocol_core::switch::label::splice;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Default)]
struct Collect {
    sent: Vec<(NodeAddress, Vec<u8>)>,
}

impl RouterOut for Collect {
    fn send_cjdht(&mut self, to: &NodeAddress, msg: &[u8], _reply_due_ms: Option<u64>) {
        self.sent.push((*to, msg.to_vec()));
    }
    fn path_found(&mut self, _node: &NodeAddress) {}
    fn event(&mut self, _event: RouterEvent) {}
}

struct Captured {
    file: &'static str,
    n: u64,
    from: String,
    to: String,
    bytes: Vec<u8>,
    decoded: serde_json::Value,
}

const FILES: [&str; 3] = [
    "captures/udp-loopback-AB-logkeys.decoded.json",
    "captures/netns-3node-vAB.decoded.json",
    "captures/netns-3node-vBC.decoded.json",
];

fn short(config: &str) -> String {
    // "configs/netns-B-udp.conf" -> "B", "configs/A.conf" -> "A"
    let name = config.rsplit('/').next().unwrap_or(config);
    let name = name.trim_end_matches(".conf").trim_start_matches("netns-");
    name.split('-').next().unwrap_or(name).to_string()
}

fn load() -> (Vec<Captured>, HashMap<(&'static str, String), PublicKey>) {
    let mut out = Vec::new();
    let mut keys = HashMap::new();
    for file in FILES {
        let packets = common::reference_json(file);
        for p in packets.as_array().expect("capture is a list") {
            let inner = &p["inner"];
            if inner["perm_pubkey_is_sender"] == true {
                if let (Some(from), Some(k)) =
                    (inner["from"].as_str(), inner["perm_pubkey"].as_str())
                {
                    keys.insert(
                        (file, short(from)),
                        PublicKey::parse_k(k).expect("capture key"),
                    );
                }
            }
            let Some(cjdht) = p["inner_payload"].get("cjdht") else {
                continue;
            };
            let plain = common::unhex(p["inner_payload"]["plain_hex"].as_str().expect("plain_hex"));
            assert_eq!(&plain[..4], &[0x10, 0, 1, 0], "DataHeader v1 / CJDHT");
            out.push(Captured {
                file,
                n: p["n"].as_u64().expect("n"),
                from: short(inner["from"].as_str().expect("from")),
                to: short(inner["to"].as_str().expect("to")),
                bytes: plain[4..].to_vec(),
                decoded: cjdht.clone(),
            });
        }
    }
    (out, keys)
}

fn field_bytes(v: &serde_json::Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    Some(match s.strip_prefix("hex:") {
        Some(h) => common::unhex(h),
        None => s.as_bytes().to_vec(),
    })
}

#[test]
fn every_captured_message_parses() {
    let (msgs, _) = load();
    assert!(
        msgs.len() >= 70,
        "expected all captured CJDHT messages, got {}",
        msgs.len()
    );
    for c in &msgs {
        let m = Message::parse(&c.bytes).unwrap_or_else(|e| panic!("{} #{}: {e}", c.file, c.n));
        let d = &c.decoded;
        assert_eq!(m.txid, &field_bytes(&d["txid"]).unwrap()[..], "#{}", c.n);
        assert_eq!(u64::from(m.version), d["p"].as_u64().unwrap());
        assert_eq!(u64::from(m.encoding_index), d["ei"].as_u64().unwrap());
        assert_eq!(m.encoding_scheme.map(<[u8]>::to_vec), field_bytes(&d["es"]));
        assert_eq!(m.query.map(<[u8]>::to_vec), field_bytes(&d["q"]));
        assert_eq!(m.target.map(<[u8]>::to_vec), field_bytes(&d["tar"]));
        assert_eq!(m.nodes.map(<[u8]>::to_vec), field_bytes(&d["n"]));
        assert_eq!(m.node_versions.map(<[u8]>::to_vec), field_bytes(&d["np"]));
        if let Some(nodes) = m.nodes {
            let entries: Vec<_> = m.node_entries().expect("n/np agree").collect();
            assert_eq!(entries.len() * 40, nodes.len());
            assert!(entries.iter().all(|e| e.version == 22));
        }
    }
}

#[test]
fn captured_queries_re_emit_byte_exact() {
    let (msgs, _) = load();
    let mut count = 0;
    for c in msgs.iter().filter(|c| c.decoded.get("q").is_some()) {
        let m = Message::parse(&c.bytes).unwrap();
        let mut buf = [0u8; 512];
        // All captured paths use 4-bit first directors: ei 0.
        let len = emit_query(&mut buf, m.query.unwrap(), m.txid, m.target, 0x13).unwrap();
        assert_eq!(&buf[..len], &c.bytes[..], "{} #{}", c.file, c.n);
        count += 1;
    }
    assert!(count >= 35, "{count}");
}

/// Who peers with whom, and the labels each side uses (first peer gets 0x13, the second
/// 0x15; B in the 3-node net has A on 0x13 and C on 0x15).
fn peers_of(file: &str, node: &str) -> Vec<(String, u64)> {
    let v: &[(&str, u64)] = match (file.contains("3node"), node) {
        (false, "A") => &[("B", 0x13)],
        (false, "B") => &[("A", 0x13)],
        (true, "A") => &[("B", 0x13)],
        (true, "B") => &[("A", 0x13), ("C", 0x15)],
        (true, "C") => &[("B", 0x13)],
        _ => &[],
    };
    v.iter().map(|(n, l)| (n.to_string(), *l)).collect()
}

/// The path `from` uses to reach `to`: a direct label, or two hops spliced.
fn path(file: &str, from: &str, to: &str) -> u64 {
    if let Some((_, l)) = peers_of(file, from).into_iter().find(|(n, _)| n == to) {
        return l;
    }
    for (mid, first) in peers_of(file, from) {
        if let Some((_, second)) = peers_of(file, &mid).into_iter().find(|(n, _)| n == to) {
            return splice(second, first).unwrap();
        }
    }
    panic!("no path {from} -> {to}");
}

#[test]
fn captured_replies_rebuild_byte_exact() {
    let (msgs, keys) = load();
    let key = |file: &'static str, node: &str| keys[&(file, node.to_string())];
    let mut matched = 0;
    let mut report = Vec::new();
    for reply in msgs.iter().filter(|c| c.decoded.get("q").is_none()) {
        let query = msgs
            .iter()
            .find(|q| {
                q.file == reply.file
                    && q.decoded.get("q").is_some()
                    && q.decoded["txid"] == reply.decoded["txid"]
                    && q.from == reply.to
            })
            .unwrap_or_else(|| panic!("query for {} #{}", reply.file, reply.n));
        let responder = &reply.from;
        let asker = NodeAddress {
            version: 22,
            label: path(reply.file, responder, &reply.to),
            key: key(reply.file, &reply.to),
        };
        let peers = peers_of(reply.file, responder);
        // Peer sets in the order they could have come up: none, each one, all.
        let mut sets: Vec<Vec<(String, u64)>> = vec![vec![]];
        for p in &peers {
            sets.push(vec![p.clone()]);
        }
        if peers.len() > 1 {
            sets.push(peers.clone());
        }
        let mut hit = None;
        for set in &sets {
            let mut router: Router<64> = Router::new(key(reply.file, responder));
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let mut out = Collect::default();
            for (name, label) in set {
                let peer = NodeAddress {
                    version: 22,
                    label: *label,
                    key: key(reply.file, name),
                };
                router.peer_up(&peer, 0, &mut rng, &mut out);
            }
            out.sent.clear();
            router.handle_cjdht(&asker, &query.bytes, 1, &mut rng, &mut out);
            assert_eq!(
                out.sent.len(),
                1,
                "one reply to {} #{}",
                query.file,
                query.n
            );
            assert_eq!(out.sent[0].0, asker);
            if out.sent[0].1 == reply.bytes {
                hit = Some(set.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
                break;
            }
        }
        let hit = hit.unwrap_or_else(|| {
            panic!(
                "{} #{} ({} -> {}) could not be rebuilt from any peer set",
                reply.file, reply.n, reply.from, reply.to
            )
        });
        report.push(format!(
            "{} #{} {}->{} q={} peers={:?}",
            reply.file.trim_start_matches("captures/"),
            reply.n,
            reply.from,
            reply.to,
            query.decoded["q"],
            hit
        ));
        matched += 1;
    }
    println!(
        "rebuilt {matched} replies byte-exact:\n{}",
        report.join("\n")
    );
    assert!(matched >= 35, "{matched}");
}
