//! A minimal host client of the firmware's serial management protocol, for the QEMU tests
//! (the UART on a unix or TCP socket). `fc00ctl device ...` is the user-facing tool; this one
//! only exists so that the test scripts exercise the device side with the shared types.
//!
//! ```text
//! mgmt-client <unix:PATH | HOST:PORT> hello | identity | set-identity <hex private key>
//!     | stats | peers | sessions | add-peer <ip:port> <key.k> <password> <login> <name>
//!     | remove-peer <key.k> | add-password <user> <password> | remove-password <user>
//!     | reboot
//! ```
//! Prints one line per answer (`identity <key> <address>`, `peer <state> <addr> <key>`, ...)
//! and exits 0 on an answer that is not an error.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use protocol_core::identity::PublicKey;
use protocol_core::mgmt::{
    decode_frame, encode_frame, FrameDecoder, FrameEvent, Request, Response, SocketAddr, UdpPeer,
    MAX_FRAME_LEN,
};

trait Port: Read + Write {}
impl<T: Read + Write> Port for T {}

fn open(target: &str) -> std::io::Result<Box<dyn Port>> {
    if let Some(path) = target.strip_prefix("unix:") {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
        Ok(Box::new(s))
    } else {
        let s = TcpStream::connect(target)?;
        s.set_read_timeout(Some(Duration::from_millis(200)))?;
        Ok(Box::new(s))
    }
}

fn short<const N: usize>(s: &str) -> Result<heapless::String<N>, String> {
    heapless::String::try_from(s).map_err(|_| format!("longer than {N} bytes: {s}"))
}

fn parse_request(args: &[String]) -> Result<Request, String> {
    let arg = |i: usize| args.get(i).map(String::as_str).ok_or("missing argument");
    let key = |s: &str| PublicKey::parse_k(s).map_err(|e| format!("bad key {s}: {e}"));
    Ok(match arg(0)? {
        "hello" => Request::Hello,
        "identity" => Request::GetIdentity,
        "set-identity" => {
            let hex = arg(1)?;
            let mut key = [0u8; 32];
            if hex.len() != 64 {
                return Err("private key: 64 hex digits".into());
            }
            for (i, b) in key.iter_mut().enumerate() {
                *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                    .map_err(|_| "private key: hex digits only")?;
            }
            Request::SetIdentity { private_key: key }
        }
        "stats" => Request::GetStats,
        "peers" => Request::GetPeers { page: 0 },
        "sessions" => Request::GetSessions { page: 0 },
        "add-peer" => {
            let addr: std::net::SocketAddr = arg(1)?.parse().map_err(|e| format!("{e}"))?;
            let addr = match addr {
                std::net::SocketAddr::V4(a) => SocketAddr::V4 {
                    ip: a.ip().octets(),
                    port: a.port(),
                },
                std::net::SocketAddr::V6(a) => SocketAddr::V6 {
                    ip: a.ip().octets(),
                    port: a.port(),
                },
            };
            Request::AddUdpPeer(UdpPeer {
                addr,
                public_key: key(arg(2)?)?.0,
                password: short(arg(3)?)?,
                login: short(arg(4)?)?,
                peer_name: short(arg(5)?)?,
            })
        }
        "remove-peer" => Request::RemoveUdpPeer {
            public_key: key(arg(1)?)?.0,
        },
        "add-password" => Request::AddPassword {
            user: short(arg(1)?)?,
            password: short(arg(2)?)?,
        },
        "remove-password" => Request::RemovePassword {
            user: short(arg(1)?)?,
        },
        "reboot" => Request::Reboot,
        other => return Err(format!("unknown command {other}")),
    })
}

fn print(response: &Response) -> bool {
    match response {
        Response::Hello {
            protocol,
            board,
            firmware,
        } => println!("hello protocol {protocol} board {board} firmware {firmware}"),
        Response::Identity {
            public_key,
            address,
        } => println!("identity {} {}", public_key.to_k_string(), address),
        Response::Stats(s) => {
            println!(
                "stats uptime_ms {} peers {} sessions {} node_store {}",
                s.uptime_ms, s.peers, s.sessions, s.node_store
            );
            println!(
                "memory static_ram {} stack {} stack_high_water {} node {}",
                s.memory.static_ram_bytes,
                s.memory.stack_bytes,
                s.memory.stack_high_water_bytes,
                s.memory.node_bytes
            );
            println!("switch {:?}", s.switch);
        }
        Response::Peers { total, peers, .. } => {
            println!("peers total {total}");
            for p in peers {
                println!(
                    "peer {:?} {} {} in {} out {}",
                    p.state,
                    p.addr_string(),
                    p.key.to_k_string(),
                    p.counters.bytes_in,
                    p.counters.bytes_out
                );
            }
        }
        Response::Sessions {
            total, sessions, ..
        } => {
            println!("sessions total {total}");
            for s in sessions {
                println!("session {:?} {} {}", s.state, s.ip6, s.key.to_k_string());
            }
        }
        Response::Done => println!("done"),
        Response::Error(e) => {
            println!("error {e:?}");
            return false;
        }
    }
    true
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(target) = args.first() else {
        eprintln!("usage: mgmt-client <unix:PATH | HOST:PORT> <command> [args]");
        return ExitCode::from(2);
    };
    let request = match parse_request(&args[1..]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mgmt-client: {e}");
            return ExitCode::from(2);
        }
    };
    // Derived from the request, so every run uses a fresh-looking sequence number.
    let seq = (std::process::id() & 0xffff) as u16;
    let mut port = match open(target) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("mgmt-client: {target}: {e}");
            return ExitCode::from(1);
        }
    };
    let mut frame = [0u8; MAX_FRAME_LEN];
    let len = match encode_frame(seq, &request, &mut frame) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("mgmt-client: {e}");
            return ExitCode::from(2);
        }
    };
    // A leading delimiter flushes whatever partial frame the device may hold.
    if port
        .write_all(&[0])
        .and_then(|_| port.write_all(&frame[..len]))
        .is_err()
    {
        eprintln!("mgmt-client: write failed");
        return ExitCode::from(1);
    }
    let mut decoder: FrameDecoder = FrameDecoder::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 256];
    while Instant::now() < deadline {
        let n = match port.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(e) => {
                eprintln!("mgmt-client: read: {e}");
                return ExitCode::from(1);
            }
        };
        let mut data = &buf[..n];
        while !data.is_empty() {
            let (used, event) = decoder.push(data);
            data = &data[used..];
            if let Some(FrameEvent::Frame(f)) = event {
                match decode_frame::<Response>(f) {
                    Ok(env) if env.seq == seq => {
                        return if print(&env.body) {
                            ExitCode::SUCCESS
                        } else {
                            ExitCode::from(1)
                        };
                    }
                    Ok(_) => {}
                    Err(e) => eprintln!("mgmt-client: bad frame: {e}"),
                }
            }
        }
    }
    eprintln!("mgmt-client: no answer within 10 s");
    ExitCode::from(1)
}
