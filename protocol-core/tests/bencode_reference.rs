//! Bencode against real cjdns v22.3 bytes: every CJDHT message decrypted from the captures
//! and the admin request/reply bytes of admin-wire-example.txt must parse and re-emit to
//! identical bytes, padding included.

mod common;

use proptest::prelude::*;
use protocol_core::wire::bencode::{BencodeError, Dict, Value, Writer, MAX_DEPTH};

/// The CJDHT content (after the 4-byte DataHeader) of every inner payload with content type
/// 256 in a capture.
fn cjdht_messages(capture: &str) -> Vec<Vec<u8>> {
    let packets = common::reference_json(capture);
    let mut out = Vec::new();
    for p in packets.as_array().expect("capture is a JSON array") {
        let Some(payload) = p.get("inner_payload") else {
            continue;
        };
        if payload["dataheader"]["contentType"].as_u64() != Some(256) {
            continue;
        }
        let plain = common::unhex(payload["plain_hex"].as_str().expect("plain_hex"));
        assert!(plain.len() > 4, "CJDHT payload shorter than its DataHeader");
        let content = plain[4..].to_vec();
        if let Some(hex) = payload.get("content_hex").and_then(|h| h.as_str()) {
            assert_eq!(
                common::unhex(hex),
                content,
                "content_hex = plain_hex minus DataHeader"
            );
        }
        out.push(content);
    }
    out
}

fn reemit_cjdns(dict: Dict<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; dict.raw().len() + 8];
    let mut w = Writer::new_cjdns(&mut buf);
    w.value(&Value::Dict(dict)).unwrap();
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

fn check_capture(capture: &str, expected_min: usize) {
    let messages = cjdht_messages(capture);
    assert!(
        messages.len() >= expected_min,
        "{capture}: only {} CJDHT messages",
        messages.len()
    );
    let mut padded = 0;
    for msg in &messages {
        assert_eq!(msg.len() % 4, 0, "cjdns pads CJDHT messages to 4 bytes");
        let (dict, rest) = Dict::parse_cjdns(msg)
            .unwrap_or_else(|e| panic!("{capture}: {e} in {}", String::from_utf8_lossy(msg)));
        assert!(rest.is_empty());
        assert!(dict.keys_are_canonical());
        // Every CJDHT message carries p and ei; txid starts with 00 or 01.
        assert_eq!(dict.get_int(b"p"), Some(22));
        assert!(dict.get_int(b"ei").is_some());
        let txid = dict.get_bytes(b"txid").expect("txid");
        assert!(txid.starts_with(b"00") || txid.starts_with(b"01"));
        assert_eq!(
            reemit_cjdns(dict),
            *msg,
            "{capture}: re-emitted bytes differ"
        );
        if msg.get(1) == Some(&b'0') {
            padded += 1;
        }
        // Strict (non-cjdns) parsing refuses exactly the padded ones.
        assert_eq!(Value::parse(msg).is_ok(), msg.get(1) != Some(&b'0'));
    }
    assert!(padded > 0, "{capture}: some messages need padding");
}

#[test]
fn udp_loopback_cjdht_messages() {
    check_capture("captures/udp-loopback-AB-logkeys.decoded.json", 20);
}

#[test]
fn netns_three_node_cjdht_messages() {
    check_capture("captures/netns-3node-vAB.decoded.json", 20);
    check_capture("captures/netns-3node-vBC.decoded.json", 10);
}

#[test]
fn cjdht_reply_node_list() {
    // A `gp` reply's `n` is 40-byte entries and `np` a width byte plus versions.
    let messages = cjdht_messages("captures/netns-3node-vAB.decoded.json");
    let mut replies = 0;
    for msg in &messages {
        let (dict, _) = Dict::parse_cjdns(msg).unwrap();
        if let Some(nodes) = dict.get_bytes(b"n") {
            assert_eq!(nodes.len() % 40, 0);
            let np = dict.get_bytes(b"np").expect("np with n");
            assert_eq!(np[0], 1);
            assert_eq!(np.len() - 1, nodes.len() / 40);
            replies += 1;
        }
    }
    assert!(replies > 0);
}

/// Decode a Python bytes literal `b'...'` as printed in admin-wire-example.txt.
fn python_bytes(literal: &str) -> Vec<u8> {
    let body = literal
        .trim()
        .strip_prefix("b'")
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or_else(|| panic!("not a b'' literal: {literal}"));
    let mut out = Vec::new();
    let mut chars = body.bytes();
    while let Some(c) = chars.next() {
        if c != b'\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(b'x') => {
                let hi = chars.next().unwrap();
                let lo = chars.next().unwrap();
                out.push(u8::from_str_radix(std::str::from_utf8(&[hi, lo]).unwrap(), 16).unwrap());
            }
            Some(b'\\') => out.push(b'\\'),
            Some(b'\'') => out.push(b'\''),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            other => panic!("unknown escape {other:?} in {literal}"),
        }
    }
    out
}

#[test]
fn admin_wire_example_bytes() {
    let text = common::read_reference("vectors/admin-wire-example.txt");
    let mut requests = 0;
    let mut responses = 0;
    for line in text.lines() {
        if let Some(lit) = line.strip_prefix("REQUEST  : ") {
            // Clients send plain bencode; the admin server parses it in cjdns mode.
            let bytes = python_bytes(lit);
            let (dict, rest) = Dict::parse_cjdns(&bytes).unwrap();
            assert!(rest.is_empty());
            let v = Value::parse(&bytes).unwrap();
            assert_eq!(v, Value::Dict(dict));
            let mut buf = vec![0u8; bytes.len()];
            let mut w = Writer::new(&mut buf);
            w.value(&v).unwrap();
            let n = w.finish().unwrap();
            assert_eq!(&buf[..n], &bytes[..]);
            requests += 1;
        } else if let Some(lit) = line.strip_prefix("RESPONSE : ") {
            let bytes = python_bytes(lit);
            assert_eq!(bytes.len() % 4, 0);
            let (dict, rest) = Dict::parse_cjdns(&bytes).unwrap();
            assert!(rest.is_empty());
            assert!(dict.get_bytes(b"txid").is_some());
            assert_eq!(reemit_cjdns(dict), bytes);
            responses += 1;
        }
    }
    assert!(
        requests >= 5 && responses >= 5,
        "{requests} requests, {responses} responses"
    );
}

#[test]
fn admin_peer_stats_reply_structure() {
    let text = common::read_reference("vectors/admin-wire-example.txt");
    let line = text
        .lines()
        .find(|l| l.starts_with("RESPONSE : b'd0005:peers"))
        .expect("a peerStats reply");
    let bytes = python_bytes(line.strip_prefix("RESPONSE : ").unwrap());
    let (dict, _) = Dict::parse_cjdns(&bytes).unwrap();
    let peers = dict.get_list(b"peers").unwrap();
    assert_eq!(peers.len(), 1);
    let peer = peers.get(0).unwrap().as_dict().unwrap();
    assert_eq!(peer.get_bytes(b"state"), Some(&b"ESTABLISHED"[..]));
    assert_eq!(peer.get_int(b"last"), Some(1795613915299));
    assert_eq!(dict.get_int(b"total"), Some(1));
}

/// A generated bencode tree, for writing with the writer.
#[derive(Clone, Debug)]
enum Tree {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Tree>),
    Dict(std::collections::BTreeMap<Vec<u8>, Tree>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        (i64::MIN + 1..=i64::MAX).prop_map(Tree::Int),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Tree::Bytes),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Tree::List),
            proptest::collection::btree_map(
                proptest::collection::vec(any::<u8>(), 0..6),
                inner,
                0..6
            )
            .prop_map(Tree::Dict),
        ]
    })
}

fn write_tree(w: &mut Writer<'_>, t: &Tree) -> Result<(), BencodeError> {
    match t {
        Tree::Int(i) => w.int(*i),
        Tree::Bytes(b) => w.bytes(b),
        Tree::List(items) => {
            w.begin_list()?;
            for i in items {
                write_tree(w, i)?;
            }
            w.end()
        }
        Tree::Dict(map) => {
            w.begin_dict()?;
            for (k, v) in map {
                w.key(k)?;
                write_tree(w, v)?;
            }
            w.end()
        }
    }
}

fn same(t: &Tree, v: &Value<'_>) -> bool {
    match (t, v) {
        (Tree::Int(a), Value::Int(b)) => a == b,
        (Tree::Bytes(a), Value::Bytes(b)) => a == b,
        (Tree::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| same(x, &y))
        }
        (Tree::Dict(a), Value::Dict(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, &vb))
        }
        _ => false,
    }
}

proptest! {
    #[test]
    fn write_parse_emit_round_trip(t in tree()) {
        let mut buf = vec![0u8; 8192];
        let mut w = Writer::new(&mut buf);
        write_tree(&mut w, &t).unwrap();
        let n = w.finish().unwrap();
        let bytes = buf[..n].to_vec();
        let v = Value::parse(&bytes).unwrap();
        prop_assert!(same(&t, &v));
        let mut again = vec![0u8; n];
        let mut w = Writer::new(&mut again);
        w.value(&v).unwrap();
        prop_assert_eq!(w.finish().unwrap(), n);
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn cjdns_padded_round_trip(
        entries in proptest::collection::btree_map(
            proptest::collection::vec(any::<u8>(), 0..8), tree(), 1..6)
    ) {
        let t = Tree::Dict(entries);
        let mut buf = vec![0u8; 8192];
        let mut w = Writer::new_cjdns(&mut buf);
        write_tree(&mut w, &t).unwrap();
        let n = w.finish().unwrap();
        prop_assert_eq!(n % 4, 0);
        let bytes = buf[..n].to_vec();
        let (d, rest) = Dict::parse_cjdns(&bytes).unwrap();
        prop_assert!(rest.is_empty());
        prop_assert!(same(&t, &Value::Dict(d)));
        prop_assert_eq!(reemit_cjdns(d), bytes);
    }

    #[test]
    fn parser_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Value::parse(&bytes);
        let _ = Dict::parse_cjdns(&bytes);
    }

    #[test]
    fn writer_never_overflows(t in tree(), cap in 0usize..64) {
        let mut buf = vec![0u8; cap];
        let mut w = Writer::new(&mut buf);
        if write_tree(&mut w, &t).is_ok() {
            if let Ok(n) = w.finish() {
                prop_assert!(Value::parse(&buf[..n]).is_ok());
            }
        }
    }
}

#[test]
fn depth_limit_is_max_depth() {
    assert_eq!(MAX_DEPTH, 32);
}
