//! fc00 mesh node firmware for QEMU `mps2-an386` (Cortex-M4F + LAN9118; `mps2-an385`, the
//! Cortex-M3 variant, when built for `thumbv7m-none-eabi`).
//!
//! Brings up the NIC and splits it: ethertype 0xfc00 frames go to the protocol-core `Node`
//! (Ethernet link, beacons on), everything else to an `embassy-net` stack (static IPv4 + IPv6
//! ULA, ICMP/ICMPv6 echo, UDP echo on port 7, and the node's UDP peering socket on 11223).
//! A second embassy-net stack serves the node's own fc address (see `fc_stack`).
#![no_std]
#![no_main]

use fc00_firmware::{config, fc_stack, halt, mgmt, node_task, rng, Mac};

use defmt::{error, info, warn};
use defmt_semihosting as _;
use embassy_executor::Spawner;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{
    Config, ConfigV6, Ipv4Cidr, Ipv6Cidr, Runner, Stack, StackResources, StaticConfigV4,
    StaticConfigV6,
};
use embassy_time::Timer;
use hal_boards::cmsdk_uart::CmsdkUart;
use hal_boards::ether_split::{EtherSplit, NodeFrames, Route};
use hal_boards::lan9118::{self, Lan9118};
use hal_boards::mps2;
use hal_boards::protocol_core::identity::{generate_keypair, PrivateKey};
use hal_boards::KeyStore;
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use static_cell::StaticCell;

use config::{FcNode, IPV4_ADDRESS, IPV4_PREFIX, IPV6_ADDRESS, IPV6_PREFIX, UDP_PORT};

/// The same image layout serves both QEMU MPS2 boards; the FPU target means the Cortex-M4F one.
const BOARD: &str = if cfg!(target_abi = "eabihf") {
    "mps2-an386"
} else {
    "mps2-an385"
};

/// Frames queued each way between the network task and the node task.
const NODE_QUEUE_DEPTH: usize = 2;
/// Sockets the Ethernet-side stack holds: UDP echo and the node's UDP peering socket.
const SOCKETS: usize = 2;
const UDP_ECHO_PORT: u16 = 7;
/// Largest datagram the Ethernet-side echo service returns, and its socket buffers.
const UDP_ECHO_MAX: usize = 1024;
const UDP_ECHO_BUF: usize = 1100;
const SERIAL_BAUD: u32 = 115_200;
const STATS_PERIOD_SECS: u64 = 5;
/// Stack kept below the current frame when the stack is repainted after boot: room for
/// interrupt handlers that may run meanwhile.
const REPAINT_MARGIN: usize = 1024;

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

    // Identity: the key store's key, or a new one on first boot.
    let entropy = rng::boot_entropy();
    static KEY_STORE: StaticCell<mps2::UninitKeyStore> = StaticCell::new();
    let Some(key_store) = mps2::UninitKeyStore::take() else {
        halt("key store already taken");
    };
    let key_store = KEY_STORE.init(key_store);
    let private_key = match key_store.load() {
        Some(key) => {
            info!("identity: key from the key store");
            PrivateKey(key)
        }
        None => {
            let mut first_boot = rng::node_rng(&entropy, &[0; 32]);
            let (key, _, _) = generate_keypair(&mut first_boot);
            let _ = key_store.store(key.as_bytes());
            info!("identity: generated a new key at first boot");
            key
        }
    };
    let mut node_rng = rng::node_rng(&entropy, private_key.as_bytes());
    let public_key = private_key.public_key();
    let fc_address = public_key.address_unchecked();
    let node = build_node(private_key, &mut node_rng);
    info!(
        "boot: stack high-water {=usize} bytes after building the node (boot peak)",
        mps2::stack_high_water()
    );
    info!(
        "identity: public key {=str} address {=str}",
        public_key.to_k_string().as_str(),
        fc_address.to_full_string().as_str()
    );
    info!(
        "node: size {=usize} bytes (peers {=usize}, sessions {=usize}, node store {=usize})",
        core::mem::size_of::<FcNode>(),
        config::PEERS,
        config::SESSIONS,
        config::NODES
    );

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
    // smoltcp's seed only randomises ports and sequence numbers.
    let (stack, runner) = embassy_net::new(
        device,
        config,
        RESOURCES.init(StackResources::new()),
        node_rng.next_u64(),
    );
    let (fc, fc_runner, fc_rx, fc_tx) = fc_stack::new(*fc_address.as_bytes(), node_rng.next_u64());

    spawner.spawn(unwrap_spawn(net_task(runner)));
    spawner.spawn(unwrap_spawn(fc_stack::run(fc_runner)));
    spawner.spawn(unwrap_spawn(fc_stack::udp_echo(fc)));
    spawner.spawn(unwrap_spawn(udp_echo_task(stack)));
    spawner.spawn(unwrap_spawn(serial_task(serial)));
    spawner.spawn(unwrap_spawn(stats_task()));
    spawner.spawn(unwrap_spawn(node_main(
        node, node_rng, stack, mac, fc_rx, fc_tx, key_store,
    )));

    // Boot (the node's construction above all) is over: measure the running system from here.
    hal_boards::memory::repaint_stack(REPAINT_MARGIN);
    stack.wait_config_up().await;
    info!(
        "fc00-firmware ready: ipv4 {}/{=u8} ipv6 {}/{=u8} udp-echo {=u16} udp-peering {=u16}",
        IPV4_ADDRESS, IPV4_PREFIX, IPV6_ADDRESS, IPV6_PREFIX, UDP_ECHO_PORT, UDP_PORT
    );
}

/// Builds the node straight into its static: a `Node` is tens of KiB, and a temporary copy
/// on the stack would double its RAM cost (the call's return slot is the static itself).
#[inline(never)]
fn build_node(key: PrivateKey, rng: &mut ChaCha20Rng) -> &'static mut FcNode {
    static NODE: StaticCell<FcNode> = StaticCell::new();
    let slot = NODE.uninit();
    slot.write(FcNode::new(key, rng))
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

/// Owns the node (see `fc00_firmware::node_task::node_main`).
#[embassy_executor::task]
async fn node_main(
    node: &'static mut FcNode,
    rng: ChaCha20Rng,
    stack: Stack<'static>,
    mac: [u8; 6],
    fc_rx: fc_stack::FcRx,
    fc_tx: fc_stack::FcTx,
    key_store: &'static mut mps2::UninitKeyStore,
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

/// Periodic health line: memory high-water mark and interrupt count.
#[embassy_executor::task]
async fn stats_task() -> ! {
    loop {
        Timer::after_secs(STATS_PERIOD_SECS).await;
        info!(
            "stats: stack high-water {=usize} bytes since boot, nic interrupts {=u32}",
            mps2::stack_high_water(),
            mps2::NIC.interrupts_taken()
        );
    }
}

/// How this board measures its memory, for the management protocol's stats.
static MEMORY: mgmt::Memory = mgmt::Memory {
    static_ram_bytes: mps2::static_ram_bytes,
    stack_bytes: mps2::stack_bytes,
    stack_high_water: mps2::stack_high_water,
};

/// The management protocol on UART0.
#[embassy_executor::task]
async fn serial_task(serial: CmsdkUart) -> ! {
    mgmt::serve(serial, BOARD, reset).await
}

fn reset() -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

#[embassy_executor::task]
async fn udp_echo_task(stack: Stack<'static>) -> ! {
    let mut rx_meta = [PacketMetadata::EMPTY; 4];
    let mut rx_buf = [0u8; UDP_ECHO_BUF];
    let mut tx_meta = [PacketMetadata::EMPTY; 4];
    let mut tx_buf = [0u8; UDP_ECHO_BUF];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    if let Err(e) = socket.bind(UDP_ECHO_PORT) {
        error!("udp echo: bind failed: {}", e);
        halt("udp echo");
    }
    let mut datagram = [0u8; UDP_ECHO_MAX];
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

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    error!("panic: {}", defmt::Display2Format(info));
    loop {
        cortex_m::asm::wfi();
    }
}
