//! QEMU `mps2-an386` (Cortex-M4F) / `mps2-an385` (Cortex-M3): peripheral addresses and the
//! shared driver state the interrupt handlers reach.
//!
//! Facts from QEMU's `hw/arm/mps2.c`: LAN9118 at 0x4020_0000 on IRQ 13; UART0 at 0x4000_4000
//! with RX on IRQ 0 and TX on IRQ 1 (`-serial` 0 is UART0); 25 MHz system clock, which also
//! clocks SysTick; 4 MiB of code RAM ("flash") at 0 and 4 MiB of SRAM at 0x2000_0000.
#![allow(unsafe_code)]

use crate::cmsdk_uart::CmsdkUartShared;
use crate::lan9118::Lan9118Shared;
use crate::mmio::RegisterBlock;

pub const SYSCLK_HZ: u32 = 25_000_000;
pub const LAN9118_BASE: usize = 0x4020_0000;
pub const LAN9118_IRQ: u16 = 13;
pub const UART0_BASE: usize = 0x4000_4000;
pub const UART0_RX_IRQ: u16 = 0;
pub const UART0_TX_IRQ: u16 = 1;

/// The board's one Ethernet controller.
// SAFETY: on mps2-an385/an386 the LAN9118 register window is at LAN9118_BASE for the whole run
// and only the lan9118 driver (task + its interrupt handler) accesses it.
pub static NIC: Lan9118Shared = Lan9118Shared::new(unsafe { RegisterBlock::new(LAN9118_BASE) });

/// UART0, the serial port QEMU connects to its first `-serial` backend.
// SAFETY: as for NIC: the CMSDK UART0 window is fixed and owned by the cmsdk_uart driver.
pub static UART0: CmsdkUartShared = CmsdkUartShared::new(unsafe { RegisterBlock::new(UART0_BASE) });

#[cfg(all(feature = "mps2", target_arch = "arm"))]
pub use self::rt::*;

/// Cortex-M glue: time driver, SysTick and interrupt dispatch, NVIC set-up.
#[cfg(all(feature = "mps2", target_arch = "arm"))]
mod rt {
    use cortex_m::interrupt::InterruptNumber;
    use cortex_m::peripheral::{NVIC, SYST};
    use systick_timer::SystickDriver;

    use super::*;

    /// Wake-up slots of the time driver: one per task that sleeps at the same time.
    const TIMER_SLOTS: usize = 8;

    // SysTick at the 25 MHz core clock, interrupting every 1 ms (a 64-bit tick count is kept
    // from the counter in between, so timers resolve finer than 1 ms).
    embassy_time_driver::time_driver_impl!(
        static TIME: SystickDriver<TIMER_SLOTS> = SystickDriver::new(SYSCLK_HZ as u64, SYSCLK_HZ / 1000 - 1)
    );

    #[cortex_m_rt::exception]
    fn SysTick() {
        TIME.systick_interrupt();
    }

    /// Routes the board's device interrupts (no PAC exists for MPS2: every external
    /// interrupt vector points at cortex-m-rt's DefaultHandler).
    #[cortex_m_rt::exception]
    unsafe fn DefaultHandler(irqn: i16) {
        match irqn {
            n if n == LAN9118_IRQ as i16 => NIC.on_interrupt(),
            n if n == UART0_RX_IRQ as i16 => UART0.on_rx_interrupt(),
            _ => {}
        }
    }

    #[derive(Clone, Copy)]
    struct Irq(u16);

    // SAFETY: the numbers used are the board's external interrupt lines, all < 32 (valid).
    unsafe impl InterruptNumber for Irq {
        fn number(self) -> u16 {
            self.0
        }
    }

    /// Starts the embassy-time clock. Call once, before anything awaits a timer.
    pub fn start_time(syst: &mut SYST) {
        TIME.start(syst);
    }

    pub use crate::memory::{stack_bytes, stack_high_water, static_ram_bytes};

    /// The private key kept in RAM that cortex-m-rt never initialises (`.uninit`), so it
    /// survives a warm reset (`SCB::sys_reset`, which QEMU carries out without clearing RAM)
    /// but not a power cycle. A magic word and a checksum tell a stored key from garbage.
    /// QEMU has no flash to write; real boards use their flash (embedded-storage).
    pub struct UninitKeyStore {
        _private: (),
    }

    #[repr(C)]
    struct KeySlot {
        magic: u32,
        key: [u8; 32],
        check: u32,
    }

    struct SlotCell(core::cell::UnsafeCell<core::mem::MaybeUninit<KeySlot>>);
    // SAFETY: only `UninitKeyStore` touches the slot, and at most one of those exists
    // (`take` hands it out once).
    unsafe impl Sync for SlotCell {}

    #[unsafe(link_section = ".uninit.fc00_key")]
    static KEY_SLOT: SlotCell =
        SlotCell(core::cell::UnsafeCell::new(core::mem::MaybeUninit::uninit()));
    static KEY_STORE_TAKEN: core::sync::atomic::AtomicBool =
        core::sync::atomic::AtomicBool::new(false);
    const KEY_MAGIC: u32 = 0xfc00_4b45;

    /// FNV-1a over the key: enough to reject the random RAM of a cold boot.
    fn key_check(key: &[u8; 32]) -> u32 {
        key.iter().fold(0x811c_9dc5u32, |h, &b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        })
    }

    impl UninitKeyStore {
        /// The one handle to the slot; `None` if already taken.
        pub fn take() -> Option<Self> {
            if KEY_STORE_TAKEN.swap(true, core::sync::atomic::Ordering::AcqRel) {
                None
            } else {
                Some(UninitKeyStore { _private: () })
            }
        }

        fn slot(&self) -> *mut KeySlot {
            KEY_SLOT.0.get().cast()
        }
    }

    impl crate::KeyStore for UninitKeyStore {
        type Error = core::convert::Infallible;

        fn load(&mut self) -> Option<[u8; 32]> {
            // SAFETY: the slot is plain old data (any bit pattern is a valid KeySlot), in
            // RAM reserved for it, and only this handle accesses it.
            let slot = unsafe { core::ptr::read_volatile(self.slot()) };
            (slot.magic == KEY_MAGIC && slot.check == key_check(&slot.key)).then_some(slot.key)
        }

        fn store(&mut self, key: &[u8; 32]) -> Result<(), Self::Error> {
            let slot = KeySlot {
                magic: KEY_MAGIC,
                key: *key,
                check: key_check(key),
            };
            // SAFETY: as in `load`.
            unsafe { core::ptr::write_volatile(self.slot(), slot) };
            Ok(())
        }
    }

    /// Unmasks the NIC and UART0 RX interrupts. Call after both drivers are initialised (the
    /// NIC's line is asserted until its IRQ_CFG is programmed).
    pub fn enable_interrupts() {
        for irq in [LAN9118_IRQ, UART0_RX_IRQ] {
            NVIC::unpend(Irq(irq));
            // SAFETY: both handlers only touch their driver's shared state, which is built for
            // concurrent use from the interrupt (critical sections, atomics, wakers).
            unsafe { NVIC::unmask(Irq(irq)) };
        }
    }
}
