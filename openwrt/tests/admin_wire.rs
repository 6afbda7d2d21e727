//! The admin server against the reference's recorded exchanges
//! (`vectors/admin-wire-example.txt`, `vectors/admin-replies-AB.json`,
//! `vectors/admin-availableFunctions.json`). Missing data fails loudly.

use std::collections::BTreeMap;
use std::path::PathBuf;

use fc00d::admin::benc::{BDict, Benc};
use fc00d::admin::client::{build_auth_request, build_request, parse_reply};
use fc00d::admin::*;
use protocol_core::switch::EncodingScheme;
use serde_json::Value as Json;

fn reference_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("FC00_SHARED") {
        return PathBuf::from(dir).join("reference");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference")
}

fn read_reference(rel: &str) -> String {
    let path = reference_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference data {} is missing ({e}); these tests need the read-only \
             ../shared/ folder beside the checkout (or FC00_SHARED=/path/to/shared)",
            path.display()
        )
    })
}

fn reference_json(rel: &str) -> Json {
    serde_json::from_str(&read_reference(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Decode a Python bytes literal body (`b'...'` without the quotes).
fn unpy(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b[i + 1] {
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).unwrap());
                    i += 4;
                    continue;
                }
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                c => out.push(c),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// `(title, request, response)` for every exchange in admin-wire-example.txt.
fn wire_exchanges() -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let text = read_reference("vectors/admin-wire-example.txt");
    let mut out = Vec::new();
    let mut title = String::new();
    let mut request = None;
    for line in text.lines() {
        let literal = |l: &str| {
            let start = l.find("b'").expect("b'") + 2;
            let end = l.rfind('\'').expect("closing quote");
            unpy(&l[start..end])
        };
        if let Some(t) = line.strip_prefix("## ") {
            title = t.to_string();
        } else if line.starts_with("REQUEST") {
            request = Some(literal(line));
        } else if line.starts_with("RESPONSE") {
            out.push((
                title.clone(),
                request.take().expect("request first"),
                literal(line),
            ));
        }
    }
    assert_eq!(out.len(), 6, "admin-wire-example.txt: expected 6 exchanges");
    out
}

fn find<'a>(ex: &'a [(String, Vec<u8>, Vec<u8>)], title: &str) -> &'a (String, Vec<u8>, Vec<u8>) {
    ex.iter()
        .find(|(t, _, _)| t.starts_with(title))
        .unwrap_or_else(|| panic!("no exchange titled {title:?}"))
}

const EXAMPLE_PASSWORD: &str = "admin-nA";
const EXAMPLE_COOKIE: u64 = 1753529215;

#[derive(Default)]
struct Fake {
    info: Option<NodeInfo>,
    peers: Vec<PeerRow>,
    sessions: Vec<SessionRow>,
    nodes: Vec<NodeRow>,
    ifaces: Vec<IfaceRow>,
    users: Vec<String>,
    peer_count: Option<usize>,
    next_ticket: u64,
    switch_pings: Vec<(u64, Vec<u8>, u32, SwitchPingKind)>,
    router_pings: Vec<(String, u32)>,
    connects: Vec<UdpConnect>,
    disconnects: Vec<String>,
    added: Vec<(String, Option<String>, Option<String>)>,
    udp_news: Vec<(std::net::SocketAddr, u16)>,
    beacons: Vec<(u32, u32)>,
    exited: bool,
}

impl AdminApi for Fake {
    fn node_info(&self) -> NodeInfo {
        self.info.clone().expect("node info set")
    }
    fn peers(&self) -> Vec<PeerRow> {
        self.peers.clone()
    }
    fn sessions(&self) -> Vec<SessionRow> {
        self.sessions.clone()
    }
    fn nodes(&self) -> Vec<NodeRow> {
        self.nodes.clone()
    }
    fn interfaces(&self) -> Vec<IfaceRow> {
        self.ifaces.clone()
    }
    fn connect_udp(&mut self, req: UdpConnect) -> Result<(), String> {
        let bad = req.address.is_empty();
        self.connects.push(req);
        if bad {
            Err("unable to parse ip address and port.".into())
        } else {
            Ok(())
        }
    }
    fn disconnect_peer(&mut self, key: &str) -> Result<(), String> {
        self.disconnects.push(key.to_string());
        if self.peers.iter().any(|p| p.addr.ends_with(key)) {
            Ok(())
        } else {
            Err("no peer found for that key".into())
        }
    }
    fn add_password(&mut self, p: &str, u: Option<&str>, ip: Option<&str>) -> Result<(), String> {
        if self.added.iter().any(|(q, _, _)| q == p) {
            return Err("Password already added.".into());
        }
        self.added
            .push((p.into(), u.map(Into::into), ip.map(Into::into)));
        Ok(())
    }
    fn list_users(&self) -> Vec<String> {
        self.users.clone()
    }
    fn remove_user(&mut self, user: &str) -> Result<(), String> {
        let before = self.users.len();
        self.users.retain(|u| u != user);
        if self.users.len() < before {
            Ok(())
        } else {
            Err("Unknown error.".into())
        }
    }
    fn switch_ping(&mut self, path: u64, data: &[u8], timeout_ms: u32) -> PingTicket {
        self.switch_ping_kind(path, data, timeout_ms, SwitchPingKind::Ping)
    }
    fn switch_ping_kind(
        &mut self,
        path: u64,
        data: &[u8],
        t: u32,
        k: SwitchPingKind,
    ) -> PingTicket {
        self.switch_pings.push((path, data.to_vec(), t, k));
        self.next_ticket += 1;
        PingTicket(self.next_ticket)
    }
    fn router_ping(&mut self, target: &str, timeout_ms: u32) -> PingTicket {
        self.router_pings.push((target.to_string(), timeout_ms));
        self.next_ticket += 1;
        PingTicket(self.next_ticket)
    }
    fn new_udp(
        &mut self,
        bind: std::net::SocketAddr,
        port: u16,
        _: &str,
    ) -> Result<(u32, String), String> {
        self.udp_news.push((bind, port));
        Ok((self.ifaces.len() as u32, bind.to_string()))
    }
    fn set_beacon(&mut self, if_num: u32, state: u32) -> Result<(), BeaconError> {
        if if_num as usize >= self.ifaces.len() {
            return Err(BeaconError::NoSuchInterface);
        }
        if state > 2 {
            return Err(BeaconError::InvalidState);
        }
        self.beacons.push((if_num, state));
        Ok(())
    }
    fn eth_devices(&self) -> Result<Vec<String>, String> {
        Ok(vec!["lo".into(), "eth0".into()])
    }
    fn node_for_addr(&self, _: Option<std::net::Ipv6Addr>) -> Option<NodeDetail> {
        None
    }
    fn pid(&self) -> u32 {
        4242
    }
    fn exit(&mut self) {
        self.exited = true;
    }
    fn node_store_peer_count(&self) -> usize {
        self.peer_count.unwrap_or(self.peers.len())
    }
}

fn example_peer() -> PeerRow {
    PeerRow {
        addr: "v22.0000.0000.0000.0013.mdzyduby24rbp3k9jzsl21tsgn37u9uhht8rwqw5hlqcuv0pwfq0.k"
            .into(),
        bytes_in: 10732,
        bytes_out: 10884,
        recv_kbps: 0,
        send_kbps: 0,
        lladdr: "169.254.12.2:12000".into(),
        state: PeerState::Established,
        last_ms: 1795613915299,
        is_incoming: false,
        duplicates: 0,
        lost_packets: 0,
        received_out_of_range: 0,
        received_packets: 114,
        noise_proto: false,
        if_num: 0,
        user: Some("peer4".into()),
    }
}

fn example_fake() -> Fake {
    Fake {
        peers: vec![example_peer()],
        ..Fake::default()
    }
}

fn as_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn wire_example_ping_cookie_auth_and_bad_hash_byte_for_byte() {
    let ex = wire_exchanges();
    let mut server = AdminServer::new(Some(EXAMPLE_PASSWORD.into()));
    let mut api = example_fake();
    let now = EXAMPLE_COOKIE + 3;
    for title in [
        "unauthenticated ping",
        "authenticated InterfaceController_peerStats",
        "bad hash",
        "InterfaceController_peerStats sent WITHOUT auth",
    ] {
        let (_, req, resp) = find(&ex, title);
        let got = server.handle(req, now, &mut api).expect("a reply");
        assert_eq!(as_text(&got), as_text(resp), "{title}");
    }
    // The cookie reply carries the server's clock.
    let (_, req, resp) = find(&ex, "cookie");
    let got = server.handle(req, EXAMPLE_COOKIE, &mut api).unwrap();
    assert_eq!(as_text(&got), as_text(resp));
}

#[test]
fn wire_example_requests_from_our_client_byte_for_byte() {
    let ex = wire_exchanges();
    let page0 = BDict::new().with("page", 0);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "unauthenticated ping",
            build_request("ping", None, b"t1").unwrap(),
        ),
        ("cookie", build_request("cookie", None, b"t2").unwrap()),
        (
            "authenticated InterfaceController_peerStats",
            build_auth_request(
                "InterfaceController_peerStats",
                Some(&page0),
                b"t3",
                EXAMPLE_PASSWORD,
                &EXAMPLE_COOKIE.to_string(),
            )
            .unwrap(),
        ),
        (
            "Admin_availableFunctions page 0",
            build_request("Admin_availableFunctions", Some(&page0), b"t5").unwrap(),
        ),
        (
            "InterfaceController_peerStats sent WITHOUT auth",
            build_request("InterfaceController_peerStats", Some(&BDict::new()), b"t6").unwrap(),
        ),
    ];
    for (title, ours) in cases {
        let (_, req, _) = find(&ex, title);
        assert_eq!(as_text(&ours), as_text(req), "{title}");
    }
}

#[test]
fn wire_example_available_functions_specs_match_reference() {
    let ex = wire_exchanges();
    let (_, req, resp) = find(&ex, "Admin_availableFunctions page 0");
    // The reference's own page decodes, with its 4-byte layout intact.
    let theirs = parse_reply(resp).unwrap();
    assert_eq!(theirs.get(b"more".as_slice()), Some(&Benc::Int(1)));

    let all = reference_json("vectors/admin-availableFunctions.json");
    let mut server = AdminServer::new(None);
    let mut api = example_fake();
    let mut seen = BTreeMap::new();
    for page in 0.. {
        let mut req = req.clone();
        if page > 0 {
            req = build_request(
                "Admin_availableFunctions",
                Some(&BDict::new().with("page", page)),
                b"t5",
            )
            .unwrap();
        }
        let reply = server.handle(&req, 0, &mut api).unwrap();
        assert_eq!(reply.len() % 4, 0);
        let reply = parse_reply(&reply).unwrap();
        assert_eq!(reply[b"txid".as_slice()], Benc::from("t5"));
        let funcs = reply[b"availableFunctions".as_slice()]
            .as_dict()
            .unwrap()
            .clone();
        let more = reply.contains_key(b"more".as_slice());
        assert_eq!(
            more,
            funcs.len() == 8,
            "page {page}: more iff the page is full"
        );
        if funcs.is_empty() {
            break;
        }
        seen.extend(funcs);
    }
    assert_eq!(seen.len(), functions::FUNCTIONS.len());
    for (name, spec) in &seen {
        let name = as_text(name);
        let expected = all
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not a v22.3 function"));
        assert_eq!(&benc_to_json(spec), expected, "{name}");
    }
}

/// Bencode to the JSON the vectors were dumped as (strings as text).
fn benc_to_json(b: &Benc) -> Json {
    match b {
        Benc::Int(i) => Json::from(*i),
        Benc::Bytes(s) => Json::from(as_text(s)),
        Benc::List(l) => Json::Array(l.iter().map(benc_to_json).collect()),
        Benc::Dict(d) => Json::Object(
            d.iter()
                .map(|(k, v)| (as_text(k), benc_to_json(v)))
                .collect(),
        ),
    }
}

fn map_to_json(m: &BTreeMap<Vec<u8>, Benc>) -> Json {
    benc_to_json(&Benc::Dict(m.clone()))
}

fn js(v: &Json, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} not a string"))
        .to_string()
}

fn ji(v: &Json, k: &str) -> i64 {
    v[k].as_i64().unwrap_or_else(|| panic!("{k} not an int"))
}

fn peer_from_json(p: &Json) -> PeerRow {
    PeerRow {
        addr: js(p, "addr"),
        bytes_in: ji(p, "bytesIn") as u64,
        bytes_out: ji(p, "bytesOut") as u64,
        recv_kbps: ji(p, "recvKbps") as u32,
        send_kbps: ji(p, "sendKbps") as u32,
        lladdr: js(p, "lladdr"),
        state: match js(p, "state").as_str() {
            "ESTABLISHED" => PeerState::Established,
            other => panic!("state {other}"),
        },
        last_ms: ji(p, "last") as u64,
        is_incoming: ji(p, "isIncoming") != 0,
        duplicates: ji(p, "duplicates") as u32,
        lost_packets: ji(p, "lostPackets") as u32,
        received_out_of_range: ji(p, "receivedOutOfRange") as u32,
        received_packets: ji(p, "receivedPackets") as u32,
        noise_proto: ji(p, "noiseProto") != 0,
        if_num: ji(p, "ifNum") as u32,
        user: p["user"].as_str().map(Into::into),
    }
}

/// Ask `server` for `q(args)` with txid and return the decoded reply as JSON.
fn call(server: &mut AdminServer, api: &mut Fake, q: &str, args: BDict, txid: &str) -> Json {
    let req = build_request(q, Some(&args), txid.as_bytes()).unwrap();
    let reply = server.handle(&req, 1000, api).expect("reply");
    assert_eq!(reply.len() % 4, 0, "4-byte padding");
    map_to_json(&parse_reply(&reply).unwrap())
}

#[test]
fn replies_ab_for_our_functions_match_field_for_field() {
    let v = reference_json("vectors/admin-replies-AB.json");
    let mut server = AdminServer::new(Some("NONE".into()));

    // A: ping, cookie, AuthorizedPasswords_list.
    let mut api = Fake {
        users: vec!["Local Peers".into(), "nodeB".into()],
        ..Fake::default()
    };
    let r = &v["A.ping(noauth)"];
    assert_eq!(
        &call(&mut server, &mut api, "ping", BDict::new(), &js(r, "txid")),
        r
    );
    let r = &v["A.cookie(noauth)"];
    let req = build_request("cookie", None, js(r, "txid").as_bytes()).unwrap();
    let now: u64 = js(r, "cookie").parse().unwrap();
    let got = map_to_json(&parse_reply(&server.handle(&req, now, &mut api).unwrap()).unwrap());
    assert_eq!(&got, r);
    let r = &v["A.AuthorizedPasswords_list"];
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "AuthorizedPasswords_list",
            BDict::new(),
            &js(r, "txid")
        ),
        r,
        "users come out reversed, as the reference prepends list items"
    );

    // B: nodeInfo, peerStats, getHandles, sessionStats, dumpTable.
    let r = &v["B.Core_nodeInfo"];
    let mut api = Fake {
        info: Some(NodeInfo {
            my_addr: js(r, "myAddr"),
            my_ip6: js(r, "myIp6"),
            encoding_scheme: EncodingScheme::v358(),
            version: ji(r, "version") as u32,
        }),
        ..Fake::default()
    };
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "Core_nodeInfo",
            BDict::new(),
            &js(r, "txid")
        ),
        r
    );

    let r = &v["B.InterfaceController_interfaces"];
    let i = &r["ifaces"][0];
    assert_eq!(js(i, "beaconState"), "DISABLED");
    api.ifaces = vec![IfaceRow {
        if_num: ji(i, "ifNum") as u32,
        name: js(i, "name"),
        beacon_state: BeaconState::Disabled,
    }];
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "InterfaceController_interfaces",
            BDict::new(),
            &js(r, "txid")
        ),
        r
    );

    let r = &v["B.InterfaceController_peerStats"];
    api.peers = r["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(peer_from_json)
        .collect();
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "InterfaceController_peerStats",
            BDict::new(),
            &js(r, "txid")
        ),
        r
    );

    let s = &v["B.SessionManager_sessionStats(37465)"];
    api.sessions = vec![SessionRow {
        handle: ji(s, "handle") as u32,
        send_handle: ji(s, "sendHandle") as u32,
        addr: js(s, "addr"),
        ip6: js(s, "ip6"),
        state: PeerState::Established,
        metric: ji(s, "metric") as u32,
        duplicates: ji(s, "duplicates") as u32,
        lost_packets: ji(s, "lostPackets") as u32,
        received_out_of_range: ji(s, "receivedOutOfRange") as u32,
        noise_proto: ji(s, "noiseProto") != 0,
        time_of_last_usage: ji(s, "timeOfLastUsage") as u64,
    }];
    let r = &v["B.SessionManager_getHandles"];
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "SessionManager_getHandles",
            BDict::new(),
            &js(r, "txid")
        ),
        r
    );
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "SessionManager_sessionStats",
            BDict::new().with("handle", 37465),
            &js(s, "txid")
        ),
        s
    );
    // Same session by address.
    let by_ip = call(
        &mut server,
        &mut api,
        "SessionManager_sessionStatsByIP",
        BDict::new().with("ip6", js(s, "ip6").as_str()),
        &js(s, "txid"),
    );
    assert_eq!(&by_ip, s);

    let r = &v["B.NodeStore_dumpTable(0)"];
    let rows: Vec<NodeRow> = r["routingTable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| NodeRow {
            addr: js(n, "addr"),
            ip: js(n, "ip"),
            path: protocol_core::identity::parse_label(&js(n, "path")).unwrap(),
            link: ji(n, "link") as u64,
            version: ji(n, "version") as u32,
            time: ji(n, "time") as u64,
            bucket: ji(n, "bucket") as u32,
        })
        .collect();
    // Our table order is the reverse of the page as listed.
    api.nodes = rows.into_iter().rev().collect();
    api.peer_count = Some(ji(r, "peers") as usize);
    assert_eq!(
        &call(
            &mut server,
            &mut api,
            "NodeStore_dumpTable",
            BDict::new().with("page", 0),
            &js(r, "txid")
        ),
        r
    );
}

fn auth_req(aq: &str, args: Option<&BDict>, txid: &[u8], password: &str, cookie: u64) -> Vec<u8> {
    build_auth_request(aq, args, txid, password, &cookie.to_string()).unwrap()
}

fn reply_json(server: &mut AdminServer, api: &mut Fake, req: &[u8], now: u64) -> Json {
    let r = server.handle(req, now, api).expect("reply");
    map_to_json(&parse_reply(&r).unwrap())
}

#[test]
fn auth_cookie_window_and_failures() {
    let mut server = AdminServer::new(Some("secret".into()));
    let mut api = Fake {
        users: vec!["u".into()],
        ..Fake::default()
    };
    let now = 1_800_000_000;
    let ok = |j: &Json| j.get("users").is_some();
    let failed = |j: &Json| j["error"] == "Auth failed.";
    for (cookie, pass, good) in [
        (now, "secret", true),
        (now - 20, "secret", true),
        (now - 21, "secret", false),
        (now + 1, "secret", false),
        (now, "Secret", false),
    ] {
        let req = auth_req("AuthorizedPasswords_list", None, b"x", pass, cookie);
        let j = reply_json(&mut server, &mut api, &req, now);
        assert_eq!(ok(&j), good, "cookie {cookie} pass {pass}: {j}");
        assert_eq!(failed(&j), !good);
        assert_eq!(j["txid"], "x");
    }
    // Tampering with anything after hashing fails.
    let mut req = auth_req("AuthorizedPasswords_list", None, b"x", "secret", now);
    let at = req.len() - 2;
    req[at] = b'y';
    assert!(failed(&reply_json(&mut server, &mut api, &req, now)));
    // A cookie sent as an integer is read too.
    let mut msg = BDict::new()
        .with("q", "auth")
        .with("aq", "AuthorizedPasswords_list")
        .with("cookie", now as i64)
        .with("txid", "i");
    let first = fc00d::admin::auth::sha256_hex(format!("secret{now}").as_bytes());
    msg.put("hash", first.as_slice());
    let enc = benc::encode_dict(&msg.0, false, 4096).unwrap();
    msg.put("hash", fc00d::admin::auth::sha256_hex(&enc).as_slice());
    let enc = benc::encode_dict(&msg.0, false, 4096).unwrap();
    assert!(ok(&reply_json(&mut server, &mut api, &enc, now)));

    // The C client (`client/AdminClient.c`) hashes and sends the padded form.
    let mut msg = BDict::new()
        .with("q", "auth")
        .with("aq", "AuthorizedPasswords_list")
        .with("args", BDict::new())
        .with("cookie", now.to_string())
        .with("txid", "c");
    msg.put("hash", first.as_slice());
    let enc = benc::encode_dict(&msg.0, true, 4096).unwrap();
    assert!(enc.starts_with(b"d0"), "padding present");
    msg.put("hash", fc00d::admin::auth::sha256_hex(&enc).as_slice());
    let enc = benc::encode_dict(&msg.0, true, 4096).unwrap();
    assert!(ok(&reply_json(&mut server, &mut api, &enc, now)));

    // Without a password nothing authenticates, but no-auth functions still answer.
    let mut open = AdminServer::new(None);
    let req = auth_req("AuthorizedPasswords_list", None, b"x", "", now);
    assert!(failed(&reply_json(&mut open, &mut api, &req, now)));
    let j = reply_json(
        &mut open,
        &mut api,
        &build_request("Core_pid", None, b"p").unwrap(),
        now,
    );
    assert_eq!(j["pid"], 4242);
    // Needs-auth functions by plain `q` match nothing.
    let j = reply_json(
        &mut server,
        &mut api,
        &build_request("AuthorizedPasswords_list", None, b"p").unwrap(),
        now,
    );
    assert_eq!(j["error"], NO_MATCH_ERROR);
    // Auth without `aq` matches nothing either.
    let req = auth_req("", None, b"x", "secret", now);
    let j = reply_json(&mut server, &mut api, &req, now);
    assert_eq!(j["error"], NO_MATCH_ERROR);
    // "NONE" opens everything.
    let mut none = AdminServer::new(Some("NONE".into()));
    let j = reply_json(
        &mut none,
        &mut api,
        &build_request("AuthorizedPasswords_list", None, b"p").unwrap(),
        now,
    );
    assert_eq!(j["users"][0], "u");
}

#[test]
fn size_limit_txid_and_silent_drops() {
    let mut server = AdminServer::new(Some("NONE".into()));
    let mut api = example_fake();
    // 2048 bytes is still served; 2049 is refused with the reference's fixed reply.
    let pad = |len: usize| {
        // `d1:q4:ping4:txid<n>:<n bytes>e` is 18 bytes plus the txid and its length.
        let n = (1..len)
            .find(|n| 18 + n + n.to_string().len() == len)
            .unwrap();
        let r = build_request("ping", None, &vec![b'a'; n]).unwrap();
        assert_eq!(r.len(), len);
        r
    };
    let r = server.handle(&pad(2048), 0, &mut api).unwrap();
    assert!(as_text(&r).contains("4:pong"));
    assert_eq!(
        server.handle(&pad(2049), 0, &mut api).unwrap(),
        TOO_BIG_REPLY
    );
    assert_eq!(TOO_BIG_REPLY, b"d5:error16:Request too big.e");
    // No txid, or an empty one: none echoed.
    assert_eq!(
        server.handle(b"d1:q4:pinge", 0, &mut api).unwrap(),
        b"d01:q4:ponge"
    );
    assert_eq!(
        server.handle(b"d1:q4:ping4:txid0:e", 0, &mut api).unwrap(),
        b"d01:q4:ponge"
    );
    // Garbage, non-dicts, trailing bytes, missing or non-string `q`: no reply.
    for bad in [
        &b""[..],
        b"i1e",
        b"d1:q4:pinge!",
        b"d4:txid1:xe",
        b"d1:qi1ee",
        b"d1:q4:ping",
    ] {
        assert_eq!(server.handle(bad, 0, &mut api), None, "{}", as_text(bad));
    }
    // Padded requests (as cjdns itself writes) are read.
    assert!(server.handle(b"d0001:q4:pinge", 0, &mut api).is_some());
    // Unknown function.
    let j = reply_json(
        &mut server,
        &mut api,
        &build_request("Nope", None, b"t").unwrap(),
        0,
    );
    assert_eq!(j["error"], NO_MATCH_ERROR);
    assert_eq!(j["txid"], "t");
}

#[test]
fn required_arguments_as_check_args_reports_them() {
    let mut server = AdminServer::new(Some("NONE".into()));
    let mut api = example_fake();
    let cases = [
        (
            "InterfaceController_disconnectPeer",
            BDict::new(),
            "Entry [pubkey] is required and must be of type [String]",
        ),
        (
            "InterfaceController_disconnectPeer",
            BDict::new().with("pubkey", 5),
            "Entry [pubkey] is required and must be of type [String]",
        ),
        (
            "UDPInterface_beginConnection",
            BDict::new(),
            "Entry [address] is required and must be of type [String]",
        ),
        (
            "UDPInterface_beginConnection",
            BDict::new().with("address", "1.2.3.4:5"),
            "Entry [publicKey] is required and must be of type [String]",
        ),
        (
            "NodeStore_dumpTable",
            BDict::new(),
            "Entry [page] is required and must be of type [Int]",
        ),
        (
            "SessionManager_sessionStats",
            BDict::new().with("handle", "1"),
            "Entry [handle] is required and must be of type [Int]",
        ),
        (
            "SwitchPinger_ping",
            BDict::new(),
            "Entry [path] is required and must be of type [String]",
        ),
    ];
    for (q, args, err) in cases {
        let j = call(&mut server, &mut api, q, args, "e");
        assert_eq!(j["error"], err, "{q}");
        assert_eq!(j.as_object().unwrap().len(), 2, "{q}: only error and txid");
    }
    // No `args` at all behaves like empty args.
    let req = build_request("NodeStore_dumpTable", None, b"e").unwrap();
    let j = reply_json(&mut server, &mut api, &req, 0);
    assert_eq!(
        j["error"],
        "Entry [page] is required and must be of type [Int]"
    );
}

fn many_peers(n: usize) -> Vec<PeerRow> {
    (0..n)
        .map(|i| PeerRow {
            if_num: i as u32,
            ..example_peer()
        })
        .collect()
}

#[test]
fn paging_and_reversed_pages() {
    let mut server = AdminServer::new(Some("NONE".into()));
    let mut api = Fake {
        peers: many_peers(7),
        users: (0..17).map(|i| format!("u{i}")).collect(),
        sessions: (0..65)
            .map(|i| SessionRow {
                handle: 100 + i,
                send_handle: 0,
                addr: String::new(),
                ip6: String::new(),
                state: PeerState::Init,
                metric: 0,
                duplicates: 0,
                lost_packets: 0,
                received_out_of_range: 0,
                noise_proto: false,
                time_of_last_usage: 0,
            })
            .collect(),
        nodes: (0..5)
            .map(|i| NodeRow {
                addr: format!("n{i}"),
                ip: String::new(),
                path: i,
                link: 0,
                version: 22,
                time: 0,
                bucket: 0,
            })
            .collect(),
        ..Fake::default()
    };
    let ifnums = |j: &Json| -> Vec<i64> {
        j["peers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["ifNum"].as_i64().unwrap())
            .collect()
    };
    let j = call(
        &mut server,
        &mut api,
        "InterfaceController_peerStats",
        BDict::new(),
        "p",
    );
    assert_eq!(ifnums(&j), [5, 4, 3, 2, 1, 0]);
    assert_eq!(
        (j["more"].as_i64(), j["total"].as_i64()),
        (Some(1), Some(7))
    );
    let j = call(
        &mut server,
        &mut api,
        "InterfaceController_peerStats",
        BDict::new().with("page", 1),
        "p",
    );
    assert_eq!(ifnums(&j), [6]);
    assert!(j.get("more").is_none());
    let j = call(
        &mut server,
        &mut api,
        "InterfaceController_peerStats",
        BDict::new().with("page", -1),
        "p",
    );
    assert_eq!(ifnums(&j), Vec::<i64>::new());

    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_list",
        BDict::new().with("page", 1),
        "p",
    );
    assert_eq!(j["users"], serde_json::json!(["u16"]));
    assert_eq!(j["total"], 17);
    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_list",
        BDict::new(),
        "p",
    );
    assert_eq!(j["users"].as_array().unwrap().len(), 16);
    assert_eq!(j["users"][0], "u15");

    let j = call(
        &mut server,
        &mut api,
        "SessionManager_getHandles",
        BDict::new(),
        "p",
    );
    assert_eq!(j["handles"].as_array().unwrap().len(), 64);
    assert_eq!(j["handles"][0], 163);
    assert_eq!(j["more"], 1);
    let j = call(
        &mut server,
        &mut api,
        "SessionManager_getHandles",
        BDict::new().with("page", 1),
        "p",
    );
    assert_eq!(j["handles"], serde_json::json!([164]));

    let addrs = |j: &Json| -> Vec<String> {
        j["routingTable"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["addr"].as_str().unwrap().to_string())
            .collect()
    };
    let j = call(
        &mut server,
        &mut api,
        "NodeStore_dumpTable",
        BDict::new().with("page", 0),
        "p",
    );
    assert_eq!(addrs(&j), ["n3", "n2", "n1", "n0"]);
    assert_eq!(
        (j["more"].as_i64(), j["count"].as_i64()),
        (Some(1), Some(5))
    );
    let j = call(
        &mut server,
        &mut api,
        "NodeStore_dumpTable",
        BDict::new().with("page", 1),
        "p",
    );
    assert_eq!(addrs(&j), ["n4"]);
    assert!(j.get("more").is_none());
    // A full last page still says `more` (the reference checks the last node it reached).
    api.nodes.truncate(4);
    let j = call(
        &mut server,
        &mut api,
        "NodeStore_dumpTable",
        BDict::new().with("page", 0),
        "p",
    );
    assert_eq!(j["more"], 1);
}

#[test]
fn switch_ping_is_answered_on_completion() {
    let mut server = AdminServer::new(Some("NONE".into()));
    let mut api = example_fake();
    let args = BDict::new()
        .with("path", "0000.0000.0000.0013")
        .with("data", "hi");
    let req = build_request("SwitchPinger_ping", Some(&args), b"sp").unwrap();
    assert_eq!(server.handle(&req, 0, &mut api), None);
    assert_eq!(
        api.switch_pings,
        [(0x13, b"hi".to_vec(), 2000, SwitchPingKind::Ping)]
    );
    assert_eq!(server.pending_pings(), 1);
    let mut pong = SwitchPong::new(SwitchPingOutcome::Pong, 7, 22);
    pong.data = Some(b"hi".to_vec());
    let reply = server
        .complete(PingTicket(1), PingResult::Switch(pong.clone()))
        .unwrap();
    assert_eq!(
        as_text(&reply),
        "d4:data2:hi2:msi7e4:path19:0000.0000.0000.00136:result4:pong4:txid2:sp7:versioni22ee"
    );
    assert_eq!(
        server.complete(PingTicket(1), PingResult::Switch(pong)),
        None
    );

    // Label mismatch and timeout; keyPing goes to the kind-aware call.
    let args = BDict::new()
        .with("path", "0000.0000.0000.0015")
        .with("timeout", 50)
        .with("keyPing", 1);
    let req = build_request("SwitchPinger_ping", Some(&args), b"k").unwrap();
    assert_eq!(server.handle(&req, 0, &mut api), None);
    assert_eq!(
        api.switch_pings[1],
        (0x15, vec![], 50, SwitchPingKind::KeyPing)
    );
    let mismatch = SwitchPong::new(
        SwitchPingOutcome::LabelMismatch {
            response_path: 0x17,
        },
        3,
        0,
    );
    let j = map_to_json(
        &parse_reply(
            &server
                .complete(PingTicket(2), PingResult::Switch(mismatch))
                .unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(
        j,
        serde_json::json!({"data": "", "ms": 3, "path": "0000.0000.0000.0015",
                            "responsePath": "0000.0000.0000.0017", "result": "diff_label", "txid": "k"})
    );
    // A timeout reports only the time, whatever else the daemon filled in.
    let req = build_request(
        "SwitchPinger_ping",
        Some(&BDict::new().with("path", "0000.0000.0000.0013")),
        b"t",
    )
    .unwrap();
    assert_eq!(server.handle(&req, 0, &mut api), None);
    let mut late = SwitchPong::new(SwitchPingOutcome::Timeout, 2000, 22);
    late.data = Some(b"x".to_vec());
    let r = server
        .complete(PingTicket(3), PingResult::Switch(late))
        .unwrap();
    assert_eq!(
        as_text(&r),
        "d002:msi2000e4:path19:0000.0000.0000.00136:result7:timeout4:txid1:te"
    );

    // Refused synchronously.
    for (args, err) in [
        (
            BDict::new().with("path", "0000.0000.0000.001"),
            "path was not parsable.",
        ),
        (
            BDict::new().with("path", "0000.0000.0000.001x"),
            "path was not parsable.",
        ),
        (
            BDict::new()
                .with("path", "0000.0000.0000.0013")
                .with("keyPing", 1)
                .with("snode", 1),
            "Can only be one of keyPing, lladdr, OR snode",
        ),
    ] {
        let j = call(&mut server, &mut api, "SwitchPinger_ping", args, "z");
        assert_eq!(j["error"], err);
    }
    // The daemon can fail a ticket.
    let req = build_request(
        "SwitchPinger_ping",
        Some(&BDict::new().with("path", "0000.0000.0000.0013")),
        b"f",
    )
    .unwrap();
    assert_eq!(server.handle(&req, 0, &mut api), None);
    let r = server
        .complete(
            PingTicket(4),
            PingResult::Error("no open slots to store ping, try later.".into()),
        )
        .unwrap();
    assert_eq!(
        as_text(&r),
        "d5:error39:no open slots to store ping, try later.4:txid1:fe"
    );
}

#[test]
fn router_ping_pong_and_timeout() {
    let mut server = AdminServer::new(Some("NONE".into()));
    let mut api = example_fake();
    let args = BDict::new()
        .with("path", "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53")
        .with("timeout", -5);
    let req = build_request("RouterModule_pingNode", Some(&args), b"r").unwrap();
    assert_eq!(server.handle(&req, 0, &mut api), None);
    assert_eq!(
        api.router_pings,
        [("fc49:0c57:3941:5184:3de2:5d23:d54f:9a53".to_string(), 0)]
    );
    let pong = RouterPong {
        ms: 12,
        from: Some(RouterPongFrom {
            addr: "v22.0000.0000.0000.0013.x.k".into(),
            ip6: "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53".into(),
            path: 0x13,
            version_bin: None,
            protocol: Some(22),
        }),
    };
    let j = map_to_json(
        &parse_reply(
            &server
                .complete(PingTicket(1), PingResult::Router(pong))
                .unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(
        j,
        serde_json::json!({
            "addr": "v22.0000.0000.0000.0013.x.k",
            "deprecation": "from,protocol,version will soon be removed",
            "from": "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53@0000.0000.0000.0013",
            "ms": 12, "protocol": 22, "result": "pong", "txid": "r", "version": "unknown"})
    );
    assert_eq!(server.handle(&req, 0, &mut api), None);
    let j = map_to_json(
        &parse_reply(
            &server
                .complete(
                    PingTicket(2),
                    PingResult::Router(RouterPong {
                        from: None,
                        ms: 100,
                    }),
                )
                .unwrap(),
        )
        .unwrap(),
    );
    assert_eq!(j["result"], "timeout");
    assert!(j.get("addr").is_none());
    // Cancelled tickets are forgotten.
    assert_eq!(server.handle(&req, 0, &mut api), None);
    server.cancel(PingTicket(3));
    assert_eq!(server.pending_pings(), 0);
    assert_eq!(
        server.complete(PingTicket(3), PingResult::Error("x".into())),
        None
    );
}

#[test]
fn mutating_functions() {
    let mut server = AdminServer::new(Some("NONE".into()));
    let mut api = Fake {
        peers: vec![example_peer()],
        users: vec!["a".into()],
        ..Fake::default()
    };
    let key = "mdzyduby24rbp3k9jzsl21tsgn37u9uhht8rwqw5hlqcuv0pwfq0.k";
    let j = call(
        &mut server,
        &mut api,
        "InterfaceController_disconnectPeer",
        BDict::new().with("pubkey", key),
        "d",
    );
    assert_eq!(
        j,
        serde_json::json!({"sessionsDisconnected": 1, "success": 1, "txid": "d"})
    );
    let j = call(
        &mut server,
        &mut api,
        "InterfaceController_disconnectPeer",
        BDict::new().with("pubkey", "zzz"),
        "d",
    );
    assert_eq!(
        j,
        serde_json::json!({"error": "bad key", "sessionsDisconnected": 0, "success": 0, "txid": "d"})
    );
    assert_eq!(api.disconnects, [key]);

    let args = BDict::new()
        .with("publicKey", key)
        .with("address", "1.2.3.4:5")
        .with("interfaceNumber", 1)
        .with("password", "pw")
        .with("peerName", "n");
    let j = call(
        &mut server,
        &mut api,
        "UDPInterface_beginConnection",
        args,
        "u",
    );
    assert_eq!(j["error"], "none");
    assert_eq!(
        api.connects[0],
        UdpConnect {
            interface_number: 1,
            public_key: key.into(),
            address: "1.2.3.4:5".into(),
            password: Some(b"pw".to_vec()),
            login: None,
            peer_name: Some(b"n".to_vec()),
            version: None,
        }
    );
    let args = BDict::new().with("publicKey", key).with("address", "");
    let j = call(
        &mut server,
        &mut api,
        "UDPInterface_beginConnection",
        args,
        "u",
    );
    assert_eq!(j["error"], "unable to parse ip address and port.");

    let add = |ip: Option<&str>| {
        let mut a = BDict::new().with("password", "p1").with("user", "bob");
        if let Some(ip) = ip {
            a.put("ipv6", ip);
        }
        a
    };
    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_add",
        add(Some("nope")),
        "a",
    );
    assert_eq!(j["error"], "Invalid IPv6 Address");
    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_add",
        add(Some("fc00::1")),
        "a",
    );
    assert_eq!(j["error"], "none");
    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_add",
        add(None),
        "a",
    );
    assert_eq!(j["error"], "Password already added.");
    assert_eq!(
        api.added,
        [("p1".into(), Some("bob".into()), Some("fc00::1".into()))]
    );
    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_remove",
        BDict::new().with("user", "a"),
        "r",
    );
    assert_eq!(j["error"], "none");
    let j = call(
        &mut server,
        &mut api,
        "AuthorizedPasswords_remove",
        BDict::new().with("user", "a"),
        "r",
    );
    assert_eq!(j["error"], "Unknown error.");

    let j = call(
        &mut server,
        &mut api,
        "SessionManager_sessionStats",
        BDict::new().with("handle", 9),
        "s",
    );
    assert_eq!(j["error"], "no such session");
    let j = call(
        &mut server,
        &mut api,
        "SessionManager_sessionStatsByIP",
        BDict::new().with("ip6", "x"),
        "s",
    );
    assert_eq!(j["error"], "malformed_ip");

    let r = server
        .handle(
            &build_request("Core_exit", None, b"x").unwrap(),
            0,
            &mut api,
        )
        .unwrap();
    assert_eq!(r, b"d5:error4:none4:txid1:xe");
    assert!(api.exited);
}
