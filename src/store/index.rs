//! Lookup keys that reveal nothing: keyed HMAC-SHA-256 of the looked-up value.
//!
//! A lookup such as "which cases reported this media hash" needs a key stored in clear. An
//! HMAC under a secret index key (held like the store identity) makes that key useless to
//! anyone who reads the file: without the index key, a known hash cannot be tested against it.

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The secret key of the lookup indexes. No `Debug`.
pub struct IndexKey(hmac::Key);

impl IndexKey {
    /// Parses the index-key file: 64 hex digits (32 bytes), surrounding whitespace ignored.
    pub fn parse(file: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(file).map_err(|_| "the index key file is not text".to_owned())?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text.trim(), bytes.as_mut())
            .map_err(|_| "the index key file must hold 64 hex digits (32 random bytes)".to_owned())?;
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, bytes.as_ref())))
    }

    /// A fresh key, as the text of an index-key file.
    pub fn generate_file_text() -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        // The system RNG failing means the kernel cannot give entropy; nothing secure can run.
        SystemRandom::new().fill(bytes.as_mut()).expect("the system random number generator failed");
        Zeroizing::new(format!("{}\n", hex::encode(bytes.as_slice())))
    }

    /// The lookup key of `value` in the index named `purpose` (different indexes never share
    /// keys, even for equal values).
    pub fn lookup_key(&self, purpose: &str, value: &[u8]) -> [u8; 32] {
        let mut context = hmac::Context::with_key(&self.0);
        context.update(purpose.as_bytes());
        context.update(&[0]);
        context.update(value);
        let mut key = [0; 32];
        key.copy_from_slice(context.sign().as_ref());
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_keys_depend_on_key_purpose_and_value() {
        let a = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        let b = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        assert_eq!(a.lookup_key("sha1", b"x"), a.lookup_key("sha1", b"x"));
        assert_ne!(a.lookup_key("sha1", b"x"), b.lookup_key("sha1", b"x"));
        assert_ne!(a.lookup_key("sha1", b"x"), a.lookup_key("md5", b"x"));
        assert_ne!(a.lookup_key("sha1", b"x"), a.lookup_key("sha1", b"y"));
        assert!(IndexKey::parse(b"short").is_err());
    }
}
