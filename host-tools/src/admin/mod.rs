//! Administration of a running node, fc00d or a stock cjdroute, over the cjdns admin API
//! (bencoded UDP on 127.0.0.1:11234 by default).

pub mod cli;
pub mod client;
pub mod model;
