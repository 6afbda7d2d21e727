//! Switch: label encoding schemes and source-route forwarding (SwitchCore).
//!
//! [`label`] holds the pure label arithmetic (reverse, splice), [`encoding`] the encoding
//! schemes that say how interface numbers are written into labels, and [`core`] the
//! switch itself, which moves packets between interfaces by their labels.

pub mod core;
pub mod encoding;
pub mod label;

pub use self::core::{
    DropReason, SwitchAction, SwitchCore, SwitchCoreError, SwitchError, SwitchStats,
    ERROR_FRAME_MAX, ROUTER_INTERFACE,
};
pub use encoding::{
    check_sane, is_sane, v3x5x8, ConvertTo, EncodingForm, EncodingScheme, EncodingSchemeError,
};
pub use label::{bit_reverse64, log2, routes_through, splice, unsplice, Label, SELF_ROUTE};
