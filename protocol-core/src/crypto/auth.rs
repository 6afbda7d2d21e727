//! Passwords a responder accepts in incoming Hellos (cjdns `authorizedPasswords`), and the
//! credentials an initiator presents.

use heapless::Vec;

use super::header::{AuthType, Challenge};
use super::primitives::{login_lookup, password_lookup, password_secret};
use crate::identity::Ip6;

/// Longest login we store; cjdns has no limit but real logins are short names.
pub const MAX_LOGIN_LEN: usize = 64;

/// A login name as stored in the table.
pub type Login = Vec<u8, MAX_LOGIN_LEN>;

/// Why a user could not be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddUserError {
    /// Another user with a different password already has this login.
    DuplicateLogin,
    /// No free slot.
    TableFull,
    /// Longer than [`MAX_LOGIN_LEN`].
    LoginTooLong,
}

/// Stable index of a user in an [`AuthTable`], reported for sessions it authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub u16);

#[derive(Clone, Debug)]
struct User {
    /// Lookup key for auth type 1: `[1, SHA256(SHA256(pw))[1..8]]`.
    password_key: [u8; 8],
    /// Lookup key for auth type 2: `[2, SHA256(login)[1..8]]`.
    login_key: [u8; 8],
    secret: [u8; 32],
    login: Login,
    restricted_to: Option<Ip6>,
}

/// A user found for an incoming challenge.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Matched<'a> {
    pub id: UserId,
    pub secret: &'a [u8; 32],
    pub restricted_to: Option<Ip6>,
}

/// Up to `N` accepted passwords. Every password answers to both auth type 1 (by the
/// password's own hash) and type 2 (by its login; users added without one get the login
/// `Anon #<n>` like in cjdns).
#[derive(Clone, Debug)]
pub struct AuthTable<const N: usize> {
    slots: [Option<User>; N],
}

impl<const N: usize> Default for AuthTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

fn key_of(auth_type: AuthType, lookup: [u8; 7]) -> [u8; 8] {
    Challenge {
        auth_type,
        lookup,
        derivations: 0,
        additional: 0,
    }
    .lookup_key()
}

impl<const N: usize> AuthTable<N> {
    pub const fn new() -> Self {
        AuthTable {
            slots: [const { None }; N],
        }
    }

    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Accept `password`; `ipv6` limits it to the peer whose key hashes to that address.
    /// Re-adding a known password is allowed (cjdns does the same).
    pub fn add_user(
        &mut self,
        password: &[u8],
        login: Option<&[u8]>,
        ipv6: Option<Ip6>,
    ) -> Result<UserId, AddUserError> {
        let mut name = Login::new();
        match login {
            Some(l) => name
                .extend_from_slice(l)
                .map_err(|_| AddUserError::LoginTooLong)?,
            None => {
                let mut n = self.len();
                let mut digits = [0u8; 20];
                let mut i = digits.len();
                loop {
                    i -= 1;
                    digits[i] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                name.extend_from_slice(b"Anon #")
                    .and_then(|_| name.extend_from_slice(&digits[i..]))
                    .map_err(|_| AddUserError::LoginTooLong)?;
            }
        }
        let secret = password_secret(password);
        if let Some(l) = login {
            for u in self.slots.iter().flatten() {
                if u.secret != secret && u.login.as_slice() == l {
                    return Err(AddUserError::DuplicateLogin);
                }
            }
        }
        let user = User {
            password_key: key_of(AuthType::Password, password_lookup(&secret)),
            login_key: key_of(AuthType::Login, login_lookup(&name)),
            secret,
            login: name,
            restricted_to: ipv6,
        };
        let (i, slot) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.is_none())
            .ok_or(AddUserError::TableFull)?;
        *slot = Some(user);
        Ok(UserId(i as u16))
    }

    /// Remove the users with this login, or all users; returns how many went.
    pub fn remove_users(&mut self, login: Option<&[u8]>) -> usize {
        let mut count = 0;
        for slot in self.slots.iter_mut() {
            let hit = match (slot.as_ref(), login) {
                (Some(_), None) => true,
                (Some(u), Some(l)) => u.login.as_slice() == l,
                (None, _) => false,
            };
            if hit {
                *slot = None;
                count += 1;
            }
        }
        count
    }

    /// The login of a user (for reporting who an established peer authenticated as).
    pub fn login(&self, id: UserId) -> Option<&[u8]> {
        self.slots
            .get(usize::from(id.0))?
            .as_ref()
            .map(|u| u.login.as_slice())
    }

    pub fn logins(&self) -> impl Iterator<Item = &[u8]> {
        self.slots.iter().flatten().map(|u| u.login.as_slice())
    }

    /// The first user matching the challenge of an incoming handshake, as cjdns scans.
    pub(crate) fn find(&self, challenge: &Challenge) -> Option<Matched<'_>> {
        let key = challenge.lookup_key();
        for (i, slot) in self.slots.iter().enumerate() {
            let Some(u) = slot else { continue };
            let hit = match challenge.auth_type {
                AuthType::Password => key == u.password_key,
                AuthType::Login => key == u.login_key,
                _ => return None,
            };
            if hit {
                return Some(Matched {
                    id: UserId(i as u16),
                    secret: &u.secret,
                    restricted_to: u.restricted_to,
                });
            }
        }
        None
    }
}

/// The credentials an initiator presents in its handshakes (cjdns `Ca_setAuth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub(crate) auth_type: AuthType,
    pub(crate) lookup: [u8; 7],
    pub(crate) secret: [u8; 32],
}

impl Credentials {
    /// Auth type 2 with a login, else auth type 1.
    pub fn new(password: &[u8], login: Option<&[u8]>) -> Self {
        let secret = password_secret(password);
        match login {
            Some(l) => Credentials {
                auth_type: AuthType::Login,
                lookup: login_lookup(l),
                secret,
            },
            None => Credentials {
                auth_type: AuthType::Password,
                lookup: password_lookup(&secret),
                secret,
            },
        }
    }

    pub fn auth_type(&self) -> AuthType {
        self.auth_type
    }

    pub(crate) fn challenge(&self) -> Challenge {
        Challenge {
            auth_type: self.auth_type,
            lookup: self.lookup,
            derivations: 0,
            additional: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_for_both_types_and_anon_names() {
        let mut t = AuthTable::<4>::new();
        let a = t.add_user(b"passA2B", Some(b"nodeB"), None).unwrap();
        let b = t.add_user(b"other", None, None).unwrap();
        assert_eq!(t.login(b), Some(&b"Anon #1"[..]));
        let c2 = Credentials::new(b"passA2B", Some(b"nodeB")).challenge();
        assert_eq!(c2.lookup, [0x30, 0x3e, 0x91, 0x2d, 0x02, 0x50, 0xf8]);
        assert_eq!(t.find(&c2).map(|m| m.id), Some(a));
        let c1 = Credentials::new(b"passA2B", None).challenge();
        assert_eq!(c1.lookup, [0x70, 0x2d, 0xf9, 0x42, 0x2a, 0x5d, 0xfc]);
        assert_eq!(t.find(&c1).map(|m| m.id), Some(a));
        let anon = Credentials::new(b"other", Some(b"Anon #1")).challenge();
        assert_eq!(t.find(&anon).map(|m| m.id), Some(b));
        assert_eq!(
            t.add_user(b"different", Some(b"nodeB"), None),
            Err(AddUserError::DuplicateLogin)
        );
        assert!(t.add_user(b"passA2B", Some(b"nodeB"), None).is_ok());
        assert_eq!(t.remove_users(Some(b"nodeB")), 2);
        assert_eq!(t.find(&c1).map(|m| m.id), None);
        t.add_user(b"x", None, None).unwrap();
        t.add_user(b"y", None, None).unwrap();
        t.add_user(b"z", None, None).unwrap();
        assert_eq!(t.add_user(b"w", None, None), Err(AddUserError::TableFull));
    }
}
