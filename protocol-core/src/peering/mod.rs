//! Peering (InterfaceController): links, peers and their outer CryptoAuth sessions, beacons, keepalive.
//!
//! One outer CryptoAuth session per (link, link address), each bound to a switch interface.
//! Received frames are opened here and switched; what the switch forwards is re-encrypted for
//! the next peer in the same buffer, and only packets for this router are handed up.
//! Keepalive pings are the reference's SwitchPinger pings (`handle + cookie + IFACE_CNTRLR`).

mod addr;
mod kbps;

pub use addr::{LinkAddr, ShortName, OPAQUE_ADDR_MAX};
pub use kbps::Kbps;

use core::ops::Range;
use rand_core::CryptoRngCore;

use crate::crypto::{Credentials, CryptoAuth, Session, State as CaState, UserId};
use crate::identity::PublicKey;
use crate::switch::{SwitchAction, SwitchCore, ERROR_FRAME_MAX, ROUTER_INTERFACE};
use crate::wire::beacon::{emit_udp_beacon, parse_udp_beacon, BEACON_PASSWORD_LEN};
use crate::wire::{BeaconRepr, ControlRepr, EthHeaderRepr, SwitchHeaderRepr, BEACON_LEN};
use crate::wire::{ETH_HEADER_LEN, SWITCH_HEADER_LEN};

/// Room the node needs in front of a frame: an outer handshake header plus the Ethernet
/// link header, so forwarding can re-encrypt in place.
pub const NODE_HEADROOM: usize = 128;
/// Links a node can have (Ethernet ports, UDP sockets, ...).
pub const MAX_LINKS: usize = 4;
/// Passwords the outer CryptoAuth accepts (beacon password + configured ones).
pub const AUTH_USERS: usize = 8;
/// Switch interface table size: 0..=256 as v3x5x8 allows; the peer table bounds real use.
pub const SWITCH_SLOTS: usize = 257;
/// Our protocol version, as sent in pings and pongs.
pub const PROTOCOL_VERSION: u32 = 22;
/// Versions below this are incompatible (`Version_MINIMUM_COMPATIBLE`).
pub const MIN_COMPATIBLE_VERSION: u32 = 20;
/// Beacons advertise 21 in default (noise-less) builds.
pub const BEACON_VERSION: u32 = 21;
/// Login under which the beacon password is registered.
pub const BEACON_LOGIN: &[u8] = b"Local Peers";
/// The tag that routes PONGs to the keepalive (`InterfaceController` ping data).
pub const KEEPALIVE_TAG: &[u8; 12] = b"IFACE_CNTRLR";

pub const PING_INTERVAL_MS: u64 = 1024;
pub const PING_AFTER_MS: u64 = 3 * 1024;
pub const UNRESPONSIVE_AFTER_MS: u64 = 20 * 1024;
pub const PING_TIMEOUT_MS: u64 = 2 * 1024;
pub const FORGET_AFTER_MS: u64 = 256 * 1024;
pub const BEACON_INTERVAL_MS: u64 = 32768;

const KEEPALIVE_DATA_LEN: usize = 4 + 8 + KEEPALIVE_TAG.len();
/// Scratch for packets we originate (pings, beacons): headroom + the packet.
const SMALL_SCRATCH: usize = NODE_HEADROOM + 128;

/// A link as the driver names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LinkId(pub u8);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// Datagrams are outer CryptoAuth packets; beacons (8-byte header) arrive as broadcasts.
    Udp,
    /// 0xfc00 frames: the node writes and checks the 6-byte ETHInterface header.
    Ethernet,
    /// Anything else carrying bare outer CryptoAuth packets.
    Other,
}

/// `beacon` in cjdroute.conf: 0 off, 1 accept, 2 send and accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum BeaconMode {
    #[default]
    Off = 0,
    Accept = 1,
    Send = 2,
}

/// Peer states as `InterfaceController_stateString` reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PeerState {
    Init,
    SentHello,
    ReceivedHello,
    SentKey,
    ReceivedKey,
    Established,
    Unresponsive,
    Unauthenticated,
    Incompatible,
}

impl PeerState {
    pub const fn as_str(self) -> &'static str {
        match self {
            PeerState::Init => "INIT",
            PeerState::SentHello => "SENT_HELLO",
            PeerState::ReceivedHello => "RECEIVED_HELLO",
            PeerState::SentKey => "SENT_KEY",
            PeerState::ReceivedKey => "RECEIVED_KEY",
            PeerState::Established => "ESTABLISHED",
            PeerState::Unresponsive => "UNRESPONSIVE",
            PeerState::Unauthenticated => "UNAUTHENTICATED",
            PeerState::Incompatible => "INCOMPATIBLE",
        }
    }

    fn from_ca(state: CaState) -> Self {
        match state {
            CaState::Init => PeerState::Init,
            CaState::SentHello => PeerState::SentHello,
            CaState::ReceivedHello => PeerState::ReceivedHello,
            CaState::SentKey => PeerState::SentKey,
            CaState::ReceivedKey => PeerState::ReceivedKey,
            CaState::Established => PeerState::Established,
        }
    }
}

/// Per-peer counters for peerStats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeerCounters {
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub duplicates: u32,
    pub lost: u32,
    pub out_of_range: u32,
    pub last_seen_ms: u64,
    pub kbps_in: u32,
    pub kbps_out: u32,
}

/// A configured peer (`connectTo`).
#[derive(Clone, Copy, Debug)]
pub struct PeerConfig<'a> {
    pub public_key: PublicKey,
    pub password: &'a [u8],
    pub login: Option<&'a [u8]>,
    pub name: &'a str,
    /// Version if known from configuration, else 0 (learned from the first PONG).
    pub version: u32,
}

/// Why a peer could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeeringError {
    NoSuchLink,
    TooManyLinks,
    /// The key's address is not in fc00::/8.
    InvalidKey,
    /// That is our own key.
    OwnKey,
    IncompatibleVersion,
    /// The peer table is full of peers we may not evict.
    TableFull,
    /// No free switch interface.
    SwitchFull,
}

/// What peering tells the layer above about a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerEvent {
    /// Established and answered a ping: the router may use it.
    Up {
        key: PublicKey,
        label: u64,
        version: u32,
    },
    /// Unresponsive (or removed after being up).
    Down {
        key: PublicKey,
        label: u64,
    },
    Added {
        key: PublicKey,
        label: u64,
        link: LinkId,
        addr: LinkAddr,
    },
    Removed {
        key: PublicKey,
        label: u64,
    },
}

/// Where peering puts frames and events.
pub trait PeeringOut {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]);
    fn peer_event(&mut self, event: PeerEvent);
}

/// Table-wide counters: what was refused and why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeeringCounters {
    pub frames_in: u64,
    pub frames_bad_link_header: u64,
    pub frames_unknown_link: u64,
    pub hellos_accepted: u64,
    pub hellos_refused: u64,
    pub refused_table_full: u64,
    pub evicted_unresponsive: u64,
    pub decrypt_failed: u64,
    pub dropped_not_established: u64,
    pub dropped_incompatible: u64,
    pub beacons_sent: u64,
    pub beacons_accepted: u64,
    pub beacons_ignored: u64,
    pub pings_sent: u64,
    pub pongs_matched: u64,
    pub pongs_unmatched: u64,
    pub switch_errors_sent: u64,
    pub switch_dropped: u64,
    pub encrypt_failed: u64,
}

#[derive(Clone, Copy, Debug)]
struct Link {
    kind: LinkKind,
    beacon: BeaconMode,
    /// Our data port announced in UDP beacons.
    comm_port: u16,
    last_peer_pinged: usize,
    next_beacon_ms: u64,
}

#[derive(Clone, Copy, Debug)]
struct OutstandingPing {
    handle: u32,
    cookie: u64,
    sent_ms: u64,
}

/// One peer: an outer session on one link address, bound to one switch interface.
#[derive(Debug, Clone)]
pub struct Peer {
    pub link: LinkId,
    pub addr: LinkAddr,
    session: Session,
    pub iface: u32,
    pub label: u64,
    /// Learned from the first PONG (or a beacon / configuration).
    pub version: u32,
    pub state: PeerState,
    /// Forgettable: came from a Hello or a beacon rather than configuration.
    pub incoming: bool,
    pub name: ShortName,
    user: Option<UserId>,
    time_last_message: u64,
    time_last_ping: u64,
    ping_count: u32,
    ping: Option<OutstandingPing>,
    /// Whether the layer above has been told this peer is up.
    reported_up: bool,
    /// A PONG told us its version: only then is it reported up (as the reference).
    pong_seen: bool,
    /// Configured peers get their first ping from the next `poll`.
    ping_now: bool,
    pub counters: PeerCounters,
    kbps_in: Kbps,
    kbps_out: Kbps,
}

impl Peer {
    pub fn public_key(&self) -> &PublicKey {
        self.session.her_key()
    }

    pub fn is_up(&self) -> bool {
        self.reported_up
    }

    pub fn session_state(&self) -> CaState {
        self.session.state()
    }

    fn report_if_up(&mut self, out: &mut impl PeeringOut) {
        if self.state == PeerState::Established && self.pong_seen && !self.reported_up {
            self.reported_up = true;
            out.peer_event(PeerEvent::Up {
                key: *self.session.her_key(),
                label: self.label,
                version: self.version,
            });
        }
    }

    /// Counters with the crypto replay statistics folded in.
    pub fn counters(&self, now_ms: u64) -> PeerCounters {
        let replay = self.session.stats();
        let mut c = self.counters;
        c.duplicates = replay.duplicate_packets;
        c.lost = replay.lost_packets;
        c.out_of_range = replay.received_unexpected;
        c.kbps_in = self.kbps_in.kbps(now_ms);
        c.kbps_out = self.kbps_out.kbps(now_ms);
        c
    }
}

/// A packet the switch delivered to this router: `buf[range]` starts at its switch header,
/// whose label is the reversed return path as the switch left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub range: Range<usize>,
    /// The peer (slot index) it arrived from.
    pub from_peer: usize,
}

/// The InterfaceController: links, the peer table, the outer CryptoAuth and the switch.
#[derive(Debug)]
pub struct Peering<const P: usize> {
    pub ca: CryptoAuth<AUTH_USERS>,
    pub switch: SwitchCore<SWITCH_SLOTS>,
    links: [Option<Link>; MAX_LINKS],
    peers: [Option<Peer>; P],
    beacon_password: [u8; BEACON_PASSWORD_LEN],
    next_ping_cycle_ms: u64,
    next_handle: u32,
    /// The time of the latest call, for calls that carry none (connect).
    now_ms: u64,
    pub counters: PeeringCounters,
}

const BASE32_ALPHABET: &[u8; 32] = b"0123456789bcdfghjklmnpqrstuvwxyz";

impl<const P: usize> Peering<P> {
    /// A fresh table. The beacon password (19 random base32 characters and a NUL) is drawn
    /// now and registered as an authorized password with login "Local Peers".
    pub fn new(private_key: crate::identity::PrivateKey, rng: &mut impl CryptoRngCore) -> Self {
        let mut ca = CryptoAuth::new(private_key);
        let mut beacon_password = [0u8; BEACON_PASSWORD_LEN];
        let mut random = [0u8; BEACON_PASSWORD_LEN - 1];
        rng.fill_bytes(&mut random);
        for (out, r) in beacon_password.iter_mut().zip(random.iter()) {
            *out = BASE32_ALPHABET[usize::from(*r & 31)];
        }
        // The table is empty, so this cannot fail; if it did, beacons would only be refused.
        let _ = ca
            .users
            .add_user(&beacon_password, Some(BEACON_LOGIN), None);
        Peering {
            ca,
            switch: SwitchCore::new(),
            links: [None; MAX_LINKS],
            peers: [const { None }; P],
            beacon_password,
            next_ping_cycle_ms: 0,
            next_handle: rng.next_u32() & 0x00ff_ffff,
            now_ms: 0,
            counters: PeeringCounters::default(),
        }
    }

    pub fn public_key(&self) -> &PublicKey {
        self.ca.public_key()
    }

    pub fn beacon_password(&self) -> &[u8; BEACON_PASSWORD_LEN] {
        &self.beacon_password
    }

    /// Accept Hellos carrying this password (`authorizedPasswords`).
    pub fn add_password(
        &mut self,
        password: &[u8],
        login: Option<&[u8]>,
    ) -> Result<UserId, crate::crypto::AddUserError> {
        self.ca.users.add_user(password, login, None)
    }

    /// `authorizedPasswords` with `ipv6`: a Hello with this password is refused unless the
    /// sender's key hashes to `ipv6` (checked before the Hello is opened, as cjdns does).
    pub fn add_password_restricted(
        &mut self,
        password: &[u8],
        login: Option<&[u8]>,
        ipv6: Option<crate::identity::Ip6>,
    ) -> Result<UserId, crate::crypto::AddUserError> {
        self.ca.users.add_user(password, login, ipv6)
    }

    /// `AuthorizedPasswords_remove`: drop the passwords with this login; how many went.
    /// Established peers stay up, as in cjdns.
    pub fn remove_passwords(&mut self, login: &[u8]) -> usize {
        self.ca.users.remove_users(Some(login))
    }

    pub fn add_link(&mut self, kind: LinkKind) -> Result<LinkId, PeeringError> {
        let (i, slot) = self
            .links
            .iter_mut()
            .enumerate()
            .find(|(_, l)| l.is_none())
            .ok_or(PeeringError::TooManyLinks)?;
        *slot = Some(Link {
            kind,
            beacon: BeaconMode::Off,
            comm_port: 0,
            last_peer_pinged: 0,
            next_beacon_ms: 0,
        });
        Ok(LinkId(i as u8))
    }

    pub fn link_kind(&self, link: LinkId) -> Option<LinkKind> {
        self.link(link).map(|l| l.kind)
    }

    fn link(&self, link: LinkId) -> Option<&Link> {
        self.links.get(usize::from(link.0)).and_then(|l| l.as_ref())
    }

    fn link_mut(&mut self, link: LinkId) -> Option<&mut Link> {
        self.links
            .get_mut(usize::from(link.0))
            .and_then(|l| l.as_mut())
    }

    /// Switching to `Send` sends a beacon at the next `poll`.
    pub fn set_beacon(&mut self, link: LinkId, mode: BeaconMode) -> Result<(), PeeringError> {
        let now = self.now_ms;
        let l = self.link_mut(link).ok_or(PeeringError::NoSuchLink)?;
        if mode == BeaconMode::Send && l.beacon != BeaconMode::Send {
            l.next_beacon_ms = now;
        }
        l.beacon = mode;
        Ok(())
    }

    /// The data port UDP beacons announce on this link.
    pub fn set_comm_port(&mut self, link: LinkId, port: u16) -> Result<(), PeeringError> {
        self.link_mut(link)
            .ok_or(PeeringError::NoSuchLink)?
            .comm_port = port;
        Ok(())
    }

    pub fn peers(&self) -> impl Iterator<Item = (usize, &Peer)> + '_ {
        self.peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
    }

    pub fn peer(&self, slot: usize) -> Option<&Peer> {
        self.peers.get(slot).and_then(|p| p.as_ref())
    }

    pub fn peer_count(&self) -> usize {
        self.peers.iter().filter(|p| p.is_some()).count()
    }

    /// The login whose password a peer's Hello carried.
    pub fn peer_user(&self, slot: usize) -> Option<&[u8]> {
        let user = self.peer(slot)?.user?;
        self.ca.users.login(user)
    }

    /// The peer whose one-hop label is `label` (LLADDR answers, router lookups).
    pub fn peer_by_label(&self, label: u64) -> Option<&Peer> {
        self.peers.iter().flatten().find(|p| p.label == label)
    }

    fn find(&self, link: LinkId, addr: &LinkAddr) -> Option<usize> {
        self.peers
            .iter()
            .position(|p| matches!(p, Some(p) if p.link == link && p.addr == *addr))
    }

    fn find_iface(&self, iface: u32) -> Option<usize> {
        self.peers
            .iter()
            .position(|p| matches!(p, Some(p) if p.iface == iface))
    }

    /// A free slot, or one whose incoming peer went unresponsive (oldest first). Never an
    /// established or configured peer.
    fn free_slot(&mut self, out: &mut impl PeeringOut) -> Option<usize> {
        if let Some(i) = self.peers.iter().position(|p| p.is_none()) {
            return Some(i);
        }
        let victim = self
            .peers
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
            .filter(|(_, p)| p.incoming && p.state == PeerState::Unresponsive)
            .min_by_key(|(_, p)| p.time_last_message)
            .map(|(i, _)| i)?;
        self.remove_peer(victim, out);
        self.counters.evicted_unresponsive += 1;
        Some(victim)
    }

    fn remove_peer(&mut self, slot: usize, out: &mut impl PeeringOut) {
        let Some(peer) = self.peers.get_mut(slot).and_then(|p| p.take()) else {
            return;
        };
        let _ = self.switch.remove_interface(peer.iface);
        let key = *peer.public_key();
        if peer.reported_up {
            out.peer_event(PeerEvent::Down {
                key,
                label: peer.label,
            });
        }
        out.peer_event(PeerEvent::Removed {
            key,
            label: peer.label,
        });
    }

    /// Disconnect a peer by key (`disconnectPeer`).
    pub fn disconnect(&mut self, key: &PublicKey, out: &mut impl PeeringOut) -> bool {
        let slot = self
            .peers
            .iter()
            .position(|p| matches!(p, Some(p) if p.public_key() == key));
        match slot {
            Some(s) => {
                self.remove_peer(s, out);
                true
            }
            None => false,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn install(
        &mut self,
        slot: usize,
        link: LinkId,
        addr: LinkAddr,
        session: Session,
        incoming: bool,
        version: u32,
        name: &str,
        now: u64,
        out: &mut impl PeeringOut,
    ) -> Result<(), PeeringError> {
        let (iface, label) = self
            .switch
            .add_interface()
            .map_err(|_| PeeringError::SwitchFull)?;
        let key = *session.her_key();
        let user = session.authenticated_user();
        let peer = Peer {
            link,
            addr,
            session,
            iface,
            label,
            version,
            state: PeerState::Unauthenticated,
            incoming,
            name: ShortName::new(name.as_bytes()),
            user,
            // Lazy right away (pinged at once) without looking unresponsive.
            time_last_message: now.saturating_sub(PING_AFTER_MS + 1),
            time_last_ping: 0,
            ping_count: 0,
            ping: None,
            reported_up: false,
            pong_seen: false,
            ping_now: false,
            counters: PeerCounters::default(),
            kbps_in: Kbps::new(),
            kbps_out: Kbps::new(),
        };
        if let Some(s) = self.peers.get_mut(slot) {
            *s = Some(peer);
        }
        out.peer_event(PeerEvent::Added {
            key,
            label,
            link,
            addr,
        });
        Ok(())
    }

    /// Add (or re-password) a configured peer (`connectTo`). Its first ping, which carries the
    /// Hello, leaves at the next `poll`.
    pub fn connect(
        &mut self,
        link: LinkId,
        addr: LinkAddr,
        config: &PeerConfig<'_>,
        out: &mut impl PeeringOut,
    ) -> Result<(), PeeringError> {
        if self.link(link).is_none() {
            return Err(PeeringError::NoSuchLink);
        }
        if config.public_key == *self.public_key() {
            return Err(PeeringError::OwnKey);
        }
        if config.version != 0 && config.version < MIN_COMPATIBLE_VERSION {
            return Err(PeeringError::IncompatibleVersion);
        }
        let credentials = Credentials::new(config.password, config.login);
        if let Some(i) = self.find(link, &addr) {
            if let Some(p) = self.peers.get_mut(i).and_then(|p| p.as_mut()) {
                p.session.set_auth(Some(credentials));
                p.ping_now = true;
            }
            self.next_ping_cycle_ms = self.now_ms;
            return Ok(());
        }
        let now = self.now_ms;
        let mut session =
            Session::new(config.public_key, false, now).map_err(|_| PeeringError::InvalidKey)?;
        session.set_auth(Some(credentials));
        let slot = self.free_slot(out).ok_or(PeeringError::TableFull)?;
        self.install(
            slot,
            link,
            addr,
            session,
            false,
            config.version,
            config.name,
            now,
            out,
        )?;
        if let Some(p) = self.peers.get_mut(slot).and_then(|p| p.as_mut()) {
            p.ping_now = true;
        }
        self.next_ping_cycle_ms = now;
        Ok(())
    }

    /// A frame from link `link`: `buf[start..start+len]`, headroom before it. Returns what the
    /// switch delivered to this router, if anything; everything else (forwarding, switch
    /// errors, handshake answers) is done here.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_frame(
        &mut self,
        link: LinkId,
        from: &LinkAddr,
        broadcast: bool,
        buf: &mut [u8],
        start: usize,
        len: usize,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) -> Option<Delivered> {
        self.now_ms = self.now_ms.max(now);
        self.counters.frames_in += 1;
        let Some(kind) = self.link_kind(link) else {
            self.counters.frames_unknown_link += 1;
            return None;
        };
        let end = start.checked_add(len).filter(|e| *e <= buf.len())?;
        let (start, end) = if kind == LinkKind::Ethernet {
            let frame = buf.get(start..end)?;
            match EthHeaderRepr::parse(frame) {
                Ok((repr, _)) => (
                    start + ETH_HEADER_LEN,
                    start + ETH_HEADER_LEN + repr.payload_len,
                ),
                Err(_) => {
                    self.counters.frames_bad_link_header += 1;
                    return None;
                }
            }
        } else {
            (start, end)
        };
        if broadcast {
            let frame = buf.get(start..end)?;
            self.handle_beacon(link, kind, from, frame, now, rng, out);
            return None;
        }
        if end - start < 4 {
            self.counters.decrypt_failed += 1;
            return None;
        }
        let slot = match self.find(link, from) {
            Some(s) => s,
            None => return self.accept_hello(link, from, buf, start, end, now, rng, out),
        };
        let peer = self.peers.get_mut(slot)?.as_mut()?;
        if peer.version != 0 && peer.version < MIN_COMPATIBLE_VERSION {
            peer.state = PeerState::Incompatible;
            self.counters.dropped_incompatible += 1;
            return None;
        }
        peer.session.reset_if_timeout(now);
        let opened = match peer
            .session
            .decrypt(&self.ca, buf.get_mut(start..end)?, now)
        {
            Ok(o) => o,
            Err(_) => {
                self.counters.decrypt_failed += 1;
                return None;
            }
        };
        let range = start + opened.plaintext.start..start + opened.plaintext.end;
        self.after_decrypt(slot, buf, range, now, rng, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn accept_hello(
        &mut self,
        link: LinkId,
        from: &LinkAddr,
        buf: &mut [u8],
        start: usize,
        end: usize,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) -> Option<Delivered> {
        // Refuse before doing any crypto when there is no room.
        let has_room = self.peers.iter().any(|p| {
            p.as_ref()
                .is_none_or(|p| p.incoming && p.state == PeerState::Unresponsive)
        });
        if !has_room {
            self.counters.refused_table_full += 1;
            return None;
        }
        let (session, opened) = match Session::accept(&self.ca, buf.get_mut(start..end)?, true, now)
        {
            Ok(r) => r,
            Err(_) => {
                self.counters.hellos_refused += 1;
                return None;
            }
        };
        if session.her_key() == self.public_key() {
            self.counters.hellos_refused += 1;
            return None;
        }
        let slot = self.free_slot(out)?;
        if self
            .install(slot, link, *from, session, true, 0, "", now, out)
            .is_err()
        {
            self.counters.refused_table_full += 1;
            return None;
        }
        self.counters.hellos_accepted += 1;
        // Learn its version (and let it learn our path) at once.
        self.send_ping(slot, now, rng, out);
        let range = start + opened.plaintext.start..start + opened.plaintext.end;
        self.after_decrypt(slot, buf, range, now, rng, out)
    }

    #[allow(clippy::too_many_arguments)]
    fn after_decrypt(
        &mut self,
        slot: usize,
        buf: &mut [u8],
        range: Range<usize>,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) -> Option<Delivered> {
        let peer = self.peers.get_mut(slot)?.as_mut()?;
        let plain_len = range.len() as u64;
        peer.counters.bytes_in += plain_len;
        peer.counters.packets_in += 1;
        peer.counters.last_seen_ms = now;
        peer.kbps_in.add(now, plain_len);
        if peer.user.is_none() {
            peer.user = peer.session.authenticated_user();
        }
        let ca_state = peer.session.state();
        let mut ping = false;
        if ca_state != CaState::Established {
            // Replay guard: before the session is established only packets for this router
            // (label ending in 01) are taken.
            if buf.get(range.start + 7).copied() != Some(1) || range.len() < SWITCH_HEADER_LEN {
                self.counters.dropped_not_established += 1;
                peer.state = PeerState::from_ca(ca_state);
                return None;
            }
            ping = (peer.ping_count + 1) % 7 != 0;
        } else {
            peer.time_last_message = now;
        }
        peer.state = PeerState::from_ca(ca_state);
        peer.report_if_up(out);
        let iface = peer.iface;
        if ping {
            self.send_ping(slot, now, rng, out);
        }
        self.switch_from(iface, buf, range, slot, now, rng, out)
    }

    /// Run a switch packet through the switch from `iface` and act on the result.
    #[allow(clippy::too_many_arguments)]
    fn switch_from(
        &mut self,
        iface: u32,
        buf: &mut [u8],
        range: Range<usize>,
        from_peer: usize,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) -> Option<Delivered> {
        let mut error_frame = [0u8; NODE_HEADROOM + ERROR_FRAME_MAX];
        let action = {
            let (_, err_out) = error_frame.split_at_mut(NODE_HEADROOM);
            self.switch
                .switch_packet(iface, buf.get_mut(range.clone())?, err_out)
        };
        match action {
            SwitchAction::Forward { iface } => {
                if let Some(to) = self.find_iface(iface) {
                    self.encrypt_and_send(to, buf, range, now, rng, out);
                }
                None
            }
            SwitchAction::DeliverToRouter => Some(Delivered { range, from_peer }),
            SwitchAction::SendError { iface, len, .. } => {
                if iface == ROUTER_INTERFACE {
                    // Our own packet was refused; nobody to tell but the counters.
                    self.counters.switch_dropped += 1;
                    return None;
                }
                if let Some(to) = self.find_iface(iface) {
                    self.counters.switch_errors_sent += 1;
                    self.encrypt_and_send(
                        to,
                        &mut error_frame,
                        NODE_HEADROOM..NODE_HEADROOM + len,
                        now,
                        rng,
                        out,
                    );
                }
                None
            }
            SwitchAction::Drop(_) => {
                self.counters.switch_dropped += 1;
                None
            }
        }
    }

    /// Send a switch packet this router originates (`buf[range]` starts at its switch
    /// header, label = path, headroom before it).
    pub fn send_from_router(
        &mut self,
        buf: &mut [u8],
        range: Range<usize>,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) {
        self.now_ms = self.now_ms.max(now);
        let _ = self.switch_from(ROUTER_INTERFACE, buf, range, usize::MAX, now, rng, out);
    }

    /// Outer-encrypt `buf[range]` for peer `slot` and hand it to the link.
    fn encrypt_and_send(
        &mut self,
        slot: usize,
        buf: &mut [u8],
        range: Range<usize>,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) {
        let Some(peer) = self.peers.get_mut(slot).and_then(|p| p.as_mut()) else {
            return;
        };
        let Some(kind) = self
            .links
            .get(usize::from(peer.link.0))
            .and_then(|l| l.as_ref())
            .map(|l| l.kind)
        else {
            return;
        };
        let plain_len = range.len() as u64;
        let packet = match peer.session.encrypt(&self.ca, buf, range, now, rng) {
            Ok(p) => p,
            Err(_) => {
                self.counters.encrypt_failed += 1;
                return;
            }
        };
        peer.counters.bytes_out += plain_len;
        peer.counters.packets_out += 1;
        peer.kbps_out.add(now, plain_len);
        let (link, addr) = (peer.link, peer.addr);
        if kind == LinkKind::Ethernet {
            let Some(hstart) = packet.start.checked_sub(ETH_HEADER_LEN) else {
                self.counters.encrypt_failed += 1;
                return;
            };
            let repr = EthHeaderRepr {
                payload_len: packet.len(),
            };
            if let Some(h) = buf.get_mut(hstart..packet.start) {
                if repr.emit(h).is_err() {
                    self.counters.encrypt_failed += 1;
                    return;
                }
            }
            if let Some(frame) = buf.get(hstart..packet.end) {
                out.transmit(link, &addr, frame);
            }
        } else if let Some(frame) = buf.get(packet) {
            out.transmit(link, &addr, frame);
        }
    }

    /// A keepalive switch ping to peer `slot` (the SwitchPinger ping the reference sends:
    /// data = handle, cookie, "IFACE_CNTRLR").
    fn send_ping(
        &mut self,
        slot: usize,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) {
        let handle = self.next_handle;
        self.next_handle = self.next_handle.wrapping_add(1);
        let cookie = rng.next_u64();
        let Some(peer) = self.peers.get_mut(slot).and_then(|p| p.as_mut()) else {
            return;
        };
        peer.ping_count = peer.ping_count.wrapping_add(1);
        peer.ping = Some(OutstandingPing {
            handle,
            cookie,
            sent_ms: now,
        });
        let label = peer.label;
        let mut data = [0u8; KEEPALIVE_DATA_LEN];
        data[..4].copy_from_slice(&handle.to_le_bytes());
        data[4..12].copy_from_slice(&cookie.to_le_bytes());
        data[12..].copy_from_slice(KEEPALIVE_TAG);
        let mut scratch = [0u8; SMALL_SCRATCH];
        let Ok(len) = emit_control_packet(
            &mut scratch[NODE_HEADROOM..],
            label,
            &ControlRepr::Ping {
                version: PROTOCOL_VERSION,
                data: &data,
            },
        ) else {
            return;
        };
        self.counters.pings_sent += 1;
        self.send_from_router(
            &mut scratch,
            NODE_HEADROOM..NODE_HEADROOM + len,
            now,
            rng,
            out,
        );
    }

    /// A PONG whose data carries our keepalive tag. `return_path` is the bit-reversed label
    /// it arrived with (the path to the responder).
    pub fn handle_keepalive_pong(
        &mut self,
        return_path: u64,
        version: u32,
        data: &[u8],
        now: u64,
        out: &mut impl PeeringOut,
    ) {
        let (Some(handle), Some(cookie)) = (data.get(..4), data.get(4..12)) else {
            self.counters.pongs_unmatched += 1;
            return;
        };
        let handle = u32::from_le_bytes([handle[0], handle[1], handle[2], handle[3]]);
        let mut c = [0u8; 8];
        c.copy_from_slice(cookie);
        let cookie = u64::from_le_bytes(c);
        let Some(peer) = self.peers.iter_mut().flatten().find(|p| {
            p.ping
                .is_some_and(|ping| ping.handle == handle && ping.cookie == cookie)
        }) else {
            self.counters.pongs_unmatched += 1;
            return;
        };
        if let Some(ping) = peer.ping {
            if now.saturating_sub(ping.sent_ms) > PING_TIMEOUT_MS {
                // Too late: the reference's pinger has already given up on it.
                peer.ping = None;
                self.counters.pongs_unmatched += 1;
                return;
            }
        }
        peer.ping = None;
        self.counters.pongs_matched += 1;
        peer.version = version;
        if version < MIN_COMPATIBLE_VERSION || return_path != peer.label {
            peer.state = PeerState::Incompatible;
            return;
        }
        peer.time_last_ping = now;
        peer.pong_seen = true;
        peer.report_if_up(out);
    }

    #[allow(clippy::too_many_arguments)]
    fn handle_beacon(
        &mut self,
        link: LinkId,
        kind: LinkKind,
        from: &LinkAddr,
        frame: &[u8],
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) {
        let mode = self.link(link).map(|l| l.beacon).unwrap_or_default();
        if mode == BeaconMode::Off {
            self.counters.beacons_ignored += 1;
            return;
        }
        let (beacon, from) = match kind {
            LinkKind::Udp => match parse_udp_beacon(frame) {
                Ok((header, beacon)) => (beacon, from.with_port(header.comm_port)),
                Err(_) => {
                    self.counters.beacons_ignored += 1;
                    return;
                }
            },
            _ => match BeaconRepr::parse(frame) {
                Ok(b) => (b, *from),
                Err(_) => {
                    self.counters.beacons_ignored += 1;
                    return;
                }
            },
        };
        if beacon.public_key == *self.public_key()
            || beacon.version < MIN_COMPATIBLE_VERSION
            || !beacon.public_key.is_valid()
        {
            self.counters.beacons_ignored += 1;
            return;
        }
        let credentials = Credentials::new(&beacon.password, Some(BEACON_LOGIN));
        if let Some(i) = self.find(link, &from) {
            // The password might have changed (the other node restarted).
            if let Some(p) = self.peers.get_mut(i).and_then(|p| p.as_mut()) {
                p.session.set_auth(Some(credentials));
            }
            return;
        }
        let Ok(mut session) = Session::new(beacon.public_key, false, now) else {
            self.counters.beacons_ignored += 1;
            return;
        };
        session.set_auth(Some(credentials));
        let Some(slot) = self.free_slot(out) else {
            self.counters.refused_table_full += 1;
            return;
        };
        if self
            .install(
                slot,
                link,
                from,
                session,
                true,
                beacon.version,
                "",
                now,
                out,
            )
            .is_err()
        {
            self.counters.refused_table_full += 1;
            return;
        }
        self.counters.beacons_accepted += 1;
        self.send_ping(slot, now, rng, out);
    }

    /// When `poll` next has work.
    pub fn poll_at(&self) -> u64 {
        let mut at = self.next_ping_cycle_ms;
        for l in self.links.iter().flatten() {
            if l.beacon == BeaconMode::Send {
                at = at.min(l.next_beacon_ms);
            }
        }
        at
    }

    /// Timers: configured peers' first pings, the 1024 ms ping cycle, beacons.
    pub fn poll(&mut self, now: u64, rng: &mut impl CryptoRngCore, out: &mut impl PeeringOut) {
        self.now_ms = self.now_ms.max(now);
        for slot in 0..P {
            let due = self
                .peers
                .get_mut(slot)
                .and_then(|p| p.as_mut())
                .is_some_and(|p| core::mem::take(&mut p.ping_now));
            if due {
                self.send_ping(slot, now, rng, out);
            }
        }
        if now >= self.next_ping_cycle_ms {
            self.next_ping_cycle_ms = now + PING_INTERVAL_MS;
            for link in 0..MAX_LINKS {
                self.ping_cycle(LinkId(link as u8), now, rng, out);
            }
        }
        for link in 0..MAX_LINKS {
            let id = LinkId(link as u8);
            let send = match self.link_mut(id) {
                Some(l) if l.beacon == BeaconMode::Send && now >= l.next_beacon_ms => {
                    l.next_beacon_ms = now + BEACON_INTERVAL_MS;
                    true
                }
                _ => false,
            };
            if send {
                self.send_beacon(id, out);
            }
        }
    }

    fn send_beacon(&mut self, link: LinkId, out: &mut impl PeeringOut) {
        let Some(l) = self.link(link).copied() else {
            return;
        };
        let beacon = BeaconRepr {
            version: BEACON_VERSION,
            password: self.beacon_password,
            public_key: *self.public_key(),
        };
        let mut frame = [0u8; 8 + BEACON_LEN];
        let len = match l.kind {
            LinkKind::Udp => emit_udp_beacon(l.comm_port, &beacon, &mut frame),
            LinkKind::Ethernet => {
                let mut b = [0u8; BEACON_LEN];
                match beacon.emit(&mut b) {
                    Ok(()) => EthHeaderRepr::emit_frame(&b, &mut frame),
                    Err(e) => Err(e),
                }
            }
            LinkKind::Other => beacon.emit(&mut frame).map(|_| BEACON_LEN),
        };
        if let Ok(len) = len {
            self.counters.beacons_sent += 1;
            out.transmit(link, &LinkAddr::Broadcast, &frame[..len]);
        }
    }

    /// One link's share of the ping cycle (`iciPing`): ping at most one peer that has been
    /// quiet, mark the silent ones unresponsive, forget silent incoming ones.
    fn ping_cycle(
        &mut self,
        link: LinkId,
        now: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl PeeringOut,
    ) {
        let mut members = [0usize; P];
        let mut count = 0;
        for (i, p) in self.peers.iter().enumerate() {
            if matches!(p, Some(p) if p.link == link) {
                if let Some(m) = members.get_mut(count) {
                    *m = i;
                    count += 1;
                }
            }
        }
        if count == 0 {
            return;
        }
        let start = match self.link_mut(link) {
            Some(l) => {
                l.last_peer_pinged = (l.last_peer_pinged + 1) % count;
                l.last_peer_pinged
            }
            None => return,
        };
        let mut i = start;
        for _ in 0..count {
            i = (i + 1) % count;
            let Some(&slot) = members.get(i) else { return };
            let Some(peer) = self.peers.get_mut(slot).and_then(|p| p.as_mut()) else {
                continue;
            };
            if peer.version != 0 && peer.version < MIN_COMPATIBLE_VERSION {
                peer.state = PeerState::Incompatible;
                continue;
            }
            if peer.version != 0 && now < peer.time_last_message + PING_AFTER_MS {
                continue;
            }
            if now < peer.time_last_ping + PING_AFTER_MS {
                continue;
            }
            if peer.incoming && now > peer.time_last_message + FORGET_AFTER_MS {
                self.remove_peer(slot, out);
                continue;
            }
            if now > peer.time_last_message + UNRESPONSIVE_AFTER_MS {
                if peer.ping_count % 8 != 0 {
                    peer.ping_count = peer.ping_count.wrapping_add(1);
                    continue;
                }
                if peer.reported_up {
                    peer.reported_up = false;
                    out.peer_event(PeerEvent::Down {
                        key: *peer.session.her_key(),
                        label: peer.label,
                    });
                }
                peer.state = PeerState::Unresponsive;
            }
            self.send_ping(slot, now, rng, out);
            return;
        }
    }
}

/// Write `[switch header (label)][control frame]` into `out`; returns the length.
pub fn emit_control_packet(
    out: &mut [u8],
    label: u64,
    frame: &ControlRepr<'_>,
) -> Result<usize, crate::wire::WireError> {
    SwitchHeaderRepr::new(label).emit(out)?;
    let body = out
        .get_mut(SWITCH_HEADER_LEN..)
        .ok_or(crate::wire::WireError::BufferTooSmall {
            needed: SWITCH_HEADER_LEN,
            got: 0,
        })?;
    let n = frame.emit(body)?;
    Ok(SWITCH_HEADER_LEN + n)
}
