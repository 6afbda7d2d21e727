//! SMSC/Microchip LAN9118 (and the register-compatible LAN9220) Ethernet controller as an
//! `embassy-net-driver` [`Driver`] of raw Ethernet frames.
//!
//! No published crate drives this NIC, so this module is written from the datasheet's register
//! map. It keeps to the subset that QEMU's `lan9118` model implements (the NIC of the
//! `mps2-an385`/`mps2-an386` machines) plus what a real chip needs on top (TX_ON, MBO bit in
//! HW_CFG, busy-bit polling of the MAC/MII indirect registers, draining the TX status FIFO).
//!
//! Receive is interrupt driven: the NIC raises its interrupt when the RX status FIFO holds a
//! frame; [`Lan9118Shared::on_interrupt`] masks that source and wakes the network task, which
//! drains the FIFOs and re-arms the interrupt once they are empty. Link changes come from the
//! PHY interrupt the same way.
//!
//! The driver uses the chip in 32-bit PIO mode: every FIFO access is one 32-bit word whose
//! bytes are the frame's bytes in little-endian order.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use core::task::Context;

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState};
use embassy_sync::waitqueue::AtomicWaker;

use crate::mmio::RegisterBlock;

/// Largest Ethernet frame handed to or taken from the stack: header + 1500 payload, no FCS.
pub const MAX_FRAME_LEN: usize = 1514;

// Directly addressed registers (byte offsets from the chip's base address).
const RX_DATA_FIFO: usize = 0x00;
const TX_DATA_FIFO: usize = 0x20;
const RX_STATUS_FIFO: usize = 0x40;
const TX_STATUS_FIFO: usize = 0x48;
const ID_REV: usize = 0x50;
const IRQ_CFG: usize = 0x54;
const INT_STS: usize = 0x58;
const INT_EN: usize = 0x5C;
const BYTE_TEST: usize = 0x64;
const FIFO_INT: usize = 0x68;
const RX_CFG: usize = 0x6C;
const TX_CFG: usize = 0x70;
const HW_CFG: usize = 0x74;
const RX_FIFO_INF: usize = 0x7C;
const TX_FIFO_INF: usize = 0x80;
const PMT_CTRL: usize = 0x84;
const MAC_CSR_CMD: usize = 0xA4;
const MAC_CSR_DATA: usize = 0xA8;

/// Value BYTE_TEST reads as on a correctly wired, powered chip (any endianness mix-up shows).
const BYTE_TEST_MAGIC: u32 = 0x8765_4321;

// IRQ_CFG: enable the IRQ pin, push-pull, active high; de-assertion interval 0x22 * 10 us as
// the vendor's reference drivers use.
const IRQ_CFG_ENABLE_PUSH_PULL_HIGH: u32 = 0x2200_0111;

// INT_STS / INT_EN bits.
const INT_RSFL: u32 = 1 << 3; // RX status FIFO above its level (0): a frame is waiting
const INT_TDFA: u32 = 1 << 9; // TX data FIFO has room above its level
const INT_PHY: u32 = 1 << 18;
const INT_ALL: u32 = 0xFFFF_FFFF;

const HW_CFG_SRST: u32 = 1 << 0;
const HW_CFG_MBO: u32 = 1 << 20; // "must be one" on real silicon
const HW_CFG_TX_FIFO_5K: u32 = 5 << 16;

const PMT_CTRL_READY: u32 = 1 << 0;

/// FIFO_INT: TX-data-available level (in 64-byte units) = room for one full frame plus its
/// command words. The RX status level (low byte) stays 0: interrupt as soon as a frame is in.
const FIFO_INT_LEVELS: u32 = (MAX_FRAME_LEN as u32 + TX_CMD_OVERHEAD).div_ceil(64) << 24;

const TX_CFG_TX_ON: u32 = 1 << 1;
const TX_CFG_TXSAO: u32 = 1 << 2; // let the TX status FIFO overrun instead of stalling TX

const TX_CMD_A_FIRST_SEG: u32 = 1 << 13;
const TX_CMD_A_LAST_SEG: u32 = 1 << 12;
/// Bytes TX_DATA_FIFO needs beyond the frame: the two command words.
const TX_CMD_OVERHEAD: u32 = 8;

const RX_STS_ERROR_SUMMARY: u32 = 1 << 15;
const RX_STS_FILTER_FAIL: u32 = 1 << 30;
const TX_STS_ERROR_SUMMARY: u32 = 1 << 15;

const MAC_CSR_BUSY: u32 = 1 << 31;
const MAC_CSR_READ: u32 = 1 << 30;

// Indirect MAC registers (through MAC_CSR_CMD/MAC_CSR_DATA).
const MAC_CR: u32 = 1;
const MAC_ADDRH: u32 = 2;
const MAC_ADDRL: u32 = 3;
const MAC_MII_ACC: u32 = 6;
const MAC_MII_DATA: u32 = 7;

const MAC_CR_RXEN: u32 = 1 << 2;
const MAC_CR_TXEN: u32 = 1 << 3;
const MAC_CR_FDPX: u32 = 1 << 20;
/// Pass all multicast: IPv6 neighbour discovery needs solicited-node groups, and the hash
/// filter is not worth programming for a handful of groups.
const MAC_CR_MCPAS: u32 = 1 << 19;

const MII_ACC_BUSY: u32 = 1 << 0;
const MII_ACC_WRITE: u32 = 1 << 1;
const INTERNAL_PHY_ADDR: u32 = 1;

// Internal PHY registers.
const PHY_BCR: u32 = 0;
const PHY_BSR: u32 = 1;
const PHY_ANAR: u32 = 4;
const PHY_ANLPAR: u32 = 5;
const PHY_INT_SOURCE: u32 = 29;
const PHY_INT_MASK: u32 = 30;

const PHY_BCR_AUTONEG_ENABLE: u32 = 1 << 12;
const PHY_BCR_AUTONEG_RESTART: u32 = 1 << 9;
const PHY_BSR_LINK_UP: u32 = 1 << 2;
/// 10/100 half/full duplex, IEEE 802.3 selector.
const PHY_ANAR_ALL_10_100: u32 = 0x01E1;
const PHY_ABILITY_100_FULL: u32 = 1 << 8;
const PHY_ABILITY_100_HALF: u32 = 1 << 7;
const PHY_ABILITY_10_FULL: u32 = 1 << 6;
const PHY_INT_LINK_DOWN: u32 = 1 << 4;
const PHY_INT_AUTONEG_DONE: u32 = 1 << 6;

/// Polls of a busy bit before giving up; each poll is a bus access of well under 1 us.
const BUSY_POLLS: u32 = 100_000;

/// Locally administered, unicast: used when neither the caller nor the chip's EEPROM has one.
pub const FALLBACK_MAC: [u8; 6] = [0x02, 0xfc, 0x00, 0x00, 0x00, 0x01];

/// Why bring-up failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum InitError {
    /// BYTE_TEST did not read back its fixed pattern: no chip here, or a bus-width mismatch.
    NotFound { byte_test: u32 },
    /// HW_CFG.SRST stayed set.
    ResetTimeout,
    /// PMT_CTRL.READY never came up after reset.
    NotReady,
    /// An indirect MAC or PHY register access stayed busy.
    RegisterBusy,
}

/// Bring-up options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Config {
    /// MAC address to program; `None` keeps the chip's (from its EEPROM) if usable.
    pub mac: Option<[u8; 6]>,
}

/// Counters kept by the driver (read them through [`Lan9118::stats`]).
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    pub rx_frames: u32,
    /// Frames the chip flagged as bad, or too short/long for the buffers.
    pub rx_dropped: u32,
    pub tx_frames: u32,
    pub tx_errors: u32,
}

/// The part of the driver that the interrupt handler shares with the network task. Lives in a
/// `static` so the handler can reach it; see `crate::mps2::NIC`.
pub struct Lan9118Shared {
    regs: RegisterBlock,
    waker: AtomicWaker,
    phy_event: AtomicBool,
    /// Interrupts taken; written only by the handler (load + store, no RMW atomics needed).
    interrupts: AtomicU32,
}

impl Lan9118Shared {
    pub const fn new(regs: RegisterBlock) -> Self {
        Self {
            regs,
            waker: AtomicWaker::new(),
            // Read the link once at start even without an interrupt.
            phy_event: AtomicBool::new(true),
            interrupts: AtomicU32::new(0),
        }
    }

    /// Call from the NIC's interrupt handler. Masks every source that fired (the task re-arms
    /// them once it has serviced them, so a level-triggered source cannot storm), acknowledges
    /// what can be acknowledged here and wakes the network task.
    pub fn on_interrupt(&self) {
        let taken = self.interrupts.load(Ordering::Relaxed);
        self.interrupts
            .store(taken.wrapping_add(1), Ordering::Relaxed);
        let enabled = self.regs.read(INT_EN);
        let pending = self.regs.read(INT_STS) & enabled;
        if pending == 0 {
            return;
        }
        if pending & INT_PHY != 0 {
            self.phy_event.store(true, Ordering::Release);
        }
        self.regs.write(INT_EN, enabled & !pending);
        // The PHY source only clears when its own status register is read (task side).
        self.regs.write(INT_STS, pending & !INT_PHY);
        self.waker.wake();
    }

    /// How many times the NIC interrupt handler ran.
    pub fn interrupts_taken(&self) -> u32 {
        self.interrupts.load(Ordering::Relaxed)
    }

    fn enable_interrupts(&self, bits: u32) {
        // The handler also read-modify-writes INT_EN; keep it out while we do.
        critical_section::with(|_| {
            let enabled = self.regs.read(INT_EN);
            self.regs.write(INT_EN, enabled | bits);
        });
    }
}

/// A brought-up LAN9118 with its frame buffers. Put it in a `StaticCell`: it is ~3 KiB.
pub struct Lan9118 {
    shared: &'static Lan9118Shared,
    mac: [u8; 6],
    id_rev: u32,
    link_up: bool,
    stats: Stats,
    /// Whole words: the RX FIFO also delivers the 4-byte FCS.
    rx_buf: [u8; MAX_FRAME_LEN + 6],
    tx_buf: [u8; MAX_FRAME_LEN],
}

impl Lan9118 {
    /// Resets and configures the chip; receive and link interrupts are enabled on return (the
    /// caller unmasks the NIC's line in the interrupt controller afterwards).
    pub fn new(shared: &'static Lan9118Shared, config: Config) -> Result<Self, InitError> {
        let regs = &shared.regs;
        let byte_test = regs.read(BYTE_TEST);
        if byte_test != BYTE_TEST_MAGIC {
            return Err(InitError::NotFound { byte_test });
        }
        regs.write(INT_EN, 0);
        regs.write(HW_CFG, HW_CFG_SRST);
        wait_until(|| regs.read(HW_CFG) & HW_CFG_SRST == 0).ok_or(InitError::ResetTimeout)?;
        wait_until(|| regs.read(PMT_CTRL) & PMT_CTRL_READY != 0).ok_or(InitError::NotReady)?;
        let id_rev = regs.read(ID_REV);

        regs.write(HW_CFG, HW_CFG_MBO | HW_CFG_TX_FIFO_5K);

        let chip_mac = mac_from_registers(
            mac_read(regs, MAC_ADDRL).ok_or(InitError::RegisterBusy)?,
            mac_read(regs, MAC_ADDRH).ok_or(InitError::RegisterBusy)?,
        );
        let mac = match config.mac {
            Some(mac) => mac,
            None if is_usable_unicast_mac(&chip_mac) => chip_mac,
            None => FALLBACK_MAC,
        };
        let (low, high) = mac_to_registers(&mac);
        mac_write(regs, MAC_ADDRL, low).ok_or(InitError::RegisterBusy)?;
        mac_write(regs, MAC_ADDRH, high).ok_or(InitError::RegisterBusy)?;

        phy_write(regs, PHY_ANAR, PHY_ANAR_ALL_10_100).ok_or(InitError::RegisterBusy)?;
        phy_write(
            regs,
            PHY_BCR,
            PHY_BCR_AUTONEG_ENABLE | PHY_BCR_AUTONEG_RESTART,
        )
        .ok_or(InitError::RegisterBusy)?;
        phy_write(regs, PHY_INT_MASK, PHY_INT_LINK_DOWN | PHY_INT_AUTONEG_DONE)
            .ok_or(InitError::RegisterBusy)?;
        phy_read(regs, PHY_INT_SOURCE).ok_or(InitError::RegisterBusy)?;

        regs.write(FIFO_INT, FIFO_INT_LEVELS);
        // Frames start word-aligned at offset 0; no end padding beyond the word.
        regs.write(RX_CFG, 0);
        regs.write(TX_CFG, TX_CFG_TX_ON | TX_CFG_TXSAO);
        mac_write(regs, MAC_CR, MAC_CR_TXEN | MAC_CR_RXEN | MAC_CR_MCPAS)
            .ok_or(InitError::RegisterBusy)?;

        regs.write(IRQ_CFG, IRQ_CFG_ENABLE_PUSH_PULL_HIGH);
        regs.write(INT_STS, INT_ALL);
        shared.phy_event.store(true, Ordering::Release);
        regs.write(INT_EN, INT_RSFL | INT_PHY);

        Ok(Self {
            shared,
            mac,
            id_rev,
            link_up: false,
            stats: Stats::default(),
            rx_buf: [0; MAX_FRAME_LEN + 6],
            tx_buf: [0; MAX_FRAME_LEN],
        })
    }

    pub fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    /// ID_REV as read at bring-up: chip id in the high half (0x0118, 0x9220, ...).
    pub fn id_rev(&self) -> u32 {
        self.id_rev
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether the TX FIFO can take a full frame now; if not, arms the TX-space interrupt so
    /// the task is woken when it can (acknowledge, re-check, unmask: no lost wake-up).
    fn tx_ready_or_arm(shared: &Lan9118Shared) -> bool {
        let regs = &shared.regs;
        if tx_has_room(regs) {
            return true;
        }
        regs.write(INT_STS, INT_TDFA);
        if tx_has_room(regs) {
            return true;
        }
        shared.enable_interrupts(INT_TDFA);
        false
    }
}

fn tx_has_room(regs: &RegisterBlock) -> bool {
    regs.read(TX_FIFO_INF) & 0xFFFF >= MAX_FRAME_LEN as u32 + TX_CMD_OVERHEAD
}

fn rx_frames_waiting(regs: &RegisterBlock) -> u32 {
    (regs.read(RX_FIFO_INF) >> 16) & 0xFF
}

impl Driver for Lan9118 {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, cx: &mut Context) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let shared = self.shared;
        let regs = &shared.regs;
        shared.waker.register(cx.waker());
        if !Self::tx_ready_or_arm(shared) {
            // Frames stay in the RX FIFO until a reply could be sent too.
            return None;
        }
        loop {
            if rx_frames_waiting(regs) == 0 {
                // Acknowledge first, then re-check, then unmask: a frame landing in between
                // either shows in the re-check or raises the interrupt again.
                regs.write(INT_STS, INT_RSFL);
                if rx_frames_waiting(regs) == 0 {
                    shared.enable_interrupts(INT_RSFL);
                    return None;
                }
            }
            let status = regs.read(RX_STATUS_FIFO);
            let len_with_fcs = rx_status_frame_len(status);
            let words = len_with_fcs.div_ceil(4);
            let unusable = status & (RX_STS_ERROR_SUMMARY | RX_STS_FILTER_FAIL) != 0
                || len_with_fcs < 14 + 4
                || words * 4 > self.rx_buf.len();
            if unusable {
                for _ in 0..words {
                    regs.read(RX_DATA_FIFO);
                }
                self.stats.rx_dropped = self.stats.rx_dropped.wrapping_add(1);
                continue;
            }
            for chunk in self.rx_buf.chunks_exact_mut(4).take(words) {
                chunk.copy_from_slice(&regs.read(RX_DATA_FIFO).to_le_bytes());
            }
            self.stats.rx_frames = self.stats.rx_frames.wrapping_add(1);
            let len = len_with_fcs - 4;
            return Some((
                RxToken {
                    frame: &mut self.rx_buf[..len],
                },
                TxToken {
                    regs,
                    buf: &mut self.tx_buf,
                    stats: &mut self.stats,
                },
            ));
        }
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<TxToken<'_>> {
        let shared = self.shared;
        shared.waker.register(cx.waker());
        if !Self::tx_ready_or_arm(shared) {
            return None;
        }
        Some(TxToken {
            regs: &shared.regs,
            buf: &mut self.tx_buf,
            stats: &mut self.stats,
        })
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        let shared = self.shared;
        shared.waker.register(cx.waker());
        // Load + store under a critical section rather than `swap`: Cortex-M0 (thumbv6m)
        // has no atomic read-modify-write, and this crate builds for every board.
        let phy_event = critical_section::with(|_| {
            let event = shared.phy_event.load(Ordering::Acquire);
            shared.phy_event.store(false, Ordering::Release);
            event
        });
        if phy_event {
            let regs = &shared.regs;
            // Reading the source register clears the PHY's interrupt line.
            let _ = phy_read(regs, PHY_INT_SOURCE);
            regs.write(INT_STS, INT_PHY);
            // BSR's link bit latches low: the second read is the current state.
            let _ = phy_read(regs, PHY_BSR);
            if let Some(bsr) = phy_read(regs, PHY_BSR) {
                self.link_up = bsr & PHY_BSR_LINK_UP != 0;
            }
            if self.link_up {
                // The MAC must run the duplex the PHY negotiated, or late collisions follow.
                if let (Some(ours), Some(theirs)) =
                    (phy_read(regs, PHY_ANAR), phy_read(regs, PHY_ANLPAR))
                {
                    let full = negotiated_full_duplex(ours, theirs);
                    if let Some(cr) = mac_read(regs, MAC_CR) {
                        let cr = if full {
                            cr | MAC_CR_FDPX
                        } else {
                            cr & !MAC_CR_FDPX
                        };
                        let _ = mac_write(regs, MAC_CR, cr);
                    }
                }
            }
            shared.enable_interrupts(INT_PHY);
        }
        if self.link_up {
            LinkState::Up
        } else {
            LinkState::Down
        }
    }

    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::default();
        caps.max_transmission_unit = MAX_FRAME_LEN;
        caps.max_burst_size = Some(1);
        caps
    }

    fn hardware_address(&self) -> HardwareAddress {
        HardwareAddress::Ethernet(self.mac)
    }
}

/// A received frame (without FCS), already copied out of the RX FIFO.
pub struct RxToken<'a> {
    frame: &'a mut [u8],
}

impl embassy_net_driver::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Room for one frame in the TX FIFO (checked when the token was handed out).
pub struct TxToken<'a> {
    regs: &'a RegisterBlock,
    buf: &'a mut [u8; MAX_FRAME_LEN],
    stats: &'a mut Stats,
}

impl embassy_net_driver::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        // The stack never asks for more than the MTU it was given; clamp rather than panic.
        let len = len.min(MAX_FRAME_LEN);
        let result = f(&mut self.buf[..len]);
        let (cmd_a, cmd_b) = tx_commands(len);
        self.regs.write(TX_DATA_FIFO, cmd_a);
        self.regs.write(TX_DATA_FIFO, cmd_b);
        for chunk in self.buf[..len].chunks(4) {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            self.regs.write(TX_DATA_FIFO, u32::from_le_bytes(word));
        }
        self.stats.tx_frames = self.stats.tx_frames.wrapping_add(1);
        // One status word per frame sent; read them so the FIFO never fills.
        let done = (self.regs.read(TX_FIFO_INF) >> 16) & 0xFF;
        for _ in 0..done {
            if self.regs.read(TX_STATUS_FIFO) & TX_STS_ERROR_SUMMARY != 0 {
                self.stats.tx_errors = self.stats.tx_errors.wrapping_add(1);
            }
        }
        result
    }
}

/// Frame length including FCS from an RX status word.
fn rx_status_frame_len(status: u32) -> usize {
    ((status >> 16) & 0x3FFF) as usize
}

/// TX command A and B for a single-segment frame of `len` bytes (tagged with its length).
fn tx_commands(len: usize) -> (u32, u32) {
    let len = len as u32 & 0x7FF;
    (
        TX_CMD_A_FIRST_SEG | TX_CMD_A_LAST_SEG | len,
        (len << 16) | len,
    )
}

/// Duplex of the best mode both ends advertise (802.3 priority: 100FD, 100HD, 10FD, 10HD).
fn negotiated_full_duplex(ours: u32, theirs: u32) -> bool {
    let common = ours & theirs;
    if common & PHY_ABILITY_100_FULL != 0 {
        true
    } else if common & PHY_ABILITY_100_HALF != 0 {
        false
    } else {
        common & PHY_ABILITY_10_FULL != 0
    }
}

fn mac_from_registers(low: u32, high: u32) -> [u8; 6] {
    let l = low.to_le_bytes();
    let h = high.to_le_bytes();
    [l[0], l[1], l[2], l[3], h[0], h[1]]
}

fn mac_to_registers(mac: &[u8; 6]) -> (u32, u32) {
    (
        u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
        u32::from_le_bytes([mac[4], mac[5], 0, 0]),
    )
}

fn is_usable_unicast_mac(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && mac.iter().any(|&b| b != 0)
}

fn wait_until(mut done: impl FnMut() -> bool) -> Option<()> {
    (0..BUSY_POLLS).any(|_| done()).then_some(())
}

fn mac_read(regs: &RegisterBlock, reg: u32) -> Option<u32> {
    wait_until(|| regs.read(MAC_CSR_CMD) & MAC_CSR_BUSY == 0)?;
    regs.write(MAC_CSR_CMD, MAC_CSR_BUSY | MAC_CSR_READ | reg);
    wait_until(|| regs.read(MAC_CSR_CMD) & MAC_CSR_BUSY == 0)?;
    Some(regs.read(MAC_CSR_DATA))
}

fn mac_write(regs: &RegisterBlock, reg: u32, value: u32) -> Option<()> {
    wait_until(|| regs.read(MAC_CSR_CMD) & MAC_CSR_BUSY == 0)?;
    regs.write(MAC_CSR_DATA, value);
    regs.write(MAC_CSR_CMD, MAC_CSR_BUSY | reg);
    wait_until(|| regs.read(MAC_CSR_CMD) & MAC_CSR_BUSY == 0)
}

fn mii_command(reg: u32, write: bool) -> u32 {
    let direction = if write { MII_ACC_WRITE } else { 0 };
    (INTERNAL_PHY_ADDR << 11) | ((reg & 0x1F) << 6) | direction | MII_ACC_BUSY
}

fn mii_idle(regs: &RegisterBlock) -> Option<()> {
    wait_until(|| mac_read(regs, MAC_MII_ACC).is_some_and(|acc| acc & MII_ACC_BUSY == 0))
}

fn phy_read(regs: &RegisterBlock, reg: u32) -> Option<u32> {
    mii_idle(regs)?;
    mac_write(regs, MAC_MII_ACC, mii_command(reg, false))?;
    mii_idle(regs)?;
    Some(mac_read(regs, MAC_MII_DATA)? & 0xFFFF)
}

fn phy_write(regs: &RegisterBlock, reg: u32, value: u32) -> Option<()> {
    mii_idle(regs)?;
    mac_write(regs, MAC_MII_DATA, value & 0xFFFF)?;
    mac_write(regs, MAC_MII_ACC, mii_command(reg, true))?;
    mii_idle(regs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_register_layout_round_trips() {
        let mac = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
        let (low, high) = mac_to_registers(&mac);
        assert_eq!(low, 0x1200_5452);
        assert_eq!(high, 0x0000_5634);
        assert_eq!(mac_from_registers(low, high), mac);
    }

    #[test]
    fn unusable_macs_are_rejected() {
        assert!(!is_usable_unicast_mac(&[0; 6]));
        assert!(!is_usable_unicast_mac(&[0xff; 6]));
        assert!(!is_usable_unicast_mac(&[0x33, 0x33, 0, 0, 0, 1]));
        assert!(is_usable_unicast_mac(&FALLBACK_MAC));
    }

    #[test]
    fn rx_status_length_field() {
        // 64-byte frame + FCS, broadcast bit set, no error.
        assert_eq!(rx_status_frame_len((68 << 16) | 0x2000), 68);
        assert_eq!(rx_status_frame_len(0xFFFF_FFFF), 0x3FFF);
    }

    #[test]
    fn tx_commands_single_segment() {
        let (a, b) = tx_commands(60);
        assert_eq!(a, 0x3000 | 60);
        assert_eq!(b, (60 << 16) | 60);
    }

    #[test]
    fn duplex_resolution_follows_802_3_priority() {
        // QEMU's PHY: we advertise everything, the partner reports 0x0f71 (all 10/100 modes).
        assert!(negotiated_full_duplex(PHY_ANAR_ALL_10_100, 0x0F71));
        // Partner only 100 half + 10 full: 100 half wins.
        assert!(!negotiated_full_duplex(PHY_ANAR_ALL_10_100, 0x00C1));
        assert!(negotiated_full_duplex(PHY_ANAR_ALL_10_100, 0x0041));
        assert!(!negotiated_full_duplex(PHY_ANAR_ALL_10_100, 0x0021));
    }

    #[test]
    fn fifo_levels_fit_one_full_frame() {
        assert_eq!(FIFO_INT_LEVELS, 24 << 24);
        assert!((FIFO_INT_LEVELS >> 24) * 64 >= MAX_FRAME_LEN as u32 + TX_CMD_OVERHEAD);
    }

    #[test]
    fn mii_command_encoding() {
        assert_eq!(mii_command(PHY_BSR, false), 0x0841);
        assert_eq!(mii_command(PHY_INT_MASK, true), 0x0800 | (30 << 6) | 0x3);
    }
}
