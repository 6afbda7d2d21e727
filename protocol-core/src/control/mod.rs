//! Control frames addressed to this router: answering PING/KEYPING/RPATH/GETSNODE/LLADDR.
//!
//! As `net/ControlHandler.c`: a query is answered in place (same length) and sent back on the
//! bit-reversed label it was delivered with; PONGs tagged `IFACE_CNTRLR` go to the keepalive;
//! ERROR frames are counted and handed up.

use crate::identity::PublicKey;
use crate::switch::bit_reverse64;
use crate::switch::v3x5x8;
use crate::wire::control::{ControlFrame, ControlType, ErrorType, LlAddrField, CONTROL_HEADER_LEN};
use crate::wire::control::{
    GETSNODE_REPLY_MAGIC, KEYPONG_MAGIC, LLADDR_REPLY_MAGIC, PONG_MAGIC, RPATH_REPLY_MAGIC,
};
use crate::wire::{ControlRepr, SwitchHeaderRepr, SWITCH_HEADER_LEN};

/// The version we put in answers (`Version_CURRENT_PROTOCOL`).
pub const PROTOCOL_VERSION: u32 = 22;
/// Pings from older versions are dropped (`Version_MINIMUM_COMPATIBLE`).
pub const MIN_COMPATIBLE_VERSION: u32 = 20;
/// Data suffix of the interface controller's keepalive pings.
pub const KEEPALIVE_TAG: &[u8; 12] = b"IFACE_CNTRLR";

/// What became of a control frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlAction<'a> {
    /// The packet was rewritten in place into the answer (same length, switch header with
    /// the return path): send it from the router interface.
    Reply,
    /// A PONG for the keepalive. `return_path` leads to the responder.
    KeepalivePong {
        return_path: u64,
        version: u32,
        data: &'a [u8],
    },
    /// A switch ERROR about a packet we sent; `return_path` leads to the switch that sent it.
    SwitchError {
        return_path: u64,
        error_type: ErrorType,
        /// The label our packet carried when it was refused.
        cause_label: u64,
        /// The handle or nonce after the cause's switch header.
        cause_handle: u32,
    },
    /// A reply to a query someone else (not the keepalive) made: PONG, KEYPONG, ...
    Response { return_path: u64, kind: ControlType },
    /// Nothing to do; the reason is counted.
    Drop(ControlDrop),
}

/// Why a control frame was not answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlDrop {
    /// Bad marker, checksum, type, magic or length.
    Invalid,
    /// A ping from a version below 20.
    IncompatibleVersion,
    /// LLADDR from further than one hop, or from nobody we peer with.
    NotOneHop,
}

/// Counters for the admin API and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ControlStats {
    pub pings_answered: u64,
    pub keypings_answered: u64,
    pub rpath_answered: u64,
    pub getsnode_answered: u64,
    pub lladdr_answered: u64,
    pub keepalive_pongs: u64,
    pub other_responses: u64,
    pub errors_received: u64,
    pub dropped_invalid: u64,
    pub dropped_version: u64,
    pub dropped_not_one_hop: u64,
}

/// The control handler: stateless apart from its counters.
#[derive(Clone, Debug, Default)]
pub struct ControlHandler {
    pub stats: ControlStats,
}

impl ControlHandler {
    pub const fn new() -> Self {
        ControlHandler {
            stats: ControlStats {
                pings_answered: 0,
                keypings_answered: 0,
                rpath_answered: 0,
                getsnode_answered: 0,
                lladdr_answered: 0,
                keepalive_pongs: 0,
                other_responses: 0,
                errors_received: 0,
                dropped_invalid: 0,
                dropped_version: 0,
                dropped_not_one_hop: 0,
            },
        }
    }

    /// Handle a control packet the switch delivered to this router. `packet` starts at the
    /// switch header (label as the switch left it); the control frame follows. `lladdr_of`
    /// gives the link address of the one-hop peer at a label (for LLADDR).
    pub fn handle<'p>(
        &mut self,
        packet: &'p mut [u8],
        my_key: &PublicKey,
        lladdr_of: impl FnOnce(u64) -> Option<LlAddrField>,
    ) -> ControlAction<'p> {
        let action = self.decide(packet, my_key, lladdr_of);
        let s = &mut self.stats;
        match action {
            ControlAction::KeepalivePong { .. } => s.keepalive_pongs += 1,
            ControlAction::SwitchError { .. } => s.errors_received += 1,
            ControlAction::Response { .. } => s.other_responses += 1,
            ControlAction::Drop(ControlDrop::Invalid) => s.dropped_invalid += 1,
            ControlAction::Drop(ControlDrop::IncompatibleVersion) => s.dropped_version += 1,
            ControlAction::Drop(ControlDrop::NotOneHop) => s.dropped_not_one_hop += 1,
            ControlAction::Reply => {}
        }
        action
    }

    fn decide<'p>(
        &mut self,
        packet: &'p mut [u8],
        my_key: &PublicKey,
        lladdr_of: impl FnOnce(u64) -> Option<LlAddrField>,
    ) -> ControlAction<'p> {
        let Ok(header) = SwitchHeaderRepr::parse_bytes(packet) else {
            return ControlAction::Drop(ControlDrop::Invalid);
        };
        let return_path = bit_reverse64(header.label);
        if packet.len() < SWITCH_HEADER_LEN + CONTROL_HEADER_LEN {
            return ControlAction::Drop(ControlDrop::Invalid);
        }
        let (head, frame) = packet.split_at_mut(SWITCH_HEADER_LEN);
        let mut keepalive = None;
        // What to change in place: (type, magic, version, extra edit).
        let edit = match ControlRepr::parse(frame) {
            Err(_) => return ControlAction::Drop(ControlDrop::Invalid),
            Ok(ControlRepr::Ping { version, .. }) => {
                if version < MIN_COMPATIBLE_VERSION {
                    return ControlAction::Drop(ControlDrop::IncompatibleVersion);
                }
                self.stats.pings_answered += 1;
                Edit::new(ControlType::Pong, PONG_MAGIC)
            }
            Ok(ControlRepr::KeyPing { version, .. }) => {
                if version < MIN_COMPATIBLE_VERSION {
                    return ControlAction::Drop(ControlDrop::IncompatibleVersion);
                }
                self.stats.keypings_answered += 1;
                let mut e = Edit::new(ControlType::KeyPong, KEYPONG_MAGIC);
                e.key = Some(*my_key);
                e
            }
            Ok(ControlRepr::RPathQuery { .. }) => {
                self.stats.rpath_answered += 1;
                let mut e = Edit::new(ControlType::RPathReply, RPATH_REPLY_MAGIC);
                e.path = Some(return_path);
                e
            }
            Ok(ControlRepr::GetSnodeQuery(q)) => {
                if q.version < MIN_COMPATIBLE_VERSION {
                    // Nothing wrong with it, the reference just does not answer.
                    return ControlAction::Drop(ControlDrop::IncompatibleVersion);
                }
                self.stats.getsnode_answered += 1;
                let mut e = Edit::new(ControlType::GetSnodeReply, GETSNODE_REPLY_MAGIC);
                e.no_snode = true;
                e
            }
            Ok(ControlRepr::LlAddrQuery { .. }) => {
                let bits = v3x5x8::bits_for_label(return_path);
                if return_path.checked_shr(bits) != Some(1) {
                    return ControlAction::Drop(ControlDrop::NotOneHop);
                }
                let Some(addr) = lladdr_of(return_path) else {
                    return ControlAction::Drop(ControlDrop::NotOneHop);
                };
                self.stats.lladdr_answered += 1;
                let mut e = Edit::new(ControlType::LlAddrReply, LLADDR_REPLY_MAGIC);
                e.lladdr = Some(addr);
                e
            }
            Ok(r @ ControlRepr::Error { error_type, .. }) => {
                let (cause_label, cause_handle) = r
                    .error_cause()
                    .map(|c| (c.switch_header().label, c.handle()))
                    .unwrap_or((0, 0));
                return ControlAction::SwitchError {
                    return_path,
                    error_type,
                    cause_label,
                    cause_handle,
                };
            }
            Ok(ControlRepr::Pong { version, data }) => {
                if data.ends_with(KEEPALIVE_TAG) {
                    // Re-borrowed below with the packet's lifetime.
                    keepalive = Some((version, frame.len() - data.len()));
                    Edit::new(ControlType::Pong, PONG_MAGIC)
                } else {
                    return ControlAction::Response {
                        return_path,
                        kind: ControlType::Pong,
                    };
                }
            }
            Ok(other) => {
                return ControlAction::Response {
                    return_path,
                    kind: other.control_type(),
                }
            }
        };
        if let Some((version, data_start)) = keepalive {
            let frame: &'p [u8] = frame;
            return ControlAction::KeepalivePong {
                return_path,
                version,
                data: frame.get(data_start..).unwrap_or(&[]),
            };
        }
        edit.apply(frame);
        // A fresh header, as the reference's zeroed RouteHeader: version 1, shift 0.
        let _ = SwitchHeaderRepr::new(return_path).emit(head);
        ControlAction::Reply
    }
}

/// The in-place rewrite that turns a query into its answer.
struct Edit {
    kind: ControlType,
    magic: u32,
    key: Option<PublicKey>,
    path: Option<u64>,
    lladdr: Option<LlAddrField>,
    no_snode: bool,
}

impl Edit {
    fn new(kind: ControlType, magic: u32) -> Self {
        Edit {
            kind,
            magic,
            key: None,
            path: None,
            lladdr: None,
            no_snode: false,
        }
    }

    /// `frame` was parsed successfully, so every fixed field written here exists.
    fn apply(&self, frame: &mut [u8]) {
        let mut view = ControlFrame::new_unchecked(&mut *frame);
        view.set_raw_type(self.kind.as_u16());
        let body = view.body_mut();
        put(body, 0, &self.magic.to_be_bytes());
        put(body, 4, &PROTOCOL_VERSION.to_be_bytes());
        if let Some(key) = self.key {
            put(body, 8, &key.0);
        }
        if let Some(path) = self.path {
            put(body, 8, &path.to_be_bytes());
        }
        if let Some(addr) = self.lladdr {
            put(body, 8, &addr.0);
        }
        if self.no_snode {
            // snodeVersion 0, kbps 0xffffffff, key and path zero.
            put(body, 8, &0u32.to_be_bytes());
            put(body, 12, &u32::MAX.to_be_bytes());
            put(body, 16, &[0u8; 32]);
            put(body, 48, &[0u8; 8]);
        }
        let mut view = ControlFrame::new_unchecked(frame);
        view.fill_checksum();
    }
}

fn put(body: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(dst) = body.get_mut(at..at + bytes.len()) {
        dst.copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::control::GetSnode;

    fn packet(label: u64, repr: &ControlRepr<'_>) -> ([u8; 200], usize) {
        let mut p = [0u8; 200];
        SwitchHeaderRepr::new(label).emit(&mut p).unwrap();
        let n = repr.emit(&mut p[12..]).unwrap();
        (p, 12 + n)
    }

    const KEY: PublicKey = PublicKey([7; 32]);

    #[test]
    fn ping_becomes_pong_on_reversed_label() {
        let (mut p, n) = packet(
            0xc800_0000_0000_0000,
            &ControlRepr::Ping {
                version: 21,
                data: b"hello",
            },
        );
        let mut h = ControlHandler::new();
        assert_eq!(h.handle(&mut p[..n], &KEY, |_| None), ControlAction::Reply);
        let sh = SwitchHeaderRepr::parse_bytes(&p).unwrap();
        assert_eq!(sh.label, 0x13);
        assert_eq!(
            ControlRepr::parse(&p[12..n]).unwrap(),
            ControlRepr::Pong {
                version: 22,
                data: b"hello"
            }
        );
    }

    #[test]
    fn old_ping_dropped_keyping_answered_with_our_key() {
        let (mut p, n) = packet(
            1,
            &ControlRepr::Ping {
                version: 19,
                data: b"",
            },
        );
        let mut h = ControlHandler::new();
        assert_eq!(
            h.handle(&mut p[..n], &KEY, |_| None),
            ControlAction::Drop(ControlDrop::IncompatibleVersion)
        );
        let (mut p, n) = packet(
            1,
            &ControlRepr::KeyPing {
                version: 22,
                key: PublicKey([1; 32]),
                data: b"x",
            },
        );
        assert_eq!(h.handle(&mut p[..n], &KEY, |_| None), ControlAction::Reply);
        assert_eq!(
            ControlRepr::parse(&p[12..n]).unwrap(),
            ControlRepr::KeyPong {
                version: 22,
                key: KEY,
                data: b"x"
            }
        );
    }

    #[test]
    fn rpath_getsnode_lladdr() {
        let mut h = ControlHandler::new();
        let (mut p, n) = packet(
            0xc800_0000_0000_0000,
            &ControlRepr::RPathQuery {
                version: 22,
                path: 0x13,
                data: b"",
            },
        );
        assert_eq!(h.handle(&mut p[..n], &KEY, |_| None), ControlAction::Reply);
        assert!(matches!(
            ControlRepr::parse(&p[12..n]).unwrap(),
            ControlRepr::RPathReply {
                path: 0x13,
                version: 22,
                ..
            }
        ));
        let q = GetSnode {
            version: 22,
            snode_version: 0,
            kbps: 5,
            snode_key: [9; 32],
            path_to_snode: 77,
            data: b"",
        };
        let (mut p, n) = packet(0xc800_0000_0000_0000, &ControlRepr::GetSnodeQuery(q));
        assert_eq!(h.handle(&mut p[..n], &KEY, |_| None), ControlAction::Reply);
        let ControlRepr::GetSnodeReply(r) = ControlRepr::parse(&p[12..n]).unwrap() else {
            panic!("not a reply")
        };
        assert_eq!(
            (r.snode_key, r.path_to_snode, r.kbps),
            ([0; 32], 0, u32::MAX)
        );
        let (mut p, n) = packet(
            0xc800_0000_0000_0000,
            &ControlRepr::LlAddrQuery {
                version: 22,
                addr: LlAddrField::ZERO,
                data: b"",
            },
        );
        let addr = LlAddrField::udp4(11234, [10, 0, 0, 2]);
        assert_eq!(
            h.handle(&mut p[..n], &KEY, |l| (l == 0x13).then_some(addr)),
            ControlAction::Reply
        );
        assert!(matches!(
            ControlRepr::parse(&p[12..n]).unwrap(),
            ControlRepr::LlAddrReply { addr: a, .. } if a == addr
        ));
        // Two hops away: not answered.
        let (mut p, n) = packet(
            bit_reverse64(0x153),
            &ControlRepr::LlAddrQuery {
                version: 22,
                addr: LlAddrField::ZERO,
                data: b"",
            },
        );
        assert_eq!(
            h.handle(&mut p[..n], &KEY, |_| Some(addr)),
            ControlAction::Drop(ControlDrop::NotOneHop)
        );
    }

    #[test]
    fn keepalive_pong_routed_by_tag() {
        let mut h = ControlHandler::new();
        let (mut p, n) = packet(
            0xc800_0000_0000_0000,
            &ControlRepr::Pong {
                version: 22,
                data: b"0123456789abIFACE_CNTRLR",
            },
        );
        assert!(matches!(
            h.handle(&mut p[..n], &KEY, |_| None),
            ControlAction::KeepalivePong {
                return_path: 0x13,
                version: 22,
                ..
            }
        ));
    }

    #[test]
    fn garbage_is_dropped() {
        let mut h = ControlHandler::new();
        for len in 0..40 {
            let mut p = [0xffu8; 40];
            assert!(matches!(
                h.handle(&mut p[..len], &KEY, |_| None),
                ControlAction::Drop(_)
            ));
        }
    }
}
