//! Up to three paths per session, ranked by an "effective metric" that worsens by one per
//! millisecond since the path was last validated (`net/SessionManager.c`).
//!
//! Metrics are internal to a node, never on the wire; the values follow `wire/Metric.h` so
//! the relative order of sources (peer, reply, DHT, incoming, outgoing) is the reference's.

/// Paths a session remembers.
pub const PATH_COUNT: usize = 3;

/// Metric values (lower is better), as `wire/Metric.h`.
pub mod metric {
    /// A direct peer according to the DHT pathfinder.
    pub const DHT_PEER: u32 = 0xff40_0000;
    /// The node answered a ping sent over this path.
    pub const PING_REPLY: u32 = 0xff50_0000;
    /// Base of metrics the DHT pathfinder reports.
    pub const DHT: u32 = 0xff60_0000;
    /// A packet arrived over this path (before CryptoAuth checked the key).
    pub const SM_INCOMING: u32 = 0xff70_0000;
    /// An upper layer sent over this path.
    pub const SM_SEND: u32 = 0xff71_0000;
    /// Nothing known about the path, but not known dead either.
    pub const NO_INFO: u32 = 0xffff_fffe;
    /// The path is dead (or there is none).
    pub const DEAD_LINK: u32 = 0xffff_ffff;
}

/// One path to a session's peer. `label == 0` marks an empty slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Path {
    pub label: u64,
    pub metric: u32,
    pub time_last_validated_ms: u64,
}

impl Path {
    /// The metric plus the age of the validation, capped at `NO_INFO` (so even a dead path
    /// reads as `NO_INFO` here, as in the reference). Empty slots rank below everything.
    pub fn effective_metric(&self, now_ms: u64) -> u32 {
        if self.label == 0 {
            return metric::DEAD_LINK;
        }
        let age = now_ms.saturating_sub(self.time_last_validated_ms);
        let sum = u64::from(self.metric).saturating_add(age);
        sum.min(u64::from(metric::NO_INFO)) as u32
    }
}

/// The ranked path slots of one session; slot 0 is always the best.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    pub slots: [Path; PATH_COUNT],
}

impl Paths {
    /// A fresh session's paths: slot 0 holds `label` (possibly 0, "no path yet") and is
    /// stamped now, which is what keeps a session without traffic alive for the timeout.
    pub fn new(label: u64, metric: u32, now_ms: u64) -> Self {
        let mut slots = [Path::default(); PATH_COUNT];
        slots[0] = Path {
            label,
            metric: if label == 0 {
                metric::DEAD_LINK
            } else {
                metric
            },
            time_last_validated_ms: now_ms,
        };
        Paths { slots }
    }

    pub fn best(&self) -> &Path {
        &self.slots[0]
    }

    /// The best path's label if it is usable for sending.
    pub fn usable_label(&self) -> Option<u64> {
        let best = self.best();
        (best.label != 0 && best.metric < metric::DEAD_LINK).then_some(best.label)
    }

    pub fn most_recent_validation_ms(&self) -> u64 {
        self.slots
            .iter()
            .map(|p| p.time_last_validated_ms)
            .max()
            .unwrap_or(0)
    }

    fn rerank(&mut self, now_ms: u64) {
        let mut best_metric = metric::DEAD_LINK;
        let mut best = 0;
        for (i, path) in self.slots.iter().enumerate() {
            let em = path.effective_metric(now_ms);
            if em < best_metric {
                best_metric = em;
                best = i;
            }
        }
        self.slots.swap(0, best);
    }

    fn worst_index(&self, now_ms: u64) -> usize {
        let mut worst_metric = 0;
        let mut worst = 0;
        for (i, path) in self.slots.iter().enumerate() {
            let em = path.effective_metric(now_ms);
            if em > worst_metric {
                worst_metric = em;
                worst = i;
            }
        }
        worst
    }

    /// Learn that `label` reaches the peer with `metric` (reference `discoverPath`).
    /// Returns true if `label` is a new path that became the best one.
    pub fn discover(&mut self, label: u64, metric: u32, now_ms: u64) -> bool {
        if label == 0 {
            return false;
        }
        if let Some(path) = self.slots.iter_mut().find(|p| p.label == label) {
            if metric != metric::DEAD_LINK && path.effective_metric(now_ms) <= metric {
                // What we have is already at least as good a source of truth.
                return false;
            }
            path.metric = metric;
            path.time_last_validated_ms = now_ms;
            self.rerank(now_ms);
            return false;
        }
        let worst = self.worst_index(now_ms);
        if self.slots[worst].effective_metric(now_ms) <= metric {
            return false;
        }
        self.slots[worst] = Path {
            label,
            metric,
            time_last_validated_ms: now_ms,
        };
        self.rerank(now_ms);
        self.slots[0].label == label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_path_becomes_best_and_fills_slots() {
        let mut p = Paths::new(0, metric::SM_SEND, 0);
        assert_eq!(p.usable_label(), None);
        assert!(p.discover(0x13, metric::SM_INCOMING, 10));
        assert_eq!(p.usable_label(), Some(0x13));
        // A better source of truth for another label takes over.
        assert!(p.discover(0x15, metric::PING_REPLY, 20));
        assert_eq!(p.best().label, 0x15);
        // A worse one is stored but not best.
        assert!(!p.discover(0x17, metric::SM_SEND, 30));
        assert_eq!(p.best().label, 0x15);
        assert!(p.slots.iter().any(|s| s.label == 0x17));
    }

    #[test]
    fn revalidation_and_death() {
        let mut p = Paths::new(0x13, metric::SM_INCOMING, 0);
        // Same metric right away: nothing newer to learn.
        assert!(!p.discover(0x13, metric::SM_INCOMING, 0));
        // Later it refreshes the timestamp.
        assert!(!p.discover(0x13, metric::SM_INCOMING, 500));
        assert_eq!(p.best().time_last_validated_ms, 500);
        assert!(!p.discover(0x13, metric::DEAD_LINK, 600));
        assert_eq!(p.usable_label(), None);
        assert_eq!(p.most_recent_validation_ms(), 600);
    }

    #[test]
    fn effective_metric_saturates() {
        let p = Path {
            label: 1,
            metric: metric::DEAD_LINK,
            time_last_validated_ms: 0,
        };
        assert_eq!(p.effective_metric(u64::MAX), metric::NO_INFO);
        assert_eq!(Path::default().effective_metric(5), metric::DEAD_LINK);
    }
}
