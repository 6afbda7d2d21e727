//! The node store: a bounded table of nodes we know a path to, one entry per key.
//!
//! Distance is the reference's: XOR of the fc addresses compared as four big-endian 32-bit
//! words, i.e. the XOR read as a 128-bit big-endian number (`Address_closest`). The
//! "bucket" of a node is the number of leading bits its address shares with ours.
//!
//! Eviction when full (a node is never evicted by crashing, and never a direct peer): the
//! candidate is the non-peer with the lowest reach inside the fullest bucket, ties going
//! to the one seen longest ago. So the far, crowded part of the keyspace sheds unreliable
//! nodes first while the few nodes near us (small buckets) survive, as a Kademlia table
//! would keep them. If every entry is a peer the new node is refused.

use crate::identity::{Ip6, NodeAddress};
use crate::switch::label::{log2, routes_through};

/// Reach given to a direct peer; high so that peers sort before anything learned.
pub const PEER_REACH: u32 = 1 << 20;
/// Reach of a node we were told about but have not heard from.
pub const RUMOR_REACH: u32 = 1;
/// Added when a node answers us.
pub const RESPONSE_REACH: u32 = 1 << 10;
/// Reach never grows past this for non-peers.
pub const MAX_REACH: u32 = PEER_REACH - 1;

/// One known node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// Key, best path from us and protocol version.
    pub address: NodeAddress,
    pub ip6: Ip6,
    /// Link quality: grows with answers, halves on timeouts; 0 = path considered broken.
    pub reach: u32,
    pub last_seen_ms: u64,
    pub is_peer: bool,
    /// Asked us not to be passed on to others (`dnd`).
    pub do_not_disturb: bool,
}

/// What [`NodeStore::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    /// A node we did not know.
    Added,
    /// A known node got a better path.
    PathImproved,
    /// Known, path kept (maybe refreshed).
    Unchanged,
    /// The table is full of peers, or the node is us.
    Refused,
}

impl InsertOutcome {
    /// Whether the caller should report a new usable path.
    pub fn is_new_path(self) -> bool {
        matches!(self, InsertOutcome::Added | InsertOutcome::PathImproved)
    }
}

/// `a` XOR `b` as a 128-bit number: the four BE words compared in order is exactly this.
pub fn xor_distance(a: &Ip6, b: &Ip6) -> u128 {
    u128::from_be_bytes(a.0) ^ u128::from_be_bytes(b.0)
}

/// Leading bits `a` and `b` share (128 when equal).
pub fn bucket_of(a: &Ip6, b: &Ip6) -> u8 {
    xor_distance(a, b).leading_zeros() as u8
}

/// Whether `new` is a better path than `old` to the same node: a working path beats a
/// broken one, then fewer label bits (roughly fewer hops) win.
fn better_path(new: u64, old: &StoredNode) -> bool {
    if new == old.address.label {
        return false;
    }
    if old.reach == 0 {
        return true;
    }
    log2(new) < log2(old.address.label)
}

/// A bounded node table of `N` entries.
#[derive(Clone, Debug)]
pub struct NodeStore<const N: usize> {
    my_ip6: Ip6,
    nodes: heapless::Vec<StoredNode, N>,
}

impl<const N: usize> NodeStore<N> {
    pub fn new(my_ip6: Ip6) -> Self {
        NodeStore {
            my_ip6,
            nodes: heapless::Vec::new(),
        }
    }

    pub fn my_ip6(&self) -> &Ip6 {
        &self.my_ip6
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &StoredNode> + '_ {
        self.nodes.iter()
    }

    pub fn get(&self, ip6: &Ip6) -> Option<&StoredNode> {
        self.nodes.iter().find(|n| n.ip6 == *ip6)
    }

    pub fn get_mut(&mut self, ip6: &Ip6) -> Option<&mut StoredNode> {
        self.nodes.iter_mut().find(|n| n.ip6 == *ip6)
    }

    /// The node whose stored path is exactly `label`.
    pub fn by_label(&self, label: u64) -> Option<&StoredNode> {
        self.nodes.iter().find(|n| n.address.label == label)
    }

    /// Learn or refresh a node. `ip6` must be `address.key`'s address (callers computed it
    /// once already). A peer's entry is only replaced by another peer path.
    pub fn insert(
        &mut self,
        address: NodeAddress,
        ip6: Ip6,
        reach: u32,
        is_peer: bool,
        now_ms: u64,
    ) -> InsertOutcome {
        if ip6 == self.my_ip6 {
            return InsertOutcome::Refused;
        }
        if let Some(node) = self.get_mut(&ip6) {
            let replace = if is_peer {
                !node.is_peer || node.address.label != address.label
            } else {
                !node.is_peer && better_path(address.label, node)
            };
            if address.version != 0 {
                node.address.version = address.version;
            }
            if replace {
                node.address.label = address.label;
                node.reach = reach;
                node.is_peer = is_peer;
                node.last_seen_ms = now_ms;
                return InsertOutcome::PathImproved;
            }
            if node.address.label == address.label {
                node.reach = node.reach.max(reach);
                node.last_seen_ms = now_ms;
            }
            return InsertOutcome::Unchanged;
        }
        let entry = StoredNode {
            address,
            ip6,
            reach,
            last_seen_ms: now_ms,
            is_peer,
            do_not_disturb: false,
        };
        if self.nodes.len() == N {
            let Some(victim) = self.eviction_candidate() else {
                return InsertOutcome::Refused;
            };
            self.nodes.swap_remove(victim);
        }
        match self.nodes.push(entry) {
            Ok(()) => InsertOutcome::Added,
            Err(_) => InsertOutcome::Refused,
        }
    }

    /// Index of the entry to drop for a newcomer (see the module docs), `None` if all
    /// entries are peers.
    fn eviction_candidate(&self) -> Option<usize> {
        let mut bucket_sizes = [0u16; 129];
        for n in self.nodes.iter().filter(|n| !n.is_peer) {
            let b = usize::from(bucket_of(&self.my_ip6, &n.ip6));
            if let Some(count) = bucket_sizes.get_mut(b) {
                *count += 1;
            }
        }
        let mut fullest = 0usize;
        for (b, &count) in bucket_sizes.iter().enumerate() {
            if count > bucket_sizes.get(fullest).copied().unwrap_or(0) {
                fullest = b;
            }
        }
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| !n.is_peer && usize::from(bucket_of(&self.my_ip6, &n.ip6)) == fullest)
            .min_by_key(|(_, n)| (n.reach, n.last_seen_ms))
            .map(|(i, _)| i)
    }

    /// Forget a node.
    pub fn remove(&mut self, ip6: &Ip6) -> Option<StoredNode> {
        let i = self.nodes.iter().position(|n| n.ip6 == *ip6)?;
        Some(self.nodes.swap_remove(i))
    }

    /// A direct peer went away: drop it and every path that went through it.
    pub fn peer_gone(&mut self, label: u64) {
        self.nodes
            .retain(|n| !(routes_through(n.address.label, label) && label > 1));
    }

    /// A node answered over `label`: strengthen that path.
    pub fn path_responded(&mut self, ip6: &Ip6, label: u64, now_ms: u64) {
        if let Some(n) = self.get_mut(ip6) {
            if n.address.label == label {
                if !n.is_peer {
                    n.reach = n.reach.saturating_add(RESPONSE_REACH).min(MAX_REACH);
                }
                n.last_seen_ms = now_ms;
            }
        }
    }

    /// A query over `label` went unanswered: weaken that path.
    pub fn path_timed_out(&mut self, ip6: &Ip6, label: u64) {
        if let Some(n) = self.get_mut(ip6) {
            if n.address.label == label && !n.is_peer {
                n.reach /= 2;
            }
        }
    }

    /// Up to `out.len()` nodes closest to `target`, as `NodeStore_getClosestNodes` picks
    /// and orders them: walk outward from the target's place in address order, always
    /// taking the XOR-closer of the two neighbours; we (the self node) take part in the walk
    /// but are never returned. The result is written farthest first, closest last, and its
    /// length returned. `usable` filters entries (e.g. reach, version).
    pub fn closest(
        &self,
        target: &Ip6,
        out: &mut [StoredNode],
        usable: impl Fn(&StoredNode) -> bool,
    ) -> usize {
        let t = u128::from_be_bytes(target.0);
        let mut next = self
            .neighbour(|k| k >= t, true)
            .or_else(|| self.neighbour(|_| true, false));
        let Some(first) = next else { return 0 };
        let first_key = self.key_of(first);
        let mut prev = self.neighbour(|k| k < first_key, false);
        let mut idx = out.len();
        while idx > 0 {
            let take_prev = match (prev, next) {
                (Some(p), Some(n)) => (self.key_of(p) ^ t) < (self.key_of(n) ^ t),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            let (slot, key) = match (take_prev, prev, next) {
                (true, Some(p), _) => (p, self.key_of(p)),
                (false, _, Some(n)) => (n, self.key_of(n)),
                _ => break,
            };
            if let Slot::Node(i) = slot {
                if let Some(node) = self.nodes.get(i).filter(|n| usable(n)) {
                    idx -= 1;
                    if let Some(o) = out.get_mut(idx) {
                        *o = *node;
                    }
                }
            }
            if take_prev {
                prev = self.neighbour(|k| k < key, false);
            } else {
                next = self.neighbour(|k| k > key, true);
            }
        }
        let found = out.len() - idx;
        out.copy_within(idx.., 0);
        found
    }

    fn key_of(&self, slot: Slot) -> u128 {
        match slot {
            Slot::Node(i) => self
                .nodes
                .get(i)
                .map_or(0, |n| u128::from_be_bytes(n.ip6.0)),
            Slot::Me => u128::from_be_bytes(self.my_ip6.0),
        }
    }

    /// Among ourselves and the stored nodes whose address passes `accept`, the one with
    /// the smallest address (`lowest`) or the largest: one step of the reference's
    /// red-black tree walk, done by scanning.
    fn neighbour(&self, accept: impl Fn(u128) -> bool, lowest: bool) -> Option<Slot> {
        let mut best: Option<(u128, Slot)> = None;
        let me = (u128::from_be_bytes(self.my_ip6.0), Slot::Me);
        let all = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (u128::from_be_bytes(n.ip6.0), Slot::Node(i)))
            .chain(core::iter::once(me));
        for (k, slot) in all {
            if !accept(k) {
                continue;
            }
            let better = match best {
                None => true,
                Some((b, _)) => (lowest && k < b) || (!lowest && k > b),
            };
            if better {
                best = Some((k, slot));
            }
        }
        best.map(|(_, s)| s)
    }

    /// The single best next hop toward `target` (`NodeStore_getBest`, simplified): the
    /// target itself if known and verified, else the verified node XOR-closest to it
    /// that is closer than we are. Rumors (nodes that never answered us) are not offered.
    pub fn best_next_hop(&self, target: &Ip6) -> Option<&StoredNode> {
        if let Some(n) = self.get(target).filter(|n| n.reach > RUMOR_REACH) {
            return Some(n);
        }
        let my_distance = xor_distance(&self.my_ip6, target);
        self.nodes
            .iter()
            .filter(|n| n.reach > RUMOR_REACH && xor_distance(&n.ip6, target) < my_distance)
            .min_by_key(|n| xor_distance(&n.ip6, target))
    }
}

/// A position in the address-ordered walk: a stored node, or ourselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Me,
    Node(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PublicKey;

    /// An fc address ending in `low`, all other bytes after `fc` zero.
    fn ip(low: u8) -> Ip6 {
        let mut a = [0u8; 16];
        a[0] = 0xfc;
        a[15] = low;
        Ip6(a)
    }

    fn node(low: u8) -> (NodeAddress, Ip6) {
        let address = NodeAddress {
            version: 22,
            label: 0x13 + u64::from(low) * 0x100,
            key: PublicKey([low; 32]),
        };
        (address, ip(low))
    }

    fn store_with(me: Ip6, lows: &[u8]) -> NodeStore<8> {
        let mut store = NodeStore::new(me);
        for &low in lows {
            let (a, i) = node(low);
            assert_eq!(store.insert(a, i, 5, false, 0), InsertOutcome::Added);
        }
        store
    }

    fn lows(found: &[StoredNode]) -> [u8; 4] {
        let mut out = [0u8; 4];
        for (o, n) in out.iter_mut().zip(found) {
            *o = n.ip6.0[15];
        }
        out
    }

    #[test]
    fn distance_and_bucket() {
        assert_eq!(xor_distance(&ip(8), &ip(9)), 1);
        assert_eq!(bucket_of(&ip(8), &ip(9)), 127);
        assert_eq!(bucket_of(&ip(8), &ip(8)), 128);
        let mut far = ip(0);
        far.0[1] = 0x80;
        assert_eq!(bucket_of(&ip(0), &far), 8);
    }

    #[test]
    fn closest_walks_address_order_like_the_reference() {
        // Sorted: 4 7 [8] 9. The walk from 8 sees 7 before 4 on the low side, so with
        // room for two it answers {7, 9} although 4 is XOR-closer than 7 (4^8=12, 7^8=15).
        let store = store_with(ip(0xf0), &[4, 7, 9]);
        let blank = store.iter().next().copied().unwrap();
        let mut out = [blank; 2];
        let n = store.closest(&ip(8), &mut out, |_| true);
        assert_eq!(n, 2);
        assert_eq!(
            &lows(&out[..n])[..2],
            &[7, 9],
            "farthest first, closest last"
        );
        let mut out = [blank; 4];
        let n = store.closest(&ip(8), &mut out, |_| true);
        assert_eq!(&lows(&out[..n])[..3], &[4, 7, 9]);
    }

    #[test]
    fn closest_steps_over_ourselves_and_filtered_nodes() {
        // We sit at 10, between 9 and 12: we take part in the walk but are not returned.
        let store = store_with(ip(10), &[9, 12, 13]);
        let blank = store.iter().next().copied().unwrap();
        let mut out = [blank; 8];
        let n = store.closest(&ip(11), &mut out, |_| true);
        // Walk: us (skipped), 9, then 12 before 13 although 13^11 < 12^11.
        assert_eq!(&lows(&out[..n])[..3], &[13, 12, 9]);
        let n = store.closest(&ip(11), &mut out, |n| n.ip6 != ip(13));
        assert_eq!(&lows(&out[..n])[..2], &[12, 9]);
        // Past the end of the address space: start from the largest.
        let n = store.closest(&ip(0xff), &mut out, |_| true);
        assert_eq!(n, 3);
    }

    #[test]
    fn peers_are_pinned_and_the_crowded_bucket_sheds_its_worst() {
        let me = ip(0);
        let mut store: NodeStore<3> = NodeStore::new(me);
        let (mut peer, peer_ip) = node(1);
        peer.label = 0x13;
        store.insert(peer, peer_ip, PEER_REACH, true, 0);
        let (a, a_ip) = node(0x80); // bucket 120
        let (b, b_ip) = node(0x81); // bucket 120
        store.insert(a, a_ip, 10, false, 1);
        store.insert(b, b_ip, 3, false, 2);
        let (c, c_ip) = node(0x40); // bucket 121
        assert_eq!(store.insert(c, c_ip, 1, false, 3), InsertOutcome::Added);
        assert!(
            store.get(&b_ip).is_none(),
            "lowest reach in the fullest bucket"
        );
        assert!(store.get(&a_ip).is_some() && store.get(&peer_ip).is_some());
        store.peer_gone(0x13);
        assert!(store.get(&peer_ip).is_none());
    }

    #[test]
    fn refuses_ourselves() {
        let mut store: NodeStore<2> = NodeStore::new(ip(5));
        let (a, _) = node(5);
        assert_eq!(store.insert(a, ip(5), 1, false, 0), InsertOutcome::Refused);
    }
}
