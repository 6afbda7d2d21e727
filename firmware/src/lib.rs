//! The board-independent part of the fc00 firmware: the node task, the fc-address stack,
//! the serial management server, configuration and RNG seeding. Each board's binary
//! (`src/main.rs` for QEMU MPS2, `src/bin/*.rs` for real boards) brings up its Ethernet
//! device, serial port, key store and RNG and hands them to these.
#![no_std]

pub mod config;
pub mod fc_stack;
pub mod mgmt;
pub mod node_task;
pub mod rng;

/// Logs why and sleeps forever (the watchdog, where a board has one, restarts it).
pub fn halt(why: &'static str) -> ! {
    defmt::error!("halted: {=str}", why);
    loop {
        cortex_m::asm::wfi();
    }
}

/// A MAC address printed as `52:54:00:12:34:56`.
pub struct Mac(pub [u8; 6]);

impl defmt::Format for Mac {
    fn format(&self, f: defmt::Formatter) {
        let [a, b, c, d, e, g] = self.0;
        defmt::write!(
            f,
            "{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}:{=u8:02x}",
            a,
            b,
            c,
            d,
            e,
            g
        );
    }
}
