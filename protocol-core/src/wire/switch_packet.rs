//! What follows a switch header at an endpoint (`net/SessionManager.c`
//! `incomingFromSwitchIf`): the next four bytes decide between a control frame, an inner
//! CryptoAuth handshake, and a session handle in front of an inner data packet.

use super::error::{check_len, WireError};
use super::field::read_u32;
use super::switch_header::SWITCH_HEADER_LEN;

/// The highest 4-byte value that is a handshake state rather than a handle.
pub const MAX_HANDSHAKE_STATE: u32 = 3;
/// Handle + inner counter + Poly1305 tag: the least a handle-prefixed packet carries.
pub const MIN_DATA_AFTER_SWITCH_HEADER: usize = 4 + 4 + 16;
/// Inner CryptoAuth handshake header (120) + the sender's handle inside the payload.
pub const MIN_HANDSHAKE_AFTER_SWITCH_HEADER: usize = 120 + 4;

/// The kind of a switch packet addressed to this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchPayloadKind {
    /// `ff ff ff ff`: a control frame, starting at offset 12.
    Control,
    /// 0..=3: an inner handshake; the value is the handshake state (Hello, Repeat Hello,
    /// Key, Repeat Key) and the CryptoAuth header starts at offset 12.
    Handshake { state: u32 },
    /// Anything else: the receiver's session handle; the inner data packet starts at 16.
    Data { handle: u32 },
}

/// Classify a switch packet (starting at its switch header) with the reference's runt
/// checks: 16 bytes to decide at all, 36 for a data packet, 136 for a handshake; a
/// handle-prefixed packet whose inner counter is below 4 is refused as `Malformed`.
pub fn classify_switch_packet(packet: &[u8]) -> Result<SwitchPayloadKind, WireError> {
    check_len(packet, SWITCH_HEADER_LEN + 4)?;
    let first = read_u32(packet, SWITCH_HEADER_LEN);
    if first == super::control::CONTROL_MARKER {
        return Ok(SwitchPayloadKind::Control);
    }
    if first <= MAX_HANDSHAKE_STATE {
        check_len(
            packet,
            SWITCH_HEADER_LEN + MIN_HANDSHAKE_AFTER_SWITCH_HEADER,
        )?;
        return Ok(SwitchPayloadKind::Handshake { state: first });
    }
    check_len(packet, SWITCH_HEADER_LEN + MIN_DATA_AFTER_SWITCH_HEADER)?;
    if read_u32(packet, SWITCH_HEADER_LEN + 4) <= MAX_HANDSHAKE_STATE {
        return Err(WireError::Malformed);
    }
    Ok(SwitchPayloadKind::Data { handle: first })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(first: u32, second: u32, len: usize) -> [u8; 200] {
        let mut p = [0u8; 200];
        p[12..16].copy_from_slice(&first.to_be_bytes());
        p[16..20].copy_from_slice(&second.to_be_bytes());
        p[len..].fill(0);
        p
    }

    #[test]
    fn kinds() {
        let p = packet(0xffff_ffff, 0, 16);
        assert_eq!(
            classify_switch_packet(&p[..16]),
            Ok(SwitchPayloadKind::Control)
        );
        let p = packet(2, 0, 136);
        assert_eq!(
            classify_switch_packet(&p[..136]),
            Ok(SwitchPayloadKind::Handshake { state: 2 })
        );
        let p = packet(27027, 4, 36);
        assert_eq!(
            classify_switch_packet(&p[..36]),
            Ok(SwitchPayloadKind::Data { handle: 27027 })
        );
    }

    #[test]
    fn runts_and_bad_counters() {
        let p = packet(0, 0, 200);
        assert!(matches!(
            classify_switch_packet(&p[..15]),
            Err(WireError::Truncated { .. })
        ));
        assert!(matches!(
            classify_switch_packet(&p[..135]),
            Err(WireError::Truncated { .. })
        ));
        let p = packet(4, 9, 200);
        assert!(matches!(
            classify_switch_packet(&p[..35]),
            Err(WireError::Truncated { .. })
        ));
        let p = packet(4, 3, 200);
        assert_eq!(classify_switch_packet(&p[..36]), Err(WireError::Malformed));
    }
}
