//! OpenWrt's `/etc/config/fc00` (UCI) turned into what fc00d and the router need:
//! a cjdroute.conf for the daemon (`fc00d --uci`) and `uci batch` lines for the network,
//! firewall and DHCP sections of the TUN interface and gateway mode (`fc00d --uci-firewall`).
//!
//! The UCI text format is parsed here rather than through libuci so the daemon stays a single
//! static binary; every error names the line it is about. The schema is documented in
//! `openwrt/package/fc00/files/fc00.config`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use protocol_core::identity::{Ip6, PrivateKey, PublicKey};
use serde_json::{json, Map, Value};

use crate::config;

/// What went wrong and where: `line` is 1-based, 0 when the problem is a missing section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UciError {
    pub line: usize,
    pub message: String,
}

impl UciError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        UciError {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for UciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for UciError {}

/// `option` (one value) or `list` (values in file order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UciValue {
    Single(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UciOption {
    pub name: String,
    pub value: UciValue,
    /// Line of the last `option`/`list` statement that set it.
    pub line: usize,
}

/// One `config TYPE ['NAME']` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    pub line: usize,
    pub options: Vec<UciOption>,
}

impl Section {
    fn get(&self, name: &str) -> Option<&UciOption> {
        self.options.iter().find(|o| o.name == name)
    }

    /// `config udp_peer` → `@udp_peer`, `config fc00 'main'` → `main`: for messages.
    fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{} '{n}'", self.kind),
            None => format!("{} section", self.kind),
        }
    }

    /// A single-valued option; a `list` of the same name is refused.
    fn opt(&self, name: &str) -> Result<Option<(&str, usize)>, UciError> {
        match self.get(name) {
            None => Ok(None),
            Some(UciOption {
                value: UciValue::Single(v),
                line,
                ..
            }) => Ok(Some((v.as_str(), *line))),
            Some(o) => Err(UciError::new(
                o.line,
                format!("'{name}' must be an option, not a list"),
            )),
        }
    }

    fn required(&self, name: &str) -> Result<(&str, usize), UciError> {
        match self.opt(name)? {
            Some((v, l)) if !v.is_empty() => Ok((v, l)),
            Some((_, l)) => Err(UciError::new(
                l,
                format!("{}: '{name}' is empty", self.label()),
            )),
            None => Err(UciError::new(
                self.line,
                format!("{}: option '{name}' is missing", self.label()),
            )),
        }
    }

    /// Values of a `list`; a plain `option` counts as a one-element list, as UCI tools allow.
    fn list(&self, name: &str) -> Vec<(&str, usize)> {
        match self.get(name) {
            None => Vec::new(),
            Some(UciOption {
                value: UciValue::Single(v),
                line,
                ..
            }) => vec![(v.as_str(), *line)],
            Some(UciOption {
                value: UciValue::List(vs),
                line,
                ..
            }) => vs.iter().map(|v| (v.as_str(), *line)).collect(),
        }
    }

    fn bool_or(&self, name: &str, default: bool) -> Result<bool, UciError> {
        match self.opt(name)? {
            None => Ok(default),
            Some((v, line)) => parse_bool(v).ok_or_else(|| {
                UciError::new(
                    line,
                    format!("'{name}': {v:?} is not a boolean (1/0, yes/no, on/off, true/false)"),
                )
            }),
        }
    }

    fn enabled(&self) -> Result<bool, UciError> {
        self.bool_or("enabled", true)
    }

    /// Refuse option names this section type doesn't know: a typo would otherwise be a
    /// silently ignored setting on a router.
    fn check_known(&self, known: &[&str]) -> Result<(), UciError> {
        for o in &self.options {
            if !known.contains(&o.name.as_str()) {
                return Err(UciError::new(
                    o.line,
                    format!(
                        "{}: unknown option '{}' (known: {})",
                        self.label(),
                        o.name,
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "yes" | "on" | "true" | "enabled" => Some(true),
        "0" | "no" | "off" | "false" | "disabled" => Some(false),
        _ => None,
    }
}

/// Split one line into words the way UCI does: `'…'` literally, `"…"` with backslash
/// escapes, a backslash outside quotes escapes the next character, adjacent pieces join
/// into one word, `#` outside a word starts a comment.
fn words(text: &str, line: usize) -> Result<Vec<String>, UciError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '#' if !in_word => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err(UciError::new(line, "unterminated ' quote")),
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        None => return Err(UciError::new(line, "unterminated \" quote")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            None => {
                                return Err(UciError::new(
                                    line,
                                    "a backslash ends the line inside \" quotes (multi-line values are not supported)",
                                ))
                            }
                            Some(x) => cur.push(x),
                        },
                        Some(x) => cur.push(x),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    None => {
                        return Err(UciError::new(
                            line,
                            "a backslash ends the line (line continuation is not supported)",
                        ))
                    }
                    Some(x) => cur.push(x),
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Section types, section names and option names: what libuci accepts.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Parse UCI text into its sections, in file order.
pub fn parse(text: &str) -> Result<Vec<Section>, UciError> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let w = words(raw, line)?;
        let Some(keyword) = w.first() else { continue };
        match (keyword.as_str(), w.len()) {
            ("package", 2) => {}
            ("config", 2 | 3) => {
                let kind = w[1].clone();
                if !valid_name(&kind) {
                    return Err(UciError::new(
                        line,
                        format!("invalid section type {kind:?}"),
                    ));
                }
                let name = w.get(2).cloned();
                if let Some(n) = &name {
                    if !valid_name(n) {
                        return Err(UciError::new(line, format!("invalid section name {n:?}")));
                    }
                    if let Some(prev) = sections.iter().find(|s| s.name.as_ref() == Some(n)) {
                        return Err(UciError::new(
                            line,
                            format!("section name '{n}' is already used on line {}", prev.line),
                        ));
                    }
                }
                sections.push(Section {
                    kind,
                    name,
                    line,
                    options: Vec::new(),
                });
            }
            (kw @ ("option" | "list"), 3) => {
                let Some(section) = sections.last_mut() else {
                    return Err(UciError::new(
                        line,
                        format!("'{kw}' before any 'config' line"),
                    ));
                };
                let name = w[1].clone();
                if !valid_name(&name) {
                    return Err(UciError::new(line, format!("invalid option name {name:?}")));
                }
                let value = w[2].clone();
                let existing = section.options.iter_mut().find(|o| o.name == name);
                match (kw, existing) {
                    ("option", Some(o)) => {
                        if matches!(o.value, UciValue::List(_)) {
                            return Err(UciError::new(
                                line,
                                format!("'{name}' is already a list (line {})", o.line),
                            ));
                        }
                        // Later options override earlier ones, as in libuci.
                        o.value = UciValue::Single(value);
                        o.line = line;
                    }
                    (_, Some(o)) => match &mut o.value {
                        UciValue::List(vs) => {
                            vs.push(value);
                            o.line = line;
                        }
                        UciValue::Single(_) => {
                            return Err(UciError::new(
                                line,
                                format!("'{name}' is already an option (line {})", o.line),
                            ))
                        }
                    },
                    (_, None) => section.options.push(UciOption {
                        name,
                        value: if kw == "list" {
                            UciValue::List(vec![value])
                        } else {
                            UciValue::Single(value)
                        },
                        line,
                    }),
                }
            }
            ("package" | "config" | "option" | "list", n) => {
                return Err(UciError::new(
                    line,
                    format!(
                        "'{keyword}' takes {} words, found {}",
                        expected_words(keyword),
                        n.saturating_sub(1)
                    ),
                ))
            }
            (other, _) => {
                return Err(UciError::new(
                    line,
                    format!("unknown keyword {other:?} (expected config, option, list or package)"),
                ))
            }
        }
    }
    Ok(sections)
}

fn expected_words(keyword: &str) -> &'static str {
    match keyword {
        "package" => "1",
        "config" => "1 or 2",
        _ => "2",
    }
}

const MAIN_OPTIONS: &[&str] = &[
    "enabled",
    "private_key",
    "tun",
    "tun_device",
    "admin_bind",
    "admin_password",
    "user",
    "log_level",
];
const UDP_OPTIONS: &[&str] = &["enabled", "bind", "beacon", "beacon_port", "beacon_device"];
const ETH_OPTIONS: &[&str] = &["enabled", "device", "beacon"];
const UDP_PEER_OPTIONS: &[&str] = &[
    "enabled",
    "address",
    "public_key",
    "password",
    "login",
    "name",
];
const ETH_PEER_OPTIONS: &[&str] = &[
    "enabled",
    "device",
    "mac",
    "public_key",
    "password",
    "login",
    "name",
];
const PASSWORD_OPTIONS: &[&str] = &["enabled", "password", "user", "ipv6"];
const GATEWAY_OPTIONS: &[&str] = &[
    "enabled",
    "lan_zone",
    "lan_interface",
    "ra_default",
    "allow_ping",
];
const FORWARD_OPTIONS: &[&str] = &["enabled", "name", "proto", "port", "dest_ip", "dest_port"];

/// The default TUN device name on OpenWrt (the network interface and firewall zone use it).
pub const DEFAULT_TUN_DEVICE: &str = "fc00";

/// The single `config fc00` section; the other section types are checked in their own pass.
fn main_section(sections: &[Section]) -> Result<&Section, UciError> {
    let mut mains = sections.iter().filter(|s| s.kind == "fc00");
    let main = mains.next().ok_or_else(|| {
        UciError::new(
            0,
            "no 'config fc00' section (the main settings, usually 'main')",
        )
    })?;
    if let Some(second) = mains.next() {
        return Err(UciError::new(
            second.line,
            format!(
                "a second 'config fc00' section (the first is on line {})",
                main.line
            ),
        ));
    }
    main.check_known(MAIN_OPTIONS)?;
    for s in sections {
        let known: &[&str] = match s.kind.as_str() {
            "fc00" => continue,
            "udp_interface" => UDP_OPTIONS,
            "eth_interface" => ETH_OPTIONS,
            "udp_peer" => UDP_PEER_OPTIONS,
            "eth_peer" => ETH_PEER_OPTIONS,
            "password" => PASSWORD_OPTIONS,
            "gateway" => GATEWAY_OPTIONS,
            "forward" => FORWARD_OPTIONS,
            other => {
                return Err(UciError::new(
                    s.line,
                    format!(
                        "unknown section type '{other}' (fc00, udp_interface, eth_interface, \
                         udp_peer, eth_peer, password, gateway, forward)"
                    ),
                ))
            }
        };
        s.check_known(known)?;
    }
    Ok(main)
}

fn tun_device(main: &Section) -> Result<Option<String>, UciError> {
    if !main.bool_or("tun", true)? {
        return Ok(None);
    }
    let dev = match main.opt("tun_device")? {
        None => DEFAULT_TUN_DEVICE.to_string(),
        Some((d, line)) => {
            // IFNAMSIZ is 16 including the NUL.
            if d.is_empty() || d.len() > 15 || !valid_name(d) {
                return Err(UciError::new(
                    line,
                    format!(
                        "'tun_device': {d:?} is not an interface name (1-15 of A-Z a-z 0-9 _ -)"
                    ),
                ));
            }
            d.to_string()
        }
    };
    Ok(Some(dev))
}

fn beacon_mode(s: &Section, default: u8) -> Result<u8, UciError> {
    match s.opt("beacon")? {
        None => Ok(default),
        Some(("0", _)) => Ok(0),
        Some(("1", _)) => Ok(1),
        Some(("2", _)) => Ok(2),
        Some((v, line)) => Err(UciError::new(
            line,
            format!("'beacon': {v:?} is not 0 (off), 1 (accept) or 2 (send and accept)"),
        )),
    }
}

fn parse_port(v: &str, line: usize, what: &str) -> Result<u16, UciError> {
    match v.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(UciError::new(
            line,
            format!("'{what}': {v:?} is not a port number (1-65535)"),
        )),
    }
}

fn peer_json(s: &Section) -> Result<Value, UciError> {
    let (key, key_line) = s.required("public_key")?;
    PublicKey::parse_k(key).map_err(|_| {
        UciError::new(
            key_line,
            format!("'public_key': {key:?} is not a valid .k key"),
        )
    })?;
    let (password, _) = s.required("password")?;
    let mut peer = Map::new();
    peer.insert("publicKey".into(), json!(key));
    peer.insert("password".into(), json!(password));
    if let Some((login, _)) = s.opt("login")?.filter(|(v, _)| !v.is_empty()) {
        peer.insert("login".into(), json!(login));
    }
    if let Some((name, _)) = s.opt("name")?.filter(|(v, _)| !v.is_empty()) {
        peer.insert("peerName".into(), json!(name));
    }
    Ok(Value::Object(peer))
}

/// An interface's JSON object, and its `connectTo` peers, before they are joined.
type JsonObject = Map<String, Value>;

/// The cjdroute.conf (as JSON text) for this UCI config, checked by the daemon's own config
/// parser before it is returned.
pub fn to_cjdroute(sections: &[Section]) -> Result<String, UciError> {
    let main = main_section(sections)?;
    let (key_text, key_line) = main.required("private_key").map_err(|e| UciError {
        message: format!(
            "{} (the first boot script generates it: fc00d --genconf)",
            e.message
        ),
        ..e
    })?;
    let key = PrivateKey::parse_hex(key_text)
        .map_err(|_| UciError::new(key_line, "'private_key' is not 64 hex digits"))?;
    if key.public_key().address().is_err() {
        return Err(UciError::new(
            key_line,
            "'private_key' gives an address outside fc00::/8; generate another",
        ));
    }

    let mut udp: Vec<(SocketAddr, JsonObject, JsonObject)> = Vec::new();
    for s in sections.iter().filter(|s| s.kind == "udp_interface") {
        if !s.enabled()? {
            continue;
        }
        let (bind, line) = s.required("bind")?;
        let addr: SocketAddr = bind.parse().map_err(|_| {
            UciError::new(
                line,
                format!("'bind': {bind:?} is not ip:port ([::]:port for IPv6)"),
            )
        })?;
        let mut iface = Map::new();
        iface.insert("bind".into(), json!(addr.to_string()));
        iface.insert("beacon".into(), json!(beacon_mode(s, 0)?));
        if let Some((p, line)) = s.opt("beacon_port")? {
            iface.insert(
                "beaconPort".into(),
                json!(parse_port(p, line, "beacon_port")?),
            );
        }
        let devices: Vec<&str> = s
            .list("beacon_device")
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        if !devices.is_empty() {
            iface.insert("beaconDevices".into(), json!(devices));
        }
        udp.push((addr, iface, Map::new()));
    }
    for s in sections.iter().filter(|s| s.kind == "udp_peer") {
        if !s.enabled()? {
            continue;
        }
        let (address, line) = s.required("address")?;
        let addr: SocketAddr = address.parse().map_err(|_| {
            UciError::new(
                line,
                format!("'address': {address:?} is not ip:port (host names are not supported)"),
            )
        })?;
        let slot = udp
            .iter_mut()
            .find(|(bind, _, _)| bind.is_ipv4() == addr.is_ipv4())
            .ok_or_else(|| {
                UciError::new(
                    line,
                    format!(
                        "no enabled udp_interface of the same IP family as {addr} to reach it from"
                    ),
                )
            })?;
        slot.2.insert(addr.to_string(), peer_json(s)?);
    }

    let mut eth: Vec<(String, JsonObject, JsonObject)> = Vec::new();
    for s in sections.iter().filter(|s| s.kind == "eth_interface") {
        if !s.enabled()? {
            continue;
        }
        let (dev, _) = s.required("device")?;
        let mut iface = Map::new();
        iface.insert("bind".into(), json!(dev));
        iface.insert("beacon".into(), json!(beacon_mode(s, 2)?));
        eth.push((dev.to_string(), iface, Map::new()));
    }
    for s in sections.iter().filter(|s| s.kind == "eth_peer") {
        if !s.enabled()? {
            continue;
        }
        let (dev, dev_line) = s.required("device")?;
        let (mac, mac_line) = s.required("mac")?;
        let m = config::parse_mac(mac).ok_or_else(|| {
            UciError::new(mac_line, format!("'mac': {mac:?} is not a MAC address"))
        })?;
        let slot = eth.iter_mut().find(|(d, _, _)| d == dev).ok_or_else(|| {
            UciError::new(
                dev_line,
                format!("no enabled eth_interface with device '{dev}'"),
            )
        })?;
        let key = m
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        slot.2.insert(key, peer_json(s)?);
    }

    let mut passwords = Vec::new();
    for s in sections.iter().filter(|s| s.kind == "password") {
        if !s.enabled()? {
            continue;
        }
        let (password, _) = s.required("password")?;
        let mut entry = Map::new();
        entry.insert("password".into(), json!(password));
        if let Some((user, _)) = s.opt("user")?.filter(|(v, _)| !v.is_empty()) {
            entry.insert("user".into(), json!(user));
        }
        if let Some((ip, line)) = s.opt("ipv6")?.filter(|(v, _)| !v.is_empty()) {
            Ip6::parse(ip).map_err(|_| {
                UciError::new(line, format!("'ipv6': {ip:?} is not an fc00::/8 address"))
            })?;
            entry.insert("ipv6".into(), json!(ip));
        }
        passwords.push(Value::Object(entry));
    }

    let mut admin = Map::new();
    let (bind, bind_line) = main
        .opt("admin_bind")?
        .unwrap_or((config::DEFAULT_ADMIN_BIND, main.line));
    let admin_addr: SocketAddr = bind
        .parse()
        .map_err(|_| UciError::new(bind_line, format!("'admin_bind': {bind:?} is not ip:port")))?;
    admin.insert("bind".into(), json!(admin_addr.to_string()));
    let password = main.opt("admin_password")?.map_or("NONE", |(p, _)| p);
    admin.insert("password".into(), json!(password));

    let setuser = match main.opt("user")? {
        None | Some(("" | "root", _)) => json!(0),
        Some((u, line)) => {
            if !valid_name(u) {
                return Err(UciError::new(
                    line,
                    format!("'user': {u:?} is not a user name"),
                ));
            }
            json!(u)
        }
    };

    let mut interfaces = Map::new();
    let udp_list: Vec<Value> = udp
        .into_iter()
        .map(|(_, mut iface, peers)| {
            iface.insert("connectTo".into(), Value::Object(peers));
            Value::Object(iface)
        })
        .collect();
    interfaces.insert("UDPInterface".into(), Value::Array(udp_list));
    let eth_list: Vec<Value> = eth
        .into_iter()
        .map(|(_, mut iface, peers)| {
            if !peers.is_empty() {
                iface.insert("connectTo".into(), Value::Object(peers));
            }
            Value::Object(iface)
        })
        .collect();
    interfaces.insert("ETHInterface".into(), Value::Array(eth_list));

    let mut root = Map::new();
    root.insert("privateKey".into(), json!(key.to_hex_string().as_str()));
    root.insert(
        "publicKey".into(),
        json!(key.public_key().to_k_string().as_str()),
    );
    root.insert("authorizedPasswords".into(), Value::Array(passwords));
    root.insert("admin".into(), Value::Object(admin));
    root.insert("interfaces".into(), Value::Object(interfaces));
    if let Some(dev) = tun_device(main)? {
        root.insert(
            "router".into(),
            json!({ "interface": { "type": "TUNInterface", "tunDevice": dev } }),
        );
    }
    root.insert("security".into(), json!([{ "setuser": setuser }]));
    root.insert("noBackground".into(), json!(1));

    let text = serde_json::to_string_pretty(&Value::Object(root))
        .map_err(|e| UciError::new(0, format!("could not write the config: {e}")))?;
    // The daemon must accept what we hand it; a refusal here is a converter bug, but say so
    // on the router instead of starting a daemon that exits at once.
    config::parse(&text)
        .map_err(|e| UciError::new(0, format!("the generated config is refused: {e}")))?;
    Ok(text + "\n")
}

/// One `uci batch` assignment; values are validated before they get here, and quoted so the
/// shell-like batch parser keeps them whole.
fn set(out: &mut String, path: &str, value: &str) {
    out.push_str("set ");
    out.push_str(path);
    out.push_str("='");
    out.push_str(&value.replace('\'', "'\\''"));
    out.push_str("'\n");
}

fn zone_name(s: &Section, option: &str, default: &'static str) -> Result<String, UciError> {
    match s.opt(option)? {
        None => Ok(default.to_string()),
        Some((v, _)) if valid_name(v) => Ok(v.to_string()),
        Some((v, line)) => Err(UciError::new(
            line,
            format!("'{option}': {v:?} is not a UCI name"),
        )),
    }
}

/// `uci batch` lines for the `network`, `firewall` and `dhcp` packages: the TUN as network
/// interface `fc00`, a firewall zone `fc00` that lets in only replies to what the router
/// and LAN started, and, in gateway mode, LAN→fc00 forwarding with IPv6 masquerade (so LAN
/// hosts without fc00 reach fc00::/8 from the router's address, as cjdns's NAT gateway guide
/// does); with or without gateway mode, DNAT port forwards exposing LAN services to the mesh.
///
/// The caller (the init script) first deletes every `network.fc00`, `firewall.fc00` and
/// `firewall.fc00_*` section, so this is the whole desired state; with TUN off it is empty.
pub fn firewall_batch(sections: &[Section]) -> Result<String, UciError> {
    let main = main_section(sections)?;
    let mut out = String::from("# uci batch from fc00d --uci-firewall\n");
    let Some(dev) = tun_device(main)? else {
        return Ok(out);
    };
    let mut gateways = sections.iter().filter(|s| s.kind == "gateway");
    let gateway = gateways.next();
    if let (Some(first), Some(second)) = (gateway, gateways.next()) {
        return Err(UciError::new(
            second.line,
            format!(
                "a second 'config gateway' section (the first is on line {})",
                first.line
            ),
        ));
    }
    // The LAN names and ping come from the gateway section even with gateway mode off:
    // port forwards and ping don't need masquerade.
    let (lan_zone, lan_iface, ping) = match gateway {
        Some(g) => (
            zone_name(g, "lan_zone", "lan")?,
            zone_name(g, "lan_interface", "lan")?,
            g.bool_or("allow_ping", false)?,
        ),
        None => ("lan".to_string(), "lan".to_string(), false),
    };
    let gateway = match gateway {
        Some(g) if g.enabled()? => Some(g),
        _ => None,
    };

    out.push_str("set network.fc00=interface\n");
    set(&mut out, "network.fc00.proto", "none");
    set(&mut out, "network.fc00.device", &dev);
    out.push_str("set firewall.fc00=zone\n");
    set(&mut out, "firewall.fc00.name", "fc00");
    out.push_str("add_list firewall.fc00.network='fc00'\n");
    set(&mut out, "firewall.fc00.family", "ipv6");
    // Only established/related traffic comes in (fw4 accepts it before zone policies).
    set(&mut out, "firewall.fc00.input", "REJECT");
    set(&mut out, "firewall.fc00.output", "ACCEPT");
    set(&mut out, "firewall.fc00.forward", "REJECT");

    if ping {
        out.push_str("set firewall.fc00_ping=rule\n");
        set(&mut out, "firewall.fc00_ping.name", "fc00: ping");
        set(&mut out, "firewall.fc00_ping.src", "fc00");
        set(&mut out, "firewall.fc00_ping.proto", "icmp");
        set(&mut out, "firewall.fc00_ping.icmp_type", "echo-request");
        set(&mut out, "firewall.fc00_ping.family", "ipv6");
        set(&mut out, "firewall.fc00_ping.target", "ACCEPT");
    }
    if let Some(gw) = gateway {
        set(&mut out, "firewall.fc00.masq6", "1");
        out.push_str("set firewall.fc00_lan=forwarding\n");
        set(&mut out, "firewall.fc00_lan.src", &lan_zone);
        set(&mut out, "firewall.fc00_lan.dest", "fc00");
        gateway_ra(&mut out, gw, &lan_iface)?;
    }
    for (i, f) in sections.iter().filter(|s| s.kind == "forward").enumerate() {
        if !f.enabled()? {
            continue;
        }
        let (port, port_line) = f.required("port")?;
        let port = parse_port(port, port_line, "port")?;
        let dest_port = match f.opt("dest_port")? {
            None => port,
            Some((p, line)) => parse_port(p, line, "dest_port")?,
        };
        let (dest, dest_line) = f.required("dest_ip")?;
        let dest_ip: Ipv6Addr = match dest.parse::<IpAddr>() {
            Ok(IpAddr::V6(a)) => a,
            _ => {
                return Err(UciError::new(
                    dest_line,
                    format!(
                        "'dest_ip': {dest:?} is not an IPv6 address (the mesh is IPv6; give the \
                         LAN host's ULA or global address)"
                    ),
                ))
            }
        };
        let proto = match f.opt("proto")? {
            None => "tcp",
            Some((p @ ("tcp" | "udp" | "tcp udp" | "udp tcp"), _)) => p,
            Some((p, line)) => {
                return Err(UciError::new(
                    line,
                    format!("'proto': {p:?} is not tcp, udp or 'tcp udp'"),
                ))
            }
        };
        let label = match f.opt("name")? {
            Some((n, _)) if !n.is_empty() => n.to_string(),
            _ => format!("port {port}"),
        };
        let sec = format!("firewall.fc00_fwd{i}");
        out.push_str(&format!("set {sec}=redirect\n"));
        set(&mut out, &format!("{sec}.name"), &format!("fc00: {label}"));
        set(&mut out, &format!("{sec}.target"), "DNAT");
        set(&mut out, &format!("{sec}.family"), "ipv6");
        set(&mut out, &format!("{sec}.src"), "fc00");
        set(&mut out, &format!("{sec}.src_dport"), &port.to_string());
        set(&mut out, &format!("{sec}.dest"), &lan_zone);
        set(&mut out, &format!("{sec}.dest_ip"), &dest_ip.to_string());
        set(
            &mut out,
            &format!("{sec}.dest_port"),
            &dest_port.to_string(),
        );
        set(&mut out, &format!("{sec}.proto"), proto);
    }
    Ok(out)
}

/// Gateway mode's odhcpd setting for the LAN.
fn gateway_ra(out: &mut String, gw: &Section, lan_iface: &str) -> Result<(), UciError> {
    // odhcpd announces a default route to LAN hosts only when the router has one; with
    // ra_default 2 it always does, so hosts send fc00::/8 to the router.
    match gw.opt("ra_default")? {
        None => set(out, &format!("dhcp.{lan_iface}.ra_default"), "2"),
        Some(("", _)) => {}
        Some((v @ ("0" | "1" | "2"), _)) => set(out, &format!("dhcp.{lan_iface}.ra_default"), v),
        Some((v, line)) => {
            return Err(UciError::new(
                line,
                format!("'ra_default': {v:?} is not 0, 1, 2 or empty (leave odhcpd alone)"),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_follow_uci_quoting() {
        assert_eq!(
            words(r#"option name 'it'\''s' # comment"#, 1),
            Ok(vec!["option".into(), "name".into(), "it's".into()])
        );
        assert_eq!(
            words(r#"option x "a\"b" '' "#, 1),
            Ok(vec!["option".into(), "x".into(), "a\"b".into(), "".into()])
        );
        assert_eq!(words("option x 'open", 7).map_err(|e| e.line), Err(7));
        assert_eq!(words("  # only a comment", 1), Ok(vec![]));
    }

    #[test]
    fn lists_and_overrides() {
        let s = parse("config a 'n'\n\toption x 1\n\toption x 2\n\tlist l a\n\tlist l b\n")
            .unwrap_or_default();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].opt("x"), Ok(Some(("2", 3))));
        assert_eq!(s[0].list("l"), vec![("a", 5), ("b", 5)]);
    }

    #[test]
    fn errors_name_lines() {
        let e = |t: &str| parse(t).err().map(|e| e.line);
        assert_eq!(e("option x 1\n"), Some(1));
        assert_eq!(e("config a\n\tbogus x y\n"), Some(2));
        assert_eq!(e("config a\n\toption x\n"), Some(2));
        assert_eq!(e("config a 'n'\nconfig b 'n'\n"), Some(2));
        assert_eq!(e("config a\n\tlist x 1\n\toption x 2\n"), Some(3));
        assert_eq!(e("config 'a b'\n"), Some(1));
    }
}
