//! fc00 node on an STM32 Nucleo-F767ZI: embassy-stm32 Ethernet (RMII to the board's LAN8742A),
//! the management protocol on USART3 (the ST-LINK virtual COM port), the private key in the
//! last sector of internal flash, and the RNG peripheral as the entropy source. Built in CI;
//! not run here (no board). Flash and run with `probe-rs run --chip STM32F767ZITx` (see
//! firmware/README.md).
#![no_std]
#![no_main]

use defmt::{error, info};
use defmt_rtt as _;
use embassy_executor::Spawner;
use embassy_net::{
    Config, ConfigV6, Ipv4Cidr, Ipv6Cidr, Runner, Stack, StackResources, StaticConfigV4,
    StaticConfigV6,
};
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::flash::Flash;
use embassy_stm32::peripherals::{ETH, ETH_SMA};
use embassy_stm32::usart::{self, BufferedUart};
use embassy_stm32::{bind_interrupts, peripherals, rng};
use fc00_firmware::config::{
    FcNode, IPV4_ADDRESS, IPV4_PREFIX, IPV6_ADDRESS, IPV6_PREFIX, UDP_PORT,
};
use fc00_firmware::{fc_stack, halt, mgmt, node_task, Mac};
use hal_boards::ether_split::{EtherSplit, NodeFrames};
use hal_boards::flash_key_store::FlashKeyStore;
use hal_boards::protocol_core::identity::{generate_keypair, PrivateKey};
use hal_boards::KeyStore;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use static_cell::StaticCell;

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    RNG => rng::InterruptHandler<peripherals::RNG>;
    USART3 => usart::BufferedInterruptHandler<peripherals::USART3>;
});

type Nic = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;
type Device = EtherSplit<'static, Nic, NODE_QUEUE_DEPTH>;
type KeyFlash = FlashKeyStore<Flash<'static, embassy_stm32::flash::Blocking>>;

const NODE_QUEUE_DEPTH: usize = 2;
const SOCKETS: usize = 2;
/// Sector 11 (the last 256 KiB of the 2 MiB single-bank flash) holds the key; the image
/// must stay below it.
const KEY_SECTOR_OFFSET: u32 = 0x1C_0000;
const SERIAL_BAUD: u32 = 115_200;
/// Locally administered: the Nucleo has no MAC in OTP. Derived from the chip's unique ID.
fn mac_address() -> [u8; 6] {
    let uid = embassy_stm32::uid::uid();
    [
        0x02,
        0xfc,
        uid[0] ^ uid[4],
        uid[1] ^ uid[5],
        uid[2] ^ uid[6],
        uid[3] ^ uid[7],
    ]
}

static NODE_FRAMES: NodeFrames<NODE_QUEUE_DEPTH> = NodeFrames::new();

static MEMORY: mgmt::Memory = mgmt::Memory {
    static_ram_bytes: hal_boards::memory::static_ram_bytes,
    stack_bytes: hal_boards::memory::stack_bytes,
    stack_high_water: hal_boards::memory::stack_high_water,
};

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_stm32::init(embassy_stm32::Config::default());
    info!(
        "fc00-firmware {=str} on nucleo-f767zi",
        env!("CARGO_PKG_VERSION")
    );

    // The TRNG seeds everything random on this board.
    let mut trng = rng::Rng::new(p.RNG, Irqs);
    let mut seed = [0u8; 32];
    trng.fill_bytes(&mut seed);

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
    trng.fill_bytes(&mut seed);
    let mut node_rng = fc00_firmware::rng::node_rng(&seed, private_key.as_bytes());
    let public_key = private_key.public_key();
    let fc_address = public_key.address_unchecked();
    let node = build_node(private_key, &mut node_rng);
    info!(
        "identity: public key {=str} address {=str}",
        public_key.to_k_string().as_str(),
        fc_address.to_full_string().as_str()
    );

    let mac = mac_address();
    static QUEUE: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    let nic: Nic = Ethernet::new(
        QUEUE.init(PacketQueue::new()),
        p.ETH,
        Irqs,
        p.PA1,
        p.PA7,
        p.PC4,
        p.PC5,
        p.PG13,
        p.PB13,
        p.PG11,
        mac,
        p.ETH_SMA,
        p.PA2,
        p.PC1,
    );
    info!("eth: mac {}", Mac(mac));
    let device: Device = EtherSplit::new(nic, &NODE_FRAMES, None);
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
    let (stack, runner) = embassy_net::new(
        device,
        config,
        RESOURCES.init(StackResources::new()),
        node_rng.next_u64(),
    );
    let (fc, fc_runner, fc_rx, fc_tx) = fc_stack::new(*fc_address.as_bytes(), node_rng.next_u64());

    static TX_BUF: StaticCell<[u8; 256]> = StaticCell::new();
    static RX_BUF: StaticCell<[u8; 256]> = StaticCell::new();
    let mut uart_config = usart::Config::default();
    uart_config.baudrate = SERIAL_BAUD;
    let serial = match BufferedUart::new(
        p.USART3,
        p.PD9,
        p.PD8,
        TX_BUF.init([0; 256]),
        RX_BUF.init([0; 256]),
        Irqs,
        uart_config,
    ) {
        Ok(s) => s,
        Err(_) => halt("usart3 configuration"),
    };

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
async fn net_task(mut runner: Runner<'static, Device>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn serial_task(serial: BufferedUart<'static>) -> ! {
    mgmt::serve(serial, "nucleo-f767zi", reset).await
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
