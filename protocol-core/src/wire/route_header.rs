//! The 68-byte RouteHeader (`wire/RouteHeader.h`): how the session layer tells upper layers
//! (and the UpperDistributor sniffing port) who a message is from or for. Never sent to
//! peers, so only local tools care about its exact bytes.
//!
//! ```text
//! 0            32              44            48      49    52
//! [public key][switch header][version u32][flags][pad 3][ip6 16]
//! ```

use super::error::{check_len, check_room, WireError};
use super::field::{read_array, read_u32};
use super::switch_header::{SwitchHeader, SwitchHeaderRepr, SWITCH_HEADER_LEN};
use crate::identity::{Ip6, PublicKey};

pub const ROUTE_HEADER_LEN: usize = 68;

/// The key, label and address are the *source* of the message, not its destination.
pub const ROUTE_FLAG_INCOMING: u8 = 1;
/// The message is a switch control frame.
pub const ROUTE_FLAG_CTRLMSG: u8 = 1 << 1;
/// The message goes to or comes from a pathfinder.
pub const ROUTE_FLAG_PATHFINDER: u8 = 1 << 2;

const KEY_AT: usize = 0;
const SWITCH_AT: usize = 32;
const VERSION_AT: usize = SWITCH_AT + SWITCH_HEADER_LEN;
const FLAGS_AT: usize = VERSION_AT + 4;
const IP6_AT: usize = FLAGS_AT + 4;

/// A parsed RouteHeader. The three padding bytes are dropped and written as zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteHeaderRepr {
    /// Zero when unknown.
    pub public_key: PublicKey,
    pub switch_header: SwitchHeaderRepr,
    /// Protocol version of the other node, 0 when unknown.
    pub version: u32,
    /// `ROUTE_FLAG_*` bits.
    pub flags: u8,
    pub ip6: Ip6,
}

impl RouteHeaderRepr {
    /// Parse the first 68 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Self, WireError> {
        check_len(bytes, ROUTE_HEADER_LEN)?;
        Ok(RouteHeaderRepr {
            public_key: PublicKey(read_array(bytes, KEY_AT)),
            switch_header: SwitchHeaderRepr::parse(&SwitchHeader::new_unchecked(
                &bytes[SWITCH_AT..VERSION_AT],
            )),
            version: read_u32(bytes, VERSION_AT),
            flags: bytes[FLAGS_AT],
            ip6: Ip6(read_array(bytes, IP6_AT)),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        ROUTE_HEADER_LEN
    }

    pub fn emit(&self, out: &mut [u8]) -> Result<(), WireError> {
        check_room(out, ROUTE_HEADER_LEN)?;
        out[KEY_AT..SWITCH_AT].copy_from_slice(&self.public_key.0);
        self.switch_header.emit(&mut out[SWITCH_AT..VERSION_AT])?;
        out[VERSION_AT..FLAGS_AT].copy_from_slice(&self.version.to_be_bytes());
        out[FLAGS_AT..IP6_AT].copy_from_slice(&[self.flags, 0, 0, 0]);
        out[IP6_AT..ROUTE_HEADER_LEN].copy_from_slice(&self.ip6.0);
        Ok(())
    }

    pub const fn is_incoming(&self) -> bool {
        self.flags & ROUTE_FLAG_INCOMING != 0
    }

    pub const fn is_ctrl_msg(&self) -> bool {
        self.flags & ROUTE_FLAG_CTRLMSG != 0
    }

    pub const fn is_pathfinder(&self) -> bool {
        self.flags & ROUTE_FLAG_PATHFINDER != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let repr = RouteHeaderRepr {
            public_key: PublicKey([0xaa; 32]),
            switch_header: SwitchHeaderRepr::new(0x13),
            version: 22,
            flags: ROUTE_FLAG_INCOMING | ROUTE_FLAG_CTRLMSG,
            ip6: Ip6([0xfc; 16]),
        };
        let mut out = [0xeeu8; 68];
        repr.emit(&mut out).unwrap();
        assert_eq!(&out[..32], &[0xaa; 32]);
        assert_eq!(&out[32..44], &[0, 0, 0, 0, 0, 0, 0, 0x13, 0x00, 0x40, 0, 0]);
        assert_eq!(&out[44..52], &[0, 0, 0, 22, 3, 0, 0, 0]);
        assert_eq!(&out[52..], &[0xfc; 16]);
        let back = RouteHeaderRepr::parse(&out).unwrap();
        assert_eq!(back, repr);
        assert!(back.is_incoming() && back.is_ctrl_msg() && !back.is_pathfinder());
        assert!(RouteHeaderRepr::parse(&out[..67]).is_err());
    }
}
