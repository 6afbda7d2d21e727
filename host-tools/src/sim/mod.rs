//! A deterministic discrete-event simulator of many `protocol_core::node::Node`s.
//!
//! Every node is the real sans-IO node; only the world around it is simulated: a virtual
//! millisecond clock, one event queue ordered by (time, sequence number), UDP-like point to
//! point links with latency and loss, Ethernet-like broadcast segments, and one seeded
//! ChaCha RNG per node plus one for the network. Same seed, same events, same bytes: the
//! [`Sim::trace_hash`] of two runs with one seed is equal.
//!
//! The driver side of the node contract lives here: each node's [`Io`] queues what it
//! transmits as future deliveries, records the IPv6 packets it delivers, and turns its events
//! into counters (peers up, routes found, sessions) that the measurements use.

pub mod cli;
mod icmp;
pub mod scenario;
mod topology;

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use protocol_core::identity::{generate_keypair, Ip6, PrivateKey, PublicKey};
use protocol_core::node::{
    BeaconMode, Event, Io, LinkAddr, LinkId, LinkKind, Node, PeerConfig, IPV6_HEADROOM,
    NODE_HEADROOM,
};
use protocol_core::router::RouterEvent;
use protocol_core::session::SessionEvent;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

pub use icmp::{echo_packet, parse_echo, Echo, ECHO_REPLY, ECHO_REQUEST};
pub use scenario::{Report, Scenario};
pub use topology::{grid_width, Topology};

/// Default capacities: 8 peers, 16 sessions, 128 node-store entries (the firmware's).
pub const PEERS: usize = 8;
pub const SESSIONS: usize = 16;
pub const NODE_STORE: usize = 128;

/// UDP port every simulated node listens on.
pub const SIM_PORT: u16 = 11000;
/// Marks the payload of the simulator's echo requests.
const PING_MAGIC: &[u8; 8] = b"fc00-sim";

/// One link's behaviour, the same in both directions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkParams {
    pub latency_ms: u64,
    /// Probability in [0, 1] that a frame is lost.
    pub loss: f64,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            latency_ms: 5,
            loss: 0.0,
        }
    }
}

/// What happened in the whole network so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimCounters {
    pub events: u64,
    pub polls: u64,
    pub frames_sent: u64,
    pub frames_delivered: u64,
    pub bytes_delivered: u64,
    pub frames_lost: u64,
    /// Sent to an address nobody on the link has (or a UDP broadcast: no UDP beacons here).
    pub frames_unroutable: u64,
    pub ipv6_delivered: u64,
    /// Echo packets whose ICMPv6 checksum no longer matched on arrival.
    pub ipv6_corrupt: u64,
    pub peer_up: u64,
    pub peer_down: u64,
    pub routes_found: u64,
    pub searches_started: u64,
    pub searches_failed: u64,
    pub sessions_started: u64,
    pub sessions_ended: u64,
    pub sessions_evicted: u64,
    pub session_drops: u64,
    pub switch_errors: u64,
    pub restarts: u64,
}

/// An end-to-end echo the simulator sends as a user's `ping` would: retried while no reply
/// has come back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ping {
    pub src: usize,
    pub dst: usize,
    /// When the first attempt was due.
    pub first_at: u64,
    pub attempts: u32,
    pub max_attempts: u32,
    pub retry_after_ms: u64,
    /// When the first request reached `dst`.
    pub delivered_at: Option<u64>,
    /// When the first reply reached `src`.
    pub replied_at: Option<u64>,
    /// Still waiting for a reply (false once answered or given up).
    pub open: bool,
}

/// A node's port on an Ethernet-like segment.
#[derive(Clone, Copy, Debug)]
struct EthPort {
    segment: usize,
    link: LinkId,
    addr: LinkAddr,
    beacon: BeaconMode,
}

/// The driver's half for one node: everything the node hands out, until the simulator
/// collects it right after the call.
#[derive(Default)]
struct HostIo {
    out: Vec<(LinkId, LinkAddr, Vec<u8>)>,
    ipv6: Vec<Vec<u8>>,
    events: Vec<Event>,
}

impl Io for HostIo {
    fn transmit(&mut self, link: LinkId, to: &LinkAddr, frame: &[u8]) {
        self.out.push((link, *to, frame.to_vec()));
    }

    fn deliver_ipv6(&mut self, packet: &[u8]) {
        self.ipv6.push(packet.to_vec());
    }

    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
}

struct Host<const P: usize, const S: usize, const N: usize> {
    node: Box<Node<P, S, N>>,
    rng: ChaCha20Rng,
    io: HostIo,
    private: PrivateKey,
    key: PublicKey,
    ip6: Ip6,
    udp: LinkId,
    udp_addr: LinkAddr,
    eth: Option<EthPort>,
    /// The password this node accepts (added once, when someone first connects to it).
    password: Option<Vec<u8>>,
    /// Nodes this one `connect`s to (re-issued after a restart).
    outgoing: Vec<usize>,
    /// Neighbours it should end up peered with.
    expected: Vec<PublicKey>,
    /// Peers currently up (PeerUp without a later PeerDown).
    up: Vec<PublicKey>,
    /// The wake-up that is queued, if any (older queued ones are stale).
    poll_at: Option<u64>,
    restarts: u64,
    /// IPv6 packets the node delivered to its TUN: (time, packet).
    received: Vec<(u64, Vec<u8>)>,
}

impl<const P: usize, const S: usize, const N: usize> Host<P, S, N> {
    fn converged(&self) -> bool {
        self.expected.iter().all(|k| self.up.contains(k))
    }
}

struct Segment {
    members: Vec<usize>,
    params: LinkParams,
}

enum Ev {
    /// A frame arrives; `buf` has [`NODE_HEADROOM`] bytes in front of it.
    Frame {
        to: usize,
        link: LinkId,
        from: LinkAddr,
        broadcast: bool,
        buf: Vec<u8>,
    },
    Poll(usize),
    /// A packet from `node`'s TUN.
    Ipv6 {
        node: usize,
        packet: Vec<u8>,
    },
    /// The next attempt of a ping, if it still has no reply.
    PingAttempt(usize),
}

struct Queued {
    at: u64,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Reversed, so that the max-heap pops the earliest (then first queued) event.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// FNV-1a over everything that happens: a cheap fingerprint of a run.
#[derive(Clone, Copy, Debug)]
struct Trace(u64);

impl Trace {
    fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// The simulated network. Capacities of every node are the const parameters.
pub struct Sim<const P: usize = PEERS, const S: usize = SESSIONS, const N: usize = NODE_STORE> {
    seed: u64,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Queued>,
    hosts: Vec<Host<P, S, N>>,
    net_rng: ChaCha20Rng,
    udp_index: HashMap<LinkAddr, usize>,
    edges: HashMap<(usize, usize), LinkParams>,
    segments: Vec<Segment>,
    pings: Vec<Ping>,
    pings_open: usize,
    converged_hosts: usize,
    first_converged_at: Option<u64>,
    counters: SimCounters,
    /// Why the session layers dropped packets, by reason.
    drop_reasons: std::collections::BTreeMap<String, u64>,
    trace: Trace,
    /// Every node event with its time and node, when [`Sim::record_events`] is on.
    event_log: Vec<(u64, usize, Event)>,
    record_events: bool,
    frame_log: Vec<FrameRecord>,
    record_frames: bool,
    /// Stop processing after this many events (a storm must not hang a test).
    event_budget: u64,
}

/// One frame put on a link, as [`Sim::frame_log`] keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    pub at: u64,
    pub from: usize,
    /// `None` for a broadcast.
    pub to: Option<usize>,
    pub lost: bool,
    pub frame: Vec<u8>,
}

impl<const P: usize, const S: usize, const N: usize> Sim<P, S, N> {
    pub fn new(seed: u64) -> Self {
        let mut net_rng = ChaCha20Rng::seed_from_u64(seed);
        net_rng.set_stream(0);
        Sim {
            seed,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            hosts: Vec::new(),
            net_rng,
            udp_index: HashMap::new(),
            edges: HashMap::new(),
            segments: Vec::new(),
            pings: Vec::new(),
            pings_open: 0,
            converged_hosts: 0,
            first_converged_at: None,
            counters: SimCounters::default(),
            drop_reasons: Default::default(),
            trace: Trace(0xcbf2_9ce4_8422_2325),
            event_log: Vec::new(),
            record_events: false,
            frame_log: Vec::new(),
            record_frames: false,
            event_budget: u64::MAX,
        }
    }

    /// Bytes of one node's state (`size_of::<Node<P, S, N>>()`), all of it static.
    pub fn node_bytes() -> usize {
        core::mem::size_of::<Node<P, S, N>>()
    }

    /// The simulator's own bookkeeping per node besides the boxed `Node` (RNG, addresses,
    /// wake-up, vectors' headers; their contents grow with traffic).
    pub fn host_overhead_bytes() -> usize {
        core::mem::size_of::<Host<P, S, N>>()
    }

    /// Keep every node event in [`Sim::event_log`] (off by default: big runs make millions).
    pub fn record_events(&mut self, on: bool) {
        self.record_events = on;
    }

    pub fn event_log(&self) -> &[(u64, usize, Event)] {
        &self.event_log
    }

    /// Process at most `events` events in total; afterwards the clock still advances but
    /// nothing happens (see [`Sim::budget_exhausted`]).
    pub fn set_event_budget(&mut self, events: u64) {
        self.event_budget = events;
    }

    /// The event budget ran out: the run was cut short.
    pub fn budget_exhausted(&self) -> bool {
        self.counters.events >= self.event_budget
    }

    /// Keep every frame sent in [`Sim::frame_log`] (off by default).
    pub fn record_frames(&mut self, on: bool) {
        self.record_frames = on;
    }

    pub fn frame_log(&self) -> &[FrameRecord] {
        &self.frame_log
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Packets the session layers dropped, counted by reason.
    pub fn drop_reasons(&self) -> &std::collections::BTreeMap<String, u64> {
        &self.drop_reasons
    }

    pub fn counters(&self) -> &SimCounters {
        &self.counters
    }

    /// Fingerprint of every event, frame and packet so far.
    pub fn trace_hash(&self) -> u64 {
        self.trace.0
    }

    pub fn node(&self, i: usize) -> &Node<P, S, N> {
        &self.hosts[i].node
    }

    pub fn public_key(&self, i: usize) -> PublicKey {
        self.hosts[i].key
    }

    pub fn ip6(&self, i: usize) -> Ip6 {
        self.hosts[i].ip6
    }

    /// The node's UDP address (`10.x.y.z:11000`).
    pub fn udp_addr(&self, i: usize) -> LinkAddr {
        self.hosts[i].udp_addr
    }

    /// IPv6 packets node `i` delivered to its TUN, with their arrival times.
    pub fn received(&self, i: usize) -> &[(u64, Vec<u8>)] {
        &self.hosts[i].received
    }

    /// Peers of node `i` that are up now.
    pub fn peers_up(&self, i: usize) -> &[PublicKey] {
        &self.hosts[i].up
    }

    /// Peers of node `i` its links and configuration should bring up.
    pub fn peers_expected(&self, i: usize) -> &[PublicKey] {
        &self.hosts[i].expected
    }

    /// Every node has every expected peer up right now.
    pub fn is_converged(&self) -> bool {
        self.converged_hosts == self.hosts.len()
    }

    /// When every node first had all its expected peers up.
    pub fn first_converged_at(&self) -> Option<u64> {
        self.first_converged_at
    }

    pub fn pings(&self) -> &[Ping] {
        &self.pings
    }

    /// Pings that have no reply yet and attempts left (or an attempt in flight).
    pub fn pings_open(&self) -> usize {
        self.pings_open
    }

    /// The per-node RNG stream: node `i`, restart `r`.
    fn node_rng(&self, i: usize, restart: u64) -> ChaCha20Rng {
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed);
        rng.set_stream((restart << 40) | (i as u64 + 1));
        rng
    }

    /// A new node with a fresh key from its own RNG stream and one UDP link.
    pub fn add_node(&mut self) -> usize {
        let i = self.hosts.len();
        let mut rng = self.node_rng(i, 0);
        let (private, key, ip6) = generate_keypair(&mut rng);
        let mut node = Box::new(Node::new(private.clone(), &mut rng));
        let udp = node
            .add_link(LinkKind::Udp)
            .expect("a fresh node has free link slots");
        node.set_comm_port(udp, SIM_PORT)
            .expect("the link was just added");
        let n = i as u32 + 1;
        let udp_addr = LinkAddr::Udp4 {
            ip: [10, (n >> 16) as u8, (n >> 8) as u8, n as u8],
            port: SIM_PORT,
        };
        self.udp_index.insert(udp_addr, i);
        self.hosts.push(Host {
            node,
            rng,
            io: HostIo::default(),
            private,
            key,
            ip6,
            udp,
            udp_addr,
            eth: None,
            password: None,
            outgoing: Vec::new(),
            expected: Vec::new(),
            up: Vec::new(),
            poll_at: None,
            restarts: 0,
            received: Vec::new(),
        });
        // A node with no expected peers is converged.
        self.converged_hosts += 1;
        self.reschedule(i);
        i
    }

    /// Run `change` on host `i`, keeping the count of converged hosts right.
    fn update_host(&mut self, i: usize, change: impl FnOnce(&mut Host<P, S, N>)) {
        let was = self.hosts[i].converged();
        change(&mut self.hosts[i]);
        let is = self.hosts[i].converged();
        match (was, is) {
            (true, false) => self.converged_hosts -= 1,
            (false, true) => self.converged_hosts += 1,
            _ => {}
        }
        if self.is_converged() && self.first_converged_at.is_none() && !self.hosts.is_empty() {
            self.first_converged_at = Some(self.now);
        }
    }

    fn password_of(&mut self, b: usize) -> Vec<u8> {
        if let Some(p) = &self.hosts[b].password {
            return p.clone();
        }
        let p = format!("sim-password-{b}").into_bytes();
        self.hosts[b]
            .node
            .add_password(&p, Some(b"sim"))
            .expect("one password per node fits");
        self.hosts[b].password = Some(p.clone());
        p
    }

    fn issue_connect(&mut self, a: usize, b: usize) {
        let password = self.hosts[b].password.clone().unwrap_or_default();
        let addr = self.hosts[b].udp_addr;
        let key = self.hosts[b].key;
        let h = &mut self.hosts[a];
        h.node
            .connect(
                h.udp,
                addr,
                PeerConfig {
                    public_key: key,
                    password: &password,
                    login: Some(b"sim"),
                    name: "sim",
                    version: 0,
                },
                &mut h.io,
            )
            .expect("peer table has room for the configured peers");
        self.after(a);
    }

    /// A UDP-like link between `a` and `b`: `a` connects to `b` (`connectTo`), `b` accepts
    /// with the password it hands out.
    pub fn link_udp(&mut self, a: usize, b: usize, params: LinkParams) {
        assert_ne!(a, b, "a node does not peer with itself");
        self.edges.insert((a.min(b), a.max(b)), params);
        self.password_of(b);
        let (ka, kb) = (self.hosts[a].key, self.hosts[b].key);
        self.update_host(a, |h| {
            h.outgoing.push(b);
            h.expected.push(kb);
        });
        self.update_host(b, |h| h.expected.push(ka));
        self.issue_connect(a, b);
    }

    /// An Ethernet-like segment: every member gets an Ethernet link with its own MAC, and
    /// beacons in `beacon` mode; broadcast frames reach every other member.
    pub fn add_segment(
        &mut self,
        members: &[usize],
        params: LinkParams,
        beacon: BeaconMode,
    ) -> usize {
        let segment = self.segments.len();
        self.segments.push(Segment {
            members: members.to_vec(),
            params,
        });
        for &m in members {
            let n = m as u32;
            let addr = LinkAddr::Mac([
                2,
                segment as u8,
                (n >> 24) as u8,
                (n >> 16) as u8,
                (n >> 8) as u8,
                n as u8,
            ]);
            let h = &mut self.hosts[m];
            assert!(h.eth.is_none(), "one segment per node");
            let link = h.node.add_link(LinkKind::Ethernet).expect("free link slot");
            h.node
                .set_beacon(link, beacon)
                .expect("the link was just added");
            h.eth = Some(EthPort {
                segment,
                link,
                addr,
                beacon,
            });
            self.reschedule(m);
        }
        if beacon == BeaconMode::Send {
            for &m in members {
                let others: Vec<PublicKey> = members
                    .iter()
                    .filter(|&&o| o != m)
                    .map(|&o| self.hosts[o].key)
                    .collect();
                self.update_host(m, |h| h.expected.extend(others));
            }
        }
        segment
    }

    /// Node `i` restarts: a new `Node` with the same key and configuration, all state lost.
    pub fn restart(&mut self, i: usize) {
        self.counters.restarts += 1;
        let restart = self.hosts[i].restarts + 1;
        let mut rng = self.node_rng(i, restart);
        let h = &mut self.hosts[i];
        h.restarts = restart;
        let mut node = Box::new(Node::new(h.private.clone(), &mut rng));
        let udp = node.add_link(LinkKind::Udp).expect("free link slot");
        node.set_comm_port(udp, SIM_PORT).expect("link exists");
        assert_eq!(udp, h.udp, "links come back with the same ids");
        if let Some(p) = &h.password {
            node.add_password(p, Some(b"sim"))
                .expect("one password fits");
        }
        if let Some(eth) = h.eth {
            let link = node.add_link(LinkKind::Ethernet).expect("free link slot");
            assert_eq!(link, eth.link);
            node.set_beacon(link, eth.beacon).expect("link exists");
        }
        h.node = node;
        h.rng = rng;
        h.io = HostIo::default();
        h.poll_at = None;
        self.update_host(i, |h| h.up.clear());
        for b in self.hosts[i].outgoing.clone() {
            self.issue_connect(i, b);
        }
        self.reschedule(i);
    }

    fn push(&mut self, at: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Queued {
            at,
            seq: self.seq,
            ev,
        });
    }

    /// Queue a wake-up at the node's `poll_at()` unless an earlier one is queued. Never
    /// in the past or this very millisecond, so a node that always wants to run cannot stall
    /// the clock.
    fn reschedule(&mut self, i: usize) {
        let want = self.hosts[i].node.poll_at();
        if want == u64::MAX {
            return;
        }
        let at = want.max(self.now + 1);
        if matches!(self.hosts[i].poll_at, Some(t) if t <= at) {
            return;
        }
        self.hosts[i].poll_at = Some(at);
        self.push(at, Ev::Poll(i));
    }

    /// Inject an IPv6 packet into node `i`'s TUN now.
    pub fn send_ipv6(&mut self, i: usize, packet: Vec<u8>) {
        self.push(self.now, Ev::Ipv6 { node: i, packet });
    }

    /// A user on `src` starts pinging `dst` at time `at` (not before now): the request is
    /// repeated every `retry_after_ms` until a reply arrives, `max_attempts` times at most.
    pub fn schedule_ping(
        &mut self,
        src: usize,
        dst: usize,
        at: u64,
        max_attempts: u32,
        retry_after_ms: u64,
    ) -> usize {
        let id = self.pings.len();
        let at = at.max(self.now);
        self.pings.push(Ping {
            src,
            dst,
            first_at: at,
            attempts: 0,
            max_attempts: max_attempts.max(1),
            retry_after_ms,
            delivered_at: None,
            replied_at: None,
            open: true,
        });
        self.pings_open += 1;
        self.push(at, Ev::PingAttempt(id));
        id
    }

    fn echo_request(&self, id: usize) -> Vec<u8> {
        let p = &self.pings[id];
        let mut payload = PING_MAGIC.to_vec();
        payload.extend_from_slice(&(id as u32).to_be_bytes());
        payload.extend_from_slice(&p.attempts.to_be_bytes());
        payload.extend_from_slice(&[0x5a; 16]);
        echo_packet(
            &self.hosts[p.src].ip6.0,
            &self.hosts[p.dst].ip6.0,
            ECHO_REQUEST,
            id as u16,
            p.attempts as u16,
            &payload,
        )
    }

    /// Process the earliest queued event if it is due by `limit`; false if there is none.
    pub fn step(&mut self, limit: u64) -> bool {
        if self.budget_exhausted() {
            return false;
        }
        match self.queue.peek() {
            Some(q) if q.at <= limit => {}
            _ => return false,
        }
        let Some(q) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(q.at);
        self.counters.events += 1;
        self.trace.u64(q.at);
        self.dispatch(q.ev);
        true
    }

    /// Run every event up to and including time `t`; the clock ends at `t`.
    pub fn run_until(&mut self, t: u64) {
        while self.step(t) {}
        self.now = self.now.max(t);
    }

    pub fn run_for(&mut self, ms: u64) {
        self.run_until(self.now + ms);
    }

    /// Run until `done` holds (checked after every event) or time `deadline`; true if it
    /// held. The clock stays at the event that satisfied it.
    pub fn run_while(&mut self, deadline: u64, mut done: impl FnMut(&Self) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if !self.step(deadline) {
                self.now = self.now.max(deadline);
                return done(self);
            }
        }
    }

    /// Run until every expected peer is up everywhere; the time it happened, if before
    /// `deadline`.
    pub fn run_until_converged(&mut self, deadline: u64) -> Option<u64> {
        if self.run_while(deadline, |s| s.is_converged()) {
            Some(self.now)
        } else {
            None
        }
    }

    fn dispatch(&mut self, ev: Ev) {
        let now = self.now;
        match ev {
            Ev::Frame {
                to,
                link,
                from,
                broadcast,
                mut buf,
            } => {
                self.trace.u64(1 + ((to as u64) << 8));
                self.trace.bytes(&buf[NODE_HEADROOM..]);
                self.counters.frames_delivered += 1;
                self.counters.bytes_delivered += (buf.len() - NODE_HEADROOM) as u64;
                let len = buf.len() - NODE_HEADROOM;
                let h = &mut self.hosts[to];
                h.node.handle_frame(
                    link,
                    &from,
                    broadcast,
                    &mut buf,
                    NODE_HEADROOM,
                    len,
                    now,
                    &mut h.rng,
                    &mut h.io,
                );
                self.after(to);
            }
            Ev::Poll(i) => {
                if self.hosts[i].poll_at != Some(now) {
                    return; // stale: an earlier wake-up replaced it
                }
                self.trace.u64(2 + ((i as u64) << 8));
                self.counters.polls += 1;
                let h = &mut self.hosts[i];
                h.poll_at = None;
                h.node.poll(now, &mut h.rng, &mut h.io);
                self.after(i);
            }
            Ev::Ipv6 { node, packet } => {
                self.trace.u64(3 + ((node as u64) << 8));
                self.trace.bytes(&packet);
                let mut buf = vec![0u8; IPV6_HEADROOM + packet.len()];
                buf[IPV6_HEADROOM..].copy_from_slice(&packet);
                let h = &mut self.hosts[node];
                h.node.handle_ipv6(
                    &mut buf,
                    IPV6_HEADROOM,
                    packet.len(),
                    now,
                    &mut h.rng,
                    &mut h.io,
                );
                self.after(node);
            }
            Ev::PingAttempt(id) => {
                let p = self.pings[id];
                if !p.open {
                    return;
                }
                if p.attempts >= p.max_attempts {
                    // The last attempt was waited out: the ping is over, unanswered.
                    self.pings[id].open = false;
                    self.pings_open -= 1;
                    return;
                }
                self.trace.u64(4 + ((id as u64) << 8));
                let packet = self.echo_request(id);
                self.pings[id].attempts += 1;
                // The last attempt's wait ends the ping; until then, try again later.
                self.push(now + p.retry_after_ms, Ev::PingAttempt(id));
                self.push(
                    now,
                    Ev::Ipv6 {
                        node: p.src,
                        packet,
                    },
                );
            }
        }
    }

    /// Collect what node `i` produced during the call just made.
    fn after(&mut self, i: usize) {
        let out = std::mem::take(&mut self.hosts[i].io.out);
        for (link, to, frame) in out {
            self.route(i, link, to, frame);
        }
        let events = std::mem::take(&mut self.hosts[i].io.events);
        for e in events {
            self.on_event(i, e);
        }
        let packets = std::mem::take(&mut self.hosts[i].io.ipv6);
        for p in packets {
            self.on_ipv6(i, p);
        }
        self.reschedule(i);
    }

    fn lost(&mut self, params: LinkParams) -> bool {
        if params.loss <= 0.0 {
            return false;
        }
        let draw = self.net_rng.next_u64() as f64 / (u64::MAX as f64 + 1.0);
        draw < params.loss
    }

    #[allow(clippy::too_many_arguments)]
    fn deliver_later(
        &mut self,
        sender: usize,
        to: usize,
        link: LinkId,
        from: LinkAddr,
        broadcast: bool,
        frame: &[u8],
        params: LinkParams,
    ) {
        let lost = self.lost(params);
        if self.record_frames {
            self.frame_log.push(FrameRecord {
                at: self.now,
                from: sender,
                to: (!broadcast).then_some(to),
                lost,
                frame: frame.to_vec(),
            });
        }
        if lost {
            self.counters.frames_lost += 1;
            self.trace.u64(5);
            return;
        }
        let mut buf = vec![0u8; NODE_HEADROOM + frame.len()];
        buf[NODE_HEADROOM..].copy_from_slice(frame);
        self.push(
            self.now + params.latency_ms,
            Ev::Frame {
                to,
                link,
                from,
                broadcast,
                buf,
            },
        );
    }

    fn route(&mut self, i: usize, link: LinkId, to: LinkAddr, frame: Vec<u8>) {
        self.counters.frames_sent += 1;
        if link == self.hosts[i].udp {
            let from = self.hosts[i].udp_addr;
            let target = self.udp_index.get(&to).copied();
            let params = target.and_then(|j| self.edges.get(&(i.min(j), i.max(j))).copied());
            match (target, params) {
                (Some(j), Some(params)) => {
                    let link = self.hosts[j].udp;
                    self.deliver_later(i, j, link, from, false, &frame, params);
                }
                _ => self.counters.frames_unroutable += 1,
            }
            return;
        }
        let Some(port) = self.hosts[i].eth.filter(|e| e.link == link) else {
            self.counters.frames_unroutable += 1;
            return;
        };
        let params = self.segments[port.segment].params;
        let members = self.segments[port.segment].members.clone();
        let broadcast = to == LinkAddr::Broadcast;
        let mut delivered = false;
        for m in members {
            if m == i {
                continue;
            }
            let Some(their) = self.hosts[m].eth else {
                continue;
            };
            if broadcast || their.addr == to {
                delivered = true;
                self.deliver_later(i, m, their.link, port.addr, broadcast, &frame, params);
            }
        }
        if !delivered {
            self.counters.frames_unroutable += 1;
        }
    }

    fn on_event(&mut self, i: usize, e: Event) {
        match e {
            Event::PeerUp { key, .. } => {
                self.counters.peer_up += 1;
                self.update_host(i, |h| {
                    if !h.up.contains(&key) {
                        h.up.push(key);
                    }
                });
            }
            Event::PeerDown { key, .. } | Event::PeerRemoved { key, .. } => {
                if matches!(e, Event::PeerDown { .. }) {
                    self.counters.peer_down += 1;
                }
                self.update_host(i, |h| h.up.retain(|k| *k != key));
            }
            Event::Router(RouterEvent::RouteFound { .. }) => self.counters.routes_found += 1,
            Event::Router(RouterEvent::SearchStarted { .. }) => self.counters.searches_started += 1,
            Event::Router(RouterEvent::SearchFailed { .. }) => self.counters.searches_failed += 1,
            Event::Session(SessionEvent::Started { .. }) => self.counters.sessions_started += 1,
            Event::Session(SessionEvent::Ended { .. }) => self.counters.sessions_ended += 1,
            Event::Session(SessionEvent::Evicted { .. }) => self.counters.sessions_evicted += 1,
            Event::Session(SessionEvent::Dropped(reason)) => {
                self.counters.session_drops += 1;
                *self.drop_reasons.entry(format!("{reason:?}")).or_default() += 1;
            }
            Event::SwitchError { .. } => self.counters.switch_errors += 1,
            _ => {}
        }
        if self.record_events {
            self.event_log.push((self.now, i, e));
        }
    }

    /// An IPv6 packet node `i` delivered: note it, answer echo requests as a host's stack
    /// would, and match echoes to the pings that sent them.
    fn on_ipv6(&mut self, i: usize, packet: Vec<u8>) {
        self.counters.ipv6_delivered += 1;
        self.trace.u64(6 + ((i as u64) << 8));
        self.trace.bytes(&packet);
        if let Some(echo) = parse_echo(&packet) {
            if !echo.checksum_ok {
                self.counters.ipv6_corrupt += 1;
            } else {
                let id = ping_id(echo.payload);
                let mine = echo.dst == self.hosts[i].ip6.0;
                if echo.kind == ECHO_REQUEST && mine {
                    if let Some(p) = id.and_then(|id| self.pings.get_mut(id)) {
                        if p.dst == i && p.delivered_at.is_none() {
                            p.delivered_at = Some(self.now);
                        }
                    }
                    let reply = echo_packet(
                        &echo.dst,
                        &echo.src,
                        ECHO_REPLY,
                        echo.ident,
                        echo.seq,
                        echo.payload,
                    );
                    self.send_ipv6(i, reply);
                } else if echo.kind == ECHO_REPLY && mine {
                    if let Some(p) = id.and_then(|id| self.pings.get_mut(id)) {
                        if p.src == i && p.replied_at.is_none() {
                            p.replied_at = Some(self.now);
                            if p.open {
                                p.open = false;
                                self.pings_open -= 1;
                            }
                        }
                    }
                }
            }
        }
        let now = self.now;
        self.hosts[i].received.push((now, packet));
    }

    /// Pings given up without a reply (all attempts made, the last one waited out).
    pub fn pings_failed(&self) -> usize {
        self.pings
            .iter()
            .filter(|p| !p.open && p.replied_at.is_none())
            .count()
    }
}

/// The ping number inside one of our echo payloads.
fn ping_id(payload: &[u8]) -> Option<usize> {
    if payload.get(..8)? != PING_MAGIC {
        return None;
    }
    let id = payload.get(8..12)?;
    Some(u32::from_be_bytes([id[0], id[1], id[2], id[3]]) as usize)
}
