//! Two fc00d in two network namespaces joined by a veth pair: they peer (UDP with a password,
//! or Ethernet beacons alone) and `ping6` crosses TUN -> session -> switch -> link -> TUN.
//! Needs root (namespaces, TUN, raw sockets). Everything is removed on success and failure.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use protocol_core::identity::PrivateKey;

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

/// Two namespaces, their daemons and a temp dir; all removed on drop.
struct Lab {
    ns: [String; 2],
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
            for i in 0..2 {
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
    fn new(tag: &str) -> Lab {
        assert!(
            fc00d::sys::is_root(),
            "this test needs root (network namespaces, TUN, raw sockets)"
        );
        let id = format!("{}{}", tag, std::process::id() % 100000);
        let dir = std::env::temp_dir().join(format!("fc00d-test-{id}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let lab = Lab {
            ns: [format!("fc00d-{id}-a"), format!("fc00d-{id}-b")],
            children: Vec::new(),
            dir,
        };
        let (a, b) = (&lab.ns[0], &lab.ns[1]);
        must(&["ip", "netns", "add", a]);
        must(&["ip", "netns", "add", b]);
        must(&[
            "ip", "link", "add", "fcva", "netns", a, "type", "veth", "peer", "name", "fcvb",
            "netns", b,
        ]);
        for (ns, dev, ip) in [(a, "fcva", "10.201.0.1/24"), (b, "fcvb", "10.201.0.2/24")] {
            must(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            must(&["ip", "-n", ns, "addr", "add", ip, "dev", dev]);
            must(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        lab
    }

    fn start(&mut self, i: usize, config: &str) {
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
        self.children.push(child);
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
