//! Session manager: end-to-end CryptoAuth sessions, handles, paths and IPv6 carriage
//! (`net/SessionManager.c` and the header work of `net/TUNAdapter.c` in cjdns v22.3).
//!
//! Between any two nodes runs an inner CryptoAuth session (auth type 0, no password) keyed
//! by the peer's permanent key. On the wire (after the switch header):
//!
//! ```text
//! handshake: [CryptoAuth handshake 120 | enc( sender's receive handle u32 | DataHeader | content )]
//! data:      [receiver's handle u32 | counter u32 | tag 16 | enc( DataHeader | content )]
//! ```
//!
//! A node puts its own receive handle inside the payload while its CryptoAuth state is below
//! RECEIVED_KEY, and prefixes the peer's handle from then on. Only CJDHT (router) messages
//! may ride in handshake packets; user traffic waits (buffered) until the session is ready,
//! and the router is asked to set the session up with a ping.
//!
//! Sans-IO and allocation-free: `S` sessions and `Q` buffered packets, fixed at compile time.
//! A full session table evicts (never panics); every dropped packet is counted.
//!
//! Where we differ from cjdns on purpose:
//! - a handshake from an unknown key makes a session only once it decrypts (cjdns makes the
//!   session first, so forged handshakes fill its table), and paths are learned only from
//!   packets that decrypt;
//! - buffered packets are flushed as soon as the session becomes ready (cjdns waits for the
//!   next path report from its pathfinder), and sending user traffic does not need the
//!   peer's protocol version to be known;
//! - the 120 s session timeout counts from the last validated path *or* the last packet
//!   that decrypted, so a session in use never ends because its best path came from the
//!   router rather than from traffic;
//! - user traffic that arrives inside a handshake packet is dropped (cjdns never sends it,
//!   but its receiver would deliver it).

pub mod path;

use core::ops::Range;

use rand_core::CryptoRngCore;

use crate::crypto::header::DATA_HEADER_LEN as CA_DATA_HEADER_LEN;
use crate::crypto::session::{CryptoAuth, CryptoError, Session, State, MAX_COUNTER, MAX_OVERHEAD};
use crate::crypto::ReplayRejection;
use crate::identity::{Ip6, NodeAddress, PrivateKey, PublicKey};
use crate::switch::label::bit_reverse64;
use crate::wire::control::{emit_error, ErrorType, CONTROL_HEADER_LEN};
use crate::wire::data_header::{ContentType, DataHeaderRepr, DATA_HEADER_LEN};
use crate::wire::ipv6::{rebuild_ipv6, route_from_tun, strip_ipv6, TunRoute, IPV6_HEADER_LEN};
use crate::wire::switch_packet::{classify_switch_packet, SwitchPayloadKind};
use crate::wire::{SwitchHeader, SwitchHeaderRepr, WireError, SWITCH_HEADER_LEN};

pub use path::{metric, Path, Paths, PATH_COUNT};

/// Handles 0..=3 are CryptoAuth handshake states, so the first handle starts at 4.
pub const MIN_FIRST_HANDLE: u32 = 4;
/// The first handle is drawn from `MIN_FIRST_HANDLE..MAX_FIRST_HANDLE`.
pub const MAX_FIRST_HANDLE: u32 = 100_000;
/// A session ends after this long without a validated path or a packet from the peer.
pub const SESSION_TIMEOUT_MS: u64 = 120_000;
/// A session in use asks for a new search this often, to verify its path.
pub const SEARCH_AFTER_MS: u64 = 30_000;
/// Buffered packets waiting for a path or a handshake are dropped after this long.
pub const PENDING_TIMEOUT_MS: u64 = 10_000;
/// Housekeeping period.
pub const HOUSEKEEPING_INTERVAL_MS: u64 = 1_000;
/// At most one request per session for the router to set it up (ping it) in this time: the
/// router's ping is itself a packet of this session, so asking more often only floods.
pub const SETUP_REQUEST_INTERVAL_MS: u64 = 1_000;
/// The TUN MTU cjdns configures (`admin/angel/Core.c`); larger packets are not buffered.
pub const TUN_MTU: usize = 1304;
/// Longest IPv6 payload (after the 40-byte header) a pending slot holds.
pub const MAX_PENDING_PAYLOAD: usize = TUN_MTU - IPV6_HEADER_LEN;
/// Room in front of a CJDHT message this module needs (switch header, handle, CryptoAuth
/// handshake header, DataHeader): `send_cjdht` wants `scratch.len() >= SESSION_HEADROOM +
/// msg.len()` plus whatever the outer layer needs. `send_ipv6` needs nothing extra: user
/// traffic only travels in data packets, whose headers fit where the IPv6 header was.
pub const SESSION_HEADROOM: usize = SWITCH_HEADER_LEN + HANDLE_LEN + MAX_OVERHEAD + DATA_HEADER_LEN;
/// Room left in front of switch packets this module builds in its own buffers (flushed
/// pending packets, error frames): an outer CryptoAuth handshake header plus a link header.
pub const OUTER_HEADROOM: usize = 128;

const HANDLE_LEN: usize = 4;
/// Where the sender's permanent key sits in a CryptoAuth handshake header.
const HANDSHAKE_KEY_OFFSET: usize = 40;
/// Where a pending slot keeps DataHeader + payload: enough room in front to seal in place.
const PENDING_DATA_OFFSET: usize = OUTER_HEADROOM + SESSION_HEADROOM - DATA_HEADER_LEN;
const PENDING_BUF_LEN: usize = PENDING_DATA_OFFSET + DATA_HEADER_LEN + MAX_PENDING_PAYLOAD;
/// Cause quoted in an AUTHENTICATION error: switch header, first 16 bytes of the CryptoAuth
/// packet, decrypt error code, session state (what `CiphertextRecv` leaves in the message).
const AUTH_ERROR_CAUSE_LEN: usize = SWITCH_HEADER_LEN + 16 + 4 + 4;
const AUTH_ERROR_FRAME_LEN: usize =
    SWITCH_HEADER_LEN + CONTROL_HEADER_LEN + 4 + AUTH_ERROR_CAUSE_LEN;
/// Events wait here only within one call (drained before it returns, and as housekeeping
/// goes), or from `add_path` until the next `poll`.
const EVENT_QUEUE_LEN: usize = 8;

/// Where the session manager's output goes; the node implements it.
pub trait SessionOut {
    /// A switch packet we originate: buf[range] starts at its SwitchHeader (label = path to
    /// the destination, labelShift 0), with headroom before range.start for the outer layer.
    /// The node runs it through SwitchCore from the router interface (1) and the peer's
    /// outer CryptoAuth.
    fn send_switch(&mut self, buf: &mut [u8], range: Range<usize>);
    /// A CJDHT (content type 256) message from `from` (key, label = path back to it, version).
    fn cjdht(&mut self, from: &NodeAddress, msg: &[u8]);
    /// An IPv6 packet for TUN, header already rebuilt (hop limit 42).
    fn ipv6(&mut self, packet: &[u8]);
    /// We have traffic for `ip6` but no usable path: the router should search / ping.
    fn need_path(&mut self, ip6: &Ip6);
    fn event(&mut self, event: SessionEvent);
}

/// Why a packet went nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Too short for what its first bytes claim to be.
    Runt,
    /// A handle-prefixed packet whose inner counter is a handshake state.
    SetupWithHandle,
    /// A control frame reached the session manager (the node should have taken it).
    ControlFrame,
    /// A data packet for a handle we never gave out (or that has ended).
    UnknownHandle,
    /// A handshake from, or a message to, a key whose address is not in fc00::/8.
    NonFcKey,
    /// A handshake claiming to come from our own key, or a message to ourselves.
    OwnKey,
    /// No session slot (only when `S == 0`).
    TableFull,
    /// The inner CryptoAuth refused the packet (an AUTHENTICATION error was sent back).
    DecryptFailed(CryptoError),
    /// Plaintext too short for the handle or DataHeader it must start with.
    BadPlaintext,
    /// IPv6 (user) traffic inside a handshake packet: only CJDHT may ride there.
    UserTrafficInHandshake,
    /// A content type we do not carry (IpTunnel, reserved, sub-protocols).
    UnsupportedContent(u16),
    /// From TUN: not a whole IPv6 header with version 6.
    TunMalformed,
    /// From TUN: source is not our address.
    TunWrongSource,
    /// From TUN: destination outside fc00::/8 (IpTunnel is not supported).
    TunNotFc,
    /// A CJDHT message to a node we have no path to (CJDHT is never buffered).
    NoPath,
    /// The caller's buffer has too little room in front of the message.
    NoHeadroom,
    /// Our session reached RECEIVED_KEY without learning the peer's handle.
    NoSendHandle,
    /// The inner CryptoAuth refused to encrypt.
    EncryptFailed(CryptoError),
    /// A buffered packet waited longer than [`PENDING_TIMEOUT_MS`].
    PendingTimedOut,
    /// A buffered packet was replaced by a newer one to the same destination.
    PendingReplaced,
    /// All `Q` pending slots are taken by packets younger than the timeout.
    PendingFull,
    /// Larger than a pending slot ([`MAX_PENDING_PAYLOAD`]).
    PendingTooBig,
}

/// Something the node, the router or a person may care about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A session was made (incoming handshake, first message, or a path for buffered traffic).
    Started {
        key: PublicKey,
        handle: u32,
    },
    /// A session ended after [`SESSION_TIMEOUT_MS`] of silence (cjdns SESSION_ENDED).
    Ended {
        key: PublicKey,
        handle: u32,
    },
    /// A session was evicted to make room for a new one.
    Evicted {
        key: PublicKey,
        handle: u32,
    },
    /// A newly learned path became the session's best (cjdns DISCOVERED_PATH).
    PathDiscovered(NodeAddress),
    /// User traffic waits for this session's handshake: the router should ping the node
    /// over this path (cjdns UNSETUP_SESSION). `need_path` is called as well.
    SetupNeeded(NodeAddress),
    /// A session in use is due for a new search (every 30 s); `need_path` is called too.
    SearchDue(Ip6),
    Dropped(DropReason),
}

/// Counters for stats and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionManagerStats {
    pub sessions_created: u64,
    pub sessions_ended: u64,
    pub sessions_evicted: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub auth_errors_sent: u64,
    pub pending_buffered: u64,
    pub pending_flushed: u64,
    pub dropped_runt: u64,
    pub dropped_setup_with_handle: u64,
    pub dropped_control: u64,
    pub dropped_unknown_handle: u64,
    pub dropped_bad_key: u64,
    pub dropped_table_full: u64,
    pub dropped_decrypt_failed: u64,
    pub dropped_bad_plaintext: u64,
    pub dropped_user_traffic_in_handshake: u64,
    pub dropped_unsupported_content: u64,
    pub dropped_tun: u64,
    pub dropped_no_path: u64,
    pub dropped_no_headroom: u64,
    pub dropped_no_send_handle: u64,
    pub dropped_encrypt_failed: u64,
    pub pending_timed_out: u64,
    pub pending_replaced: u64,
    pub pending_full: u64,
    pub pending_too_big: u64,
    /// Events that did not fit the internal queue between two calls that could emit them.
    pub events_lost: u64,
}

impl SessionManagerStats {
    fn count(&mut self, reason: DropReason) {
        let counter = match reason {
            DropReason::Runt => &mut self.dropped_runt,
            DropReason::SetupWithHandle => &mut self.dropped_setup_with_handle,
            DropReason::ControlFrame => &mut self.dropped_control,
            DropReason::UnknownHandle => &mut self.dropped_unknown_handle,
            DropReason::NonFcKey | DropReason::OwnKey => &mut self.dropped_bad_key,
            DropReason::TableFull => &mut self.dropped_table_full,
            DropReason::DecryptFailed(_) => &mut self.dropped_decrypt_failed,
            DropReason::BadPlaintext => &mut self.dropped_bad_plaintext,
            DropReason::UserTrafficInHandshake => &mut self.dropped_user_traffic_in_handshake,
            DropReason::UnsupportedContent(_) => &mut self.dropped_unsupported_content,
            DropReason::TunMalformed | DropReason::TunWrongSource | DropReason::TunNotFc => {
                &mut self.dropped_tun
            }
            DropReason::NoPath => &mut self.dropped_no_path,
            DropReason::NoHeadroom => &mut self.dropped_no_headroom,
            DropReason::NoSendHandle => &mut self.dropped_no_send_handle,
            DropReason::EncryptFailed(_) => &mut self.dropped_encrypt_failed,
            DropReason::PendingTimedOut => &mut self.pending_timed_out,
            DropReason::PendingReplaced => &mut self.pending_replaced,
            DropReason::PendingFull => &mut self.pending_full,
            DropReason::PendingTooBig => &mut self.pending_too_big,
        };
        *counter += 1;
    }
}

/// One session as stats / `sessionStats` show it: plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SessionInfo {
    pub ip6: Ip6,
    pub key: PublicKey,
    /// The peer's protocol version, 0 while unknown.
    pub version: u32,
    /// Our handle: the peer prefixes it to data packets for us.
    pub receive_handle: u32,
    /// The peer's handle, learned from its handshake payloads.
    pub send_handle: Option<u32>,
    pub state: State,
    pub is_initiator: bool,
    /// Best path's label (0: none).
    pub best_label: u64,
    /// Best path's effective metric (lower is better; see [`metric`]).
    pub metric: u32,
    pub paths: [Path; PATH_COUNT],
    pub received_packets: u32,
    pub duplicates: u32,
    pub lost_packets: u32,
    pub received_out_of_range: u32,
    pub packets_in: u64,
    pub packets_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Last user (non-router) traffic; `None` once unused for [`SESSION_TIMEOUT_MS`].
    pub last_use_ms: Option<u64>,
    /// Last packet in or out.
    pub last_activity_ms: u64,
}

#[derive(Clone, Debug)]
struct Entry {
    crypto: Session,
    receive_handle: u32,
    send_handle: Option<u32>,
    version: u32,
    paths: Paths,
    /// Real user traffic only; router traffic does not keep a session "in use".
    last_use_ms: Option<u64>,
    last_search_ms: Option<u64>,
    last_setup_request_ms: Option<u64>,
    /// The router sent a query over this session and waits for the reply until then:
    /// evicting the session would lose the reply.
    awaiting_reply_until_ms: Option<u64>,
    created_ms: u64,
    last_activity_ms: u64,
    last_incoming_ms: Option<u64>,
    packets_in: u64,
    packets_out: u64,
    bytes_in: u64,
    bytes_out: u64,
}

impl Entry {
    fn node(&self, label: u64) -> NodeAddress {
        NodeAddress {
            version: self.version,
            label,
            key: *self.crypto.her_key(),
        }
    }

    /// The node to ping so this session gets set up, unless that was asked for within
    /// [`SETUP_REQUEST_INTERVAL_MS`] or there is no live path.
    fn setup_request(&mut self, now_ms: u64) -> Option<NodeAddress> {
        let label = self.paths.usable_label()?;
        if self
            .last_setup_request_ms
            .is_some_and(|t| now_ms.saturating_sub(t) < SETUP_REQUEST_INTERVAL_MS)
        {
            return None;
        }
        self.last_setup_request_ms = Some(now_ms);
        Some(self.node(label))
    }

    fn is_ready(&self) -> bool {
        self.crypto.state() >= State::ReceivedKey
    }

    fn info(&self, now_ms: u64) -> SessionInfo {
        let replay = self.crypto.stats();
        let best = self.paths.best();
        SessionInfo {
            ip6: *self.crypto.her_ip6(),
            key: *self.crypto.her_key(),
            version: self.version,
            receive_handle: self.receive_handle,
            send_handle: self.send_handle,
            state: self.crypto.state(),
            is_initiator: self.crypto.is_initiator(),
            best_label: best.label,
            metric: best.effective_metric(now_ms),
            paths: self.paths.slots,
            received_packets: replay.received_packets,
            duplicates: replay.duplicate_packets,
            lost_packets: replay.lost_packets,
            received_out_of_range: replay.received_unexpected,
            packets_in: self.packets_in,
            packets_out: self.packets_out,
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            last_use_ms: self.last_use_ms,
            last_activity_ms: self.last_activity_ms,
        }
    }
}

/// An IPv6 packet (as DataHeader + payload) waiting for its session.
#[derive(Clone, Debug)]
struct Pending {
    dst: Ip6,
    queued_ms: u64,
    len: usize,
    buf: [u8; PENDING_BUF_LEN],
}

/// The session table of one node. `S` sessions, `Q` buffered packets.
pub struct SessionManager<const S: usize, const Q: usize> {
    ca: CryptoAuth<0>,
    my_ip6: Ip6,
    first_handle: u32,
    next_handle_offset: u32,
    sessions: [Option<Entry>; S],
    pending: [Option<Pending>; Q],
    events: heapless::Deque<SessionEvent, EVENT_QUEUE_LEN>,
    next_housekeeping_ms: u64,
    poll_soon: bool,
    now_ms: u64,
    stats: SessionManagerStats,
}

impl<const S: usize, const Q: usize> core::fmt::Debug for SessionManager<S, Q> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionManager")
            .field("my_ip6", &self.my_ip6)
            .field("first_handle", &self.first_handle)
            .field("sessions", &self.session_count())
            .field("pending", &self.pending_count())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<const S: usize, const Q: usize> SessionManager<S, Q> {
    /// `first_handle_seed` is any random u32 (cjdns: `Random_uint32 % 99996 + 4`).
    pub fn new(private_key: PrivateKey, first_handle_seed: u32) -> Self {
        let ca = CryptoAuth::new(private_key);
        let my_ip6 = ca.public_key().address_unchecked();
        SessionManager {
            ca,
            my_ip6,
            first_handle: MIN_FIRST_HANDLE
                + first_handle_seed % (MAX_FIRST_HANDLE - MIN_FIRST_HANDLE),
            next_handle_offset: 0,
            sessions: [const { None }; S],
            pending: [const { None }; Q],
            events: heapless::Deque::new(),
            next_housekeeping_ms: 0,
            poll_soon: false,
            now_ms: 0,
            stats: SessionManagerStats::default(),
        }
    }

    pub fn public_key(&self) -> &PublicKey {
        self.ca.public_key()
    }

    pub fn ip6(&self) -> &Ip6 {
        &self.my_ip6
    }

    /// The handle the first session gets; later ones count up from it.
    pub fn first_handle(&self) -> u32 {
        self.first_handle
    }

    pub fn stats(&self) -> &SessionManagerStats {
        &self.stats
    }

    pub fn session_count(&self) -> usize {
        self.sessions.iter().flatten().count()
    }

    pub fn pending_count(&self) -> usize {
        self.pending.iter().flatten().count()
    }

    pub fn session(&self, ip6: &Ip6) -> Option<SessionInfo> {
        self.index_for_ip6(ip6)
            .and_then(|i| self.sessions.get(i))
            .and_then(Option::as_ref)
            .map(|e| e.info(self.now_ms))
    }

    /// All sessions, for stats.
    pub fn sessions(&self) -> impl Iterator<Item = SessionInfo> + '_ {
        let now_ms = self.now_ms;
        self.sessions.iter().flatten().map(move |e| e.info(now_ms))
    }

    /// A packet the switch delivered to the router (label ...0001), not a control frame:
    /// buf[range] starts at the SwitchHeader; label in it is the reversed return path as the
    /// switch left it (the session manager bit-reverses it to get the path back).
    pub fn handle_from_switch(
        &mut self,
        buf: &mut [u8],
        range: Range<usize>,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        self.note_time(now_ms);
        self.receive(buf, range, now_ms, rng, out);
        self.drain_events(out);
    }

    /// Send a CJDHT message to `to` (creates the session if needed; handshake packets may
    /// carry CJDHT). `scratch` is a caller buffer with room for headroom + all headers: the
    /// message is laid at its end, so everything in front is headroom.
    pub fn send_cjdht(
        &mut self,
        to: &NodeAddress,
        msg: &[u8],
        scratch: &mut [u8],
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        self.note_time(now_ms);
        if let Err(reason) = self.try_send_cjdht(to, msg, scratch, now_ms, rng, out) {
            self.dropped(reason);
        }
        self.drain_events(out);
    }

    /// The router expects an answer from `ip6` until `until_ms` (it just sent a query): the
    /// session is kept over idle ones until the answer comes or the time passes.
    pub fn expect_reply(&mut self, ip6: &Ip6, until_ms: u64) {
        if let Some(e) = self
            .index_for_ip6(ip6)
            .and_then(|i| self.sessions.get_mut(i))
            .and_then(Option::as_mut)
        {
            e.awaiting_reply_until_ms = Some(until_ms);
        }
    }

    /// An IPv6 packet from TUN in buf[range] (headroom before it).
    pub fn send_ipv6(
        &mut self,
        buf: &mut [u8],
        range: Range<usize>,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        self.note_time(now_ms);
        if let Err(reason) = self.try_send_ipv6(buf, range, now_ms, rng, out) {
            self.dropped(reason);
        }
        self.drain_events(out);
    }

    /// The router learned a path to `node` (from a reply, a peer, a search). Counted as a
    /// path confirmed by a reply ([`metric::PING_REPLY`]).
    pub fn add_path(&mut self, node: &NodeAddress, now_ms: u64) {
        self.add_path_with_metric(node, metric::PING_REPLY, now_ms);
    }

    /// [`add_path`](Self::add_path) with an explicit metric (cjdns PFChan NODE event);
    /// [`metric::DEAD_LINK`] marks the path dead. Like cjdns it makes a session only for a
    /// node we have traffic buffered for; anything it has to send waits for `poll`.
    pub fn add_path_with_metric(&mut self, node: &NodeAddress, path_metric: u32, now_ms: u64) {
        self.note_time(now_ms);
        if node.key == *self.ca.public_key() {
            return;
        }
        let Ok(ip6) = node.key.address() else {
            return;
        };
        let pending_since = self
            .pending
            .iter()
            .flatten()
            .find(|p| p.dst == ip6)
            .map(|p| p.queued_ms);
        let index = match self.index_for_ip6(&ip6) {
            Some(index) => index,
            None => {
                let Some(queued_ms) = pending_since else {
                    return; // Not a node we care about.
                };
                if path_metric == metric::DEAD_LINK {
                    return;
                }
                let Ok(crypto) = Session::new(node.key, false, now_ms) else {
                    return;
                };
                let metric = if node.label == 0 {
                    metric::DEAD_LINK
                } else {
                    path_metric
                };
                let Some(index) = self.insert(crypto, node.version, node.label, metric, now_ms)
                else {
                    self.dropped(DropReason::TableFull);
                    return;
                };
                if let Some(Some(entry)) = self.sessions.get_mut(index) {
                    // The buffered packet is user traffic: housekeeping now drives the setup.
                    // A search just succeeded, so the next one is 30 s away.
                    entry.last_use_ms = Some(queued_ms);
                    entry.last_search_ms = Some(now_ms);
                }
                index
            }
        };
        let Some(Some(entry)) = self.sessions.get_mut(index) else {
            return;
        };
        if entry.version == 0 {
            entry.version = node.version;
        }
        let discovered = entry.paths.discover(node.label, path_metric, now_ms);
        if discovered && node.version != 0 {
            entry.version = node.version;
        }
        let discovered = discovered.then(|| SessionEvent::PathDiscovered(entry.node(node.label)));
        // Buffered traffic goes at the next poll if the session is ready; if not, the router
        // is asked to set it up now.
        let setup = match (pending_since, entry.is_ready()) {
            (Some(_), false) => entry.setup_request(now_ms).map(SessionEvent::SetupNeeded),
            _ => None,
        };
        self.push_event_opt(discovered);
        self.push_event_opt(setup);
        if pending_since.is_some() {
            self.poll_soon = true;
        }
    }

    /// Timers: buffered packets that became sendable, session timeouts, searches, setup
    /// requests, pending-packet expiry. Call when `poll_at` says.
    pub fn poll(&mut self, now_ms: u64, rng: &mut impl CryptoRngCore, out: &mut impl SessionOut) {
        self.note_time(now_ms);
        self.poll_soon = false;
        self.flush_ready(now_ms, rng, out);
        if now_ms >= self.next_housekeeping_ms {
            self.next_housekeeping_ms = now_ms.saturating_add(HOUSEKEEPING_INTERVAL_MS);
            self.housekeeping(now_ms, out);
        }
        self.drain_events(out);
    }

    /// When `poll` next needs to run (0: right away).
    pub fn poll_at(&self) -> u64 {
        if self.poll_soon || !self.events.is_empty() {
            0
        } else {
            self.next_housekeeping_ms
        }
    }

    // ---- receive ----

    fn receive(
        &mut self,
        buf: &mut [u8],
        range: Range<usize>,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        let Some(packet) = buf.get(range.clone()) else {
            return self.dropped(DropReason::Runt);
        };
        let kind = match classify_switch_packet(packet) {
            Ok(kind) => kind,
            Err(WireError::Malformed) => return self.dropped(DropReason::SetupWithHandle),
            Err(_) => return self.dropped(DropReason::Runt),
        };
        let Some(delivered_header) = read_array::<SWITCH_HEADER_LEN>(packet, 0) else {
            return self.dropped(DropReason::Runt);
        };
        let return_path = bit_reverse64(SwitchHeader::new_unchecked(&delivered_header).label());

        let (ca_start, mut fresh) = match kind {
            SwitchPayloadKind::Control => return self.dropped(DropReason::ControlFrame),
            SwitchPayloadKind::Data { handle } => match self.index_for_handle(handle) {
                Some(index) => (range.start + SWITCH_HEADER_LEN + HANDLE_LEN, Err(index)),
                None => return self.dropped(DropReason::UnknownHandle),
            },
            SwitchPayloadKind::Handshake { .. } => {
                let key_at = SWITCH_HEADER_LEN + HANDSHAKE_KEY_OFFSET;
                let Some(key) = read_array::<32>(packet, key_at).map(PublicKey) else {
                    return self.dropped(DropReason::Runt);
                };
                if key == *self.ca.public_key() {
                    return self.dropped(DropReason::OwnKey);
                }
                let Ok(ip6) = key.address() else {
                    return self.dropped(DropReason::NonFcKey);
                };
                let start = range.start + SWITCH_HEADER_LEN;
                match self.index_for_ip6(&ip6) {
                    Some(index) => {
                        if let Some(Some(entry)) = self.sessions.get_mut(index) {
                            entry.crypto.reset_if_timeout(now_ms);
                        }
                        (start, Err(index))
                    }
                    None => match Session::new(key, false, now_ms) {
                        Ok(session) => (start, Ok(session)),
                        Err(_) => return self.dropped(DropReason::NonFcKey),
                    },
                }
            }
        };
        let is_handshake = matches!(kind, SwitchPayloadKind::Handshake { .. });
        let ca_range = ca_start..range.end;
        let first16 = read_array::<16>(buf, ca_start).unwrap_or([0; 16]);

        let session = match &mut fresh {
            Ok(session) => Some(session),
            Err(index) => self
                .sessions
                .get_mut(*index)
                .and_then(Option::as_mut)
                .map(|e| &mut e.crypto),
        };
        let Some(session) = session else {
            return self.dropped(DropReason::UnknownHandle);
        };
        let was_established = session.is_established();
        let opened = match buf.get_mut(ca_range) {
            Some(ca_packet) => session.decrypt(&self.ca, ca_packet, now_ms),
            None => Err(CryptoError::BadRange),
        };
        let opened = match opened {
            Ok(opened) => opened,
            Err(error) => {
                let code = decrypt_error_code(error, was_established, is_handshake);
                let state = session.state();
                self.send_auth_error(&delivered_header, first16, code, state, return_path, out);
                return self.dropped(DropReason::DecryptFailed(error));
            }
        };
        let index = match fresh {
            Err(index) => index,
            Ok(session) => {
                match self.insert(session, 0, return_path, metric::SM_INCOMING, now_ms) {
                    Some(index) => index,
                    None => return self.dropped(DropReason::TableFull),
                }
            }
        };
        let plaintext = (ca_start + opened.plaintext.start)..(ca_start + opened.plaintext.end);
        self.deliver(
            index,
            buf,
            plaintext,
            is_handshake,
            return_path,
            now_ms,
            rng,
            out,
        );
    }

    /// Bookkeeping and hand-off of a decrypted packet.
    #[allow(clippy::too_many_arguments)]
    fn deliver(
        &mut self,
        index: usize,
        buf: &mut [u8],
        plaintext: Range<usize>,
        is_handshake: bool,
        return_path: u64,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        let my_ip6 = self.my_ip6;
        let Some(Some(entry)) = self.sessions.get_mut(index) else {
            return;
        };
        let mut content_start = plaintext.start;
        if is_handshake {
            let Some(handle) = read_array::<4>(buf, content_start).map(u32::from_be_bytes) else {
                return self.dropped(DropReason::BadPlaintext);
            };
            entry.send_handle = Some(handle);
            content_start += HANDLE_LEN;
        }
        let header = buf
            .get(content_start..plaintext.end)
            .and_then(|b| DataHeaderRepr::parse_bytes(b).ok());
        let Some(header) = header else {
            return self.dropped(DropReason::BadPlaintext);
        };
        let content = (content_start + DATA_HEADER_LEN)..plaintext.end;
        entry.packets_in += 1;
        entry.bytes_in += (plaintext.end - content_start) as u64;
        entry.last_activity_ms = now_ms;
        entry.last_incoming_ms = Some(now_ms);
        self.stats.packets_in += 1;
        let discovered = entry
            .paths
            .discover(return_path, metric::SM_INCOMING, now_ms);
        let from = entry.node(return_path);
        let peer_ip6 = *entry.crypto.her_ip6();
        let ready = entry.is_ready();
        if discovered {
            self.push_event(SessionEvent::PathDiscovered(from));
        }

        match header.content_type {
            ContentType::Cjdht => {
                if let Some(e) = self.sessions.get_mut(index).and_then(Option::as_mut) {
                    e.awaiting_reply_until_ms = None;
                }
                if let Some(msg) = buf.get(content) {
                    out.cjdht(&from, msg);
                }
            }
            content_type if content_type.ip6_next_header().is_some() => {
                if is_handshake {
                    self.dropped(DropReason::UserTrafficInHandshake);
                } else {
                    match rebuild_ipv6(buf, content, &peer_ip6, &my_ip6, content_type) {
                        Ok(packet) => {
                            if let Some(packet) = buf.get(packet) {
                                out.ipv6(packet);
                            }
                        }
                        Err(_) => self.dropped(DropReason::BadPlaintext),
                    }
                }
            }
            other => self.dropped(DropReason::UnsupportedContent(other.as_u16())),
        }

        if ready {
            if let Some(slot) = self.pending_slot(&peer_ip6) {
                self.try_flush(slot, index, now_ms, rng, out);
            }
        }
    }

    fn send_auth_error(
        &mut self,
        delivered_header: &[u8; SWITCH_HEADER_LEN],
        first16: [u8; 16],
        code: u32,
        state: State,
        return_path: u64,
        out: &mut impl SessionOut,
    ) {
        let mut cause = [0u8; AUTH_ERROR_CAUSE_LEN];
        cause[..SWITCH_HEADER_LEN].copy_from_slice(delivered_header);
        cause[SWITCH_HEADER_LEN..SWITCH_HEADER_LEN + 16].copy_from_slice(&first16);
        cause[SWITCH_HEADER_LEN + 16..SWITCH_HEADER_LEN + 20].copy_from_slice(&code.to_be_bytes());
        cause[SWITCH_HEADER_LEN + 20..].copy_from_slice(&(state as u32).to_be_bytes());

        let mut frame = [0u8; OUTER_HEADROOM + AUTH_ERROR_FRAME_LEN];
        let header = SwitchHeaderRepr {
            suppress_errors: true,
            ..SwitchHeaderRepr::new(return_path)
        };
        if header.emit(&mut frame[OUTER_HEADROOM..]).is_err() {
            return;
        }
        let body_at = OUTER_HEADROOM + SWITCH_HEADER_LEN;
        if let Ok(len) = emit_error(&mut frame[body_at..], ErrorType::Authentication, &cause) {
            self.stats.auth_errors_sent += 1;
            out.send_switch(&mut frame, OUTER_HEADROOM..body_at + len);
        }
    }

    // ---- send ----

    fn try_send_cjdht(
        &mut self,
        to: &NodeAddress,
        msg: &[u8],
        scratch: &mut [u8],
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) -> Result<(), DropReason> {
        if to.key == *self.ca.public_key() {
            return Err(DropReason::OwnKey);
        }
        let ip6 = to.key.address().map_err(|_| DropReason::NonFcKey)?;
        let content_start = scratch
            .len()
            .checked_sub(msg.len())
            .filter(|start| *start >= SESSION_HEADROOM)
            .ok_or(DropReason::NoHeadroom)?;
        let payload_start = content_start - DATA_HEADER_LEN;
        scratch
            .get_mut(content_start..)
            .ok_or(DropReason::NoHeadroom)?
            .copy_from_slice(msg);
        DataHeaderRepr::new(ContentType::Cjdht)
            .emit(
                scratch
                    .get_mut(payload_start..)
                    .ok_or(DropReason::NoHeadroom)?,
            )
            .map_err(|_| DropReason::NoHeadroom)?;

        let index = match self.index_for_ip6(&ip6) {
            Some(index) => index,
            None if to.label == 0 => {
                // No session and no path: nothing to set one up over.
                out.need_path(&ip6);
                return Err(DropReason::NoPath);
            }
            None => {
                let crypto =
                    Session::new(to.key, false, now_ms).map_err(|_| DropReason::NonFcKey)?;
                self.insert(crypto, to.version, to.label, metric::SM_SEND, now_ms)
                    .ok_or(DropReason::TableFull)?
            }
        };
        let Some(Some(entry)) = self.sessions.get_mut(index) else {
            return Err(DropReason::TableFull);
        };
        if to.version != 0 {
            entry.version = to.version;
        }
        // The caller's label is used for this message only, as cjdns does.
        let label = match (to.label, entry.paths.usable_label()) {
            (0, None) => {
                out.need_path(&ip6);
                return Err(DropReason::NoPath);
            }
            (0, Some(best)) => best,
            (given, _) => given,
        };
        // No setup request here: this message is itself a packet of the session (a Hello or
        // Key while it is not ready), and the router's setup ping arrives through here, so
        // asking again would loop.
        entry.crypto.reset_if_timeout(now_ms);
        let payload = payload_start..scratch.len();
        seal_and_send(&self.ca, entry, scratch, payload, label, now_ms, rng, out)?;
        self.stats.packets_out += 1;
        Ok(())
    }

    fn try_send_ipv6(
        &mut self,
        buf: &mut [u8],
        range: Range<usize>,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) -> Result<(), DropReason> {
        let packet = buf.get(range.clone()).ok_or(DropReason::TunMalformed)?;
        let stripped = strip_ipv6(packet).map_err(|_| DropReason::TunMalformed)?;
        match route_from_tun(&stripped, &self.my_ip6) {
            TunRoute::Session => {}
            TunRoute::Loopback => {
                out.ipv6(packet);
                return Ok(());
            }
            TunRoute::WrongSource => return Err(DropReason::TunWrongSource),
            TunRoute::IpTunnel => return Err(DropReason::TunNotFc),
        }
        let dst = stripped.dst;
        // The 40-byte header becomes a 4-byte DataHeader right in front of the payload.
        let payload = (range.start + IPV6_HEADER_LEN - DATA_HEADER_LEN)..range.end;
        DataHeaderRepr::new(stripped.content_type)
            .emit(
                buf.get_mut(payload.clone())
                    .ok_or(DropReason::TunMalformed)?,
            )
            .map_err(|_| DropReason::TunMalformed)?;

        let Some(index) = self.index_for_ip6(&dst) else {
            return self.needs_lookup(&dst, buf, payload, now_ms, out);
        };
        let Some(Some(entry)) = self.sessions.get_mut(index) else {
            return Err(DropReason::TableFull);
        };
        entry.last_use_ms = Some(now_ms);
        let Some(label) = entry.paths.usable_label() else {
            return self.needs_lookup(&dst, buf, payload, now_ms, out);
        };
        entry.crypto.reset_if_timeout(now_ms);
        if !entry.is_ready() {
            // Forward secrecy: user traffic waits until the handshake is done.
            let event = request_setup(entry, now_ms, out);
            self.push_event_opt(event);
            let data = buf.get(payload).ok_or(DropReason::TunMalformed)?;
            return self.buffer(&dst, data, now_ms);
        }
        // Anything still buffered for this destination goes first, to keep the order.
        if let Some(slot) = self.pending_slot(&dst) {
            self.try_flush(slot, index, now_ms, rng, out);
        }
        let Some(Some(entry)) = self.sessions.get_mut(index) else {
            return Err(DropReason::TableFull);
        };
        seal_and_send(&self.ca, entry, buf, payload, label, now_ms, rng, out)?;
        self.stats.packets_out += 1;
        Ok(())
    }

    fn needs_lookup(
        &mut self,
        dst: &Ip6,
        buf: &[u8],
        payload: Range<usize>,
        now_ms: u64,
        out: &mut impl SessionOut,
    ) -> Result<(), DropReason> {
        let data = buf.get(payload).ok_or(DropReason::TunMalformed)?;
        let buffered = self.buffer(dst, data, now_ms);
        out.need_path(dst);
        buffered
    }

    /// Keep one packet per destination (a newer one replaces it), at most `Q`.
    fn buffer(&mut self, dst: &Ip6, data: &[u8], now_ms: u64) -> Result<(), DropReason> {
        if data.len() > DATA_HEADER_LEN + MAX_PENDING_PAYLOAD {
            return Err(DropReason::PendingTooBig);
        }
        if let Some(slot) = self.pending_slot(dst) {
            if let Some(old) = self.pending.get_mut(slot) {
                *old = None;
            }
            self.dropped(DropReason::PendingReplaced);
        }
        if !self.pending.iter().any(Option::is_none) {
            self.expire_pending(now_ms, None::<&mut NoOut>);
        }
        let slot = self
            .pending
            .iter_mut()
            .find(|p| p.is_none())
            .ok_or(DropReason::PendingFull)?;
        let pending = slot.insert(Pending {
            dst: *dst,
            queued_ms: now_ms,
            len: data.len(),
            buf: [0; PENDING_BUF_LEN],
        });
        pending
            .buf
            .get_mut(PENDING_DATA_OFFSET..PENDING_DATA_OFFSET + data.len())
            .ok_or(DropReason::PendingTooBig)?
            .copy_from_slice(data);
        self.stats.pending_buffered += 1;
        Ok(())
    }

    /// Send buffered packet `slot` over session `index` if that session is ready.
    fn try_flush(
        &mut self,
        slot: usize,
        index: usize,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        let Some(Some(entry)) = self.sessions.get_mut(index) else {
            return;
        };
        let Some(Some(pending)) = self.pending.get_mut(slot) else {
            return;
        };
        entry.crypto.reset_if_timeout(now_ms);
        let Some(label) = entry.paths.usable_label() else {
            return;
        };
        if !entry.is_ready() {
            return;
        }
        entry.last_use_ms = Some(now_ms);
        let payload = PENDING_DATA_OFFSET..PENDING_DATA_OFFSET + pending.len;
        let sent = seal_and_send(
            &self.ca,
            entry,
            &mut pending.buf,
            payload,
            label,
            now_ms,
            rng,
            out,
        );
        if let Some(slot) = self.pending.get_mut(slot) {
            *slot = None;
        }
        match sent {
            Ok(()) => {
                self.stats.pending_flushed += 1;
                self.stats.packets_out += 1;
            }
            Err(reason) => self.dropped(reason),
        }
    }

    fn flush_ready(
        &mut self,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl SessionOut,
    ) {
        for slot in 0..Q {
            self.drain_events(out);
            let Some(Some(pending)) = self.pending.get(slot) else {
                continue;
            };
            let dst = pending.dst;
            if let Some(index) = self.index_for_ip6(&dst) {
                self.try_flush(slot, index, now_ms, rng, out);
            }
        }
    }

    // ---- timers ----

    fn housekeeping(&mut self, now_ms: u64, out: &mut impl SessionOut) {
        for index in 0..S {
            // Emit as we go: many sessions may have something to say in one round.
            self.drain_events(out);
            let Some(Some(entry)) = self.sessions.get_mut(index) else {
                continue;
            };
            let last_sign_of_life = entry
                .paths
                .most_recent_validation_ms()
                .max(entry.last_incoming_ms.unwrap_or(0));
            if now_ms.saturating_sub(last_sign_of_life) > SESSION_TIMEOUT_MS {
                let event = SessionEvent::Ended {
                    key: *entry.crypto.her_key(),
                    handle: entry.receive_handle,
                };
                if let Some(slot) = self.sessions.get_mut(index) {
                    *slot = None;
                }
                self.stats.sessions_ended += 1;
                self.push_event(event);
                continue;
            }
            let Some(last_use) = entry.last_use_ms else {
                // Only the router uses it: it may keep it alive, or let it end.
                continue;
            };
            if now_ms.saturating_sub(last_use) > SESSION_TIMEOUT_MS {
                entry.last_use_ms = None;
            } else if entry
                .last_search_ms
                .is_none_or(|t| now_ms.saturating_sub(t) >= SEARCH_AFTER_MS)
            {
                entry.last_search_ms = Some(now_ms);
                let ip6 = *entry.crypto.her_ip6();
                out.need_path(&ip6);
                self.push_event(SessionEvent::SearchDue(ip6));
            } else if entry.crypto.state() < State::Established {
                let event = request_setup(entry, now_ms, out);
                self.push_event_opt(event);
            }
        }
        self.expire_pending(now_ms, Some(out));
    }

    fn expire_pending(&mut self, now_ms: u64, mut out: Option<&mut impl SessionOut>) {
        for slot in 0..Q {
            if let Some(out) = out.as_deref_mut() {
                self.drain_events(out);
            }
            let expired = matches!(
                self.pending.get(slot),
                Some(Some(p)) if now_ms.saturating_sub(p.queued_ms) >= PENDING_TIMEOUT_MS
            );
            if expired {
                if let Some(p) = self.pending.get_mut(slot) {
                    *p = None;
                }
                self.dropped(DropReason::PendingTimedOut);
            }
        }
    }

    // ---- table ----

    fn index_for_ip6(&self, ip6: &Ip6) -> Option<usize> {
        self.sessions
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.crypto.her_ip6() == ip6))
    }

    fn index_for_handle(&self, handle: u32) -> Option<usize> {
        self.sessions
            .iter()
            .position(|e| e.as_ref().is_some_and(|e| e.receive_handle == handle))
    }

    fn pending_slot(&self, dst: &Ip6) -> Option<usize> {
        self.pending
            .iter()
            .position(|p| p.as_ref().is_some_and(|p| p.dst == *dst))
    }

    /// Handles count up from the first one and are not reused while the count lasts;
    /// values that read as handshake states or the control marker are skipped.
    fn allocate_handle(&mut self) -> u32 {
        let mut handle = self.first_handle;
        for _ in 0..S + 6 {
            handle = self.first_handle.wrapping_add(self.next_handle_offset);
            self.next_handle_offset = self.next_handle_offset.wrapping_add(1);
            let reserved = handle <= 3 || handle == u32::MAX;
            if !reserved && self.index_for_handle(handle).is_none() {
                break;
            }
        }
        handle
    }

    /// Put a new session in the table, evicting if it is full (see [`eviction_rank`]).
    fn insert(
        &mut self,
        crypto: Session,
        version: u32,
        label: u64,
        path_metric: u32,
        now_ms: u64,
    ) -> Option<usize> {
        let index = match self.sessions.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                let victim = self
                    .sessions
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| e.as_ref().map(|e| (i, e)))
                    .min_by_key(|(_, e)| eviction_rank(e, now_ms))
                    .map(|(i, _)| i)?;
                let evicted = self.sessions.get_mut(victim)?.take()?;
                self.stats.sessions_evicted += 1;
                self.push_event(SessionEvent::Evicted {
                    key: *evicted.crypto.her_key(),
                    handle: evicted.receive_handle,
                });
                victim
            }
        };
        let receive_handle = self.allocate_handle();
        let mut crypto = crypto;
        crypto.setup_reset_after_inactivity_secs = SETUP_RESET_SECS;
        let key = *crypto.her_key();
        let slot = self.sessions.get_mut(index)?;
        *slot = Some(Entry {
            crypto,
            receive_handle,
            send_handle: None,
            version,
            paths: Paths::new(label, path_metric, now_ms),
            last_use_ms: None,
            last_search_ms: None,
            last_setup_request_ms: None,
            awaiting_reply_until_ms: None,
            created_ms: now_ms,
            last_activity_ms: now_ms,
            last_incoming_ms: None,
            packets_in: 0,
            packets_out: 0,
            bytes_in: 0,
            bytes_out: 0,
        });
        self.stats.sessions_created += 1;
        self.push_event(SessionEvent::Started {
            key,
            handle: receive_handle,
        });
        Some(index)
    }

    // ---- events ----

    fn note_time(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn dropped(&mut self, reason: DropReason) {
        self.stats.count(reason);
        self.push_event(SessionEvent::Dropped(reason));
    }

    fn push_event(&mut self, event: SessionEvent) {
        if self.events.push_back(event).is_err() {
            self.stats.events_lost += 1;
        }
    }

    fn push_event_opt(&mut self, event: Option<SessionEvent>) {
        if let Some(event) = event {
            self.push_event(event);
        }
    }

    fn drain_events(&mut self, out: &mut impl SessionOut) {
        while let Some(event) = self.events.pop_front() {
            out.event(event);
        }
    }
}

/// Stands in for `out` where events can only be queued.
enum NoOut {}

impl SessionOut for NoOut {
    fn send_switch(&mut self, _buf: &mut [u8], _range: Range<usize>) {
        match *self {}
    }
    fn cjdht(&mut self, _from: &NodeAddress, _msg: &[u8]) {
        match *self {}
    }
    fn ipv6(&mut self, _packet: &[u8]) {
        match *self {}
    }
    fn need_path(&mut self, _ip6: &Ip6) {
        match *self {}
    }
    fn event(&mut self, _event: SessionEvent) {
        match *self {}
    }
}

/// Ask the router to ping the node so the session gets set up (cjdns `unsetupSession`):
/// only possible with a live path.
fn request_setup(
    entry: &mut Entry,
    now_ms: u64,
    out: &mut impl SessionOut,
) -> Option<SessionEvent> {
    let node = entry.setup_request(now_ms)?;
    out.need_path(entry.crypto.her_ip6());
    Some(SessionEvent::SetupNeeded(node))
}

/// Encrypt `buf[payload]` (DataHeader + content) for `entry`, add the handle and the switch
/// header, and hand the packet to `out`.
#[allow(clippy::too_many_arguments)]
fn seal_and_send<const N: usize>(
    ca: &CryptoAuth<N>,
    entry: &mut Entry,
    buf: &mut [u8],
    payload: Range<usize>,
    label: u64,
    now_ms: u64,
    rng: &mut impl CryptoRngCore,
    out: &mut impl SessionOut,
) -> Result<(), DropReason> {
    entry.crypto.reset_if_timeout(now_ms);
    if entry.crypto.next_nonce() >= MAX_COUNTER {
        // Start over before the counter wraps, here rather than inside `encrypt`, so the
        // handle goes where the new handshake state wants it.
        entry.crypto.reset();
    }
    let handshake = !entry.is_ready();
    let needed = if handshake {
        SWITCH_HEADER_LEN + MAX_OVERHEAD + HANDLE_LEN
    } else {
        SWITCH_HEADER_LEN + HANDLE_LEN + CA_DATA_HEADER_LEN
    };
    if payload.start < needed || payload.start > payload.end || payload.end > buf.len() {
        return Err(DropReason::NoHeadroom);
    }
    let send_handle = match (handshake, entry.send_handle) {
        (true, _) => 0,
        (false, Some(handle)) => handle,
        (false, None) => return Err(DropReason::NoSendHandle),
    };
    let mut start = payload.start;
    if handshake {
        start -= HANDLE_LEN;
        put_u32(buf, start, entry.receive_handle)?;
    }
    let sealed = entry
        .crypto
        .encrypt(ca, buf, start..payload.end, now_ms, rng)
        .map_err(DropReason::EncryptFailed)?;
    let mut packet_start = sealed.start;
    if !handshake {
        packet_start = packet_start
            .checked_sub(HANDLE_LEN)
            .ok_or(DropReason::NoHeadroom)?;
        put_u32(buf, packet_start, send_handle)?;
    }
    packet_start = packet_start
        .checked_sub(SWITCH_HEADER_LEN)
        .ok_or(DropReason::NoHeadroom)?;
    SwitchHeaderRepr::new(label)
        .emit(buf.get_mut(packet_start..).ok_or(DropReason::NoHeadroom)?)
        .map_err(|_| DropReason::NoHeadroom)?;
    entry.packets_out += 1;
    entry.bytes_out += (payload.end - payload.start) as u64;
    entry.last_activity_ms = now_ms;
    out.send_switch(buf, packet_start..sealed.end);
    Ok(())
}

fn put_u32(buf: &mut [u8], at: usize, value: u32) -> Result<(), DropReason> {
    buf.get_mut(at..at + 4)
        .ok_or(DropReason::NoHeadroom)?
        .copy_from_slice(&value.to_be_bytes());
    Ok(())
}

fn read_array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// The reference's `DecryptErr` code for a refused packet (quoted in the error frame).
fn decrypt_error_code(error: CryptoError, was_established: bool, is_handshake: bool) -> u32 {
    match error {
        CryptoError::Truncated { .. } => 1,
        CryptoError::NoSession => 2,
        CryptoError::DecryptFailed if !was_established && !is_handshake => 3,
        CryptoError::DecryptFailed => 15,
        CryptoError::KeyOnEstablishedSession => 5,
        CryptoError::WrongPermanentKey => 6,
        CryptoError::IpRestricted => 7,
        CryptoError::AuthRequired => 8,
        CryptoError::UnrecognizedAuth => 9,
        CryptoError::StrayKey => 10,
        CryptoError::HandshakeDecryptFailed | CryptoError::WeakKey => 11,
        CryptoError::ZeroTempKey => 12,
        CryptoError::DuplicateHello
        | CryptoError::DuplicateKey
        | CryptoError::RepeatKeyChanged
        | CryptoError::UnexpectedRepeatHello
        | CryptoError::StateSequence => 13,
        CryptoError::Replay(ReplayRejection::Duplicate | ReplayRejection::OutOfRange) => 14,
        _ => 16,
    }
}

/// An end-to-end handshake that hears nothing for this long starts over with a new Hello
/// (the reference waits 10 s). A bounded table may have evicted the other side's half of the
/// session, and until a fresh Hello the other side drops everything we send for an unknown
/// handle; a round trip in a mesh is well under a second, so 4 s of silence is a stall.
pub const SETUP_RESET_SECS: u32 = 4;

/// A session this young is kept like one awaiting a reply: the other side's answer (to
/// the handshake, or the user packet that follows it) is about one round trip away.
pub const YOUNG_SESSION_MS: u64 = 2_000;
/// User traffic this recent makes a session "hot": kept over everything else.
pub const HOT_USE_MS: u64 = 10_000;

/// Which session a full table gives up first (the smallest rank). A node's router talks to
/// far more nodes than a small table holds, each exchange a query and a reply (often inside
/// the handshake itself): once the reply is in, a router-only session is cheap to rebuild.
/// So, from most to least kept: sessions with user traffic in the last [`HOT_USE_MS`];
/// sessions whose router query awaits its reply; sessions younger than
/// [`YOUNG_SESSION_MS`]; sessions that once carried user traffic; the rest. Within a class
/// the least recently active goes first.
fn eviction_rank(e: &Entry, now_ms: u64) -> (bool, bool, bool, bool, u64) {
    let hot = e
        .last_use_ms
        .is_some_and(|t| now_ms.saturating_sub(t) < HOT_USE_MS);
    let awaiting = e.awaiting_reply_until_ms.is_some_and(|t| t > now_ms);
    let young = now_ms.saturating_sub(e.created_ms) < YOUNG_SESSION_MS;
    (
        hot,
        awaiting,
        young,
        e.last_use_ms.is_some(),
        e.last_activity_ms,
    )
}
