//! cjdns' own base32: alphabet `0123456789bcdfghjklmnpqrstuvwxyz`, bits taken least
//! significant first. It is not RFC 4648; `.k` public keys are written in it.

use core::fmt;

const ALPHABET: &[u8; 32] = b"0123456789bcdfghjklmnpqrstuvwxyz";

/// Why a base32 string or an encode/decode call was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base32Error {
    /// A character outside the alphabet (`a`, `e`, `i`, `o`, punctuation, non-ASCII...).
    InvalidChar { index: usize, byte: u8 },
    /// The last character carries five or more unused bits, or unused bits that are not
    /// zero: the text is not the encoding of any byte string.
    LeftoverBits,
    /// The caller's output buffer is shorter than the result.
    OutputTooSmall { needed: usize },
}

impl fmt::Display for Base32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base32Error::InvalidChar { index, byte } => {
                write!(f, "byte {byte:#04x} at {index} is not a cjdns base32 digit")
            }
            Base32Error::LeftoverBits => f.write_str("base32 text has leftover bits"),
            Base32Error::OutputTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
        }
    }
}

/// Characters needed to encode `len` bytes (a trailing partial group takes a whole char).
pub const fn encoded_len(len: usize) -> usize {
    (len * 8).div_ceil(5)
}

/// The most bytes `len` characters can decode to.
pub const fn max_decoded_len(len: usize) -> usize {
    len * 5 / 8
}

fn digit_value(byte: u8) -> Option<u8> {
    let lower = byte.to_ascii_lowercase();
    ALPHABET
        .iter()
        .position(|&c| c == lower)
        .and_then(|p| u8::try_from(p).ok())
}

/// Encode `input` into `out`, returning the number of characters written (always
/// lower case).
pub fn encode(input: &[u8], out: &mut [u8]) -> Result<usize, Base32Error> {
    let needed = encoded_len(input.len());
    let out = out
        .get_mut(..needed)
        .ok_or(Base32Error::OutputTooSmall { needed })?;
    let mut chars = out.iter_mut();
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &byte in input {
        acc |= u32::from(byte) << bits;
        bits += 8;
        while bits >= 5 {
            if let Some(c) = chars.next() {
                *c = ALPHABET[(acc & 31) as usize];
            }
            acc >>= 5;
            bits -= 5;
        }
    }
    if bits > 0 {
        if let Some(c) = chars.next() {
            *c = ALPHABET[(acc & 31) as usize];
        }
    }
    Ok(needed)
}

/// Decode `input` into `out`, returning the number of bytes written. Upper case is
/// accepted; anything the reference decoder refuses is refused here too.
pub fn decode(input: &[u8], out: &mut [u8]) -> Result<usize, Base32Error> {
    let mut written = 0usize;
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for (index, &byte) in input.iter().enumerate() {
        let value = digit_value(byte).ok_or(Base32Error::InvalidChar { index, byte })?;
        acc |= u32::from(value) << bits;
        bits += 5;
        if bits >= 8 {
            let slot = out.get_mut(written).ok_or(Base32Error::OutputTooSmall {
                needed: max_decoded_len(input.len()),
            })?;
            *slot = (acc & 0xff) as u8;
            written += 1;
            acc >>= 8;
            bits -= 8;
        }
    }
    if bits >= 5 || acc != 0 {
        return Err(Base32Error::LeftoverBits);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Result<heapless::Vec<u8, 64>, Base32Error> {
        let mut buf = [0u8; 64];
        let n = decode(s.as_bytes(), &mut buf)?;
        Ok(heapless::Vec::from_slice(&buf[..n]).unwrap())
    }

    #[test]
    fn reference_examples() {
        assert_eq!(dec("00").unwrap().as_slice(), &[0x00]);
        assert_eq!(dec("01").unwrap().as_slice(), &[0x20]);
        assert_eq!(dec("b0").unwrap().as_slice(), &[0x0a]);
        assert_eq!(dec("B0").unwrap().as_slice(), &[0x0a]);
        assert_eq!(dec("0"), Err(Base32Error::LeftoverBits));
        assert_eq!(dec("z"), Err(Base32Error::LeftoverBits));
        assert_eq!(
            dec("a0"),
            Err(Base32Error::InvalidChar {
                index: 0,
                byte: b'a'
            })
        );
        assert_eq!(dec("").unwrap().as_slice(), &[] as &[u8]);
    }

    #[test]
    fn encode_examples() {
        let mut out = [0u8; 16];
        let n = encode(&[0xff], &mut out).unwrap();
        assert_eq!(&out[..n], b"z7");
        let n = encode(&[0xde, 0xad, 0xbe, 0xef], &mut out).unwrap();
        assert_eq!(&out[..n], b"ygcxvr3");
        assert_eq!(
            encode(&[1, 2, 3], &mut out[..4]),
            Err(Base32Error::OutputTooSmall { needed: 5 })
        );
    }

    #[test]
    fn decode_output_too_small() {
        let mut out = [0u8; 1];
        assert_eq!(
            decode(b"0000", &mut out),
            Err(Base32Error::OutputTooSmall { needed: 2 })
        );
    }
}
