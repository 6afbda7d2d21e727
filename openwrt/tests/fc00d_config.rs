//! cjdroute.conf reading: a file laid out like `cjdroute --genconf` output (written here in
//! our own words), fc00d's own `--genconf` round trip, and precise errors.

use std::process::Command;

use fc00d::config::{parse, ConfigError};
use protocol_core::identity::{generate_keypair, PrivateKey};
use rand_core::OsRng;

const BIN: &str = env!("CARGO_BIN_EXE_fc00d");

/// Same structure as a cjdroute v22.3 generated config: comments of both kinds, a commented-out
/// peer inside authorizedPasswords, a `_disabled_` section, security list, pipe, version.
const CJDROUTE_STYLE: &str = r#"// A node configuration.
{
    // Secret: do not share.
    "privateKey": "@PRIV@",
    // Follow from the private key:
    "publicKey": "@PUB@",
    "ipv6": "@IP6@",

    // Who may connect to us.
    "authorizedPasswords": [
        { "password": "first secret", "user": "default-login" },
        { "password": "second secret", "user": "laptop", "ipv6": "@IP6@" }
        /*
         "203.0.113.7:40000": {
             "login": "default-login",
             "password": "first secret",
             "publicKey": "@PUB@",
             "peerName": "an example"
         },
         */
    ],
    "admin": {
        // Where the admin API listens.
        "bind": "127.0.0.1:11234",
        "password": "NONE"
    },
    "interfaces": {
        "UDPInterface": [
            {
                "bind": "0.0.0.0:40000",
                "beacon": 2,
                "beaconDevices": [ "all" ],
                "beaconPort": 64512,
                "connectTo": {
                    "198.51.100.1:12345": {
                        "login": "default-login",
                        "password": "theirs // not a comment",
                        "publicKey": "@PEER@",
                        "peerName": "far away /* still a string */"
                    }
                }
            },
            {
                "bind": "[::]:40000",
                "connectTo": {
                }
            }
        ],
        "_disabled_ETHInterface": [
            {
                "bind": "all",
                "beacon": 2,
                "connectTo": {
                }
            }
        ]
    },
    "router": {
        "dnsSeeds": [ "seed.example" ],
        "publicPeer": { },
        "supernodes": [ ],
        "interface": {
            "type": "TUNInterface"
        },
        "_disabled_interface": {
            "type": "SocketInterface",
            "socketFullPath": "/var/run/x.sock"
        },
        "ipTunnel": {
            "allowedConnections": [ ],
            "outgoingConnections": [ ]
        }
    },
    "security": [
        { "setuser": "nobody", "keepNetAdmin": 1 },
        { "chroot": "/var/run/" },
        { "nofiles": 0 },
        { "noforks": 1 },
        { "setupComplete": 1 }
    ],
    "logging": {
        // "logTo": "stdout"
    },
    "noBackground": 0,
    "pipe": "cjdroute.sock",
    "version": 2
}
"#;

fn fill(template: &str, key: &PrivateKey) -> String {
    let (_, peer, _) = generate_keypair(&mut OsRng);
    let public = key.public_key();
    template
        .replace("@PRIV@", &key.to_hex_string())
        .replace("@PUB@", &public.to_k_string())
        .replace(
            "@IP6@",
            &public.address().expect("fc address").to_full_string(),
        )
        .replace("@PEER@", &peer.to_k_string())
}

fn err(text: &str) -> ConfigError {
    match parse(text) {
        Ok(_) => panic!("config accepted:\n{text}"),
        Err(e) => e,
    }
}

fn minimal(key: &PrivateKey, rest: &str) -> String {
    format!(
        "{{\n  \"privateKey\": \"{}\"{rest}\n}}\n",
        key.to_hex_string()
    )
}

#[test]
fn cjdroute_style_config_loads_as_is() {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let cfg = parse(&fill(CJDROUTE_STYLE, &key)).expect("loads");
    assert_eq!(cfg.private_key.to_hex_string(), key.to_hex_string());
    assert_eq!(cfg.authorized_passwords.len(), 2);
    assert_eq!(cfg.authorized_passwords[1].user.as_deref(), Some("laptop"));
    assert!(cfg.authorized_passwords[1].ipv6.is_some());
    assert_eq!(cfg.udp.len(), 2);
    assert_eq!(cfg.udp[0].bind, "0.0.0.0:40000".parse().unwrap());
    assert_eq!(cfg.udp[0].beacon, 2);
    assert_eq!(cfg.udp[0].beacon_port, 64512);
    assert_eq!(cfg.udp[0].beacon_devices, vec!["all".to_string()]);
    let (addr, peer) = &cfg.udp[0].connect_to[0];
    assert_eq!(*addr, "198.51.100.1:12345".parse().unwrap());
    assert_eq!(peer.password, "theirs // not a comment");
    assert_eq!(
        peer.peer_name.as_deref(),
        Some("far away /* still a string */")
    );
    assert_eq!(peer.login.as_deref(), Some("default-login"));
    assert!(cfg.udp[1].bind.is_ipv6());
    assert!(cfg.eth.is_empty(), "_disabled_ETHInterface stays off");
    assert_eq!(cfg.tun.as_deref(), Some(""));
    assert_eq!(cfg.admin.bind, "127.0.0.1:11234".parse().unwrap());
    assert_eq!(cfg.admin.password.as_deref(), Some("NONE"));
    assert_eq!(cfg.setuser.as_deref(), Some("nobody"));
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn own_genconf_round_trips() {
    let out = Command::new(BIN).arg("--genconf").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("//"), "the config is commented");
    let cfg = parse(&text).expect("own output loads");
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
    assert_eq!(cfg.udp.len(), 2);
    assert_eq!(cfg.udp[0].bind.port(), cfg.udp[1].bind.port());
    assert_eq!(cfg.eth.len(), 1);
    assert_eq!(cfg.eth[0].bind, "all");
    assert_eq!(cfg.authorized_passwords.len(), 1);
    assert_eq!(cfg.setuser.as_deref(), Some("nobody"));
    // Regenerating from the parsed values gives the same file.
    let again = fc00d::config::genconf(
        &cfg.private_key,
        cfg.udp[0].bind.port(),
        &cfg.authorized_passwords[0].password,
    );
    assert_eq!(again, text);
}

#[test]
fn interface_dict_form_and_ethernet_peers_by_mac() {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let (_, peer, _) = generate_keypair(&mut OsRng);
    let text = minimal(
        &key,
        &format!(
            r#", "interfaces": {{
    "UDPInterface": {{ "bind": "127.0.0.1:0" }},
    "ETHInterface": [ {{ "bind": "eth1", "beacon": 1,
        "connectTo": {{ "02:00:00:ab:cd:ef": {{ "password": "p", "publicKey": "{}" }} }} }} ]
  }},
  "router": {{ "interface": {{ "type": "TUNInterface", "tunDevice": "fc0" }} }},
  "admin": {{ "bind": "127.0.0.1:21234", "password": "s3cret" }}"#,
            peer.to_k_string()
        ),
    );
    let cfg = parse(&text).expect("loads");
    assert_eq!(cfg.udp.len(), 1);
    assert_eq!(cfg.eth[0].bind, "eth1");
    assert_eq!(cfg.eth[0].beacon, 1);
    assert_eq!(cfg.eth[0].connect_to[0].0, [2, 0, 0, 0xab, 0xcd, 0xef]);
    assert_eq!(cfg.eth[0].connect_to[0].1.public_key, peer);
    assert_eq!(cfg.tun.as_deref(), Some("fc0"));
    assert_eq!(cfg.admin.password.as_deref(), Some("s3cret"));
    assert_eq!(cfg.setuser, None, "no security section: stay as started");
}

#[test]
fn unknown_keys_warn_but_load() {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let cfg = parse(&minimal(
        &key,
        r#", "frobnicate": 1, "interfaces": { "UDPInterface": [ { "bind": "0.0.0.0:1", "colour": "red" } ] }"#,
    ))
    .expect("loads");
    assert!(cfg.warnings.iter().any(|w| w.starts_with("frobnicate:")));
    assert!(cfg
        .warnings
        .iter()
        .any(|w| w.starts_with("interfaces.UDPInterface[0].colour:")));
}

#[test]
fn malformed_json_names_line_and_column() {
    let (key, _, _) = generate_keypair(&mut OsRng);
    // Line 4 lacks the comma after "a": the parser stops at the start of line 5's key.
    let text = format!(
        "{{\n  // comment\n  \"privateKey\": \"{}\",\n  \"admin\": {{ \"bind\": \"127.0.0.1:1\" }}\n  \"x\": 1\n}}\n",
        key.to_hex_string()
    );
    let e = err(&text);
    assert_eq!((e.line, e.column), (5, 3), "{e}");
    assert!(e.to_string().starts_with("line 5 column 3:"), "{e}");

    let e = err("{\n  \"a\": 1 /* never\n closed\n}");
    assert_eq!((e.line, e.column), (2, 10), "{e}");
    assert!(e.message.contains("never closed"));

    let e = err("{ \"privateKey\": \"00\", }");
    assert_eq!(e.line, 1, "{e}");
}

#[test]
fn values_that_do_not_fit_name_their_key() {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let (other, other_pub, other_ip) = generate_keypair(&mut OsRng);
    let _ = other;
    let e = err(&minimal(
        &key,
        &format!(r#", "publicKey": "{}""#, other_pub.to_k_string()),
    ));
    assert_eq!(e.at, "publicKey", "{e}");
    assert!(e.message.contains("does not belong"));
    let e = err(&minimal(
        &key,
        &format!(r#", "ipv6": "{}""#, other_ip.to_full_string()),
    ));
    assert_eq!(e.at, "ipv6", "{e}");
    let e = err("{ \"privateKey\": \"not hex\" }");
    assert_eq!(e.at, "privateKey");
    let e = err("{ }");
    assert_eq!(e.at, "privateKey");
    let e = err(&minimal(
        &key,
        r#", "interfaces": { "UDPInterface": [ { "bind": "nowhere" } ] }"#,
    ));
    assert_eq!(e.at, "interfaces.UDPInterface[0].bind", "{e}");
    let e = err(&minimal(
        &key,
        r#", "interfaces": { "UDPInterface": [ { "bind": "0.0.0.0:1", "connectTo": { "1.2.3.4:5": { "password": "x", "publicKey": "bad.k" } } } ] }"#,
    ));
    assert_eq!(
        e.at, "interfaces.UDPInterface[0].connectTo[\"1.2.3.4:5\"].publicKey",
        "{e}"
    );
    let e = err(&minimal(
        &key,
        r#", "interfaces": { "ETHInterface": [ { "bind": "eth0", "beacon": 3 } ] }"#,
    ));
    assert_eq!(e.at, "interfaces.ETHInterface[0].beacon", "{e}");
}

#[test]
fn check_flag_exits_0_or_1() {
    let dir = std::env::temp_dir().join(format!("fc00d-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let (key, _, _) = generate_keypair(&mut OsRng);
    let good = dir.join("good.conf");
    let bad = dir.join("bad.conf");
    std::fs::write(&good, fill(CJDROUTE_STYLE, &key)).expect("write");
    std::fs::write(&bad, "{\n  \"privateKey\": 1,\n").expect("write");
    let ok = Command::new(BIN)
        .arg("--check")
        .arg(&good)
        .output()
        .expect("run");
    let ko = Command::new(BIN)
        .arg("--check")
        .arg(&bad)
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ok.status.code(), Some(0));
    assert_eq!(ko.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&ko.stderr);
    assert!(msg.contains("line 3 column"), "{msg}");
}
