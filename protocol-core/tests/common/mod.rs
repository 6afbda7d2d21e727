//! Helpers shared by the integration tests: finding the read-only reference data in
//! `../shared/reference/` and decoding hex. A missing file is a loud failure, never a skip.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/reference` relative to the workspace root, or `$FC00_SHARED/reference`.
pub fn reference_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("FC00_SHARED") {
        return PathBuf::from(dir).join("reference");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference")
}

/// Read a file under `reference/` (e.g. `vectors/keys.json`), failing with a message that
/// says where the data was expected.
pub fn read_reference(rel: &str) -> String {
    let path = reference_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reference data {} is missing ({e}); these tests need the read-only \
             ../shared/ folder beside the checkout (or FC00_SHARED=/path/to/shared)",
            path.display()
        )
    })
}

pub fn reference_json(rel: &str) -> serde_json::Value {
    let text = read_reference(rel);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel} is not valid JSON: {e}"))
}

pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex in reference data {s:?}: {e}"))
}

pub fn unhex32(s: &str) -> [u8; 32] {
    unhex(s)
        .try_into()
        .unwrap_or_else(|_| panic!("expected 32 bytes of hex, got {s:?}"))
}
