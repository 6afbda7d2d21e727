//! CryptoAuth cost: an established session's seal+open against the bare XSalsa20-Poly1305
//! underneath it, and a complete handshake (Hello, Key, first data both ways).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crypto_secretbox::aead::generic_array::GenericArray;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use protocol_core::crypto::{CryptoAuth, Session, MAX_OVERHEAD};
use protocol_core::identity::PrivateKey;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

// Two keypairs from vectors/keys.json (valid fc addresses).
const A: [u8; 32] = [
    0x88, 0x9e, 0xa1, 0xf2, 0x8b, 0x69, 0x39, 0x6d, 0xab, 0x10, 0x17, 0x2b, 0xe2, 0xf6, 0x69, 0x5a,
    0xd6, 0x33, 0x65, 0x97, 0x72, 0x5e, 0x13, 0xaf, 0xba, 0xd6, 0xe3, 0x5e, 0xaf, 0x9d, 0x5a, 0x6f,
];
const B: [u8; 32] = [
    0xf2, 0x3d, 0xcc, 0xdd, 0x54, 0x02, 0x24, 0x61, 0xff, 0x8d, 0x81, 0x13, 0x6e, 0xea, 0xcd, 0xcb,
    0x75, 0xb7, 0xdb, 0xbe, 0xee, 0x36, 0xd3, 0x64, 0x5a, 0x7b, 0xd0, 0xe4, 0xd1, 0x86, 0xf0, 0x96,
];

struct Pair {
    ca_a: CryptoAuth<1>,
    ca_b: CryptoAuth<1>,
    a: Session,
    b: Session,
    rng: ChaCha20Rng,
}

fn exchange(
    ca: &CryptoAuth<1>,
    from: &mut Session,
    to: &mut Session,
    ca_to: &CryptoAuth<1>,
    rng: &mut ChaCha20Rng,
) {
    let mut buf = [0u8; MAX_OVERHEAD + 64];
    let r = from
        .encrypt(ca, &mut buf, MAX_OVERHEAD..MAX_OVERHEAD + 64, 0, rng)
        .unwrap();
    to.decrypt(ca_to, &mut buf[r], 0).unwrap();
}

fn handshake(
    ca_a: &CryptoAuth<1>,
    ca_b: &CryptoAuth<1>,
    rng: &mut ChaCha20Rng,
) -> (Session, Session) {
    let mut a = Session::new(*ca_b.public_key(), false, 0).unwrap();
    let mut b = Session::new(*ca_a.public_key(), false, 0).unwrap();
    exchange(ca_a, &mut a, &mut b, ca_b, rng); // Hello
    exchange(ca_b, &mut b, &mut a, ca_a, rng); // Key
    exchange(ca_a, &mut a, &mut b, ca_b, rng); // first data A -> B
    exchange(ca_b, &mut b, &mut a, ca_a, rng); // first data B -> A
    (a, b)
}

fn pair() -> Pair {
    let ca_a = CryptoAuth::new(PrivateKey(A));
    let ca_b = CryptoAuth::new(PrivateKey(B));
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let (a, b) = handshake(&ca_a, &ca_b, &mut rng);
    Pair {
        ca_a,
        ca_b,
        a,
        b,
        rng,
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("seal+open");
    for size in [64usize, 576, 1400] {
        g.throughput(Throughput::Bytes(size as u64));
        let mut p = pair();
        let mut buf = vec![0x5au8; MAX_OVERHEAD + size];
        g.bench_with_input(
            BenchmarkId::new("cryptoauth", size),
            &size,
            |bench, &size| {
                bench.iter(|| {
                    let r =
                        p.a.encrypt(
                            &p.ca_a,
                            &mut buf,
                            MAX_OVERHEAD..MAX_OVERHEAD + size,
                            0,
                            &mut p.rng,
                        )
                        .unwrap();
                    let o = p.b.decrypt(&p.ca_b, &mut buf[r], 0).unwrap();
                    black_box(o);
                })
            },
        );
        let cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&[7u8; 32]));
        let nonce = GenericArray::from_slice(&[0u8; 24]);
        let mut body = vec![0x5au8; size];
        g.bench_with_input(
            BenchmarkId::new("raw_xsalsa20poly1305", size),
            &size,
            |bench, _| {
                bench.iter(|| {
                    let tag = cipher
                        .encrypt_in_place_detached(nonce, b"", &mut body)
                        .unwrap();
                    cipher
                        .decrypt_in_place_detached(nonce, b"", &mut body, &tag)
                        .unwrap();
                    black_box(&body);
                })
            },
        );
    }
    g.finish();

    let ca_a = CryptoAuth::new(PrivateKey(A));
    let ca_b = CryptoAuth::new(PrivateKey(B));
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    c.bench_function("full handshake (Hello, Key, data both ways)", |bench| {
        bench.iter(|| black_box(handshake(&ca_a, &ca_b, &mut rng)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
