//! Signed checkpoints: the audit head anchored outside the machine.
//!
//! A checkpoint says "the chain had `entries` entries, ending in `head`, at `at`", signed with
//! an Ed25519 key that lives only in the appliance's credentials. Staff keep the latest one
//! elsewhere (an e-mail to legal, a ticket); `takedown audit verify --checkpoint FILE` then
//! proves the log still extends it, so entries cut off the end, or a whole file rolled back to
//! an older copy, are detected without a head typed in by hand. The signature shows the
//! checkpoint came from the appliance, not from whoever edited the file.
//!
//! The text form (every line `name value`, signed over the lines before `signature`):
//!
//! ```text
//! takedown-audit-checkpoint 1
//! entries 1234
//! head 5f…(64 hex digits)
//! at 2026-12-07T19:00:00Z
//! key 3b…(64 hex digits: the Ed25519 public key)
//! signature 9a…(128 hex digits)
//! ```
//!
//! Pure: text in, typed value or typed error out; signing takes the key as bytes.

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::chain::Link;

/// The first line of every checkpoint.
const MAGIC: &str = "takedown-audit-checkpoint 1";

/// A checkpoint whose signature verified (or that was just signed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// How many entries the chain had.
    pub entries: u64,
    /// The link of its last entry.
    pub head: Link,
    /// When it was signed.
    pub at: OffsetDateTime,
    /// The Ed25519 public key that signed it.
    pub key: [u8; 32],
    /// The signature over the text before the `signature` line.
    signature: Vec<u8>,
}

/// Why a checkpoint was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text is not a checkpoint this version writes.
    #[error("not a takedown audit checkpoint: {0}")]
    Malformed(String),
    /// The signature does not verify under the key it names: the text was edited.
    #[error("the checkpoint's signature does not verify: it was altered or not made by this appliance")]
    BadSignature,
    /// The signing key file is not an Ed25519 key this version writes.
    #[error("the checkpoint key is not usable: {0}; make one with `takedown keys generate-checkpoint-key`")]
    BadKey(String),
}

/// The appliance's checkpoint signing key (PKCS#8, as hex in its file). No `Debug`.
pub struct CheckpointKey(Ed25519KeyPair);

impl CheckpointKey {
    /// A new key, as the text of its file.
    pub fn generate() -> Result<zeroize::Zeroizing<String>, CheckpointError> {
        let document = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
            .map_err(|e| CheckpointError::BadKey(e.to_string()))?;
        Ok(zeroize::Zeroizing::new(format!("{}\n", hex::encode(document.as_ref()))))
    }

    /// Reads a key file's bytes.
    pub fn parse(file: &[u8]) -> Result<Self, CheckpointError> {
        let text = std::str::from_utf8(file).map_err(|_| CheckpointError::BadKey("not text".into()))?;
        let der = zeroize::Zeroizing::new(
            hex::decode(text.trim()).map_err(|_| CheckpointError::BadKey("not hex".into()))?,
        );
        Ed25519KeyPair::from_pkcs8(&der)
            .map(CheckpointKey)
            .map_err(|_| CheckpointError::BadKey("not an Ed25519 PKCS#8 key".into()))
    }

    /// The public key, which every checkpoint names.
    pub fn public(&self) -> [u8; 32] {
        let mut key = [0; 32];
        key.copy_from_slice(self.0.public_key().as_ref());
        key
    }

    /// Signs the chain's state.
    pub fn sign(&self, entries: u64, head: Link, at: OffsetDateTime) -> Checkpoint {
        let key = self.public();
        let body = body(entries, head, at, &key);
        let signature = self.0.sign(body.as_bytes()).as_ref().to_vec();
        Checkpoint { entries, head, at, key, signature }
    }
}

/// The signed lines.
fn body(entries: u64, head: Link, at: OffsetDateTime, key: &[u8; 32]) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at).format(&Rfc3339).unwrap_or_default();
    format!("{MAGIC}\nentries {entries}\nhead {head}\nat {at}\nkey {}\n", hex::encode(key))
}

impl Checkpoint {
    /// The text to keep elsewhere.
    pub fn to_text(&self) -> String {
        format!(
            "{}signature {}\n",
            body(self.entries, self.head, self.at, &self.key),
            hex::encode(&self.signature)
        )
    }

    /// Parses a checkpoint's text and verifies its signature under the key it names.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let malformed = |what: &str| CheckpointError::Malformed(what.to_owned());
        let mut lines = text.lines();
        if lines.next().map(str::trim_end) != Some(MAGIC) {
            return Err(malformed("the first line must be \"takedown-audit-checkpoint 1\""));
        }
        let mut field = |name: &str| -> Result<String, CheckpointError> {
            let line = lines.next().ok_or_else(|| malformed(&format!("no {name} line")))?;
            line.trim_end()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| malformed(&format!("expected the {name} line")))
        };
        let entries = field("entries")?.parse::<u64>().map_err(|_| malformed("entries is not a number"))?;
        let head = Link::parse(&field("head")?).map_err(|e| malformed(&format!("head: {e}")))?;
        let at = OffsetDateTime::parse(&field("at")?, &Rfc3339)
            .map_err(|_| malformed("at is not an RFC 3339 time"))?;
        let key: [u8; 32] = hex::decode(field("key")?)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| malformed("key is not 64 hex digits"))?;
        let signature = hex::decode(field("signature")?).map_err(|_| malformed("signature is not hex"))?;
        if lines.any(|line| !line.trim().is_empty()) {
            return Err(malformed("text after the signature"));
        }
        let checkpoint = Checkpoint { entries, head, at, key, signature };
        // The signed text is rebuilt from the values: one spelling per checkpoint.
        let signed = body(entries, head, at, &key);
        UnparsedPublicKey::new(&ED25519, key)
            .verify(signed.as_bytes(), &checkpoint.signature)
            .map_err(|_| CheckpointError::BadSignature)?;
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn key() -> CheckpointKey {
        CheckpointKey::parse(CheckpointKey::generate().unwrap().as_bytes()).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_round_trips_through_its_text() {
        let key = key();
        let checkpoint = key.sign(1234, Link([7; 32]), datetime!(2026-12-07 19:00:00.5 UTC));
        let text = checkpoint.to_text();
        assert!(text.starts_with("takedown-audit-checkpoint 1\nentries 1234\nhead 0707"), "{text}");
        let parsed = Checkpoint::parse(&text).unwrap();
        assert_eq!((parsed.entries, parsed.head, parsed.key), (1234, Link([7; 32]), key.public()));
        assert_eq!(parsed.at, datetime!(2026-12-07 19:00:00 UTC));
    }

    #[test]
    fn an_edited_checkpoint_is_refused() {
        let text = key().sign(1234, Link([7; 32]), datetime!(2026-12-07 19:00 UTC)).to_text();
        // Fewer entries (to hide a truncation), another head, another time: each breaks it.
        for (from, to) in
            [("entries 1234", "entries 1200"), ("head 0707", "head 0807"), ("19:00:00Z", "18:00:00Z")]
        {
            let edited = text.replacen(from, to, 1);
            assert_ne!(edited, text);
            assert_eq!(Checkpoint::parse(&edited), Err(CheckpointError::BadSignature), "{from}");
        }
        // Re-signed with another key: it verifies, but names that other key.
        let other = key().sign(1200, Link([7; 32]), datetime!(2026-12-07 19:00 UTC));
        assert_ne!(Checkpoint::parse(&other.to_text()).unwrap().key, Checkpoint::parse(&text).unwrap().key);
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for text in [
            "",
            "takedown-audit-checkpoint 1\n",
            "hello\nentries 1\n",
            "takedown-audit-checkpoint 1\nentries x\n",
        ] {
            assert!(matches!(Checkpoint::parse(text), Err(CheckpointError::Malformed(_))), "{text:?}");
        }
        assert!(CheckpointKey::parse(b"not a key").is_err());
    }
}
