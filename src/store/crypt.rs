//! age encryption of every stored value, and the key types that make it.
//!
//! Values are encrypted to the appliance's own X25519 recipient plus the configured escrow
//! recipients (legal's offline keys), so legal can still read the store if the appliance's key
//! is lost. The identity has no `Debug` and is only exposed to age itself.

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::ExposeSecret;
use age::x25519;
use zeroize::Zeroizing;

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
        let decryptor =
            age::Decryptor::new_buffered(ciphertext).map_err(|e| CryptError::Decrypt(e.to_string()))?;
        let mut reader = decryptor
            .decrypt(std::iter::once(&self.0 as &dyn age::Identity))
            .map_err(|e| CryptError::Decrypt(e.to_string()))?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
        reader.read_to_end(&mut plaintext).map_err(|e| CryptError::Decrypt(e.to_string()))?;
        Ok(plaintext)
    }
}

/// Encrypts `plaintext` to every recipient in `recipients` (binary age format).
pub fn seal(recipients: &[AgeRecipient], plaintext: &[u8]) -> Result<Vec<u8>, CryptError> {
    let mut out = Vec::with_capacity(plaintext.len() + 200 * recipients.len() + 64);
    let mut writer = encrypting_writer(recipients, &mut out)?;
    writer.write_all(plaintext).map_err(|e| CryptError::Encrypt(e.to_string()))?;
    writer.finish().map_err(|e| CryptError::Encrypt(e.to_string()))?;
    Ok(out)
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
