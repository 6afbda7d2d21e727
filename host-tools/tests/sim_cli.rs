//! `fc00ctl simulate` prints the figures a person asked for, as a table or JSON.

use std::process::Command;

#[test]
fn simulate_prints_json_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args([
            "simulate",
            "--nodes",
            "4",
            "--topology",
            "ring",
            "--seed",
            "3",
            "--pairs",
            "2",
            "--latency",
            "1-2",
            "--json",
        ])
        .output()
        .expect("fc00ctl runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).expect(&text);
    assert_eq!(v["nodes"], 4);
    assert_eq!(v["topology"], "ring");
    assert_eq!(v["edges"], 4);
    assert!(v["converged_ms"].is_u64(), "{v}");
    assert_eq!(v["pairs_attempted"], 2);
    assert!(v["node_bytes"].as_u64().unwrap() > 1000);
    assert_eq!(
        out.status.code(),
        Some(if v["pairs_answered"] == 2 { 0 } else { 1 })
    );
}

#[test]
fn simulate_refuses_a_bad_topology() {
    let out = Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args(["simulate", "--topology", "torus"])
        .output()
        .expect("fc00ctl runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("torus"));
}
