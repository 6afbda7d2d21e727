//! A keystream RNG seeded from the caller's: lets an adapter give randomness to a layer it
//! calls while the caller's RNG is lent to another layer (no shared `&mut`).

use rand_core::{CryptoRng, CryptoRngCore, RngCore};
use salsa20::cipher::{KeyIvInit, StreamCipher};
use salsa20::Salsa20;

pub(crate) struct DerivedRng(Salsa20);

impl DerivedRng {
    pub(crate) fn from_rng(rng: &mut impl CryptoRngCore) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        DerivedRng(Salsa20::new(&key.into(), &[0u8; 8].into()))
    }
}

impl core::fmt::Debug for DerivedRng {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DerivedRng")
    }
}

impl RngCore for DerivedRng {
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
        dest.fill(0);
        self.0.apply_keystream(dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for DerivedRng {}
