//! The NaCl building blocks CryptoAuth is made of, in the exact form cjdns uses them:
//! `crypto_box_beforenm`, the password-mixed secret, the auth lookup hashes, and
//! XSalsa20-Poly1305 sealing in libsodium's "MAC first" layout, done in place.

use crypto_secretbox::aead::generic_array::GenericArray;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::identity::x25519_shared;

/// Size of the Poly1305 authenticator placed in front of every ciphertext.
pub const TAG_LEN: usize = 16;
/// Size of the XSalsa20 nonce.
pub const NONCE_LEN: usize = 24;

/// Why a primitive refused to produce a key or a plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrimitiveError {
    /// The peer's public key is a low-order point: the X25519 result is all zeros, which
    /// libsodium refuses (and which would give a key anybody can compute).
    WeakKey,
    /// The Poly1305 authenticator did not match.
    BadMac,
    /// Fewer bytes than the authenticator itself.
    Truncated,
}

/// A 32-byte symmetric key for XSalsa20-Poly1305.
pub type SecretKey = [u8; 32];

fn shared_point(my_private: &[u8; 32], her_public: &[u8; 32]) -> Result<[u8; 32], PrimitiveError> {
    let point = x25519_shared(my_private, her_public);
    if bool::from(point.ct_eq(&[0u8; 32])) {
        return Err(PrimitiveError::WeakKey);
    }
    Ok(point)
}

/// `crypto_box_beforenm`: HSalsa20 of the X25519 point with a zero 16-byte input.
pub fn beforenm(my_private: &[u8; 32], her_public: &[u8; 32]) -> Result<SecretKey, PrimitiveError> {
    let point = shared_point(my_private, her_public)?;
    let key = salsa20::hsalsa::<salsa20::cipher::consts::U10>(
        GenericArray::from_slice(&point),
        &GenericArray::default(),
    );
    let mut out = [0u8; 32];
    out.copy_from_slice(&key);
    Ok(out)
}

/// `SHA256(password)`: what both ends mix into the handshake secret; never sent.
pub fn password_secret(password: &[u8]) -> [u8; 32] {
    Sha256::digest(password).into()
}

/// The handshake secret. With a password the reference hashes the *raw* X25519 point with
/// the password secret instead of running HSalsa20 over it.
pub fn handshake_secret(
    my_private: &[u8; 32],
    her_public: &[u8; 32],
    password_secret: Option<&[u8; 32]>,
) -> Result<SecretKey, PrimitiveError> {
    match password_secret {
        None => beforenm(my_private, her_public),
        Some(secret) => {
            let point = shared_point(my_private, her_public)?;
            let mut hasher = Sha256::new();
            hasher.update(point);
            hasher.update(secret);
            Ok(hasher.finalize().into())
        }
    }
}

/// The 7 lookup bytes for auth type 1: bytes 1..8 of `SHA256(SHA256(password))`.
pub fn password_lookup(password_secret: &[u8; 32]) -> [u8; 7] {
    lookup_of(&Sha256::digest(password_secret).into())
}

/// The 7 lookup bytes for auth type 2: bytes 1..8 of `SHA256(login)`.
pub fn login_lookup(login: &[u8]) -> [u8; 7] {
    lookup_of(&Sha256::digest(login).into())
}

fn lookup_of(hash: &[u8; 32]) -> [u8; 7] {
    let mut out = [0u8; 7];
    out.copy_from_slice(&hash[1..8]);
    out
}

/// The data-packet nonce: zeros with the counter little-endian at bytes 4..8 when the
/// sender initiated the session, at bytes 0..4 when the sender is the responder.
pub fn data_nonce(counter: u32, sender_is_initiator: bool) -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    let at = if sender_is_initiator { 4 } else { 0 };
    nonce[at..at + 4].copy_from_slice(&counter.to_le_bytes());
    nonce
}

/// Encrypt `boxed[TAG_LEN..]` in place and write the authenticator into `boxed[..TAG_LEN]`
/// (`crypto_box_afternm` output layout). `boxed` shorter than the tag is an error.
pub fn seal_in_place(
    key: &SecretKey,
    nonce: &[u8; NONCE_LEN],
    boxed: &mut [u8],
) -> Result<(), PrimitiveError> {
    if boxed.len() < TAG_LEN {
        return Err(PrimitiveError::Truncated);
    }
    let (tag_out, body) = boxed.split_at_mut(TAG_LEN);
    let cipher = XSalsa20Poly1305::new(GenericArray::from_slice(key));
    let tag = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), b"", body)
        .map_err(|_| PrimitiveError::Truncated)?;
    tag_out.copy_from_slice(&tag);
    Ok(())
}

/// Check the authenticator in `boxed[..TAG_LEN]` and decrypt `boxed[TAG_LEN..]` in place.
/// Nothing is decrypted when the authenticator is wrong.
pub fn open_in_place(
    key: &SecretKey,
    nonce: &[u8; NONCE_LEN],
    boxed: &mut [u8],
) -> Result<(), PrimitiveError> {
    if boxed.len() < TAG_LEN {
        return Err(PrimitiveError::Truncated);
    }
    let (tag, body) = boxed.split_at_mut(TAG_LEN);
    let cipher = XSalsa20Poly1305::new(GenericArray::from_slice(key));
    cipher
        .decrypt_in_place_detached(
            GenericArray::from_slice(nonce),
            b"",
            body,
            GenericArray::from_slice(tag),
        )
        .map_err(|_| PrimitiveError::BadMac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    // Keys and secrets recorded from a real cjdns v22.3 peer link
    // (vectors/cryptoauth-outer-udp.json).
    const A_PRIV: &str = "889ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f";
    const B_PUB: &str = "e16244f1d475c6a6d2fd51e771cc17290197d19f492702391b78611e9ce4966a";
    const B_TEMP_PRIV: &str = "7374c50132de38d895f60800278f7ee1f4da4b52b2b0b1716d0b8d29a7864d28";
    const B_TEMP_PUB: &str = "fc66f2dfb959772a753b2e624eb254413dfe9a3532d08473009eb285ddd9ed33";
    const A_TEMP_PUB: &str = "fa978da25ae479c9f808a99c0e58aff886c2b71fe17fa3b96bf92fcf04e9f224";

    #[test]
    fn secrets_match_the_reference() {
        let pw = password_secret(b"passA2B");
        assert_eq!(
            pw,
            h("f9968a0f60b4f95f7270391f57aa1f86591112adb85cda50bccd15794aecf8cd")
        );
        assert_eq!(
            handshake_secret(&h(A_PRIV), &h(B_PUB), Some(&pw)).unwrap(),
            h("0121e31488bcabde3e8edc8b260cc9a1a0814668417acc91234b3fa2b310d440")
        );
        assert_eq!(
            beforenm(&h(A_PRIV), &h(B_TEMP_PUB)).unwrap(),
            h("95e24ceb2dc09251764390f580e7cd4c804f7668243d59ec006c9493b9c22837")
        );
        assert_eq!(
            beforenm(&h(B_TEMP_PRIV), &h(A_TEMP_PUB)).unwrap(),
            h("fbdb44f598677c8cc89ae85491c12b822aafba4dbffc26ebdd45d0705d5a5274")
        );
        assert_eq!(
            login_lookup(b"nodeB"),
            [0x30, 0x3e, 0x91, 0x2d, 0x02, 0x50, 0xf8]
        );
        assert_eq!(
            password_lookup(&pw),
            [0x70, 0x2d, 0xf9, 0x42, 0x2a, 0x5d, 0xfc]
        );
    }

    #[test]
    fn low_order_point_is_refused() {
        assert_eq!(
            beforenm(&h(A_PRIV), &[0u8; 32]),
            Err(PrimitiveError::WeakKey)
        );
        assert_eq!(
            handshake_secret(&h(A_PRIV), &[0u8; 32], Some(&[1u8; 32])),
            Err(PrimitiveError::WeakKey)
        );
    }

    #[test]
    fn seal_open_round_trip_and_tamper() {
        let key = [7u8; 32];
        let nonce = data_nonce(5, true);
        assert_eq!(&nonce[..8], &[0, 0, 0, 0, 5, 0, 0, 0]);
        let mut buf = [0u8; 16 + 11];
        buf[16..].copy_from_slice(b"hello world");
        seal_in_place(&key, &nonce, &mut buf).unwrap();
        let sealed = buf;
        open_in_place(&key, &nonce, &mut buf).unwrap();
        assert_eq!(&buf[16..], b"hello world");
        let mut bad = sealed;
        bad[20] ^= 1;
        assert_eq!(
            open_in_place(&key, &nonce, &mut bad),
            Err(PrimitiveError::BadMac)
        );
        assert_eq!(
            bad,
            {
                let mut b = sealed;
                b[20] ^= 1;
                b
            },
            "no plaintext on failure"
        );
        assert_eq!(
            open_in_place(&key, &nonce, &mut [0u8; 15]),
            Err(PrimitiveError::Truncated)
        );
    }
}
