#![no_main]
//! Arbitrary bytes as a serialized encoding scheme: the reader never panics, whatever it
//! accepts is sane and re-serializes to the same bytes (less zero padding), and the label
//! operations of an accepted scheme never panic.
use libfuzzer_sys::fuzz_target;
use protocol_core::switch::{is_sane, ConvertTo, EncodingScheme};

fuzz_target!(|data: &[u8]| {
    let Ok(scheme) = EncodingScheme::deserialize(data) else {
        return;
    };
    assert!(is_sane(scheme.forms()));
    let mut buf = [0u8; 256];
    let n = scheme
        .serialize(&mut buf)
        .expect("31 forms fit in 256 bytes");
    assert_eq!(&data[..n], &buf[..n], "re-serialized scheme differs");
    assert!(
        data[n..].iter().all(|&b| b == 0),
        "accepted non-zero trailing bytes"
    );
    assert_eq!(EncodingScheme::deserialize(&buf[..n]).as_ref(), Ok(&scheme));

    // Use the input again as a label to run the scheme's label operations on.
    let mut raw = [0u8; 8];
    for (slot, byte) in raw.iter_mut().zip(data.iter().rev()) {
        *slot = *byte;
    }
    let label = u64::from_le_bytes(raw);
    let _ = scheme.is_self_route(label);
    let _ = scheme.is_one_hop(label);
    if let Some(iface) = scheme.parse_director(label) {
        let form = scheme.get_encoding_form(label);
        if let Some(director) = scheme.serialize_director(iface, form) {
            assert_eq!(scheme.parse_director(director), Some(iface));
        }
    }
    let _ = scheme.convert_label(label, ConvertTo::Canonical);
    for form in 0..scheme.forms().len() + 1 {
        let _ = scheme.convert_label(label, ConvertTo::Form(form));
    }
});
