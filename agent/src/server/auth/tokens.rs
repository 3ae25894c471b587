//! Bearer tokens with roles, stored hashed in a TOML file.
//!
//! A token is 32 bytes from the OS generator, shown once as `fdk_` + 64 hex digits. Only its
//! SHA-256 is stored. A slow password hash (argon2) would add nothing here: the secret is
//! 256 random bits, not a password, so there is no dictionary to slow down, and a fast hash
//! keeps the check on every call cheap. Hashes are compared in constant time.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Role;

/// File name of the tokens file inside the state directory.
pub const TOKENS_FILE: &str = "tokens.toml";
/// What every token starts with, so a leaked one is easy to recognise in logs and scanners.
pub const TOKEN_PREFIX: &str = "fdk_";
/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Longest token name.
const MAX_NAME_LEN: usize = 64;

/// One stored token: its name, role and hash, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    /// Who holds it (recorded in the audit log).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// SHA-256 of the token, lower-case hex.
    pub sha256: String,
    /// When it was made, RFC 3339.
    #[serde(default)]
    pub created: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

/// Why the tokens file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading or writing failed.
    #[error("tokens file {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        error: std::io::Error,
    },
    /// The file is not what `token create` writes.
    #[error("tokens file {} is not valid: {message}; fix it or remove it and create the tokens again", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A name that cannot be used.
    #[error("{0}")]
    Name(String),
    /// No OS randomness.
    #[error("no randomness from the OS: {0}")]
    Random(String),
}

/// SHA-256 of `token`, lower-case hex.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Equality that takes the same time wherever the inputs differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks a token name: 1-64 letters, digits, `.`, `_`, `-`.
pub fn check_name(name: &str) -> Result<(), TokenError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::Name(format!(
            "token name `{}` is not valid: use 1-{MAX_NAME_LEN} letters, digits, `.`, `_` or `-`",
            name.escape_debug()
        )))
    }
}

/// A new random token.
pub fn new_token() -> Result<String, TokenError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
}

fn read_file(path: &Path) -> Result<TokensFile, TokenError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TokensFile::default()),
        Err(error) => {
            return Err(TokenError::Io {
                path: path.to_owned(),
                error,
            });
        }
    };
    let file: TokensFile = toml::from_str(&text).map_err(|e| TokenError::Parse {
        path: path.to_owned(),
        message: e.message().to_owned(),
    })?;
    for t in &file.tokens {
        let bad_hash = t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        if bad_hash || check_name(&t.name).is_err() {
            return Err(TokenError::Parse {
                path: path.to_owned(),
                message: format!("entry `{}` has a bad name or hash", t.name.escape_debug()),
            });
        }
    }
    Ok(file)
}

fn write_file(path: &Path, file: &TokensFile) -> Result<(), TokenError> {
    let io = |error| TokenError::Io {
        path: path.to_owned(),
        error,
    };
    let body = toml::to_string(file).map_err(|e| io(std::io::Error::other(e)))?;
    let text = format!(
        "# fleetdeck-agent tokens: SHA-256 hashes only. Manage with `fleetdeck-agent token`.\n{body}"
    );
    if let Some(dir) = path.parent() {
        crate::private::create_dir(dir).map_err(io)?;
    }
    // Written aside then renamed, so a running agent never reads half a file.
    crate::private::write_atomic(path, text.as_bytes()).map_err(io)
}

/// Adds a token named `name` with `role`; returns the token (shown once, never stored).
pub fn create(path: &Path, name: &str, role: Role) -> Result<String, TokenError> {
    check_name(name)?;
    let mut file = read_file(path)?;
    if file.tokens.iter().any(|t| t.name == name) {
        return Err(TokenError::Name(format!(
            "a token named `{name}` exists; revoke it first or pick another name"
        )));
    }
    let token = new_token()?;
    file.tokens.push(TokenEntry {
        name: name.to_owned(),
        role,
        sha256: hash_token(&token),
        created: crate::audit::now_rfc3339(),
    });
    write_file(path, &file)?;
    Ok(token)
}

/// The stored tokens (names, roles, dates; hashes too, which are no secret worth keeping).
pub fn list(path: &Path) -> Result<Vec<TokenEntry>, TokenError> {
    Ok(read_file(path)?.tokens)
}

/// Removes the token named `name`; a running agent refuses it from its next call and cuts
/// the streams it holds. Returns how many tokens are left. The file stays even when empty,
/// so an agent restarted on it still requires tokens.
pub fn revoke(path: &Path, name: &str) -> Result<usize, TokenError> {
    let mut file = read_file(path)?;
    let before = file.tokens.len();
    file.tokens.retain(|t| t.name != name);
    if file.tokens.len() == before {
        return Err(TokenError::Name(format!(
            "no token named `{}`; see `fleetdeck-agent token list`",
            name.escape_debug()
        )));
    }
    write_file(path, &file)?;
    Ok(file.tokens.len())
}

/// The tokens a running agent accepts, re-read whenever the file changes so `token create`
/// and `token revoke` apply without a restart.
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    stamp: Option<(SystemTime, u64)>,
    tokens: Vec<TokenEntry>,
}

impl TokenStore {
    /// Reads `path` (a missing file is an empty store).
    pub fn open(path: PathBuf) -> Result<Self, TokenError> {
        let store = Self {
            path,
            cache: Mutex::default(),
        };
        store.refresh()?;
        Ok(store)
    }

    /// The file behind this store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let meta = std::fs::metadata(&self.path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    }

    fn refresh(&self) -> Result<(), TokenError> {
        let stamp = self.stamp();
        let mut cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.stamp.is_some() && cache.stamp == stamp {
            return Ok(());
        }
        let file = read_file(&self.path)?;
        cache.tokens = file.tokens;
        cache.stamp = stamp;
        Ok(())
    }

    fn with_tokens<T>(&self, f: impl FnOnce(&[TokenEntry]) -> T) -> T {
        if let Err(e) = self.refresh() {
            // Keep the last good set: a bad edit must not open or close the agent.
            tracing::error!("{e}; keeping the tokens read before");
        }
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&cache.tokens)
    }

    /// True when at least one token exists (then every call must carry one).
    pub fn is_enabled(&self) -> bool {
        self.with_tokens(|t| !t.is_empty())
    }

    /// True when the file exists (even with no token in it).
    pub fn file_exists(&self) -> bool {
        self.path.exists()
    }

    /// True while a token with SHA-256 `hash` is stored with `role` (a stream opened with it
    /// may go on).
    pub fn has_hash(&self, hash: &str, role: Role) -> bool {
        self.with_tokens(|tokens| {
            tokens
                .iter()
                .any(|t| t.role == role && constant_time_eq(t.sha256.as_bytes(), hash.as_bytes()))
        })
    }

    /// The entry `token` belongs to, if any.
    pub fn check(&self, token: &str) -> Option<(String, Role)> {
        let hash = hash_token(token);
        self.with_tokens(|tokens| {
            // Look at every entry so the time taken does not say which one matched.
            let mut found = None;
            for t in tokens {
                if constant_time_eq(t.sha256.as_bytes(), hash.as_bytes()) {
                    found = Some((t.name.clone(), t.role));
                }
            }
            found
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_check_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        let store = TokenStore::open(path.clone()).unwrap();
        assert!(!store.is_enabled());
        let wall = create(&path, "wall", Role::Viewer).unwrap();
        let ops = create(&path, "ops", Role::Operator).unwrap();
        assert!(wall.starts_with(TOKEN_PREFIX) && wall.len() == 4 + 64);
        assert_ne!(wall, ops);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&wall[4..]),
            "the token itself is never stored"
        );
        assert!(text.contains(&hash_token(&wall)));
        assert!(store.is_enabled());
        assert_eq!(store.check(&wall), Some(("wall".into(), Role::Viewer)));
        assert_eq!(store.check(&ops), Some(("ops".into(), Role::Operator)));
        assert_eq!(store.check("fdk_nope"), None);
        assert!(
            create(&path, "wall", Role::Admin).is_err(),
            "names are unique"
        );
        assert_eq!(list(&path).unwrap().len(), 2);
        revoke(&path, "wall").unwrap();
        assert_eq!(
            store.check(&wall),
            None,
            "revocation applies to a running store"
        );
        assert!(
            revoke(&path, "wall")
                .unwrap_err()
                .to_string()
                .contains("no token")
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "tokens file is private");
        }
    }

    #[test]
    fn bad_names_and_files_are_refused() {
        for bad in ["", "a b", "../x", "a\0b", "x;rm", &"n".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        std::fs::write(
            &path,
            "[[tokens]]\nname = \"a\"\nrole = \"root\"\nsha256 = \"00\"\n",
        )
        .unwrap();
        let e = TokenStore::open(path.clone()).unwrap_err().to_string();
        assert!(e.contains("not valid"), "{e}");
        std::fs::write(
            &path,
            "[[tokens]]\nname = \"a\"\nrole = \"admin\"\nsha256 = \"00\"\n",
        )
        .unwrap();
        assert!(TokenStore::open(path).is_err(), "short hash refused");
    }

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
