//! Cookie-and-hash authentication of admin requests (`authValid` in the reference).

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::benc::Benc;

/// A cookie is accepted for this many seconds after it was issued.
pub const COOKIE_VALIDITY_SECS: u64 = 20;

/// Lower-case hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> [u8; 64] {
    let digest = Sha256::digest(data);
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair.copy_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `strtoll(s, NULL, 10)`: optional leading whitespace and sign, then digits up to the
/// first other byte; saturates like the C library does.
fn strtoll(s: &[u8]) -> i64 {
    let mut it = s
        .iter()
        .copied()
        .skip_while(|c| matches!(c, b' ' | b'\t'..=b'\r'))
        .peekable();
    let negative = match it.peek() {
        Some(b'-') => {
            it.next();
            true
        }
        Some(b'+') => {
            it.next();
            false
        }
        _ => false,
    };
    let mut magnitude: i128 = 0;
    for c in it.take_while(|c| c.is_ascii_digit()) {
        magnitude = (magnitude * 10 + i128::from(c - b'0')).min(i128::from(i64::MAX) + 1);
    }
    let signed = if negative { -magnitude } else { magnitude };
    signed.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// The bytes of a C string: up to the first NUL.
fn c_str(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or_default()
}

/// The cookie as the reference reads it: a decimal string (cut at the first non-digit,
/// truncated to 32 bits), or failing that an integer.
fn cookie_value(message: &BTreeMap<Vec<u8>, Benc>) -> u32 {
    let from_string = match message.get(b"cookie".as_slice()) {
        Some(Benc::Bytes(s)) => strtoll(c_str(s)) as u32,
        _ => 0,
    };
    if from_string != 0 {
        return from_string;
    }
    match message.get(b"cookie".as_slice()) {
        Some(Benc::Int(i)) => *i as u32,
        _ => 0,
    }
}

/// Check an `auth` request. `raw` is the datagram exactly as received.
///
/// The client hashed the request with `hex(sha256(password || cookie))` in the `hash`
/// field and then put the hash of that in its place; we undo the substitution in a
/// copy (first occurrence of the submitted hash, searched as the reference's `strstr`
/// does: up to the first NUL) and compare in constant time.
pub fn auth_valid(
    message: &BTreeMap<Vec<u8>, Benc>,
    raw: &[u8],
    password: Option<&[u8]>,
    now_secs: u64,
) -> bool {
    let cookie = u64::from(cookie_value(message));
    let submitted = match message.get(b"hash".as_slice()) {
        Some(Benc::Bytes(h)) if h.len() == 64 => h.as_slice(),
        _ => return false,
    };
    if cookie > now_secs || cookie < now_secs.wrapping_sub(COOKIE_VALIDITY_SECS) {
        return false;
    }
    let Some(password) = password else {
        return false;
    };
    // A hash with a NUL in it can never equal hex digits; the reference fails it too.
    if submitted.contains(&0) {
        return false;
    }
    let haystack = c_str(raw);
    let Some(at) = haystack.windows(64).position(|w| w == submitted) else {
        return false;
    };

    // `snprintf(buf, 64, "%s%u", password, cookie)`: at most 63 bytes.
    let mut pass_and_cookie = c_str(password).to_vec();
    pass_and_cookie.extend_from_slice(cookie.to_string().as_bytes());
    pass_and_cookie.truncate(63);

    let mut copy = raw.to_vec();
    let Some(slot) = copy.get_mut(at..at + 64) else {
        return false;
    };
    slot.copy_from_slice(&sha256_hex(&pass_and_cookie));
    let expected = sha256_hex(&copy);
    bool::from(expected[..].ct_eq(submitted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoll_like_c() {
        assert_eq!(strtoll(b"1753529215"), 1753529215);
        assert_eq!(strtoll(b"  12abc"), 12);
        assert_eq!(strtoll(b"-5"), -5);
        assert_eq!(strtoll(b"x"), 0);
        assert_eq!(strtoll(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtoll(b"-99999999999999999999999"), i64::MIN);
    }

    #[test]
    fn hash_of_password_and_cookie() {
        assert_eq!(
            &sha256_hex(b"admin-nA1753529215"),
            b"293dbe8abcc8ab59840b9cbd078f668dfb7499f7737475d3dee72249250dc667"
        );
    }
}
