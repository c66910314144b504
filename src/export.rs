//! Legal exports: one age file that the stock `age` CLI decrypts to a tar archive of the
//! selected cases (every revision, as JSON), their audit entries, the audit head, and a
//! `MANIFEST.sha256` that `sha256sum -c` checks.
//!
//! The archive is streamed straight into the age encryptor: no plaintext is written anywhere.

use std::io::Write;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::audit::AuditEntry;
use crate::audit::chain::{Link, sha256};
use crate::cases::CaseId;
use crate::store::crypt::{self, AgeRecipient, CryptError};
use crate::store::{Store, StoreError};

/// Which cases to export.
#[derive(Clone, Debug)]
pub enum Selection {
    /// Every case, and the whole audit log.
    All,
    /// These cases, and the audit entries about them.
    Cases(Vec<CaseId>),
}

/// What an export contained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    /// Cases written.
    pub cases: usize,
    /// Audit entries written.
    pub audit_entries: usize,
    /// The audit head at the time of the export.
    pub head: Link,
    /// The audit entry count at the time of the export.
    pub entries_total: u64,
    /// The name of the directory inside the archive.
    pub directory: String,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Encryption failed.
    #[error("{0}")]
    Crypt(#[from] CryptError),
    /// Writing the output failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// Reading the store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

#[derive(Serialize)]
struct AuditLine<'a> {
    seq: u64,
    link: String,
    #[serde(flatten)]
    entry: &'a AuditEntry,
}

/// Writes an export of `selection` encrypted to `recipients` into `output`.
pub fn write(
    store: &Store,
    selection: &Selection,
    recipients: &[AgeRecipient],
    output: impl Write,
) -> Result<ExportSummary, ExportError> {
    let now = OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let directory = format!("takedown-export-{stamp}");
    let (case_ids, all) = match selection {
        Selection::All => (store.case_ids()?, true),
        Selection::Cases(ids) => (ids.clone(), false),
    };

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (id, revisions) in store.cases(&case_ids)? {
        files.push((format!("cases/{id}.json"), to_json(&revisions)?));
    }
    let mut audit = Vec::new();
    let mut audit_entries = 0;
    for (seq, link, entry) in store.audit_entries(None)? {
        if all || entry.case.is_some_and(|case| case_ids.contains(&case)) {
            let line = AuditLine { seq, link: link.to_string(), entry: &entry };
            audit.extend(serde_json::to_vec(&line).map_err(|e| StoreError::Format(e.to_string()))?);
            audit.push(b'\n');
            audit_entries += 1;
        }
    }
    files.push(("audit.jsonl".to_owned(), audit));
    let (entries_total, head) = store.head()?;
    files.push((
        "audit-head.txt".to_owned(),
        format!(
            "entries {entries_total}\nhead {head}\nexported {}\n\
             Compare the head with one recorded independently (printed, signed or mailed); \
             `takedown audit verify --expect-head {head}` checks it against the store.\n",
            now.format(&Rfc3339).unwrap_or_default()
        )
        .into_bytes(),
    ));
    files.push(("README.txt".to_owned(), README.as_bytes().to_vec()));
    let manifest: String =
        files.iter().map(|(name, bytes)| format!("{}  {name}\n", hex::encode(sha256(bytes)))).collect();
    files.push(("MANIFEST.sha256".to_owned(), manifest.into_bytes()));

    let encryptor = crypt::encrypting_writer(recipients, output)?;
    let mut archive = tar::Builder::new(encryptor);
    let mtime = u64::try_from(now.unix_timestamp()).unwrap_or(0);
    for (name, bytes) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(mtime);
        header.set_cksum();
        archive.append_data(&mut header, format!("{directory}/{name}"), bytes.as_slice())?;
    }
    let encryptor = archive.into_inner()?;
    encryptor.finish()?;
    Ok(ExportSummary { cases: case_ids.len(), audit_entries, head, entries_total, directory })
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| StoreError::Format(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

const README: &str = "\
This is an export of the Takedown case log.

  cases/<case id>.json  every revision of each case, oldest first
  audit.jsonl           the audit entries about these cases (all entries for a full export),
                        one JSON object per line, with their sequence number and chain link
  audit-head.txt        the number of audit entries and the chain head when this was exported
  MANIFEST.sha256       the SHA-256 of every other file

Check that nothing was altered since the export:

  sha256sum -c MANIFEST.sha256
";
