//! `fc00ctl device …`: a board running the fc00 firmware, over its serial port (or QEMU's
//! UART on a TCP socket), through the management protocol of `protocol_core::mgmt`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use protocol_core::identity::{generate_keypair, label_to_string, PrivateKey, PublicKey};
use protocol_core::mgmt::{
    self, DeviceStats, Request, Response, SessionRow, UdpPeer, MAX_NAME_LEN, MAX_PASSWORD_LEN,
};
use protocol_core::node::PeerStats;
use rand_core::OsRng;
use serde::Serialize;
use serde_json::{json, Value};

use super::client::DeviceClient;
use super::link;
use crate::error::CliError;
use crate::table::{self, Col};

/// How to reach the device; valid before or after the subcommand.
#[derive(Args, Debug, Clone)]
pub struct PortOpts {
    /// Serial device (/dev/ttyACM0), tcp:HOST:PORT or unix:PATH (QEMU's UART).
    #[arg(long, global = true, env = "FC00_PORT", value_name = "PORT")]
    pub port: Option<String>,
    /// Serial speed.
    #[arg(long, global = true, default_value_t = 115_200)]
    pub baud: u32,
    /// Seconds to wait for each answer.
    #[arg(long, global = true, value_name = "SECS", default_value = "2")]
    pub timeout: f64,
}

#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  fc00ctl device info --port /dev/ttyACM0\n  \
    fc00ctl device stats --watch --port tcp:127.0.0.1:4444\n  \
    FC00_PORT=/dev/ttyACM0 fc00ctl device flash-key --generate\n\n\
    Every answer is awaited --timeout seconds; a corrupt frame is asked for again (twice)."
)]
pub struct DeviceCli {
    #[command(flatten)]
    pub port: PortOpts,
    #[command(subcommand)]
    pub command: DeviceCommand,
}

#[derive(Subcommand, Debug)]
pub enum DeviceCommand {
    /// Board, firmware, protocol version and the device's identity.
    #[command(
        after_help = "Examples:\n  fc00ctl device info --port /dev/ttyACM0\n  \
        fc00ctl device info --port tcp:127.0.0.1:4444 --json"
    )]
    Info(JsonFlag),
    /// Store a new private key on the device (used from its next boot).
    #[command(
        after_help = "Examples:\n  fc00ctl device flash-key --generate --port /dev/ttyACM0\n  \
        fc00ctl key gen | cut -d' ' -f1 | fc00ctl device flash-key --key - --yes --port /dev/ttyACM0\n\n\
        The private key is never printed. The device answers with the public key it derived,\n\
        which must match the one computed here."
    )]
    FlashKey(FlashKeyArgs),
    /// Peers, sessions, switch counters and memory high-water marks.
    #[command(
        after_help = "Examples:\n  fc00ctl device stats --port /dev/ttyACM0\n  \
        fc00ctl device stats --watch --interval 2\n  fc00ctl device stats --json"
    )]
    Stats(StatsArgs),
    /// Configure UDP peers the device connects to.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        fc00ctl device peer add 192.0.2.7:11223 <KEY>.k --password s3cret\n  \
        fc00ctl device peer remove <KEY>.k"
    )]
    Peer(DevicePeerCommand),
    /// Passwords incoming peers may use.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        fc00ctl device password add laptop 'long random text'\n  \
        fc00ctl device password remove laptop"
    )]
    Password(PasswordCommand),
    /// Restart the device.
    #[command(after_help = "Examples:\n  fc00ctl device reboot --port /dev/ttyACM0")]
    Reboot,
    /// List the serial ports of this machine.
    #[command(after_help = "Examples:\n  fc00ctl device ports")]
    Ports(JsonFlag),
}

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct KeySource {
    /// The private key, 64 hex digits, or `-` to read it from standard input.
    #[arg(long, value_name = "PRIVHEX")]
    pub key: Option<String>,
    /// Generate a fresh key (it never leaves the device and this process).
    #[arg(long)]
    pub generate: bool,
}

#[derive(Args, Debug)]
pub struct FlashKeyArgs {
    #[command(flatten)]
    pub source: KeySource,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Refresh until interrupted, showing counters as rates.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, value_name = "SECS", default_value = "1")]
    pub interval: f64,
    /// With --watch: stop after this many refreshes.
    #[arg(long, value_name = "N")]
    pub count: Option<u32>,
    /// Print JSON (with --watch: one object a line).
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum DevicePeerCommand {
    /// Add (or replace) a UDP peer; the device keeps it across reboots.
    #[command(
        after_help = "Examples:\n  fc00ctl device peer add 192.0.2.7:11223 <KEY>.k --password s3cret --login me"
    )]
    Add(DevicePeerAdd),
    /// Forget a configured UDP peer.
    #[command(after_help = "Examples:\n  fc00ctl device peer remove <KEY>.k")]
    Remove(KeyArg),
}

#[derive(Args, Debug)]
pub struct DevicePeerAdd {
    /// The peer's UDP address, IP:PORT.
    pub address: String,
    /// The peer's public key (….k).
    pub public_key: String,
    /// The password the peer gave you.
    #[arg(long, default_value = "")]
    pub password: String,
    #[arg(long, default_value = "")]
    pub login: String,
    /// A name for the peer.
    #[arg(long, default_value = "")]
    pub name: String,
}

#[derive(Args, Debug)]
pub struct KeyArg {
    /// The peer's public key (….k).
    pub public_key: String,
}

#[derive(Subcommand, Debug)]
pub enum PasswordCommand {
    /// Accept incoming peers that know PASSWORD, as USER.
    #[command(after_help = "Examples:\n  fc00ctl device password add laptop 'long random text'")]
    Add { user: String, password: String },
    /// Stop accepting USER's password.
    #[command(after_help = "Examples:\n  fc00ctl device password remove laptop")]
    Remove { user: String },
}

pub fn run(cli: DeviceCli, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let opts = cli.port;
    match cli.command {
        DeviceCommand::Ports(j) => {
            let ports = link::ports();
            if j.json {
                print_json(out, &ports)?;
            } else if ports.is_empty() {
                writeln!(out, "no serial ports found").map_err(CliError::io)?;
            } else {
                for p in ports {
                    writeln!(out, "{p}").map_err(CliError::io)?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Info(j) => {
            let (mut dev, hello) = open(&opts)?;
            let (key, _) = get_identity(&mut dev)?;
            let ip = key.address_unchecked().to_full_string();
            let k = key.to_k_string();
            if j.json {
                print_json(
                    out,
                    &json!({
                        "board": hello.board, "firmware": hello.firmware,
                        "protocol": hello.protocol, "publicKey": k.as_str(), "ip6": ip.as_str(),
                    }),
                )?;
            } else {
                write!(
                    out,
                    "board      {}\nfirmware   {}\nprotocol   {}\naddress    {ip}\npublic key {k}\n",
                    hello.board, hello.firmware, hello.protocol
                )
                .map_err(CliError::io)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::FlashKey(args) => flash_key(&opts, args, out),
        DeviceCommand::Stats(args) => stats(&opts, args, out),
        DeviceCommand::Peer(DevicePeerCommand::Add(a)) => {
            let addr: SocketAddr = a.address.parse().map_err(|_| {
                CliError::usage(format!(
                    "{:?}: expected the peer's UDP address as IP:PORT, e.g. 192.0.2.7:11223",
                    a.address
                ))
            })?;
            let key = parse_pub(&a.public_key)?;
            let peer = UdpPeer {
                addr: match addr {
                    SocketAddr::V4(v4) => mgmt::SocketAddr::V4 {
                        ip: v4.ip().octets(),
                        port: v4.port(),
                    },
                    SocketAddr::V6(v6) => mgmt::SocketAddr::V6 {
                        ip: v6.ip().octets(),
                        port: v6.port(),
                    },
                },
                public_key: key.0,
                password: bounded("--password", &a.password)?,
                login: bounded("--login", &a.login)?,
                peer_name: bounded("--name", &a.name)?,
            };
            let (mut dev, _) = open(&opts)?;
            expect_done(&mut dev, &Request::AddUdpPeer(peer), "peer add")?;
            writeln!(out, "peer {} at {addr} added", key.to_k_string()).map_err(CliError::io)?;
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Peer(DevicePeerCommand::Remove(k)) => {
            let key = parse_pub(&k.public_key)?;
            let (mut dev, _) = open(&opts)?;
            expect_done(
                &mut dev,
                &Request::RemoveUdpPeer { public_key: key.0 },
                "peer remove",
            )?;
            writeln!(out, "peer {} removed", key.to_k_string()).map_err(CliError::io)?;
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Password(PasswordCommand::Add { user, password }) => {
            let req = Request::AddPassword {
                user: bounded("USER", &user)?,
                password: bounded("PASSWORD", &password)?,
            };
            if password.is_empty() {
                return Err(CliError::usage(
                    "PASSWORD is empty: give the password peers will use",
                ));
            }
            let (mut dev, _) = open(&opts)?;
            expect_done(&mut dev, &req, "password add")?;
            writeln!(out, "password for {user} added").map_err(CliError::io)?;
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Password(PasswordCommand::Remove { user }) => {
            let req = Request::RemovePassword {
                user: bounded("USER", &user)?,
            };
            let (mut dev, _) = open(&opts)?;
            expect_done(&mut dev, &req, "password remove")?;
            writeln!(out, "password for {user} removed").map_err(CliError::io)?;
            Ok(ExitCode::SUCCESS)
        }
        DeviceCommand::Reboot => {
            let (mut dev, hello) = open(&opts)?;
            expect_done(&mut dev, &Request::Reboot, "reboot")?;
            writeln!(out, "{} is rebooting", hello.board).map_err(CliError::io)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn timeout(opts: &PortOpts) -> Result<Duration, CliError> {
    if opts.timeout.is_finite() && opts.timeout > 0.0 && opts.timeout <= 3600.0 {
        Ok(Duration::from_secs_f64(opts.timeout))
    } else {
        Err(CliError::usage(format!(
            "--timeout {}: give seconds between 0 and 3600, e.g. --timeout 2",
            opts.timeout
        )))
    }
}

/// Open the port and say hello.
pub fn open(opts: &PortOpts) -> Result<(DeviceClient, super::client::Hello), CliError> {
    let Some(port) = opts.port.as_deref() else {
        let ports = link::ports();
        let hint = if ports.is_empty() {
            "no serial ports found here".to_string()
        } else {
            format!("serial ports here: {}", ports.join(", "))
        };
        return Err(CliError::usage(format!(
            "which device? pass --port /dev/ttyACM0 or --port tcp:HOST:PORT ({hint})"
        )));
    };
    let timeout = timeout(opts)?;
    let transport = link::open(port, opts.baud, timeout)?;
    let mut dev =
        DeviceClient::new(transport, port, timeout).with_progress(io::stderr().is_terminal());
    let hello = dev.hello()?;
    Ok((dev, hello))
}

fn get_identity(
    dev: &mut DeviceClient,
) -> Result<(PublicKey, protocol_core::identity::Ip6), CliError> {
    match dev.call(&Request::GetIdentity, "identity")? {
        Response::Identity {
            public_key,
            address,
        } => Ok((public_key, address)),
        other => Err(dev.wrong_answer("identity", &other)),
    }
}

fn expect_done(dev: &mut DeviceClient, req: &Request, what: &str) -> Result<(), CliError> {
    match dev.call(req, what)? {
        Response::Done => Ok(()),
        other => Err(dev.wrong_answer(what, &other)),
    }
}

fn bounded<const N: usize>(what: &str, s: &str) -> Result<heapless::String<N>, CliError> {
    heapless::String::try_from(s).map_err(|_| {
        CliError::usage(format!(
            "{what} is {} bytes; the device stores at most {N}",
            s.len()
        ))
    })
}

// Keep the limits of the protocol visible where they bite.
const _: () = assert!(MAX_NAME_LEN <= MAX_PASSWORD_LEN);

fn parse_pub(text: &str) -> Result<PublicKey, CliError> {
    PublicKey::parse_k(text.trim())
        .map_err(|e| CliError::usage(format!("{}: not a cjdns public key: {e}", text.trim())))
}

fn print_json<T: Serialize>(out: &mut impl Write, value: &T) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| CliError::io(io::Error::other(e)))?;
    writeln!(out).map_err(CliError::io)
}

fn flash_key(
    opts: &PortOpts,
    args: FlashKeyArgs,
    out: &mut impl Write,
) -> Result<ExitCode, CliError> {
    let private = if args.source.generate {
        generate_keypair(&mut OsRng).0
    } else {
        let text = match args.source.key.as_deref() {
            Some("-") => {
                let mut line = String::new();
                io::stdin().lock().read_line(&mut line).map_err(|e| {
                    CliError::usage(format!("cannot read the key from standard input: {e}"))
                })?;
                line
            }
            Some(k) => k.to_string(),
            None => String::new(),
        };
        // The message never repeats the key.
        PrivateKey::parse_hex(text.trim())
            .map_err(|_| CliError::usage("--key must be 64 hex digits (a cjdns private key)"))?
    };
    let public = private.public_key();
    let address = public.address().map_err(|_| {
        CliError::usage(
            "that private key gives no fc00::/8 address; generate one with `fc00ctl key gen`",
        )
    })?;
    let (mut dev, hello) = open(opts)?;
    let (old, _) = get_identity(&mut dev)?;
    if !args.yes {
        if !io::stdin().is_terminal() || matches!(args.source.key.as_deref(), Some("-")) {
            return Err(CliError::usage(
                "replacing the device's key needs confirmation: pass --yes",
            ));
        }
        eprint!(
            "Replace the identity of {} ({}) with {}? The old key is gone unless you kept it. [y/N] ",
            hello.board,
            old.address_unchecked().to_full_string(),
            address.to_full_string()
        );
        let mut answer = String::new();
        let _ = io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(CliError::runtime("not confirmed; the device keeps its key"));
        }
    }
    let (stored, stored_ip) = match dev.call(
        &Request::SetIdentity {
            private_key: private.0,
        },
        "flash-key",
    )? {
        Response::Identity {
            public_key,
            address,
        } => (public_key, address),
        other => return Err(dev.wrong_answer("flash-key", &other)),
    };
    if stored != public || stored_ip != address {
        return Err(CliError::runtime(format!(
            "the device reports {} after storing the key, expected {}: the key was not stored as \
             sent; run flash-key again",
            stored_ip.to_full_string(),
            address.to_full_string()
        )));
    }
    let k = public.to_k_string();
    let ip = address.to_full_string();
    if args.json {
        print_json(
            out,
            &json!({
                "publicKey": k.as_str(), "ip6": ip.as_str(),
                "previousIp6": old.address_unchecked().to_full_string().as_str(),
                "verified": true, "activeAfterReboot": true,
            }),
        )?;
    } else {
        writeln!(
            out,
            "stored and verified: address {ip}, public key {k}\nthe device uses it from its next boot (`fc00ctl device reboot`)"
        )
        .map_err(CliError::io)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Everything `device stats` shows, at one moment.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub stats: DeviceStats,
    pub peers: Vec<PeerStats>,
    pub sessions: Vec<SessionRow>,
}

/// Stats, then every page of peers and sessions.
pub fn fetch_snapshot(dev: &mut DeviceClient) -> Result<Snapshot, CliError> {
    let stats = match dev.call(&Request::GetStats, "stats")? {
        Response::Stats(s) => s,
        other => return Err(dev.wrong_answer("stats", &other)),
    };
    let mut peers = Vec::new();
    for page in 0..=u8::MAX {
        match dev.call(&Request::GetPeers { page }, "peers")? {
            Response::Peers {
                total, peers: rows, ..
            } => {
                let empty = rows.is_empty();
                peers.extend(rows);
                if empty || peers.len() >= usize::from(total) {
                    break;
                }
            }
            other => return Err(dev.wrong_answer("peers", &other)),
        }
    }
    let mut sessions = Vec::new();
    for page in 0..=u8::MAX {
        match dev.call(&Request::GetSessions { page }, "sessions")? {
            Response::Sessions {
                total,
                sessions: rows,
                ..
            } => {
                let empty = rows.is_empty();
                sessions.extend(rows);
                if empty || sessions.len() >= usize::from(total) {
                    break;
                }
            }
            other => return Err(dev.wrong_answer("sessions", &other)),
        }
    }
    Ok(Snapshot {
        stats,
        peers,
        sessions,
    })
}

/// A peer as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerView {
    pub lladdr: String,
    pub public_key: String,
    pub ip6: String,
    pub path: String,
    pub version: u32,
    pub state: &'static str,
    pub is_incoming: bool,
    pub user: String,
    pub kbps_in: u32,
    pub kbps_out: u32,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub lost: u32,
    pub duplicates: u32,
    pub out_of_range: u32,
    /// ms since the last packet (device clock), `None` if never.
    pub last_seen_ms_ago: Option<u64>,
}

impl PeerView {
    pub fn new(p: &PeerStats, uptime_ms: u64) -> PeerView {
        let c = &p.counters;
        PeerView {
            lladdr: p.addr_string().to_string(),
            public_key: p.key.to_k_string().to_string(),
            ip6: p.key.address_unchecked().to_full_string().to_string(),
            path: label_to_string(p.label).to_string(),
            version: p.version,
            state: p.state.as_str(),
            is_incoming: p.is_incoming,
            user: p.user.as_str().to_string(),
            kbps_in: c.kbps_in,
            kbps_out: c.kbps_out,
            bytes_in: c.bytes_in,
            bytes_out: c.bytes_out,
            packets_in: c.packets_in,
            packets_out: c.packets_out,
            lost: c.lost,
            duplicates: c.duplicates,
            out_of_range: c.out_of_range,
            last_seen_ms_ago: (c.last_seen_ms != 0)
                .then(|| uptime_ms.saturating_sub(c.last_seen_ms)),
        }
    }
}

/// A session as `--json` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub ip6: String,
    pub public_key: String,
    pub version: u32,
    pub state: &'static str,
    pub path: String,
    pub metric: u32,
    pub packets_in: u64,
    pub packets_out: u64,
    pub lost: u32,
    pub duplicates: u32,
}

impl From<&SessionRow> for SessionView {
    fn from(s: &SessionRow) -> SessionView {
        use protocol_core::crypto::session::State;
        SessionView {
            ip6: s.ip6.to_full_string().to_string(),
            public_key: s.key.to_k_string().to_string(),
            version: s.version,
            state: match s.state {
                State::Init => "INIT",
                State::SentHello => "SENT_HELLO",
                State::ReceivedHello => "RECEIVED_HELLO",
                State::SentKey => "SENT_KEY",
                State::ReceivedKey => "RECEIVED_KEY",
                State::Established => "ESTABLISHED",
            },
            path: label_to_string(s.best_label).to_string(),
            metric: s.metric,
            packets_in: s.packets_in,
            packets_out: s.packets_out,
            lost: s.lost_packets,
            duplicates: s.duplicates,
        }
    }
}

/// Counters of one group (`switch`, `peering`, …) as name → value.
fn counters<T: Serialize>(group: &T) -> BTreeMap<String, u64> {
    match serde_json::to_value(group) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_u64()?)))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The JSON of a snapshot; with `rates` (per second, from the previous snapshot) in watch mode.
pub fn snapshot_json(s: &Snapshot, rates: Option<&Rates>) -> Value {
    let up = s.stats.uptime_ms;
    let mut v = json!({
        "uptimeMs": up,
        "nodeStore": s.stats.node_store,
        "peers": s.peers.iter().map(|p| PeerView::new(p, up)).collect::<Vec<_>>(),
        "sessions": s.sessions.iter().map(SessionView::from).collect::<Vec<_>>(),
        "switch": counters(&s.stats.switch),
        "peering": counters(&s.stats.peering),
        "control": counters(&s.stats.control),
        "node": counters(&s.stats.node),
        "memory": s.stats.memory,
    });
    if let Some(r) = rates {
        v["ratesPerSecond"] =
            json!({ "peers": r.peers, "sessions": r.sessions, "switch": r.switch });
    }
    v
}

/// Per-second rates between two snapshots (by the device's own clock).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rates {
    /// Public key → (packets in/s, packets out/s).
    pub peers: BTreeMap<String, (f64, f64)>,
    /// Session public key → (packets in/s, packets out/s).
    pub sessions: BTreeMap<String, (f64, f64)>,
    pub switch: BTreeMap<String, f64>,
}

pub fn rates(prev: &Snapshot, now: &Snapshot) -> Rates {
    let dt = now.stats.uptime_ms.saturating_sub(prev.stats.uptime_ms) as f64 / 1000.0;
    if dt <= 0.0 {
        return Rates::default();
    }
    let per_s = |a: u64, b: u64| b.saturating_sub(a) as f64 / dt;
    let mut r = Rates::default();
    for p in &now.peers {
        if let Some(q) = prev.peers.iter().find(|q| q.key == p.key) {
            r.peers.insert(
                p.key.to_k_string().to_string(),
                (
                    per_s(q.counters.packets_in, p.counters.packets_in),
                    per_s(q.counters.packets_out, p.counters.packets_out),
                ),
            );
        }
    }
    for s in &now.sessions {
        if let Some(q) = prev.sessions.iter().find(|q| q.key == s.key) {
            r.sessions.insert(
                s.key.to_k_string().to_string(),
                (
                    per_s(q.packets_in, s.packets_in),
                    per_s(q.packets_out, s.packets_out),
                ),
            );
        }
    }
    let before = counters(&prev.stats.switch);
    for (k, v) in counters(&now.stats.switch) {
        r.switch
            .insert(k.clone(), per_s(before.get(&k).copied().unwrap_or(0), v));
    }
    r
}

/// The human form of a snapshot; counters as rates when `rates` is given.
pub fn snapshot_text(s: &Snapshot, rates: Option<&Rates>) -> String {
    let up = s.stats.uptime_ms;
    let mut text = format!(
        "uptime {}  peers {}  sessions {}  nodes known {}\n\nPEERS\n",
        table::duration(up / 1000),
        s.peers.len(),
        s.sessions.len(),
        s.stats.node_store
    );
    if s.peers.is_empty() {
        text.push_str("no peers\n");
    } else {
        let rows: Vec<Vec<String>> = s
            .peers
            .iter()
            .map(|p| {
                let v = PeerView::new(p, up);
                let (pin, pout) = match rates.and_then(|r| r.peers.get(&v.public_key)) {
                    Some((i, o)) => (format!("{i:.1}/s"), format!("{o:.1}/s")),
                    None => (v.packets_in.to_string(), v.packets_out.to_string()),
                };
                vec![
                    v.lladdr,
                    v.ip6,
                    v.state.to_string(),
                    if v.is_incoming { "in" } else { "out" }.to_string(),
                    v.kbps_in.to_string(),
                    v.kbps_out.to_string(),
                    pin,
                    pout,
                    v.lost.to_string(),
                    v.duplicates.to_string(),
                    match v.last_seen_ms_ago {
                        Some(ms) => table::duration(ms / 1000),
                        None => "never".into(),
                    },
                ]
            })
            .collect();
        text.push_str(&table::render(
            &[
                Col("LLADDR", false),
                Col("IP6", false),
                Col("STATE", false),
                Col("DIR", false),
                Col("IN kbps", true),
                Col("OUT kbps", true),
                Col("PKTS IN", true),
                Col("PKTS OUT", true),
                Col("LOST", true),
                Col("DUP", true),
                Col("LAST", true),
            ],
            &rows,
        ));
    }
    text.push_str("\nSESSIONS\n");
    if s.sessions.is_empty() {
        text.push_str("no sessions\n");
    } else {
        let rows: Vec<Vec<String>> = s
            .sessions
            .iter()
            .map(|row| {
                let v = SessionView::from(row);
                let (pin, pout) = match rates.and_then(|r| r.sessions.get(&v.public_key)) {
                    Some((i, o)) => (format!("{i:.1}/s"), format!("{o:.1}/s")),
                    None => (v.packets_in.to_string(), v.packets_out.to_string()),
                };
                vec![
                    v.ip6,
                    v.state.to_string(),
                    v.path,
                    format!("{:08x}", v.metric),
                    pin,
                    pout,
                    v.lost.to_string(),
                    v.duplicates.to_string(),
                ]
            })
            .collect();
        text.push_str(&table::render(
            &[
                Col("IP6", false),
                Col("STATE", false),
                Col("PATH", false),
                Col("METRIC", false),
                Col("PKTS IN", true),
                Col("PKTS OUT", true),
                Col("LOST", true),
                Col("DUP", true),
            ],
            &rows,
        ));
    }
    text.push_str("\nSWITCH\n");
    let rows: Vec<Vec<String>> = counters(&s.stats.switch)
        .into_iter()
        .map(|(k, v)| {
            let shown = match rates.and_then(|r| r.switch.get(&k)) {
                Some(rate) => format!("{rate:.1}/s"),
                None => v.to_string(),
            };
            vec![k, shown]
        })
        .collect();
    text.push_str(&table::render(
        &[Col("COUNTER", false), Col("VALUE", true)],
        &rows,
    ));
    let m = &s.stats.memory;
    let pct = if m.stack_bytes == 0 {
        0.0
    } else {
        f64::from(m.stack_high_water_bytes) * 100.0 / f64::from(m.stack_bytes)
    };
    text.push_str(&format!(
        "\nMEMORY\nstatic RAM  {}\nstack       {} (high water {}, {pct:.0} %)\nnode        {}\n",
        table::bytes(u64::from(m.static_ram_bytes)),
        table::bytes(u64::from(m.stack_bytes)),
        table::bytes(u64::from(m.stack_high_water_bytes)),
        table::bytes(u64::from(m.node_bytes)),
    ));
    text
}

fn stats(opts: &PortOpts, args: StatsArgs, out: &mut impl Write) -> Result<ExitCode, CliError> {
    if !(args.interval.is_finite() && (0.0..=3600.0).contains(&args.interval)) {
        return Err(CliError::usage(
            "--interval: give seconds between 0 and 3600, e.g. --interval 2",
        ));
    }
    let (mut dev, _) = open(opts)?;
    let mut prev = fetch_snapshot(&mut dev)?;
    if !args.watch {
        if args.json {
            print_json(out, &snapshot_json(&prev, None))?;
        } else {
            out.write_all(snapshot_text(&prev, None).as_bytes())
                .map_err(CliError::io)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let clear = !args.json && io::stdout().is_terminal();
    let mut shown = 0u32;
    loop {
        std::thread::sleep(Duration::from_secs_f64(args.interval));
        let now = fetch_snapshot(&mut dev)?;
        let r = rates(&prev, &now);
        if args.json {
            let line = serde_json::to_string(&snapshot_json(&now, Some(&r)))
                .map_err(|e| CliError::io(io::Error::other(e)))?;
            writeln!(out, "{line}").map_err(CliError::io)?;
        } else {
            if clear {
                out.write_all(b"\x1b[2J\x1b[H").map_err(CliError::io)?;
            } else if shown > 0 {
                out.write_all(b"\n").map_err(CliError::io)?;
            }
            out.write_all(snapshot_text(&now, Some(&r)).as_bytes())
                .map_err(CliError::io)?;
        }
        out.flush().map_err(CliError::io)?;
        prev = now;
        shown += 1;
        if args.count.is_some_and(|c| shown >= c) {
            return Ok(ExitCode::SUCCESS);
        }
    }
}
