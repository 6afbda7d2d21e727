//! Volatile access to a block of 32-bit memory-mapped registers.
//!
//! This is the only place (with the board address tables in `mps2`) where hal-boards touches
//! raw pointers: drivers hold a [`RegisterBlock`] and call safe `read`/`write` with offsets.
#![allow(unsafe_code)]

/// A window of 32-bit device registers starting at a fixed physical address.
#[derive(Clone, Copy, Debug)]
pub struct RegisterBlock {
    base: usize,
}

impl RegisterBlock {
    /// # Safety
    /// `base` must be the address of a device register window that is mapped for the whole
    /// program, whose registers (at every offset the owning driver uses) accept aligned 32-bit
    /// volatile reads and writes, and which no other code drives concurrently except through
    /// the same driver's interrupt-safe paths.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    /// Base address, for diagnostics.
    pub const fn base(&self) -> usize {
        self.base
    }

    /// Volatile 32-bit read of the register at `offset` bytes from the base.
    #[inline(always)]
    pub fn read(&self, offset: usize) -> u32 {
        debug_assert!(offset % 4 == 0);
        // SAFETY: `new`'s contract makes base+offset a mapped, aligned device register for
        // every offset the owning driver passes (all are word-aligned constants < 0x100).
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    /// Volatile 32-bit write of the register at `offset` bytes from the base.
    #[inline(always)]
    pub fn write(&self, offset: usize, value: u32) {
        debug_assert!(offset % 4 == 0);
        // SAFETY: as in `read`; device registers have no Rust-visible aliasing.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }
}
