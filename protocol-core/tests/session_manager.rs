//! Two SessionManagers talking over a one-hop link, each behind its own SwitchCore, the
//! way the node wires them: send_switch -> switch (from the router interface) -> link ->
//! the other switch -> DeliverToRouter -> handle_from_switch.

use protocol_core::crypto::State;
use protocol_core::identity::{generate_keypair, Ip6, NodeAddress, PrivateKey, PublicKey};
use protocol_core::session::{
    DropReason, SessionEvent, SessionManager, SessionOut, OUTER_HEADROOM, PENDING_TIMEOUT_MS,
    SEARCH_AFTER_MS, SESSION_HEADROOM, SESSION_TIMEOUT_MS,
};
use protocol_core::switch::core::{SwitchAction, SwitchCore, ERROR_FRAME_MAX, ROUTER_INTERFACE};
use protocol_core::wire::{ControlRepr, ErrorType, SwitchHeaderRepr};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const HEADROOM: usize = 256;

#[derive(Default)]
struct Recorder {
    switch_out: Vec<Vec<u8>>,
    cjdht: Vec<(NodeAddress, Vec<u8>)>,
    ipv6: Vec<Vec<u8>>,
    need_path: Vec<Ip6>,
    events: Vec<SessionEvent>,
}

impl SessionOut for Recorder {
    fn send_switch(&mut self, buf: &mut [u8], range: core::ops::Range<usize>) {
        assert!(
            range.start >= 100,
            "too little headroom left for the outer layer"
        );
        self.switch_out.push(buf[range].to_vec());
    }
    fn cjdht(&mut self, from: &NodeAddress, msg: &[u8]) {
        self.cjdht.push((*from, msg.to_vec()));
    }
    fn ipv6(&mut self, packet: &[u8]) {
        self.ipv6.push(packet.to_vec());
    }
    fn need_path(&mut self, ip6: &Ip6) {
        self.need_path.push(*ip6);
    }
    fn event(&mut self, event: SessionEvent) {
        self.events.push(event);
    }
}

impl Recorder {
    fn drops(&self) -> Vec<DropReason> {
        self.events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Dropped(r) => Some(*r),
                _ => None,
            })
            .collect()
    }
}

struct Side<const S: usize> {
    sm: SessionManager<S, 4>,
    switch: SwitchCore<8>,
    /// Switch interface toward the other side, and the one-hop label that reaches it.
    iface: u32,
    label: u64,
    key: PublicKey,
    ip6: Ip6,
    out: Recorder,
}

impl<const S: usize> Side<S> {
    fn new(private: PrivateKey, seed: u32) -> Self {
        let key = private.public_key();
        let ip6 = key.address().unwrap();
        let mut switch = SwitchCore::new();
        // Take a couple of interfaces so the link is not on a trivially small number.
        let _ = switch.add_interface().unwrap();
        let (iface, label) = switch.add_interface().unwrap();
        Side {
            sm: SessionManager::new(private, seed),
            switch,
            iface,
            label,
            key,
            ip6,
            out: Recorder::default(),
        }
    }

    fn addr(&self, version: u32, label: u64) -> NodeAddress {
        NodeAddress {
            version,
            label,
            key: self.key,
        }
    }
}

struct Net {
    a: Side<4>,
    b: Side<4>,
    now: u64,
    rng: ChaCha20Rng,
}

fn keypair(rng: &mut ChaCha20Rng) -> PrivateKey {
    generate_keypair(rng).0
}

impl Net {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let a = Side::new(keypair(&mut rng), 27023);
        let b = Side::new(keypair(&mut rng), 40548);
        Net {
            a,
            b,
            now: 1_000,
            rng,
        }
    }

    /// Move every queued switch packet across the link until both sides are quiet.
    /// Returns how many packets went each way.
    fn pump(&mut self) -> (usize, usize) {
        let mut moved = (0, 0);
        loop {
            let from_a = std::mem::take(&mut self.a.out.switch_out);
            let from_b = std::mem::take(&mut self.b.out.switch_out);
            if from_a.is_empty() && from_b.is_empty() {
                return moved;
            }
            moved.0 += from_a.len();
            moved.1 += from_b.len();
            for packet in from_a {
                carry(&mut self.a, &mut self.b, packet, self.now, &mut self.rng);
            }
            for packet in from_b {
                carry(&mut self.b, &mut self.a, packet, self.now, &mut self.rng);
            }
        }
    }

    fn a_to_b_cjdht(&mut self, msg: &[u8]) {
        let to = self.b.addr(22, self.a.label);
        let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + msg.len()];
        self.a.sm.send_cjdht(
            &to,
            msg,
            &mut scratch,
            self.now,
            &mut self.rng,
            &mut self.a.out,
        );
    }

    fn b_reply_cjdht(&mut self, to: NodeAddress, msg: &[u8]) {
        let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + msg.len()];
        self.b.sm.send_cjdht(
            &to,
            msg,
            &mut scratch,
            self.now,
            &mut self.rng,
            &mut self.b.out,
        );
    }

    /// Both sessions set up by a CJDHT ping A->B and its reply.
    fn handshake(&mut self) {
        self.a_to_b_cjdht(b"d1:q2:pne");
        self.pump();
        let (from, _) = self.b.out.cjdht.last().cloned().unwrap();
        self.b_reply_cjdht(from, b"d1:pi22ee");
        self.pump();
    }

    fn poll_both(&mut self) {
        self.a.sm.poll(self.now, &mut self.rng, &mut self.a.out);
        self.b.sm.poll(self.now, &mut self.rng, &mut self.b.out);
    }
}

/// The sender's switch forwards from its router to the link, the receiver's switch
/// delivers to its router, then the receiving session manager takes it.
fn carry<const S: usize>(
    from: &mut Side<S>,
    to: &mut Side<S>,
    packet: Vec<u8>,
    now: u64,
    rng: &mut ChaCha20Rng,
) {
    let mut packet = packet;
    let mut error = [0u8; ERROR_FRAME_MAX];
    let action = from
        .switch
        .switch_packet(ROUTER_INTERFACE, &mut packet, &mut error);
    assert_eq!(action, SwitchAction::Forward { iface: from.iface });
    let action = to.switch.switch_packet(to.iface, &mut packet, &mut error);
    assert_eq!(action, SwitchAction::DeliverToRouter);
    deliver(to, &packet, now, rng);
}

fn deliver<const S: usize>(to: &mut Side<S>, packet: &[u8], now: u64, rng: &mut ChaCha20Rng) {
    let mut buf = vec![0u8; HEADROOM + packet.len()];
    buf[HEADROOM..].copy_from_slice(packet);
    let range = HEADROOM..buf.len();
    to.sm
        .handle_from_switch(&mut buf, range, now, rng, &mut to.out);
}

/// An ICMPv6 echo request from `src` to `dst` with odd traffic class, flow and hop limit.
fn icmp6(src: &Ip6, dst: &Ip6, data_len: usize) -> Vec<u8> {
    let payload_len = 8 + data_len;
    let mut p = vec![0x6a, 0xb1, 0x23, 0x45];
    p.extend_from_slice(&(payload_len as u16).to_be_bytes());
    p.extend_from_slice(&[58, 64]);
    p.extend_from_slice(&src.0);
    p.extend_from_slice(&dst.0);
    p.extend_from_slice(&[0x80, 0, 0x12, 0x34, 0, 7, 0, 1]);
    p.extend((0..data_len).map(|i| i as u8));
    p
}

/// What the receiver's TUN should see: the same packet with tc/flow 0 and hop limit 42.
fn as_rebuilt(original: &[u8]) -> Vec<u8> {
    let mut expected = original.to_vec();
    expected[..4].copy_from_slice(&[0x60, 0, 0, 0]);
    expected[7] = 42;
    expected
}

fn send_ipv6<const S: usize>(side: &mut Side<S>, packet: &[u8], now: u64, rng: &mut ChaCha20Rng) {
    let mut buf = vec![0u8; HEADROOM + packet.len()];
    buf[HEADROOM..].copy_from_slice(packet);
    let range = HEADROOM..buf.len();
    side.sm.send_ipv6(&mut buf, range, now, rng, &mut side.out);
}

#[test]
fn first_handles_come_from_the_seed() {
    let net = Net::new();
    assert_eq!(net.a.sm.first_handle(), 27027);
    assert_eq!(net.b.sm.first_handle(), 40552);
    let big = SessionManager::<1, 1>::new(net_key(1), u32::MAX);
    assert!((4..=99_999).contains(&big.first_handle()));
}

fn net_key(seed: u64) -> PrivateKey {
    keypair(&mut ChaCha20Rng::seed_from_u64(seed))
}

#[test]
fn cjdht_rides_in_handshakes_both_ways_then_in_data() {
    let mut net = Net::new();
    net.a_to_b_cjdht(b"d1:q2:pn4:txid2:abe");
    assert_eq!(net.a.out.switch_out.len(), 1);
    let hello = net.a.out.switch_out[0].clone();
    // Switch header (label = path to B), then a Hello (state 0) with A's key.
    let sh = SwitchHeaderRepr::parse_bytes(&hello).unwrap();
    assert_eq!(sh.label, net.a.label);
    assert_eq!(sh.label_shift, 0);
    assert_eq!(&hello[12..16], &[0, 0, 0, 0]);
    assert_eq!(&hello[12 + 40..12 + 72], &net.a.key.0);
    // 12 + 120 + handle 4 + DataHeader 4 + message
    assert_eq!(hello.len(), 12 + 120 + 4 + 4 + 19);
    net.pump();

    assert_eq!(net.b.out.cjdht.len(), 1);
    let (from, msg) = net.b.out.cjdht[0].clone();
    assert_eq!(msg, b"d1:q2:pn4:txid2:abe");
    assert_eq!(from.key, net.a.key);
    assert_eq!(
        from.label, net.b.label,
        "path back to A is B's one-hop label"
    );
    let b_view = net.b.sm.session(&net.a.ip6).unwrap();
    assert_eq!(b_view.state, State::ReceivedHello);
    assert_eq!(b_view.send_handle, Some(net.a.sm.first_handle()));
    assert_eq!(b_view.receive_handle, net.b.sm.first_handle());
    assert_eq!(b_view.best_label, net.b.label);

    // B answers inside a Key.
    net.b_reply_cjdht(from, b"d1:pi22ee");
    assert_eq!(&net.b.out.switch_out[0][12..16], &[0, 0, 0, 2]);
    net.pump();
    let (from_b, reply) = net.a.out.cjdht[0].clone();
    assert_eq!(reply, b"d1:pi22ee");
    assert_eq!(from_b.key, net.b.key);
    assert_eq!(from_b.label, net.a.label);
    let a_view = net.a.sm.session(&net.b.ip6).unwrap();
    assert_eq!(a_view.state, State::ReceivedKey);
    assert_eq!(a_view.send_handle, Some(net.b.sm.first_handle()));
    assert_eq!(a_view.version, 22);

    // A is at RECEIVED_KEY: its next message is a data packet prefixed with B's handle.
    net.a_to_b_cjdht(b"d1:q2:gpe");
    let data = net.a.out.switch_out[0].clone();
    assert_eq!(&data[12..16], &net.b.sm.first_handle().to_be_bytes());
    assert_eq!(&data[16..20], &4u32.to_be_bytes());
    assert_eq!(data.len(), 12 + 4 + 20 + 4 + 9);
    net.pump();
    assert_eq!(net.b.out.cjdht.last().unwrap().1, b"d1:q2:gpe");
    assert_eq!(
        net.b.sm.session(&net.a.ip6).unwrap().state,
        State::Established
    );
    // And B's data goes back prefixed with A's handle (counter 6: responder skips 3).
    net.b_reply_cjdht(net.b.out.cjdht.last().unwrap().0, b"d1:pi22ee");
    let data = net.b.out.switch_out[0].clone();
    assert_eq!(&data[12..16], &net.a.sm.first_handle().to_be_bytes());
    assert_eq!(&data[16..20], &6u32.to_be_bytes());
    net.pump();
    assert_eq!(net.a.out.cjdht.len(), 2);
    assert_eq!(
        net.a.sm.session(&net.b.ip6).unwrap().state,
        State::Established
    );
    assert!(net.a.out.drops().is_empty(), "{:?}", net.a.out.events);
    assert!(net.b.out.drops().is_empty(), "{:?}", net.b.out.events);
}

#[test]
fn ipv6_waits_for_the_session_then_arrives_rebuilt() {
    let mut net = Net::new();
    let packet = icmp6(&net.a.ip6, &net.b.ip6, 56);
    send_ipv6(&mut net.a, &packet, net.now, &mut net.rng);
    assert!(
        net.a.out.switch_out.is_empty(),
        "no session: nothing may go out"
    );
    assert_eq!(net.a.out.need_path, vec![net.b.ip6]);
    assert_eq!(net.a.sm.pending_count(), 1);

    // The router finds B and pings it (as cjdns' pathfinder does on a search / unsetup).
    net.a.sm.add_path(&net.b.addr(22, net.a.label), net.now);
    assert_eq!(
        net.a.sm.session_count(),
        1,
        "path for buffered traffic makes a session"
    );
    assert_eq!(net.a.sm.poll_at(), 0);
    net.poll_both();
    assert!(
        net.a.out.switch_out.is_empty(),
        "still no handshake: held back"
    );
    // The router is told to ping B over the new path to set the session up.
    let b_key = net.b.key;
    let a_label = net.a.label;
    assert!(net.a.out.events.iter().any(|e| matches!(
        e,
        SessionEvent::SetupNeeded(n) if n.key == b_key && n.label == a_label && n.version == 22
    )));
    net.a_to_b_cjdht(b"d1:q2:pne");
    net.pump();
    assert!(
        net.b.out.ipv6.is_empty(),
        "user traffic never rides in a Hello"
    );
    let (from, _) = net.b.out.cjdht[0].clone();
    net.b_reply_cjdht(from, b"d1:pi22ee");
    // A gets the Key, flushes the buffered packet as its first data packet.
    let (a_sent, _) = net.pump();
    assert_eq!(a_sent, 1);
    assert_eq!(net.a.sm.pending_count(), 0);
    assert_eq!(net.a.sm.stats().pending_flushed, 1);
    assert_eq!(net.b.out.ipv6, vec![as_rebuilt(&packet)]);
    assert_eq!(net.b.out.ipv6[0][7], 42);
    assert_eq!(&net.b.out.ipv6[0][8..24], &net.a.ip6.0);
    assert_eq!(&net.b.out.ipv6[0][24..40], &net.b.ip6.0);
}

#[test]
fn ipv6_to_a_session_in_handshake_is_buffered_and_asks_for_setup() {
    let mut net = Net::new();
    net.a_to_b_cjdht(b"d1:q2:pne");
    net.pump();
    // B is at RECEIVED_HELLO: its user traffic must wait.
    let packet = icmp6(&net.b.ip6, &net.a.ip6, 8);
    send_ipv6(&mut net.b, &packet, net.now, &mut net.rng);
    assert!(net.b.out.switch_out.is_empty());
    assert_eq!(net.b.sm.pending_count(), 1);
    assert_eq!(net.b.out.need_path, vec![net.a.ip6]);
    assert!(net
        .b
        .out
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::SetupNeeded(n) if n.key == net.a.key && n.label == net.b.label)));
    // The router's ping goes out in a Key; A's answer (data) establishes B, which flushes.
    let (from, _) = net.b.out.cjdht[0].clone();
    net.b_reply_cjdht(from, b"d1:q2:pne");
    net.pump();
    assert!(net.a.out.ipv6.is_empty());
    let (from_b, _) = net.a.out.cjdht[0].clone();
    let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + 9];
    net.a.sm.send_cjdht(
        &from_b,
        b"d1:pi22ee",
        &mut scratch,
        net.now,
        &mut net.rng,
        &mut net.a.out,
    );
    net.pump();
    assert_eq!(net.b.sm.pending_count(), 0);
    assert_eq!(net.a.out.ipv6, vec![as_rebuilt(&packet)]);
}

#[test]
fn ipv6_both_ways_once_established() {
    let mut net = Net::new();
    net.handshake();
    for i in 0..5 {
        let p = icmp6(&net.a.ip6, &net.b.ip6, 10 + i);
        send_ipv6(&mut net.a, &p, net.now, &mut net.rng);
        let q = icmp6(&net.b.ip6, &net.a.ip6, 100 + i);
        send_ipv6(&mut net.b, &q, net.now, &mut net.rng);
        net.pump();
        assert_eq!(net.b.out.ipv6.last().unwrap(), &as_rebuilt(&p));
        assert_eq!(net.a.out.ipv6.last().unwrap(), &as_rebuilt(&q));
        net.now += 10;
    }
    let a_view = net.a.sm.session(&net.b.ip6).unwrap();
    let b_view = net.b.sm.session(&net.a.ip6).unwrap();
    assert_eq!(a_view.state, State::Established);
    assert_eq!(b_view.state, State::Established);
    assert_eq!(a_view.packets_out, 1 + 5);
    assert_eq!(a_view.packets_in, 1 + 5);
    assert_eq!(b_view.packets_in, 1 + 5);
    assert_eq!(a_view.duplicates, 0);
    assert!(a_view.last_use_ms.is_some());
    assert_eq!(net.a.sm.sessions().count(), 1);
    // Loopback to ourselves goes straight back to TUN, untouched.
    let me = icmp6(&net.a.ip6, &net.a.ip6, 4);
    send_ipv6(&mut net.a, &me, net.now, &mut net.rng);
    assert_eq!(net.a.out.ipv6.last().unwrap(), &me);
}

#[test]
fn tun_packets_not_for_a_session_are_dropped() {
    let mut net = Net::new();
    let mut other = net.b.ip6;
    other.0[0] = 0xfd;
    let wrong_dst = icmp6(&net.a.ip6, &other, 4);
    send_ipv6(&mut net.a, &wrong_dst, net.now, &mut net.rng);
    let wrong_src = icmp6(&net.b.ip6, &net.a.ip6, 4);
    send_ipv6(&mut net.a, &wrong_src, net.now, &mut net.rng);
    send_ipv6(&mut net.a, &[0x60; 20], net.now, &mut net.rng);
    assert_eq!(
        net.a.out.drops(),
        vec![
            DropReason::TunNotFc,
            DropReason::TunWrongSource,
            DropReason::TunMalformed
        ]
    );
    assert_eq!(net.a.sm.stats().dropped_tun, 3);
    assert_eq!(net.a.sm.pending_count(), 0);
}

#[test]
fn data_for_an_unknown_handle_is_dropped() {
    let mut net = Net::new();
    net.handshake();
    let mut packet = vec![0u8; 12 + 4 + 20 + 8];
    SwitchHeaderRepr::new(1).emit(&mut packet).unwrap();
    packet[12..16].copy_from_slice(&0xdead_beefu32.to_be_bytes());
    packet[16..20].copy_from_slice(&9u32.to_be_bytes());
    deliver(&mut net.b, &packet, net.now, &mut net.rng);
    assert_eq!(net.b.out.drops(), vec![DropReason::UnknownHandle]);
    assert_eq!(net.b.sm.stats().dropped_unknown_handle, 1);
    // A known handle with a handshake-state counter is refused too.
    packet[12..16].copy_from_slice(&net.b.sm.first_handle().to_be_bytes());
    packet[16..20].copy_from_slice(&2u32.to_be_bytes());
    deliver(&mut net.b, &packet, net.now, &mut net.rng);
    assert_eq!(net.b.sm.stats().dropped_setup_with_handle, 1);
    // Runts and control frames.
    deliver(&mut net.b, &packet[..20], net.now, &mut net.rng);
    let mut ctrl = packet.clone();
    ctrl[12..16].copy_from_slice(&[0xff; 4]);
    deliver(&mut net.b, &ctrl, net.now, &mut net.rng);
    assert_eq!(net.b.sm.stats().dropped_runt, 1);
    assert_eq!(net.b.sm.stats().dropped_control, 1);
    assert!(net.b.out.switch_out.is_empty() && net.b.out.cjdht.len() == 1);
}

#[test]
fn forged_data_gets_an_authentication_error_back() {
    let mut net = Net::new();
    net.handshake();
    net.a_to_b_cjdht(b"d1:q2:gpe");
    let mut packet = net.a.out.switch_out.pop().unwrap();
    let last = packet.len() - 1;
    packet[last] ^= 1;
    let mut error = [0u8; ERROR_FRAME_MAX];
    net.a
        .switch
        .switch_packet(ROUTER_INTERFACE, &mut packet, &mut error);
    net.b
        .switch
        .switch_packet(net.b.iface, &mut packet, &mut error);
    deliver(&mut net.b, &packet, net.now, &mut net.rng);
    assert!(matches!(
        net.b.out.drops()[..],
        [DropReason::DecryptFailed(_)]
    ));
    let frame = net.b.out.switch_out.pop().unwrap();
    let sh = SwitchHeaderRepr::parse_bytes(&frame).unwrap();
    assert_eq!(
        sh.label, net.b.label,
        "error goes back along the return path"
    );
    assert!(sh.suppress_errors);
    let ControlRepr::Error { error_type, cause } = ControlRepr::parse(&frame[12..]).unwrap() else {
        panic!("not an error frame");
    };
    assert_eq!(error_type, ErrorType::Authentication);
    // Cause: the switch header as delivered, the first 16 bytes of the CryptoAuth packet
    // (the handle is not part of it), FINAL_HANDSHAKE_FAIL (3: it was B's first data
    // packet) and B's state (SENT_KEY 3).
    assert_eq!(cause.len(), 12 + 16 + 8);
    assert_eq!(&cause[..12], &packet[..12]);
    assert_eq!(&cause[12..28], &packet[16..32]);
    assert_eq!(&cause[28..], &[0, 0, 0, 3, 0, 0, 0, 3]);
    // The error frame reaches A's router as a control frame (the node's business).
    let mut frame = frame;
    net.b
        .switch
        .switch_packet(ROUTER_INTERFACE, &mut frame, &mut error);
    assert_eq!(
        net.a
            .switch
            .switch_packet(net.a.iface, &mut frame, &mut error),
        SwitchAction::DeliverToRouter
    );

    // Once established, a forged packet reads DECRYPT (15) in state ESTABLISHED (100).
    net.a_to_b_cjdht(b"d1:q2:gpe");
    net.pump();
    assert_eq!(
        net.b.sm.session(&net.a.ip6).unwrap().state,
        State::Established
    );
    net.a_to_b_cjdht(b"d1:q2:gpe");
    let mut packet = net.a.out.switch_out.pop().unwrap();
    packet[40] ^= 1;
    net.a
        .switch
        .switch_packet(ROUTER_INTERFACE, &mut packet, &mut error);
    net.b
        .switch
        .switch_packet(net.b.iface, &mut packet, &mut error);
    deliver(&mut net.b, &packet, net.now, &mut net.rng);
    let frame = net.b.out.switch_out.pop().unwrap();
    let ControlRepr::Error { cause, .. } = ControlRepr::parse(&frame[12..]).unwrap() else {
        panic!("not an error frame");
    };
    assert_eq!(&cause[28..], &[0, 0, 0, 15, 0, 0, 0, 100]);
    assert_eq!(net.b.sm.stats().auth_errors_sent, 2);
}

#[test]
fn handshakes_from_ourselves_or_non_fc_keys_are_dropped() {
    let mut net = Net::new();
    net.a_to_b_cjdht(b"d1:q2:pne");
    let hello = net.a.out.switch_out.pop().unwrap();
    let mut own = hello.clone();
    own[12 + 40..12 + 72].copy_from_slice(&net.b.key.0);
    deliver(&mut net.b, &own, net.now, &mut net.rng);
    let mut non_fc = hello.clone();
    let bad = (0u8..=255)
        .map(|i| PublicKey([i; 32]))
        .find(|k| k.address().is_err())
        .unwrap();
    non_fc[12 + 40..12 + 72].copy_from_slice(&bad.0);
    deliver(&mut net.b, &non_fc, net.now, &mut net.rng);
    assert_eq!(
        net.b.out.drops(),
        vec![DropReason::OwnKey, DropReason::NonFcKey]
    );
    // A corrupted Hello from a stranger makes no session (cjdns would make one).
    let mut corrupt = hello;
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0x80;
    deliver(&mut net.b, &corrupt, net.now, &mut net.rng);
    assert_eq!(net.b.sm.session_count(), 0);
    assert_eq!(net.b.sm.stats().auth_errors_sent, 1);
}

#[test]
fn user_traffic_inside_a_handshake_is_dropped() {
    use protocol_core::crypto::{CryptoAuth, Session};
    use protocol_core::wire::{ContentType, DataHeaderRepr};
    let mut net = Net::new();
    // Hand-craft what a misbehaving A would send: a Hello carrying ICMPv6.
    let a_private = net_key_for(&net, "a");
    let ca: CryptoAuth<0> = CryptoAuth::new(a_private);
    let mut session = Session::new(net.b.key, false, net.now).unwrap();
    let mut buf = vec![0u8; 200 + 4 + 4 + 8];
    let start = 200;
    let end = buf.len();
    buf[start..start + 4].copy_from_slice(&77u32.to_be_bytes());
    DataHeaderRepr::new(ContentType::ICMPV6)
        .emit(&mut buf[start + 4..])
        .unwrap();
    let sealed = session
        .encrypt(&ca, &mut buf, start..end, net.now, &mut net.rng)
        .unwrap();
    let mut packet = vec![0u8; 12];
    SwitchHeaderRepr::new(net.a.label)
        .emit(&mut packet)
        .unwrap();
    packet.extend_from_slice(&buf[sealed]);
    net.a.out.switch_out.push(packet);
    net.pump();
    assert!(net.b.out.ipv6.is_empty());
    assert_eq!(net.b.out.drops(), vec![DropReason::UserTrafficInHandshake]);
}

/// Rebuild the deterministic keys `Net::new` uses.
fn net_key_for(_net: &Net, which: &str) -> PrivateKey {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let a = keypair(&mut rng);
    let b = keypair(&mut rng);
    if which == "a" {
        a
    } else {
        b
    }
}

/// A and B with room for two sessions each, their session established at t = 10..12 ms by a
/// CJDHT ping, its reply and a second ping.
fn established_two_slot_pair(seed: u64) -> (Side<2>, Side<2>, ChaCha20Rng) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut a: Side<2> = Side::new(keypair(&mut rng), 5);
    let mut b: Side<2> = Side::new(keypair(&mut rng), 6);
    let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + 16];
    let to_b = b.addr(22, a.label);
    a.sm.send_cjdht(&to_b, b"d1:q2:pne", &mut scratch, 10, &mut rng, &mut a.out);
    let packet = a.out.switch_out.pop().unwrap();
    carry(&mut a, &mut b, packet, 10, &mut rng);
    let from = b.out.cjdht[0].0;
    b.sm.send_cjdht(&from, b"d1:pi22ee", &mut scratch, 11, &mut rng, &mut b.out);
    let packet = b.out.switch_out.pop().unwrap();
    carry(&mut b, &mut a, packet, 11, &mut rng);
    a.sm.send_cjdht(&to_b, b"d1:q2:pne", &mut scratch, 12, &mut rng, &mut a.out);
    let packet = a.out.switch_out.pop().unwrap();
    carry(&mut a, &mut b, packet, 12, &mut rng);
    assert_eq!(b.sm.session(&a.ip6).unwrap().state, State::Established);
    (a, b, rng)
}

#[test]
fn a_full_table_evicts_the_least_recently_active_router_session() {
    let (a, mut b, mut rng) = established_two_slot_pair(99);
    let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + 16];
    let to_b = b.addr(22, a.label);

    // B now talks to two strangers who never answer; the table holds 2.
    let strangers: Vec<PublicKey> = (0..2).map(|_| keypair(&mut rng).public_key()).collect();
    for (i, key) in strangers.iter().enumerate() {
        let to = NodeAddress {
            version: 22,
            label: 0x13,
            key: *key,
        };
        b.sm.send_cjdht(
            &to,
            b"d1:q2:pne",
            &mut scratch,
            20 + i as u64,
            &mut rng,
            &mut b.out,
        );
    }
    assert_eq!(b.sm.session_count(), 2);
    assert_eq!(b.sm.stats().sessions_evicted, 1);
    // Router-only sessions are cheap to rebuild: the idle one went, established or not.
    assert!(b.sm.session(&a.ip6).is_none(), "idle session evicted");
    let evicted: Vec<_> = b
        .out
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Evicted { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    assert_eq!(evicted, vec![*a.sm.public_key()]);
    // Handles are never reused: the third session got first + 2.
    let handles: Vec<u32> = b.sm.sessions().map(|s| s.receive_handle).collect();
    assert!(handles.contains(&(b.sm.first_handle() + 2)));

    // With only established sessions left, the least recently used one goes.
    let mut tiny: SessionManager<1, 1> = SessionManager::new(keypair(&mut rng), 1);
    let mut out = Recorder::default();
    for key in &strangers {
        let to = NodeAddress {
            version: 22,
            label: 0x13,
            key: *key,
        };
        tiny.send_cjdht(&to, b"x", &mut scratch, 1, &mut rng, &mut out);
    }
    assert_eq!(tiny.session_count(), 1);
    assert_eq!(tiny.stats().sessions_evicted, 1);
    // Zero capacity never panics.
    let mut none: SessionManager<0, 0> = SessionManager::new(keypair(&mut rng), 1);
    none.send_cjdht(&to_b, b"x", &mut scratch, 1, &mut rng, &mut out);
    assert_eq!(none.stats().dropped_table_full, 1);
    let packet = icmp6(none.ip6(), &b.ip6, 4);
    let mut buf = vec![0u8; HEADROOM + packet.len()];
    buf[HEADROOM..].copy_from_slice(&packet);
    let range = HEADROOM..buf.len();
    none.send_ipv6(&mut buf, range, 1, &mut rng, &mut out);
    assert_eq!(none.stats().pending_full, 1);
}

#[test]
fn sessions_time_out_and_in_use_sessions_search_again() {
    let mut net = Net::new();
    net.handshake();
    // User traffic marks A's session as in use.
    let p = icmp6(&net.a.ip6, &net.b.ip6, 4);
    send_ipv6(&mut net.a, &p, net.now, &mut net.rng);
    net.pump();
    // B's answer establishes A too (otherwise A would keep asking for setup every second).
    let (from, _) = net.b.out.cjdht[0];
    net.b_reply_cjdht(from, b"d1:pi22ee");
    net.pump();
    assert_eq!(
        net.a.sm.session(&net.b.ip6).unwrap().state,
        State::Established
    );
    net.a.out.need_path.clear();
    // First housekeeping of a used session asks for a search (none done yet), then every 30 s.
    let start = net.now;
    let mut searches = Vec::new();
    net.poll_both();
    if !net.a.out.need_path.is_empty() {
        searches.push(0);
        net.a.out.need_path.clear();
    }
    while net.now < start + SEARCH_AFTER_MS + 2_000 {
        net.now += 1_000;
        net.poll_both();
        if !net.a.out.need_path.is_empty() {
            searches.push(net.now - start);
            net.a.out.need_path.clear();
        }
        assert!(net.a.sm.poll_at() <= net.now + 1_000);
    }
    assert_eq!(searches, vec![0, SEARCH_AFTER_MS]);
    assert!(
        net.b.out.need_path.is_empty(),
        "B's session is only used by the router"
    );

    // Silence: both sessions end after 120 s.
    while net.now < start + SESSION_TIMEOUT_MS + 2_000 {
        net.now += 1_000;
        net.poll_both();
    }
    assert_eq!(net.a.sm.session_count(), 0);
    assert_eq!(net.b.sm.session_count(), 0);
    assert!(net
        .a
        .out
        .events
        .iter()
        .any(|e| matches!(e, SessionEvent::Ended { key, .. } if *key == net.b.key)));
    assert_eq!(net.a.sm.stats().sessions_ended, 1);
}

#[test]
fn pending_packets_expire_and_are_replaced() {
    let mut net = Net::new();
    let p1 = icmp6(&net.a.ip6, &net.b.ip6, 4);
    let p2 = icmp6(&net.a.ip6, &net.b.ip6, 5);
    send_ipv6(&mut net.a, &p1, net.now, &mut net.rng);
    send_ipv6(&mut net.a, &p2, net.now, &mut net.rng);
    assert_eq!(net.a.sm.pending_count(), 1);
    assert_eq!(net.a.sm.stats().pending_replaced, 1);
    net.now += PENDING_TIMEOUT_MS + 1;
    net.poll_both();
    assert_eq!(net.a.sm.pending_count(), 0);
    assert_eq!(net.a.sm.stats().pending_timed_out, 1);
    // Larger than a pending slot: dropped, counted.
    let big = icmp6(&net.a.ip6, &net.b.ip6, 1400);
    send_ipv6(&mut net.a, &big, net.now, &mut net.rng);
    assert_eq!(net.a.sm.stats().pending_too_big, 1);
    // A path for a node nobody waits for makes no session.
    let mut other = Net::new();
    other.a.sm.add_path(&other.b.addr(22, other.a.label), 5);
    assert_eq!(other.a.sm.session_count(), 0);
}

#[test]
fn cjdht_without_any_path_asks_for_one() {
    let mut net = Net::new();
    let to = net.b.addr(22, 0);
    let mut scratch = vec![0u8; OUTER_HEADROOM + SESSION_HEADROOM + 9];
    net.a.sm.send_cjdht(
        &to,
        b"d1:q2:pne",
        &mut scratch,
        net.now,
        &mut net.rng,
        &mut net.a.out,
    );
    assert!(net.a.out.switch_out.is_empty());
    assert_eq!(net.a.out.need_path, vec![net.b.ip6]);
    assert_eq!(net.a.sm.stats().dropped_no_path, 1);
    // Too small a scratch buffer is refused, not a panic.
    let to = net.b.addr(22, net.a.label);
    let mut small = vec![0u8; 20];
    net.a.sm.send_cjdht(
        &to,
        b"d1:q2:pne",
        &mut small,
        net.now,
        &mut net.rng,
        &mut net.a.out,
    );
    assert_eq!(net.a.sm.stats().dropped_no_headroom, 1);
}

#[test]
fn crossing_hellos_settle_into_one_session() {
    let mut net = Net::new();
    // Both routers ping each other at the same moment.
    net.a_to_b_cjdht(b"d1:q2:pne");
    let to_a = net.a.addr(22, net.b.label);
    net.b_reply_cjdht(to_a, b"d1:q2:gpe");
    assert_eq!(&net.a.out.switch_out[0][12..16], &[0, 0, 0, 0]);
    assert_eq!(&net.b.out.switch_out[0][12..16], &[0, 0, 0, 0]);
    net.pump();
    // Both CJDHT messages got through (the lower key stays initiator, the payload of the
    // other Hello is still delivered).
    assert_eq!(net.a.out.cjdht.len(), 1);
    assert_eq!(net.b.out.cjdht.len(), 1);
    // A few rounds of router chatter finish the handshake.
    for _ in 0..3 {
        net.a_to_b_cjdht(b"d1:q2:pne");
        net.b_reply_cjdht(to_a, b"d1:q2:pne");
        net.pump();
    }
    let a_view = net.a.sm.session(&net.b.ip6).unwrap();
    let b_view = net.b.sm.session(&net.a.ip6).unwrap();
    assert_eq!(a_view.state, State::Established);
    assert_eq!(b_view.state, State::Established);
    assert_ne!(a_view.is_initiator, b_view.is_initiator);
    assert_eq!(a_view.send_handle, Some(b_view.receive_handle));
    assert_eq!(b_view.send_handle, Some(a_view.receive_handle));
    assert_eq!(net.a.out.cjdht.len(), 4);
    assert_eq!(net.b.out.cjdht.len(), 4);
    // User traffic flows.
    let p = icmp6(&net.a.ip6, &net.b.ip6, 16);
    send_ipv6(&mut net.a, &p, net.now, &mut net.rng);
    net.pump();
    assert_eq!(net.b.out.ipv6, vec![as_rebuilt(&p)]);
}

#[test]
fn replayed_data_is_counted_as_duplicate() {
    let mut net = Net::new();
    net.handshake();
    // The first data packet establishes B and starts its window after itself, so replay
    // the second one.
    net.a_to_b_cjdht(b"d1:q2:gpe");
    net.pump();
    net.a_to_b_cjdht(b"d1:q2:gpe");
    let packet = net.a.out.switch_out.pop().unwrap();
    let mut error = [0u8; ERROR_FRAME_MAX];
    let mut arrived = packet.clone();
    net.a
        .switch
        .switch_packet(ROUTER_INTERFACE, &mut arrived, &mut error);
    net.b
        .switch
        .switch_packet(net.b.iface, &mut arrived, &mut error);
    deliver(&mut net.b, &arrived, net.now, &mut net.rng);
    deliver(&mut net.b, &arrived, net.now, &mut net.rng);
    assert_eq!(
        net.b.out.cjdht.len(),
        3,
        "Hello's ping, then each data packet once"
    );
    let view = net.b.sm.session(&net.a.ip6).unwrap();
    assert_eq!(view.duplicates, 1);
    assert_eq!(view.received_out_of_range, 0);
    assert_eq!(view.packets_in, 3);
    let frame = net.b.out.switch_out.pop().unwrap();
    let ControlRepr::Error { cause, .. } = ControlRepr::parse(&frame[12..]).unwrap() else {
        panic!("not an error frame");
    };
    assert_eq!(
        &cause[28..],
        &[0, 0, 0, 14, 0, 0, 0, 100],
        "REPLAY, ESTABLISHED"
    );
}

#[test]
fn an_incoming_handshake_into_a_full_table_evicts() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut a: Side<1> = Side::new(keypair(&mut rng), 5);
    let mut b: Side<1> = Side::new(keypair(&mut rng), 6);
    let stranger = keypair(&mut rng).public_key();
    let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + 16];
    let to = NodeAddress {
        version: 22,
        label: 0x13,
        key: stranger,
    };
    b.sm.send_cjdht(&to, b"x", &mut scratch, 1, &mut rng, &mut b.out);
    b.out.switch_out.clear();
    let to_b = b.addr(22, a.label);
    a.sm.send_cjdht(&to_b, b"d1:q2:pne", &mut scratch, 2, &mut rng, &mut a.out);
    let packet = a.out.switch_out.pop().unwrap();
    carry(&mut a, &mut b, packet, 2, &mut rng);
    assert_eq!(b.out.cjdht.len(), 1);
    assert_eq!(b.sm.session_count(), 1);
    assert!(b.sm.session(&a.ip6).is_some());
    assert!(b.out.events.contains(&SessionEvent::Evicted {
        key: stranger,
        handle: b.sm.first_handle()
    }));
    assert_eq!(
        b.sm.session(&a.ip6).unwrap().receive_handle,
        b.sm.first_handle() + 1
    );
}

/// Searches open several sessions at once: a full table gives up idle router-only sessions
/// before one whose query is still waiting for its answer.
#[test]
fn a_full_table_keeps_sessions_awaiting_a_reply() {
    let (a, mut b, mut rng) = established_two_slot_pair(98);
    let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + 16];

    // Ten seconds later B's router queries a stranger and waits for the answer; then
    // two more strangers come along.
    let strangers: Vec<PublicKey> = (0..3).map(|_| keypair(&mut rng).public_key()).collect();
    for (i, key) in strangers.iter().enumerate() {
        let to = NodeAddress {
            version: 22,
            label: 0x13,
            key: *key,
        };
        let now = 10_011 + i as u64;
        b.sm.send_cjdht(&to, b"d1:q2:pne", &mut scratch, now, &mut rng, &mut b.out);
        if i == 0 {
            b.sm.expect_reply(&key.address().unwrap(), now + 3_000);
        }
    }
    let evicted: Vec<_> = b
        .out
        .events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Evicted { key, .. } => Some(*key),
            _ => None,
        })
        .collect();
    // First the idle session, then the newer stranger that nobody waits on; the query's
    // session stays.
    assert_eq!(evicted, vec![*a.sm.public_key(), strangers[1]]);
    assert!(b.sm.sessions().any(|s| s.key == strangers[0]));
    assert!(b.sm.sessions().any(|s| s.key == strangers[2]));

    // Once the wait is over it is an ordinary idle session again.
    let to = NodeAddress {
        version: 22,
        label: 0x13,
        key: keypair(&mut rng).public_key(),
    };
    b.sm.send_cjdht(
        &to,
        b"d1:q2:pne",
        &mut scratch,
        14_000,
        &mut rng,
        &mut b.out,
    );
    assert!(!b.sm.sessions().any(|s| s.key == strangers[0]));
}

/// The other side forgot its half of the session (a small table evicted it, or it
/// restarted): after 4 s without hearing anything the handshake starts over with a Hello,
/// instead of sending data for a handle nobody knows until the reference's 10 s pass.
#[test]
fn silent_handshake_starts_over_after_four_seconds() {
    let mut net = Net::new();
    net.handshake();
    let b_private = net_key_for(&net, "b");
    net.b.sm = SessionManager::new(b_private, 40548);
    // Word after the 12-byte switch header: the nonce (0..=3) of a handshake packet, or the
    // receive handle of data.
    let first_word = |p: &Vec<u8>| u32::from_be_bytes(p[12..16].try_into().unwrap());

    net.now += 1_000;
    net.a_to_b_cjdht(b"d1:q2:pne");
    let sent = net.a.out.switch_out.last().cloned().unwrap();
    assert!(
        first_word(&sent) > 3,
        "still data while the session is young"
    );
    net.pump();
    assert!(net.b.out.drops().contains(&DropReason::UnknownHandle));

    net.now += 4_000;
    net.a_to_b_cjdht(b"d1:q2:pne");
    let sent = net.a.out.switch_out.last().cloned().unwrap();
    assert!(
        first_word(&sent) <= 1,
        "a new Hello, got {:#x}",
        first_word(&sent)
    );
    net.pump();
    assert!(
        net.b.sm.session(&net.a.ip6).is_some(),
        "B took the new Hello"
    );
}
