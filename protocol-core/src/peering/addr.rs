//! Link addresses (fixed size, `Copy`) and short fixed-size names for stats.

use core::fmt;

use crate::wire::control::LlAddrField;

/// Longest opaque link address (e.g. a radio or serial address) a node keeps.
pub const OPAQUE_ADDR_MAX: usize = 16;

/// Where a peer is on a link: the key of the peer table together with the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum LinkAddr {
    Udp4 {
        ip: [u8; 4],
        port: u16,
    },
    Udp6 {
        ip: [u8; 16],
        port: u16,
    },
    Mac([u8; 6]),
    Opaque {
        len: u8,
        bytes: [u8; OPAQUE_ADDR_MAX],
    },
    /// Only ever a destination: the link's broadcast (Ethernet ff:..:ff, UDP beacon port).
    Broadcast,
}

impl LinkAddr {
    /// `None` if longer than [`OPAQUE_ADDR_MAX`].
    pub fn opaque(bytes: &[u8]) -> Option<Self> {
        let mut b = [0u8; OPAQUE_ADDR_MAX];
        b.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(LinkAddr::Opaque {
            len: bytes.len() as u8,
            bytes: b,
        })
    }

    /// A UDP beacon announces the data port; the beacon's source port is replaced by it.
    pub fn with_port(&self, port: u16) -> Self {
        match *self {
            LinkAddr::Udp4 { ip, .. } => LinkAddr::Udp4 { ip, port },
            LinkAddr::Udp6 { ip, .. } => LinkAddr::Udp6 { ip, port },
            other => other,
        }
    }

    /// The LLADDR reply form. Non-IP addresses go in the "other" union member (the reference
    /// writes garbage there; we write the address bytes).
    pub fn to_lladdr(&self) -> LlAddrField {
        match *self {
            LinkAddr::Udp4 { ip, port } => LlAddrField::udp4(port, ip),
            LinkAddr::Udp6 { ip, port } => LlAddrField::udp6(port, ip),
            LinkAddr::Mac(mac) => {
                let mut b = [0u8; 30];
                b[..6].copy_from_slice(&mac);
                LlAddrField::other(b)
            }
            LinkAddr::Opaque { len, bytes } => {
                let mut b = [0u8; 30];
                let n = usize::from(len).min(OPAQUE_ADDR_MAX);
                b[..n].copy_from_slice(&bytes[..n]);
                LlAddrField::other(b)
            }
            LinkAddr::Broadcast => LlAddrField::ZERO,
        }
    }

    /// Text form for stats ("1.2.3.4:5", "[fc00:...]:5", "aa:bb:..", hex).
    pub fn to_text(&self) -> heapless::String<64> {
        let mut s = heapless::String::new();
        let _ = fmt::write(&mut s, format_args!("{self}"));
        s
    }
}

impl fmt::Display for LinkAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkAddr::Udp4 { ip, port } => {
                write!(f, "{}.{}.{}.{}:{}", ip[0], ip[1], ip[2], ip[3], port)
            }
            LinkAddr::Udp6 { ip, port } => {
                f.write_str("[")?;
                for (i, pair) in ip.chunks(2).enumerate() {
                    if i > 0 {
                        f.write_str(":")?;
                    }
                    write!(f, "{:x}", u16::from_be_bytes([pair[0], pair[1]]))?;
                }
                write!(f, "]:{port}")
            }
            LinkAddr::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            LinkAddr::Opaque { len, bytes } => {
                for b in bytes.iter().take(usize::from(*len)) {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            LinkAddr::Broadcast => f.write_str("broadcast"),
        }
    }
}

/// A name of at most 32 bytes, kept inline so stats stay `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ShortName {
    len: u8,
    bytes: [u8; 32],
}

impl ShortName {
    /// Longer names are cut at 32 bytes.
    pub fn new(name: &[u8]) -> Self {
        let n = name.len().min(32);
        let mut bytes = [0u8; 32];
        bytes[..n].copy_from_slice(&name[..n]);
        ShortName {
            len: n as u8,
            bytes,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(32)]
    }

    /// The name as text; a name cut inside a UTF-8 sequence shows up to the cut.
    pub fn as_str(&self) -> &str {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.as_bytes()[..e.valid_up_to()]).unwrap_or(""),
        }
    }
}

impl fmt::Debug for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms() {
        let a = LinkAddr::Udp4 {
            ip: [10, 0, 0, 1],
            port: 11234,
        };
        assert_eq!(a.to_text().as_str(), "10.0.0.1:11234");
        assert_eq!(
            LinkAddr::Mac([0xaa, 0xbb, 0xcc, 0, 1, 2])
                .to_text()
                .as_str(),
            "aa:bb:cc:00:01:02"
        );
        assert_eq!(a.with_port(5).to_text().as_str(), "10.0.0.1:5");
        assert!(LinkAddr::opaque(&[0u8; 17]).is_none());
        assert_eq!(ShortName::new(b"peer").as_str(), "peer");
    }
}
