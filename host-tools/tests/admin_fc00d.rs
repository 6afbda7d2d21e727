//! `fc00ctl`'s admin commands against two real fc00d daemons (the workspace's own binary,
//! built on demand) peered over UDP on loopback: no TUN, no Ethernet, no beacons, admin on
//! free loopback ports, a temp dir each. Checks real data and the exit codes scripts see.

use std::fs;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use protocol_core::identity::{generate_keypair, PrivateKey};
use rand_core::OsRng;
use serde_json::Value;

/// The fc00d binary of this build: `$FC00D_BIN`, else `cargo build -p fc00d` in the
/// profile the tests were built with (a no-op when it is up to date).
fn fc00d_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("FC00D_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("test exe path");
        // target/<profile>/deps/<test>
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug");
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "--quiet", "-p", "fc00d", "--bin", "fc00d"]);
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("run cargo build -p fc00d");
        assert!(status.success(), "cargo build -p fc00d failed");
        profile_dir.join("fc00d")
    })
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("a free loopback port")
        .port()
}

struct Node {
    key: PrivateKey,
    admin: String,
    udp: String,
    password: String,
    config: PathBuf,
    child: Child,
    dir: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = fs::read_to_string(self.dir.join("fc00d.log")).unwrap_or_default();
            eprintln!("---- {} log ----\n{log}", self.dir.display());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn key() -> PrivateKey {
    generate_keypair(&mut OsRng).0
}

/// Start fc00d with `key`, accepting `peer_password` as user `user`, dialing `connect_to`.
fn start(
    tag: &str,
    key: PrivateKey,
    accept: (&str, &str),
    connect_to: Option<(&Node, &str, &str)>,
) -> Node {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("fc00ctl-{tag}{n}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    let admin = format!("127.0.0.1:{}", free_udp_port());
    let udp = format!("127.0.0.1:{}", free_udp_port());
    let password = format!("adm-{tag}");
    let connect = match connect_to {
        Some((peer, pw, login)) => format!(
            r#""{}": {{ "password": "{pw}", "login": "{login}", "publicKey": "{}", "peerName": "{}" }}"#,
            peer.udp,
            peer.key.public_key().to_k_string(),
            "peer"
        ),
        None => String::new(),
    };
    let config = format!(
        r#"{{
    "privateKey": "{priv}",
    "authorizedPasswords": [ {{ "password": "{apw}", "user": "{auser}" }} ],
    "admin": {{ "bind": "{admin}", "password": "{password}" }},
    "interfaces": {{ "UDPInterface": [ {{ "bind": "{udp}", "connectTo": {{ {connect} }} }} ] }},
    "noBackground": 1
}}"#,
        priv = key.to_hex_string(),
        apw = accept.0,
        auser = accept.1,
    );
    let path = dir.join("cjdroute.conf");
    fs::write(&path, config).expect("write config");
    let log = fs::File::create(dir.join("fc00d.log")).expect("log file");
    let child = Command::new(fc00d_bin())
        .arg("--config")
        .arg(&path)
        .env("FC00_STATE_DIR", &dir)
        .env("FC00_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start fc00d");
    let node = Node {
        key,
        admin,
        udp,
        password,
        config: path,
        child,
        dir,
    };
    // Up once its admin port answers (`node` exits 3 until then).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = fc00ctl(&[
            "node",
            "--config",
            node.config.to_str().unwrap(),
            "--timeout",
            "0.5",
        ]);
        if out.status.success() {
            return node;
        }
        assert!(Instant::now() < deadline, "fc00d never answered: {out:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn fc00ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args(args)
        .env_remove("FC00_ADMIN")
        .env_remove("FC00_ADMIN_PASSWORD")
        .stdin(Stdio::null())
        .output()
        .expect("run fc00ctl")
}

/// Run an admin command against `node` (by --config), asserting success; its stdout.
fn ok(node: &Node, args: &[&str]) -> String {
    let mut all = args.to_vec();
    let config = node.config.to_str().unwrap();
    all.extend(["--config", config, "--timeout", "3"]);
    let out = fc00ctl(&all);
    assert!(
        out.status.success(),
        "fc00ctl {all:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(node: &Node, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    serde_json::from_str(&ok(node, &all)).expect("--json prints JSON")
}

/// The peers of `node` once one is ESTABLISHED, within `secs`.
fn wait_established(node: &Node, secs: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let peers = json(node, &["peers"]);
        if peers
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["state"] == "ESTABLISHED")
        {
            return peers;
        }
        assert!(Instant::now() < deadline, "no ESTABLISHED peer: {peers}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One-line stderr and the expected exit code.
fn fails(args: &[&str], code: i32) -> String {
    let out = fc00ctl(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "fc00ctl {args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.starts_with("fc00ctl: "), "{err}");
    err
}

fn pair() -> (Node, Node) {
    let a = start("a", key(), ("pw-from-b", "node-b"), None);
    let b = start(
        "b",
        key(),
        ("unused", "nobody"),
        Some((&a, "pw-from-b", "node-b")),
    );
    (a, b)
}

#[test]
fn peers_ping_routes_sessions_functions_against_fc00d() {
    let (a, b) = pair();
    let a_ip = a
        .key
        .public_key()
        .address()
        .unwrap()
        .to_full_string()
        .to_string();
    let b_key = b.key.public_key().to_k_string().to_string();
    let a_key = a.key.public_key().to_k_string().to_string();

    // A sees B (incoming, user node-b); B sees A (outgoing, with traffic counted).
    let peers_a = wait_established(&a, 20);
    let pa = &peers_a[0];
    assert_eq!(pa["publicKey"], b_key.as_str());
    assert_eq!(pa["user"], "node-b");
    assert_eq!(pa["isIncoming"], true);
    assert_eq!(pa["lladdr"], b.udp.as_str());
    let peers_b = wait_established(&b, 20);
    let pb = &peers_b[0];
    assert_eq!(pb["publicKey"], a_key.as_str());
    assert_eq!(pb["isIncoming"], false);
    assert!(pb["receivedPackets"].as_u64().unwrap() > 0, "{pb}");
    let table = ok(&b, &["peers"]);
    assert!(table.starts_with("ADDRESS "), "{table}");
    assert!(
        table.contains(&a_key) && table.contains("ESTABLISHED"),
        "{table}"
    );

    // Switch ping along the path B has to A.
    let path = pb["path"].as_str().unwrap().to_string();
    let out = ok(&b, &["ping", &path, "-c", "2", "-i", "0"]);
    assert!(out.contains(&format!("pong from {path}: seq=0")), "{out}");
    assert!(out.contains("2 sent, 2 answered, 0% lost"), "{out}");
    let pj = json(&b, &["ping", &path, "-c", "1"]);
    assert_eq!(pj["kind"], "switch");
    assert_eq!(pj["summary"]["received"], 1);
    assert_eq!(pj["pongs"][0]["result"], "pong");

    // A switch path that leads nowhere: answered by nobody, exit 1.
    let out = fc00ctl(&[
        "ping",
        "0000.0000.0000.0015",
        "-c",
        "1",
        "--timeout",
        "0.3",
        "--config",
        b.config.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 sent, 0 answered"));

    // The node store of B holds itself and A.
    let routes = json(&b, &["routes"]);
    let ips: Vec<&str> = routes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["ip"].as_str())
        .collect();
    assert!(ips.contains(&a_ip.as_str()), "{routes}");
    assert!(ok(&b, &["dump"]).contains(&a_ip));

    // Sessions: a list (one per remote node the router talked to), each with a state.
    let sessions = json(&b, &["sessions"]);
    for s in sessions.as_array().unwrap() {
        assert!(s["state"].as_str().is_some_and(|st| !st.is_empty()), "{s}");
    }

    // Every function fc00d offers, across all pages (8 a page).
    let functions = json(&b, &["functions"]);
    let names: Vec<&str> = functions
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names.len(), fc00d::admin::functions::FUNCTIONS.len());
    assert!(names.contains(&"InterfaceController_peerStats"));

    let node = json(&b, &["node"]);
    assert_eq!(
        node["myIp6"],
        b.key
            .public_key()
            .address()
            .unwrap()
            .to_full_string()
            .as_str()
    );
}

#[test]
fn peer_remove_and_add_against_fc00d() {
    let (a, b) = pair();
    let a_key = a.key.public_key().to_k_string().to_string();
    wait_established(&b, 20);
    let out = ok(&b, &["peer", "remove", &a_key]);
    assert!(out.contains("disconnected"), "{out}");
    assert_eq!(json(&b, &["peers"]), Value::Array(Vec::new()));
    // Gone: removing again is a runtime failure with a hint.
    let config = b.config.to_str().unwrap();
    let err = fails(&["peer", "remove", &a_key, "--config", config], 1);
    assert!(err.contains("not a peer"), "{err}");
    // And back.
    ok(
        &b,
        &[
            "peer",
            "add",
            &a.udp,
            &a_key,
            "--password",
            "pw-from-b",
            "--login",
            "node-b",
            "--name",
            "a",
        ],
    );
    let peers = wait_established(&b, 20);
    assert_eq!(peers[0]["publicKey"], a_key.as_str());
}

#[test]
fn auth_and_connection_failures_exit_3() {
    let (a, b) = pair();
    wait_established(&a, 20);
    // Wrong password.
    let err = fails(&["peers", "--admin", &a.admin, "--password", "wrong"], 3);
    assert!(err.contains("Auth failed"), "{err}");
    // No password at all, for a function that needs it (peerStats does not, as in cjdroute).
    let b_key = b.key.public_key().to_k_string().to_string();
    let err = fails(&["peer", "remove", &b_key, "--admin", &a.admin], 3);
    assert!(err.contains("--password"), "{err}");
    // The right one, given by flag instead of --config.
    let out = fc00ctl(&["peers", "--admin", &a.admin, "--password", &a.password]);
    assert!(out.status.success(), "{out:?}");
    // Nothing listening: the discard port, which no test here binds (a freed ephemeral
    // port could be taken by a daemon of a test running in parallel).
    let err = fails(&["peers", "--admin", "127.0.0.1:9", "--timeout", "0.5"], 3);
    assert!(
        err.contains("connection refused") && err.contains("--admin"),
        "{err}"
    );
    // Something bound that never answers: exit 3 as well, after the timeout.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().to_string();
    let err = fails(&["peers", "--admin", &port, "--timeout", "0.3"], 3);
    assert!(err.contains("no answer"), "{err}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let (a, _b) = pair();
    let config = a.config.to_str().unwrap();
    let good_key = a.key.public_key().to_k_string().to_string();
    for args in [
        vec![
            "peer",
            "add",
            "127.0.0.1",
            good_key.as_str(),
            "--config",
            config,
        ],
        vec![
            "peer",
            "add",
            "127.0.0.1:1",
            "notakey.k",
            "--config",
            config,
        ],
        vec!["peer", "remove", "zzzz.k", "--config", config],
        vec!["ping", "fc00::zz", "--config", config],
        vec!["ping", "2001:db8::1", "--config", config],
        vec!["ping", "0000.0000.0000.001", "--config", config],
        vec!["peers", "--admin", "not an address"],
        vec!["peers", "--timeout=-1"],
        vec!["peers", "--bogus"],
        vec!["peers", "--config", "/nonexistent/cjdroute.conf"],
    ] {
        fails(&args, 2);
    }
}

#[test]
fn router_ping_against_fc00d() {
    let (a, b) = pair();
    let a_key = a.key.public_key();
    let a_ip = a_key.address().unwrap().to_full_string().to_string();
    let peers = wait_established(&b, 20);
    let path = peers[0]["path"].as_str().unwrap().to_string();
    let node_addr = format!("v22.{path}.{}", a_key.to_k_string());
    // Router ping looks the address up in the node store: wait until A is there.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok(&b, &["routes"]).contains(&a_ip) {
        assert!(Instant::now() < deadline, "A never reached B's node store");
        std::thread::sleep(Duration::from_millis(200));
    }
    // By fc address, by node address and, with --router, by path: each answered by A.
    for target in [a_ip.as_str(), node_addr.as_str()] {
        let j = json(&b, &["ping", target, "-c", "2", "-i", "0"]);
        assert_eq!(j["kind"], "router", "{j}");
        assert_eq!(j["summary"]["received"], 2, "{j}");
        let from = j["pongs"][0]["addr"].as_str().unwrap();
        assert!(from.ends_with(a_key.to_k_string().as_str()), "{j}");
    }
    let out = ok(&b, &["ping", &path, "--router", "-c", "1"]);
    assert!(out.starts_with("router ping"), "{out}");
    assert!(out.contains("1 sent, 1 answered"), "{out}");
    // An fc address nobody knows: the node says not_found, exit 1 with a hint.
    let config = b.config.to_str().unwrap();
    let err = fails(&["ping", "fc00::1", "-c", "1", "--config", config], 1);
    assert!(err.contains("not_found") && err.contains("routes"), "{err}");
}
