//! The serial management protocol between a device (firmware) and `fc00ctl`.
//!
//! Both ends use these types, so the protocol cannot drift between them. A message is an
//! [`Envelope`] (sequence number + body) serialised with postcard, followed by a CRC-32 of
//! those bytes (little endian), COBS-encoded and terminated by a `0x00` byte:
//!
//! ```text
//! COBS( postcard(Envelope { seq, body }) ‖ crc32_le ) ‖ 0x00
//! ```
//!
//! COBS gives resynchronisation after line noise (a frame always ends at the next zero);
//! the CRC catches what COBS cannot (flipped bits inside a frame). The host picks `seq`; the
//! device echoes it in its answer so that a late answer to a timed-out request is recognised
//! and dropped instead of being taken for the answer to the next one.
//!
//! Everything is bounded: a frame is at most [`MAX_FRAME_LEN`] bytes on the wire, tables come
//! in pages of [`PEERS_PER_PAGE`] / [`SESSIONS_PER_PAGE`] rows. A private key only ever
//! travels host → device ([`Request::SetIdentity`]); no response type can carry one.

mod frame;

pub use frame::{decode_frame, encode_frame, FrameDecoder, FrameError, FrameEvent};

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

use crate::control::ControlStats;
use crate::crypto::session::State as SessionState;
use crate::identity::{Ip6, PublicKey};
use crate::node::{NodeCounters, PeerStats};
use crate::peering::PeeringCounters;
use crate::session::SessionInfo;
use crate::switch::SwitchStats;

/// Bumped on any incompatible change of the types below.
pub const PROTOCOL_VERSION: u16 = 1;
/// Largest postcard body plus its CRC, before COBS.
pub const MAX_MESSAGE_LEN: usize = 1024;
/// Largest frame on the wire: COBS overhead (one byte per 254) plus the delimiter.
pub const MAX_FRAME_LEN: usize = MAX_MESSAGE_LEN + MAX_MESSAGE_LEN / 254 + 2;
/// Rows in one [`Response::Peers`] page.
pub const PEERS_PER_PAGE: usize = 2;
/// Rows in one [`Response::Sessions`] page.
pub const SESSIONS_PER_PAGE: usize = 4;
/// Longest password a device stores (the reference has no limit; a device must).
pub const MAX_PASSWORD_LEN: usize = 64;
/// Longest login / peer name / user name.
pub const MAX_NAME_LEN: usize = 32;

/// A message with the sequence number that pairs a response with its request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub seq: u16,
    pub body: T,
}

/// What the host asks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Protocol version and board; the first thing a host sends.
    Hello,
    /// Public key and fc address.
    GetIdentity,
    /// Store a new private key (the device answers [`Response::Identity`] with the new public
    /// key and address, and uses it from its next boot).
    SetIdentity { private_key: [u8; 32] },
    /// Counters and memory high-water marks.
    GetStats,
    /// One page of the peer table.
    GetPeers { page: u8 },
    /// One page of the session table.
    GetSessions { page: u8 },
    /// Add (or replace) a UDP peer to connect to; persisted.
    AddUdpPeer(UdpPeer),
    /// Forget a configured UDP peer by its key; persisted.
    RemoveUdpPeer { public_key: [u8; 32] },
    /// Accept incoming peers that know this password; persisted.
    AddPassword {
        user: String<MAX_NAME_LEN>,
        password: String<MAX_PASSWORD_LEN>,
    },
    /// Stop accepting a password by its user name; persisted.
    RemovePassword { user: String<MAX_NAME_LEN> },
    /// Restart the device after answering [`Response::Done`].
    Reboot,
}

/// A UDP peer as `connectTo` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpPeer {
    pub addr: SocketAddr,
    pub public_key: [u8; 32],
    pub password: String<MAX_PASSWORD_LEN>,
    pub login: String<MAX_NAME_LEN>,
    pub peer_name: String<MAX_NAME_LEN>,
}

/// An IP socket address without `std`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketAddr {
    V4 { ip: [u8; 4], port: u16 },
    V6 { ip: [u8; 16], port: u16 },
}

/// What the device answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response {
    Hello {
        protocol: u16,
        /// Board name, e.g. `mps2-an386`.
        board: String<24>,
        /// Firmware version, e.g. `0.1.0`.
        firmware: String<16>,
    },
    Identity {
        public_key: PublicKey,
        address: Ip6,
    },
    Stats(DeviceStats),
    Peers {
        page: u8,
        /// Peers in the whole table, so the host knows how many pages to ask for.
        total: u16,
        peers: Vec<PeerStats, PEERS_PER_PAGE>,
    },
    Sessions {
        page: u8,
        total: u16,
        sessions: Vec<SessionRow, SESSIONS_PER_PAGE>,
    },
    /// The request was carried out.
    Done,
    Error(DeviceError),
}

/// Why a device refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceError {
    /// The frame decoded but the body was not a request this device understands (a newer
    /// host, or corruption the CRC missed).
    UnknownRequest,
    /// The private key gives an address outside fc00::/8.
    KeyNotFc,
    /// A peer or password table is full.
    TableFull,
    /// Nothing matched the key or user name given.
    NotFound,
    /// The key store could not be written.
    Storage,
    /// The device's node refused the peer (bad address for its links, …).
    Refused,
}

/// Counters and memory, for `fc00ctl device stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceStats {
    pub uptime_ms: u64,
    pub peers: u16,
    pub sessions: u16,
    pub node_store: u16,
    pub switch: SwitchStats,
    pub peering: PeeringCounters,
    pub control: ControlStats,
    pub node: NodeCounters,
    pub memory: MemoryStats,
}

/// Memory as the device measures it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// `.data` + `.bss`.
    pub static_ram_bytes: u32,
    /// Stack reserved.
    pub stack_bytes: u32,
    /// Deepest stack use seen (painted-stack measurement).
    pub stack_high_water_bytes: u32,
    /// `size_of` the protocol node.
    pub node_bytes: u32,
}

/// One session, without the per-path detail of [`SessionInfo`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub ip6: Ip6,
    pub key: PublicKey,
    pub version: u32,
    pub state: SessionState,
    pub best_label: u64,
    pub metric: u32,
    pub packets_in: u64,
    pub packets_out: u64,
    pub duplicates: u32,
    pub lost_packets: u32,
}

impl From<&SessionInfo> for SessionRow {
    fn from(info: &SessionInfo) -> Self {
        SessionRow {
            ip6: info.ip6,
            key: info.key,
            version: info.version,
            state: info.state,
            best_label: info.best_label,
            metric: info.metric,
            packets_in: info.packets_in,
            packets_out: info.packets_out,
            duplicates: info.duplicates,
            lost_packets: info.lost_packets,
        }
    }
}

#[cfg(test)]
mod tests;
