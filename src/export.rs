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

/// Cases read, decrypted and written at a time.
const CASES_PER_CHUNK: usize = 32;

/// Audit entries read, decrypted and written at a time.
const AUDIT_PER_CHUNK: usize = 256;

/// Writes an export of `selection` encrypted to `recipients` into `output`.
///
/// Streamed: cases are read a chunk at a time and written as they are read, and the audit log
/// is read in chunks once for its size and digest (which the tar header and the manifest need
/// first) and, unless its lines fit in a buffer, once more to write it; so memory stays bounded
/// however large the store is (see `sandbox::memory`). The audit entries are those up to the head when the export began.
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
    let (entries_total, head) = store.head()?;
    let (case_ids, all) = match selection {
        Selection::All => (store.case_ids()?, true),
        Selection::Cases(ids) => (ids.clone(), false),
    };
    let wanted = |entry: &AuditEntry| all || entry.case.is_some_and(|case| case_ids.contains(&case));

    let encryptor = crypt::encrypting_writer(recipients, output)?;
    let mut archive = Archive { tar: tar::Builder::new(encryptor), directory, manifest: String::new(), now };

    for chunk in case_ids.chunks(CASES_PER_CHUNK) {
        for (id, revisions) in store.cases(chunk)? {
            archive.file(&format!("cases/{id}.json"), &to_json(&revisions)?)?;
        }
    }

    // First pass: the audit file's size, digest and entry count, and its lines while they fit
    // in a chunk's buffer (a case's entries do: then there is no second pass).
    let mut measured = Measured::default();
    let mut held = Some(Vec::new());
    for_audit_lines(store, entries_total, &wanted, |line| {
        measured.add(line);
        if let Some(buffer) = &mut held {
            if buffer.len() + line.len() <= crate::sandbox::memory::STREAM_BUFFER_BYTES / 2 {
                buffer.extend_from_slice(line);
            } else {
                held = None;
            }
        }
        Ok(())
    })?;
    let written = match held {
        Some(lines) => {
            archive.entry("audit.jsonl", measured.bytes, |sink| sink.write_all(&lines))?;
            measured.digest()
        }
        None => {
            // Second pass: the same lines into the archive (an erasure in between changes them).
            let mut written = Measured::default();
            archive.entry("audit.jsonl", measured.bytes, |sink| {
                for_audit_lines(store, entries_total, &wanted, |line| {
                    written.add(line);
                    sink.write_all(line)
                })
            })?;
            written.digest()
        }
    };
    if written != measured.digest() {
        return Err(StoreError::Format(
            "the audit log changed while it was exported (an entry was erased); export again".to_owned(),
        )
        .into());
    }
    archive.add_to_manifest("audit.jsonl", &measured.digest());

    archive.file(
        "audit-head.txt",
        format!(
            "entries {entries_total}\nhead {head}\nexported {}\n\
             Compare the head with one recorded independently (printed, signed or mailed); \
             `takedown audit verify --expect-head {head}` checks it against the store.\n",
            now.format(&Rfc3339).unwrap_or_default()
        )
        .as_bytes(),
    )?;
    archive.file("README.txt", README.as_bytes())?;
    let manifest = std::mem::take(&mut archive.manifest);
    archive.entry("MANIFEST.sha256", manifest.len() as u64, |sink| sink.write_all(manifest.as_bytes()))?;
    let directory = archive.directory.clone();
    let encryptor = archive.tar.into_inner()?;
    encryptor.finish()?;
    Ok(ExportSummary {
        cases: case_ids.len(),
        audit_entries: measured.entries,
        head,
        entries_total,
        directory,
    })
}

/// The tar archive being written, and the manifest of what is in it so far.
struct Archive<W: Write> {
    tar: tar::Builder<W>,
    directory: String,
    manifest: String,
    now: OffsetDateTime,
}

impl<W: Write> Archive<W> {
    /// Adds a file held whole (one case, a short text) and its manifest line.
    fn file(&mut self, name: &str, bytes: &[u8]) -> Result<(), ExportError> {
        self.entry(name, bytes.len() as u64, |sink| sink.write_all(bytes))?;
        self.add_to_manifest(name, &sha256(bytes));
        Ok(())
    }

    fn add_to_manifest(&mut self, name: &str, digest: &[u8; 32]) {
        self.manifest.push_str(&format!("{}  {name}\n", hex::encode(digest)));
    }

    /// Writes a tar header for `name` of `size` bytes, then what `fill` writes (which must be
    /// exactly `size` bytes), then the padding to the next 512-byte block.
    fn entry<E: Into<ExportError>>(
        &mut self,
        name: &str,
        size: u64,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(), ExportError> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(u64::try_from(self.now.unix_timestamp()).unwrap_or(0));
        header.set_cksum();
        // The header (and a long name's extension) only, with no body: the body follows.
        self.tar.append_data(&mut header, format!("{}/{name}", self.directory), std::io::empty())?;
        let mut counter = Counting { inner: self.tar.get_mut(), written: 0 };
        fill(&mut counter).map_err(Into::into)?;
        if counter.written != size {
            return Err(StoreError::Format(format!(
                "{name} came out at {} bytes, not the {size} announced; export again",
                counter.written
            ))
            .into());
        }
        let padding = (512 - size % 512) % 512;
        self.tar.get_mut().write_all(&[0u8; 512][..padding as usize])?;
        Ok(())
    }
}

/// A writer that counts what passes through.
struct Counting<'a, W: Write> {
    inner: &'a mut W,
    written: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Size, digest and line count of a file produced in pieces.
#[derive(Default)]
struct Measured {
    bytes: u64,
    entries: usize,
    hasher: sha2::Sha256,
}

impl Measured {
    fn add(&mut self, line: &[u8]) {
        use sha2::Digest as _;
        self.bytes += line.len() as u64;
        self.entries += 1;
        self.hasher.update(line);
    }

    fn digest(&self) -> [u8; 32] {
        use sha2::Digest as _;
        self.hasher.clone().finalize().into()
    }
}

/// Calls `each` with every audit line (JSON and a newline) of the entries `wanted`, numbered up
/// to `through`, reading and decrypting [`AUDIT_PER_CHUNK`] at a time.
fn for_audit_lines(
    store: &Store,
    through: u64,
    wanted: &dyn Fn(&AuditEntry) -> bool,
    mut each: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), ExportError> {
    let mut from = Some(1);
    let mut line = Vec::new();
    while let Some(start) = from {
        let (chunk, next) = store.audit_chunk(start, through, AUDIT_PER_CHUNK)?;
        for (seq, link, entry) in chunk.iter().filter(|(_, _, entry)| wanted(entry)) {
            line.clear();
            serde_json::to_writer(&mut line, &AuditLine { seq: *seq, link: link.to_string(), entry })
                .map_err(|e| StoreError::Format(e.to_string()))?;
            line.push(b'\n');
            each(&line)?;
        }
        from = next;
    }
    Ok(())
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
