//! The admin connection: one UDP socket to a node's admin port (fc00d or a stock
//! cjdroute), cookie authentication, txid matching, timeouts and paging. Requests and
//! replies are built and parsed by fc00d's own admin client and bencode code.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use fc00d::admin::benc::{BDict, Benc};
use fc00d::admin::client::{build_auth_request, build_request, parse_reply};
use fc00d::admin::NO_MATCH_ERROR;

use crate::error::CliError;

/// A decoded reply dict.
pub type Reply = BTreeMap<Vec<u8>, Benc>;

/// Replies are at most this big (`Admin_MAX_RESPONSE_SIZE`, padded).
const RECV_BUF: usize = 65_536 + 64;

/// Paged listings stop after this many pages, whatever the node says about `more`.
const MAX_PAGES: i64 = 10_000;

/// A connection to one node's admin API.
pub struct AdminClient {
    sock: UdpSocket,
    target: SocketAddr,
    password: Option<String>,
    timeout: Duration,
    next_txid: u64,
    /// Set once the node has answered anything: later silence is a runtime failure
    /// (exit 1), silence from the start means nothing is there (exit 3).
    answered: bool,
    buf: Vec<u8>,
}

impl AdminClient {
    /// A client for the admin API at `target`. Nothing is sent yet. `password` `None`
    /// sends plain requests (cjdroute then allows only the functions that need no auth).
    pub fn new(
        target: SocketAddr,
        password: Option<String>,
        timeout: Duration,
    ) -> Result<AdminClient, CliError> {
        // An admin bound to 0.0.0.0 / :: is reached over loopback.
        let target = match target.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), target.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), target.port())
            }
            _ => target,
        };
        let local: SocketAddr = if target.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(local)
            .and_then(|s| s.connect(target).map(|()| s))
            .map_err(|e| CliError::connect(format!("cannot open a socket to {target}: {e}")))?;
        Ok(AdminClient {
            sock,
            target,
            password,
            timeout,
            next_txid: u64::from(std::process::id()) << 16,
            answered: false,
            buf: vec![0; RECV_BUF],
        })
    }

    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// How long one request waits for its reply.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Call `q` with `args`, waiting the client's timeout for the reply. An `error` in
    /// the reply other than `none` is returned as an error.
    pub fn call(&mut self, q: &str, args: BDict) -> Result<Reply, CliError> {
        let wait = self.timeout;
        self.call_waiting(q, args, wait)
    }

    /// [`AdminClient::call`] with its own wait (pings take as long as their timeout).
    pub fn call_waiting(
        &mut self,
        q: &str,
        args: BDict,
        wait: Duration,
    ) -> Result<Reply, CliError> {
        let reply = self.call_raw(q, args, wait)?;
        check_error(q, &reply, self.password.is_some())?;
        Ok(reply)
    }

    /// The reply as it came, `error` included.
    pub fn call_raw(&mut self, q: &str, args: BDict, wait: Duration) -> Result<Reply, CliError> {
        self.next_txid = self.next_txid.wrapping_add(1);
        let txid = format!("{:x}", self.next_txid);
        let request = match self.password.clone() {
            None => build_request(q, Some(&args), txid.as_bytes()),
            Some(password) => {
                let cookie = self.cookie()?;
                build_auth_request(q, Some(&args), txid.as_bytes(), &password, &cookie)
            }
        }
        .map_err(|e| CliError::usage(format!("cannot encode the {q} request: {e:?}")))?;
        self.exchange(q, &request, txid.as_bytes(), wait)
    }

    /// Every page of a paged listing (`page` 0, 1, … while the reply says `more`).
    pub fn call_paged(&mut self, q: &str, args: BDict) -> Result<Vec<Reply>, CliError> {
        let mut pages = Vec::new();
        for page in 0..MAX_PAGES {
            let reply = self.call(q, args.clone().with("page", page))?;
            let more = reply.get(b"more".as_slice()).and_then(Benc::as_int) == Some(1);
            pages.push(reply);
            if !more {
                break;
            }
        }
        Ok(pages)
    }

    /// A fresh cookie for one authenticated call.
    fn cookie(&mut self) -> Result<String, CliError> {
        self.next_txid = self.next_txid.wrapping_add(1);
        let txid = format!("{:x}", self.next_txid);
        let request = build_request("cookie", None, txid.as_bytes())
            .map_err(|e| CliError::usage(format!("cannot encode the cookie request: {e:?}")))?;
        let wait = self.timeout;
        let reply = self.exchange("cookie", &request, txid.as_bytes(), wait)?;
        match reply.get(b"cookie".as_slice()).and_then(Benc::as_bytes) {
            Some(c) => Ok(String::from_utf8_lossy(c).into_owned()),
            None => Err(CliError::connect(format!(
                "{} answered the cookie request without a cookie: is it a cjdns admin port?",
                self.target
            ))),
        }
    }

    /// Send `request` and wait up to `wait` for the reply carrying `txid` (replies to
    /// earlier, timed-out requests are skipped).
    fn exchange(
        &mut self,
        q: &str,
        request: &[u8],
        txid: &[u8],
        wait: Duration,
    ) -> Result<Reply, CliError> {
        let target = self.target;
        self.sock
            .send(request)
            .map_err(|e| self.socket_error(q, &e))?;
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.silence(q, wait));
            }
            self.sock
                .set_read_timeout(Some(left))
                .map_err(|e| CliError::runtime(format!("socket: {e}")))?;
            let n = match self.sock.recv(&mut self.buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(self.silence(q, wait));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.socket_error(q, &e)),
            };
            let Some(bytes) = self.buf.get(..n) else {
                continue;
            };
            let reply = parse_reply(bytes).map_err(|e| {
                CliError::runtime(format!(
                    "{target} sent an unreadable reply to {q} ({e:?}): is it a cjdns admin port?"
                ))
            })?;
            self.answered = true;
            if reply.get(b"txid".as_slice()).and_then(Benc::as_bytes) != Some(txid) {
                continue;
            }
            return Ok(reply);
        }
    }

    fn silence(&self, q: &str, wait: Duration) -> CliError {
        let ms = wait.as_millis();
        if self.answered {
            CliError::runtime(format!(
                "{q}: no reply from {} within {ms} ms (raise --timeout?)",
                self.target
            ))
        } else {
            CliError::connect(format!(
                "no answer from the admin API at {} within {ms} ms: is fc00d/cjdroute running \
                 there? (set --admin or --config)",
                self.target
            ))
        }
    }

    fn socket_error(&self, q: &str, e: &io::Error) -> CliError {
        if e.kind() == io::ErrorKind::ConnectionRefused {
            CliError::connect(format!(
                "nothing listens on the admin port {} (connection refused): is fc00d/cjdroute \
                 running? (set --admin or --config)",
                self.target
            ))
        } else {
            CliError::connect(format!("{q}: cannot talk to {}: {e}", self.target))
        }
    }
}

/// The reply's `error` text, when it carries one other than `none`.
pub fn reply_error(reply: &Reply) -> Option<String> {
    let text = reply.get(b"error".as_slice())?.as_bytes()?;
    if text == b"none" {
        None
    } else {
        Some(String::from_utf8_lossy(text).into_owned())
    }
}

/// Turn an `error` in a reply into the error the user sees, with what to do about it.
pub fn check_error(q: &str, reply: &Reply, with_password: bool) -> Result<(), CliError> {
    let Some(error) = reply_error(reply) else {
        return Ok(());
    };
    Err(if error == "Auth failed." {
        CliError::connect(
            "the node refused the admin password (Auth failed.): check --password or the \
             admin password in --config",
        )
    } else if error == NO_MATCH_ERROR && !with_password {
        CliError::connect(format!(
            "{q} needs the admin password: pass --password (or $FC00_ADMIN_PASSWORD) or \
             --config with the node's config"
        ))
    } else if error == NO_MATCH_ERROR {
        CliError::runtime(format!(
            "the node does not offer {q} (see `fc00ctl functions`)"
        ))
    } else {
        CliError::runtime(format!("{q}: the node answered: {error}"))
    })
}
