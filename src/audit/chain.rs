//! The hash chain over audit records, and its verification without any private key.
//!
//! Each audit entry is stored encrypted; what is kept in clear is only hashes. The link of entry
//! `n` is `SHA-256(link[n-1] ‖ input[n])`, starting from 32 zero bytes, where `input[n]` is the
//! SHA-256 of the entry's ciphertext as first written. A retention rule may later erase a
//! ciphertext and keep its hash, and the chain still verifies.
//!
//! Key rotation re-encrypts every ciphertext. A re-encrypted record keeps its original hash (the
//! chain input) and records the hash of its new ciphertext together with the sequence number of
//! the rotation's own audit entry. That entry carries, in clear, a *commitment*: the SHA-256 over
//! `seq ‖ new hash` of every record it re-encrypted, in order; its chain input is
//! `SHA-256(ciphertext hash ‖ commitment)`. So every current ciphertext is bound to the chain,
//! before and after rotations.
//!
//! Everything here is pure: bytes in, typed value or typed error out.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::digest::{self, SHA256};

/// A SHA-256 value.
pub type Digest32 = [u8; 32];

/// A link of the chain (or its head: the link of the last entry).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Link(pub Digest32);

/// The link before the first entry.
pub const GENESIS: Link = Link([0; 32]);

impl Link {
    /// The link after `self` for an entry with chain input `input`.
    pub fn next(&self, input: &Digest32) -> Link {
        let mut context = digest::Context::new(&SHA256);
        context.update(&self.0);
        context.update(input);
        Link(to_array(context.finish().as_ref()))
    }

    /// Parses 64 hex digits.
    pub fn parse(text: &str) -> Result<Link, String> {
        let mut bytes = [0; 32];
        hex::decode_to_slice(text.trim(), &mut bytes)
            .map_err(|_| format!("{text:?} is not an audit head; expected 64 hex digits"))?;
        Ok(Link(bytes))
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Link({self})")
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Digest32 {
    to_array(digest::digest(&SHA256, bytes).as_ref())
}

fn to_array(bytes: &[u8]) -> Digest32 {
    let mut array = [0; 32];
    array.copy_from_slice(bytes);
    array
}

/// A record's re-encryption by a key rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rewrap {
    /// The sequence number of the rotation's audit entry.
    pub by: u64,
    /// SHA-256 of the current (re-encrypted) ciphertext.
    pub hash: Digest32,
}

/// One audit record as stored: the clear hashes and the ciphertext (unless erased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// SHA-256 of the ciphertext as first written.
    pub original_hash: Digest32,
    /// The chain link of this entry.
    pub link: Link,
    /// Set once a key rotation re-encrypted the ciphertext.
    pub rewrap: Option<Rewrap>,
    /// Set on a rotation's own entry: its commitment to the records it re-encrypted.
    pub commitment: Option<Digest32>,
    /// The encrypted entry; `None` once a retention rule erased it.
    pub ciphertext: Option<Vec<u8>>,
}

/// Why a stored record could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Fewer bytes than the layout needs.
    #[error("record is truncated")]
    Truncated,
    /// Bytes after the end of the record.
    #[error("record has trailing bytes")]
    TrailingBytes,
    /// A flag this version does not define.
    #[error("record has unknown flags {0:#04x}")]
    UnknownFlags(u8),
    /// A format version this build does not read.
    #[error("record format version {0} is not supported by this version of takedown")]
    UnknownVersion(u8),
}

const FORMAT_VERSION: u8 = 1;
const HAS_CIPHERTEXT: u8 = 0b001;
const HAS_REWRAP: u8 = 0b010;
const HAS_COMMITMENT: u8 = 0b100;

impl StoredRecord {
    /// The input this record contributes to the chain.
    pub fn chain_input(&self) -> Digest32 {
        match &self.commitment {
            None => self.original_hash,
            Some(commitment) => {
                let mut context = digest::Context::new(&SHA256);
                context.update(&self.original_hash);
                context.update(commitment);
                to_array(context.finish().as_ref())
            }
        }
    }

    /// Encodes the record: version, flags, hashes, then the ciphertext with its length.
    pub fn encode(&self) -> Vec<u8> {
        let mut flags = 0;
        if self.ciphertext.is_some() {
            flags |= HAS_CIPHERTEXT;
        }
        if self.rewrap.is_some() {
            flags |= HAS_REWRAP;
        }
        if self.commitment.is_some() {
            flags |= HAS_COMMITMENT;
        }
        let mut out = Vec::with_capacity(66 + self.ciphertext.as_ref().map_or(0, |c| c.len() + 4) + 72);
        out.extend_from_slice(&[FORMAT_VERSION, flags]);
        out.extend_from_slice(&self.original_hash);
        out.extend_from_slice(&self.link.0);
        if let Some(rewrap) = &self.rewrap {
            out.extend_from_slice(&rewrap.by.to_be_bytes());
            out.extend_from_slice(&rewrap.hash);
        }
        if let Some(commitment) = &self.commitment {
            out.extend_from_slice(commitment);
        }
        if let Some(ciphertext) = &self.ciphertext {
            // Audit entries are short; a ciphertext never approaches 4 GiB.
            let length = u32::try_from(ciphertext.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&length.to_be_bytes());
            out.extend_from_slice(ciphertext);
        }
        out
    }

    /// Decodes a record written by [`StoredRecord::encode`], refusing anything else.
    pub fn decode(bytes: &[u8]) -> Result<StoredRecord, RecordError> {
        let mut reader = Reader(bytes);
        let [version, flags] = reader.array::<2>()?;
        if version != FORMAT_VERSION {
            return Err(RecordError::UnknownVersion(version));
        }
        if flags & !(HAS_CIPHERTEXT | HAS_REWRAP | HAS_COMMITMENT) != 0 {
            return Err(RecordError::UnknownFlags(flags));
        }
        let original_hash = reader.array::<32>()?;
        let link = Link(reader.array::<32>()?);
        let rewrap = if flags & HAS_REWRAP != 0 {
            Some(Rewrap { by: u64::from_be_bytes(reader.array::<8>()?), hash: reader.array::<32>()? })
        } else {
            None
        };
        let commitment = if flags & HAS_COMMITMENT != 0 { Some(reader.array::<32>()?) } else { None };
        let ciphertext = if flags & HAS_CIPHERTEXT != 0 {
            let length = u32::from_be_bytes(reader.array::<4>()?) as usize;
            Some(reader.take(length)?.to_vec())
        } else {
            None
        };
        if !reader.0.is_empty() {
            return Err(RecordError::TrailingBytes);
        }
        Ok(StoredRecord { original_hash, link, rewrap, commitment, ciphertext })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }
}

/// Where and how the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A record cannot be decoded.
    #[error("entry {seq}: unreadable record: {error}")]
    BadRecord {
        /// The entry's sequence number.
        seq: u64,
        /// What is wrong with it.
        error: RecordError,
    },
    /// The stored ciphertext does not hash to what the chain recorded.
    #[error("entry {seq}: ciphertext does not match its recorded hash (altered)")]
    CiphertextAltered {
        /// The entry's sequence number.
        seq: u64,
    },
    /// A rotation's commitment does not match the records it re-encrypted.
    #[error("entry {seq}: key-rotation commitment does not match the re-encrypted records")]
    CommitmentMismatch {
        /// The rotation entry's sequence number.
        seq: u64,
    },
    /// The head differs from the one the auditor recorded (rollback, truncation or rewrite).
    #[error(
        "the chain ends at entry {entries} with head {found}, not at the expected head {expected}: \
         entries were removed from the end, or the log was replaced by an older or rewritten copy"
    )]
    HeadMismatch {
        /// The head the auditor expected.
        expected: Link,
        /// The head found.
        found: Link,
        /// How many entries the chain has.
        entries: u64,
    },
    /// A link does not follow from the previous link and this entry's hash.
    #[error("entry {seq}: link does not follow from the previous entry (altered, inserted or reordered)")]
    LinkBroken {
        /// The entry's sequence number.
        seq: u64,
    },
    /// Sequence numbers are not consecutive from 1.
    #[error("entry {expected} is missing (the next entry found is {found})")]
    Missing {
        /// The sequence number that should come next.
        expected: u64,
        /// The one found instead.
        found: u64,
    },
    /// A record claims a re-encryption by an entry that does not commit to it.
    #[error("entry {seq}: re-encrypted by entry {by}, which does not commit to it")]
    UncommittedRewrap {
        /// The re-encrypted entry.
        seq: u64,
        /// The rotation entry it names.
        by: u64,
    },
}

/// The result of a successful verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// How many entries the chain holds.
    pub entries: u64,
    /// The link of the last entry ([`GENESIS`] when empty).
    pub head: Link,
}

/// Verifies records fed in sequence order, keeping only running state (a million entries need
/// no more memory than one).
pub struct ChainVerifier {
    next_seq: u64,
    head: Link,
    /// For each rotation not yet reached: the running commitment over the records naming it.
    pending: BTreeMap<u64, (digest::Context, u64)>,
    /// A head recorded earlier, and whether the chain has passed through it yet.
    expected: Option<(Link, bool)>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting entry 1 next.
    pub fn new() -> Self {
        Self { next_seq: 1, head: GENESIS, pending: BTreeMap::new(), expected: None }
    }

    /// A verifier that also requires the chain to pass through `head`, a head an auditor
    /// recorded earlier: the log may have grown since, but not lost or changed that entry.
    pub fn expecting(head: Link) -> Self {
        Self { expected: Some((head, head == GENESIS)), ..Self::new() }
    }

    /// Checks the next record (its encoded bytes, as stored under `seq`).
    pub fn push(&mut self, seq: u64, bytes: &[u8]) -> Result<(), ChainError> {
        if seq != self.next_seq {
            return Err(ChainError::Missing { expected: self.next_seq, found: seq });
        }
        let record = StoredRecord::decode(bytes).map_err(|error| ChainError::BadRecord { seq, error })?;
        if let Some(ciphertext) = &record.ciphertext {
            let expected = record.rewrap.map_or(record.original_hash, |r| r.hash);
            if sha256(ciphertext) != expected {
                return Err(ChainError::CiphertextAltered { seq });
            }
        }
        let link = self.head.next(&record.chain_input());
        if link != record.link {
            return Err(ChainError::LinkBroken { seq });
        }
        if let Some(rewrap) = &record.rewrap {
            if rewrap.by <= seq {
                return Err(ChainError::UncommittedRewrap { seq, by: rewrap.by });
            }
            let (context, count) =
                self.pending.entry(rewrap.by).or_insert_with(|| (digest::Context::new(&SHA256), 0));
            context.update(&seq.to_be_bytes());
            context.update(&rewrap.hash);
            *count += 1;
        }
        if let Some(commitment) = &record.commitment {
            let (context, count) =
                self.pending.remove(&seq).unwrap_or_else(|| (digest::Context::new(&SHA256), 0));
            // A rotation that a later rotation superseded keeps its (chained) commitment, but no
            // record may still name it.
            let superseded = record.rewrap.is_some();
            let matches =
                if superseded { count == 0 } else { to_array(context.finish().as_ref()) == *commitment };
            if !matches {
                return Err(ChainError::CommitmentMismatch { seq });
            }
        }
        if let Some((expected, seen)) = &mut self.expected {
            *seen |= *expected == link;
        }
        self.head = link;
        self.next_seq += 1;
        Ok(())
    }

    /// Ends verification: every re-encryption must have met its rotation entry, and an expected
    /// head must have been passed.
    pub fn finish(self) -> Result<Verified, ChainError> {
        if let Some((&by, _)) = self.pending.iter().next() {
            return Err(ChainError::UncommittedRewrap { seq: by, by });
        }
        let verified = Verified { entries: self.next_seq - 1, head: self.head };
        match self.expected {
            Some((expected, false)) => {
                Err(ChainError::HeadMismatch { expected, found: verified.head, entries: verified.entries })
            }
            _ => Ok(verified),
        }
    }
}

/// Computes a rotation's commitment over `(seq, new hash)` pairs in sequence order.
pub fn commitment<'a>(rewrapped: impl IntoIterator<Item = (u64, &'a Digest32)>) -> Digest32 {
    let mut context = digest::Context::new(&SHA256);
    for (seq, hash) in rewrapped {
        context.update(&seq.to_be_bytes());
        context.update(hash);
    }
    to_array(context.finish().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a chain of `n` records with distinct ciphertexts.
    fn chain(n: u64) -> Vec<StoredRecord> {
        let mut head = GENESIS;
        (1..=n)
            .map(|i| {
                let ciphertext = format!("ciphertext {i}").into_bytes();
                let original_hash = sha256(&ciphertext);
                head = head.next(&original_hash);
                StoredRecord {
                    original_hash,
                    link: head,
                    rewrap: None,
                    commitment: None,
                    ciphertext: Some(ciphertext),
                }
            })
            .collect()
    }

    fn verify(records: &[(u64, Vec<u8>)]) -> Result<Verified, ChainError> {
        verify_with(ChainVerifier::new(), records)
    }

    fn verify_with(mut verifier: ChainVerifier, records: &[(u64, Vec<u8>)]) -> Result<Verified, ChainError> {
        for (seq, bytes) in records {
            verifier.push(*seq, bytes)?;
        }
        verifier.finish()
    }

    fn encoded(records: &[StoredRecord]) -> Vec<(u64, Vec<u8>)> {
        records.iter().enumerate().map(|(i, r)| (i as u64 + 1, r.encode())).collect()
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let records = chain(5);
        let verified = verify(&encoded(&records)).unwrap();
        assert_eq!(verified, Verified { entries: 5, head: records[4].link });
        assert_eq!(verify(&[]).unwrap(), Verified { entries: 0, head: GENESIS });
    }

    #[test]
    fn an_erased_ciphertext_keeps_the_chain_verifiable() {
        let mut records = chain(3);
        records[1].ciphertext = None;
        assert_eq!(verify(&encoded(&records)).unwrap().entries, 3);
    }

    #[test]
    fn a_flipped_ciphertext_byte_is_named_by_its_entry() {
        let records = chain(4);
        let mut stored = encoded(&records);
        let last = stored[2].1.len() - 1;
        stored[2].1[last] ^= 1;
        assert_eq!(verify(&stored), Err(ChainError::CiphertextAltered { seq: 3 }));
    }

    #[test]
    fn a_consistently_rehashed_entry_still_breaks_the_next_link() {
        let mut records = chain(4);
        let forged = b"forged".to_vec();
        records[1].original_hash = sha256(&forged);
        records[1].ciphertext = Some(forged);
        assert_eq!(verify(&encoded(&records)), Err(ChainError::LinkBroken { seq: 2 }));
    }

    #[test]
    fn deleted_and_swapped_entries_are_named() {
        let stored = encoded(&chain(5));
        let mut deleted = stored.clone();
        deleted.remove(2);
        assert_eq!(verify(&deleted), Err(ChainError::Missing { expected: 3, found: 4 }));
        let mut swapped = stored.clone();
        let (a, b) = (swapped[1].1.clone(), swapped[2].1.clone());
        swapped[1].1 = b;
        swapped[2].1 = a;
        assert_eq!(verify(&swapped), Err(ChainError::LinkBroken { seq: 2 }));
    }

    #[test]
    fn truncation_is_caught_only_against_a_recorded_head() {
        let records = chain(5);
        let recorded = verify(&encoded(&records)).unwrap().head;
        assert!(verify(&encoded(&records[..3])).is_ok(), "a truncated chain is consistent on its own");
        assert!(matches!(
            verify_with(ChainVerifier::expecting(recorded), &encoded(&records[..3])),
            Err(ChainError::HeadMismatch { entries: 3, .. })
        ));
        // A head from an earlier, shorter chain is fine: the log grew since.
        assert!(verify_with(ChainVerifier::expecting(records[2].link), &encoded(&records)).is_ok());
    }

    #[test]
    fn a_rotation_binds_the_new_ciphertexts_to_the_chain() {
        let mut records = chain(3);
        // Rotation entry 4 re-encrypts entries 1..=3.
        let mut rewrapped = Vec::new();
        for (i, record) in records.iter_mut().enumerate() {
            let new = format!("re-encrypted {i}").into_bytes();
            let hash = sha256(&new);
            record.rewrap = Some(Rewrap { by: 4, hash });
            record.ciphertext = Some(new);
            rewrapped.push((i as u64 + 1, hash));
        }
        let rotation_ciphertext = b"rotation entry".to_vec();
        let mut rotation = StoredRecord {
            original_hash: sha256(&rotation_ciphertext),
            link: GENESIS,
            rewrap: None,
            commitment: Some(commitment(rewrapped.iter().map(|(s, h)| (*s, h)))),
            ciphertext: Some(rotation_ciphertext),
        };
        rotation.link = records[2].link.next(&rotation.chain_input());
        records.push(rotation);
        assert_eq!(verify(&encoded(&records)).unwrap().entries, 4);

        // Replacing a re-encrypted ciphertext, even with a matching rewrap hash, is caught.
        let mut forged = records.clone();
        let fake = b"fake".to_vec();
        forged[0].rewrap = Some(Rewrap { by: 4, hash: sha256(&fake) });
        forged[0].ciphertext = Some(fake);
        assert_eq!(verify(&encoded(&forged)), Err(ChainError::CommitmentMismatch { seq: 4 }));
    }

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let mut record = chain(1).remove(0);
        record.rewrap = Some(Rewrap { by: 9, hash: [7; 32] });
        record.commitment = Some([8; 32]);
        let bytes = record.encode();
        assert_eq!(StoredRecord::decode(&bytes).unwrap(), record);
        assert_eq!(StoredRecord::decode(&bytes[..bytes.len() - 1]), Err(RecordError::Truncated));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(StoredRecord::decode(&longer), Err(RecordError::TrailingBytes));
        let mut version = bytes;
        version[0] = 2;
        assert_eq!(StoredRecord::decode(&version), Err(RecordError::UnknownVersion(2)));
    }
}
