//! Arbitrary text into the cjdroute.conf parser: it returns a config or an error naming a
//! place in the text, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match fc00d::config::parse(text) {
        Ok(cfg) => {
            // A config that parses has a usable identity.
            let _ = cfg.private_key.public_key();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
