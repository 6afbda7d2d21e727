//! The serial management stream, as a device (requests) and a host (responses) read it:
//! arbitrary bytes through the frame splitter and decoder; every decoded message re-encodes
//! and decodes to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use protocol_core::mgmt::{
    decode_frame, encode_frame, FrameDecoder, FrameEvent, Request, Response, MAX_FRAME_LEN,
};

fn check<T>(frame: &[u8])
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + core::fmt::Debug,
{
    let mut copy = [0u8; MAX_FRAME_LEN];
    let Some(slot) = copy.get_mut(..frame.len()) else {
        return;
    };
    slot.copy_from_slice(frame);
    if let Ok(env) = decode_frame::<T>(slot) {
        let mut out = [0u8; MAX_FRAME_LEN];
        let n = encode_frame(env.seq, &env.body, &mut out).expect("a decoded message re-encodes");
        let mut dec = FrameDecoder::<MAX_FRAME_LEN>::new();
        match dec.push(&out[..n]) {
            (_, Some(FrameEvent::Frame(f))) => {
                let again = decode_frame::<T>(f).expect("re-encoded frame decodes");
                assert_eq!(again, env);
            }
            other => panic!("re-encoded frame not split back: {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut dec = FrameDecoder::<MAX_FRAME_LEN>::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (used, ev) = dec.push(rest);
        if let Some(FrameEvent::Frame(f)) = ev {
            let frame: &[u8] = f;
            check::<Request>(frame);
            check::<Response>(frame);
        }
        rest = rest.get(used..).unwrap_or(&[]);
    }
});
