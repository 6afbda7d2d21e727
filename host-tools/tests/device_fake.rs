//! `fc00ctl device …` against the in-process fake device (`host_tools::device::fake`), which
//! speaks the same `protocol_core::mgmt` frames as the firmware: happy paths, corrupt frames,
//! silence, a device that disconnects mid-answer, stale and noisy answers. Short timeouts,
//! no sleeps: a hang would show as the test's own timeout.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use host_tools::device::cli::{fetch_snapshot, rates, snapshot_text};
use host_tools::device::client::DeviceClient;
use host_tools::device::fake::{fake_key, DeviceState, FakeDevice, Fault};
use host_tools::device::link;
use host_tools::error::{EXIT_CONNECT, EXIT_RUNTIME};
use protocol_core::identity::PrivateKey;
use protocol_core::mgmt::{Request, Response};
use serde_json::Value;

/// A fixed fc identity for the fake device (from ../shared/reference/vectors/keys.json).
const DEVICE_PRIV: &str = "889ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f";

fn device(peers: usize, sessions: usize) -> FakeDevice {
    let key = PrivateKey::parse_hex(DEVICE_PRIV).unwrap();
    FakeDevice::spawn(DeviceState::new(&key, peers, sessions)).unwrap()
}

fn client(dev: &FakeDevice, timeout_ms: u64) -> DeviceClient {
    let t = Duration::from_millis(timeout_ms);
    DeviceClient::new(link::open(&dev.port(), 115_200, t).unwrap(), &dev.port(), t)
}

fn fc00ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args(args)
        .env_remove("FC00_PORT")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = fc00ctl(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], code: i32) -> String {
    let out = fc00ctl(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    err
}

#[test]
fn info_shows_board_and_identity() {
    let dev = device(0, 0);
    let port = dev.port();
    let out = ok(&["device", "info", "--port", &port]);
    let expected = PrivateKey::parse_hex(DEVICE_PRIV).unwrap().public_key();
    assert!(out.contains("fake-mps2-an386"), "{out}");
    assert!(out.contains(expected.to_k_string().as_str()), "{out}");
    let j: Value =
        serde_json::from_str(&ok(&["device", "--port", &port, "info", "--json"])).unwrap();
    assert_eq!(j["protocol"], 1);
    assert_eq!(
        j["ip6"],
        expected.address().unwrap().to_full_string().as_str()
    );
}

#[test]
fn stats_reads_every_page() {
    // 5 peers = 3 pages of 2; 6 sessions = 2 pages of 4.
    let dev = device(5, 6);
    let port = dev.port();
    let j: Value =
        serde_json::from_str(&ok(&["device", "stats", "--json", "--port", &port])).unwrap();
    let peers = j["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 5);
    assert_eq!(j["sessions"].as_array().unwrap().len(), 6);
    let keys: Vec<&str> = peers
        .iter()
        .map(|p| p["publicKey"].as_str().unwrap())
        .collect();
    for i in 0..5 {
        assert!(keys.contains(&fake_key(i).to_k_string().as_str()));
    }
    assert_eq!(peers[2]["state"], "UNRESPONSIVE");
    assert_eq!(j["memory"]["stack_high_water_bytes"], 9412);
    assert!(j["switch"]["forwarded"].as_u64().unwrap() > 0);
    let text = ok(&["device", "stats", "--port", &port]);
    for header in [
        "PEERS",
        "SESSIONS",
        "SWITCH",
        "MEMORY",
        "LLADDR",
        "high water",
    ] {
        assert!(text.contains(header), "{header} in {text}");
    }
}

#[test]
fn watch_shows_rates_and_stops_after_count() {
    let dev = device(2, 1);
    let port = dev.port();
    let out = ok(&[
        "device",
        "stats",
        "--watch",
        "--interval",
        "0",
        "--count",
        "2",
        "--json",
        "--port",
        &port,
    ]);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    // The fake adds 10 packets a second (device clock) to peer 0, 20 to peer 1.
    let r = &lines[0]["ratesPerSecond"]["peers"];
    assert_eq!(r[fake_key(0).to_k_string().as_str()][0], 10.0);
    assert_eq!(r[fake_key(1).to_k_string().as_str()][0], 20.0);
    assert_eq!(lines[1]["ratesPerSecond"]["switch"]["forwarded"], 40.0);
}

#[test]
fn rates_use_the_device_clock() {
    let dev = device(1, 0);
    let mut c = client(&dev, 500);
    c.hello().unwrap();
    let a = fetch_snapshot(&mut c).unwrap();
    let b = fetch_snapshot(&mut c).unwrap();
    let r = rates(&a, &b);
    assert_eq!(r.switch["forwarded"], 40.0);
    let text = snapshot_text(&b, Some(&r));
    assert!(text.contains("10.0/s"), "{text}");
}

#[test]
fn flash_key_generate_verifies_and_never_prints_the_key() {
    let dev = device(0, 0);
    let port = dev.port();
    let out = fc00ctl(&[
        "device",
        "flash-key",
        "--generate",
        "--yes",
        "--json",
        "--port",
        &port,
    ]);
    assert!(out.status.success(), "{out:?}");
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["verified"], true);
    let stored = dev.state().next_identity.expect("stored");
    assert_eq!(j["publicKey"], stored.to_k_string().as_str());
    // Given key (the second of keys.json): same, and neither stdout nor stderr carries it.
    let key = "f23dccdd54022461ff8d81136eeacdcb75b7dbbeee36d3645a7bd0e4d186f096";
    let parsed = PrivateKey::parse_hex(key).unwrap().public_key();
    let out = fc00ctl(&[
        "device",
        "flash-key",
        "--key",
        key,
        "--yes",
        "--port",
        &port,
    ]);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(all.contains("stored and verified"), "{all}");
    assert_eq!(dev.state().next_identity, Some(parsed));
    assert!(!all.contains(key), "the private key was echoed: {all}");
    // Used after the reboot.
    ok(&["device", "reboot", "--port", &port]);
    assert!(ok(&["device", "info", "--port", &port]).contains(parsed.to_k_string().as_str()));
}

#[test]
fn flash_key_refuses_bad_keys_and_unconfirmed_changes() {
    let dev = device(0, 0);
    let port = dev.port();
    let err = fails(
        &[
            "device",
            "flash-key",
            "--key",
            "abcd",
            "--yes",
            "--port",
            &port,
        ],
        2,
    );
    assert!(!err.contains("abcd"), "{err}");
    // A well-formed key whose address is outside fc00::/8.
    let not_fc = "0000000000000000000000000000000000000000000000000000000000000001";
    let err = fails(
        &[
            "device",
            "flash-key",
            "--key",
            not_fc,
            "--yes",
            "--port",
            &port,
        ],
        2,
    );
    assert!(err.contains("fc00::/8"), "{err}");
    // No --yes and no terminal to ask on.
    fails(&["device", "flash-key", "--generate", "--port", &port], 2);
    // Neither or both key sources.
    fails(&["device", "flash-key", "--port", &port], 2);
    fails(
        &[
            "device",
            "flash-key",
            "--generate",
            "--key",
            "00",
            "--port",
            &port,
        ],
        2,
    );
    assert_eq!(dev.state().next_identity, None);
}

#[test]
fn peers_and_passwords_add_remove_reboot() {
    let dev = device(0, 0);
    let port = dev.port();
    let k = fake_key(3).to_k_string();
    ok(&[
        "device",
        "peer",
        "add",
        "192.0.2.7:11223",
        k.as_str(),
        "--password",
        "pw",
        "--login",
        "me",
        "--port",
        &port,
    ]);
    let s = dev.state();
    assert_eq!(s.udp_peers.len(), 1);
    assert_eq!(s.udp_peers[0].login.as_str(), "me");
    ok(&["device", "peer", "remove", k.as_str(), "--port", &port]);
    let err = fails(
        &["device", "peer", "remove", k.as_str(), "--port", &port],
        1,
    );
    assert!(err.contains("nothing on the device matches"), "{err}");
    ok(&[
        "device", "password", "add", "laptop", "s3cret", "--port", &port,
    ]);
    assert_eq!(
        dev.state().passwords,
        vec![("laptop".into(), "s3cret".into())]
    );
    ok(&["device", "password", "remove", "laptop", "--port", &port]);
    fails(
        &["device", "password", "remove", "laptop", "--port", &port],
        1,
    );
    // Bad input never reaches the device.
    let before = dev.state().requests;
    fails(
        &[
            "device",
            "peer",
            "add",
            "192.0.2.7",
            k.as_str(),
            "--port",
            &port,
        ],
        2,
    );
    fails(
        &[
            "device",
            "peer",
            "add",
            "192.0.2.7:1",
            "bad.k",
            "--port",
            &port,
        ],
        2,
    );
    let long = "x".repeat(100);
    fails(
        &["device", "password", "add", "u", &long, "--port", &port],
        2,
    );
    assert_eq!(dev.state().requests, before);
    ok(&["device", "reboot", "--port", &port]);
    assert_eq!(dev.state().reboots, 1);
}

#[test]
fn one_corrupt_answer_is_retried() {
    let dev = device(0, 0);
    let mut c = client(&dev, 500);
    c.hello().unwrap();
    dev.set_fault(Fault::CorruptNext(1));
    let r = c.call(&Request::GetIdentity, "identity").unwrap();
    assert!(matches!(r, Response::Identity { .. }));
    assert_eq!(c.corrupt_frames, 1);
}

#[test]
fn corrupt_answers_every_time_give_a_clear_error() {
    let dev = device(0, 0);
    let port = dev.port();
    let mut c = client(&dev, 500);
    c.hello().unwrap();
    dev.set_fault(Fault::CorruptNext(10));
    let e = c.call(&Request::GetStats, "stats").unwrap_err();
    assert_eq!(e.exit_code(), EXIT_RUNTIME);
    assert!(
        e.message().contains("corrupt") && e.message().contains("--baud"),
        "{e}"
    );
    // And through the binary (the fake serves one connection at a time): one line, exit 1.
    drop(c);
    dev.set_fault(Fault::CorruptNext(100));
    fails(&["device", "info", "--port", &port, "--timeout", "0.3"], 1);
}

#[test]
fn a_removal_whose_answer_was_lost_counts_as_done() {
    let dev = device(0, 0);
    let port = dev.port();
    ok(&["device", "password", "add", "u", "p", "--port", &port]);
    let mut c = client(&dev, 500);
    c.hello().unwrap();
    dev.set_fault(Fault::CorruptNext(1));
    let user = heapless::String::try_from("u").unwrap();
    let r = c.call(&Request::RemovePassword { user }, "password remove");
    assert_eq!(r.unwrap(), Response::Done);
}

#[test]
fn silent_device_times_out_with_exit_3_then_1() {
    let dev = device(0, 0);
    let port = dev.port();
    dev.set_fault(Fault::Silent);
    let start = Instant::now();
    let err = fails(&["device", "info", "--port", &port, "--timeout", "0.3"], 3);
    assert!(
        err.contains("no answer") && err.contains("firmware"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(10), "bounded wait");
    // Answers hello, then nothing: a runtime failure naming the request.
    dev.set_fault(Fault::SilentAfterHello);
    let err = fails(&["device", "stats", "--port", &port, "--timeout", "0.3"], 1);
    assert!(err.contains("stats: no answer"), "{err}");
}

#[test]
fn device_disconnecting_mid_answer_is_a_clear_error() {
    let dev = device(0, 0);
    let mut c = client(&dev, 20_000);
    c.hello().unwrap();
    dev.set_fault(Fault::DisconnectMidAnswer);
    let start = Instant::now();
    let e = c.call(&Request::GetIdentity, "identity").unwrap_err();
    assert_eq!(e.exit_code(), EXIT_RUNTIME);
    assert!(e.message().contains("closed the connection"), "{e}");
    // Noticed when it happens, not after the 20 s timeout.
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn stale_answers_and_line_noise_are_skipped() {
    let dev = device(1, 0);
    let mut c = client(&dev, 500);
    c.hello().unwrap();
    dev.set_fault(Fault::StaleFirst);
    for _ in 0..3 {
        assert!(matches!(
            c.call(&Request::GetIdentity, "identity").unwrap(),
            Response::Identity { .. }
        ));
    }
    dev.set_fault(Fault::Noise);
    for _ in 0..3 {
        assert!(matches!(
            c.call(&Request::GetStats, "stats").unwrap(),
            Response::Stats(_)
        ));
    }
}

#[test]
fn newer_protocol_is_refused_with_advice() {
    let dev = device(0, 0);
    dev.set_fault(Fault::NewerProtocol);
    let err = fails(&["device", "info", "--port", &dev.port()], 1);
    assert!(err.contains("update fc00ctl"), "{err}");
}

#[test]
fn nothing_listening_or_no_port_given() {
    // The discard port: nothing listens there (a freed ephemeral port could be reused by a
    // fake device of a test running in parallel).
    let port = 9;
    let err = fails(
        &["device", "info", "--port", &format!("tcp:127.0.0.1:{port}")],
        3,
    );
    assert!(err.contains("QEMU"), "{err}");
    let err = fails(&["device", "info"], 2);
    assert!(err.contains("--port"), "{err}");
    fails(&["device", "info", "--port", "/dev/fc00ctl-no-such-tty"], 3);
    // The client's own handle, for completeness: exit 3 on the connect error.
    let e = link::open(
        &format!("tcp:127.0.0.1:{port}"),
        115_200,
        Duration::from_millis(200),
    )
    .err()
    .unwrap();
    assert_eq!(e.exit_code(), EXIT_CONNECT);
}

#[test]
fn over_a_serial_port_too() {
    // A pseudo terminal opened through the serialport crate, as /dev/ttyACM0 would be.
    let key = PrivateKey::parse_hex(DEVICE_PRIV).unwrap();
    let dev = FakeDevice::spawn_pty(DeviceState::new(&key, 3, 1)).unwrap();
    let port = dev.port();
    assert!(port.starts_with("/dev/"), "{port}");
    let out = ok(&["device", "info", "--port", &port, "--baud", "921600"]);
    assert!(out.contains("fake-mps2-an386"), "{out}");
    let j: Value =
        serde_json::from_str(&ok(&["device", "stats", "--json", "--port", &port])).unwrap();
    assert_eq!(j["peers"].as_array().unwrap().len(), 3);
    dev.set_fault(Fault::CorruptNext(1));
    ok(&["device", "info", "--port", &port]);
    dev.set_fault(Fault::Silent);
    let err = fails(&["device", "info", "--port", &port, "--timeout", "0.3"], 3);
    assert!(err.contains("--baud"), "{err}");
}

#[test]
fn stats_tables_snapshot() {
    let dev = device(3, 2);
    let mut c = client(&dev, 500);
    c.hello().unwrap();
    let a = fetch_snapshot(&mut c).unwrap();
    insta::assert_snapshot!("device_stats", snapshot_text(&a, None));
    let b = fetch_snapshot(&mut c).unwrap();
    insta::assert_snapshot!(
        "device_stats_rates",
        snapshot_text(&b, Some(&rates(&a, &b)))
    );
}

#[test]
fn random_bytes_from_a_device_give_an_error_never_a_panic_or_hang() {
    use rand_chacha::rand_core::{RngCore, SeedableRng};
    use std::io::{Read, Write};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let rounds = 300;
    let blobs: Vec<Vec<u8>> = (0..rounds)
        .map(|_| {
            let mut b = vec![0u8; (rng.next_u32() % 3000) as usize];
            rng.fill_bytes(&mut b);
            // Some rounds without any delimiter, some with many.
            if rng.next_u32() % 3 == 0 {
                b.iter_mut().for_each(|x| *x |= 1);
            }
            b
        })
        .collect();
    let server = std::thread::spawn(move || {
        for blob in blobs {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = [0u8; 64];
            let _ = s.read(&mut req);
            let _ = s.write_all(&blob);
            // Dropping the stream closes it: the client sees EOF after the bytes.
        }
    });
    let start = Instant::now();
    for _ in 0..rounds {
        let t = Duration::from_millis(500);
        let port = format!("tcp:{addr}");
        let mut c = DeviceClient::new(link::open(&port, 115_200, t).unwrap(), &port, t);
        let e = c.hello().unwrap_err();
        assert!([EXIT_RUNTIME, EXIT_CONNECT].contains(&e.exit_code()), "{e}");
    }
    server.join().unwrap();
    // EOF ends every round at once; 300 timeouts would take 150 s.
    assert!(start.elapsed() < Duration::from_secs(60));
}
