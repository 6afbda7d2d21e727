//! The node's static configuration: capacities sized for a 64 KiB-RAM board, the UDP peering
//! port, peers to dial and passwords to accept. Edit this file (or set the build-time
//! variables named below) for a real deployment; the serial management protocol adds peers
//! and passwords at run time.

use embassy_net::{Ipv4Address, Ipv6Address};

/// Peers (Ethernet + UDP) the node keeps.
pub const PEERS: usize = 8;
/// End-to-end sessions (cjdns SessionManager).
pub const SESSIONS: usize = 16;
/// Node-store entries (the router's view of the DHT).
pub const NODES: usize = 64;

/// The firmware's node type.
pub type FcNode = hal_boards::protocol_core::node::Node<PEERS, SESSIONS, NODES>;

/// cjdns' default UDPInterface port: the node's UDP link is bound here.
pub const UDP_PORT: u16 = 11223;
/// Buffers of the UDP peering socket; the send buffer is the node's queue on that link.
pub const UDP_PEER_TX: usize = 3072;
pub const UDP_PEER_RX: usize = 2048;

/// Ethernet-side addresses (static; the IP stack also carries UDP peering).
pub const IPV4_ADDRESS: Ipv4Address = Ipv4Address::new(10, 200, 0, 2);
pub const IPV4_PREFIX: u8 = 24;
pub const IPV6_ADDRESS: Ipv6Address = Ipv6Address::new(0xfd00, 0xfc00, 0, 0, 0, 0, 0, 2);
pub const IPV6_PREFIX: u8 = 64;

/// Password incoming UDP peers must present (cjdroute.conf `authorizedPasswords`), set at
/// build time with `FC00_FW_UDP_PASSWORD=...`; none means only the Ethernet beacon password
/// (and passwords added over the serial port) are accepted.
pub const UDP_PASSWORD: Option<&str> = option_env!("FC00_FW_UDP_PASSWORD");
/// Login name of that password (reported as the peer's `user`).
pub const UDP_PASSWORD_LOGIN: &str = "fc00-fw-udp";

/// A UDP peer to dial at boot (cjdroute.conf `connectTo`).
pub struct UdpPeer {
    pub ip: [u8; 4],
    pub port: u16,
    /// `....k` public key.
    pub public_key: &'static str,
    pub password: &'static str,
    pub login: Option<&'static str>,
    pub name: &'static str,
}

/// Peers dialled at boot. Empty here: the QEMU tests have the host dial the firmware, and
/// the serial `add peer` command adds peers at run time.
pub const UDP_PEERS: &[UdpPeer] = &[];
