//! API key generation and hashing.
//!
//! Keys are a kind prefix (`sk-plat_` or `sk-eu_`) followed by 43 base62
//! characters, which carry 256 bits of randomness. The gateway stores only
//! HMAC-SHA256(pepper, key) in hex; both planes hash through [`hash_key`].

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

pub const PLATFORM_KEY_PREFIX: &str = "sk-plat_";
pub const END_USER_KEY_PREFIX: &str = "sk-eu_";

/// Characters of the random part; 62^43 > 2^256.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS: usize = 43;
/// How many random characters `key_prefix` shows after the kind prefix.
const SHOWN_CHARS: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Platform,
    EndUser,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Platform => PLATFORM_KEY_PREFIX,
            KeyKind::EndUser => END_USER_KEY_PREFIX,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Platform => "platform",
            KeyKind::EndUser => "end_user",
        }
    }
}

/// Generate a raw key of `kind` from the operating system's CSPRNG.
pub fn generate_key(kind: KeyKind) -> String {
    let mut rng = rand::rngs::OsRng;
    let mut key = String::with_capacity(kind.prefix().len() + RANDOM_CHARS);
    key.push_str(kind.prefix());
    for _ in 0..RANDOM_CHARS {
        key.push(BASE62[rng.gen_range(0..BASE62.len())] as char);
    }
    key
}

/// The shown part of a key: its kind prefix and first random characters.
pub fn key_prefix(raw: &str) -> String {
    let kind_len = if raw.starts_with(PLATFORM_KEY_PREFIX) {
        PLATFORM_KEY_PREFIX.len()
    } else if raw.starts_with(END_USER_KEY_PREFIX) {
        END_USER_KEY_PREFIX.len()
    } else {
        0
    };
    raw.chars().take(kind_len + SHOWN_CHARS).collect()
}

/// The kind of a well-formed key, or `None` when the shape is wrong.
pub fn parse_kind(raw: &str) -> Option<KeyKind> {
    let (kind, rest) = if let Some(rest) = raw.strip_prefix(PLATFORM_KEY_PREFIX) {
        (KeyKind::Platform, rest)
    } else if let Some(rest) = raw.strip_prefix(END_USER_KEY_PREFIX) {
        (KeyKind::EndUser, rest)
    } else {
        return None;
    };
    let well_formed = rest.len() == RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(kind)
}

/// HMAC-SHA256 of `raw` under `pepper`, as 64 lowercase hex characters.
pub fn hash_key(pepper: &[u8], raw: &str) -> String {
    // HMAC accepts keys of any length, so new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(pepper) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(raw.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse() {
        let key = generate_key(KeyKind::EndUser);
        assert_eq!(parse_kind(&key), Some(KeyKind::EndUser));
        assert_eq!(key.len(), END_USER_KEY_PREFIX.len() + 43);
        let key = generate_key(KeyKind::Platform);
        assert_eq!(parse_kind(&key), Some(KeyKind::Platform));
    }

    #[test]
    fn malformed_keys_rejected() {
        assert_eq!(parse_kind("sk-eu_short"), None);
        assert_eq!(parse_kind("Bearer"), None);
        let bad = format!("sk-eu_{}!", "a".repeat(42));
        assert_eq!(parse_kind(&bad), None);
    }

    #[test]
    fn hash_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hash_key(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn prefix_shows_six_random_chars() {
        let key = format!("sk-plat_ABCDEF{}", "x".repeat(37));
        assert_eq!(key_prefix(&key), "sk-plat_ABCDEF");
    }
}
