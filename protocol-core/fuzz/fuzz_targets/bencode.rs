#![no_main]
//! The bencode reader on arbitrary input, in plain and cjdns-message mode. Whatever parses
//! is re-emitted (sorted, de-duplicated, re-padded), must parse again to an equal value,
//! and must be byte-identical to the input when the input was already canonical.

use libfuzzer_sys::fuzz_target;
use protocol_core::wire::bencode::{Dict, Value, Writer};

fn emit(value: &Value<'_>, cjdns: bool, out: &mut [u8]) -> usize {
    let mut w = if cjdns {
        Writer::new_cjdns(out)
    } else {
        Writer::new(out)
    };
    w.value(value).expect("room to re-emit");
    w.finish().expect("complete value")
}

fuzz_target!(|data: &[u8]| {
    // Re-emitting never grows a value by more than the padding (3 bytes) and an empty key
    // written as `:` becoming `0:` (one byte per key).
    let mut out = vec![0u8; data.len() * 2 + 8];

    if let Ok((value, used)) = Value::parse_prefix(data) {
        let n = emit(&value, false, &mut out);
        let again = Value::parse(&out[..n]).expect("re-emitted bytes parse");
        let mut twice = vec![0u8; n];
        assert_eq!(emit(&again, false, &mut twice), n);
        assert_eq!(twice, out[..n]);
        if value.is_canonical() {
            assert_eq!(&out[..n], &data[..used]);
        }
        assert_eq!(Value::parse(data).is_ok(), used == data.len());
    }

    if let Ok((dict, rest)) = Dict::parse_cjdns(data) {
        assert_eq!(dict.raw().len() + rest.len(), data.len());
        let value = Value::Dict(dict);
        let n = emit(&value, true, &mut out);
        assert_eq!(n % 4, 0);
        if dict.is_empty() {
            // The reference writes `d00e` for an empty dict and cannot read it back.
            assert_eq!(&out[..n], b"d00e");
            return;
        }
        let (again, tail) = Dict::parse_cjdns(&out[..n]).expect("re-emitted message parses");
        assert!(tail.is_empty());
        let mut twice = vec![0u8; n];
        assert_eq!(emit(&Value::Dict(again), true, &mut twice), n);
        assert_eq!(twice, out[..n]);
    }
});
