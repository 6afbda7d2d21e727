#![no_main]
//! Arbitrary packets from arbitrary interfaces through a small switch: never panics, and
//! every forwarded label is the old label shifted by what was consumed with the reversed
//! arrival interface on top.
use libfuzzer_sys::fuzz_target;
use protocol_core::switch::core::ERROR_FRAME_MAX;
use protocol_core::switch::{bit_reverse64, v3x5x8, SwitchAction, SwitchCore};

fuzz_target!(|data: &[u8]| {
    let [source, absent, packet @ ..] = data else {
        return;
    };
    let mut switch = SwitchCore::<40>::new();
    while switch.add_interface().is_ok() {}
    // Take one interface away so "no such interface" is reachable too.
    let _ = switch.remove_interface(u32::from(*absent) % 40);
    let source = u32::from(*source) % 48;

    let mut packet = packet.to_vec();
    let before = packet.clone();
    let mut error = [0u8; ERROR_FRAME_MAX];
    let action = switch.switch_packet(source, &mut packet, &mut error);
    match action {
        SwitchAction::Forward { iface } | SwitchAction::SendError { iface, .. } => {
            assert!(switch.has_interface(iface));
        }
        _ => {}
    }
    match action {
        SwitchAction::Forward { .. } | SwitchAction::DeliverToRouter => {
            let label = u64::from_be_bytes(before[..8].try_into().unwrap());
            let out = u64::from_be_bytes(packet[..8].try_into().unwrap());
            let consumed = u32::from((packet[9] & 0x3f) - (before[9] & 0x3f));
            assert!((4..=10).contains(&consumed));
            assert_eq!(out << consumed >> consumed, label >> consumed);
            assert_eq!(v3x5x8::first_interface(bit_reverse64(out)), source);
            assert_eq!(packet[9] & 0xc0, before[9] & 0xc0);
            assert_eq!(&packet[10..12], &[0xff, 0xff]);
            assert_eq!(packet[8], before[8]);
            assert_eq!(&packet[12..], &before[12..]);
        }
        SwitchAction::SendError { iface, len, .. } => {
            assert_eq!(iface, source);
            assert_eq!(packet, before);
            let label = u64::from_be_bytes(before[..8].try_into().unwrap());
            assert_eq!(&error[..8], &bit_reverse64(label).to_be_bytes());
            assert_eq!(&error[8..12], &[0x03, 0x40, 0xff, 0xff]);
            assert_eq!(&error[12..16], &[0xff; 4]);
            assert_eq!(len, 24 + before.len().min(256));
            assert_eq!(&error[24..len], &before[..len - 24]);
        }
        SwitchAction::Drop(_) => assert_eq!(packet, before),
    }
    let stats = switch.stats();
    assert_eq!(
        stats.forwarded + stats.delivered_to_router + stats.errors_sent,
        u64::from(!matches!(action, SwitchAction::Drop(_)))
    );
});
