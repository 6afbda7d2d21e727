//! The switch (`switch/SwitchCore.c`): forwards a packet by the director at the bottom of
//! its label, writing the reversed arrival interface into the top so the label becomes the
//! return path, or answers the sender with a control ERROR frame.
//!
//! Sans-IO: the caller hands in the packet and the interface it came from and gets told what
//! to send where. Interface 1 is always the local router.

use ::core::fmt;

use super::encoding::v3x5x8;
use super::label::bit_reverse64;
use crate::wire::control::{
    emit_error, ErrorType, ERROR_CAUSE_MAX_LEN, ERROR_CAUSE_MIN_LEN, ERROR_FRAME_MAX_LEN,
};
use crate::wire::switch_header::SWITCH_HEADER_VERSION;
use crate::wire::{SwitchHeader, WireError, SWITCH_HEADER_LEN};

/// The interface through which the switch talks to its own router.
pub const ROUTER_INTERFACE: u32 = 1;

/// Longest error frame the switch writes: switch header, 0xffffffff marker, control header,
/// error type, then at most 256 bytes of the offending packet.
pub const ERROR_FRAME_MAX: usize = SWITCH_HEADER_LEN + ERROR_FRAME_MAX_LEN;

/// The errors a switch reports to the sender (values of `wire/Error.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SwitchError {
    /// The label names no interface here, or names the router without `0001`, or the
    /// arrival interface cannot be written back into the label.
    MalformedAddress,
    /// For the router, but the label has no room to record the way back.
    ReturnPathInvalid,
}

impl SwitchError {
    pub const fn as_u32(self) -> u32 {
        match self {
            SwitchError::MalformedAddress => 1,
            SwitchError::ReturnPathInvalid => 10,
        }
    }

    pub const fn error_type(self) -> ErrorType {
        match self {
            SwitchError::MalformedAddress => ErrorType::MalformedAddress,
            SwitchError::ReturnPathInvalid => ErrorType::ReturnPathInvalid,
        }
    }
}

impl From<SwitchError> for ErrorType {
    fn from(error: SwitchError) -> Self {
        error.error_type()
    }
}

/// Why a packet went nowhere, not even as an error frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Shorter than a switch header.
    Runt,
    /// Refused with `error`, but too short to quote in an error frame.
    RuntCause { error: SwitchError },
    /// Refused with `error`, but the sender set suppressErrors.
    ErrorsSuppressed { error: SwitchError },
    /// Forwarding would shift the label by more than 63 bits in total.
    LabelShiftOverflow,
    /// The source interface is not one of ours.
    UnknownSourceInterface,
    /// Refused with `error`, but the caller's error buffer could not hold the frame.
    ErrorBufferTooSmall { error: SwitchError },
}

/// What the caller must do with a packet after [`SwitchCore::switch_packet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchAction {
    /// Send the packet, rewritten in place, out of `iface`.
    Forward { iface: u32 },
    /// The packet, rewritten in place, is for the local router; its label, bit-reversed,
    /// is the path back to the sender.
    DeliverToRouter,
    /// Send `error_out[..len]` out of `iface` (the interface the packet came from, which is
    /// [`ROUTER_INTERFACE`] if our own router sent it). The packet itself is not sent.
    SendError {
        iface: u32,
        len: usize,
        error: SwitchError,
    },
    /// Send nothing.
    Drop(DropReason),
}

/// Why an interface operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchCoreError {
    /// Every interface number the table can hold is taken.
    OutOfSpace,
    /// No such interface is registered.
    NoSuchInterface,
    /// Interface 1 is the router and always exists.
    RouterInterface,
}

impl fmt::Display for SwitchCoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SwitchCoreError::OutOfSpace => "no free interface number",
            SwitchCoreError::NoSuchInterface => "no such interface",
            SwitchCoreError::RouterInterface => "interface 1 is the router",
        })
    }
}

/// Counters of what the switch did, for logging and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SwitchStats {
    pub forwarded: u64,
    pub delivered_to_router: u64,
    pub errors_sent: u64,
    pub dropped_runt: u64,
    pub dropped_runt_cause: u64,
    pub dropped_errors_suppressed: u64,
    pub dropped_label_shift_overflow: u64,
    pub dropped_unknown_source: u64,
    pub dropped_error_buffer_too_small: u64,
}

impl SwitchStats {
    fn count_drop(&mut self, reason: DropReason) {
        let counter = match reason {
            DropReason::Runt => &mut self.dropped_runt,
            DropReason::RuntCause { .. } => &mut self.dropped_runt_cause,
            DropReason::ErrorsSuppressed { .. } => &mut self.dropped_errors_suppressed,
            DropReason::LabelShiftOverflow => &mut self.dropped_label_shift_overflow,
            DropReason::UnknownSourceInterface => &mut self.dropped_unknown_source,
            DropReason::ErrorBufferTooSmall { .. } => &mut self.dropped_error_buffer_too_small,
        };
        *counter = counter.saturating_add(1);
    }
}

/// A v3x5x8 switch with room for interfaces `0..N` (`N` in `2..=257`; v3x5x8 cannot
/// address more than 257). Interface 1, the router, always exists.
#[derive(Clone, Debug)]
pub struct SwitchCore<const N: usize> {
    in_use: [bool; N],
    stats: SwitchStats,
}

impl<const N: usize> Default for SwitchCore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> SwitchCore<N> {
    const CAPACITY_IS_VALID: () = assert!(
        N >= 2 && N <= v3x5x8::INTERFACES as usize,
        "SwitchCore needs room for 2..=257 interfaces"
    );

    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::CAPACITY_IS_VALID;
        let mut in_use = [false; N];
        if let Some(router) = in_use.get_mut(ROUTER_INTERFACE as usize) {
            *router = true;
        }
        SwitchCore {
            in_use,
            stats: SwitchStats::default(),
        }
    }

    /// Register a new peer interface on the lowest free number, as `SwitchCore_addInterface`
    /// does (so numbers of removed peers are reused). Returns the number and the one-hop
    /// label that reaches it.
    pub fn add_interface(&mut self) -> Result<(u32, u64), SwitchCoreError> {
        let index = self
            .in_use
            .iter()
            .position(|used| !used)
            .ok_or(SwitchCoreError::OutOfSpace)?;
        self.in_use[index] = true;
        let iface = index as u32;
        Ok((iface, v3x5x8::label_for_interface(iface)))
    }

    /// Unregister a peer interface; its number becomes free for the next peer.
    pub fn remove_interface(&mut self, iface: u32) -> Result<(), SwitchCoreError> {
        if iface == ROUTER_INTERFACE {
            return Err(SwitchCoreError::RouterInterface);
        }
        match self.in_use.get_mut(iface as usize) {
            Some(used) if *used => {
                *used = false;
                Ok(())
            }
            _ => Err(SwitchCoreError::NoSuchInterface),
        }
    }

    pub fn has_interface(&self, iface: u32) -> bool {
        self.in_use.get(iface as usize).copied().unwrap_or(false)
    }

    pub fn stats(&self) -> &SwitchStats {
        &self.stats
    }

    /// Switch one packet (starting with its switch header) that arrived on `source_iface`.
    ///
    /// On `Forward` and `DeliverToRouter` the header in `packet` has been rewritten: label
    /// shifted with the reversed arrival interface on top, labelShift advanced, traffic class
    /// 0xffff. On `SendError` the error frame is in `error_out` (give it
    /// [`ERROR_FRAME_MAX`] bytes) and `packet` is untouched.
    pub fn switch_packet(
        &mut self,
        source_iface: u32,
        packet: &mut [u8],
        error_out: &mut [u8],
    ) -> SwitchAction {
        let action = self.decide(source_iface, packet, error_out);
        match action {
            SwitchAction::Forward { .. } => self.stats.forwarded += 1,
            SwitchAction::DeliverToRouter => self.stats.delivered_to_router += 1,
            SwitchAction::SendError { .. } => self.stats.errors_sent += 1,
            SwitchAction::Drop(reason) => self.stats.count_drop(reason),
        }
        action
    }

    fn decide(&self, source_iface: u32, packet: &mut [u8], error_out: &mut [u8]) -> SwitchAction {
        if !self.has_interface(source_iface) {
            return SwitchAction::Drop(DropReason::UnknownSourceInterface);
        }
        let Ok(mut header) = SwitchHeader::new_checked(&mut *packet) else {
            return SwitchAction::Drop(DropReason::Runt);
        };
        let label = header.label();
        let (dest_iface, bits) = match self.route(source_iface, label) {
            Ok(route) => route,
            Err(error) => return refuse(source_iface, packet, error_out, error),
        };

        let new_shift = header.label_shift() as u32 + bits;
        if new_shift > 63 {
            // The reference drops these without telling anyone.
            return SwitchAction::Drop(DropReason::LabelShiftOverflow);
        }
        let return_director = bit_reverse64(v3x5x8::compress(source_iface, bits));
        header.set_label((label >> bits) | return_director);
        header.set_label_shift(new_shift as u8);
        header.set_traffic_class(0xffff);

        if dest_iface == ROUTER_INTERFACE {
            SwitchAction::DeliverToRouter
        } else {
            SwitchAction::Forward { iface: dest_iface }
        }
    }

    /// The interface `label` leads to from `source_iface`, and how many label bits the hop
    /// consumes, which is also the width the return director is written in.
    fn route(&self, source_iface: u32, label: u64) -> Result<(u32, u32), SwitchError> {
        let mut bits = v3x5x8::bits_for_label(label);
        let dest_iface = v3x5x8::decompress(label, bits);
        let source_bits = v3x5x8::bits_for_interface(source_iface);

        if dest_iface == ROUTER_INTERFACE && label & 0xf != 1 {
            // The router is only ever addressed as `0001` (with v3x5x8 nothing else decodes
            // to 1, so this is a guard, as in the reference).
            return Err(SwitchError::MalformedAddress);
        }

        if source_bits > bits {
            if dest_iface == ROUTER_INTERFACE {
                // The sender cannot know how wide our interface number is, so for the
                // router we consume as many bits as the return director needs, provided
                // the label reads `0001` and zeros that far (cjdns issue #93 otherwise).
                if (label ^ 1) & low_mask(source_bits + 4) != 0 {
                    return Err(SwitchError::ReturnPathInvalid);
                }
                bits = source_bits;
            } else if source_iface == ROUTER_INTERFACE {
                // Unreachable with v3x5x8 (the router needs only 4 bits), kept as the
                // reference has it: the top bits must be free for the wider source.
                let top_free = label
                    .checked_shr(bits + 64 - source_bits)
                    .is_none_or(|top| top == 0);
                if !top_free {
                    return Err(SwitchError::MalformedAddress);
                }
            } else {
                // No room to write where the packet came from.
                return Err(SwitchError::MalformedAddress);
            }
        }

        if !self.has_interface(dest_iface) {
            return Err(SwitchError::MalformedAddress);
        }
        Ok((dest_iface, bits))
    }
}

/// Answer a refused packet with an error frame toward its sender, unless it is too short to
/// quote or asked not to be answered.
fn refuse(
    source_iface: u32,
    packet: &[u8],
    error_out: &mut [u8],
    error: SwitchError,
) -> SwitchAction {
    if packet.len() < ERROR_CAUSE_MIN_LEN {
        return SwitchAction::Drop(DropReason::RuntCause { error });
    }
    let cause = SwitchHeader::new_unchecked(packet);
    if cause.suppress_errors() {
        return SwitchAction::Drop(DropReason::ErrorsSuppressed { error });
    }
    match write_error_frame(error_out, cause.label(), error, packet) {
        Ok(len) => SwitchAction::SendError {
            iface: source_iface,
            len,
            error,
        },
        Err(_) => SwitchAction::Drop(DropReason::ErrorBufferTooSmall { error }),
    }
}

/// Write the error frame: a switch header whose label is the cause's label reversed (the way
/// back), suppressErrors so nobody answers the answer, congestion 1, then the control ERROR
/// quoting the start of the cause.
fn write_error_frame(
    out: &mut [u8],
    cause_label: u64,
    error: SwitchError,
    cause: &[u8],
) -> Result<usize, WireError> {
    let cause = cause.get(..ERROR_CAUSE_MAX_LEN).unwrap_or(cause);
    let (header_bytes, body) = match out.split_at_mut_checked(SWITCH_HEADER_LEN) {
        Some(parts) => parts,
        None => {
            return Err(WireError::BufferTooSmall {
                needed: SWITCH_HEADER_LEN,
                got: out.len(),
            })
        }
    };
    header_bytes.fill(0);
    let mut header = SwitchHeader::new_unchecked(header_bytes);
    header.set_label(bit_reverse64(cause_label));
    header.set_suppress_errors(true);
    header.set_version(SWITCH_HEADER_VERSION);
    header.set_traffic_class(0xffff);
    header.set_congestion(1);
    let body_len = emit_error(body, error.error_type(), cause)?;
    Ok(SWITCH_HEADER_LEN + body_len)
}

const fn low_mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(label: u64, byte8: u8, byte9: u8) -> [u8; 20] {
        let mut p = [0u8; 20];
        p[..8].copy_from_slice(&label.to_be_bytes());
        p[8] = byte8;
        p[9] = byte9;
        p[12..16].copy_from_slice(&[0xff; 4]);
        p
    }

    fn label_of(p: &[u8]) -> u64 {
        u64::from_be_bytes(p[..8].try_into().unwrap())
    }

    #[test]
    fn interface_numbers_are_reused() {
        let mut sw = SwitchCore::<4>::new();
        assert_eq!(sw.add_interface(), Ok((0, 0x13)));
        assert_eq!(sw.add_interface(), Ok((2, 0x15)));
        assert_eq!(sw.add_interface(), Ok((3, 0x17)));
        assert_eq!(sw.add_interface(), Err(SwitchCoreError::OutOfSpace));
        assert_eq!(sw.remove_interface(2), Ok(()));
        assert_eq!(
            sw.remove_interface(2),
            Err(SwitchCoreError::NoSuchInterface)
        );
        assert_eq!(
            sw.remove_interface(1),
            Err(SwitchCoreError::RouterInterface)
        );
        assert_eq!(sw.add_interface(), Ok((2, 0x15)));
    }

    #[test]
    fn router_to_peer_and_back() {
        let mut sw = SwitchCore::<8>::new();
        sw.add_interface().unwrap();
        let mut err = [0u8; ERROR_FRAME_MAX];
        let mut p = packet(0x13, 0, 0x40);
        assert_eq!(
            sw.switch_packet(1, &mut p, &mut err),
            SwitchAction::Forward { iface: 0 }
        );
        assert_eq!(label_of(&p), 0x8000_0000_0000_0001);
        assert_eq!(&p[8..12], &[0x00, 0x44, 0xff, 0xff]);

        let mut p = packet(0x8000_0000_0000_0001, 0, 0x44);
        assert_eq!(
            sw.switch_packet(0, &mut p, &mut err),
            SwitchAction::DeliverToRouter
        );
        assert_eq!(label_of(&p), 0xc800_0000_0000_0000);
        assert_eq!(p[9], 0x48);
        assert_eq!(sw.stats().forwarded, 1);
        assert_eq!(sw.stats().delivered_to_router, 1);
    }

    #[test]
    fn unknown_destination_gets_malformed_address() {
        let mut sw = SwitchCore::<8>::new();
        sw.add_interface().unwrap();
        let mut err = [0u8; ERROR_FRAME_MAX];
        let mut p = packet(0x15, 0, 0x40);
        let before = p;
        let action = sw.switch_packet(1, &mut p, &mut err);
        assert_eq!(
            action,
            SwitchAction::SendError {
                iface: 1,
                len: 12 + 12 + 20,
                error: SwitchError::MalformedAddress
            }
        );
        assert_eq!(p, before);
        assert_eq!(label_of(&err), 0xa800_0000_0000_0000);
        assert_eq!(&err[8..12], &[0x03, 0x40, 0xff, 0xff]);
        assert_eq!(&err[12..16], &[0xff; 4]);
        assert_eq!(&err[18..24], &[0, 2, 0, 0, 0, 1]);
        assert_eq!(&err[24..44], &before);
        assert_eq!(crate::wire::control::checksum(&err[16..44]), 0);
        assert_eq!(
            SwitchError::ReturnPathInvalid.as_u32(),
            ErrorType::ReturnPathInvalid.as_u32()
        );
    }

    #[test]
    fn suppressed_and_runt_errors_are_dropped() {
        let mut sw = SwitchCore::<8>::new();
        let mut err = [0u8; ERROR_FRAME_MAX];
        let mut p = packet(0x15, 1, 0x40);
        assert_eq!(
            sw.switch_packet(1, &mut p, &mut err),
            SwitchAction::Drop(DropReason::ErrorsSuppressed {
                error: SwitchError::MalformedAddress
            })
        );
        let mut short = [0u8; 13];
        short[7] = 0x15;
        assert_eq!(
            sw.switch_packet(1, &mut short, &mut err),
            SwitchAction::Drop(DropReason::RuntCause {
                error: SwitchError::MalformedAddress
            })
        );
        assert_eq!(
            sw.switch_packet(1, &mut [0u8; 11], &mut err),
            SwitchAction::Drop(DropReason::Runt)
        );
        assert_eq!(
            sw.switch_packet(5, &mut packet(0x13, 0, 0x40), &mut err),
            SwitchAction::Drop(DropReason::UnknownSourceInterface)
        );
    }

    #[test]
    fn self_route_with_terminator_reaches_router() {
        // With v3x5x8 interface 1 only decodes from `0001`, so the reference's "router not
        // written as 0001" refusal cannot trigger; any label ending 0001 is for the router.
        let mut sw = SwitchCore::<40>::new();
        let mut err = [0u8; ERROR_FRAME_MAX];
        let mut p = packet(0x11, 0, 0x40);
        assert_eq!(
            sw.switch_packet(1, &mut p, &mut err),
            SwitchAction::DeliverToRouter
        );
        assert_eq!(label_of(&p), 0x8000_0000_0000_0001);
    }

    #[test]
    fn wide_source_to_router_needs_zero_bits() {
        let mut sw = SwitchCore::<40>::new();
        for _ in 0..39 {
            sw.add_interface().unwrap();
        }
        let mut err = [0u8; ERROR_FRAME_MAX];
        // From iface 33 (10 bits): `0001` plus six more zero bits are consumed.
        let mut p = packet(0x8000_0000_0000_0001, 0, 0x44);
        assert_eq!(
            sw.switch_packet(33, &mut p, &mut err),
            SwitchAction::DeliverToRouter
        );
        assert_eq!(
            label_of(&p),
            (0x8000_0000_0000_0000u64 >> 10) | bit_reverse64(v3x5x8::compress(33, 10))
        );
        assert_eq!(p[9] & 0x3f, 14);
        // A set bit inside those ten is refused.
        let mut p = packet(0x8000_0000_0000_0201, 0, 0x44);
        assert_eq!(
            sw.switch_packet(33, &mut p, &mut err),
            SwitchAction::SendError {
                iface: 33,
                len: 44,
                error: SwitchError::ReturnPathInvalid
            }
        );
        // A wide source toward a narrow peer director is refused.
        let mut p = packet(0x13, 0, 0x44);
        assert!(matches!(
            sw.switch_packet(33, &mut p, &mut err),
            SwitchAction::SendError {
                error: SwitchError::MalformedAddress,
                ..
            }
        ));
    }

    #[test]
    fn label_shift_overflow_drops() {
        let mut sw = SwitchCore::<8>::new();
        sw.add_interface().unwrap();
        let mut err = [0u8; ERROR_FRAME_MAX];
        let mut p = packet(0x13, 0, 0x40 | 60);
        assert_eq!(
            sw.switch_packet(1, &mut p, &mut err),
            SwitchAction::Drop(DropReason::LabelShiftOverflow)
        );
        let mut p = packet(0x13, 0, 0x40 | 59);
        assert_eq!(
            sw.switch_packet(1, &mut p, &mut err),
            SwitchAction::Forward { iface: 0 }
        );
        assert_eq!(p[9], 0x40 | 63);
    }
}
