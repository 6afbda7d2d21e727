//! Splits one Ethernet device between the cjdns node and the IP stack.
//!
//! [`EtherSplit`] wraps the board's real [`Driver`] and is itself a [`Driver`], which is what
//! `embassy-net` is given. Frames with ethertype 0xfc00 (cjdns ETHInterface: beacons and switch
//! traffic) never reach the IP stack: they are queued in [`NodeFrames::to_node`] for the node
//! task. Frames the node wants to send are queued in [`NodeFrames::from_node`] and put on the
//! wire from the same network task, so the real device keeps a single owner.

use core::task::{Context, Poll};

use embassy_net_driver::{Capabilities, Driver, HardwareAddress, LinkState, RxToken, TxToken};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;

/// cjdns' ETHInterface ethertype.
pub const ETHERTYPE_FC00: u16 = 0xFC00;

/// Largest Ethernet frame without FCS.
pub const MAX_FRAME_LEN: usize = 1514;

const ETH_HEADER_LEN: usize = 14;

/// One Ethernet frame (header included, FCS excluded) in transit to or from the node.
pub type EthFrame = heapless::Vec<u8, MAX_FRAME_LEN>;

/// The two queues between the network task and the node task. Put it in a `static`; each
/// slot costs one [`EthFrame`] (~1.5 KiB).
pub struct NodeFrames<const N: usize> {
    /// 0xfc00 frames received from the wire, for the node.
    pub to_node: Channel<CriticalSectionRawMutex, EthFrame, N>,
    /// Complete Ethernet frames the node wants sent.
    pub from_node: Channel<CriticalSectionRawMutex, EthFrame, N>,
}

impl<const N: usize> NodeFrames<N> {
    pub const fn new() -> Self {
        Self {
            to_node: Channel::new(),
            from_node: Channel::new(),
        }
    }
}

impl<const N: usize> Default for NodeFrames<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a received frame went, for logging and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Route {
    /// Handed to the IP stack.
    Stack,
    /// Queued for the node.
    Node,
    /// 0xfc00 frame dropped: the node's queue was full.
    NodeQueueFull,
    /// Shorter than an Ethernet header.
    Runt,
}

/// Called for every received frame with its ethertype (0 for runts), length and route.
pub type FrameObserver = fn(ethertype: u16, len: usize, route: Route);

/// Counters of [`EtherSplit`].
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SplitStats {
    pub to_stack: u32,
    pub to_node: u32,
    pub node_queue_full: u32,
    pub runts: u32,
    pub from_node: u32,
}

/// A [`Driver`] over `D` that diverts 0xfc00 frames to the node (see the module docs).
pub struct EtherSplit<'n, D: Driver, const N: usize> {
    inner: D,
    node: &'n NodeFrames<N>,
    observer: Option<FrameObserver>,
    stats: SplitStats,
    rx_buf: [u8; MAX_FRAME_LEN],
}

impl<'n, D: Driver, const N: usize> EtherSplit<'n, D, N> {
    pub fn new(inner: D, node: &'n NodeFrames<N>, observer: Option<FrameObserver>) -> Self {
        Self {
            inner,
            node,
            observer,
            stats: SplitStats::default(),
            rx_buf: [0; MAX_FRAME_LEN],
        }
    }

    pub fn stats(&self) -> SplitStats {
        self.stats
    }

    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Sends what the node queued, as far as the device has room. Registers the task's waker
    /// on the node's queue so a later send wakes the network task.
    fn flush_node_frames(&mut self, cx: &mut Context) {
        while self.node.from_node.poll_ready_to_receive(cx) == Poll::Ready(()) {
            let Some(token) = self.inner.transmit(cx) else {
                return;
            };
            let Ok(frame) = self.node.from_node.try_receive() else {
                return;
            };
            token.consume(frame.len(), |buf| buf.copy_from_slice(&frame));
            self.stats.from_node = self.stats.from_node.wrapping_add(1);
        }
    }
}

/// Ethertype of a frame, or `None` if it is shorter than an Ethernet header.
pub fn ethertype(frame: &[u8]) -> Option<u16> {
    match frame.get(12..ETH_HEADER_LEN) {
        Some(&[high, low]) => Some(u16::from_be_bytes([high, low])),
        _ => None,
    }
}

impl<D: Driver, const N: usize> Driver for EtherSplit<'_, D, N> {
    type RxToken<'a>
        = SplitRxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, cx: &mut Context) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        self.flush_node_frames(cx);
        let Self {
            inner,
            node,
            observer,
            stats,
            rx_buf,
        } = self;
        let (rx, tx) = inner.receive(cx)?;
        let len = rx.consume(|frame| {
            let len = frame.len().min(rx_buf.len());
            rx_buf[..len].copy_from_slice(&frame[..len]);
            len
        });
        let frame = &mut rx_buf[..len];
        let (ethertype, route) = match ethertype(frame) {
            None => (0, Route::Runt),
            Some(ETHERTYPE_FC00) => {
                // `from_slice` cannot fail: `frame` is at most MAX_FRAME_LEN long.
                let queued = EthFrame::from_slice(frame)
                    .ok()
                    .is_some_and(|f| node.to_node.try_send(f).is_ok());
                let route = if queued {
                    Route::Node
                } else {
                    Route::NodeQueueFull
                };
                (ETHERTYPE_FC00, route)
            }
            Some(other) => (other, Route::Stack),
        };
        match route {
            Route::Stack => stats.to_stack = stats.to_stack.wrapping_add(1),
            Route::Node => stats.to_node = stats.to_node.wrapping_add(1),
            Route::NodeQueueFull => stats.node_queue_full = stats.node_queue_full.wrapping_add(1),
            Route::Runt => stats.runts = stats.runts.wrapping_add(1),
        }
        if let Some(observe) = observer {
            observe(ethertype, len, route);
        }
        if route == Route::Stack {
            Some((SplitRxToken { frame }, tx))
        } else {
            // Not for the stack: ask to be polled again, more frames may be waiting.
            cx.waker().wake_by_ref();
            None
        }
    }

    fn transmit(&mut self, cx: &mut Context) -> Option<Self::TxToken<'_>> {
        self.flush_node_frames(cx);
        self.inner.transmit(cx)
    }

    fn link_state(&mut self, cx: &mut Context) -> LinkState {
        self.inner.link_state(cx)
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn hardware_address(&self) -> HardwareAddress {
        self.inner.hardware_address()
    }
}

/// A frame for the IP stack, already copied out of the device.
pub struct SplitRxToken<'a> {
    frame: &'a mut [u8],
}

impl RxToken for SplitRxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::vec::Vec;

    use super::*;

    /// A device with a queue of frames to receive and a log of frames sent.
    #[derive(Default)]
    struct FakeDevice {
        incoming: Vec<Vec<u8>>,
        sent: Vec<Vec<u8>>,
    }

    struct FakeRx(Vec<u8>);
    struct FakeTx<'a>(&'a mut Vec<Vec<u8>>);

    impl RxToken for FakeRx {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(mut self, f: F) -> R {
            f(&mut self.0)
        }
    }

    impl TxToken for FakeTx<'_> {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            let mut buf = std::vec![0u8; len];
            let r = f(&mut buf);
            self.0.push(buf);
            r
        }
    }

    impl Driver for FakeDevice {
        type RxToken<'a> = FakeRx;
        type TxToken<'a> = FakeTx<'a>;

        fn receive(&mut self, _cx: &mut Context) -> Option<(FakeRx, FakeTx<'_>)> {
            if self.incoming.is_empty() {
                return None;
            }
            let frame = self.incoming.remove(0);
            Some((FakeRx(frame), FakeTx(&mut self.sent)))
        }

        fn transmit(&mut self, _cx: &mut Context) -> Option<FakeTx<'_>> {
            Some(FakeTx(&mut self.sent))
        }

        fn link_state(&mut self, _cx: &mut Context) -> LinkState {
            LinkState::Up
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities::default()
        }

        fn hardware_address(&self) -> HardwareAddress {
            HardwareAddress::Ethernet([2, 0, 0, 0, 0, 1])
        }
    }

    fn frame(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = std::vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn fc00_frames_go_to_the_node_and_the_rest_to_the_stack() {
        let node: NodeFrames<2> = NodeFrames::new();
        let device = FakeDevice {
            incoming: std::vec![
                frame(0xfc00, b"beacon"),
                frame(0x86dd, b"ipv6"),
                std::vec![1, 2, 3]
            ],
            ..Default::default()
        };
        let mut split = EtherSplit::new(device, &node, None);
        let mut cx = Context::from_waker(core::task::Waker::noop());

        assert!(
            split.receive(&mut cx).is_none(),
            "0xfc00 frame must not reach the stack"
        );
        let got = node.to_node.try_receive().unwrap();
        assert_eq!(&got[..], &frame(0xfc00, b"beacon")[..]);

        let (rx, _tx) = split
            .receive(&mut cx)
            .expect("IPv6 frame reaches the stack");
        let seen = rx.consume(|f| f.to_vec());
        assert_eq!(seen, frame(0x86dd, b"ipv6"));

        assert!(split.receive(&mut cx).is_none(), "runt is dropped");
        let stats = split.stats();
        assert_eq!((stats.to_node, stats.to_stack, stats.runts), (1, 1, 1));
    }

    #[test]
    fn full_node_queue_drops_and_counts() {
        let node: NodeFrames<1> = NodeFrames::new();
        let device = FakeDevice {
            incoming: std::vec![frame(0xfc00, b"a"), frame(0xfc00, b"b")],
            ..Default::default()
        };
        let mut split = EtherSplit::new(device, &node, None);
        let mut cx = Context::from_waker(core::task::Waker::noop());
        assert!(split.receive(&mut cx).is_none());
        assert!(split.receive(&mut cx).is_none());
        assert_eq!(split.stats().node_queue_full, 1);
    }

    #[test]
    fn node_frames_are_sent_when_the_stack_polls() {
        let node: NodeFrames<2> = NodeFrames::new();
        let mut split = EtherSplit::new(FakeDevice::default(), &node, None);
        let mut cx = Context::from_waker(core::task::Waker::noop());
        let out = EthFrame::from_slice(&frame(0xfc00, b"hello")).unwrap();
        node.from_node.try_send(out.clone()).unwrap();
        assert!(split.receive(&mut cx).is_none());
        assert_eq!(split.inner().sent, std::vec![out.to_vec()]);
        assert_eq!(split.stats().from_node, 1);
    }

    #[test]
    fn ethertype_of_short_and_normal_frames() {
        assert_eq!(ethertype(&[0; 13]), None);
        assert_eq!(ethertype(&frame(0x0806, b"")), Some(0x0806));
    }
}
