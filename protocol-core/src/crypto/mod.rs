//! CryptoAuth: the legacy cjdns session layer used for peer links and end-to-end sessions.
//!
//! [`primitives`] holds the NaCl pieces in cjdns' exact form, [`header`] the 120-byte
//! handshake header, [`replay`] the replay window, [`auth`] the password table, and
//! [`session`] the per-peer state machine that ties them together.

pub mod auth;
pub mod header;
pub mod primitives;
pub mod replay;
pub mod session;
pub mod testing;

pub use auth::{AddUserError, AuthTable, Credentials, UserId};
pub use header::{
    AuthType, Challenge, HandshakePacket, HandshakeRepr, PacketKind, DATA_HEADER_LEN,
    HANDSHAKE_HEADER_LEN,
};
pub use replay::{ReplayProtector, ReplayRejection, ReplayStats};
pub use session::{CryptoAuth, CryptoError, Event, Opened, Session, State, MAX_OVERHEAD};
