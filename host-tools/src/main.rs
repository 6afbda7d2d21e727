//! `fc00ctl`: the command a person holds in their hand. Today: key tools that print exactly
//! what the reference's makekeys / privatetopublic / publictoip6 print.
//!
//! Exit codes scripts can rely on: 0 success, 1 a check found the input invalid,
//! 2 the input could not be read at all (usage, wrong length, bad base32, not an fc key).

mod key;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "fc00ctl",
    version,
    about = "fc00 mesh node tools: keys, devices, daemon administration",
    after_help = "Examples:\n  fc00ctl key gen\n  fc00ctl key gen --count 3 --json\n  \
                  fc00ctl key pub 889ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f\n  \
                  fc00ctl key addr 7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k\n  \
                  fc00ctl key check v22.0000.0000.0000.0013.7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate, convert and check node keys and addresses.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Simulate a mesh of nodes (deterministic): convergence, reachability, memory.
    Simulate(host_tools::sim::cli::SimulateArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Key(cmd) => key::run(cmd, &mut std::io::stdout().lock()),
        Command::Simulate(args) => return host_tools::sim::cli::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fc00ctl: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
