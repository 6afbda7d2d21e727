//! The node's private key in a sector of on-chip flash (`embedded-storage` `NorFlash`), for
//! real boards: STM32 internal flash, RP2040 QSPI flash.
//!
//! Layout at `offset`: magic (u32 LE), key (32 bytes), FNV-1a of the key (u32 LE), padded to
//! [`RECORD_LEN`]. An erased sector (all 0xff) or a torn write fails the magic or the check
//! and reads as "no key" (first boot: generate one).

use embedded_storage::nor_flash::NorFlash;

use crate::KeyStore;

const MAGIC: u32 = 0xfc00_4b45;
/// One record, rounded up so that every write granularity up to 16 bytes divides it.
pub const RECORD_LEN: usize = 48;

/// FNV-1a: enough to reject erased or half-written flash (the key itself is not secret
/// from whoever can read the flash).
pub fn key_check(key: &[u8; 32]) -> u32 {
    key.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// A key store in the erase sector of `flash` that starts at `offset`. The sector must be
/// reserved for it (outside the program image).
pub struct FlashKeyStore<F> {
    flash: F,
    offset: u32,
}

impl<F: NorFlash> FlashKeyStore<F> {
    pub fn new(flash: F, offset: u32) -> Self {
        Self { flash, offset }
    }
}

/// Builds the record for `key`.
fn record(key: &[u8; 32]) -> [u8; RECORD_LEN] {
    let mut r = [0xffu8; RECORD_LEN];
    r[..4].copy_from_slice(&MAGIC.to_le_bytes());
    r[4..36].copy_from_slice(key);
    r[36..40].copy_from_slice(&key_check(key).to_le_bytes());
    r
}

/// The key in `r`, if it is a whole record.
fn parse(r: &[u8; RECORD_LEN]) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    key.copy_from_slice(r.get(4..36)?);
    let magic = u32::from_le_bytes(r.get(..4)?.try_into().ok()?);
    let check = u32::from_le_bytes(r.get(36..40)?.try_into().ok()?);
    (magic == MAGIC && check == key_check(&key)).then_some(key)
}

impl<F: NorFlash> KeyStore for FlashKeyStore<F> {
    type Error = F::Error;

    fn load(&mut self) -> Option<[u8; 32]> {
        let mut r = [0u8; RECORD_LEN];
        self.flash.read(self.offset, &mut r).ok()?;
        parse(&r)
    }

    fn store(&mut self, key: &[u8; 32]) -> Result<(), F::Error> {
        let end = self.offset + F::ERASE_SIZE as u32;
        self.flash.erase(self.offset, end)?;
        self.flash.write(self.offset, &record(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_rejects_erased_and_torn() {
        let key = [0x5a; 32];
        assert_eq!(parse(&record(&key)), Some(key));
        assert_eq!(parse(&[0xff; RECORD_LEN]), None, "erased flash");
        let mut torn = record(&key);
        torn[20] ^= 1;
        assert_eq!(parse(&torn), None, "a flipped bit fails the check");
    }
}
