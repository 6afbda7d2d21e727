//! An owned bencode value for building replies and requests; encoding and decoding go
//! through protocol-core's validated reader and writer.

use std::collections::BTreeMap;

use protocol_core::wire::bencode::{BencodeError, Dict, Value, Writer};

/// The reference's largest admin reply (`Admin_MAX_RESPONSE_SIZE`); bigger ones are
/// not sent.
pub const MAX_RESPONSE_SIZE: usize = 65536;

/// An owned bencode value. Dicts are sorted by key bytes, as every cjdns writer sorts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Benc {
    Int(i64),
    Bytes(Vec<u8>),
    List(Vec<Benc>),
    Dict(BTreeMap<Vec<u8>, Benc>),
}

impl From<i64> for Benc {
    fn from(v: i64) -> Benc {
        Benc::Int(v)
    }
}

impl From<&str> for Benc {
    fn from(v: &str) -> Benc {
        Benc::Bytes(v.as_bytes().to_vec())
    }
}

impl From<String> for Benc {
    fn from(v: String) -> Benc {
        Benc::Bytes(v.into_bytes())
    }
}

impl From<&[u8]> for Benc {
    fn from(v: &[u8]) -> Benc {
        Benc::Bytes(v.to_vec())
    }
}

impl From<Vec<Benc>> for Benc {
    fn from(v: Vec<Benc>) -> Benc {
        Benc::List(v)
    }
}

impl From<BDict> for Benc {
    fn from(v: BDict) -> Benc {
        Benc::Dict(v.0)
    }
}

/// A dict under construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BDict(pub BTreeMap<Vec<u8>, Benc>);

impl BDict {
    pub fn new() -> BDict {
        BDict(BTreeMap::new())
    }

    /// Insert or replace, as `Dict_put*` does.
    pub fn put(&mut self, key: &str, value: impl Into<Benc>) -> &mut BDict {
        self.0.insert(key.as_bytes().to_vec(), value.into());
        self
    }

    /// Builder form of [`BDict::put`].
    pub fn with(mut self, key: &str, value: impl Into<Benc>) -> BDict {
        self.put(key, value);
        self
    }

    pub fn get(&self, key: &str) -> Option<&Benc> {
        self.0.get(key.as_bytes())
    }
}

impl Benc {
    /// Copy a validated value (repeated keys: the last one wins, as in the reference).
    pub fn from_value(value: &Value<'_>) -> Benc {
        match value {
            Value::Int(i) => Benc::Int(*i),
            Value::Bytes(b) => Benc::Bytes(b.to_vec()),
            Value::List(l) => Benc::List(l.iter().map(|v| Benc::from_value(&v)).collect()),
            Value::Dict(d) => Benc::Dict(dict_to_map(d)),
        }
    }

    /// Parse a cjdns message (padding allowed, nothing after the dict).
    pub fn parse_message(bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Benc>, BencodeError> {
        let (dict, rest) = Dict::parse_cjdns(bytes)?;
        if !rest.is_empty() {
            return Err(BencodeError::TrailingData {
                offset: bytes.len() - rest.len(),
            });
        }
        Ok(dict_to_map(&dict))
    }

    fn write(&self, w: &mut Writer<'_>) -> Result<(), BencodeError> {
        match self {
            Benc::Int(i) => w.int(*i),
            Benc::Bytes(b) => w.bytes(b),
            Benc::List(items) => {
                w.begin_list()?;
                for item in items {
                    item.write(w)?;
                }
                w.end()
            }
            Benc::Dict(map) => write_map(map, w),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Benc::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Benc::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Benc]> {
        match self {
            Benc::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&BTreeMap<Vec<u8>, Benc>> {
        match self {
            Benc::Dict(d) => Some(d),
            _ => None,
        }
    }
}

fn dict_to_map(d: &Dict<'_>) -> BTreeMap<Vec<u8>, Benc> {
    let mut map = BTreeMap::new();
    for (k, v) in d.iter() {
        map.insert(k.to_vec(), Benc::from_value(&v));
    }
    map
}

fn write_map(map: &BTreeMap<Vec<u8>, Benc>, w: &mut Writer<'_>) -> Result<(), BencodeError> {
    w.begin_dict()?;
    for (k, v) in map {
        w.key(k)?;
        v.write(w)?;
    }
    w.end()
}

/// Encode a dict; `cjdns_pad` selects the 4-byte-padded form cjdns replies use.
/// `None` if it does not fit in `limit` bytes.
pub fn encode_dict(
    map: &BTreeMap<Vec<u8>, Benc>,
    cjdns_pad: bool,
    limit: usize,
) -> Option<Vec<u8>> {
    let mut size = 1024usize.min(limit);
    loop {
        let mut buf = vec![0u8; size];
        let mut w = if cjdns_pad {
            Writer::new_cjdns(&mut buf)
        } else {
            Writer::new(&mut buf)
        };
        let result = write_map(map, &mut w).and_then(|()| w.finish());
        match result {
            Ok(n) => {
                buf.truncate(n);
                return Some(buf);
            }
            Err(BencodeError::BufferTooSmall) if size < limit => {
                size = size.saturating_mul(4).min(limit);
            }
            Err(_) => return None,
        }
    }
}
