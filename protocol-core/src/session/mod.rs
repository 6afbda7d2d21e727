//! Session manager: end-to-end CryptoAuth sessions, handles, paths and IPv6 carriage.
