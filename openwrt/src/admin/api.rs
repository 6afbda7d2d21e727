//! What the admin functions need from the daemon, and the plain rows it hands back.
//!
//! Rows carry the values the reference puts in its replies; formatting that the
//! reference does in its admin layer (paging, list order, hex, labels) happens in
//! [`super::AdminServer`], so the daemon only fills in facts.

use protocol_core::switch::EncodingScheme;

/// `Core_nodeInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// `v22.0000.0000.0000.0001.<key>.k`.
    pub my_addr: String,
    /// Full 39-character form, `fcdf:0ef1:...`.
    pub my_ip6: String,
    /// Sent both as `compressedSchemeHex` and as the `encodingScheme` list.
    pub encoding_scheme: EncodingScheme,
    /// Protocol version (22).
    pub version: u32,
}

/// Link state as `InterfaceController_stateString` / `Ca_stateString` print it: the core's
/// own type, whose `as_str` gives the reference's names.
pub use protocol_core::peering::PeerState;

/// One `InterfaceController_peerStats` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerRow {
    /// `v22.<label>.<key>.k`.
    pub addr: String,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub recv_kbps: u32,
    pub send_kbps: u32,
    /// `127.0.0.1:11002` for UDP, the MAC for Ethernet (`Sockaddr_print`).
    pub lladdr: String,
    pub state: PeerState,
    /// Milliseconds since the epoch of the last valid message (`last`).
    pub last_ms: u64,
    pub is_incoming: bool,
    pub duplicates: u32,
    pub lost_packets: u32,
    pub received_out_of_range: u32,
    pub received_packets: u32,
    pub noise_proto: bool,
    pub if_num: u32,
    /// The peer's name or the authorized user it logged in as; omitted when `None`.
    pub user: Option<String>,
}

/// Beacon mode of an interface (`InterfaceController_beaconStateString`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BeaconState {
    #[default]
    Disabled,
    Accepting,
    Sending,
}

impl BeaconState {
    pub fn as_str(&self) -> &'static str {
        match self {
            BeaconState::Disabled => "DISABLED",
            BeaconState::Accepting => "ACCEPTING",
            BeaconState::Sending => "SENDING",
        }
    }
}

/// One `InterfaceController_interfaces` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceRow {
    pub if_num: u32,
    /// `UDP/IPv4/127.0.0.1:11002`, `ETH/eth0`, ...
    pub name: String,
    pub beacon_state: BeaconState,
}

/// One end-to-end session (`SessionManager_getHandles`, `SessionManager_sessionStats`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// Our receive handle: what `getHandles` lists and `sessionStats(handle)` looks up.
    pub handle: u32,
    pub send_handle: u32,
    /// `v22.<best path>.<key>.k`.
    pub addr: String,
    /// 39-character IPv6 form.
    pub ip6: String,
    pub state: PeerState,
    pub metric: u32,
    pub duplicates: u32,
    pub lost_packets: u32,
    pub received_out_of_range: u32,
    pub noise_proto: bool,
    pub time_of_last_usage: u64,
}

/// One `NodeStore_dumpTable` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRow {
    /// `v22.<path>.<key>.k`.
    pub addr: String,
    /// 39-character IPv6 form.
    pub ip: String,
    pub path: u64,
    /// Link cost (`Node_getCost`).
    pub link: u64,
    pub version: u32,
    /// Milliseconds since the node was last pinged.
    pub time: u64,
    pub bucket: u32,
}

/// `NodeStore_nodeForAddr`: one node-store entry as the reference describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeDetail {
    pub protocol_version: u32,
    /// `<52 chars>.k`.
    pub key: String,
    /// Links from this node in the store's tree, plus one (the reference's `do {} while`
    /// counts the end of the list too).
    pub link_count: u32,
    pub cost: u64,
    pub encoding_scheme: EncodingScheme,
    /// 39-character IPv6 of the best parent (ourselves for peers and for us).
    pub parent_ip6: String,
    /// Label from the parent to this node.
    pub parent_child_label: u64,
    pub is_one_hop: bool,
    /// Our best path to the node.
    pub route_label: u64,
}

/// Why `ETHInterface_beacon` refused (`InterfaceController_beaconState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeaconError {
    /// "invalid interfaceNumber".
    NoSuchInterface,
    /// "invalid state": not 0, 1 or 2 (checked after the interface, as the reference).
    InvalidState,
}

/// `UDPInterface_beginConnection` arguments, unparsed: the daemon checks them and
/// answers with the reference's error texts (see [`AdminApi::connect_udp`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct UdpConnect {
    /// `interfaceNumber`, 0 when absent (truncated to 32 bits as the reference does).
    pub interface_number: u32,
    pub public_key: String,
    pub address: String,
    pub password: Option<Vec<u8>>,
    pub login: Option<Vec<u8>>,
    pub peer_name: Option<Vec<u8>>,
    /// `version`, if given (the reference assumes its default otherwise).
    pub version: Option<i64>,
}

/// Handle for an asynchronous ping; chosen by the daemon, unique among pings in flight.
///
/// Flow: during [`super::AdminServer::handle`] the server calls
/// [`AdminApi::switch_ping`] / [`AdminApi::router_ping`]; the daemon starts the ping,
/// returns a fresh ticket and remembers that ticket together with the address the
/// request came from (it is the address of the `handle` call in progress). `handle`
/// then returns `None`. When the pong arrives or the timeout fires, the daemon calls
/// [`super::AdminServer::complete`] with the ticket and sends the returned datagram to
/// the remembered address. Every ticket must be completed exactly once (a timeout is a
/// result too), or dropped with [`super::AdminServer::cancel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PingTicket(pub u64);

/// How a switch ping ended (`SwitchPinger_resultString`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchPingOutcome {
    Pong,
    /// The pong came back with a different label: `responsePath` is added.
    LabelMismatch {
        response_path: u64,
    },
    WrongData,
    ErrorResponse,
    Timeout,
    LoopRoute,
    Unknown,
}

impl SwitchPingOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            SwitchPingOutcome::Pong => "pong",
            SwitchPingOutcome::LabelMismatch { .. } => "diff_label",
            SwitchPingOutcome::WrongData => "diff_data",
            SwitchPingOutcome::ErrorResponse => "err_switch",
            SwitchPingOutcome::Timeout => "timeout",
            SwitchPingOutcome::LoopRoute => "err_loop",
            SwitchPingOutcome::Unknown => "err_unknown",
        }
    }
}

/// Kind of switch ping requested (`keyPing`, `lladdr`, `snode`, `rpath` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SwitchPingKind {
    #[default]
    Ping,
    KeyPing,
    LlAddr,
    GetSnode,
    RPath,
}

/// Result of a `SwitchPinger_ping`. For [`SwitchPingOutcome::Timeout`] only `ms` is
/// sent; any other outcome also sends `data` (empty if `None`) and the rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchPong {
    pub outcome: SwitchPingOutcome,
    pub ms: u32,
    /// Omitted when 0.
    pub version: u32,
    /// The pong's payload.
    pub data: Option<Vec<u8>>,
    /// `.k` form of the key a key ping returned.
    pub key: Option<String>,
    /// `v22.<path>.<key>.k` of the supernode a getSnode ping returned.
    pub snode: Option<String>,
    /// Reverse path a rpath ping returned (omitted when 0).
    pub rpath: u64,
    /// `ip:port` an lladdr ping returned.
    pub lladdr: Option<String>,
    /// Hex of an lladdr the reference could not print.
    pub lladdr_unknown: Option<String>,
}

impl SwitchPong {
    /// A plain result with nothing optional.
    pub fn new(outcome: SwitchPingOutcome, ms: u32, version: u32) -> Self {
        SwitchPong {
            outcome,
            ms,
            version,
            data: None,
            key: None,
            snode: None,
            rpath: 0,
            lladdr: None,
            lladdr_unknown: None,
        }
    }
}

/// Result of a `RouterModule_pingNode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterPong {
    /// `None` = timed out.
    pub from: Option<RouterPongFrom>,
    pub ms: u32,
}

/// Who answered a router ping, and what it said about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterPongFrom {
    /// `v22.<path>.<key>.k`.
    pub addr: String,
    /// 39-character IPv6 form; with `path` it makes the reference's `from`
    /// (`<ip6>@<path>`).
    pub ip6: String,
    pub path: u64,
    /// 20-byte `es` version field of the pong, sent as 40 hex digits ("unknown" if absent).
    pub version_bin: Option<[u8; 20]>,
    /// `p` of the pong.
    pub protocol: Option<i64>,
}

/// What a ping ticket ended with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PingResult {
    Switch(SwitchPong),
    Router(RouterPong),
    /// The ping could not be started or was refused: sent as `{error: <text>}`. The
    /// reference's texts: "no open slots to store ping, try later." (switch ping),
    /// "not_found" / "parse_path" (router ping target unknown / unparsable).
    Error(String),
}

/// What the admin functions need from the daemon; the daemon implements it over its Node.
///
/// `Err(text)` results are sent to the client verbatim as `error` (the texts the
/// reference uses are noted on each method).
pub trait AdminApi {
    /// `Core_nodeInfo`.
    fn node_info(&self) -> NodeInfo;
    /// `InterfaceController_peerStats`, in the daemon's table order (the server pages
    /// it six at a time and, like the reference, lists each page in reverse).
    fn peers(&self) -> Vec<PeerRow>;
    /// `SessionManager_getHandles` / `SessionManager_sessionStats`.
    fn sessions(&self) -> Vec<SessionRow>;
    /// `InterfaceController_interfaces`, in interface-number order (paged six at a time,
    /// listed in reverse like every list). Daemons without interfaces to report can
    /// leave this as is.
    fn interfaces(&self) -> Vec<IfaceRow> {
        Vec::new()
    }
    /// `NodeStore_dumpTable` (paged four at a time, each page listed in reverse).
    fn nodes(&self) -> Vec<NodeRow>;
    /// `UDPInterface_beginConnection`. Reference texts: "no such interface for
    /// interfaceNumber", "key must be 52 characters long", "key must end in .k",
    /// "failed to base-32 decode key", "not a valid cjdns public key",
    /// "unable to parse ip address and port.", "different address type than this
    /// socket is bound to.", "no more space to register with the switch.".
    fn connect_udp(&mut self, req: UdpConnect) -> Result<(), String>;
    /// `InterfaceController_disconnectPeer`; the key has already been checked. Reference
    /// text when nothing matched: "no peer found for that key".
    fn disconnect_peer(&mut self, key: &str) -> Result<(), String>;
    /// `AuthorizedPasswords_add`; `ipv6` has already been checked. Reference texts:
    /// "Password already added.", "Unknown error.".
    fn add_password(
        &mut self,
        password: &str,
        user: Option<&str>,
        ipv6: Option<&str>,
    ) -> Result<(), String>;
    /// `AuthorizedPasswords_list`, in table order (paged 16 at a time, each page reversed).
    fn list_users(&self) -> Vec<String>;
    /// `AuthorizedPasswords_remove`. Reference text when no user matched: "Unknown error.".
    fn remove_user(&mut self, user: &str) -> Result<(), String>;
    /// `SwitchPinger_ping` (async, see [`PingTicket`]); `timeout_ms` defaults to 2000.
    fn switch_ping(&mut self, path: u64, data: &[u8], timeout_ms: u32) -> PingTicket;
    /// `SwitchPinger_ping` with `keyPing`/`lladdr`/`snode`/`rpath` set; daemons that only
    /// do plain pings can leave this as is.
    fn switch_ping_kind(
        &mut self,
        path: u64,
        data: &[u8],
        timeout_ms: u32,
        kind: SwitchPingKind,
    ) -> PingTicket {
        let _ = kind;
        self.switch_ping(path, data, timeout_ms)
    }
    /// `RouterModule_pingNode` (async). `target` is a label (`xxxx.xxxx.xxxx.xxxx`), an
    /// IPv6 address or a `v22.<path>.<key>.k` address; an unknown target is completed
    /// with `PingResult::Error("not_found")`, an unparsable one with "parse_path".
    /// `timeout_ms` 0 means the router's default.
    fn router_ping(&mut self, target: &str, timeout_ms: u32) -> PingTicket;
    /// `UDPInterface_new`: bind a new UDP interface on `bind` (port 0 = any) with UDP beacons
    /// on `beacon_port` (0 = none), listed by `InterfaceController_interfaces` as `name`.
    /// Returns the interface number and the address actually bound (`ip:port`, IPv6 in
    /// brackets); `Err` is sent as the error text.
    fn new_udp(
        &mut self,
        bind: std::net::SocketAddr,
        beacon_port: u16,
        name: &str,
    ) -> Result<(u32, String), String>;
    /// `ETHInterface_beacon` (any interface, as the reference): 0 off, 1 accept, 2 send.
    fn set_beacon(&mut self, if_num: u32, state: u32) -> Result<(), BeaconError>;
    /// `ETHInterface_listDevices`: names of the devices `getifaddrs` lists as `AF_PACKET`,
    /// in its order (interface index); the server lists them reversed as the reference.
    fn eth_devices(&self) -> Result<Vec<String>, String>;
    /// `NodeStore_nodeForAddr`: `None` = ourselves; `Some(ip)` not in the store = `None`.
    fn node_for_addr(&self, ip: Option<std::net::Ipv6Addr>) -> Option<NodeDetail>;
    /// `Core_pid`.
    fn pid(&self) -> u32;
    /// `Core_exit`: the reply is returned first; the daemon should exit right after.
    fn exit(&mut self);
    /// `peers` field of `NodeStore_dumpTable` (the node store's count of direct peers).
    fn node_store_peer_count(&self) -> usize {
        self.peers()
            .iter()
            .filter(|p| p.state == PeerState::Established)
            .count()
    }
}
