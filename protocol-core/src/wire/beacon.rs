//! Peer beacons: the 56-byte announcement a node broadcasts on a LAN (`wire/Headers.h`
//! `Headers_Beacon`), and the 8-byte header UDP beacons put in front of it
//! (`interface/UDPInterface.c`).
//!
//! ```text
//! beacon:     [version u32][password 20][public key 32]
//! UDP header: [ff ff ff fc][version 0][zero 0][comm port u16]
//! ```

use super::error::{check_len, check_room, WireError};
use super::field::{read_array, read_u16, read_u32};
use crate::identity::PublicKey;

pub const BEACON_LEN: usize = 56;
pub const BEACON_PASSWORD_LEN: usize = 20;
/// What v22.3 default builds advertise: noise is disabled, so they claim 21.
pub const BEACON_VERSION_DEFAULT: u32 = 21;

pub const UDP_BEACON_HEADER_LEN: usize = 8;
pub const UDP_BEACON_MAGIC: u32 = 0xffff_fffc;
pub const UDP_BEACON_VERSION: u8 = 0;

/// A parsed beacon. Whether to act on it (own key, fc key, version ≥ 20) is the interface
/// controller's business, not the parser's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeaconRepr {
    pub version: u32,
    /// All 20 bytes are the password, including the trailing NUL the reference writes.
    pub password: [u8; BEACON_PASSWORD_LEN],
    pub public_key: PublicKey,
}

impl BeaconRepr {
    /// Parse the first 56 bytes of `bytes`; like the reference, anything after is ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        check_len(bytes, BEACON_LEN)?;
        Ok(BeaconRepr {
            version: read_u32(bytes, 0),
            password: read_array(bytes, 4),
            public_key: PublicKey(read_array(bytes, 24)),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        BEACON_LEN
    }

    /// Write the 56 beacon bytes into the start of `out`.
    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        check_room(out, BEACON_LEN)?;
        out[0..4].copy_from_slice(&self.version.to_be_bytes());
        out[4..24].copy_from_slice(&self.password);
        out[24..56].copy_from_slice(&self.public_key.0);
        Ok(())
    }
}

/// A typed view over the 8-byte UDP beacon header.
#[derive(Debug, Clone, Copy)]
pub struct UdpBeaconHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpBeaconHeader<T> {
    /// Wrap a buffer without checking it; accessors may then panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpBeaconHeader { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        check_len(buffer.as_ref(), UDP_BEACON_HEADER_LEN)?;
        Ok(UdpBeaconHeader { buffer })
    }

    pub fn magic(&self) -> u32 {
        read_u32(self.buffer.as_ref(), 0)
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[4]
    }

    pub fn zero(&self) -> u8 {
        self.buffer.as_ref()[5]
    }

    /// The sender's data (communication) port; replies go there, not to the beacon port.
    pub fn comm_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), 6)
    }

    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[UDP_BEACON_HEADER_LEN..]
    }
}

/// A parsed UDP beacon header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpBeaconHeaderRepr {
    pub comm_port: u16,
}

impl UdpBeaconHeaderRepr {
    /// Parse the header, checking magic, version and the zero byte as the reference does.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        let header = UdpBeaconHeader::new_checked(bytes)?;
        if header.magic() != UDP_BEACON_MAGIC {
            return Err(WireError::BadMagic);
        }
        if header.version() != UDP_BEACON_VERSION {
            return Err(WireError::UnsupportedVersion(u32::from(header.version())));
        }
        if header.zero() != 0 {
            return Err(WireError::Malformed);
        }
        Ok(UdpBeaconHeaderRepr {
            comm_port: header.comm_port(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        UDP_BEACON_HEADER_LEN
    }

    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        check_room(out, UDP_BEACON_HEADER_LEN)?;
        out[0..4].copy_from_slice(&UDP_BEACON_MAGIC.to_be_bytes());
        out[4] = UDP_BEACON_VERSION;
        out[5] = 0;
        out[6..8].copy_from_slice(&self.comm_port.to_be_bytes());
        Ok(())
    }
}

/// Parse a whole UDP beacon datagram: header, then beacon.
pub fn parse_udp_beacon(datagram: &[u8]) -> Result<(UdpBeaconHeaderRepr, BeaconRepr), WireError> {
    let header = UdpBeaconHeaderRepr::parse(datagram)?;
    let beacon = BeaconRepr::parse(&datagram[UDP_BEACON_HEADER_LEN..])?;
    Ok((header, beacon))
}

/// Write a whole UDP beacon datagram (64 bytes); returns its length.
pub fn emit_udp_beacon(
    comm_port: u16,
    beacon: &BeaconRepr,
    out: &mut [u8],
) -> Result<usize, WireError> {
    let len = UDP_BEACON_HEADER_LEN + BEACON_LEN;
    check_room(out, len)?;
    UdpBeaconHeaderRepr { comm_port }.emit(out)?;
    beacon.emit(&mut out[UDP_BEACON_HEADER_LEN..])?;
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BeaconRepr {
        let mut password = [0u8; 20];
        password[..19].copy_from_slice(b"0tpjr721us0yc3m7mg2");
        BeaconRepr {
            version: 21,
            password,
            public_key: PublicKey([0x93; 32]),
        }
    }

    #[test]
    fn beacon_layout() {
        let mut out = [0u8; 56];
        sample().emit(&mut out).unwrap();
        assert_eq!(&out[..4], &[0, 0, 0, 0x15]);
        assert_eq!(&out[4..24], b"0tpjr721us0yc3m7mg2\0");
        assert_eq!(&out[24..], &[0x93; 32]);
        assert_eq!(BeaconRepr::parse(&out).unwrap(), sample());
        assert!(matches!(
            BeaconRepr::parse(&out[..55]),
            Err(WireError::Truncated {
                needed: 56,
                got: 55
            })
        ));
    }

    #[test]
    fn udp_beacon_layout() {
        let mut out = [0u8; 64];
        assert_eq!(emit_udp_beacon(12000, &sample(), &mut out).unwrap(), 64);
        assert_eq!(&out[..8], &[0xff, 0xff, 0xff, 0xfc, 0, 0, 0x2e, 0xe0]);
        let (h, b) = parse_udp_beacon(&out).unwrap();
        assert_eq!(h.comm_port, 12000);
        assert_eq!(b, sample());
    }

    #[test]
    fn udp_beacon_refusals() {
        let good = [0xff, 0xff, 0xff, 0xfc, 0, 0, 0x2e, 0xe0];
        let mut bad = good;
        bad[3] = 0xfd;
        assert_eq!(UdpBeaconHeaderRepr::parse(&bad), Err(WireError::BadMagic));
        let mut bad = good;
        bad[4] = 1;
        assert_eq!(
            UdpBeaconHeaderRepr::parse(&bad),
            Err(WireError::UnsupportedVersion(1))
        );
        let mut bad = good;
        bad[5] = 1;
        assert_eq!(UdpBeaconHeaderRepr::parse(&bad), Err(WireError::Malformed));
        assert!(parse_udp_beacon(&good).is_err());
    }
}
