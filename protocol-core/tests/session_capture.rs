//! Replay of the inner (end-to-end) session recorded between two cjdns v22.3 nodes
//! (`captures/udp-loopback-AB-logkeys.decoded.json`, outer layer already decrypted:
//! `outer_plain_hex` is the switch packet as it crossed the link).
//!
//! Both permanent private keys are known, the inner temporary private keys are not. So:
//! B's SessionManager opens A's Hello and Repeat Hello and must hand out exactly the recorded
//! CJDHT messages; the handshakes our managers write must match the recorded ones byte for
//! byte up to the encrypted part (random header bytes injected through the RNG seam); the
//! data packets cannot be opened without B's inner temporary key, but must reach the right
//! session by handle and be refused the way cjdns refuses them.

mod common;

use protocol_core::crypto::testing::ScriptedRng;
use protocol_core::crypto::State;
use protocol_core::identity::{Ip6, NodeAddress, PrivateKey};
use protocol_core::session::{DropReason, SessionEvent, SessionManager, SessionOut};
use protocol_core::switch::core::{SwitchAction, SwitchCore, ERROR_FRAME_MAX, ROUTER_INTERFACE};
use protocol_core::wire::{ControlRepr, ErrorType};
use serde_json::Value;

const HEADROOM: usize = 256;
/// Seeds that give the handles the two nodes used in the capture (4 + seed % 99996).
const A_HANDLE: u32 = 69582;
const B_HANDLE: u32 = 35495;

#[derive(Default)]
struct Recorder {
    switch_out: Vec<Vec<u8>>,
    cjdht: Vec<(NodeAddress, Vec<u8>)>,
    events: Vec<SessionEvent>,
}

impl SessionOut for Recorder {
    fn send_switch(&mut self, buf: &mut [u8], range: core::ops::Range<usize>) {
        self.switch_out.push(buf[range].to_vec());
    }
    fn cjdht(&mut self, from: &NodeAddress, msg: &[u8]) {
        self.cjdht.push((*from, msg.to_vec()));
    }
    fn ipv6(&mut self, _packet: &[u8]) {
        panic!("no IPv6 in this capture");
    }
    fn need_path(&mut self, _ip6: &Ip6) {}
    fn event(&mut self, event: SessionEvent) {
        self.events.push(event);
    }
}

struct Keys {
    a: PrivateKey,
    b: PrivateKey,
}

fn keys() -> Keys {
    let v = common::reference_json("vectors/cryptoauth-outer-udp.json");
    let key = |node: &str| PrivateKey(common::unhex32(v[node]["privateKey"].as_str().unwrap()));
    Keys {
        a: key("nodeA"),
        b: key("nodeB"),
    }
}

/// Inner packets of the capture, in order: (n, from A?, switch packet bytes, record).
fn inner_packets() -> Vec<(u64, bool, Vec<u8>, Value)> {
    let capture = common::reference_json("captures/udp-loopback-AB-logkeys.decoded.json");
    let packets: Vec<_> = capture
        .as_array()
        .expect("capture is a list")
        .iter()
        .filter(|p| p.get("inner").is_some())
        .map(|p| {
            let from_a = p["inner"]["from"].as_str().unwrap() == "configs/A.conf";
            let bytes = common::unhex(p["outer_plain_hex"].as_str().unwrap());
            (p["n"].as_u64().unwrap(), from_a, bytes, p.clone())
        })
        .collect();
    assert_eq!(packets.len(), 26, "the capture's inner packets");
    packets
}

fn recorded_cjdht(p: &Value) -> Vec<u8> {
    let plain = common::unhex(p["inner_payload"]["plain_hex"].as_str().unwrap());
    assert_eq!(&plain[..4], &[0x10, 0, 1, 0], "DataHeader, CJDHT");
    plain[4..].to_vec()
}

/// One node: its SessionManager behind a SwitchCore whose interface `iface` faces the other.
struct Node {
    sm: SessionManager<4, 4>,
    switch: SwitchCore<8>,
    iface: u32,
    label: u64,
    out: Recorder,
}

impl Node {
    fn new(private: PrivateKey, handle: u32) -> Self {
        let mut switch = SwitchCore::new();
        let (iface, label) = switch.add_interface().unwrap();
        let sm = SessionManager::new(private, handle - 4);
        assert_eq!(sm.first_handle(), handle);
        Node {
            sm,
            switch,
            iface,
            label,
            out: Recorder::default(),
        }
    }

    /// A recorded link packet arrives: our switch delivers it to the router.
    fn receive(&mut self, packet: &[u8], now: u64) {
        let mut buf = vec![0u8; HEADROOM + packet.len()];
        buf[HEADROOM..].copy_from_slice(packet);
        let mut error = [0u8; ERROR_FRAME_MAX];
        let action = self
            .switch
            .switch_packet(self.iface, &mut buf[HEADROOM..], &mut error);
        assert_eq!(action, SwitchAction::DeliverToRouter);
        let range = HEADROOM..buf.len();
        let mut rng = ScriptedRng::new(&[], 1);
        self.sm
            .handle_from_switch(&mut buf, range, now, &mut rng, &mut self.out);
    }

    /// Our switch forwards a packet we originate onto the link, as it would cross it.
    fn forward_to_link(&mut self, mut packet: Vec<u8>) -> Vec<u8> {
        let mut error = [0u8; ERROR_FRAME_MAX];
        let action = self
            .switch
            .switch_packet(ROUTER_INTERFACE, &mut packet, &mut error);
        assert_eq!(action, SwitchAction::Forward { iface: self.iface });
        packet
    }
}

#[test]
fn b_opens_a_hello_and_repeat_hello_and_answers_with_the_recorded_key_header() {
    let keys = keys();
    let a_key = keys.a.public_key();
    let mut b = Node::new(keys.b, B_HANDLE);
    let packets = inner_packets();
    let now = 1_795_613_416_000;

    // A's Hello (#5) and Repeat Hello (#7): the recorded CJDHT messages come out.
    let from_a: Vec<_> = packets.iter().filter(|p| p.1).collect();
    assert_eq!(from_a[0].0, 5);
    assert_eq!(from_a[1].0, 7);
    for (i, (_, _, bytes, record)) in from_a[..2].iter().enumerate() {
        b.receive(bytes, now);
        assert_eq!(b.out.cjdht.len(), i + 1);
        let (from, msg) = &b.out.cjdht[i];
        assert_eq!(msg, &recorded_cjdht(record));
        assert_eq!(from.key, a_key);
        assert_eq!(
            from.label, b.label,
            "the path back to A is our one-hop label"
        );
    }
    let session = b.sm.session(&a_key.address().unwrap()).unwrap();
    assert_eq!(session.state, State::ReceivedHello);
    assert_eq!(session.receive_handle, B_HANDLE);
    assert_eq!(
        session.send_handle,
        Some(A_HANDLE),
        "learned from the handshake payload (sender_receive_handle)"
    );
    assert_eq!(session.packets_in, 2);

    // B answers A's `gp` as it did (#9): a Key. Its random header bytes (auth fields and
    // handshake nonce) come through the RNG seam; the temporary key is not recorded, so
    // the packet matches up to the encrypted part.
    let (key_n, _, recorded_key, key_record) = packets.iter().find(|p| !p.1).unwrap();
    assert_eq!(*key_n, 9);
    let script = recorded_key[12 + 4..12 + 40].to_vec();
    let mut rng = ScriptedRng::new(&script, 3);
    let msg = recorded_cjdht(key_record);
    let mut scratch = vec![0u8; HEADROOM + 200 + msg.len()];
    let to = b.out.cjdht[0].0;
    b.sm.send_cjdht(&to, &msg, &mut scratch, now, &mut rng, &mut b.out);
    assert_eq!(rng.consumed(), 36);
    let sent = b.out.switch_out.pop().unwrap();
    let ours = b.forward_to_link(sent);
    assert_eq!(ours.len(), recorded_key.len());
    assert_eq!(
        &ours[..12 + 72],
        &recorded_key[..12 + 72],
        "switch header, state 2, auth fields, nonce and B's key as recorded"
    );

    // A's data packets (#15 on) carry B's handle: each finds the session, but without B's
    // inner temporary key (never recorded) they cannot be opened; B answers each with an
    // AUTHENTICATION error as cjdns does.
    let data: Vec<_> = from_a[2..].to_vec();
    assert!(data.len() >= 10);
    for (_, _, bytes, record) in &data {
        assert_eq!(
            record["inner"]["handle"].as_u64(),
            Some(u64::from(B_HANDLE))
        );
        b.receive(bytes, now);
    }
    let stats = *b.sm.stats();
    assert_eq!(stats.dropped_unknown_handle, 0);
    assert_eq!(stats.dropped_decrypt_failed, data.len() as u64);
    assert_eq!(stats.auth_errors_sent, data.len() as u64);
    let error = b.out.switch_out.last().unwrap();
    let ControlRepr::Error { error_type, cause } = ControlRepr::parse(&error[12..]).unwrap() else {
        panic!("not an error frame");
    };
    assert_eq!(error_type, ErrorType::Authentication);
    // Our Key used a temporary key of our own, so the first data packet does not
    // authenticate: FINAL_HANDSHAKE_FAIL (3), with B at SENT_KEY (3).
    assert_eq!(&cause[cause.len() - 8..], &[0, 0, 0, 3, 0, 0, 0, 3]);
    assert!(b
        .out
        .events
        .iter()
        .all(|e| !matches!(e, SessionEvent::Dropped(DropReason::UnknownHandle))));
}

#[test]
fn a_writes_the_recorded_hello_header_but_cannot_open_the_key_without_its_temp_key() {
    let keys = keys();
    let b_key = keys.b.public_key();
    let mut a = Node::new(keys.a, A_HANDLE);
    let packets = inner_packets();
    let now = 1_795_613_416_000;

    let (_, _, recorded_hello, hello_record) = &packets[0];
    let script = recorded_hello[12 + 4..12 + 40].to_vec();
    let mut rng = ScriptedRng::new(&script, 5);
    let msg = recorded_cjdht(hello_record);
    let mut scratch = vec![0u8; HEADROOM + 200 + msg.len()];
    let to = NodeAddress {
        version: 22,
        label: a.label,
        key: b_key,
    };
    a.sm.send_cjdht(&to, &msg, &mut scratch, now, &mut rng, &mut a.out);
    let sent = a.out.switch_out.pop().unwrap();
    let ours = a.forward_to_link(sent);
    assert_eq!(ours.len(), recorded_hello.len());
    assert_eq!(&ours[..12 + 72], &recorded_hello[..12 + 72]);

    // B's Key (#9) is sealed to A's recorded temporary key, not ours: refused, counted,
    // and the session stays where it was.
    let (_, _, recorded_key, _) = packets.iter().find(|p| p.0 == 9).unwrap();
    a.receive(recorded_key, now);
    assert!(a.out.cjdht.is_empty());
    assert_eq!(a.sm.stats().dropped_decrypt_failed, 1);
    let session = a.sm.session(&b_key.address().unwrap()).unwrap();
    assert_eq!(session.state, State::SentHello);
    assert_eq!(session.send_handle, None);
}
