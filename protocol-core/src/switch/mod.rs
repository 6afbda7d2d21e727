//! Switch: label encoding schemes and source-route forwarding (SwitchCore).
