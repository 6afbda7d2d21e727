//! Property tests for label arithmetic, director encodings and scheme serialization.

use proptest::prelude::*;
use protocol_core::switch::core::ERROR_FRAME_MAX;
use protocol_core::switch::{
    is_sane, log2, routes_through, splice, unsplice, v3x5x8, ConvertTo, EncodingForm,
    EncodingScheme, SwitchAction, SwitchCore,
};

/// Labels with a terminating 1 somewhere in the low 60 bits.
fn label() -> impl Strategy<Value = u64> {
    (0u32..60, any::<u64>()).prop_map(|(top, bits)| (1u64 << top) | (bits & ((1u64 << top) - 1)))
}

fn sane_scheme() -> impl Strategy<Value = EncodingScheme> {
    let fixed = (1u8..=31).prop_map(|bits| vec![EncodingForm::new(bits, 0, 0)]);
    let variable =
        prop::collection::vec((1u8..=31, 1u8..=28, any::<u32>()), 2..8).prop_map(|mut raw| {
            raw.sort_by_key(|f| f.0);
            raw.dedup_by_key(|f| f.0);
            raw.into_iter()
                .map(|(bits, len, prefix)| {
                    EncodingForm::new(bits, len, prefix & ((1u32 << len) - 1))
                })
                .collect::<Vec<_>>()
        });
    prop_oneof![fixed, variable]
        .prop_filter("sane", |forms| is_sane(forms))
        .prop_map(|forms| EncodingScheme::new(&forms).expect("sane forms build a scheme"))
}

proptest! {
    #[test]
    fn unsplice_undoes_splice(go_here in label(), via_here in label()) {
        if let Some(full) = splice(go_here, via_here) {
            prop_assert_eq!(unsplice(full, via_here), go_here);
            prop_assert!(routes_through(full, via_here));
        } else {
            prop_assert!(log2(go_here) + log2(via_here) > 59);
        }
    }

    #[test]
    fn spliced_label_has_both_lengths(go_here in label(), via_here in label()) {
        if let Some(full) = splice(go_here, via_here) {
            prop_assert_eq!(log2(full), log2(go_here) + log2(via_here));
        }
    }

    #[test]
    fn every_director_round_trips(iface in 0u32..257, rest in 0u64..(1 << 40)) {
        let scheme = EncodingScheme::v358();
        let narrowest = v3x5x8::bits_for_interface(iface);
        for (form, bits) in [4u32, 7, 10].into_iter().enumerate() {
            if bits < narrowest {
                prop_assert_eq!(scheme.serialize_director(iface, Some(form)), None);
                continue;
            }
            let director = v3x5x8::compress(iface, bits);
            if iface == 1 {
                // The router is `0001` whatever the width, and always read as 4 bits.
                prop_assert_eq!(director, 1);
                prop_assert_eq!(v3x5x8::first_interface(director), 1);
                continue;
            }
            prop_assert_eq!(v3x5x8::decompress(director, bits), iface);
            prop_assert_eq!(v3x5x8::bits_for_label(director), bits);
            prop_assert_eq!(scheme.serialize_director(iface, Some(form)), Some(director));
            prop_assert_eq!(scheme.parse_director(director), Some(iface));
            // Re-encoding a whole label keeps the rest of the route.
            let label = (((rest << 1) | 1) << bits) | director;
            let canonical = scheme.convert_label(label, ConvertTo::Canonical).unwrap();
            prop_assert_eq!(scheme.parse_director(canonical), Some(iface));
            prop_assert_eq!(canonical >> narrowest, label >> bits);
            prop_assert_eq!(scheme.convert_label(canonical, ConvertTo::Form(form)), Some(label));
        }
    }

    #[test]
    fn scheme_round_trips(scheme in sane_scheme(), padding in 0usize..3) {
        let mut buf = [0u8; 256];
        let n = scheme.serialize(&mut buf).unwrap();
        prop_assert_eq!(n, scheme.serialized_len());
        prop_assert_eq!(EncodingScheme::deserialize(&buf[..n]), Ok(scheme.clone()));
        // A zero byte of padding is tolerated by the reader as long as the reference's
        // read window would swallow it; re-serializing drops it.
        if let Ok(again) = EncodingScheme::deserialize(&buf[..n + padding]) {
            prop_assert_eq!(again, scheme);
        }
    }

    #[test]
    fn accepted_bytes_reserialize_to_a_prefix(bytes in prop::collection::vec(any::<u8>(), 0..24)) {
        if let Ok(scheme) = EncodingScheme::deserialize(&bytes) {
            let mut buf = [0u8; 256];
            let n = scheme.serialize(&mut buf).unwrap();
            prop_assert_eq!(&bytes[..n], &buf[..n]);
            prop_assert!(bytes[n..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn forwarded_label_keeps_the_route_invariant(
        label in any::<u64>(),
        source in 0u32..12,
        shift in 0u8..64,
        tail in prop::collection::vec(any::<u8>(), 4..40),
    ) {
        let mut switch = SwitchCore::<12>::new();
        while switch.add_interface().is_ok() {}
        let mut packet = label.to_be_bytes().to_vec();
        packet.extend_from_slice(&[0, 0x40 | shift, 0, 0]);
        packet.extend_from_slice(&tail);
        let before = packet.clone();
        let mut error = [0u8; ERROR_FRAME_MAX];
        match switch.switch_packet(source, &mut packet, &mut error) {
            SwitchAction::Forward { .. } | SwitchAction::DeliverToRouter => {
                let out = u64::from_be_bytes(packet[..8].try_into().unwrap());
                let new_shift = packet[9] & 0x3f;
                let consumed = u32::from(new_shift - shift);
                prop_assert!((4..=10).contains(&consumed));
                // The unconsumed route bits moved down by exactly what was consumed...
                prop_assert_eq!(out << consumed >> consumed, label >> consumed);
                // ...and the top holds the arrival interface, reversed.
                prop_assert_eq!(v3x5x8::first_interface(out.reverse_bits()), source);
                prop_assert_eq!(&packet[12..], &before[12..]);
            }
            SwitchAction::SendError { iface, len, .. } => {
                prop_assert_eq!(iface, source);
                prop_assert_eq!(&packet, &before);
                prop_assert_eq!(&error[24..len], &before[..len - 24]);
            }
            SwitchAction::Drop(_) => {}
        }
    }
}
