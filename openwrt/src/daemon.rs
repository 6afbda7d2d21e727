//! The event loop: one thread, one epoll (mio), every readable socket drained in batches per
//! wake-up, the node polled when its timers are due.

use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::Command;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use protocol_core::identity::label_to_string;
use protocol_core::node::{
    BeaconMode, Event, Io, LinkAddr, LinkId, LinkKind, Node, PeerConfig, IPV6_HEADROOM,
    NODE_HEADROOM,
};
use protocol_core::router::RouterEvent;
use rand_chacha::ChaCha20Rng;
use rand_core::{OsRng, SeedableRng};
use socket2::{Domain, Protocol, Socket, Type};

use crate::admin::{
    AdminServer, PingResult, RouterPong, RouterPongFrom, SwitchPingOutcome, SwitchPong,
};
use crate::admin_glue::{AdminState, Api};
use crate::config::{Config, EthInterface, PeerEntry};
use crate::{log_debug, log_info, log_warn, sys};

/// Peers, end-to-end sessions, node-store entries.
pub type FcNode = Node<32, 64, 512>;

/// Largest datagram or frame read (as cjdns' UDP interface).
pub const RECV_BUF: usize = 3496;
/// The reference's TUN MTU.
pub const TUN_MTU: u32 = 1304;
/// Frames read from one socket before the others get a turn.
const BATCH: usize = 64;
/// How often "all" looks for new Ethernet devices.
const RESCAN_MS: u64 = 5000;

fn beacon_mode(n: u8) -> BeaconMode {
    match n {
        2 => BeaconMode::Send,
        1 => BeaconMode::Accept,
        _ => BeaconMode::Off,
    }
}

/// Milliseconds since start, never 0 (the node treats 0 as "never").
struct Clock(Instant);
impl Clock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64 + 1
    }
}

pub(crate) struct UdpLink {
    pub(crate) link: LinkId,
    pub(crate) v4: Option<UdpSocket>,
    pub(crate) v6: Option<UdpSocket>,
    beacon: Option<UdpSocket>,
    beacon_port: u16,
    /// `beaconDevices`: names, or "all".
    beacon_devices: Vec<String>,
    /// 0 off, 1 accept, 2 send.
    pub(crate) beacon_mode: u8,
    /// `InterfaceController_interfaces` name when it is not derived from the socket
    /// (`UDPInterface_new` names it after the address asked for, as the reference).
    pub(crate) name: Option<String>,
}

/// A socket the admin API opened, to be added to the poll set.
#[derive(Debug, Clone, Copy)]
pub enum NewSocket {
    Udp { idx: usize, v6: bool },
    UdpBeacon(usize),
}

/// `UDPInterface_new`: a new link with one socket bound to `bind`; returns the link
/// number and the bound address. The socket is registered by the daemon afterwards.
pub(crate) fn new_udp_link(
    node: &mut FcNode,
    links: &mut Links,
    pending: &mut Vec<NewSocket>,
    bind: SocketAddr,
    beacon_port: u16,
    name: String,
) -> Result<(u32, SocketAddr), String> {
    if links.sandbox {
        return Err(format!("bind({bind}): no sockets in this sandbox"));
    }
    let sock = udp_socket(bind, bind.is_ipv4(), false).map_err(|e| format!("bind({bind}): {e}"))?;
    let bound = sock.local_addr().map_err(|e| e.to_string())?;
    let link = node
        .add_link(LinkKind::Udp)
        .map_err(|_| "no more space to register with the switch.".to_string())?;
    let v6 = bind.is_ipv6();
    let _ = node.set_comm_port(link, bound.port());
    links.udp.push(UdpLink {
        link,
        v4: None,
        v6: None,
        beacon: None,
        beacon_port,
        beacon_devices: Vec::new(),
        beacon_mode: 0,
        name: Some(name),
    });
    let idx = links.udp.len() - 1;
    if v6 {
        links.udp[idx].v6 = Some(sock);
    } else {
        links.udp[idx].v4 = Some(sock);
    }
    pending.push(NewSocket::Udp { idx, v6 });
    log_info!("UDPInterface_new: UDP on {bound} (interface {})", link.0);
    Ok((u32::from(link.0), bound))
}

/// `ETHInterface_beacon` on any link: 0 off, 1 accept, 2 send. A UDP link with a beacon
/// port gets its beacon socket when beacons are first turned on.
pub(crate) fn set_link_beacon(
    node: &mut FcNode,
    links: &mut Links,
    pending: &mut Vec<NewSocket>,
    if_num: u32,
    state: u32,
) -> Result<(), crate::admin::BeaconError> {
    use crate::admin::BeaconError;
    let udp = links.udp.iter().position(|u| u32::from(u.link.0) == if_num);
    let eth = links.eth.iter().position(|e| u32::from(e.link.0) == if_num);
    if udp.is_none() && eth.is_none() {
        return Err(BeaconError::NoSuchInterface);
    }
    let mode = match state {
        0..=2 => state as u8,
        _ => return Err(BeaconError::InvalidState),
    };
    if let Some(i) = udp {
        let u = &mut links.udp[i];
        let _ = node.set_beacon(u.link, beacon_mode(mode));
        u.beacon_mode = mode;
        if u.beacon_devices.is_empty() {
            u.beacon_devices = vec!["all".to_string()];
        }
        if mode > 0 && u.beacon.is_none() && u.beacon_port != 0 && u.v4.is_some() {
            match udp_socket(SocketAddr::from(([0, 0, 0, 0], u.beacon_port)), true, true) {
                Ok(b) => {
                    u.beacon = Some(b);
                    pending.push(NewSocket::UdpBeacon(i));
                }
                Err(e) => log_warn!("UDP beacons: cannot bind port {}: {e}", u.beacon_port),
            }
        }
    } else if let Some(i) = eth {
        let e = &mut links.eth[i];
        let _ = node.set_beacon(e.link, beacon_mode(mode));
        e.beacon = mode;
    }
    Ok(())
}

pub(crate) struct EthLink {
    pub(crate) link: LinkId,
    pub(crate) name: String,
    ifindex: u32,
    /// `None` while the device is gone.
    fd: Option<OwnedFd>,
    /// 0 off, 1 accept, 2 send.
    pub(crate) beacon: u8,
}

/// Drop counters: we never queue, so overload shows up here.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drops {
    pub udp_send: u64,
    pub eth_send: u64,
    pub tun_write: u64,
    pub tun_not_ipv6: u64,
}

/// The sockets, as the node's [`Io`].
pub(crate) struct Links {
    pub(crate) udp: Vec<UdpLink>,
    pub(crate) eth: Vec<EthLink>,
    tun: Option<OwnedFd>,
    drops: Drops,
    /// Beacon send errors are logged once.
    beacon_error_logged: bool,
    /// IPv4 broadcast address of each device, refreshed with the Ethernet rescan.
    broadcasts: Vec<(String, std::net::Ipv4Addr)>,
    /// Events for the admin API (pongs); bounded.
    recent_events: Vec<Event>,
    /// See [`Links::sandbox`].
    sandbox: bool,
}

impl Links {
    fn new(broadcasts: Vec<(String, std::net::Ipv4Addr)>) -> Links {
        Links {
            udp: Vec::new(),
            eth: Vec::new(),
            tun: None,
            drops: Drops::default(),
            beacon_error_logged: false,
            broadcasts,
            recent_events: Vec::new(),
            sandbox: false,
        }
    }

    /// No interfaces, no TUN, and `UDPInterface_new` refused: for driving the admin API
    /// against a real node without touching the network (fuzzing, tests).
    pub(crate) fn sandbox() -> Links {
        Links {
            sandbox: true,
            ..Links::new(Vec::new())
        }
    }

    /// Events kept for the admin API (pongs), oldest first.
    pub(crate) fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.recent_events)
    }
}

impl Io for Links {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        if let Some(u) = self.udp.iter().find(|u| u.link == link) {
            let res = match to {
                LinkAddr::Udp4 { ip, port } => {
                    u.v4.as_ref()
                        .map(|s| s.send_to(frame, SocketAddr::from((*ip, *port))))
                }
                LinkAddr::Udp6 { ip, port } => {
                    u.v6.as_ref()
                        .map(|s| s.send_to(frame, SocketAddr::from((*ip, *port))))
                }
                LinkAddr::Broadcast => u.v4.as_ref().map(|s| {
                    // As cjdns: one beacon to the broadcast address of each beacon device.
                    // No such device: nothing to send, nothing dropped.
                    let mut res = Ok(0);
                    for (dev, bcast) in &self.broadcasts {
                        if u.beacon_devices.iter().any(|d| d == "all" || d == dev) {
                            let r = s.send_to(frame, SocketAddr::from((*bcast, u.beacon_port)));
                            if r.is_err() {
                                res = r;
                            }
                        }
                    }
                    res
                }),
                _ => None,
            };
            match res {
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.drops.udp_send += 1;
                    if matches!(to, LinkAddr::Broadcast) {
                        if !self.beacon_error_logged {
                            self.beacon_error_logged = true;
                            log_warn!("UDP beacon not sent: {e} (not logged again)");
                        }
                    } else {
                        log_debug!("UDP send to {to} failed: {e}");
                    }
                }
                None => self.drops.udp_send += 1,
            }
            return;
        }
        if let Some(e) = self.eth.iter().find(|e| e.link == link) {
            let mac = match to {
                LinkAddr::Mac(m) => *m,
                LinkAddr::Broadcast => [0xff; 6],
                _ => return,
            };
            let Some(fd) = e.fd.as_ref() else {
                self.drops.eth_send += 1;
                return;
            };
            if let Err(err) = sys::packet_send(fd.as_raw_fd(), e.ifindex, &mac, frame) {
                self.drops.eth_send += 1;
                log_debug!("{}: send failed: {err}", e.name);
            }
        }
    }

    fn deliver_ipv6(&mut self, packet: &[u8]) {
        match self.tun.as_ref() {
            Some(fd) => {
                if sys::fd_write(fd.as_raw_fd(), packet).is_err() {
                    self.drops.tun_write += 1;
                }
            }
            None => self.drops.tun_write += 1,
        }
    }

    fn event(&mut self, event: Event) {
        match &event {
            Event::PeerAdded {
                key, label, addr, ..
            } => log_info!(
                "peer added {} label {} at {addr}",
                key.to_k_string(),
                label_to_string(*label)
            ),
            Event::PeerUp {
                key,
                label,
                version,
            } => log_info!(
                "peer up {} label {} version {version}",
                key.to_k_string(),
                label_to_string(*label)
            ),
            Event::PeerDown { key, label } => log_info!(
                "peer down {} label {}",
                key.to_k_string(),
                label_to_string(*label)
            ),
            Event::PeerRemoved { key, label } => log_info!(
                "peer removed {} label {}",
                key.to_k_string(),
                label_to_string(*label)
            ),
            other => log_debug!("{other:?}"),
        }
        if matches!(
            event,
            Event::SwitchPong { .. } | Event::SwitchError { .. } | Event::Router(_)
        ) {
            if self.recent_events.len() >= 64 {
                self.recent_events.remove(0);
            }
            self.recent_events.push(event);
        }
    }
}

#[derive(Clone, Copy)]
enum Source {
    Udp { idx: usize, v6: bool },
    UdpBeacon(usize),
    Eth(usize),
    Tun,
    Admin,
}

pub struct Daemon {
    node: Box<FcNode>,
    links: Links,
    poll: Poll,
    sources: Vec<Source>,
    clock: Clock,
    buf: Vec<u8>,
    admin: Option<UdpSocket>,
    admin_server: AdminServer,
    admin_state: AdminState,
    /// Ethernet "all" interfaces: (beacon mode, connectTo) for devices found later.
    eth_all: Option<EthInterface>,
    next_rescan: u64,
    /// Drop counters as last logged.
    drops_logged: Drops,
    link_slots_logged: bool,
    pub tun_name: Option<String>,
    /// Re-read on SIGHUP.
    pub config_path: Option<std::path::PathBuf>,
    /// Passwords given to the node so far (SIGHUP adds only new ones).
    passwords: Vec<String>,
    /// The node draws randomness on every packet; a getrandom(2) call each time cost more
    /// than the sealing. ChaCha20 keyed from the OS, re-keyed every [`RESEED_MS`].
    rng: ChaCha20Rng,
    next_reseed: u64,
}

/// How often the packet-path RNG takes a fresh key from the OS.
const RESEED_MS: u64 = 60_000;

pub(crate) fn udp_socket(bind: SocketAddr, broadcast: bool, reuse: bool) -> io::Result<UdpSocket> {
    let domain = if bind.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if bind.is_ipv6() {
        s.set_only_v6(true)?;
    }
    if reuse {
        s.set_reuse_address(true)?;
    }
    if broadcast {
        s.set_broadcast(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&bind.into())?;
    let std: StdUdpSocket = s.into();
    Ok(UdpSocket::from_std(std))
}

fn link_addr(sa: SocketAddr) -> LinkAddr {
    match sa {
        SocketAddr::V4(a) => LinkAddr::Udp4 {
            ip: a.ip().octets(),
            port: a.port(),
        },
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(v4) => LinkAddr::Udp4 {
                ip: v4.octets(),
                port: a.port(),
            },
            None => LinkAddr::Udp6 {
                ip: a.ip().octets(),
                port: a.port(),
            },
        },
    }
}

fn peer_config<'a>(p: &'a PeerEntry, fallback_name: &'a str) -> PeerConfig<'a> {
    PeerConfig {
        public_key: p.public_key,
        password: p.password.as_bytes(),
        login: p.login.as_deref().map(str::as_bytes),
        name: p.peer_name.as_deref().unwrap_or(fallback_name),
        version: 0,
    }
}

/// Ethernet devices by name (ARPHRD_ETHER only: no loopback, no TUN).
pub fn ethernet_devices() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/sys/class/net") {
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = std::fs::read_to_string(entry.path().join("type")).unwrap_or_default();
            if kind.trim() == "1" {
                out.push(name);
            }
        }
    }
    out.sort();
    out
}

fn run_ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Daemon {
    pub fn new(cfg: &Config) -> Result<Daemon, String> {
        let poll = Poll::new().map_err(|e| format!("epoll: {e}"))?;
        let node = new_node(cfg.private_key.clone())?;
        let mut d = Daemon {
            node,
            links: Links::new(sys::ipv4_broadcasts()),
            poll,
            sources: Vec::new(),
            clock: Clock(Instant::now()),
            buf: vec![0u8; IPV6_HEADROOM + RECV_BUF],
            admin: None,
            admin_server: AdminServer::new(cfg.admin.password.clone()),
            admin_state: AdminState::default(),
            eth_all: None,
            next_rescan: 0,
            drops_logged: Drops::default(),
            link_slots_logged: false,
            tun_name: None,
            config_path: None,
            passwords: Vec::new(),
            rng: ChaCha20Rng::from_rng(OsRng).map_err(|e| format!("getrandom: {e}"))?,
            next_reseed: RESEED_MS,
        };
        for p in &cfg.authorized_passwords {
            d.node
                .add_password_restricted(
                    p.password.as_bytes(),
                    p.user.as_deref().map(str::as_bytes),
                    p.ipv6,
                )
                .map_err(|e| format!("authorizedPasswords: {e:?}"))?;
            d.passwords.push(p.password.clone());
        }
        d.open_udp(cfg)?;
        d.open_eth(cfg);
        if let Some(name) = &cfg.tun {
            match d.open_tun(name, cfg) {
                Ok(n) => {
                    log_info!("TUN {n} up with {}/8", d.address());
                    d.tun_name = Some(n);
                }
                Err(e) => log_warn!("no TUN ({e}); running on without it"),
            }
        }
        match udp_socket(cfg.admin.bind, false, false) {
            Ok(mut s) => {
                let tok = d.add_source(Source::Admin);
                d.poll
                    .registry()
                    .register(&mut s, tok, Interest::READABLE)
                    .map_err(|e| format!("register admin: {e}"))?;
                log_info!("admin on udp {}", cfg.admin.bind);
                d.admin = Some(s);
            }
            Err(e) => log_warn!("admin: cannot bind {}: {e}", cfg.admin.bind),
        }
        Ok(d)
    }

    pub fn address(&self) -> String {
        self.node
            .public_key()
            .address()
            .map(|a| a.to_full_string().to_string())
            .unwrap_or_default()
    }

    fn add_source(&mut self, s: Source) -> Token {
        self.sources.push(s);
        Token(self.sources.len() - 1)
    }

    fn open_udp(&mut self, cfg: &Config) -> Result<(), String> {
        for iface in &cfg.udp {
            let v6 = iface.bind.is_ipv6();
            let sock = udp_socket(iface.bind, !v6 && iface.beacon == 2, false)
                .map_err(|e| format!("UDPInterface: cannot bind {}: {e}", iface.bind))?;
            // One link carries one IPv4 and one IPv6 socket (the node has few link slots).
            let reuse =
                self.links.udp.last().is_some_and(
                    |u| {
                        if v6 {
                            u.v6.is_none()
                        } else {
                            u.v4.is_none()
                        }
                    },
                );
            let idx = if reuse {
                self.links.udp.len() - 1
            } else {
                let link = self
                    .node
                    .add_link(LinkKind::Udp)
                    .map_err(|e| format!("UDPInterface {}: {e:?}", iface.bind))?;
                self.links.udp.push(UdpLink {
                    link,
                    v4: None,
                    v6: None,
                    beacon: None,
                    beacon_port: iface.beacon_port,
                    beacon_devices: Vec::new(),
                    beacon_mode: 0,
                    name: None,
                });
                self.links.udp.len() - 1
            };
            let tok = self.add_source(Source::Udp { idx, v6 });
            let mut sock = sock;
            self.poll
                .registry()
                .register(&mut sock, tok, Interest::READABLE)
                .map_err(|e| format!("register: {e}"))?;
            let port = sock.local_addr().map(|a| a.port()).unwrap_or(0);
            log_info!(
                "UDP on {}",
                sock.local_addr().map(|a| a.to_string()).unwrap_or_default()
            );
            let link = self.links.udp[idx].link;
            if v6 {
                self.links.udp[idx].v6 = Some(sock);
            } else {
                self.links.udp[idx].v4 = Some(sock);
                if iface.beacon > 0 {
                    self.links.udp[idx].beacon_port = iface.beacon_port;
                    self.links.udp[idx].beacon_mode = iface.beacon;
                    self.links.udp[idx].beacon_devices = if iface.beacon_devices.is_empty() {
                        vec!["all".to_string()]
                    } else {
                        iface.beacon_devices.clone()
                    };
                    let _ = self.node.set_comm_port(link, port);
                    let _ = self.node.set_beacon(link, beacon_mode(iface.beacon));
                    match udp_socket(
                        SocketAddr::from(([0, 0, 0, 0], iface.beacon_port)),
                        true,
                        true,
                    ) {
                        Ok(mut b) => {
                            let tok = self.add_source(Source::UdpBeacon(idx));
                            self.poll
                                .registry()
                                .register(&mut b, tok, Interest::READABLE)
                                .map_err(|e| format!("register: {e}"))?;
                            self.links.udp[idx].beacon = Some(b);
                        }
                        Err(e) => {
                            log_warn!("UDP beacons: cannot bind port {}: {e}", iface.beacon_port)
                        }
                    }
                }
            }
            for (addr, peer) in &iface.connect_to {
                if addr.is_ipv6() != v6 {
                    continue;
                }
                let name = addr.to_string();
                if let Err(e) = self.node.connect(
                    link,
                    link_addr(*addr),
                    peer_config(peer, &name),
                    &mut self.links,
                ) {
                    log_warn!("connectTo {addr}: {e:?}");
                }
            }
        }
        Ok(())
    }

    fn open_eth(&mut self, cfg: &Config) {
        for iface in &cfg.eth {
            if iface.bind == "all" {
                self.eth_all = Some(iface.clone());
                for dev in ethernet_devices() {
                    self.add_eth_device(&dev, iface);
                }
            } else {
                self.add_eth_device(&iface.bind, iface);
            }
        }
    }

    fn add_eth_device(&mut self, dev: &str, iface: &EthInterface) {
        let Some(ifindex) = sys::if_index(dev) else {
            log_warn!("ETHInterface {dev}: no such device");
            return;
        };
        let fd = match sys::packet_socket(ifindex) {
            Ok(fd) => fd,
            Err(e) => {
                log_warn!("ETHInterface {dev}: {e} (raw sockets need root or CAP_NET_RAW)");
                return;
            }
        };
        let link = match self.node.add_link(LinkKind::Ethernet) {
            Ok(l) => l,
            Err(e) => {
                if !self.link_slots_logged {
                    self.link_slots_logged = true;
                    log_warn!("ETHInterface {dev}: {e:?} (no link slot left)");
                }
                return;
            }
        };
        let _ = self.node.set_beacon(link, beacon_mode(iface.beacon));
        let idx = self.links.eth.len();
        let tok = self.add_source(Source::Eth(idx));
        let raw = fd.as_raw_fd();
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut SourceFd(&raw), tok, Interest::READABLE)
        {
            log_warn!("ETHInterface {dev}: {e}");
            return;
        }
        self.links.eth.push(EthLink {
            link,
            name: dev.to_string(),
            ifindex,
            fd: Some(fd),
            beacon: iface.beacon,
        });
        log_info!("Ethernet on {dev} (beacon {})", iface.beacon);
        for (mac, peer) in &iface.connect_to {
            let name = dev.to_string();
            if let Err(e) = self.node.connect(
                link,
                LinkAddr::Mac(*mac),
                peer_config(peer, &name),
                &mut self.links,
            ) {
                log_warn!("ETHInterface connectTo: {e:?}");
            }
        }
    }

    /// Devices that appeared, or came back, since the last look.
    fn rescan_eth(&mut self) {
        let Some(all) = self.eth_all.clone() else {
            return;
        };
        for dev in ethernet_devices() {
            let known = self.links.eth.iter().position(|e| e.name == dev);
            match known {
                None => self.add_eth_device(&dev, &all),
                Some(i) if self.links.eth[i].fd.is_none() => {
                    let Some(ifindex) = sys::if_index(&dev) else {
                        continue;
                    };
                    if let Ok(fd) = sys::packet_socket(ifindex) {
                        let tok = self.add_source(Source::Eth(i));
                        let raw = fd.as_raw_fd();
                        if self
                            .poll
                            .registry()
                            .register(&mut SourceFd(&raw), tok, Interest::READABLE)
                            .is_ok()
                        {
                            let e = &mut self.links.eth[i];
                            e.ifindex = ifindex;
                            e.fd = Some(fd);
                            log_info!("Ethernet device {dev} is back (beacon {})", e.beacon);
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }

    fn open_tun(&mut self, name: &str, _cfg: &Config) -> Result<String, String> {
        let (fd, name) = sys::tun_open(name).map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => {
                format!("/dev/net/tun: {e}; needs root or CAP_NET_ADMIN")
            }
            Some(libc::ENOENT) => format!("/dev/net/tun: {e}; is the tun module loaded?"),
            _ => format!("/dev/net/tun: {e}"),
        })?;
        let ip = self
            .node
            .public_key()
            .address()
            .map_err(|_| "our key has no fc address".to_string())?;
        if let Err(e) = sys::configure_interface(&name, *ip.as_bytes(), 8, TUN_MTU) {
            // Some kernels or sandboxes refuse the ioctls; `ip` may still work.
            log_debug!("TUN {name}: ioctl setup failed ({e}), trying `ip`");
            let addr = format!("{}/8", self.address());
            run_ip(&["-6", "addr", "add", &addr, "dev", &name])?;
            run_ip(&[
                "link",
                "set",
                "dev",
                &name,
                "mtu",
                &TUN_MTU.to_string(),
                "up",
            ])?;
        }
        let tok = self.add_source(Source::Tun);
        let raw = fd.as_raw_fd();
        self.poll
            .registry()
            .register(&mut SourceFd(&raw), tok, Interest::READABLE)
            .map_err(|e| format!("register TUN: {e}"))?;
        self.links.tun = Some(fd);
        Ok(name)
    }

    /// Read up to [`BATCH`] frames from one source; true if it may have more.
    fn drain(&mut self, tok: usize) -> bool {
        let Some(source) = self.sources.get(tok).copied() else {
            return false;
        };
        let Daemon {
            node,
            links,
            buf,
            clock,
            admin,
            poll,
            admin_server,
            admin_state,
            sources,
            rng,
            ..
        } = self;
        for _ in 0..BATCH {
            let now = clock.now_ms();
            match source {
                Source::Udp { idx, .. } | Source::UdpBeacon(idx) if idx < links.udp.len() => {
                    let beacon = matches!(source, Source::UdpBeacon(_));
                    let u = &links.udp[idx];
                    let sock = match (beacon, v6_of(source)) {
                        (true, _) => u.beacon.as_ref(),
                        (false, true) => u.v6.as_ref(),
                        (false, false) => u.v4.as_ref(),
                    };
                    let Some(sock) = sock else { return false };
                    let link = u.link;
                    match sock.recv_from(&mut buf[NODE_HEADROOM..NODE_HEADROOM + RECV_BUF]) {
                        Ok((n, from)) => node.handle_frame(
                            link,
                            &link_addr(from),
                            beacon,
                            buf,
                            NODE_HEADROOM,
                            n,
                            now,
                            rng,
                            links,
                        ),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                        Err(e) => {
                            log_debug!("UDP receive: {e}");
                            return false;
                        }
                    }
                }
                Source::Eth(idx) if idx < links.eth.len() => {
                    let e = &links.eth[idx];
                    let Some(fd) = e.fd.as_ref() else {
                        return false;
                    };
                    let link = e.link;
                    match sys::packet_recv(
                        fd.as_raw_fd(),
                        &mut buf[NODE_HEADROOM..NODE_HEADROOM + RECV_BUF],
                    ) {
                        Ok((n, mac, broadcast)) => node.handle_frame(
                            link,
                            &LinkAddr::Mac(mac),
                            broadcast,
                            buf,
                            NODE_HEADROOM,
                            n,
                            now,
                            rng,
                            links,
                        ),
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => return false,
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                        Err(err) => {
                            // The device went away: forget the socket, keep the link for
                            // when it comes back.
                            log_warn!("Ethernet {}: {err}; waiting for it to come back", e.name);
                            if let Some(fd) = links.eth[idx].fd.take() {
                                let raw = fd.as_raw_fd();
                                let _ = poll.registry().deregister(&mut SourceFd(&raw));
                            }
                            return false;
                        }
                    }
                }
                Source::Tun => {
                    let Some(fd) = links.tun.as_ref() else {
                        return false;
                    };
                    match sys::fd_read(
                        fd.as_raw_fd(),
                        &mut buf[IPV6_HEADROOM..IPV6_HEADROOM + RECV_BUF],
                    ) {
                        Ok(n) if n >= 40 && buf[IPV6_HEADROOM] >> 4 == 6 => {
                            node.handle_ipv6(buf, IPV6_HEADROOM, n, now, rng, links)
                        }
                        Ok(_) => links.drops.tun_not_ipv6 += 1,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            log_warn!("TUN read: {e}");
                            return false;
                        }
                    }
                }
                Source::Admin => {
                    let Some(sock) = admin.as_ref() else {
                        return false;
                    };
                    match sock.recv_from(&mut buf[..]) {
                        Ok((n, from)) => {
                            let request = buf[..n].to_vec();
                            let mut api = Api {
                                node,
                                links,
                                state: admin_state,
                                now_ms: now,
                                from,
                            };
                            if let Some(reply) =
                                admin_server.handle(&request, epoch_secs(), &mut api)
                            {
                                if let Err(e) = sock.send_to(&reply, from) {
                                    log_debug!("admin reply to {from}: {e}");
                                }
                            }
                            for new in std::mem::take(&mut admin_state.new_sockets) {
                                register_new_socket(poll, sources, links, new);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                        Err(_) => return false,
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// Run until SIGINT/SIGTERM.
    pub fn run(&mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(64);
        let mut ready: Vec<usize> = Vec::new();
        loop {
            if let Some(sig) = sys::stop_requested() {
                log_info!("signal {sig}: shutting down");
                break;
            }
            if sys::take_hup() {
                self.reload();
            }
            let now = self.clock.now_ms();
            if now >= self.next_reseed {
                self.next_reseed = now + RESEED_MS;
                if let Ok(fresh) = ChaCha20Rng::from_rng(OsRng) {
                    self.rng = fresh;
                }
            }
            if now >= self.next_rescan {
                self.next_rescan = now + RESCAN_MS;
                self.rescan_eth();
                self.links.broadcasts = sys::ipv4_broadcasts();
                let drops = self.links.drops;
                if drops != self.drops_logged {
                    self.drops_logged = drops;
                    log_warn!(
                        "dropped so far: {} UDP sends, {} Ethernet sends, {} TUN writes, {} non-IPv6 TUN packets",
                        drops.udp_send,
                        drops.eth_send,
                        drops.tun_write,
                        drops.tun_not_ipv6
                    );
                }
            }
            if self.admin_state.exit_requested {
                log_info!("Core_exit: shutting down");
                break;
            }
            let mut due = self.node.poll_at().min(self.next_rescan);
            for p in &self.admin_state.pings {
                due = due.min(p.deadline_ms);
            }
            // At least 1 ms: a node whose timer stays due must not spin the loop.
            let timeout = Duration::from_millis(due.saturating_sub(now).clamp(1, 1000));
            match self.poll.poll(&mut events, Some(timeout)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("epoll: {e}")),
            }
            for ev in events.iter() {
                if !ready.contains(&ev.token().0) {
                    ready.push(ev.token().0);
                }
            }
            // Round robin over readable sources until all are empty (mio is edge-triggered:
            // a source must be read to WouldBlock before it signals again).
            while !ready.is_empty() {
                ready.retain(|&tok| self.drain(tok));
                self.poll_node();
                self.finish_pings();
            }
            self.poll_node();
            self.finish_pings();
        }
        Ok(())
    }

    /// SIGHUP: new authorizedPasswords and new connectTo peers from the config file, without
    /// touching established peers or sessions.
    fn reload(&mut self) {
        let Some(path) = self.config_path.clone() else {
            log_info!("SIGHUP: no config file to reload");
            return;
        };
        let cfg = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| crate::config::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => {
                log_warn!(
                    "SIGHUP: {}: {e}; keeping the running config",
                    path.display()
                );
                return;
            }
        };
        if cfg.private_key.public_key() != *self.node.public_key() {
            log_warn!("SIGHUP: privateKey changed; restart fc00d to use the new identity");
        }
        let mut added = 0;
        for p in &cfg.authorized_passwords {
            if self.passwords.contains(&p.password) {
                continue;
            }
            match self.node.add_password_restricted(
                p.password.as_bytes(),
                p.user.as_deref().map(str::as_bytes),
                p.ipv6,
            ) {
                Ok(()) => {
                    self.passwords.push(p.password.clone());
                    added += 1;
                }
                Err(e) => log_warn!("SIGHUP: authorizedPasswords: {e:?}"),
            }
        }
        let stats = self.node.stats();
        let known: Vec<_> = stats.peers.iter().flatten().map(|p| p.key).collect();
        let mut connected = 0;
        for iface in &cfg.udp {
            for (addr, peer) in &iface.connect_to {
                if known.contains(&peer.public_key) {
                    continue;
                }
                let link = self.links.udp.iter().find(|u| {
                    if addr.is_ipv6() {
                        u.v6.is_some()
                    } else {
                        u.v4.is_some()
                    }
                });
                let Some(link) = link.map(|u| u.link) else {
                    log_warn!("SIGHUP: connectTo {addr}: no UDP socket of that family");
                    continue;
                };
                let name = addr.to_string();
                match self.node.connect(
                    link,
                    link_addr(*addr),
                    peer_config(peer, &name),
                    &mut self.links,
                ) {
                    Ok(()) => connected += 1,
                    Err(e) => log_warn!("SIGHUP: connectTo {addr}: {e:?}"),
                }
            }
        }
        log_info!(
            "SIGHUP: reloaded {}: {added} new passwords, {connected} new peers",
            path.display()
        );
    }

    /// Answer admin pings whose pong came, whose time ran out, or that ended at once.
    fn finish_pings(&mut self) {
        let now = self.clock.now_ms();
        let events = std::mem::take(&mut self.links.recent_events);
        let mut done: Vec<(usize, PingResult)> = Vec::new();
        for ev in events {
            if let Event::Router(r) = &ev {
                let (id, result) = match r {
                    RouterEvent::PingReply { id, node, rtt_ms } => (
                        *id,
                        RouterPong {
                            from: Some(RouterPongFrom {
                                addr: format!(
                                    "v{}.{}.{}",
                                    node.version,
                                    label_to_string(node.label),
                                    node.key.to_k_string()
                                ),
                                ip6: node
                                    .key
                                    .address()
                                    .map(|a| a.to_full_string().to_string())
                                    .unwrap_or_default(),
                                path: node.label,
                                version_bin: None,
                                protocol: Some(i64::from(node.version)),
                            }),
                            ms: *rtt_ms,
                        },
                    ),
                    RouterEvent::PingTimeout { id, .. } => (*id, RouterPong { from: None, ms: 0 }),
                    _ => continue,
                };
                let taken = |i: usize| done.iter().any(|(j, _)| *j == i);
                let found = (0..self.admin_state.pings.len())
                    .find(|&i| self.admin_state.pings[i].router_id == Some(id) && !taken(i));
                if let Some(i) = found {
                    let mut result = result;
                    if result.from.is_none() {
                        result.ms = now.saturating_sub(self.admin_state.pings[i].sent_ms) as u32;
                    }
                    done.push((i, PingResult::Router(result)));
                }
                continue;
            }
            let (path, outcome, version) = match ev {
                Event::SwitchPong { from_path, version } => {
                    (from_path, SwitchPingOutcome::Pong, version)
                }
                Event::SwitchError { from_path, .. } => {
                    (from_path, SwitchPingOutcome::ErrorResponse, 0)
                }
                _ => continue,
            };
            let taken = |i: usize| done.iter().any(|(j, _)| *j == i);
            let found = (0..self.admin_state.pings.len())
                .find(|&i| self.admin_state.pings[i].path == Some(path) && !taken(i));
            if let Some(i) = found {
                let p = &self.admin_state.pings[i];
                let ms = now.saturating_sub(p.sent_ms) as u32;
                done.push((i, PingResult::Switch(SwitchPong::new(outcome, ms, version))));
            }
        }
        for (i, p) in self.admin_state.pings.iter_mut().enumerate() {
            if done.iter().any(|(j, _)| *j == i) {
                continue;
            }
            if let Some(r) = p.immediate.take() {
                done.push((i, r));
            } else if now >= p.deadline_ms {
                let ms = now.saturating_sub(p.sent_ms) as u32;
                done.push((
                    i,
                    PingResult::Switch(SwitchPong::new(SwitchPingOutcome::Timeout, ms, 0)),
                ));
            }
        }
        if done.is_empty() {
            return;
        }
        done.sort_by_key(|d| std::cmp::Reverse(d.0));
        for (i, result) in done {
            let p = self.admin_state.pings.remove(i);
            if let Some(reply) = self.admin_server.complete(p.ticket, result) {
                if let Some(sock) = self.admin.as_ref() {
                    let _ = sock.send_to(&reply, p.to);
                }
            }
        }
    }

    fn poll_node(&mut self) {
        let now = self.clock.now_ms();
        if now >= self.node.poll_at() {
            self.node.poll(now, &mut self.rng, &mut self.links);
        }
    }

    pub fn shutdown(self) {
        if let Some(name) = &self.tun_name {
            log_info!("closing TUN {name}");
        }
        // Sockets and the TUN fd close when dropped.
        drop(self);
    }
}

/// The node, built on a short-lived thread: `Node::new` returns it by value, so its
/// construction (and the move into the box) passes through the stack, and the pages it
/// touches there would stay resident in the main thread for the daemon's whole life. A
/// thread's stack is unmapped when it ends.
fn new_node(key: protocol_core::identity::PrivateKey) -> Result<Box<FcNode>, String> {
    let size = std::mem::size_of::<FcNode>();
    let node = std::thread::Builder::new()
        .name("fc00d-init".into())
        .stack_size(4 * size + (256 << 10))
        .spawn(move || Box::new(FcNode::new(key, &mut OsRng)))
        .map_err(|e| format!("cannot start the init thread: {e}"))?
        .join()
        .map_err(|_| "node construction failed".to_string())?;
    log_debug!("node state: {size} bytes");
    Ok(node)
}

/// Add a socket the admin API opened to the poll set.
fn register_new_socket(poll: &Poll, sources: &mut Vec<Source>, links: &mut Links, new: NewSocket) {
    let (source, sock) = match new {
        NewSocket::Udp { idx, v6 } => {
            let u = links.udp.get_mut(idx);
            let sock = u.and_then(|u| if v6 { u.v6.as_mut() } else { u.v4.as_mut() });
            (Source::Udp { idx, v6 }, sock)
        }
        NewSocket::UdpBeacon(idx) => (
            Source::UdpBeacon(idx),
            links.udp.get_mut(idx).and_then(|u| u.beacon.as_mut()),
        ),
    };
    let Some(sock) = sock else { return };
    sources.push(source);
    let tok = Token(sources.len() - 1);
    if let Err(e) = poll.registry().register(sock, tok, Interest::READABLE) {
        log_warn!("admin: cannot poll the new socket: {e}");
    }
}

fn epoch_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn v6_of(s: Source) -> bool {
    matches!(s, Source::Udp { v6: true, .. })
}
