//! `fc00ctl key …` against the reference's own tool outputs in
//! `../shared/reference/vectors/keys.json` and `makekeys-output.txt`.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn reference(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference data {} is missing ({e}); these tests need ../shared beside the checkout",
            path.display()
        )
    })
}

fn keypairs() -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(&reference("vectors/keys.json")).unwrap();
    v["keypairs"].as_array().unwrap().clone()
}

fn fc00ctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn key_pub_prints_what_privatetopublic_prints() {
    for kp in keypairs() {
        let out = fc00ctl(&["key", "pub", kp["privateKey_hex"].as_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        let expected: Vec<&str> = kp["privatetopublic_output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), expected);
    }
}

#[test]
fn key_pub_reads_stdin_so_the_key_stays_out_of_history() {
    let kp = &keypairs()[0];
    let mut child = Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args(["key", "pub", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(
        child.stdin.take().unwrap(),
        "{}",
        kp["privateKey_hex"].as_str().unwrap()
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["publicKey"], kp["publicKey_k"]);
    assert_eq!(v["ipv6"], kp["ipv6_full"]);
}

#[test]
fn key_addr_prints_what_publictoip6_prints() {
    for kp in keypairs() {
        let expected = format!("{}\n", kp["publictoip6_output"].as_str().unwrap());
        let by_public = fc00ctl(&["key", "addr", kp["publicKey_k"].as_str().unwrap()]);
        assert_eq!(stdout(&by_public), expected);
        let by_private = fc00ctl(&["key", "addr", kp["privateKey_hex"].as_str().unwrap()]);
        assert_eq!(stdout(&by_private), expected);
    }
}

#[test]
fn makekeys_lines_check_out() {
    // Each makekeys line is "<private> <address> <public.k>": our conversions agree.
    for line in reference("vectors/makekeys-output.txt").lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [private, ip, public] = fields[..] else {
            panic!("unexpected makekeys line {line:?}")
        };
        let out = fc00ctl(&["key", "pub", private, "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["publicKey"], public);
        assert_eq!(v["ipv6"], ip);
    }
}

#[test]
fn key_gen_output_has_the_makekeys_shape_and_is_consistent() {
    let out = fc00ctl(&["key", "gen", "--count", "3"]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 3);
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert!(fields[1].starts_with("fc"), "{line}");
        let check = fc00ctl(&["key", "pub", fields[0], "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
        assert_eq!(v["publicKey"], fields[2]);
        assert_eq!(v["ipv6"], fields[1]);
    }
}

#[test]
fn key_check_accepts_keys_node_addresses_and_fc_ips() {
    let kp = &keypairs()[0];
    let key = kp["publicKey_k"].as_str().unwrap();
    for input in [
        key.to_string(),
        format!("v22.0000.0000.0000.0013.{key}"),
        kp["ipv6"].as_str().unwrap().to_string(),
        kp["publictoip6_output"].as_str().unwrap().to_string(),
    ] {
        let out = fc00ctl(&["key", "check", &input, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{input}: {out:?}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["valid"], true);
        assert_eq!(v["ipv6"], kp["ipv6_full"]);
    }
}

#[test]
fn well_formed_but_invalid_is_exit_1() {
    // The deterministic key 00..1f of reference-header-vectors.json has a non-fc address.
    let out = fc00ctl(&[
        "key",
        "check",
        "h4jbwquqhd9465pwl55ngv9hgclv41qmxtyw5f4uuxvwmj078tr0.k",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = fc00ctl(&["key", "check", "2001:db8::1"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn bad_input_is_one_line_on_stderr_and_exit_2() {
    let cases: &[&[&str]] = &[
        &["key", "pub", "889ea1f2"], // wrong length
        &[
            "key",
            "pub",
            "zz9ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f",
        ],
        &[
            "key",
            "addr",
            "7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwjaa.k",
        ], // 'a' not base32
        &[
            "key",
            "addr",
            "h4jbwquqhd9465pwl55ngv9hgclv41qmxtyw5f4uuxvwmj078tr0.k",
        ], // non-fc key
        &["key", "check", "hello"],
        &["key", "pub"], // nothing on stdin
    ];
    for args in cases {
        let out = fc00ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("fc00ctl: "), "{err}");
        assert!(out.stdout.is_empty());
    }
}
