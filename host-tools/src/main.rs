//! `fc00ctl`: the command a person holds in their hand: keys, administration of a running
//! fc00d or cjdroute, the simulator. Exit codes are in [`host_tools::error`].

mod key;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use host_tools::admin::cli::AdminCommand;
use host_tools::error::EXIT_CODES_HELP;

const EXAMPLES: &str = "Examples:\n  \
    fc00ctl key gen\n  \
    fc00ctl key addr 7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k\n  \
    fc00ctl peers --config /etc/cjdroute.conf\n  \
    fc00ctl ping fc49:0c57:3941:5184:3de2:5d23:d54f:9a53 -c 5\n  \
    fc00ctl routes --json\n  \
    fc00ctl peer add 192.0.2.7:11223 <KEY>.k --password s3cret\n  \
    fc00ctl device info --port /dev/ttyACM0\n  \
    fc00ctl device stats --watch --port tcp:127.0.0.1:4444";

#[derive(Parser)]
#[command(
    name = "fc00ctl",
    version,
    about = "fc00 mesh node tools: keys, daemon administration, simulation",
    long_about = "fc00 mesh node tools: keys, daemon administration, simulation.\n\n\
        The admin commands talk to fc00d or a stock cjdroute (their admin APIs are the same): \
        --admin HOST:PORT and --password, or --config with the node's cjdroute.conf. \
        Every read command takes --json."
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
    #[command(flatten)]
    Admin(AdminCommand),
    /// A board running the fc00 firmware, over serial or tcp: info, keys, stats, peers.
    Device(host_tools::device::cli::DeviceCli),
    /// Simulate a mesh of nodes (deterministic): convergence, reachability, memory.
    Simulate(host_tools::sim::cli::SimulateArgs),
}

fn main() -> ExitCode {
    let command = with_exit_codes(Cli::command().after_help(EXAMPLES));
    let cli = match command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print and exit 0.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // A bare `fc00ctl` or `fc00ctl device`: the help, as a usage error.
            if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                let _ = e.print();
                return ExitCode::from(host_tools::error::EXIT_USAGE);
            }
            eprintln!("fc00ctl: {}", one_line(&e));
            return ExitCode::from(host_tools::error::EXIT_USAGE);
        }
    };
    let mut out = std::io::stdout().lock();
    let result = match cli.command {
        Command::Key(cmd) => key::run(cmd, &mut out),
        Command::Admin(cmd) => host_tools::admin::cli::run(cmd, &mut out),
        Command::Device(cmd) => host_tools::device::cli::run(cmd, &mut out),
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

/// Every command's `--help` ends with its examples and then the exit codes.
fn with_exit_codes(cmd: clap::Command) -> clap::Command {
    let text = match cmd.get_after_help() {
        Some(examples) => format!("{examples}\n\n{EXIT_CODES_HELP}"),
        None => EXIT_CODES_HELP.to_string(),
    };
    cmd.after_help(text).mut_subcommands(with_exit_codes)
}

/// clap's usage error on one line: its first line, and where to look.
fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("bad usage")
        .trim_start_matches("error: ");
    format!("{first} (see --help)")
}
