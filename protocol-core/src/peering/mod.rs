//! Peering (InterfaceController): links, peers and their outer CryptoAuth sessions, beacons, keepalive.
