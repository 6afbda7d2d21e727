//! CJDHT messages: the bencoded dicts the legacy DHT exchanges inside inner sessions
//! (content type 256). A checked, zero-copy view ([`Message::parse`]) and writers for the
//! queries and replies we send ([`emit_query`], [`emit_reply`]).
//!
//! Acceptance follows the reference's incoming module chain (`SerializationModule`,
//! `EncodingSchemeModule`): a message without `txid`, without `p` or with `p` < 20, with
//! an `es` that does not deserialize, or with `ei` missing or outside the sender's scheme
//! is dropped. Bytes after the dict are ignored (the reference only logs them).

use core::fmt;

use crate::identity::PublicKey;
use crate::switch::encoding::{EncodingScheme, V358_SERIALIZED};
use crate::wire::bencode::{BencodeError, Dict, Writer};

/// Our protocol version, sent as `p` in every message.
pub const PROTOCOL_VERSION: u32 = 22;
/// Oldest version whose DHT messages are accepted (`Version_MINIMUM_COMPATIBLE`).
pub const MIN_COMPATIBLE_VERSION: u32 = 20;
/// Most nodes in one reply (`RouterModule_K`).
pub const MAX_REPLY_NODES: usize = 8;
/// One `n` entry: 32-byte key then the 8-byte big-endian label.
pub const NODE_ENTRY_LEN: usize = 40;
/// Largest message we write; a full reply is well under it (the reference caps at 1536).
pub const MAX_MESSAGE_LEN: usize = 512;
/// Prefix the legacy DHT pathfinder puts on its query txids; replies are routed by it.
pub const LEGACY_TXID_PREFIX: &[u8; 2] = b"00";
/// Prefix of the subnode pathfinder's txids (its replies are not ours).
pub const SUBNODE_TXID_PREFIX: &[u8; 2] = b"01";
/// Longest txid we echo; seen txids are 14 bytes.
pub const MAX_TXID_LEN: usize = 64;

/// Query names.
pub const QUERY_PING: &[u8] = b"pn";
pub const QUERY_GET_PEERS: &[u8] = b"gp";
pub const QUERY_FIND_NODE: &[u8] = b"fn";
pub const QUERY_NEXT_HOP: &[u8] = b"nh";

/// Why a CJDHT message was dropped, naming what the sender got wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// Not bencode, or not a dict.
    Bencode(BencodeError),
    /// No `txid` string.
    MissingTxid,
    /// `txid` longer than we are willing to echo.
    TxidTooLong,
    /// No integer `p`.
    MissingVersion,
    /// `p` below the minimum compatible version (20).
    IncompatibleVersion(i64),
    /// `es` present but not a sane encoding scheme.
    BadEncodingScheme,
    /// No integer `ei`.
    MissingEncodingIndex,
    /// `ei` is not a form of the sender's scheme.
    BadEncodingIndex(i64),
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Bencode(e) => write!(f, "CJDHT message is not a bencode dict: {e}"),
            MessageError::MissingTxid => f.write_str("CJDHT message without txid"),
            MessageError::TxidTooLong => f.write_str("CJDHT txid too long"),
            MessageError::MissingVersion => f.write_str("CJDHT message without protocol version"),
            MessageError::IncompatibleVersion(v) => write!(f, "incompatible protocol version {v}"),
            MessageError::BadEncodingScheme => f.write_str("unusable encoding scheme"),
            MessageError::MissingEncodingIndex => f.write_str("CJDHT message without ei"),
            MessageError::BadEncodingIndex(i) => write!(f, "encoding index {i} out of range"),
        }
    }
}

impl From<BencodeError> for MessageError {
    fn from(e: BencodeError) -> Self {
        MessageError::Bencode(e)
    }
}

/// A validated CJDHT message borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// `q`: the query name; `None` for a reply.
    pub query: Option<&'a [u8]>,
    pub txid: &'a [u8],
    /// `p`, clamped into `u32`.
    pub version: u32,
    /// `es` as sent (the reference assumes v358 when absent).
    pub encoding_scheme: Option<&'a [u8]>,
    /// `ei`: the form of the path the sender uses for us.
    pub encoding_index: u8,
    pub target: Option<&'a [u8]>,
    /// `n`: raw 40-byte entries (length not yet checked).
    pub nodes: Option<&'a [u8]>,
    /// `np`: `[width][versions]` (not yet checked).
    pub node_versions: Option<&'a [u8]>,
    /// `dnd` non-zero: keep the sender but do not tell others about it.
    pub do_not_disturb: bool,
}

impl<'a> Message<'a> {
    /// Parse and apply the reference's acceptance rules.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, MessageError> {
        let (dict, _ignored_tail) = Dict::parse_cjdns(bytes)?;
        Self::from_dict(&dict)
    }

    fn from_dict(dict: &Dict<'a>) -> Result<Message<'a>, MessageError> {
        let txid = dict.get_bytes(b"txid").ok_or(MessageError::MissingTxid)?;
        if txid.len() > MAX_TXID_LEN {
            return Err(MessageError::TxidTooLong);
        }
        let encoding_scheme = dict.get_bytes(b"es");
        let form_count = match encoding_scheme {
            Some(es) => EncodingScheme::deserialize(es)
                .map_err(|_| MessageError::BadEncodingScheme)?
                .forms()
                .len(),
            None => 3,
        };
        let p = dict.get_int(b"p").ok_or(MessageError::MissingVersion)?;
        if p < i64::from(MIN_COMPATIBLE_VERSION) {
            return Err(MessageError::IncompatibleVersion(p));
        }
        let version = u32::try_from(p).unwrap_or(u32::MAX);
        let ei = dict
            .get_int(b"ei")
            .ok_or(MessageError::MissingEncodingIndex)?;
        if ei < 0 || ei >= form_count as i64 {
            return Err(MessageError::BadEncodingIndex(ei));
        }
        Ok(Message {
            query: dict.get_bytes(b"q"),
            txid,
            version,
            encoding_scheme,
            encoding_index: ei as u8,
            target: dict.get_bytes(b"tar"),
            nodes: dict.get_bytes(b"n"),
            node_versions: dict.get_bytes(b"np"),
            do_not_disturb: dict.get_int(b"dnd").is_some_and(|d| d != 0),
        })
    }

    pub fn is_query(&self) -> bool {
        self.query.is_some()
    }

    /// The node entries of a reply, or `None` when `n`/`np` are missing or disagree (the
    /// reference then ignores the whole list, `ReplySerializer_parse`).
    pub fn node_entries(&self) -> Option<NodeEntries<'a>> {
        let nodes = self.nodes?;
        if nodes.is_empty() || nodes.len() % NODE_ENTRY_LEN != 0 {
            return None;
        }
        let versions = VersionList::parse(self.node_versions?)?;
        if versions.len() != nodes.len() / NODE_ENTRY_LEN {
            return None;
        }
        Some(NodeEntries {
            nodes,
            versions,
            index: 0,
        })
    }
}

/// `np`: one width byte (1..=4), then that many big-endian bytes per version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VersionList<'a> {
    width: usize,
    raw: &'a [u8],
}

impl<'a> VersionList<'a> {
    pub fn parse(bytes: &'a [u8]) -> Option<VersionList<'a>> {
        let (&width, raw) = bytes.split_first()?;
        let width = usize::from(width);
        if width == 0 || width > 4 || raw.len() % width != 0 {
            return None;
        }
        Some(VersionList { width, raw })
    }

    pub fn len(&self) -> usize {
        self.raw.len() / self.width
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<u32> {
        let start = index.checked_mul(self.width)?;
        let bytes = self.raw.get(start..start + self.width)?;
        Some(bytes.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
    }
}

/// One entry of a reply's node list, label as the responder wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeEntry {
    pub key: PublicKey,
    pub label: u64,
    pub version: u32,
}

/// Entries of `n` with their versions from `np`.
#[derive(Clone, Debug)]
pub struct NodeEntries<'a> {
    nodes: &'a [u8],
    versions: VersionList<'a>,
    index: usize,
}

impl Iterator for NodeEntries<'_> {
    type Item = NodeEntry;

    fn next(&mut self) -> Option<NodeEntry> {
        let start = self.index.checked_mul(NODE_ENTRY_LEN)?;
        let entry = self.nodes.get(start..start + NODE_ENTRY_LEN)?;
        let version = self.versions.get(self.index)?;
        self.index += 1;
        let mut key = [0u8; 32];
        key.copy_from_slice(entry.get(..32)?);
        let mut label = [0u8; 8];
        label.copy_from_slice(entry.get(32..40)?);
        Some(NodeEntry {
            key: PublicKey(key),
            label: u64::from_be_bytes(label),
            version,
        })
    }
}

/// `ei` for a message we send over `path_to_recipient`: the index of the v358 form its
/// first director is written in (`EncodingScheme_getFormNum` on our scheme).
pub const fn encoding_index_for(path_to_recipient: u64) -> u8 {
    if path_to_recipient & 1 != 0 {
        0
    } else if path_to_recipient & 2 != 0 {
        1
    } else {
        2
    }
}

/// Write a query `{ei, es, p, q, [tar], txid}`; `txid` is written as given (callers put
/// the `00` prefix on). Returns the padded length.
pub fn emit_query(
    buf: &mut [u8],
    query: &[u8],
    txid: &[u8],
    target: Option<&[u8]>,
    path_to_recipient: u64,
) -> Result<usize, BencodeError> {
    let mut w = Writer::new_cjdns(buf);
    w.begin_dict()?;
    boilerplate_head(&mut w, path_to_recipient)?;
    w.key(b"p")?;
    w.int(i64::from(PROTOCOL_VERSION))?;
    w.key(b"q")?;
    w.bytes(query)?;
    if let Some(tar) = target {
        w.key(b"tar")?;
        w.bytes(tar)?;
    }
    w.key(b"txid")?;
    w.bytes(txid)?;
    w.end()?;
    w.finish()
}

/// Write a reply `{ei, es, [n, np], p, txid}`. Each node's label must already be the
/// path from us re-encoded for the asker ([`crate::switch::encoding::v3x5x8::get_label_for`]);
/// `n`/`np` are left out when `nodes` is empty, as the reference does.
pub fn emit_reply(
    buf: &mut [u8],
    txid: &[u8],
    nodes: &[NodeEntry],
    path_to_recipient: u64,
) -> Result<usize, BencodeError> {
    let nodes = nodes.get(..MAX_REPLY_NODES).unwrap_or(nodes);
    let mut w = Writer::new_cjdns(buf);
    w.begin_dict()?;
    boilerplate_head(&mut w, path_to_recipient)?;
    if !nodes.is_empty() {
        let mut n = [0u8; MAX_REPLY_NODES * NODE_ENTRY_LEN];
        for (slot, node) in n.chunks_exact_mut(NODE_ENTRY_LEN).zip(nodes) {
            slot[..32].copy_from_slice(node.key.as_bytes());
            slot[32..].copy_from_slice(&node.label.to_be_bytes());
        }
        w.key(b"n")?;
        w.bytes(&n[..nodes.len() * NODE_ENTRY_LEN])?;
        let mut np = [0u8; 1 + MAX_REPLY_NODES * 4];
        let np_len = write_version_list(&mut np, nodes.iter().map(|n| n.version));
        w.key(b"np")?;
        w.bytes(&np[..np_len])?;
    }
    w.key(b"p")?;
    w.int(i64::from(PROTOCOL_VERSION))?;
    w.key(b"txid")?;
    w.bytes(txid)?;
    w.end()?;
    w.finish()
}

/// `VersionList_stringify`: the narrowest width that holds every version below its
/// all-ones value, then each version big-endian in that width.
fn write_version_list(out: &mut [u8], versions: impl Iterator<Item = u32> + Clone) -> usize {
    let mut width = 1usize;
    let mut max = 0xffu32;
    for v in versions.clone() {
        while v >= max && width < 4 {
            width += 1;
            max = (max << 8) | 0xff;
        }
    }
    let mut len = 0;
    if let Some(b) = out.get_mut(0) {
        *b = width as u8;
        len = 1;
    }
    for v in versions {
        let bytes = v.to_be_bytes();
        for &b in &bytes[4 - width..] {
            if let Some(slot) = out.get_mut(len) {
                *slot = b;
                len += 1;
            }
        }
    }
    len
}

fn boilerplate_head(w: &mut Writer<'_>, path_to_recipient: u64) -> Result<(), BencodeError> {
    w.key(b"ei")?;
    w.int(i64::from(encoding_index_for(path_to_recipient)))?;
    w.key(b"es")?;
    w.bytes(&V358_SERIALIZED)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PING: &[u8] = b"d002:eii0e2:es5:\x61\x14\x45\x81\x001:pi22e1:q2:pn4:txid4:00abe";

    #[test]
    fn parses_ping() {
        let m = Message::parse(PING).unwrap();
        assert_eq!(m.query, Some(&b"pn"[..]));
        assert_eq!(m.txid, b"00ab");
        assert_eq!(m.version, 22);
        assert_eq!(m.encoding_index, 0);
        let mut buf = [0u8; 128];
        let n = emit_query(&mut buf, b"pn", b"00ab", None, 0x13).unwrap();
        assert_eq!(&buf[..n], PING);
    }

    #[test]
    fn acceptance_rules() {
        let old = b"d2:eii0e1:pi19e4:txid1:xe";
        assert_eq!(
            Message::parse(old),
            Err(MessageError::IncompatibleVersion(19))
        );
        assert_eq!(
            Message::parse(b"d2:eii0e4:txid1:xe"),
            Err(MessageError::MissingVersion)
        );
        assert_eq!(
            Message::parse(b"d1:pi22e4:txid1:xe"),
            Err(MessageError::MissingEncodingIndex)
        );
        assert_eq!(
            Message::parse(b"d2:eii3e1:pi22e4:txid1:xe"),
            Err(MessageError::BadEncodingIndex(3))
        );
        assert_eq!(
            Message::parse(b"d2:eii0e2:es1:\x001:pi22e4:txid1:xe"),
            Err(MessageError::BadEncodingScheme)
        );
        assert_eq!(
            Message::parse(b"d2:eii0e1:pi22ee"),
            Err(MessageError::MissingTxid)
        );
        assert!(Message::parse(b"d2:eii2e1:pi22e4:txid1:xe").is_ok());
    }

    #[test]
    fn version_list_widths() {
        let mut out = [0u8; 16];
        assert_eq!(write_version_list(&mut out, [22u32, 22].into_iter()), 3);
        assert_eq!(&out[..3], &[1, 22, 22]);
        assert_eq!(write_version_list(&mut out, [255u32].into_iter()), 3);
        assert_eq!(&out[..3], &[2, 0, 255]);
        let list = VersionList::parse(&[2, 0, 255, 1, 0]).unwrap();
        assert_eq!(
            (list.len(), list.get(0), list.get(1)),
            (2, Some(255), Some(256))
        );
        assert!(VersionList::parse(&[0]).is_none());
        assert!(VersionList::parse(&[2, 1]).is_none());
    }
}
