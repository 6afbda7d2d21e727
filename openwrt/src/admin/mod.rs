//! cjdns-compatible admin RPC server, sans-IO: bencoded request datagrams in, reply
//! datagrams out, byte for byte what cjdns v22.3 (`admin/Admin.c` and the `*_admin.c`
//! modules) would send for the same state.
//!
//! How the daemon drives it:
//! * for each datagram on the admin socket, `server.handle(bytes, now_secs, &mut api)`
//!   and send the `Some(reply)` back to the sender;
//! * [`AdminApi::switch_ping`] / [`AdminApi::router_ping`] return a [`PingTicket`] the
//!   daemon picks; it keeps `ticket -> sender address` (the sender of the datagram being
//!   handled), and when the ping ends calls [`AdminServer::complete`] and sends the
//!   returned datagram to that address;
//! * [`AdminApi::exit`] is called before the `Core_exit` reply is returned: send the
//!   reply, then exit.
//!
//! What the reference does and we copy: replies padded to 4 bytes (`d0005:...`), keys
//! sorted, `txid` echoed when non-empty, lists in each page reversed (cjdns prepends
//! list items), page sizes per function, its error texts, and silence for unparsable
//! requests. Functions we do not offer answer "No functions matched your request...".

pub mod api;
pub mod auth;
pub mod benc;
pub mod client;
pub mod functions;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use protocol_core::identity::{label_to_string, parse_label, PublicKey};

pub use api::{
    AdminApi, BeaconError, BeaconState, IfaceRow, NodeDetail, NodeInfo, NodeRow, PeerRow,
    PeerState, PingResult, PingTicket, RouterPong, RouterPongFrom, SessionRow, SwitchPingKind,
    SwitchPingOutcome, SwitchPong, UdpConnect,
};
use benc::{encode_dict, BDict, Benc, MAX_RESPONSE_SIZE};
use functions::{Func, FUNCTIONS};

/// Requests longer than this get [`TOO_BIG_REPLY`] (`Admin_MAX_REQUEST_SIZE`).
pub const MAX_REQUEST_SIZE: usize = 2048;

/// Sent, as is (no txid, no padding), for an oversize request.
pub const TOO_BIG_REPLY: &[u8] = b"d5:error16:Request too big.e";

/// Sent when no function matches the name, or it needs auth that was not given.
pub const NO_MATCH_ERROR: &str =
    "No functions matched your request, try Admin_availableFunctions()";

/// Page sizes of the reference's list functions.
const FUNCTIONS_PER_PAGE: i64 = 8;
/// Also used for `InterfaceController_interfaces`, which shares the constant.
const PEERS_PER_PAGE: i64 = 6;
const HANDLES_PER_PAGE: i64 = 64;
const NODES_PER_PAGE: i64 = 4;
const USERS_PER_PAGE: i64 = 16;

/// `SwitchPinger_ping`'s timeout when none is given.
const DEFAULT_SWITCH_PING_TIMEOUT_MS: u32 = 2000;

/// Pings in flight kept at most; beyond this the oldest is forgotten (the daemon
/// should have completed it long before).
const MAX_PENDING_PINGS: usize = 4096;

type Map = BTreeMap<Vec<u8>, Benc>;

/// What a ping in flight needs for its reply.
#[derive(Clone, Debug)]
struct Pending {
    txid: Option<Vec<u8>>,
    kind: PendingKind,
}

#[derive(Clone, Debug)]
enum PendingKind {
    /// The path string as the client sent it, echoed in the reply.
    Switch {
        path: Vec<u8>,
    },
    Router,
}

/// What a handler produced.
enum Outcome {
    Reply(BDict),
    Later(PingTicket, PendingKind),
}

/// The admin RPC server state: the password and the pings in flight.
///
/// Cookies need no state: like the reference, any cookie from the last 20 seconds of
/// the caller's clock is accepted.
#[derive(Debug)]
pub struct AdminServer {
    password: Option<Vec<u8>>,
    pending: BTreeMap<PingTicket, Pending>,
    order: std::collections::VecDeque<PingTicket>,
}

impl AdminServer {
    /// `password` `None` allows only the functions that need no auth; `"NONE"` (as in
    /// the reference) allows everything without auth.
    pub fn new(password: Option<String>) -> Self {
        AdminServer {
            password: password.map(String::into_bytes),
            pending: BTreeMap::new(),
            order: std::collections::VecDeque::new(),
        }
    }

    /// One request datagram in, at most one reply datagram out (None = send nothing).
    /// `now_secs` is the daemon's clock for cookies (20 s validity).
    pub fn handle(
        &mut self,
        request: &[u8],
        now_secs: u64,
        api: &mut dyn AdminApi,
    ) -> Option<Vec<u8>> {
        if request.len() > MAX_REQUEST_SIZE {
            return Some(TOO_BIG_REPLY.to_vec());
        }
        // Unparsable requests, or bytes after the dict, are dropped silently.
        let message = Benc::parse_message(request).ok()?;
        let mut query = message.get(b"q".as_slice())?.as_bytes()?;
        let txid = message
            .get(b"txid".as_slice())
            .and_then(Benc::as_bytes)
            .map(<[u8]>::to_vec);

        if query == b"cookie" {
            let cookie = (now_secs as u32).to_string();
            return finish(BDict::new().with("cookie", cookie), txid.as_deref());
        }

        let mut authed = false;
        if query == b"auth" {
            if !auth::auth_valid(&message, request, self.password.as_deref(), now_secs) {
                return finish(BDict::new().with("error", "Auth failed."), txid.as_deref());
            }
            // A missing `aq` matches no function.
            let Some(aq) = message.get(b"aq".as_slice()).and_then(Benc::as_bytes) else {
                return finish(BDict::new().with("error", NO_MATCH_ERROR), txid.as_deref());
            };
            query = aq;
            authed = true;
        }
        if self.password.as_deref() == Some(b"NONE".as_slice()) {
            authed = true;
        }

        let Some(spec) = functions::lookup(query).filter(|f| authed || !f.needs_auth) else {
            return finish(BDict::new().with("error", NO_MATCH_ERROR), txid.as_deref());
        };
        let args = message.get(b"args".as_slice()).and_then(Benc::as_dict);
        if let Err(e) = spec.check_args(args) {
            return finish(BDict::new().with("error", e), txid.as_deref());
        }
        match self.call(spec.func, args, api) {
            Outcome::Reply(reply) => finish(reply, txid.as_deref()),
            Outcome::Later(ticket, kind) => {
                self.remember(ticket, Pending { txid, kind });
                None
            }
        }
    }

    /// The reply datagram for a finished ping, to go to the address the daemon kept
    /// for `ticket`; `None` if the ticket is unknown (already completed or cancelled).
    pub fn complete(&mut self, ticket: PingTicket, result: PingResult) -> Option<Vec<u8>> {
        let pending = self.pending.remove(&ticket)?;
        self.order.retain(|t| *t != ticket);
        let reply = match (result, &pending.kind) {
            (PingResult::Error(e), _) => BDict::new().with("error", e),
            (PingResult::Switch(pong), PendingKind::Switch { path }) => {
                switch_pong_reply(&pong, path)
            }
            (PingResult::Router(pong), PendingKind::Router) => router_pong_reply(&pong),
            // A result of the other kind: answer with what the request asked for.
            (PingResult::Router(pong), PendingKind::Switch { path }) => {
                let outcome = if pong.from.is_some() {
                    SwitchPingOutcome::Pong
                } else {
                    SwitchPingOutcome::Timeout
                };
                switch_pong_reply(&SwitchPong::new(outcome, pong.ms, 0), path)
            }
            (PingResult::Switch(pong), PendingKind::Router) => router_pong_reply(&RouterPong {
                from: None,
                ms: pong.ms,
            }),
        };
        finish(reply, pending.txid.as_deref())
    }

    /// Forget a ping without replying.
    pub fn cancel(&mut self, ticket: PingTicket) {
        self.pending.remove(&ticket);
        self.order.retain(|t| *t != ticket);
    }

    /// Pings started and not yet completed.
    pub fn pending_pings(&self) -> usize {
        self.pending.len()
    }

    fn remember(&mut self, ticket: PingTicket, pending: Pending) {
        if self.pending.insert(ticket, pending).is_none() {
            self.order.push_back(ticket);
        }
        while self.pending.len() > MAX_PENDING_PINGS {
            match self.order.pop_front() {
                Some(old) => {
                    self.pending.remove(&old);
                }
                None => break,
            }
        }
    }

    fn call(&mut self, func: Func, args: Option<&Map>, api: &mut dyn AdminApi) -> Outcome {
        let reply = match func {
            Func::AvailableFunctions => available_functions(args),
            Func::Interfaces => interfaces(args, &api.interfaces()),
            Func::PeerStats => peer_stats(args, &api.peers()),
            Func::DisconnectPeer => disconnect_peer(args, api),
            Func::SwitchPing => return switch_ping(args, api),
            Func::UdpBeginConnection => begin_connection(args, api),
            Func::PasswordsAdd => passwords_add(args, api),
            Func::PasswordsRemove => {
                let user = arg_str(args, "user").unwrap_or_default();
                error_reply(api.remove_user(&String::from_utf8_lossy(user)))
            }
            Func::PasswordsList => passwords_list(args, &api.list_users()),
            Func::Ping => BDict::new().with("q", "pong"),
            Func::GetHandles => get_handles(args, &api.sessions()),
            Func::SessionStats => {
                let handle = arg_int(args, "handle").unwrap_or_default() as u32;
                session_reply(api.sessions().iter().find(|s| s.handle == handle))
            }
            Func::SessionStatsByIp => session_by_ip(args, &api.sessions()),
            Func::CoreExit => {
                api.exit();
                BDict::new().with("error", "none")
            }
            Func::CorePid => BDict::new().with("pid", i64::from(api.pid())),
            Func::NodeInfo => node_info(&api.node_info()),
            Func::DumpTable => dump_table(args, &api.nodes(), api.node_store_peer_count()),
            Func::RouterPingNode => return router_ping(args, api),
            Func::UdpNew => udp_new(args, api),
            Func::EthBeacon => eth_beacon(args, api),
            Func::EthListDevices => match api.eth_devices() {
                Ok(devices) => {
                    let list: Vec<Benc> = devices.iter().rev().map(|d| d.as_str().into()).collect();
                    BDict::new().with("devices", list).with("error", "none")
                }
                Err(e) => BDict::new().with("error", e),
            },
            Func::NodeForAddr => node_for_addr(args, api),
        };
        Outcome::Reply(reply)
    }
}

/// Add the txid (if the request had a non-empty one) and encode with cjdns padding.
fn finish(mut reply: BDict, txid: Option<&[u8]>) -> Option<Vec<u8>> {
    if let Some(txid) = txid.filter(|t| !t.is_empty()) {
        reply.put("txid", txid);
    }
    encode_dict(&reply.0, true, MAX_RESPONSE_SIZE)
}

fn arg_int(args: Option<&Map>, name: &str) -> Option<i64> {
    args?.get(name.as_bytes())?.as_int()
}

fn arg_str<'a>(args: Option<&'a Map>, name: &str) -> Option<&'a [u8]> {
    args?.get(name.as_bytes())?.as_bytes()
}

fn error_reply(result: Result<(), String>) -> BDict {
    match result {
        Ok(()) => BDict::new().with("error", "none"),
        Err(e) => BDict::new().with("error", e),
    }
}

/// The reference's paging loop `for (c = 0; i < count && c++ < per; i++)` with `i`
/// starting at `start` (page times page size, already truncated as the reference's C
/// types truncate): the indices listed and whether `i < count` afterwards (`more`).
/// Negative indices, which the reference would read out of bounds, list nothing.
fn page_window(start: i64, per_page: i64, count: usize) -> (Vec<usize>, bool) {
    let count = count as i64;
    let mut i = start;
    let mut taken = 0;
    let mut rows = Vec::new();
    while i < count && taken < per_page {
        if i >= 0 {
            rows.push(i as usize);
        }
        taken += 1;
        i += 1;
    }
    (rows, i < count)
}

/// `int i = *page * N`: 64-bit product truncated to a C `int`.
fn c_int_start(page: Option<i64>, per_page: i64) -> i64 {
    i64::from(page.unwrap_or(0).wrapping_mul(per_page) as i32)
}

/// Lists in cjdns replies are built by prepending, so each page comes out reversed.
fn reversed_list<T>(rows: &[usize], items: &[T], f: impl Fn(&T) -> Benc) -> Benc {
    Benc::List(
        rows.iter()
            .rev()
            .filter_map(|&i| items.get(i))
            .map(f)
            .collect(),
    )
}

fn available_functions(args: Option<&Map>) -> BDict {
    // `uint32_t i = *page * 8`.
    let start = i64::from(
        arg_int(args, "page")
            .unwrap_or(0)
            .wrapping_mul(FUNCTIONS_PER_PAGE) as u32,
    );
    let (rows, _) = page_window(start, FUNCTIONS_PER_PAGE, FUNCTIONS.len());
    let mut listed = BDict::new();
    for &i in &rows {
        if let Some(f) = FUNCTIONS.get(i) {
            listed.put(f.name, f.args_dict());
        }
    }
    let mut reply = BDict::new().with("availableFunctions", listed);
    // The reference says `more` whenever the page is full, even if it was the last.
    if rows.len() as i64 >= FUNCTIONS_PER_PAGE {
        reply.put("more", 1);
    }
    reply
}

fn interfaces(args: Option<&Map>, ifaces: &[IfaceRow]) -> BDict {
    let start = c_int_start(arg_int(args, "page"), PEERS_PER_PAGE);
    let (rows, more) = page_window(start, PEERS_PER_PAGE, ifaces.len());
    let list = reversed_list(&rows, ifaces, |i| {
        BDict::new()
            .with("beaconState", i.beacon_state.as_str())
            .with("ifNum", i64::from(i.if_num))
            .with("name", i.name.as_str())
            .into()
    });
    let mut reply = BDict::new()
        .with("ifaces", list)
        .with("total", ifaces.len() as i64);
    if more {
        reply.put("more", 1);
    }
    reply
}

fn peer_stats(args: Option<&Map>, peers: &[PeerRow]) -> BDict {
    let start = c_int_start(arg_int(args, "page"), PEERS_PER_PAGE);
    let (rows, more) = page_window(start, PEERS_PER_PAGE, peers.len());
    let mut reply = BDict::new()
        .with("peers", reversed_list(&rows, peers, peer_dict))
        .with("total", peers.len() as i64);
    if more {
        reply.put("more", 1);
    }
    reply
}

fn peer_dict(p: &PeerRow) -> Benc {
    let mut d = BDict::new()
        .with("addr", p.addr.as_str())
        .with("bytesIn", p.bytes_in as i64)
        .with("bytesOut", p.bytes_out as i64)
        .with("duplicates", i64::from(p.duplicates))
        .with("ifNum", i64::from(p.if_num))
        .with("isIncoming", i64::from(p.is_incoming))
        .with("last", p.last_ms as i64)
        .with("lladdr", p.lladdr.as_str())
        .with("lostPackets", i64::from(p.lost_packets))
        .with("noiseProto", i64::from(p.noise_proto))
        .with("receivedOutOfRange", i64::from(p.received_out_of_range))
        .with("receivedPackets", i64::from(p.received_packets))
        .with("recvKbps", i64::from(p.recv_kbps))
        .with("sendKbps", i64::from(p.send_kbps))
        .with("state", p.state.as_str());
    if let Some(user) = &p.user {
        d.put("user", user.as_str());
    }
    d.into()
}

fn disconnect_peer(args: Option<&Map>, api: &mut dyn AdminApi) -> BDict {
    let key = arg_str(args, "pubkey").unwrap_or_default();
    // `Key_parse`, which ignores anything after `<52 chars>.k`.
    let parsed = std::str::from_utf8(key)
        .ok()
        .filter(|k| PublicKey::parse_k_prefix(k).is_ok());
    let result = match parsed {
        None => Err("bad key".to_string()),
        Some(k) => api.disconnect_peer(k),
    };
    let mut reply = BDict::new();
    match result {
        Ok(()) => {
            reply.put("success", 1).put("sessionsDisconnected", 1);
        }
        Err(e) => {
            reply
                .put("success", 0)
                .put("error", e)
                .put("sessionsDisconnected", 0);
        }
    }
    reply
}

fn switch_ping(args: Option<&Map>, api: &mut dyn AdminApi) -> Outcome {
    let path_str = arg_str(args, "path").unwrap_or_default();
    let timeout = arg_int(args, "timeout")
        .map(|t| t as u32)
        .unwrap_or(DEFAULT_SWITCH_PING_TIMEOUT_MS);
    let data = arg_str(args, "data").unwrap_or_default();
    let flag = |name| arg_int(args, name).is_some_and(|v| v != 0);
    let (key_ping, lladdr, snode, rpath) = (
        flag("keyPing"),
        flag("lladdr"),
        flag("snode"),
        flag("rpath"),
    );
    if u8::from(key_ping) + u8::from(lladdr) + u8::from(snode) > 1 {
        return Outcome::Reply(
            BDict::new().with("error", "Can only be one of keyPing, lladdr, OR snode"),
        );
    }
    let path = std::str::from_utf8(path_str)
        .ok()
        .and_then(|s| parse_label(s).ok());
    let Some(path) = path else {
        return Outcome::Reply(BDict::new().with("error", "path was not parsable."));
    };
    let kind = if key_ping {
        SwitchPingKind::KeyPing
    } else if lladdr {
        SwitchPingKind::LlAddr
    } else if snode {
        SwitchPingKind::GetSnode
    } else if rpath {
        SwitchPingKind::RPath
    } else {
        SwitchPingKind::Ping
    };
    let ticket = if kind == SwitchPingKind::Ping {
        api.switch_ping(path, data, timeout)
    } else {
        api.switch_ping_kind(path, data, timeout, kind)
    };
    Outcome::Later(
        ticket,
        PendingKind::Switch {
            path: path_str.to_vec(),
        },
    )
}

fn switch_pong_reply(pong: &SwitchPong, path: &[u8]) -> BDict {
    let mut d = BDict::new();
    d.put("ms", i64::from(pong.ms))
        .put("result", pong.outcome.as_str())
        .put("path", path);
    // A timed-out ping has nothing else to report.
    if pong.outcome == SwitchPingOutcome::Timeout {
        return d;
    }
    if let SwitchPingOutcome::LabelMismatch { response_path } = pong.outcome {
        d.put("responsePath", label_to_string(response_path).as_str());
    }
    if pong.version != 0 {
        d.put("version", i64::from(pong.version));
    }
    // Any answer carries its payload, empty or not.
    d.put("data", pong.data.as_deref().unwrap_or_default());
    if let Some(key) = &pong.key {
        d.put("key", key.as_str());
    }
    if let Some(snode) = &pong.snode {
        d.put("snode", snode.as_str());
    }
    if pong.rpath != 0 {
        d.put("rpath", label_to_string(pong.rpath).as_str());
    }
    if let Some(lladdr) = &pong.lladdr {
        d.put("lladdr", lladdr.as_str());
    } else if let Some(unknown) = &pong.lladdr_unknown {
        d.put("lladdrUnknown", unknown.as_str());
    }
    d
}

fn router_ping(args: Option<&Map>, api: &mut dyn AdminApi) -> Outcome {
    let target = arg_str(args, "path").unwrap_or_default();
    let timeout = arg_int(args, "timeout").filter(|&t| t > 0).unwrap_or(0) as u32;
    // `getNode`: a 19-character label, an IPv6 address or a `v22.<path>.<key>.k` address;
    // anything else is refused here. Lookups (`not_found`) are the daemon's.
    let parsable = std::str::from_utf8(target).ok().filter(|t| {
        (t.len() == 19 && parse_label(t).is_ok())
            || parse_ip6_text(t).is_some()
            || protocol_core::identity::NodeAddress::parse(t).is_ok()
    });
    let Some(target) = parsable else {
        return Outcome::Reply(BDict::new().with("error", "parse_path"));
    };
    Outcome::Later(api.router_ping(target, timeout), PendingKind::Router)
}

fn router_pong_reply(pong: &RouterPong) -> BDict {
    let mut d = BDict::new();
    let version = pong
        .from
        .as_ref()
        .and_then(|f| f.version_bin)
        .map(|v| hex(&v))
        .unwrap_or_else(|| "unknown".to_string());
    d.put("version", version);
    d.put(
        "result",
        if pong.from.is_some() {
            "pong"
        } else {
            "timeout"
        },
    );
    if let Some(p) = pong.from.as_ref().and_then(|f| f.protocol) {
        d.put("protocol", p);
    }
    d.put("ms", i64::from(pong.ms));
    if let Some(from) = &pong.from {
        d.put(
            "from",
            format!("{}@{}", from.ip6, label_to_string(from.path).as_str()),
        );
        d.put("addr", from.addr.as_str());
    }
    d.put("deprecation", "from,protocol,version will soon be removed");
    d
}

fn begin_connection(args: Option<&Map>, api: &mut dyn AdminApi) -> BDict {
    let text = |name| String::from_utf8_lossy(arg_str(args, name).unwrap_or_default()).into_owned();
    let owned = |name| arg_str(args, name).map(<[u8]>::to_vec);
    let req = UdpConnect {
        interface_number: arg_int(args, "interfaceNumber").unwrap_or(0) as u32,
        public_key: text("publicKey"),
        address: text("address"),
        password: owned("password"),
        login: owned("login"),
        peer_name: owned("peerName"),
        version: arg_int(args, "version"),
    };
    error_reply(api.connect_udp(req))
}

/// `AddrTools_parseIp`: an IPv6 address, optionally bracketed with a port.
fn parse_ip6(text: &[u8]) -> Option<Ipv6Addr> {
    parse_ip6_text(std::str::from_utf8(text).ok()?)
}

/// [`parse_ip6`] on text.
pub fn parse_ip6_text(s: &str) -> Option<Ipv6Addr> {
    s.parse::<Ipv6Addr>()
        .ok()
        .or_else(|| s.parse::<SocketAddrV6>().ok().map(|a| *a.ip()))
        .or_else(|| {
            s.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<Ipv6Addr>()
                .ok()
        })
}

fn passwords_add(args: Option<&Map>, api: &mut dyn AdminApi) -> BDict {
    let password =
        String::from_utf8_lossy(arg_str(args, "password").unwrap_or_default()).into_owned();
    let user = arg_str(args, "user").map(|u| String::from_utf8_lossy(u).into_owned());
    let ipv6 = arg_str(args, "ipv6");
    if let Some(ip) = ipv6 {
        if parse_ip6(ip).is_none() {
            return BDict::new().with("error", "Invalid IPv6 Address");
        }
    }
    let ipv6 = ipv6.map(|i| String::from_utf8_lossy(i).into_owned());
    error_reply(api.add_password(&password, user.as_deref(), ipv6.as_deref()))
}

fn passwords_list(args: Option<&Map>, users: &[String]) -> BDict {
    // `int page = *page_p; for (i = page * 16; i < len && i < (page + 1) * 16; i++)`.
    let page = arg_int(args, "page").unwrap_or(0) as i32;
    let start = i64::from(page.wrapping_mul(USERS_PER_PAGE as i32));
    let end = i64::from(page.wrapping_add(1).wrapping_mul(USERS_PER_PAGE as i32));
    let rows: Vec<usize> = (start.max(0)..end.min(users.len() as i64))
        .map(|i| i as usize)
        .collect();
    BDict::new()
        .with("total", users.len() as i64)
        .with("users", reversed_list(&rows, users, |u| u.as_str().into()))
}

fn get_handles(args: Option<&Map>, sessions: &[SessionRow]) -> BDict {
    let start = c_int_start(arg_int(args, "page"), HANDLES_PER_PAGE);
    let (rows, more) = page_window(start, HANDLES_PER_PAGE, sessions.len());
    let mut reply = BDict::new()
        .with(
            "handles",
            reversed_list(&rows, sessions, |s| Benc::Int(i64::from(s.handle))),
        )
        .with("total", sessions.len() as i64);
    if more {
        reply.put("more", 1);
    }
    reply
}

fn session_reply(session: Option<&SessionRow>) -> BDict {
    let Some(s) = session else {
        return BDict::new().with("error", "no such session");
    };
    BDict::new()
        .with("addr", s.addr.as_str())
        .with("duplicates", i64::from(s.duplicates))
        .with("handle", i64::from(s.handle))
        .with("ip6", s.ip6.as_str())
        .with("lostPackets", i64::from(s.lost_packets))
        .with("metric", i64::from(s.metric))
        .with("noiseProto", i64::from(s.noise_proto))
        .with("receivedOutOfRange", i64::from(s.received_out_of_range))
        .with("sendHandle", i64::from(s.send_handle))
        .with("state", s.state.as_str())
        .with("timeOfLastUsage", s.time_of_last_usage as i64)
}

fn session_by_ip(args: Option<&Map>, sessions: &[SessionRow]) -> BDict {
    let Some(ip) = parse_ip6(arg_str(args, "ip6").unwrap_or_default()) else {
        return BDict::new().with("error", "malformed_ip");
    };
    session_reply(
        sessions
            .iter()
            .find(|s| s.ip6.parse::<Ipv6Addr>().ok() == Some(ip)),
    )
}

fn node_info(info: &NodeInfo) -> BDict {
    let mut scheme = [0u8; 64];
    let len = info.encoding_scheme.serialize(&mut scheme).unwrap_or(0);
    let forms = scheme_list(&info.encoding_scheme);
    BDict::new()
        .with(
            "compressedSchemeHex",
            hex(scheme.get(..len).unwrap_or_default()),
        )
        .with("encodingScheme", forms)
        .with("error", "none")
        .with("myAddr", info.my_addr.as_str())
        .with("myIp6", info.my_ip6.as_str())
        .with("version", i64::from(info.version))
}

/// `EncodingScheme_asList`.
fn scheme_list(scheme: &protocol_core::switch::EncodingScheme) -> Vec<Benc> {
    scheme
        .forms()
        .iter()
        .map(|f| {
            BDict::new()
                .with("bitCount", i64::from(f.bit_count))
                .with("prefix", scheme_prefix(f.prefix_len, f.prefix))
                .with("prefixLen", i64::from(f.prefix_len))
                .into()
        })
        .collect()
}

/// `EncodingScheme_asList`'s prefix text: eight hex digits of the big-endian prefix,
/// then two characters dropped from the front while the first is `0` and more than two
/// remain (so `0f01` becomes `01`, as in the reference).
fn scheme_prefix(prefix_len: u8, prefix: u32) -> String {
    if prefix_len == 0 {
        return String::new();
    }
    let mut s = format!("{prefix:08x}");
    while s.starts_with('0') && s.len() > 2 {
        s.drain(..2);
    }
    s
}

fn dump_table(args: Option<&Map>, nodes: &[NodeRow], peer_count: usize) -> BDict {
    let ctr = c_int_start(arg_int(args, "page"), NODES_PER_PAGE);
    let end = ctr + NODES_PER_PAGE;
    let rows: Vec<usize> = (ctr.max(0)..end.min(nodes.len() as i64))
        .map(|i| i as usize)
        .collect();
    // The reference walks `end` nodes and says `more` if the last one it reached exists.
    let more = end > 0 && nodes.len() as i64 >= end;
    let mut reply = BDict::new()
        .with("count", nodes.len() as i64)
        .with("deprecation", "ip,path,version will soon be removed")
        .with("peers", peer_count as i64)
        .with("routingTable", reversed_list(&rows, nodes, node_dict));
    if more {
        reply.put("more", 1);
    }
    reply
}

fn node_dict(n: &NodeRow) -> Benc {
    BDict::new()
        .with("addr", n.addr.as_str())
        .with("bucket", i64::from(n.bucket))
        .with("ip", n.ip.as_str())
        .with("link", n.link as i64)
        .with("path", label_to_string(n.path).as_str())
        .with("time", n.time as i64)
        .with("version", i64::from(n.version))
        .into()
}

/// `Sockaddr_parse`: `ip`, `ip:port`, `[ip6]` or `[ip6]:port`; no port means port 0.
fn parse_sockaddr(text: &[u8]) -> Option<SocketAddr> {
    let s = std::str::from_utf8(text).ok()?;
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 0));
    }
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    Some(SocketAddr::new(IpAddr::V6(inner.parse().ok()?), 0))
}

/// `Sockaddr_print`: the port only when not 0, IPv6 in brackets only with a port.
fn print_sockaddr(a: &SocketAddr) -> String {
    match (a, a.port()) {
        (SocketAddr::V4(v4), 0) => v4.ip().to_string(),
        (SocketAddr::V6(v6), 0) => v6.ip().to_string(),
        _ => a.to_string(),
    }
}

fn udp_new(args: Option<&Map>, api: &mut dyn AdminApi) -> BDict {
    // The reference parses the address before anything else and ignores `dscp` errors.
    let bind = match arg_str(args, "bindAddress") {
        Some(text) => parse_sockaddr(text),
        None => Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)),
    };
    let Some(bind) = bind else {
        return BDict::new().with("error", "Failed to parse address");
    };
    let beacon_port = arg_int(args, "beaconPort").unwrap_or(0) as u16;
    // Named after the address asked for, not the one bound.
    let name = format!(
        "UDP/IPv{}/{}",
        if bind.is_ipv4() { 4 } else { 6 },
        print_sockaddr(&bind)
    );
    match api.new_udp(bind, beacon_port, &name) {
        Ok((if_num, bound)) => BDict::new()
            .with("bindAddress", bound)
            .with("error", "none")
            .with("interfaceNumber", i64::from(if_num)),
        Err(e) => BDict::new().with("error", e),
    }
}

fn eth_beacon(args: Option<&Map>, api: &mut dyn AdminApi) -> BDict {
    let if_num = arg_int(args, "interfaceNumber").unwrap_or(0) as u32;
    let state = arg_int(args, "state").map_or(u32::MAX, |s| s as u32);
    match api.set_beacon(if_num, state) {
        Err(BeaconError::NoSuchInterface) => BDict::new().with("error", "invalid interfaceNumber"),
        Err(BeaconError::InvalidState) => BDict::new().with("error", "invalid state"),
        Ok(()) => {
            let name = match state {
                1 => "accepting",
                2 => "sending and accepting",
                _ => "disabled",
            };
            BDict::new()
                .with("error", "none")
                .with("state", i64::from(state))
                .with("stateName", name)
        }
    }
}

fn node_for_addr(args: Option<&Map>, api: &mut dyn AdminApi) -> BDict {
    // `ip` of another type is ignored (the reference reads it with `Dict_getString`).
    let ip = match arg_str(args, "ip") {
        None => None,
        Some(text) => match parse_ip6(text) {
            Some(ip) => Some(ip),
            None => return BDict::new().with("error", "parse_ip"),
        },
    };
    let result = match api.node_for_addr(ip) {
        None => BDict::new(),
        Some(n) => BDict::new()
            .with(
                "bestParent",
                BDict::new()
                    .with("ip", n.parent_ip6.as_str())
                    .with("isOneHop", i64::from(n.is_one_hop))
                    .with(
                        "parentChildLabel",
                        label_to_string(n.parent_child_label).as_str(),
                    ),
            )
            .with("cost", n.cost as i64)
            .with("encodingScheme", scheme_list(&n.encoding_scheme))
            .with("key", n.key.as_str())
            .with("linkCount", i64::from(n.link_count))
            .with("protocolVersion", i64::from(n.protocol_version))
            .with("routeLabel", label_to_string(n.route_label).as_str()),
    };
    BDict::new().with("error", "none").with("result", result)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_prefix_strips_like_the_reference() {
        assert_eq!(scheme_prefix(1, 1), "01");
        assert_eq!(scheme_prefix(2, 2), "02");
        assert_eq!(scheme_prefix(2, 0), "00");
        assert_eq!(scheme_prefix(0, 0), "");
        assert_eq!(scheme_prefix(8, 0x1f), "1f");
        // The reference drops any pair that starts with `0`, not only `00`.
        assert_eq!(scheme_prefix(12, 0x0f01), "01");
        assert_eq!(scheme_prefix(12, 0x100), "00");
    }

    #[test]
    fn page_window_mirrors_the_c_loop() {
        assert_eq!(page_window(0, 6, 7), (vec![0, 1, 2, 3, 4, 5], true));
        assert_eq!(page_window(6, 6, 7), (vec![6], false));
        assert_eq!(page_window(0, 6, 6), ((0..6).collect(), false));
        assert_eq!(page_window(12, 6, 7), (vec![], false));
        assert_eq!(page_window(-6, 6, 7), (vec![], true));
        assert_eq!(page_window(-3, 6, 7), (vec![0, 1, 2], true));
        assert_eq!(c_int_start(Some(1 << 31), 6), 0);
        assert_eq!(c_int_start(None, 6), 0);
    }
}
