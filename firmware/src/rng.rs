//! The node's random numbers: a ChaCha20 stream seeded once per boot.
//!
//! QEMU's MPS2 boards have no TRNG, so the seed is SHA-256 over whatever differs between
//! boots there: the host's clock and elapsed-tick counter read over semihosting, the SysTick
//! counter (host scheduling jitter), and the node's private key when one exists (so two boards
//! booted at the same instant still differ). That is good enough for an emulator and NOT for
//! a real device: real boards seed from their hardware TRNG (STM32 RNG peripheral, RP2040
//! ROSC), see `firmware/README.md`.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};

/// Per-boot seed material from the emulator: host time and ticks (semihosting) and SysTick.
#[cfg(feature = "mps2")]
pub fn boot_entropy() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"fc00-firmware boot entropy v1");
    if let Ok(t) = semihosting::sys::arm_compat::sys_time() {
        h.update((t as u64).to_le_bytes());
    }
    if let Ok(ticks) = semihosting::sys::arm_compat::sys_elapsed() {
        h.update(ticks.to_le_bytes());
    }
    h.update(cortex_m::peripheral::SYST::get_current().to_le_bytes());
    h.update(embassy_time::Instant::now().as_ticks().to_le_bytes());
    h.finalize().into()
}

/// The node's RNG: ChaCha20 keyed by SHA-256(entropy || private key).
pub fn node_rng(entropy: &[u8; 32], private_key: &[u8; 32]) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"fc00-firmware node rng v1");
    h.update(entropy);
    h.update(private_key);
    ChaCha20Rng::from_seed(h.finalize().into())
}
