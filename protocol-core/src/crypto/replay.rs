//! Replay protection for data packets: a 64-slot window over packet counters, with the
//! same sliding rule (and therefore the same loss statistics) as cjdns.

/// Why a counter was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayRejection {
    /// Counter already seen.
    Duplicate,
    /// Counter below the window: too old to tell, treated as a replay.
    OutOfRange,
}

/// Counters the peer link statistics are built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayStats {
    pub received_packets: u32,
    pub lost_packets: u32,
    pub received_unexpected: u32,
    pub duplicate_packets: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayProtector {
    /// Bit i set = counter `base + i` seen.
    window: u64,
    base: u32,
    duplicates: u32,
    lost_packets: u32,
    out_of_range: u32,
}

impl ReplayProtector {
    pub const fn new() -> Self {
        ReplayProtector {
            window: 0,
            base: 0,
            duplicates: 0,
            lost_packets: 0,
            out_of_range: 0,
        }
    }

    /// Forget everything, statistics included.
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Start the window at `first_counter`, keeping the statistics.
    pub fn init(&mut self, first_counter: u32) {
        self.base = first_counter;
        self.window = 0;
    }

    pub fn base(&self) -> u32 {
        self.base
    }

    pub fn stats(&self) -> ReplayStats {
        ReplayStats {
            received_packets: self.base.wrapping_add(self.window.count_ones()),
            lost_packets: self.lost_packets,
            received_unexpected: self.out_of_range,
            duplicate_packets: self.duplicates,
        }
    }

    /// File `counter` as seen. Call only for authenticated packets, or forgeries would make
    /// real packets look like duplicates.
    pub fn check(&mut self, counter: u32) -> Result<(), ReplayRejection> {
        if counter < self.base {
            self.out_of_range = self.out_of_range.wrapping_add(1);
            return Err(ReplayRejection::OutOfRange);
        }
        let mut offset = counter - self.base;
        while offset > 63 {
            if self.window & 0xffff_ffff == 0xffff_ffff {
                // The older half is complete: slide by 32 without losses.
                offset = self.slide(offset, 32);
            } else {
                // Slide just far enough that the counter lands at slot 47, counting the
                // slots pushed out unseen as lost.
                let shift = offset - 47;
                self.lost_packets = self.lost_packets.wrapping_add(self.unseen_in(shift));
                offset = self.slide(offset, shift);
            }
        }
        let bit = 1u64 << offset;
        if self.window & bit != 0 {
            self.duplicates = self.duplicates.wrapping_add(1);
            return Err(ReplayRejection::Duplicate);
        }
        self.window |= bit;
        Ok(())
    }

    fn slide(&mut self, offset: u32, by: u32) -> u32 {
        self.base = self.base.wrapping_add(by);
        self.window = if by > 63 { 0 } else { self.window >> by };
        offset - by
    }

    /// How many of the lowest `shift` slots were never seen.
    fn unseen_in(&self, shift: u32) -> u32 {
        match shift {
            0 => 0,
            s if s > 63 => s - self.window.count_ones(),
            s => s - (self.window << (64 - s)).count_ones(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_reordered_and_duplicates() {
        let mut rp = ReplayProtector::new();
        rp.init(5);
        assert_eq!(rp.check(4), Err(ReplayRejection::OutOfRange));
        assert_eq!(rp.check(5), Ok(()));
        assert_eq!(rp.check(7), Ok(()));
        assert_eq!(rp.check(6), Ok(()));
        assert_eq!(rp.check(6), Err(ReplayRejection::Duplicate));
        assert_eq!(rp.check(68), Ok(()));
        assert_eq!(rp.check(69), Ok(()), "offset 64: slides");
        let s = rp.stats();
        assert_eq!(s.duplicate_packets, 1);
        assert_eq!(s.received_unexpected, 1);
    }

    #[test]
    fn slide_by_32_when_low_half_complete() {
        let mut rp = ReplayProtector::new();
        for c in 0..64 {
            rp.check(c).unwrap();
        }
        rp.check(64).unwrap();
        assert_eq!(rp.base(), 32);
        assert_eq!(rp.stats().lost_packets, 0);
        assert_eq!(rp.check(31), Err(ReplayRejection::OutOfRange));
        assert_eq!(rp.check(40), Err(ReplayRejection::Duplicate));
    }

    #[test]
    fn slide_with_losses() {
        let mut rp = ReplayProtector::new();
        rp.check(0).unwrap();
        rp.check(100).unwrap();
        // offset 100 -> shift 53: slots 0..53 leave, one of them was seen.
        assert_eq!(rp.base(), 53);
        assert_eq!(rp.stats().lost_packets, 52);
        rp.check(1000).unwrap();
        assert_eq!(rp.base(), 953);
        assert_eq!(rp.stats().lost_packets, 52 + 899);
    }
}
