//! Big-endian field readers for offsets the caller has already length-checked.

pub(crate) fn read_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

pub(crate) fn read_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(read_array(b, at))
}

pub(crate) fn read_u64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(read_array(b, at))
}

pub(crate) fn read_array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut raw = [0u8; N];
    raw.copy_from_slice(&b[at..at + N]);
    raw
}
