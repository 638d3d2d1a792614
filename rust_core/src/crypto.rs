//! AES-256-GCM encryption of secrets at rest (provider keys, OAuth secrets).
//!
//! A sealed value reads `v1.<key id>.<base64url(nonce || ciphertext || tag)>`.
//! The key id is the first 8 hex characters of SHA-256 of the master key, so a
//! keyring holding the current key and retired ones can open values sealed
//! under any of them while new values are sealed under the current key. The
//! associated data binds a value to its place (for example
//! `provider:plat_…:openai`), so a sealed value copied elsewhere fails to open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("master key must be 32 bytes, got {0}")]
    KeyLength(usize),
    #[error("sealed value is malformed")]
    Malformed,
    #[error("no master key with id {0} is configured")]
    UnknownKeyId(String),
    #[error("sealed value failed authentication")]
    Authentication,
}

/// One master key and its id.
#[derive(Clone)]
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
}

impl MasterKey {
    pub fn new(bytes: &[u8]) -> Result<Self, CryptoError> {
        if bytes.len() != 32 {
            return Err(CryptoError::KeyLength(bytes.len()));
        }
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(bytes));
        Ok(Self { id, cipher })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The current master key plus retired keys kept for decryption only.
#[derive(Clone)]
pub struct Keyring {
    current: MasterKey,
    retired: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(current: MasterKey, retired: Vec<MasterKey>) -> Self {
        Self { current, retired }
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Seal `plaintext` under the current key with a fresh random nonce.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let payload = Payload {
            msg: plaintext,
            aad,
        };
        let sealed = self
            .current
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| CryptoError::Authentication)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        Ok(format!(
            "{VERSION}.{}.{}",
            self.current.id,
            URL_SAFE_NO_PAD.encode(blob)
        ))
    }

    /// Open a value made by [`Keyring::seal`] with the same associated data.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Malformed);
        };
        let key = std::iter::once(&self.current)
            .chain(self.retired.iter())
            .find(|key| key.id == key_id)
            .ok_or_else(|| CryptoError::UnknownKeyId(key_id.to_owned()))?;
        let blob = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| CryptoError::Malformed)?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ciphertext) = blob.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        key.cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| CryptoError::Authentication)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(byte: u8) -> Keyring {
        Keyring::new(MasterKey::new(&[byte; 32]).unwrap(), vec![])
    }

    #[test]
    fn seal_then_open() {
        let ring = keyring(1);
        let sealed = ring.seal(b"sk-secret", b"provider:p:openai").unwrap();
        assert!(sealed.starts_with(&format!("v1.{}.", ring.current_id())));
        assert!(!sealed.contains("sk-secret"));
        assert_eq!(
            ring.open(&sealed, b"provider:p:openai").unwrap(),
            b"sk-secret"
        );
    }

    #[test]
    fn wrong_aad_fails() {
        let ring = keyring(1);
        let sealed = ring.seal(b"x", b"a").unwrap();
        assert_eq!(ring.open(&sealed, b"b"), Err(CryptoError::Authentication));
    }

    #[test]
    fn retired_key_still_opens() {
        let old = keyring(1);
        let sealed = old.seal(b"x", b"").unwrap();
        let rotated = Keyring::new(
            MasterKey::new(&[2; 32]).unwrap(),
            vec![MasterKey::new(&[1; 32]).unwrap()],
        );
        assert_eq!(rotated.open(&sealed, b"").unwrap(), b"x");
        assert!(rotated
            .seal(b"y", b"")
            .unwrap()
            .contains(rotated.current_id()));
    }

    #[test]
    fn unknown_key_and_garbage_fail() {
        let sealed = keyring(1).seal(b"x", b"").unwrap();
        assert!(matches!(
            keyring(3).open(&sealed, b""),
            Err(CryptoError::UnknownKeyId(_))
        ));
        assert_eq!(keyring(1).open("v1.zz", b""), Err(CryptoError::Malformed));
        assert_eq!(
            MasterKey::new(&[0; 16]).err(),
            Some(CryptoError::KeyLength(16))
        );
    }
}
