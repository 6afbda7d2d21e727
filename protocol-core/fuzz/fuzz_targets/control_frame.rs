//! Control frames: whatever parses must re-emit to the same bytes, and an ERROR built from
//! arbitrary cause bytes must parse back to the (truncated) cause.
#![no_main]
use libfuzzer_sys::fuzz_target;
use protocol_core::wire::control::{ControlFrame, ControlRepr, ErrorType, ERROR_CAUSE_MAX_LEN};
use protocol_core::wire::emit_error;

fn round_trip(frame: &[u8]) {
    if let Ok(repr) = ControlRepr::parse(frame) {
        assert_eq!(repr.buffer_len(), frame.len());
        let mut out = [0u8; 2048];
        let n = repr.emit(&mut out).expect("a parsed frame must re-emit");
        assert_eq!(&out[..n], frame);
        if let Some(cause) = repr.error_cause() {
            let _ = (cause.switch_header(), cause.handle(), cause.rest());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 2048 {
        return;
    }
    // As given (checksums rarely match)...
    round_trip(data);

    // ...and with the marker and checksum made right, so the body parsers get exercised.
    if data.len() >= 8 {
        let mut fixed = [0u8; 2048];
        let frame = &mut fixed[..data.len()];
        frame.copy_from_slice(data);
        frame[..4].copy_from_slice(&[0xff; 4]);
        // Steer the type into the defined range most of the time.
        frame[6] = 0;
        frame[7] = 2 + data[7] % 12;
        ControlFrame::new_unchecked(&mut frame[..]).fill_checksum();
        round_trip(frame);
    }

    // ERROR with this input as cause.
    let code = data.first().map_or(0, |b| u32::from(*b % 14));
    let error_type = ErrorType::from_u32(code).unwrap();
    let mut out = [0u8; 300];
    match emit_error(&mut out, error_type, data) {
        Ok(n) => {
            let kept = data.len().min(ERROR_CAUSE_MAX_LEN);
            assert_eq!(n, 12 + kept);
            let repr = ControlRepr::parse(&out[..n]).expect("our own ERROR must parse");
            assert_eq!(
                repr,
                ControlRepr::Error {
                    error_type,
                    cause: &data[..kept]
                }
            );
        }
        Err(_) => assert!(data.len() < 16),
    }
});
