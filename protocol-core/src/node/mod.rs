//! The composed node: links in, frames and events out (see docs/node.md).
