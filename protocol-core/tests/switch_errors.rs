//! Error frames from the switch, read back with the wire module's control frame parser.

use protocol_core::switch::core::ERROR_FRAME_MAX;
use protocol_core::switch::{
    bit_reverse64, v3x5x8, DropReason, SwitchAction, SwitchCore, SwitchError,
};
use protocol_core::wire::{ControlRepr, ErrorType, SwitchHeader};

fn packet(label: u64, flags: u8, shift: u8, payload_len: usize) -> Vec<u8> {
    let mut p = label.to_be_bytes().to_vec();
    p.extend_from_slice(&[flags, 0x40 | shift, 0x12, 0x34]);
    p.extend((0..payload_len).map(|i| i as u8));
    p
}

/// Check the frame the switch wrote and return its parsed error type and cause.
fn read_error(frame: &[u8], offending: &[u8]) -> ErrorType {
    let header = SwitchHeader::new_checked(frame).unwrap();
    let offending_label = u64::from_be_bytes(offending[..8].try_into().unwrap());
    assert_eq!(header.label(), bit_reverse64(offending_label));
    assert!(header.suppress_errors());
    assert_eq!(header.congestion(), 1);
    assert_eq!(header.version(), 1);
    assert_eq!(header.label_shift(), 0);
    assert_eq!(header.traffic_class(), 0xffff);
    match ControlRepr::parse(&frame[12..]).expect("switch error frame parses") {
        ControlRepr::Error { error_type, cause } => {
            let quoted = offending.len().min(256);
            assert_eq!(cause, &offending[..quoted]);
            error_type
        }
        other => panic!("expected an ERROR frame, got {other:?}"),
    }
}

fn full_switch() -> SwitchCore<257> {
    let mut switch = SwitchCore::<257>::new();
    while switch.add_interface().is_ok() {}
    switch
}

#[test]
fn no_such_peer_is_malformed_address_back_to_the_sender() {
    let mut switch = SwitchCore::<8>::new();
    switch.add_interface().unwrap();
    let mut error = [0u8; ERROR_FRAME_MAX];
    // From peer 0 toward interface 5, which does not exist.
    let mut p = packet(v3x5x8::label_for_interface(5), 0, 0, 40);
    let offending = p.clone();
    let action = switch.switch_packet(0, &mut p, &mut error);
    let SwitchAction::SendError {
        iface,
        len,
        error: kind,
    } = action
    else {
        panic!("expected an error frame, got {action:?}");
    };
    assert_eq!((iface, kind), (0, SwitchError::MalformedAddress));
    assert_eq!(p, offending, "the refused packet is left alone");
    assert_eq!(
        read_error(&error[..len], &offending),
        ErrorType::MalformedAddress
    );
    assert_eq!(switch.stats().errors_sent, 1);
}

#[test]
fn long_causes_are_cut_to_256_bytes() {
    let mut switch = SwitchCore::<8>::new();
    let mut error = [0u8; ERROR_FRAME_MAX];
    let mut p = packet(v3x5x8::label_for_interface(6), 0, 0, 1000);
    let offending = p.clone();
    let action = switch.switch_packet(1, &mut p, &mut error);
    let SwitchAction::SendError { iface, len, .. } = action else {
        panic!("expected an error frame, got {action:?}");
    };
    assert_eq!(iface, 1, "our own router's mistake goes back to the router");
    assert_eq!(len, ERROR_FRAME_MAX);
    assert_eq!(
        read_error(&error[..len], &offending),
        ErrorType::MalformedAddress
    );
}

#[test]
fn return_path_invalid_for_wide_source_to_router() {
    let mut switch = full_switch();
    let mut error = [0u8; ERROR_FRAME_MAX];
    // Interface 200 needs 10 bits; `...0001` with a 1 two bits above it leaves no room.
    let mut p = packet(0x0000_0000_0000_0041, 0, 4, 8);
    let offending = p.clone();
    let action = switch.switch_packet(200, &mut p, &mut error);
    let SwitchAction::SendError {
        iface,
        len,
        error: kind,
    } = action
    else {
        panic!("expected an error frame, got {action:?}");
    };
    assert_eq!((iface, kind), (200, SwitchError::ReturnPathInvalid));
    assert_eq!(
        read_error(&error[..len], &offending),
        ErrorType::ReturnPathInvalid
    );
    // With the 14 low bits reading `0..0001` the router gets it, ten bits consumed.
    let mut p = packet(0x0000_0000_0000_4001, 0, 4, 8);
    assert_eq!(
        switch.switch_packet(200, &mut p, &mut error),
        SwitchAction::DeliverToRouter
    );
    assert_eq!(p[9] & 0x3f, 14);
    let back = bit_reverse64(u64::from_be_bytes(p[..8].try_into().unwrap()));
    assert_eq!(back & 0x3ff, v3x5x8::compress(200, 10));
    assert_eq!(v3x5x8::first_interface(back), 200);
}

#[test]
fn source_wider_than_destination_is_malformed() {
    let mut switch = full_switch();
    let mut error = [0u8; ERROR_FRAME_MAX];
    // From interface 40 (10 bits) toward interface 2 written in 4 bits: no room to write 40.
    let mut p = packet(0x15, 0, 0, 8);
    let action = switch.switch_packet(40, &mut p, &mut error);
    assert!(matches!(
        action,
        SwitchAction::SendError {
            iface: 40,
            error: SwitchError::MalformedAddress,
            ..
        }
    ));
    // The same hop written in the 10-bit form is fine.
    let wide = (1 << 10) | v3x5x8::compress(2, 10);
    let mut p = packet(wide, 0, 0, 8);
    assert_eq!(
        switch.switch_packet(40, &mut p, &mut error),
        SwitchAction::Forward { iface: 2 }
    );
}

#[test]
fn suppressed_errors_are_counted_not_sent() {
    let mut switch = SwitchCore::<8>::new();
    let mut error = [0u8; ERROR_FRAME_MAX];
    let mut p = packet(v3x5x8::label_for_interface(5), 0x01, 0, 8);
    assert_eq!(
        switch.switch_packet(1, &mut p, &mut error),
        SwitchAction::Drop(DropReason::ErrorsSuppressed {
            error: SwitchError::MalformedAddress
        })
    );
    assert_eq!(switch.stats().dropped_errors_suppressed, 1);
    assert_eq!(switch.stats().errors_sent, 0);
    // An error frame bounced back toward a missing interface is itself suppressed.
    let mut p = packet(v3x5x8::label_for_interface(5), 0, 0, 8);
    let action = switch.switch_packet(1, &mut p, &mut error);
    let SwitchAction::SendError { len, .. } = action else {
        panic!("expected an error frame, got {action:?}");
    };
    let mut bounced = error[..len].to_vec();
    bounced[..8].copy_from_slice(&v3x5x8::label_for_interface(6).to_be_bytes());
    assert!(matches!(
        switch.switch_packet(1, &mut bounced, &mut error),
        SwitchAction::Drop(DropReason::ErrorsSuppressed { .. })
    ));
}

#[test]
fn too_small_error_buffer_is_a_counted_drop() {
    let mut switch = SwitchCore::<8>::new();
    let mut error = [0u8; 30];
    let mut p = packet(v3x5x8::label_for_interface(5), 0, 0, 8);
    assert_eq!(
        switch.switch_packet(1, &mut p, &mut error),
        SwitchAction::Drop(DropReason::ErrorBufferTooSmall {
            error: SwitchError::MalformedAddress
        })
    );
    assert_eq!(switch.stats().dropped_error_buffer_too_small, 1);
}
