//! Sealing secrets at rest (secret access keys cannot be hashed: the server recomputes
//! signatures with them). ChaCha20-Poly1305 with a 32-byte key held outside the database: the
//! file `<data-dir>/master.key` (mode 0600) or the `FERRY_MASTER_KEY` setting (64 hex digits),
//! which every node of a PostgreSQL deployment must share.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

use crate::StoreError;

/// Seals and opens secrets with the installation's master key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl SecretBox {
    /// A sealer for a raw 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// A sealer for a key given as 64 hex digits.
    pub fn from_hex(hex_key: &str) -> Result<Self, StoreError> {
        let bytes = hex::decode(hex_key.trim())
            .map_err(|_| StoreError::Secret("master key is not hex".into()))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            StoreError::Secret("master key must be 32 bytes (64 hex digits)".into())
        })?;
        Ok(Self::new(key))
    }

    /// Loads `<dir>/master.key`, creating it with a fresh random key (mode 0600) if absent.
    pub fn load_or_create(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("master.key");
        match std::fs::read_to_string(&path) {
            Ok(s) => Self::from_hex(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut key);
                write_private(&path, hex::encode(key).as_bytes())?;
                Ok(Self::new(key))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Seals a secret into printable text (`base64(nonce || ciphertext)`).
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let ct = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encryption does not fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        STANDARD.encode(out)
    }

    /// Opens what [`seal`](Self::seal) produced.
    pub fn open(&self, sealed: &str) -> Result<String, StoreError> {
        let raw = STANDARD
            .decode(sealed)
            .map_err(|_| StoreError::Secret("sealed secret is not base64".into()))?;
        if raw.len() < 12 {
            return Err(StoreError::Secret("sealed secret too short".into()));
        }
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| StoreError::Secret("cannot open secret: wrong master key?".into()))?;
        String::from_utf8(plain).map_err(|_| StoreError::Secret("secret is not UTF-8".into()))
    }
}

/// Writes a file readable only by its owner, atomically (temp file + rename).
pub fn write_private(path: &Path, content: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(content)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_wrong_key() {
        let a = SecretBox::new([7; 32]);
        let sealed = a.seal("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert!(!sealed.contains("wJalr"));
        assert_eq!(
            a.open(&sealed).unwrap(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        );
        assert!(SecretBox::new([8; 32]).open(&sealed).is_err());
        assert!(a.open("%%%").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretBox::load_or_create(dir.path()).unwrap();
        let sealed = a.seal("x");
        let b = SecretBox::load_or_create(dir.path()).unwrap();
        assert_eq!(b.open(&sealed).unwrap(), "x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
