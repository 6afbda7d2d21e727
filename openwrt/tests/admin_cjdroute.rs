//! Exchanges recorded from a real cjdroute v22.3 (loopback, admin password `admpw`, no
//! peers, one UDP interface) and replayed against our server with a fake daemon in the
//! same state: error texts, argument checks, auth and cookie window, padding, txid
//! handling, paging edge cases and ping completions, byte for byte.

use fc00d::admin::*;
use protocol_core::switch::EncodingScheme;

const MY_ADDR: &str =
    "v22.0000.0000.0000.0001.mxdmh58ps74j6r2qz905yy55jbynwufz4qwx6x3vrz0tv2uq7ts0.k";
const MY_IP6: &str = "fca4:ec3c:99c9:6bcb:e8d6:7aa7:211f:9015";

/// The recorded node: itself in the node store, one UDP interface, two users.
#[derive(Default)]
struct Recorded {
    tickets: u64,
}

impl AdminApi for Recorded {
    fn node_info(&self) -> NodeInfo {
        NodeInfo {
            my_addr: MY_ADDR.into(),
            my_ip6: MY_IP6.into(),
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
        vec![NodeRow {
            addr: MY_ADDR.into(),
            ip: MY_IP6.into(),
            path: 1,
            link: 0,
            version: 22,
            time: 20310,
            bucket: 127,
        }]
    }
    fn interfaces(&self) -> Vec<IfaceRow> {
        vec![IfaceRow {
            if_num: 0,
            name: "UDP/IPv4/127.0.0.1:21961".into(),
            beacon_state: BeaconState::Disabled,
        }]
    }
    fn connect_udp(&mut self, _: UdpConnect) -> Result<(), String> {
        Ok(())
    }
    fn disconnect_peer(&mut self, _: &str) -> Result<(), String> {
        Err("no peer found for that key".into())
    }
    fn add_password(&mut self, _: &str, _: Option<&str>, _: Option<&str>) -> Result<(), String> {
        Ok(())
    }
    fn list_users(&self) -> Vec<String> {
        vec!["Local Peers".into(), "default-login".into()]
    }
    fn remove_user(&mut self, _: &str) -> Result<(), String> {
        Err("Unknown error.".into())
    }
    fn switch_ping(&mut self, _: u64, _: &[u8], _: u32) -> PingTicket {
        self.tickets += 1;
        PingTicket(self.tickets)
    }
    fn router_ping(&mut self, _: &str, _: u32) -> PingTicket {
        self.tickets += 1;
        PingTicket(self.tickets)
    }
    // Not asked in this recording (see admin_cjdroute_ifaces.rs); answers for its one
    // UDP interface and empty store.
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
        Ok(vec!["lo".into()])
    }
    fn node_for_addr(&self, _: Option<std::net::Ipv6Addr>) -> Option<NodeDetail> {
        None
    }
    fn pid(&self) -> u32 {
        1
    }
    fn exit(&mut self) {}
    fn node_store_peer_count(&self) -> usize {
        0
    }
}

/// How the recorded node finished an asynchronous call.
enum Done {
    /// Answered at once (or not at all).
    Now,
    /// Switch pong from itself, 5 ms, version 22, no payload.
    SwitchPong,
    /// Same with payload "hi".
    SwitchPongData,
    Error(&'static str),
}

struct Case {
    name: &'static str,
    /// The recorded node's clock when it answered (cookie checks).
    now: u64,
    request: &'static [u8],
    done: Done,
    reply: Option<&'static [u8]>,
}

#[test]
fn recorded_cjdroute_exchanges_byte_for_byte() {
    for case in CASES {
        let mut server = AdminServer::new(Some("admpw".into()));
        let mut api = Recorded::default();
        let mut got = server.handle(case.request, case.now, &mut api);
        let result = match case.done {
            Done::Now => None,
            Done::SwitchPong => Some(PingResult::Switch(SwitchPong::new(
                SwitchPingOutcome::Pong,
                5,
                22,
            ))),
            Done::SwitchPongData => {
                let mut pong = SwitchPong::new(SwitchPingOutcome::Pong, 5, 22);
                pong.data = Some(b"hi".to_vec());
                Some(PingResult::Switch(pong))
            }
            Done::Error(e) => Some(PingResult::Error(e.into())),
        };
        if let Some(result) = result {
            assert_eq!(got, None, "{}: answered later", case.name);
            got = server.complete(PingTicket(1), result);
        }
        assert_eq!(
            got.as_deref().map(String::from_utf8_lossy),
            case.reply.map(String::from_utf8_lossy),
            "{}",
            case.name
        );
    }
}

#[test]
fn recorded_size_limit() {
    let mut server = AdminServer::new(Some("admpw".into()));
    let mut api = Recorded::default();
    let mut fits = b"d1:q4:ping4:txid2026:".to_vec();
    fits.extend([b'a'; 2026]);
    fits.push(b'e');
    assert_eq!(fits.len(), 2048);
    let mut expected = b"d1:q4:pong4:txid2026:".to_vec();
    expected.extend([b'a'; 2026]);
    expected.push(b'e');
    assert_eq!(server.handle(&fits, 0, &mut api), Some(expected));
    let mut big = b"d1:q4:ping4:txid2030:".to_vec();
    big.extend([b'a'; 2030]);
    big.push(b'e');
    assert_eq!(
        server.handle(&big, 0, &mut api).as_deref(),
        Some(&b"d5:error16:Request too big.e"[..])
    );
}

const CASES: &[Case] = &[
    Case {
        name: "ping",
        now: 0,
        request: b"d1:q4:ping4:txid2:t1e",
        done: Done::Now,
        reply: Some(b"d0001:q4:pong4:txid2:t1e"),
    },
    Case {
        name: "ping_notxid",
        now: 0,
        request: b"d1:q4:pinge",
        done: Done::Now,
        reply: Some(b"d01:q4:ponge"),
    },
    Case {
        name: "ping_emptytxid",
        now: 0,
        request: b"d1:q4:ping4:txid0:e",
        done: Done::Now,
        reply: Some(b"d01:q4:ponge"),
    },
    Case {
        name: "ping_inttxid",
        now: 0,
        request: b"d1:q4:ping4:txidi5ee",
        done: Done::Now,
        reply: Some(b"d01:q4:ponge"),
    },
    Case {
        name: "ping_padded",
        now: 0,
        request: b"d0001:q4:ping4:txid2:t1e",
        done: Done::Now,
        reply: Some(b"d0001:q4:pong4:txid2:t1e"),
    },
    Case {
        name: "garbage",
        now: 0,
        request: b"xyz",
        done: Done::Now,
        reply: None,
    },
    Case {
        name: "trailing",
        now: 0,
        request: b"d1:q4:pinge!",
        done: Done::Now,
        reply: None,
    },
    Case {
        name: "noq",
        now: 0,
        request: b"d4:txid1:xe",
        done: Done::Now,
        reply: None,
    },
    Case {
        name: "unknown",
        now: 0,
        request: b"d1:q4:Nope4:txid1:ue",
        done: Done::Now,
        reply: Some(b"d005:error65:No functions matched your request, try Admin_availableFunctions()4:txid1:ue"),
    },
    Case {
        name: "needsauth_plain",
        now: 0,
        request: b"d1:q24:AuthorizedPasswords_list4:txid1:ae",
        done: Done::Now,
        reply: Some(b"d005:error65:No functions matched your request, try Admin_availableFunctions()4:txid1:ae"),
    },
    Case {
        name: "auth_bad",
        now: 1753529215,
        request: b"d2:aq4:ping6:cookie10:17535292154:hash64:00000000000000000000000000000000000000000000000000000000000000001:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d0005:error12:Auth failed.4:txid1:be"),
    },
    Case {
        name: "auth_ok_list",
        now: 1753536248,
        request: b"d2:aq24:AuthorizedPasswords_list4:argsde6:cookie10:17535362484:hash64:36ecc46ea4c3145535cf1454a6479cc938bf20385636a89b4b9125419cc6bce91:q4:auth4:txid1:ce",
        done: Done::Now,
        reply: Some(b"d5:totali2e4:txid1:c5:usersl13:default-login11:Local Peersee"),
    },
    Case {
        name: "auth_ok_list_padded_noargs",
        now: 1753536248,
        request: b"d2:aq24:AuthorizedPasswords_list6:cookie10:17535362484:hash64:afd81cfabc7b1802349a87dfd0d7bc0681088917d4f207deb5e2f10a99c271411:q4:auth4:txid2:c2e",
        done: Done::Now,
        reply: Some(b"d0005:totali2e4:txid2:c25:usersl13:default-login11:Local Peersee"),
    },
    Case {
        name: "auth_noaq",
        now: 0,
        request: b"d1:q4:auth4:txid1:de",
        done: Done::Now,
        reply: Some(b"d0005:error12:Auth failed.4:txid1:de"),
    },
    Case {
        name: "disconnect_noargs",
        now: 1753536248,
        request: b"d2:aq34:InterfaceController_disconnectPeer4:argsde6:cookie10:17535362484:hash64:4c17e83f8fc00c468ecfb7caf4a372093335cf150d1e701e2fdb8b75590ec09e1:q4:auth4:txid1:ee",
        done: Done::Now,
        reply: Some(b"d5:error55:Entry [pubkey] is required and must be of type [String]4:txid1:ee"),
    },
    Case {
        name: "disconnect_badtype",
        now: 1753536248,
        request: b"d2:aq34:InterfaceController_disconnectPeer4:argsd6:pubkeyi5ee6:cookie10:17535362484:hash64:edd097ef5dd22d4e9ecf3b0b51456e03dc82998c0bdb67820386da45d6fcb2e31:q4:auth4:txid1:ee",
        done: Done::Now,
        reply: Some(b"d5:error55:Entry [pubkey] is required and must be of type [String]4:txid1:ee"),
    },
    Case {
        name: "disconnect_badkey",
        now: 1753536248,
        request: b"d2:aq34:InterfaceController_disconnectPeer4:argsd6:pubkey3:zzze6:cookie10:17535362484:hash64:7cf44f0263a2e93371c356187b965ce93252256b295dd6d0d0f273eb3e25e3371:q4:auth4:txid1:ee",
        done: Done::Now,
        reply: Some(b"d0005:error7:bad key20:sessionsDisconnectedi0e7:successi0e4:txid1:ee"),
    },
    Case {
        name: "disconnect_nopeer",
        now: 1753536248,
        request: b"d2:aq34:InterfaceController_disconnectPeer4:argsd6:pubkey54:mdzyduby24rbp3k9jzsl21tsgn37u9uhht8rwqw5hlqcuv0pwfq0.ke6:cookie10:17535362484:hash64:96b8abf006936cbf0dbd5f081dc21cbddbb6e0563397bff3a059d46696ea9dc81:q4:auth4:txid1:ee",
        done: Done::Now,
        reply: Some(b"d0005:error26:no peer found for that key20:sessionsDisconnectedi0e7:successi0e4:txid1:ee"),
    },
    Case {
        name: "udp_noargs",
        now: 1753536248,
        request: b"d2:aq28:UDPInterface_beginConnection4:argsde6:cookie10:17535362484:hash64:fbc669b3bf0ccdf92fef36cfb34e01e285b52caf7424289bfb542dede0f3ab931:q4:auth4:txid1:fe",
        done: Done::Now,
        reply: Some(b"d0005:error56:Entry [address] is required and must be of type [String]4:txid1:fe"),
    },
    Case {
        name: "udp_addr_only",
        now: 1753536248,
        request: b"d2:aq28:UDPInterface_beginConnection4:argsd7:address9:1.2.3.4:5e6:cookie10:17535362484:hash64:705a88075faeaa874c7c40d8a1916f9ecc2f76bd4c3ac2a3e212b4e2c6a920de1:q4:auth4:txid1:fe",
        done: Done::Now,
        reply: Some(b"d05:error58:Entry [publicKey] is required and must be of type [String]4:txid1:fe"),
    },
    Case {
        name: "dump_noargs",
        now: 0,
        request: b"d1:q19:NodeStore_dumpTable4:txid1:ge",
        done: Done::Now,
        reply: Some(b"d05:error50:Entry [page] is required and must be of type [Int]4:txid1:ge"),
    },
    Case {
        name: "dump_page0",
        now: 0,
        request: b"d4:argsd4:pagei0ee1:q19:NodeStore_dumpTable4:txid1:ge",
        done: Done::Now,
        reply: Some(b"d5:counti1e11:deprecation36:ip,path,version will soon be removed5:peersi0e12:routingTableld4:addr78:v22.0000.0000.0000.0001.mxdmh58ps74j6r2qz905yy55jbynwufz4qwx6x3vrz0tv2uq7ts0.k6:bucketi127e2:ip39:fca4:ec3c:99c9:6bcb:e8d6:7aa7:211f:90154:linki0e4:path19:0000.0000.0000.00014:timei20310e7:versioni22eee4:txid1:ge"),
    },
    Case {
        name: "dump_page5",
        now: 0,
        request: b"d4:argsd4:pagei5ee1:q19:NodeStore_dumpTable4:txid1:ge",
        done: Done::Now,
        reply: Some(b"d0005:counti1e11:deprecation36:ip,path,version will soon be removed5:peersi0e12:routingTablele4:txid1:ge"),
    },
    Case {
        name: "sessstats_str",
        now: 1753536248,
        request: b"d2:aq27:SessionManager_sessionStats4:argsd6:handle1:1e6:cookie10:17535362484:hash64:4618c0cec5df283d726a96163f582f074e01068562554945833ec2c0a7c8980d1:q4:auth4:txid1:he",
        done: Done::Now,
        reply: Some(b"d0005:error52:Entry [handle] is required and must be of type [Int]4:txid1:he"),
    },
    Case {
        name: "sessstats_none",
        now: 1753536248,
        request: b"d2:aq27:SessionManager_sessionStats4:argsd6:handlei1ee6:cookie10:17535362484:hash64:eff0806bd4c2876a7ae6f4690958fddb14701cd2645bb73865f60433aca4776a1:q4:auth4:txid1:he",
        done: Done::Now,
        reply: Some(b"d5:error15:no such session4:txid1:he"),
    },
    Case {
        name: "sessbyip_bad",
        now: 1753536248,
        request: b"d2:aq31:SessionManager_sessionStatsByIP4:argsd3:ip61:xe6:cookie10:17535362484:hash64:cdc59ff8f83cb0e1d475cee6ff99f69d5bec6e091deb73de80faa4ce5f7531c61:q4:auth4:txid1:he",
        done: Done::Now,
        reply: Some(b"d0005:error12:malformed_ip4:txid1:he"),
    },
    Case {
        name: "sp_badpath",
        now: 1753536248,
        request: b"d2:aq17:SwitchPinger_ping4:argsd4:path18:0000.0000.0000.001e6:cookie10:17535362484:hash64:f61cac8310ceed9913ffe47b7bc2accf97d900a042353549a59f102042d949611:q4:auth4:txid1:ie",
        done: Done::Now,
        reply: Some(b"d05:error22:path was not parsable.4:txid1:ie"),
    },
    Case {
        name: "sp_badhex",
        now: 1753536248,
        request: b"d2:aq17:SwitchPinger_ping4:argsd4:path19:0000.0000.0000.001xe6:cookie10:17535362484:hash64:ab39a8a6b7d7259b951a6dab50f41bdc0b5a5506f1e8a53eed5255688bbd1e0e1:q4:auth4:txid1:ie",
        done: Done::Now,
        reply: Some(b"d05:error22:path was not parsable.4:txid1:ie"),
    },
    Case {
        name: "sp_two",
        now: 1753536248,
        request: b"d2:aq17:SwitchPinger_ping4:argsd7:keyPingi1e4:path19:0000.0000.0000.00135:snodei1ee6:cookie10:17535362484:hash64:9891744279ce39b2f74ba928146c798eb0831d2cd168951df773d66f8a81b7a11:q4:auth4:txid1:ie",
        done: Done::Now,
        reply: Some(b"d0005:error44:Can only be one of keyPing, lladdr, OR snode4:txid1:ie"),
    },
    Case {
        name: "sp_self",
        now: 1753536248,
        request: b"d2:aq17:SwitchPinger_ping4:argsd4:data2:hi4:path19:0000.0000.0000.0001e6:cookie10:17535362484:hash64:dd6d6a6d078478ab9054f5595863442a1178f5b1f99e934bb726cc86db974f951:q4:auth4:txid1:ie",
        done: Done::SwitchPongData,
        reply: Some(b"d04:data2:hi2:msi5e4:path19:0000.0000.0000.00016:result4:pong4:txid1:i7:versioni22ee"),
    },
    Case {
        name: "rp_bad",
        now: 1753536248,
        request: b"d2:aq21:RouterModule_pingNode4:argsd4:path8:nonsensee6:cookie10:17535362484:hash64:9243d8735ca041d8a936f9d6a69a8c02326ff126f476e78be4b7857a417bf1461:q4:auth4:txid1:je",
        done: Done::Now,
        reply: Some(b"d05:error10:parse_path4:txid1:je"),
    },
    Case {
        name: "rp_notfound",
        now: 1753536248,
        request: b"d2:aq21:RouterModule_pingNode4:argsd4:path39:fc49:0c57:3941:5184:3de2:5d23:d54f:9a53e6:cookie10:17535362484:hash64:cb69fcc940b8ff448dc02cd6979358a17369407431519e2c4544a0b26ddee2231:q4:auth4:txid1:je",
        done: Done::Error("not_found"),
        reply: Some(b"d0005:error9:not_found4:txid1:je"),
    },
    Case {
        name: "pw_add_badip",
        now: 1753536248,
        request: b"d2:aq23:AuthorizedPasswords_add4:argsd4:ipv64:nope8:password2:p1e6:cookie10:17535362484:hash64:222be008e1637950eb841240aa6759ca1a4934b1c4a80041bef0bae8036434e91:q4:auth4:txid1:ke",
        done: Done::Now,
        reply: Some(b"d0005:error20:Invalid IPv6 Address4:txid1:ke"),
    },
    Case {
        name: "pw_remove_again",
        now: 1753536248,
        request: b"d2:aq26:AuthorizedPasswords_remove4:argsd4:user3:bobe6:cookie10:17535362484:hash64:c9594393dc7d65df54ab483223158876d23adef1b4edcca223b980ab9707ffcb1:q4:auth4:txid1:ke",
        done: Done::Now,
        reply: Some(b"d05:error14:Unknown error.4:txid1:ke"),
    },
    Case {
        name: "handles",
        now: 1753536248,
        request: b"d2:aq25:SessionManager_getHandles4:argsde6:cookie10:17535362484:hash64:1b29cb2b7ce786962ff3078212324fb1fd475d9c5e12845756e50f7dee04ac921:q4:auth4:txid1:le",
        done: Done::Now,
        reply: Some(b"d7:handlesle5:totali0e4:txid1:le"),
    },
    Case {
        name: "ifaces",
        now: 1753536248,
        request: b"d2:aq30:InterfaceController_interfaces4:argsde6:cookie10:17535362484:hash64:4ef5a6f1c2c99d9c1e16d3983a1b8781d0f928fcd4d3a32a68f83e0ece4567301:q4:auth4:txid1:le",
        done: Done::Now,
        reply: Some(b"d6:ifacesld11:beaconState8:DISABLED5:ifNumi0e4:name24:UDP/IPv4/127.0.0.1:21961ee5:totali1e4:txid1:le"),
    },
    Case {
        name: "peerstats",
        now: 0,
        request: b"d1:q29:InterfaceController_peerStats4:txid1:le",
        done: Done::Now,
        reply: Some(b"d005:peersle5:totali0e4:txid1:le"),
    },
    Case {
        name: "nodeinfo",
        now: 0,
        request: b"d1:q13:Core_nodeInfo4:txid1:le",
        done: Done::Now,
        reply: Some(b"d19:compressedSchemeHex10:611445810014:encodingSchemeld8:bitCounti3e6:prefix2:019:prefixLeni1eed8:bitCounti5e6:prefix2:029:prefixLeni2eed8:bitCounti8e6:prefix2:009:prefixLeni2eee5:error4:none6:myAddr78:v22.0000.0000.0000.0001.mxdmh58ps74j6r2qz905yy55jbynwufz4qwx6x3vrz0tv2uq7ts0.k5:myIp639:fca4:ec3c:99c9:6bcb:e8d6:7aa7:211f:90154:txid1:l7:versioni22ee"),
    },
    Case {
        name: "avail_p100",
        now: 0,
        request: b"d4:argsd4:pagei100ee1:q24:Admin_availableFunctions4:txid1:me",
        done: Done::Now,
        reply: Some(b"d0018:availableFunctionsde4:txid1:me"),
    },
    Case {
        name: "auth_cookie_q",
        now: 1753536248,
        request: b"d2:aq6:cookie6:cookie10:17535362484:hash64:cf5476844ed70f4a424cbeac540ab5b3322857e9c0a9a1c1d382a184fffe787a1:q4:auth4:txid1:ne",
        done: Done::Now,
        reply: Some(b"d005:error65:No functions matched your request, try Admin_availableFunctions()4:txid1:ne"),
    },
    Case {
        name: "auth_old_cookie",
        now: 1753536248,
        request: b"d2:aq4:ping6:cookie10:17535362274:hash64:9f80fa63c093fa2dd41f5c31683a4fb025a7f6383831c71cbf123285415c298c1:q4:auth4:txid1:oe",
        done: Done::Now,
        reply: Some(b"d0005:error12:Auth failed.4:txid1:oe"),
    },
    Case {
        name: "auth_edge_cookie",
        now: 1753536248,
        request: b"d2:aq4:ping6:cookie10:17535362284:hash64:168c49daf0dc0c5ddf818bb4ebe116caed8acba40e2d9ed39999276dbb09e4ab1:q4:auth4:txid1:oe",
        done: Done::Now,
        reply: Some(b"d1:q4:pong4:txid1:oe"),
    },
    Case {
        name: "auth_future_cookie",
        now: 1753536248,
        request: b"d2:aq4:ping6:cookie10:17535362494:hash64:f4919c6f9ac1f54ab42a2d881d5bd592d17c46dbfd00bda1488c99d5532dddbe1:q4:auth4:txid1:oe",
        done: Done::Now,
        reply: Some(b"d0005:error12:Auth failed.4:txid1:oe"),
    },
    Case {
        name: "auth_noaq_valid",
        now: 1753536278,
        request: b"d6:cookie10:17535362784:hash64:acd91c3e0e2fa61da70196f0e403dbb2e0a838734fdc2dd6255278039e925cc91:q4:auth4:txid1:ae",
        done: Done::Now,
        reply: Some(b"d005:error65:No functions matched your request, try Admin_availableFunctions()4:txid1:ae"),
    },
    Case {
        name: "auth_int_cookie",
        now: 1753536278,
        request: b"d2:aq4:ping6:cookiei1753536278e4:hash64:4905ddf0ffbbb0f993c1b44bdaba8c6dde5e7223bfa9faa2b32864bb6f3558061:q4:auth4:txid1:be",
        done: Done::Now,
        reply: Some(b"d1:q4:pong4:txid1:be"),
    },
    Case {
        name: "args_not_dict",
        now: 0,
        request: b"d4:argsi5e1:q19:NodeStore_dumpTable4:txid1:de",
        done: Done::Now,
        reply: Some(b"d05:error50:Entry [page] is required and must be of type [Int]4:txid1:de"),
    },
    Case {
        name: "hash_short",
        now: 1753536278,
        request: b"d2:aq4:ping6:cookie10:17535362784:hash3:abc1:q4:auth4:txid1:ee",
        done: Done::Now,
        reply: Some(b"d0005:error12:Auth failed.4:txid1:ee"),
    },
    Case {
        name: "zeros4",
        now: 0,
        request: b"d00001:q4:ping4:txid2:t1e",
        done: Done::Now,
        reply: Some(b"d0001:q4:pong4:txid2:t1e"),
    },
    Case {
        name: "dupkeys",
        now: 1753536278,
        request: b"d1:q4:ping1:q6:cookiee",
        done: Done::Now,
        reply: Some(b"d06:cookie10:1753536278e"),
    },
    Case {
        name: "unsorted",
        now: 0,
        request: b"d4:txid1:x1:q4:pinge",
        done: Done::Now,
        reply: Some(b"d1:q4:pong4:txid1:xe"),
    },
    Case {
        name: "inner_zero",
        now: 0,
        request: b"d1:q4:ping04:txid1:xe",
        done: Done::Now,
        reply: None,
    },
    Case {
        name: "avail_neg",
        now: 0,
        request: b"d4:argsd4:pagei-1ee1:q24:Admin_availableFunctions4:txid1:me",
        done: Done::Now,
        reply: Some(b"d0018:availableFunctionsde4:txid1:me"),
    },
    Case {
        name: "dump_neg",
        now: 0,
        request: b"d4:argsd4:pagei-1ee1:q19:NodeStore_dumpTable4:txid1:ge",
        done: Done::Now,
        reply: Some(b"d0005:counti1e11:deprecation36:ip,path,version will soon be removed5:peersi0e12:routingTablele4:txid1:ge"),
    },
    Case {
        name: "sp_neg_timeout",
        now: 1753536278,
        request: b"d2:aq17:SwitchPinger_ping4:argsd4:path19:0000.0000.0000.00017:timeouti-1ee6:cookie10:17535362784:hash64:ad0ba7a84fea4e785adda5e439da687300bd48d246603365f0e4a2af6284e1cd1:q4:auth4:txid1:fe",
        done: Done::SwitchPong,
        reply: Some(b"d0004:data0:2:msi5e4:path19:0000.0000.0000.00016:result4:pong4:txid1:f7:versioni22ee"),
    },
];

/// Recorded with admin password `"P" * 60`: cjdroute hashes only the first 63 bytes of
/// password||cookie (`snprintf` into 64 bytes), so a client hashing all of it fails.
#[test]
fn recorded_long_password_is_cut_to_63_bytes() {
    let password = "P".repeat(60);
    let now = 1753536356;
    let full: &[u8] = b"d2:aq4:ping6:cookie10:17535363564:hash64:0f81e7f45539b5fbd5a793ae6ae947f88d9b38f561dcf05387029d85017004531:q4:auth4:txid1:ze";
    let cut: &[u8] = b"d2:aq4:ping6:cookie10:17535363564:hash64:14d1d2c9cf1bf2d6144c2c2dc81373ded55d6f1138eb7759b823a0ac5cbbca9b1:q4:auth4:txid1:ze";
    let mut server = AdminServer::new(Some(password));
    let mut api = Recorded::default();
    assert_eq!(
        server.handle(full, now, &mut api).as_deref(),
        Some(&b"d0005:error12:Auth failed.4:txid1:ze"[..])
    );
    assert_eq!(
        server.handle(cut, now, &mut api).as_deref(),
        Some(&b"d1:q4:pong4:txid1:ze"[..])
    );
}
