//! RAM figures of any cortex-m-rt image: statics, stack reservation, and the stack's
//! high-water mark (with cortex-m-rt's `paint-stack` feature).
#![allow(unsafe_code)]

/// Deepest stack use so far, in bytes, if the application enabled cortex-m-rt's
/// `paint-stack` feature (otherwise it reads as the whole stack region).
pub fn stack_high_water() -> usize {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    // Only the symbols' addresses are used, never their (meaningless) values.
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let untouched = (bottom..top)
        .step_by(4)
        // SAFETY: [_stack_end, _stack_start) is RAM reserved for the stack; every word in
        // it is mapped and aligned. Reads of words the running code also uses are racy
        // only in their value, which is all this estimate needs.
        .take_while(|&addr| unsafe { core::ptr::read_volatile(addr as *const u32) } == PAINT)
        .count();
    top - bottom - untouched * 4
}

/// RAM taken by statics (`.data`, `.bss`, `.uninit`): everything below the stack.
pub fn static_ram_bytes() -> usize {
    unsafe extern "C" {
        static __sdata: u32;
        static _stack_end: u32;
    }
    core::ptr::addr_of!(_stack_end) as usize - core::ptr::addr_of!(__sdata) as usize
}

/// RAM reserved for the stack.
pub fn stack_bytes() -> usize {
    unsafe extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    core::ptr::addr_of!(_stack_start) as usize - core::ptr::addr_of!(_stack_end) as usize
}

/// cortex-m-rt's `STACK_PAINT_VALUE`.
const PAINT: u32 = 0xCCCC_CCCC;

/// Paints the stack below the current stack pointer again (keeping `margin` bytes for the
/// caller's own frames), so that [`stack_high_water`] from then on measures the deepest use
/// after this point. The firmware calls it once boot is over: building the node needs a
/// node-sized temporary on the stack that the running system never needs again.
pub fn repaint_stack(margin: usize) {
    unsafe extern "C" {
        static _stack_end: u32;
    }
    let sp: usize;
    // SAFETY: reads the stack pointer register, nothing else.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp) };
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    let top = sp.saturating_sub(margin) & !3;
    for addr in (bottom..top).step_by(4) {
        // SAFETY: [_stack_end, sp - margin) is stack RAM below every live frame (the stack
        // grows down and interrupt handlers use less than `margin`); it holds no data.
        unsafe { core::ptr::write_volatile(addr as *mut u32, PAINT) };
    }
}
