//! fc00 mesh node firmware for QEMU `mps2-an386` (Cortex-M4F + LAN9118; `mps2-an385`, the
//! Cortex-M3 variant, when built for `thumbv7m-none-eabi`).
//!
//! Today: brings up the NIC, runs an `embassy-net` stack (static IPv4 + IPv6 ULA, ICMP/ICMPv6
//! echo answered by smoltcp, UDP echo on port 7), and splits the Ethernet device so that
//! ethertype 0xfc00 frames go to the node task instead of the IP stack. The node task is a
//! placeholder that logs those frames until protocol-core's `Node` exists.
#![no_std]
#![no_main]

use defmt::{error, info, warn};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{
    Config, ConfigV6, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr, Runner, Stack, StackResources,
    StaticConfigV4, StaticConfigV6,
};
use embassy_time::Timer;
use embedded_io_async::{Read as _, Write as _};
use hal_boards::cmsdk_uart::CmsdkUart;
use hal_boards::ether_split::{EthFrame, EtherSplit, NodeFrames, Route, ETHERTYPE_FC00};
use hal_boards::lan9118::{self, Lan9118};
use hal_boards::mps2;
use static_cell::StaticCell;

/// The same image layout serves both QEMU MPS2 boards; the FPU target means the Cortex-M4F one.
const BOARD: &str = if cfg!(target_abi = "eabihf") {
    "mps2-an386"
} else {
    "mps2-an385"
};

/// Frames queued each way between the network task and the node task.
const NODE_QUEUE_DEPTH: usize = 2;
/// Sockets the stack can hold: UDP echo now; UDP peering and the fc-address services later.
const SOCKETS: usize = 3;
const UDP_ECHO_PORT: u16 = 7;
const SERIAL_BAUD: u32 = 115_200;
const STATS_PERIOD_SECS: u64 = 5;

const IPV4_ADDRESS: Ipv4Address = Ipv4Address::new(10, 200, 0, 2);
const IPV4_PREFIX: u8 = 24;
const IPV6_ADDRESS: Ipv6Address = Ipv6Address::new(0xfd00, 0xfc00, 0, 0, 0, 0, 0, 2);
const IPV6_PREFIX: u8 = 64;

type Device = EtherSplit<'static, &'static mut Lan9118, NODE_QUEUE_DEPTH>;

static NODE_FRAMES: NodeFrames<NODE_QUEUE_DEPTH> = NodeFrames::new();

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let Some(mut core) = cortex_m::Peripherals::take() else {
        halt("core peripherals already taken");
    };
    mps2::start_time(&mut core.SYST);
    info!(
        "fc00-firmware {=str} on {=str}",
        env!("CARGO_PKG_VERSION"),
        BOARD
    );

    static NIC: StaticCell<Lan9118> = StaticCell::new();
    let nic = match Lan9118::new(&mps2::NIC, lan9118::Config::default()) {
        Ok(nic) => NIC.init(nic),
        Err(e) => {
            error!("lan9118 bring-up failed: {}", e);
            halt("no Ethernet");
        }
    };
    info!(
        "lan9118: id_rev={=u32:#010x} mac={}",
        nic.id_rev(),
        Mac(nic.mac_address())
    );
    let mac = nic.mac_address();
    let serial = CmsdkUart::new(&mps2::UART0, mps2::SYSCLK_HZ, SERIAL_BAUD);
    mps2::enable_interrupts();

    let device: Device = EtherSplit::new(nic, &NODE_FRAMES, Some(log_frame));
    let mut config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(IPV4_ADDRESS, IPV4_PREFIX),
        gateway: None,
        dns_servers: Default::default(),
    });
    config.ipv6 = ConfigV6::Static(StaticConfigV6 {
        address: Ipv6Cidr::new(IPV6_ADDRESS, IPV6_PREFIX),
        gateway: None,
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    // No RNG on this board: the seed only randomises smoltcp's ports/sequence numbers. Real
    // boards seed from their hardware RNG.
    let seed = u64::from_le_bytes([0x66, 0x63, 0x30, 0x30, 0, 0, 0, 1]);
    let (stack, runner) =
        embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);

    spawner.spawn(unwrap_spawn(net_task(runner)));
    spawner.spawn(unwrap_spawn(udp_echo_task(stack)));
    spawner.spawn(unwrap_spawn(node_task(mac)));
    spawner.spawn(unwrap_spawn(serial_task(serial)));
    spawner.spawn(unwrap_spawn(stats_task()));

    stack.wait_config_up().await;
    info!(
        "fc00-firmware ready: ipv4 {}/{=u8} ipv6 {}/{=u8} udp-echo {=u16}",
        IPV4_ADDRESS, IPV4_PREFIX, IPV6_ADDRESS, IPV6_PREFIX, UDP_ECHO_PORT
    );
}

fn unwrap_spawn<T>(token: Result<T, embassy_executor::SpawnError>) -> T {
    match token {
        Ok(token) => token,
        Err(_) => halt("task pool exhausted"),
    }
}

/// Logs every received frame with the path it took (stack or node).
fn log_frame(ethertype: u16, len: usize, route: Route) {
    info!(
        "rx ethertype={=u16:#06x} len={=usize} -> {}",
        ethertype, len, route
    );
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}

/// Payload prefix of 0xfc00 test frames the stand-in node answers, so the node's transmit
/// path can be tested on the wire before the real node exists.
const STUB_ECHO_MAGIC: &[u8] = b"fc00-stub-echo";

/// Stand-in for the protocol-core node: consumes the 0xfc00 frames the splitter diverts and
/// answers test frames (payload starting with [`STUB_ECHO_MAGIC`]) through the node's queue.
#[embassy_executor::task]
async fn node_task(own_mac: [u8; 6]) -> ! {
    loop {
        let frame = NODE_FRAMES.to_node.receive().await;
        let mut source = [0u8; 6];
        if let Some(bytes) = frame.get(6..12) {
            source.copy_from_slice(bytes);
        }
        info!(
            "node: ethertype {=u16:#06x} frame len={=usize} from {}",
            ETHERTYPE_FC00,
            frame.len(),
            Mac(source)
        );
        let payload = frame.get(14..).unwrap_or(&[]);
        if payload.starts_with(STUB_ECHO_MAGIC) {
            let mut reply = EthFrame::new();
            let built = reply.extend_from_slice(&source).is_ok()
                && reply.extend_from_slice(&own_mac).is_ok()
                && reply
                    .extend_from_slice(&ETHERTYPE_FC00.to_be_bytes())
                    .is_ok()
                && reply.extend_from_slice(payload).is_ok();
            if built {
                NODE_FRAMES.from_node.send(reply).await;
                info!("node: stub echo sent to {}", Mac(source));
            }
        }
    }
}

/// Periodic health line: memory high-water mark and interrupt count.
#[embassy_executor::task]
async fn stats_task() -> ! {
    loop {
        Timer::after_secs(STATS_PERIOD_SECS).await;
        info!(
            "stats: stack high-water {=usize} bytes, nic interrupts {=u32}",
            mps2::stack_high_water(),
            mps2::NIC.interrupts_taken()
        );
    }
}

/// UART0 echo until the management protocol (postcard over COBS) lands.
#[embassy_executor::task]
async fn serial_task(mut serial: CmsdkUart) -> ! {
    let _ = serial
        .write_all(b"fc00-firmware: serial echo (management protocol not yet implemented)\r\n")
        .await;
    let mut buf = [0u8; 64];
    loop {
        let Ok(n) = serial.read(&mut buf).await;
        info!("serial: {=usize} bytes", n);
        let _ = serial.write_all(&buf[..n]).await;
    }
}

#[embassy_executor::task]
async fn udp_echo_task(stack: Stack<'static>) -> ! {
    let mut rx_meta = [PacketMetadata::EMPTY; 4];
    let mut rx_buf = [0u8; 1536];
    let mut tx_meta = [PacketMetadata::EMPTY; 4];
    let mut tx_buf = [0u8; 1536];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    if let Err(e) = socket.bind(UDP_ECHO_PORT) {
        error!("udp echo: bind failed: {}", e);
        halt("udp echo");
    }
    let mut datagram = [0u8; 1472];
    loop {
        match socket.recv_from(&mut datagram).await {
            Ok((len, meta)) => {
                info!(
                    "udp echo: {=usize} bytes from {} (nic interrupts so far: {=u32})",
                    len,
                    meta.endpoint,
                    mps2::NIC.interrupts_taken()
                );
                if let Err(e) = socket.send_to(&datagram[..len], meta.endpoint).await {
                    warn!("udp echo: send failed: {}", e);
                }
            }
            Err(e) => warn!("udp echo: receive failed: {}", e),
        }
    }
}

/// A MAC address printed as `52:54:00:12:34:56`.
struct Mac([u8; 6]);

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

fn halt(why: &'static str) -> ! {
    error!("halted: {=str}", why);
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    error!("panic: {}", defmt::Display2Format(info));
    loop {
        cortex_m::asm::wfi();
    }
}
