//! The protocol-core `Node` in an embassy task.
//!
//! One task owns the node and is its only caller. It waits for whichever comes first: a 0xfc00
//! frame from the Ethernet splitter (link 0, beacons on), a datagram on the UDP peering socket
//! (link 1), an IPv6 packet from the fc-address stack, or the node's next timer
//! (`Node::poll_at`). The node's output goes out synchronously through [`Links`] (the `Io`):
//! Ethernet frames into the splitter's queue, UDP datagrams into the socket's send buffer,
//! IPv6 packets into the fc-address stack's receive channel. A full queue drops the packet and
//! counts it, as a full NIC ring would.

use core::future::{poll_fn, Future as _};
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use defmt::{error, info, warn};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpAddress, IpEndpoint, Ipv4Address, Ipv6Address, Stack};
use embassy_time::{Instant, Timer};
use hal_boards::ether_split::{EthFrame, NodeFrames, ETHERTYPE_FC00};
use hal_boards::protocol_core::node::{
    BeaconMode, Event, Io, LinkAddr, LinkId, LinkKind, PeerConfig, IPV6_HEADROOM, NODE_HEADROOM,
};
use rand_chacha::ChaCha20Rng;

use hal_boards::KeyStore;

use crate::config::{
    FcNode, UDP_PASSWORD, UDP_PASSWORD_LOGIN, UDP_PEERS, UDP_PEER_RX, UDP_PEER_TX, UDP_PORT,
};
use crate::fc_stack::{FcRx, FcTx, FC_MTU};
use crate::mgmt::{self, Memory};

/// Largest Ethernet payload (and UDP datagram we accept).
const MAX_PAYLOAD: usize = 1500;
/// Headroom in front of every frame handed to the node: enough for both entry points.
const HEADROOM: usize = if IPV6_HEADROOM > NODE_HEADROOM {
    IPV6_HEADROOM
} else {
    NODE_HEADROOM
};

/// What the node could not send, for stats.
#[derive(Clone, Copy, Default, defmt::Format)]
pub struct IoDrops {
    pub eth_queue_full: u32,
    pub udp_send: u32,
    pub fc_rx_full: u32,
    pub oversized: u32,
}

/// The node's outputs (its [`Io`]).
pub struct Links<'a, const Q: usize> {
    pub eth_link: LinkId,
    pub udp_link: LinkId,
    pub mac: [u8; 6],
    pub frames: &'static NodeFrames<Q>,
    pub udp: &'a UdpSocket<'a>,
    pub fc_rx: FcRx,
    pub drops: IoDrops,
    pub peers_up: u32,
}

impl<const Q: usize> Links<'_, Q> {
    fn send_eth(&mut self, to: &LinkAddr, payload: &[u8]) {
        let dst = match to {
            LinkAddr::Mac(m) => *m,
            LinkAddr::Broadcast => [0xff; 6],
            _ => return,
        };
        let mut frame = EthFrame::new();
        let built = frame.extend_from_slice(&dst).is_ok()
            && frame.extend_from_slice(&self.mac).is_ok()
            && frame
                .extend_from_slice(&ETHERTYPE_FC00.to_be_bytes())
                .is_ok()
            && frame.extend_from_slice(payload).is_ok();
        if !built {
            self.drops.oversized = self.drops.oversized.wrapping_add(1);
        } else if self.frames.from_node.try_send(frame).is_err() {
            self.drops.eth_queue_full = self.drops.eth_queue_full.wrapping_add(1);
            warn!("node: ethernet queue full, frame dropped");
        } else if dst == [0xff; 6] {
            info!("node: beacon sent ({=usize} bytes)", payload.len());
        }
    }

    fn send_udp(&mut self, to: &LinkAddr, datagram: &[u8]) {
        let endpoint = match *to {
            LinkAddr::Udp4 { ip, port } => {
                IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::from(ip)), port)
            }
            LinkAddr::Udp6 { ip, port } => {
                IpEndpoint::new(IpAddress::Ipv6(Ipv6Address::from(ip)), port)
            }
            // UDP beacons are off on this link: nothing else to send to.
            _ => return,
        };
        // The socket's send buffer is the queue: if it has no room now, the datagram is lost.
        let mut cx = Context::from_waker(Waker::noop());
        match self.udp.poll_send_to(datagram, endpoint, &mut cx) {
            Poll::Ready(Ok(())) => {}
            _ => self.drops.udp_send = self.drops.udp_send.wrapping_add(1),
        }
    }
}

impl<const Q: usize> Io for Links<'_, Q> {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        if link == self.eth_link {
            self.send_eth(to, frame);
        } else if link == self.udp_link {
            self.send_udp(to, frame);
        }
    }

    fn deliver_ipv6(&mut self, packet: &[u8]) {
        match self.fc_rx.try_rx_buf() {
            Some(buf) if packet.len() <= buf.len() => {
                buf[..packet.len()].copy_from_slice(packet);
                self.fc_rx.rx_done(packet.len());
            }
            Some(_) => self.drops.oversized = self.drops.oversized.wrapping_add(1),
            None => self.drops.fc_rx_full = self.drops.fc_rx_full.wrapping_add(1),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::PeerAdded { key, addr, .. } => {
                info!(
                    "node: peer added {=str} at {=str}",
                    key.to_k_string().as_str(),
                    addr.to_text().as_str()
                );
            }
            Event::PeerUp {
                key,
                label,
                version,
            } => {
                self.peers_up = self.peers_up.wrapping_add(1);
                info!(
                    "node: peer up {=str} label {=u64:#018x} version {=u32}",
                    key.to_k_string().as_str(),
                    label,
                    version
                );
            }
            Event::PeerDown { key, .. } => {
                info!("node: peer down {=str}", key.to_k_string().as_str())
            }
            Event::PeerRemoved { key, .. } => {
                info!("node: peer removed {=str}", key.to_k_string().as_str())
            }
            Event::Session(e) => info!("node: session {}", defmt::Debug2Format(&e)),
            _ => {}
        }
    }
}

/// Which input woke the node task.
enum Wake {
    Eth,
    Udp,
    Fc,
    Mgmt,
    Timer,
}

/// Runs the node forever.
pub async fn run<const Q: usize>(
    node: &mut FcNode,
    rng: &mut ChaCha20Rng,
    mut links: Links<'_, Q>,
    mut fc_tx: FcTx,
    key_store: &mut impl KeyStore,
    memory: &Memory,
) -> ! {
    let _ = node.set_beacon(links.eth_link, BeaconMode::Send);
    let mut buf = [0u8; HEADROOM + MAX_PAYLOAD];
    loop {
        let now = Instant::now().as_millis();
        let due = node.poll_at();
        if due <= now {
            node.poll(now, rng, &mut links);
            continue;
        }
        let mut timer = pin!(Timer::at(Instant::from_millis(due)));
        let wake = poll_fn(|cx| {
            if links.frames.to_node.poll_ready_to_receive(cx).is_ready() {
                Poll::Ready(Wake::Eth)
            } else if links.udp.poll_recv_ready(cx).is_ready() {
                Poll::Ready(Wake::Udp)
            } else if fc_tx.poll_tx_buf(cx).is_ready() {
                Poll::Ready(Wake::Fc)
            } else if mgmt::REQUESTS.poll_ready_to_receive(cx).is_ready() {
                Poll::Ready(Wake::Mgmt)
            } else if timer.as_mut().poll(cx).is_ready() {
                Poll::Ready(Wake::Timer)
            } else {
                Poll::Pending
            }
        })
        .await;
        let now = Instant::now().as_millis();
        match wake {
            Wake::Eth => {
                let Ok(frame) = links.frames.to_node.try_receive() else {
                    continue;
                };
                // The splitter only queues frames with a full Ethernet header.
                let (Some(dst), Some(src), Some(payload)) =
                    (frame.get(0..6), frame.get(6..12), frame.get(14..))
                else {
                    continue;
                };
                let broadcast = dst == [0xff; 6];
                let mut mac = [0u8; 6];
                mac.copy_from_slice(src);
                let Some(slot) = buf.get_mut(HEADROOM..HEADROOM + payload.len()) else {
                    continue;
                };
                slot.copy_from_slice(payload);
                let len = payload.len();
                node.handle_frame(
                    links.eth_link,
                    &LinkAddr::Mac(mac),
                    broadcast,
                    &mut buf,
                    HEADROOM,
                    len,
                    now,
                    rng,
                    &mut links,
                );
            }
            Wake::Udp => {
                let mut cx = Context::from_waker(Waker::noop());
                let Some(space) = buf.get_mut(HEADROOM..) else {
                    continue;
                };
                let (len, meta) = match links.udp.poll_recv_from(space, &mut cx) {
                    Poll::Ready(Ok(got)) => got,
                    Poll::Ready(Err(e)) => {
                        warn!("node: udp receive: {}", e);
                        continue;
                    }
                    Poll::Pending => continue,
                };
                let from = match meta.endpoint.addr {
                    IpAddress::Ipv4(a) => LinkAddr::Udp4 {
                        ip: a.octets(),
                        port: meta.endpoint.port,
                    },
                    IpAddress::Ipv6(a) => LinkAddr::Udp6 {
                        ip: a.octets(),
                        port: meta.endpoint.port,
                    },
                };
                node.handle_frame(
                    links.udp_link,
                    &from,
                    false,
                    &mut buf,
                    HEADROOM,
                    len,
                    now,
                    rng,
                    &mut links,
                );
            }
            Wake::Fc => {
                let Some(packet) = fc_tx.try_tx_buf() else {
                    continue;
                };
                let len = packet.len().min(FC_MTU);
                let copied = match (buf.get_mut(HEADROOM..HEADROOM + len), packet.get(..len)) {
                    (Some(dst), Some(src)) => {
                        dst.copy_from_slice(src);
                        true
                    }
                    _ => false,
                };
                fc_tx.tx_done();
                // Only IPv6 from our address to fc00::/8 is the node's; smoltcp also sends
                // MLD reports and the like, which the session layer drops.
                if copied && len >= 40 {
                    node.handle_ipv6(&mut buf, HEADROOM, len, now, rng, &mut links);
                }
            }
            Wake::Mgmt => {
                let Ok(request) = mgmt::REQUESTS.try_receive() else {
                    continue;
                };
                let udp_link = links.udp_link;
                let response =
                    mgmt::execute(request, node, udp_link, &mut links, rng, key_store, memory);
                if mgmt::RESPONSES.try_send(response).is_err() {
                    warn!("node: management answer dropped");
                }
            }
            Wake::Timer => node.poll(now, rng, &mut links),
        }
    }
}

/// Owns the node: sets up its links (Ethernet with beacons, UDP on [`UDP_PORT`]), passwords
/// and configured peers, then runs it. Each board wraps this in its own task.
#[allow(clippy::too_many_arguments)]
pub async fn node_main<const Q: usize>(
    node: &'static mut FcNode,
    mut rng: ChaCha20Rng,
    stack: Stack<'static>,
    mac: [u8; 6],
    frames: &'static NodeFrames<Q>,
    fc_rx: FcRx,
    fc_tx: FcTx,
    key_store: &mut impl KeyStore,
    memory: &Memory,
) -> ! {
    let mut rx_meta = [PacketMetadata::EMPTY; 4];
    let mut rx_buf = [0u8; UDP_PEER_RX];
    let mut tx_meta = [PacketMetadata::EMPTY; 8];
    let mut tx_buf = [0u8; UDP_PEER_TX];
    let mut udp = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    if let Err(e) = udp.bind(UDP_PORT) {
        error!("node: udp bind {=u16} failed: {}", UDP_PORT, e);
    }
    let (Ok(eth_link), Ok(udp_link)) = (
        node.add_link(LinkKind::Ethernet),
        node.add_link(LinkKind::Udp),
    ) else {
        crate::halt("node: no room for links");
    };
    if let Some(password) = UDP_PASSWORD {
        if node
            .add_password(password.as_bytes(), Some(UDP_PASSWORD_LOGIN.as_bytes()))
            .is_err()
        {
            warn!("node: password not added");
        }
    }
    let mut links = Links {
        eth_link,
        udp_link,
        mac,
        frames,
        udp: &udp,
        fc_rx,
        drops: IoDrops::default(),
        peers_up: 0,
    };
    for peer in UDP_PEERS {
        let Ok(public_key) =
            hal_boards::protocol_core::identity::PublicKey::parse_k(peer.public_key)
        else {
            warn!("config: bad key for peer {=str}", peer.name);
            continue;
        };
        let addr = LinkAddr::Udp4 {
            ip: peer.ip,
            port: peer.port,
        };
        let config = PeerConfig {
            public_key,
            password: peer.password.as_bytes(),
            login: peer.login.map(str::as_bytes),
            name: peer.name,
            version: 0,
        };
        if node.connect(udp_link, addr, config, &mut links).is_err() {
            warn!("config: peer {=str} not added", peer.name);
        }
    }
    run(node, &mut rng, links, fc_tx, key_store, memory).await
}
