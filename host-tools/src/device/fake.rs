//! A device in a thread: the device side of the management protocol over a TCP socket,
//! with a small in-memory state and switchable faults. For fc00ctl's tests and demos (the
//! real firmware speaks the same `protocol_core::mgmt` types); not a simulator of a node.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use protocol_core::identity::{PrivateKey, PublicKey};
use protocol_core::mgmt::{
    decode_frame, encode_frame, DeviceError, DeviceStats, FrameDecoder, FrameError, FrameEvent,
    MemoryStats, Request, Response, SessionRow, UdpPeer, MAX_FRAME_LEN, PEERS_PER_PAGE,
    PROTOCOL_VERSION, SESSIONS_PER_PAGE,
};
use protocol_core::node::PeerStats;

/// What the fake device does wrong, on purpose.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// Flip a byte inside the next `n` answers (their CRC fails).
    CorruptNext(u32),
    /// Read requests, never answer.
    Silent,
    /// Answer `Hello`, then go silent.
    SilentAfterHello,
    /// Close the connection instead of answering the first request that is not `Hello`,
    /// after sending half of the answer.
    DisconnectMidAnswer,
    /// Before each answer, send an answer with the previous sequence number.
    StaleFirst,
    /// Before each answer, send line noise ended by a zero (a corrupt frame).
    Noise,
    /// Say protocol version + 1 in `Hello`.
    NewerProtocol,
}

/// The fake device's state, visible to tests.
#[derive(Clone, Debug)]
pub struct DeviceState {
    pub board: String,
    pub firmware: String,
    pub public_key: PublicKey,
    /// Set by `SetIdentity`, used "after the next boot".
    pub next_identity: Option<PublicKey>,
    pub peers: Vec<PeerStats>,
    pub sessions: Vec<SessionRow>,
    pub stats: DeviceStats,
    pub udp_peers: Vec<UdpPeer>,
    pub passwords: Vec<(String, String)>,
    pub reboots: u32,
    pub fault: Fault,
    /// Requests handled.
    pub requests: u32,
}

impl DeviceState {
    /// A device with identity `key`, `peers` peers and `sessions` sessions whose counters
    /// grow with every `GetStats` (so rates in `--watch` are not zero).
    pub fn new(key: &PrivateKey, peers: usize, sessions: usize) -> DeviceState {
        let public_key = key.public_key();
        let mut state = DeviceState {
            board: "fake-mps2-an386".into(),
            firmware: "0.1.0-fake".into(),
            public_key,
            next_identity: None,
            peers: Vec::new(),
            sessions: Vec::new(),
            stats: DeviceStats {
                uptime_ms: 61_000,
                node_store: 7,
                memory: MemoryStats {
                    static_ram_bytes: 180_224,
                    stack_bytes: 32_768,
                    stack_high_water_bytes: 9_412,
                    node_bytes: 142_336,
                },
                ..DeviceStats::default()
            },
            udp_peers: Vec::new(),
            passwords: Vec::new(),
            reboots: 0,
            fault: Fault::None,
            requests: 0,
        };
        for i in 0..peers {
            state.peers.push(fake_peer(i));
        }
        for i in 0..sessions {
            state.sessions.push(fake_session(i));
        }
        state.stats.peers = peers as u16;
        state.stats.sessions = sessions as u16;
        state
    }

    /// The device's answer to `req`.
    pub fn handle(&mut self, req: Request) -> Response {
        self.requests += 1;
        match req {
            Request::Hello => Response::Hello {
                protocol: if self.fault == Fault::NewerProtocol {
                    PROTOCOL_VERSION + 1
                } else {
                    PROTOCOL_VERSION
                },
                board: heapless_str(&self.board),
                firmware: heapless_str(&self.firmware),
            },
            Request::GetIdentity => identity(&self.public_key),
            Request::SetIdentity { private_key } => {
                let key = PrivateKey(private_key).public_key();
                if key.address().is_err() {
                    return Response::Error(DeviceError::KeyNotFc);
                }
                self.next_identity = Some(key);
                identity(&key)
            }
            Request::GetStats => {
                self.tick();
                Response::Stats(self.stats)
            }
            Request::GetPeers { page } => {
                let rows = self
                    .peers
                    .iter()
                    .skip(usize::from(page) * PEERS_PER_PAGE)
                    .take(PEERS_PER_PAGE)
                    .copied()
                    .collect();
                Response::Peers {
                    page,
                    total: self.peers.len() as u16,
                    peers: rows,
                }
            }
            Request::GetSessions { page } => {
                let rows = self
                    .sessions
                    .iter()
                    .skip(usize::from(page) * SESSIONS_PER_PAGE)
                    .take(SESSIONS_PER_PAGE)
                    .copied()
                    .collect();
                Response::Sessions {
                    page,
                    total: self.sessions.len() as u16,
                    sessions: rows,
                }
            }
            Request::AddUdpPeer(peer) => {
                if self.udp_peers.len() >= 8 {
                    return Response::Error(DeviceError::TableFull);
                }
                self.udp_peers.retain(|p| p.public_key != peer.public_key);
                self.udp_peers.push(peer);
                Response::Done
            }
            Request::RemoveUdpPeer { public_key } => {
                let before = self.udp_peers.len();
                self.udp_peers.retain(|p| p.public_key != public_key);
                if self.udp_peers.len() == before {
                    Response::Error(DeviceError::NotFound)
                } else {
                    Response::Done
                }
            }
            Request::AddPassword { user, password } => {
                self.passwords.retain(|(u, _)| u != user.as_str());
                self.passwords
                    .push((user.as_str().into(), password.as_str().into()));
                Response::Done
            }
            Request::RemovePassword { user } => {
                let before = self.passwords.len();
                self.passwords.retain(|(u, _)| u != user.as_str());
                if self.passwords.len() == before {
                    Response::Error(DeviceError::NotFound)
                } else {
                    Response::Done
                }
            }
            Request::Reboot => {
                self.reboots += 1;
                if let Some(key) = self.next_identity.take() {
                    self.public_key = key;
                }
                Response::Done
            }
        }
    }

    /// One second of traffic on every peer and session.
    fn tick(&mut self) {
        self.stats.uptime_ms += 1000;
        let now = self.stats.uptime_ms;
        for (i, p) in self.peers.iter_mut().enumerate() {
            let n = 10 * (i as u64 + 1);
            p.counters.packets_in += n;
            p.counters.packets_out += n + 2;
            p.counters.bytes_in += n * 120;
            p.counters.bytes_out += (n + 2) * 120;
            p.counters.last_seen_ms = now - 200 * i as u64;
        }
        for s in &mut self.sessions {
            s.packets_in += 5;
            s.packets_out += 5;
        }
        self.stats.switch.forwarded += 40;
        self.stats.switch.delivered_to_router += 12;
        self.stats.peering.frames_in += 52;
    }
}

fn heapless_str<const N: usize>(s: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

fn identity(key: &PublicKey) -> Response {
    Response::Identity {
        public_key: *key,
        address: key.address_unchecked(),
    }
}

/// Public keys of the fake rows: valid fc keys, made once with `fc00ctl key gen` (finding
/// one at run time costs hundreds of scalar multiplications).
const FAKE_KEYS: [&str; 8] = [
    "52w2kj09pxx3jp4c29vxp2jsryx6y9gbjwn21r1l6cdbfx02f4d0.k",
    "p9prt175znfkguhhl3j9dbc341rw38gfc91cguvmpuz1nz1ddkm0.k",
    "pzvx86mhulttypr863c7tp0rgdsu72vkfyp2q62rhgj4nvk7y500.k",
    "v3phr138scypxtyhxnlhvqjjd6p7ghzs6ttqy36szd3xj8fc4c20.k",
    "7r1nnmtfhkljwx1y20lcx41qj5wxuj79m5bbkdkp1dwhnundm250.k",
    "hj16njwsfy68yv440bc4xwtjtf6qssh821j0vfyrmltxyz3b3yk0.k",
    "9xrnz00g3ujlwqrcqhzh1q00ll81vbc225v4v5lhlkcy0tq011h0.k",
    "xb44dbp00r0u913pu0ukgfl4htvvcs0rgd2jpqdu49xphw0qqk00.k",
];

/// The public key of fake row `i` (rows past the list reuse it with a changed last byte).
pub fn fake_key(i: usize) -> PublicKey {
    let text = FAKE_KEYS[i % FAKE_KEYS.len()];
    let mut key = PublicKey::parse_k(text).unwrap_or(PublicKey([0; 32]));
    key.0[0] ^= (i / FAKE_KEYS.len()) as u8;
    key
}

fn fake_peer(i: usize) -> PeerStats {
    use protocol_core::peering::{LinkAddr, LinkId, PeerCounters, PeerState, ShortName};
    use protocol_core::wire::control::{LlAddrField, LLADDR_ADDR_LEN};
    PeerStats {
        key: fake_key(i),
        link: LinkId(0),
        addr: LinkAddr::Udp4 {
            ip: [10, 0, 0, 2 + i as u8],
            port: 11223,
        },
        label: 0x13 + 2 * i as u64,
        version: 22,
        state: if i == 2 {
            PeerState::Unresponsive
        } else {
            PeerState::Established
        },
        is_incoming: i % 2 == 1,
        is_up: i != 2,
        user: ShortName::new(format!("peer{i}").as_bytes()),
        name: ShortName::new(b""),
        lladdr: LlAddrField([0; LLADDR_ADDR_LEN]),
        counters: PeerCounters {
            bytes_in: 4476 * (i as u64 + 1),
            bytes_out: 4832 * (i as u64 + 1),
            packets_in: 51 * (i as u64 + 1),
            packets_out: 53 * (i as u64 + 1),
            duplicates: 0,
            lost: i as u32,
            out_of_range: 0,
            last_seen_ms: 60_000,
            kbps_in: 1 + i as u32,
            kbps_out: 1,
        },
    }
}

fn fake_session(i: usize) -> SessionRow {
    let key = fake_key(FAKE_KEYS.len() - 1 - i);
    SessionRow {
        ip6: key.address_unchecked(),
        key,
        version: 22,
        state: protocol_core::crypto::session::State::Established,
        best_label: 0x13 + 2 * i as u64,
        metric: 0xff20_0376,
        packets_in: 12,
        packets_out: 14,
        duplicates: 0,
        lost_packets: 0,
    }
}

/// A fake device listening on a loopback TCP port (one connection at a time) or on a
/// pseudo terminal, until the test process ends.
pub struct FakeDevice {
    port: String,
    pub state: Arc<Mutex<DeviceState>>,
    _thread: JoinHandle<()>,
}

impl FakeDevice {
    /// On a loopback TCP port: `--port tcp:127.0.0.1:N`.
    pub fn spawn(state: DeviceState) -> std::io::Result<FakeDevice> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr: SocketAddr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(state));
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve(stream, &shared, false);
            }
        });
        Ok(FakeDevice {
            port: format!("tcp:{addr}"),
            state,
            _thread: thread,
        })
    }

    /// On a pseudo terminal: `--port /dev/pts/N`, opened as a serial port. The device
    /// holds the master side; each fc00ctl run opens and closes the slave.
    pub fn spawn_pty(state: DeviceState) -> std::io::Result<FakeDevice> {
        use serialport::SerialPort;
        let (mut master, slave) = serialport::TTYPort::pair().map_err(std::io::Error::other)?;
        let path = slave
            .name()
            .ok_or_else(|| std::io::Error::other("pseudo terminal without a name"))?;
        drop(slave);
        master
            .set_timeout(std::time::Duration::from_millis(50))
            .map_err(std::io::Error::other)?;
        let state = Arc::new(Mutex::new(state));
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || serve(master, &shared, true));
        Ok(FakeDevice {
            port: path,
            state,
            _thread: thread,
        })
    }

    /// `--port` for it.
    pub fn port(&self) -> String {
        self.port.clone()
    }

    pub fn set_fault(&self, fault: Fault) {
        if let Ok(mut s) = self.state.lock() {
            s.fault = fault;
        }
    }

    pub fn state(&self) -> DeviceState {
        match self.state.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// Answer requests on `stream` until it closes; a `persistent` stream (a pty master) is
/// never closed: between clients its reads fail, and the device waits for the next one.
fn serve<S: Read + Write>(mut stream: S, state: &Mutex<DeviceState>, persistent: bool) {
    let mut decoder = FrameDecoder::<MAX_FRAME_LEN>::new();
    let mut buf = [0u8; 512];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) if n > 0 => n,
            Err(e) if persistent && e.kind() != std::io::ErrorKind::TimedOut => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            _ if persistent => continue,
            _ => return,
        };
        let mut data = &buf[..n];
        while !data.is_empty() {
            let (used, event) = decoder.push(data);
            data = &data[used..];
            let Some(FrameEvent::Frame(frame)) = event else {
                continue;
            };
            let (seq, response) = match decode_frame::<Request>(frame) {
                Ok(env) => {
                    let Ok(mut s) = state.lock() else { return };
                    let fault = s.fault;
                    if fault == Fault::Silent
                        || (fault == Fault::SilentAfterHello && env.body != Request::Hello)
                    {
                        continue;
                    }
                    if fault == Fault::DisconnectMidAnswer && env.body != Request::Hello {
                        let mut out = [0u8; MAX_FRAME_LEN];
                        if let Ok(len) = encode_frame(env.seq, &Response::Done, &mut out) {
                            let _ = stream.write_all(&out[..len / 2]);
                        }
                        s.fault = Fault::None;
                        if persistent {
                            continue;
                        }
                        return;
                    }
                    (env.seq, s.handle(env.body))
                }
                Err(FrameError::UnknownBody { seq }) => {
                    (seq, Response::Error(DeviceError::UnknownRequest))
                }
                // A corrupt request is dropped: the host times out or retries.
                Err(_) => continue,
            };
            let Ok(mut s) = state.lock() else { return };
            let mut out = [0u8; MAX_FRAME_LEN];
            let Ok(len) = encode_frame(seq, &response, &mut out) else {
                continue;
            };
            let mut frame = out[..len].to_vec();
            match s.fault {
                Fault::CorruptNext(k) if k > 0 => {
                    // Flip a bit in the middle: still COBS-shaped, CRC fails.
                    let mid = frame.len() / 2;
                    frame[mid] ^= 0x01;
                    if frame[mid] == 0 {
                        frame[mid] = 0x55;
                    }
                    s.fault = if k > 1 {
                        Fault::CorruptNext(k - 1)
                    } else {
                        Fault::None
                    };
                }
                Fault::StaleFirst => {
                    let mut stale = [0u8; MAX_FRAME_LEN];
                    if let Ok(l) = encode_frame(seq.wrapping_sub(1), &response, &mut stale) {
                        let _ = stream.write_all(&stale[..l]);
                    }
                }
                Fault::Noise => {
                    let _ = stream.write_all(&[0x42, 0x13, 0x37, 0xff, 0x01, 0x00]);
                }
                _ => {}
            }
            drop(s);
            if stream.write_all(&frame).is_err() && !persistent {
                return;
            }
            let _ = stream.flush();
        }
    }
}
