//! The composed node: links in, frames and events out (see docs/node.md).
//!
//! `Node` owns the peering table (outer CryptoAuth sessions, the switch, keepalive, beacons)
//! and the control handler; the driver hands it frames, IPv6 packets and time, and gets
//! frames, IPv6 packets and events back through [`Io`]. Capacities are const generics:
//! `P` peers, `S` end-to-end sessions, `N` node-store entries.

mod derived_rng;

use heapless::Deque;
use rand_core::CryptoRngCore;

use self::derived_rng::DerivedRng;
use crate::control::{ControlAction, ControlHandler, ControlStats};
use crate::identity::{Ip6, NodeAddress, PrivateKey, PublicKey};
use crate::peering::{
    emit_control_packet, PeerCounters, PeerEvent, PeerState, Peering, PeeringCounters, PeeringOut,
    ShortName, PROTOCOL_VERSION,
};
use crate::router::{Router, RouterEvent, RouterOut};
use crate::session::{SessionEvent, SessionManager, SessionOut, SESSION_HEADROOM};
use crate::switch::SwitchStats;
use crate::wire::control::{ControlType, ErrorType, LlAddrField, PING_DATA_MAX_LEN};
use crate::wire::{classify_switch_packet, ControlRepr, SwitchPayloadKind};

pub use crate::peering::{
    BeaconMode, LinkAddr, LinkId, LinkKind, PeerConfig, PeeringError, NODE_HEADROOM,
};

/// Room `handle_ipv6` needs in front of the IPv6 packet: the session layer's headers (minus
/// the 40-byte IPv6 header it strips) and the outer layer's.
pub const IPV6_HEADROOM: usize = NODE_HEADROOM + SESSION_HEADROOM;
/// Packets buffered while their session is being set up.
pub const PENDING_PACKETS: usize = 4;
/// Longest CJDHT message between router and session layer.
pub const MAX_CJDHT_LEN: usize = crate::router::message::MAX_MESSAGE_LEN;
/// Router messages waiting for the session layer.
const CJDHT_QUEUE: usize = 8;
/// Paths and peer changes waiting to be passed between layers.
const NOTICE_QUEUE: usize = 16;
/// Upper bound of one drain of the queues between layers.
const MAX_DRAIN_STEPS: usize = 64;
const CJDHT_SCRATCH: usize = NODE_HEADROOM + SESSION_HEADROOM + MAX_CJDHT_LEN;

/// What the node needs from its driver.
pub trait Io {
    /// Put `frame` on link `link` towards `to` (UDP datagram payload, or Ethernet payload
    /// after the 14-byte MAC header; the node writes the 6-byte 0xfc00 header itself).
    /// `to` is [`LinkAddr::Broadcast`] for beacons.
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]);
    /// An IPv6 packet for the local TUN / embassy-net stack (header already rebuilt).
    fn deliver_ipv6(&mut self, packet: &[u8]);
    /// Something a person or the admin API may care about.
    fn event(&mut self, event: Event);
}

/// Things that happened, for logs and the admin API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    PeerAdded {
        key: PublicKey,
        label: u64,
        link: LinkId,
        addr: LinkAddr,
    },
    /// Established and answered a keepalive ping: usable for routing.
    PeerUp {
        key: PublicKey,
        label: u64,
        version: u32,
    },
    PeerDown {
        key: PublicKey,
        label: u64,
    },
    PeerRemoved {
        key: PublicKey,
        label: u64,
    },
    /// A switch refused a packet we sent (ERROR control frame).
    SwitchError {
        /// Path to the switch that answered.
        from_path: u64,
        error_type: ErrorType,
        cause_label: u64,
    },
    /// The answer to [`Node::switch_ping`] (or another control query).
    ControlResponse {
        from_path: u64,
        kind: ControlType,
    },
    /// A PONG to [`Node::switch_ping`].
    SwitchPong {
        from_path: u64,
        version: u32,
    },
    Session(SessionEvent),
    Router(RouterEvent),
}

impl From<PeerEvent> for Event {
    fn from(e: PeerEvent) -> Self {
        match e {
            PeerEvent::Up {
                key,
                label,
                version,
            } => Event::PeerUp {
                key,
                label,
                version,
            },
            PeerEvent::Down { key, label } => Event::PeerDown { key, label },
            PeerEvent::Added {
                key,
                label,
                link,
                addr,
            } => Event::PeerAdded {
                key,
                label,
                link,
                addr,
            },
            PeerEvent::Removed { key, label } => Event::PeerRemoved { key, label },
        }
    }
}

/// One peer as peerStats shows it. Plain `Copy` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PeerStats {
    pub key: PublicKey,
    pub link: LinkId,
    pub addr: LinkAddr,
    pub label: u64,
    pub version: u32,
    pub state: PeerState,
    pub is_incoming: bool,
    pub is_up: bool,
    /// The login whose password the peer's Hello carried (incoming peers).
    pub user: ShortName,
    /// The configured peerName.
    pub name: ShortName,
    /// The address as an LLADDR reply would carry it.
    pub lladdr: LlAddrField,
    pub counters: PeerCounters,
}

impl PeerStats {
    pub fn addr_string(&self) -> heapless::String<64> {
        self.addr.to_text()
    }
}

/// A snapshot of the node for the admin API and the serial stats protocol. Plain `Copy` data.
#[derive(Clone, Copy, Debug)]
pub struct NodeStats<const P: usize> {
    pub public_key: PublicKey,
    pub peers: [Option<PeerStats>; P],
    pub peer_count: usize,
    pub sessions: usize,
    pub node_store: usize,
    pub switch: SwitchStats,
    pub peering: PeeringCounters,
    pub control: ControlStats,
    pub node: NodeCounters,
    pub router: crate::router::RouterStats,
}

/// What the node itself dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NodeCounters {
    pub runt_delivered: u64,
    /// Router messages dropped because the queue to the session layer was full.
    pub cjdht_queue_full: u64,
    /// Path / peer notices dropped because their queue was full.
    pub notice_queue_full: u64,
    /// Drains that stopped at [`MAX_DRAIN_STEPS`] with work left.
    pub drain_limit_hit: u64,
}

/// Why [`Node::router_ping`] sent nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterPingError {
    /// That is our own key.
    IsSelf,
    /// Label 0 or all ones names no path.
    BadPath,
    /// The key's address is not in fc00::/8.
    NotFcKey,
}

impl core::fmt::Display for RouterPingError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RouterPingError::IsSelf => "cannot router-ping ourselves",
            RouterPingError::BadPath => "label names no path",
            RouterPingError::NotFcKey => "key's address is not in fc00::/8",
        })
    }
}

/// The whole node minus I/O.
#[derive(Debug)]
pub struct Node<const P: usize, const S: usize, const N: usize> {
    peering: Peering<P>,
    control: ControlHandler,
    sessions: SessionManager<S, PENDING_PACKETS>,
    router: Router<N>,
    queues: Queues,
    counters: NodeCounters,
    now_ms: u64,
}

/// What one layer left for another: filled by the adapters, emptied by `drain`.
#[derive(Debug, Default)]
struct Queues {
    /// Router -> session: CJDHT messages to send.
    /// The deadline is set for queries: the router waits for an answer until then.
    cjdht: Deque<(NodeAddress, heapless::Vec<u8, MAX_CJDHT_LEN>, Option<u64>), CJDHT_QUEUE>,
    /// Router -> session: paths found.
    paths: Deque<NodeAddress, NOTICE_QUEUE>,
    /// Peering -> router: peers up (`Some`) or down (label only).
    peers: Deque<(NodeAddress, bool), NOTICE_QUEUE>,
    cjdht_full: u64,
    notice_full: u64,
}

/// Peering's outputs: frames and events to the driver, peer changes queued for the router.
struct Out<'a, I: Io> {
    io: &'a mut I,
    queues: &'a mut Queues,
}

impl<I: Io> PeeringOut for Out<'_, I> {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        self.io.transmit(link, to, frame);
    }

    fn peer_event(&mut self, event: PeerEvent) {
        let notice = match event {
            PeerEvent::Up {
                key,
                label,
                version,
            } => Some((
                NodeAddress {
                    version,
                    label,
                    key,
                },
                true,
            )),
            PeerEvent::Down { key, label } => Some((
                NodeAddress {
                    version: 0,
                    label,
                    key,
                },
                false,
            )),
            _ => None,
        };
        if let Some(n) = notice {
            if self.queues.peers.push_back(n).is_err() {
                self.queues.notice_full += 1;
            }
        }
        self.io.event(event.into());
    }
}

/// The router's outputs: messages and paths queued for the session layer (the router never
/// calls into it directly), events to the driver.
struct RouterSink<'a, I: Io> {
    io: &'a mut I,
    queues: &'a mut Queues,
}

impl<I: Io> RouterOut for RouterSink<'_, I> {
    fn send_cjdht(&mut self, to: &NodeAddress, msg: &[u8], reply_due_ms: Option<u64>) {
        let Ok(copy) = heapless::Vec::from_slice(msg) else {
            self.queues.cjdht_full += 1;
            return;
        };
        if self
            .queues
            .cjdht
            .push_back((*to, copy, reply_due_ms))
            .is_err()
        {
            self.queues.cjdht_full += 1;
        }
    }

    fn path_found(&mut self, node: &NodeAddress) {
        if self.queues.paths.push_back(*node).is_err() {
            self.queues.notice_full += 1;
        }
    }

    fn event(&mut self, event: RouterEvent) {
        self.io.event(Event::Router(event));
    }
}

/// The session layer's outputs: switch packets straight out through the switch and the
/// peer's outer session, CJDHT straight into the router (whose own outputs are queued),
/// IPv6 and events to the driver.
struct SessionSink<'a, const P: usize, const N: usize, I: Io> {
    peering: &'a mut Peering<P>,
    router: &'a mut Router<N>,
    queues: &'a mut Queues,
    io: &'a mut I,
    rng: DerivedRng,
    now_ms: u64,
}

impl<const P: usize, const N: usize, I: Io> SessionOut for SessionSink<'_, P, N, I> {
    fn send_switch(&mut self, buf: &mut [u8], range: core::ops::Range<usize>) {
        let mut out = Out {
            io: &mut *self.io,
            queues: &mut *self.queues,
        };
        self.peering
            .send_from_router(buf, range, self.now_ms, &mut self.rng, &mut out);
    }

    fn cjdht(&mut self, from: &NodeAddress, msg: &[u8]) {
        let mut out = RouterSink {
            io: &mut *self.io,
            queues: &mut *self.queues,
        };
        self.router
            .handle_cjdht(from, msg, self.now_ms, &mut self.rng, &mut out);
    }

    fn ipv6(&mut self, packet: &[u8]) {
        self.io.deliver_ipv6(packet);
    }

    fn need_path(&mut self, ip6: &Ip6) {
        if let Some(node) = self.router.lookup(ip6) {
            if self.queues.paths.push_back(node).is_err() {
                self.queues.notice_full += 1;
            }
            return;
        }
        let mut out = RouterSink {
            io: &mut *self.io,
            queues: &mut *self.queues,
        };
        self.router
            .search(ip6, self.now_ms, &mut self.rng, &mut out);
    }

    fn event(&mut self, event: SessionEvent) {
        if let SessionEvent::SetupNeeded(node) = event {
            // The router's ping over this path carries the session handshake.
            let mut out = RouterSink {
                io: &mut *self.io,
                queues: &mut *self.queues,
            };
            self.router
                .ping(&node, self.now_ms, &mut self.rng, &mut out);
        }
        self.io.event(Event::Session(event));
    }
}

impl<const P: usize, const S: usize, const N: usize> Node<P, S, N> {
    pub fn new(private_key: PrivateKey, rng: &mut impl CryptoRngCore) -> Self {
        let public_key = private_key.public_key();
        let handle_seed = rng.next_u32();
        Node {
            peering: Peering::new(private_key.clone(), rng),
            control: ControlHandler::new(),
            sessions: SessionManager::new(private_key, handle_seed),
            router: Router::new(public_key),
            queues: Queues::default(),
            counters: NodeCounters::default(),
            now_ms: 0,
        }
    }

    /// Read access to the session layer.
    pub fn sessions(&self) -> &SessionManager<S, PENDING_PACKETS> {
        &self.sessions
    }

    /// Read access to the router (node store).
    pub fn router(&self) -> &Router<N> {
        &self.router
    }

    fn session_sink<'a, I: Io>(
        peering: &'a mut Peering<P>,
        router: &'a mut Router<N>,
        queues: &'a mut Queues,
        io: &'a mut I,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
    ) -> SessionSink<'a, P, N, I> {
        SessionSink {
            peering,
            router,
            queues,
            io,
            rng: DerivedRng::from_rng(rng),
            now_ms,
        }
    }

    /// Pass what layers left for each other along, a bounded number of steps: peers to
    /// the router, paths to the session layer, router messages out through sessions.
    fn drain(&mut self, now_ms: u64, rng: &mut impl CryptoRngCore, io: &mut impl Io) {
        let mut scratch = [0u8; CJDHT_SCRATCH];
        for _ in 0..MAX_DRAIN_STEPS {
            if let Some((peer, up)) = self.queues.peers.pop_front() {
                if up {
                    let mut out = RouterSink {
                        io: &mut *io,
                        queues: &mut self.queues,
                    };
                    self.router.peer_up(&peer, now_ms, rng, &mut out);
                } else {
                    self.router.peer_down(peer.label);
                }
                continue;
            }
            if let Some(node) = self.queues.paths.pop_front() {
                self.sessions.add_path(&node, now_ms);
                continue;
            }
            if let Some((to, msg, reply_due)) = self.queues.cjdht.pop_front() {
                let mut sink = Self::session_sink(
                    &mut self.peering,
                    &mut self.router,
                    &mut self.queues,
                    io,
                    now_ms,
                    rng,
                );
                self.sessions
                    .send_cjdht(&to, &msg, &mut scratch, now_ms, rng, &mut sink);
                if let (Some(until_ms), Ok(ip6)) = (reply_due, to.key.address()) {
                    self.sessions.expect_reply(&ip6, until_ms);
                }
                continue;
            }
            self.counters.cjdht_queue_full = self.queues.cjdht_full;
            self.counters.notice_queue_full = self.queues.notice_full;
            return;
        }
        self.counters.drain_limit_hit += 1;
    }

    pub fn public_key(&self) -> &PublicKey {
        self.peering.public_key()
    }

    /// Read access to the peer table.
    pub fn peering(&self) -> &Peering<P> {
        &self.peering
    }

    pub fn add_link(&mut self, kind: LinkKind) -> Result<LinkId, PeeringError> {
        self.peering.add_link(kind)
    }

    /// Accept incoming peers that present this password (`authorizedPasswords`).
    pub fn add_password(
        &mut self,
        password: &[u8],
        login: Option<&[u8]>,
    ) -> Result<(), crate::crypto::AddUserError> {
        self.peering.add_password(password, login).map(|_| ())
    }

    /// [`Self::add_password`] limited to the peer whose key hashes to `ipv6`
    /// (`authorizedPasswords[].ipv6`).
    pub fn add_password_restricted(
        &mut self,
        password: &[u8],
        login: Option<&[u8]>,
        ipv6: Option<Ip6>,
    ) -> Result<(), crate::crypto::AddUserError> {
        self.peering
            .add_password_restricted(password, login, ipv6)
            .map(|_| ())
    }

    /// Drop the passwords with this login; how many went.
    pub fn remove_passwords(&mut self, login: &[u8]) -> usize {
        self.peering.remove_passwords(login)
    }

    /// `connectTo`: the Hello leaves with the next `poll`.
    pub fn connect(
        &mut self,
        link: LinkId,
        addr: LinkAddr,
        peer: PeerConfig<'_>,
        io: &mut impl Io,
    ) -> Result<(), PeeringError> {
        let mut out = Out {
            io,
            queues: &mut self.queues,
        };
        self.peering.connect(link, addr, &peer, &mut out)
    }

    /// Drop the peer with this key (`disconnectPeer`); false if there is none.
    pub fn disconnect(
        &mut self,
        key: &PublicKey,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        io: &mut impl Io,
    ) -> bool {
        let mut out = Out {
            io: &mut *io,
            queues: &mut self.queues,
        };
        let found = self.peering.disconnect(key, &mut out);
        self.drain(now_ms, rng, io);
        found
    }

    pub fn set_beacon(&mut self, link: LinkId, mode: BeaconMode) -> Result<(), PeeringError> {
        self.peering.set_beacon(link, mode)
    }

    /// The data port announced in UDP beacons on `link`.
    pub fn set_comm_port(&mut self, link: LinkId, port: u16) -> Result<(), PeeringError> {
        self.peering.set_comm_port(link, port)
    }

    /// A frame from a link: `buf[start..start + len]`, with `buf[..start]` (at least
    /// [`NODE_HEADROOM`]) free for re-encrypting in place when forwarding. `broadcast` marks
    /// beacons (Ethernet broadcast, UDP beacon port).
    #[allow(clippy::too_many_arguments)]
    pub fn handle_frame(
        &mut self,
        link: LinkId,
        from: &LinkAddr,
        broadcast: bool,
        buf: &mut [u8],
        start: usize,
        len: usize,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        io: &mut impl Io,
    ) {
        self.now_ms = self.now_ms.max(now_ms);
        self.frame_in(link, from, broadcast, buf, start, len, now_ms, rng, io);
        self.drain(now_ms, rng, io);
    }

    #[allow(clippy::too_many_arguments)]
    fn frame_in(
        &mut self,
        link: LinkId,
        from: &LinkAddr,
        broadcast: bool,
        buf: &mut [u8],
        start: usize,
        len: usize,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        io: &mut impl Io,
    ) {
        let mut out = Out {
            io: &mut *io,
            queues: &mut self.queues,
        };
        let Some(delivered) = self.peering.handle_frame(
            link, from, broadcast, buf, start, len, now_ms, rng, &mut out,
        ) else {
            return;
        };
        let range = delivered.range;
        let kind = match buf.get(range.clone()).map(classify_switch_packet) {
            Some(Ok(kind)) => kind,
            _ => {
                self.counters.runt_delivered += 1;
                return;
            }
        };
        match kind {
            SwitchPayloadKind::Control => {
                let my_key = *self.peering.public_key();
                let peering = &self.peering;
                let Some(packet) = buf.get_mut(range.clone()) else {
                    return;
                };
                let action = self.control.handle(packet, &my_key, |label| {
                    peering.peer_by_label(label).map(|p| p.addr.to_lladdr())
                });
                match action {
                    ControlAction::Reply => {
                        self.peering
                            .send_from_router(buf, range, now_ms, rng, &mut out);
                    }
                    ControlAction::KeepalivePong {
                        return_path,
                        version,
                        data,
                    } => {
                        self.peering.handle_keepalive_pong(
                            return_path,
                            version,
                            data,
                            now_ms,
                            &mut out,
                        );
                    }
                    ControlAction::SwitchError {
                        return_path,
                        error_type,
                        cause_label,
                        ..
                    } => {
                        // The path our packet took is broken: sessions using it to a node
                        // the router knows there stop using it (cjdns SWITCH_ERR).
                        let broken = self
                            .router
                            .nodes()
                            .find(|n| n.address.label == return_path)
                            .map(|n| n.address);
                        if let Some(node) = broken {
                            self.sessions.add_path_with_metric(
                                &node,
                                crate::session::metric::DEAD_LINK,
                                now_ms,
                            );
                        }
                        out.io.event(Event::SwitchError {
                            from_path: return_path,
                            error_type,
                            cause_label,
                        })
                    }
                    ControlAction::Response { return_path, kind } => {
                        if kind == ControlType::Pong {
                            let version = match buf.get(range.start + 12..range.end) {
                                Some(frame) => match ControlRepr::parse(frame) {
                                    Ok(ControlRepr::Pong { version, .. }) => version,
                                    _ => 0,
                                },
                                None => 0,
                            };
                            out.io.event(Event::SwitchPong {
                                from_path: return_path,
                                version,
                            });
                        } else {
                            out.io.event(Event::ControlResponse {
                                from_path: return_path,
                                kind,
                            });
                        }
                    }
                    ControlAction::Drop(_) => {}
                }
            }
            SwitchPayloadKind::Handshake { .. } | SwitchPayloadKind::Data { .. } => {
                let mut sink = Self::session_sink(
                    &mut self.peering,
                    &mut self.router,
                    &mut self.queues,
                    io,
                    now_ms,
                    rng,
                );
                self.sessions
                    .handle_from_switch(buf, range, now_ms, rng, &mut sink);
            }
        }
    }

    /// An IPv6 packet from TUN: `buf[start..start + len]` with at least [`IPV6_HEADROOM`]
    /// bytes before it. The source must be our address, the destination in fc00::/8.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_ipv6(
        &mut self,
        buf: &mut [u8],
        start: usize,
        len: usize,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        io: &mut impl Io,
    ) {
        self.now_ms = self.now_ms.max(now_ms);
        let Some(end) = start.checked_add(len).filter(|e| *e <= buf.len()) else {
            return;
        };
        let mut sink = Self::session_sink(
            &mut self.peering,
            &mut self.router,
            &mut self.queues,
            io,
            now_ms,
            rng,
        );
        self.sessions
            .send_ipv6(buf, start..end, now_ms, rng, &mut sink);
        self.drain(now_ms, rng, io);
    }

    /// Send a switch ping along `path` (the admin `SwitchPinger_ping`); the answer comes back
    /// as [`Event::SwitchPong`] (or [`Event::SwitchError`]).
    pub fn switch_ping(
        &mut self,
        path: u64,
        data: &[u8],
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        io: &mut impl Io,
    ) -> Result<(), crate::wire::WireError> {
        self.now_ms = self.now_ms.max(now_ms);
        let mut scratch = [0u8; NODE_HEADROOM + 12 + 16 + PING_DATA_MAX_LEN];
        let len = emit_control_packet(
            scratch
                .get_mut(NODE_HEADROOM..)
                .ok_or(crate::wire::WireError::Malformed)?,
            path,
            &ControlRepr::Ping {
                version: PROTOCOL_VERSION,
                data,
            },
        )?;
        let mut out = Out {
            io,
            queues: &mut self.queues,
        };
        self.peering.send_from_router(
            &mut scratch,
            NODE_HEADROOM..NODE_HEADROOM + len,
            now_ms,
            rng,
            &mut out,
        );
        self.drain(now_ms, rng, io);
        Ok(())
    }

    /// Router ping (CJDHT `pn`) of `node` over its path, as `RouterModule_pingNode`: the
    /// answer comes back as `Event::Router(RouterEvent::PingReply { id, .. })` or
    /// `PingTimeout` with the id returned here. The query travels in an end-to-end session,
    /// so a node we have no session with gets a handshake first (as any CJDHT query does).
    pub fn router_ping(
        &mut self,
        node: &NodeAddress,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        io: &mut impl Io,
    ) -> Result<u32, RouterPingError> {
        self.now_ms = self.now_ms.max(now_ms);
        if node.key == *self.public_key() {
            return Err(RouterPingError::IsSelf);
        }
        if node.label == 0 || node.label == u64::MAX {
            return Err(RouterPingError::BadPath);
        }
        let mut out = RouterSink {
            io: &mut *io,
            queues: &mut self.queues,
        };
        let id = self
            .router
            .ping_node(node, now_ms, rng, &mut out)
            .ok_or(RouterPingError::NotFcKey)?;
        self.drain(now_ms, rng, io);
        Ok(id)
    }

    /// Timers: keepalive pings, beacons, first pings of configured peers, session
    /// housekeeping and buffered packets, searches and the router's janitor.
    pub fn poll(&mut self, now_ms: u64, rng: &mut impl CryptoRngCore, io: &mut impl Io) {
        self.now_ms = self.now_ms.max(now_ms);
        let mut out = Out {
            io: &mut *io,
            queues: &mut self.queues,
        };
        self.peering.poll(now_ms, rng, &mut out);
        self.drain(now_ms, rng, io);
        let mut sink = Self::session_sink(
            &mut self.peering,
            &mut self.router,
            &mut self.queues,
            io,
            now_ms,
            rng,
        );
        self.sessions.poll(now_ms, rng, &mut sink);
        self.drain(now_ms, rng, io);
        let mut out = RouterSink {
            io: &mut *io,
            queues: &mut self.queues,
        };
        self.router.poll(now_ms, rng, &mut out);
        self.drain(now_ms, rng, io);
    }

    /// When `poll` next needs to run.
    pub fn poll_at(&self) -> u64 {
        self.peering
            .poll_at()
            .min(self.sessions.poll_at())
            .min(self.router.poll_at())
    }

    pub fn stats(&self) -> NodeStats<P> {
        let mut peers = [None; P];
        let mut count = 0;
        for (slot, p) in self.peering.peers() {
            if let Some(out) = peers.get_mut(count) {
                *out = Some(PeerStats {
                    key: *p.public_key(),
                    link: p.link,
                    addr: p.addr,
                    label: p.label,
                    version: p.version,
                    state: p.state,
                    is_incoming: p.incoming,
                    is_up: p.is_up(),
                    user: ShortName::new(self.peering.peer_user(slot).unwrap_or(&[])),
                    name: p.name,
                    lladdr: p.addr.to_lladdr(),
                    counters: p.counters(self.now_ms),
                });
                count += 1;
            }
        }
        NodeStats {
            public_key: *self.public_key(),
            peers,
            peer_count: count,
            sessions: self.sessions.session_count(),
            node_store: self.router.nodes().count(),
            switch: *self.peering.switch.stats(),
            peering: self.peering.counters,
            control: self.control.stats,
            node: self.counters,
            router: self.router.stats(),
        }
    }
}
