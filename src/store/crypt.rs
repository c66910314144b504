//! age encryption of every stored value, and the key types that make it.
//!
//! Two levels, as in any envelope scheme:
//!
//! - The **keyring**: a standard age file (X25519) holding the store key, encrypted to the
//!   appliance's own recipient plus the configured escrow recipients (legal's offline keys), so
//!   legal can still read the store if the appliance's key is lost.
//! - Every **value** is an age file whose file key is wrapped by the store key in a
//!   `takedown-store` stanza (HKDF-SHA-256 over a random salt, then ChaCha20-Poly1305, the way
//!   age's own stanzas wrap file keys). The payload is age's: STREAM ChaCha20-Poly1305 under a
//!   key derived from the file key, with the header MAC.
//!
//! Why not X25519 per value: two scalar multiplications per recipient per value made a case
//! commit CPU-bound and an export 100x slower than `age` on the same bytes. The access
//! structure is the same: whoever opens the keyring (own identity or an escrow identity) opens
//! every value, and nobody else does. Keys have no `Debug` and are exposed only to age itself.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::x25519;
use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::primitives::{aead_decrypt, aead_encrypt, hkdf};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, Zeroizing};

/// Why encryption or decryption failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    /// The ciphertext is not for any identity we hold, or is damaged.
    #[error("cannot decrypt: {0}")]
    Decrypt(String),
    /// age refused the recipients or the output failed.
    #[error("cannot encrypt: {0}")]
    Encrypt(String),
}

/// An age X25519 recipient (`age1…`).
#[derive(Clone, PartialEq, Eq)]
pub struct AgeRecipient(x25519::Recipient);

impl AgeRecipient {
    /// The underlying age recipient.
    pub fn inner(&self) -> &x25519::Recipient {
        &self.0
    }
}

impl FromStr for AgeRecipient {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        x25519::Recipient::from_str(text.trim()).map(Self).map_err(|_| {
            format!("{text:?} is not an age X25519 recipient; it starts with age1 (see `age-keygen -y`)")
        })
    }
}

impl std::fmt::Display for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::fmt::Debug for AgeRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgeRecipient({})", self.0)
    }
}

/// The appliance's age identity: decrypts the store. No `Debug`, no `Display`.
#[derive(Clone)]
pub struct AgeIdentity(x25519::Identity);

impl AgeIdentity {
    /// A fresh identity.
    pub fn generate() -> Self {
        Self(x25519::Identity::generate())
    }

    /// Reads an identity file as `age-keygen` writes it: comment lines, then `AGE-SECRET-KEY-1…`.
    pub fn parse(file: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(file).map_err(|_| "the identity file is not text".to_owned())?;
        let mut keys = text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'));
        let key = keys.next().ok_or("the identity file holds no AGE-SECRET-KEY-1 line")?;
        if keys.next().is_some() {
            return Err("the identity file holds more than one key; keep one per file".to_owned());
        }
        x25519::Identity::from_str(key).map(Self).map_err(|_| {
            "the identity file's key is not an age X25519 secret key (AGE-SECRET-KEY-1…)".to_owned()
        })
    }

    /// The identity as `age-keygen` would write it (with the public key as a comment).
    pub fn to_file_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "# takedown store identity\n# public key: {}\n{}\n",
            self.recipient(),
            self.0.to_string().expose_secret()
        ))
    }

    /// The matching recipient.
    pub fn recipient(&self) -> AgeRecipient {
        AgeRecipient(self.0.to_public())
    }

    /// Decrypts an age file.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptError> {
        open_with(&self.0, ciphertext)
    }
}

/// Encrypts `plaintext` to every recipient in `recipients` (binary age format).
pub fn seal(recipients: &[AgeRecipient], plaintext: &[u8]) -> Result<Vec<u8>, CryptError> {
    seal_to(recipients.iter().map(|r| r.inner() as &dyn age::Recipient), plaintext)
}

fn seal_to<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptError> {
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let encryptor =
        age::Encryptor::with_recipients(recipients).map_err(|e| CryptError::Encrypt(e.to_string()))?;
    let mut writer = encryptor.wrap_output(&mut out).map_err(|e| CryptError::Encrypt(e.to_string()))?;
    writer.write_all(plaintext).map_err(|e| CryptError::Encrypt(e.to_string()))?;
    writer.finish().map_err(|e| CryptError::Encrypt(e.to_string()))?;
    Ok(out)
}

fn open_with(identity: &dyn age::Identity, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptError> {
    let decryptor =
        age::Decryptor::new_buffered(ciphertext).map_err(|e| CryptError::Decrypt(e.to_string()))?;
    let mut reader =
        decryptor.decrypt(std::iter::once(identity)).map_err(|e| CryptError::Decrypt(e.to_string()))?;
    let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    reader.read_to_end(&mut plaintext).map_err(|e| CryptError::Decrypt(e.to_string()))?;
    Ok(plaintext)
}

/// A writer that encrypts to `recipients` into `output`; call `finish` at the end.
pub fn encrypting_writer<W: Write>(
    recipients: &[AgeRecipient],
    output: W,
) -> Result<age::stream::StreamWriter<W>, CryptError> {
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r.inner() as &dyn age::Recipient))
            .map_err(|e| CryptError::Encrypt(e.to_string()))?;
    encryptor.wrap_output(output).map_err(|e| CryptError::Encrypt(e.to_string()))
}

/// The symmetric key that wraps the file key of every stored value. It lives on disk only
/// inside the keyring. No `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; 32]>);

/// The stanza tag of values sealed with a [`StoreKey`].
const STORE_STANZA: &str = "takedown-store";
/// HKDF label of the per-value wrapping key.
const STORE_WRAP_LABEL: &[u8] = b"takedown.store.v1 file key";
/// HKDF label of the key's public name.
const STORE_KEY_ID_LABEL: &[u8] = b"takedown.store.v1 key id";

impl StoreKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        // The system RNG failing means the kernel cannot give entropy; nothing secure can run.
        SystemRandom::new().fill(key.as_mut()).expect("the system random number generator failed");
        Self(key)
    }

    /// Encrypts one value (binary age format, one `takedown-store` stanza).
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, CryptError> {
        seal_to(std::iter::once(self as &dyn age::Recipient), plaintext)
    }

    /// Decrypts one value sealed with this key.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptError> {
        open_with(self, ciphertext)
    }

    /// A public name for this key (HKDF of it, so it reveals nothing): stored in clear so that
    /// a process still holding a rotated-away key notices before it writes anything.
    pub fn id(&self) -> [u8; 32] {
        hkdf(&[], STORE_KEY_ID_LABEL, self.0.as_ref())
    }

    fn wrapping_key(&self, salt: &[u8]) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(hkdf(salt, STORE_WRAP_LABEL, self.0.as_ref()))
    }
}

impl age::Recipient for StoreKey {
    fn wrap_file_key(&self, file_key: &FileKey) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        // A fresh salt per value gives a fresh wrapping key, so the zero nonce of age's AEAD
        // is never reused under one key.
        let mut salt = [0u8; 16];
        SystemRandom::new().fill(&mut salt).map_err(|_| {
            age::EncryptError::Io(std::io::Error::other("the system random number generator failed"))
        })?;
        let body = aead_encrypt(&self.wrapping_key(&salt), file_key.expose_secret());
        let stanza = Stanza { tag: STORE_STANZA.to_owned(), args: vec![hex::encode(salt)], body };
        Ok((vec![stanza], HashSet::new()))
    }
}

impl age::Identity for StoreKey {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != STORE_STANZA {
            return None;
        }
        let salt = match stanza.args.as_slice() {
            [salt] => match <[u8; 16]>::try_from(hex::decode(salt).unwrap_or_default().as_slice()) {
                Ok(salt) => salt,
                Err(_) => return Some(Err(age::DecryptError::InvalidHeader)),
            },
            _ => return Some(Err(age::DecryptError::InvalidHeader)),
        };
        let unwrapped = aead_decrypt(&self.wrapping_key(&salt), FILE_KEY_BYTES, &stanza.body);
        Some(match unwrapped {
            Ok(mut bytes) => {
                let key = FileKey::init_with_mut(|key| key.copy_from_slice(&bytes));
                bytes.zeroize();
                Ok(key)
            }
            Err(_) => Err(age::DecryptError::DecryptionFailed),
        })
    }
}

/// The store key and whom it is encrypted to: the plaintext of the keyring.
pub struct Keyring {
    /// Wraps every value's file key.
    pub key: StoreKey,
    /// The recipients the keyring is encrypted to (own first, then escrow).
    pub recipients: Vec<AgeRecipient>,
}

const KEYRING_HEADER: &str = "takedown store keyring v1";

impl Keyring {
    /// Encrypts the keyring to its recipients (a standard age X25519 file).
    pub fn seal(&self) -> Result<Vec<u8>, CryptError> {
        seal(&self.recipients, self.to_text().as_bytes())
    }

    /// The keyring's plaintext form, read back by [`Keyring::parse`].
    pub(crate) fn to_text(&self) -> Zeroizing<String> {
        let mut key_hex = Zeroizing::new([0u8; 64]);
        hex::encode_to_slice(self.key.0.as_slice(), key_hex.as_mut()).expect("64 hex digits for 32 bytes");
        // Sized up front so that no reallocation leaves a copy of the key behind.
        let mut text = Zeroizing::new(String::with_capacity(128 + 80 * self.recipients.len()));
        text.push_str(KEYRING_HEADER);
        text.push_str("\nkey ");
        text.push_str(std::str::from_utf8(key_hex.as_slice()).expect("hex is ASCII"));
        text.push('\n');
        for recipient in &self.recipients {
            text.push_str(&format!("recipient {recipient}\n"));
        }
        text
    }

    /// Decrypts a keyring with `identity` (the appliance's or an escrow identity).
    pub fn open(identity: &AgeIdentity, ciphertext: &[u8]) -> Result<Keyring, CryptError> {
        let plaintext = identity.open(ciphertext)?;
        Self::parse(&plaintext)
            .ok_or_else(|| CryptError::Decrypt("the keyring is not in this version's format".into()))
    }

    /// Reads a keyring's plaintext; `None` if it is not exactly what [`Keyring::to_text`] writes.
    pub(crate) fn parse(plaintext: &[u8]) -> Option<Keyring> {
        let text = std::str::from_utf8(plaintext).ok()?;
        let mut lines = text.lines();
        if lines.next()? != KEYRING_HEADER {
            return None;
        }
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(lines.next()?.strip_prefix("key ")?, key.as_mut()).ok()?;
        let recipients = lines
            .map(|line| line.strip_prefix("recipient ")?.parse().ok())
            .collect::<Option<Vec<AgeRecipient>>>()?;
        Some(Keyring { key: StoreKey(key), recipients })
    }

    /// Whether two keyrings hold the same key for the same recipients.
    pub(crate) fn same_as(&self, other: &Keyring) -> bool {
        self.key.0 == other.key.0 && self.recipients == other.recipients
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_any_recipient_identity_and_no_other() {
        let (own, escrow, stranger) =
            (AgeIdentity::generate(), AgeIdentity::generate(), AgeIdentity::generate());
        let sealed = seal(&[own.recipient(), escrow.recipient()], b"case data").unwrap();
        assert_eq!(own.open(&sealed).unwrap().as_slice(), b"case data");
        assert_eq!(escrow.open(&sealed).unwrap().as_slice(), b"case data");
        assert!(stranger.open(&sealed).is_err());
        assert!(!sealed.windows(9).any(|w| w == b"case data"));
    }

    #[test]
    fn store_key_values_open_with_that_key_only_and_the_keyring_with_its_recipients() {
        let (key, other) = (StoreKey::generate(), StoreKey::generate());
        let sealed = key.seal(b"case data").unwrap();
        assert_eq!(key.open(&sealed).unwrap().as_slice(), b"case data");
        assert!(other.open(&sealed).is_err());
        assert!(!sealed.windows(9).any(|w| w == b"case data"));
        // Two seals of the same value share nothing (fresh file key and salt each time).
        assert_ne!(key.seal(b"case data").unwrap(), sealed);

        let (own, escrow, stranger) =
            (AgeIdentity::generate(), AgeIdentity::generate(), AgeIdentity::generate());
        let keyring = Keyring { key: key.clone(), recipients: vec![own.recipient(), escrow.recipient()] };
        let sealed_ring = keyring.seal().unwrap();
        for identity in [&own, &escrow] {
            let opened = Keyring::open(identity, &sealed_ring).unwrap();
            assert_eq!(opened.key.open(&sealed).unwrap().as_slice(), b"case data");
            assert_eq!(opened.recipients, keyring.recipients);
        }
        assert!(Keyring::open(&stranger, &sealed_ring).is_err());
    }

    #[test]
    fn keyring_text_reads_back_and_anything_else_is_refused() {
        let keyring =
            Keyring { key: StoreKey::generate(), recipients: vec![AgeIdentity::generate().recipient()] };
        let text = keyring.to_text();
        assert!(Keyring::parse(text.as_bytes()).is_some_and(|again| again.same_as(&keyring)));
        let seed = include_bytes!("../../fuzz/corpus/key_and_id_text/keyring-throwaway");
        assert!(Keyring::parse(seed).is_some(), "the fuzz seed must reach the keyring parser");
        for broken in
            [text.replace("v1", "v2"), text.replace("key ", "kee "), format!("{}x\n", text.as_str())]
        {
            assert!(Keyring::parse(broken.as_bytes()).is_none(), "{broken}");
        }
    }

    #[test]
    fn a_damaged_store_stanza_is_refused() {
        let key = StoreKey::generate();
        let mut sealed = key.seal(b"case data").unwrap();
        let at = sealed.windows(14).position(|w| w == b"takedown-store").unwrap() + 16;
        sealed[at] ^= 1; // inside the salt
        assert!(key.open(&sealed).is_err());
    }

    #[test]
    fn identity_files_round_trip_and_refuse_garbage() {
        let identity = AgeIdentity::generate();
        let parsed = AgeIdentity::parse(identity.to_file_text().as_bytes()).unwrap();
        assert_eq!(parsed.recipient(), identity.recipient());
        assert!(AgeIdentity::parse(b"# only a comment\n").is_err());
        assert!(AgeIdentity::parse(b"AGE-SECRET-KEY-1NOPE\n").is_err());
        assert!("age1nope".parse::<AgeRecipient>().is_err());
        assert_eq!(identity.recipient().to_string().parse::<AgeRecipient>().unwrap(), identity.recipient());
    }
}
