//! The admin commands: `peers`, `sessions`, `ping`, `routes`, `peer add|remove`,
//! `functions`, each a few admin calls, a table for people and `--json` for scripts.

use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use fc00d::admin::benc::BDict;
use protocol_core::identity::{parse_label, Ip6, NodeAddress, PublicKey};
use serde::Serialize;
use serde_json::json;

use super::client::{reply_error, AdminClient};
use super::model::{self, Function, Peer, Route, RouterPong, Session, SwitchPong};
use crate::error::CliError;
use crate::table::{self, Col};

/// Where fc00d and cjdroute listen for admin calls unless configured otherwise.
pub const DEFAULT_ADMIN: &str = "127.0.0.1:11234";

/// How to reach the node's admin API.
#[derive(Args, Debug, Clone)]
pub struct Conn {
    /// Admin API of fc00d or cjdroute [default: 127.0.0.1:11234, or what --config says].
    #[arg(long, value_name = "HOST:PORT", env = "FC00_ADMIN")]
    pub admin: Option<String>,
    /// Take the admin address and password from this cjdroute.conf or fc00d config.
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Seconds to wait for each reply (and each ping).
    #[arg(long, value_name = "SECS", default_value = "2")]
    pub timeout: f64,
}

/// Connection options plus the admin password, for every command but `peer add`.
#[derive(Args, Debug, Clone)]
pub struct AdminOpts {
    #[command(flatten)]
    pub conn: Conn,
    /// Admin password (cjdroute.conf `admin.password`).
    #[arg(
        long,
        visible_alias = "admin-password",
        env = "FC00_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Peers of the node: state, traffic, last packet, losses (InterfaceController_peerStats).
    #[command(after_help = "Examples:\n  fc00ctl peers\n  \
        fc00ctl peers --config /etc/cjdroute.conf\n  \
        fc00ctl peers --admin 127.0.0.1:11234 --password secret --json")]
    Peers(AdminOpts),
    /// End-to-end sessions of the node (SessionManager_getHandles + sessionStats).
    #[command(after_help = "Examples:\n  fc00ctl sessions\n  fc00ctl sessions --json")]
    Sessions(AdminOpts),
    /// Ping a node by address (router ping) or a switch path (switch ping), with RTT.
    #[command(after_help = "TARGET is one of:\n  \
        fc49:0c57:3941:5184:3de2:5d23:d54f:9a53   an fc address: router ping (RouterModule_pingNode)\n  \
        v22.0000.0000.0000.0013.<key>.k          a node address: router ping\n  \
        0000.0000.0000.0013                      a switch path: switch ping (SwitchPinger_ping)\n\n\
        Examples:\n  fc00ctl ping fc49:0c57:3941:5184:3de2:5d23:d54f:9a53\n  \
        fc00ctl ping 0000.0000.0000.0013 -c 10 -i 0.2\n  \
        fc00ctl ping --switch v22.0000.0000.0000.0013.7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k\n\n\
        Exits 0 when at least one ping was answered, 1 when none was.")]
    Ping(PingArgs),
    /// The node store: every node the node knows a path to (NodeStore_dumpTable).
    #[command(
        visible_alias = "dump",
        after_help = "Examples:\n  fc00ctl routes\n  fc00ctl dump --json"
    )]
    Routes(AdminOpts),
    /// Add or remove a peer.
    #[command(
        subcommand,
        after_help = "Examples:\n  \
        fc00ctl peer add 192.0.2.7:11223 <KEY>.k --password s3cret --login me\n  \
        fc00ctl peer remove <KEY>.k"
    )]
    Peer(PeerCommand),
    /// The admin functions the node offers and their arguments (Admin_availableFunctions).
    #[command(after_help = "Examples:\n  fc00ctl functions\n  fc00ctl functions --json")]
    Functions(AdminOpts),
    /// Who the node is: its address, fc IP and protocol version (Core_nodeInfo).
    #[command(after_help = "Examples:\n  fc00ctl node\n  fc00ctl node --json")]
    Node(AdminOpts),
}

#[derive(Args, Debug)]
pub struct PingArgs {
    /// An fc IPv6 address, a node address (v22.….k) or a switch path (0000.0000.0000.0013).
    pub target: String,
    /// How many pings.
    #[arg(short = 'c', long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// Seconds between pings.
    #[arg(short = 'i', long, default_value = "1")]
    pub interval: f64,
    /// Switch ping even to a node address (by its path).
    #[arg(long, conflicts_with = "router")]
    pub switch: bool,
    /// Router ping even to a switch path (the node at the end of it).
    #[arg(long)]
    pub router: bool,
    #[command(flatten)]
    pub opts: AdminOpts,
}

#[derive(Subcommand, Debug)]
pub enum PeerCommand {
    /// Connect to a peer over UDP (UDPInterface_beginConnection).
    #[command(after_help = "Examples:\n  \
        fc00ctl peer add 192.0.2.7:11223 7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k --password s3cret --login me --name router-b\n  \
        fc00ctl peer add [2001:db8::7]:11223 <KEY>.k --password s3cret --admin-password adm\n\n\
        The peer shows up in `fc00ctl peers` once the handshake completes.")]
    Add(PeerAddArgs),
    /// Disconnect a peer (InterfaceController_disconnectPeer).
    #[command(after_help = "Examples:\n  \
        fc00ctl peer remove 7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k")]
    Remove(PeerRemoveArgs),
}

#[derive(Args, Debug)]
pub struct PeerAddArgs {
    /// The peer's UDP address, IP:PORT.
    pub address: String,
    /// The peer's public key (….k).
    pub public_key: String,
    /// The password the peer gave you (its authorizedPasswords entry).
    #[arg(long)]
    pub password: Option<String>,
    /// The login (user) that goes with the password.
    #[arg(long)]
    pub login: Option<String>,
    /// A name for the peer, shown in logs.
    #[arg(long)]
    pub name: Option<String>,
    /// Which UDP interface to use (see the node's config), default the first.
    #[arg(long, value_name = "N")]
    pub interface: Option<u32>,
    #[command(flatten)]
    pub conn: Conn,
    /// Admin password of the node (here `--password` is the peer's).
    #[arg(long, env = "FC00_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PeerRemoveArgs {
    /// The peer's public key (….k) or node address (v22.….k).
    pub public_key: String,
    #[command(flatten)]
    pub opts: AdminOpts,
}

pub fn run(cmd: AdminCommand, out: &mut impl Write) -> Result<ExitCode, CliError> {
    match cmd {
        AdminCommand::Peers(o) => {
            let mut admin = connect(&o.conn, o.password.clone())?;
            let peers = fetch_peers(&mut admin)?;
            emit(out, o.json, &peers, || peers_table(&peers, table::now_ms()))
        }
        AdminCommand::Sessions(o) => {
            let mut admin = connect(&o.conn, o.password.clone())?;
            let sessions = fetch_sessions(&mut admin)?;
            emit(out, o.json, &sessions, || sessions_table(&sessions))
        }
        AdminCommand::Routes(o) => {
            let mut admin = connect(&o.conn, o.password.clone())?;
            let routes = fetch_routes(&mut admin)?;
            emit(out, o.json, &routes, || routes_table(&routes))
        }
        AdminCommand::Functions(o) => {
            let mut admin = connect(&o.conn, o.password.clone())?;
            let functions = fetch_functions(&mut admin)?;
            emit(out, o.json, &functions, || functions_text(&functions))
        }
        AdminCommand::Node(o) => {
            let mut admin = connect(&o.conn, o.password.clone())?;
            let info = model::node_info(&admin.call("Core_nodeInfo", BDict::new())?);
            emit(out, o.json, &info, || {
                format!(
                    "address  {}\nip6      {}\nversion  {}\n",
                    info.my_addr, info.my_ip6, info.version
                )
            })
        }
        AdminCommand::Ping(args) => ping(args, out),
        AdminCommand::Peer(PeerCommand::Add(args)) => peer_add(args, out),
        AdminCommand::Peer(PeerCommand::Remove(args)) => peer_remove(args, out),
    }
}

/// Print `value` as JSON, or the human text.
fn emit<T: Serialize>(
    out: &mut impl Write,
    json: bool,
    value: &T,
    human: impl FnOnce() -> String,
) -> Result<ExitCode, CliError> {
    if json {
        print_json(out, value)?;
    } else {
        out.write_all(human().as_bytes()).map_err(CliError::io)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json<T: Serialize>(out: &mut impl Write, value: &T) -> Result<(), CliError> {
    serde_json::to_writer_pretty(&mut *out, value)
        .map_err(|e| CliError::io(std::io::Error::other(e)))?;
    writeln!(out).map_err(CliError::io)
}

/// Where to connect and with which password: flags, else `--config`, else the default.
pub fn resolve(
    conn: &Conn,
    password: Option<String>,
) -> Result<(SocketAddr, Option<String>, Duration), CliError> {
    if !(conn.timeout.is_finite() && conn.timeout > 0.0 && conn.timeout <= 3600.0) {
        return Err(CliError::usage(format!(
            "--timeout {}: give seconds between 0 and 3600, e.g. --timeout 2",
            conn.timeout
        )));
    }
    let timeout = Duration::from_secs_f64(conn.timeout);
    let (mut bind, mut config_password) = (None, None);
    if let Some(path) = &conn.config {
        let (b, p) = admin_from_config(path)?;
        bind = Some(b);
        config_password = p;
    }
    let addr = match &conn.admin {
        Some(text) => parse_admin_addr(text)?,
        None => match bind {
            Some(b) => b,
            None => parse_admin_addr(DEFAULT_ADMIN)?,
        },
    };
    Ok((addr, password.or(config_password), timeout))
}

/// Open a client as the options say.
pub fn connect(conn: &Conn, password: Option<String>) -> Result<AdminClient, CliError> {
    let (addr, password, timeout) = resolve(conn, password)?;
    AdminClient::new(addr, password, timeout)
}

/// `HOST:PORT`, `[V6]:PORT`, or a bare port on 127.0.0.1.
pub fn parse_admin_addr(text: &str) -> Result<SocketAddr, CliError> {
    let bad = |why: String| {
        CliError::usage(format!(
            "--admin {text:?}: {why}; expected HOST:PORT, e.g. --admin 127.0.0.1:11234"
        ))
    };
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let mut addrs = text.to_socket_addrs().map_err(|e| bad(e.to_string()))?;
    addrs
        .next()
        .ok_or_else(|| bad("no address for that name".into()))
}

/// The admin bind and password of a cjdroute.conf / fc00d config, read with fc00d's
/// parser. A config fc00d would refuse for other reasons (an interface it does not
/// have) still gives its admin section.
pub fn admin_from_config(path: &PathBuf) -> Result<(SocketAddr, Option<String>), CliError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("--config {shown}: cannot read it: {e}")))?;
    match fc00d::config::parse(&text) {
        Ok(cfg) => Ok((cfg.admin.bind, cfg.admin.password)),
        Err(full_error) => {
            let admin = fc00d::config::strip_comments(&text)
                .ok()
                .and_then(|clean| serde_json::from_str::<serde_json::Value>(&clean).ok())
                .and_then(|root| root.get("admin").cloned());
            let Some(admin) = admin else {
                return Err(CliError::usage(format!("--config {shown}: {full_error}")));
            };
            let bind = match admin.get("bind").and_then(|b| b.as_str()) {
                Some(b) => parse_admin_addr(b).map_err(|_| {
                    CliError::usage(format!(
                        "--config {shown}: admin.bind {b:?} is not HOST:PORT"
                    ))
                })?,
                None => parse_admin_addr(DEFAULT_ADMIN)?,
            };
            let password = admin
                .get("password")
                .and_then(|p| p.as_str())
                .map(str::to_string);
            Ok((bind, password))
        }
    }
}

pub fn fetch_peers(admin: &mut AdminClient) -> Result<Vec<Peer>, CliError> {
    let pages = admin.call_paged("InterfaceController_peerStats", BDict::new())?;
    model::peers(&pages).map_err(|e| CliError::runtime(e.to_string()))
}

pub fn fetch_sessions(admin: &mut AdminClient) -> Result<Vec<Session>, CliError> {
    let pages = admin.call_paged("SessionManager_getHandles", BDict::new())?;
    let mut sessions = Vec::new();
    for handle in model::handles(&pages) {
        let wait = admin.timeout();
        let reply = admin.call_raw(
            "SessionManager_sessionStats",
            BDict::new().with("handle", handle),
            wait,
        )?;
        // An error here means the session ended between the two calls: leave it out.
        if reply_error(&reply).is_none() {
            sessions.push(model::session(&reply));
        }
    }
    Ok(sessions)
}

pub fn fetch_routes(admin: &mut AdminClient) -> Result<Vec<Route>, CliError> {
    let pages = admin.call_paged("NodeStore_dumpTable", BDict::new())?;
    model::routes(&pages).map_err(|e| CliError::runtime(e.to_string()))
}

pub fn fetch_functions(admin: &mut AdminClient) -> Result<Vec<Function>, CliError> {
    let pages = admin.call_paged("Admin_availableFunctions", BDict::new())?;
    model::functions(&pages).map_err(|e| CliError::runtime(e.to_string()))
}

pub fn peers_table(peers: &[Peer], now_ms: u64) -> String {
    if peers.is_empty() {
        return "no peers\n".into();
    }
    let rows: Vec<Vec<String>> = peers
        .iter()
        .map(|p| {
            vec![
                p.addr.clone(),
                p.state.clone(),
                if p.is_incoming { "in" } else { "out" }.into(),
                p.lladdr.clone(),
                p.recv_kbps.to_string(),
                p.send_kbps.to_string(),
                table::age(now_ms, p.last),
                p.user.clone(),
                p.lost_packets.to_string(),
                p.duplicates.to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            Col("ADDRESS", false),
            Col("STATE", false),
            Col("DIR", false),
            Col("LLADDR", false),
            Col("IN kbps", true),
            Col("OUT kbps", true),
            Col("LAST", true),
            Col("USER", false),
            Col("LOST", true),
            Col("DUP", true),
        ],
        &rows,
    )
}

pub fn sessions_table(sessions: &[Session]) -> String {
    if sessions.is_empty() {
        return "no sessions\n".into();
    }
    let rows: Vec<Vec<String>> = sessions
        .iter()
        .map(|s| {
            let (path, version) = match &s.parts {
                Some(p) => (p.path.clone(), p.version.to_string()),
                None => ("-".into(), "-".into()),
            };
            vec![
                s.ip6.clone(),
                path,
                version,
                s.state.clone(),
                s.handle.to_string(),
                s.send_handle.to_string(),
                format!("{:08x}", s.metric),
                s.lost_packets.to_string(),
                s.duplicates.to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            Col("IP6", false),
            Col("PATH", false),
            Col("VER", true),
            Col("STATE", false),
            Col("HANDLE", true),
            Col("SEND", true),
            Col("METRIC", false),
            Col("LOST", true),
            Col("DUP", true),
        ],
        &rows,
    )
}

pub fn routes_table(routes: &[Route]) -> String {
    if routes.is_empty() {
        return "no nodes known\n".into();
    }
    let rows: Vec<Vec<String>> = routes
        .iter()
        .map(|r| {
            vec![
                r.ip.clone(),
                r.path.clone(),
                r.version.to_string(),
                r.link.to_string(),
                r.bucket.to_string(),
                r.time.to_string(),
            ]
        })
        .collect();
    table::render(
        &[
            Col("IP6", false),
            Col("PATH", false),
            Col("VER", true),
            Col("LINK", true),
            Col("BUCKET", true),
            Col("TIME ms", true),
        ],
        &rows,
    )
}

/// One line per function: `Name(required: Type, [optional: Type])`.
pub fn functions_text(functions: &[Function]) -> String {
    let mut s = String::new();
    for f in functions {
        let args: Vec<String> = f
            .args
            .iter()
            .map(|a| {
                if a.required {
                    format!("{}: {}", a.name, a.kind)
                } else {
                    format!("[{}: {}]", a.name, a.kind)
                }
            })
            .collect();
        s.push_str(&format!("{}({})\n", f.name, args.join(", ")));
    }
    s
}

/// What `ping` sends to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingTarget {
    /// RouterModule_pingNode with this `path` argument (an IP, node address or path).
    Router(String),
    /// SwitchPinger_ping along this path.
    Switch(String),
}

/// Whether `text` is written as a node address (`v22.0000.0000.0000.0013.<key>.k`) rather
/// than a bare key: base32 keys may begin with `v` too, so the dots decide.
pub fn is_node_address_text(text: &str) -> bool {
    text.starts_with('v') && text.ends_with(".k") && text.matches('.').count() > 1
}

/// Read a ping target; `switch`/`router` force the kind where both make sense.
pub fn parse_ping_target(text: &str, switch: bool, router: bool) -> Result<PingTarget, CliError> {
    let text = text.trim();
    if is_node_address_text(text) {
        let node = NodeAddress::parse(text)
            .map_err(|e| CliError::usage(format!("{text}: not a node address: {e}")))?;
        let path = protocol_core::identity::label_to_string(node.label).to_string();
        return Ok(if switch {
            PingTarget::Switch(path)
        } else {
            PingTarget::Router(text.to_string())
        });
    }
    if text.contains(':') {
        let ip = Ip6::parse(text)
            .map_err(|e| CliError::usage(format!("{text}: not an IPv6 address: {e}")))?;
        if !ip.is_valid() {
            return Err(CliError::usage(format!(
                "{text}: not a cjdns address (outside fc00::/8)"
            )));
        }
        if switch {
            return Err(CliError::usage(
                "--switch needs a switch path or a node address, not an IP (see `fc00ctl routes` for paths)",
            ));
        }
        return Ok(PingTarget::Router(ip.to_full_string().to_string()));
    }
    if text.len() == 19 && text.contains('.') {
        parse_label(text)
            .map_err(|e| CliError::usage(format!("{text}: not a switch path: {e:?}")))?;
        return Ok(if router {
            PingTarget::Router(text.to_string())
        } else {
            PingTarget::Switch(text.to_string())
        });
    }
    Err(CliError::usage(format!(
        "{text}: expected an fc IPv6 address, a switch path (0000.0000.0000.0013) or a node \
         address (v22.0000.0000.0000.0013.<key>.k)"
    )))
}

/// One ping's outcome, as JSON shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Pong {
    Router(RouterPong),
    Switch(SwitchPong),
}

impl Pong {
    fn answered(&self) -> bool {
        match self {
            Pong::Router(p) => p.result == "pong",
            Pong::Switch(p) => p.result == "pong",
        }
    }

    fn ms(&self) -> u64 {
        match self {
            Pong::Router(p) => p.ms,
            Pong::Switch(p) => p.ms,
        }
    }

    /// One line, like ping(8).
    pub fn line(&self, seq: u32) -> String {
        match self {
            Pong::Router(p) if p.result == "pong" => format!(
                "pong from {}: seq={seq} time={} ms{}",
                p.addr.as_deref().unwrap_or("?"),
                p.ms,
                p.protocol
                    .map(|v| format!(" protocol={v}"))
                    .unwrap_or_default()
            ),
            Pong::Switch(p) if p.result == "pong" => format!(
                "pong from {}: seq={seq} time={} ms{}{}",
                p.path,
                p.ms,
                p.version
                    .map(|v| format!(" version={v}"))
                    .unwrap_or_default(),
                p.key
                    .as_deref()
                    .map(|k| format!(" key={k}"))
                    .unwrap_or_default()
            ),
            Pong::Router(p) => format!("no pong: seq={seq} {} after {} ms", p.result, p.ms),
            Pong::Switch(p) => format!(
                "no pong: seq={seq} {} after {} ms{}",
                p.result,
                p.ms,
                p.response_path
                    .as_deref()
                    .map(|r| format!(" (came back on {r})"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Counts and RTTs over a run of pings.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PingSummary {
    pub sent: u32,
    pub received: u32,
    pub loss_percent: f64,
    pub min_ms: Option<u64>,
    pub avg_ms: Option<f64>,
    pub max_ms: Option<u64>,
}

pub fn summarize(pongs: &[Pong]) -> PingSummary {
    let rtts: Vec<u64> = pongs
        .iter()
        .filter(|p| p.answered())
        .map(Pong::ms)
        .collect();
    let sent = pongs.len() as u32;
    let received = rtts.len() as u32;
    PingSummary {
        sent,
        received,
        loss_percent: if sent == 0 {
            0.0
        } else {
            f64::from(sent - received) * 100.0 / f64::from(sent)
        },
        min_ms: rtts.iter().copied().min(),
        avg_ms: (!rtts.is_empty()).then(|| rtts.iter().sum::<u64>() as f64 / rtts.len() as f64),
        max_ms: rtts.iter().copied().max(),
    }
}

fn ping(args: PingArgs, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let target = parse_ping_target(&args.target, args.switch, args.router)?;
    if !(args.interval.is_finite() && (0.0..=3600.0).contains(&args.interval)) {
        return Err(CliError::usage(
            "--interval: give seconds between 0 and 3600, e.g. -i 0.5",
        ));
    }
    let o = &args.opts;
    let mut admin = connect(&o.conn, o.password.clone())?;
    let timeout_ms = admin.timeout().as_millis().clamp(1, u128::from(u32::MAX)) as i64;
    // The node answers when its own timeout fires; leave it a second to say so.
    let wait = admin.timeout() + Duration::from_secs(1);
    let (kind, what) = match &target {
        PingTarget::Router(t) => ("router", t.clone()),
        PingTarget::Switch(t) => ("switch", t.clone()),
    };
    if !o.json {
        writeln!(out, "{kind} ping {what} via {}", admin.target()).map_err(CliError::io)?;
    }
    let mut pongs = Vec::new();
    for seq in 0..args.count {
        if seq > 0 {
            std::thread::sleep(Duration::from_secs_f64(args.interval));
        }
        let pong = match &target {
            PingTarget::Router(t) => {
                let reply = admin
                    .call_waiting(
                        "RouterModule_pingNode",
                        BDict::new()
                            .with("path", t.as_str())
                            .with("timeout", timeout_ms),
                        wait,
                    )
                    .map_err(|e| ping_hint(e, t))?;
                Pong::Router(model::router_pong(&reply))
            }
            PingTarget::Switch(p) => {
                let reply = admin
                    .call_waiting(
                        "SwitchPinger_ping",
                        BDict::new()
                            .with("path", p.as_str())
                            .with("timeout", timeout_ms),
                        wait,
                    )
                    .map_err(|e| ping_hint(e, p))?;
                Pong::Switch(model::switch_pong(&reply))
            }
        };
        if !o.json {
            writeln!(out, "{}", pong.line(seq)).map_err(CliError::io)?;
        }
        pongs.push(pong);
    }
    let summary = summarize(&pongs);
    if o.json {
        print_json(
            out,
            &json!({ "kind": kind, "target": what, "pongs": pongs, "summary": summary }),
        )?;
    } else {
        let rtt = match (summary.min_ms, summary.avg_ms, summary.max_ms) {
            (Some(min), Some(avg), Some(max)) => {
                format!(", rtt min/avg/max {min}/{avg:.1}/{max} ms")
            }
            _ => String::new(),
        };
        writeln!(
            out,
            "{} sent, {} answered, {:.0}% lost{rtt}",
            summary.sent, summary.received, summary.loss_percent
        )
        .map_err(CliError::io)?;
    }
    Ok(if summary.received > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::error::EXIT_RUNTIME)
    })
}

/// Say what cjdns's terse ping errors mean.
fn ping_hint(e: CliError, target: &str) -> CliError {
    let m = e.message();
    if m.ends_with("answered: not_found") {
        CliError::runtime(format!(
            "{target}: the node knows no route to it (not_found); see `fc00ctl routes`"
        ))
    } else if m.ends_with("answered: parse_path") {
        CliError::usage(format!(
            "{target}: the node could not read this target (parse_path)"
        ))
    } else {
        e
    }
}

fn peer_add(args: PeerAddArgs, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let addr: SocketAddr = args.address.parse().map_err(|_| {
        CliError::usage(format!(
            "{:?}: expected the peer's UDP address as IP:PORT, e.g. 192.0.2.7:11223 or [2001:db8::7]:11223",
            args.address
        ))
    })?;
    let key = PublicKey::parse_k(args.public_key.trim()).map_err(|e| {
        CliError::usage(format!("{}: not a cjdns public key: {e}", args.public_key))
    })?;
    let mut call = BDict::new()
        .with("address", addr.to_string())
        .with("publicKey", key.to_k_string().as_str());
    if let Some(p) = &args.password {
        call.put("password", p.as_str());
    }
    if let Some(l) = &args.login {
        call.put("login", l.as_str());
    }
    if let Some(n) = &args.name {
        call.put("peerName", n.as_str());
    }
    if let Some(i) = args.interface {
        call.put("interfaceNumber", i64::from(i));
    }
    let mut admin = connect(&args.conn, args.admin_password.clone())?;
    admin.call("UDPInterface_beginConnection", call)?;
    let key = key.to_k_string();
    if args.json {
        print_json(
            out,
            &json!({ "added": true, "address": addr.to_string(), "publicKey": key.as_str() }),
        )?;
    } else {
        writeln!(
            out,
            "connecting to {key} at {addr}; it shows in `fc00ctl peers` once the handshake completes"
        )
        .map_err(CliError::io)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn peer_remove(args: PeerRemoveArgs, out: &mut impl Write) -> Result<ExitCode, CliError> {
    let text = args.public_key.trim();
    let key = if is_node_address_text(text) {
        NodeAddress::parse(text)
            .map(|n| n.key)
            .map_err(|e| CliError::usage(format!("{text}: not a node address: {e}")))?
    } else {
        PublicKey::parse_k(text)
            .map_err(|e| CliError::usage(format!("{text}: not a cjdns public key: {e}")))?
    };
    let key = key.to_k_string();
    let mut admin = connect(&args.opts.conn, args.opts.password.clone())?;
    admin
        .call(
            "InterfaceController_disconnectPeer",
            BDict::new().with("pubkey", key.as_str()),
        )
        .map_err(|e| {
            if e.message().ends_with("no peer found for that key") {
                CliError::runtime(format!(
                    "{key} is not a peer of this node (see `fc00ctl peers`)"
                ))
            } else {
                e
            }
        })?;
    if args.opts.json {
        print_json(out, &json!({ "removed": true, "publicKey": key.as_str() }))?;
    } else {
        writeln!(out, "disconnected {key}").map_err(CliError::io)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k";

    /// A bare key that happens to begin with `v` and a digit (seen failing `peer remove`).
    #[test]
    fn keys_beginning_with_v_are_keys() {
        let v_key = "v1pdpkujh8gmbx929wb75mhxxfsulp3wumymdxgzd0899svrtdk0.k";
        assert!(!is_node_address_text(v_key));
        assert!(PublicKey::parse_k(v_key).is_ok());
        assert!(is_node_address_text(&format!(
            "v22.0000.0000.0000.0013.{v_key}"
        )));
        assert!(!is_node_address_text(KEY));
    }

    #[test]
    fn ping_targets() {
        let node = format!("v22.0000.0000.0000.0013.{KEY}");
        assert_eq!(
            parse_ping_target(&node, false, false),
            Ok(PingTarget::Router(node.clone()))
        );
        assert_eq!(
            parse_ping_target(&node, true, false),
            Ok(PingTarget::Switch("0000.0000.0000.0013".into()))
        );
        assert_eq!(
            parse_ping_target("fc49:c57:3941:5184:3de2:5d23:d54f:9a53", false, false),
            Ok(PingTarget::Router(
                "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53".into()
            ))
        );
        assert_eq!(
            parse_ping_target("0000.0000.0000.0013", false, false),
            Ok(PingTarget::Switch("0000.0000.0000.0013".into()))
        );
        assert_eq!(
            parse_ping_target("0000.0000.0000.0013", false, true),
            Ok(PingTarget::Router("0000.0000.0000.0013".into()))
        );
        for bad in [
            "2001:db8::1",
            "fc00::zz",
            "0000.0000.0000.001g",
            "hello",
            "v22.0000.0000.0000.0013.bad.k",
        ] {
            let e = parse_ping_target(bad, false, false).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::EXIT_USAGE, "{bad}");
        }
        assert!(parse_ping_target("fc00::1", true, false).is_err());
    }

    #[test]
    fn admin_addresses() {
        assert_eq!(
            parse_admin_addr("11234").unwrap(),
            "127.0.0.1:11234".parse().unwrap()
        );
        assert_eq!(
            parse_admin_addr("[::1]:9").unwrap(),
            "[::1]:9".parse().unwrap()
        );
        assert!(parse_admin_addr("nope nope").is_err());
    }

    #[test]
    fn admin_section_of_a_config_fc00d_would_refuse() {
        let dir = std::env::temp_dir().join(format!("fc00ctl-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // No privateKey: fc00d refuses it, but its admin section is still read.
        let path = dir.join("partial.conf");
        std::fs::write(
            &path,
            "{ // comment\n \"admin\": { \"bind\": \"127.0.0.1:4242\", \"password\": \"pw\" } }",
        )
        .unwrap();
        let (bind, pw) = admin_from_config(&path).unwrap();
        assert_eq!(bind, "127.0.0.1:4242".parse().unwrap());
        assert_eq!(pw.as_deref(), Some("pw"));
        std::fs::write(&path, "not json").unwrap();
        let e = admin_from_config(&path).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::EXIT_USAGE);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
