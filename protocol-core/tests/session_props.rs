//! Properties: no byte string from the switch or TUN makes the session manager panic, and
//! any IPv6 packet crosses an established session intact (except the fields cjdns drops).

use std::sync::OnceLock;

use proptest::prelude::*;
use protocol_core::identity::{generate_keypair, Ip6, NodeAddress, PrivateKey};
use protocol_core::session::{SessionEvent, SessionManager, SessionOut, SESSION_HEADROOM};
use protocol_core::switch::bit_reverse64;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const HEADROOM: usize = 256;
/// One-hop path each side uses to reach the other; the receiving switch would leave its
/// bit-reverse in the header, which is what `handle_from_switch` expects.
const A_TO_B: u64 = 0x13;
const B_TO_A: u64 = 0x15;

#[derive(Default)]
struct Out {
    switch_out: Vec<Vec<u8>>,
    cjdht: Vec<(NodeAddress, Vec<u8>)>,
    ipv6: Vec<Vec<u8>>,
}

impl SessionOut for Out {
    fn send_switch(&mut self, buf: &mut [u8], range: core::ops::Range<usize>) {
        self.switch_out.push(buf[range].to_vec());
    }
    fn cjdht(&mut self, from: &NodeAddress, msg: &[u8]) {
        self.cjdht.push((*from, msg.to_vec()));
    }
    fn ipv6(&mut self, packet: &[u8]) {
        self.ipv6.push(packet.to_vec());
    }
    fn need_path(&mut self, _ip6: &Ip6) {}
    fn event(&mut self, _event: SessionEvent) {}
}

fn keys() -> &'static (PrivateKey, PrivateKey) {
    static KEYS: OnceLock<(PrivateKey, PrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        (generate_keypair(&mut rng).0, generate_keypair(&mut rng).0)
    })
}

type Sm = SessionManager<2, 2>;

/// What a one-hop switch does to a packet we send: the receiver sees the return path,
/// bit-reversed, in place of the label.
fn arrive(packet: &[u8], return_path: u64) -> Vec<u8> {
    let mut buf = vec![0u8; HEADROOM + packet.len()];
    buf[HEADROOM..].copy_from_slice(packet);
    buf[HEADROOM..HEADROOM + 8].copy_from_slice(&bit_reverse64(return_path).to_be_bytes());
    buf
}

fn established() -> (Sm, Sm, Out, Out, ChaCha20Rng) {
    let (a_key, b_key) = keys();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut a = Sm::new(a_key.clone(), 1);
    let mut b = Sm::new(b_key.clone(), 2);
    let (mut a_out, mut b_out) = (Out::default(), Out::default());
    let to_b = NodeAddress {
        version: 22,
        label: A_TO_B,
        key: b_key.public_key(),
    };
    let mut scratch = vec![0u8; HEADROOM + SESSION_HEADROOM + 16];
    for step in 0..3 {
        if step % 2 == 0 {
            a.send_cjdht(&to_b, b"d1:q2:pne", &mut scratch, 0, &mut rng, &mut a_out);
            let mut buf = arrive(&a_out.switch_out.pop().unwrap(), B_TO_A);
            let range = HEADROOM..buf.len();
            b.handle_from_switch(&mut buf, range, 0, &mut rng, &mut b_out);
        } else {
            let from = b_out.cjdht.last().unwrap().0;
            b.send_cjdht(&from, b"d1:pi22ee", &mut scratch, 0, &mut rng, &mut b_out);
            let mut buf = arrive(&b_out.switch_out.pop().unwrap(), A_TO_B);
            let range = HEADROOM..buf.len();
            a.handle_from_switch(&mut buf, range, 0, &mut rng, &mut a_out);
        }
    }
    (a, b, a_out, b_out, rng)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn ipv6_crosses_intact(next_header in 0u8..=255, payload in proptest::collection::vec(any::<u8>(), 0..1300)) {
        let (mut a, mut b, mut a_out, mut b_out, mut rng) = established();
        let (a_key, b_key) = keys();
        let src = a_key.public_key().address().unwrap();
        let dst = b_key.public_key().address().unwrap();
        let mut packet = vec![0x6f, 0xff, 0xff, 0xff];
        packet.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        packet.extend_from_slice(&[next_header, 1]);
        packet.extend_from_slice(&src.0);
        packet.extend_from_slice(&dst.0);
        packet.extend_from_slice(&payload);
        let mut buf = vec![0u8; HEADROOM + packet.len()];
        buf[HEADROOM..].copy_from_slice(&packet);
        let range = HEADROOM..buf.len();
        a.send_ipv6(&mut buf, range, 0, &mut rng, &mut a_out);
        let sent = a_out.switch_out.pop().unwrap();
        let mut buf = arrive(&sent, B_TO_A);
        let range = HEADROOM..buf.len();
        b.handle_from_switch(&mut buf, range, 0, &mut rng, &mut b_out);
        let mut expected = packet.clone();
        expected[..4].copy_from_slice(&[0x60, 0, 0, 0]);
        expected[7] = 42;
        prop_assert_eq!(b_out.ipv6.len(), 1);
        prop_assert_eq!(&b_out.ipv6[0], &expected);
        // Same size as the IPv6 packet: its 40-byte header became switch header, handle,
        // CryptoAuth and DataHeader (the outer layer adds its 20 on top).
        prop_assert_eq!(sent.len(), packet.len());
    }

    #[test]
    fn arbitrary_switch_packets_never_panic(
        first in prop_oneof![Just(0u32), Just(1), Just(2), Just(3), Just(u32::MAX), any::<u32>()],
        use_our_handle in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        start in 0usize..20,
    ) {
        let (_, mut b, _, mut b_out, mut rng) = established();
        let handle = b.sessions().next().unwrap().receive_handle;
        let mut packet = vec![0u8; 12];
        packet.extend_from_slice(&(if use_our_handle { handle } else { first }).to_be_bytes());
        packet.extend_from_slice(&body);
        let mut buf = vec![0u8; start + packet.len()];
        buf[start..].copy_from_slice(&packet);
        let end = buf.len();
        b.handle_from_switch(&mut buf, start..end, 0, &mut rng, &mut b_out);
        // Out-of-bounds ranges are refused, not a panic.
        b.handle_from_switch(&mut buf, end..end + 1, 0, &mut rng, &mut b_out);
        b.handle_from_switch(&mut buf, 0..0, 0, &mut rng, &mut b_out);
    }

    #[test]
    fn arbitrary_tun_packets_never_panic(
        packet in proptest::collection::vec(any::<u8>(), 0..200),
        start in 0usize..150,
        own_source in any::<bool>(),
    ) {
        let (mut a, _, mut a_out, _, mut rng) = established();
        let mut packet = packet;
        if own_source && packet.len() >= 40 {
            packet[0] = 0x60;
            packet[8..24].copy_from_slice(&a.ip6().0);
            packet[24] = 0xfc;
        }
        let mut buf = vec![0u8; start + packet.len()];
        buf[start..].copy_from_slice(&packet);
        let end = buf.len();
        a.send_ipv6(&mut buf, start..end, 0, &mut rng, &mut a_out);
        a.send_ipv6(&mut buf, end..end + 3, 0, &mut rng, &mut a_out);
        a.poll(20_000, &mut rng, &mut a_out);
    }
}
