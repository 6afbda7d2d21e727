//! The byte pipe to a device: a serial port (`/dev/ttyACM0`), a TCP socket
//! (`tcp:HOST:PORT`, e.g. QEMU's `-serial tcp::4444,server`) or a Unix socket
//! (`unix:PATH`, QEMU's `-serial unix:PATH,server`), each read bounded by a timeout.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::error::CliError;

/// A duplex byte stream with bounded reads.
pub trait Transport: Send {
    /// Read what is there within `timeout`: `Ok(0)` when the other end closed,
    /// `Err(TimedOut | WouldBlock)` when nothing came.
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    fn write_all(&mut self, data: &[u8]) -> io::Result<()>;
    /// Whether `Ok(0)` from a read means the other end went away (TCP) rather than
    /// "nothing yet" (some serial drivers).
    fn zero_read_is_eof(&self) -> bool;
}

/// TCP and Unix sockets: timeouts on the socket itself, and a zero read is the other end
/// closing.
macro_rules! socket_transport {
    ($socket:ty) => {
        impl Transport for $socket {
            fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
                self.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
                self.read(buf)
            }

            fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
                Write::write_all(self, data)?;
                self.flush()
            }

            fn zero_read_is_eof(&self) -> bool {
                true
            }
        }
    };
}

socket_transport!(TcpStream);
socket_transport!(std::os::unix::net::UnixStream);

/// A serial port.
pub struct Serial(pub Box<dyn serialport::SerialPort>);

impl Transport for Serial {
    fn read_timeout(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.0
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(io::Error::other)?;
        self.0.read(buf)
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        Write::write_all(&mut self.0, data)?;
        self.0.flush()
    }

    fn zero_read_is_eof(&self) -> bool {
        false
    }
}

/// Open `spec`: `tcp:HOST:PORT`, `unix:PATH` or a serial device path at `baud`.
pub fn open(spec: &str, baud: u32, timeout: Duration) -> Result<Box<dyn Transport>, CliError> {
    if let Some(path) = spec.strip_prefix("unix:") {
        let stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
            CliError::connect(format!(
                "cannot connect to --port {spec}: {e} (is QEMU running with -serial \
                 unix:PATH,server=on,wait=off?)"
            ))
        })?;
        return Ok(Box::new(stream));
    }
    if let Some(hostport) = spec.strip_prefix("tcp:") {
        let addr = hostport
            .to_socket_addrs()
            .map_err(|e| {
                CliError::usage(format!(
                    "--port {spec}: {e}; expected tcp:HOST:PORT, e.g. tcp:127.0.0.1:4444"
                ))
            })?
            .next()
            .ok_or_else(|| CliError::usage(format!("--port {spec}: no address for that host")))?;
        let stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
            CliError::connect(format!(
                "cannot connect to --port {spec}: {e} (is QEMU running with -serial \
                 tcp::PORT,server,nowait?)"
            ))
        })?;
        let _ = stream.set_nodelay(true);
        return Ok(Box::new(stream));
    }
    if spec.is_empty() {
        return Err(CliError::usage(
            "--port is empty: give a serial device (/dev/ttyACM0) or tcp:HOST:PORT",
        ));
    }
    let port = serialport::new(spec, baud)
        .timeout(timeout)
        .open()
        .map_err(|e| {
            let hint = match e.kind() {
                serialport::ErrorKind::NoDevice => {
                    " (is the board plugged in? `fc00ctl device ports` lists serial ports)"
                }
                serialport::ErrorKind::Io(io::ErrorKind::NotFound) => {
                    " (no such device; `fc00ctl device ports` lists serial ports)"
                }
                serialport::ErrorKind::Io(io::ErrorKind::PermissionDenied) => {
                    " (permission denied: add yourself to the dialout group)"
                }
                _ => "",
            };
            CliError::connect(format!("cannot open {spec}: {e}{hint}"))
        })?;
    Ok(Box::new(Serial(port)))
}

/// Serial ports the system knows of, for `device ports` and for hints.
pub fn ports() -> Vec<String> {
    serialport::available_ports()
        .map(|ports| ports.into_iter().map(|p| p.port_name).collect())
        .unwrap_or_default()
}
