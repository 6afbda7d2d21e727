//! Deterministic randomness for tests, replays of recorded traffic and fuzzing.
//!
//! NOT a cryptographic RNG: never use it for real sessions. It implements `CryptoRng` only
//! so it can stand in where the session asks for one.

use rand_core::{CryptoRng, RngCore};

/// Yields the scripted bytes in order, then a fixed xorshift stream seeded by `seed`.
#[derive(Debug, Clone)]
pub struct ScriptedRng<'a> {
    script: &'a [u8],
    pos: usize,
    state: u64,
}

impl<'a> ScriptedRng<'a> {
    pub fn new(script: &'a [u8], seed: u64) -> Self {
        ScriptedRng {
            script,
            pos: 0,
            state: seed | 1,
        }
    }

    /// How many scripted bytes have been consumed.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    fn next_byte(&mut self) -> u8 {
        if let Some(b) = self.script.get(self.pos) {
            self.pos += 1;
            return *b;
        }
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 24) as u8
    }
}

impl RngCore for ScriptedRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            *d = self.next_byte();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for ScriptedRng<'_> {}
