//! Building admin requests the way cjdns clients do (plain bencode, keys sorted), for
//! fc00ctl and tests.

use std::collections::BTreeMap;

use protocol_core::wire::bencode::BencodeError;

use super::auth::sha256_hex;
use super::benc::{encode_dict, BDict, Benc};

/// Requests never need more; anything bigger is refused by the server anyway.
const REQUEST_LIMIT: usize = 1 << 20;

fn encode(map: &BTreeMap<Vec<u8>, Benc>) -> Result<Vec<u8>, BencodeError> {
    encode_dict(map, false, REQUEST_LIMIT).ok_or(BencodeError::BufferTooSmall)
}

/// `{q, args?, txid}` without auth (what `ping`, `cookie` and the no-auth functions take).
/// `args` `None` leaves the key out; `Some(empty)` sends `args: {}`.
pub fn build_request(q: &str, args: Option<&BDict>, txid: &[u8]) -> Result<Vec<u8>, BencodeError> {
    let mut msg = BDict::new().with("q", q).with("txid", txid);
    if let Some(args) = args {
        msg.put("args", args.clone());
    }
    encode(&msg.0)
}

/// An authenticated call: `{q: "auth", aq, args?, cookie, hash, txid}` where `hash` is
/// first `hex(sha256(password || cookie))`, then replaced by the hex SHA-256 of the
/// whole request encoded with that first hash in place.
pub fn build_auth_request(
    aq: &str,
    args: Option<&BDict>,
    txid: &[u8],
    password: &str,
    cookie: &str,
) -> Result<Vec<u8>, BencodeError> {
    let mut pass_and_cookie = password.as_bytes().to_vec();
    pass_and_cookie.extend_from_slice(cookie.as_bytes());
    let first = sha256_hex(&pass_and_cookie);
    let mut msg = BDict::new()
        .with("q", "auth")
        .with("aq", aq)
        .with("cookie", cookie)
        .with("hash", first.as_slice())
        .with("txid", txid);
    if let Some(args) = args {
        msg.put("args", args.clone());
    }
    let second = sha256_hex(&encode(&msg.0)?);
    msg.put("hash", second.as_slice());
    encode(&msg.0)
}

/// Decode a reply datagram (cjdns padding accepted).
pub fn parse_reply(bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Benc>, BencodeError> {
    Benc::parse_message(bytes)
}
