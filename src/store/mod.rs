//! The case store: one redb file in which every value is age-encrypted before redb sees it.
//!
//! What is in clear: the schema version, opaque case IDs (random), revision numbers, audit
//! sequence numbers with their chain hashes, and HMAC lookup keys (the case log's index among
//! them, [`case_index`]). Everything else — case data, case summaries, audit entries — is
//! ciphertext under the store key, and the store key itself is in the
//! keyring, age-encrypted to the appliance's identity and the escrow recipients ([`crypt`]).
//! The API only appends: there is no update or delete of a revision or an audit entry, and
//! every write goes through [`Store::commit`], whose transaction also carries the audit entry
//! of the action, so the two happen together or not at all. That entry commits, in clear, each
//! revision's place and ciphertext hash ([`chain`]), so `takedown audit verify` detects a
//! revision added, deleted, replaced or moved without any key; and a revision is bound to its
//! place (its case and number are inside the ciphertext and checked when it is read), so a
//! moved one does not open.
//!
//! The file is opened in redb's multi-writer mode, so the CLI (`takedown export`, `takedown
//! audit …`) can read it, and append its own audit entries, while the daemon runs.

mod case_index;
pub mod crypt;
pub mod group;
pub mod index;

use std::fmt::Display;
use std::fs::OpenOptions;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use redb::{
    ConcurrencyMode, Database, Durability, MultimapTableDefinition, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, WriteTransaction,
};
use tracing::info;

use crate::audit::chain::{
    self, ChainError, ChainVerifier, Link, RevisionCommit, Rewrap, StoredRecord, Verified,
};
use crate::audit::checkpoint::{Checkpoint, CheckpointKey};
use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::{CaseId, CaseKind, Change, Revision};
use crate::config::{Problem, Problems, StoreSettings};
use crypt::{AgeIdentity, AgeRecipient, CryptError, Keyring, StoreKey};
pub use group::GroupError;
use index::IndexKey;

/// The store file's name inside the data directory.
pub const FILE_NAME: &str = "takedown.redb";

/// The layout version this build reads and writes. Older layouts are upgraded in place when the
/// daemon or a CLI command opens the store with its keys: version 2 (revisions not yet
/// committed by the audit chain) and version 3 (no case-log index, [`case_index`]); any other
/// version is refused. Version 3 is a bump of its own so that an older build, which would
/// write revisions without updating the index, refuses a store that has one.
pub const SCHEMA_VERSION: u32 = 4;

/// The layout without committed revisions, upgraded in place (see [`SCHEMA_VERSION`]).
const UPGRADABLE_SCHEMA: u32 = 2;

/// The layout without the case-log index, upgraded in place (see [`SCHEMA_VERSION`]). Its
/// tables are a subset of the current ones, so keyless tools (`audit verify`) read it as is.
const UNINDEXED_SCHEMA: u32 = 3;

/// The `meta` key of the keyring (the store key, age-encrypted to identity and escrow).
pub const KEYRING: &str = "keyring";
/// The `meta` key of the latest signed checkpoint's text ([`Checkpoint`]).
const CHECKPOINT: &str = "checkpoint";
/// The `meta` key of the store key's public name ([`StoreKey::id`]).
const KEY_ID: &str = "key-id";

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
/// Creation order → case: lets cases be listed without decrypting anything.
const CASES: TableDefinition<'_, u64, [u8; 16]> = TableDefinition::new("cases");
/// (case, revision number) → encrypted [`Revision`].
const REVISIONS: TableDefinition<'_, ([u8; 16], u32), &[u8]> = TableDefinition::new("revisions");
/// Sequence number → encoded [`StoredRecord`] (hashes in clear, entry encrypted).
const AUDIT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("audit");
/// HMAC lookup key → cases.
const INDEX: MultimapTableDefinition<'_, [u8; 32], [u8; 16]> = MultimapTableDefinition::new("index");

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The audit chain is broken.
    #[error("the audit log is broken: {0}")]
    Chain(#[from] ChainError),
    /// A value could not be encrypted or decrypted.
    #[error("{0}")]
    Crypt(#[from] CryptError),
    /// redb failed (I/O, locking, corruption).
    #[error("store {path}: {message}")]
    Database {
        /// The store file.
        path: PathBuf,
        /// What redb said.
        message: String,
    },
    /// A decrypted value is not what this version writes.
    #[error("a stored value cannot be read: {0}; the file may come from another version")]
    Format(String),
    /// The file has another layout version.
    #[error("{path} has layout version {found}, this takedown reads version {SCHEMA_VERSION}; {advice}")]
    Schema {
        /// The store file.
        path: PathBuf,
        /// The version found.
        found: u32,
        /// What to do.
        advice: &'static str,
    },
    /// No such case.
    #[error("no case {0} in the store")]
    UnknownCase(CaseId),
    /// A stored revision opened, but names another place than the one it is stored under.
    #[error(
        "the revision stored as number {number} of case {case} belongs elsewhere (moved); the store was \
         altered: run `takedown audit verify`"
    )]
    Misplaced {
        /// The case it is stored under.
        case: CaseId,
        /// The number it is stored under.
        number: u32,
    },
    /// The whole-chain check after start found the log altered: nothing more is written.
    #[error(
        "the audit log failed its full verification after start ({0}); nothing is written until it \
         is investigated: run `takedown audit verify`, restore the store from a good copy, restart"
    )]
    WritesRefused(String),
    /// A write added a revision without an audit entry to commit it (a bug in the caller).
    #[error("a revision was written without an audit entry in its transaction; nothing was stored")]
    UncommittedRevision,
    /// Another process rotated the keys since this one opened the store.
    #[error(
        "{path}: the store keys were rotated (takedown keys rotate) since this process opened it; \
         nothing was written. Restart it with the new store identity"
    )]
    KeysRotated {
        /// The store file.
        path: PathBuf,
    },
    /// The identity given does not open the keyring.
    #[error(
        "{path}: this identity does not open the store's keyring; use the identity the store was \
         created or last rotated with, or an escrow identity ({reason})"
    )]
    Locked {
        /// The store file.
        path: PathBuf,
        /// What age said.
        reason: String,
    },
}

/// The keys a store is opened with.
pub struct StoreKeys {
    /// Opens the keyring (and so the store key).
    pub identity: AgeIdentity,
    /// Everyone the keyring is encrypted to: the identity's own recipient first, then escrow.
    pub recipients: Vec<AgeRecipient>,
    /// Makes lookup keys.
    pub index: IndexKey,
}

impl StoreKeys {
    /// Keys for `identity`, with the keyring encrypted to it and to `escrow`.
    pub fn new(identity: AgeIdentity, escrow: &[AgeRecipient], index: IndexKey) -> Self {
        let mut recipients = vec![identity.recipient()];
        recipients.extend(escrow.iter().filter(|r| **r != identity.recipient()).cloned());
        Self { identity, recipients, index }
    }
}

/// Reads the store keys named in `[store]`; problems are reported under their fields.
pub fn keys_from_config(
    settings: &StoreSettings,
    credentials_dir: Option<&Path>,
) -> Result<StoreKeys, Problems> {
    let mut problems = Vec::new();
    let identity = settings
        .identity
        .read(credentials_dir)
        .and_then(|bytes| AgeIdentity::parse(&bytes))
        .map_err(|m| problems.push(Problem::new("store.identity", m)))
        .ok();
    let index = settings
        .index_key
        .read(credentials_dir)
        .and_then(|bytes| IndexKey::parse(&bytes))
        .map_err(|m| problems.push(Problem::new("store.index_key", m)))
        .ok();
    match (identity, index) {
        (Some(identity), Some(index)) => Ok(StoreKeys::new(identity, &settings.escrow_recipients, index)),
        _ => Err(Problems(problems)),
    }
}

/// An open store.
pub struct Store {
    db: Database,
    path: PathBuf,
    keys: StoreKeys,
    /// Wraps every value's file key; unlocked from the keyring at open.
    key: StoreKey,
    /// Log the audit head every this many entries.
    head_interval: u64,
    /// Set when the whole-chain check failed after start: why every write is refused.
    refused: OnceLock<String>,
    /// Appends the entries of [`Store::audit_async`] in groups; started by its first call.
    committer: OnceLock<group::GroupCommitter>,
}

/// How `serve` checked the chain at start ([`Store::verify_since_checkpoint`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartCheck {
    /// Every entry and revision was checked; `why` says why not only the tail.
    Full {
        /// What the check found.
        verified: Verified,
        /// Why the whole chain was checked.
        why: String,
    },
    /// Only the entries after the signed checkpoint of entry `checkpoint` were checked.
    SinceCheckpoint {
        /// What the check found.
        verified: Verified,
        /// The checkpoint's entry count.
        checkpoint: u64,
    },
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir`, with the default page cache
    /// ([`crate::config::STORE_CACHE_BYTES`]).
    pub fn open(data_dir: &Path, keys: StoreKeys, head_interval: u64) -> Result<Store, StoreError> {
        Self::open_with_cache(data_dir, keys, head_interval, crate::config::STORE_CACHE_BYTES)
    }

    /// Opens (creating if needed) the store in `data_dir` with a page cache of `cache_bytes`
    /// (`store.cache_kib`). redb's own default is 1 GiB, which the daemon would lock as it
    /// filled; its working set is an audit page, a case and the index, so a few MiB serve.
    pub fn open_with_cache(
        data_dir: &Path,
        keys: StoreKeys,
        head_interval: u64,
        cache_bytes: usize,
    ) -> Result<Store, StoreError> {
        let path = data_dir.join(FILE_NAME);
        let p: &Path = &path;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir).at(p)?;
        // Create the file ourselves so that it is owner-only from its first byte.
        OpenOptions::new().create(true).append(true).mode(0o600).open(&path).at(p)?;
        let db = Database::builder()
            .set_concurrency_mode(ConcurrencyMode::MultiWriter)
            .set_cache_size(cache_bytes)
            .create(&path)
            .at(p)?;
        let key = prepare(&db, p, &keys)?;
        Ok(Store {
            db,
            path,
            keys,
            key,
            head_interval: head_interval.max(1),
            refused: OnceLock::new(),
            committer: OnceLock::new(),
        })
    }

    /// Runs `work` in one durable write transaction: everything it adds is committed together,
    /// or nothing is (an error from `work` aborts the transaction).
    pub fn commit<T>(
        &self,
        work: impl FnOnce(&mut Batch<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.writable()?;
        let p: &Path = &self.path;
        let tx = begin_durable(&self.db, p)?;
        ensure_current_key(&tx, p, &self.key)?;
        let mut batch = Batch::new(&tx, &self.keys, &self.key, &self.path);
        let result = work(&mut batch)?;
        if !batch.revisions.is_empty() {
            return Err(StoreError::UncommittedRevision);
        }
        let heads = std::mem::take(&mut batch.heads);
        tx.commit().at(p)?;
        for (seq, link) in heads.into_iter().filter(|(seq, _)| seq % self.head_interval == 0) {
            info!(entries = seq, head = %link, "audit head");
        }
        Ok(result)
    }

    /// Appends one audit entry in its own transaction.
    pub fn audit(&self, entry: &AuditEntry) -> Result<u64, StoreError> {
        self.commit(|batch| batch.audit(entry))
    }

    /// [`Store::audit`] for async code: the entry is appended, with those of other concurrent
    /// callers, by one durable transaction on the committer thread ([`group`]), and this returns
    /// its sequence number once that transaction committed.
    pub async fn audit_async(self: &Arc<Self>, entry: AuditEntry) -> Result<u64, GroupError> {
        self.committer.get_or_init(|| group::GroupCommitter::start(self)).append(entry).await
    }

    /// How many transactions [`Store::audit_async`] has run so far (each holds one or more
    /// entries); for tests and benchmarks.
    pub fn grouped_transactions(&self) -> u64 {
        self.committer.get().map_or(0, group::GroupCommitter::transactions)
    }

    /// Verifies the audit chain through this open store (as `takedown audit verify` does
    /// without keys).
    pub fn verify(&self) -> Result<Verified, StoreError> {
        verify_chain(&self.db, &self.path, None)
    }

    /// The check `serve` makes at start, whose cost does not grow with the log: when the store
    /// keeps a checkpoint signed by `signer` (the daemon's own checkpoint key), the chain must
    /// still pass through it, and only the entries after it (and the revisions they commit) are
    /// verified. Without such a checkpoint, or when a key rotation follows it (it re-commits
    /// older records), the whole chain is verified. The caller verifies the whole chain later
    /// ([`Store::verify`]) when this was partial.
    pub fn verify_since_checkpoint(&self, signer: &[u8; 32]) -> Result<StartCheck, StoreError> {
        let full = |why: String| self.verify().map(|verified| StartCheck::Full { verified, why });
        let checkpoint = match self.checkpoint_text()?.map(|text| Checkpoint::parse(&text)) {
            None => return full("the store keeps no checkpoint yet".into()),
            Some(Err(err)) => return full(format!("the stored checkpoint is unusable ({err})")),
            Some(Ok(checkpoint)) if checkpoint.key != *signer => {
                return full("the stored checkpoint was signed by another key".into());
            }
            Some(Ok(checkpoint)) => checkpoint,
        };
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let audit = tx.open_table(AUDIT).at(p)?;
        let reached = match checkpoint.entries {
            0 => chain::GENESIS,
            entries => match audit.get(entries).at(p)? {
                Some(value) => {
                    StoredRecord::decode(value.value())
                        .map_err(|error| ChainError::BadRecord { seq: entries, error })?
                        .link
                }
                None => chain::GENESIS,
            },
        };
        if reached != checkpoint.head {
            let (entries, head) = (checkpoint.entries, checkpoint.head);
            return Err(ChainError::CheckpointNotReached { entries, head }.into());
        }
        let mut verifier = ChainVerifier::resume(checkpoint.entries, checkpoint.head);
        for row in audit.range(checkpoint.entries + 1..).at(p)? {
            let (seq, value) = row.at(p)?;
            let (seq, bytes) = (seq.value(), value.value());
            let record = StoredRecord::decode(bytes).map_err(|error| ChainError::BadRecord { seq, error })?;
            if record.commitment.is_some() {
                return full(format!("entry {seq}, after the checkpoint, rotated the keys"));
            }
            verifier.push(seq, bytes)?;
        }
        let verified = verifier.check_end()?;
        let revisions = tx.open_table(REVISIONS).at(p)?;
        let mut check = verifier.revisions();
        for place in verifier.committed_places() {
            if let Some(value) = revisions.get(place).at(p)? {
                check.push(place.0, place.1, value.value())?;
            }
        }
        check.finish()?;
        Ok(StartCheck::SinceCheckpoint { verified, checkpoint: checkpoint.entries })
    }

    /// Refuses every later write (the whole-chain check found the log altered): the daemon
    /// keeps showing what it can, and appends nothing to a log that no longer verifies.
    pub fn refuse_writes(&self, reason: String) {
        let _ = self.refused.set(reason);
    }

    /// Why writes are refused, if they are.
    pub fn writes_refused(&self) -> Option<&str> {
        self.refused.get().map(String::as_str)
    }

    fn writable(&self) -> Result<(), StoreError> {
        match self.refused.get() {
            Some(reason) => Err(StoreError::WritesRefused(reason.clone())),
            None => Ok(()),
        }
    }

    /// Signs the chain's current state with `key` and keeps it as the latest checkpoint (in
    /// clear: it holds hashes and a signature only). Returns it, to be logged and sent away.
    pub fn record_checkpoint(&self, key: &CheckpointKey) -> Result<Checkpoint, StoreError> {
        self.writable()?;
        let p: &Path = &self.path;
        let tx = begin_durable(&self.db, p)?;
        let checkpoint = {
            let (entries, head) = last_entry(&tx.open_table(AUDIT).at(p)?, p)?;
            let checkpoint = key.sign(entries, head, time::OffsetDateTime::now_utc());
            tx.open_table(META).at(p)?.insert(CHECKPOINT, checkpoint.to_text().as_bytes()).at(p)?;
            checkpoint
        };
        tx.commit().at(p)?;
        Ok(checkpoint)
    }

    /// The number of audit entries and the current head (the last link).
    pub fn head(&self) -> Result<(u64, Link), StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        last_entry(&tx.open_table(AUDIT).at(p)?, p)
    }

    /// Every case, oldest first.
    pub fn case_ids(&self) -> Result<Vec<CaseId>, StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_table(CASES).at(p)?;
        let mut ids = Vec::new();
        for row in table.iter().at(p)? {
            ids.push(CaseId(row.at(p)?.1.value()));
        }
        Ok(ids)
    }

    /// Up to `limit` case IDs in the order they were created, from the `from`th (counting from
    /// 1), and where to continue (`None`: none are left). Reads only those rows, so a long case
    /// list is walked in bounded chunks.
    pub fn case_ids_from(&self, from: u64, limit: usize) -> Result<(Vec<CaseId>, Option<u64>), StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_table(CASES).at(p)?;
        let mut ids = Vec::with_capacity(limit.min(1024));
        for row in table.range(from..).at(p)? {
            let (number, id) = row.at(p)?;
            if ids.len() >= limit {
                return Ok((ids, Some(number.value())));
            }
            ids.push(CaseId(id.value()));
        }
        Ok((ids, None))
    }

    /// Whether the case exists (without decrypting anything).
    pub fn contains_case(&self, id: CaseId) -> Result<bool, StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_table(REVISIONS).at(p)?;
        Ok(table.range((id.0, 0)..=(id.0, u32::MAX)).at(p)?.next().is_some())
    }

    /// Every revision of a case, oldest first.
    pub fn case(&self, id: CaseId) -> Result<Vec<Revision>, StoreError> {
        let mut cases = self.cases(&[id])?;
        Ok(cases.pop().map(|(_, revisions)| revisions).unwrap_or_default())
    }

    /// Every revision of each case in `ids`, oldest first, read in one transaction (so that
    /// an export is one consistent snapshot).
    pub fn cases(&self, ids: &[CaseId]) -> Result<Vec<(CaseId, Vec<Revision>)>, StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_table(REVISIONS).at(p)?;
        let mut sealed = Vec::new();
        let mut places = Vec::new();
        let mut counts = Vec::with_capacity(ids.len());
        for &id in ids {
            let before = sealed.len();
            for row in table.range((id.0, 0)..=(id.0, u32::MAX)).at(p)? {
                let (key, value) = row.at(p)?;
                places.push(key.value().1);
                sealed.push(value.value().to_vec());
            }
            if sealed.len() == before {
                return Err(StoreError::UnknownCase(id));
            }
            counts.push(sealed.len() - before);
        }
        drop(table);
        drop(tx);
        let opened = open_many::<Revision>(&self.key, &sealed)?;
        let mut revisions = opened.into_iter().zip(places);
        let mut cases = Vec::with_capacity(ids.len());
        for (id, count) in ids.iter().zip(counts) {
            let mut case = Vec::with_capacity(count);
            for (revision, number) in revisions.by_ref().take(count) {
                // Each revision carries its own place: one copied or moved elsewhere is refused.
                if revision.case != *id || revision.number != number {
                    return Err(StoreError::Misplaced { case: *id, number });
                }
                case.push(revision);
            }
            cases.push((*id, case));
        }
        Ok(cases)
    }

    /// The page of the case log `filter` asks for, among the cases of `kinds` (those the
    /// viewer may read: nothing about other kinds, not even their number, shows in the page or
    /// in whether there is a next one), and whether there is a next page. Chosen through the
    /// case-log index ([`case_index`]) without decrypting anything; only the summaries on the
    /// page are decrypted.
    pub fn case_page(
        &self,
        filter: &crate::case_log::Filter,
        kinds: &[CaseKind],
    ) -> Result<(Vec<crate::case_log::CaseSummary>, bool), StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        case_index::page(&tx, p, &self.keys.index, &self.key, filter, kinds)
    }

    /// The summary of one case, if it exists (one small value decrypted, not the revisions).
    pub fn case_summary(&self, id: CaseId) -> Result<Option<crate::case_log::CaseSummary>, StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        case_index::summary(&tx, p, &self.key, id)
    }

    /// Cases indexed under `value` in the index `purpose`.
    pub fn lookup(&self, purpose: &str, value: &[u8]) -> Result<Vec<CaseId>, StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_multimap_table(INDEX).at(p)?;
        let mut cases = Vec::new();
        for case in table.get(self.keys.index.lookup_key(purpose, value)).at(p)? {
            cases.push(CaseId(case.at(p)?.value()));
        }
        Ok(cases)
    }

    /// Every readable audit entry, in order, with its sequence number and link; erased entries
    /// are skipped. `case` keeps only the entries about that case.
    pub fn audit_entries(&self, case: Option<CaseId>) -> Result<Vec<(u64, Link, AuditEntry)>, StoreError> {
        decrypt_audit(&self.db, &self.path, &self.key, case)
    }

    /// Up to `limit` readable audit entries numbered `from` through `through`, oldest first,
    /// decrypted, and the number to continue from (`None`: none are left). Reads only those
    /// records, so a long log is read in bounded chunks (an export streams it).
    pub fn audit_chunk(
        &self,
        from: u64,
        through: u64,
        limit: usize,
    ) -> Result<(Vec<NumberedEntry>, Option<u64>), StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_table(AUDIT).at(p)?;
        let mut records = Vec::new();
        let mut next = None;
        for row in table.range(from..=through).at(p)? {
            let (seq, value) = row.at(p)?;
            let seq = seq.value();
            if records.len() >= limit {
                next = Some(seq);
                break;
            }
            let record =
                StoredRecord::decode(value.value()).map_err(|error| ChainError::BadRecord { seq, error })?;
            if let Some(ciphertext) = record.ciphertext {
                records.push((seq, record.link, ciphertext));
            }
        }
        drop(table);
        drop(tx);
        let sealed: Vec<&[u8]> = records.iter().map(|(_, _, c)| c.as_slice()).collect();
        let entries = open_many::<AuditEntry>(&self.key, &sealed)?;
        let chunk = records.iter().zip(entries).map(|((seq, link, _), entry)| (*seq, *link, entry)).collect();
        Ok((chunk, next))
    }

    /// Up to `limit` audit entries before sequence number `before` (or the newest), newest
    /// first, decrypted; and whether older entries remain. Reads only those records, so a page
    /// of the log costs the same however long the log is.
    pub fn audit_before(
        &self,
        before: Option<u64>,
        limit: u64,
    ) -> Result<(Vec<(u64, AuditEntry)>, bool), StoreError> {
        let p: &Path = &self.path;
        let tx = self.db.begin_read().at(p)?;
        let table = tx.open_table(AUDIT).at(p)?;
        let mut records = Vec::new();
        let mut rows = table.range(..before.unwrap_or(u64::MAX)).at(p)?.rev();
        for row in rows.by_ref() {
            let (seq, value) = row.at(p)?;
            let seq = seq.value();
            let record =
                StoredRecord::decode(value.value()).map_err(|error| ChainError::BadRecord { seq, error })?;
            if let Some(ciphertext) = record.ciphertext {
                records.push((seq, ciphertext));
            }
            if records.len() as u64 >= limit {
                break;
            }
        }
        let more = rows.next().is_some();
        drop(table);
        drop(tx);
        let sealed: Vec<&[u8]> = records.iter().map(|(_, c)| c.as_slice()).collect();
        let entries = open_many::<AuditEntry>(&self.key, &sealed)?;
        Ok((records.iter().map(|(seq, _)| *seq).zip(entries).collect(), more))
    }

    /// The latest signed checkpoint's text, if the daemon keeps one.
    pub fn checkpoint_text(&self) -> Result<Option<String>, StoreError> {
        read_checkpoint(&self.db, &self.path)
    }

    /// Re-encrypts every value under a new store key, and the keyring to `new_identity` (and
    /// `escrow`), in one transaction, and records the rotation in the audit log. Afterwards
    /// neither the old identity nor the old store key opens anything in the file. The
    /// lookup-index key stays: its HMAC keys cannot be recomputed without the indexed values.
    /// Returns the re-opened store and how many values were re-encrypted.
    pub fn rotate(
        self,
        new_identity: AgeIdentity,
        escrow: &[AgeRecipient],
        actor: Actor,
    ) -> Result<(Store, u64), StoreError> {
        let Store { db, path, keys, key: old_key, head_interval, refused, committer: _ } = self;
        if let Some(reason) = refused.get() {
            return Err(StoreError::WritesRefused(reason.clone()));
        }
        let new_keys = StoreKeys::new(new_identity, escrow, keys.index);
        let new_key = StoreKey::generate();
        let p: &Path = &path;
        let tx = begin_durable(&db, p)?;
        let keyring = Keyring { key: new_key.clone(), recipients: new_keys.recipients.clone() };
        ensure_current_key(&tx, p, &old_key)?;
        {
            let mut meta = tx.open_table(META).at(p)?;
            meta.insert(KEYRING, keyring.seal()?.as_slice()).at(p)?;
            meta.insert(KEY_ID, new_key.id().as_slice()).at(p)?;
        }
        let mut count = 0u64;
        let mut rewrapped = Vec::new();
        let mut recommitted = Vec::new();
        let resealed_summaries;
        {
            let mut revisions = tx.open_table(REVISIONS).at(p)?;
            count += reseal_table(&mut revisions, p, &old_key, &new_key, |(case, number), resealed| {
                recommitted.push(RevisionCommit { case, number, hash: chain::sha256(resealed) });
            })?;
            // The case-log summaries are values like the revisions (derived from them, and not
            // committed by the chain).
            let mut summaries = tx.open_table(case_index::SUMMARIES).at(p)?;
            resealed_summaries = reseal_table(&mut summaries, p, &old_key, &new_key, |_, _| {})?;

            let mut audit = tx.open_table(AUDIT).at(p)?;
            let next_seq = audit.last().at(p)?.map_or(1, |(seq, _)| seq.value() + 1);
            let seqs: Vec<u64> =
                audit.iter().at(p)?.map(|row| row.map(|(k, _)| k.value())).collect::<Result<_, _>>().at(p)?;
            for seq in seqs {
                let mut record = {
                    let value = audit
                        .get(seq)
                        .at(p)?
                        .ok_or_else(|| StoreError::Format("audit entry vanished".into()))?;
                    StoredRecord::decode(value.value())
                        .map_err(|error| ChainError::BadRecord { seq, error })?
                };
                let Some(ciphertext) = &record.ciphertext else { continue };
                let resealed = new_key.seal(&old_key.open(ciphertext)?)?;
                let hash = chain::sha256(&resealed);
                record.rewrap = Some(Rewrap { by: next_seq, hash });
                record.ciphertext = Some(resealed);
                audit.insert(seq, record.encode().as_slice()).at(p)?;
                rewrapped.push((seq, hash));
                count += 1;
            }
        }
        let commitment = chain::commitment(rewrapped.iter().map(|(seq, hash)| (*seq, hash)));
        let entry = AuditEntry::now(
            actor,
            Action::RotateKeys,
            None,
            Outcome::Done,
            format!(
                "re-encrypted {count} values to {} recipient(s), and {resealed_summaries} case summaries",
                new_keys.recipients.len()
            ),
        );
        {
            // The rotation's entry commits every revision again, with its new ciphertext.
            let mut batch = Batch::new(&tx, &new_keys, &new_key, p);
            batch.revisions = recommitted;
            batch.append_audit(&entry, Some(commitment))?;
        }
        tx.commit().at(p)?;
        Ok((
            Store {
                db,
                path,
                keys: new_keys,
                key: new_key,
                head_interval,
                refused,
                committer: OnceLock::new(),
            },
            count,
        ))
    }
}

/// Re-encrypts every value of `table` from `old` to `new` in place (a key rotation); `resealed`
/// sees each key with its new ciphertext. Returns how many values there were.
fn reseal_table<K>(
    table: &mut redb::Table<'_, K, &'static [u8]>,
    p: &Path,
    old: &StoreKey,
    new: &StoreKey,
    mut resealed: impl FnMut(K, &[u8]),
) -> Result<u64, StoreError>
where
    K: redb::Key + Copy + 'static + for<'a> redb::Value<SelfType<'a> = K>,
{
    let keys: Vec<K> =
        table.iter().at(p)?.map(|row| row.map(|(k, _)| k.value())).collect::<Result<_, _>>().at(p)?;
    for key in &keys {
        let plaintext = {
            let value = table
                .get(*key)
                .at(p)?
                .ok_or_else(|| StoreError::Format("a value vanished while resealing".into()))?;
            old.open(value.value())?
        };
        let sealed = new.seal(&plaintext)?;
        table.insert(*key, sealed.as_slice()).at(p)?;
        resealed(*key, &sealed);
    }
    Ok(keys.len() as u64)
}

/// The additions of one transaction (see [`Store::commit`]).
pub struct Batch<'t> {
    tx: &'t WriteTransaction,
    keys: &'t StoreKeys,
    key: &'t StoreKey,
    path: &'t Path,
    heads: Vec<(u64, Link)>,
    /// Revisions written since the last audit entry: the next entry commits them.
    revisions: Vec<RevisionCommit>,
}

impl<'t> Batch<'t> {
    fn new(tx: &'t WriteTransaction, keys: &'t StoreKeys, key: &'t StoreKey, path: &'t Path) -> Self {
        Batch { tx, keys, key, path, heads: Vec::new(), revisions: Vec::new() }
    }
}

impl Batch<'_> {
    /// Creates a case with its first revision; returns its new ID.
    pub fn create_case(
        &mut self,
        kind: CaseKind,
        author: &str,
        payload: serde_json::Value,
    ) -> Result<CaseId, StoreError> {
        self.insert_case(kind, author, payload, time::OffsetDateTime::now_utc())
    }

    /// [`Batch::create_case`] with a given creation time, for cases recorded elsewhere first (an
    /// import, or a benchmark's store spread over many days). The time must not be earlier than
    /// the latest case's: the case log's day filter relies on creation order being time order.
    pub fn create_case_at(
        &mut self,
        kind: CaseKind,
        author: &str,
        payload: serde_json::Value,
        at: time::OffsetDateTime,
    ) -> Result<CaseId, StoreError> {
        let p: &Path = self.path;
        let latest = self.tx.open_table(CASES).at(p)?.last().at(p)?.map(|(_, id)| CaseId(id.value()));
        if let Some(latest) = latest {
            let created = case_index::created(self.tx, p, self.key, latest)?;
            if at < created {
                return Err(StoreError::Format(format!(
                    "a case created at {at} would precede the latest case ({created}); cases are created in time order"
                )));
            }
        }
        self.insert_case(kind, author, payload, at)
    }

    fn insert_case(
        &mut self,
        kind: CaseKind,
        author: &str,
        payload: serde_json::Value,
        at: time::OffsetDateTime,
    ) -> Result<CaseId, StoreError> {
        let p: &Path = self.path;
        let id = CaseId::generate();
        let mut cases = self.tx.open_table(CASES).at(p)?;
        let next = cases.last().at(p)?.map_or(1, |(n, _)| n.value() + 1);
        cases.insert(next, id.0).at(p)?;
        drop(cases);
        let revision = Revision {
            case: id,
            number: 1,
            kind,
            change: Change::Created,
            at,
            author: author.to_owned(),
            payload,
        };
        self.insert_revision(&revision)?;
        let summary = crate::case_log::CaseSummary::of(id, std::slice::from_ref(&revision))
            .ok_or(StoreError::UnknownCase(id))?;
        case_index::add_case(self.tx, p, &self.keys.index, self.key, next, &summary)?;
        Ok(id)
    }

    /// Adds a revision to an existing case; returns its number.
    pub fn revise_case(
        &mut self,
        case: CaseId,
        change: Change,
        author: &str,
        payload: serde_json::Value,
    ) -> Result<u32, StoreError> {
        let p: &Path = self.path;
        // Every revision is read, not just the last: the case's summary (the case log's line)
        // depends on the latest workflow data, which may be in any of them.
        let mut revisions = {
            let table = self.tx.open_table(REVISIONS).at(p)?;
            let mut sealed = Vec::new();
            for row in table.range((case.0, 0)..=(case.0, u32::MAX)).at(p)? {
                sealed.push(row.at(p)?.1.value().to_vec());
            }
            open_many::<Revision>(self.key, &sealed)?
        };
        let Some(last) = revisions.last() else { return Err(StoreError::UnknownCase(case)) };
        let revision = Revision {
            case,
            number: last.number + 1,
            kind: last.kind,
            change,
            at: time::OffsetDateTime::now_utc(),
            author: author.to_owned(),
            payload,
        };
        let number = revision.number;
        self.insert_revision(&revision)?;
        revisions.push(revision);
        let summary =
            crate::case_log::CaseSummary::of(case, &revisions).ok_or(StoreError::UnknownCase(case))?;
        case_index::update_case(self.tx, p, &self.keys.index, self.key, &summary)?;
        Ok(number)
    }

    fn insert_revision(&mut self, revision: &Revision) -> Result<(), StoreError> {
        let p: &Path = self.path;
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(revision).map_err(|e| StoreError::Format(e.to_string()))?,
        );
        let sealed = self.key.seal(&plaintext)?;
        let mut revisions = self.tx.open_table(REVISIONS).at(p)?;
        let key = (revision.case.0, revision.number);
        // Append-only: a key that exists is never written again.
        if revisions.get(key).at(p)?.is_some() {
            return Err(StoreError::Format(format!(
                "revision {} of case {} already exists",
                revision.number, revision.case
            )));
        }
        revisions.insert(key, sealed.as_slice()).at(p)?;
        self.revisions.push(RevisionCommit {
            case: revision.case.0,
            number: revision.number,
            hash: chain::sha256(&sealed),
        });
        Ok(())
    }

    /// Indexes `case` under `value` in the index `purpose` (for example a media hash).
    pub fn index(&mut self, purpose: &str, value: &[u8], case: CaseId) -> Result<(), StoreError> {
        let p: &Path = self.path;
        let mut index = self.tx.open_multimap_table(INDEX).at(p)?;
        index.insert(self.keys.index.lookup_key(purpose, value), case.0).at(p)?;
        Ok(())
    }

    /// Appends an audit entry; returns its sequence number. It commits every revision written in
    /// this transaction since the previous entry, so a transaction that writes a revision must
    /// append an entry after it.
    pub fn audit(&mut self, entry: &AuditEntry) -> Result<u64, StoreError> {
        self.append_audit(entry, None)
    }

    fn append_audit(
        &mut self,
        entry: &AuditEntry,
        commitment: Option<chain::Digest32>,
    ) -> Result<u64, StoreError> {
        let p: &Path = self.path;
        let plaintext = zeroize::Zeroizing::new(
            serde_json::to_vec(entry).map_err(|e| StoreError::Format(e.to_string()))?,
        );
        let ciphertext = self.key.seal(&plaintext)?;
        let mut audit = self.tx.open_table(AUDIT).at(p)?;
        // The previous link is read inside this transaction, so other processes appending to the
        // same file (the CLI while the daemon runs) extend the same chain.
        let (last, previous) = last_entry(&audit, p)?;
        let seq = last + 1;
        let mut record = StoredRecord {
            original_hash: chain::sha256(&ciphertext),
            link: chain::GENESIS,
            rewrap: None,
            commitment,
            revisions: std::mem::take(&mut self.revisions),
            ciphertext: Some(ciphertext),
        };
        record.link = previous.next(&record.chain_input());
        audit.insert(seq, record.encode().as_slice()).at(p)?;
        self.heads.push((seq, record.link));
        Ok(seq)
    }
}

/// Verifies the audit chain of the store in `data_dir` without any key, and that it passes
/// through `expected`, a head recorded earlier, if given.
pub fn verify(data_dir: &Path, expected: Option<Link>) -> Result<Verified, StoreError> {
    let path = data_dir.join(FILE_NAME);
    let db = open_read_only(&path)?;
    verify_chain(db.as_ref(), &path, expected)
}

/// Revisions whose commitments one pass of [`verify_chain`] holds in memory (about 100 bytes
/// each): a larger store is checked in more passes over the chain, each for a share of the
/// cases, so the check fits the daemon's memory model however many cases there are.
const REVISIONS_PER_PASS: u64 = 8_192;

fn verify_chain(db: &dyn ReadableDatabase, p: &Path, expected: Option<Link>) -> Result<Verified, StoreError> {
    let tx = db.begin_read().at(p)?;
    let revisions = match tx.open_table(REVISIONS) {
        Ok(table) => table.len().at(p)?,
        Err(redb::TableError::TableDoesNotExist(_)) => 0,
        Err(e) => return Err(database(p, e)),
    };
    let passes = revisions.div_ceil(REVISIONS_PER_PASS).clamp(1, 256) as u16;
    let width = 256u16.div_ceil(passes);
    let mut verified = None;
    for first in (0..256u16).step_by(usize::from(width)) {
        let share = first..(first + width).min(256);
        verified = Some(verify_share(&tx, p, expected, share)?);
    }
    verified.ok_or_else(|| database(p, "no pass of the verification ran"))
}

/// One pass of [`verify_chain`]: the whole chain, and the revisions and case list of the cases
/// whose ID's first byte is in `share`.
fn verify_share(
    tx: &redb::ReadTransaction,
    p: &Path,
    expected: Option<Link>,
    share: std::ops::Range<u16>,
) -> Result<Verified, StoreError> {
    let mut verifier =
        expected.map_or_else(ChainVerifier::new, ChainVerifier::expecting).for_cases(share.clone());
    let in_share = |case: &[u8; 16]| share.contains(&u16::from(case[0]));
    match tx.open_table(AUDIT) {
        Ok(table) => {
            for row in table.iter().at(p)? {
                let (seq, value) = row.at(p)?;
                verifier.push(seq.value(), value.value())?;
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(database(p, e)),
    }
    // The chain's own end first (a recorded head names a truncation most precisely), then every
    // revision against what the chain committed, and the case list against the revisions.
    let verified = verifier.check_end()?;
    let mut check = verifier.revisions();
    let mut with_revisions = std::collections::BTreeSet::new();
    match tx.open_table(REVISIONS) {
        Ok(table) => {
            let start = case_bound(share.start);
            let rows = match share.end {
                256 => table.range((start, 0)..).at(p)?,
                end => table.range((start, 0)..(case_bound(end), 0)).at(p)?,
            };
            for row in rows {
                let (key, value) = row.at(p)?;
                let (case, number) = key.value();
                check.push(case, number, value.value())?;
                with_revisions.insert(case);
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(database(p, e)),
    }
    check.finish()?;
    match tx.open_table(CASES) {
        Ok(table) => {
            for row in table.iter().at(p)? {
                let case = row.at(p)?.1.value();
                if in_share(&case) && !with_revisions.remove(&case) {
                    return Err(ChainError::CaseListMismatch { case: hex::encode(case) }.into());
                }
            }
        }
        Err(redb::TableError::TableDoesNotExist(_)) => {}
        Err(e) => return Err(database(p, e)),
    }
    if let Some(case) = with_revisions.into_iter().next() {
        return Err(ChainError::CaseListMismatch { case: hex::encode(case) }.into());
    }
    Ok(verified)
}

/// The smallest case ID whose first byte is `first` (below 256).
fn case_bound(first: u16) -> [u8; 16] {
    let mut case = [0u8; 16];
    case[0] = u8::try_from(first).unwrap_or(u8::MAX);
    case
}

/// The latest checkpoint the daemon signed for the store in `data_dir`, as kept (no key needed).
pub fn latest_checkpoint(data_dir: &Path) -> Result<Option<String>, StoreError> {
    let path = data_dir.join(FILE_NAME);
    let db = open_read_only(&path)?;
    read_checkpoint(db.as_ref(), &path)
}

/// The audit table's last sequence number and link (0 and [`chain::GENESIS`] when empty).
fn last_entry(audit: &impl ReadableTable<u64, &'static [u8]>, p: &Path) -> Result<(u64, Link), StoreError> {
    let Some((seq, value)) = audit.last().at(p)? else { return Ok((0, chain::GENESIS)) };
    let seq = seq.value();
    let record = StoredRecord::decode(value.value()).map_err(|error| ChainError::BadRecord { seq, error })?;
    Ok((seq, record.link))
}

fn read_checkpoint(db: &dyn ReadableDatabase, p: &Path) -> Result<Option<String>, StoreError> {
    let tx = db.begin_read().at(p)?;
    let meta = tx.open_table(META).at(p)?;
    let text = meta.get(CHECKPOINT).at(p)?.map(|v| String::from_utf8_lossy(v.value()).into_owned());
    Ok(text)
}

/// Decrypts the audit log of the store in `data_dir` with `identity` (an auditor's escrow key
/// or the appliance's own), opening the file read-only.
pub fn read_audit(
    data_dir: &Path,
    identity: &AgeIdentity,
    case: Option<CaseId>,
) -> Result<Vec<(u64, Link, AuditEntry)>, StoreError> {
    let path = data_dir.join(FILE_NAME);
    let db = open_read_only(&path)?;
    let key = {
        let tx = db.begin_read().at(&path)?;
        let meta = tx.open_table(META).at(&path)?;
        let sealed = meta.get(KEYRING).at(&path)?.ok_or_else(|| schema_error(&path, 0))?;
        unlock(&path, identity, sealed.value())?.key
    };
    decrypt_audit(db.as_ref(), &path, &key, case)
}

fn decrypt_audit(
    db: &dyn ReadableDatabase,
    p: &Path,
    key: &StoreKey,
    case: Option<CaseId>,
) -> Result<Vec<(u64, Link, AuditEntry)>, StoreError> {
    let tx = db.begin_read().at(p)?;
    let table = match tx.open_table(AUDIT) {
        Ok(table) => table,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(database(p, e)),
    };
    let mut records = Vec::new();
    for row in table.iter().at(p)? {
        let (seq, value) = row.at(p)?;
        let seq = seq.value();
        let record = StoredRecord::decode(value.value())
            .map_err(|error| StoreError::Chain(ChainError::BadRecord { seq, error }))?;
        if let Some(ciphertext) = record.ciphertext {
            records.push((seq, record.link, ciphertext));
        }
    }
    let sealed: Vec<&[u8]> = records.iter().map(|(_, _, ciphertext)| ciphertext.as_slice()).collect();
    let entries = open_many::<AuditEntry>(key, &sealed)?;
    Ok(records
        .iter()
        .zip(entries)
        .filter(|(_, entry)| case.is_none() || entry.case == case)
        .map(|((seq, link, _), entry)| (*seq, *link, entry))
        .collect())
}

/// An audit entry with its sequence number and chain link.
pub type NumberedEntry = (u64, Link, AuditEntry);

/// Decrypting threads running now, across all callers.
static DECRYPT_SLOTS: Slots = Slots(std::sync::atomic::AtomicUsize::new(0));

/// A count of threads in use, against a cap given at each take.
struct Slots(std::sync::atomic::AtomicUsize);

/// Threads taken from [`Slots`], given back on drop.
struct Taken<'a> {
    slots: &'a Slots,
    count: usize,
}

impl Slots {
    /// Takes up to `cap` minus those in use.
    fn take(&self, cap: usize) -> Taken<'_> {
        use std::sync::atomic::Ordering::SeqCst;
        let mut count = 0;
        let _ = self.0.fetch_update(SeqCst, SeqCst, |used| {
            count = cap.saturating_sub(used);
            Some(used + count)
        });
        Taken { slots: self, count }
    }
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.slots.0.fetch_sub(self.count, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Decrypts and decodes many values, spread over the cores when there are many: opening an
/// age value costs about as much as hashing 10 KiB.
fn open_many<T: serde::de::DeserializeOwned + Send>(
    key: &StoreKey,
    sealed: &[impl AsRef<[u8]> + Sync],
) -> Result<Vec<T>, StoreError> {
    let open = |chunk: &[_]| -> Result<Vec<T>, StoreError> {
        chunk.iter().map(|value: &_| decode_json(&key.open(AsRef::<[u8]>::as_ref(value))?)).collect()
    };
    // Spread over the cores, but never more decrypting threads at once than there are cores,
    // however many requests decrypt together: each stack is locked memory the model counts
    // (sandbox::memory). A thread that cannot be had leaves its share to this one.
    let workers = DECRYPT_SLOTS.take(crate::sandbox::memory::decrypt_cores().saturating_sub(1));
    if workers.count == 0 || sealed.len() < 512 {
        return open(sealed);
    }
    let parts: Vec<Result<Vec<T>, StoreError>> = std::thread::scope(|scope| {
        let mut chunks = sealed.chunks(sealed.len().div_ceil(workers.count + 1));
        let mine = chunks.next().unwrap_or_default();
        let handles: Vec<_> = chunks
            .map(|chunk| {
                let spawned = std::thread::Builder::new()
                    .stack_size(crate::sandbox::memory::DECRYPT_STACK_BYTES)
                    .spawn_scoped(scope, move || open(chunk));
                (chunk, spawned.ok())
            })
            .collect();
        let mut parts = vec![open(mine)];
        for (chunk, handle) in handles {
            parts.push(match handle {
                Some(handle) => handle.join().expect("a decrypting thread panicked"),
                None => open(chunk),
            });
        }
        parts
    });
    let mut values = Vec::with_capacity(sealed.len());
    for part in parts {
        values.extend(part?);
    }
    Ok(values)
}

/// Checks (or, in a new file, writes) the layout version, and unlocks (or creates) the keyring.
/// When the configured recipients differ from the keyring's, the keyring is re-encrypted to
/// the configured ones and the change is audited; the store key stays (`keys rotate` changes
/// it, which is what shuts out a removed recipient who kept a copy of the file).
fn prepare(db: &Database, p: &Path, keys: &StoreKeys) -> Result<StoreKey, StoreError> {
    let tx = begin_durable(db, p)?;
    let mut upgrade = None;
    let (key, rewrapped_from) = {
        let mut meta = tx.open_table(META).at(p)?;
        let found = meta.get("schema").at(p)?.map(|v| schema_version(v.value()));
        match found {
            Some(Some(SCHEMA_VERSION)) => {}
            Some(Some(found @ (UPGRADABLE_SCHEMA | UNINDEXED_SCHEMA))) => {
                upgrade = Some(found);
                meta.insert("schema", SCHEMA_VERSION.to_be_bytes().as_slice()).at(p)?;
            }
            Some(found) => return Err(schema_error(p, found.unwrap_or(0))),
            None => {
                let empty = tx.open_table(AUDIT).at(p)?.is_empty().at(p)?
                    && tx.open_table(REVISIONS).at(p)?.is_empty().at(p)?;
                if !empty {
                    return Err(schema_error(p, 0));
                }
                meta.insert("schema", SCHEMA_VERSION.to_be_bytes().as_slice()).at(p)?;
            }
        }
        let existing = meta.get(KEYRING).at(p)?.map(|sealed| unlock(p, &keys.identity, sealed.value()));
        let (key, previous) = match existing {
            Some(keyring) => {
                let keyring = keyring?;
                (keyring.key, Some(keyring.recipients))
            }
            None => {
                let key = StoreKey::generate();
                meta.insert(KEY_ID, key.id().as_slice()).at(p)?;
                (key, None)
            }
        };
        let rewrapped_from = match previous {
            Some(previous) if previous == keys.recipients => None,
            previous => {
                let keyring = Keyring { key: key.clone(), recipients: keys.recipients.clone() };
                meta.insert(KEYRING, keyring.seal()?.as_slice()).at(p)?;
                previous
            }
        };
        tx.open_table(CASES).at(p)?;
        tx.open_multimap_table(INDEX).at(p)?;
        tx.open_table(case_index::SUMMARIES).at(p)?;
        tx.open_table(case_index::FACETS).at(p)?;
        tx.open_table(case_index::DAYS).at(p)?;
        (key, rewrapped_from)
    };
    if let Some(previous) = rewrapped_from {
        let entry = AuditEntry::now(
            Actor::System,
            Action::RotateKeys,
            None,
            Outcome::Done,
            format!(
                "keyring re-encrypted: the configured recipients changed from {} to {}; the store key is \
                 unchanged",
                previous.len(),
                keys.recipients.len()
            ),
        );
        Batch::new(&tx, keys, &key, p).append_audit(&entry, None)?;
    }
    if upgrade == Some(UPGRADABLE_SCHEMA) {
        upgrade_from_2(&tx, p, keys, &key)?;
    }
    if upgrade.is_some() {
        upgrade_from_3(&tx, p, keys, &key)?;
    }
    tx.commit().at(p)?;
    Ok(key)
}

/// Layout 2 to 3, in the opening transaction: revisions written before the chain committed them
/// are committed, as they are now, by one entry that says so. (What was altered before the
/// upgrade cannot be told from this point on; what is altered after it can.)
fn upgrade_from_2(
    tx: &WriteTransaction,
    p: &Path,
    keys: &StoreKeys,
    key: &StoreKey,
) -> Result<(), StoreError> {
    let mut found = Vec::new();
    {
        let revisions = tx.open_table(REVISIONS).at(p)?;
        for row in revisions.iter().at(p)? {
            let (place, value) = row.at(p)?;
            let (case, number) = place.value();
            found.push(RevisionCommit { case, number, hash: chain::sha256(value.value()) });
        }
    }
    let entry = AuditEntry::now(
        Actor::System,
        Action::UpgradeStore,
        None,
        Outcome::Done,
        format!(
            "store layout {UPGRADABLE_SCHEMA} upgraded to {UNINDEXED_SCHEMA}: the {} revision(s) found are \
             committed to the audit chain as they are now",
            found.len()
        ),
    );
    let mut batch = Batch::new(tx, keys, key, p);
    batch.revisions = found;
    batch.append_audit(&entry, None)?;
    Ok(())
}

/// Layout 3 to 4, in the opening transaction: the case-log index is built from the revisions,
/// and one entry says so (it commits no revision: the index is derived from them).
fn upgrade_from_3(
    tx: &WriteTransaction,
    p: &Path,
    keys: &StoreKeys,
    key: &StoreKey,
) -> Result<(), StoreError> {
    let cases = case_index::rebuild(tx, p, &keys.index, key)?;
    let entry = AuditEntry::now(
        Actor::System,
        Action::UpgradeStore,
        None,
        Outcome::Done,
        format!(
            "store layout {UNINDEXED_SCHEMA} upgraded to {SCHEMA_VERSION}: the case-log index was built from the \
             {cases} case(s) found"
        ),
    );
    Batch::new(tx, keys, key, p).append_audit(&entry, None)?;
    Ok(())
}

/// Refuses to write with `key` if the file's store key is another one (a rotation by another
/// process). Checked inside the write transaction, so a rotation cannot slip in between.
fn ensure_current_key(tx: &WriteTransaction, p: &Path, key: &StoreKey) -> Result<(), StoreError> {
    let meta = tx.open_table(META).at(p)?;
    let current = meta.get(KEY_ID).at(p)?;
    if current.as_ref().map(|id| id.value()) == Some(key.id().as_slice()) {
        Ok(())
    } else {
        Err(StoreError::KeysRotated { path: p.to_owned() })
    }
}

fn unlock(p: &Path, identity: &AgeIdentity, sealed: &[u8]) -> Result<Keyring, StoreError> {
    Keyring::open(identity, sealed)
        .map_err(|error| StoreError::Locked { path: p.to_owned(), reason: error.to_string() })
}

/// Opens an existing store file without keys, checking its layout version: read-only when
/// possible, read-write only when redb must first repair it after an unclean stop (a repair
/// rewrites allocation state, never content).
fn open_read_only(path: &Path) -> Result<Box<dyn ReadableDatabase>, StoreError> {
    let p = path;
    if !path.exists() {
        return Err(database(path, "no store file here; check store.data_dir"));
    }
    let builder = {
        let mut builder = Database::builder();
        builder.set_concurrency_mode(ConcurrencyMode::MultiWriter);
        builder.set_cache_size(crate::config::STORE_CACHE_BYTES);
        builder
    };
    let db: Box<dyn ReadableDatabase> = match builder.open_read_only(path) {
        Ok(db) => Box::new(db),
        Err(read_only_error) => match builder.open(path) {
            Ok(db) => Box::new(db),
            Err(error) => {
                return Err(database(
                    path,
                    format!("{read_only_error}; opening it to repair it failed too: {error}"),
                ));
            }
        },
    };
    {
        let tx = db.begin_read().at(p)?;
        let meta = tx.open_table(META).at(p)?;
        let found = meta.get("schema").at(p)?.and_then(|v| schema_version(v.value()));
        if !matches!(found, Some(SCHEMA_VERSION | UNINDEXED_SCHEMA)) {
            return Err(schema_error(path, found.unwrap_or(0)));
        }
    }
    Ok(db)
}

/// A write transaction that is on disk when `commit` returns, written in two phases so that a
/// torn write cannot be mistaken for a commit.
fn begin_durable(db: &Database, p: &Path) -> Result<WriteTransaction, StoreError> {
    let mut tx = db.begin_write().at(p)?;
    tx.set_durability(Durability::Immediate).at(p)?;
    tx.set_two_phase_commit(true);
    Ok(tx)
}

fn schema_version(bytes: &[u8]) -> Option<u32> {
    <[u8; 4]>::try_from(bytes).ok().map(u32::from_be_bytes)
}

fn schema_error(path: &Path, found: u32) -> StoreError {
    let advice = if found == UPGRADABLE_SCHEMA || found == UNINDEXED_SCHEMA {
        "start `takedown serve` (or any command that opens it with the store identity) once with this \
         version: it upgrades the layout in place"
    } else if found < SCHEMA_VERSION {
        "it was written by an older takedown; keep that version to read it, or migrate it first"
    } else {
        "it was written by a newer takedown; run that version"
    };
    StoreError::Schema { path: path.to_owned(), found, advice }
}

fn database(path: &Path, error: impl Display) -> StoreError {
    StoreError::Database { path: path.to_owned(), message: error.to_string() }
}

/// Attaches the store path to redb and I/O errors.
trait At<T> {
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T, E: Display> At<T> for Result<T, E> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| database(path, e))
    }
}

/// Parses a decrypted value. The error names only the kind and place of the problem: serde's
/// own message can quote the decrypted text, which must never reach a log or a terminal.
fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| {
        StoreError::Format(format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_store(tag: &str) -> (PathBuf, Store) {
        let dir = std::env::temp_dir().join(format!("takedown-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let index = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        let store = Store::open(&dir, StoreKeys::new(AgeIdentity::generate(), &[], index), 1000).unwrap();
        (dir, store)
    }

    fn entry(details: &str) -> AuditEntry {
        AuditEntry::now(Actor::System, Action::RotateKeys, None, Outcome::Done, details.to_owned())
    }

    #[test]
    fn start_up_checks_only_what_follows_its_own_checkpoint_and_everything_otherwise() {
        let (dir, store) = scratch_store("start-check");
        let key = CheckpointKey::parse(CheckpointKey::generate().unwrap().as_bytes()).unwrap();
        let other = CheckpointKey::parse(CheckpointKey::generate().unwrap().as_bytes()).unwrap();
        store.audit(&entry("one")).unwrap();
        let why = |check: StartCheck| match check {
            StartCheck::Full { why, .. } => why,
            partial => panic!("expected a full check, got {partial:?}"),
        };
        assert!(why(store.verify_since_checkpoint(&key.public()).unwrap()).contains("no checkpoint"));
        store.record_checkpoint(&key).unwrap();
        store.audit(&entry("two")).unwrap();
        let check = store.verify_since_checkpoint(&key.public()).unwrap();
        let StartCheck::SinceCheckpoint { verified, checkpoint } = check else { panic!("{check:?}") };
        assert_eq!((verified.entries, checkpoint), (2, 1));
        assert_eq!(verified, store.verify().unwrap(), "the same head as the whole chain's");
        assert!(why(store.verify_since_checkpoint(&other.public()).unwrap()).contains("another key"));
        // A key rotation after the checkpoint re-commits older records: everything is checked.
        let (store, _) = store.rotate(AgeIdentity::generate(), &[], Actor::System).unwrap();
        assert!(why(store.verify_since_checkpoint(&key.public()).unwrap()).contains("rotated the keys"));
        // Writes refused after a failed whole-chain check: nothing is appended, the reason is said.
        let head = store.head().unwrap();
        store.refuse_writes("entry 1: altered".into());
        let refused = store.audit(&entry("three")).unwrap_err().to_string();
        assert!(
            refused.contains("entry 1: altered") && refused.contains("takedown audit verify"),
            "{refused}"
        );
        assert!(store.record_checkpoint(&key).is_err());
        assert_eq!(store.head().unwrap(), head);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_value_that_does_not_parse_is_not_quoted_in_the_error() {
        let err = decode_json::<u32>(br#""CheckUser 203.0.113.7""#).unwrap_err().to_string();
        assert!(!err.contains("203.0.113.7") && err.contains("line 1"), "{err}");
    }
}
