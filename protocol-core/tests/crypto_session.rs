//! Two of our CryptoAuth sessions talking in memory, through every path of the state
//! machine: normal handshake, crossed Hellos, lost and repeated handshake packets, wrong
//! passwords and keys, replays, reordering, counter wrap, timeouts and re-handshakes, and
//! auth types 0/1/2 with user reporting and IPv6 restriction.

mod common;

use protocol_core::crypto::primitives::{handshake_secret, seal_in_place};
use protocol_core::crypto::{
    AuthType, Challenge, Credentials, CryptoAuth, CryptoError, Event, HandshakePacket,
    HandshakeRepr, ReplayRejection, Session, State, MAX_OVERHEAD,
};
use protocol_core::identity::{Ip6, PrivateKey, PublicKey};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

struct Node {
    ca: CryptoAuth<4>,
    ip: Ip6,
    rng: ChaCha20Rng,
}

/// Known-good keypairs (searching for an fc address is slow in debug builds).
fn private_key(i: u64) -> PrivateKey {
    let keys = common::reference_json("vectors/keys.json");
    let pairs = keys["keypairs"].as_array().expect("keypairs");
    let hex = pairs[i as usize % pairs.len()]["privateKey_hex"]
        .as_str()
        .expect("hex");
    PrivateKey(common::unhex32(hex))
}

fn node(seed: u64) -> Node {
    let rng = ChaCha20Rng::seed_from_u64(seed);
    let private = private_key(seed);
    let ip = private.public_key().address().expect("fc address");
    Node {
        ca: CryptoAuth::new(private),
        ip,
        rng,
    }
}

fn key(n: &Node) -> PublicKey {
    *n.ca.public_key()
}

fn send(n: &mut Node, s: &mut Session, msg: &[u8], now: u64) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_OVERHEAD];
    buf.extend_from_slice(msg);
    let r = s
        .encrypt(
            &n.ca,
            &mut buf,
            MAX_OVERHEAD..MAX_OVERHEAD + msg.len(),
            now,
            &mut n.rng,
        )
        .expect("encrypt");
    buf[r].to_vec()
}

fn recv(n: &Node, s: &mut Session, pkt: &[u8], now: u64) -> Result<(Vec<u8>, Event), CryptoError> {
    let mut buf = pkt.to_vec();
    let o = s.decrypt(&n.ca, &mut buf, now)?;
    Ok((buf[o.plaintext].to_vec(), o.event))
}

fn kind(pkt: &[u8]) -> u32 {
    u32::from_be_bytes(pkt[..4].try_into().unwrap())
}

/// `lo` has the numerically lower permanent key.
fn ordered_pair() -> (Node, Node) {
    let (a, b) = (node(1), node(2));
    if key(&a) < key(&b) {
        (a, b)
    } else {
        (b, a)
    }
}

/// A (initiator) and B (responder) through a complete handshake; returns both sessions.
fn established(a: &mut Node, b: &mut Node, now: u64) -> (Session, Session) {
    let mut sa = Session::new(key(b), false, now).unwrap();
    let hello = send(a, &mut sa, b"hello", now);
    assert_eq!(kind(&hello), 0);
    let mut buf = hello.clone();
    let (mut sb, o) = Session::accept(&b.ca, &mut buf, false, now).unwrap();
    assert_eq!(&buf[o.plaintext], b"hello");
    let k = send(b, &mut sb, b"key", now);
    assert_eq!(kind(&k), 2);
    assert_eq!(
        recv(a, &mut sa, &k, now).unwrap(),
        (b"key".to_vec(), Event::Key)
    );
    let d = send(a, &mut sa, b"data4", now);
    assert_eq!(kind(&d), 4);
    assert_eq!(
        recv(b, &mut sb, &d, now).unwrap(),
        (b"data4".to_vec(), Event::Established)
    );
    let d = send(b, &mut sb, b"reply", now);
    assert_eq!(kind(&d), 6, "responder starts at 3 + 3");
    assert_eq!(
        recv(a, &mut sa, &d, now).unwrap(),
        (b"reply".to_vec(), Event::Established)
    );
    assert_eq!(sa.state(), State::Established);
    assert_eq!(sb.state(), State::Established);
    (sa, sb)
}

#[test]
fn normal_handshake_and_counters() {
    let (mut a, mut b) = (node(1), node(2));
    let (mut sa, mut sb) = established(&mut a, &mut b, 0);
    assert!(sa.is_initiator() && !sb.is_initiator());
    // A sent 4, then jumped by 3 when B's first data arrived.
    assert_eq!(sa.next_nonce(), 8);
    for i in 0..5u8 {
        let p = send(&mut a, &mut sa, &[i; 40], 1);
        assert_eq!(
            recv(&b, &mut sb, &p, 1).unwrap(),
            (vec![i; 40], Event::Data)
        );
        let p = send(&mut b, &mut sb, &[i; 3], 1);
        assert_eq!(recv(&a, &mut sa, &p, 1).unwrap(), (vec![i; 3], Event::Data));
    }
    assert_eq!(sb.her_ip6(), &a.ip);
    assert_eq!(sa.authenticated_user(), None);
}

#[test]
fn crossed_hellos_lower_key_stays_initiator() {
    let (mut lo, mut hi) = ordered_pair();
    let mut s_lo = Session::new(key(&hi), false, 0).unwrap();
    let mut s_hi = Session::new(key(&lo), false, 0).unwrap();
    let h_lo = send(&mut lo, &mut s_lo, b"from lo", 0);
    let h_hi = send(&mut hi, &mut s_hi, b"from hi", 0);
    assert_eq!(
        recv(&lo, &mut s_lo, &h_hi, 0).unwrap(),
        (b"from hi".to_vec(), Event::CrossedHelloIgnored)
    );
    assert_eq!(s_lo.state(), State::SentHello);
    assert_eq!(
        recv(&hi, &mut s_hi, &h_lo, 0).unwrap(),
        (b"from lo".to_vec(), Event::Hello)
    );
    assert_eq!(s_hi.state(), State::ReceivedHello);
    assert!(!s_hi.is_initiator());
    let k = send(&mut hi, &mut s_hi, b"k", 0);
    assert_eq!(kind(&k), 2);
    assert_eq!(recv(&lo, &mut s_lo, &k, 0).unwrap().1, Event::Key);
    let d = send(&mut lo, &mut s_lo, b"d", 0);
    assert_eq!(recv(&hi, &mut s_hi, &d, 0).unwrap().1, Event::Established);
}

#[test]
fn lost_hello_then_repeat_hello() {
    let (mut a, mut b) = (node(3), node(4));
    let mut sa = Session::new(key(&b), false, 0).unwrap();
    let _lost = send(&mut a, &mut sa, b"one", 0);
    let repeat = send(&mut a, &mut sa, b"two", 0);
    assert_eq!(kind(&repeat), 1);
    let mut buf = repeat.clone();
    let (mut sb, o) = Session::accept(&b.ca, &mut buf, false, 0).unwrap();
    assert_eq!((&buf[o.plaintext], o.event), (&b"two"[..], Event::Hello));
    let k = send(&mut b, &mut sb, b"k", 0);
    assert_eq!(recv(&a, &mut sa, &k, 0).unwrap().1, Event::Key);
}

#[test]
fn repeats_delivered_and_lost_key() {
    let (mut a, mut b) = (node(5), node(6));
    let mut sa = Session::new(key(&b), false, 0).unwrap();
    let mut sb = Session::new(key(&a), false, 0).unwrap();
    let h = send(&mut a, &mut sa, b"h1", 0);
    let rh = send(&mut a, &mut sa, b"h2", 0);
    assert_eq!(recv(&b, &mut sb, &h, 0).unwrap().1, Event::Hello);
    // Same temporary key again while still answering: accepted, state kept.
    assert_eq!(
        recv(&b, &mut sb, &rh, 0).unwrap(),
        (b"h2".to_vec(), Event::Hello)
    );
    assert_eq!(sb.state(), State::ReceivedHello);
    let _lost_key = send(&mut b, &mut sb, b"k1", 0);
    assert_eq!(sb.state(), State::SentKey);
    let rk = send(&mut b, &mut sb, b"k2", 0);
    assert_eq!(kind(&rk), 3);
    let rk2 = send(&mut b, &mut sb, b"k3", 0);
    assert_eq!(
        recv(&a, &mut sa, &rk, 0).unwrap(),
        (b"k2".to_vec(), Event::Key)
    );
    assert_eq!(
        recv(&a, &mut sa, &rk2, 0).unwrap(),
        (b"k3".to_vec(), Event::Key)
    );
    assert_eq!(sa.state(), State::ReceivedKey);
    // A Repeat Hello once we are past it is refused, and so is the Hello replayed.
    assert_eq!(recv(&b, &mut sb, &rh, 0).unwrap().1, Event::Hello);
    assert_eq!(recv(&b, &mut sb, &h, 0), Err(CryptoError::DuplicateHello));
    let d = send(&mut a, &mut sa, b"d", 0);
    assert_eq!(recv(&b, &mut sb, &d, 0).unwrap().1, Event::Established);
    assert_eq!(
        recv(&b, &mut sb, &rh, 0),
        Err(CryptoError::UnexpectedRepeatHello)
    );
    // Key packets are refused once established.
    let d = send(&mut b, &mut sb, b"e", 0);
    assert_eq!(recv(&a, &mut sa, &d, 0).unwrap().1, Event::Established);
    assert_eq!(
        recv(&a, &mut sa, &rk, 0),
        Err(CryptoError::KeyOnEstablishedSession)
    );
}

#[test]
fn stray_key_and_early_data() {
    let (mut a, mut b) = (node(7), node(8));
    let mut sa = Session::new(key(&b), false, 0).unwrap();
    let mut sb = Session::new(key(&a), false, 0).unwrap();
    let h = send(&mut a, &mut sa, b"h", 0);
    recv(&b, &mut sb, &h, 0).unwrap();
    let k = send(&mut b, &mut sb, b"k", 0);
    // A second responder session for A never sent a Hello: the Key is stray.
    let mut other = Session::new(key(&b), false, 0).unwrap();
    assert_eq!(recv(&a, &mut other, &k, 0), Err(CryptoError::StrayKey));
    recv(&a, &mut sa, &k, 0).unwrap();
    let d = send(&mut a, &mut sa, b"d", 0);
    assert_eq!(recv(&a, &mut other, &d, 0), Err(CryptoError::NoSession));
    let mut fresh = Session::new(key(&b), false, 0).unwrap();
    assert_eq!(
        recv(&a, &mut fresh, &d[..19], 0),
        Err(CryptoError::Truncated {
            needed: 20,
            got: 19
        })
    );
    assert_eq!(
        recv(&a, &mut fresh, &k[..119], 0),
        Err(CryptoError::Truncated {
            needed: 120,
            got: 119
        })
    );
    let mut buf = d.clone();
    assert_eq!(
        Session::accept(&b.ca, &mut buf, false, 0).err(),
        Some(CryptoError::NoSession)
    );
    let mut noise = vec![0xff; 200];
    assert_eq!(
        Session::accept(&b.ca, &mut noise, false, 0).err(),
        Some(CryptoError::NoiseUnsupported)
    );
}

#[test]
fn wrong_password_and_wrong_key() {
    let (mut a, mut b) = (node(9), node(10));
    b.ca.users.add_user(b"right", Some(b"alice"), None).unwrap();
    // Right login, wrong password: the lookup matches, the secret does not.
    let mut sa = Session::new(key(&b), false, 0).unwrap();
    sa.set_auth(Some(Credentials::new(b"wrong", Some(b"alice"))));
    let h = send(&mut a, &mut sa, b"h", 0);
    let mut buf = h.clone();
    assert_eq!(
        Session::accept(&b.ca, &mut buf, true, 0).err(),
        Some(CryptoError::HandshakeDecryptFailed)
    );
    // Type 1 with an unknown password: nothing to look up.
    sa.set_auth(Some(Credentials::new(b"wrong", None)));
    let h = send(&mut a, &mut sa, b"h", 0);
    let mut buf = h.clone();
    assert_eq!(
        Session::accept(&b.ca, &mut buf, true, 0).err(),
        Some(CryptoError::AuthRequired)
    );
    let mut buf = h.clone();
    assert_eq!(
        Session::accept(&b.ca, &mut buf, false, 0).err(),
        Some(CryptoError::UnrecognizedAuth)
    );
    // No password at all to a session that requires one.
    sa.set_auth(None);
    let h = send(&mut a, &mut sa, b"h", 0);
    let mut buf = h.clone();
    assert_eq!(
        Session::accept(&b.ca, &mut buf, true, 0).err(),
        Some(CryptoError::AuthRequired)
    );
    // A Hello meant for somebody else.
    let c = node(11);
    let mut buf = h.clone();
    assert_eq!(
        Session::accept(&c.ca, &mut buf, false, 0).err(),
        Some(CryptoError::HandshakeDecryptFailed)
    );
    // A session for C refuses packets carrying A's key.
    let mut sc = Session::new(key(&c), false, 0).unwrap();
    assert_eq!(
        recv(&b, &mut sc, &h, 0),
        Err(CryptoError::WrongPermanentKey)
    );
    // Corrupted data.
    let (mut sa, mut sb) = established(&mut a, &mut b, 0);
    let mut d = send(&mut a, &mut sa, b"payload", 0);
    let last = d.len() - 1;
    d[last] ^= 1;
    assert_eq!(recv(&b, &mut sb, &d, 0), Err(CryptoError::DecryptFailed));
}

#[test]
fn auth_types_users_and_ip_restriction() {
    let (mut a, mut b) = (node(12), node(13));
    let anon = b.ca.users.add_user(b"pw-anon", None, None).unwrap();
    let named =
        b.ca.users
            .add_user(b"pw-named", Some(b"alice"), None)
            .unwrap();
    let other_ip = node(14).ip;
    b.ca.users
        .add_user(b"pw-locked", Some(b"locked"), Some(other_ip))
        .unwrap();
    let mine =
        b.ca.users
            .add_user(b"pw-mine", Some(b"mine"), Some(a.ip))
            .unwrap();
    let cases: [(Option<Credentials>, Result<Option<_>, CryptoError>); 7] = [
        (None, Ok(None)),
        (Some(Credentials::new(b"pw-anon", None)), Ok(Some(anon))),
        (
            Some(Credentials::new(b"pw-anon", Some(b"Anon #0"))),
            Ok(Some(anon)),
        ),
        (
            Some(Credentials::new(b"pw-named", Some(b"alice"))),
            Ok(Some(named)),
        ),
        (Some(Credentials::new(b"pw-named", None)), Ok(Some(named))),
        (
            Some(Credentials::new(b"pw-locked", Some(b"locked"))),
            Err(CryptoError::IpRestricted),
        ),
        (Some(Credentials::new(b"pw-mine", None)), Ok(Some(mine))),
    ];
    for (i, (cred, want)) in cases.into_iter().enumerate() {
        let mut sa = Session::new(key(&b), false, 0).unwrap();
        let t = cred.map(|c| c.auth_type());
        sa.set_auth(cred);
        let h = send(&mut a, &mut sa, b"hi", 0);
        let hdr = HandshakeRepr::parse_bytes(&h).unwrap();
        assert_eq!(Some(hdr.challenge.auth_type), t.or(Some(AuthType::None)));
        let mut buf = h.clone();
        let got = Session::accept(&b.ca, &mut buf, false, 0).map(|(s, _)| s);
        match want {
            Ok(user) => {
                let mut sb = got.unwrap_or_else(|e| panic!("case {i}: {e:?}"));
                assert_eq!(sb.authenticated_user(), user, "case {i}");
                // The Key answering a password Hello carries no password, yet works.
                let k = send(&mut b, &mut sb, b"k", 0);
                assert_eq!(
                    HandshakeRepr::parse_bytes(&k).unwrap().challenge.auth_type,
                    AuthType::None
                );
                assert_eq!(recv(&a, &mut sa, &k, 0).unwrap().1, Event::Key);
                let d = send(&mut a, &mut sa, b"d", 0);
                assert_eq!(recv(&b, &mut sb, &d, 0).unwrap().1, Event::Established);
                assert_eq!(sb.authenticated_user(), user);
            }
            Err(e) => assert_eq!(got.err(), Some(e), "case {i}"),
        }
    }
    assert_eq!(b.ca.users.login(named), Some(&b"alice"[..]));
    assert_eq!(b.ca.users.login(anon), Some(&b"Anon #0"[..]));
}

#[test]
fn replays_and_reordering() {
    let (mut a, mut b) = (node(15), node(16));
    let (mut sa, mut sb) = established(&mut a, &mut b, 0);
    let pkts: Vec<Vec<u8>> = (0..200u32)
        .map(|i| send(&mut a, &mut sa, &i.to_be_bytes(), 0))
        .collect();
    // Within the window, any order works; each exactly once.
    for i in [3usize, 1, 0, 2, 10, 7, 5, 4, 6, 9, 8] {
        assert_eq!(
            recv(&b, &mut sb, &pkts[i], 0).unwrap().0,
            (i as u32).to_be_bytes()
        );
    }
    assert_eq!(
        recv(&b, &mut sb, &pkts[7], 0),
        Err(CryptoError::Replay(ReplayRejection::Duplicate))
    );
    // Far ahead slides the window; the skipped old ones are now out of range.
    recv(&b, &mut sb, &pkts[150], 0).unwrap();
    assert_eq!(
        recv(&b, &mut sb, &pkts[20], 0),
        Err(CryptoError::Replay(ReplayRejection::OutOfRange))
    );
    recv(&b, &mut sb, &pkts[140], 0).unwrap();
    let st = sb.stats();
    assert_eq!(st.duplicate_packets, 1);
    assert_eq!(st.received_unexpected, 1);
    assert!(st.lost_packets > 0);
    // Replayed Hello to an established session restarts nothing: same temp key.
    let mut sc = Session::new(key(&a), false, 0).unwrap();
    let h = send(&mut b, &mut sc, b"x", 0);
    assert_eq!(
        recv(&a, &mut Session::new(key(&b), false, 0).unwrap(), &h, 0)
            .unwrap()
            .1,
        Event::Hello
    );
}

#[test]
fn counter_wrap_restarts_handshake() {
    let (mut a, mut b) = (node(17), node(18));
    let (mut sa, mut sb) = established(&mut a, &mut b, 0);
    sa.set_next_nonce_for_test(0xffff_ffef);
    let d = send(&mut a, &mut sa, b"last", 0);
    assert_eq!(kind(&d), 0xffff_ffef);
    // Delivering counter 0xffffffef slides B's window far ahead, which is fine.
    assert_eq!(recv(&b, &mut sb, &d, 0).unwrap().1, Event::Data);
    let h = send(&mut a, &mut sa, b"again", 0);
    assert_eq!(kind(&h), 0, "wrap point reached: new Hello");
    assert_eq!(
        recv(&b, &mut sb, &h, 0).unwrap(),
        (b"again".to_vec(), Event::Hello)
    );
    assert_eq!(sb.state(), State::ReceivedHello);
    let k = send(&mut b, &mut sb, b"k", 0);
    recv(&a, &mut sa, &k, 0).unwrap();
    let d = send(&mut a, &mut sa, b"d", 0);
    assert_eq!(kind(&d), 4);
    assert_eq!(recv(&b, &mut sb, &d, 0).unwrap().1, Event::Established);
}

#[test]
fn inactivity_resets_and_rehandshake() {
    let (mut a, mut b) = (node(19), node(20));
    let (mut sa, mut sb) = established(&mut a, &mut b, 0);
    // 59 s of silence is fine when established.
    let d = send(&mut a, &mut sa, b"d", 59_000);
    assert_eq!(recv(&b, &mut sb, &d, 59_000).unwrap().1, Event::Data);
    // A heard nothing since t=0: at 60 s it starts over with a Hello.
    let h = send(&mut a, &mut sa, b"h", 60_000);
    assert_eq!(kind(&h), 0);
    assert_eq!(sa.state(), State::SentHello);
    // B, established, takes a new Hello as a restart.
    assert_eq!(recv(&b, &mut sb, &h, 60_000).unwrap().1, Event::Hello);
    // SENT_HELLO never times out.
    let rh = send(&mut a, &mut sa, b"h2", 10_000_000);
    assert_eq!(kind(&rh), 1);
    // B answered at 60 s. Handshake packets do not count as traffic (as in cjdns): B's
    // clock runs from its last data packet (59 s), so 10 s of setup later it restarts.
    let k = send(&mut b, &mut sb, b"k", 60_000);
    assert_eq!(kind(&k), 2);
    sb.reset_if_timeout(68_999);
    assert_eq!(sb.state(), State::SentKey);
    let h_b = send(&mut b, &mut sb, b"restart", 69_000);
    assert_eq!(kind(&h_b), 0, "setup timeout: B sends its own Hello");
    // A still in SENT_HELLO: the Key from before is still accepted and completes the link.
    assert_eq!(recv(&a, &mut sa, &k, 10_000_000).unwrap().1, Event::Key);
}

#[test]
fn zero_temp_key_is_refused() {
    let (a, b) = (node(21), node(22));
    // Build a Hello from A by hand whose temporary key is all zeros.
    let mut pkt = vec![0u8; 120 + 4];
    let repr = HandshakeRepr {
        state: 0,
        challenge: Challenge {
            auth_type: AuthType::None,
            lookup: [0; 7],
            derivations: 0,
            additional: 0,
        },
        handshake_nonce: [9; 24],
        permanent_key: key(&a).0,
        authenticator: [0; 16],
        encrypted_temp_key: [0; 32],
    };
    repr.emit(&mut HandshakePacket::new_unchecked(&mut pkt[..]));
    let a_priv = private_key(21);
    let secret = handshake_secret(&a_priv.0, &key(&b).0, None).unwrap();
    seal_in_place(&secret, &[9; 24], &mut pkt[72..]).unwrap();
    let mut buf = pkt.clone();
    assert_eq!(
        Session::accept(&b.ca, &mut buf, false, 0).err(),
        Some(CryptoError::ZeroTempKey)
    );
}

#[test]
fn caller_errors() {
    let (mut a, b) = (node(23), node(24));
    let mut sa = Session::new(key(&b), false, 0).unwrap();
    let mut buf = [0u8; 130];
    assert_eq!(
        sa.encrypt(&a.ca, &mut buf, 120..120, 0, &mut a.rng),
        Err(CryptoError::EmptyPayload)
    );
    assert_eq!(
        sa.encrypt(&a.ca, &mut buf, 100..130, 0, &mut a.rng),
        Err(CryptoError::NoHeadroom {
            needed: 120,
            got: 100
        })
    );
    assert_eq!(
        sa.encrypt(&a.ca, &mut buf, 120..131, 0, &mut a.rng),
        Err(CryptoError::BadRange)
    );
    assert_eq!(
        Session::new(PublicKey([0; 32]), false, 0).err(),
        Some(CryptoError::ZeroPublicKey)
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any delivery order with duplicates: each packet is accepted at most once, always
    /// with its own plaintext, and everything inside the window is accepted.
    #[test]
    fn any_order_accepts_each_packet_at_most_once(
        order in proptest::collection::vec(0usize..40, 0..120)
    ) {
        let (mut a, mut b) = (node(25), node(26));
        let (mut sa, mut sb) = established(&mut a, &mut b, 0);
        let pkts: Vec<Vec<u8>> = (0..40u32)
            .map(|i| send(&mut a, &mut sa, &i.to_be_bytes(), 0))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for i in order {
            match recv(&b, &mut sb, &pkts[i], 0) {
                Ok((plain, Event::Data)) => {
                    proptest::prop_assert_eq!(plain, (i as u32).to_be_bytes().to_vec());
                    proptest::prop_assert!(seen.insert(i), "packet {} accepted twice", i);
                }
                Err(CryptoError::Replay(ReplayRejection::Duplicate)) => {
                    proptest::prop_assert!(seen.contains(&i));
                }
                other => proptest::prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
