//! Switch control frames (`wire/Control.h`, `net/ControlHandler.c`): the messages that follow
//! a switch header when the next four bytes are `ff ff ff ff`.
//!
//! ```text
//! 0            4          6      8
//! [ff ff ff ff][checksum][type][body...]
//! ```
//!
//! The checksum is the RFC 1071 internet checksum over everything from the checksum field to
//! the end of the frame (with the field zeroed when computing); the 4-byte marker is not
//! covered. A frame is intact iff the checksum over those bytes comes out as zero.

use super::error::{check_len, check_room, WireError};
use super::field::{read_array, read_u16, read_u32, read_u64};
use super::switch_header::{SwitchHeader, SwitchHeaderRepr, SWITCH_HEADER_LEN};
use crate::identity::PublicKey;

/// The four bytes after a switch header that mark a control frame rather than a session.
pub const CONTROL_MARKER: u32 = 0xffff_ffff;
/// Marker, checksum and type.
pub const CONTROL_HEADER_LEN: usize = 8;
/// Bytes of a cause that an ERROR carries at most (`Control_Error_MAX_SIZE`): the switch
/// truncates the offending packet, starting at its switch header, to this length.
pub const ERROR_CAUSE_MAX_LEN: usize = 256;
/// A cause must hold the offender's switch header and the 4 bytes after it; the reference
/// switch sends no error for anything shorter (it is a runt).
pub const ERROR_CAUSE_MIN_LEN: usize = SWITCH_HEADER_LEN + 4;
/// Longest ERROR frame from the marker on: 8 + 4-byte error type + 256-byte cause.
pub const ERROR_FRAME_MAX_LEN: usize = CONTROL_HEADER_LEN + 4 + ERROR_CAUSE_MAX_LEN;
/// Opaque data a PING/PONG may carry (`Control_Ping_MAX_SIZE`).
pub const PING_DATA_MAX_LEN: usize = 256;
/// Opaque data a KEYPING/KEYPONG may carry (`Control_KeyPing_MAX_SIZE` − header).
pub const KEYPING_DATA_MAX_LEN: usize = 64;
/// Body of a GETSNODE query or reply (`Control_GetSnode_HEADER_SIZE`).
pub const GETSNODE_BODY_LEN: usize = 56;
/// Body of an RPATH query or reply (`Control_RPath_HEADER_SIZE`).
pub const RPATH_BODY_LEN: usize = 16;
/// Body of an LLADDR query or reply (`Control_LlAddr_HEADER_SIZE`).
pub const LLADDR_BODY_LEN: usize = 40;
/// Size of the link-layer address union inside an LLADDR body.
pub const LLADDR_ADDR_LEN: usize = 32;

pub const PING_MAGIC: u32 = 0x09f9_1102;
pub const PONG_MAGIC: u32 = 0x9d74_e35b;
pub const KEYPING_MAGIC: u32 = 0x0123_4567;
pub const KEYPONG_MAGIC: u32 = 0x89ab_cdef;
/// `snoq`.
pub const GETSNODE_QUERY_MAGIC: u32 = 0x736e_6f71;
/// `snor`.
pub const GETSNODE_REPLY_MAGIC: u32 = 0x736e_6f72;
/// The reference reuses the GETSNODE magics for RPATH (its comments say "rpaq"/"rpar", the
/// values are `snoq`/`snor`); we must send the same bytes.
pub const RPATH_QUERY_MAGIC: u32 = GETSNODE_QUERY_MAGIC;
pub const RPATH_REPLY_MAGIC: u32 = GETSNODE_REPLY_MAGIC;
/// `llaq`.
pub const LLADDR_QUERY_MAGIC: u32 = 0x6c6c_6171;
/// `llar`.
pub const LLADDR_REPLY_MAGIC: u32 = 0x6c6c_6172;

/// RFC 1071 internet checksum as the reference computes it (`Checksum_engine_be`):
/// one's-complement sum of big-endian 16-bit words, an odd trailing byte padded with a zero
/// low byte, folded and inverted. Write the result big-endian.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut words = data.chunks_exact(2);
    for pair in &mut words {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
        // Fold early so the sum can never overflow, whatever the length.
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = words.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Error codes carried by an ERROR control frame (`wire/Error.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum ErrorType {
    None = 0,
    /// The label addresses the router with something other than `0001`, or a return path
    /// cannot be written.
    MalformedAddress = 1,
    Flood = 2,
    LinkLimitExceeded = 3,
    OversizeMessage = 4,
    Runt = 5,
    /// An endpoint could not decrypt an inner packet.
    Authentication = 6,
    Invalid = 7,
    /// No such interface / peer down.
    Undeliverable = 8,
    LoopRoute = 9,
    ReturnPathInvalid = 10,
    Unhandled = 11,
    Overflow = 12,
    Internal = 13,
}

impl ErrorType {
    pub const fn from_u32(code: u32) -> Option<Self> {
        Some(match code {
            0 => ErrorType::None,
            1 => ErrorType::MalformedAddress,
            2 => ErrorType::Flood,
            3 => ErrorType::LinkLimitExceeded,
            4 => ErrorType::OversizeMessage,
            5 => ErrorType::Runt,
            6 => ErrorType::Authentication,
            7 => ErrorType::Invalid,
            8 => ErrorType::Undeliverable,
            9 => ErrorType::LoopRoute,
            10 => ErrorType::ReturnPathInvalid,
            11 => ErrorType::Unhandled,
            12 => ErrorType::Overflow,
            13 => ErrorType::Internal,
            _ => return None,
        })
    }

    pub const fn as_u32(self) -> u32 {
        self as u32
    }
}

/// Control message type codes (`Control_*_be`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum ControlType {
    Error = 2,
    Ping = 3,
    Pong = 4,
    KeyPing = 5,
    KeyPong = 6,
    GetSnodeQuery = 7,
    GetSnodeReply = 8,
    RPathQuery = 9,
    RPathReply = 10,
    LlAddrQuery = 11,
    LlAddrReply = 12,
}

impl ControlType {
    pub const fn from_u16(code: u16) -> Option<Self> {
        Some(match code {
            2 => ControlType::Error,
            3 => ControlType::Ping,
            4 => ControlType::Pong,
            5 => ControlType::KeyPing,
            6 => ControlType::KeyPong,
            7 => ControlType::GetSnodeQuery,
            8 => ControlType::GetSnodeReply,
            9 => ControlType::RPathQuery,
            10 => ControlType::RPathReply,
            11 => ControlType::LlAddrQuery,
            12 => ControlType::LlAddrReply,
            _ => return None,
        })
    }

    pub const fn as_u16(self) -> u16 {
        self as u16
    }
}

/// Write an ERROR control frame, from the `ff ff ff ff` marker on, into `out`:
/// `[ff ff ff ff][checksum][type = 2][error type u32][cause]`.
///
/// `cause` is the offending switch packet starting at its switch header; like the
/// reference switch it is cut to its first 256 bytes. A cause shorter than a switch header
/// plus 4 bytes is refused (`Truncated`): the reference sends no error for such a runt.
/// Returns the number of bytes written (at most [`ERROR_FRAME_MAX_LEN`]).
pub fn emit_error(out: &mut [u8], error_type: ErrorType, cause: &[u8]) -> Result<usize, WireError> {
    check_len(cause, ERROR_CAUSE_MIN_LEN)?;
    let cause = cause.get(..ERROR_CAUSE_MAX_LEN).unwrap_or(cause);
    ControlRepr::Error { error_type, cause }.emit(out)
}

/// A typed view over a buffer that starts with a control frame (at the `ff ff ff ff` marker).
#[derive(Debug, Clone, Copy)]
pub struct ControlFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ControlFrame<T> {
    /// Wrap a buffer without checking it; accessors may then panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        ControlFrame { buffer }
    }

    /// Wrap a buffer, checking it holds the marker, checksum and type. Does not check the
    /// marker value or the checksum: see [`ControlFrame::check_marker`] and
    /// [`ControlFrame::verify_checksum`].
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        check_len(buffer.as_ref(), CONTROL_HEADER_LEN)?;
        Ok(ControlFrame { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn marker(&self) -> u32 {
        read_u32(self.bytes(), 0)
    }

    pub fn check_marker(&self) -> Result<(), WireError> {
        if self.marker() == CONTROL_MARKER {
            Ok(())
        } else {
            Err(WireError::BadMagic)
        }
    }

    pub fn checksum(&self) -> u16 {
        read_u16(self.bytes(), 4)
    }

    pub fn raw_type(&self) -> u16 {
        read_u16(self.bytes(), 6)
    }

    /// The bytes the checksum covers: checksum field to the end.
    pub fn checksummed(&self) -> &[u8] {
        &self.bytes()[4..]
    }

    /// A frame is intact iff the checksum over the covered bytes is zero.
    pub fn verify_checksum(&self) -> Result<(), WireError> {
        if checksum(self.checksummed()) == 0 {
            Ok(())
        } else {
            Err(WireError::BadChecksum)
        }
    }

    pub fn body(&self) -> &[u8] {
        &self.bytes()[CONTROL_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ControlFrame<T> {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_marker(&mut self) {
        self.bytes_mut()[0..4].copy_from_slice(&CONTROL_MARKER.to_be_bytes());
    }

    pub fn set_checksum(&mut self, value: u16) {
        self.bytes_mut()[4..6].copy_from_slice(&value.to_be_bytes());
    }

    pub fn set_raw_type(&mut self, value: u16) {
        self.bytes_mut()[6..8].copy_from_slice(&value.to_be_bytes());
    }

    /// Zero the checksum field, then store the checksum of the covered bytes.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum(self.checksummed());
        self.set_checksum(sum);
    }

    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.bytes_mut()[CONTROL_HEADER_LEN..]
    }
}

/// What an ERROR frame carries about the packet that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCause<'a> {
    bytes: &'a [u8],
}

impl<'a> ErrorCause<'a> {
    /// The (possibly truncated) offending packet, starting at its switch header.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The offender's switch header as it was when the error was raised.
    pub fn switch_header(&self) -> SwitchHeaderRepr {
        SwitchHeaderRepr::parse(&SwitchHeader::new_unchecked(self.bytes))
    }

    /// The 4 bytes after the offender's switch header: its session handle, handshake
    /// state, or `0xffffffff` if it was itself a control frame.
    pub fn handle(&self) -> u32 {
        read_u32(self.bytes, SWITCH_HEADER_LEN)
    }

    /// Everything after the offender's switch header and handle.
    pub fn rest(&self) -> &'a [u8] {
        &self.bytes[ERROR_CAUSE_MIN_LEN..]
    }
}

/// The link-layer address union of an LLADDR message, kept as its 32 raw bytes so that a
/// frame re-emits exactly; [`LlAddrField::decode`] gives the typed meaning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LlAddrField(pub [u8; LLADDR_ADDR_LEN]);

/// The typed meaning of an [`LlAddrField`] (`Control_LlAddr_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LlAddr {
    /// Type 1, len 8.
    Udp4 { port: u16, addr: [u8; 4] },
    /// Type 2, len 20.
    Udp6 { port: u16, addr: [u8; 16] },
    /// Type 3, len 32. v22.3 fills these bytes from a local pointer, so they mean nothing.
    Other { bytes: [u8; 30] },
    /// A type/len pair the reference never writes (queries leave the union zeroed: 0/0).
    Unknown { kind: u8, len: u8 },
}

pub const LLADDR_UDP4: u8 = 1;
pub const LLADDR_UDP6: u8 = 2;
pub const LLADDR_OTHER: u8 = 3;

impl LlAddrField {
    /// What a query carries: nothing.
    pub const ZERO: LlAddrField = LlAddrField([0; LLADDR_ADDR_LEN]);

    pub fn udp4(port: u16, addr: [u8; 4]) -> Self {
        let mut raw = [0u8; LLADDR_ADDR_LEN];
        raw[0] = LLADDR_UDP4;
        raw[1] = 8;
        raw[2..4].copy_from_slice(&port.to_be_bytes());
        raw[4..8].copy_from_slice(&addr);
        LlAddrField(raw)
    }

    pub fn udp6(port: u16, addr: [u8; 16]) -> Self {
        let mut raw = [0u8; LLADDR_ADDR_LEN];
        raw[0] = LLADDR_UDP6;
        raw[1] = 20;
        raw[2..4].copy_from_slice(&port.to_be_bytes());
        raw[4..20].copy_from_slice(&addr);
        LlAddrField(raw)
    }

    pub fn other(bytes: [u8; 30]) -> Self {
        let mut raw = [0u8; LLADDR_ADDR_LEN];
        raw[0] = LLADDR_OTHER;
        raw[1] = 32;
        raw[2..].copy_from_slice(&bytes);
        LlAddrField(raw)
    }

    pub fn decode(&self) -> LlAddr {
        let raw = &self.0;
        let port = u16::from_be_bytes([raw[2], raw[3]]);
        match (raw[0], raw[1]) {
            (LLADDR_UDP4, 8) => {
                let mut addr = [0u8; 4];
                addr.copy_from_slice(&raw[4..8]);
                LlAddr::Udp4 { port, addr }
            }
            (LLADDR_UDP6, 20) => {
                let mut addr = [0u8; 16];
                addr.copy_from_slice(&raw[4..20]);
                LlAddr::Udp6 { port, addr }
            }
            (LLADDR_OTHER, 32) => {
                let mut bytes = [0u8; 30];
                bytes.copy_from_slice(&raw[2..]);
                LlAddr::Other { bytes }
            }
            (kind, len) => LlAddr::Unknown { kind, len },
        }
    }
}

/// Supernode information carried by GETSNODE queries and replies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetSnode<'a> {
    /// Protocol version of the sender.
    pub version: u32,
    /// Version of the sender's supernode, 0 if none.
    pub snode_version: u32,
    /// Link speed hint; replies from v22.3 always carry `0xffffffff`.
    pub kbps: u32,
    /// All zero when the sender knows no supernode.
    pub snode_key: [u8; 32],
    /// Path from the sender to its supernode, re-encoded so the recipient can splice it.
    pub path_to_snode: u64,
    /// Trailing bytes, reflected unchanged by the reference responder.
    pub data: &'a [u8],
}

/// A parsed control frame. Borrowed slices point into the parsed buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlRepr<'a> {
    Error {
        error_type: ErrorType,
        /// The offending packet from its switch header on, at most 256 bytes.
        cause: &'a [u8],
    },
    Ping {
        version: u32,
        data: &'a [u8],
    },
    Pong {
        version: u32,
        data: &'a [u8],
    },
    KeyPing {
        version: u32,
        key: PublicKey,
        data: &'a [u8],
    },
    KeyPong {
        version: u32,
        key: PublicKey,
        data: &'a [u8],
    },
    GetSnodeQuery(GetSnode<'a>),
    GetSnodeReply(GetSnode<'a>),
    RPathQuery {
        version: u32,
        /// The querier's path to the responder (what SwitchPinger writes; unused).
        path: u64,
        data: &'a [u8],
    },
    RPathReply {
        version: u32,
        /// The path from the responder back to the querier.
        path: u64,
        data: &'a [u8],
    },
    LlAddrQuery {
        version: u32,
        addr: LlAddrField,
        data: &'a [u8],
    },
    LlAddrReply {
        version: u32,
        addr: LlAddrField,
        data: &'a [u8],
    },
}

impl<'a> ControlRepr<'a> {
    /// Parse a control frame starting at the `ff ff ff ff` marker, checking the marker, the
    /// checksum, the type, the magic and the lengths the reference insists on.
    pub fn parse(frame: &'a [u8]) -> Result<Self, WireError> {
        let view = ControlFrame::new_checked(frame)?;
        view.check_marker()?;
        view.verify_checksum()?;
        let kind = ControlType::from_u16(view.raw_type())
            .ok_or(WireError::UnknownType(u32::from(view.raw_type())))?;
        let body = frame.get(CONTROL_HEADER_LEN..).unwrap_or(&[]);
        Self::parse_body(kind, body)
    }

    /// Parse the body (after the type field) of a frame whose checksum was already checked.
    pub fn parse_body(kind: ControlType, body: &'a [u8]) -> Result<Self, WireError> {
        match kind {
            ControlType::Error => {
                check_len(body, 4 + ERROR_CAUSE_MIN_LEN)?;
                let code = read_u32(body, 0);
                let error_type = ErrorType::from_u32(code).ok_or(WireError::UnknownType(code))?;
                let cause = &body[4..];
                if cause.len() > ERROR_CAUSE_MAX_LEN {
                    return Err(WireError::BadLength);
                }
                Ok(ControlRepr::Error { error_type, cause })
            }
            ControlType::Ping | ControlType::Pong => {
                let (magic, version, data) = split_versioned(body, 8)?;
                if data.len() > PING_DATA_MAX_LEN {
                    return Err(WireError::BadLength);
                }
                if kind == ControlType::Ping {
                    expect_magic(magic, PING_MAGIC)?;
                    Ok(ControlRepr::Ping { version, data })
                } else {
                    expect_magic(magic, PONG_MAGIC)?;
                    Ok(ControlRepr::Pong { version, data })
                }
            }
            ControlType::KeyPing | ControlType::KeyPong => {
                let (magic, version, data) = split_versioned(body, 40)?;
                if data.len() > KEYPING_DATA_MAX_LEN {
                    return Err(WireError::BadLength);
                }
                let key = PublicKey(read_array(body, 8));
                if kind == ControlType::KeyPing {
                    expect_magic(magic, KEYPING_MAGIC)?;
                    Ok(ControlRepr::KeyPing { version, key, data })
                } else {
                    expect_magic(magic, KEYPONG_MAGIC)?;
                    Ok(ControlRepr::KeyPong { version, key, data })
                }
            }
            ControlType::GetSnodeQuery | ControlType::GetSnodeReply => {
                let (magic, version, data) = split_versioned(body, GETSNODE_BODY_LEN)?;
                let snode = GetSnode {
                    version,
                    snode_version: read_u32(body, 8),
                    kbps: read_u32(body, 12),
                    snode_key: read_array(body, 16),
                    path_to_snode: read_u64(body, 48),
                    data,
                };
                if kind == ControlType::GetSnodeQuery {
                    expect_magic(magic, GETSNODE_QUERY_MAGIC)?;
                    Ok(ControlRepr::GetSnodeQuery(snode))
                } else {
                    expect_magic(magic, GETSNODE_REPLY_MAGIC)?;
                    Ok(ControlRepr::GetSnodeReply(snode))
                }
            }
            ControlType::RPathQuery | ControlType::RPathReply => {
                let (magic, version, data) = split_versioned(body, RPATH_BODY_LEN)?;
                let path = read_u64(body, 8);
                if kind == ControlType::RPathQuery {
                    expect_magic(magic, RPATH_QUERY_MAGIC)?;
                    Ok(ControlRepr::RPathQuery {
                        version,
                        path,
                        data,
                    })
                } else {
                    expect_magic(magic, RPATH_REPLY_MAGIC)?;
                    Ok(ControlRepr::RPathReply {
                        version,
                        path,
                        data,
                    })
                }
            }
            ControlType::LlAddrQuery | ControlType::LlAddrReply => {
                let (magic, version, data) = split_versioned(body, LLADDR_BODY_LEN)?;
                let mut raw = [0u8; LLADDR_ADDR_LEN];
                raw.copy_from_slice(&body[8..LLADDR_BODY_LEN]);
                let addr = LlAddrField(raw);
                if kind == ControlType::LlAddrQuery {
                    expect_magic(magic, LLADDR_QUERY_MAGIC)?;
                    Ok(ControlRepr::LlAddrQuery {
                        version,
                        addr,
                        data,
                    })
                } else {
                    expect_magic(magic, LLADDR_REPLY_MAGIC)?;
                    Ok(ControlRepr::LlAddrReply {
                        version,
                        addr,
                        data,
                    })
                }
            }
        }
    }

    pub fn control_type(&self) -> ControlType {
        match self {
            ControlRepr::Error { .. } => ControlType::Error,
            ControlRepr::Ping { .. } => ControlType::Ping,
            ControlRepr::Pong { .. } => ControlType::Pong,
            ControlRepr::KeyPing { .. } => ControlType::KeyPing,
            ControlRepr::KeyPong { .. } => ControlType::KeyPong,
            ControlRepr::GetSnodeQuery(_) => ControlType::GetSnodeQuery,
            ControlRepr::GetSnodeReply(_) => ControlType::GetSnodeReply,
            ControlRepr::RPathQuery { .. } => ControlType::RPathQuery,
            ControlRepr::RPathReply { .. } => ControlType::RPathReply,
            ControlRepr::LlAddrQuery { .. } => ControlType::LlAddrQuery,
            ControlRepr::LlAddrReply { .. } => ControlType::LlAddrReply,
        }
    }

    /// For an ERROR frame, access to the cause's switch header and handle.
    pub fn error_cause(&self) -> Option<ErrorCause<'a>> {
        match *self {
            ControlRepr::Error { cause, .. } if cause.len() >= ERROR_CAUSE_MIN_LEN => {
                Some(ErrorCause { bytes: cause })
            }
            _ => None,
        }
    }

    /// Variable-length tail of the body.
    fn tail(&self) -> &'a [u8] {
        match *self {
            ControlRepr::Error { cause, .. } => cause,
            ControlRepr::Ping { data, .. }
            | ControlRepr::Pong { data, .. }
            | ControlRepr::KeyPing { data, .. }
            | ControlRepr::KeyPong { data, .. }
            | ControlRepr::RPathQuery { data, .. }
            | ControlRepr::RPathReply { data, .. }
            | ControlRepr::LlAddrQuery { data, .. }
            | ControlRepr::LlAddrReply { data, .. } => data,
            ControlRepr::GetSnodeQuery(s) | ControlRepr::GetSnodeReply(s) => s.data,
        }
    }

    fn fixed_body_len(&self) -> usize {
        match self {
            ControlRepr::Error { .. } => 4,
            ControlRepr::Ping { .. } | ControlRepr::Pong { .. } => 8,
            ControlRepr::KeyPing { .. } | ControlRepr::KeyPong { .. } => 40,
            ControlRepr::GetSnodeQuery(_) | ControlRepr::GetSnodeReply(_) => GETSNODE_BODY_LEN,
            ControlRepr::RPathQuery { .. } | ControlRepr::RPathReply { .. } => RPATH_BODY_LEN,
            ControlRepr::LlAddrQuery { .. } | ControlRepr::LlAddrReply { .. } => LLADDR_BODY_LEN,
        }
    }

    /// Bytes `emit` writes, from the marker on.
    pub fn buffer_len(&self) -> usize {
        CONTROL_HEADER_LEN + self.fixed_body_len() + self.tail().len()
    }

    /// Refuse to write what `parse` would refuse to read.
    fn check_emittable(&self) -> Result<(), WireError> {
        let tail = self.tail().len();
        let ok = match self {
            ControlRepr::Error { cause, .. } => {
                check_len(cause, ERROR_CAUSE_MIN_LEN)?;
                tail <= ERROR_CAUSE_MAX_LEN
            }
            ControlRepr::Ping { .. } | ControlRepr::Pong { .. } => tail <= PING_DATA_MAX_LEN,
            ControlRepr::KeyPing { .. } | ControlRepr::KeyPong { .. } => {
                tail <= KEYPING_DATA_MAX_LEN
            }
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(WireError::BadLength)
        }
    }

    /// Write the frame, marker first, with its checksum; returns the bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        self.check_emittable()?;
        let len = self.buffer_len();
        check_room(out, len)?;
        let out = &mut out[..len];
        let fixed = CONTROL_HEADER_LEN + self.fixed_body_len();
        {
            let body = &mut out[CONTROL_HEADER_LEN..fixed];
            match *self {
                ControlRepr::Error { error_type, .. } => {
                    body.copy_from_slice(&error_type.as_u32().to_be_bytes());
                }
                ControlRepr::Ping { version, .. } => put_versioned(body, PING_MAGIC, version),
                ControlRepr::Pong { version, .. } => put_versioned(body, PONG_MAGIC, version),
                ControlRepr::KeyPing { version, key, .. } => {
                    put_versioned(body, KEYPING_MAGIC, version);
                    body[8..40].copy_from_slice(&key.0);
                }
                ControlRepr::KeyPong { version, key, .. } => {
                    put_versioned(body, KEYPONG_MAGIC, version);
                    body[8..40].copy_from_slice(&key.0);
                }
                ControlRepr::GetSnodeQuery(s) => put_snode(body, GETSNODE_QUERY_MAGIC, &s),
                ControlRepr::GetSnodeReply(s) => put_snode(body, GETSNODE_REPLY_MAGIC, &s),
                ControlRepr::RPathQuery { version, path, .. } => {
                    put_versioned(body, RPATH_QUERY_MAGIC, version);
                    body[8..16].copy_from_slice(&path.to_be_bytes());
                }
                ControlRepr::RPathReply { version, path, .. } => {
                    put_versioned(body, RPATH_REPLY_MAGIC, version);
                    body[8..16].copy_from_slice(&path.to_be_bytes());
                }
                ControlRepr::LlAddrQuery { version, addr, .. } => {
                    put_versioned(body, LLADDR_QUERY_MAGIC, version);
                    body[8..40].copy_from_slice(&addr.0);
                }
                ControlRepr::LlAddrReply { version, addr, .. } => {
                    put_versioned(body, LLADDR_REPLY_MAGIC, version);
                    body[8..40].copy_from_slice(&addr.0);
                }
            }
        }
        out[fixed..].copy_from_slice(self.tail());
        let mut frame = ControlFrame::new_unchecked(out);
        frame.set_marker();
        frame.set_raw_type(self.control_type().as_u16());
        frame.fill_checksum();
        Ok(len)
    }
}

fn split_versioned(body: &[u8], fixed: usize) -> Result<(u32, u32, &[u8]), WireError> {
    check_len(body, fixed)?;
    Ok((read_u32(body, 0), read_u32(body, 4), &body[fixed..]))
}

fn expect_magic(got: u32, want: u32) -> Result<(), WireError> {
    if got == want {
        Ok(())
    } else {
        Err(WireError::BadMagic)
    }
}

fn put_versioned(body: &mut [u8], magic: u32, version: u32) {
    body[0..4].copy_from_slice(&magic.to_be_bytes());
    body[4..8].copy_from_slice(&version.to_be_bytes());
}

fn put_snode(body: &mut [u8], magic: u32, s: &GetSnode<'_>) {
    put_versioned(body, magic, s.version);
    body[8..12].copy_from_slice(&s.snode_version.to_be_bytes());
    body[12..16].copy_from_slice(&s.kbps.to_be_bytes());
    body[16..48].copy_from_slice(&s.snode_key);
    body[48..56].copy_from_slice(&s.path_to_snode.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference's own checksum vector: a PING (type 3, version 22, data 01..08) from the
    // checksum field on.
    const PING_FROM_CHECKSUM: [u8; 20] = [
        0xd4, 0xd7, 0x00, 0x03, 0x09, 0xf9, 0x11, 0x02, 0x00, 0x00, 0x00, 0x16, 0x01, 0x02, 0x03,
        0x04, 0x05, 0x06, 0x07, 0x08,
    ];

    fn with_marker(rest: &[u8]) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..4].copy_from_slice(&[0xff; 4]);
        b[4..4 + rest.len()].copy_from_slice(rest);
        b
    }

    #[test]
    fn checksum_vector_verifies_to_zero() {
        assert_eq!(checksum(&PING_FROM_CHECKSUM), 0);
        let mut zeroed = PING_FROM_CHECKSUM;
        zeroed[0] = 0;
        zeroed[1] = 0;
        assert_eq!(checksum(&zeroed), 0xd4d7);
    }

    #[test]
    fn checksum_odd_length_pads_low_byte() {
        assert_eq!(checksum(&[0x12]), !0x1200);
        assert_eq!(checksum(&[]), 0xffff);
        // Carries fold back in.
        assert_eq!(checksum(&[0xff, 0xff, 0x00, 0x01]), !0x0001);
    }

    #[test]
    fn ping_parses_and_reemits() {
        let buf = with_marker(&PING_FROM_CHECKSUM);
        let frame = &buf[..24];
        let repr = ControlRepr::parse(frame).unwrap();
        assert_eq!(
            repr,
            ControlRepr::Ping {
                version: 22,
                data: &[1, 2, 3, 4, 5, 6, 7, 8]
            }
        );
        let mut out = [0u8; 24];
        assert_eq!(repr.emit(&mut out).unwrap(), 24);
        assert_eq!(&out[..], frame);
    }

    #[test]
    fn bad_checksum_is_refused() {
        let mut buf = with_marker(&PING_FROM_CHECKSUM);
        buf[23] ^= 1;
        assert_eq!(ControlRepr::parse(&buf[..24]), Err(WireError::BadChecksum));
    }

    #[test]
    fn missing_marker_is_refused() {
        let mut buf = with_marker(&PING_FROM_CHECKSUM);
        buf[0] = 0;
        assert_eq!(ControlRepr::parse(&buf[..24]), Err(WireError::BadMagic));
    }

    #[test]
    fn wrong_magic_for_type_is_refused() {
        // A PONG magic under the PING type.
        let repr = ControlRepr::Pong {
            version: 22,
            data: &[],
        };
        let mut out = [0u8; 16];
        repr.emit(&mut out).unwrap();
        out[7] = 3;
        ControlFrame::new_unchecked(&mut out[..]).fill_checksum();
        assert_eq!(ControlRepr::parse(&out), Err(WireError::BadMagic));
    }

    #[test]
    fn unknown_type_is_refused() {
        let mut out = [0xffu8, 0xff, 0xff, 0xff, 0, 0, 0, 13];
        ControlFrame::new_unchecked(&mut out[..]).fill_checksum();
        assert_eq!(ControlRepr::parse(&out), Err(WireError::UnknownType(13)));
    }

    #[test]
    fn emit_error_layout() {
        let cause = [
            0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0x44, 0x00, 0x00, 0, 0, 0x69, 0x7a, 0xaa, 0xbb,
        ];
        let mut out = [0u8; 64];
        let n = emit_error(&mut out, ErrorType::Authentication, &cause).unwrap();
        assert_eq!(n, 8 + 4 + cause.len());
        assert_eq!(&out[..4], &[0xff; 4]);
        assert_eq!(&out[6..8], &[0, 2]);
        assert_eq!(&out[8..12], &[0, 0, 0, 6]);
        assert_eq!(&out[12..n], &cause);
        assert_eq!(checksum(&out[4..n]), 0);
        let repr = ControlRepr::parse(&out[..n]).unwrap();
        let c = repr.error_cause().unwrap();
        assert_eq!(c.switch_header().label, 0x8000_0000_0000_0001);
        assert_eq!(c.handle(), 0x697a);
        assert_eq!(c.rest(), &[0xaa, 0xbb]);
    }

    #[test]
    fn emit_error_truncates_cause_to_256() {
        let cause = [0x5au8; 400];
        let mut out = [0u8; 400];
        let n = emit_error(&mut out, ErrorType::OversizeMessage, &cause).unwrap();
        assert_eq!(n, ERROR_FRAME_MAX_LEN);
        assert_eq!(n, 268);
        assert!(ControlRepr::parse(&out[..n]).is_ok());
    }

    #[test]
    fn emit_error_refuses_runt_cause_and_small_buffer() {
        let mut out = [0u8; 64];
        assert_eq!(
            emit_error(&mut out, ErrorType::Runt, &[0u8; 15]),
            Err(WireError::Truncated {
                needed: 16,
                got: 15
            })
        );
        assert_eq!(
            emit_error(&mut out[..20], ErrorType::Runt, &[0u8; 16]),
            Err(WireError::BufferTooSmall {
                needed: 28,
                got: 20
            })
        );
    }

    #[test]
    fn rpath_uses_snode_magic() {
        let repr = ControlRepr::RPathReply {
            version: 22,
            path: 0x13,
            data: &[],
        };
        let mut out = [0u8; 24];
        repr.emit(&mut out).unwrap();
        assert_eq!(&out[8..12], b"snor");
        assert_eq!(ControlRepr::parse(&out).unwrap(), repr);
    }

    #[test]
    fn lladdr_union_decodes() {
        let f = LlAddrField::udp4(11001, [127, 0, 0, 1]);
        assert_eq!(
            f.decode(),
            LlAddr::Udp4 {
                port: 11001,
                addr: [127, 0, 0, 1]
            }
        );
        assert_eq!(&f.0[..8], &[1, 8, 0x2a, 0xf9, 127, 0, 0, 1]);
        assert_eq!(
            LlAddrField::ZERO.decode(),
            LlAddr::Unknown { kind: 0, len: 0 }
        );
        let f6 = LlAddrField::udp6(7, [0xfc; 16]);
        assert_eq!(
            f6.decode(),
            LlAddr::Udp6 {
                port: 7,
                addr: [0xfc; 16]
            }
        );
    }

    #[test]
    fn oversize_ping_data_is_refused_both_ways() {
        let data = [0u8; 257];
        let repr = ControlRepr::Ping {
            version: 22,
            data: &data,
        };
        let mut out = [0u8; 300];
        assert_eq!(repr.emit(&mut out), Err(WireError::BadLength));
    }

    #[test]
    fn keyping_round_trip() {
        let repr = ControlRepr::KeyPing {
            version: 22,
            key: PublicKey([7; 32]),
            data: b"cookie",
        };
        let mut out = [0u8; 64];
        let n = repr.emit(&mut out).unwrap();
        assert_eq!(n, 8 + 40 + 6);
        assert_eq!(&out[8..12], &[0x01, 0x23, 0x45, 0x67]);
        assert_eq!(ControlRepr::parse(&out[..n]).unwrap(), repr);
    }
}
