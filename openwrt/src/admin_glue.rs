//! `admin::AdminApi` over the daemon's node: the admin module formats replies, this fills
//! them with facts and starts pings.

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use protocol_core::crypto::session::State as CryptoState;
use protocol_core::crypto::AddUserError;
use protocol_core::identity::{label_to_string, Ip6, NodeAddress, PublicKey};
use protocol_core::node::{LinkAddr, PeerConfig};
use protocol_core::switch::label::{log2, routes_through, unsplice};
use protocol_core::switch::EncodingScheme;
use rand_core::OsRng;

use crate::admin::{
    AdminApi, BeaconError, BeaconState, IfaceRow, NodeDetail, NodeInfo, NodeRow, PeerRow,
    PeerState, PingResult, PingTicket, RouterPong, RouterPongFrom, SessionRow, UdpConnect,
};
use crate::daemon::{FcNode, Links, NewSocket};
use protocol_core::router::QUERY_TIMEOUT_MS;

/// Our protocol version, as `Core_nodeInfo` and node addresses print it.
const VERSION: u32 = 22;

/// A ping the admin API started: the reply goes to `to` when it ends.
#[derive(Debug, Clone)]
pub struct PendingPing {
    pub ticket: PingTicket,
    pub to: SocketAddr,
    /// Switch ping path; `None` for pings completed at the next turn of the loop.
    pub path: Option<u64>,
    /// Router ping id ([`protocol_core::node::Node::router_ping`]).
    pub router_id: Option<u32>,
    pub sent_ms: u64,
    pub deadline_ms: u64,
    /// Set for pings that ended before `handle` returned (refused, unsupported).
    pub immediate: Option<PingResult>,
}

/// Admin state that lives as long as the daemon.
#[derive(Debug, Default)]
pub struct AdminState {
    pub pings: Vec<PendingPing>,
    pub next_ticket: u64,
    pub exit_requested: bool,
    /// Sockets opened by `UDPInterface_new` / `ETHInterface_beacon`, for the daemon to add
    /// to its poll set once the request is handled.
    pub new_sockets: Vec<NewSocket>,
}

/// Most pings in flight; more are refused as the reference refuses them.
const MAX_PINGS: usize = 64;

pub(crate) struct Api<'a> {
    pub(crate) node: &'a mut FcNode,
    pub(crate) links: &'a mut Links,
    pub(crate) state: &'a mut AdminState,
    pub(crate) now_ms: u64,
    /// Sender of the request being handled.
    pub(crate) from: SocketAddr,
}

fn node_addr(version: u32, label: u64, key: &PublicKey) -> String {
    format!(
        "v{version}.{}.{}",
        label_to_string(label),
        key.to_k_string()
    )
}

fn ip_string(ip: &Ip6) -> String {
    ip.to_full_string().to_string()
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An end-to-end session's CryptoAuth state in the words `SessionManager_sessionStats` uses.
fn session_state(state: CryptoState) -> PeerState {
    match state {
        CryptoState::Init => PeerState::Init,
        CryptoState::SentHello => PeerState::SentHello,
        CryptoState::ReceivedHello => PeerState::ReceivedHello,
        CryptoState::SentKey => PeerState::SentKey,
        CryptoState::ReceivedKey => PeerState::ReceivedKey,
        CryptoState::Established => PeerState::Established,
    }
}

impl Api<'_> {
    fn new_ticket(&mut self, path: Option<u64>, timeout_ms: u32) -> Option<PingTicket> {
        if self.state.pings.len() >= MAX_PINGS {
            return None;
        }
        self.state.next_ticket += 1;
        let ticket = PingTicket(self.state.next_ticket);
        self.state.pings.push(PendingPing {
            ticket,
            to: self.from,
            path,
            router_id: None,
            sent_ms: self.now_ms,
            deadline_ms: self.now_ms + u64::from(timeout_ms.max(1)),
            immediate: None,
        });
        Some(ticket)
    }

    fn immediate(&mut self, result: PingResult) -> PingTicket {
        self.state.next_ticket += 1;
        let ticket = PingTicket(self.state.next_ticket);
        self.state.pings.push(PendingPing {
            ticket,
            to: self.from,
            path: None,
            router_id: None,
            sent_ms: self.now_ms,
            deadline_ms: self.now_ms,
            immediate: Some(result),
        });
        ticket
    }
    /// The node-store tree as the reference keeps it, rebuilt from paths: a node's parent
    /// is the known node with the longest path its own path runs through (we, path 1, for
    /// peers). `(parent ip6, parent path)` of `path`.
    fn parent_of(&self, path: u64) -> (String, u64) {
        let me = self.node.public_key().address().map(|a| ip_string(&a));
        self.node
            .router()
            .nodes()
            .filter(|n| n.address.label != path && n.address.label > 1)
            .filter(|n| routes_through(path, n.address.label))
            .max_by_key(|n| log2(n.address.label))
            .map(|n| (ip_string(&n.ip6), n.address.label))
            .unwrap_or_else(|| (me.unwrap_or_default(), 1))
    }

    fn children_of(&self, path: u64) -> u32 {
        self.node
            .router()
            .nodes()
            .filter(|n| n.address.label != path && n.address.label > 1)
            .filter(|n| self.parent_of(n.address.label).1 == path)
            .count() as u32
    }
}

/// Devices `getifaddrs` would list as `AF_PACKET`: every link, by interface index.
fn packet_devices() -> Result<Vec<String>, String> {
    let dir = std::fs::read_dir("/sys/class/net").map_err(|e| format!("getifaddrs() -> {e}"))?;
    let mut devs: Vec<(u32, String)> = dir
        .flatten()
        .filter_map(|e| {
            let index = std::fs::read_to_string(e.path().join("ifindex")).ok()?;
            Some((
                index.trim().parse().ok()?,
                e.file_name().to_string_lossy().into_owned(),
            ))
        })
        .collect();
    devs.sort();
    Ok(devs.into_iter().map(|(_, name)| name).collect())
}

impl AdminApi for Api<'_> {
    fn node_info(&self) -> NodeInfo {
        let key = self.node.public_key();
        NodeInfo {
            my_addr: node_addr(VERSION, 1, key),
            my_ip6: key.address().map(|a| ip_string(&a)).unwrap_or_default(),
            encoding_scheme: EncodingScheme::v358(),
            version: VERSION,
        }
    }

    fn peers(&self) -> Vec<PeerRow> {
        let stats = self.node.stats();
        let (now, epoch) = (self.now_ms, epoch_ms());
        stats
            .peers
            .iter()
            .flatten()
            .map(|p| {
                let user = [p.user.as_str(), p.name.as_str()]
                    .into_iter()
                    .find(|s| !s.is_empty())
                    .map(str::to_string);
                let c = p.counters;
                PeerRow {
                    addr: node_addr(p.version, p.label, &p.key),
                    bytes_in: c.bytes_in,
                    bytes_out: c.bytes_out,
                    recv_kbps: c.kbps_in,
                    send_kbps: c.kbps_out,
                    lladdr: p.addr_string().to_string(),
                    state: p.state,
                    last_ms: epoch.saturating_sub(now.saturating_sub(c.last_seen_ms)),
                    is_incoming: p.is_incoming,
                    duplicates: c.duplicates,
                    lost_packets: c.lost,
                    received_out_of_range: c.out_of_range,
                    received_packets: c.packets_in as u32,
                    noise_proto: false,
                    if_num: p.link.0 as u32,
                    user,
                }
            })
            .collect()
    }

    fn sessions(&self) -> Vec<SessionRow> {
        let (now, epoch) = (self.now_ms, epoch_ms());
        self.node
            .sessions()
            .sessions()
            .map(|s| SessionRow {
                handle: s.receive_handle,
                send_handle: s.send_handle.unwrap_or(0),
                addr: node_addr(s.version, s.best_label, &s.key),
                ip6: ip_string(&s.ip6),
                state: session_state(s.state),
                metric: s.metric,
                duplicates: s.duplicates,
                lost_packets: s.lost_packets,
                received_out_of_range: s.received_out_of_range,
                noise_proto: false,
                time_of_last_usage: s
                    .last_use_ms
                    .map(|t| epoch.saturating_sub(now.saturating_sub(t)))
                    .unwrap_or(0),
            })
            .collect()
    }

    fn new_udp(
        &mut self,
        bind: SocketAddr,
        beacon_port: u16,
        name: &str,
    ) -> Result<(u32, String), String> {
        let (link, bound) = crate::daemon::new_udp_link(
            self.node,
            self.links,
            &mut self.state.new_sockets,
            bind,
            beacon_port,
            name.to_string(),
        )?;
        Ok((link, bound.to_string()))
    }

    fn set_beacon(&mut self, if_num: u32, state: u32) -> Result<(), BeaconError> {
        crate::daemon::set_link_beacon(
            self.node,
            self.links,
            &mut self.state.new_sockets,
            if_num,
            state,
        )
    }

    fn eth_devices(&self) -> Result<Vec<String>, String> {
        packet_devices()
    }

    fn node_for_addr(&self, ip: Option<std::net::Ipv6Addr>) -> Option<NodeDetail> {
        let key = *self.node.public_key();
        let my_ip = key.address().ok()?;
        let me = ip_string(&my_ip);
        let scheme = EncodingScheme::v358();
        match ip {
            Some(ip) if ip.octets() != *my_ip.as_bytes() => {
                let n = self
                    .node
                    .router()
                    .nodes()
                    .find(|n| *n.ip6.as_bytes() == ip.octets())?;
                let path = n.address.label;
                let (parent_ip6, parent_path) = self.parent_of(path);
                let parent_child_label = unsplice(path, parent_path);
                Some(NodeDetail {
                    protocol_version: n.address.version,
                    key: n.address.key.to_k_string().to_string(),
                    link_count: self.children_of(path) + 1,
                    cost: u64::from(u32::MAX - n.reach.min(u32::MAX - 1)),
                    is_one_hop: scheme.is_one_hop(parent_child_label),
                    encoding_scheme: scheme,
                    parent_ip6,
                    parent_child_label,
                    route_label: path,
                })
            }
            // Ourselves: our self-route link plus one per node hanging off us.
            _ => Some(NodeDetail {
                protocol_version: VERSION,
                key: key.to_k_string().to_string(),
                link_count: self.children_of(1) + 2,
                cost: 0,
                encoding_scheme: scheme,
                parent_ip6: me,
                parent_child_label: 1,
                is_one_hop: false,
                route_label: 1,
            }),
        }
    }

    fn interfaces(&self) -> Vec<IfaceRow> {
        let beacon = |mode: u8| match mode {
            2 => BeaconState::Sending,
            1 => BeaconState::Accepting,
            _ => BeaconState::Disabled,
        };
        let mut rows: Vec<IfaceRow> = Vec::new();
        for u in &self.links.udp {
            let (family, sock) = match (&u.v4, &u.v6) {
                (Some(s), _) => ("IPv4", s),
                (None, Some(s)) => ("IPv6", s),
                (None, None) => continue,
            };
            let local = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
            rows.push(IfaceRow {
                if_num: u.link.0 as u32,
                name: u
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("UDP/{family}/{local}")),
                beacon_state: beacon(u.beacon_mode),
            });
        }
        for e in &self.links.eth {
            rows.push(IfaceRow {
                if_num: e.link.0 as u32,
                name: format!("ETH/{}", e.name),
                beacon_state: beacon(e.beacon),
            });
        }
        rows.sort_by_key(|r| r.if_num);
        rows
    }

    fn nodes(&self) -> Vec<NodeRow> {
        let now = self.now_ms;
        self.node
            .router()
            .nodes()
            .map(|n| NodeRow {
                addr: node_addr(n.address.version, n.address.label, &n.address.key),
                ip: ip_string(&n.ip6),
                path: n.address.label,
                link: u64::from(u32::MAX - n.reach.min(u32::MAX - 1)),
                version: n.address.version,
                time: now.saturating_sub(n.last_seen_ms),
                bucket: u32::from(n.bucket),
            })
            .collect()
    }

    fn connect_udp(&mut self, req: UdpConnect) -> Result<(), String> {
        if req.public_key.len() != 54 && !req.public_key.ends_with(".k") {
            return Err("key must end in .k".into());
        }
        let key = PublicKey::parse_k(&req.public_key)
            .map_err(|_| "not a valid cjdns public key".to_string())?;
        let addr: SocketAddr = req
            .address
            .parse()
            .map_err(|_| "unable to parse ip address and port.".to_string())?;
        // Interface numbers are link numbers, shared with Ethernet as in the reference.
        let udp = self
            .links
            .udp
            .iter()
            .find(|u| u.link.0 as u32 == req.interface_number)
            .ok_or_else(|| "no such interface for interfaceNumber".to_string())?;
        let fits = if addr.is_ipv4() {
            udp.v4.is_some()
        } else {
            udp.v6.is_some()
        };
        if !fits {
            return Err("different address type than this socket is bound to.".into());
        }
        let link = udp.link;
        let password = req.password.unwrap_or_default();
        let name = req
            .peer_name
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .unwrap_or_else(|| addr.to_string());
        let to = match addr {
            SocketAddr::V4(a) => LinkAddr::Udp4 {
                ip: a.ip().octets(),
                port: a.port(),
            },
            SocketAddr::V6(a) => LinkAddr::Udp6 {
                ip: a.ip().octets(),
                port: a.port(),
            },
        };
        self.node
            .connect(
                link,
                to,
                PeerConfig {
                    public_key: key,
                    password: &password,
                    login: req.login.as_deref(),
                    name: &name,
                    version: req.version.and_then(|v| u32::try_from(v).ok()).unwrap_or(0),
                },
                self.links,
            )
            .map_err(|_| "no more space to register with the switch.".to_string())
    }

    fn disconnect_peer(&mut self, key: &str) -> Result<(), String> {
        let key = PublicKey::parse_k(key).map_err(|_| "bad key".to_string())?;
        if self
            .node
            .disconnect(&key, self.now_ms, &mut OsRng, self.links)
        {
            Ok(())
        } else {
            Err("no peer found for that key".into())
        }
    }

    fn add_password(
        &mut self,
        password: &str,
        user: Option<&str>,
        ipv6: Option<&str>,
    ) -> Result<(), String> {
        // The admin layer has checked `ipv6` parses; a non-fc address can match no key.
        let ipv6 = ipv6
            .and_then(crate::admin::parse_ip6_text)
            .map(|ip| Ip6(ip.octets()));
        self.node
            .add_password_restricted(password.as_bytes(), user.map(str::as_bytes), ipv6)
            .map_err(|e| match e {
                AddUserError::DuplicateLogin => "Password already added.".to_string(),
                _ => "Unknown error.".to_string(),
            })
    }

    fn list_users(&self) -> Vec<String> {
        self.node
            .peering()
            .ca
            .users
            .logins()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    fn remove_user(&mut self, user: &str) -> Result<(), String> {
        if self.node.remove_passwords(user.as_bytes()) > 0 {
            Ok(())
        } else {
            Err("Unknown error.".into())
        }
    }

    fn switch_ping(&mut self, path: u64, data: &[u8], timeout_ms: u32) -> PingTicket {
        let Some(ticket) = self.new_ticket(Some(path), timeout_ms) else {
            return self.immediate(PingResult::Error(
                "no open slots to store ping, try later.".into(),
            ));
        };
        if self
            .node
            .switch_ping(path, data, self.now_ms, &mut OsRng, self.links)
            .is_err()
        {
            self.state.pings.retain(|p| p.ticket != ticket);
            return self.immediate(PingResult::Error("parse_path".into()));
        }
        ticket
    }

    fn router_ping(&mut self, target: &str, timeout_ms: u32) -> PingTicket {
        // `getNode`: a label must be a known node's path, an address must be in the store;
        // a full `v22.<path>.<key>.k` is pinged as given.
        let my_key = *self.node.public_key();
        let node = if target.len() == 19 {
            let label = protocol_core::identity::parse_label(target).unwrap_or(0);
            if label == 1 {
                None
            } else {
                let found = self
                    .node
                    .router()
                    .nodes()
                    .find(|n| n.address.label == label)
                    .map(|n| n.address);
                match found {
                    Some(a) => Some(a),
                    None => return self.immediate(PingResult::Error("not_found".into())),
                }
            }
        } else if let Some(ip) = crate::admin::parse_ip6_text(target) {
            let ip = Ip6(ip.octets());
            if my_key.address().ok() == Some(ip) {
                None
            } else {
                match self.node.router().lookup(&ip) {
                    Some(a) => Some(a),
                    None => return self.immediate(PingResult::Error("not_found".into())),
                }
            }
        } else {
            match NodeAddress::parse(target) {
                Ok(a) if a.key == my_key => None,
                Ok(a) => Some(a),
                Err(_) => return self.immediate(PingResult::Error("parse_path".into())),
            }
        };
        let Some(node) = node else {
            // Ourselves: the reference's router answers its own ping at once.
            let ip6 = my_key.address().map(|a| ip_string(&a)).unwrap_or_default();
            return self.immediate(PingResult::Router(RouterPong {
                from: Some(RouterPongFrom {
                    addr: node_addr(VERSION, 1, &my_key),
                    ip6,
                    path: 1,
                    version_bin: None,
                    protocol: Some(i64::from(VERSION)),
                }),
                ms: 0,
            }));
        };
        // The router gives up after its query timeout; a shorter admin timeout ends sooner.
        let timeout = match timeout_ms {
            0 => QUERY_TIMEOUT_MS as u32 + 500,
            t => t,
        };
        let Some(ticket) = self.new_ticket(None, timeout) else {
            return self.immediate(PingResult::Error(
                "no open slots to store ping, try later.".into(),
            ));
        };
        match self
            .node
            .router_ping(&node, self.now_ms, &mut OsRng, self.links)
        {
            Ok(id) => {
                if let Some(p) = self.state.pings.iter_mut().find(|p| p.ticket == ticket) {
                    p.router_id = Some(id);
                }
                ticket
            }
            Err(_) => {
                self.state.pings.retain(|p| p.ticket != ticket);
                self.immediate(PingResult::Error("not_found".into()))
            }
        }
    }

    fn pid(&self) -> u32 {
        std::process::id()
    }

    fn exit(&mut self) {
        self.state.exit_requested = true;
    }
}

/// The admin API over a real node with no sockets and no TUN (`UDPInterface_new` is
/// refused): what the daemon does with a request datagram, minus the network. For fuzzing
/// and tests.
pub struct AdminHarness {
    node: Box<FcNode>,
    links: Links,
    state: AdminState,
    server: crate::admin::AdminServer,
    now_ms: u64,
}

impl AdminHarness {
    /// A node with `key`, admin `password` (as in the config; `"NONE"` = no auth).
    pub fn new(key: protocol_core::identity::PrivateKey, password: Option<String>) -> Self {
        AdminHarness {
            node: Box::new(FcNode::new(key, &mut OsRng)),
            links: Links::sandbox(),
            state: AdminState::default(),
            server: crate::admin::AdminServer::new(password),
            now_ms: 1,
        }
    }

    /// One request datagram from `from`: the immediate reply, then the replies to pings
    /// that ended by `advance_ms` later (timeouts included), as the daemon would send them.
    pub fn handle(
        &mut self,
        request: &[u8],
        now_secs: u64,
        advance_ms: u64,
        from: SocketAddr,
    ) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut api = Api {
            node: &mut self.node,
            links: &mut self.links,
            state: &mut self.state,
            now_ms: self.now_ms,
            from,
        };
        if let Some(reply) = self.server.handle(request, now_secs, &mut api) {
            out.push(reply);
        }
        self.now_ms = self.now_ms.saturating_add(advance_ms.min(1 << 40));
        self.node.poll(self.now_ms, &mut OsRng, &mut self.links);
        self.links.take_events();
        let now = self.now_ms;
        let (done, pending): (Vec<PendingPing>, Vec<PendingPing>) =
            std::mem::take(&mut self.state.pings)
                .into_iter()
                .partition(|p| p.immediate.is_some() || now >= p.deadline_ms);
        self.state.pings = pending;
        for mut p in done {
            let result = p.immediate.take().unwrap_or_else(|| {
                PingResult::Switch(crate::admin::SwitchPong::new(
                    crate::admin::SwitchPingOutcome::Timeout,
                    now.saturating_sub(p.sent_ms) as u32,
                    0,
                ))
            });
            if let Some(reply) = self.server.complete(p.ticket, result) {
                out.push(reply);
            }
        }
        out
    }

    /// Whether a request asked the daemon to exit.
    pub fn exit_requested(&self) -> bool {
        self.state.exit_requested
    }
}
