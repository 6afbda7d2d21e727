//! The admin API over a real node without sockets (what the `admin_request` fuzz target
//! drives): every function answers, asynchronous pings end with a reply, and the node's
//! own facts come back.

use std::net::SocketAddr;

use fc00d::admin::benc::{BDict, Benc};
use fc00d::admin::client::{build_request, parse_reply};
use fc00d::admin::functions::FUNCTIONS;
use fc00d::admin_glue::AdminHarness;
use protocol_core::identity::{generate_keypair, NodeAddress};
use rand_core::OsRng;

fn from() -> SocketAddr {
    "127.0.0.1:40000".parse().expect("address")
}

fn call(h: &mut AdminHarness, q: &str, args: BDict, advance_ms: u64) -> Vec<Benc> {
    let req = build_request(q, Some(&args), b"t").expect("request");
    h.handle(&req, 1_700_000_000, advance_ms, from())
        .iter()
        .map(|r| Benc::Dict(parse_reply(r).expect("bencoded reply")))
        .collect()
}

fn text<'a>(r: &'a Benc, key: &str) -> &'a str {
    r.as_dict()
        .and_then(|d| d.get(key.as_bytes()))
        .and_then(Benc::as_bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
        .unwrap_or("")
}

#[test]
fn every_function_answers_a_real_node() {
    let (key, public, _) = generate_keypair(&mut OsRng);
    let mut h = AdminHarness::new(key, Some("NONE".into()));
    for f in FUNCTIONS {
        // Required arguments with plausible values; pings time out after 5 s.
        let mut args = BDict::new();
        for a in f.args.iter().filter(|a| a.required) {
            match a.kind {
                fc00d::admin::functions::ArgType::Int => args.put(a.name, 0i64),
                _ => args.put(a.name, "0000.0000.0000.0013"),
            };
        }
        let replies = call(&mut h, f.name, args, 5_000);
        assert_eq!(replies.len(), 1, "{}: {replies:?}", f.name);
    }
    let info = call(&mut h, "Core_nodeInfo", BDict::new(), 0);
    assert!(text(&info[0], "myAddr").ends_with(public.to_k_string().as_str()));
    let me = call(&mut h, "NodeStore_nodeForAddr", BDict::new(), 0);
    let result = me[0]
        .as_dict()
        .and_then(|d| d.get(b"result".as_slice()))
        .expect("result");
    assert_eq!(text(result, "key"), public.to_k_string().as_str());
    let refused = call(
        &mut h,
        "UDPInterface_new",
        BDict::new().with("bindAddress", "127.0.0.1:0"),
        0,
    );
    assert!(
        text(&refused[0], "error").contains("no sockets"),
        "{refused:?}"
    );
    assert!(h.exit_requested(), "Core_exit was called in the loop");
}

#[test]
fn router_ping_to_an_unreachable_node_times_out_with_a_reply() {
    let (key, _, _) = generate_keypair(&mut OsRng);
    let (_, other, _) = generate_keypair(&mut OsRng);
    let mut h = AdminHarness::new(key, Some("NONE".into()));
    let target = NodeAddress {
        version: 22,
        label: 0x13,
        key: other,
    };
    let args = BDict::new()
        .with("path", target.to_key_string().as_str())
        .with("timeout", 1000i64);
    // Nothing before the timeout...
    assert!(call(&mut h, "RouterModule_pingNode", args, 10).is_empty());
    // ...and the timeout reply once it passes.
    let replies = call(&mut h, "ping", BDict::new(), 2_000);
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert_eq!(text(&replies[1], "result"), "timeout", "{replies:?}");
}
