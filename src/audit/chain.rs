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
//! Case revisions are evidence too, and the chain commits them: the audit entry written in the
//! same transaction as a revision lists, in clear, the revision's place (case ID and number) and
//! the SHA-256 of its ciphertext; they are part of that entry's chain input. A key rotation's
//! entry lists every revision again with its new ciphertext's hash. So [`RevisionCheck`] can
//! tell, without any key, that every revision in the store is committed by exactly one entry
//! (or re-committed by a rotation) and that every committed revision is still there unchanged:
//! a revision added, deleted, replaced or moved to another place is named as such.
//!
//! A ciphertext may only be erased where an erasure entry covers it; no rule erases one yet, so
//! an erased ciphertext is reported as tampering.
//!
//! Everything here is pure: bytes in, typed value or typed error out.

use std::collections::{BTreeMap, HashMap};
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
    /// The case revisions this entry commits (written in its transaction, or re-encrypted by a
    /// rotation whose entry this is).
    pub revisions: Vec<RevisionCommit>,
    /// The encrypted entry; `None` once a retention rule erased it.
    pub ciphertext: Option<Vec<u8>>,
}

/// A case revision as the chain commits it: where it lives and the hash of its ciphertext.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevisionCommit {
    /// The case ID's bytes.
    pub case: [u8; 16],
    /// The revision number.
    pub number: u32,
    /// SHA-256 of the revision's ciphertext.
    pub hash: Digest32,
}

impl fmt::Debug for RevisionCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "revision {} of case {}", self.number, hex_of(&self.case))
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of one [`RevisionCommit`] in a record.
const REVISION_COMMIT_BYTES: usize = 16 + 4 + 32;

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
    /// The revision flag with no revision (never written).
    #[error("record has an empty revision list")]
    EmptyRevisionList,
}

const FORMAT_VERSION: u8 = 1;
const HAS_CIPHERTEXT: u8 = 0b001;
const HAS_REWRAP: u8 = 0b010;
const HAS_COMMITMENT: u8 = 0b100;
const HAS_REVISIONS: u8 = 0b1000;

impl StoredRecord {
    /// The input this record contributes to the chain.
    pub fn chain_input(&self) -> Digest32 {
        if self.commitment.is_none() && self.revisions.is_empty() {
            return self.original_hash;
        }
        let mut context = digest::Context::new(&SHA256);
        context.update(&self.original_hash);
        if let Some(commitment) = &self.commitment {
            context.update(commitment);
        }
        if !self.revisions.is_empty() {
            context.update(b"revisions");
            for revision in &self.revisions {
                context.update(&revision.case);
                context.update(&revision.number.to_be_bytes());
                context.update(&revision.hash);
            }
        }
        to_array(context.finish().as_ref())
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
        if !self.revisions.is_empty() {
            flags |= HAS_REVISIONS;
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
        if !self.revisions.is_empty() {
            // A transaction writes a few revisions; a rotation at most every revision there is.
            let count = u32::try_from(self.revisions.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&count.to_be_bytes());
            for revision in &self.revisions {
                out.extend_from_slice(&revision.case);
                out.extend_from_slice(&revision.number.to_be_bytes());
                out.extend_from_slice(&revision.hash);
            }
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
        if flags & !(HAS_CIPHERTEXT | HAS_REWRAP | HAS_COMMITMENT | HAS_REVISIONS) != 0 {
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
        let mut revisions = Vec::new();
        if flags & HAS_REVISIONS != 0 {
            let count = u32::from_be_bytes(reader.array::<4>()?) as usize;
            // An empty list is written as no flag: one encoding per record.
            if count == 0 {
                return Err(RecordError::EmptyRevisionList);
            }
            // Checked before allocating: a forged count cannot ask for more than the bytes hold.
            if reader.0.len() / REVISION_COMMIT_BYTES < count {
                return Err(RecordError::Truncated);
            }
            revisions.reserve(count);
            for _ in 0..count {
                revisions.push(RevisionCommit {
                    case: reader.array::<16>()?,
                    number: u32::from_be_bytes(reader.array::<4>()?),
                    hash: reader.array::<32>()?,
                });
            }
        }
        let ciphertext = if flags & HAS_CIPHERTEXT != 0 {
            let length = u32::from_be_bytes(reader.array::<4>()?) as usize;
            Some(reader.take(length)?.to_vec())
        } else {
            None
        };
        if !reader.0.is_empty() {
            return Err(RecordError::TrailingBytes);
        }
        Ok(StoredRecord { original_hash, link, rewrap, commitment, revisions, ciphertext })
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
    /// The chain no longer passes through the checkpoint the daemon signed and kept in the
    /// store (entries up to it were removed, altered or replaced).
    #[error(
        "the chain does not reach the head {head} of entry {entries} that the store's signed \
         checkpoint recorded: entries up to it were removed, altered or replaced"
    )]
    CheckpointNotReached {
        /// The checkpoint's entry count.
        entries: u64,
        /// The checkpoint's head.
        head: Link,
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
    /// An entry's ciphertext is gone and no erasure entry covers it.
    #[error("entry {seq}: its ciphertext was erased, and no erasure entry covers it (tampering)")]
    CiphertextErased {
        /// The entry's sequence number.
        seq: u64,
    },
    /// An entry commits a revision that an earlier entry already committed.
    #[error(
        "entry {seq}: commits {revision:?} again, which an earlier entry committed (inserted or replayed)"
    )]
    RevisionCommittedTwice {
        /// The entry's sequence number.
        seq: u64,
        /// The revision.
        revision: RevisionCommit,
    },
    /// A revision in the store that no entry commits.
    #[error("{revision:?} is in the store but no audit entry committed it (added)")]
    RevisionAdded {
        /// The revision found (its hash is the stored ciphertext's).
        revision: RevisionCommit,
    },
    /// A committed revision that is no longer in the store.
    #[error("{revision:?}, committed by entry {seq}, is missing from the store (deleted)")]
    RevisionDeleted {
        /// The revision as committed.
        revision: RevisionCommit,
        /// The entry that last committed it.
        seq: u64,
    },
    /// A revision whose ciphertext differs from what its entry committed.
    #[error("{revision:?} differs from what entry {seq} committed (replaced)")]
    RevisionReplaced {
        /// The revision found.
        revision: RevisionCommit,
        /// The entry that last committed it.
        seq: u64,
    },
    /// A revision whose ciphertext is the one committed for another place.
    #[error("{revision:?} holds the ciphertext committed for {from:?} (moved or copied)")]
    RevisionMoved {
        /// Where it was found.
        revision: RevisionCommit,
        /// Where that ciphertext was committed.
        from: RevisionCommit,
    },
    /// The list of cases and the revisions disagree.
    #[error("case {case} is listed without revisions, or has revisions but is not listed (deleted or added)")]
    CaseListMismatch {
        /// The case ID (hex).
        case: String,
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
    /// Every revision committed so far: its current hash and the entry that committed it.
    revisions: HashMap<([u8; 16], u32), (Digest32, u64)>,
    /// Only revisions of cases whose ID starts with a byte in this range are kept: a large
    /// store is checked in several passes, each holding a share of them (see
    /// [`ChainVerifier::for_cases`]).
    cases: std::ops::Range<u16>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl ChainVerifier {
    /// A verifier expecting entry 1 next.
    pub fn new() -> Self {
        Self {
            next_seq: 1,
            head: GENESIS,
            pending: BTreeMap::new(),
            expected: None,
            revisions: HashMap::new(),
            cases: 0..256,
        }
    }

    /// Keeps only the revisions of cases whose ID's first byte is in `first_bytes`, so that the
    /// memory a check of the revisions needs is a share of the store, not all of it. The chain
    /// itself is still checked whole. A revision moved between cases of different shares is
    /// then reported as replaced or added rather than as moved: refused all the same.
    pub fn for_cases(self, first_bytes: std::ops::Range<u16>) -> Self {
        Self { cases: first_bytes, ..self }
    }

    /// A verifier that also requires the chain to pass through `head`, a head an auditor
    /// recorded earlier: the log may have grown since, but not lost or changed that entry.
    pub fn expecting(head: Link) -> Self {
        Self { expected: Some((head, head == GENESIS)), ..Self::new() }
    }

    /// A verifier that continues a chain already checked up to entry `entries`, whose link is
    /// `head` (a signed checkpoint's values): it checks only what follows. It cannot check a key
    /// rotation in what follows (the rotation re-commits records before `entries`), so the
    /// caller verifies the whole chain when one appears ([`StoredRecord::commitment`]).
    pub fn resume(entries: u64, head: Link) -> Self {
        Self { next_seq: entries + 1, head, ..Self::new() }
    }

    /// Checks the next record (its encoded bytes, as stored under `seq`).
    pub fn push(&mut self, seq: u64, bytes: &[u8]) -> Result<(), ChainError> {
        if seq != self.next_seq {
            return Err(ChainError::Missing { expected: self.next_seq, found: seq });
        }
        let record = StoredRecord::decode(bytes).map_err(|error| ChainError::BadRecord { seq, error })?;
        let Some(ciphertext) = &record.ciphertext else { return Err(ChainError::CiphertextErased { seq }) };
        let expected = record.rewrap.map_or(record.original_hash, |r| r.hash);
        if sha256(ciphertext) != expected {
            return Err(ChainError::CiphertextAltered { seq });
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
        // A rotation's entry re-commits revisions with their new hashes; any other entry
        // commits revisions written in its transaction, each for the first time.
        let rotation = record.commitment.is_some();
        for revision in record.revisions.iter().filter(|r| self.cases.contains(&u16::from(r.case[0]))) {
            let previous = self.revisions.insert((revision.case, revision.number), (revision.hash, seq));
            if previous.is_some() && !rotation {
                return Err(ChainError::RevisionCommittedTwice { seq, revision: *revision });
            }
        }
        if let Some((expected, seen)) = &mut self.expected {
            *seen |= *expected == link;
        }
        self.head = link;
        self.next_seq += 1;
        Ok(())
    }

    /// The places of the revisions the records checked so far committed.
    pub fn committed_places(&self) -> impl Iterator<Item = ([u8; 16], u32)> + '_ {
        self.revisions.keys().copied()
    }

    /// After the last record: checks the store's revisions against what the chain committed.
    pub fn revisions(&self) -> RevisionCheck<'_> {
        RevisionCheck { committed: &self.revisions, seen: std::collections::HashSet::new() }
    }

    /// Ends verification: every re-encryption must have met its rotation entry, and an expected
    /// head must have been passed.
    pub fn finish(self) -> Result<Verified, ChainError> {
        self.check_end()
    }

    /// [`ChainVerifier::finish`] without giving the verifier up (its revisions are checked next).
    pub fn check_end(&self) -> Result<Verified, ChainError> {
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

/// Checks the revisions in the store, fed one by one, against those the chain committed.
pub struct RevisionCheck<'v> {
    committed: &'v HashMap<([u8; 16], u32), (Digest32, u64)>,
    seen: std::collections::HashSet<([u8; 16], u32)>,
}

impl RevisionCheck<'_> {
    /// Checks one stored revision: `ciphertext` as stored under (`case`, `number`).
    pub fn push(&mut self, case: [u8; 16], number: u32, ciphertext: &[u8]) -> Result<(), ChainError> {
        let found = RevisionCommit { case, number, hash: sha256(ciphertext) };
        self.seen.insert((case, number));
        match self.committed.get(&(case, number)) {
            Some((hash, _)) if *hash == found.hash => Ok(()),
            committed => {
                // The ciphertext committed for another place: moved or copied from there.
                let from = self
                    .committed
                    .iter()
                    .find(|(_, (hash, _))| *hash == found.hash)
                    .map(|(&(case, number), (hash, _))| RevisionCommit { case, number, hash: *hash });
                Err(match (from, committed) {
                    (Some(from), _) => ChainError::RevisionMoved { revision: found, from },
                    (None, Some((_, seq))) => ChainError::RevisionReplaced { revision: found, seq: *seq },
                    (None, None) => ChainError::RevisionAdded { revision: found },
                })
            }
        }
    }

    /// After the last revision: every committed revision must have been seen.
    pub fn finish(self) -> Result<(), ChainError> {
        let missing = self
            .committed
            .iter()
            .filter(|(place, _)| !self.seen.contains(*place))
            .min_by_key(|(_, (_, seq))| *seq);
        match missing {
            None => Ok(()),
            Some((&(case, number), &(hash, seq))) => {
                Err(ChainError::RevisionDeleted { revision: RevisionCommit { case, number, hash }, seq })
            }
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
                    revisions: Vec::new(),
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
    fn an_erased_ciphertext_is_tampering_until_an_erasure_entry_covers_it() {
        let mut records = chain(3);
        records[1].ciphertext = None;
        assert_eq!(verify(&encoded(&records)), Err(ChainError::CiphertextErased { seq: 2 }));
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
            revisions: Vec::new(),
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

    /// A chain whose entries 1 and 2 commit revisions 1 and 2 of case A, entry 3 revision 1 of
    /// case B; the revisions' ciphertexts are `"A1"`, `"A2"`, `"B1"`.
    fn chain_with_revisions() -> Vec<StoredRecord> {
        let mut records = chain(3);
        let commits = [([0xA; 16], 1, "A1"), ([0xA; 16], 2, "A2"), ([0xB; 16], 1, "B1")];
        let mut head = GENESIS;
        for (record, (case, number, text)) in records.iter_mut().zip(commits) {
            record.revisions = vec![RevisionCommit { case, number, hash: sha256(text.as_bytes()) }];
            record.link = head.next(&record.chain_input());
            head = record.link;
        }
        records
    }

    fn check_revisions(records: &[StoredRecord], stored: &[([u8; 16], u32, &str)]) -> Result<(), ChainError> {
        let mut verifier = ChainVerifier::new();
        for (seq, bytes) in encoded(records) {
            verifier.push(seq, &bytes)?;
        }
        let mut check = verifier.revisions();
        for (case, number, text) in stored {
            check.push(*case, *number, text.as_bytes())?;
        }
        check.finish()
    }

    #[test]
    fn every_revision_is_committed_by_exactly_one_entry_and_still_there() {
        let records = chain_with_revisions();
        let intact = [([0xA; 16], 1, "A1"), ([0xA; 16], 2, "A2"), ([0xB; 16], 1, "B1")];
        assert_eq!(check_revisions(&records, &intact), Ok(()));
        // Case A's approval copied to B's next place.
        let moved = [intact[0], intact[1], intact[2], ([0xB; 16], 2, "A2")];
        assert!(
            matches!(check_revisions(&records, &moved), Err(ChainError::RevisionMoved { from, .. }) if from.number == 2 && from.case == [0xA; 16])
        );
        let deleted = [intact[0], intact[2]];
        assert!(matches!(
            check_revisions(&records, &deleted),
            Err(ChainError::RevisionDeleted { seq: 2, .. })
        ));
        let replaced = [intact[0], ([0xA; 16], 2, "forged"), intact[2]];
        assert!(matches!(
            check_revisions(&records, &replaced),
            Err(ChainError::RevisionReplaced { seq: 2, .. })
        ));
        let added = [intact[0], intact[1], intact[2], ([0xC; 16], 1, "new")];
        assert!(matches!(check_revisions(&records, &added), Err(ChainError::RevisionAdded { .. })));
    }

    #[test]
    fn a_revision_list_is_part_of_the_chain_and_may_not_commit_twice() {
        let mut records = chain_with_revisions();
        // Editing the clear list breaks the entry's link.
        let mut edited = records.clone();
        edited[1].revisions[0].number = 3;
        assert_eq!(verify(&encoded(&edited)), Err(ChainError::LinkBroken { seq: 2 }));
        // An entry (not a rotation) committing an already committed revision again.
        records[2].revisions = records[0].revisions.clone();
        records[2].link = records[1].link.next(&records[2].chain_input());
        assert!(matches!(verify(&encoded(&records)), Err(ChainError::RevisionCommittedTwice { seq: 3, .. })));
    }

    #[test]
    fn records_round_trip_and_reject_garbage() {
        let mut record = chain(1).remove(0);
        record.rewrap = Some(Rewrap { by: 9, hash: [7; 32] });
        record.commitment = Some([8; 32]);
        record.revisions = vec![RevisionCommit { case: [1; 16], number: 2, hash: [3; 32] }];
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
