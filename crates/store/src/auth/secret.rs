//! Random secrets (session ids, API tokens, the setup token) and how they are stored: by
//! their SHA-256, so that a copy of the database lets no one in. They carry 256 random
//! bits, so a fast hash is enough; passwords, which people choose, get argon2id instead.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The length of [`random_secret`]'s text.
pub const SECRET_CHARS: usize = 43;

/// 32 random bytes, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `text` could be one of [`random_secret`]'s: anything else is refused without
/// asking the database.
pub fn is_well_formed(text: &str) -> bool {
    text.len() == SECRET_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the database keeps instead of the secret: its SHA-256 in hex.
pub fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_stored_as_hashes() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(fingerprint(&a).len(), 64);
        assert_eq!(fingerprint(&a), fingerprint(&a));
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &b));
        assert!(!same_secret(&a, &a[1..]));
        assert!(is_well_formed(&a));
        let (longer, plus) = (format!("{a}x"), format!("+{}", &a[1..]));
        for bad in [&a[1..], longer.as_str(), plus.as_str(), "", "é"] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }
}
