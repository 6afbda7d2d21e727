//! Node identity: Curve25519 keys, the fc00::/8 address derived from them, and their
//! text forms (cjdns base32 `.k` strings, node address strings, IPv6 text).

pub mod base32;
mod keys;
mod node_address;
mod text;

pub use base32::Base32Error;
pub use keys::{
    generate_keypair, x25519_base, x25519_shared, InvalidAddress, Ip6, PrivateKey, PublicKey,
    ADDRESS_PREFIX,
};
pub use node_address::{
    NodeAddress, NodeAddressParseError, NODE_ADDRESS_IP_STRING_LEN, NODE_ADDRESS_STRING_LEN,
};
pub use text::{
    decode_hex, label_to_string, parse_label, write_label, HexError, Ip6ParseError, KeyParseError,
    LabelParseError, IP6_STRING_LEN, KEY_STRING_LEN, LABEL_STRING_LEN, PRIVATE_KEY_HEX_LEN,
};
