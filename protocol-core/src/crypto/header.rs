//! The 120-byte CryptoAuth handshake header (Hello, Repeat Hello, Key, Repeat Key) and the
//! 4-byte packet-kind word every CryptoAuth packet starts with.
//!
//! ```text
//!  off size field
//!    0    4 nonce / session state (BE): 0 Hello, 1 Repeat Hello, 2 Key, 3 Repeat Key
//!    4    1 auth type
//!    5    7 auth lookup ("hash code")
//!   12    2 derivations (deprecated, ignored)
//!   14    2 additional (deprecated, ignored)
//!   16   24 handshake nonce
//!   40   32 sender's permanent public key
//!   72   16 Poly1305 authenticator
//!   88   32 sender's temporary public key, encrypted
//!  120    n encrypted payload
//! ```

use crate::wire::WireError;

fn check_len(buf: &[u8], needed: usize) -> Result<(), WireError> {
    if buf.len() < needed {
        return Err(WireError::Truncated {
            needed,
            got: buf.len(),
        });
    }
    Ok(())
}

/// Bytes of the handshake header in front of the encrypted payload.
pub const HANDSHAKE_HEADER_LEN: usize = 120;
/// Bytes a data packet adds in front of the payload: counter + authenticator.
pub const DATA_HEADER_LEN: usize = 20;

mod field {
    use core::ops::Range;
    pub const STATE: Range<usize> = 0..4;
    pub const AUTH_TYPE: usize = 4;
    pub const LOOKUP: Range<usize> = 5..12;
    pub const DERIVATIONS: Range<usize> = 12..14;
    pub const ADDITIONAL: Range<usize> = 14..16;
    pub const HANDSHAKE_NONCE: Range<usize> = 16..40;
    pub const PERMANENT_KEY: Range<usize> = 40..72;
    pub const AUTHENTICATOR: Range<usize> = 72..88;
    pub const TEMP_KEY: Range<usize> = 88..120;
}

/// What the first 4 bytes (big-endian) of a CryptoAuth packet say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    Hello,
    RepeatHello,
    Key,
    RepeatKey,
    /// A data packet carrying this counter (4 and up).
    Data(u32),
}

impl PacketKind {
    pub fn from_word(word: u32) -> PacketKind {
        match word {
            0 => PacketKind::Hello,
            1 => PacketKind::RepeatHello,
            2 => PacketKind::Key,
            3 => PacketKind::RepeatKey,
            n => PacketKind::Data(n),
        }
    }

    pub fn to_word(self) -> u32 {
        match self {
            PacketKind::Hello => 0,
            PacketKind::RepeatHello => 1,
            PacketKind::Key => 2,
            PacketKind::RepeatKey => 3,
            PacketKind::Data(n) => n,
        }
    }

    /// Read the kind of a packet; needs at least 4 bytes.
    pub fn of_packet(packet: &[u8]) -> Result<PacketKind, WireError> {
        check_len(packet, 4)?;
        let mut word = [0u8; 4];
        word.copy_from_slice(&packet[field::STATE]);
        Ok(PacketKind::from_word(u32::from_be_bytes(word)))
    }

    pub fn is_handshake(self) -> bool {
        !matches!(self, PacketKind::Data(_))
    }
}

/// How the Hello's sender proves knowledge of a password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthType {
    /// No password; the lookup bytes are random filler.
    None,
    /// Lookup = bytes 1..8 of SHA256(SHA256(password)).
    Password,
    /// Lookup = bytes 1..8 of SHA256(login).
    Login,
    /// Any other byte (3 is noise mode, which we do not speak).
    Other(u8),
}

impl AuthType {
    pub fn from_byte(b: u8) -> AuthType {
        match b {
            0 => AuthType::None,
            1 => AuthType::Password,
            2 => AuthType::Login,
            n => AuthType::Other(n),
        }
    }

    pub fn to_byte(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Password => 1,
            AuthType::Login => 2,
            AuthType::Other(n) => n,
        }
    }
}

/// The 12-byte auth challenge at offset 4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub auth_type: AuthType,
    pub lookup: [u8; 7],
    /// Deprecated "require auth" bit and derivation count; ignored, kept for round trips.
    pub derivations: u16,
    /// Deprecated; senders write 0.
    pub additional: u16,
}

impl Challenge {
    /// The 8 bytes a receiver looks a password up by: type byte then lookup.
    pub fn lookup_key(&self) -> [u8; 8] {
        let mut key = [0u8; 8];
        key[0] = self.auth_type.to_byte();
        key[1..].copy_from_slice(&self.lookup);
        key
    }
}

/// A typed view over a handshake packet (header and encrypted payload).
#[derive(Debug, Clone)]
pub struct HandshakePacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> HandshakePacket<T> {
    /// Wrap without a length check: the caller guarantees 120 bytes (accessors index).
    pub fn new_unchecked(buffer: T) -> Self {
        HandshakePacket { buffer }
    }

    /// Wrap `buffer`, refusing anything shorter than the 120-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        check_len(buffer.as_ref(), HANDSHAKE_HEADER_LEN)?;
        Ok(HandshakePacket { buffer })
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes<const N: usize>(&self, range: core::ops::Range<usize>) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buffer.as_ref()[range]);
        out
    }

    pub fn state(&self) -> u32 {
        u32::from_be_bytes(self.bytes(field::STATE))
    }

    pub fn kind(&self) -> PacketKind {
        PacketKind::from_word(self.state())
    }

    pub fn auth_type(&self) -> AuthType {
        AuthType::from_byte(self.buffer.as_ref()[field::AUTH_TYPE])
    }

    pub fn lookup(&self) -> [u8; 7] {
        self.bytes(field::LOOKUP)
    }

    pub fn derivations(&self) -> u16 {
        u16::from_be_bytes(self.bytes(field::DERIVATIONS))
    }

    pub fn additional(&self) -> u16 {
        u16::from_be_bytes(self.bytes(field::ADDITIONAL))
    }

    pub fn challenge(&self) -> Challenge {
        Challenge {
            auth_type: self.auth_type(),
            lookup: self.lookup(),
            derivations: self.derivations(),
            additional: self.additional(),
        }
    }

    pub fn handshake_nonce(&self) -> [u8; 24] {
        self.bytes(field::HANDSHAKE_NONCE)
    }

    pub fn permanent_key(&self) -> [u8; 32] {
        self.bytes(field::PERMANENT_KEY)
    }

    pub fn authenticator(&self) -> [u8; 16] {
        self.bytes(field::AUTHENTICATOR)
    }

    /// The temporary key as on the wire (ciphertext until the packet is opened).
    pub fn encrypted_temp_key(&self) -> [u8; 32] {
        self.bytes(field::TEMP_KEY)
    }

    /// The encrypted payload after the header.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HANDSHAKE_HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> HandshakePacket<T> {
    fn put(&mut self, range: core::ops::Range<usize>, value: &[u8]) {
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    pub fn set_state(&mut self, v: u32) {
        self.put(field::STATE, &v.to_be_bytes());
    }

    pub fn set_challenge(&mut self, c: &Challenge) {
        self.buffer.as_mut()[field::AUTH_TYPE] = c.auth_type.to_byte();
        self.put(field::LOOKUP, &c.lookup);
        self.put(field::DERIVATIONS, &c.derivations.to_be_bytes());
        self.put(field::ADDITIONAL, &c.additional.to_be_bytes());
    }

    pub fn set_auth_type(&mut self, t: AuthType) {
        self.buffer.as_mut()[field::AUTH_TYPE] = t.to_byte();
    }

    pub fn set_additional(&mut self, v: u16) {
        self.put(field::ADDITIONAL, &v.to_be_bytes());
    }

    pub fn set_handshake_nonce(&mut self, v: &[u8; 24]) {
        self.put(field::HANDSHAKE_NONCE, v);
    }

    pub fn set_permanent_key(&mut self, v: &[u8; 32]) {
        self.put(field::PERMANENT_KEY, v);
    }

    pub fn set_authenticator(&mut self, v: &[u8; 16]) {
        self.put(field::AUTHENTICATOR, v);
    }

    pub fn set_encrypted_temp_key(&mut self, v: &[u8; 32]) {
        self.put(field::TEMP_KEY, v);
    }
}

/// The parsed 120-byte header. Parsing is total: every 120-byte string is a header
/// (whether its state word is a handshake kind is the session's business).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HandshakeRepr {
    pub state: u32,
    pub challenge: Challenge,
    pub handshake_nonce: [u8; 24],
    pub permanent_key: [u8; 32],
    pub authenticator: [u8; 16],
    pub encrypted_temp_key: [u8; 32],
}

impl HandshakeRepr {
    pub fn parse<T: AsRef<[u8]>>(packet: &HandshakePacket<T>) -> HandshakeRepr {
        HandshakeRepr {
            state: packet.state(),
            challenge: packet.challenge(),
            handshake_nonce: packet.handshake_nonce(),
            permanent_key: packet.permanent_key(),
            authenticator: packet.authenticator(),
            encrypted_temp_key: packet.encrypted_temp_key(),
        }
    }

    /// Parse the first 120 bytes of `bytes`.
    pub fn parse_bytes(bytes: &[u8]) -> Result<HandshakeRepr, WireError> {
        Ok(Self::parse(&HandshakePacket::new_checked(bytes)?))
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut HandshakePacket<T>) {
        packet.set_state(self.state);
        packet.set_challenge(&self.challenge);
        packet.set_handshake_nonce(&self.handshake_nonce);
        packet.set_permanent_key(&self.permanent_key);
        packet.set_authenticator(&self.authenticator);
        packet.set_encrypted_temp_key(&self.encrypted_temp_key);
    }

    /// Write the header into the first 120 bytes of `out`.
    pub fn emit_bytes(&self, out: &mut [u8]) -> Result<(), WireError> {
        if out.len() < HANDSHAKE_HEADER_LEN {
            return Err(WireError::BufferTooSmall {
                needed: HANDSHAKE_HEADER_LEN,
                got: out.len(),
            });
        }
        self.emit(&mut HandshakePacket::new_unchecked(out));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The first 120 bytes of the Key packet of vectors/cryptoauth-outer-udp.json.
    const KEY_HEADER: [u8; 120] = [
        0x00, 0x00, 0x00, 0x02, 0x00, 0xc1, 0x28, 0x8f, 0xad, 0x79, 0xbf, 0x49, 0x67, 0x84, 0x00,
        0x00, 0x14, 0xcd, 0xc6, 0xc1, 0x55, 0xb7, 0x07, 0x5d, 0x83, 0x91, 0x59, 0x52, 0xda, 0x34,
        0xb3, 0xc0, 0x67, 0xcb, 0x49, 0x6f, 0x12, 0x2b, 0x81, 0xec, 0x27, 0xb2, 0x12, 0x79, 0x46,
        0x75, 0x35, 0xa5, 0x8a, 0x97, 0xda, 0xc5, 0x8a, 0x48, 0x58, 0x80, 0xf2, 0xcb, 0x26, 0xf5,
        0x49, 0xd0, 0x30, 0x40, 0x1a, 0x33, 0x79, 0xe1, 0xca, 0xcd, 0x1c, 0x22, 0x58, 0xc5, 0xb1,
        0xa4, 0x1f, 0x1b, 0xd8, 0x9b, 0x0b, 0x04, 0x22, 0x07, 0xf9, 0x35, 0xc6, 0xc1, 0x23, 0x9b,
        0x36, 0x49, 0x88, 0xaa, 0x45, 0x06, 0x19, 0x01, 0xf5, 0x26, 0x35, 0xde, 0x9d, 0xaa, 0x5b,
        0xf8, 0x49, 0xb2, 0x4c, 0x89, 0xf5, 0xaf, 0xe4, 0x99, 0xbe, 0xe4, 0xc2, 0x70, 0x26, 0x67,
    ];

    #[test]
    fn parse_recorded_key_header() {
        let repr = HandshakeRepr::parse_bytes(&KEY_HEADER).unwrap();
        assert_eq!(repr.state, 2);
        assert_eq!(PacketKind::from_word(repr.state), PacketKind::Key);
        assert_eq!(repr.challenge.auth_type, AuthType::None);
        assert_eq!(
            repr.challenge.lookup,
            [0xc1, 0x28, 0x8f, 0xad, 0x79, 0xbf, 0x49]
        );
        assert_eq!(repr.challenge.derivations, 0x6784);
        assert_eq!(repr.challenge.additional, 0);
        assert_eq!(repr.handshake_nonce[0], 0x14);
        assert_eq!(repr.permanent_key[..4], [0x27, 0xb2, 0x12, 0x79]);
        assert_eq!(repr.authenticator[..2], [0x58, 0xc5]);
        let mut out = [0u8; 120];
        repr.emit_bytes(&mut out).unwrap();
        assert_eq!(out, KEY_HEADER);
    }

    #[test]
    fn short_input_is_truncated() {
        assert_eq!(
            HandshakeRepr::parse_bytes(&KEY_HEADER[..119]),
            Err(WireError::Truncated {
                needed: 120,
                got: 119
            })
        );
        assert!(PacketKind::of_packet(&[0, 0, 0]).is_err());
        assert_eq!(
            PacketKind::of_packet(&[0, 0, 0, 9]),
            Ok(PacketKind::Data(9))
        );
    }

    proptest::proptest! {
        #[test]
        fn emit_parse_round_trip(bytes in proptest::collection::vec(proptest::num::u8::ANY, 120..200)) {
            let repr = HandshakeRepr::parse_bytes(&bytes).unwrap();
            let mut out = [0u8; 120];
            repr.emit_bytes(&mut out).unwrap();
            proptest::prop_assert_eq!(&out[..], &bytes[..120]);
            for w in [0u32, 1, 2, 3, 4, 0xffff_ffff] {
                proptest::prop_assert_eq!(PacketKind::from_word(w).to_word(), w);
            }
        }
    }
}
