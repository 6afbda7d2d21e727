//! Identity text forms against cjdns v22.3 tool output: keys.json, makekeys output and the
//! base32/address sections of reference-header-vectors.json.

mod common;

use proptest::prelude::*;
use protocol_core::identity::{
    base32, Base32Error, Ip6, KeyParseError, NodeAddress, PrivateKey, PublicKey,
};
use sha2::{Digest, Sha512};

fn keypairs() -> Vec<serde_json::Value> {
    let keys = common::reference_json("vectors/keys.json");
    let pairs = keys["keypairs"]
        .as_array()
        .expect("keys.json has a keypairs array")
        .clone();
    assert_eq!(pairs.len(), 12, "keys.json should hold 12 keypairs");
    pairs
}

fn s(v: &serde_json::Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

#[test]
fn every_keys_json_keypair() {
    for pair in keypairs() {
        let private = PrivateKey::parse_hex(s(&pair["privateKey_hex"])).unwrap();
        assert_eq!(private.to_hex_string().as_str(), s(&pair["privateKey_hex"]));
        let public = private.public_key();
        assert_eq!(public.0, common::unhex32(s(&pair["publicKey_hex"])));
        assert_eq!(public.to_k_string().as_str(), s(&pair["publicKey_k"]));
        assert_eq!(PublicKey::parse_k(s(&pair["publicKey_k"])), Ok(public));

        let digest = Sha512::digest(Sha512::digest(public.0));
        assert_eq!(
            hex::encode(digest),
            s(&pair["sha512_of_sha512_of_pubkey_hex"])
        );
        let ip = public.address().unwrap();
        assert_eq!(ip.to_full_string().as_str(), s(&pair["ipv6_full"]));
        assert_eq!(ip.to_full_string().as_str(), s(&pair["ipv6"]));
        assert_eq!(
            ip.to_short_string().as_str(),
            s(&pair["publictoip6_output"])
        );
        assert_eq!(Ip6::parse(s(&pair["ipv6_full"])), Ok(ip));
        assert_eq!(Ip6::parse(s(&pair["publictoip6_output"])), Ok(ip));

        let tool = pair["privatetopublic_output"]
            .as_array()
            .expect("privatetopublic_output lines");
        let ours = [
            format!("Input privkey: {}", private.to_hex_string()),
            format!("Matching pubkey: {}", public.to_k_string()),
            format!("Resulting address: {}", ip.to_short_string()),
        ];
        assert_eq!(tool.len(), 3);
        for (line, expected) in tool.iter().zip(ours.iter()) {
            assert_eq!(s(line), expected);
        }
    }
}

#[test]
fn makekeys_output_lines() {
    let text = common::read_reference("vectors/makekeys-output.txt");
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "makekeys line {line:?}");
        let private = PrivateKey::parse_hex(fields[0]).unwrap();
        let public = private.public_key();
        let ip = public.address().unwrap();
        assert_eq!(ip.to_full_string().as_str(), fields[1]);
        assert_eq!(Ip6::parse(fields[1]), Ok(ip));
        assert_eq!(public.to_k_string().as_str(), fields[2]);
        assert_eq!(PublicKey::parse_k(fields[2]), Ok(public));
        count += 1;
    }
    assert_eq!(count, 12);
}

#[test]
fn base32_vectors() {
    let v = common::reference_json("vectors/reference-header-vectors.json");
    let cases = v["base32"].as_array().expect("base32 section");
    assert!(!cases.is_empty());
    for case in cases {
        let bytes = common::unhex(s(&case["bytes_hex"]));
        let text = s(&case["base32"]);
        let mut enc = [0u8; 128];
        let n = base32::encode(&bytes, &mut enc).unwrap();
        assert_eq!(&enc[..n], text.as_bytes(), "encode {bytes:02x?}");
        let mut dec = [0u8; 128];
        let n = base32::decode(text.as_bytes(), &mut dec).unwrap();
        assert_eq!(n as u64, case["decoded_len"].as_u64().unwrap());
        assert_eq!(&dec[..n], bytes.as_slice());
        // Decoding is case-insensitive.
        let upper = text.to_ascii_uppercase();
        let n = base32::decode(upper.as_bytes(), &mut dec).unwrap();
        assert_eq!(&dec[..n], bytes.as_slice());
    }
}

#[test]
fn base32_decode_cases_including_rejections() {
    let v = common::reference_json("vectors/reference-header-vectors.json");
    let cases = v["base32_decode_cases"]
        .as_array()
        .expect("base32_decode_cases section");
    let mut rejected = 0;
    for case in cases {
        let input = s(&case["input"]);
        let result = case["result"].as_i64().unwrap();
        let mut out = [0u8; 64];
        match base32::decode(input.as_bytes(), &mut out) {
            Ok(n) => {
                assert_eq!(n as i64, result, "input {input:?}");
                assert_eq!(hex::encode(&out[..n]), s(&case["bytes_hex"]));
            }
            Err(e) => {
                assert_eq!(result, -1, "input {input:?} refused with {e:?}");
                rejected += 1;
            }
        }
    }
    assert!(rejected >= 5, "the vectors include rejections");
    // The reasons, where the vectors only say -1.
    let mut out = [0u8; 8];
    assert_eq!(
        base32::decode(b"z", &mut out),
        Err(Base32Error::LeftoverBits)
    );
    assert_eq!(
        base32::decode(b"A", &mut out),
        Err(Base32Error::InvalidChar {
            index: 0,
            byte: b'A'
        })
    );
    assert_eq!(
        base32::decode(b"zz", &mut out),
        Err(Base32Error::LeftoverBits)
    );
}

#[test]
fn address_vectors_and_invalid_fc() {
    let v = common::reference_json("vectors/reference-header-vectors.json");
    let cases = v["addresses"].as_array().expect("addresses section");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let private = PrivateKey::parse_hex(s(&case["privateKey"])).unwrap();
        let public = private.public_key();
        assert_eq!(public.0, common::unhex32(s(&case["publicKey"])));
        assert_eq!(public.to_k_string().as_str(), s(&case["publicKey_k"]));
        let ip = public.address_unchecked();
        assert_eq!(hex::encode(ip.0), s(&case["sha512sha512_first16"]));
        let valid = case["valid_fc"].as_bool().unwrap();
        assert_eq!(public.is_valid(), valid);
        match PublicKey::parse_k(s(&case["publicKey_k"])) {
            Ok(k) => assert!(valid && k == public),
            Err(KeyParseError::InvalidAddress(bad)) => {
                assert!(!valid);
                assert_eq!(bad.0, ip);
            }
            Err(e) => panic!("unexpected error {e:?}"),
        }
        // A node address with a non-fc key is refused too.
        let node = NodeAddress {
            version: 22,
            label: 1,
            key: public,
        };
        assert_eq!(
            NodeAddress::parse(node.to_key_string().as_str()).is_ok(),
            valid
        );
    }
}

#[test]
fn admin_node_address_strings() {
    let replies = common::reference_json("vectors/admin-replies-AB.json");
    let mut seen = 0;
    fn walk(v: &serde_json::Value, seen: &mut usize) {
        match v {
            serde_json::Value::String(text) if text.starts_with("v22.") && text.ends_with(".k") => {
                let addr = NodeAddress::parse(text).unwrap();
                assert_eq!(addr.to_key_string().as_str(), text);
                *seen += 1;
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, seen)),
            serde_json::Value::Object(o) => o.values().for_each(|x| walk(x, seen)),
            _ => {}
        }
    }
    walk(&replies, &mut seen);
    assert!(
        seen >= 3,
        "admin replies hold node address strings ({seen})"
    );
}

/// Valid fc keys are 1 in 256 and x25519 is slow in debug builds, so sample the 12 real
/// keys from keys.json rather than searching for new ones.
fn valid_public_key() -> impl Strategy<Value = PublicKey> {
    let keys: Vec<PublicKey> = keypairs()
        .iter()
        .map(|p| PublicKey(common::unhex32(s(&p["publicKey_hex"]))))
        .collect();
    proptest::sample::select(keys)
}

proptest! {
    #[test]
    fn base32_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut enc = [0u8; 400];
        let n = base32::encode(&bytes, &mut enc).unwrap();
        prop_assert_eq!(n, base32::encoded_len(bytes.len()));
        let mut dec = [0u8; 200];
        let m = base32::decode(&enc[..n], &mut dec).unwrap();
        prop_assert_eq!(&dec[..m], bytes.as_slice());
    }

    #[test]
    fn base32_decode_is_canonical(text in "[0-9bcdfghjklmnpqrstuvwxyzBCDFGHJKLMNPQRSTUVWXYZ]{0,60}") {
        let mut dec = [0u8; 64];
        if let Ok(m) = base32::decode(text.as_bytes(), &mut dec) {
            let mut enc = [0u8; 128];
            let n = base32::encode(&dec[..m], &mut enc).unwrap();
            let lower = text.to_ascii_lowercase();
            prop_assert_eq!(&enc[..n], lower.as_bytes());
        }
    }

    #[test]
    fn k_string_round_trip(key in valid_public_key()) {
        let text = key.to_k_string();
        prop_assert_eq!(text.len(), 54);
        prop_assert_eq!(PublicKey::parse_k(&text), Ok(key));
    }

    #[test]
    fn any_key_prints_and_reparses_or_is_invalid(bytes in any::<[u8; 32]>()) {
        let key = PublicKey(bytes);
        match PublicKey::parse_k(&key.to_k_string()) {
            Ok(k) => prop_assert_eq!(k, key),
            Err(KeyParseError::InvalidAddress(_)) => prop_assert!(!key.is_valid()),
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }

    #[test]
    fn node_address_round_trip(version in any::<u32>(), label in any::<u64>(), key in valid_public_key()) {
        let addr = NodeAddress { version, label, key };
        let text = addr.to_key_string();
        prop_assert_eq!(NodeAddress::parse(&text), Ok(addr));
        let upper = text.to_ascii_uppercase();
        // Upper-case hex and base32 are accepted; 'V' and '.K' are not.
        let mixed = format!("v{}k", &upper[1..upper.len() - 1]);
        prop_assert_eq!(NodeAddress::parse(&mixed), Ok(addr));
    }

    #[test]
    fn ip6_round_trips(bytes in any::<[u8; 16]>()) {
        let ip = Ip6(bytes);
        prop_assert_eq!(Ip6::parse(&ip.to_full_string()), Ok(ip));
        prop_assert_eq!(Ip6::parse(&ip.to_short_string()), Ok(ip));
    }

    #[test]
    fn private_key_hex_round_trip(bytes in any::<[u8; 32]>()) {
        let key = PrivateKey(bytes);
        prop_assert_eq!(PrivateKey::parse_hex(&key.to_hex_string()), Ok(key.clone()));
        prop_assert_eq!(PrivateKey::parse_hex(&key.to_hex_string().to_ascii_uppercase()), Ok(key));
    }
}
