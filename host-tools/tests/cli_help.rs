//! Every command's `--help` carries examples and the exit codes; usage errors are one line
//! with exit code 2.

use std::process::{Command, Stdio};

fn fc00ctl(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fc00ctl"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn every_help_has_examples_and_exit_codes() {
    let commands: &[&[&str]] = &[
        &[],
        &["peers"],
        &["sessions"],
        &["ping"],
        &["routes"],
        &["dump"],
        &["peer"],
        &["peer", "add"],
        &["peer", "remove"],
        &["functions"],
        &["node"],
        &["device"],
        &["device", "info"],
        &["device", "flash-key"],
        &["device", "stats"],
        &["device", "peer"],
        &["device", "peer", "add"],
        &["device", "peer", "remove"],
        &["device", "password"],
        &["device", "password", "add"],
        &["device", "password", "remove"],
        &["device", "reboot"],
        &["device", "ports"],
    ];
    for path in commands {
        let mut args = path.to_vec();
        args.push("--help");
        let out = fc00ctl(&args);
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Examples:\n"),
            "{args:?} has no examples:\n{text}"
        );
        assert!(
            text.contains("Exit codes:\n  0  success"),
            "{args:?} has no exit codes:\n{text}"
        );
    }
}

#[test]
fn usage_errors_are_one_line_exit_2() {
    for args in [
        &["peers", "--bogus"][..],
        &["nonsense"][..],
        &["ping"][..],
        &["device", "stats", "--interval"][..],
    ] {
        let out = fc00ctl(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("fc00ctl: ") && err.contains("--help"),
            "{err}"
        );
    }
}
