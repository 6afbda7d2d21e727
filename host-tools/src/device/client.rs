//! Request/response over the management protocol (`protocol_core::mgmt`): sequence numbers,
//! a timeout on every read, retries when a frame arrives corrupt, and errors that say which
//! of the device, the cable or the user is at fault.

use std::io;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use protocol_core::mgmt::{
    decode_frame, encode_frame, DeviceError, FrameDecoder, FrameError, FrameEvent, Request,
    Response, MAX_FRAME_LEN, PROTOCOL_VERSION,
};

use super::link::Transport;
use crate::error::CliError;

/// Reads are cut into slices this long so the spinner can turn.
const SLICE: Duration = Duration::from_millis(100);
/// Waits longer than this show a spinner (on a terminal).
const SPINNER_AFTER: Duration = Duration::from_secs(1);

/// What the device said in its `Hello`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    pub protocol: u16,
    pub board: String,
    pub firmware: String,
}

/// A connection to one device.
pub struct DeviceClient {
    link: Box<dyn Transport>,
    decoder: FrameDecoder,
    /// Bytes read but not yet fed to the decoder.
    pending: Vec<u8>,
    seq: u16,
    timeout: Duration,
    /// Extra attempts after a corrupt answer.
    retries: u32,
    /// Set once anything decodable came back: later silence is exit 1, not exit 3.
    answered: bool,
    /// How the user named the device, for messages.
    name: String,
    /// Show a spinner for long waits.
    progress: bool,
    /// Corrupt frames seen (retried or not), for `--verbose` style reporting and tests.
    pub corrupt_frames: u32,
}

enum Wait {
    Corrupt(FrameError),
    Fatal(CliError),
}

impl DeviceClient {
    pub fn new(link: Box<dyn Transport>, name: &str, timeout: Duration) -> DeviceClient {
        DeviceClient {
            link,
            decoder: FrameDecoder::new(),
            pending: Vec::new(),
            seq: std::process::id() as u16,
            timeout,
            retries: 2,
            answered: false,
            name: name.to_string(),
            progress: false,
            corrupt_frames: 0,
        }
    }

    /// Show a spinner on stderr for waits over a second (hidden when stderr is no terminal).
    pub fn with_progress(mut self, on: bool) -> DeviceClient {
        self.progress = on;
        self
    }

    /// How many times a request is re-sent after a corrupt answer.
    pub fn with_retries(mut self, retries: u32) -> DeviceClient {
        self.retries = retries;
        self
    }

    /// `Hello`, checking that the device speaks our protocol version.
    pub fn hello(&mut self) -> Result<Hello, CliError> {
        match self.request(&Request::Hello, "hello")? {
            Response::Hello {
                protocol,
                board,
                firmware,
            } => {
                if protocol != PROTOCOL_VERSION {
                    return Err(CliError::runtime(format!(
                        "{} speaks management protocol v{protocol}, this fc00ctl v{PROTOCOL_VERSION}: \
                         update {}",
                        self.name,
                        if protocol > PROTOCOL_VERSION { "fc00ctl" } else { "the firmware" }
                    )));
                }
                Ok(Hello {
                    protocol,
                    board: board.as_str().to_string(),
                    firmware: firmware.as_str().to_string(),
                })
            }
            other => Err(self.unexpected("hello", &other)),
        }
    }

    /// Send `req` and return the device's answer to it. A `Response::Error` is returned as
    /// an error naming what the device refused.
    pub fn call(&mut self, req: &Request, what: &str) -> Result<Response, CliError> {
        match self.request(req, what)? {
            Response::Error(e) => Err(device_error(what, e)),
            other => Ok(other),
        }
    }

    /// The answer as it came (a `Response::Error` included).
    pub fn request(&mut self, req: &Request, what: &str) -> Result<Response, CliError> {
        let mut attempt = 0;
        loop {
            self.seq = self.seq.wrapping_add(1);
            let mut frame = [0u8; MAX_FRAME_LEN];
            let n = encode_frame(self.seq, req, &mut frame)
                .map_err(|e| CliError::usage(format!("{what}: cannot encode the request: {e}")))?;
            let bytes = frame.get(..n).unwrap_or_default();
            self.link
                .write_all(bytes)
                .map_err(|e| self.io_error(what, &e))?;
            match self.await_answer(self.seq, what) {
                Ok(resp) => {
                    // A remove whose first answer was lost already happened.
                    if attempt > 0
                        && matches!(resp, Response::Error(DeviceError::NotFound))
                        && matches!(
                            req,
                            Request::RemoveUdpPeer { .. } | Request::RemovePassword { .. }
                        )
                    {
                        return Ok(Response::Done);
                    }
                    return Ok(resp);
                }
                Err(Wait::Corrupt(e)) => {
                    self.corrupt_frames += 1;
                    // A reboot must not be sent twice.
                    if attempt >= self.retries || matches!(req, Request::Reboot) {
                        return Err(CliError::runtime(format!(
                            "{what}: the answer from {} arrived corrupt {} time(s) ({e}); check \
                             the cable and --baud",
                            self.name,
                            attempt + 1
                        )));
                    }
                    attempt += 1;
                }
                Err(Wait::Fatal(e)) => return Err(e),
            }
        }
    }

    /// Wait for the frame answering `seq`; frames answering older requests are skipped.
    fn await_answer(&mut self, seq: u16, what: &str) -> Result<Response, Wait> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut spinner: Option<ProgressBar> = None;
        let result = loop {
            // Frames already buffered first.
            match self.next_frame(seq) {
                Some(Ok(resp)) => break Ok(resp),
                Some(Err(w)) => break Err(w),
                None => {}
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(Wait::Fatal(self.silence(what)));
            }
            if self.progress && spinner.is_none() && now - start >= SPINNER_AFTER {
                let bar = ProgressBar::new_spinner();
                if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                    bar.set_style(style);
                }
                bar.set_message(format!("waiting for {} ({what})", self.name));
                spinner = Some(bar);
            }
            if let Some(bar) = &spinner {
                bar.tick();
            }
            let mut buf = [0u8; 512];
            let slice = (deadline - now).min(SLICE);
            match self.link.read_timeout(&mut buf, slice) {
                Ok(0) if self.link.zero_read_is_eof() => {
                    break Err(Wait::Fatal(self.closed(what)));
                }
                Ok(n) => self
                    .pending
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::BrokenPipe
                            | io::ErrorKind::UnexpectedEof
                    ) =>
                {
                    break Err(Wait::Fatal(self.closed(what)));
                }
                Err(e) => break Err(Wait::Fatal(self.io_error(what, &e))),
            }
        };
        if let Some(bar) = spinner {
            bar.finish_and_clear();
        }
        result
    }

    /// Feed buffered bytes to the decoder and judge the complete frames. `None`: no answer
    /// buffered (only stale frames, or none). A corrupt frame is reported only when no good
    /// answer follows it in what is buffered, so noise before an answer costs no retry.
    fn next_frame(&mut self, seq: u16) -> Option<Result<Response, Wait>> {
        let mut corrupt = None;
        while !self.pending.is_empty() {
            let (used, event) = self.decoder.push(&self.pending);
            let frame = match event {
                Some(FrameEvent::Frame(f)) => Some(f.to_vec()),
                Some(FrameEvent::Oversized) => None,
                None => {
                    self.pending.clear();
                    break;
                }
            };
            self.pending.drain(..used.min(self.pending.len()));
            let Some(mut frame) = frame else {
                corrupt = Some(FrameError::MessageTooLong);
                continue;
            };
            match decode_frame::<Response>(&mut frame) {
                Ok(env) if env.seq == seq => {
                    self.answered = true;
                    return Some(Ok(env.body));
                }
                // The answer to a request that already timed out.
                Ok(_) => self.answered = true,
                Err(FrameError::UnknownBody { seq: s }) if s == seq => {
                    return Some(Err(Wait::Fatal(CliError::runtime(format!(
                        "{} answered with a message this fc00ctl does not understand \
                         (protocol v{PROTOCOL_VERSION}): update fc00ctl or the firmware",
                        self.name
                    )))));
                }
                Err(FrameError::UnknownBody { .. }) => {}
                Err(e) => corrupt = Some(e),
            }
        }
        corrupt.map(|e| Err(Wait::Corrupt(e)))
    }

    fn silence(&self, what: &str) -> CliError {
        let ms = self.timeout.as_millis();
        if self.answered {
            CliError::runtime(format!(
                "{what}: no answer from {} within {ms} ms (raise --timeout?)",
                self.name
            ))
        } else {
            CliError::connect(format!(
                "no answer from {} within {ms} ms: is it running the fc00 firmware, at this \
                 --baud?",
                self.name
            ))
        }
    }

    fn closed(&self, what: &str) -> CliError {
        CliError::runtime(format!(
            "{what}: {} closed the connection before answering (did it reset?)",
            self.name
        ))
    }

    fn io_error(&self, what: &str, e: &io::Error) -> CliError {
        if matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ) {
            return self.closed(what);
        }
        CliError::runtime(format!("{what}: cannot talk to {}: {e}", self.name))
    }

    fn unexpected(&self, what: &str, resp: &Response) -> CliError {
        let kind = match resp {
            Response::Hello { .. } => "Hello",
            Response::Identity { .. } => "Identity",
            Response::Stats(_) => "Stats",
            Response::Peers { .. } => "Peers",
            Response::Sessions { .. } => "Sessions",
            Response::Done => "Done",
            Response::Error(_) => "Error",
        };
        CliError::runtime(format!(
            "{what}: {} answered with {kind}, which does not answer this request",
            self.name
        ))
    }

    /// [`DeviceClient::unexpected`] for callers matching responses.
    pub fn wrong_answer(&self, what: &str, resp: &Response) -> CliError {
        self.unexpected(what, resp)
    }
}

/// What to tell the user when the device refuses.
pub fn device_error(what: &str, e: DeviceError) -> CliError {
    let why = match e {
        DeviceError::UnknownRequest => {
            "the device does not know this request (older firmware?)".to_string()
        }
        DeviceError::KeyNotFc => "that private key gives no fc00::/8 address".into(),
        DeviceError::TableFull => "its table is full: remove an entry first".into(),
        DeviceError::NotFound => "nothing on the device matches that".into(),
        DeviceError::Storage => "the device could not write its flash".into(),
        DeviceError::Refused => "the device's node refused it (check the address)".into(),
    };
    CliError::runtime(format!("{what}: {why}"))
}
