//! CryptoAuth under arbitrary input.
//!
//! Mode 0: drive a session pair to a chosen state, then feed fuzz bytes to both sides as
//! packets (and to `Session::accept`); every parse must be total, and a header that parses
//! must re-emit to the same bytes.
//! Mode 1: a fuzz-chosen sequence of sends, deliveries, drops, duplicates, bit flips and
//! clock jumps between two sessions; whatever is accepted must be exactly what was sent.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

use protocol_core::crypto::testing::ScriptedRng;
use protocol_core::crypto::{
    Credentials, CryptoAuth, HandshakePacket, HandshakeRepr, PacketKind, Session, MAX_OVERHEAD,
};
use protocol_core::identity::PrivateKey;

const A: [u8; 32] = hex32("889ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f");
const B: [u8; 32] = hex32("f23dccdd54022461ff8d81136eeacdcb75b7dbbeee36d3645a7bd0e4d186f096");

const fn hex32(s: &str) -> [u8; 32] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            _ => c - b'a' + 10,
        }
    }
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nib(b[2 * i]) << 4 | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

#[derive(Clone)]
struct Side {
    ca: CryptoAuth<2>,
    s: Session,
}

fn pair(with_password: bool) -> (Side, Side) {
    let mut ca_a = CryptoAuth::new(PrivateKey(A));
    let ca_b = CryptoAuth::new(PrivateKey(B));
    let _ = ca_a.users.add_user(b"pw", Some(b"bob"), None);
    let mut sb = Session::new(*ca_a.public_key(), false, 0).unwrap();
    if with_password {
        sb.set_auth(Some(Credentials::new(b"pw", Some(b"bob"))));
    }
    let sa = Session::new(*ca_b.public_key(), false, 0).unwrap();
    (Side { ca: ca_a, s: sa }, Side { ca: ca_b, s: sb })
}

fn send(side: &mut Side, rng: &mut ScriptedRng, msg: &[u8], now: u64) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; MAX_OVERHEAD + msg.len()];
    buf[MAX_OVERHEAD..].copy_from_slice(msg);
    let r = side
        .s
        .encrypt(
            &side.ca,
            &mut buf,
            MAX_OVERHEAD..MAX_OVERHEAD + msg.len(),
            now,
            rng,
        )
        .ok()?;
    assert!(r.end == buf.len() && r.start < MAX_OVERHEAD);
    Some(buf[r].to_vec())
}

fn recv(side: &mut Side, pkt: &[u8], now: u64) -> Option<Vec<u8>> {
    let mut buf = pkt.to_vec();
    let o = side.s.decrypt(&side.ca, &mut buf, now).ok()?;
    assert!(o.plaintext.start <= o.plaintext.end && o.plaintext.end <= buf.len());
    Some(buf[o.plaintext].to_vec())
}

fn check_header(data: &[u8]) {
    let _ = PacketKind::of_packet(data);
    if let Ok(repr) = HandshakeRepr::parse_bytes(data) {
        let mut out = [0u8; 120];
        repr.emit(&mut HandshakePacket::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &data[..120]);
    }
}

fn to_state(a: &mut Side, b: &mut Side, rng: &mut ScriptedRng, steps: u8) {
    // B initiates: Hello, Key, first data B->A, first data A->B.
    let mut pkt = Vec::new();
    for step in 0..steps.min(4) {
        let (from, to) = if step % 2 == 0 {
            (&mut *b, &mut *a)
        } else {
            (&mut *a, &mut *b)
        };
        let Some(p) = send(from, rng, b"step", 0) else {
            return;
        };
        pkt = p;
        assert_eq!(recv(to, &pkt, 0).as_deref(), Some(&b"step"[..]));
    }
    let _ = pkt;
}

/// Session pairs in every state, built once (key agreement is the expensive part).
fn prepared(with_password: bool, steps: u8) -> (Side, Side) {
    static PAIRS: OnceLock<Vec<(Side, Side)>> = OnceLock::new();
    let pairs = PAIRS.get_or_init(|| {
        let mut out = Vec::new();
        for pw in [false, true] {
            for steps in 0..5 {
                let (mut a, mut b) = pair(pw);
                let mut rng = ScriptedRng::new(&[], 7);
                to_state(&mut a, &mut b, &mut rng, steps);
                out.push((a, b));
            }
        }
        out
    });
    pairs[usize::from(with_password) * 5 + usize::from(steps % 5)].clone()
}

fn mode_states(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let (mut a, mut b) = prepared(sel & 0x80 != 0, sel % 5);
    let mut rng = ScriptedRng::new(&[], 7);
    // Length-prefixed packets.
    let mut rest = rest;
    while let Some((&len, tail)) = rest.split_first() {
        let n = (len as usize).min(tail.len());
        let (pkt, tail) = tail.split_at(n);
        rest = tail;
        check_header(pkt);
        let _ = recv(&mut a, pkt, 1);
        let _ = recv(&mut b, pkt, 1);
        let mut buf = pkt.to_vec();
        let _ = Session::accept(&a.ca, &mut buf, len & 1 == 0, 1);
    }
    // Whatever the junk did, an honest exchange must still never panic.
    if let Some(p) = send(&mut b, &mut rng, b"after", 2) {
        let _ = recv(&mut a, &p, 2);
    }
}

fn mode_sequence(data: &[u8]) {
    let Some((&sel, ops)) = data.split_first() else {
        return;
    };
    let (mut a, mut b) = prepared(sel & 1 != 0, 0);
    let mut rng = ScriptedRng::new(&[], u64::from(sel) + 1);
    let mut to_a: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut to_b: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut now = 0u64;
    let mut counter = 0u32;
    for op in ops {
        let arg = usize::from(op >> 3);
        match op & 7 {
            0 | 1 => {
                counter += 1;
                let msg = counter.to_be_bytes().repeat(1 + arg % 4);
                let (side, q) = if op & 1 == 0 {
                    (&mut a, &mut to_b)
                } else {
                    (&mut b, &mut to_a)
                };
                if let Some(p) = send(side, &mut rng, &msg, now) {
                    q.push((p, msg));
                }
            }
            2 | 3 => {
                let (side, q) = if op & 1 == 0 {
                    (&mut b, &mut to_b)
                } else {
                    (&mut a, &mut to_a)
                };
                if !q.is_empty() {
                    let (p, msg) = q.remove(arg % q.len());
                    if let Some(got) = recv(side, &p, now) {
                        assert_eq!(got, msg, "accepted plaintext differs from what was sent");
                    }
                }
            }
            4 => {
                // Duplicate a queued packet.
                if let Some(x) = to_b.get(arg % to_b.len().max(1)).cloned() {
                    to_b.push(x);
                }
            }
            5 => {
                // Flip one bit of a queued packet.
                let q = if arg & 1 == 0 { &mut to_a } else { &mut to_b };
                if let Some((p, _)) = q.last_mut() {
                    let i = (arg * 7) % p.len();
                    p[i] ^= 1 << (arg % 8);
                }
            }
            6 => now += 1000 * (1 + arg as u64 * 4),
            _ => {
                if arg & 1 == 0 {
                    a.s.reset();
                } else {
                    b.s.reset_if_timeout(now);
                }
            }
        }
    }
}

/// An honest next packet from a pair in a chosen state, then fuzz-chosen byte edits and a
/// truncation: exercises every check after the MAC (the header bytes before the
/// authenticator are not covered by it).
fn mode_mutate(data: &[u8]) {
    let Some((&sel, edits)) = data.split_first() else {
        return;
    };
    let (mut a, mut b) = prepared(sel & 0x80 != 0, sel % 5);
    let mut rng = ScriptedRng::new(&[], 9);
    let (from, to) = if sel & 0x40 != 0 {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let Some(mut pkt) = send(from, &mut rng, b"honest payload", 1) else {
        return;
    };
    let mut edits = edits.chunks_exact(2);
    for e in edits.by_ref() {
        if e[0] == 0xff {
            pkt.truncate(usize::from(e[1]));
            continue;
        }
        if let Some(byte) = pkt.get_mut(usize::from(e[0])) {
            *byte ^= e[1];
        }
    }
    check_header(&pkt);
    if let Some(got) = recv(to, &pkt, 1) {
        assert_eq!(got, b"honest payload", "a forged packet was accepted");
    }
    let mut buf = pkt.clone();
    if let Ok((_, o)) = Session::accept(&to.ca, &mut buf, sel & 0x20 != 0, 1) {
        assert_eq!(&buf[o.plaintext], b"honest payload");
    }
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((m, rest)) if m % 3 == 0 => mode_states(rest),
        Some((m, rest)) if m % 3 == 1 => mode_sequence(rest),
        Some((_, rest)) => mode_mutate(rest),
        None => {}
    }
});
