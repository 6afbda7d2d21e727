//! Little in-memory networks of routers: each router only knows its direct peers; a fake
//! [`RouterOut`] carries `send_cjdht` messages along the label hop by hop (v358 directors,
//! the return path spliced from the interfaces the message came in on), exactly as the
//! switch and session layers would.

use std::collections::VecDeque;

use protocol_core::identity::{Ip6, NodeAddress, PublicKey};
use protocol_core::router::{Router, RouterEvent, RouterOut};
use protocol_core::switch::encoding::v3x5x8::{
    bits_for_label, first_interface, label_for_interface,
};
use protocol_core::switch::label::splice;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random key whose address is in fc00::/8 (no private key needed here).
pub fn fc_key(rng: &mut ChaCha8Rng) -> PublicKey {
    loop {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        let key = PublicKey(k);
        if key.is_valid() {
            return key;
        }
    }
}

#[derive(Default)]
struct Out {
    sent: Vec<(NodeAddress, Vec<u8>)>,
    found: Vec<NodeAddress>,
    events: Vec<RouterEvent>,
}

impl RouterOut for Out {
    fn send_cjdht(&mut self, to: &NodeAddress, msg: &[u8], _reply_due_ms: Option<u64>) {
        self.sent.push((*to, msg.to_vec()));
    }
    fn path_found(&mut self, node: &NodeAddress) {
        self.found.push(*node);
    }
    fn event(&mut self, event: RouterEvent) {
        self.events.push(event);
    }
}

struct Net {
    keys: Vec<PublicKey>,
    routers: Vec<Router<64>>,
    /// links[i] = (interface on i, neighbour index)
    links: Vec<Vec<(u32, usize)>>,
    outs: Vec<Out>,
    queue: VecDeque<(usize, NodeAddress, Vec<u8>)>,
    rng: ChaCha8Rng,
    now: u64,
    delivered: usize,
    /// Lose the next message addressed to this node (a lost handshake or reply).
    lose_next_to: Option<usize>,
}

impl Net {
    fn new(count: usize, seed: u64) -> Net {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let keys: Vec<_> = (0..count).map(|_| fc_key(&mut rng)).collect();
        Net {
            routers: keys.iter().map(|k| Router::new(*k)).collect(),
            keys,
            links: vec![Vec::new(); count],
            outs: (0..count).map(|_| Out::default()).collect(),
            queue: VecDeque::new(),
            rng,
            now: 1_000,
            delivered: 0,
            lose_next_to: None,
        }
    }

    /// Next free interface of `i`: 0, then 2, 3, ... (1 is the router itself).
    fn next_iface(&self, i: usize) -> u32 {
        match self.links[i].len() as u32 {
            0 => 0,
            n => n + 1,
        }
    }

    fn link(&mut self, a: usize, b: usize) {
        let ia = self.next_iface(a);
        let ib = self.next_iface(b);
        self.links[a].push((ia, b));
        self.links[b].push((ib, a));
    }

    fn address(&self, of: usize, label: u64) -> NodeAddress {
        NodeAddress {
            version: 22,
            label,
            key: self.keys[of],
        }
    }

    fn ip6(&self, i: usize) -> Ip6 {
        self.keys[i].address().unwrap()
    }

    fn peer_all(&mut self) {
        for a in 0..self.routers.len() {
            for &(iface, b) in &self.links[a].clone() {
                let peer = self.address(b, label_for_interface(iface));
                self.routers[a].peer_up(&peer, self.now, &mut self.rng, &mut self.outs[a]);
            }
        }
        self.run();
    }

    /// Follow `label` from `from`; the node reached and the path back.
    fn walk(&self, from: usize, mut label: u64) -> Option<(usize, u64)> {
        let mut at = from;
        let mut back: Option<u64> = None;
        for _ in 0..16 {
            if label == 1 {
                return back.map(|b| (at, b));
            }
            let iface = first_interface(label);
            let bits = bits_for_label(label);
            let &(_, next) = self.links[at].iter().find(|(i, _)| *i == iface)?;
            let &(back_iface, _) = self.links[next].iter().find(|(_, n)| *n == at)?;
            let hop_back = label_for_interface(back_iface);
            back = Some(match back {
                None => hop_back,
                Some(rest) => splice(rest, hop_back)?,
            });
            label >>= bits;
            at = next;
        }
        None
    }

    /// Deliver everything the routers sent until the network is quiet.
    fn run(&mut self) {
        for _ in 0..10_000 {
            for i in 0..self.outs.len() {
                for (to, msg) in self.outs[i].sent.drain(..) {
                    self.queue.push_back((i, to, msg));
                }
            }
            let Some((from, to, msg)) = self.queue.pop_front() else {
                return;
            };
            let Some((at, back)) = self.walk(from, to.label) else {
                continue;
            };
            if self.keys[at] != to.key {
                continue;
            }
            if self.lose_next_to == Some(at) {
                self.lose_next_to = None;
                continue;
            }
            let sender = self.address(from, back);
            self.delivered += 1;
            self.routers[at].handle_cjdht(
                &sender,
                &msg,
                self.now,
                &mut self.rng,
                &mut self.outs[at],
            );
        }
        panic!("network never went quiet");
    }

    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 100;
            for i in 0..self.routers.len() {
                if self.routers[i].poll_at() <= self.now {
                    self.routers[i].poll(self.now, &mut self.rng, &mut self.outs[i]);
                }
            }
            self.run();
        }
    }

    fn search(&mut self, from: usize, to: usize) -> Option<NodeAddress> {
        let target = self.ip6(to);
        self.routers[from].search(&target, self.now, &mut self.rng, &mut self.outs[from]);
        self.run();
        for _ in 0..400 {
            let found = self.outs[from].events.iter().find_map(|e| match e {
                RouterEvent::RouteFound { node } if node.key == self.keys[to] => Some(*node),
                _ => None,
            });
            if found.is_some() {
                return found;
            }
            if self.outs[from]
                .events
                .contains(&RouterEvent::SearchFailed { target })
            {
                return None;
            }
            self.advance(100);
        }
        None
    }
}

#[test]
fn line_a_b_c_d_search_finds_d() {
    let mut net = Net::new(4, 7);
    net.link(0, 1);
    net.link(1, 2);
    net.link(2, 3);
    net.peer_all();
    // Peering alone teaches A its neighbour's neighbour (C) but not D.
    assert!(net.routers[0].lookup(&net.ip6(2)).is_some());
    assert!(net.routers[0].lookup(&net.ip6(3)).is_none());

    let d = net.search(0, 3).expect("A finds D");
    assert_eq!(net.walk(0, d.label).map(|(at, _)| at), Some(3));
    assert_eq!(
        net.routers[0].lookup(&net.ip6(3)).map(|n| n.label),
        Some(d.label)
    );
    assert!(net.outs[0].found.iter().any(|n| n.key == net.keys[3]));
    // A -> B -> C -> D: three 4-bit directors.
    assert_eq!(d.label >> 12, 1);
}

#[test]
fn rumors_get_pinged_and_verified() {
    let mut net = Net::new(4, 8);
    net.link(0, 1);
    net.link(1, 2);
    net.link(2, 3);
    net.peer_all();
    let c = net.ip6(2);
    let reach_of = |net: &Net| {
        net.routers[0]
            .nodes()
            .find(|n| n.ip6 == c)
            .map(|n| n.reach)
            .unwrap()
    };
    assert_eq!(
        reach_of(&net),
        protocol_core::router::node_store::RUMOR_REACH
    );
    net.advance(5_000);
    assert!(reach_of(&net) >= protocol_core::router::node_store::RESPONSE_REACH);
}

#[test]
fn longer_line_every_node_finds_every_other() {
    let n = 8;
    let mut net = Net::new(n, 11);
    for i in 0..n - 1 {
        net.link(i, i + 1);
    }
    net.peer_all();
    for from in [0, 3, 7] {
        for to in 0..n {
            if to == from {
                continue;
            }
            let node = net
                .search(from, to)
                .unwrap_or_else(|| panic!("{from} finds {to}"));
            assert_eq!(net.walk(from, node.label).map(|(at, _)| at), Some(to));
        }
    }
}

#[test]
fn tree_with_branches_and_janitor_stays_bounded() {
    let mut net = Net::new(12, 5);
    let edges = [
        (0, 1),
        (0, 2),
        (1, 3),
        (1, 4),
        (2, 5),
        (5, 6),
        (6, 7),
        (4, 8),
        (8, 9),
        (9, 10),
        (3, 11),
    ];
    for (a, b) in edges {
        net.link(a, b);
    }
    net.peer_all();
    let found = net.search(7, 10).expect("7 finds 10");
    assert_eq!(net.walk(7, found.label).map(|(at, _)| at), Some(10));
    // A few minutes of maintenance: peers refreshed, random searches fill tables.
    let before = net.delivered;
    net.advance(120_000);
    let traffic = net.delivered - before;
    assert!(
        traffic > 0 && traffic < 20_000,
        "maintenance traffic {traffic}"
    );
    for r in &net.routers {
        let nodes: Vec<_> = r.nodes().collect();
        assert!(nodes.len() <= 64);
        for info in nodes {
            assert_ne!(info.ip6, *r.my_ip6());
        }
    }
    // Every path the janitor left in a table routes to the node it names.
    for (i, r) in net.routers.iter().enumerate() {
        for info in r.nodes() {
            let (at, _) = net.walk(i, info.address.label).expect("path walks");
            assert_eq!(net.keys[at], info.address.key);
        }
    }
}

#[test]
fn unknown_target_fails_cleanly() {
    let mut net = Net::new(3, 3);
    net.link(0, 1);
    net.link(1, 2);
    net.peer_all();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let stranger = fc_key(&mut rng).address().unwrap();
    net.routers[0].search(&stranger, net.now, &mut net.rng, &mut net.outs[0]);
    net.run();
    net.advance(40_000);
    assert!(net.outs[0]
        .events
        .contains(&RouterEvent::SearchFailed { target: stranger }));
}

#[test]
fn peer_down_forgets_paths_through_the_peer() {
    let mut net = Net::new(4, 21);
    net.link(0, 1);
    net.link(1, 2);
    net.link(2, 3);
    net.peer_all();
    assert!(net.search(0, 3).is_some());
    let label_b = net.routers[0].lookup(&net.ip6(1)).unwrap().label;
    net.routers[0].peer_down(label_b);
    for i in 1..4 {
        assert!(net.routers[0].lookup(&net.ip6(i)).is_none(), "node {i}");
    }
}

/// The answer of the target itself is lost: the search asks it again instead of striking
/// it off (before, every later reply named a node already asked and the search failed).
#[test]
fn search_asks_the_target_again_after_a_lost_answer() {
    let mut net = Net::new(4, 7);
    net.link(0, 1);
    net.link(1, 2);
    net.link(2, 3);
    net.peer_all();
    net.lose_next_to = Some(3);
    let d = net.search(0, 3).expect("A finds D on the second try");
    assert_eq!(net.walk(0, d.label).map(|(at, _)| at), Some(3));
    assert!(net.lose_next_to.is_none(), "a message to D was lost");
    assert_eq!(net.routers[0].stats().timeouts, 1);
    assert_eq!(net.routers[0].stats().searches_found, 1);
}

/// A node that is asked something remembers who asked (as a rumor it will verify), so
/// that nodes near in keyspace come to know each other.
#[test]
fn a_querier_is_remembered() {
    let mut net = Net::new(4, 7);
    net.link(0, 1);
    net.link(1, 2);
    net.link(2, 3);
    net.peer_all();
    let a = net.ip6(0);
    assert!(
        net.routers[3].nodes().all(|n| n.ip6 != a),
        "D knows A already"
    );
    let d = net.search(0, 3).expect("A finds D");
    let a_at_d = net.routers[3]
        .nodes()
        .find(|n| n.ip6 == a)
        .expect("D learned A from its query");
    // The path D stored leads back to A.
    assert_eq!(net.walk(3, a_at_d.address.label).map(|(at, _)| at), Some(0));
    assert_eq!(d.key, net.keys[3]);
}
