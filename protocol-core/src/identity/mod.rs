//! Node identity: Curve25519 keys, the fc00::/8 address derived from them, and their
//! text forms (cjdns base32 `.k` strings, node address strings, IPv6 text).

mod keys;

pub use keys::{
    generate_keypair, x25519_base, x25519_shared, InvalidAddress, Ip6, PrivateKey, PublicKey,
    ADDRESS_PREFIX,
};
