//! Two fc00d in two network namespaces joined by a veth pair: they peer (UDP with a password,
//! or Ethernet beacons alone) and `ping6` crosses TUN -> session -> switch -> link -> TUN.
//! Needs root (namespaces, TUN, raw sockets). Everything is removed on success and failure.
//! The admin API is reached from a thread that enters the namespace (setns).
#![allow(unsafe_code)]

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::os::fd::AsRawFd;

use fc00d::admin::benc::{BDict, Benc};
use fc00d::admin::client::{build_auth_request, build_request, parse_reply};
use protocol_core::identity::PrivateKey;

type Reply = BTreeMap<Vec<u8>, Benc>;

/// Admin calls made from inside network namespace `ns` (a fresh thread joins it, so the
/// test process stays where it is). `password` set: calls go through cookie auth.
fn admin_calls(ns: &str, password: Option<&str>, calls: Vec<(&'static str, BDict)>) -> Vec<Reply> {
    let ns = ns.to_string();
    let password = password.map(str::to_string);
    std::thread::spawn(move || {
        let f = fs::File::open(format!("/var/run/netns/{ns}")).expect("open netns");
        // SAFETY: setns on this thread only, with a namespace fd we hold open.
        let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        sock.connect("127.0.0.1:11234").expect("connect");
        let mut buf = vec![0u8; 65536];
        let mut call = |req: Vec<u8>| -> Reply {
            sock.send(&req).expect("send");
            let n = sock.recv(&mut buf).expect("admin reply within 5 s");
            parse_reply(&buf[..n]).expect("bencoded reply")
        };
        let mut out = Vec::new();
        for (i, (q, args)) in calls.into_iter().enumerate() {
            let txid = format!("t{i}");
            let req = match &password {
                None => build_request(q, Some(&args), txid.as_bytes()).expect("request"),
                Some(pw) => {
                    let c = call(build_request("cookie", None, b"c").expect("cookie request"));
                    let cookie = c
                        .get(b"cookie".as_slice())
                        .and_then(Benc::as_bytes)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .expect("cookie in reply");
                    build_auth_request(q, Some(&args), txid.as_bytes(), pw, &cookie)
                        .expect("auth request")
                }
            };
            let reply = call(req);
            assert_eq!(
                reply.get(b"txid".as_slice()).and_then(Benc::as_bytes),
                Some(txid.as_bytes()),
                "reply to {q} carries our txid: {reply:?}"
            );
            out.push(reply);
        }
        out
    })
    .join()
    .expect("admin thread")
}

fn text<'a>(d: &'a Reply, key: &str) -> &'a str {
    d.get(key.as_bytes())
        .and_then(Benc::as_bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

const BIN: &str = env!("CARGO_BIN_EXE_fc00d");

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn must(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces, their daemons and a temp dir; all removed on drop.
struct Lab {
    ns: Vec<String>,
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.ns {
            sh(&["ip", "netns", "del", ns]);
        }
        if std::thread::panicking() {
            for i in 0..self.ns.len() {
                let log =
                    fs::read_to_string(self.dir.join(format!("node{i}.log"))).unwrap_or_default();
                eprintln!("---- node{i} log ----\n{log}");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn new_key() -> PrivateKey {
    let out = Command::new(BIN)
        .arg("--genconf")
        .output()
        .expect("run fc00d --genconf");
    assert!(out.status.success());
    let cfg = fc00d::config::parse(&String::from_utf8_lossy(&out.stdout))
        .expect("fc00d's own --genconf output parses");
    cfg.private_key
}

fn address(key: &PrivateKey) -> String {
    key.public_key()
        .address()
        .expect("generated keys have fc addresses")
        .to_full_string()
        .to_string()
}

impl Lab {
    /// Two namespaces joined by veth fcva (10.201.0.1) -- fcvb (10.201.0.2).
    fn new(tag: &str) -> Lab {
        let lab = Lab::empty(tag, 2);
        lab.veth(0, "fcva", "10.201.0.1/24", 1, "fcvb", "10.201.0.2/24");
        lab
    }

    /// A veth pair between namespaces `i` and `j`, up, with IPv4 addresses.
    fn veth(&self, i: usize, dev_i: &str, ip_i: &str, j: usize, dev_j: &str, ip_j: &str) {
        let (a, b) = (&self.ns[i], &self.ns[j]);
        must(&[
            "ip", "link", "add", dev_i, "netns", a, "type", "veth", "peer", "name", dev_j, "netns",
            b,
        ]);
        for (ns, dev, ip) in [(a, dev_i, ip_i), (b, dev_j, ip_j)] {
            must(&["ip", "-n", ns, "addr", "add", ip, "dev", dev]);
            must(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
    }

    fn empty(tag: &str, n: usize) -> Lab {
        assert!(
            fc00d::sys::is_root(),
            "this test needs root (network namespaces, TUN, raw sockets)"
        );
        let id = format!("{}{}", tag, std::process::id() % 100000);
        let dir = std::env::temp_dir().join(format!("fc00d-test-{id}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let mut lab = Lab {
            ns: Vec::new(),
            children: Vec::new(),
            dir,
        };
        for i in 0..n {
            let ns = format!("fc00d-{id}-{i}");
            must(&["ip", "netns", "add", &ns]);
            lab.ns.push(ns);
            must(&["ip", "-n", &lab.ns[i], "link", "set", "lo", "up"]);
        }
        lab
    }

    /// Start node `i` with `config`; returns its pid.
    fn start(&mut self, i: usize, config: &str) -> u32 {
        let path = self.dir.join(format!("node{i}.conf"));
        fs::write(&path, config).expect("write config");
        let check = Command::new(BIN)
            .arg("--check")
            .arg(&path)
            .output()
            .expect("fc00d --check");
        assert!(
            check.status.success(),
            "--check refused our config: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let log = fs::File::create(self.dir.join(format!("node{i}.log"))).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns[i], BIN, "--config"])
            .arg(&path)
            .env("FC00_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start fc00d");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    fn log(&self, i: usize) -> String {
        fs::read_to_string(self.dir.join(format!("node{i}.log"))).unwrap_or_default()
    }

    fn wait_log(&self, i: usize, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.log(i).contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("node{i} did not log {needle:?} within {secs} s");
    }

    /// `ping6 -c 3` until one run gets replies, within `secs`.
    fn ping(&self, from: usize, to_addr: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let mut last = String::new();
        while Instant::now() < deadline {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.ns[from],
                    "ping6",
                    "-c",
                    "3",
                    "-i",
                    "0.5",
                ])
                .args(["-W", "2", to_addr])
                .output()
                .expect("ping6");
            last = String::from_utf8_lossy(&out.stdout).into_owned();
            if out.status.success() && last.contains(" 0% packet loss") {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("ping6 {to_addr} from node{from} never got 3/3 replies; last run:\n{last}");
    }
}

fn tun_section(name: &str) -> String {
    format!(r#""router": {{ "interface": {{ "type": "TUNInterface", "tunDevice": "{name}" }} }}"#)
}

#[test]
fn udp_peering_with_password_and_ping6_over_tun() {
    let mut lab = Lab::new("u");
    let (ka, kb) = (new_key(), new_key());
    let b_pub = kb.public_key().to_k_string();
    let config_b = format!(
        r#"{{
    // B accepts A with a password
    "privateKey": "{priv}",
    "authorizedPasswords": [ {{ "password": "pw-from-a", "user": "node-a" }} ],
    "admin": {{ "bind": "127.0.0.1:11234", "password": "NONE" }},
    "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.2:11223" }} ] }},
    {tun},
    "noBackground": 1
}}"#,
        priv = kb.to_hex_string(),
        tun = tun_section("fctun"),
    );
    let config_a = format!(
        r#"{{
    "privateKey": "{priv}",
    "admin": {{ "bind": "127.0.0.1:11234", "password": "admin-a" }},
    /* A dials B */
    "interfaces": {{ "UDPInterface": [ {{
        "bind": "10.201.0.1:11223",
        "connectTo": {{ "10.201.0.2:11223": {{
            "password": "pw-from-a", "login": "node-a", "publicKey": "{b_pub}", "peerName": "B"
        }} }}
    }} ] }},
    {tun}
}}"#,
        priv = ka.to_hex_string(),
        tun = tun_section("fctun"),
    );
    lab.start(1, &config_b);
    lab.start(0, &config_a);
    lab.wait_log(0, &format!("peer up {b_pub}"), 20);
    lab.wait_log(1, &format!("peer up {}", ka.public_key().to_k_string()), 20);
    lab.ping(0, &address(&kb), 40);
    lab.ping(1, &address(&ka), 20);

    // B's admin (no password): peerStats shows A established, logged in as node-a.
    let replies = admin_calls(
        &lab.ns[1],
        None,
        vec![
            (
                "InterfaceController_peerStats",
                BDict::new().with("page", 0i64),
            ),
            ("InterfaceController_interfaces", BDict::new()),
        ],
    );
    let ifaces = replies[1]
        .get(b"ifaces".as_slice())
        .and_then(Benc::as_list)
        .expect("ifaces list");
    assert!(
        ifaces.iter().any(|i| i
            .as_dict()
            .is_some_and(|d| text(d, "name") == "UDP/IPv4/10.201.0.2:11223")),
        "{:?}",
        replies[1]
    );
    let peers = replies[0]
        .get(b"peers".as_slice())
        .and_then(Benc::as_list)
        .expect("peers list");
    assert_eq!(peers.len(), 1, "{:?}", replies[0]);
    let peer = peers[0].as_dict().expect("peer dict");
    assert_eq!(text(peer, "state"), "ESTABLISHED", "{peer:?}");
    assert_eq!(text(peer, "user"), "node-a", "{peer:?}");
    assert_eq!(text(peer, "lladdr"), "10.201.0.1:11223", "{peer:?}");
    assert!(text(peer, "addr").ends_with(&ka.public_key().to_k_string().to_string()));
    assert!(
        peer.get(b"bytesIn".as_slice())
            .and_then(Benc::as_int)
            .unwrap_or(0)
            > 0
    );

    // A's admin (password): a wrong password is refused, the right one pings B's switch.
    let wrong = admin_calls(&lab.ns[0], Some("not-it"), vec![("Core_pid", BDict::new())]);
    assert_eq!(text(&wrong[0], "error"), "Auth failed.", "{:?}", wrong[0]);
    let replies = admin_calls(
        &lab.ns[0],
        Some("admin-a"),
        vec![(
            "InterfaceController_peerStats",
            BDict::new().with("page", 0i64),
        )],
    );
    let peers = replies[0]
        .get(b"peers".as_slice())
        .and_then(Benc::as_list)
        .expect("peers list");
    let b_addr = text(peers[0].as_dict().expect("dict"), "addr").to_string();
    let label = b_addr
        .split('.')
        .skip(1)
        .take(4)
        .collect::<Vec<_>>()
        .join(".");
    let replies = admin_calls(
        &lab.ns[0],
        Some("admin-a"),
        vec![(
            "SwitchPinger_ping",
            BDict::new()
                .with("path", label.as_str())
                .with("timeout", 3000i64),
        )],
    );
    assert_eq!(text(&replies[0], "result"), "pong", "{:?}", replies[0]);
}

#[test]
fn ethernet_beacons_alone_peer_and_ping6() {
    let mut lab = Lab::new("e");
    let (ka, kb) = (new_key(), new_key());
    for (i, key, dev) in [(0, &ka, "fcva"), (1, &kb, "fcvb")] {
        let config = format!(
            r#"{{
    "privateKey": "{priv}",
    "interfaces": {{ "ETHInterface": [ {{ "bind": "{dev}", "beacon": 2 }} ] }},
    {tun}
}}"#,
            priv = key.to_hex_string(),
            tun = tun_section("fctun"),
        );
        lab.start(i, &config);
    }
    lab.wait_log(0, &format!("peer up {}", kb.public_key().to_k_string()), 30);
    lab.wait_log(1, &format!("peer up {}", ka.public_key().to_k_string()), 30);
    lab.ping(0, &address(&kb), 40);
}

/// Run `f` on a thread that has joined namespace `ns`.
fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        let file = fs::File::open(format!("/var/run/netns/{ns}")).expect("open netns");
        // SAFETY: setns on this thread only, with a namespace fd we hold open.
        let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(r, 0, "setns: {}", std::io::Error::last_os_error());
        f()
    })
}

/// A -- UDP -- B -- Ethernet beacons -- C. B and C bind Ethernet "all" and the B--C veth
/// is created only after both started (devices appearing later). A reaches C through B:
/// ping6, then 10 MB over TCP with a checksum.
#[test]
fn three_nodes_udp_then_ethernet_ping6_and_tcp() {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpListener, TcpStream};

    let mut lab = Lab::empty("t", 3);
    lab.veth(0, "fcab", "10.202.0.1/24", 1, "fcba", "10.202.0.2/24");
    let keys = [new_key(), new_key(), new_key()];
    let k = |i: usize| keys[i].public_key().to_k_string().to_string();
    let tun = tun_section("fctun");
    let config_a = format!(
        r#"{{ "privateKey": "{}",
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.202.0.1:11223",
      "connectTo": {{ "10.202.0.2:11223": {{ "password": "ab", "publicKey": "{}" }} }} }} ] }},
  {tun} }}"#,
        keys[0].to_hex_string(),
        k(1)
    );
    let config_b = format!(
        r#"{{ "privateKey": "{}",
  "authorizedPasswords": [ {{ "password": "ab", "user": "a" }} ],
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.202.0.2:11223" }} ],
                  "ETHInterface": [ {{ "bind": "all", "beacon": 2 }} ] }},
  "security": [ {{ "setuser": "nobody", "keepNetAdmin": 1 }}, {{ "noforks": 1 }} ],
  {tun} }}"#,
        keys[1].to_hex_string()
    );
    let config_c = format!(
        r#"{{ "privateKey": "{}",
  "interfaces": {{ "ETHInterface": [ {{ "bind": "all", "beacon": 2 }} ] }},
  "security": [ {{ "setuser": "nobody", "keepNetAdmin": 1 }} ],
  {tun} }}"#,
        keys[2].to_hex_string()
    );
    lab.start(0, &config_a);
    let pid_b = lab.start(1, &config_b);
    lab.start(2, &config_c);
    lab.wait_log(0, &format!("peer up {}", k(1)), 20);
    // B and C gave up root (security.setuser) but kept CAP_NET_RAW: the late device below
    // still gets a raw socket.
    lab.wait_log(1, "running as nobody", 5);
    lab.wait_log(2, "running as nobody", 5);
    let status = fs::read_to_string(format!("/proc/{pid_b}/status")).expect("status");
    let uid_line = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    assert!(
        !uid_line.split_whitespace().skip(1).any(|u| u == "0"),
        "B still has uid 0: {uid_line}"
    );
    // Now the Ethernet link appears; "all" must notice it.
    lab.veth(1, "fcbc", "10.203.0.1/24", 2, "fccb", "10.203.0.2/24");
    lab.wait_log(2, &format!("peer up {}", k(1)), 30);
    lab.wait_log(1, &format!("peer up {}", k(2)), 30);
    let c_addr = address(&keys[2]);
    lab.ping(0, &c_addr, 60);
    lab.ping(2, &address(&keys[0]), 30);

    let ip: std::net::Ipv6Addr = c_addr.parse().expect("ipv6");
    let target = SocketAddr::from((ip, 5555));
    let receiver = in_netns(&lab.ns[2], move || {
        let listener = TcpListener::bind(target).expect("listen on C's fc address");
        listener.set_nonblocking(false).expect("blocking");
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut hash = Sha256::new();
        let mut buf = vec![0u8; 65536];
        let mut total = 0usize;
        loop {
            let n = s.read(&mut buf).expect("read within 30 s");
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            total += n;
        }
        (total, hash.finalize().to_vec())
    });
    std::thread::sleep(Duration::from_millis(300));
    let sender = in_netns(&lab.ns[0], move || {
        let mut s = TcpStream::connect_timeout(&target, Duration::from_secs(20)).expect("connect");
        s.set_write_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut hash = Sha256::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunk = vec![0u8; 65536];
        for _ in 0..160 {
            for b in chunk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            s.write_all(&chunk).expect("write within 30 s");
            hash.update(&chunk);
        }
        s.shutdown(std::net::Shutdown::Write).expect("shutdown");
        (160 * 65536, hash.finalize().to_vec())
    });
    let sent = sender.join().expect("sender");
    let received = receiver.join().expect("receiver");
    assert_eq!(received.0, sent.0, "byte count");
    assert_eq!(received.1, sent.1, "SHA-256 of the 10 MB");
}

/// SIGHUP re-reads the config: a password added to B's file lets A in, B keeps running.
#[test]
fn sighup_adds_a_password_without_restart() {
    let mut lab = Lab::new("h");
    let (ka, kb) = (new_key(), new_key());
    let config_b = |passwords: &str| {
        format!(
            r#"{{ "privateKey": "{}", "authorizedPasswords": [ {passwords} ],
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.2:11223" }} ] }} }}"#,
            kb.to_hex_string()
        )
    };
    let config_a = format!(
        r#"{{ "privateKey": "{}",
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.1:11223",
      "connectTo": {{ "10.201.0.2:11223": {{ "password": "late", "publicKey": "{}" }} }} }} ] }} }}"#,
        ka.to_hex_string(),
        kb.public_key().to_k_string()
    );
    let pid_b = lab.start(1, &config_b(r#"{ "password": "other", "user": "x" }"#));
    lab.start(0, &config_a);
    std::thread::sleep(Duration::from_secs(3));
    let a_up = format!("peer up {}", ka.public_key().to_k_string());
    assert!(!lab.log(1).contains(&a_up), "A got in without its password");
    fs::write(
        lab.dir.join("node1.conf"),
        config_b(r#"{ "password": "other", "user": "x" }, { "password": "late", "user": "a" }"#),
    )
    .expect("rewrite config");
    // SAFETY: signalling our own child (`ip netns exec` execs fc00d in place).
    assert_eq!(unsafe { libc::kill(pid_b as i32, libc::SIGHUP) }, 0);
    lab.wait_log(1, "SIGHUP: reloaded", 5);
    lab.wait_log(1, &a_up, 30);
    assert!(lab.log(1).contains("1 new passwords"), "{}", lab.log(1));
}

fn rss_kb(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Random UDP datagrams and random 0xfc00 frames at A: its RSS stays within a small bound
/// and its peer stays up (traffic still flows).
#[test]
fn flood_of_garbage_changes_neither_memory_nor_peers() {
    let mut lab = Lab::new("f");
    let (ka, kb) = (new_key(), new_key());
    let config_a = format!(
        r#"{{ "privateKey": "{}", "authorizedPasswords": [ {{ "password": "fb", "user": "b" }} ],
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.1:11223" }} ],
                  "ETHInterface": [ {{ "bind": "fcva", "beacon": 2 }} ] }},
  {} }}"#,
        ka.to_hex_string(),
        tun_section("fctun")
    );
    let config_b = format!(
        r#"{{ "privateKey": "{}",
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.2:11223",
      "connectTo": {{ "10.201.0.1:11223": {{ "password": "fb", "publicKey": "{}" }} }} }} ] }},
  {} }}"#,
        kb.to_hex_string(),
        ka.public_key().to_k_string(),
        tun_section("fctun")
    );
    let pid_a = lab.start(0, &config_a);
    lab.start(1, &config_b);
    lab.wait_log(0, &format!("peer up {}", kb.public_key().to_k_string()), 20);
    lab.ping(1, &address(&ka), 30);
    let before = rss_kb(pid_a);
    let log_len = lab.log(0).len();

    let flood = in_netns(&lab.ns[1], || {
        let sock = UdpSocket::bind("10.201.0.2:0").expect("bind");
        let ifindex = fc00d::sys::if_index("fcvb").expect("fcvb");
        let raw = fc00d::sys::packet_socket(ifindex).expect("packet socket");
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut buf = [0u8; 1600];
        let (mut udp, mut eth) = (0u32, 0u32);
        for i in 0..60_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 1500) as usize;
            for b in buf[..len].iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            if i % 2 == 0 {
                if sock.send_to(&buf[..len], "10.201.0.1:11223").is_ok() {
                    udp += 1;
                }
            } else if fc00d::sys::packet_send(raw.as_raw_fd(), ifindex, &[0xff; 6], &buf[..len])
                .is_ok()
            {
                eth += 1;
            }
            if i % 1000 == 0 {
                // Let the receiver keep up a little: we test bounds, not socket buffers.
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        (udp, eth)
    });
    let (udp, eth) = flood.join().expect("flood thread");
    assert!(
        udp > 20_000 && eth > 20_000,
        "flood sent {udp} UDP, {eth} Ethernet"
    );
    std::thread::sleep(Duration::from_millis(500));
    let after = rss_kb(pid_a);
    assert!(
        after <= before + 512,
        "RSS grew from {before} kB to {after} kB under a garbage flood"
    );
    let during = &lab.log(0)[log_len..];
    eprintln!(
        "flood: {udp} UDP + {eth} Ethernet datagrams; RSS {before} -> {after} kB; {} log bytes",
        during.len()
    );
    assert!(!during.contains("peer down"), "peer went down:\n{during}");
    lab.ping(1, &address(&ka), 20);
    lab.ping(0, &address(&kb), 20);
}

/// UDP beacons alone (no connectTo, no password): each node broadcasts on its devices and
/// the two peer, then ping6 crosses.
#[test]
fn udp_beacons_alone_peer_and_ping6() {
    let mut lab = Lab::new("b");
    let (ka, kb) = (new_key(), new_key());
    for (i, key, ip, devices) in [
        (0, &ka, "10.201.0.1", r#"[ "fcva" ]"#),
        (1, &kb, "10.201.0.2", r#"[ "all" ]"#),
    ] {
        let config = format!(
            r#"{{ "privateKey": "{}",
  "interfaces": {{ "UDPInterface": [ {{ "bind": "{ip}:11223", "beacon": 2,
      "beaconDevices": {devices}, "beaconPort": 64512 }} ] }},
  {} }}"#,
            key.to_hex_string(),
            tun_section("fctun")
        );
        lab.start(i, &config);
    }
    lab.wait_log(0, &format!("peer up {}", kb.public_key().to_k_string()), 30);
    lab.wait_log(1, &format!("peer up {}", ka.public_key().to_k_string()), 30);
    lab.ping(0, &address(&kb), 30);
}

/// kill -9 B and start it again with the same config: A (which dials B) gets B back and
/// ping6 flows again within the reference's peer timeouts.
#[test]
fn peer_killed_and_restarted_comes_back() {
    let mut lab = Lab::new("k");
    let (ka, kb) = (new_key(), new_key());
    let config_b = format!(
        r#"{{ "privateKey": "{}", "authorizedPasswords": [ {{ "password": "kb", "user": "a" }} ],
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.2:11223" }} ] }},
  {} }}"#,
        kb.to_hex_string(),
        tun_section("fctun")
    );
    let config_a = format!(
        r#"{{ "privateKey": "{}",
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.1:11223",
      "connectTo": {{ "10.201.0.2:11223": {{ "password": "kb", "publicKey": "{}" }} }} }} ] }},
  {} }}"#,
        ka.to_hex_string(),
        kb.public_key().to_k_string(),
        tun_section("fctun")
    );
    let pid_b = lab.start(1, &config_b);
    lab.start(0, &config_a);
    lab.ping(0, &address(&kb), 30);
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid_b as i32, libc::SIGKILL) }, 0);
    for c in lab.children.iter_mut() {
        if c.id() == pid_b {
            let _ = c.wait();
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let started = Instant::now();
    lab.start(1, &config_b);
    lab.ping(0, &address(&kb), 90);
    eprintln!("traffic resumed {:?} after the restart", started.elapsed());
    for line in lab
        .log(0)
        .lines()
        .filter(|l| l.contains("peer ") || l.contains("Session("))
    {
        eprintln!("A: {line}");
    }
}

fn int(d: &Reply, key: &str) -> i64 {
    d.get(key.as_bytes()).and_then(Benc::as_int).unwrap_or(-1)
}

/// `authorizedPasswords[].ipv6`: a peer presenting a password restricted to another
/// address is refused (cjdns drops the Hello before opening it), one restricted to its own
/// address gets in; passwords added and removed over the admin API behave the same.
#[test]
fn ipv6_restricted_passwords_and_password_admin() {
    let mut lab = Lab::new("r");
    let (ka, kb, other) = (new_key(), new_key(), new_key());
    let (a_ip, other_ip) = (address(&ka), address(&other));
    let b_pub = kb.public_key().to_k_string();
    let a_pub = ka.public_key().to_k_string();
    let config_b = format!(
        r#"{{ "privateKey": "{}",
  "authorizedPasswords": [ {{ "password": "not-for-a", "user": "other", "ipv6": "{other_ip}" }} ],
  "admin": {{ "bind": "127.0.0.1:11234", "password": "adm" }},
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.2:11223" }} ] }} }}"#,
        kb.to_hex_string()
    );
    let config_a = format!(
        r#"{{ "privateKey": "{}",
  "admin": {{ "bind": "127.0.0.1:11234", "password": "adm" }},
  "interfaces": {{ "UDPInterface": [ {{ "bind": "10.201.0.1:11223",
      "connectTo": {{ "10.201.0.2:11223": {{ "password": "not-for-a", "publicKey": "{b_pub}" }} }} }} ] }} }}"#,
        ka.to_hex_string()
    );
    lab.start(1, &config_b);
    lab.start(0, &config_a);
    // A keeps sending Hellos every few seconds; none may get through.
    std::thread::sleep(Duration::from_secs(6));
    let a_up = format!("peer up {a_pub}");
    assert!(
        !lab.log(1).contains(&a_up),
        "A got in with a password restricted to {other_ip}"
    );

    // B: a password for A's own address, over the admin API; the list shows it.
    let b = admin_calls(
        &lab.ns[1],
        Some("adm"),
        vec![
            (
                "AuthorizedPasswords_add",
                BDict::new()
                    .with("password", "for-a")
                    .with("user", "a")
                    .with("ipv6", a_ip.as_str()),
            ),
            (
                "AuthorizedPasswords_add",
                BDict::new()
                    .with("password", "x")
                    .with("ipv6", "not-an-address"),
            ),
            ("AuthorizedPasswords_list", BDict::new()),
        ],
    );
    assert_eq!(text(&b[0], "error"), "none", "{:?}", b[0]);
    assert_eq!(text(&b[1], "error"), "Invalid IPv6 Address", "{:?}", b[1]);
    let users: Vec<&str> = b[2]
        .get(b"users".as_slice())
        .and_then(Benc::as_list)
        .expect("users")
        .iter()
        .filter_map(Benc::as_bytes)
        .filter_map(|u| std::str::from_utf8(u).ok())
        .collect();
    assert_eq!(users, ["a", "other", "Local Peers"], "{:?}", b[2]);

    // A: drop the refused peer and dial again with the password for its address.
    let a = admin_calls(
        &lab.ns[0],
        Some("adm"),
        vec![
            (
                "InterfaceController_disconnectPeer",
                BDict::new().with("pubkey", b_pub.as_str()),
            ),
            (
                "UDPInterface_beginConnection",
                BDict::new()
                    .with("publicKey", b_pub.as_str())
                    .with("address", "10.201.0.2:11223")
                    .with("password", "for-a")
                    .with("login", "a"),
            ),
        ],
    );
    assert_eq!(text(&a[1], "error"), "none", "{:?}", a[1]);
    lab.wait_log(1, &a_up, 20);

    // Removing users: a known login goes, an unknown one is an error, as the reference.
    let b = admin_calls(
        &lab.ns[1],
        Some("adm"),
        vec![
            (
                "AuthorizedPasswords_remove",
                BDict::new().with("user", "other"),
            ),
            (
                "AuthorizedPasswords_remove",
                BDict::new().with("user", "other"),
            ),
            ("AuthorizedPasswords_list", BDict::new()),
        ],
    );
    assert_eq!(text(&b[0], "error"), "none", "{:?}", b[0]);
    assert_eq!(text(&b[1], "error"), "Unknown error.", "{:?}", b[1]);
    assert_eq!(int(&b[2], "total"), 2, "{:?}", b[2]);
}

/// The interface and node-store functions on a running daemon: a UDP interface added over
/// the admin API takes peers, beacons switch on and off, devices are listed, and
/// `NodeStore_nodeForAddr` describes ourselves and a peer.
#[test]
fn admin_interfaces_and_node_store_on_a_running_daemon() {
    let mut lab = Lab::new("i");
    let (ka, kb) = (new_key(), new_key());
    let b_pub = kb.public_key().to_k_string();
    let a_pub = ka.public_key().to_k_string();
    let config = |key: &PrivateKey, bind: &str, pw: &str| {
        format!(
            r#"{{ "privateKey": "{}",
  "authorizedPasswords": [ {{ "password": "{pw}", "user": "peer" }} ],
  "admin": {{ "bind": "127.0.0.1:11234", "password": "adm" }},
  "interfaces": {{ "UDPInterface": [ {{ "bind": "{bind}" }} ],
                  "ETHInterface": [ {{ "bind": "{dev}", "beacon": 0 }} ] }} }}"#,
            key.to_hex_string(),
            dev = if bind.starts_with("10.201.0.1") {
                "fcva"
            } else {
                "fcvb"
            },
        )
    };
    lab.start(1, &config(&kb, "10.201.0.2:11223", "pw-b"));
    lab.start(0, &config(&ka, "10.201.0.1:11223", "pw-a"));
    lab.wait_log(1, "admin on udp", 10);
    lab.wait_log(0, "admin on udp", 10);

    let b = admin_calls(
        &lab.ns[1],
        Some("adm"),
        vec![
            (
                "UDPInterface_new",
                BDict::new().with("bindAddress", "10.201.0.2"),
            ),
            (
                "UDPInterface_new",
                BDict::new().with("bindAddress", "nonsense"),
            ),
            ("InterfaceController_interfaces", BDict::new()),
            ("ETHInterface_listDevices", BDict::new()),
            (
                "ETHInterface_beacon",
                BDict::new()
                    .with("interfaceNumber", 1i64)
                    .with("state", 2i64),
            ),
            (
                "ETHInterface_beacon",
                BDict::new()
                    .with("interfaceNumber", 9i64)
                    .with("state", 1i64),
            ),
            (
                "ETHInterface_beacon",
                BDict::new().with("interfaceNumber", 1i64),
            ),
            ("NodeStore_nodeForAddr", BDict::new()),
            ("NodeStore_nodeForAddr", BDict::new().with("ip", "fc00::1")),
            (
                "NodeStore_nodeForAddr",
                BDict::new().with("ip", "not-an-ip"),
            ),
        ],
    );
    assert_eq!(text(&b[0], "error"), "none", "{:?}", b[0]);
    let new_if = int(&b[0], "interfaceNumber");
    let bound = text(&b[0], "bindAddress").to_string();
    let port: u16 = bound
        .strip_prefix("10.201.0.2:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("bound to {bound:?}"));
    assert!(port > 0);
    assert_eq!(
        text(&b[1], "error"),
        "Failed to parse address",
        "{:?}",
        b[1]
    );
    let names: Vec<(i64, String)> = b[2]
        .get(b"ifaces".as_slice())
        .and_then(Benc::as_list)
        .expect("ifaces")
        .iter()
        .filter_map(Benc::as_dict)
        .map(|d| (int(d, "ifNum"), text(d, "name").to_string()))
        .collect();
    assert!(
        names.contains(&(new_if, "UDP/IPv4/10.201.0.2".to_string())),
        "{names:?}"
    );
    let devices: Vec<&[u8]> = b[3]
        .get(b"devices".as_slice())
        .and_then(Benc::as_list)
        .expect("devices")
        .iter()
        .filter_map(Benc::as_bytes)
        .collect();
    // Reversed interface-index order, as the reference lists getifaddrs.
    assert_eq!(devices.last(), Some(&b"lo".as_slice()), "{devices:?}");
    assert!(devices.contains(&b"fcvb".as_slice()), "{devices:?}");
    assert_eq!(
        text(&b[4], "stateName"),
        "sending and accepting",
        "{:?}",
        b[4]
    );
    assert_eq!(
        text(&b[5], "error"),
        "invalid interfaceNumber",
        "{:?}",
        b[5]
    );
    assert_eq!(text(&b[6], "error"), "invalid state", "{:?}", b[6]);
    let me = b[7]
        .get(b"result".as_slice())
        .and_then(Benc::as_dict)
        .expect("result");
    assert_eq!(text(me, "key"), b_pub.as_str(), "{me:?}");
    assert_eq!(text(me, "routeLabel"), "0000.0000.0000.0001", "{me:?}");
    assert!(
        b[8].get(b"result".as_slice())
            .and_then(Benc::as_dict)
            .is_some_and(|d| d.is_empty()),
        "{:?}",
        b[8]
    );
    assert_eq!(text(&b[9], "error"), "parse_ip", "{:?}", b[9]);

    // A dials B's new interface: the socket added at run time takes the peer.
    let a = admin_calls(
        &lab.ns[0],
        Some("adm"),
        vec![(
            "UDPInterface_beginConnection",
            BDict::new()
                .with("publicKey", b_pub.as_str())
                .with("address", format!("10.201.0.2:{port}").as_str())
                .with("password", "pw-b")
                .with("login", "peer"),
        )],
    );
    assert_eq!(text(&a[0], "error"), "none", "{:?}", a[0]);
    lab.wait_log(1, &format!("peer up {a_pub}"), 20);
    // The node store learns A as a one-hop child of B (give the router a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    let a_label = loop {
        let b = admin_calls(
            &lab.ns[1],
            None,
            vec![(
                "NodeStore_nodeForAddr",
                BDict::new().with("ip", address(&ka).as_str()),
            )],
        );
        let found = b[0]
            .get(b"result".as_slice())
            .and_then(Benc::as_dict)
            .filter(|d| !d.is_empty())
            .cloned();
        if let Some(r) = found {
            assert_eq!(text(&r, "key"), a_pub.as_str(), "{r:?}");
            let parent = r
                .get(b"bestParent".as_slice())
                .and_then(Benc::as_dict)
                .expect("bestParent");
            assert_eq!(text(parent, "ip"), address(&kb), "{r:?}");
            assert_eq!(int(parent, "isOneHop"), 1, "{r:?}");
            assert_eq!(
                text(parent, "parentChildLabel"),
                text(&r, "routeLabel"),
                "{r:?}"
            );
            break text(&r, "routeLabel").to_string();
        }
        assert!(Instant::now() < deadline, "A never in B's node store");
        std::thread::sleep(Duration::from_millis(500));
    };

    // RouterModule_pingNode by address, by label and by full address; unknown targets.
    let a_full = format!("v22.{a_label}.{a_pub}");
    let b = admin_calls(
        &lab.ns[1],
        Some("adm"),
        vec![
            (
                "RouterModule_pingNode",
                BDict::new().with("path", address(&ka).as_str()),
            ),
            (
                "RouterModule_pingNode",
                BDict::new().with("path", a_label.as_str()),
            ),
            (
                "RouterModule_pingNode",
                BDict::new()
                    .with("path", a_full.as_str())
                    .with("timeout", 2000i64),
            ),
            (
                "RouterModule_pingNode",
                BDict::new().with("path", "fc00::1"),
            ),
            (
                "RouterModule_pingNode",
                BDict::new().with("path", "0000.0000.0000.0f15"),
            ),
            (
                "RouterModule_pingNode",
                BDict::new().with("path", "nonsense"),
            ),
            (
                "RouterModule_pingNode",
                BDict::new().with("path", address(&kb).as_str()),
            ),
        ],
    );
    for r in &b[..3] {
        assert_eq!(text(r, "result"), "pong", "{r:?}");
        assert_eq!(text(r, "addr"), a_full.as_str(), "{r:?}");
        assert_eq!(
            text(r, "from"),
            format!("{}@{a_label}", address(&ka)).as_str(),
            "{r:?}"
        );
        assert_eq!(int(r, "protocol"), 22, "{r:?}");
    }
    assert_eq!(text(&b[3], "error"), "not_found", "{:?}", b[3]);
    assert_eq!(text(&b[4], "error"), "not_found", "{:?}", b[4]);
    assert_eq!(text(&b[5], "error"), "parse_path", "{:?}", b[5]);
    assert_eq!(text(&b[6], "result"), "pong", "{:?}", b[6]);
    assert!(text(&b[6], "addr").ends_with(b_pub.as_str()), "{:?}", b[6]);
}
