//! Typed views of admin replies (cjdns v22.3 field names), decoded the same way whether
//! the reply came off the socket or from a recorded vector. Decoding is total: a missing
//! number is 0, a missing text is empty; only an entry without its key field (a peer
//! without `addr`) is an error, since nothing useful can be shown for it.

use std::collections::BTreeMap;

use fc00d::admin::benc::Benc;
use protocol_core::identity::{label_to_string, NodeAddress};
use serde::Serialize;

use super::client::Reply;

/// A reply that does not have the shape its function documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "malformed reply: {}", self.0)
    }
}

fn text(d: &Reply, key: &str) -> Option<String> {
    d.get(key.as_bytes())
        .and_then(Benc::as_bytes)
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

fn int(d: &Reply, key: &str) -> i64 {
    d.get(key.as_bytes()).and_then(Benc::as_int).unwrap_or(0)
}

fn uint(d: &Reply, key: &str) -> u64 {
    u64::try_from(int(d, key)).unwrap_or(0)
}

fn list<'a>(d: &'a Reply, key: &str) -> &'a [Benc] {
    d.get(key.as_bytes())
        .and_then(Benc::as_list)
        .unwrap_or_default()
}

/// What a node address string (`v22.0000.0000.0000.0013.<key>.k`) says, when it parses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddrParts {
    pub version: u32,
    pub path: String,
    pub public_key: String,
    pub ip6: String,
}

impl AddrParts {
    pub fn parse(addr: &str) -> Option<AddrParts> {
        let node = NodeAddress::parse(addr).ok()?;
        Some(AddrParts {
            version: node.version,
            path: label_to_string(node.label).to_string(),
            public_key: node.key.to_k_string().to_string(),
            ip6: node.key.address_unchecked().to_full_string().to_string(),
        })
    }
}

/// One row of `InterfaceController_peerStats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Peer {
    pub addr: String,
    /// Derived from `addr`: the peer's fc address and the path to it.
    #[serde(flatten)]
    pub parts: Option<AddrParts>,
    pub state: String,
    pub lladdr: String,
    pub user: String,
    pub if_num: i64,
    pub is_incoming: bool,
    pub recv_kbps: u64,
    pub send_kbps: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub received_packets: u64,
    pub lost_packets: u64,
    pub duplicates: u64,
    pub received_out_of_range: u64,
    /// When the last packet came from it, ms since the Unix epoch (0: never).
    pub last: u64,
}

/// Every peer in the pages of a `InterfaceController_peerStats` listing.
pub fn peers(pages: &[Reply]) -> Result<Vec<Peer>, DecodeError> {
    let mut out = Vec::new();
    for page in pages {
        for item in list(page, "peers") {
            let d = item
                .as_dict()
                .ok_or_else(|| DecodeError("peerStats: a peer that is not a dict".into()))?;
            let addr = text(d, "addr")
                .ok_or_else(|| DecodeError("peerStats: a peer without addr".into()))?;
            out.push(Peer {
                parts: AddrParts::parse(&addr),
                addr,
                state: text(d, "state").unwrap_or_default(),
                lladdr: text(d, "lladdr").unwrap_or_default(),
                user: text(d, "user").unwrap_or_default(),
                if_num: int(d, "ifNum"),
                is_incoming: int(d, "isIncoming") != 0,
                recv_kbps: uint(d, "recvKbps"),
                send_kbps: uint(d, "sendKbps"),
                bytes_in: uint(d, "bytesIn"),
                bytes_out: uint(d, "bytesOut"),
                received_packets: uint(d, "receivedPackets"),
                lost_packets: uint(d, "lostPackets"),
                duplicates: uint(d, "duplicates"),
                received_out_of_range: uint(d, "receivedOutOfRange"),
                last: uint(d, "last"),
            });
        }
    }
    Ok(out)
}

/// Every handle in the pages of `SessionManager_getHandles`.
pub fn handles(pages: &[Reply]) -> Vec<i64> {
    pages
        .iter()
        .flat_map(|p| list(p, "handles").iter().filter_map(Benc::as_int))
        .collect()
}

/// A `SessionManager_sessionStats` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub handle: i64,
    pub send_handle: i64,
    pub ip6: String,
    pub addr: String,
    #[serde(flatten)]
    pub parts: Option<AddrParts>,
    pub state: String,
    pub metric: u64,
    pub lost_packets: u64,
    pub duplicates: u64,
    pub received_out_of_range: u64,
    pub time_of_last_usage: u64,
}

pub fn session(d: &Reply) -> Session {
    let addr = text(d, "addr").unwrap_or_default();
    let parts = AddrParts::parse(&addr);
    Session {
        handle: int(d, "handle"),
        send_handle: int(d, "sendHandle"),
        ip6: text(d, "ip6")
            .or_else(|| parts.as_ref().map(|p| p.ip6.clone()))
            .unwrap_or_default(),
        addr,
        parts,
        state: text(d, "state").unwrap_or_default(),
        metric: uint(d, "metric"),
        lost_packets: uint(d, "lostPackets"),
        duplicates: uint(d, "duplicates"),
        received_out_of_range: uint(d, "receivedOutOfRange"),
        time_of_last_usage: uint(d, "timeOfLastUsage"),
    }
}

/// One entry of `NodeStore_dumpTable`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub addr: String,
    pub ip: String,
    pub path: String,
    pub version: i64,
    pub link: u64,
    pub bucket: i64,
    pub time: u64,
}

/// Every node in the pages of a `NodeStore_dumpTable` listing.
pub fn routes(pages: &[Reply]) -> Result<Vec<Route>, DecodeError> {
    let mut out = Vec::new();
    for page in pages {
        for item in list(page, "routingTable") {
            let d = item
                .as_dict()
                .ok_or_else(|| DecodeError("dumpTable: an entry that is not a dict".into()))?;
            let addr = text(d, "addr").unwrap_or_default();
            let parts = AddrParts::parse(&addr);
            let ip = text(d, "ip")
                .or_else(|| parts.as_ref().map(|p| p.ip6.clone()))
                .ok_or_else(|| DecodeError("dumpTable: an entry without addr or ip".into()))?;
            out.push(Route {
                path: text(d, "path")
                    .or_else(|| parts.as_ref().map(|p| p.path.clone()))
                    .unwrap_or_default(),
                version: d
                    .get(b"version".as_slice())
                    .and_then(Benc::as_int)
                    .or_else(|| parts.as_ref().map(|p| i64::from(p.version)))
                    .unwrap_or(0),
                addr,
                ip,
                link: uint(d, "link"),
                bucket: int(d, "bucket"),
                time: uint(d, "time"),
            });
        }
    }
    Ok(out)
}

/// One argument of an admin function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionArg {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub required: bool,
}

/// One function of `Admin_availableFunctions`, arguments required first, then by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Function {
    pub name: String,
    pub args: Vec<FunctionArg>,
}

/// Every function in the pages of an `Admin_availableFunctions` listing, by name.
pub fn functions(pages: &[Reply]) -> Result<Vec<Function>, DecodeError> {
    let mut all: BTreeMap<String, Vec<FunctionArg>> = BTreeMap::new();
    for page in pages {
        let Some(funcs) = page
            .get(b"availableFunctions".as_slice())
            .and_then(Benc::as_dict)
        else {
            continue;
        };
        for (name, spec) in funcs {
            let spec = spec.as_dict().ok_or_else(|| {
                DecodeError("availableFunctions: a function that is not a dict".into())
            })?;
            let mut args: Vec<FunctionArg> = spec
                .iter()
                .map(|(arg, desc)| {
                    let empty = BTreeMap::new();
                    let desc = desc.as_dict().unwrap_or(&empty);
                    FunctionArg {
                        name: String::from_utf8_lossy(arg).into_owned(),
                        kind: text(desc, "type").unwrap_or_default(),
                        required: int(desc, "required") != 0,
                    }
                })
                .collect();
            args.sort_by(|a, b| b.required.cmp(&a.required).then(a.name.cmp(&b.name)));
            all.insert(String::from_utf8_lossy(name).into_owned(), args);
        }
    }
    Ok(all
        .into_iter()
        .map(|(name, args)| Function { name, args })
        .collect())
}

/// A `RouterModule_pingNode` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouterPong {
    /// `pong` or `timeout`.
    pub result: String,
    pub ms: u64,
    /// The node that answered (`v22.….k`), absent on timeout.
    pub addr: Option<String>,
    /// Its protocol version, when it said.
    pub protocol: Option<i64>,
}

pub fn router_pong(d: &Reply) -> RouterPong {
    RouterPong {
        result: text(d, "result").unwrap_or_default(),
        ms: uint(d, "ms"),
        addr: text(d, "addr"),
        protocol: d.get(b"protocol".as_slice()).and_then(Benc::as_int),
    }
}

/// A `SwitchPinger_ping` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SwitchPong {
    /// `pong`, `timeout`, `lbl_mismatch`, `wrong_data`, `err_loop`, …
    pub result: String,
    pub ms: u64,
    pub path: String,
    pub version: Option<i64>,
    /// The key of the node at the end of the path (key pings).
    pub key: Option<String>,
    /// The path the pong came back with, on a label mismatch.
    pub response_path: Option<String>,
}

pub fn switch_pong(d: &Reply) -> SwitchPong {
    SwitchPong {
        result: text(d, "result").unwrap_or_default(),
        ms: uint(d, "ms"),
        path: text(d, "path").unwrap_or_default(),
        version: d.get(b"version".as_slice()).and_then(Benc::as_int),
        key: text(d, "key"),
        response_path: text(d, "responsePath"),
    }
}

/// A `Core_nodeInfo` reply: who the node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    pub my_addr: String,
    pub my_ip6: String,
    pub version: i64,
}

pub fn node_info(d: &Reply) -> NodeInfo {
    NodeInfo {
        my_addr: text(d, "myAddr").unwrap_or_default(),
        my_ip6: text(d, "myIp6").unwrap_or_default(),
        version: int(d, "version"),
    }
}

/// A reply recorded as JSON (`../shared/reference/vectors/admin-replies-*.json`: strings
/// for byte strings, numbers for ints) turned back into the bencode it was decoded from.
pub fn reply_from_json(v: &serde_json::Value) -> Option<Reply> {
    match json_to_benc(v)? {
        Benc::Dict(d) => Some(d),
        _ => None,
    }
}

fn json_to_benc(v: &serde_json::Value) -> Option<Benc> {
    use serde_json::Value;
    Some(match v {
        Value::Number(n) => Benc::Int(n.as_i64()?),
        Value::String(s) => Benc::Bytes(s.as_bytes().to_vec()),
        Value::Array(items) => Benc::List(items.iter().map(json_to_benc).collect::<Option<_>>()?),
        Value::Object(map) => Benc::Dict(
            map.iter()
                .map(|(k, v)| Some((k.as_bytes().to_vec(), json_to_benc(v)?)))
                .collect::<Option<_>>()?,
        ),
        Value::Bool(b) => Benc::Int(i64::from(*b)),
        Value::Null => return None,
    })
}
