//! Where a zero-config node keeps its identity.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use protocol_core::identity::{generate_keypair, PrivateKey};
use rand_core::OsRng;

/// `$FC00_STATE_DIR`, else `/var/lib/fc00` for root, else `$XDG_STATE_HOME/fc00` or
/// `~/.local/state/fc00`.
pub fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("FC00_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if crate::sys::is_root() {
        return PathBuf::from("/var/lib/fc00");
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("fc00");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".local/state/fc00")
}

/// Read the private key (64 hex digits) from `dir/private_key`, or make one and write it with
/// mode 0600. Returns the key and whether it was new.
pub fn load_or_create_key(dir: &Path) -> io::Result<(PrivateKey, PathBuf, bool)> {
    let path = dir.join("private_key");
    match fs::read_to_string(&path) {
        Ok(text) => {
            let key = PrivateKey::parse_hex(text.trim()).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: expected 64 hex digits", path.display()),
                )
            })?;
            if key.public_key().address().is_err() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: the key's address is not in fc00::/8", path.display()),
                ));
            }
            let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o600))?;
            }
            Ok((key, path, false))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir)?;
            let (key, _, _) = generate_keypair(&mut OsRng);
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)?;
            writeln!(f, "{}", key.to_hex_string())?;
            f.sync_all()?;
            Ok((key, path, true))
        }
        Err(e) => Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    }
}
