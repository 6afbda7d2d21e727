//! `fc00ctl simulate`: one scenario run, printed as a table or JSON.

use std::process::ExitCode;

use clap::Args;

use super::{Scenario, Topology, NODE_STORE, PEERS, SESSIONS};

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Number of nodes.
    #[arg(long, default_value_t = 50)]
    pub nodes: usize,
    /// line, ring, grid or random (connected, average degree about 3.5).
    #[arg(long, default_value_t = Topology::Random)]
    pub topology: Topology,
    /// Seed of every random choice: same seed, same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Random node pairs pinged end to end after the peerings are up.
    #[arg(long, default_value_t = 100)]
    pub pairs: usize,
    /// Frame loss on every link, in percent.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Link latency range in ms, as MIN-MAX (each link draws one value).
    #[arg(long, default_value = "2-30", value_parser = parse_range)]
    pub latency: (u64, u64),
    /// Ping attempts per pair (the first plus retries) and the wait after each, in ms.
    #[arg(long, default_value_t = 3)]
    pub attempts: u32,
    #[arg(long, default_value_t = 5_000)]
    pub retry_ms: u64,
    /// Simulated time allowed for all peerings to come up, in ms.
    #[arg(long, default_value_t = 120_000)]
    pub converge_budget_ms: u64,
    /// Simulated time between convergence and the first ping, in ms (the mesh fills its
    /// routing tables meanwhile, as a real one has before people use it).
    #[arg(long, default_value_t = 0)]
    pub settle_ms: u64,
    /// The pings' first attempts are spread evenly over this window, in ms.
    #[arg(long, default_value_t = 10_000)]
    pub spread_ms: u64,
    /// Cut the run short after this many simulator events (reported as a warning).
    #[arg(long, default_value_t = 50_000_000)]
    pub max_events: u64,
    /// Capacities of every node: `mcu` (8 peers, 16 sessions, 128 nodes: the firmware's
    /// 64 KiB budget) or `router` (32 peers, 64 sessions, 512 nodes: fc00d's).
    #[arg(long, value_enum, default_value_t = Profile::Mcu)]
    pub profile: Profile,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Node capacities, as the builds that ship use them.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    Mcu,
    Router,
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u64 = a.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    let b: u64 = b.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    if a > b {
        return Err(format!("{s:?}: minimum above maximum"));
    }
    Ok((a, b))
}

/// Exit 0 when every pinged pair was answered, 1 otherwise (so scripts can gate on it),
/// 2 on unusable arguments.
pub fn run(args: &SimulateArgs) -> ExitCode {
    if !(0.0..=100.0).contains(&args.loss) {
        eprintln!("fc00ctl: --loss is a percentage between 0 and 100");
        return ExitCode::from(2);
    }
    let scenario = Scenario {
        nodes: args.nodes,
        topology: args.topology,
        seed: args.seed,
        pairs: args.pairs,
        loss: args.loss / 100.0,
        latency_ms: args.latency,
        converge_budget_ms: args.converge_budget_ms,
        attempts: args.attempts,
        retry_after_ms: args.retry_ms,
        max_events: args.max_events,
        settle_ms: args.settle_ms,
        spread_ms: args.spread_ms,
    };
    let report = match args.profile {
        Profile::Mcu => scenario.run::<PEERS, SESSIONS, NODE_STORE>(),
        Profile::Router => scenario.run::<32, 64, 512>(),
    };
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.table());
    }
    if report.pairs_answered == report.pairs_attempted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
