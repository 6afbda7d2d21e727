use core::fmt;

use rand_core::CryptoRngCore;
use sha2::{Digest, Sha512};

/// First byte of every valid cjdns address (fc00::/8).
pub const ADDRESS_PREFIX: u8 = 0xfc;

/// Raw X25519 scalar multiplication with the base point, clamping as libsodium does.
pub fn x25519_base(private: &[u8; 32]) -> [u8; 32] {
    let mut base = [0u8; 32];
    base[0] = 9;
    salty::agreement::x25519(*private, base)
}

/// Raw X25519 scalar multiplication (`crypto_scalarmult_curve25519`): the shared point,
/// before any hashing. CryptoAuth hashes it in two different ways, so callers choose.
pub fn x25519_shared(my_private: &[u8; 32], her_public: &[u8; 32]) -> [u8; 32] {
    salty::agreement::x25519(*my_private, *her_public)
}

/// A Curve25519 private key: 32 bytes used directly as the scalar.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey(pub [u8; 32]);

impl PrivateKey {
    pub fn public_key(&self) -> PublicKey {
        PublicKey(x25519_base(&self.0))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for PrivateKey {
    // Never print the secret by accident (logs, panics, defmt).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// A Curve25519 public key, the permanent identity of a node.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PublicKey(pub [u8; 32]);

impl PublicKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 16-byte address `SHA-512(SHA-512(key))[..16]`, whether or not it is a valid fc
    /// address (the reference computes it for any key, then checks the prefix).
    pub fn address_unchecked(&self) -> Ip6 {
        let first = Sha512::digest(self.0);
        let second = Sha512::digest(first);
        let mut out = [0u8; 16];
        out.copy_from_slice(&second[..16]);
        Ip6(out)
    }

    /// The node's fc00::/8 address; an error for keys whose address is outside fc00::/8,
    /// which every cjdns node rejects.
    pub fn address(&self) -> Result<Ip6, InvalidAddress> {
        let ip = self.address_unchecked();
        if ip.is_valid() {
            Ok(ip)
        } else {
            Err(InvalidAddress(ip))
        }
    }

    pub fn is_valid(&self) -> bool {
        self.address_unchecked().is_valid()
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0u8; 32]
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A key's address is outside fc00::/8 (the address it would have is kept for messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidAddress(pub Ip6);

impl fmt::Display for InvalidAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key's address {} is not in fc00::/8", self.0)
    }
}

/// A 16-byte IPv6 address as cjdns uses it. `Display` prints the reference's full form
/// (every group as four hex digits); see `identity::ip6` helpers for the short form.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ip6(pub [u8; 16]);

impl Ip6 {
    pub fn is_valid(&self) -> bool {
        self.0[0] == ADDRESS_PREFIX
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Ip6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, pair) in self.0.chunks_exact(2).enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{:02x}{:02x}", pair[0], pair[1])?;
        }
        Ok(())
    }
}

impl fmt::Debug for Ip6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ip6({self})")
    }
}

/// Draw private keys from `rng` until one yields a valid fc address (256 tries on average).
pub fn generate_keypair(rng: &mut impl CryptoRngCore) -> (PrivateKey, PublicKey, Ip6) {
    loop {
        let mut private = [0u8; 32];
        rng.fill_bytes(&mut private);
        let private = PrivateKey(private);
        let public = private.public_key();
        if let Ok(ip) = public.address() {
            return (private, public, ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn first_keys_json_pair() {
        let private = PrivateKey(hex32(
            "889ea1f28b69396dab10172be2f6695ad6336597725e13afbad6e35eaf9d5a6f",
        ));
        let public = private.public_key();
        assert_eq!(
            public.0,
            hex32("27b21279467535a58a97dac58a485880f2cb26f549d030401a3379e1cacd1c22")
        );
        let ip = public.address().unwrap();
        let mut s = heapless::String::<64>::new();
        core::fmt::write(&mut s, format_args!("{ip}")).unwrap();
        assert_eq!(s.as_str(), "fc49:0c57:3941:5184:3de2:5d23:d54f:9a53");
    }
}
