//! `fc00d` — run a fc00 (cjdns-compatible) node.
//!
//! `fc00d`                  zero-config node, identity kept in the state directory
//! `fc00d --config PATH`    run with a cjdroute.conf
//! `fc00d --genconf`        print a fresh commented config
//! `fc00d --check PATH`     validate a config, exit 0 or 1
//! `fc00d --uci [PATH]`     print the config made from OpenWrt's /etc/config/fc00
//! `fc00d --uci-firewall [PATH]`  print `uci batch` lines for its network/firewall/DHCP

use std::process::ExitCode;

use fc00d::config::{self, Config};
use fc00d::daemon::Daemon;
use fc00d::{log_error, log_info, log_warn, state, sys};
use protocol_core::identity::generate_keypair;
use rand_core::{OsRng, RngCore};

const USAGE: &str = "usage: fc00d [--config PATH | --genconf | --check PATH | --uci [PATH] |
             --uci-firewall [PATH] | --version | --help]
  (no arguments)   zero-config node: identity in $FC00_STATE_DIR (else /var/lib/fc00 as root,
                   else $XDG_STATE_HOME/fc00 or ~/.local/state/fc00), UDP port 11223,
                   Ethernet beacons, TUN, admin on 127.0.0.1:11234
  --config PATH    run in the foreground with a cjdroute.conf
  --genconf        print a fresh commented config
  --check PATH     validate a config; exit 0 if usable, 1 with the error
  --uci [PATH]     print the cjdroute.conf made from a UCI file (default /etc/config/fc00)
  --uci-firewall [PATH]
                   print `uci batch` lines for the TUN's network interface, firewall zone
                   and gateway mode (masquerade, port forwards) from the same UCI file
  --version        print the version
environment: FC00_LOG=error|warn|info|debug";

fn load(path: &str) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    config::parse(&text).map_err(|e| format!("{path}: {e}"))
}

fn genconf() -> String {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let port = 1024 + (OsRng.next_u32() % (65535 - 1024)) as u16;
    let mut pw = [0u8; 16];
    OsRng.fill_bytes(&mut pw);
    let password: String = pw.iter().map(|b| format!("{b:02x}")).collect();
    config::genconf(&key, port, &password)
}

/// `--uci` / `--uci-firewall`: read the UCI file and print what `convert` makes of it.
fn uci_command(
    path: Option<&str>,
    convert: fn(&[fc00d::uci::Section]) -> Result<String, fc00d::uci::UciError>,
) -> ExitCode {
    let path = path.unwrap_or("/etc/config/fc00");
    let result = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| {
            fc00d::uci::parse(&text)
                .and_then(|s| convert(&s))
                .map_err(|e| e.to_string())
        });
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    fc00d::log::init_from_env();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config_path = match args.as_slice() {
        [flag, path] if flag == "--config" => Some(path.clone()),
        _ => None,
    };
    let cfg = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {
            let dir = state::state_dir();
            match state::load_or_create_key(&dir) {
                Ok((key, path, new)) => {
                    let what = if new { "created" } else { "using" };
                    log_info!("{what} identity {}", path.display());
                    Config::zero(key)
                }
                Err(e) => {
                    log_error!("identity: {e} (set FC00_STATE_DIR to choose another directory)");
                    return ExitCode::FAILURE;
                }
            }
        }
        ["--config", path] => match load(path) {
            Ok(c) => c,
            Err(e) => {
                log_error!("{e}");
                return ExitCode::FAILURE;
            }
        },
        ["--check", path] => {
            return match load(path) {
                Ok(c) => {
                    for w in &c.warnings {
                        eprintln!("warning: {w}");
                    }
                    println!("{path}: ok");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        ["--genconf"] => {
            print!("{}", genconf());
            return ExitCode::SUCCESS;
        }
        ["--uci"] => return uci_command(None, fc00d::uci::to_cjdroute),
        ["--uci", path] => return uci_command(Some(path), fc00d::uci::to_cjdroute),
        ["--uci-firewall"] => return uci_command(None, fc00d::uci::firewall_batch),
        ["--uci-firewall", path] => return uci_command(Some(path), fc00d::uci::firewall_batch),
        ["--version"] | ["-V"] => {
            println!("fc00d {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        ["--help"] | ["-h"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    for w in &cfg.warnings {
        log_warn!("config: {w}");
    }
    let public = cfg.private_key.public_key();
    log_info!("public key {}", public.to_k_string());
    sys::install_signal_handlers();
    let mut daemon = match Daemon::new(&cfg) {
        Ok(d) => d,
        Err(e) => {
            log_error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = config_path {
        daemon.config_path = Some(path.into());
    }
    log_info!("address {}", daemon.address());
    if let Some(user) = cfg.setuser.as_deref().filter(|_| sys::is_root()) {
        match sys::drop_privileges(user) {
            Ok(uid) => {
                log_info!("running as {user} (uid {uid}) with CAP_NET_RAW and CAP_NET_ADMIN")
            }
            Err(e) => log_warn!("could not switch to user {user}: {e}; staying root"),
        }
    }
    let res = daemon.run();
    daemon.shutdown();
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log_error!("{e}");
            ExitCode::FAILURE
        }
    }
}
