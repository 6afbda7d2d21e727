//! Arbitrary datagrams into the admin request handler of a real node (bencode parse, auth,
//! argument checks, dispatch, asynchronous pings and their timeouts), without sockets. The
//! first byte picks how far the clock moves after the request; the rest is split at 0xff
//! bytes into successive requests, so state carries over (passwords, beacons, pings).
#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;

use fc00d::admin_glue::AdminHarness;
use libfuzzer_sys::fuzz_target;
use protocol_core::identity::PrivateKey;

fn key() -> PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::parse_hex("6e6abe8eec625a98ac2a82eabae7b88141e98367f92e981b7514e688f961c475")
            .expect("fixed key")
    })
    .clone()
}

fuzz_target!(|data: &[u8]| {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    // Half the runs with auth required, half with "NONE" (everything allowed).
    let password = if step & 1 == 0 { "NONE" } else { "pw" };
    let mut h = AdminHarness::new(key(), Some(password.into()));
    let from: SocketAddr = "127.0.0.1:40000".parse().expect("address");
    for request in rest.split(|&b| b == 0xff).take(16) {
        for reply in h.handle(request, 1_700_000_000, u64::from(step) * 40, from) {
            // Every reply is one bencoded dict the reference's clients can read.
            assert!(
                fc00d::admin::client::parse_reply(&reply).is_ok()
                    || reply == fc00d::admin::TOO_BIG_REPLY,
                "unparsable reply {reply:?}"
            );
        }
    }
});
