//! Bencode as cjdns v22.3 reads and writes it (CJDHT messages, admin RPC), without
//! allocation: a validated zero-copy view over the input and a writer into a caller buffer.
//!
//! Reference behaviour reproduced here:
//! * integers are `i64`; leading zeros, `-0`, an empty body and anything outside
//!   `-(2^63-1) ..= 2^63-1` are refused (the reference accumulates the magnitude as a
//!   positive `i64`, so `i64::MIN` does not parse);
//! * string lengths may not have leading zeros, except in cjdns message mode
//!   ([`Dict::parse_cjdns`]) for the first key of the top-level dict, where writers put
//!   the zeros that pad the message to a multiple of 4 bytes (`d0002:ei...`);
//! * a value nested inside more than [`MAX_DEPTH`] lists/dicts is refused;
//! * dict keys are read in any order and repeated keys are allowed, the last one winning
//!   (the reference collects them into a `BTreeMap`); writers sort keys, so [`Writer`] only
//!   accepts strictly ascending keys and [`Writer::value`] sorts and de-duplicates.

use core::fmt;

use super::WireError;

/// Most lists/dicts a value may sit inside (the reference's recursion limit).
pub const MAX_DEPTH: usize = 32;

/// The alignment cjdns pads CJDHT messages and admin replies to.
pub const CJDNS_ALIGN: usize = 4;

/// Why bencode was refused, naming what the sender got wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BencodeError {
    /// The input ended inside a value.
    Truncated,
    /// A byte that cannot start or continue a value here.
    UnexpectedByte { offset: usize, byte: u8 },
    /// An integer with no digits (`ie`, `i-e`).
    EmptyInteger { offset: usize },
    /// An integer or string length with a leading zero.
    LeadingZero { offset: usize },
    /// `i-0e`.
    NegativeZero { offset: usize },
    /// An integer outside what the reference accepts.
    IntegerOverflow { offset: usize },
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep { offset: usize },
    /// Bytes after the value where none are allowed.
    TrailingData { offset: usize },
    /// The message is not a dict (CJDHT messages and admin requests must be).
    NotADict,
    /// The output buffer is full.
    BufferTooSmall,
    /// Writer misuse: a key outside a dict, a value where a key is due, keys not strictly
    /// ascending, unbalanced `end`, a second top-level value, or an unfinished value.
    BadWriterState,
}

impl fmt::Display for BencodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BencodeError::Truncated => f.write_str("bencode ends inside a value"),
            BencodeError::UnexpectedByte { offset, byte } => {
                write!(f, "unexpected byte {byte:#04x} at {offset}")
            }
            BencodeError::EmptyInteger { offset } => {
                write!(f, "integer without digits at {offset}")
            }
            BencodeError::LeadingZero { offset } => write!(f, "leading zero at {offset}"),
            BencodeError::NegativeZero { offset } => write!(f, "negative zero at {offset}"),
            BencodeError::IntegerOverflow { offset } => write!(f, "integer overflow at {offset}"),
            BencodeError::TooDeep { offset } => write!(f, "nesting too deep at {offset}"),
            BencodeError::TrailingData { offset } => write!(f, "trailing data at {offset}"),
            BencodeError::NotADict => f.write_str("message is not a dict"),
            BencodeError::BufferTooSmall => f.write_str("output buffer too small"),
            BencodeError::BadWriterState => f.write_str("bencode writer used out of order"),
        }
    }
}

impl From<BencodeError> for WireError {
    fn from(e: BencodeError) -> WireError {
        match e {
            BencodeError::Truncated => WireError::BadLength,
            BencodeError::BufferTooSmall => WireError::BufferTooSmall { needed: 0, got: 0 },
            _ => WireError::Malformed,
        }
    }
}

/// A validated bencode value borrowing the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Int(i64),
    Bytes(&'a [u8]),
    List(List<'a>),
    Dict(Dict<'a>),
}

/// A validated list: its encoding from `l` to `e`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct List<'a> {
    raw: &'a [u8],
}

/// A validated dict: its encoding from `d` to `e`. Two dicts are equal when their
/// encodings are.
#[derive(Clone, Copy, Debug)]
pub struct Dict<'a> {
    raw: &'a [u8],
    /// The first key's length may carry cjdns padding zeros.
    padded_first_key: bool,
}

impl PartialEq for Dict<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for Dict<'_> {}

/// Parsing rules for one pass.
#[derive(Clone, Copy)]
struct Rules {
    /// Accept zeros before the first key length of the top-level dict.
    cjdns_pad: bool,
}

/// A cursor over the input; offsets in errors are from the start of the input.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Result<u8, BencodeError> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(BencodeError::Truncated)
    }

    fn next(&mut self) -> Result<u8, BencodeError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], BencodeError> {
        let end = self.pos.checked_add(len).ok_or(BencodeError::Truncated)?;
        let out = self
            .input
            .get(self.pos..end)
            .ok_or(BencodeError::Truncated)?;
        self.pos = end;
        Ok(out)
    }

    /// `i<digits>e` after the `i`.
    fn int_body(&mut self) -> Result<i64, BencodeError> {
        let start = self.pos;
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        if self.peek()? == b'e' {
            return Err(BencodeError::EmptyInteger { offset: start });
        }
        let mut magnitude: i64 = 0;
        loop {
            let offset = self.pos;
            let c = self.next()?;
            if c == b'e' {
                break;
            }
            if !c.is_ascii_digit() {
                return Err(BencodeError::UnexpectedByte { offset, byte: c });
            }
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(i64::from(c - b'0')))
                .ok_or(BencodeError::IntegerOverflow { offset: start })?;
            if magnitude == 0 && self.peek()? != b'e' {
                return Err(BencodeError::LeadingZero { offset });
            }
        }
        if negative {
            if magnitude == 0 {
                return Err(BencodeError::NegativeZero { offset: start });
            }
            Ok(-magnitude)
        } else {
            Ok(magnitude)
        }
    }

    /// `<len>:<bytes>`; `allow_zeros` lets the length start with zeros (cjdns padding).
    fn string(&mut self, allow_zeros: bool) -> Result<&'a [u8], BencodeError> {
        // A dict key may be a bare `:` (no digits): the reference reads that as an empty
        // key. Values only get here on a digit.
        let mut len: usize = 0;
        loop {
            let offset = self.pos;
            let c = self.next()?;
            if c == b':' {
                break;
            }
            if !c.is_ascii_digit() {
                return Err(BencodeError::UnexpectedByte { offset, byte: c });
            }
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(usize::from(c - b'0')))
                .ok_or(BencodeError::Truncated)?;
            if len == 0 && !allow_zeros && self.peek()? != b':' {
                return Err(BencodeError::LeadingZero { offset });
            }
        }
        self.take(len)
    }

    /// One value; `depth` is how many lists/dicts enclose it.
    fn value(&mut self, depth: usize, rules: Rules) -> Result<Value<'a>, BencodeError> {
        let start = self.pos;
        if depth > MAX_DEPTH {
            return Err(BencodeError::TooDeep { offset: start });
        }
        match self.next()? {
            b'i' => self.int_body().map(Value::Int),
            b'0'..=b'9' => {
                self.pos = start;
                self.string(false).map(Value::Bytes)
            }
            b'l' => {
                while self.peek()? != b'e' {
                    self.value(depth + 1, rules)?;
                }
                self.pos += 1;
                Ok(Value::List(List {
                    raw: self.input.get(start..self.pos).unwrap_or_default(),
                }))
            }
            b'd' => {
                let padded = rules.cjdns_pad && depth == 0;
                let mut first = true;
                while self.peek()? != b'e' {
                    self.string(padded && first)?;
                    self.value(depth + 1, rules)?;
                    first = false;
                }
                self.pos += 1;
                Ok(Value::Dict(Dict {
                    raw: self.input.get(start..self.pos).unwrap_or_default(),
                    padded_first_key: padded,
                }))
            }
            byte => Err(BencodeError::UnexpectedByte {
                offset: start,
                byte,
            }),
        }
    }
}

impl<'a> Value<'a> {
    /// Parse one value that must fill `input` exactly.
    pub fn parse(input: &'a [u8]) -> Result<Value<'a>, BencodeError> {
        let (value, used) = Value::parse_prefix(input)?;
        if used != input.len() {
            return Err(BencodeError::TrailingData { offset: used });
        }
        Ok(value)
    }

    /// Parse one value at the start of `input`, returning it and how many bytes it took.
    pub fn parse_prefix(input: &'a [u8]) -> Result<(Value<'a>, usize), BencodeError> {
        let mut r = Reader { input, pos: 0 };
        let v = r.value(0, Rules { cjdns_pad: false })?;
        Ok((v, r.pos))
    }

    /// Whether [`Writer::value`] in plain mode reproduces this value's bytes exactly.
    pub fn is_canonical(&self) -> bool {
        match self {
            Value::Int(_) | Value::Bytes(_) => true,
            Value::List(l) => l.iter().all(|v| v.is_canonical()),
            Value::Dict(d) => d.is_canonical(),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<List<'a>> {
        match self {
            Value::List(l) => Some(*l),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<Dict<'a>> {
        match self {
            Value::Dict(d) => Some(*d),
            _ => None,
        }
    }
}

/// Re-read an item of an already validated container; never fails in practice, and
/// ends iteration instead of panicking if it somehow does.
fn reread<'a>(raw: &'a [u8], pos: usize) -> Option<(Value<'a>, usize)> {
    let mut r = Reader { input: raw, pos };
    let v = r.value(0, Rules { cjdns_pad: false }).ok()?;
    Some((v, r.pos))
}

impl<'a> List<'a> {
    /// The list's own encoding, `l...e`.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn iter(&self) -> ListIter<'a> {
        ListIter {
            raw: self.raw,
            pos: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.len() <= 2
    }

    pub fn get(&self, index: usize) -> Option<Value<'a>> {
        self.iter().nth(index)
    }
}

/// Items of a [`List`] in wire order.
#[derive(Clone, Debug)]
pub struct ListIter<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ListIter<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        if self.raw.get(self.pos).copied()? == b'e' {
            return None;
        }
        let (v, end) = reread(self.raw, self.pos)?;
        self.pos = end;
        Some(v)
    }
}

impl<'a> IntoIterator for List<'a> {
    type Item = Value<'a>;
    type IntoIter = ListIter<'a>;
    fn into_iter(self) -> ListIter<'a> {
        self.iter()
    }
}

impl<'a> Dict<'a> {
    /// Parse a cjdns message: a top-level dict whose first key length may carry padding
    /// zeros. Returns the dict and the bytes after it, which the CJDHT reader ignores
    /// (logging them) and the admin server refuses.
    pub fn parse_cjdns(input: &'a [u8]) -> Result<(Dict<'a>, &'a [u8]), BencodeError> {
        let mut r = Reader { input, pos: 0 };
        if r.peek()? != b'd' {
            // Same validation as the reference, which parses first and then checks the type.
            r.value(0, Rules { cjdns_pad: true })?;
            return Err(BencodeError::NotADict);
        }
        match r.value(0, Rules { cjdns_pad: true })? {
            Value::Dict(d) => Ok((d, input.get(r.pos..).unwrap_or_default())),
            _ => Err(BencodeError::NotADict),
        }
    }

    /// The dict's own encoding, `d...e`, padding included.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Entries in wire order, repeats included.
    pub fn iter(&self) -> DictIter<'a> {
        DictIter {
            raw: self.raw,
            pos: 1,
            padded_first_key: self.padded_first_key,
        }
    }

    /// Number of entries on the wire (repeated keys counted each time).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The value for `key`; if the key repeats, the last one, as the reference keeps.
    pub fn get(&self, key: &[u8]) -> Option<Value<'a>> {
        self.iter()
            .filter(|(k, _)| *k == key)
            .last()
            .map(|(_, v)| v)
    }

    pub fn get_int(&self, key: &[u8]) -> Option<i64> {
        self.get(key)?.as_int()
    }

    pub fn get_bytes(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.get(key)?.as_bytes()
    }

    pub fn get_list(&self, key: &[u8]) -> Option<List<'a>> {
        self.get(key)?.as_list()
    }

    pub fn get_dict(&self, key: &[u8]) -> Option<Dict<'a>> {
        self.get(key)?.as_dict()
    }

    /// Keys strictly ascending: what a cjdns writer produces (padding aside).
    pub fn keys_are_canonical(&self) -> bool {
        let mut last: Option<&[u8]> = None;
        for (k, _) in self.iter() {
            if last.is_some_and(|l| l >= k) {
                return false;
            }
            last = Some(k);
        }
        true
    }

    /// Exactly what [`Writer::value`] in plain mode would write: keys strictly ascending,
    /// every key length without padding zeros or missing digits, and every nested value
    /// canonical too.
    pub fn is_canonical(&self) -> bool {
        let mut it = self.iter();
        let mut last: Option<&[u8]> = None;
        loop {
            let key_start = it.pos;
            let Some((key, value)) = it.next() else {
                return true;
            };
            let first_digit = self.raw.get(key_start).copied();
            let minimal = match first_digit {
                Some(b'0') => key.is_empty() && self.raw.get(key_start + 1) == Some(&b':'),
                Some(b'1'..=b'9') => true,
                _ => false,
            };
            if !minimal || last.is_some_and(|l| l >= key) || !value.is_canonical() {
                return false;
            }
            last = Some(key);
        }
    }

    /// The entry a sorted, de-duplicated writer would put after `after` (the smallest key
    /// greater than it, last occurrence winning).
    fn next_sorted(&self, after: Option<&[u8]>) -> Option<(&'a [u8], Value<'a>)> {
        let mut best: Option<(&'a [u8], Value<'a>)> = None;
        for (k, v) in self.iter() {
            if after.is_some_and(|a| k <= a) {
                continue;
            }
            if best.is_none_or(|(b, _)| k <= b) {
                best = Some((k, v));
            }
        }
        best
    }
}

/// Entries of a [`Dict`] in wire order.
#[derive(Clone, Debug)]
pub struct DictIter<'a> {
    raw: &'a [u8],
    pos: usize,
    padded_first_key: bool,
}

impl<'a> Iterator for DictIter<'a> {
    type Item = (&'a [u8], Value<'a>);

    fn next(&mut self) -> Option<(&'a [u8], Value<'a>)> {
        if self.raw.get(self.pos).copied()? == b'e' {
            return None;
        }
        let mut r = Reader {
            input: self.raw,
            pos: self.pos,
        };
        let key = r.string(self.padded_first_key).ok()?;
        self.padded_first_key = false;
        let (value, end) = reread(self.raw, r.pos)?;
        self.pos = end;
        Some((key, value))
    }
}

impl<'a> IntoIterator for Dict<'a> {
    type Item = (&'a [u8], Value<'a>);
    type IntoIter = DictIter<'a>;
    fn into_iter(self) -> DictIter<'a> {
        self.iter()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Frame {
    List,
    /// `last_key` is where the previous key sits in the output, for the order check.
    Dict {
        awaiting_value: bool,
        last_key: Option<(usize, usize)>,
    },
}

/// Number of digits of a length or magnitude.
fn decimal_len(mut n: u64) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// Writes bencode into a caller buffer. Keys must come strictly ascending, as cjdns
/// writes them; every method fails instead of writing past the buffer.
#[derive(Debug)]
pub struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
    stack: [Frame; MAX_DEPTH + 1],
    depth: usize,
    top_done: bool,
    cjdns_pad: bool,
}

impl<'b> Writer<'b> {
    /// Plain bencode (what clients such as cjdnstool send).
    pub fn new(buf: &'b mut [u8]) -> Writer<'b> {
        Writer {
            buf,
            len: 0,
            stack: [Frame::List; MAX_DEPTH + 1],
            depth: 0,
            top_done: false,
            cjdns_pad: false,
        }
    }

    /// cjdns message form: the top-level value must be a dict, and [`Writer::finish`]
    /// pads the whole message to a multiple of 4 bytes with zeros before the first key's
    /// length, as every cjdns node does for CJDHT messages and admin replies. Like the
    /// reference, an empty dict becomes `d00e` (which no cjdns parser accepts).
    pub fn new_cjdns(buf: &'b mut [u8]) -> Writer<'b> {
        Writer {
            cjdns_pad: true,
            ..Writer::new(buf)
        }
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), BencodeError> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(BencodeError::BufferTooSmall)?;
        let dst = self
            .buf
            .get_mut(self.len..end)
            .ok_or(BencodeError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn put_decimal(&mut self, n: u64) -> Result<(), BencodeError> {
        let mut digits = [0u8; 20];
        let count = decimal_len(n);
        let mut rest = n;
        for slot in digits[..count].iter_mut().rev() {
            *slot = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        self.put(&digits[..count])
    }

    fn put_string(&mut self, bytes: &[u8]) -> Result<(), BencodeError> {
        self.put_decimal(bytes.len() as u64)?;
        self.put(b":")?;
        self.put(bytes)
    }

    /// Check a value may go here and mark the enclosing dict's value as given.
    fn before_value(&mut self, is_dict: bool) -> Result<(), BencodeError> {
        if self.depth == 0 {
            if self.top_done || (self.cjdns_pad && !is_dict) {
                return Err(BencodeError::BadWriterState);
            }
            return Ok(());
        }
        if self.depth > MAX_DEPTH {
            return Err(BencodeError::TooDeep { offset: self.len });
        }
        match self.stack.get_mut(self.depth - 1) {
            Some(Frame::List) => Ok(()),
            Some(Frame::Dict { awaiting_value, .. }) if *awaiting_value => {
                *awaiting_value = false;
                Ok(())
            }
            _ => Err(BencodeError::BadWriterState),
        }
    }

    fn after_value(&mut self) {
        if self.depth == 0 {
            self.top_done = true;
        }
    }

    pub fn int(&mut self, value: i64) -> Result<(), BencodeError> {
        self.before_value(false)?;
        self.put(b"i")?;
        if value < 0 {
            self.put(b"-")?;
        }
        self.put_decimal(value.unsigned_abs())?;
        self.put(b"e")?;
        self.after_value();
        Ok(())
    }

    pub fn bytes(&mut self, value: &[u8]) -> Result<(), BencodeError> {
        self.before_value(false)?;
        self.put_string(value)?;
        self.after_value();
        Ok(())
    }

    pub fn begin_list(&mut self) -> Result<(), BencodeError> {
        self.before_value(false)?;
        self.put(b"l")?;
        self.push(Frame::List)
    }

    pub fn begin_dict(&mut self) -> Result<(), BencodeError> {
        self.before_value(true)?;
        self.put(b"d")?;
        self.push(Frame::Dict {
            awaiting_value: false,
            last_key: None,
        })
    }

    fn push(&mut self, frame: Frame) -> Result<(), BencodeError> {
        let slot = self
            .stack
            .get_mut(self.depth)
            .ok_or(BencodeError::TooDeep { offset: self.len })?;
        *slot = frame;
        self.depth += 1;
        Ok(())
    }

    /// The next key of the innermost dict; must sort after the previous one.
    pub fn key(&mut self, key: &[u8]) -> Result<(), BencodeError> {
        let Some(Frame::Dict {
            awaiting_value: false,
            last_key,
        }) = self
            .depth
            .checked_sub(1)
            .and_then(|i| self.stack.get(i))
            .copied()
        else {
            return Err(BencodeError::BadWriterState);
        };
        if let Some((start, end)) = last_key {
            let previous = self
                .buf
                .get(start..end)
                .ok_or(BencodeError::BadWriterState)?;
            if key <= previous {
                return Err(BencodeError::BadWriterState);
            }
        }
        self.put_decimal(key.len() as u64)?;
        self.put(b":")?;
        let start = self.len;
        self.put(key)?;
        let end = self.len;
        if let Some(frame) = self.stack.get_mut(self.depth - 1) {
            *frame = Frame::Dict {
                awaiting_value: true,
                last_key: Some((start, end)),
            };
        }
        Ok(())
    }

    /// Close the innermost list or dict.
    pub fn end(&mut self) -> Result<(), BencodeError> {
        match self.depth.checked_sub(1).and_then(|i| self.stack.get(i)) {
            Some(Frame::List)
            | Some(Frame::Dict {
                awaiting_value: false,
                ..
            }) => {}
            _ => return Err(BencodeError::BadWriterState),
        }
        self.put(b"e")?;
        self.depth -= 1;
        self.after_value();
        Ok(())
    }

    /// Write a parsed value back: dicts sorted and de-duplicated (last occurrence wins),
    /// as the reference re-serialises what it read.
    pub fn value(&mut self, value: &Value<'_>) -> Result<(), BencodeError> {
        match value {
            Value::Int(i) => self.int(*i),
            Value::Bytes(b) => self.bytes(b),
            Value::List(list) => {
                self.begin_list()?;
                for item in list.iter() {
                    self.value(&item)?;
                }
                self.end()
            }
            Value::Dict(dict) => {
                self.begin_dict()?;
                let mut after: Option<&[u8]> = None;
                while let Some((k, v)) = dict.next_sorted(after) {
                    self.key(k)?;
                    self.value(&v)?;
                    after = Some(k);
                }
                self.end()
            }
        }
    }

    /// Finish the message and return its length. In cjdns mode this inserts the padding.
    pub fn finish(self) -> Result<usize, BencodeError> {
        if !self.top_done || self.depth != 0 {
            return Err(BencodeError::BadWriterState);
        }
        if !self.cjdns_pad {
            return Ok(self.len);
        }
        let pad = (CJDNS_ALIGN - self.len % CJDNS_ALIGN) % CJDNS_ALIGN;
        let total = self.len + pad;
        if total > self.buf.len() {
            return Err(BencodeError::BufferTooSmall);
        }
        // Shift everything after the leading `d` right and fill the gap with zeros.
        self.buf.copy_within(1..self.len, 1 + pad);
        for b in self.buf.get_mut(1..1 + pad).unwrap_or_default() {
            *b = b'0';
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &[u8]) -> BencodeError {
        Value::parse(input).unwrap_err()
    }

    #[test]
    fn reference_parser_cases() {
        assert_eq!(err(b"d"), BencodeError::Truncated);
        assert_eq!(err(b"l"), BencodeError::Truncated);
        assert_eq!(err(b"i12"), BencodeError::Truncated);
        assert_eq!(err(b"i-0e"), BencodeError::NegativeZero { offset: 1 });
        assert_eq!(err(b"i01e"), BencodeError::LeadingZero { offset: 1 });
        assert_eq!(err(b"i-01e"), BencodeError::LeadingZero { offset: 2 });
        assert_eq!(err(b"i00e"), BencodeError::LeadingZero { offset: 1 });
        assert_eq!(err(b"l003:fooe"), BencodeError::LeadingZero { offset: 1 });
        assert_eq!(
            err(b"d003:fooi1ee"),
            BencodeError::LeadingZero { offset: 1 }
        );
        assert!(matches!(
            err(b"d3:fooi1ei2ei3ee"),
            BencodeError::UnexpectedByte { .. }
        ));
        assert_eq!(
            err(b"d3:fooe"),
            BencodeError::UnexpectedByte {
                offset: 6,
                byte: b'e'
            }
        );
        assert_eq!(err(b"3:"), BencodeError::Truncated);
        assert_eq!(err(b"ie"), BencodeError::EmptyInteger { offset: 1 });
        assert_eq!(err(b"i-e"), BencodeError::EmptyInteger { offset: 1 });
        assert_eq!(
            err(b"i1xe"),
            BencodeError::UnexpectedByte {
                offset: 2,
                byte: b'x'
            }
        );
        assert_eq!(Value::parse(b"i0e"), Ok(Value::Int(0)));
        assert_eq!(Value::parse(b"i-123e"), Ok(Value::Int(-123)));
        assert_eq!(Value::parse(b"0:"), Ok(Value::Bytes(b"")));
        assert_eq!(
            Value::parse(b"i9223372036854775807e"),
            Ok(Value::Int(i64::MAX))
        );
        assert_eq!(
            err(b"i-9223372036854775808e"),
            BencodeError::IntegerOverflow { offset: 1 }
        );
        assert_eq!(err(b"i1ee"), BencodeError::TrailingData { offset: 3 });
    }

    #[test]
    fn padding_only_on_first_top_level_key_in_cjdns_mode() {
        for input in [
            &b"d02:foi1ee"[..],
            b"d0002:foi1ee",
            b"d00000002:foi1ee",
            b"d2:foi1ee",
        ] {
            let (d, rest) = Dict::parse_cjdns(input).unwrap();
            assert!(rest.is_empty());
            assert_eq!(d.get_int(b"fo"), Some(1));
        }
        assert_eq!(
            err(b"d0002:foi1ee"),
            BencodeError::LeadingZero { offset: 1 }
        );
        assert!(Dict::parse_cjdns(b"d2:fo02:abe").is_err());
        assert!(Dict::parse_cjdns(b"d2:fod002:abi1eee").is_err());
        assert_eq!(Dict::parse_cjdns(b"i1e"), Err(BencodeError::NotADict));
        assert_eq!(
            Dict::parse_cjdns(b"d00e").unwrap_err(),
            BencodeError::UnexpectedByte {
                offset: 3,
                byte: b'e'
            }
        );
    }

    #[test]
    fn depth_limit_matches_reference() {
        let mut ok = [0u8; 2 * (MAX_DEPTH + 1)];
        ok[..MAX_DEPTH + 1].fill(b'l');
        ok[MAX_DEPTH + 1..].fill(b'e');
        assert!(Value::parse(&ok).is_ok());
        let mut deep = [0u8; 2 * (MAX_DEPTH + 2)];
        deep[..MAX_DEPTH + 2].fill(b'l');
        deep[MAX_DEPTH + 2..].fill(b'e');
        assert_eq!(
            err(&deep),
            BencodeError::TooDeep {
                offset: MAX_DEPTH + 1
            }
        );
        let mut out = [0u8; 128];
        let mut w = Writer::new(&mut out);
        for _ in 0..=MAX_DEPTH {
            w.begin_list().unwrap();
        }
        assert!(w.begin_list().is_err());
        assert!(w.int(1).is_err());
    }

    #[test]
    fn repeated_and_unsorted_keys_read_like_a_btreemap() {
        let v = Value::parse(b"d1:bi1e1:ai2e1:bi3ee").unwrap();
        let d = v.as_dict().unwrap();
        assert_eq!(d.len(), 3);
        assert_eq!(d.get_int(b"b"), Some(3));
        assert!(!d.keys_are_canonical());
        assert!(!v.is_canonical());
        assert!(Value::parse(b"d0:i1e1:ali2eee").unwrap().is_canonical());
        // A bare `:` is an empty key to the reference.
        let e = Value::parse(b"d:i1ee").unwrap().as_dict().unwrap();
        assert_eq!(e.get_int(b""), Some(1));
        assert!(!Value::Dict(e).is_canonical());
        let mut out = [0u8; 64];
        let mut w = Writer::new(&mut out);
        w.value(&v).unwrap();
        let n = w.finish().unwrap();
        assert_eq!(&out[..n], b"d1:ai2e1:bi3ee");
    }

    #[test]
    fn writer_pads_like_cjdns() {
        let mut out = [0u8; 64];
        let mut w = Writer::new_cjdns(&mut out);
        w.begin_dict().unwrap();
        w.key(b"q").unwrap();
        w.bytes(b"pong").unwrap();
        w.key(b"txid").unwrap();
        w.bytes(b"t1").unwrap();
        w.end().unwrap();
        let n = w.finish().unwrap();
        assert_eq!(&out[..n], b"d0001:q4:pong4:txid2:t1e");

        let mut w = Writer::new_cjdns(&mut out);
        w.begin_dict().unwrap();
        w.end().unwrap();
        let n = w.finish().unwrap();
        assert_eq!(&out[..n], b"d00e");
    }

    #[test]
    fn writer_refuses_misuse() {
        let mut out = [0u8; 64];
        let mut w = Writer::new(&mut out);
        assert_eq!(w.key(b"a"), Err(BencodeError::BadWriterState));
        w.begin_dict().unwrap();
        assert_eq!(w.int(1), Err(BencodeError::BadWriterState));
        w.key(b"b").unwrap();
        assert_eq!(w.end(), Err(BencodeError::BadWriterState));
        w.int(1).unwrap();
        assert_eq!(w.key(b"a"), Err(BencodeError::BadWriterState));
        assert_eq!(w.key(b"b"), Err(BencodeError::BadWriterState));
        w.end().unwrap();
        assert_eq!(w.int(2), Err(BencodeError::BadWriterState));
        assert_eq!(w.finish(), Ok(8));

        let mut small = [0u8; 3];
        let mut w = Writer::new(&mut small);
        assert_eq!(w.bytes(b"abc"), Err(BencodeError::BufferTooSmall));
        let mut w = Writer::new_cjdns(&mut out);
        assert_eq!(w.int(1), Err(BencodeError::BadWriterState));
    }

    #[test]
    fn list_access() {
        let v = Value::parse(b"li1e3:abcli2eee").unwrap();
        let l = v.as_list().unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.get(1), Some(Value::Bytes(b"abc")));
        assert_eq!(
            l.get(2).unwrap().as_list().unwrap().get(0),
            Some(Value::Int(2))
        );
        assert!(!l.is_empty());
    }
}
