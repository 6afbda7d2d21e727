//! Replies recorded from a real cjdroute v22.3 (`../shared/reference/vectors/`) decoded and
//! rendered by the same functions the admin commands use; the human tables are snapshots
//! (`tests/snapshots/`), so a change to them is a visible diff.

use std::path::PathBuf;

use fc00d::admin::client::parse_reply;
use host_tools::admin::cli::{
    functions_text, peers_table, routes_table, sessions_table, summarize, Pong,
};
use host_tools::admin::client::{check_error, Reply};
use host_tools::admin::model;
use host_tools::error::{EXIT_CONNECT, EXIT_RUNTIME};

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

fn recorded(name: &str) -> Reply {
    let all: serde_json::Value =
        serde_json::from_str(&reference("vectors/admin-replies-AB.json")).unwrap();
    model::reply_from_json(&all[name]).unwrap_or_else(|| panic!("no vector {name}"))
}

/// The RESPONSE bytes of section `title` in `admin-wire-example.txt` (a Python bytes repr).
fn wire_response(title: &str) -> Vec<u8> {
    let text = reference("vectors/admin-wire-example.txt");
    let section = text
        .split("## ")
        .find(|s| s.starts_with(title))
        .unwrap_or_else(|| panic!("no section {title}"));
    let line = section
        .lines()
        .find_map(|l| l.strip_prefix("RESPONSE : b'"))
        .expect("a RESPONSE line");
    let body = &line[..line.rfind('\'').unwrap()];
    let mut out = Vec::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let e = chars.next().unwrap();
            assert!(e == '\\' || e == '\'', "escape \\{e} not handled");
            out.push(e as u8);
        } else {
            out.push(c as u8);
        }
    }
    out
}

/// The peerStats vector's `last`, plus 3.5 s: what "now" is in the snapshots.
const NOW_MS: u64 = 1_795_613_228_473 + 3_500;

#[test]
fn peer_stats_vector_decodes_and_renders() {
    let peers = model::peers(&[recorded("B.InterfaceController_peerStats")]).unwrap();
    assert_eq!(peers.len(), 1);
    let p = &peers[0];
    assert_eq!(p.state, "ESTABLISHED");
    assert_eq!(p.user, "peer0");
    assert_eq!(
        (p.bytes_in, p.bytes_out, p.received_packets),
        (4476, 4832, 51)
    );
    assert!(!p.is_incoming);
    let parts = p.parts.as_ref().expect("addr parses");
    assert_eq!(parts.path, "0000.0000.0000.0013");
    assert_eq!(parts.ip6, "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53");
    insta::assert_snapshot!("peers_table", peers_table(&peers, NOW_MS));
    insta::assert_json_snapshot!("peers_json", peers);
}

#[test]
fn peer_stats_off_the_wire_decodes_like_the_json_vector() {
    for title in [
        "authenticated InterfaceController_peerStats",
        "InterfaceController_peerStats sent WITHOUT auth",
    ] {
        let reply = parse_reply(&wire_response(title)).expect("cjdroute's padded bencode");
        check_error("InterfaceController_peerStats", &reply, true).unwrap();
        let peers = model::peers(&[reply]).unwrap();
        assert_eq!(peers.len(), 1, "{title}");
        assert_eq!(peers[0].user, "peer4");
        assert_eq!(peers[0].lladdr, "169.254.12.2:12000");
        assert_eq!(peers[0].received_packets, 114);
    }
}

#[test]
fn auth_failure_off_the_wire_is_exit_3_with_a_hint() {
    let reply = parse_reply(&wire_response("bad hash")).unwrap();
    let err = check_error("InterfaceController_peerStats", &reply, true).unwrap_err();
    assert_eq!(err.exit_code(), EXIT_CONNECT);
    assert!(err.message().contains("--password"), "{err}");
}

#[test]
fn unknown_function_is_a_runtime_error_or_a_password_hint() {
    let mut reply = Reply::new();
    reply.insert(
        b"error".to_vec(),
        fc00d::admin::benc::Benc::from(fc00d::admin::NO_MATCH_ERROR),
    );
    let with = check_error("Foo_bar", &reply, true).unwrap_err();
    assert_eq!(with.exit_code(), EXIT_RUNTIME);
    let without = check_error("Foo_bar", &reply, false).unwrap_err();
    assert_eq!(without.exit_code(), EXIT_CONNECT);
    assert!(without.message().contains("--password"));
}

#[test]
fn session_vectors_decode_and_render() {
    let handles = model::handles(&[recorded("B.SessionManager_getHandles")]);
    assert_eq!(handles, vec![37465]);
    let s = model::session(&recorded("B.SessionManager_sessionStats(37465)"));
    assert_eq!(s.handle, 37465);
    assert_eq!(s.send_handle, 61688);
    assert_eq!(s.ip6, "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53");
    assert_eq!(s.metric, 4_280_288_118);
    insta::assert_snapshot!("sessions_table", sessions_table(&[s]));
}

#[test]
fn dump_table_vector_decodes_and_renders() {
    let routes = model::routes(&[recorded("B.NodeStore_dumpTable(0)")]).unwrap();
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[1].path, "0000.0000.0000.0013");
    assert_eq!(routes[1].link, 1024);
    insta::assert_snapshot!("routes_table", routes_table(&routes));
}

#[test]
fn available_functions_vector_decodes_every_function() {
    let all: serde_json::Value =
        serde_json::from_str(&reference("vectors/admin-availableFunctions.json")).unwrap();
    let count = all.as_object().unwrap().len();
    let page = model::reply_from_json(&serde_json::json!({ "availableFunctions": all })).unwrap();
    let functions = model::functions(&[page]).unwrap();
    assert_eq!(functions.len(), count);
    let text = functions_text(&functions);
    assert!(text.contains(
        "UDPInterface_beginConnection(address: String, publicKey: String, [interfaceNumber: Int], \
         [login: String], [password: String], [peerName: String], [version: Int])"
    ));
    insta::assert_snapshot!("functions_text", text);
}

#[test]
fn available_functions_page_off_the_wire_says_more() {
    let reply = parse_reply(&wire_response("Admin_availableFunctions page 0")).unwrap();
    assert_eq!(
        reply.get(b"more".as_slice()).and_then(|m| m.as_int()),
        Some(1)
    );
    let functions = model::functions(&[reply]).unwrap();
    assert_eq!(functions.len(), 8, "cjdroute sends 8 functions a page");
}

#[test]
fn node_info_vector() {
    let info = model::node_info(&recorded("B.Core_nodeInfo"));
    assert_eq!(info.my_ip6, "fcdf:0ef1:6cf4:6cb2:c487:1fcf:9633:2712");
    assert_eq!(info.version, 22);
}

#[test]
fn ping_summary() {
    let pong = |result: &str, ms| {
        Pong::Switch(model::switch_pong(
            &model::reply_from_json(&serde_json::json!({
                "result": result, "ms": ms, "path": "0000.0000.0000.0013", "version": 22
            }))
            .unwrap(),
        ))
    };
    let pongs = [pong("pong", 4), pong("timeout", 2000), pong("pong", 8)];
    let s = summarize(&pongs);
    assert_eq!(
        (s.sent, s.received, s.min_ms, s.max_ms),
        (3, 2, Some(4), Some(8))
    );
    assert_eq!(s.avg_ms, Some(6.0));
    assert_eq!(
        pongs[0].line(0),
        "pong from 0000.0000.0000.0013: seq=0 time=4 ms version=22"
    );
    assert_eq!(pongs[1].line(1), "no pong: seq=1 timeout after 2000 ms");
}
