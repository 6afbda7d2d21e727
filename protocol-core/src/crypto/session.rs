//! One CryptoAuth session: the handshake state machine and the in-place packet
//! transforms, following cjdns v22.3 `crypto_auth.rs` step by step.
//!
//! Buffers: the caller puts the payload somewhere in a buffer with free room in front of
//! it ([`MAX_OVERHEAD`] bytes always suffice). `encrypt` writes the CryptoAuth header into
//! that room and returns the packet's range; `decrypt` opens a packet in place and returns
//! the plaintext's range. Nothing is copied or allocated.
//!
//! Randomness order (the test seam: replaying recorded bytes through the RNG reproduces
//! recorded packets exactly): every handshake packet draws 36 bytes for header bytes 4..40
//! (auth type, lookup, derivations, additional, then the 24-byte handshake nonce; the auth
//! fields are then overwritten as cjdns does), and a Hello (state 0) or Key (state 2) then
//! draws 32 bytes for the new temporary private key. Data packets draw nothing.
//!
//! Where we differ from cjdns on purpose (nothing here changes a byte on the wire):
//! - a low-order peer key is refused ([`CryptoError::WeakKey`]); libsodium would leave an
//!   all-zero key that anybody can compute;
//! - the replay window is started by the first data packet only if it authenticates (cjdns
//!   moves it even for a forged one, which lets a forger push the window ahead);
//! - `set_auth(None)` means auth type 0 (cjdns' `set_auth(None)` on a fresh session flips it
//!   to auth type 1 without a password);
//! - keys outside fc00::/8 are refused when the session is made (cjdns refuses them one layer
//!   up, in InterfaceController / SessionManager);
//! - the user whose password an accepted Hello carried is remembered
//!   ([`Session::authenticated_user`]).

use core::ops::Range;

use rand_core::CryptoRngCore;

use super::auth::{AuthTable, Credentials, UserId};
use super::header::{
    AuthType, Challenge, HandshakePacket, HandshakeRepr, PacketKind, DATA_HEADER_LEN,
    HANDSHAKE_HEADER_LEN,
};
use super::primitives::{
    beforenm, data_nonce, handshake_secret, open_in_place, seal_in_place, PrimitiveError,
    SecretKey, TAG_LEN,
};
use super::replay::{ReplayProtector, ReplayRejection, ReplayStats};
use crate::identity::{x25519_base, Ip6, PrivateKey, PublicKey};

/// Room `encrypt` may need in front of the payload (a handshake header).
pub const MAX_OVERHEAD: usize = HANDSHAKE_HEADER_LEN;

/// Counters at or above this make the session start over rather than wrap.
pub const MAX_COUNTER: u32 = u32::MAX - 0xf;

/// Inactivity after which an established session resets (cjdns default).
pub const RESET_AFTER_INACTIVITY_SECS: u32 = 60;
/// Inactivity after which an unfinished handshake resets (cjdns default).
pub const SETUP_RESET_AFTER_INACTIVITY_SECS: u32 = 10;

const NONCE_HELLO: u32 = 0;
const NONCE_REPEAT_HELLO: u32 = 1;
const NONCE_KEY: u32 = 2;
const NONCE_REPEAT_KEY: u32 = 3;
const NONCE_FIRST_DATA: u32 = 4;

/// Why a packet was refused, named after what the peer (or caller) did wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The packet is shorter than its header.
    Truncated { needed: usize, got: usize },
    /// A data packet arrived before the handshake got far enough to decrypt it, or an
    /// unknown peer's first packet was not a Hello.
    NoSession,
    /// A data packet failed authentication.
    DecryptFailed,
    /// A handshake packet failed authentication (wrong key, password or corruption).
    HandshakeDecryptFailed,
    /// Key packets are not accepted once the session is established.
    KeyOnEstablishedSession,
    /// The handshake carries a permanent key other than the one this session is for.
    WrongPermanentKey,
    /// The password used is limited to another node's address.
    IpRestricted,
    /// This session only accepts Hellos with a known password.
    AuthRequired,
    /// The auth type / lookup names no password we know.
    UnrecognizedAuth,
    /// A Key packet we did not ask for (we sent no Hello).
    StrayKey,
    /// The temporary key inside the handshake is all zeros.
    ZeroTempKey,
    /// A Hello with the temporary key we already know (a replayed Hello).
    DuplicateHello,
    /// A Key with the temporary key we already know (a replayed Key).
    DuplicateKey,
    /// A Repeat Key whose temporary key differs from the Key's.
    RepeatKeyChanged,
    /// A Repeat Hello for a session already past the Hello.
    UnexpectedRepeatHello,
    /// An authentic data packet seen before or too old to tell.
    Replay(ReplayRejection),
    /// A public key that is a low-order point (the shared secret would be all zeros).
    WeakKey,
    /// An all-zero permanent public key.
    ZeroPublicKey,
    /// A permanent key whose address is outside fc00::/8.
    InvalidAddress,
    /// Noise-mode (0xffffffff) packets are not supported; the peer falls back to legacy.
    NoiseUnsupported,
    /// The handshake would move the session state backwards.
    StateSequence,
    /// Caller error: nothing to send (cjdns never sends empty CryptoAuth packets).
    EmptyPayload,
    /// Caller error: not enough free room in front of the payload for the header.
    NoHeadroom { needed: usize, got: usize },
    /// Caller error: the payload range lies outside the buffer.
    BadRange,
}

impl From<PrimitiveError> for CryptoError {
    fn from(e: PrimitiveError) -> Self {
        match e {
            PrimitiveError::WeakKey => CryptoError::WeakKey,
            PrimitiveError::BadMac => CryptoError::DecryptFailed,
            PrimitiveError::Truncated => CryptoError::Truncated {
                needed: TAG_LEN,
                got: 0,
            },
        }
    }
}

impl core::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self, f)
    }
}

/// Session state as cjdns reports it (`Ca_State`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum State {
    Init = 0,
    SentHello = 1,
    ReceivedHello = 2,
    SentKey = 3,
    ReceivedKey = 4,
    Established = 100,
}

/// What an accepted packet did to the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A Hello (or Repeat Hello) was accepted; we answer with Keys.
    Hello,
    /// Our Hello crossed theirs and our key is lower: we stay the initiator; the payload is
    /// still delivered.
    CrossedHelloIgnored,
    /// A Key (or Repeat Key) was accepted; we now send data.
    Key,
    /// The first data packet: the session is established.
    Established,
    Data,
}

/// An opened packet: where its plaintext is in the buffer and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub plaintext: Range<usize>,
    pub event: Event,
}

/// Our permanent keys and the passwords we accept: shared by all sessions of a node.
#[derive(Debug, Clone)]
pub struct CryptoAuth<const N: usize> {
    private_key: PrivateKey,
    public_key: PublicKey,
    pub users: AuthTable<N>,
}

impl<const N: usize> CryptoAuth<N> {
    pub fn new(private_key: PrivateKey) -> Self {
        let public_key = private_key.public_key();
        CryptoAuth {
            private_key,
            public_key,
            users: AuthTable::new(),
        }
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
}

/// One CryptoAuth session with one peer.
#[derive(Clone)]
pub struct Session {
    her_key: PublicKey,
    her_ip6: Ip6,
    shared_secret: SecretKey,
    her_temp_key: [u8; 32],
    our_temp_private: [u8; 32],
    our_temp_public: [u8; 32],
    credentials: Option<Credentials>,
    /// 0..=4 doubles as the handshake state; above that it is the next data counter.
    next_nonce: u32,
    last_packet_secs: u64,
    is_initiator: bool,
    require_auth: bool,
    established: bool,
    user: Option<UserId>,
    replay: ReplayProtector,
    pub reset_after_inactivity_secs: u32,
    pub setup_reset_after_inactivity_secs: u32,
}

impl core::fmt::Debug for Session {
    // Keys and secrets stay out of logs.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("her_key", &self.her_key)
            .field("state", &self.state())
            .field("next_nonce", &self.next_nonce)
            .field("is_initiator", &self.is_initiator)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

fn check_range(buf: &[u8], r: &Range<usize>) -> Result<(), CryptoError> {
    if r.start > r.end || r.end > buf.len() {
        return Err(CryptoError::BadRange);
    }
    if r.start == r.end {
        return Err(CryptoError::EmptyPayload);
    }
    Ok(())
}

fn is_zero(k: &[u8; 32]) -> bool {
    k.iter().all(|b| *b == 0)
}

impl Session {
    /// A session with a peer whose permanent key we know. `require_auth` makes it refuse
    /// Hellos that do not carry a password from the [`AuthTable`].
    pub fn new(
        her_key: PublicKey,
        require_auth: bool,
        now_ms: u64,
    ) -> Result<Session, CryptoError> {
        if her_key.is_zero() {
            return Err(CryptoError::ZeroPublicKey);
        }
        let her_ip6 = her_key.address().map_err(|_| CryptoError::InvalidAddress)?;
        Ok(Session {
            her_key,
            her_ip6,
            shared_secret: [0; 32],
            her_temp_key: [0; 32],
            our_temp_private: [0; 32],
            our_temp_public: [0; 32],
            credentials: None,
            next_nonce: 0,
            last_packet_secs: now_ms / 1000,
            is_initiator: false,
            require_auth,
            established: false,
            user: None,
            replay: ReplayProtector::new(),
            reset_after_inactivity_secs: RESET_AFTER_INACTIVITY_SECS,
            setup_reset_after_inactivity_secs: SETUP_RESET_AFTER_INACTIVITY_SECS,
        })
    }

    /// The first packet from an unknown link address (cjdns `try_handshake`): only a Hello
    /// or Repeat Hello can start a session; the new session takes the sender's key from it.
    pub fn accept<const N: usize>(
        ca: &CryptoAuth<N>,
        buf: &mut [u8],
        require_auth: bool,
        now_ms: u64,
    ) -> Result<(Session, Opened), CryptoError> {
        match PacketKind::of_packet(buf).map_err(|_| CryptoError::Truncated {
            needed: DATA_HEADER_LEN,
            got: buf.len(),
        })? {
            PacketKind::Hello | PacketKind::RepeatHello => {}
            PacketKind::Data(0xffff_ffff) => return Err(CryptoError::NoiseUnsupported),
            _ => return Err(CryptoError::NoSession),
        }
        let header = HandshakeRepr::parse_bytes(buf).map_err(|_| CryptoError::Truncated {
            needed: HANDSHAKE_HEADER_LEN,
            got: buf.len(),
        })?;
        let mut session = Session::new(PublicKey(header.permanent_key), require_auth, now_ms)?;
        let opened = session.decrypt(ca, buf, now_ms)?;
        Ok((session, opened))
    }

    /// Present a password in our handshakes (auth type 2 with a login, else 1), or stop
    /// presenting one. Changing it restarts the handshake.
    pub fn set_auth(&mut self, credentials: Option<Credentials>) {
        if self.credentials != credentials {
            self.credentials = credentials;
            self.soft_reset();
        }
    }

    pub fn state(&self) -> State {
        match self.next_nonce {
            0 => State::Init,
            1 => State::SentHello,
            2 => State::ReceivedHello,
            3 => State::SentKey,
            4 => State::ReceivedKey,
            _ if self.established => State::Established,
            _ => State::ReceivedKey,
        }
    }

    pub fn is_established(&self) -> bool {
        self.established
    }

    pub fn is_initiator(&self) -> bool {
        self.is_initiator
    }

    pub fn her_key(&self) -> &PublicKey {
        &self.her_key
    }

    pub fn her_ip6(&self) -> &Ip6 {
        &self.her_ip6
    }

    /// The user of our [`AuthTable`] whose password the peer's accepted Hello carried.
    pub fn authenticated_user(&self) -> Option<UserId> {
        self.user
    }

    /// The counter the next data packet will carry (or the handshake state below 5).
    pub fn next_nonce(&self) -> u32 {
        self.next_nonce
    }

    /// Test seam: jump the data counter (e.g. to just below the wrap point).
    #[doc(hidden)]
    pub fn set_next_nonce_for_test(&mut self, next_nonce: u32) {
        self.next_nonce = next_nonce;
    }

    pub fn stats(&self) -> ReplayStats {
        self.replay.stats()
    }

    /// Start over from INIT, forgetting temporary keys and replay state.
    pub fn reset(&mut self) {
        self.replay.reset();
        self.soft_reset();
    }

    /// cjdns `reset` keeps the replay window; every caller that needs it cleared does so.
    fn soft_reset(&mut self) {
        self.next_nonce = 0;
        self.is_initiator = false;
        self.our_temp_private = [0; 32];
        self.our_temp_public = [0; 32];
        self.her_temp_key = [0; 32];
        self.shared_secret = [0; 32];
        self.established = false;
        self.user = None;
    }

    /// Reset a session that has been silent too long: 10 s while setting up, 60 s when
    /// established. Never while we wait for an answer to our Hello, which would strand a
    /// late answer. Runs before every `encrypt`; cjdns also calls it when a peer or session
    /// is polled.
    pub fn reset_if_timeout(&mut self, now_ms: u64) {
        if self.next_nonce == NONCE_REPEAT_HELLO {
            return;
        }
        let now_secs = now_ms / 1000;
        let silent = now_secs as i128 - self.last_packet_secs as i128;
        if silent < i128::from(self.setup_reset_after_inactivity_secs) {
            return;
        }
        if silent < i128::from(self.reset_after_inactivity_secs) && self.established {
            return;
        }
        self.last_packet_secs = now_secs;
        self.soft_reset();
    }

    /// Encrypt `buf[payload]` in place and prepend the header the session state calls for
    /// (Hello, Repeat Hello, Key, Repeat Key or data). Returns the packet's range.
    pub fn encrypt<const N: usize>(
        &mut self,
        ca: &CryptoAuth<N>,
        buf: &mut [u8],
        payload: Range<usize>,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Range<usize>, CryptoError> {
        check_range(buf, &payload)?;
        self.reset_if_timeout(now_ms);
        if self.next_nonce >= MAX_COUNTER {
            self.soft_reset();
        }
        if self.next_nonce < NONCE_FIRST_DATA {
            return self.encrypt_handshake(ca, buf, payload, rng);
        }
        if payload.start < DATA_HEADER_LEN {
            return Err(CryptoError::NoHeadroom {
                needed: DATA_HEADER_LEN,
                got: payload.start,
            });
        }
        if self.next_nonce == NONCE_FIRST_DATA {
            self.shared_secret = beforenm(&self.our_temp_private, &self.her_temp_key)?;
        }
        let start = payload.start - DATA_HEADER_LEN;
        let nonce = data_nonce(self.next_nonce, self.is_initiator);
        seal_in_place(
            &self.shared_secret,
            &nonce,
            &mut buf[start + 4..payload.end],
        )?;
        buf[start..start + 4].copy_from_slice(&self.next_nonce.to_be_bytes());
        self.next_nonce += 1;
        Ok(start..payload.end)
    }

    fn encrypt_handshake<const N: usize>(
        &mut self,
        ca: &CryptoAuth<N>,
        buf: &mut [u8],
        payload: Range<usize>,
        rng: &mut impl CryptoRngCore,
    ) -> Result<Range<usize>, CryptoError> {
        if payload.start < HANDSHAKE_HEADER_LEN {
            return Err(CryptoError::NoHeadroom {
                needed: HANDSHAKE_HEADER_LEN,
                got: payload.start,
            });
        }
        let start = payload.start - HANDSHAKE_HEADER_LEN;
        let sending_hello = self.next_nonce < NONCE_KEY;

        let mut random = [0u8; 36];
        rng.fill_bytes(&mut random);
        let fresh_temp_key = self.next_nonce == NONCE_HELLO || self.next_nonce == NONCE_KEY;
        let mut temp_private = self.our_temp_private;
        let mut temp_public = self.our_temp_public;
        if fresh_temp_key {
            rng.fill_bytes(&mut temp_private);
            temp_public = x25519_base(&temp_private);
        }

        let password = self.credentials.as_ref().map(|c| &c.secret);
        let secret = if sending_hello {
            handshake_secret(&ca.private_key.0, &self.her_key.0, password)?
        } else {
            handshake_secret(&ca.private_key.0, &self.her_temp_key, password)?
        };

        let mut header = HandshakePacket::new_unchecked(&mut buf[start..payload.start]);
        let mut filler = [0u8; 12];
        filler.copy_from_slice(&random[..12]);
        let mut handshake_nonce = [0u8; 24];
        handshake_nonce.copy_from_slice(&random[12..]);
        header.set_state(self.next_nonce);
        match &self.credentials {
            Some(c) => header.set_challenge(&c.challenge()),
            None => {
                // Random filler stays in the lookup and derivation bytes, as in cjdns.
                let mut lookup = [0u8; 7];
                lookup.copy_from_slice(&filler[1..8]);
                let challenge = Challenge {
                    auth_type: AuthType::None,
                    lookup,
                    derivations: u16::from_be_bytes([filler[8], filler[9]]),
                    additional: 0,
                };
                header.set_challenge(&challenge);
            }
        }
        header.set_handshake_nonce(&handshake_nonce);
        header.set_permanent_key(&ca.public_key.0);
        header.set_encrypted_temp_key(&temp_public);
        seal_in_place(&secret, &handshake_nonce, &mut buf[start + 72..payload.end])?;

        self.our_temp_private = temp_private;
        self.our_temp_public = temp_public;
        if sending_hello {
            self.is_initiator = true;
            self.next_nonce = NONCE_REPEAT_HELLO;
        } else {
            self.next_nonce = NONCE_REPEAT_KEY;
        }
        Ok(start..payload.end)
    }

    /// Open a packet from the peer in place. On success the plaintext is at the returned
    /// range of `buf`; on failure the session is unchanged except where cjdns changes it.
    pub fn decrypt<const N: usize>(
        &mut self,
        ca: &CryptoAuth<N>,
        buf: &mut [u8],
        now_ms: u64,
    ) -> Result<Opened, CryptoError> {
        if buf.len() < DATA_HEADER_LEN {
            return Err(CryptoError::Truncated {
                needed: DATA_HEADER_LEN,
                got: buf.len(),
            });
        }
        let mut word = [0u8; 4];
        word.copy_from_slice(&buf[..4]);
        let nonce = u32::from_be_bytes(word);

        if !self.established {
            if nonce >= NONCE_FIRST_DATA {
                if self.next_nonce < NONCE_REPEAT_KEY {
                    return Err(CryptoError::NoSession);
                }
                let secret = beforenm(&self.our_temp_private, &self.her_temp_key)?;
                self.open_data(nonce, buf, &secret)?;
                // Start the window right after the first packet (no ghost losses).
                self.replay.init(nonce.wrapping_add(1));
                self.shared_secret = secret;
                self.established = true;
                self.next_nonce = self.next_nonce.saturating_add(3);
                self.last_packet_secs = now_ms / 1000;
                return Ok(Opened {
                    plaintext: DATA_HEADER_LEN..buf.len(),
                    event: Event::Established,
                });
            }
            return self.decrypt_handshake(ca, nonce, buf);
        }
        if nonce >= NONCE_FIRST_DATA {
            let secret = self.shared_secret;
            self.open_data(nonce, buf, &secret)?;
            self.last_packet_secs = now_ms / 1000;
            return Ok(Opened {
                plaintext: DATA_HEADER_LEN..buf.len(),
                event: Event::Data,
            });
        }
        if nonce <= NONCE_REPEAT_HELLO {
            return self.decrypt_handshake(ca, nonce, buf);
        }
        Err(CryptoError::KeyOnEstablishedSession)
    }

    fn open_data(
        &mut self,
        nonce: u32,
        buf: &mut [u8],
        secret: &SecretKey,
    ) -> Result<(), CryptoError> {
        let sender_is_initiator = !self.is_initiator;
        open_in_place(
            secret,
            &data_nonce(nonce, sender_is_initiator),
            &mut buf[4..],
        )
        .map_err(|_| CryptoError::DecryptFailed)?;
        self.replay.check(nonce).map_err(CryptoError::Replay)
    }

    fn decrypt_handshake<const N: usize>(
        &mut self,
        ca: &CryptoAuth<N>,
        nonce: u32,
        buf: &mut [u8],
    ) -> Result<Opened, CryptoError> {
        let header = HandshakeRepr::parse_bytes(buf).map_err(|_| CryptoError::Truncated {
            needed: HANDSHAKE_HEADER_LEN,
            got: buf.len(),
        })?;
        if header.permanent_key != self.her_key.0 {
            return Err(CryptoError::WrongPermanentKey);
        }
        let matched = ca.users.find(&header.challenge);
        if let Some(m) = &matched {
            if let Some(ip) = m.restricted_to {
                if ip != self.her_ip6 {
                    return Err(CryptoError::IpRestricted);
                }
            }
        }
        if self.require_auth && matched.is_none() {
            return Err(CryptoError::AuthRequired);
        }
        if matched.is_none() && header.challenge.auth_type != AuthType::None {
            return Err(CryptoError::UnrecognizedAuth);
        }
        let password = matched.as_ref().map(|m| *m.secret);
        let user = matched.map(|m| m.id);

        let is_hello = nonce < NONCE_KEY;
        let secret = if is_hello {
            handshake_secret(&ca.private_key.0, &self.her_key.0, password.as_ref())?
        } else {
            if !self.is_initiator {
                return Err(CryptoError::StrayKey);
            }
            handshake_secret(&self.our_temp_private, &self.her_key.0, password.as_ref())?
        };
        open_in_place(&secret, &header.handshake_nonce, &mut buf[72..])
            .map_err(|_| CryptoError::HandshakeDecryptFailed)?;
        let mut temp = [0u8; 32];
        temp.copy_from_slice(&buf[88..HANDSHAKE_HEADER_LEN]);
        if is_zero(&temp) {
            return Err(CryptoError::ZeroTempKey);
        }
        let known = temp == self.her_temp_key;
        let plaintext = HANDSHAKE_HEADER_LEN..buf.len();

        match nonce {
            NONCE_HELLO if known => return Err(CryptoError::DuplicateHello),
            NONCE_KEY if self.next_nonce >= NONCE_FIRST_DATA && known => {
                return Err(CryptoError::DuplicateKey)
            }
            NONCE_REPEAT_KEY if self.next_nonce >= NONCE_FIRST_DATA && !known => {
                return Err(CryptoError::RepeatKeyChanged)
            }
            _ => {}
        }

        let mut next = if is_hello {
            NONCE_KEY
        } else {
            NONCE_FIRST_DATA
        };
        let event;
        if !is_hello {
            event = Event::Key;
            match self.next_nonce {
                NONCE_HELLO | NONCE_KEY | NONCE_REPEAT_KEY => return Err(CryptoError::StrayKey),
                NONCE_REPEAT_HELLO => self.her_temp_key = temp,
                NONCE_FIRST_DATA => {
                    if nonce == NONCE_KEY {
                        self.her_temp_key = temp;
                    }
                }
                _ => {
                    // Already sending data but not yet established: the responder restarted
                    // its side, so follow its new temporary key.
                    if nonce == NONCE_KEY {
                        self.shared_secret = beforenm(&self.our_temp_private, &temp)?;
                        self.her_temp_key = temp;
                    }
                    next = self.next_nonce.saturating_add(1);
                }
            }
        } else {
            event = Event::Hello;
            if !known {
                match self.next_nonce {
                    NONCE_REPEAT_HELLO => {
                        // Crossed Hellos: the lower permanent key stays the initiator.
                        if self.her_key < ca.public_key {
                            self.soft_reset();
                            self.replay.reset();
                            self.her_temp_key = temp;
                        } else {
                            return Ok(Opened {
                                plaintext,
                                event: Event::CrossedHelloIgnored,
                            });
                        }
                    }
                    NONCE_HELLO => self.her_temp_key = temp,
                    _ => {
                        self.soft_reset();
                        self.replay.reset();
                        self.her_temp_key = temp;
                    }
                }
            } else {
                match self.next_nonce {
                    NONCE_KEY | NONCE_REPEAT_KEY => next = self.next_nonce,
                    _ => return Err(CryptoError::UnexpectedRepeatHello),
                }
            }
            self.user = user;
        }

        if !(self.next_nonce < next
            || (self.next_nonce <= NONCE_FIRST_DATA && next == self.next_nonce))
        {
            return Err(CryptoError::StateSequence);
        }
        self.next_nonce = next;
        self.replay.reset();
        Ok(Opened { plaintext, event })
    }
}
