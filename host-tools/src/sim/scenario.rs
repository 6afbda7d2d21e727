//! The standard measurement: build a topology, wait for every peering to come up, then ping
//! random pairs end to end as users would, and report what happened.

use std::fmt::Write as _;
use std::time::Instant;

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use protocol_core::router::RouterStats;

use super::{LinkParams, Sim, SimCounters, Topology};

fn add_router_stats(sum: &mut RouterStats, s: &RouterStats) {
    sum.maintenance_queries += s.maintenance_queries;
    sum.search_queries += s.search_queries;
    sum.user_pings += s.user_pings;
    sum.replies += s.replies;
    sum.timeouts += s.timeouts;
    sum.pending_evicted += s.pending_evicted;
    sum.searches_started += s.searches_started;
    sum.searches_found += s.searches_found;
    sum.searches_failed += s.searches_failed;
    sum.searches_refused += s.searches_refused;
}

/// RNG streams of the scenario itself (nodes use small stream numbers).
const TOPOLOGY_STREAM: u64 = u64::MAX;
const PAIRS_STREAM: u64 = u64::MAX - 1;

/// What to simulate.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub nodes: usize,
    pub topology: Topology,
    pub seed: u64,
    /// Random (source, destination) pairs to ping after convergence.
    pub pairs: usize,
    /// Frame loss probability on every link, in [0, 1].
    pub loss: f64,
    /// Each link's latency is drawn uniformly from this range (inclusive).
    pub latency_ms: (u64, u64),
    /// Give up waiting for all peers to come up after this long (pings are sent anyway).
    pub converge_budget_ms: u64,
    /// Extra wait between convergence and the first ping.
    pub settle_ms: u64,
    /// The pings' first attempts are spread evenly over this window.
    pub spread_ms: u64,
    /// Attempts per ping (1 + retries) and the wait for a reply after each.
    pub attempts: u32,
    pub retry_after_ms: u64,
    /// Stop after this many simulator events (a runaway run reports `budget_exhausted`).
    pub max_events: u64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            nodes: 10,
            topology: Topology::Random,
            seed: 1,
            pairs: 100,
            loss: 0.0,
            latency_ms: (2, 30),
            converge_budget_ms: 120_000,
            settle_ms: 0,
            spread_ms: 10_000,
            attempts: 3,
            retry_after_ms: 5_000,
            max_events: 50_000_000,
        }
    }
}

impl Scenario {
    /// How long one ping may take: every attempt and the wait after it.
    pub fn ping_budget_ms(&self) -> u64 {
        u64::from(self.attempts.max(1)) * self.retry_after_ms
    }

    /// Build the network: nodes, then links in the topology's order.
    pub fn build<const P: usize, const S: usize, const N: usize>(&self) -> (Sim<P, S, N>, usize) {
        let mut sim = Sim::<P, S, N>::new(self.seed);
        for _ in 0..self.nodes {
            sim.add_node();
        }
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed);
        rng.set_stream(TOPOLOGY_STREAM);
        let edges = self.topology.edges(self.nodes, P, &mut rng);
        let (lo, hi) = (self.latency_ms.0, self.latency_ms.1.max(self.latency_ms.0));
        for &(a, b) in &edges {
            let latency_ms = lo + rng.next_u64() % (hi - lo + 1);
            sim.link_udp(
                a,
                b,
                LinkParams {
                    latency_ms,
                    loss: self.loss,
                },
            );
        }
        (sim, edges.len())
    }

    /// Run the whole measurement with capacities `P` peers, `S` sessions, `N` store entries.
    pub fn run<const P: usize, const S: usize, const N: usize>(&self) -> Report {
        let wall = Instant::now();
        let (mut sim, edges) = self.build::<P, S, N>();
        sim.set_event_budget(self.max_events);
        let setup_wall_ms = wall.elapsed().as_millis() as u64;
        let run_wall = Instant::now();

        let converged_ms = sim.run_until_converged(self.converge_budget_ms);
        let peers_up: usize = (0..sim.len()).map(|i| sim.peers_up(i).len()).sum();
        let peers_expected: usize = (0..sim.len()).map(|i| sim.peers_expected(i).len()).sum();
        let routes_at_convergence = sim.counters().routes_found;

        let start = sim.now() + self.settle_ms;
        let mut rng = ChaCha20Rng::seed_from_u64(self.seed);
        rng.set_stream(PAIRS_STREAM);
        let n = self.nodes as u64;
        if n >= 2 {
            for k in 0..self.pairs as u64 {
                let src = rng.next_u64() % n;
                let dst = (src + 1 + rng.next_u64() % (n - 1)) % n;
                let at = start + k * self.spread_ms / (self.pairs as u64).max(1);
                sim.schedule_ping(
                    src as usize,
                    dst as usize,
                    at,
                    self.attempts,
                    self.retry_after_ms,
                );
            }
        }
        let deadline = start + self.spread_ms + self.ping_budget_ms() + 1;
        sim.run_while(deadline, |s| s.pings_open() == 0);
        let run_wall_ms = run_wall.elapsed().as_millis() as u64;

        let budget = self.ping_budget_ms();
        let within = |t: Option<u64>, first: u64| t.is_some_and(|t| t <= first + budget);
        let pings = sim.pings();
        let delivered = pings
            .iter()
            .filter(|p| within(p.delivered_at, p.first_at))
            .count();
        let answered = pings
            .iter()
            .filter(|p| within(p.replied_at, p.first_at))
            .count();
        let first_try = pings
            .iter()
            .filter(|p| {
                p.replied_at
                    .is_some_and(|t| t < p.first_at + p.retry_after_ms)
            })
            .count();
        let mut rtt: Vec<u64> = pings
            .iter()
            .filter_map(|p| p.replied_at.map(|t| t - p.first_at))
            .collect();
        rtt.sort_unstable();
        let pct = |q: f64| -> Option<u64> {
            if rtt.is_empty() {
                return None;
            }
            let i = ((rtt.len() - 1) as f64 * q).round() as usize;
            Some(rtt[i])
        };
        let attempts_sent = pings.iter().map(|p| u64::from(p.attempts)).sum();
        let store: usize = (0..sim.len()).map(|i| sim.node(i).stats().node_store).sum();
        let sessions: usize = (0..sim.len()).map(|i| sim.node(i).stats().sessions).sum();
        let mut forwarded = 0;
        let mut drain_limit_hit = 0;
        let mut cjdht_queue_full = 0;
        let mut router = RouterStats::default();
        for i in 0..sim.len() {
            let s = sim.node(i).stats();
            add_router_stats(&mut router, &s.router);
            forwarded += s.switch.forwarded;
            drain_limit_hit += s.node.drain_limit_hit;
            cjdht_queue_full += s.node.cjdht_queue_full;
        }
        let nodes = sim.len().max(1) as f64;
        Report {
            nodes: self.nodes,
            topology: self.topology,
            seed: self.seed,
            edges,
            loss: self.loss,
            capacities: (P, S, N),
            converged_ms,
            peers_up,
            peers_expected,
            routes_at_convergence,
            pairs_attempted: pings.len(),
            pairs_delivered: delivered,
            pairs_answered: answered,
            pairs_first_attempt: first_try,
            attempts_sent,
            ping_budget_ms: budget,
            rtt_p50_ms: pct(0.5),
            rtt_p90_ms: pct(0.9),
            rtt_max_ms: rtt.last().copied(),
            node_store_avg: store as f64 / nodes,
            sessions_avg: sessions as f64 / nodes,
            forwarded,
            drain_limit_hit,
            cjdht_queue_full,
            router,
            node_bytes: Sim::<P, S, N>::node_bytes(),
            host_overhead_bytes: Sim::<P, S, N>::host_overhead_bytes(),
            sim_end_ms: sim.now(),
            counters: *sim.counters(),
            drop_reasons: sim.drop_reasons().clone(),
            setup_wall_ms,
            run_wall_ms,
            trace_hash: sim.trace_hash(),
            budget_exhausted: sim.budget_exhausted(),
        }
    }
}

/// The figures of one run. Times are simulated milliseconds unless named `wall`.
#[derive(Clone, Debug)]
pub struct Report {
    pub nodes: usize,
    pub topology: Topology,
    pub seed: u64,
    pub edges: usize,
    pub loss: f64,
    /// (peers, sessions, node-store entries) per node.
    pub capacities: (usize, usize, usize),
    /// When every configured peering was up on both sides (None: not within the budget).
    pub converged_ms: Option<u64>,
    pub peers_up: usize,
    pub peers_expected: usize,
    pub routes_at_convergence: u64,
    pub pairs_attempted: usize,
    /// Requests that reached their destination within the budget.
    pub pairs_delivered: usize,
    /// Replies that came back to the source within the budget.
    pub pairs_answered: usize,
    /// Answered before a retry was needed.
    pub pairs_first_attempt: usize,
    pub attempts_sent: u64,
    pub ping_budget_ms: u64,
    /// First attempt to reply, over the answered pings.
    pub rtt_p50_ms: Option<u64>,
    pub rtt_p90_ms: Option<u64>,
    pub rtt_max_ms: Option<u64>,
    pub node_store_avg: f64,
    pub sessions_avg: f64,
    /// Frames nodes switched on for others (all nodes, at the end).
    pub forwarded: u64,
    pub drain_limit_hit: u64,
    pub cjdht_queue_full: u64,
    /// The routers' counters summed over all nodes.
    pub router: RouterStats,
    /// `size_of::<Node<P, S, N>>()`: the whole state of a node.
    pub node_bytes: usize,
    /// The simulator's own per-node bookkeeping besides the node.
    pub host_overhead_bytes: usize,
    pub sim_end_ms: u64,
    pub counters: SimCounters,
    /// Session-layer drops by reason.
    pub drop_reasons: std::collections::BTreeMap<String, u64>,
    pub setup_wall_ms: u64,
    pub run_wall_ms: u64,
    pub trace_hash: u64,
    /// The run hit `max_events` and was cut short.
    pub budget_exhausted: bool,
}

impl Report {
    pub fn delivered_ratio(&self) -> f64 {
        ratio(self.pairs_delivered, self.pairs_attempted)
    }

    pub fn answered_ratio(&self) -> f64 {
        ratio(self.pairs_answered, self.pairs_attempted)
    }

    pub fn to_json(&self) -> serde_json::Value {
        let c = &self.counters;
        let counters = serde_json::json!({
            "events": c.events,
            "polls": c.polls,
            "frames_delivered": c.frames_delivered,
            "frames_lost": c.frames_lost,
            "frames_unroutable": c.frames_unroutable,
            "routes_found": c.routes_found,
            "searches_started": c.searches_started,
            "searches_failed": c.searches_failed,
            "sessions_started": c.sessions_started,
            "sessions_evicted": c.sessions_evicted,
            "session_drops": c.session_drops,
            "switch_errors": c.switch_errors,
            "ipv6_corrupt": c.ipv6_corrupt,
        });
        let mut v = serde_json::json!({
            "nodes": self.nodes,
            "topology": self.topology.name(),
            "seed": self.seed,
            "edges": self.edges,
            "loss": self.loss,
            "capacities": {"peers": self.capacities.0, "sessions": self.capacities.1,
                           "node_store": self.capacities.2},
            "converged_ms": self.converged_ms,
            "peers_up": self.peers_up,
            "peers_expected": self.peers_expected,
            "routes_at_convergence": self.routes_at_convergence,
            "pairs_attempted": self.pairs_attempted,
            "pairs_delivered": self.pairs_delivered,
            "pairs_answered": self.pairs_answered,
            "pairs_first_attempt": self.pairs_first_attempt,
            "attempts_sent": self.attempts_sent,
            "ping_budget_ms": self.ping_budget_ms,
            "rtt_ms": {"p50": self.rtt_p50_ms, "p90": self.rtt_p90_ms, "max": self.rtt_max_ms},
            "node_store_avg": self.node_store_avg,
            "sessions_avg": self.sessions_avg,
            "forwarded": self.forwarded,
            "session_drop_reasons": self.drop_reasons,
            "router": {
                "maintenance_queries": self.router.maintenance_queries,
                "search_queries": self.router.search_queries,
                "user_pings": self.router.user_pings,
                "replies": self.router.replies,
                "timeouts": self.router.timeouts,
                "pending_evicted": self.router.pending_evicted,
                "searches_started": self.router.searches_started,
                "searches_found": self.router.searches_found,
                "searches_failed": self.router.searches_failed,
                "searches_refused": self.router.searches_refused,
            },
            "drain_limit_hit": self.drain_limit_hit,
            "cjdht_queue_full": self.cjdht_queue_full,
            "node_bytes": self.node_bytes,
            "host_overhead_bytes": self.host_overhead_bytes,
            "sim_end_ms": self.sim_end_ms,
            "setup_wall_ms": self.setup_wall_ms,
            "run_wall_ms": self.run_wall_ms,
            "trace_hash": format!("{:016x}", self.trace_hash),
            "budget_exhausted": self.budget_exhausted,
        });
        v["counters"] = counters;
        v
    }

    /// A two-column table for people.
    pub fn table(&self) -> String {
        let c = &self.counters;
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v} ms"));
        let mut rows: Vec<(&str, String)> = vec![
            (
                "network",
                format!(
                    "{} nodes, {} topology, {} links, seed {}, loss {:.1} %",
                    self.nodes,
                    self.topology,
                    self.edges,
                    self.seed,
                    self.loss * 100.0
                ),
            ),
            (
                "capacities",
                format!(
                    "{} peers, {} sessions, {} node-store entries",
                    self.capacities.0, self.capacities.1, self.capacities.2
                ),
            ),
            (
                "convergence",
                match self.converged_ms {
                    Some(t) => format!("all peers up at {t} ms"),
                    None => format!(
                        "NOT converged: {}/{} peerings up",
                        self.peers_up, self.peers_expected
                    ),
                },
            ),
            (
                "pings delivered",
                format!(
                    "{}/{} ({:.1} %) within {} ms",
                    self.pairs_delivered,
                    self.pairs_attempted,
                    self.delivered_ratio() * 100.0,
                    self.ping_budget_ms
                ),
            ),
            (
                "pings answered",
                format!(
                    "{}/{} ({:.1} %), {} on the first attempt, {} attempts sent",
                    self.pairs_answered,
                    self.pairs_attempted,
                    self.answered_ratio() * 100.0,
                    self.pairs_first_attempt,
                    self.attempts_sent
                ),
            ),
            (
                "round trip",
                format!(
                    "p50 {}, p90 {}, max {} (from the first attempt)",
                    opt(self.rtt_p50_ms),
                    opt(self.rtt_p90_ms),
                    opt(self.rtt_max_ms)
                ),
            ),
            (
                "routes found",
                format!(
                    "{} ({} before the pings), searches {} started / {} failed",
                    c.routes_found,
                    self.routes_at_convergence,
                    c.searches_started,
                    c.searches_failed
                ),
            ),
            (
                "per node (end)",
                format!(
                    "{:.1} node-store entries, {:.1} sessions",
                    self.node_store_avg, self.sessions_avg
                ),
            ),
            (
                "node memory",
                format!(
                    "{} bytes ({:.1} KiB) per node (+{} simulator), {:.1} MiB for all",
                    self.node_bytes,
                    self.node_bytes as f64 / 1024.0,
                    self.host_overhead_bytes,
                    (self.node_bytes * self.nodes) as f64 / (1024.0 * 1024.0)
                ),
            ),
            (
                "traffic",
                format!(
                    "{} frames delivered, {} lost, {} forwarded by relays, {} switch errors",
                    c.frames_delivered, c.frames_lost, self.forwarded, c.switch_errors
                ),
            ),
            (
                "simulated",
                format!(
                    "{} ms, {} events, {} polls",
                    self.sim_end_ms, c.events, c.polls
                ),
            ),
            (
                "wall time",
                format!(
                    "{} ms setup (keys), {} ms run",
                    self.setup_wall_ms, self.run_wall_ms
                ),
            ),
            ("trace hash", format!("{:016x}", self.trace_hash)),
        ];
        if self.drain_limit_hit + self.cjdht_queue_full + c.ipv6_corrupt > 0
            || self.budget_exhausted
        {
            rows.push((
                "warnings",
                format!(
                    "drain limit hit {}, cjdht queue full {}, corrupt echoes {}{}",
                    self.drain_limit_hit,
                    self.cjdht_queue_full,
                    c.ipv6_corrupt,
                    if self.budget_exhausted {
                        ", EVENT BUDGET EXHAUSTED (run cut short)"
                    } else {
                        ""
                    }
                ),
            ));
        }
        let mut s = String::new();
        for (k, v) in rows {
            let _ = writeln!(s, "{k:<16} {v}");
        }
        s
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}
