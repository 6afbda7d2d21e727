//! Text forms of keys, labels and addresses exactly as cjdns prints and parses them:
//! `.k` public keys, hex private keys, `xxxx.xxxx.xxxx.xxxx` labels and IPv6 text.

use core::fmt::{self, Write};

use super::base32::{self, Base32Error};
use super::keys::{InvalidAddress, Ip6, PrivateKey, PublicKey};

/// Length of a `.k` public key string: 52 base32 characters and `.k`.
pub const KEY_STRING_LEN: usize = 54;
/// Length of a printed label, `xxxx.xxxx.xxxx.xxxx`.
pub const LABEL_STRING_LEN: usize = 19;
/// Longest printed IPv6 address (the full form, 8 groups of 4).
pub const IP6_STRING_LEN: usize = 39;
/// Length of a hex private key.
pub const PRIVATE_KEY_HEX_LEN: usize = 64;

const BASE32_KEY_CHARS: usize = 52;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Why a `.k` string was refused, in the order the reference checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyParseError {
    /// Fewer than 52 characters.
    TooShort { len: usize },
    /// The 52 characters are not followed by `.k`.
    MissingDotK,
    /// The 52 characters are not cjdns base32.
    Base32(Base32Error),
    /// The key's address is outside fc00::/8.
    InvalidAddress(InvalidAddress),
    /// Characters after `.k` (the reference ignores them; `parse_k` does not).
    TrailingData { len: usize },
}

impl fmt::Display for KeyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyParseError::TooShort { len } => {
                write!(f, "key must be 52 characters and .k, got {len} characters")
            }
            KeyParseError::MissingDotK => f.write_str("key must end in .k"),
            KeyParseError::Base32(e) => write!(f, "failed to base32 decode key: {e}"),
            KeyParseError::InvalidAddress(e) => write!(f, "not a valid cjdns public key: {e}"),
            KeyParseError::TrailingData { len } => {
                write!(f, "{len} characters after the key's .k")
            }
        }
    }
}

/// Why a hex string (private key) was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HexError {
    /// Not exactly the number of digits the value needs.
    WrongLength { expected: usize, got: usize },
    /// A character that is not a hex digit.
    InvalidChar { index: usize, byte: u8 },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::WrongLength { expected, got } => {
                write!(f, "expected {expected} hex digits, got {got}")
            }
            HexError::InvalidChar { index, byte } => {
                write!(f, "byte {byte:#04x} at {index} is not a hex digit")
            }
        }
    }
}

/// Why a `xxxx.xxxx.xxxx.xxxx` label was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelParseError {
    /// Not exactly 19 characters.
    WrongLength { len: usize },
    /// Index 4, 9 or 14 is not a `.`.
    MissingDot { index: usize },
    /// A character that is not a hex digit.
    InvalidHex { index: usize, byte: u8 },
}

impl fmt::Display for LabelParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelParseError::WrongLength { len } => {
                write!(f, "label must be 19 characters, got {len}")
            }
            LabelParseError::MissingDot { index } => write!(f, "label needs a '.' at {index}"),
            LabelParseError::InvalidHex { index, byte } => {
                write!(f, "byte {byte:#04x} at {index} of label is not a hex digit")
            }
        }
    }
}

/// Why IPv6 text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ip6ParseError {
    /// Empty text, a group of more than four digits, a stray `:`, or a character that is
    /// not a hex digit or `:`.
    Malformed,
    /// Not eight groups, or `::` standing for no group at all.
    WrongGroupCount,
    /// More than one `::`.
    DoubleCompression,
}

impl fmt::Display for Ip6ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ip6ParseError::Malformed => f.write_str("malformed IPv6 address"),
            Ip6ParseError::WrongGroupCount => f.write_str("IPv6 address needs eight groups"),
            Ip6ParseError::DoubleCompression => f.write_str("IPv6 address has more than one ::"),
        }
    }
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decode exactly `out.len() * 2` hex digits (either case) into `out`.
pub fn decode_hex(text: &[u8], out: &mut [u8]) -> Result<(), HexError> {
    let expected = out.len() * 2;
    if text.len() != expected {
        return Err(HexError::WrongLength {
            expected,
            got: text.len(),
        });
    }
    for (i, (slot, pair)) in out.iter_mut().zip(text.chunks_exact(2)).enumerate() {
        let mut byte = 0u8;
        for (j, &c) in pair.iter().enumerate() {
            let v = hex_value(c).ok_or(HexError::InvalidChar {
                index: 2 * i + j,
                byte: c,
            })?;
            byte = (byte << 4) | v;
        }
        *slot = byte;
    }
    Ok(())
}

/// Lower-case hex of `bytes`, appended to `out`.
fn push_hex<const N: usize>(out: &mut heapless::String<N>, bytes: &[u8]) -> fmt::Result {
    for &b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]))
            .map_err(|_| fmt::Error)?;
        out.push(char::from(HEX_DIGITS[usize::from(b & 15)]))
            .map_err(|_| fmt::Error)?;
    }
    Ok(())
}

/// Write `label` as cjdns does (`AddrTools_printPath`): 16 lower-case hex digits of the
/// big-endian path in four dot-separated groups.
pub fn write_label(w: &mut impl Write, label: u64) -> fmt::Result {
    let [a, b, c, d] = [48u32, 32, 16, 0].map(|shift| (label >> shift) & 0xffff);
    write!(w, "{a:04x}.{b:04x}.{c:04x}.{d:04x}")
}

/// `write_label` into a fixed-size string.
pub fn label_to_string(label: u64) -> heapless::String<LABEL_STRING_LEN> {
    let mut s = heapless::String::new();
    // 19 characters always fit.
    let _ = write_label(&mut s, label);
    s
}

/// Parse `xxxx.xxxx.xxxx.xxxx` (hex digits of either case, exactly 19 characters), as
/// `AddrTools_parsePath` does.
pub fn parse_label(text: &str) -> Result<u64, LabelParseError> {
    let bytes = text.as_bytes();
    if bytes.len() != LABEL_STRING_LEN {
        return Err(LabelParseError::WrongLength { len: bytes.len() });
    }
    let mut label = 0u64;
    for (index, &c) in bytes.iter().enumerate() {
        if index % 5 == 4 {
            if c != b'.' {
                return Err(LabelParseError::MissingDot { index });
            }
            continue;
        }
        let v = hex_value(c).ok_or(LabelParseError::InvalidHex { index, byte: c })?;
        label = (label << 4) | u64::from(v);
    }
    Ok(label)
}

impl PublicKey {
    /// Parse a `.k` string as `Key_parse` does, but without ignoring trailing characters.
    pub fn parse_k(text: &str) -> Result<PublicKey, KeyParseError> {
        let (key, rest) = PublicKey::parse_k_prefix(text)?;
        if rest.is_empty() {
            Ok(key)
        } else {
            Err(KeyParseError::TrailingData { len: rest.len() })
        }
    }

    /// Parse a `.k` key at the start of `text` with `Key_parse`'s exact rules (length,
    /// `.k`, base32, fc address), returning what follows it, which the reference ignores.
    pub fn parse_k_prefix(text: &str) -> Result<(PublicKey, &str), KeyParseError> {
        let bytes = text.as_bytes();
        if bytes.len() < BASE32_KEY_CHARS {
            return Err(KeyParseError::TooShort { len: bytes.len() });
        }
        if bytes.get(BASE32_KEY_CHARS..KEY_STRING_LEN) != Some(b".k".as_slice()) {
            return Err(KeyParseError::MissingDotK);
        }
        let mut key = [0u8; 32];
        let n =
            base32::decode(&bytes[..BASE32_KEY_CHARS], &mut key).map_err(KeyParseError::Base32)?;
        // 52 valid characters always carry exactly 32 bytes; kept as a guard.
        if n != key.len() {
            return Err(KeyParseError::Base32(Base32Error::LeftoverBits));
        }
        let key = PublicKey(key);
        key.address().map_err(KeyParseError::InvalidAddress)?;
        // `.k` is ASCII, so index 54 is a char boundary.
        let rest = text.get(KEY_STRING_LEN..).unwrap_or("");
        Ok((key, rest))
    }

    /// The key as `<52 base32 chars>.k` (`Key_stringify`); works for any key, valid or not.
    pub fn to_k_string(&self) -> heapless::String<KEY_STRING_LEN> {
        let mut chars = [0u8; BASE32_KEY_CHARS];
        let mut out = heapless::String::new();
        if base32::encode(&self.0, &mut chars).is_ok() {
            for &c in chars.iter() {
                let _ = out.push(char::from(c));
            }
            let _ = out.push_str(".k");
        }
        out
    }

    /// Write the `.k` form to a formatter.
    pub fn write_k(&self, w: &mut impl Write) -> fmt::Result {
        w.write_str(self.to_k_string().as_str())
    }
}

impl PrivateKey {
    /// Parse the 64 hex digits (either case) a cjdroute.conf stores.
    pub fn parse_hex(text: &str) -> Result<PrivateKey, HexError> {
        let mut key = [0u8; 32];
        decode_hex(text.as_bytes(), &mut key)?;
        Ok(PrivateKey(key))
    }

    /// The key as 64 lower-case hex digits, for writing a config. Handle with care.
    pub fn to_hex_string(&self) -> heapless::String<PRIVATE_KEY_HEX_LEN> {
        let mut out = heapless::String::new();
        let _ = push_hex(&mut out, &self.0);
        out
    }
}

impl Ip6 {
    /// Every group as four hex digits (`AddrTools_printIp`), the form most cjdns output uses.
    pub fn to_full_string(&self) -> heapless::String<IP6_STRING_LEN> {
        let mut out = heapless::String::new();
        let _ = write!(out, "{self}");
        out
    }

    /// Leading zeros of each group dropped, but no `::` (`AddrTools_printShortIp`, what
    /// `publictoip6` and `privatetopublic` print).
    pub fn write_short(&self, w: &mut impl Write) -> fmt::Result {
        for (i, pair) in self.0.chunks_exact(2).enumerate() {
            if i > 0 {
                w.write_char(':')?;
            }
            let group = u16::from_be_bytes([pair[0], pair[1]]);
            write!(w, "{group:x}")?;
        }
        Ok(())
    }

    /// `write_short` into a fixed-size string.
    pub fn to_short_string(&self) -> heapless::String<IP6_STRING_LEN> {
        let mut out = heapless::String::new();
        let _ = self.write_short(&mut out);
        out
    }

    /// Parse IPv6 text: eight groups of one to four hex digits (either case), at most one
    /// `::`. Embedded IPv4 and zone suffixes are not accepted (cjdns addresses never use them).
    pub fn parse(text: &str) -> Result<Ip6, Ip6ParseError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() || bytes.len() > IP6_STRING_LEN {
            return Err(Ip6ParseError::Malformed);
        }
        let (head, tail) = match find_double_colon(bytes)? {
            Some(at) => (&bytes[..at], Some(&bytes[at + 2..])),
            None => (bytes, None),
        };
        let mut head_groups = [0u16; 8];
        let head_count = parse_groups(head, &mut head_groups)?;
        let mut groups = [0u16; 8];
        match tail {
            None => {
                if head_count != 8 {
                    return Err(Ip6ParseError::WrongGroupCount);
                }
                groups = head_groups;
            }
            Some(tail) => {
                let mut tail_groups = [0u16; 8];
                let tail_count = parse_groups(tail, &mut tail_groups)?;
                // `::` must stand for at least one zero group.
                if head_count + tail_count > 7 {
                    return Err(Ip6ParseError::WrongGroupCount);
                }
                groups[..head_count].copy_from_slice(&head_groups[..head_count]);
                groups[8 - tail_count..].copy_from_slice(&tail_groups[..tail_count]);
            }
        }
        let mut out = [0u8; 16];
        for (pair, group) in out.chunks_exact_mut(2).zip(groups) {
            pair.copy_from_slice(&group.to_be_bytes());
        }
        Ok(Ip6(out))
    }
}

fn find_double_colon(bytes: &[u8]) -> Result<Option<usize>, Ip6ParseError> {
    let mut found = None;
    for i in 0..bytes.len().saturating_sub(1) {
        if bytes[i] == b':' && bytes[i + 1] == b':' {
            if found.is_some() {
                return Err(Ip6ParseError::DoubleCompression);
            }
            found = Some(i);
        }
    }
    Ok(found)
}

/// Parse `g(:g)*` (or nothing) into `out`, returning how many groups there were.
fn parse_groups(bytes: &[u8], out: &mut [u16; 8]) -> Result<usize, Ip6ParseError> {
    if bytes.is_empty() {
        return Ok(0);
    }
    let mut count = 0;
    for group in bytes.split(|&c| c == b':') {
        if group.is_empty() || group.len() > 4 {
            return Err(Ip6ParseError::Malformed);
        }
        let slot = out.get_mut(count).ok_or(Ip6ParseError::WrongGroupCount)?;
        let mut value = 0u16;
        for &c in group {
            value = (value << 4) | u16::from(hex_value(c).ok_or(Ip6ParseError::Malformed)?);
        }
        *slot = value;
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_round_trip() {
        assert_eq!(label_to_string(0x13).as_str(), "0000.0000.0000.0013");
        assert_eq!(parse_label("0000.0000.0000.0013"), Ok(0x13));
        assert_eq!(
            parse_label("FFFF.0000.0000.00aB"),
            Ok(0xffff_0000_0000_00ab)
        );
        assert_eq!(
            parse_label("0000.0000.0000.001"),
            Err(LabelParseError::WrongLength { len: 18 })
        );
        assert_eq!(
            parse_label("0000:0000.0000.0013"),
            Err(LabelParseError::MissingDot { index: 4 })
        );
        assert_eq!(
            parse_label("0000.0000.0000.001g"),
            Err(LabelParseError::InvalidHex {
                index: 18,
                byte: b'g'
            })
        );
    }

    #[test]
    fn ip6_short_form() {
        let ip = Ip6([
            0xfc, 0x49, 0x0c, 0x57, 0, 0, 0, 0x05, 0x01, 0x00, 0, 0xab, 0xd5, 0x4f, 0x9a, 0x53,
        ]);
        assert_eq!(
            ip.to_short_string().as_str(),
            "fc49:c57:0:5:100:ab:d54f:9a53"
        );
        assert_eq!(Ip6::parse("fc49:c57:0:5:100:ab:d54f:9a53"), Ok(ip));
        assert_eq!(Ip6::parse(ip.to_full_string().as_str()), Ok(ip));
    }

    #[test]
    fn ip6_compressed_forms() {
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(Ip6::parse("::1"), Ok(Ip6(one)));
        assert_eq!(Ip6::parse("::"), Ok(Ip6([0; 16])));
        let mut fc = [0u8; 16];
        fc[0] = 0xfc;
        assert_eq!(Ip6::parse("FC00::"), Ok(Ip6(fc)));
        assert_eq!(Ip6::parse("1::2::3"), Err(Ip6ParseError::DoubleCompression));
        assert_eq!(
            Ip6::parse("1:2:3:4::5:6:7:8"),
            Err(Ip6ParseError::WrongGroupCount)
        );
        assert_eq!(
            Ip6::parse("1:2:3:4:5:6:7"),
            Err(Ip6ParseError::WrongGroupCount)
        );
        assert_eq!(Ip6::parse(":1:2:3:4:5:6:7"), Err(Ip6ParseError::Malformed));
        assert_eq!(Ip6::parse("12345::"), Err(Ip6ParseError::Malformed));
        assert_eq!(Ip6::parse(""), Err(Ip6ParseError::Malformed));
    }

    #[test]
    fn k_string_rules() {
        let good = "7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.k";
        let key = PublicKey::parse_k(good).unwrap();
        assert_eq!(key.to_k_string().as_str(), good);
        assert_eq!(
            PublicKey::parse_k(&good[..51]),
            Err(KeyParseError::TooShort { len: 51 })
        );
        assert_eq!(
            PublicKey::parse_k(&good[..52]),
            Err(KeyParseError::MissingDotK)
        );
        assert_eq!(
            PublicKey::parse_k_prefix("7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.kxyz")
                .map(|(_, rest)| rest),
            Ok("xyz")
        );
        // Upper case base32 is accepted, upper-case `.K` is not.
        let upper = "7KD5KWT8PCFBB5YLUGKP841C0NWRDMNY92N13093M9Y2G5RTWJ80.k";
        assert_eq!(PublicKey::parse_k(upper), Ok(key));
        assert_eq!(
            PublicKey::parse_k("7kd5kwt8pcfbb5ylugkp841c0nwrdmny92n13093m9y2g5rtwj80.K"),
            Err(KeyParseError::MissingDotK)
        );
    }

    #[test]
    fn private_key_hex() {
        let text = "889ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f";
        let key = PrivateKey::parse_hex(text).unwrap();
        assert_eq!(key.to_hex_string().as_str(), text);
        assert_eq!(
            PrivateKey::parse_hex(&text[..63]),
            Err(HexError::WrongLength {
                expected: 64,
                got: 63
            })
        );
    }
}
