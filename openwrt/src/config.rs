//! cjdroute.conf: JSON with `//` and `/* */` comments, read as cjdroute reads it.
//!
//! Parsing goes through `serde_json::Value` and walks the tree by hand, so unknown keys can be
//! warned about (a cjdroute.conf carries many we don't use) instead of refused.

use std::fmt;
use std::net::SocketAddr;

use protocol_core::identity::{Ip6, PrivateKey, PublicKey};
use serde_json::{Map, Value};

/// Default UDP data port of a zero-config node (cjdroute picks a random one per config).
pub const DEFAULT_UDP_PORT: u16 = 11223;
/// Where cjdroute's UDP beacons go (`beaconPort` default).
pub const DEFAULT_BEACON_PORT: u16 = 64512;
pub const DEFAULT_ADMIN_BIND: &str = "127.0.0.1:11234";

/// A config that could not be used. `line`/`column` are 1-based and set when the JSON itself
/// is malformed; `at` names the key when the JSON is fine but a value is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub column: usize,
    pub at: String,
    pub message: String,
}

impl ConfigError {
    fn at(at: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            line: 0,
            column: 0,
            at: at.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "line {} column {}: {}",
                self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedPassword {
    pub password: String,
    pub user: Option<String>,
    pub ipv6: Option<Ip6>,
}

/// One `connectTo` entry (UDP: keyed by "ip:port"; Ethernet: keyed by MAC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    pub public_key: PublicKey,
    pub password: String,
    pub login: Option<String>,
    pub peer_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpInterface {
    pub bind: SocketAddr,
    pub connect_to: Vec<(SocketAddr, PeerEntry)>,
    /// 0 off, 1 accept, 2 send and accept.
    pub beacon: u8,
    pub beacon_port: u16,
    pub beacon_devices: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthInterface {
    /// A device name or "all".
    pub bind: String,
    pub beacon: u8,
    pub connect_to: Vec<([u8; 6], PeerEntry)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    pub bind: SocketAddr,
    /// "NONE" (the default, as cjdroute and its tools assume) lets every call through
    /// without auth; `None` allows only the calls that need none.
    pub password: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub private_key: PrivateKey,
    pub authorized_passwords: Vec<AuthorizedPassword>,
    pub udp: Vec<UdpInterface>,
    pub eth: Vec<EthInterface>,
    /// `Some(name)` when router.interface is a TUNInterface; an empty name lets the kernel pick.
    pub tun: Option<String>,
    pub admin: AdminConfig,
    /// `security: [{ "setuser": NAME }]`: once sockets and TUN are open, run as this user,
    /// keeping CAP_NET_RAW and CAP_NET_ADMIN. `None` (`"setuser": 0`, or no such entry)
    /// stays as started.
    pub setuser: Option<String>,
    /// Unknown keys and other things worth a log line, not worth refusing the file.
    pub warnings: Vec<String>,
}

impl Config {
    /// The zero-config node: UDP on [`DEFAULT_UDP_PORT`] (IPv4 and IPv6) with beacons,
    /// Ethernet beacons on every device, TUN, admin on localhost without a password.
    pub fn zero(private_key: PrivateKey) -> Config {
        let udp = |bind: &str| UdpInterface {
            bind: bind.parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0))),
            connect_to: Vec::new(),
            beacon: 2,
            beacon_port: DEFAULT_BEACON_PORT,
            beacon_devices: vec!["all".into()],
        };
        let mut v6 = udp("[::]:11223");
        v6.beacon = 0;
        Config {
            private_key,
            authorized_passwords: Vec::new(),
            udp: vec![udp("0.0.0.0:11223"), v6],
            eth: vec![EthInterface {
                bind: "all".into(),
                beacon: 2,
                connect_to: Vec::new(),
            }],
            tun: Some(String::new()),
            setuser: Some("nobody".into()),
            admin: AdminConfig {
                bind: DEFAULT_ADMIN_BIND
                    .parse()
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 11234))),
                password: Some("NONE".into()),
            },
            warnings: Vec::new(),
        }
    }
}

/// Blank out `//` and `/* */` comments outside strings, keeping every newline and column so
/// serde_json's line/column point into the original file.
pub fn strip_comments(text: &str) -> Result<String, ConfigError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        if in_string {
            out.push(b);
            if b == b'\\' {
                if let Some(n) = next {
                    out.push(n);
                    i += 1;
                    col += 1;
                }
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if b == b'/' && next == Some(b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                out.push(if bytes[i] == b'\t' { b'\t' } else { b' ' });
                i += 1;
            }
            continue;
        } else if b == b'/' && next == Some(b'*') {
            let (start_line, start_col) = (line, col);
            out.extend_from_slice(b"  ");
            i += 2;
            col += 2;
            loop {
                match bytes.get(i) {
                    None => {
                        return Err(ConfigError {
                            line: start_line,
                            column: start_col,
                            at: String::new(),
                            message: "comment opened with /* is never closed".into(),
                        })
                    }
                    Some(b'*') if bytes.get(i + 1) == Some(&b'/') => {
                        out.extend_from_slice(b"  ");
                        i += 2;
                        col += 2;
                        break;
                    }
                    Some(b'\n') => {
                        out.push(b'\n');
                        line += 1;
                        col = 1;
                        i += 1;
                    }
                    Some(_) => {
                        out.push(b' ');
                        i += 1;
                        col += 1;
                    }
                }
            }
            continue;
        } else {
            out.push(b);
        }
        if b == b'\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
        i += 1;
    }
    // Only ASCII was replaced, so the bytes are still UTF-8.
    String::from_utf8(out).map_err(|_| ConfigError::at("", "the file is not UTF-8"))
}

/// Parse a cjdroute.conf.
pub fn parse(text: &str) -> Result<Config, ConfigError> {
    let clean = strip_comments(text)?;
    let root: Value = serde_json::from_str(&clean).map_err(|e| ConfigError {
        line: e.line().max(1),
        column: e.column().max(1),
        at: String::new(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or("")
            .to_string(),
    })?;
    let root = root
        .as_object()
        .ok_or_else(|| ConfigError::at("(top level)", "expected a JSON object"))?;
    let mut warnings = Vec::new();
    warn_unknown(
        root,
        "",
        &[
            "privateKey",
            "publicKey",
            "ipv6",
            "authorizedPasswords",
            "admin",
            "interfaces",
            "router",
            "security",
            "logging",
            "noBackground",
            "pipe",
            "version",
            "dns",
        ],
        &mut warnings,
    );

    let private_key = match root.get("privateKey") {
        Some(Value::String(s)) => PrivateKey::parse_hex(s)
            .map_err(|_| ConfigError::at("privateKey", "expected 64 hex digits"))?,
        Some(_) => return Err(ConfigError::at("privateKey", "expected a string")),
        None => return Err(ConfigError::at("privateKey", "missing")),
    };
    let public = private_key.public_key();
    let address = public
        .address()
        .map_err(|_| ConfigError::at("privateKey", "its address is not in fc00::/8"))?;
    if let Some(v) = root.get("publicKey") {
        let s = str_of(v, "publicKey")?;
        let given = PublicKey::parse_k(s)
            .map_err(|_| ConfigError::at("publicKey", "not a valid .k key"))?;
        if given != public {
            return Err(ConfigError::at(
                "publicKey",
                format!(
                    "does not belong to privateKey (which gives {})",
                    public.to_k_string()
                ),
            ));
        }
    }
    if let Some(v) = root.get("ipv6") {
        let s = str_of(v, "ipv6")?;
        let given = Ip6::parse(s).map_err(|_| ConfigError::at("ipv6", "not an IPv6 address"))?;
        if given != address {
            return Err(ConfigError::at(
                "ipv6",
                format!(
                    "does not belong to privateKey (which gives {})",
                    address.to_full_string()
                ),
            ));
        }
    }

    let mut authorized_passwords = Vec::new();
    if let Some(v) = root.get("authorizedPasswords") {
        let list = v
            .as_array()
            .ok_or_else(|| ConfigError::at("authorizedPasswords", "expected a list"))?;
        for (i, entry) in list.iter().enumerate() {
            let at = format!("authorizedPasswords[{i}]");
            let obj = obj_of(entry, &at)?;
            warn_unknown(obj, &at, &["password", "user", "ipv6"], &mut warnings);
            let password = str_of(
                obj.get("password")
                    .ok_or_else(|| ConfigError::at(&at, "no password"))?,
                &format!("{at}.password"),
            )?
            .to_string();
            let user = opt_str(obj, "user", &at)?;
            let ipv6 =
                match opt_str(obj, "ipv6", &at)? {
                    Some(s) => Some(Ip6::parse(&s).map_err(|_| {
                        ConfigError::at(format!("{at}.ipv6"), "not an IPv6 address")
                    })?),
                    None => None,
                };
            authorized_passwords.push(AuthorizedPassword {
                password,
                user,
                ipv6,
            });
        }
    }

    let mut admin = AdminConfig {
        bind: DEFAULT_ADMIN_BIND
            .parse()
            .map_err(|_| ConfigError::at("admin", "internal default"))?,
        password: Some("NONE".into()),
    };
    if let Some(v) = root.get("admin") {
        let obj = obj_of(v, "admin")?;
        warn_unknown(obj, "admin", &["bind", "password"], &mut warnings);
        if let Some(b) = opt_str(obj, "bind", "admin")? {
            admin.bind = b
                .parse()
                .map_err(|_| ConfigError::at("admin.bind", "expected ip:port"))?;
        }
        if let Some(p) = opt_str(obj, "password", "admin")? {
            admin.password = Some(p);
        }
    }

    let mut udp = Vec::new();
    let mut eth = Vec::new();
    if let Some(v) = root.get("interfaces") {
        let obj = obj_of(v, "interfaces")?;
        warn_unknown(
            obj,
            "interfaces",
            &["UDPInterface", "ETHInterface"],
            &mut warnings,
        );
        if let Some(v) = obj.get("UDPInterface") {
            for (at, iface) in one_or_many(v, "interfaces.UDPInterface")? {
                udp.push(parse_udp(iface, &at, &mut warnings)?);
            }
        }
        if let Some(v) = obj.get("ETHInterface") {
            for (at, iface) in one_or_many(v, "interfaces.ETHInterface")? {
                eth.push(parse_eth(iface, &at, &mut warnings)?);
            }
        }
    }

    let mut tun = None;
    if let Some(v) = root.get("router") {
        let obj = obj_of(v, "router")?;
        warn_unknown(
            obj,
            "router",
            &[
                "interface",
                "ipTunnel",
                "supernodes",
                "publicPeer",
                "dnsSeeds",
                "dnsServer",
            ],
            &mut warnings,
        );
        if let Some(v) = obj.get("interface") {
            let obj = obj_of(v, "router.interface")?;
            warn_unknown(
                obj,
                "router.interface",
                &["type", "tunDevice", "tunfd", "socketDir"],
                &mut warnings,
            );
            match opt_str(obj, "type", "router.interface")?.as_deref() {
                Some("TUNInterface") | None => {
                    tun = Some(opt_str(obj, "tunDevice", "router.interface")?.unwrap_or_default());
                }
                Some(other) => warnings.push(format!(
                    "router.interface.type: {other} is not supported, running without TUN"
                )),
            }
        }
        let tunnels_configured = obj
            .get("ipTunnel")
            .and_then(Value::as_object)
            .is_some_and(|t| {
                t.values()
                    .any(|v| v.as_array().is_some_and(|a| !a.is_empty()))
            });
        if tunnels_configured {
            warnings.push("router.ipTunnel: IP tunnelling is not supported, ignored".into());
        }
    }
    for key in ["dns"] {
        if root.contains_key(key) {
            warnings.push(format!("{key}: ignored"));
        }
    }

    let mut setuser = None;
    if let Some(Value::Array(list)) = root.get("security") {
        for entry in list {
            if let Some(v) = entry.as_object().and_then(|o| o.get("setuser")) {
                setuser = match v {
                    Value::String(name) if !name.is_empty() => Some(name.clone()),
                    Value::Number(_) => None,
                    _ => {
                        return Err(ConfigError::at(
                            "security.setuser",
                            "expected a user name or 0",
                        ))
                    }
                };
            }
        }
    }

    Ok(Config {
        private_key,
        authorized_passwords,
        udp,
        eth,
        tun,
        admin,
        setuser,
        warnings,
    })
}

fn parse_udp(v: &Value, at: &str, warnings: &mut Vec<String>) -> Result<UdpInterface, ConfigError> {
    let obj = obj_of(v, at)?;
    warn_unknown(
        obj,
        at,
        &["bind", "connectTo", "beacon", "beaconPort", "beaconDevices"],
        warnings,
    );
    let bind_text = opt_str(obj, "bind", at)?
        .ok_or_else(|| ConfigError::at(format!("{at}.bind"), "missing"))?;
    let bind = bind_text.parse().map_err(|_| {
        ConfigError::at(
            format!("{at}.bind"),
            format!("{bind_text:?} is not ip:port"),
        )
    })?;
    let beacon = opt_u64(obj, "beacon", at)?.unwrap_or(0);
    if beacon > 2 {
        return Err(ConfigError::at(
            format!("{at}.beacon"),
            "expected 0, 1 or 2",
        ));
    }
    let beacon_port = match opt_u64(obj, "beaconPort", at)? {
        Some(p) => u16::try_from(p)
            .map_err(|_| ConfigError::at(format!("{at}.beaconPort"), "not a port number"))?,
        None => DEFAULT_BEACON_PORT,
    };
    let mut beacon_devices = Vec::new();
    if let Some(v) = obj.get("beaconDevices") {
        let list = v
            .as_array()
            .ok_or_else(|| ConfigError::at(format!("{at}.beaconDevices"), "expected a list"))?;
        for (i, d) in list.iter().enumerate() {
            beacon_devices.push(str_of(d, &format!("{at}.beaconDevices[{i}]"))?.to_string());
        }
    }
    let mut connect_to = Vec::new();
    if let Some(v) = obj.get("connectTo") {
        let peers = obj_of(v, &format!("{at}.connectTo"))?;
        for (addr, entry) in peers {
            let pat = format!("{at}.connectTo[{addr:?}]");
            let sa: SocketAddr = addr.parse().map_err(|_| {
                ConfigError::at(
                    &pat,
                    "the key is not ip:port (host names are not supported)",
                )
            })?;
            connect_to.push((sa, parse_peer(entry, &pat, warnings)?));
        }
    }
    Ok(UdpInterface {
        bind,
        connect_to,
        beacon: beacon as u8,
        beacon_port,
        beacon_devices,
    })
}

fn parse_eth(v: &Value, at: &str, warnings: &mut Vec<String>) -> Result<EthInterface, ConfigError> {
    let obj = obj_of(v, at)?;
    warn_unknown(obj, at, &["bind", "connectTo", "beacon"], warnings);
    let bind = opt_str(obj, "bind", at)?
        .ok_or_else(|| ConfigError::at(format!("{at}.bind"), "missing"))?;
    let beacon = opt_u64(obj, "beacon", at)?.unwrap_or(0);
    if beacon > 2 {
        return Err(ConfigError::at(
            format!("{at}.beacon"),
            "expected 0, 1 or 2",
        ));
    }
    let mut connect_to = Vec::new();
    if let Some(v) = obj.get("connectTo") {
        let peers = obj_of(v, &format!("{at}.connectTo"))?;
        for (mac, entry) in peers {
            let pat = format!("{at}.connectTo[{mac:?}]");
            let m = parse_mac(mac)
                .ok_or_else(|| ConfigError::at(&pat, "the key is not a MAC address"))?;
            connect_to.push((m, parse_peer(entry, &pat, warnings)?));
        }
    }
    Ok(EthInterface {
        bind,
        beacon: beacon as u8,
        connect_to,
    })
}

fn parse_peer(v: &Value, at: &str, warnings: &mut Vec<String>) -> Result<PeerEntry, ConfigError> {
    let obj = obj_of(v, at)?;
    warn_unknown(
        obj,
        at,
        &[
            "password",
            "publicKey",
            "login",
            "peerName",
            "user",
            "contact",
            "location",
            "gpg",
            "ipv6",
        ],
        warnings,
    );
    let key_text = opt_str(obj, "publicKey", at)?
        .ok_or_else(|| ConfigError::at(format!("{at}.publicKey"), "missing"))?;
    let public_key = PublicKey::parse_k(&key_text)
        .map_err(|_| ConfigError::at(format!("{at}.publicKey"), "not a valid .k key"))?;
    let password = opt_str(obj, "password", at)?
        .ok_or_else(|| ConfigError::at(format!("{at}.password"), "missing"))?;
    Ok(PeerEntry {
        public_key,
        password,
        login: opt_str(obj, "login", at)?,
        peer_name: opt_str(obj, "peerName", at)?,
    })
}

pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for b in mac.iter_mut() {
        let p = parts.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// cjdroute accepts one interface object or a list of them.
fn one_or_many<'a>(v: &'a Value, at: &str) -> Result<Vec<(String, &'a Value)>, ConfigError> {
    match v {
        Value::Array(list) => Ok(list
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("{at}[{i}]"), x))
            .collect()),
        Value::Object(_) => Ok(vec![(at.to_string(), v)]),
        _ => Err(ConfigError::at(
            at,
            "expected an object or a list of objects",
        )),
    }
}

fn warn_unknown(obj: &Map<String, Value>, at: &str, known: &[&str], warnings: &mut Vec<String>) {
    for key in obj.keys() {
        // cjdroute's convention for switched-off sections: "_disabled_ETHInterface".
        if !known.contains(&key.as_str()) && !key.starts_with('_') {
            let dot = if at.is_empty() { "" } else { "." };
            warnings.push(format!("{at}{dot}{key}: unknown key, ignored"));
        }
    }
}

fn obj_of<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ConfigError> {
    v.as_object()
        .ok_or_else(|| ConfigError::at(at, "expected an object"))
}

fn str_of<'a>(v: &'a Value, at: &str) -> Result<&'a str, ConfigError> {
    v.as_str()
        .ok_or_else(|| ConfigError::at(at, "expected a string"))
}

fn opt_str(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<String>, ConfigError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ConfigError::at(format!("{at}.{key}"), "expected a string")),
    }
}

fn opt_u64(obj: &Map<String, Value>, key: &str, at: &str) -> Result<Option<u64>, ConfigError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            ConfigError::at(format!("{at}.{key}"), "expected a non-negative number")
        }),
    }
}

/// A fresh commented config, in cjdroute's layout, for `--genconf`.
pub fn genconf(private_key: &PrivateKey, udp_port: u16, password: &str) -> String {
    let public = private_key.public_key();
    let address = public
        .address()
        .map(|a| a.to_full_string().to_string())
        .unwrap_or_default();
    format!(
        r#"{{
    // Your identity. Keep privateKey secret: whoever has it is this node.
    // publicKey and ipv6 follow from it and are checked when the file is read.
    "privateKey": "{priv}",
    "publicKey": "{public}",
    "ipv6": "{address}",

    // Passwords other nodes may use to peer with this one. Give each peer its own
    // entry (and a "user" name) so one can be removed without touching the others.
    "authorizedPasswords": [
        {{ "password": "{password}", "user": "default-login" }}

        // {{ "password": "another password", "user": "my-friend" }}
    ],

    // The admin API (bencode over UDP, as cjdroute's). "NONE" disables the password.
    "admin": {{
        "bind": "127.0.0.1:11234",
        "password": "NONE"
    }},

    "interfaces": {{
        // Peering over UDP/IP. One entry per socket.
        "UDPInterface": [
            {{
                "bind": "0.0.0.0:{udp_port}",

                // Beacons to the local network: 0 off, 1 accept, 2 send and accept.
                "beacon": 2,
                "beaconDevices": [ "all" ],
                "beaconPort": 64512,

                // Peers to connect to, keyed by "ip:port":
                "connectTo": {{
                    // "192.0.2.1:11223": {{
                    //     "login": "default-login",
                    //     "password": "their password for you",
                    //     "publicKey": "their key.k",
                    //     "peerName": "a name for logs"
                    // }}
                }}
            }},
            {{
                "bind": "[::]:{udp_port}",
                "connectTo": {{ }}
            }}
        ],

        // Peering over raw Ethernet (ethertype 0xfc00). "all" takes every Ethernet
        // device, including those that appear later.
        "ETHInterface": [
            {{
                "bind": "all",
                "beacon": 2
                // "connectTo": {{ "02:00:00:00:00:01": {{ "password": "...", "publicKey": "....k" }} }}
            }}
        ]
    }},

    "router": {{
        // The TUN device carrying your fc00::/8 traffic. Set "tunDevice" to name it.
        "interface": {{
            "type": "TUNInterface"
            // "tunDevice": "fc00"
        }}
    }},

    // Started as root, fc00d opens its sockets and TUN, then runs as this user, keeping
    // CAP_NET_RAW and CAP_NET_ADMIN. {{ "setuser": 0 }} stays root.
    "security": [ {{ "setuser": "nobody", "keepNetAdmin": 1 }} ],

    // Accepted for compatibility with cjdroute.conf; fc00d runs in the foreground and
    // logs to stderr.
    "logging": {{ }},
    "noBackground": 1
}}
"#,
        priv = private_key.to_hex_string(),
        public = public.to_k_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_keep_positions() {
        let src = "{ // x\n \"a\": \"//no\" /* y\n z */ }";
        let s = strip_comments(src).unwrap_or_default();
        assert_eq!(s.len(), src.len());
        assert_eq!(s, "{     \n \"a\": \"//no\"     \n      }");
    }

    #[test]
    fn mac() {
        assert_eq!(parse_mac("02:00:0a:FF:00:01"), Some([2, 0, 10, 255, 0, 1]));
        assert_eq!(parse_mac("02:00:0a:FF:00"), None);
        assert_eq!(parse_mac("02:00:0a:FF:00:01:02"), None);
    }
}
