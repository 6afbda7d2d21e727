//! Puts the board's memory layout, as memory.x, first on the linker search path (cortex-m-rt's
//! link.x includes it): ours for QEMU MPS2 and the RP2040 board; the STM32 build takes
//! embassy-stm32's (its `memory-x` feature), so nothing is written for it. No file in this
//! directory may be called memory.x: the linker looks in the working directory first.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let memory: Option<&[u8]> = if env::var_os("CARGO_FEATURE_MPS2").is_some() {
        Some(include_bytes!("memory-mps2.x"))
    } else if env::var_os("CARGO_FEATURE_W5500_EVB_PICO").is_some() {
        // RP2040: the second-stage bootloader's section comes from embassy-rp's link-rp.x.
        println!("cargo:rustc-link-arg-bins=-Tlink-rp.x");
        Some(include_bytes!("memory-rp2040.x"))
    } else {
        None
    };
    if let Some(memory) = memory {
        fs::write(out.join("memory.x"), memory).expect("write memory.x");
        println!("cargo:rustc-link-search={}", out.display());
    }
    println!("cargo:rerun-if-changed=memory-mps2.x");
    println!("cargo:rerun-if-changed=memory-rp2040.x");
    println!("cargo:rerun-if-changed=build.rs");
}
