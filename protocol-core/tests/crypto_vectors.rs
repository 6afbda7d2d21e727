//! CryptoAuth against traffic recorded from cjdns v22.3: the outer (peer-link) session of
//! `vectors/cryptoauth-outer-udp.json` and the whole `captures/udp-loopback-AB-logkeys`
//! capture. Our sessions, fed the recorded temporary keys and nonces through the RNG seam,
//! must produce the recorded packets byte for byte, and open every recorded packet.

mod common;

use common::{reference_json, unhex, unhex32};
use protocol_core::crypto::primitives::{beforenm, handshake_secret, password_secret};
use protocol_core::crypto::testing::ScriptedRng;
use protocol_core::crypto::{
    Credentials, CryptoAuth, Event, HandshakeRepr, PacketKind, Session, State, MAX_OVERHEAD,
};
use protocol_core::identity::{PrivateKey, PublicKey};
use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

struct Link {
    a: CryptoAuth<4>,
    b: CryptoAuth<4>,
    a_temp: [u8; 32],
    b_temp: [u8; 32],
    v: Value,
}

fn link() -> Link {
    let v = reference_json("vectors/cryptoauth-outer-udp.json");
    let a_priv = PrivateKey(unhex32(s(&v["nodeA"]["privateKey"])));
    let b_priv = PrivateKey(unhex32(s(&v["nodeB"]["privateKey"])));
    assert_eq!(a_priv.public_key().0, unhex32(s(&v["nodeA"]["publicKey"])));
    assert_eq!(b_priv.public_key().0, unhex32(s(&v["nodeB"]["publicKey"])));
    let mut a = CryptoAuth::new(a_priv);
    let user = &v["nodeA"]["authorizedPasswords"][0];
    a.users
        .add_user(
            s(&user["password"]).as_bytes(),
            Some(s(&user["user"]).as_bytes()),
            None,
        )
        .unwrap();
    Link {
        a,
        b: CryptoAuth::new(b_priv),
        a_temp: unhex32(s(&v["A_temp"]["private"])),
        b_temp: unhex32(s(&v["B_temp"]["private"])),
        v,
    }
}

/// The bytes the session draws for a recorded handshake packet: 36 for header bytes 4..40,
/// then the temporary private key for a Hello or Key.
fn script_for(packet: &[u8], temp_private: Option<&[u8; 32]>) -> Vec<u8> {
    let mut script = packet[4..40].to_vec();
    if let Some(t) = temp_private {
        script.extend_from_slice(t);
    }
    script
}

fn seal(
    sess: &mut Session,
    ca: &CryptoAuth<4>,
    plain: &[u8],
    script: &[u8],
    now_ms: u64,
) -> Vec<u8> {
    let mut buf = vec![0u8; MAX_OVERHEAD];
    buf.extend_from_slice(plain);
    let mut rng = ScriptedRng::new(script, 1);
    let range = sess
        .encrypt(
            ca,
            &mut buf,
            MAX_OVERHEAD..MAX_OVERHEAD + plain.len(),
            now_ms,
            &mut rng,
        )
        .expect("encrypt");
    assert_eq!(
        rng.consumed(),
        script.len(),
        "session drew a different amount of randomness"
    );
    buf[range].to_vec()
}

fn open(sess: &mut Session, ca: &CryptoAuth<4>, packet: &[u8], now_ms: u64) -> (Vec<u8>, Event) {
    let mut buf = packet.to_vec();
    let opened = sess.decrypt(ca, &mut buf, now_ms).expect("decrypt");
    (buf[opened.plaintext].to_vec(), opened.event)
}

#[test]
fn derived_secrets_match_vectors() {
    let l = link();
    let v = &l.v;
    let pw = password_secret(b"passA2B");
    assert_eq!(pw, unhex32(s(&v["password_hash_sha256"])));
    let a_pub = l.a.public_key().0;
    let b_pub = l.b.public_key().0;
    let hello = unhex32(s(&v["hello_secret = sha256(scalarmult(privA,pubB) || sha256(pw)) [= sha256(scalarmult(privB,pubA)||sha256(pw))]"]));
    let a_priv = unhex32(s(&v["nodeA"]["privateKey"]));
    let b_priv = unhex32(s(&v["nodeB"]["privateKey"]));
    assert_eq!(handshake_secret(&a_priv, &b_pub, Some(&pw)).unwrap(), hello);
    assert_eq!(handshake_secret(&b_priv, &a_pub, Some(&pw)).unwrap(), hello);
    let key_secret = unhex32(s(&v["key_secret = crypto_box_beforenm(B_temp_pub, A_perm_priv) (no password: responder session has none)"]));
    let b_temp_pub = unhex32(s(&v["B_temp"]["public"]));
    let a_temp_pub = unhex32(s(&v["A_temp"]["public"]));
    assert_eq!(beforenm(&a_priv, &b_temp_pub).unwrap(), key_secret);
    assert_eq!(beforenm(&l.b_temp, &a_pub).unwrap(), key_secret);
    let data = unhex32(s(
        &v["data_secret = crypto_box_beforenm(A_temp_pub, B_temp_priv)"]
    ));
    assert_eq!(beforenm(&l.b_temp, &a_temp_pub).unwrap(), data);
    assert_eq!(beforenm(&l.a_temp, &b_temp_pub).unwrap(), data);
}

#[test]
fn outer_vectors_same_bytes_both_directions() {
    let l = link();
    let v = &l.v;
    let now = 1_000_000;
    let mut b = Session::new(*l.a.public_key(), false, now).unwrap();
    b.set_auth(Some(Credentials::new(b"passA2B", Some(b"nodeB"))));

    // Hello B -> A.
    let hello = unhex(s(&v["hello_packet"]["outer_hex"]));
    let hello_plain = unhex(s(&v["hello_packet"]["outer_plain_hex"]));
    let ours = seal(
        &mut b,
        &l.b,
        &hello_plain,
        &script_for(&hello, Some(&l.b_temp)),
        now,
    );
    assert_eq!(hex::encode(&ours), hex::encode(&hello), "Hello bytes");
    assert_eq!(b.state(), State::SentHello);
    let mut buf = hello.clone();
    let (mut a, opened) = Session::accept(&l.a, &mut buf, true, now).expect("A accepts Hello");
    assert_eq!(&buf[opened.plaintext], &hello_plain[..]);
    assert_eq!(opened.event, Event::Hello);
    assert_eq!(a.state(), State::ReceivedHello);
    let user = a.authenticated_user().expect("user reported");
    assert_eq!(l.a.users.login(user), Some(&b"nodeB"[..]));

    // Key A -> B.
    let key = unhex(s(&v["key_packet"]["outer_hex"]));
    let key_plain = unhex(s(&v["key_packet"]["outer_plain_hex"]));
    let ours = seal(
        &mut a,
        &l.a,
        &key_plain,
        &script_for(&key, Some(&l.a_temp)),
        now,
    );
    assert_eq!(hex::encode(&ours), hex::encode(&key), "Key bytes");
    assert_eq!(a.state(), State::SentKey);
    let (plain, ev) = open(&mut b, &l.b, &key, now);
    assert_eq!((plain, ev), (key_plain, Event::Key));
    assert_eq!(b.state(), State::ReceivedKey);
    let hdr = HandshakeRepr::parse_bytes(&key).unwrap();
    assert_eq!(PacketKind::from_word(hdr.state), PacketKind::Key);

    // First data packets B -> A (counters 4, 5).
    for (i, d) in v["first_data_packets"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let packet = unhex(s(&d["outer_hex"]));
        let plain = unhex(s(&d["outer_plain_hex"]));
        let ours = seal(&mut b, &l.b, &plain, &[], now);
        assert_eq!(hex::encode(&ours), hex::encode(&packet), "data packet {i}");
        let (got, ev) = open(&mut a, &l.a, &packet, now);
        assert_eq!(got, plain);
        assert_eq!(
            ev,
            if i == 0 {
                Event::Established
            } else {
                Event::Data
            }
        );
    }
    assert_eq!(a.state(), State::Established);
    assert_eq!(a.next_nonce(), 6, "responder's first counter is 3 + 3");
}

/// Every packet of the capture, in capture order: the sender's session re-creates it byte
/// for byte and the receiver's session opens it to the recorded plaintext.
#[test]
fn logkeys_capture_outer_replayed_exactly() {
    let l = link();
    let cap = reference_json("captures/udp-loopback-AB-logkeys.decoded.json");
    let packets = cap.as_array().expect("capture is a list");
    assert!(packets.len() > 40);
    let mut a: Option<Session> = None;
    let mut b = Session::new(*l.a.public_key(), false, 0).unwrap();
    b.set_auth(Some(Credentials::new(b"passA2B", Some(b"nodeB"))));
    let mut checked = 0;
    for p in packets {
        let n = &p["n"];
        let now = (p["t"].as_f64().unwrap() * 1000.0) as u64;
        let packet = unhex(s(&p["outer_hex"]));
        let plain = unhex(s(&p["outer_plain_hex"]));
        let from_b = p["src"].as_u64() == Some(11002);
        let kind = PacketKind::of_packet(&packet).unwrap();
        let temp = match (kind, from_b) {
            (PacketKind::Hello | PacketKind::Key, true) => Some(l.b_temp),
            (PacketKind::Hello | PacketKind::Key, false) => Some(l.a_temp),
            _ => None,
        };
        let script = if kind.is_handshake() {
            script_for(&packet, temp.as_ref())
        } else {
            Vec::new()
        };
        if from_b {
            let ours = seal(&mut b, &l.b, &plain, &script, now);
            assert_eq!(
                hex::encode(&ours),
                hex::encode(&packet),
                "packet {n} from B"
            );
            let a = a.get_or_insert_with(|| {
                let mut buf = packet.clone();
                Session::accept(&l.a, &mut buf, true, now)
                    .expect("accept")
                    .0
            });
            if kind != PacketKind::Hello {
                let (got, _) = open(a, &l.a, &packet, now);
                assert_eq!(got, plain, "packet {n} opened by A");
            }
        } else {
            let a = a.as_mut().expect("A speaks after B's Hello");
            let ours = seal(a, &l.a, &plain, &script, now);
            assert_eq!(
                hex::encode(&ours),
                hex::encode(&packet),
                "packet {n} from A"
            );
            let (got, _) = open(&mut b, &l.b, &packet, now);
            assert_eq!(got, plain, "packet {n} opened by B");
        }
        checked += 1;
    }
    assert_eq!(checked, packets.len());
    assert_eq!(b.state(), State::Established);
    assert_eq!(a.unwrap().state(), State::Established);
    assert_eq!(b.stats().duplicate_packets, 0);
}

#[test]
fn recorded_hello_rejected_without_password_or_with_wrong_key() {
    let l = link();
    let hello = unhex(s(&l.v["hello_packet"]["outer_hex"]));
    let bare: CryptoAuth<4> = CryptoAuth::new(PrivateKey(unhex32(s(&l.v["nodeA"]["privateKey"]))));
    let mut buf = hello.clone();
    assert_eq!(
        Session::accept(&bare, &mut buf, true, 0).err(),
        Some(protocol_core::crypto::CryptoError::AuthRequired)
    );
    let mut buf = hello.clone();
    assert_eq!(
        Session::accept(&bare, &mut buf, false, 0).err(),
        Some(protocol_core::crypto::CryptoError::UnrecognizedAuth)
    );
    let mut other =
        Session::new(PublicKey(unhex32(s(&l.v["nodeA"]["publicKey"]))), false, 0).unwrap();
    let mut buf = hello.clone();
    assert_eq!(
        other.decrypt(&l.a, &mut buf, 0).err(),
        Some(protocol_core::crypto::CryptoError::WrongPermanentKey)
    );
    // A flipped bit anywhere in the encrypted part is a failed handshake.
    let mut buf = hello.clone();
    buf[130] ^= 0x40;
    assert_eq!(
        Session::accept(&l.a, &mut buf, true, 0).err(),
        Some(protocol_core::crypto::CryptoError::HandshakeDecryptFailed)
    );
}
