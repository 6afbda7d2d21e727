#![no_main]
//! Every identity text parser on arbitrary input; whatever parses must print back to the
//! same text (lower-cased, since hex and base32 are read case-insensitively).

use libfuzzer_sys::fuzz_target;
use protocol_core::identity::{
    base32, label_to_string, parse_label, Ip6, NodeAddress, PrivateKey, PublicKey,
};

fuzz_target!(|data: &[u8]| {
    let mut decoded = [0u8; 256];
    if let Ok(n) = base32::decode(data, &mut decoded) {
        let mut encoded = [0u8; 512];
        let m = base32::encode(&decoded[..n], &mut encoded).expect("room to re-encode");
        assert_eq!(&encoded[..m], data.to_ascii_lowercase().as_slice());
    }

    if data.len() >= 16 {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&data[..16]);
        let ip = Ip6(bytes);
        assert_eq!(Ip6::parse(&ip.to_full_string()), Ok(ip));
        assert_eq!(Ip6::parse(&ip.to_short_string()), Ok(ip));
    }

    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let lower = text.to_ascii_lowercase();

    if let Ok(key) = PublicKey::parse_k(text) {
        assert_eq!(key.to_k_string().as_str(), lower);
    }
    if let Ok((key, rest)) = PublicKey::parse_k_prefix(text) {
        assert_eq!(key.to_k_string().as_str(), &lower[..54]);
        assert_eq!(rest, &text[54..]);
    }
    if let Ok(key) = PrivateKey::parse_hex(text) {
        assert_eq!(key.to_hex_string().as_str(), lower);
    }
    if let Ok(label) = parse_label(text) {
        assert_eq!(label_to_string(label).as_str(), lower);
    }
    if let Ok(addr) = NodeAddress::parse(text) {
        assert_eq!(addr.to_key_string().as_str(), lower);
        assert!(addr.key.is_valid());
    }
    if let Ok(ip) = Ip6::parse(text) {
        assert_eq!(Ip6::parse(&ip.to_full_string()), Ok(ip));
        assert_eq!(Ip6::parse(&ip.to_short_string()), Ok(ip));
        // Text without `::` and with four digits per group is the full form itself.
        if text.len() == 39 {
            assert_eq!(ip.to_full_string().as_str(), lower);
        }
    }
});
