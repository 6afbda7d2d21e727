//! The composed node: links in, frames and events out (see docs/node.md).
//!
//! `Node` owns the peering table (outer CryptoAuth sessions, the switch, keepalive, beacons)
//! and the control handler; the driver hands it frames, IPv6 packets and time, and gets
//! frames, IPv6 packets and events back through [`Io`]. Capacities are const generics:
//! `P` peers, `S` end-to-end sessions, `N` node-store entries.

use rand_core::CryptoRngCore;

use crate::control::{ControlAction, ControlHandler, ControlStats};
use crate::identity::{PrivateKey, PublicKey};
use crate::peering::{
    emit_control_packet, PeerCounters, PeerEvent, PeerState, Peering, PeeringCounters, PeeringOut,
    ShortName, PROTOCOL_VERSION,
};
use crate::switch::SwitchStats;
use crate::wire::control::{ControlType, ErrorType, LlAddrField, PING_DATA_MAX_LEN};
use crate::wire::{classify_switch_packet, ControlRepr, SwitchPayloadKind};

pub use crate::peering::{
    BeaconMode, LinkAddr, LinkId, LinkKind, PeerConfig, PeeringError, NODE_HEADROOM,
};

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
}

/// What the node itself dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounters {
    /// Session-layer packets (handshakes, handles) while no session layer is wired in.
    pub session_packets_unhandled: u64,
    pub runt_delivered: u64,
    pub ipv6_dropped: u64,
}

/// The whole node minus I/O.
#[derive(Debug)]
pub struct Node<const P: usize, const S: usize, const N: usize> {
    peering: Peering<P>,
    control: ControlHandler,
    counters: NodeCounters,
    now_ms: u64,
}

/// Peering's outputs, passed straight to the driver.
struct Out<'a, I: Io>(&'a mut I);

impl<I: Io> PeeringOut for Out<'_, I> {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        self.0.transmit(link, to, frame);
    }

    fn peer_event(&mut self, event: PeerEvent) {
        self.0.event(event.into());
    }
}

impl<const P: usize, const S: usize, const N: usize> Node<P, S, N> {
    pub fn new(private_key: PrivateKey, rng: &mut impl CryptoRngCore) -> Self {
        Node {
            peering: Peering::new(private_key, rng),
            control: ControlHandler::new(),
            counters: NodeCounters::default(),
            now_ms: 0,
        }
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

    /// `connectTo`: the Hello leaves with the next `poll`.
    pub fn connect(
        &mut self,
        link: LinkId,
        addr: LinkAddr,
        peer: PeerConfig<'_>,
        io: &mut impl Io,
    ) -> Result<(), PeeringError> {
        self.peering.connect(link, addr, &peer, &mut Out(io))
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
        let mut out = Out(io);
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
                    } => out.0.event(Event::SwitchError {
                        from_path: return_path,
                        error_type,
                        cause_label,
                    }),
                    ControlAction::Response { return_path, kind } => {
                        if kind == ControlType::Pong {
                            let version = match buf.get(range.start + 12..range.end) {
                                Some(frame) => match ControlRepr::parse(frame) {
                                    Ok(ControlRepr::Pong { version, .. }) => version,
                                    _ => 0,
                                },
                                None => 0,
                            };
                            out.0.event(Event::SwitchPong {
                                from_path: return_path,
                                version,
                            });
                        } else {
                            out.0.event(Event::ControlResponse {
                                from_path: return_path,
                                kind,
                            });
                        }
                    }
                    ControlAction::Drop(_) => {}
                }
            }
            SwitchPayloadKind::Handshake { .. } | SwitchPayloadKind::Data { .. } => {
                self.counters.session_packets_unhandled += 1;
            }
        }
    }

    /// An IPv6 packet from TUN: `buf[start..start + len]`, headroom before it.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_ipv6(
        &mut self,
        _buf: &mut [u8],
        _start: usize,
        _len: usize,
        now_ms: u64,
        _rng: &mut impl CryptoRngCore,
        _io: &mut impl Io,
    ) {
        self.now_ms = self.now_ms.max(now_ms);
        self.counters.ipv6_dropped += 1;
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
        self.peering.send_from_router(
            &mut scratch,
            NODE_HEADROOM..NODE_HEADROOM + len,
            now_ms,
            rng,
            &mut Out(io),
        );
        Ok(())
    }

    /// Timers: keepalive pings, beacons, first pings of configured peers.
    pub fn poll(&mut self, now_ms: u64, rng: &mut impl CryptoRngCore, io: &mut impl Io) {
        self.now_ms = self.now_ms.max(now_ms);
        self.peering.poll(now_ms, rng, &mut Out(io));
    }

    /// When `poll` next needs to run.
    pub fn poll_at(&self) -> u64 {
        self.peering.poll_at()
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
            sessions: 0,
            node_store: 0,
            switch: *self.peering.switch.stats(),
            peering: self.peering.counters,
            control: self.control.stats,
            node: self.counters,
        }
    }
}
