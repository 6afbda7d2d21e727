//! The switch against `reference-header-vectors.json` (values printed by cjdns v22.3's own
//! `Bits_bitReverse64`, `NumberCompress_*`, `LabelSplicer_*` and switch logic).

mod common;

use protocol_core::switch::core::ERROR_FRAME_MAX;
use protocol_core::switch::encoding::{V358_FORMS, V358_SERIALIZED};
use protocol_core::switch::{
    bit_reverse64, routes_through, splice, unsplice, v3x5x8, ConvertTo, EncodingForm,
    EncodingScheme, SwitchAction, SwitchCore,
};
use serde_json::Value;

fn vectors(section: &str) -> Vec<Value> {
    let all = common::reference_json("vectors/reference-header-vectors.json");
    let list = all[section]
        .as_array()
        .unwrap_or_else(|| panic!("section {section} missing from reference-header-vectors.json"))
        .clone();
    assert!(!list.is_empty(), "section {section} is empty");
    list
}

fn hex_u64(v: &Value) -> u64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a hex string, got {v}"));
    u64::from_str_radix(s, 16).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

fn num(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}"))
}

#[test]
fn bit_reverse64_vectors() {
    for v in vectors("bitReverse64") {
        assert_eq!(bit_reverse64(hex_u64(&v["in"])), hex_u64(&v["out"]), "{v}");
    }
}

#[test]
fn v3x5x8_all_257_interfaces() {
    let list = vectors("v3x5x8_interfaces");
    assert_eq!(list.len(), 257);
    let scheme = EncodingScheme::v358();
    for v in list {
        let iface = num(&v["ifIndex"]) as u32;
        let bits = num(&v["bits"]) as u32;
        let director = hex_u64(&v["director"]);
        let peer_label = hex_u64(&v["peerLabel"]);
        assert_eq!(v3x5x8::bits_for_interface(iface), bits, "{v}");
        assert_eq!(v3x5x8::compress(iface, bits), director, "{v}");
        assert_eq!(v3x5x8::label_for_interface(iface), peer_label, "{v}");
        assert_eq!(v3x5x8::bits_for_label(peer_label), bits, "{v}");
        assert_eq!(
            v3x5x8::decompress(peer_label, bits),
            num(&v["decompressed"]) as u32,
            "{v}"
        );
        assert_eq!(v3x5x8::first_interface(peer_label), iface, "{v}");
        // The generic scheme code agrees with the fixed functions.
        assert_eq!(scheme.parse_director(peer_label), Some(iface), "{v}");
        assert_eq!(
            scheme.serialize_director(iface, None),
            Some(director),
            "{v}"
        );
        assert!(scheme.is_one_hop(peer_label) || iface == 1, "{v}");
    }
}

#[test]
fn switch_forward_vectors() {
    let mut switch = SwitchCore::<257>::new();
    while switch.add_interface().is_ok() {}
    for v in vectors("switch_forward") {
        let label_in = hex_u64(&v["labelIn"]);
        let source = num(&v["arrivedOnIfIndex"]) as u32;
        let bits = num(&v["bitsConsumed"]) as u8;
        let dest = num(&v["destIfIndex"]) as u32;
        let mut packet = [0u8; 32];
        packet[..8].copy_from_slice(&label_in.to_be_bytes());
        packet[9] = 0x40;
        let mut error = [0u8; ERROR_FRAME_MAX];
        let action = switch.switch_packet(source, &mut packet, &mut error);
        let expected = if dest == 1 {
            SwitchAction::DeliverToRouter
        } else {
            SwitchAction::Forward { iface: dest }
        };
        assert_eq!(action, expected, "{v}");
        assert_eq!(&packet[..8], &hex_u64(&v["labelOut"]).to_be_bytes(), "{v}");
        assert_eq!(&packet[8..12], &[0, 0x40 | bits, 0xff, 0xff], "{v}");
    }
}

#[test]
fn splice_vectors() {
    for v in vectors("splice") {
        let go_here = hex_u64(&v["goHere"]);
        let via_here = hex_u64(&v["viaHere"]);
        let spliced = hex_u64(&v["spliced"]);
        assert_eq!(splice(go_here, via_here), Some(spliced), "{v}");
        assert_eq!(
            unsplice(spliced, via_here),
            hex_u64(&v["unspliceCheck"]),
            "{v}"
        );
        assert_eq!(
            routes_through(spliced, via_here),
            num(&v["routesThrough"]) == 1,
            "{v}"
        );
    }
}

#[test]
fn get_label_for_vectors() {
    let scheme = EncodingScheme::v358();
    for v in vectors("getLabelFor") {
        let target = hex_u64(&v["target"]);
        let asker = hex_u64(&v["whoIsAsking"]);
        let out = hex_u64(&v["out"]);
        assert_eq!(v3x5x8::get_label_for(target, asker), out, "{v}");
        // The same conversion through the generic scheme.
        let asker_form = scheme.get_encoding_form(asker).unwrap();
        let target_form = scheme.get_encoding_form(target).unwrap();
        if target_form < asker_form {
            assert_eq!(
                scheme.convert_label(target, ConvertTo::Form(asker_form)),
                Some(out),
                "{v}"
            );
            assert_eq!(
                scheme.convert_label(out, ConvertTo::Canonical),
                Some(target),
                "{v}"
            );
        }
    }
}

#[test]
fn serialized_schemes() {
    let mut buf = [0u8; 200];
    let v358 = EncodingScheme::v358();
    let n = v358.serialize(&mut buf).unwrap();
    assert_eq!(&buf[..n], &[0x61, 0x14, 0x45, 0x81, 0x00]);
    assert_eq!(&buf[..n], &V358_SERIALIZED);
    assert_eq!(v358.forms(), &V358_FORMS);
    assert_eq!(
        EncodingScheme::deserialize(&common::unhex("6114458100")).unwrap(),
        v358
    );

    // Fixed 4, fixed 8 and v4x8, as in cjdnsencode's test.js.
    let cases: [(&[EncodingForm], &str); 3] = [
        (&[EncodingForm::new(4, 0, 0)], "8000"),
        (&[EncodingForm::new(8, 0, 0)], "0001"),
        (
            &[EncodingForm::new(4, 1, 1), EncodingForm::new(8, 1, 0)],
            "810c08",
        ),
    ];
    for (forms, hex) in cases {
        let scheme = EncodingScheme::new(forms).unwrap();
        let n = scheme.serialize(&mut buf).unwrap();
        assert_eq!(hex::encode(&buf[..n]), hex);
        assert_eq!(
            EncodingScheme::deserialize(&common::unhex(hex)).unwrap(),
            scheme
        );
    }
    // 29 forms, prefixes 1, 10, 100, ... (cjdns-route-server's packing test).
    let many: Vec<EncodingForm> = (1u8..30)
        .map(|i| EncodingForm::new(i, i, 1 << (i - 1)))
        .collect();
    let scheme = EncodingScheme::new(&many).unwrap();
    let n = scheme.serialize(&mut buf).unwrap();
    assert_eq!(EncodingScheme::deserialize(&buf[..n]).unwrap(), scheme);

    // A too-small output buffer is an error, not a panic.
    assert!(v358.serialize(&mut buf[..4]).is_err());
}

/// Values from the tests of cjdns-route-server's `cjdns-core` (an independent Rust
/// implementation), as a cross-check beyond what cjdns itself printed.
#[test]
fn route_server_cross_checks() {
    // A six-hop path, first hop 0x15 (labels listed from the source outward).
    let hops = [0x15u64, 0x8e, 0xa2, 0x1d, 0x414, 0x1b];
    let full = hops[1..]
        .iter()
        .try_fold(hops[0], |via, &go| splice(go, via))
        .unwrap();
    assert_eq!(full, 0x0000_001b_0535_10e5);
    assert!(routes_through(full, 0x15));
    assert!(!routes_through(full, 0x13));
    assert!(routes_through(full, 1));
    assert!(routes_through(u64::MAX, 1));
    assert!(!routes_through(u64::MAX, 0xffff_ffff_ffff_fffe));
    assert!(!routes_through(0x0035_0e00, full));

    // Splicing right up to the 59-bit limit, and one bit past it.
    assert_eq!(
        splice(0x0200_0000_0000_1111, 0x5),
        Some(0x0800_0000_0000_4445)
    );
    assert_eq!(splice(0x0400_0000_0000_1111, 0x5), None);

    let v358 = EncodingScheme::v358();
    assert_eq!(v358.get_encoding_form(0x1110), Some(2));
    assert_eq!(v358.get_encoding_form(0x1111), Some(0));
    assert_eq!(v358.get_encoding_form(0x1112), Some(1));
    assert_eq!(v358.convert_label(0x15, ConvertTo::Form(2)), Some(0x404));
    assert_eq!(v358.convert_label(0x15, ConvertTo::Form(1)), Some(0x86));
    assert_eq!(v358.convert_label(0x15, ConvertTo::Form(0)), Some(0x15));
    assert_eq!(v358.convert_label(0x404, ConvertTo::Canonical), Some(0x15));
    assert_eq!(v358.convert_label(0x15, ConvertTo::Form(3)), None);
    assert!(v358.is_one_hop(0x13) && v358.is_one_hop(0x15) && !v358.is_one_hop(0x153));

    let no_match =
        EncodingScheme::new(&[EncodingForm::new(5, 2, 2), EncodingForm::new(8, 2, 0)]).unwrap();
    assert_eq!(no_match.get_encoding_form(0x1113), None);
    assert_eq!(no_match.convert_label(0x1113, ConvertTo::Canonical), None);

    let v48 =
        EncodingScheme::new(&[EncodingForm::new(4, 1, 1), EncodingForm::new(8, 1, 0)]).unwrap();
    assert_eq!(
        v48.convert_label(0x0040_0000_0000_0067, ConvertTo::Form(1)),
        Some(0x0400_0000_0000_0606)
    );
    assert_eq!(
        v48.convert_label(0x0400_0000_0000_0067, ConvertTo::Form(1)),
        None
    );
}
