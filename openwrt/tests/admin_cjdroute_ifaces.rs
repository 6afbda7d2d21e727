//! A second recording from a real cjdroute v22.3 (network namespace with lo and a veth
//! pair, admin password `admpw`, one UDP interface on 127.0.0.1:22000, no peers), for the
//! interface, node-store and password functions: `UDPInterface_new`, `ETHInterface_beacon`,
//! `ETHInterface_listDevices`, `NodeStore_nodeForAddr`, `AuthorizedPasswords_add` with
//! `ipv6` / `_remove` / `_list`, and `RouterModule_pingNode`'s lookups. The exchanges ran
//! in this order against one node, so they are replayed in order against one server and a
//! fake daemon that keeps the same state; every reply must match byte for byte.

use std::net::SocketAddr;

use fc00d::admin::*;
use protocol_core::switch::EncodingScheme;

const KEY: &str = "b2m3vb1hgl1728q7dllh4f9zngz1xwfv95hk1rw2x73y53jkjf00.k";
const IP6: &str = "fc4c:fe13:773f:66c4:754e:b668:d9b0:df37";

/// The recorded node: its interfaces, users, devices and the pings it was asked for.
struct Recorded {
    ifaces: Vec<IfaceRow>,
    users: Vec<String>,
    tickets: u64,
    router_pings: Vec<String>,
}

impl Default for Recorded {
    fn default() -> Self {
        Recorded {
            ifaces: vec![IfaceRow {
                if_num: 0,
                name: "UDP/IPv4/127.0.0.1:22000".into(),
                beacon_state: BeaconState::Disabled,
            }],
            users: vec!["Local Peers".into(), "default-login".into()],
            tickets: 0,
            router_pings: Vec::new(),
        }
    }
}

impl AdminApi for Recorded {
    fn node_info(&self) -> NodeInfo {
        NodeInfo {
            my_addr: format!("v22.0000.0000.0000.0001.{KEY}"),
            my_ip6: IP6.into(),
            encoding_scheme: EncodingScheme::v358(),
            version: 22,
        }
    }
    fn peers(&self) -> Vec<PeerRow> {
        Vec::new()
    }
    fn sessions(&self) -> Vec<SessionRow> {
        Vec::new()
    }
    fn nodes(&self) -> Vec<NodeRow> {
        Vec::new()
    }
    fn interfaces(&self) -> Vec<IfaceRow> {
        self.ifaces.clone()
    }
    fn connect_udp(&mut self, _: UdpConnect) -> Result<(), String> {
        Ok(())
    }
    fn disconnect_peer(&mut self, _: &str) -> Result<(), String> {
        Err("no peer found for that key".into())
    }
    fn add_password(&mut self, _: &str, user: Option<&str>, _: Option<&str>) -> Result<(), String> {
        self.users.push(user.unwrap_or_default().to_string());
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
    fn switch_ping(&mut self, _: u64, _: &[u8], _: u32) -> PingTicket {
        self.tickets += 1;
        PingTicket(self.tickets)
    }
    fn router_ping(&mut self, target: &str, _: u32) -> PingTicket {
        self.router_pings.push(target.to_string());
        self.tickets += 1;
        PingTicket(self.tickets)
    }
    fn new_udp(&mut self, bind: SocketAddr, _: u16, name: &str) -> Result<(u32, String), String> {
        let if_num = self.ifaces.len() as u32;
        self.ifaces.push(IfaceRow {
            if_num,
            name: name.to_string(),
            beacon_state: BeaconState::Disabled,
        });
        // The port the recorded node's kernel picked for port 0.
        let bound = match bind.port() {
            0 => SocketAddr::new(bind.ip(), 47874),
            _ => bind,
        };
        Ok((if_num, bound.to_string()))
    }
    fn set_beacon(&mut self, if_num: u32, state: u32) -> Result<(), BeaconError> {
        let iface = self
            .ifaces
            .iter_mut()
            .find(|i| i.if_num == if_num)
            .ok_or(BeaconError::NoSuchInterface)?;
        iface.beacon_state = match state {
            0 => BeaconState::Disabled,
            1 => BeaconState::Accepting,
            2 => BeaconState::Sending,
            _ => return Err(BeaconError::InvalidState),
        };
        Ok(())
    }
    fn eth_devices(&self) -> Result<Vec<String>, String> {
        // Interface index order in the recording namespace.
        Ok(vec!["lo".into(), "eth1".into(), "eth0".into()])
    }
    fn node_for_addr(&self, ip: Option<std::net::Ipv6Addr>) -> Option<NodeDetail> {
        let me: std::net::Ipv6Addr = IP6.parse().ok()?;
        (ip.is_none() || ip == Some(me)).then(|| NodeDetail {
            protocol_version: 22,
            key: KEY.into(),
            link_count: 2,
            cost: 0,
            encoding_scheme: EncodingScheme::v358(),
            parent_ip6: IP6.into(),
            parent_child_label: 1,
            is_one_hop: false,
            route_label: 1,
        })
    }
    fn pid(&self) -> u32 {
        1
    }
    fn exit(&mut self) {}
}

/// How the recorded node finished an asynchronous call.
enum Done {
    Now,
    /// Router lookup failed with this text.
    Error(&'static str),
    /// Router ping of its own label: pong from itself in 1 ms, protocol 22, no version.
    SelfPong,
}

struct Case {
    name: &'static str,
    now: u64,
    request: &'static [u8],
    done: Done,
    reply: Option<&'static [u8]>,
}

#[test]
fn recorded_interface_and_store_exchanges_byte_for_byte() {
    let mut server = AdminServer::new(Some("admpw".into()));
    let mut api = Recorded::default();
    for case in CASES {
        let before = api.tickets;
        let mut got = server.handle(case.request, case.now, &mut api);
        let result = match case.done {
            Done::Now => None,
            Done::Error(e) => Some(PingResult::Error(e.into())),
            Done::SelfPong => Some(PingResult::Router(RouterPong {
                from: Some(RouterPongFrom {
                    addr: format!("v22.0000.0000.0000.0001.{KEY}"),
                    ip6: IP6.into(),
                    path: 1,
                    version_bin: None,
                    protocol: Some(22),
                }),
                ms: 1,
            })),
        };
        if let Some(result) = result {
            assert_eq!(got, None, "{}: answered later", case.name);
            assert_eq!(api.tickets, before + 1, "{}: one ping started", case.name);
            got = server.complete(PingTicket(api.tickets), result);
        }
        assert_eq!(
            got.as_deref().map(String::from_utf8_lossy),
            case.reply.map(String::from_utf8_lossy),
            "{}",
            case.name
        );
    }
    // `parse_path` is answered by the server itself; the others reached the daemon.
    assert_eq!(
        api.router_pings,
        ["fc00::1", "0000.0000.0000.0015", "0000.0000.0000.0001"]
    );
}

const CASES: &[Case] = &[
    Case {
        name: "udp_new_bad",
        now: 1753541733,
        request: b"d2:aq16:UDPInterface_new4:argsd11:bindAddress7:garbagee6:cookie10:17535417334:hash64:cf95b3694faddce6a5e10f5348211f9781bc2c08be676990e01c265dd3c9c7e61:q4:auth4:txid1:ue",
        done: Done::Now,
        reply: Some(b"d5:error23:Failed to parse address4:txid1:ue"),
    },
    Case {
        name: "udp_new_v4",
        now: 1753541733,
        request: b"d2:aq16:UDPInterface_new4:argsd11:bindAddress15:127.0.0.1:22001e6:cookie10:17535417334:hash64:610cb14043e35c43a0bf0f1bb6673d51138a53ccc4f3eeef9ea0a9880d6f873e1:q4:auth4:txid1:ue",
        done: Done::Now,
        reply: Some(b"d00011:bindAddress15:127.0.0.1:220015:error4:none15:interfaceNumberi1e4:txid1:ue"),
    },
    Case {
        name: "udp_new_inuse",
        now: 1753541733,
        request: b"d2:aq16:UDPInterface_new4:argsd11:bindAddress15:127.0.0.1:22001e6:cookie10:17535417334:hash64:610cb14043e35c43a0bf0f1bb6673d51138a53ccc4f3eeef9ea0a9880d6f873e1:q4:auth4:txid1:ue",
        done: Done::Now,
        reply: Some(b"d00011:bindAddress15:127.0.0.1:220015:error4:none15:interfaceNumberi2e4:txid1:ue"),
    },
    Case {
        name: "udp_new_v6",
        now: 1753541733,
        request: b"d2:aq16:UDPInterface_new4:argsd11:bindAddress11:[::1]:22002e6:cookie10:17535417334:hash64:d40412e204cf512ca49396034900f964da3f6932ab17ff056c9c296d5d5146ec1:q4:auth4:txid1:ue",
        done: Done::Now,
        reply: Some(b"d00011:bindAddress11:[::1]:220025:error4:none15:interfaceNumberi3e4:txid1:ue"),
    },
    Case {
        name: "udp_new_port0",
        now: 1753541733,
        request: b"d2:aq16:UDPInterface_new4:argsd11:bindAddress9:127.0.0.1e6:cookie10:17535417334:hash64:7954f2cf979a1db2f13a80cf805cf23088eff60944b90bc9b0e8879c1973a0281:q4:auth4:txid1:ue",
        done: Done::Now,
        reply: Some(b"d00011:bindAddress15:127.0.0.1:478745:error4:none15:interfaceNumberi4e4:txid1:ue"),
    },
    Case {
        name: "beacon_nostate",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsde6:cookie10:17535417334:hash64:dbe62cc72fa0a44d0b503fed513dff7c4efc762eef4fd91e369047a6ac3ea9a41:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d005:error13:invalid state4:txid1:be"),
    },
    Case {
        name: "beacon_send",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd15:interfaceNumberi0e5:statei2ee6:cookie10:17535417334:hash64:ca4dbac9d517bb5fbea9b67418b0cff0a408c9a07479fd5446aceb67164595c71:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d0005:error4:none5:statei2e9:stateName21:sending and accepting4:txid1:be"),
    },
    Case {
        name: "beacon_accept",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd15:interfaceNumberi1e5:statei1ee6:cookie10:17535417334:hash64:982191c523d94d16cdb6e7824a390554ddcdacb088aae5405a44dabf69df946a1:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d5:error4:none5:statei1e9:stateName9:accepting4:txid1:be"),
    },
    Case {
        name: "beacon_off",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd5:statei0ee6:cookie10:17535417334:hash64:3f20d512aaf482458ad1592a736ba94c754e4cfd8526409660db3e6142c2d47d1:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d05:error4:none5:statei0e9:stateName8:disabled4:txid1:be"),
    },
    Case {
        name: "beacon_badif",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd15:interfaceNumberi9e5:statei1ee6:cookie10:17535417334:hash64:82250715aaf322ce44d83478a8b9c9d52ecf6fe2d2dcd72be8e2e66b554fa7ca1:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d5:error23:invalid interfaceNumber4:txid1:be"),
    },
    Case {
        name: "beacon_negif",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd15:interfaceNumberi-1e5:statei1ee6:cookie10:17535417334:hash64:326fcb2ba34340b98894abd55e8312f50f064bfc52cbd8a8438571331f4a54171:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d5:error23:invalid interfaceNumber4:txid1:be"),
    },
    Case {
        name: "beacon_badstate",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd15:interfaceNumberi0e5:statei3ee6:cookie10:17535417334:hash64:33f6d008b4ebe519f985d53af76457bd2b2d2adada03f297bd1de0e2385791861:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d005:error13:invalid state4:txid1:be"),
    },
    Case {
        name: "beacon_negstate",
        now: 1753541733,
        request: b"d2:aq19:ETHInterface_beacon4:argsd15:interfaceNumberi0e5:statei-1ee6:cookie10:17535417334:hash64:07d5b851d915805fc459a09cfe65ac8ad98238ada1806d1aa9054fb7479f1ffa1:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d005:error13:invalid state4:txid1:be"),
    },
    Case {
        name: "ifaces",
        now: 1753541733,
        request: b"d2:aq30:InterfaceController_interfaces4:argsde6:cookie10:17535417334:hash64:60bb3c080a258faaeb8290e7a736a2d38c7ac9c4981773630d5448ecaf2a082e1:q4:auth4:txid1:ie",
        done: Done::Now,
        reply: Some(b"d06:ifacesld11:beaconState8:DISABLED5:ifNumi4e4:name18:UDP/IPv4/127.0.0.1ed11:beaconState8:DISABLED5:ifNumi3e4:name20:UDP/IPv6/[::1]:22002ed11:beaconState8:DISABLED5:ifNumi2e4:name24:UDP/IPv4/127.0.0.1:22001ed11:beaconState9:ACCEPTING5:ifNumi1e4:name24:UDP/IPv4/127.0.0.1:22001ed11:beaconState8:DISABLED5:ifNumi0e4:name24:UDP/IPv4/127.0.0.1:22000ee5:totali5e4:txid1:ie"),
    },
    Case {
        name: "listdev",
        now: 1753541733,
        request: b"d2:aq24:ETHInterface_listDevices6:cookie10:17535417334:hash64:8c04a71d072748d164b2c9f0da5803721326ed34a85160e6d05ad35fa4a5ff9d1:q4:auth4:txid1:le",
        done: Done::Now,
        reply: Some(b"d07:devicesl4:eth04:eth12:loe5:error4:none4:txid1:le"),
    },
    Case {
        name: "nfa_self",
        now: 1753541733,
        request: b"d2:aq21:NodeStore_nodeForAddr6:cookie10:17535417334:hash64:2c7bfed428a65de611e3519102e3e588dcc70a1c9be04180f8ed2f85617c8d9c1:q4:auth4:txid1:ne",
        done: Done::Now,
        reply: Some(b"d0005:error4:none6:resultd10:bestParentd2:ip39:fc4c:fe13:773f:66c4:754e:b668:d9b0:df378:isOneHopi0e16:parentChildLabel19:0000.0000.0000.0001e4:costi0e14:encodingSchemeld8:bitCounti3e6:prefix2:019:prefixLeni1eed8:bitCounti5e6:prefix2:029:prefixLeni2eed8:bitCounti8e6:prefix2:009:prefixLeni2eee3:key54:b2m3vb1hgl1728q7dllh4f9zngz1xwfv95hk1rw2x73y53jkjf00.k9:linkCounti2e15:protocolVersioni22e10:routeLabel19:0000.0000.0000.0001e4:txid1:ne"),
    },
    Case {
        name: "nfa_selfip",
        now: 1753541733,
        request: b"d2:aq21:NodeStore_nodeForAddr4:argsd2:ip39:fc4c:fe13:773f:66c4:754e:b668:d9b0:df37e6:cookie10:17535417334:hash64:fea017ee6ba8324f50bc19312865925db24057b7eec0ae222f893e1190ec9d301:q4:auth4:txid1:ne",
        done: Done::Now,
        reply: Some(b"d0005:error4:none6:resultd10:bestParentd2:ip39:fc4c:fe13:773f:66c4:754e:b668:d9b0:df378:isOneHopi0e16:parentChildLabel19:0000.0000.0000.0001e4:costi0e14:encodingSchemeld8:bitCounti3e6:prefix2:019:prefixLeni1eed8:bitCounti5e6:prefix2:029:prefixLeni2eed8:bitCounti8e6:prefix2:009:prefixLeni2eee3:key54:b2m3vb1hgl1728q7dllh4f9zngz1xwfv95hk1rw2x73y53jkjf00.k9:linkCounti2e15:protocolVersioni22e10:routeLabel19:0000.0000.0000.0001e4:txid1:ne"),
    },
    Case {
        name: "nfa_bad",
        now: 1753541733,
        request: b"d2:aq21:NodeStore_nodeForAddr4:argsd2:ip7:garbagee6:cookie10:17535417334:hash64:a6daed41a09149147890359de9685d585b7f02ac2744e8bfe591863bb8564fff1:q4:auth4:txid1:ne",
        done: Done::Now,
        reply: Some(b"d5:error8:parse_ip4:txid1:ne"),
    },
    Case {
        name: "nfa_unknown",
        now: 1753541733,
        request: b"d2:aq21:NodeStore_nodeForAddr4:argsd2:ip7:fc00::1e6:cookie10:17535417334:hash64:3e9f5a04331f89b33438a7cd8c26319ed2ef7f4d6a9b22e40ed79a8cc93d21b01:q4:auth4:txid1:ne",
        done: Done::Now,
        reply: Some(b"d005:error4:none6:resultde4:txid1:ne"),
    },
    Case {
        name: "nfa_int",
        now: 1753541733,
        request: b"d2:aq21:NodeStore_nodeForAddr4:argsd2:ipi5ee6:cookie10:17535417334:hash64:bc23b66a87de7e44b5be79e12ea25bd9e8cf05a3cd52c71c1bb7933ea8cfddac1:q4:auth4:txid1:ne",
        done: Done::Now,
        reply: Some(b"d0005:error4:none6:resultd10:bestParentd2:ip39:fc4c:fe13:773f:66c4:754e:b668:d9b0:df378:isOneHopi0e16:parentChildLabel19:0000.0000.0000.0001e4:costi0e14:encodingSchemeld8:bitCounti3e6:prefix2:019:prefixLeni1eed8:bitCounti5e6:prefix2:029:prefixLeni2eed8:bitCounti8e6:prefix2:009:prefixLeni2eee3:key54:b2m3vb1hgl1728q7dllh4f9zngz1xwfv95hk1rw2x73y53jkjf00.k9:linkCounti2e15:protocolVersioni22e10:routeLabel19:0000.0000.0000.0001e4:txid1:ne"),
    },
    Case {
        name: "pw_add_ip",
        now: 1753541733,
        request: b"d2:aq23:AuthorizedPasswords_add4:argsd4:ipv67:fc00::18:password2:p14:user2:u1e6:cookie10:17535417334:hash64:444329a546a9ef3c87c1cd31c2b7f4fc7c311e184886f0d6e6ff470063879ec91:q4:auth4:txid1:pe",
        done: Done::Now,
        reply: Some(b"d5:error4:none4:txid1:pe"),
    },
    Case {
        name: "pw_list",
        now: 1753541733,
        request: b"d2:aq24:AuthorizedPasswords_list6:cookie10:17535417334:hash64:7c38709f40054343337b89cb04d9d40d03f791171048fb1a81b624e32326721a1:q4:auth4:txid1:pe",
        done: Done::Now,
        reply: Some(b"d5:totali3e4:txid1:p5:usersl2:u113:default-login11:Local Peersee"),
    },
    Case {
        name: "pw_rm",
        now: 1753541733,
        request: b"d2:aq26:AuthorizedPasswords_remove4:argsd4:user2:u1e6:cookie10:17535417334:hash64:68add5bc9f65ff3483772356c4f47dbe5600fdc300903273c901f735b0438eba1:q4:auth4:txid1:pe",
        done: Done::Now,
        reply: Some(b"d5:error4:none4:txid1:pe"),
    },
    Case {
        name: "pw_rm_again",
        now: 1753541733,
        request: b"d2:aq26:AuthorizedPasswords_remove4:argsd4:user2:u1e6:cookie10:17535417334:hash64:68add5bc9f65ff3483772356c4f47dbe5600fdc300903273c901f735b0438eba1:q4:auth4:txid1:pe",
        done: Done::Now,
        reply: Some(b"d05:error14:Unknown error.4:txid1:pe"),
    },
    Case {
        name: "pw_rm_none",
        now: 1753541733,
        request: b"d2:aq26:AuthorizedPasswords_remove4:argsde6:cookie10:17535417334:hash64:611ae2e527ce5781f3a0c502902ed113149ae40c62b0d222e3c3f2f6cfb2e12c1:q4:auth4:txid1:pe",
        done: Done::Now,
        reply: Some(b"d005:error53:Entry [user] is required and must be of type [String]4:txid1:pe"),
    },
    Case {
        name: "pw_list2",
        now: 1753541733,
        request: b"d2:aq24:AuthorizedPasswords_list6:cookie10:17535417334:hash64:7c38709f40054343337b89cb04d9d40d03f791171048fb1a81b624e32326721a1:q4:auth4:txid1:pe",
        done: Done::Now,
        reply: Some(b"d5:totali2e4:txid1:p5:usersl13:default-login11:Local Peersee"),
    },
    Case {
        name: "rp_bad",
        now: 1753541733,
        request: b"d2:aq21:RouterModule_pingNode4:argsd4:path7:garbagee6:cookie10:17535417334:hash64:e0522f58aabf778cf78b616785762669f13aca1e1392d55dc80476b1baf9fa1c1:q4:auth4:txid1:re",
        done: Done::Now,
        reply: Some(b"d05:error10:parse_path4:txid1:re"),
    },
    Case {
        name: "rp_unknown_ip",
        now: 1753541733,
        request: b"d2:aq21:RouterModule_pingNode4:argsd4:path7:fc00::1e6:cookie10:17535417334:hash64:c037e0e709ae7724330e4542e5a71d2e03a03ce2c0800ddd6d76c8d62d23d63d1:q4:auth4:txid1:re",
        done: Done::Error("not_found"),
        reply: Some(b"d0005:error9:not_found4:txid1:re"),
    },
    Case {
        name: "rp_unknown_label",
        now: 1753541733,
        request: b"d2:aq21:RouterModule_pingNode4:argsd4:path19:0000.0000.0000.0015e6:cookie10:17535417334:hash64:c7cb3540e4f618f5b3e090bf7939669ccb7278f91469e58eafb5161f232f55931:q4:auth4:txid1:re",
        done: Done::Error("not_found"),
        reply: Some(b"d0005:error9:not_found4:txid1:re"),
    },
    Case {
        name: "rp_self_label",
        now: 1753541733,
        request: b"d2:aq21:RouterModule_pingNode4:argsd4:path19:0000.0000.0000.0001e6:cookie10:17535417334:hash64:38c593b1e31d11a697d89857908538d6e6949fa59dac12284c469b997c4cbe4e1:q4:auth4:txid1:re",
        done: Done::SelfPong,
        reply: Some(b"d004:addr78:v22.0000.0000.0000.0001.b2m3vb1hgl1728q7dllh4f9zngz1xwfv95hk1rw2x73y53jkjf00.k11:deprecation42:from,protocol,version will soon be removed4:from59:fc4c:fe13:773f:66c4:754e:b668:d9b0:df37@0000.0000.0000.00012:msi1e8:protocoli22e6:result4:pong4:txid1:r7:version7:unknowne"),
    },];
