//! COBS + CRC-32 framing of postcard messages (see the module docs of [`super`]).

use postcard::ser_flavors::{crc::CrcModifier, Cobs, Slice};
use serde::{de::DeserializeOwned, Serialize};

use super::{Envelope, MAX_FRAME_LEN, MAX_MESSAGE_LEN};

/// CRC-32 as Ethernet and zlib compute it.
const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
const CRC_LEN: usize = 4;

/// Why a frame could not be built or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The output buffer is smaller than the encoded message.
    BufferTooSmall,
    /// The message does not fit in [`MAX_MESSAGE_LEN`].
    MessageTooLong,
    /// The bytes between two delimiters are not valid COBS.
    BadCobs,
    /// Too short to hold a sequence number and a CRC.
    TooShort,
    /// The CRC does not match: line noise, or bytes lost.
    BadCrc,
    /// The CRC matched but the body is not a message of the expected type: the peer speaks
    /// another protocol version. `seq` is still usable to answer it.
    UnknownBody { seq: u16 },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FrameError::BufferTooSmall => f.write_str("output buffer too small for the frame"),
            FrameError::MessageTooLong => f.write_str("message longer than MAX_MESSAGE_LEN"),
            FrameError::BadCobs => f.write_str("frame is not valid COBS"),
            FrameError::TooShort => f.write_str("frame too short for a sequence number and CRC"),
            FrameError::BadCrc => f.write_str("frame CRC mismatch (line noise or lost bytes)"),
            FrameError::UnknownBody { seq } => {
                write!(
                    f,
                    "frame {seq} holds a message this side does not understand"
                )
            }
        }
    }
}

/// Encode `body` with sequence number `seq` into `out` as one delimited frame; returns its
/// length. `out` of [`MAX_FRAME_LEN`] bytes always suffices for a valid message.
pub fn encode_frame<T: Serialize>(seq: u16, body: &T, out: &mut [u8]) -> Result<usize, FrameError> {
    let envelope = Envelope { seq, body };
    // Refuse over-long messages even when `out` is larger, so that the receiver (whose
    // decoder is sized to MAX_FRAME_LEN) never sees a frame it must drop.
    let len = postcard::experimental::serialized_size(&envelope)
        .map_err(|_| FrameError::MessageTooLong)?;
    if len + CRC_LEN > MAX_MESSAGE_LEN {
        return Err(FrameError::MessageTooLong);
    }
    let cobs = Cobs::try_new(Slice::new(out)).map_err(|_| FrameError::BufferTooSmall)?;
    let flavor = CrcModifier::new(cobs, CRC.digest());
    let written = postcard::serialize_with_flavor::<_, _, &mut [u8]>(&envelope, flavor)
        .map_err(|_| FrameError::BufferTooSmall)?;
    Ok(written.len())
}

/// Decode one frame (the bytes between delimiters, without the `0x00`) in place.
pub fn decode_frame<T: DeserializeOwned>(frame: &mut [u8]) -> Result<Envelope<T>, FrameError> {
    let len = cobs::decode_in_place(frame).map_err(|_| FrameError::BadCobs)?;
    let message = frame.get(..len).ok_or(FrameError::BadCobs)?;
    let Some(body_len) = len.checked_sub(CRC_LEN).filter(|&n| n >= 1) else {
        return Err(FrameError::TooShort);
    };
    let (body, crc) = message.split_at(body_len);
    if CRC.checksum(body).to_le_bytes() != crc {
        return Err(FrameError::BadCrc);
    }
    match postcard::from_bytes::<Envelope<T>>(body) {
        Ok(envelope) => Ok(envelope),
        Err(_) => match postcard::take_from_bytes::<u16>(body) {
            Ok((seq, _)) => Err(FrameError::UnknownBody { seq }),
            Err(_) => Err(FrameError::TooShort),
        },
    }
}

/// What [`FrameDecoder::push`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameEvent<'a> {
    /// A complete frame (COBS bytes, delimiter removed); pass it to [`decode_frame`].
    Frame(&'a mut [u8]),
    /// A frame longer than the decoder's buffer was discarded up to its delimiter.
    Oversized,
}

/// Splits a byte stream into frames at `0x00`, in a fixed buffer. A frame that overflows the
/// buffer is dropped (reported once, at its delimiter) and the stream resynchronises on the
/// next frame; nothing else is lost.
#[derive(Debug)]
pub struct FrameDecoder<const N: usize = MAX_FRAME_LEN> {
    buf: [u8; N],
    len: usize,
    overflowed: bool,
    /// A completed frame is still lent out: clear it on the next push.
    pending_reset: bool,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    pub const fn new() -> Self {
        FrameDecoder {
            buf: [0; N],
            len: 0,
            overflowed: false,
            pending_reset: false,
        }
    }

    /// Forget a partial frame (after a timeout, or when the port was reopened).
    pub fn reset(&mut self) {
        self.len = 0;
        self.overflowed = false;
        self.pending_reset = false;
    }

    /// Consume bytes from `data` up to and including the first delimiter. Returns how many
    /// bytes were consumed and, if a frame ended, the event; call again with the rest.
    /// Empty frames (two delimiters in a row, used to flush a line) are skipped silently.
    pub fn push(&mut self, data: &[u8]) -> (usize, Option<FrameEvent<'_>>) {
        if self.pending_reset {
            self.reset();
        }
        for (i, &byte) in data.iter().enumerate() {
            if byte == 0 {
                let consumed = i + 1;
                if self.overflowed {
                    self.reset();
                    return (consumed, Some(FrameEvent::Oversized));
                }
                if self.len == 0 {
                    continue;
                }
                self.pending_reset = true;
                let len = self.len;
                return match self.buf.get_mut(..len) {
                    Some(frame) => (consumed, Some(FrameEvent::Frame(frame))),
                    None => (consumed, Some(FrameEvent::Oversized)),
                };
            }
            match self.buf.get_mut(self.len) {
                Some(slot) if !self.overflowed => {
                    *slot = byte;
                    self.len += 1;
                }
                _ => self.overflowed = true,
            }
        }
        (data.len(), None)
    }
}
