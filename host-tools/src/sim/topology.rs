//! Who peers with whom: edge lists for the standard shapes.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use rand_core::RngCore;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topology {
    /// 0 — 1 — 2 — … — n-1.
    Line,
    /// A line closed into a circle.
    Ring,
    /// A square-ish grid, rows of ⌈√n⌉ nodes, each joined to its right and lower neighbour.
    Grid,
    /// A connected random graph: a random tree plus random chords, average degree about 3.5,
    /// no node above the peer-table capacity.
    Random,
}

impl Topology {
    pub const ALL: [Topology; 4] = [
        Topology::Line,
        Topology::Ring,
        Topology::Grid,
        Topology::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topology::Line => "line",
            Topology::Ring => "ring",
            Topology::Grid => "grid",
            Topology::Random => "random",
        }
    }

    /// Undirected edges `(a, b)` with `a < b`, in a deterministic order; `max_degree` bounds
    /// every node's degree (the random shape honours it; the fixed shapes never exceed 4).
    pub fn edges(self, n: usize, max_degree: usize, rng: &mut impl RngCore) -> Vec<(usize, usize)> {
        match self {
            Topology::Line => (1..n).map(|i| (i - 1, i)).collect(),
            Topology::Ring => {
                let mut e: Vec<_> = (1..n).map(|i| (i - 1, i)).collect();
                if n >= 3 {
                    e.push((0, n - 1));
                }
                e
            }
            Topology::Grid => {
                let width = grid_width(n);
                let mut e = Vec::new();
                for i in 0..n {
                    if (i + 1) % width != 0 && i + 1 < n {
                        e.push((i, i + 1));
                    }
                    if i + width < n {
                        e.push((i, i + width));
                    }
                }
                e
            }
            Topology::Random => random_graph(n, 3.5, max_degree.max(2), rng),
        }
    }
}

/// Row length of the grid for `n` nodes.
pub fn grid_width(n: usize) -> usize {
    let mut w = 1;
    while w * w < n {
        w += 1;
    }
    w
}

fn below(rng: &mut impl RngCore, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

/// A random spanning tree (each node joins an earlier one that has room), then chords between
/// random pairs until the average degree reaches `average_degree`.
fn random_graph(
    n: usize,
    average_degree: f64,
    max_degree: usize,
    rng: &mut impl RngCore,
) -> Vec<(usize, usize)> {
    let mut degree = vec![0usize; n];
    let mut seen = HashSet::new();
    let mut edges = Vec::new();
    let mut add = |a: usize, b: usize, degree: &mut Vec<usize>, edges: &mut Vec<(usize, usize)>| {
        let e = (a.min(b), a.max(b));
        if a == b || degree[a] >= max_degree || degree[b] >= max_degree || !seen.insert(e) {
            return false;
        }
        degree[a] += 1;
        degree[b] += 1;
        edges.push(e);
        true
    };
    for i in 1..n {
        // Tree: an earlier node with a free slot (a few tries, then the most recent one,
        // which always has room because it was joined by one edge only).
        let mut joined = false;
        for _ in 0..16 {
            let j = below(rng, i);
            if add(i, j, &mut degree, &mut edges) {
                joined = true;
                break;
            }
        }
        if !joined {
            let free = (0..i)
                .rev()
                .find(|&j| degree[j] < max_degree)
                .unwrap_or(i - 1);
            add(i, free, &mut degree, &mut edges);
        }
    }
    let target = ((n as f64) * average_degree / 2.0).round() as usize;
    let mut tries = 0;
    while edges.len() < target && tries < target * 20 && n >= 2 {
        tries += 1;
        let a = below(rng, n);
        let b = below(rng, n);
        add(a, b, &mut degree, &mut edges);
    }
    edges
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Topology {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Topology::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| format!("unknown topology {s:?} (line, ring, grid, random)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn connected(n: usize, edges: &[(usize, usize)]) -> bool {
        let mut adj = vec![Vec::new(); n];
        for &(a, b) in edges {
            adj[a].push(b);
            adj[b].push(a);
        }
        let mut seen = vec![false; n];
        let mut stack = vec![0];
        seen[0] = true;
        while let Some(x) = stack.pop() {
            for &y in &adj[x] {
                if !seen[y] {
                    seen[y] = true;
                    stack.push(y);
                }
            }
        }
        seen.into_iter().all(|s| s)
    }

    #[test]
    fn shapes_are_connected_and_bounded() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for t in Topology::ALL {
            for n in [2, 3, 10, 37, 200] {
                let e = t.edges(n, 8, &mut rng);
                assert!(connected(n, &e), "{t} {n}");
                let mut deg = vec![0; n];
                for &(a, b) in &e {
                    assert!(a < b);
                    deg[a] += 1;
                    deg[b] += 1;
                }
                assert!(deg.iter().all(|&d| d <= 8), "{t} {n}");
            }
        }
        let e = Topology::Random.edges(1000, 8, &mut rng);
        let avg = 2.0 * e.len() as f64 / 1000.0;
        assert!((3.0..=4.0).contains(&avg), "{avg}");
        assert_eq!(Topology::Grid.edges(9, 8, &mut rng).len(), 12);
        assert_eq!(Topology::Ring.edges(5, 8, &mut rng).len(), 5);
    }
}
