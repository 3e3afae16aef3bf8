//! Secrets at rest: access tokens, app secrets and auth tokens are sealed with the
//! server key (ChaCha20-Poly1305, a fresh random nonce per value) before they reach the
//! database, and never leave the server once saved. The same key signs the short-lived links
//! a provider fetches a file from (with a key derived for that purpose only).

use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

const KEY_LEN: usize = 32;

/// 32 random bytes as 64 hexadecimal digits: invitation links, the setup token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system's random number generator");
    hex(&bytes)
}

/// The SHA-256 of `text` in hexadecimal: what is stored in place of a token or a session id,
/// so that the database never holds one that works.
pub fn sha256_hex(text: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, text.as_bytes()).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read or create the server key {0}: {1}")]
    KeyFile(String, std::io::Error),
    #[error("the server key must be {KEY_LEN} bytes, written as 64 hexadecimal digits")]
    BadKey,
    #[error("a stored secret cannot be opened with this server key")]
    Unreadable,
}

/// Seals and opens secrets with the server key.
#[derive(Clone)]
pub struct SecretBox {
    key: std::sync::Arc<LessSafeKey>,
    links: std::sync::Arc<hmac::Key>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    /// From 64 hexadecimal digits (how the key is written in files and the environment).
    pub fn from_hex(text: &str) -> Result<SecretBox, SecretError> {
        let text = text.trim();
        if text.len() != KEY_LEN * 2 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(SecretError::BadKey);
        }
        let bytes: Vec<u8> = (0..KEY_LEN)
            .map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).expect("checked hex"))
            .collect();
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| SecretError::BadKey)?;
        let links = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, &bytes),
            b"buzon: links to stored files",
        );
        Ok(SecretBox {
            key: std::sync::Arc::new(LessSafeKey::new(key)),
            links: std::sync::Arc::new(hmac::Key::new(hmac::HMAC_SHA256, links.as_ref())),
        })
    }

    /// Reads the key file, creating it (readable by its owner only) on first start.
    pub fn load_or_create(path: &Path) -> Result<SecretBox, SecretError> {
        let describe = |e| SecretError::KeyFile(path.display().to_string(), e);
        match std::fs::read_to_string(path) {
            Ok(text) => SecretBox::from_hex(&text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(describe)?;
                }
                let mut bytes = [0u8; KEY_LEN];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| describe(std::io::Error::other("no randomness")))?;
                let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                write_private(path, &text).map_err(describe)?;
                SecretBox::from_hex(&text)
            }
            Err(err) => Err(describe(err)),
        }
    }

    /// `nonce || ciphertext || tag`, bound to `bound_to` (the AEAD's associated data): the
    /// sealed value opens only for the same `bound_to`, so a sealed value copied from one row
    /// to another in the database opens for neither.
    pub fn seal(&self, plaintext: &[u8], bound_to: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random source works");
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to.as_bytes()),
                &mut sealed,
            )
            .expect("sealing cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// The signature of a link (hexadecimal), which only this server key makes.
    pub fn sign_link(&self, link: &str) -> String {
        hmac::sign(&self.links, link.as_bytes())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Whether `signature` is this key's signature of `link` (compared in constant time).
    pub fn verify_link(&self, link: &str, signature: &str) -> bool {
        let Some(bytes) = (0..signature.len() / 2)
            .map(|i| u8::from_str_radix(signature.get(i * 2..i * 2 + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()
            .filter(|b| b.len() * 2 == signature.len())
        else {
            return false;
        };
        hmac::verify(&self.links, link.as_bytes(), &bytes).is_ok()
    }

    /// What `seal` sealed with the same `bound_to`.
    pub fn open(&self, sealed: &[u8], bound_to: &str) -> Result<Vec<u8>, SecretError> {
        if sealed.len() < NONCE_LEN {
            return Err(SecretError::Unreadable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Unreadable)?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(bound_to.as_bytes()), &mut buffer)
            .map_err(|_| SecretError::Unreadable)?;
        Ok(plain.to_vec())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SecretBox {
        SecretBox::from_hex(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let sealed = sample().seal(b"EAAG-token", "account 1");
        assert!(!sealed.windows(10).any(|w| w == b"EAAG-token"));
        assert_eq!(sample().open(&sealed, "account 1").unwrap(), b"EAAG-token");
        let other = SecretBox::from_hex(&"cd".repeat(32)).unwrap();
        assert!(matches!(
            other.open(&sealed, "account 1"),
            Err(SecretError::Unreadable)
        ));
    }

    #[test]
    fn a_sealed_value_opens_only_for_what_it_was_bound_to() {
        let sealed = sample().seal(b"EAAG-token", "account 1 whatsapp 555");
        for other in ["account 2 whatsapp 555", "account 1 whatsapp 556", ""] {
            assert!(sample().open(&sealed, other).is_err(), "{other:?}");
        }
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce_and_tampering_is_detected() {
        let a = sample().seal(b"same", "");
        let b = sample().seal(b"same", "");
        assert_ne!(a, b);
        let mut tampered = a.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(sample().open(&tampered, "").is_err());
        assert!(sample().open(&a[..5], "").is_err());
    }

    #[test]
    fn link_signatures_verify_with_the_same_key_and_link_only() {
        let signature = sample().sign_link("7:1800000000000");
        assert_eq!(signature.len(), 64);
        assert!(sample().verify_link("7:1800000000000", &signature));
        assert!(!sample().verify_link("8:1800000000000", &signature));
        assert!(!sample().verify_link("7:1800000000001", &signature));
        let other = SecretBox::from_hex(&"cd".repeat(32)).unwrap();
        assert!(!other.verify_link("7:1800000000000", &signature));
        assert!(!sample().verify_link("7:1800000000000", &signature[..62]));
        assert!(!sample().verify_link("7:1800000000000", "zz"));
        assert!(!sample().verify_link("7:1800000000000", ""));
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(SecretBox::from_hex("abc").is_err());
        assert!(SecretBox::from_hex(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = std::env::temp_dir().join(format!("buzon-key-{}", std::process::id()));
        let path = dir.join("secret.key");
        let _ = std::fs::remove_dir_all(&dir);
        let first = SecretBox::load_or_create(&path).unwrap();
        let sealed = first.seal(b"x", "");
        let again = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, "").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
