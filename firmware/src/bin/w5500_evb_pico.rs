//! fc00 node on a WIZnet W5500-EVB-Pico (RP2040 + W5500 on SPI0): `embassy-net-wiznet` runs
//! the W5500's socket 0 in MACRAW mode, so the board sends and receives whole Ethernet frames
//! (0xfc00 beacons and switch traffic included) instead of using the chip's own TCP/IP. The
//! management protocol is on UART0 (GP0/GP1), the key in the last 4 KiB sector of the QSPI
//! flash, randomness from the ring oscillator. Built in CI; not run here (no board). Flash and
//! run with `probe-rs run --chip RP2040` (see firmware/README.md).
#![no_std]
#![no_main]

use defmt::{error, info};
use defmt_rtt as _;
use embassy_executor::Spawner;
use embassy_net::{Config, Ipv4Cidr, Runner, Stack, StackResources, StaticConfigV4};
use embassy_net_wiznet::chip::W5500;
use embassy_rp::clocks::RoscRng;
use embassy_rp::flash::{Blocking, Flash};
use embassy_rp::gpio::{Input, Level, Output, Pull};
use embassy_rp::peripherals::{DMA_CH0, DMA_CH1, FLASH, SPI0, UART0};
use embassy_rp::spi::{Async, Config as SpiConfig, Spi};
use embassy_rp::uart::{self, BufferedUart};
use embassy_rp::{bind_interrupts, dma};
use embassy_time::Delay;
use embedded_hal_bus::spi::ExclusiveDevice;
use fc00_firmware::config::{FcNode, IPV4_ADDRESS, IPV4_PREFIX, UDP_PORT};
use fc00_firmware::{fc_stack, halt, mgmt, node_task, Mac};
use hal_boards::ether_split::{EtherSplit, NodeFrames};
use hal_boards::flash_key_store::FlashKeyStore;
use hal_boards::protocol_core::identity::{generate_keypair, PrivateKey};
use hal_boards::KeyStore;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use static_cell::StaticCell;

bind_interrupts!(struct Irqs {
    DMA_IRQ_0 => dma::InterruptHandler<DMA_CH0>, dma::InterruptHandler<DMA_CH1>;
    UART0_IRQ => uart::BufferedInterruptHandler<UART0>;
});

const FLASH_SIZE: usize = 2 * 1024 * 1024;
/// The last 4 KiB sector (memory-rp2040.x keeps the image below it).
const KEY_SECTOR_OFFSET: u32 = (FLASH_SIZE - 4096) as u32;
const NODE_QUEUE_DEPTH: usize = 2;
const SOCKETS: usize = 2;
const SERIAL_BAUD: u32 = 115_200;

type SpiDev = ExclusiveDevice<Spi<'static, SPI0, Async>, Output<'static>, Delay>;
type WiznetRunner =
    embassy_net_wiznet::Runner<'static, W5500, SpiDev, Input<'static>, Output<'static>>;
type Device = EtherSplit<'static, embassy_net_wiznet::Device<'static>, NODE_QUEUE_DEPTH>;
type KeyFlash = FlashKeyStore<Flash<'static, FLASH, Blocking, FLASH_SIZE>>;

static NODE_FRAMES: NodeFrames<NODE_QUEUE_DEPTH> = NodeFrames::new();

static MEMORY: mgmt::Memory = mgmt::Memory {
    static_ram_bytes: hal_boards::memory::static_ram_bytes,
    stack_bytes: hal_boards::memory::stack_bytes,
    stack_high_water: hal_boards::memory::stack_high_water,
};

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    info!(
        "fc00-firmware {=str} on w5500-evb-pico",
        env!("CARGO_PKG_VERSION")
    );

    let mut seed = [0u8; 32];
    RoscRng.fill_bytes(&mut seed);

    static KEY_STORE: StaticCell<KeyFlash> = StaticCell::new();
    let key_store = KEY_STORE.init(FlashKeyStore::new(
        Flash::new_blocking(p.FLASH),
        KEY_SECTOR_OFFSET,
    ));
    let private_key = match key_store.load() {
        Some(key) => PrivateKey(key),
        None => {
            let (key, _, _) = generate_keypair(&mut ChaCha20Rng::from_seed(seed));
            if key_store.store(key.as_bytes()).is_err() {
                error!("identity: key not written to flash");
            }
            key
        }
    };
    RoscRng.fill_bytes(&mut seed);
    let mut node_rng = fc00_firmware::rng::node_rng(&seed, private_key.as_bytes());
    let public_key = private_key.public_key();
    let fc_address = public_key.address_unchecked();
    let node = build_node(private_key, &mut node_rng);
    info!(
        "identity: public key {=str} address {=str}",
        public_key.to_k_string().as_str(),
        fc_address.to_full_string().as_str()
    );

    let mut spi_config = SpiConfig::default();
    spi_config.frequency = 50_000_000;
    let spi = Spi::new(
        p.SPI0, p.PIN_18, p.PIN_19, p.PIN_16, p.DMA_CH0, p.DMA_CH1, Irqs, spi_config,
    );
    // Infallible: an RP2040 GPIO cannot fail to drive chip select.
    let Ok(spi) = ExclusiveDevice::new(spi, Output::new(p.PIN_17, Level::High), Delay);
    // Locally administered and fixed: give each board its own before deploying several.
    let mac = [0x02, 0xfc, 0x00, 0x50, 0x05, 0x00];
    static STATE: StaticCell<embassy_net_wiznet::State<4, 4>> = StaticCell::new();
    let (wiznet, wiznet_runner) = match embassy_net_wiznet::new::<4, 4, W5500, _, _, _>(
        mac,
        STATE.init(embassy_net_wiznet::State::new()),
        spi,
        Input::new(p.PIN_21, Pull::Up),
        Output::new(p.PIN_20, Level::High),
    )
    .await
    {
        Ok(pair) => pair,
        Err(_) => halt("w5500 bring-up"),
    };
    info!("w5500: MACRAW, mac {}", Mac(mac));
    let device: Device = EtherSplit::new(wiznet, &NODE_FRAMES, None);
    let config = Config::ipv4_static(StaticConfigV4 {
        address: Ipv4Cidr::new(IPV4_ADDRESS, IPV4_PREFIX),
        gateway: None,
        dns_servers: Default::default(),
    });
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        config,
        RESOURCES.init(StackResources::new()),
        node_rng.next_u64(),
    );
    let (fc, fc_runner, fc_rx, fc_tx) = fc_stack::new(*fc_address.as_bytes(), node_rng.next_u64());

    static TX_BUF: StaticCell<[u8; 256]> = StaticCell::new();
    static RX_BUF: StaticCell<[u8; 256]> = StaticCell::new();
    let mut uart_config = uart::Config::default();
    uart_config.baudrate = SERIAL_BAUD;
    let serial = BufferedUart::new(
        p.UART0,
        p.PIN_0,
        p.PIN_1,
        Irqs,
        TX_BUF.init([0; 256]),
        RX_BUF.init([0; 256]),
        uart_config,
    );

    spawner.spawn(unwrap_spawn(wiznet_task(wiznet_runner)));
    spawner.spawn(unwrap_spawn(net_task(runner)));
    spawner.spawn(unwrap_spawn(fc_stack::run(fc_runner)));
    spawner.spawn(unwrap_spawn(fc_stack::udp_echo(fc)));
    spawner.spawn(unwrap_spawn(serial_task(serial)));
    spawner.spawn(unwrap_spawn(node_main(
        node, node_rng, stack, mac, fc_rx, fc_tx, key_store,
    )));
    // Boot (the node's construction above all) is over: measure the running system from here.
    hal_boards::memory::repaint_stack(1024);
    stack.wait_config_up().await;
    info!(
        "fc00-firmware ready: ipv4 {}/{=u8} udp-peering {=u16}",
        IPV4_ADDRESS, IPV4_PREFIX, UDP_PORT
    );
}

/// Builds the node straight into its static (see the QEMU build's `build_node`).
#[inline(never)]
fn build_node(key: PrivateKey, rng: &mut ChaCha20Rng) -> &'static mut FcNode {
    static NODE: StaticCell<FcNode> = StaticCell::new();
    NODE.uninit().write(FcNode::new(key, rng))
}

fn unwrap_spawn<T>(token: Result<T, embassy_executor::SpawnError>) -> T {
    match token {
        Ok(token) => token,
        Err(_) => halt("task pool exhausted"),
    }
}

#[embassy_executor::task]
async fn wiznet_task(runner: WiznetRunner) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn serial_task(serial: BufferedUart) -> ! {
    mgmt::serve(serial, "w5500-evb-pico", reset).await
}

fn reset() -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

#[embassy_executor::task]
async fn node_main(
    node: &'static mut FcNode,
    rng: ChaCha20Rng,
    stack: Stack<'static>,
    mac: [u8; 6],
    fc_rx: fc_stack::FcRx,
    fc_tx: fc_stack::FcTx,
    key_store: &'static mut KeyFlash,
) -> ! {
    node_task::node_main(
        node,
        rng,
        stack,
        mac,
        &NODE_FRAMES,
        fc_rx,
        fc_tx,
        key_store,
        &MEMORY,
    )
    .await
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    error!("panic: {}", defmt::Display2Format(info));
    cortex_m::peripheral::SCB::sys_reset()
}
