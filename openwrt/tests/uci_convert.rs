//! `/etc/config/fc00` (UCI) → daemon config and `uci batch` firewall lines: the package's
//! shipped default file, a file with every section type, gateway mode on and off, and errors
//! that name the line. The generated config always goes through the daemon's own parser.

use std::process::Command;

use fc00d::config::{self, Config};
use fc00d::uci::{firewall_batch, parse, to_cjdroute, UciError};
use proptest::prelude::*;
use protocol_core::identity::{generate_keypair, PrivateKey, PublicKey};
use rand_core::OsRng;

const BIN: &str = env!("CARGO_BIN_EXE_fc00d");
const SHIPPED: &str = include_str!("../package/fc00/files/fc00.config");

fn key() -> (String, PrivateKey) {
    let (k, _, _) = generate_keypair(&mut OsRng);
    (k.to_hex_string().to_string(), k)
}

fn public() -> String {
    generate_keypair(&mut OsRng).1.to_k_string().to_string()
}

/// The shipped file with `private_key` filled in, as the first-boot script leaves it.
fn shipped_with_key(hex: &str) -> String {
    SHIPPED.replace(
        "option private_key ''",
        &format!("option private_key '{hex}'"),
    )
}

fn convert(text: &str) -> Result<Config, UciError> {
    let json = to_cjdroute(&parse(text)?)?;
    config::parse(&json).map_err(|e| UciError {
        line: 0,
        message: e.to_string(),
    })
}

fn batch(text: &str) -> Result<String, UciError> {
    firewall_batch(&parse(text)?)
}

#[test]
fn shipped_default_gives_a_router_node() {
    let (hex, k) = key();
    let cfg = convert(&shipped_with_key(&hex)).expect("shipped config converts");
    assert_eq!(cfg.private_key.to_hex_string(), k.to_hex_string());
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    assert_eq!(cfg.udp.len(), 2);
    assert_eq!(cfg.udp[0].bind.to_string(), "0.0.0.0:11223");
    assert_eq!(cfg.udp[0].beacon, 2);
    assert_eq!(cfg.udp[0].beacon_devices, vec!["br-lan".to_string()]);
    assert_eq!(cfg.udp[1].bind.to_string(), "[::]:11223");
    assert_eq!(cfg.udp[1].beacon, 0);
    assert_eq!(cfg.eth.len(), 1);
    assert_eq!(cfg.eth[0].bind, "br-lan");
    assert_eq!(cfg.eth[0].beacon, 2);
    assert_eq!(cfg.tun.as_deref(), Some("fc00"));
    assert_eq!(cfg.admin.bind.to_string(), "127.0.0.1:11234");
    assert_eq!(cfg.admin.password.as_deref(), Some("NONE"));
    assert_eq!(cfg.setuser, None, "user 'root' stays root");
    assert!(cfg.authorized_passwords.is_empty());
}

#[test]
fn shipped_default_without_key_names_the_line() {
    let e = to_cjdroute(&parse(SHIPPED).expect("parses")).expect_err("no key yet");
    let line = SHIPPED
        .lines()
        .position(|l| l.contains("option private_key"))
        .map(|i| i + 1);
    assert_eq!(Some(e.line), line);
    assert!(e.message.contains("private_key"), "{e}");
}

#[test]
fn every_section_type() {
    let (hex, _) = key();
    let (p1, p2, p3) = (public(), public(), public());
    let text = format!(
        "package fc00\n\
         config fc00 'main'\n\
         \toption private_key '{hex}'\n\
         \toption tun_device 'mesh0'\n\
         \toption admin_bind '127.0.0.1:21234'\n\
         \toption admin_password 'secret'\n\
         \toption user 'nobody'\n\
         config udp_interface\n\
         \toption bind '0.0.0.0:4000'\n\
         \toption beacon_port '5000'\n\
         config udp_interface\n\
         \toption bind '[::]:4000'\n\
         config udp_interface\n\
         \toption enabled '0'\n\
         \toption bind '0.0.0.0:4001'\n\
         config eth_interface\n\
         \toption device 'eth1'\n\
         \toption beacon '1'\n\
         config udp_peer\n\
         \toption address '192.0.2.1:11223'\n\
         \toption public_key '{p1}'\n\
         \toption password 'pw one'\n\
         \toption login 'me'\n\
         \toption name \"Bob's router\"\n\
         config udp_peer\n\
         \toption address '[2001:db8::1]:11223'\n\
         \toption public_key '{p2}'\n\
         \toption password 'pw two'\n\
         config udp_peer\n\
         \toption enabled 'no'\n\
         \toption address '192.0.2.9:1'\n\
         \toption public_key 'not even a key'\n\
         \toption password 'x'\n\
         config eth_peer\n\
         \toption device 'eth1'\n\
         \toption mac '02:AA:00:00:00:01'\n\
         \toption public_key '{p3}'\n\
         \toption password 'pw three'\n\
         config password\n\
         \toption password 'for alice'\n\
         \toption user 'alice'\n\
         config password\n\
         \toption password 'for bob'\n"
    );
    let cfg = convert(&text).expect("converts");
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    assert_eq!(cfg.tun.as_deref(), Some("mesh0"));
    assert_eq!(cfg.admin.bind.to_string(), "127.0.0.1:21234");
    assert_eq!(cfg.admin.password.as_deref(), Some("secret"));
    assert_eq!(cfg.setuser.as_deref(), Some("nobody"));
    assert_eq!(cfg.udp.len(), 2, "the disabled interface is left out");
    assert_eq!(cfg.udp[0].beacon_port, 5000);
    assert_eq!(cfg.udp[0].connect_to.len(), 1);
    let (addr, peer) = &cfg.udp[0].connect_to[0];
    assert_eq!(addr.to_string(), "192.0.2.1:11223");
    assert_eq!(peer.public_key, PublicKey::parse_k(&p1).expect("key"));
    assert_eq!(peer.password, "pw one");
    assert_eq!(peer.login.as_deref(), Some("me"));
    assert_eq!(peer.peer_name.as_deref(), Some("Bob's router"));
    assert_eq!(
        cfg.udp[1].connect_to.len(),
        1,
        "IPv6 peer on the IPv6 socket"
    );
    assert_eq!(
        cfg.udp[1].connect_to[0].0.to_string(),
        "[2001:db8::1]:11223"
    );
    assert_eq!(cfg.eth.len(), 1);
    assert_eq!(cfg.eth[0].beacon, 1);
    assert_eq!(cfg.eth[0].connect_to[0].0, [2, 0xaa, 0, 0, 0, 1]);
    assert_eq!(cfg.eth[0].connect_to[0].1.password, "pw three");
    let users: Vec<_> = cfg
        .authorized_passwords
        .iter()
        .map(|p| (p.password.as_str(), p.user.as_deref()))
        .collect();
    assert_eq!(users, vec![("for alice", Some("alice")), ("for bob", None)]);
}

#[test]
fn tun_off_means_no_router_interface_and_no_firewall() {
    let (hex, _) = key();
    let text = shipped_with_key(&hex).replace("option tun '1'", "option tun '0'");
    assert_eq!(convert(&text).expect("converts").tun, None);
    let b = batch(&text).expect("batch");
    assert!(
        b.lines().all(|l| l.starts_with('#')),
        "nothing to apply: {b}"
    );
}

#[test]
fn gateway_mode_firewall_of_the_shipped_default() {
    let (hex, _) = key();
    let b = batch(&shipped_with_key(&hex)).expect("batch");
    let lines: Vec<&str> = b.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        vec![
            "set network.fc00=interface",
            "set network.fc00.proto='none'",
            "set network.fc00.device='fc00'",
            "set firewall.fc00=zone",
            "set firewall.fc00.name='fc00'",
            "add_list firewall.fc00.network='fc00'",
            "set firewall.fc00.family='ipv6'",
            "set firewall.fc00.input='REJECT'",
            "set firewall.fc00.output='ACCEPT'",
            "set firewall.fc00.forward='REJECT'",
            "set firewall.fc00.masq6='1'",
            "set firewall.fc00_lan=forwarding",
            "set firewall.fc00_lan.src='lan'",
            "set firewall.fc00_lan.dest='fc00'",
            "set dhcp.lan.ra_default='2'",
        ]
    );
}

#[test]
fn gateway_off_keeps_only_the_established_only_zone() {
    let (hex, _) = key();
    let text = shipped_with_key(&hex).replace(
        "config gateway 'gateway'\n\toption enabled '1'",
        "config gateway 'gateway'\n\toption enabled '0'",
    );
    let b = batch(&text).expect("batch");
    assert!(b.contains("set firewall.fc00.input='REJECT'\n"));
    assert!(!b.contains("masq6"), "{b}");
    assert!(!b.contains("forwarding"), "{b}");
    assert!(!b.contains("dhcp."), "{b}");
}

#[test]
fn port_forwards_ping_and_custom_zones() {
    let (hex, _) = key();
    let text = format!(
        "config fc00 'main'\n\
         \toption private_key '{hex}'\n\
         config gateway\n\
         \toption lan_zone 'home'\n\
         \toption lan_interface 'home_if'\n\
         \toption ra_default ''\n\
         \toption allow_ping '1'\n\
         config forward\n\
         \toption name 'web'\n\
         \toption port '80'\n\
         \toption dest_ip 'fd00::10'\n\
         \toption dest_port '8080'\n\
         config forward\n\
         \toption enabled '0'\n\
         \toption port '22'\n\
         \toption dest_ip 'fd00::11'\n\
         config forward\n\
         \toption proto 'udp'\n\
         \toption port '53'\n\
         \toption dest_ip 'FD00:0:0:0::53'\n"
    );
    let b = batch(&text).expect("batch");
    assert!(b.contains("set firewall.fc00_lan.src='home'\n"), "{b}");
    assert!(!b.contains("ra_default"), "'' leaves odhcpd alone: {b}");
    assert!(b.contains("set firewall.fc00_ping.icmp_type='echo-request'\n"));
    let fwd0: Vec<&str> = b.lines().filter(|l| l.contains("fc00_fwd0")).collect();
    assert_eq!(
        fwd0,
        vec![
            "set firewall.fc00_fwd0=redirect",
            "set firewall.fc00_fwd0.name='fc00: web'",
            "set firewall.fc00_fwd0.target='DNAT'",
            "set firewall.fc00_fwd0.family='ipv6'",
            "set firewall.fc00_fwd0.src='fc00'",
            "set firewall.fc00_fwd0.src_dport='80'",
            "set firewall.fc00_fwd0.dest='home'",
            "set firewall.fc00_fwd0.dest_ip='fd00::10'",
            "set firewall.fc00_fwd0.dest_port='8080'",
            "set firewall.fc00_fwd0.proto='tcp'",
        ]
    );
    assert!(!b.contains("fc00_fwd1"), "disabled forward left out");
    assert!(b.contains("set firewall.fc00_fwd2.dest_ip='fd00::53'\n"));
    assert!(b.contains("set firewall.fc00_fwd2.dest_port='53'\n"));
    assert!(b.contains("set firewall.fc00_fwd2.proto='udp'\n"));
}

/// The line a `needle` is on, 1-based.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |i| i + 1)
}

#[test]
fn errors_point_at_the_offending_line() {
    let (hex, _) = key();
    let base = format!("config fc00 'main'\n\toption private_key '{hex}'\n");
    let cases: Vec<(String, &str, &str)> = vec![
        (format!("{base}\toption tun_devise 'x'\n"), "tun_devise", "unknown option"),
        (format!("{base}config udp_peers\n"), "udp_peers", "unknown section type"),
        (
            format!("{base}config udp_interface\n\toption bind '0.0.0.0:99999'\n"),
            "99999",
            "not ip:port",
        ),
        (
            format!(
                "{base}config udp_interface\n\toption bind '0.0.0.0:1'\nconfig udp_peer\n\
                 \toption address '[2001:db8::1]:5'\n\toption public_key '{}'\n\toption password 'p'\n",
                public()
            ),
            "2001:db8::1",
            "same IP family",
        ),
        (
            format!(
                "{base}config udp_interface\n\toption bind '0.0.0.0:1'\nconfig udp_peer\n\
                 \toption address '192.0.2.1:5'\n\toption public_key 'abc.k'\n\toption password 'p'\n"
            ),
            "abc.k",
            "not a valid .k key",
        ),
        (
            format!("{base}config eth_interface\n\toption device 'eth0'\n\toption beacon '3'\n"),
            "beacon '3'",
            "not 0 (off)",
        ),
        (
            format!(
                "{base}config eth_interface\n\toption device 'eth0'\nconfig eth_peer\n\
                 \toption device 'eth0'\n\toption mac '02:00:00:00:00'\n\
                 \toption public_key '{}'\n\toption password 'p'\n",
                public()
            ),
            "option mac",
            "not a MAC address",
        ),
        (format!("{base}\toption tun 'maybe'\n"), "maybe", "not a boolean"),
        (
            "config fc00 'main'\n\toption private_key 'abcd'\n".to_string(),
            "abcd",
            "64 hex digits",
        ),
        (format!("{base}\tlist admin_bind '127.0.0.1:1'\n"), "admin_bind", "not a list"),
        (format!("{base}config fc00 'other'\n"), "'other'", "second 'config fc00'"),
    ];
    for (text, needle, message) in cases {
        let e = convert(&text).expect_err(&text);
        assert_eq!(e.line, line_of(&text, needle), "{e} in\n{text}");
        assert!(e.message.contains(message), "{e:?} should say {message:?}");
    }

    let fw_cases: Vec<(String, &str, &str)> = vec![
        (
            format!("{base}config forward\n\toption port '80'\n\toption dest_ip '192.168.1.10'\n"),
            "192.168.1.10",
            "not an IPv6 address",
        ),
        (
            format!("{base}config forward\n\toption port '0'\n\toption dest_ip 'fd00::1'\n"),
            "port '0'",
            "not a port number",
        ),
        (
            format!(
                "{base}config forward\n\toption port '1'\n\toption dest_ip 'fd00::1'\n\
                 \toption proto 'icmp'\n"
            ),
            "icmp",
            "not tcp, udp",
        ),
        (
            format!("{base}config gateway\n\toption ra_default '3'\n"),
            "ra_default",
            "not 0, 1, 2",
        ),
        (
            format!("{base}config gateway\n\toption lan_zone 'a b'\n"),
            "lan_zone",
            "not a UCI name",
        ),
        (
            format!("{base}config gateway\nconfig gateway\n"),
            "",
            "second 'config gateway'",
        ),
    ];
    for (text, needle, message) in fw_cases {
        let e = batch(&text).expect_err(&text);
        let want = if needle.is_empty() {
            4
        } else {
            line_of(&text, needle)
        };
        assert_eq!(e.line, want, "{e} in\n{text}");
        assert!(e.message.contains(message), "{e:?} should say {message:?}");
    }
}

#[test]
fn cli_uci_output_passes_check_and_errors_exit_1() {
    let dir = std::env::temp_dir().join(format!("fc00d-uci-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let (hex, _) = key();
    let uci = dir.join("fc00");
    std::fs::write(&uci, shipped_with_key(&hex)).expect("write");

    let out = Command::new(BIN)
        .arg("--uci")
        .arg(&uci)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conf = dir.join("fc00.json");
    std::fs::write(&conf, &out.stdout).expect("write");
    let check = Command::new(BIN)
        .arg("--check")
        .arg(&conf)
        .output()
        .expect("run");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(
        check.stderr.is_empty(),
        "no warnings: {}",
        String::from_utf8_lossy(&check.stderr)
    );

    let fw = Command::new(BIN)
        .arg("--uci-firewall")
        .arg(&uci)
        .output()
        .expect("run");
    assert!(fw.status.success());
    assert!(String::from_utf8_lossy(&fw.stdout).contains("set firewall.fc00.masq6='1'"));

    std::fs::write(&uci, SHIPPED).expect("write");
    let bad = Command::new(BIN)
        .arg("--uci")
        .arg(&uci)
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(
        msg.contains(&format!("line {}:", line_of(SHIPPED, "option private_key"))),
        "{msg}"
    );
    assert!(bad.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

proptest! {
    /// The parser and both converters are total: any text gives Ok or a line-numbered Err
    /// whose line exists in the text.
    #[test]
    fn total_on_any_text(text in "(config|option|list|package|fc00|udp_peer|gateway|forward|'|\"|\\\\|#| |\t|\n|[a-z0-9:._\\[\\]-]{1,8}){0,60}") {
        match parse(&text) {
            Ok(sections) => {
                for r in [to_cjdroute(&sections).map(|_| ()), firewall_batch(&sections).map(|_| ())] {
                    if let Err(e) = r {
                        prop_assert!(e.line <= text.lines().count());
                    }
                }
            }
            Err(e) => prop_assert!(e.line >= 1 && e.line <= text.lines().count().max(1)),
        }
    }
}
