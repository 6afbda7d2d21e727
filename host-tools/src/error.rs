//! The one error type of `fc00ctl`: a one-line message and the exit code scripts rely on.

use std::fmt;
use std::io;

/// Success.
pub const EXIT_OK: u8 = 0;
/// The command ran but failed: a peer or node did not answer, a ping timed out, the node
/// refused the request, a check found its input invalid.
pub const EXIT_RUNTIME: u8 = 1;
/// The command line or an input could not be used (bad key, bad address, bad option).
pub const EXIT_USAGE: u8 = 2;
/// Could not reach or authenticate to the node or device at all.
pub const EXIT_CONNECT: u8 = 3;

/// The exit codes as `--help` shows them.
pub const EXIT_CODES_HELP: &str = "Exit codes:\n  \
    0  success\n  \
    1  runtime failure: no answer in time, ping lost, the node refused the request\n  \
    2  bad usage or input: wrong key, address, path or option\n  \
    3  could not connect or authenticate: nothing listening, wrong password, no device";

/// A failure with the exit code it maps to; `Display` is the one line printed on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    message: String,
    code: u8,
}

impl CliError {
    /// Unusable input: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    /// A failure while running: exit code 1.
    pub fn runtime(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_RUNTIME,
        }
    }

    /// Could not connect or authenticate: exit code 3.
    pub fn connect(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            code: EXIT_CONNECT,
        }
    }

    /// Standard output went away (closed pipe, full disk).
    pub fn io(err: io::Error) -> Self {
        CliError::runtime(format!("cannot write output: {err}"))
    }

    pub fn exit_code(&self) -> u8 {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
