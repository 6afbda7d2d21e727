//! A full `Node` step for one data packet on an established end-to-end session between two
//! nodes peered over a UDP-like link in memory: the sender's `handle_ipv6` (session seal,
//! switch, peer seal, one outer frame) and the receiver's `handle_frame` (peer open, switch,
//! session open, `deliver_ipv6`). Buffers are preallocated; the nodes never allocate.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol_core::identity::{generate_keypair, PublicKey};
use protocol_core::node::{
    Event, Io, LinkAddr, LinkId, LinkKind, Node, PeerConfig, IPV6_HEADROOM, NODE_HEADROOM,
};
use protocol_core::peering::PeerState;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

type BenchNode = Node<8, 16, 128>;

/// Size of the IPv6 packet read from TUN.
const PACKET: usize = 1280;
/// Room for one outer frame (the packet plus session and link overhead).
const FRAME_MAX: usize = 2048;

/// Set-up I/O: keeps every frame for the in-memory wire.
#[derive(Default)]
struct QueueIo {
    sent: Vec<(LinkId, LinkAddr, Vec<u8>)>,
    ipv6: usize,
}

impl Io for QueueIo {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        self.sent.push((link, *to, frame.to_vec()));
    }
    fn deliver_ipv6(&mut self, _packet: &[u8]) {
        self.ipv6 += 1;
    }
    fn event(&mut self, _event: Event) {}
}

/// Measured I/O: copies the frame out as `sendto` would, into a preallocated buffer.
struct FrameIo {
    frame: [u8; FRAME_MAX],
    len: usize,
    frames: usize,
    delivered: usize,
    delivered_len: usize,
}

impl FrameIo {
    fn new() -> FrameIo {
        FrameIo {
            frame: [0; FRAME_MAX],
            len: 0,
            frames: 0,
            delivered: 0,
            delivered_len: 0,
        }
    }
}

impl Io for FrameIo {
    fn transmit(&mut self, _link: LinkId, _to: &LinkAddr, frame: &[u8]) {
        self.frames += 1;
        self.len = frame.len().min(FRAME_MAX);
        self.frame[..self.len].copy_from_slice(&frame[..self.len]);
    }
    fn deliver_ipv6(&mut self, packet: &[u8]) {
        self.delivered += 1;
        self.delivered_len = packet.len();
        black_box(packet);
    }
    fn event(&mut self, _event: Event) {}
}

struct Side {
    node: BenchNode,
    key: PublicKey,
    rng: ChaCha20Rng,
    link: LinkId,
    addr: LinkAddr,
    io: QueueIo,
}

/// Two nodes, A connected to B with a password over one UDP-like link.
struct Pair {
    a: Side,
    b: Side,
    now: u64,
}

fn side(seed: u64, port: u16, last: u8) -> Side {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (private, key, _) = generate_keypair(&mut rng);
    let mut node = BenchNode::new(private, &mut rng);
    let link = node.add_link(LinkKind::Udp).unwrap();
    node.set_comm_port(link, port).unwrap();
    Side {
        node,
        key,
        rng,
        link,
        addr: LinkAddr::Udp4 {
            ip: [10, 0, 0, last],
            port,
        },
        io: QueueIo::default(),
    }
}

impl Pair {
    fn new() -> Pair {
        let mut p = Pair {
            a: side(1, 11000, 1),
            b: side(2, 11001, 2),
            now: 1_000,
        };
        p.b.node.add_password(b"bench", Some(b"a")).unwrap();
        let config = PeerConfig {
            public_key: p.b.key,
            password: b"bench",
            login: Some(b"a"),
            name: "b",
            version: 0,
        };
        p.a.node
            .connect(p.a.link, p.b.addr, config, &mut p.a.io)
            .unwrap();
        p
    }

    /// Carry frames between the two until neither has anything to send (bounded).
    fn carry(&mut self) {
        for _ in 0..10_000 {
            let from_a = std::mem::take(&mut self.a.io.sent);
            let from_b = std::mem::take(&mut self.b.io.sent);
            if from_a.is_empty() && from_b.is_empty() {
                return;
            }
            let (addr_a, addr_b) = (self.a.addr, self.b.addr);
            for (src, dst, frames) in [(addr_a, &mut self.b, from_a), (addr_b, &mut self.a, from_b)]
            {
                for (_, to, frame) in frames {
                    let broadcast = to == LinkAddr::Broadcast;
                    let from = if broadcast { src.with_port(64512) } else { src };
                    if !broadcast && to != dst.addr {
                        continue;
                    }
                    let mut buf = vec![0u8; NODE_HEADROOM + frame.len()];
                    buf[NODE_HEADROOM..].copy_from_slice(&frame);
                    dst.node.handle_frame(
                        dst.link,
                        &from,
                        broadcast,
                        &mut buf,
                        NODE_HEADROOM,
                        frame.len(),
                        self.now,
                        &mut dst.rng,
                        &mut dst.io,
                    );
                }
            }
        }
        panic!("the link never went quiet");
    }

    fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            for s in [&mut self.a, &mut self.b] {
                if s.node.poll_at() <= self.now {
                    s.node.poll(self.now, &mut s.rng, &mut s.io);
                }
            }
            self.carry();
            self.now += 8;
        }
    }

    fn send(from: &mut Side, packet: &[u8], now: u64) {
        let mut buf = vec![0u8; IPV6_HEADROOM + packet.len()];
        buf[IPV6_HEADROOM..].copy_from_slice(packet);
        from.node.handle_ipv6(
            &mut buf,
            IPV6_HEADROOM,
            packet.len(),
            now,
            &mut from.rng,
            &mut from.io,
        );
    }
}

/// A 1,280-byte IPv6 UDP packet from `src` to `dst`.
fn ipv6_packet(src: &PublicKey, dst: &PublicKey) -> Vec<u8> {
    let mut p = vec![0u8; PACKET];
    p[0] = 0x60;
    p[4..6].copy_from_slice(&((PACKET - 40) as u16).to_be_bytes());
    p[6] = 17;
    p[7] = 64;
    p[8..24].copy_from_slice(&src.address().unwrap().0);
    p[24..40].copy_from_slice(&dst.address().unwrap().0);
    p[40..42].copy_from_slice(&4000u16.to_be_bytes());
    p[42..44].copy_from_slice(&4001u16.to_be_bytes());
    p[44..46].copy_from_slice(&((PACKET - 40) as u16).to_be_bytes());
    for (i, b) in p[48..].iter_mut().enumerate() {
        *b = i as u8;
    }
    p
}

/// Peer A and B, then set up the end-to-end session both ways with real traffic until a
/// packet from A leaves as exactly one outer frame that B opens and delivers.
fn established() -> (Pair, Vec<u8>) {
    let mut p = Pair::new();
    p.run(3_000);
    let state = |s: &Side, k: &PublicKey| {
        s.node
            .stats()
            .peers
            .iter()
            .flatten()
            .find(|x| x.key == *k)
            .map(|x| x.state)
    };
    assert_eq!(state(&p.a, &p.b.key), Some(PeerState::Established));
    assert_eq!(state(&p.b, &p.a.key), Some(PeerState::Established));
    let to_b = ipv6_packet(&p.a.key, &p.b.key);
    let to_a = ipv6_packet(&p.b.key, &p.a.key);
    for _ in 0..3 {
        let now = p.now;
        Pair::send(&mut p.a, &to_b, now);
        p.run(1_000);
        Pair::send(&mut p.b, &to_a, now);
        p.run(1_000);
    }
    assert!(
        p.b.io.ipv6 >= 1 && p.a.io.ipv6 >= 1,
        "session never came up"
    );
    (p, to_b)
}

/// One `handle_ipv6` at A into `io`, from a buffer refilled with the packet each time (the
/// node seals in place, as a TUN read would refill it).
fn sender_step(p: &mut Pair, buf: &mut [u8], packet: &[u8], io: &mut FrameIo) {
    buf[IPV6_HEADROOM..].copy_from_slice(packet);
    p.a.node
        .handle_ipv6(buf, IPV6_HEADROOM, packet.len(), p.now, &mut p.a.rng, io);
}

/// One `handle_frame` at B of the frame in `frame[NODE_HEADROOM..][..len]`.
fn receiver_step(p: &mut Pair, frame: &mut [u8], len: usize, io: &mut FrameIo) {
    p.b.node.handle_frame(
        p.b.link,
        &p.a.addr,
        false,
        frame,
        NODE_HEADROOM,
        len,
        p.now,
        &mut p.b.rng,
        io,
    );
}

fn bench(c: &mut Criterion) {
    let (mut p, packet) = established();
    let mut buf = vec![0u8; IPV6_HEADROOM + PACKET];
    let mut out = FrameIo::new();
    let mut inn = FrameIo::new();
    let mut frame = vec![0u8; NODE_HEADROOM + FRAME_MAX];

    // The steady state really is one frame out of A per packet, delivered whole by B,
    // with nothing sent back.
    sender_step(&mut p, &mut buf, &packet, &mut out);
    assert_eq!(out.frames, 1);
    let len = out.len;
    frame[NODE_HEADROOM..][..len].copy_from_slice(&out.frame[..len]);
    receiver_step(&mut p, &mut frame, len, &mut inn);
    assert_eq!((inn.delivered, inn.frames), (1, 0));
    assert_eq!(inn.delivered_len, PACKET);
    println!("outer frame for a {PACKET}-byte IPv6 packet: {len} bytes");

    let mut g = c.benchmark_group("node step");
    g.throughput(Throughput::Bytes(PACKET as u64));

    g.bench_function("handle_ipv6 (sender, 1280 B)", |b| {
        b.iter(|| sender_step(&mut p, &mut buf, &packet, &mut out))
    });
    assert_eq!(out.len, len);

    // Fresh frames for B each time (its replay window refuses repeats): A seals a chunk of
    // them outside the clock, then only B's handling of them is timed.
    const CHUNK: usize = 256;
    let mut frames = vec![[0u8; NODE_HEADROOM + FRAME_MAX]; CHUNK];
    let mut lens = [0usize; CHUNK];
    g.bench_function("handle_frame (receiver, 1280 B)", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let n = left.min(CHUNK);
                for (f, l) in frames.iter_mut().zip(lens.iter_mut()).take(n) {
                    sender_step(&mut p, &mut buf, &packet, &mut out);
                    *l = out.len;
                    f[NODE_HEADROOM..][..out.len].copy_from_slice(&out.frame[..out.len]);
                }
                let before = inn.delivered;
                let start = Instant::now();
                for (f, &l) in frames.iter_mut().zip(lens.iter()).take(n) {
                    receiver_step(&mut p, f, l, &mut inn);
                }
                total += start.elapsed();
                assert_eq!(inn.delivered - before, n, "B dropped a fresh frame");
                left -= n;
            }
            total
        })
    });

    g.bench_function("round trip A->B (seal + open, 1280 B)", |b| {
        b.iter(|| {
            sender_step(&mut p, &mut buf, &packet, &mut out);
            frame[NODE_HEADROOM..][..out.len].copy_from_slice(&out.frame[..out.len]);
            receiver_step(&mut p, &mut frame, out.len, &mut inn);
        })
    });
    g.finish();
    assert_eq!(inn.frames, 0, "B answered data frames");
}

criterion_group!(benches, bench);
criterion_main!(benches);
