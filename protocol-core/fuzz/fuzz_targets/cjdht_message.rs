//! CJDHT messages from the network: the typed parser, and the router that acts on them.
//! Parsing must be total; a parsed query must re-emit to a message that parses to the same
//! fields; the router must never panic and everything it sends must parse.
#![no_main]
use libfuzzer_sys::fuzz_target;
use protocol_core::crypto::testing::ScriptedRng;
use protocol_core::identity::{NodeAddress, PrivateKey, PublicKey};
use protocol_core::router::message::{emit_query, Message};
use protocol_core::router::{Router, RouterEvent, RouterOut};

struct CheckedOut;

impl RouterOut for CheckedOut {
    fn send_cjdht(&mut self, _to: &NodeAddress, msg: &[u8], _reply_due_ms: Option<u64>) {
        assert!(
            Message::parse(msg).is_ok(),
            "router sent an unparseable message"
        );
    }
    fn path_found(&mut self, _node: &NodeAddress) {}
    fn event(&mut self, _event: RouterEvent) {}
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 2048 {
        return;
    }
    if let Ok(msg) = Message::parse(data) {
        if let Some(query) = msg.query {
            let mut buf = [0u8; 2048];
            if let Ok(len) = emit_query(&mut buf, query, msg.txid, msg.target, 0x13) {
                let again = Message::parse(&buf[..len]).expect("our own query parses");
                assert_eq!(again.query, msg.query);
                assert_eq!(again.txid, msg.txid);
                assert_eq!(again.target, msg.target);
            }
        }
    }

    let me = PrivateKey([7u8; 32]).public_key();
    let mut router: Router<16> = Router::new(me);
    let mut rng = ScriptedRng::new(&[], 1);
    // A sender with a valid fc key (keys.json #1) one hop away.
    let from = NodeAddress {
        version: 22,
        label: 0x13,
        key: PublicKey([
            0x27, 0xb2, 0x12, 0x79, 0x46, 0x75, 0x35, 0xa5, 0x8a, 0x97, 0xda, 0xc5, 0x8a, 0x48,
            0x58, 0x80, 0xf2, 0xcb, 0x26, 0xf5, 0x49, 0xd0, 0x30, 0x40, 0x1a, 0x33, 0x79, 0xe1,
            0xca, 0xcd, 0x1c, 0x22,
        ]),
    };
    let mut out = CheckedOut;
    router.peer_up(&from, 1, &mut rng, &mut out);
    router.handle_cjdht(&from, data, 2, &mut rng, &mut out);
    router.poll(10_000, &mut rng, &mut out);
});
