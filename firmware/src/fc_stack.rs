//! The node's own fc address, served by a second embassy-net (smoltcp) stack.
//!
//! Its device is an `embassy-net-driver-channel` channel of medium IP: what the node's session
//! layer delivers (`Io::deliver_ipv6`) is the stack's receive side, and what the stack sends is
//! handed to `Node::handle_ipv6` by the node task. The address is the node's fc address with
//! an fc00::/8 on-link route, so every cjdns destination is reachable through the node.
//! smoltcp answers ICMPv6 echo itself; a UDP echo service listens on port 7.

use defmt::{info, warn};
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{Config, ConfigV6, Ipv6Address, Ipv6Cidr, Runner, Stack, StackResources};
use embassy_net_driver_channel as ch;
use static_cell::StaticCell;

/// cjdns' TUN MTU: the largest IPv6 packet a session carries.
pub const FC_MTU: usize = 1304;
/// Packets queued each way between the node and this stack.
const RX_QUEUE: usize = 2;
const TX_QUEUE: usize = 1;
/// The UDP echo socket (one socket: echo; ICMP needs none).
const SOCKETS: usize = 1;
pub const ECHO_PORT: u16 = 7;
/// Largest datagram echoed on the fc address, and the socket buffers.
const ECHO_MAX: usize = 512;
const ECHO_BUF: usize = 600;

pub type FcRx = ch::RxRunner<'static, FC_MTU>;
pub type FcTx = ch::TxRunner<'static, FC_MTU>;
pub type FcDevice = ch::Device<'static, FC_MTU>;

/// Builds the stack for `address`; returns it, its runner (spawn [`run`]) and the node's ends
/// of the channel.
pub fn new(
    address: [u8; 16],
    seed: u64,
) -> (Stack<'static>, Runner<'static, FcDevice>, FcRx, FcTx) {
    static STATE: StaticCell<ch::State<FC_MTU, RX_QUEUE, TX_QUEUE>> = StaticCell::new();
    static RESOURCES: StaticCell<StackResources<SOCKETS>> = StaticCell::new();
    let (runner, device) = ch::new(
        STATE.init(ch::State::new()),
        ch::driver::HardwareAddress::Ip,
    );
    let (state, rx, tx) = runner.split();
    state.set_link_state(ch::driver::LinkState::Up);
    let ip = Ipv6Address::from(address);
    let mut config = Config::default();
    config.ipv6 = ConfigV6::Static(embassy_net::StaticConfigV6 {
        address: Ipv6Cidr::new(ip, 8),
        gateway: None,
        dns_servers: Default::default(),
    });
    let (stack, net_runner) =
        embassy_net::new(device, config, RESOURCES.init(StackResources::new()), seed);
    (stack, net_runner, rx, tx)
}

#[embassy_executor::task]
pub async fn run(mut runner: Runner<'static, FcDevice>) -> ! {
    runner.run().await
}

/// UDP echo on the fc address, port 7.
#[embassy_executor::task]
pub async fn udp_echo(stack: Stack<'static>) -> ! {
    let mut rx_meta = [PacketMetadata::EMPTY; 2];
    let mut rx_buf = [0u8; ECHO_BUF];
    let mut tx_meta = [PacketMetadata::EMPTY; 2];
    let mut tx_buf = [0u8; ECHO_BUF];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    if socket.bind(ECHO_PORT).is_err() {
        warn!("fc: udp echo bind failed");
    }
    let mut datagram = [0u8; ECHO_MAX];
    loop {
        match socket.recv_from(&mut datagram).await {
            Ok((len, meta)) => {
                info!("fc: udp echo {=usize} bytes from {}", len, meta.endpoint);
                if let Err(e) = socket.send_to(&datagram[..len], meta.endpoint).await {
                    warn!("fc: udp echo send failed: {}", e);
                }
            }
            Err(e) => warn!("fc: udp echo receive failed: {}", e),
        }
    }
}
