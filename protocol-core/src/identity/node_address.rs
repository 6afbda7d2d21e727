//! `v<version>.<label>.<key>.k`: how cjdns names a node reachable over a given path in admin
//! replies and logs (`Address_toStringKey`, parsed by `Address_fromString`).

use core::fmt::{self, Write};

use super::keys::PublicKey;
use super::text::{
    parse_label, write_label, KeyParseError, LabelParseError, IP6_STRING_LEN, KEY_STRING_LEN,
    LABEL_STRING_LEN,
};

/// Longest node address string: `v` + 10 version digits + `.` + label + `.` + key.
pub const NODE_ADDRESS_STRING_LEN: usize = 1 + 10 + 1 + LABEL_STRING_LEN + 1 + KEY_STRING_LEN;
/// Longest IP-form node address string: `v` + 10 digits + `.` + label + `.` + full IPv6.
pub const NODE_ADDRESS_IP_STRING_LEN: usize = 1 + 10 + 1 + LABEL_STRING_LEN + 1 + IP6_STRING_LEN;

/// A node as seen over one path: protocol version, the label leading to it, and its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NodeAddress {
    pub version: u32,
    pub label: u64,
    pub key: PublicKey,
}

/// Why a node address string was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeAddressParseError {
    /// Does not start with `v`.
    MissingV,
    /// The version is empty, has a leading zero, is not decimal or exceeds `u32`. (The
    /// reference accepts an empty version as 0, leading zeros, and wraps on overflow;
    /// it never prints any of those, so neither form reaches us from a real node.)
    BadVersion,
    /// No `.` after the version, or the rest is not exactly label + `.` + key (74 characters).
    WrongLength,
    /// The label part is not `xxxx.xxxx.xxxx.xxxx`.
    Label(LabelParseError),
    /// No `.` between label and key.
    MissingDot,
    /// The key part is not a valid `.k` key.
    Key(KeyParseError),
}

impl fmt::Display for NodeAddressParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeAddressParseError::MissingV => f.write_str("node address must start with 'v'"),
            NodeAddressParseError::BadVersion => f.write_str("bad version in node address"),
            NodeAddressParseError::WrongLength => {
                f.write_str("node address must be v<version>.<label>.<key>.k")
            }
            NodeAddressParseError::Label(e) => write!(f, "bad label in node address: {e}"),
            NodeAddressParseError::MissingDot => f.write_str("no '.' between label and key"),
            NodeAddressParseError::Key(e) => write!(f, "bad key in node address: {e}"),
        }
    }
}

fn parse_version(digits: &[u8]) -> Result<u32, NodeAddressParseError> {
    if digits.is_empty() || (digits.len() > 1 && digits[0] == b'0') {
        return Err(NodeAddressParseError::BadVersion);
    }
    let mut version = 0u32;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(NodeAddressParseError::BadVersion);
        }
        version = version
            .checked_mul(10)
            .and_then(|v| v.checked_add(u32::from(c - b'0')))
            .ok_or(NodeAddressParseError::BadVersion)?;
    }
    Ok(version)
}

impl NodeAddress {
    /// Parse `v<version>.<xxxx.xxxx.xxxx.xxxx>.<key>.k`; the key must be a valid fc key.
    pub fn parse(text: &str) -> Result<NodeAddress, NodeAddressParseError> {
        let rest = text
            .strip_prefix('v')
            .ok_or(NodeAddressParseError::MissingV)?;
        let dot = rest
            .bytes()
            .position(|c| c == b'.')
            .ok_or(NodeAddressParseError::WrongLength)?;
        let version = parse_version(&rest.as_bytes()[..dot])?;
        // `.` is ASCII, so these are char boundaries.
        let rest = rest.get(dot + 1..).unwrap_or("");
        if rest.len() != LABEL_STRING_LEN + 1 + KEY_STRING_LEN {
            return Err(NodeAddressParseError::WrongLength);
        }
        if rest.as_bytes().get(LABEL_STRING_LEN) != Some(&b'.') {
            return Err(NodeAddressParseError::MissingDot);
        }
        let label_text = rest
            .get(..LABEL_STRING_LEN)
            .ok_or(NodeAddressParseError::WrongLength)?;
        let key_text = rest
            .get(LABEL_STRING_LEN + 1..)
            .ok_or(NodeAddressParseError::WrongLength)?;
        let label = parse_label(label_text).map_err(NodeAddressParseError::Label)?;
        let key = PublicKey::parse_k(key_text).map_err(NodeAddressParseError::Key)?;
        Ok(NodeAddress {
            version,
            label,
            key,
        })
    }

    /// `v<version>.<label>.<key>.k` (`Address_toStringKey`).
    pub fn write_key_form(&self, w: &mut impl Write) -> fmt::Result {
        write!(w, "v{}.", self.version)?;
        write_label(w, self.label)?;
        w.write_char('.')?;
        self.key.write_k(w)
    }

    /// `v<version>.<label>.<full ipv6>` (`Address_toString`); the address is derived from
    /// the key whether or not it is valid, as the reference does.
    pub fn write_ip_form(&self, w: &mut impl Write) -> fmt::Result {
        write!(w, "v{}.", self.version)?;
        write_label(w, self.label)?;
        write!(w, ".{}", self.key.address_unchecked())
    }

    pub fn to_key_string(&self) -> heapless::String<NODE_ADDRESS_STRING_LEN> {
        let mut out = heapless::String::new();
        let _ = self.write_key_form(&mut out);
        out
    }

    pub fn to_ip_string(&self) -> heapless::String<NODE_ADDRESS_IP_STRING_LEN> {
        let mut out = heapless::String::new();
        let _ = self.write_ip_form(&mut out);
        out
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_key_form(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        "v22.0000.0000.0000.0013.7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k";

    #[test]
    fn fact_sheet_example() {
        let addr = NodeAddress::parse(SAMPLE).unwrap();
        assert_eq!(addr.version, 22);
        assert_eq!(addr.label, 0x13);
        assert_eq!(addr.to_key_string().as_str(), SAMPLE);
        assert_eq!(
            addr.to_ip_string().as_str(),
            "v22.0000.0000.0000.0013.fc49:0c57:3941:5184:3de2:5d23:d54f:9a53"
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            NodeAddress::parse(&SAMPLE[1..]),
            Err(NodeAddressParseError::MissingV)
        );
        assert_eq!(
            NodeAddress::parse(&SAMPLE[..SAMPLE.len() - 1]),
            Err(NodeAddressParseError::WrongLength)
        );
        assert_eq!(
            NodeAddress::parse(
                "v022.0000.0000.0000.0013.7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k"
            ),
            Err(NodeAddressParseError::BadVersion)
        );
        assert_eq!(
            NodeAddress::parse(
                "v4294967296.0000.0000.0000.0013.7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k"
            ),
            Err(NodeAddressParseError::BadVersion)
        );
        assert_eq!(
            NodeAddress::parse(
                "v22.0000.0000.0000.0013x7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k"
            ),
            Err(NodeAddressParseError::MissingDot)
        );
        let max = NodeAddress {
            version: u32::MAX,
            label: u64::MAX,
            key: NodeAddress::parse(SAMPLE).unwrap().key,
        };
        assert_eq!(NodeAddress::parse(max.to_key_string().as_str()), Ok(max));
        assert_eq!(max.to_ip_string().len(), NODE_ADDRESS_IP_STRING_LEN);
    }
}
