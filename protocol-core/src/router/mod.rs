//! Router: the CJDHT (legacy DHT) node store, queries and path discovery.
//!
//! This is the pathfinder cjdns v22.3 actually routes with when no supernode is known
//! (`dht/Pathfinder.c` and `dht/dhtcore/*`): it answers `pn`/`gp`/`fn`/`nh` queries from
//! other nodes, asks its peers for their peers (`gp`) as soon as they come up, and finds
//! paths to unknown addresses by asking the closest known nodes (`fn`) until the target
//! itself answers. Sans-IO: messages go out through [`RouterOut`], time comes in as
//! milliseconds.
//!
//! Deliberate simplifications against the reference (documented, not wire-visible):
//! nodes named in replies go straight into the store as rumors (lowest reach) instead of
//! into a separate "rumor mill"; the janitor pings them and only nodes that answered us
//! (and peers) are passed on in `fn`/`nh` replies, as in the reference; a search asks the closest not-yet-asked node, up
//! to [`SEARCH_CONCURRENCY`] at once, instead of one at a time with adaptive timeouts;
//! link quality is a simple reach counter (answers add, timeouts halve).

pub mod message;
pub mod node_store;

use rand_core::CryptoRngCore;

use crate::identity::{Ip6, NodeAddress, PublicKey};
use crate::switch::encoding::v3x5x8::{bits_for_label, get_label_for};
use crate::switch::label::{log2, splice};

pub use message::{Message, MessageError, NodeEntry};
pub use node_store::{InsertOutcome, NodeStore, StoredNode};

use message::{
    emit_query, emit_reply, LEGACY_TXID_PREFIX, MAX_MESSAGE_LEN, MAX_REPLY_NODES,
    MIN_COMPATIBLE_VERSION, PROTOCOL_VERSION, QUERY_FIND_NODE, QUERY_GET_PEERS, QUERY_NEXT_HOP,
    QUERY_PING,
};
use node_store::{bucket_of, xor_distance, PEER_REACH, RESPONSE_REACH, RUMOR_REACH};

/// Nodes per reply and per search step (`RouterModule_K`).
pub const K: usize = MAX_REPLY_NODES;
/// Queries a search keeps in flight at once.
pub const SEARCH_CONCURRENCY: usize = 3;
/// Queries one search may send in total (`SearchRunner_search(.., 20, ..)`).
pub const MAX_SEARCH_REQUESTS: usize = 20;
/// Most queries one search sends to the target itself (a lost handshake or reply must not
/// end a search that already knows where the target is).
pub const MAX_TARGET_QUERIES: u8 = 3;
/// A search gives up after this long even with budget left.
pub const SEARCH_BUDGET_MS: u64 = 30_000;
/// An unanswered query counts as a timeout after this (`PING_TIMEOUT_MINIMUM`).
pub const QUERY_TIMEOUT_MS: u64 = 3_000;
/// Janitor period: one peer refresh (`gp`) and maybe one table-filling search per tick
/// (the reference's search repeat interval).
pub const JANITOR_INTERVAL_MS: u64 = 7_500;
/// Rumor check period: one node we were only told about gets a `pn` per tick, so that
/// what we pass on to others has answered us (the reference's RumorMill + Janitor, whose
/// local maintenance runs every second).
pub const RUMOR_PING_INTERVAL_MS: u64 = 1_000;
/// Queries awaiting replies.
pub const MAX_PENDING: usize = 16;
/// Searches running at once.
pub const MAX_SEARCHES: usize = 4;
/// Our txids: `00` + 4-byte handle + 8-byte cookie, like the reference's pinger.
pub const TXID_LEN: usize = 14;

/// Where the router's output goes (the node adapts it to the session manager).
pub trait RouterOut {
    /// Send this bencoded CJDHT message to `to` (the node hands it to SessionManager::send_cjdht).
    /// `reply_due_ms` is set for a query: its answer is awaited until then, and the session
    /// layer keeps the session for it.
    fn send_cjdht(&mut self, to: &NodeAddress, msg: &[u8], reply_due_ms: Option<u64>);
    /// A usable path to a node (the node hands it to SessionManager::add_path).
    fn path_found(&mut self, node: &NodeAddress);
    fn event(&mut self, event: RouterEvent);
}

/// Things the node may want to log or count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouterEvent {
    /// A search for `target` began (not reported for maintenance searches).
    SearchStarted { target: Ip6 },
    /// The searched node answered us over `node.label` (or was already known).
    RouteFound { node: NodeAddress },
    /// Nobody we could ask knew a path to `target`.
    SearchFailed { target: Ip6 },
    /// A CJDHT message was refused.
    MessageDropped { error: MessageError },
    /// The answer to [`Router::ping_node`]: `node` as it answered (its version, the path the
    /// answer came over).
    PingReply {
        id: u32,
        node: NodeAddress,
        rtt_ms: u32,
    },
    /// [`Router::ping_node`] got no answer in [`QUERY_TIMEOUT_MS`] (or its query was pushed
    /// out of a full pending table).
    PingTimeout { id: u32, node: NodeAddress },
}

/// One node-store entry for stats / `dumpTable`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NodeInfo {
    pub ip6: Ip6,
    pub address: NodeAddress,
    /// Link quality: higher is better; 0 means the path stopped answering.
    pub reach: u32,
    pub last_seen_ms: u64,
    /// Leading address bits shared with us.
    pub bucket: u8,
    pub is_peer: bool,
}

/// What a query we sent was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    /// getPeers after peering, peer refresh, rumor pings.
    Maintenance,
    /// A step of the search for this target.
    Search(Ip6),
    /// A ping someone asked for (`RouterModule_pingNode`); its id.
    UserPing(u32),
}

#[derive(Clone, Copy, Debug)]
struct Pending {
    txid: [u8; TXID_LEN],
    to: NodeAddress,
    ip6: Ip6,
    sent_ms: u64,
    purpose: Purpose,
}

#[derive(Clone, Debug)]
struct Search {
    target: Ip6,
    started_ms: u64,
    asked: heapless::Vec<Ip6, MAX_SEARCH_REQUESTS>,
    /// Queries sent to the target itself: it is asked again (up to
    /// [`MAX_TARGET_QUERIES`]) when an answer was lost, not struck off like other nodes.
    target_queries: u8,
    /// Maintenance searches fill the table and report nothing.
    quiet: bool,
}

/// The legacy DHT router with room for `N` nodes.
#[derive(Debug)]
pub struct Router<const N: usize> {
    my_key: PublicKey,
    store: NodeStore<N>,
    pending: heapless::Vec<Pending, MAX_PENDING>,
    searches: heapless::Vec<Search, MAX_SEARCHES>,
    next_handle: u32,
    next_janitor_ms: u64,
    next_rumor_ping_ms: u64,
    janitor_peer_cursor: usize,
    /// The next quiet search looks up our own address (they alternate with random ones).
    self_lookup_next: bool,
    /// Messages refused by the codec or routing rules.
    pub dropped: u32,
    stats: RouterStats,
}

/// What the router did, for stats and for tuning searches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RouterStats {
    /// Queries sent for table upkeep (getPeers of peers, rumor pings, filling searches).
    pub maintenance_queries: u64,
    /// Queries sent as steps of searches for a destination (table-filling searches count
    /// as maintenance).
    pub search_queries: u64,
    /// Router pings someone asked for.
    pub user_pings: u64,
    /// Replies matched to a query of ours.
    pub replies: u64,
    /// Queries that got no reply in time.
    pub timeouts: u64,
    /// Queries forgotten to make room in the pending table.
    pub pending_evicted: u64,
    pub searches_started: u64,
    pub searches_found: u64,
    /// Searches that ran out of nodes to ask or of time.
    pub searches_failed: u64,
    /// Searches refused because the search table was full.
    pub searches_refused: u64,
}

/// Whether `label` is a single director plus its terminating 1 (v358 `isOneHop`).
const fn is_one_hop(label: u64) -> bool {
    label > 1 && log2(label) == bits_for_label(label)
}

impl<const N: usize> Router<N> {
    pub fn new(my_key: PublicKey) -> Self {
        Router {
            my_key,
            store: NodeStore::new(my_key.address_unchecked()),
            pending: heapless::Vec::new(),
            searches: heapless::Vec::new(),
            next_handle: 0,
            next_janitor_ms: JANITOR_INTERVAL_MS,
            next_rumor_ping_ms: RUMOR_PING_INTERVAL_MS,
            janitor_peer_cursor: 0,
            self_lookup_next: false,
            stats: RouterStats::default(),
            dropped: 0,
        }
    }

    pub fn my_ip6(&self) -> &Ip6 {
        self.store.my_ip6()
    }

    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// The node table (read-only).
    pub fn store(&self) -> &NodeStore<N> {
        &self.store
    }

    /// A CJDHT message from `from` (key, path back to it, version).
    pub fn handle_cjdht(
        &mut self,
        from: &NodeAddress,
        msg: &[u8],
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        if from.key == self.my_key || from.label == 0 || from.label == u64::MAX {
            self.dropped = self.dropped.wrapping_add(1);
            return;
        }
        let message = match Message::parse(msg) {
            Ok(m) => m,
            Err(error) => {
                self.dropped = self.dropped.wrapping_add(1);
                out.event(RouterEvent::MessageDropped { error });
                return;
            }
        };
        let Ok(from_ip6) = from.key.address() else {
            self.dropped = self.dropped.wrapping_add(1);
            return;
        };
        match message.query {
            Some(query) => self.answer(from, from_ip6, &message, query, now_ms, out),
            None => self.take_reply(from, from_ip6, &message, now_ms, rng, out),
        }
    }

    /// Answer a query the way `RouterModule.c handleQuery` + the boilerplate modules do.
    fn answer(
        &mut self,
        from: &NodeAddress,
        from_ip6: Ip6,
        message: &Message<'_>,
        query: &[u8],
        now_ms: u64,
        out: &mut impl RouterOut,
    ) {
        if query == b"sq" {
            // Supernode queries are not ours to answer.
            return;
        }
        match self.store.get_mut(&from_ip6) {
            Some(n) if n.address.label == from.label => n.last_seen_ms = now_ms,
            Some(_) => {}
            None if message.version.max(from.version) >= MIN_COMPATIBLE_VERSION => {
                // Someone who asks us is worth knowing (the reference puts it in a rumor
                // mill): a rumor ping verifies it, and then we can name it in answers. This
                // is how nodes near each other in keyspace come to know each other.
                let querier = NodeAddress {
                    version: message.version.max(from.version),
                    ..*from
                };
                self.store
                    .insert(querier, from_ip6, RUMOR_REACH, false, now_ms);
            }
            None => {}
        }
        let mut nodes = [NodeEntry {
            key: PublicKey([0; 32]),
            label: 0,
            version: 0,
        }; K];
        let count = match (query, message.target) {
            (QUERY_GET_PEERS, Some(tar)) if tar.len() == 8 => {
                let mut raw = [0u8; 8];
                raw.copy_from_slice(tar);
                self.get_peers(u64::from_be_bytes(raw), &mut nodes)
            }
            (QUERY_FIND_NODE, Some(tar)) if tar.len() == 16 => {
                let mut target = [0u8; 16];
                target.copy_from_slice(tar);
                self.closest_entries(&Ip6(target), &mut nodes)
            }
            (QUERY_NEXT_HOP, Some(tar)) if tar.len() == 16 => {
                let mut target = [0u8; 16];
                target.copy_from_slice(tar);
                match self.store.best_next_hop(&Ip6(target)) {
                    Some(n) if !n.do_not_disturb => {
                        nodes[0] = NodeEntry {
                            key: n.address.key,
                            label: n.address.label,
                            version: n.address.version,
                        };
                        1
                    }
                    _ => 0,
                }
            }
            _ => 0,
        };
        let nodes = &mut nodes[..count];
        for n in nodes.iter_mut() {
            n.label = get_label_for(n.label, from.label);
        }
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        if let Ok(len) = emit_reply(&mut buf, message.txid, nodes, from.label) {
            out.send_cjdht(from, &buf[..len], None);
        }
    }

    /// `NodeStore_getPeers`: our one-hop peers (and ourselves at `0001`) whose labels are
    /// at or above `label` truncated to its first director; the `K` nearest to it, written
    /// farthest first as the reference's insertion leaves them.
    fn get_peers(&self, label: u64, out: &mut [NodeEntry; K]) -> usize {
        let label = if label > 1 {
            let bits = bits_for_label(label);
            (label & ((1u64 << bits) - 1)) | (1u64 << bits)
        } else {
            label
        };
        let me = NodeEntry {
            key: self.my_key,
            label: 1,
            version: PROTOCOL_VERSION,
        };
        // (entry, do-not-disturb)
        let candidates = || {
            core::iter::once((me, false)).chain(
                self.store
                    .iter()
                    .filter(|n| n.is_peer && is_one_hop(n.address.label))
                    .map(|n| {
                        let entry = NodeEntry {
                            key: n.address.key,
                            label: n.address.label,
                            version: n.address.version,
                        };
                        (entry, n.do_not_disturb)
                    }),
            )
        };
        // Select the K smallest distances one by one (labels are distinct); a
        // do-not-disturb peer uses up its place but is not written (`sendNodes`).
        let mut written = 0usize;
        let mut floor: Option<u64> = None;
        for _ in 0..K {
            let best = candidates()
                .filter(|(c, _)| c.label >= label)
                .filter(|(c, _)| floor.is_none_or(|f| c.label - label > f))
                .min_by_key(|(c, _)| c.label - label);
            let Some((best, dnd)) = best else { break };
            floor = Some(best.label - label);
            if !dnd {
                out[written] = best;
                written += 1;
            }
        }
        out[..written].reverse();
        written
    }

    /// `fn`: up to `K` closest usable nodes, farthest first; do-not-disturb nodes take a
    /// place in the selection but are left out of the reply, as in `sendNodes`.
    /// The reference also filters by the asker's version (`Version_isCompatible`), but
    /// every version >= 20 is compatible with every other, so that reduces to `p >= 20`.
    fn closest_entries(&self, target: &Ip6, out: &mut [NodeEntry; K]) -> usize {
        let mut found = [StoredNode {
            address: NodeAddress {
                version: 0,
                label: 0,
                key: PublicKey([0; 32]),
            },
            ip6: Ip6([0; 16]),
            reach: 0,
            last_seen_ms: 0,
            is_peer: false,
            do_not_disturb: false,
        }; K];
        let count = self.store.closest(target, &mut found, |n| {
            n.reach > RUMOR_REACH && n.address.version >= MIN_COMPATIBLE_VERSION
        });
        let mut written = 0;
        for n in found[..count].iter().filter(|n| !n.do_not_disturb) {
            out[written] = NodeEntry {
                key: n.address.key,
                label: n.address.label,
                version: n.address.version,
            };
            written += 1;
        }
        written
    }

    /// A reply: match it to our query, learn the responder and the nodes it names.
    fn take_reply(
        &mut self,
        from: &NodeAddress,
        from_ip6: Ip6,
        message: &Message<'_>,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        if message.txid.get(..2) != Some(&LEGACY_TXID_PREFIX[..]) {
            // Subnode or foreign replies are not for this pathfinder.
            return;
        }
        let Some(index) = self
            .pending
            .iter()
            .position(|p| p.txid[..] == *message.txid && p.ip6 == from_ip6)
        else {
            self.dropped = self.dropped.wrapping_add(1);
            return;
        };
        let pending = self.pending.swap_remove(index);
        self.stats.replies += 1;

        let responder = NodeAddress {
            version: message.version,
            label: from.label,
            key: from.key,
        };
        let outcome = self
            .store
            .insert(responder, from_ip6, RESPONSE_REACH, false, now_ms);
        self.store.path_responded(&from_ip6, from.label, now_ms);
        if pending.to.label != from.label {
            self.store
                .path_responded(&from_ip6, pending.to.label, now_ms);
        }
        if let Some(n) = self.store.get_mut(&from_ip6) {
            n.do_not_disturb = message.do_not_disturb;
        }
        if outcome.is_new_path() {
            out.path_found(&responder);
        }

        if let Some(entries) = message.node_entries() {
            for entry in entries {
                self.learn(entry, from.label, now_ms, out);
            }
        }

        match pending.purpose {
            Purpose::Search(target) if target == from_ip6 => {
                self.finish_search(&target, Some(responder), out)
            }
            Purpose::Search(target) => self.search_step(&target, now_ms, rng, out),
            Purpose::UserPing(id) => out.event(RouterEvent::PingReply {
                id,
                node: responder,
                rtt_ms: u32::try_from(now_ms.saturating_sub(pending.sent_ms)).unwrap_or(u32::MAX),
            }),
            Purpose::Maintenance => {}
        }
    }

    /// One node named in a reply, its label relative to the responder.
    fn learn(
        &mut self,
        entry: NodeEntry,
        path_to_responder: u64,
        now_ms: u64,
        out: &mut impl RouterOut,
    ) {
        let Some(label) = splice(entry.label, path_to_responder) else {
            return;
        };
        if entry.key == self.my_key || entry.version < MIN_COMPATIBLE_VERSION {
            return;
        }
        let Ok(ip6) = entry.key.address() else {
            return;
        };
        let address = NodeAddress {
            version: entry.version,
            label,
            key: entry.key,
        };
        if self
            .store
            .insert(address, ip6, RUMOR_REACH, false, now_ms)
            .is_new_path()
        {
            if let Some(n) = self.store.get(&ip6) {
                out.path_found(&n.address);
            }
        }
    }

    /// A direct peer became usable: remember it and ask it for its peers (`gp tar=0`), as
    /// `Pathfinder.c peer()` does.
    pub fn peer_up(
        &mut self,
        peer: &NodeAddress,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        let Ok(ip6) = peer.key.address() else { return };
        if peer.key == self.my_key {
            return;
        }
        if self
            .store
            .get(&ip6)
            .is_some_and(|n| n.is_peer && n.address.label == peer.label)
        {
            return;
        }
        let mut address = *peer;
        if address.version == 0 {
            address.version = MIN_COMPATIBLE_VERSION;
        }
        self.store.insert(address, ip6, PEER_REACH, true, now_ms);
        out.path_found(&address);
        self.send_query(
            &address,
            ip6,
            QUERY_GET_PEERS,
            &[0u8; 8],
            Purpose::Maintenance,
            now_ms,
            rng,
            out,
        );
    }

    /// A direct peer went away: forget it and the paths through it.
    pub fn peer_down(&mut self, label: u64) {
        self.store.peer_gone(label);
    }

    /// Find a path to `ip6`.
    pub fn search(
        &mut self,
        ip6: &Ip6,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        self.start_search(ip6, false, now_ms, rng, out);
    }

    fn start_search(
        &mut self,
        ip6: &Ip6,
        quiet: bool,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        if *ip6 == *self.store.my_ip6() && !quiet {
            return;
        }
        if !quiet {
            if let Some(n) = self.store.get(ip6).filter(|n| n.reach > RUMOR_REACH) {
                // Known and heard from: hand the path over, as `searchReq` does. A node
                // we were only told about is searched for: the first step asks it
                // directly (`gp`), as the reference does once a search reaches it.
                let node = n.address;
                out.path_found(&node);
                out.event(RouterEvent::RouteFound { node });
                return;
            }
        }
        if let Some(s) = self.searches.iter_mut().find(|s| s.target == *ip6) {
            s.quiet &= quiet;
            return;
        }
        if self.searches.is_full() {
            // Make room by dropping a maintenance search; a real one waits for nothing.
            match self.searches.iter().position(|s| s.quiet) {
                Some(i) if !quiet => {
                    let old = self.searches.swap_remove(i);
                    self.pending
                        .retain(|p| p.purpose != Purpose::Search(old.target));
                }
                _ => {
                    if !quiet {
                        self.stats.searches_refused += 1;
                        out.event(RouterEvent::SearchFailed { target: *ip6 });
                    }
                    return;
                }
            }
        }
        let search = Search {
            target: *ip6,
            started_ms: now_ms,
            asked: heapless::Vec::new(),
            target_queries: 0,
            quiet,
        };
        if self.searches.push(search).is_err() {
            return;
        }
        if !quiet {
            self.stats.searches_started += 1;
            out.event(RouterEvent::SearchStarted { target: *ip6 });
        }
        self.search_step(ip6, now_ms, rng, out);
    }

    /// Fill the search's free query slots with the closest nodes not yet asked; end it when
    /// nothing is left to ask and nothing is in flight.
    fn search_step(
        &mut self,
        target: &Ip6,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        loop {
            let Some(search) = self.searches.iter().find(|s| s.target == *target) else {
                return;
            };
            let in_flight = self
                .pending
                .iter()
                .filter(|p| p.purpose == Purpose::Search(*target))
                .count();
            let exhausted = search.asked.is_full()
                || now_ms.saturating_sub(search.started_ms) >= SEARCH_BUDGET_MS;
            let target_in_flight = self
                .pending
                .iter()
                .any(|p| p.purpose == Purpose::Search(*target) && p.ip6 == *target);
            let may_ask_target = !target_in_flight && search.target_queries < MAX_TARGET_QUERIES;
            let candidate = if exhausted || in_flight >= SEARCH_CONCURRENCY {
                None
            } else {
                self.store
                    .iter()
                    .filter(|n| {
                        // The target is worth another try even after a timeout took its
                        // reach to zero: nobody else can answer for it.
                        n.address.version >= MIN_COMPATIBLE_VERSION
                            && if n.ip6 == *target {
                                may_ask_target
                            } else {
                                n.reach > 0 && !search.asked.contains(&n.ip6)
                            }
                    })
                    .min_by_key(|n| xor_distance(&n.ip6, target))
                    .map(|n| (n.address, n.ip6))
            };
            let Some((address, ip6)) = candidate else {
                if in_flight == 0 {
                    self.finish_search(target, None, out);
                }
                return;
            };
            if let Some(s) = self.searches.iter_mut().find(|s| s.target == *target) {
                if ip6 == *target {
                    s.target_queries += 1;
                } else {
                    let _ = s.asked.push(ip6);
                }
            }
            // Aimed at the target itself, the step is a `gp` with the 16-byte address (so
            // the target answers, and a session gets set up); otherwise `fn`.
            let query = if ip6 == *target {
                QUERY_GET_PEERS
            } else {
                QUERY_FIND_NODE
            };
            let tar = target.0;
            self.send_query(
                &address,
                ip6,
                query,
                &tar,
                Purpose::Search(*target),
                now_ms,
                rng,
                out,
            );
        }
    }

    fn finish_search(
        &mut self,
        target: &Ip6,
        found: Option<NodeAddress>,
        out: &mut impl RouterOut,
    ) {
        let Some(i) = self.searches.iter().position(|s| s.target == *target) else {
            return;
        };
        let search = self.searches.swap_remove(i);
        self.pending
            .retain(|p| p.purpose != Purpose::Search(*target));
        if search.quiet {
            return;
        }
        match found {
            Some(node) => {
                self.stats.searches_found += 1;
                out.path_found(&node);
                out.event(RouterEvent::RouteFound { node });
            }
            None => {
                self.stats.searches_failed += 1;
                out.event(RouterEvent::SearchFailed { target: *target })
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_query(
        &mut self,
        to: &NodeAddress,
        ip6: Ip6,
        query: &[u8],
        target: &[u8],
        purpose: Purpose,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) -> bool {
        let mut txid = [0u8; TXID_LEN];
        txid[..2].copy_from_slice(LEGACY_TXID_PREFIX);
        txid[2..6].copy_from_slice(&self.next_handle.to_be_bytes());
        self.next_handle = self.next_handle.wrapping_add(1);
        rng.fill_bytes(&mut txid[6..]);
        let target = if query == QUERY_PING {
            None
        } else {
            Some(target)
        };
        let mut buf = [0u8; MAX_MESSAGE_LEN];
        let Ok(len) = emit_query(&mut buf, query, &txid, target, to.label) else {
            return false;
        };
        if self.pending.is_full() {
            // Forget the oldest query; its reply, if any, will be ignored.
            if let Some(oldest) = self
                .pending
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.sent_ms)
                .map(|(i, _)| i)
            {
                let evicted = self.pending.swap_remove(oldest);
                self.stats.pending_evicted += 1;
                if let Purpose::UserPing(id) = evicted.purpose {
                    out.event(RouterEvent::PingTimeout {
                        id,
                        node: evicted.to,
                    });
                }
            }
        }
        let _ = self.pending.push(Pending {
            txid,
            to: *to,
            ip6,
            sent_ms: now_ms,
            purpose,
        });
        match purpose {
            Purpose::Search(t) if !self.searches.iter().any(|s| s.target == t && s.quiet) => {
                self.stats.search_queries += 1
            }
            Purpose::Maintenance | Purpose::Search(_) => self.stats.maintenance_queries += 1,
            Purpose::UserPing(_) => self.stats.user_pings += 1,
        }
        out.send_cjdht(
            to,
            &buf[..len],
            Some(now_ms.saturating_add(QUERY_TIMEOUT_MS)),
        );
        true
    }

    /// Send a `pn` to `node` (router ping); the answer refreshes its reach.
    pub fn ping(
        &mut self,
        node: &NodeAddress,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) {
        let Ok(ip6) = node.key.address() else { return };
        self.send_query(
            node,
            ip6,
            QUERY_PING,
            &[],
            Purpose::Maintenance,
            now_ms,
            rng,
            out,
        );
    }

    /// Ping `node` on request (admin `RouterModule_pingNode`); the answer is reported as
    /// [`RouterEvent::PingReply`] or [`RouterEvent::PingTimeout`] with the returned id, and
    /// refreshes the node's reach like any reply. `None` if `node`'s key has no fc address.
    pub fn ping_node(
        &mut self,
        node: &NodeAddress,
        now_ms: u64,
        rng: &mut impl CryptoRngCore,
        out: &mut impl RouterOut,
    ) -> Option<u32> {
        let ip6 = node.key.address().ok()?;
        let id = self.next_handle;
        self.send_query(
            node,
            ip6,
            QUERY_PING,
            &[],
            Purpose::UserPing(id),
            now_ms,
            rng,
            out,
        )
        .then_some(id)
    }

    /// The known path to `ip6`, if it still works.
    pub fn lookup(&self, ip6: &Ip6) -> Option<NodeAddress> {
        self.store
            .get(ip6)
            .filter(|n| n.reach > 0)
            .map(|n| n.address)
    }

    /// Timeouts and janitor work.
    pub fn poll(&mut self, now_ms: u64, rng: &mut impl CryptoRngCore, out: &mut impl RouterOut) {
        // Expired queries weaken their path; searches move on.
        while let Some(i) = self
            .pending
            .iter()
            .position(|p| now_ms.saturating_sub(p.sent_ms) >= QUERY_TIMEOUT_MS)
        {
            let p = self.pending.swap_remove(i);
            self.stats.timeouts += 1;
            self.store.path_timed_out(&p.ip6, p.to.label);
            match p.purpose {
                Purpose::Search(target) => self.search_step(&target, now_ms, rng, out),
                Purpose::UserPing(id) => out.event(RouterEvent::PingTimeout { id, node: p.to }),
                Purpose::Maintenance => {}
            }
        }
        // Searches past their budget end.
        while let Some(target) = self
            .searches
            .iter()
            .find(|s| now_ms.saturating_sub(s.started_ms) >= SEARCH_BUDGET_MS)
            .map(|s| s.target)
        {
            self.finish_search(&target, None, out);
        }
        if now_ms >= self.next_rumor_ping_ms {
            self.next_rumor_ping_ms = now_ms.saturating_add(RUMOR_PING_INTERVAL_MS);
            // The freshest unverified node not already being asked something.
            let rumor = self
                .store
                .iter()
                .filter(|n| n.reach == RUMOR_REACH && !n.is_peer)
                .filter(|n| !self.pending.iter().any(|p| p.ip6 == n.ip6))
                .max_by_key(|n| n.last_seen_ms)
                .map(|n| n.address);
            if let Some(node) = rumor {
                self.ping(&node, now_ms, rng, out);
            }
        }
        if now_ms < self.next_janitor_ms {
            return;
        }
        self.next_janitor_ms = now_ms.saturating_add(JANITOR_INTERVAL_MS);
        // Refresh one peer per tick, round robin.
        let peers = self.store.iter().filter(|n| n.is_peer).count();
        if peers > 0 {
            self.janitor_peer_cursor = (self.janitor_peer_cursor + 1) % peers;
            let peer = self
                .store
                .iter()
                .filter(|n| n.is_peer)
                .nth(self.janitor_peer_cursor)
                .map(|n| (n.address, n.ip6));
            if let Some(peer) = peer {
                self.send_query(
                    &peer.0,
                    peer.1,
                    QUERY_GET_PEERS,
                    &[0u8; 8],
                    Purpose::Maintenance,
                    now_ms,
                    rng,
                    out,
                );
            }
        }
        // One quiet search if none is running: every other one for our own address, so
        // that the nodes nearest us in keyspace (who answer searches for addresses near
        // ours) learn of us and we of them; the rest for random addresses to fill the table.
        if !self.store.is_empty() && !self.searches.iter().any(|s| s.quiet) {
            self.self_lookup_next = !self.self_lookup_next;
            let target = if self.self_lookup_next {
                *self.store.my_ip6()
            } else if self.store.len() < N {
                let mut target = [0u8; 16];
                rng.fill_bytes(&mut target);
                target[0] = crate::identity::ADDRESS_PREFIX;
                Ip6(target)
            } else {
                return;
            };
            self.start_search(&target, true, now_ms, rng, out);
        }
    }

    /// When [`poll`](Self::poll) next has work.
    pub fn poll_at(&self) -> u64 {
        let query_deadline = self
            .pending
            .iter()
            .map(|p| p.sent_ms.saturating_add(QUERY_TIMEOUT_MS))
            .min()
            .unwrap_or(u64::MAX);
        let search_deadline = self
            .searches
            .iter()
            .map(|s| s.started_ms.saturating_add(SEARCH_BUDGET_MS))
            .min()
            .unwrap_or(u64::MAX);
        self.next_janitor_ms
            .min(self.next_rumor_ping_ms)
            .min(query_deadline)
            .min(search_deadline)
    }

    /// Every known node, for stats and `dumpTable`.
    pub fn nodes(&self) -> impl Iterator<Item = NodeInfo> + '_ {
        let me = *self.store.my_ip6();
        self.store.iter().map(move |n| NodeInfo {
            ip6: n.ip6,
            address: n.address,
            reach: n.reach,
            last_seen_ms: n.last_seen_ms,
            bucket: bucket_of(&me, &n.ip6),
            is_peer: n.is_peer,
        })
    }
}
