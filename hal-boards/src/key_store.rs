//! Where the node's 32-byte private key lives between boots.

use core::convert::Infallible;

/// Persistent storage for the node's private key.
pub trait KeyStore {
    type Error;

    /// The stored key, or `None` if none was ever stored (first boot: generate one).
    fn load(&mut self) -> Option<[u8; 32]>;

    /// Replaces the stored key.
    fn store(&mut self, key: &[u8; 32]) -> Result<(), Self::Error>;
}

/// Key store for boards without usable flash (QEMU): survives a warm reboot of the task, not
/// a power cycle.
#[derive(Default)]
pub struct RamKeyStore {
    key: Option<[u8; 32]>,
}

impl RamKeyStore {
    pub const fn new() -> Self {
        Self { key: None }
    }
}

impl KeyStore for RamKeyStore {
    type Error = Infallible;

    fn load(&mut self) -> Option<[u8; 32]> {
        self.key
    }

    fn store(&mut self, key: &[u8; 32]) -> Result<(), Infallible> {
        self.key = Some(*key);
        Ok(())
    }
}

impl Drop for RamKeyStore {
    fn drop(&mut self) {
        // Best effort: do not leave the key in released RAM.
        if let Some(key) = self.key.as_mut() {
            key.fill(0);
            core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_store_round_trips() {
        let mut store = RamKeyStore::new();
        assert_eq!(store.load(), None);
        store.store(&[7; 32]).unwrap();
        assert_eq!(store.load(), Some([7; 32]));
        store.store(&[9; 32]).unwrap();
        assert_eq!(store.load(), Some([9; 32]));
    }
}
