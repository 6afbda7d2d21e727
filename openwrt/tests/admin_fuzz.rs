//! Whatever arrives on the admin socket, the server answers or stays silent; it never
//! panics, and every reply it sends is well-formed padded bencode.

use fc00d::admin::benc::{BDict, Benc};
use fc00d::admin::client::{build_auth_request, build_request, parse_reply};
use fc00d::admin::functions::FUNCTIONS;
use fc00d::admin::*;
use proptest::prelude::*;
use protocol_core::switch::EncodingScheme;

struct Api(u64);

impl AdminApi for Api {
    fn node_info(&self) -> NodeInfo {
        NodeInfo {
            my_addr: "v22.x.k".into(),
            my_ip6: "fc00::1".into(),
            encoding_scheme: EncodingScheme::v358(),
            version: 22,
        }
    }
    fn peers(&self) -> Vec<PeerRow> {
        (0..9)
            .map(|i| PeerRow {
                addr: format!("p{i}"),
                bytes_in: u64::MAX,
                bytes_out: i,
                recv_kbps: 0,
                send_kbps: 0,
                lladdr: String::new(),
                state: PeerState::Unresponsive,
                last_ms: 0,
                is_incoming: true,
                duplicates: 0,
                lost_packets: 0,
                received_out_of_range: 0,
                received_packets: 0,
                noise_proto: false,
                if_num: 0,
                user: None,
            })
            .collect()
    }
    fn sessions(&self) -> Vec<SessionRow> {
        Vec::new()
    }
    fn nodes(&self) -> Vec<NodeRow> {
        (0..6)
            .map(|i| NodeRow {
                addr: String::new(),
                ip: String::new(),
                path: i,
                link: u64::MAX,
                version: 22,
                time: 0,
                bucket: 0,
            })
            .collect()
    }
    fn connect_udp(&mut self, _: UdpConnect) -> Result<(), String> {
        Err("unknown error".into())
    }
    fn disconnect_peer(&mut self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn add_password(&mut self, _: &str, _: Option<&str>, _: Option<&str>) -> Result<(), String> {
        Ok(())
    }
    fn list_users(&self) -> Vec<String> {
        (0..20).map(|i| i.to_string()).collect()
    }
    fn remove_user(&mut self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn switch_ping(&mut self, _: u64, _: &[u8], _: u32) -> PingTicket {
        self.0 += 1;
        PingTicket(self.0)
    }
    fn router_ping(&mut self, _: &str, _: u32) -> PingTicket {
        self.0 += 1;
        PingTicket(self.0)
    }
    fn new_udp(
        &mut self,
        bind: std::net::SocketAddr,
        _: u16,
        _: &str,
    ) -> Result<(u32, String), String> {
        Ok((1, bind.to_string()))
    }
    fn set_beacon(&mut self, if_num: u32, state: u32) -> Result<(), BeaconError> {
        match (if_num, state) {
            (1.., _) => Err(BeaconError::NoSuchInterface),
            (_, 3..) => Err(BeaconError::InvalidState),
            _ => Ok(()),
        }
    }
    fn eth_devices(&self) -> Result<Vec<String>, String> {
        Ok(vec!["lo".into(), "eth0".into()])
    }
    fn node_for_addr(&self, ip: Option<std::net::Ipv6Addr>) -> Option<NodeDetail> {
        ip.is_none().then(|| NodeDetail {
            protocol_version: 22,
            key: "k".into(),
            link_count: 2,
            cost: u64::MAX,
            encoding_scheme: EncodingScheme::v358(),
            parent_ip6: String::new(),
            parent_child_label: u64::MAX,
            is_one_hop: false,
            route_label: 1,
        })
    }
    fn pid(&self) -> u32 {
        1
    }
    fn exit(&mut self) {}
}

fn check_reply(reply: Option<Vec<u8>>) {
    if let Some(r) = reply {
        if r != TOO_BIG_REPLY {
            assert_eq!(r.len() % 4, 0);
            parse_reply(&r).expect("our reply parses");
        }
    }
}

fn benc_strategy() -> impl Strategy<Value = Benc> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(Benc::Int),
        prop::collection::vec(any::<u8>(), 0..24).prop_map(Benc::Bytes),
        "[0-9a-f.]{0,20}".prop_map(|s| Benc::from(s.as_str())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Benc::List),
            prop::collection::btree_map(prop::collection::vec(any::<u8>(), 0..6), inner, 0..4)
                .prop_map(Benc::Dict),
        ]
    })
}

/// Argument names the functions know, plus noise.
fn arg_name() -> impl Strategy<Value = String> {
    let mut names: Vec<String> = FUNCTIONS
        .iter()
        .flat_map(|f| f.args.iter().map(|a| a.name.to_string()))
        .collect();
    names.push("junk".into());
    prop::sample::select(names)
}

fn request_strategy() -> impl Strategy<Value = (String, BDict, Vec<u8>)> {
    let mut names: Vec<String> = FUNCTIONS.iter().map(|f| f.name.to_string()).collect();
    names.extend(["cookie", "auth", "ping", ""].map(String::from));
    (
        prop::sample::select(names),
        prop::collection::btree_map(arg_name(), benc_strategy(), 0..5),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(q, args, txid)| {
            let mut d = BDict::new();
            for (k, v) in args {
                d.put(&k, v);
            }
            (q, d, txid)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2100), now in any::<u64>()) {
        let mut server = AdminServer::new(Some("NONE".into()));
        check_reply(server.handle(&bytes, now, &mut Api(0)));
    }

    #[test]
    fn random_calls_never_panic((q, args, txid) in request_strategy(), now in any::<u64>(), open in any::<bool>()) {
        let mut server = AdminServer::new(Some(if open { "NONE" } else { "pw" }.into()));
        let mut api = Api(0);
        let req = build_request(&q, Some(&args), &txid).unwrap();
        check_reply(server.handle(&req, now, &mut api));
        let req = build_auth_request(&q, Some(&args), &txid, "pw", &now.to_string()).unwrap();
        check_reply(server.handle(&req, now, &mut api));
        // Any pings started complete into well-formed replies.
        for t in 1..=api.0 {
            let r = server.complete(PingTicket(t), PingResult::Switch(SwitchPong::new(SwitchPingOutcome::Timeout, 1, 0)));
            check_reply(r);
        }
        prop_assert_eq!(server.pending_pings(), 0);
    }

    #[test]
    fn mutated_requests_never_panic(
        (q, args, txid) in request_strategy(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut req = build_auth_request(&q, Some(&args), &txid, "pw", "100").unwrap();
        for (at, byte, op) in edits {
            let i = at.index(req.len() + 1);
            match op {
                0 if i < req.len() => req[i] = byte,
                1 => req.insert(i, byte),
                _ if i < req.len() => { req.remove(i); }
                _ => {}
            }
        }
        let mut server = AdminServer::new(Some("pw".into()));
        check_reply(server.handle(&req, 105, &mut Api(0)));
    }

    #[test]
    fn client_requests_parse_back((q, args, txid) in request_strategy()) {
        let req = build_request(&q, Some(&args), &txid).unwrap();
        let m = parse_reply(&req).unwrap();
        prop_assert_eq!(m[b"q".as_slice()].as_bytes(), Some(q.as_bytes()));
        prop_assert_eq!(m[b"txid".as_slice()].as_bytes(), Some(txid.as_slice()));
        prop_assert_eq!(&m[b"args".as_slice()], &Benc::from(args));
    }

    #[test]
    fn correct_auth_always_passes(pw in "[ -~]{0,80}", txid in "[a-z0-9]{0,10}", age in 0u64..=20) {
        let now = 1_700_000_000;
        let mut server = AdminServer::new(Some(pw.clone()));
        let req = build_auth_request("ping", None, txid.as_bytes(), &pw, &(now - age).to_string()).unwrap();
        let r = parse_reply(&server.handle(&req, now, &mut Api(0)).unwrap()).unwrap();
        // The reference hashes at most 63 bytes of password||cookie: long passwords
        // only work with clients that do the same.
        if pw.len() + 10 <= 63 {
            prop_assert_eq!(r[b"q".as_slice()].as_bytes(), Some(b"pong".as_slice()));
        }
    }
}
