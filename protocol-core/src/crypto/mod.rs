//! CryptoAuth: the legacy cjdns session layer used for peer links and end-to-end sessions.
