//! A small bandwidth meter: bytes over the last completed window of about a second.

const WINDOW_MS: u64 = 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kbps {
    window_start: u64,
    window_bytes: u64,
    last_kbps: u32,
}

impl Kbps {
    pub const fn new() -> Self {
        Kbps {
            window_start: 0,
            window_bytes: 0,
            last_kbps: 0,
        }
    }

    fn roll(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.window_start);
        if elapsed >= WINDOW_MS {
            // bytes * 8 / ms = kbit/s; a window long past means the link went quiet.
            self.last_kbps = if elapsed < 2 * WINDOW_MS {
                (self.window_bytes.saturating_mul(8) / elapsed).min(u64::from(u32::MAX)) as u32
            } else {
                0
            };
            self.window_start = now_ms;
            self.window_bytes = 0;
        }
    }

    pub fn add(&mut self, now_ms: u64, bytes: u64) {
        self.roll(now_ms);
        self.window_bytes = self.window_bytes.saturating_add(bytes);
    }

    /// Kilobits per second over the last full window.
    pub fn kbps(&self, now_ms: u64) -> u32 {
        let elapsed = now_ms.saturating_sub(self.window_start);
        if elapsed >= 2 * WINDOW_MS {
            0
        } else if elapsed >= WINDOW_MS {
            (self.window_bytes.saturating_mul(8) / elapsed).min(u64::from(u32::MAX)) as u32
        } else {
            self.last_kbps
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_megabit() {
        let mut k = Kbps::new();
        for t in 0..2048u64 {
            k.add(t, 125); // 125 bytes per ms = 1000 kbit/s
        }
        let v = k.kbps(2048);
        assert!((900..=1100).contains(&v), "{v}");
        assert_eq!(k.kbps(10_000), 0);
    }
}
