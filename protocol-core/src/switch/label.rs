//! Labels: 64-bit source routes read from the least significant end, and the arithmetic
//! routers use to join and split them (`util/Bits.h`, `switch/LabelSplicer.h`).

use core::fmt;

/// The label meaning "this router": director `0001` and nothing after it.
pub const SELF_ROUTE: u64 = 1;

/// Mirror all 64 bits. Switches write the arrival interface into the top of the label
/// reversed, so reversing a received label yields the path back to the sender.
pub const fn bit_reverse64(label: u64) -> u64 {
    label.reverse_bits()
}

/// Index of the highest set bit; 0 for 0 (as `Bits_log2x64`). For a label this is the
/// number of route bits before the terminating 1.
pub const fn log2(x: u64) -> u32 {
    if x == 0 {
        0
    } else {
        63 - x.leading_zeros()
    }
}

/// Join two paths: first `via_here`, then `go_here` as seen from the end of `via_here`.
/// `None` when the result would not leave room in 64 bits (the reference's
/// all-ones refusal, which also reserves headroom for the return path).
pub const fn splice(go_here: u64, via_here: u64) -> Option<u64> {
    let via_bits = log2(via_here);
    if log2(go_here) + via_bits > 59 {
        return None;
    }
    // `via_here`'s terminating 1 and `go_here`'s low bit overlap, hence the two XORs.
    Some(((go_here ^ 1) << via_bits) ^ via_here)
}

/// The part of `full_path` after `mid_path`, assuming `routes_through(full_path, mid_path)`.
pub const fn unsplice(full_path: u64, mid_path: u64) -> u64 {
    full_path >> log2(mid_path)
}

/// Whether `destination` starts with the route bits of `mid_path`.
pub const fn routes_through(destination: u64, mid_path: u64) -> bool {
    if mid_path > destination {
        return false;
    }
    if mid_path < 2 {
        return true;
    }
    let mask = u64::MAX >> (64 - log2(mid_path));
    destination & mask == mid_path & mask
}

/// A label, displayed the way cjdns prints paths: `0000.0000.0000.0013`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Label(pub u64);

impl Label {
    pub const SELF: Label = Label(SELF_ROUTE);

    pub const fn bits(self) -> u64 {
        self.0
    }

    pub const fn bit_reversed(self) -> Label {
        Label(bit_reverse64(self.0))
    }

    pub const fn splice(self, via_here: Label) -> Option<Label> {
        match splice(self.0, via_here.0) {
            Some(l) => Some(Label(l)),
            None => None,
        }
    }

    pub const fn routes_through(self, mid_path: Label) -> bool {
        routes_through(self.0, mid_path.0)
    }
}

impl From<u64> for Label {
    fn from(raw: u64) -> Self {
        Label(raw)
    }
}

impl From<Label> for u64 {
    fn from(label: Label) -> Self {
        label.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.0;
        write!(
            f,
            "{:04x}.{:04x}.{:04x}.{:04x}",
            (l >> 48) & 0xffff,
            (l >> 32) & 0xffff,
            (l >> 16) & 0xffff,
            l & 0xffff
        )
    }
}

impl fmt::Debug for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Label({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_examples() {
        assert_eq!(bit_reverse64(1), 0x8000_0000_0000_0000);
        assert_eq!(bit_reverse64(0x13), 0xc800_0000_0000_0000);
        assert_eq!(bit_reverse64(0x0123_4567_89ab_cdef), 0xf7b3_d591_e6a2_c480);
    }

    #[test]
    fn log2_examples() {
        assert_eq!(log2(0), 0);
        assert_eq!(log2(1), 0);
        assert_eq!(log2(0x13), 4);
        assert_eq!(log2(u64::MAX), 63);
    }

    #[test]
    fn splice_examples() {
        assert_eq!(splice(0x15, 0x13), Some(0x153));
        assert_eq!(splice(1, 0x13), Some(0x13));
        assert_eq!(unsplice(0x153, 0x13), 0x15);
        assert!(routes_through(0x153, 0x13));
        assert!(!routes_through(0x153, 0x15));
        assert!(routes_through(0x153, 1));
        assert_eq!(splice(1 << 30, 1 << 30), None);
        assert_eq!(splice(1 << 30, 1 << 29), Some(1 << 59));
    }

    #[test]
    fn display() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Label(0x13).to_string(), "0000.0000.0000.0013");
        assert_eq!(
            Label(0xa800_0000_0000_0001).to_string(),
            "a800.0000.0000.0001"
        );
    }
}
