//! The serial management server (device side of `protocol_core::mgmt`).
//!
//! The serial task splits the UART byte stream into COBS frames, decodes each request and
//! answers it. `Hello` and `Reboot` it answers itself; everything that touches the node goes
//! to the node task through [`REQUESTS`] and comes back through [`RESPONSES`], so the node
//! keeps a single owner. A new private key is written to the key store and used from the next
//! boot: the serial task reboots the board once the answer is out. The private key never
//! leaves the device: no response type can carry it.

use defmt::{info, warn};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_time::{Instant, Timer};
use embedded_io_async::{Read, Write};
use hal_boards::protocol_core::identity::{PrivateKey, PublicKey};
use hal_boards::protocol_core::mgmt::{
    decode_frame, encode_frame, DeviceError, DeviceStats, FrameDecoder, FrameError, FrameEvent,
    MemoryStats, Request, Response, SessionRow, SocketAddr, MAX_FRAME_LEN, PEERS_PER_PAGE,
    PROTOCOL_VERSION, SESSIONS_PER_PAGE,
};
use hal_boards::protocol_core::node::{Io, LinkAddr, LinkId, PeerConfig, PeeringError};
use hal_boards::KeyStore;
use rand_core::CryptoRngCore;

use crate::config::FcNode;

/// Requests for the node task.
pub static REQUESTS: Channel<CriticalSectionRawMutex, Request, 1> = Channel::new();
/// The node task's answers.
pub static RESPONSES: Channel<CriticalSectionRawMutex, Response, 1> = Channel::new();

/// What the board reports about memory.
pub struct Memory {
    pub static_ram_bytes: fn() -> usize,
    pub stack_bytes: fn() -> usize,
    pub stack_high_water: fn() -> usize,
}

/// Serves the management protocol on `port` forever; `reset` restarts the board.
pub async fn serve<P: Read + Write>(mut port: P, board: &'static str, reset: fn() -> !) -> ! {
    let mut decoder: FrameDecoder = FrameDecoder::new();
    let mut out = [0u8; MAX_FRAME_LEN];
    let mut rx = [0u8; 64];
    loop {
        let n = match port.read(&mut rx).await {
            Ok(n) => n,
            Err(_) => continue,
        };
        let mut data = rx.get(..n).unwrap_or(&[]);
        while !data.is_empty() {
            let (used, event) = decoder.push(data);
            data = data.get(used..).unwrap_or(&[]);
            let (seq, request) = match event {
                Some(FrameEvent::Frame(frame)) => match decode_frame::<Request>(frame) {
                    Ok(envelope) => (envelope.seq, Some(envelope.body)),
                    Err(FrameError::UnknownBody { seq }) => (seq, None),
                    Err(e) => {
                        warn!("mgmt: frame dropped: {}", defmt::Display2Format(&e));
                        continue;
                    }
                },
                Some(FrameEvent::Oversized) => {
                    warn!("mgmt: oversized frame dropped");
                    continue;
                }
                None => continue,
            };
            let (response, then_reset) = match request {
                None => (Response::Error(DeviceError::UnknownRequest), false),
                Some(Request::Hello) => (hello(board), false),
                Some(Request::Reboot) => (Response::Done, true),
                Some(request) => {
                    let set_identity = matches!(request, Request::SetIdentity { .. });
                    REQUESTS.send(request).await;
                    let response = RESPONSES.receive().await;
                    let reset = set_identity && matches!(response, Response::Identity { .. });
                    (response, reset)
                }
            };
            match encode_frame(seq, &response, &mut out) {
                Ok(len) => {
                    let _ = port.write_all(out.get(..len).unwrap_or(&[])).await;
                    let _ = port.flush().await;
                }
                Err(e) => warn!("mgmt: answer not encoded: {}", defmt::Display2Format(&e)),
            }
            if then_reset {
                info!("mgmt: rebooting");
                // Let the UART shift the last bytes out.
                Timer::after_millis(50).await;
                reset();
            }
        }
    }
}

fn hello(board: &str) -> Response {
    let mut b = heapless::String::new();
    let _ = b.push_str(board);
    let mut f = heapless::String::new();
    let _ = f.push_str(env!("CARGO_PKG_VERSION"));
    Response::Hello {
        protocol: PROTOCOL_VERSION,
        board: b,
        firmware: f,
    }
}

/// Carries out a request on the node (called by the node task).
#[allow(clippy::too_many_arguments)]
pub fn execute(
    request: Request,
    node: &mut FcNode,
    udp_link: LinkId,
    io: &mut impl Io,
    rng: &mut impl CryptoRngCore,
    key_store: &mut impl KeyStore,
    memory: &Memory,
) -> Response {
    let now = Instant::now().as_millis();
    match request {
        Request::Hello | Request::Reboot => Response::Error(DeviceError::UnknownRequest),
        Request::GetIdentity => {
            let key = *node.public_key();
            Response::Identity {
                public_key: key,
                address: key.address_unchecked(),
            }
        }
        Request::SetIdentity { private_key } => {
            let private_key = PrivateKey(private_key);
            let public_key = private_key.public_key();
            let Ok(address) = public_key.address() else {
                return Response::Error(DeviceError::KeyNotFc);
            };
            if key_store.store(private_key.as_bytes()).is_err() {
                return Response::Error(DeviceError::Storage);
            }
            info!("mgmt: new identity stored, used from the next boot");
            Response::Identity {
                public_key,
                address,
            }
        }
        Request::GetStats => {
            let stats = node.stats();
            Response::Stats(DeviceStats {
                uptime_ms: now,
                peers: stats.peer_count as u16,
                sessions: stats.sessions as u16,
                node_store: stats.node_store as u16,
                switch: stats.switch,
                peering: stats.peering,
                control: stats.control,
                node: stats.node,
                memory: MemoryStats {
                    static_ram_bytes: (memory.static_ram_bytes)() as u32,
                    stack_bytes: (memory.stack_bytes)() as u32,
                    stack_high_water_bytes: (memory.stack_high_water)() as u32,
                    node_bytes: core::mem::size_of::<FcNode>() as u32,
                },
            })
        }
        Request::GetPeers { page } => {
            let stats = node.stats();
            let mut peers = heapless::Vec::new();
            for p in stats
                .peers
                .iter()
                .flatten()
                .skip(usize::from(page) * PEERS_PER_PAGE)
                .take(PEERS_PER_PAGE)
            {
                let _ = peers.push(*p);
            }
            Response::Peers {
                page,
                total: stats.peer_count as u16,
                peers,
            }
        }
        Request::GetSessions { page } => {
            let mut sessions = heapless::Vec::new();
            let mut total = 0u16;
            for (i, s) in node.sessions().sessions().enumerate() {
                total = total.saturating_add(1);
                if i / SESSIONS_PER_PAGE == usize::from(page) {
                    let _ = sessions.push(SessionRow::from(&s));
                }
            }
            Response::Sessions {
                page,
                total,
                sessions,
            }
        }
        Request::AddUdpPeer(peer) => {
            let addr = match peer.addr {
                SocketAddr::V4 { ip, port } => LinkAddr::Udp4 { ip, port },
                SocketAddr::V6 { ip, port } => LinkAddr::Udp6 { ip, port },
            };
            let config = PeerConfig {
                public_key: PublicKey(peer.public_key),
                password: peer.password.as_bytes(),
                login: (!peer.login.is_empty()).then_some(peer.login.as_bytes()),
                name: peer.peer_name.as_str(),
                version: 0,
            };
            match node.connect(udp_link, addr, config, io) {
                Ok(()) => Response::Done,
                Err(PeeringError::TableFull) => Response::Error(DeviceError::TableFull),
                Err(_) => Response::Error(DeviceError::Refused),
            }
        }
        Request::RemoveUdpPeer { public_key } => {
            if node.disconnect(&PublicKey(public_key), now, rng, io) {
                Response::Done
            } else {
                Response::Error(DeviceError::NotFound)
            }
        }
        Request::AddPassword { user, password } => {
            match node.add_password(password.as_bytes(), Some(user.as_bytes())) {
                Ok(()) => Response::Done,
                Err(_) => Response::Error(DeviceError::TableFull),
            }
        }
        Request::RemovePassword { user } => match node.remove_passwords(user.as_bytes()) {
            0 => Response::Error(DeviceError::NotFound),
            _ => Response::Done,
        },
    }
}
