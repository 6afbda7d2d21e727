//! Encoding schemes: how a switch packs interface numbers ("directors") into the low bits
//! of a label (`switch/EncodingScheme.c`), and the fixed v3x5x8 scheme that cjdns v22
//! compiles in (`switch/NumberCompress.h`).
//!
//! A scheme is a list of forms. Each form is `prefix` in the lowest `prefix_len` bits,
//! followed by `bit_count` bits of director. Nodes exchange their scheme in DHT messages
//! (`es`) in the compact bit-packed form produced by [`EncodingScheme::serialize`].

use core::fmt;

use heapless::Vec;

use super::label::log2;
use crate::wire::WireError;

/// A scheme can have at most 31 forms: each needs a distinct, non-zero 5-bit `bit_count`.
pub const MAX_FORMS: usize = 31;

/// Forms wider than this could not leave room for anything else in a 64-bit label.
const MAX_FORM_SIZE: u32 = 59;

/// One way of writing a director: `prefix` (low `prefix_len` bits), then `bit_count` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncodingForm {
    pub bit_count: u8,
    pub prefix_len: u8,
    pub prefix: u32,
}

impl EncodingForm {
    pub const fn new(bit_count: u8, prefix_len: u8, prefix: u32) -> Self {
        EncodingForm {
            bit_count,
            prefix_len,
            prefix,
        }
    }

    /// Bits this form takes in a label.
    pub const fn size(&self) -> u32 {
        self.bit_count as u32 + self.prefix_len as u32
    }

    /// The prefix as it can appear in a label (bits above `prefix_len` never do).
    const fn effective_prefix(&self) -> u64 {
        self.prefix as u64 & low_mask(self.prefix_len as u32)
    }

    /// The form whose prefix is a lone `1`: in the 358 scheme that is where director 1
    /// (the self route `0001`) lives, so numbering differs there.
    const fn has_prefix_one(&self) -> bool {
        self.effective_prefix() == 1
    }
}

/// The v3x5x8 ("358") scheme every cjdns v22 switch uses: 4-, 7- and 10-bit directors.
pub const V358_FORMS: [EncodingForm; 3] = [
    EncodingForm::new(3, 1, 0b1),
    EncodingForm::new(5, 2, 0b10),
    EncodingForm::new(8, 2, 0b00),
];

/// The v358 scheme serialized, as seen in every DHT message's `es` key.
pub const V358_SERIALIZED: [u8; 5] = [0x61, 0x14, 0x45, 0x81, 0x00];

/// Why a scheme was refused, either while reading its serialized form or by the sanity rules
/// of `EncodingScheme_isSane`. `form` indexes are positions in the sender's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodingSchemeError {
    /// The bit stream ended in the middle of a form.
    TruncatedForm,
    /// Non-zero bits or extra bytes after the terminating (zero `bit_count`) position.
    TrailingData,
    /// The scheme has no forms.
    NoForms,
    /// More than [`MAX_FORMS`] forms.
    TooManyForms,
    /// A fixed-width (single form) scheme carried a prefix.
    PrefixOnFixedWidth,
    /// A form's `bit_count` is 0 or above 31.
    BadBitCount { form: usize },
    /// A form of a multi-form scheme has `prefix_len` 0 or above 31.
    BadPrefixLen { form: usize },
    /// A form is wider than 59 bits.
    FormTooWide { form: usize },
    /// `bit_count` does not strictly increase from the previous form.
    NotAscending { form: usize },
    /// Another form's prefix matches this form's prefix, so labels would be ambiguous.
    AmbiguousPrefix { form: usize, other: usize },
    /// A prefix has bits set above its `prefix_len` (only possible for locally built schemes).
    PrefixWiderThanLen { form: usize },
}

impl fmt::Display for EncodingSchemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedForm => f.write_str("encoding scheme ends inside a form"),
            Self::TrailingData => f.write_str("encoding scheme has data after its last form"),
            Self::NoForms => f.write_str("encoding scheme has no forms"),
            Self::TooManyForms => f.write_str("encoding scheme has more than 31 forms"),
            Self::PrefixOnFixedWidth => f.write_str("fixed-width encoding scheme has a prefix"),
            Self::BadBitCount { form } => write!(f, "form {form}: bit count not in 1..=31"),
            Self::BadPrefixLen { form } => write!(f, "form {form}: prefix length not in 1..=31"),
            Self::FormTooWide { form } => write!(f, "form {form}: wider than 59 bits"),
            Self::NotAscending { form } => {
                write!(f, "form {form}: bit count not above the previous form's")
            }
            Self::AmbiguousPrefix { form, other } => {
                write!(f, "form {form}: prefix also matches form {other}")
            }
            Self::PrefixWiderThanLen { form } => {
                write!(f, "form {form}: prefix has bits above its length")
            }
        }
    }
}

impl From<EncodingSchemeError> for WireError {
    fn from(_: EncodingSchemeError) -> Self {
        WireError::Malformed
    }
}

/// `EncodingScheme_isSane`, rule for rule, reporting the first rule broken.
pub fn check_sane(forms: &[EncodingForm]) -> Result<(), EncodingSchemeError> {
    match forms {
        [] => Err(EncodingSchemeError::NoForms),
        _ if forms.len() > MAX_FORMS => Err(EncodingSchemeError::TooManyForms),
        [only] => {
            if only.prefix_len != 0 || only.prefix != 0 {
                return Err(EncodingSchemeError::PrefixOnFixedWidth);
            }
            if only.bit_count == 0 || only.bit_count > 31 {
                return Err(EncodingSchemeError::BadBitCount { form: 0 });
            }
            Ok(())
        }
        _ => {
            for (i, form) in forms.iter().enumerate() {
                if form.prefix_len == 0 || form.prefix_len > 31 {
                    return Err(EncodingSchemeError::BadPrefixLen { form: i });
                }
                if form.bit_count == 0 || form.bit_count > 31 {
                    return Err(EncodingSchemeError::BadBitCount { form: i });
                }
                if form.size() > MAX_FORM_SIZE {
                    return Err(EncodingSchemeError::FormTooWide { form: i });
                }
                if i > 0 && form.bit_count <= forms[i - 1].bit_count {
                    return Err(EncodingSchemeError::NotAscending { form: i });
                }
                let mask = low_mask(form.prefix_len as u32);
                for (j, other) in forms.iter().enumerate() {
                    if j != i && (other.prefix as u64 & mask) == form.prefix as u64 {
                        return Err(EncodingSchemeError::AmbiguousPrefix { form: i, other: j });
                    }
                }
            }
            Ok(())
        }
    }
}

/// `EncodingScheme_isSane`.
pub fn is_sane(forms: &[EncodingForm]) -> bool {
    check_sane(forms).is_ok()
}

/// Which form [`EncodingScheme::convert_label`] should re-encode the first director into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertTo {
    /// The narrowest form that can hold the director.
    Canonical,
    /// A specific form, by index.
    Form(usize),
}

/// A sane encoding scheme (the constructors refuse anything else).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodingScheme {
    forms: Vec<EncodingForm, MAX_FORMS>,
}

impl EncodingScheme {
    /// Build a scheme from forms, refusing what `EncodingScheme_isSane` refuses and also
    /// prefixes wider than their length (the wire format cannot carry those).
    pub fn new(forms: &[EncodingForm]) -> Result<Self, EncodingSchemeError> {
        check_sane(forms)?;
        if let Some(i) = forms
            .iter()
            .position(|f| f.prefix as u64 != f.effective_prefix())
        {
            return Err(EncodingSchemeError::PrefixWiderThanLen { form: i });
        }
        let forms = Vec::from_slice(forms).map_err(|_| EncodingSchemeError::TooManyForms)?;
        Ok(EncodingScheme { forms })
    }

    /// The v3x5x8 scheme of cjdns v22.
    pub fn v358() -> Self {
        let mut forms = Vec::new();
        for form in V358_FORMS {
            // Capacity 31 > 3, so this cannot fail.
            let _ = forms.push(form);
        }
        EncodingScheme { forms }
    }

    /// A single-form scheme of `bit_count`-bit directors.
    pub fn fixed_width(bit_count: u8) -> Result<Self, EncodingSchemeError> {
        Self::new(&[EncodingForm::new(bit_count, 0, 0)])
    }

    pub fn forms(&self) -> &[EncodingForm] {
        &self.forms
    }

    /// The 358 scheme gets special numbering (interface 1 only as `0001`).
    pub fn is_358(&self) -> bool {
        self.forms[..] == V358_FORMS[..]
    }

    /// Bytes [`serialize`](Self::serialize) writes.
    pub fn serialized_len(&self) -> usize {
        let bits: u32 = self.forms.iter().map(|f| 10 + f.prefix_len as u32).sum();
        bits.div_ceil(8) as usize
    }

    /// Pack the forms LSB-first (5 bits `prefix_len`, 5 bits `bit_count`, then the prefix)
    /// and write the stream as little-endian bytes; returns the length written.
    pub fn serialize(&self, out: &mut [u8]) -> Result<usize, WireError> {
        let len = self.serialized_len();
        let out = match out.get_mut(..len) {
            Some(out) => out,
            None => {
                return Err(WireError::BufferTooSmall {
                    needed: len,
                    got: out.len(),
                })
            }
        };
        out.fill(0);
        let mut at = 0u32;
        for form in &self.forms {
            put_bits(out, &mut at, form.prefix_len as u64, 5);
            put_bits(out, &mut at, form.bit_count as u64, 5);
            put_bits(
                out,
                &mut at,
                form.effective_prefix(),
                form.prefix_len as u32,
            );
        }
        Ok(len)
    }

    /// Read a serialized scheme. Accepts exactly what `EncodingScheme_deserialize` accepts,
    /// including zero padding bytes after the last form (up to what the reference's 56-bit
    /// read window swallows).
    pub fn deserialize(bytes: &[u8]) -> Result<Self, EncodingSchemeError> {
        let mut forms: Vec<EncodingForm, MAX_FORMS> = Vec::new();
        let mut window = 0u64;
        let mut window_bits = 0u32;
        let mut unread = bytes.iter();
        loop {
            while window_bits < 56 {
                match unread.next() {
                    Some(&b) => {
                        window |= (b as u64) << window_bits;
                        window_bits += 8;
                    }
                    None => break,
                }
            }
            let prefix_len = (window & 0x1f) as u8;
            let bit_count = ((window >> 5) & 0x1f) as u8;
            if bit_count == 0 {
                // A zero bit count ends the list; only zero padding may follow.
                if window != 0 || unread.len() != 0 {
                    return Err(EncodingSchemeError::TrailingData);
                }
                break;
            }
            let size = 10 + prefix_len as u32;
            if size > window_bits {
                return Err(EncodingSchemeError::TruncatedForm);
            }
            let prefix = ((window >> 10) & low_mask(prefix_len as u32)) as u32;
            window >>= size;
            window_bits -= size;
            forms
                .push(EncodingForm::new(bit_count, prefix_len, prefix))
                .map_err(|_| EncodingSchemeError::TooManyForms)?;
        }
        check_sane(&forms)?;
        Ok(EncodingScheme { forms })
    }

    /// Index of the form the label's first director is written in (`getFormNum`).
    pub fn get_encoding_form(&self, label: u64) -> Option<usize> {
        if self.forms.len() == 1 {
            return Some(0);
        }
        self.forms
            .iter()
            .position(|form| (label ^ form.prefix as u64) & low_mask(form.prefix_len as u32) == 0)
    }

    /// The interface number the label's first director names (`parseDirector`).
    pub fn parse_director(&self, label: u64) -> Option<u32> {
        let form_index = self.get_encoding_form(label)?;
        let form = &self.forms[form_index];
        let raw = (label >> form.prefix_len) & low_mask(form.bit_count as u32);
        // bit_count <= 31, so the director fits in u32.
        let raw = raw as u32;
        Some(if !self.is_358() {
            // Generic variable-width schemes swap slots 0 and 1 so that 1 reads `..01`.
            raw ^ (self.forms.len() > 1) as u32
        } else if form_index == 0 {
            swap_zero_one(raw)
        } else {
            // Interface 1 exists only as `0001`; wider forms skip it.
            raw + (raw > 0) as u32
        })
    }

    /// Write interface `iface` as a director, in form `form` or, if `None`, the narrowest
    /// form that holds it (`serializeDirector`). `None` if it does not fit, or if it is the
    /// 358 self interface asked for outside the form that can express it.
    pub fn serialize_director(&self, iface: u32, form: Option<usize>) -> Option<u64> {
        let iface = iface as u64;
        let is_358 = self.is_358();
        let fits = |i: usize, f: &EncodingForm| {
            let slot = if is_358 && i > 0 {
                iface.checked_sub(1)
            } else {
                Some(iface)
            };
            slot.is_some_and(|s| s >> f.bit_count == 0)
        };
        let form_index = match form {
            Some(i) => i,
            None => self
                .forms
                .iter()
                .enumerate()
                .position(|(i, f)| fits(i, f))?,
        };
        let f = self.forms.get(form_index)?;
        let director = if !is_358 {
            iface ^ (self.forms.len() > 1) as u64
        } else if form_index == 0 {
            swap_zero_one(iface as u32) as u64
        } else if iface == 1 {
            return None;
        } else {
            iface - (iface > 0) as u64
        };
        if director >> f.bit_count != 0 {
            return None;
        }
        Some((director << f.prefix_len) | f.prefix as u64)
    }

    /// Whether the label is this router's own route (`isSelfRoute`).
    pub fn is_self_route(&self, label: u64) -> bool {
        match self.get_encoding_form(label) {
            Some(i) => label & low_mask(self.forms[i].size()) == 1,
            None => false,
        }
    }

    /// Whether the label is exactly one director followed by its terminating 1 (`isOneHop`).
    pub fn is_one_hop(&self, label: u64) -> bool {
        match self.get_encoding_form(label) {
            Some(i) => log2(label) == self.forms[i].size(),
            None => false,
        }
    }

    /// Re-encode the label's first director in another form, keeping the rest of the route
    /// (`EncodingScheme_convertLabel`). Used to give a peer a label whose first hop is at
    /// least as wide as its own, so it can splice. `None` where the reference returns
    /// `convertLabel_INVALID`.
    pub fn convert_label(&self, label: u64, to: ConvertTo) -> Option<u64> {
        let current_index = self.get_encoding_form(label)?;
        let current = self.forms[current_index];
        if self.forms.len() == 1 || label & low_mask(current.size()) == 1 {
            // Fixed width, or the self route: nothing to convert.
            return match to {
                ConvertTo::Canonical | ConvertTo::Form(0) => Some(label),
                ConvertTo::Form(_) => None,
            };
        }
        let is_358 = self.is_358();
        let mut rest = label >> current.prefix_len;
        let mut director = rest & low_mask(current.bit_count as u32);
        rest >>= current.bit_count;

        // Turn the 358 on-wire slot into the interface number.
        if is_358 {
            if current.has_prefix_one() {
                director = swap_zero_one_u64(director);
            } else {
                director += (director > 0) as u64;
            }
        }

        let target_index = match to {
            ConvertTo::Form(i) => i,
            ConvertTo::Canonical => {
                // A form without the `1` prefix has one extra slot, hence two minimums.
                let min_bits_with_self = log2(director) + 1;
                let min_bits_without_self = log2(director - (director > 0) as u64) + 1;
                self.forms.iter().position(|f| {
                    let min_bits = if f.has_prefix_one() {
                        min_bits_with_self
                    } else {
                        min_bits_without_self
                    };
                    f.bit_count as u32 >= min_bits
                })?
            }
        };
        let target = *self.forms.get(target_index)?;

        if is_358 {
            if target.has_prefix_one() {
                director = swap_zero_one_u64(director);
            } else {
                director -= (director > 0) as u64;
            }
        }
        if log2(director) + 1 > target.bit_count as u32 {
            return None;
        }
        if log2(rest) + target.size() > MAX_FORM_SIZE {
            return None;
        }
        let converted =
            (((rest << target.bit_count) | director) << target.prefix_len) | target.prefix as u64;
        if converted & low_mask(target.size()) == 1 {
            // Would read as the self route.
            return None;
        }
        Some(converted)
    }
}

/// The 358 scheme's form 0 swaps slots 0 and 1 so the self route reads `0001`.
const fn swap_zero_one(x: u32) -> u32 {
    match x {
        0 => 1,
        1 => 0,
        n => n,
    }
}

const fn swap_zero_one_u64(x: u64) -> u64 {
    match x {
        0 => 1,
        1 => 0,
        n => n,
    }
}

/// The lowest `n` bits set.
const fn low_mask(n: u32) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Write the low `n` bits of `value` at bit offset `*at` (LSB-first) of a zeroed buffer.
fn put_bits(out: &mut [u8], at: &mut u32, value: u64, n: u32) {
    for i in 0..n {
        if (value >> i) & 1 == 1 {
            let bit = *at + i;
            if let Some(byte) = out.get_mut((bit / 8) as usize) {
                *byte |= 1 << (bit % 8);
            }
        }
    }
    *at += n;
}

/// The v3x5x8 number compression compiled into cjdns v22's switch (`NumberCompress.h`).
/// These are the fast fixed versions of the generic [`EncodingScheme`] operations.
pub mod v3x5x8 {
    /// Interfaces 0..=256; interface 1 is the router itself.
    pub const INTERFACES: u32 = 257;

    /// Width of the first director of `label`: 4, 7 or 10 bits.
    pub const fn bits_for_label(label: u64) -> u32 {
        if label & 1 != 0 {
            4
        } else if label & 2 != 0 {
            7
        } else {
            10
        }
    }

    /// Narrowest width that can hold interface `iface`.
    pub const fn bits_for_interface(iface: u32) -> u32 {
        if iface < 8 {
            4
        } else if iface < 33 {
            7
        } else {
            10
        }
    }

    /// Director (prefix included) for `iface` written `bits` wide. Interface 1 is always `1`
    /// whatever the width; an unknown width gives 0, as the reference does.
    pub const fn compress(iface: u32, bits: u32) -> u64 {
        let n = iface as u64;
        if iface == 1 {
            return 1;
        }
        match bits {
            4 if iface == 0 => 0b11,
            4 => (n << 1) | 1,
            7 if iface == 0 => 0b10,
            7 => ((n - 1) << 2) | 0b10,
            10 if iface == 0 => 0,
            10 => (n - 1) << 2,
            _ => 0,
        }
    }

    /// Interface number of the `bits`-wide director at the bottom of `label`.
    pub const fn decompress(label: u64, bits: u32) -> u32 {
        match bits {
            4 => match (label >> 1) & 0x7 {
                0 => 1,
                1 => 0,
                n => n as u32,
            },
            7 => match (label >> 2) & 0x1f {
                0 => 0,
                n => n as u32 + 1,
            },
            10 => match (label >> 2) & 0xff {
                0 => 0,
                n => n as u32 + 1,
            },
            _ => 0,
        }
    }

    /// Interface number of the first director of `label`.
    pub const fn first_interface(label: u64) -> u32 {
        decompress(label, bits_for_label(label))
    }

    /// The one-hop label for a peer on `iface`: its director then a terminating 1 bit.
    pub const fn label_for_interface(iface: u32) -> u64 {
        let bits = bits_for_interface(iface);
        compress(iface, bits) | (1 << bits)
    }

    /// `NumberCompress_getLabelFor`: the label `target` rewritten so its first director is
    /// at least as wide as the first director of `who_is_asking`'s label, so the asker can
    /// splice it after its own path to us.
    pub const fn get_label_for(target: u64, who_is_asking: u64) -> u64 {
        let target_bits = bits_for_label(target);
        let asker_bits = bits_for_label(who_is_asking);
        if target_bits >= asker_bits {
            return target;
        }
        let iface = decompress(target, target_bits);
        ((target & (u64::MAX << target_bits)) << (asker_bits - target_bits))
            | compress(iface, asker_bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v358_serializes_to_known_bytes() {
        let mut out = [0xaa; 8];
        let n = EncodingScheme::v358().serialize(&mut out).unwrap();
        assert_eq!(&out[..n], &V358_SERIALIZED);
        assert_eq!(
            EncodingScheme::deserialize(&V358_SERIALIZED).unwrap(),
            EncodingScheme::v358()
        );
    }

    #[test]
    fn deserialize_refusals() {
        assert_eq!(
            EncodingScheme::deserialize(&[]),
            Err(EncodingSchemeError::NoForms)
        );
        assert_eq!(
            EncodingScheme::deserialize(&V358_SERIALIZED[..4]),
            Err(EncodingSchemeError::TruncatedForm)
        );
        assert_eq!(
            EncodingScheme::deserialize(&[0x61, 0x14, 0x45, 0x81, 0x80]),
            Err(EncodingSchemeError::TrailingData)
        );
        // Zero padding inside the read window is accepted, beyond it refused.
        assert!(EncodingScheme::deserialize(&[0x61, 0x14, 0x45, 0x81, 0, 0, 0]).is_ok());
        let mut long = [0u8; 16];
        long[..5].copy_from_slice(&V358_SERIALIZED);
        assert_eq!(
            EncodingScheme::deserialize(&long),
            Err(EncodingSchemeError::TrailingData)
        );
    }

    #[test]
    fn sanity_rules() {
        assert!(is_sane(&V358_FORMS));
        assert!(is_sane(&[EncodingForm::new(4, 0, 0)]));
        assert_eq!(
            check_sane(&[EncodingForm::new(4, 1, 0)]),
            Err(EncodingSchemeError::PrefixOnFixedWidth)
        );
        assert_eq!(
            check_sane(&[EncodingForm::new(5, 1, 1), EncodingForm::new(4, 1, 0)]),
            Err(EncodingSchemeError::NotAscending { form: 1 })
        );
        assert_eq!(
            check_sane(&[EncodingForm::new(3, 1, 1), EncodingForm::new(5, 2, 1)]),
            Err(EncodingSchemeError::AmbiguousPrefix { form: 0, other: 1 })
        );
        assert_eq!(
            check_sane(&[EncodingForm::new(3, 1, 1), EncodingForm::new(31, 31, 0)]),
            Err(EncodingSchemeError::FormTooWide { form: 1 })
        );
    }

    #[test]
    fn v358_directors_match_number_compress() {
        let scheme = EncodingScheme::v358();
        for iface in 0..v3x5x8::INTERFACES {
            let label = v3x5x8::label_for_interface(iface);
            assert_eq!(scheme.parse_director(label), Some(iface), "iface {iface}");
            let bits = v3x5x8::bits_for_interface(iface);
            let director = scheme.serialize_director(iface, None).unwrap();
            assert_eq!(director, v3x5x8::compress(iface, bits), "iface {iface}");
        }
    }

    #[test]
    fn convert_label_widens_and_narrows() {
        let scheme = EncodingScheme::v358();
        // 0x13 = iface 0 in 4 bits; in the 7-bit form iface 0 is `00000 10`.
        assert_eq!(scheme.convert_label(0x13, ConvertTo::Form(1)), Some(0x82));
        assert_eq!(scheme.convert_label(0x82, ConvertTo::Canonical), Some(0x13));
        assert_eq!(scheme.convert_label(0x15, ConvertTo::Form(2)), Some(0x404));
        assert_eq!(scheme.convert_label(1, ConvertTo::Form(1)), None);
        assert_eq!(scheme.convert_label(1, ConvertTo::Canonical), Some(1));
    }
}
