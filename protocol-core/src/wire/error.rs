use core::fmt;

/// Why bytes from the wire were refused. Variants name what the sender got wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the header or field needs.
    Truncated { needed: usize, got: usize },
    /// A magic number or fixed marker did not match.
    BadMagic,
    /// A version field we do not speak.
    UnsupportedVersion(u32),
    /// A length field disagrees with the bytes present.
    BadLength,
    /// The internet checksum of a control frame is not zero.
    BadChecksum,
    /// A type or code the protocol does not define.
    UnknownType(u32),
    /// A value outside its allowed range.
    Malformed,
    /// Output buffer too small for `emit`.
    BufferTooSmall { needed: usize, got: usize },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { needed, got } => {
                write!(f, "truncated: needed {needed} bytes, got {got}")
            }
            WireError::BadMagic => f.write_str("bad magic number"),
            WireError::UnsupportedVersion(v) => write!(f, "unsupported version {v}"),
            WireError::BadLength => f.write_str("length field disagrees with the data"),
            WireError::BadChecksum => f.write_str("bad checksum"),
            WireError::UnknownType(t) => write!(f, "unknown type {t}"),
            WireError::Malformed => f.write_str("malformed field"),
            WireError::BufferTooSmall { needed, got } => {
                write!(
                    f,
                    "output buffer too small: needed {needed} bytes, got {got}"
                )
            }
        }
    }
}

/// Check that `buf` holds at least `needed` bytes.
pub(crate) fn check_len(buf: &[u8], needed: usize) -> Result<(), WireError> {
    if buf.len() < needed {
        Err(WireError::Truncated {
            needed,
            got: buf.len(),
        })
    } else {
        Ok(())
    }
}

/// Check that an output buffer has room for `needed` bytes.
pub(crate) fn check_room(buf: &[u8], needed: usize) -> Result<(), WireError> {
    if buf.len() < needed {
        Err(WireError::BufferTooSmall {
            needed,
            got: buf.len(),
        })
    } else {
        Ok(())
    }
}
