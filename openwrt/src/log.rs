//! Log lines to stderr: `LEVEL seconds-since-start message`. `FC00_LOG=debug` shows more.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

pub const ERROR: u8 = 0;
pub const WARN: u8 = 1;
pub const INFO: u8 = 2;
pub const DEBUG: u8 = 3;

static LEVEL: AtomicU8 = AtomicU8::new(INFO);
static START: OnceLock<Instant> = OnceLock::new();

/// Set the level from `FC00_LOG` (error, warn, info, debug).
pub fn init_from_env() {
    START.get_or_init(Instant::now);
    let level = match std::env::var("FC00_LOG").unwrap_or_default().as_str() {
        "error" => ERROR,
        "warn" => WARN,
        "debug" | "trace" => DEBUG,
        _ => INFO,
    };
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn enabled(level: u8) -> bool {
    level <= LEVEL.load(Ordering::Relaxed)
}

pub fn write(level: u8, args: std::fmt::Arguments<'_>) {
    let name = ["ERROR", "WARN", "INFO", "DEBUG"]
        .get(level as usize)
        .copied()
        .unwrap_or("DEBUG");
    let t = START.get_or_init(Instant::now).elapsed().as_secs_f64();
    eprintln!("{name:5} {t:9.3} {args}");
}

#[macro_export]
macro_rules! log_at {
    ($level:expr, $($arg:tt)*) => {
        if $crate::log::enabled($level) {
            $crate::log::write($level, format_args!($($arg)*));
        }
    };
}
#[macro_export]
macro_rules! log_error { ($($arg:tt)*) => { $crate::log_at!($crate::log::ERROR, $($arg)*) }; }
#[macro_export]
macro_rules! log_warn { ($($arg:tt)*) => { $crate::log_at!($crate::log::WARN, $($arg)*) }; }
#[macro_export]
macro_rules! log_info { ($($arg:tt)*) => { $crate::log_at!($crate::log::INFO, $($arg)*) }; }
#[macro_export]
macro_rules! log_debug { ($($arg:tt)*) => { $crate::log_at!($crate::log::DEBUG, $($arg)*) }; }
