//! ARM CMSDK APB UART (the UARTs of the MPS2 FPGA images and many Cortex-M SoCs) as
//! `embedded-io` / `embedded-io-async` byte streams, for the serial management link.
//!
//! Transmit polls the one-byte holding register (the link is slow and writes are short).
//! Receive is interrupt driven: the RX interrupt handler moves bytes from the one-byte data
//! register into a small ring, so the task may lag by up to [`RX_RING`] bytes.

use core::cell::RefCell;
use core::convert::Infallible;
use core::future::poll_fn;
use core::task::Poll;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::waitqueue::AtomicWaker;
use heapless::Deque;

use crate::mmio::RegisterBlock;

/// Bytes buffered between the RX interrupt and the reading task.
pub const RX_RING: usize = 64;

const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INT_STATUS_CLEAR: usize = 0x0C;
const BAUDDIV: usize = 0x10;

const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;
const INT_RX: u32 = 1 << 1;
const INT_RX_OVERRUN: u32 = 1 << 3;
/// The divider must be at least 16 or the UART does not run.
const MIN_BAUDDIV: u32 = 16;

struct RxState {
    ring: Deque<u8, RX_RING>,
    dropped: u32,
}

/// The part of the UART the RX interrupt handler shares with the task; lives in a `static`.
pub struct CmsdkUartShared {
    regs: RegisterBlock,
    rx: Mutex<CriticalSectionRawMutex, RefCell<RxState>>,
    waker: AtomicWaker,
}

impl CmsdkUartShared {
    pub const fn new(regs: RegisterBlock) -> Self {
        Self {
            regs,
            rx: Mutex::new(RefCell::new(RxState {
                ring: Deque::new(),
                dropped: 0,
            })),
            waker: AtomicWaker::new(),
        }
    }

    /// Call from the UART's RX interrupt handler.
    pub fn on_rx_interrupt(&self) {
        self.regs.write(INT_STATUS_CLEAR, INT_RX | INT_RX_OVERRUN);
        self.rx.lock(|rx| {
            let mut rx = rx.borrow_mut();
            while self.regs.read(STATE) & STATE_RX_FULL != 0 {
                let byte = self.regs.read(DATA) as u8;
                if rx.ring.push_back(byte).is_err() {
                    rx.dropped = rx.dropped.wrapping_add(1);
                }
            }
        });
        self.waker.wake();
    }
}

/// A configured CMSDK UART. Errors are impossible at this level (overruns are counted).
pub struct CmsdkUart {
    shared: &'static CmsdkUartShared,
}

impl CmsdkUart {
    /// Enables TX, RX and the RX interrupt at `baud` from the peripheral clock `pclk_hz`.
    pub fn new(shared: &'static CmsdkUartShared, pclk_hz: u32, baud: u32) -> Self {
        let divider = (pclk_hz / baud.max(1)).max(MIN_BAUDDIV);
        shared.regs.write(BAUDDIV, divider);
        shared
            .regs
            .write(CTRL, CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN);
        Self { shared }
    }

    /// Bytes lost because the ring was full when they arrived.
    pub fn rx_dropped(&self) -> u32 {
        self.shared.rx.lock(|rx| rx.borrow().dropped)
    }

    fn write_byte(&self, byte: u8) {
        while self.shared.regs.read(STATE) & STATE_TX_FULL != 0 {}
        self.shared.regs.write(DATA, u32::from(byte));
    }

    fn take_buffered(&self, buf: &mut [u8]) -> usize {
        self.shared.rx.lock(|rx| {
            let mut rx = rx.borrow_mut();
            let mut n = 0;
            for slot in buf.iter_mut() {
                match rx.ring.pop_front() {
                    Some(byte) => {
                        *slot = byte;
                        n += 1;
                    }
                    None => break,
                }
            }
            n
        })
    }
}

impl embedded_io::ErrorType for CmsdkUart {
    type Error = Infallible;
}

impl embedded_io::Write for CmsdkUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        buf.iter().for_each(|&b| self.write_byte(b));
        Ok(buf.len())
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        while self.shared.regs.read(STATE) & STATE_TX_FULL != 0 {}
        Ok(())
    }
}

impl embedded_io::Read for CmsdkUart {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.take_buffered(buf);
            if n > 0 {
                return Ok(n);
            }
        }
    }
}

impl embedded_io_async::Write for CmsdkUart {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        embedded_io::Write::write(self, buf)
    }

    async fn flush(&mut self) -> Result<(), Infallible> {
        embedded_io::Write::flush(self)
    }
}

impl embedded_io_async::Read for CmsdkUart {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        poll_fn(|cx| {
            self.shared.waker.register(cx.waker());
            match self.take_buffered(buf) {
                0 => Poll::Pending,
                n => Poll::Ready(Ok(n)),
            }
        })
        .await
    }
}
