//! What a form holds between requests: its supporting documents, in the locked media buffers
//! they arrived in (while a form with errors is corrected, so nobody uploads again, and after
//! a submission whose Lumen step must be retried), and the last wiki lookup of its files (so
//! the request records what the server itself fetched, not what a browser sent back). Held
//! for one staff member, for a bounded time, then dropped (and wiped, as every media buffer
//! is). Never written anywhere.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use super::lookup::WikiLookup;
use super::model::DocumentRecord;
use super::outbound::DocumentBytes;
use crate::media::MediaUpload;

/// How long documents are held after their last use.
pub const HOLD_FOR: Duration = Duration::from_secs(60 * 60);

/// The documents of one form or case, for one staff member.
struct Held {
    until: Instant,
    /// Each upload with the indexes of the files kept from it.
    uploads: Vec<(MediaUpload, Vec<usize>)>,
    /// The form's last wiki lookup.
    lookup: Option<WikiLookup>,
}

impl Held {
    fn new(hold_for: Duration) -> Self {
        Held { until: Instant::now() + hold_for, uploads: Vec::new(), lookup: None }
    }
}

/// Whose documents, under which key: a staff member's login and a form's key (or a case ID).
type Owner = (String, String);

/// The held documents, by staff member and key (a random [`new_key`] for a form being
/// corrected, the case ID once it is recorded). What one staff member holds is found, changed,
/// renamed or dropped only with their own login: a key presented by anyone else finds nothing.
pub struct DocumentShelf {
    held: Mutex<HashMap<Owner, Held>>,
    hold_for: Duration,
}

impl Default for DocumentShelf {
    fn default() -> Self {
        Self::new(HOLD_FOR)
    }
}

/// How a form's key begins: never the form of a case ID (32 hex digits alone).
const FORM_KEY_PREFIX: &str = "form-";

/// A random key for a form's held documents: `form-` and 256 bits in hex.
pub fn new_key() -> String {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).expect("the system random number generator failed");
    format!("{FORM_KEY_PREFIX}{}", hex::encode(bytes))
}

/// Whether `key` has the form of a [`new_key`] (a case ID never has).
pub fn is_form_key(key: &str) -> bool {
    key.strip_prefix(FORM_KEY_PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The supporting documents among an upload's files: those sent in field `documents` with a
/// name and some bytes (a browser sends an empty part when none is chosen).
pub fn document_indexes(upload: &MediaUpload) -> Vec<usize> {
    upload
        .files()
        .iter()
        .enumerate()
        .filter(|(_, file)| {
            file.field() == "documents" && !file.is_empty() && !file.file_name().trim().is_empty()
        })
        .map(|(i, _)| i)
        .collect()
}

/// What the case records of an upload's document.
pub fn record(upload: &MediaUpload, index: usize) -> DocumentRecord {
    let file = &upload.files()[index];
    DocumentRecord {
        name: safe_name(file.file_name()),
        size: file.len() as u64,
        sha256: hex::encode(file.digests().sha256),
        content_type: content_type(file.file_name()).to_owned(),
    }
}

/// A file name Lumen and a page can carry: no quotes, backslashes, slashes or control
/// characters, at most 200 characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base
        .chars()
        .map(|c| match c {
            c if c.is_control() => ' ',
            '"' | '\\' | '/' => '_',
            c => c,
        })
        .take(200)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() { "document".to_owned() } else { cleaned }
}

/// The type a document is sent as, from its name's extension (never the browser's claim).
pub fn content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "tif" | "tiff" => "image/tiff",
        "txt" => "text/plain",
        "eml" => "message/rfc822",
        "html" | "htm" => "text/html",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => "application/octet-stream",
    }
}

impl DocumentShelf {
    /// A shelf that holds documents for `hold_for` after their last use.
    pub fn new(hold_for: Duration) -> Self {
        Self { held: Mutex::new(HashMap::new()), hold_for }
    }

    /// Adds `indexes` of `upload` to what `staff` holds under `key`.
    pub fn put(&self, key: &str, staff: &str, upload: MediaUpload, indexes: Vec<usize>) {
        if indexes.is_empty() {
            return;
        }
        self.entry(key, staff, |entry| entry.uploads.push((upload, indexes)));
    }

    /// Keeps `lookup` as the last wiki lookup of the form under `key`, for `staff`.
    pub fn keep_lookup(&self, key: &str, staff: &str, lookup: WikiLookup) {
        self.entry(key, staff, |entry| entry.lookup = Some(lookup));
    }

    /// The last wiki lookup `staff` made for the form under `key`.
    pub fn lookup(&self, key: &str, staff: &str) -> Option<WikiLookup> {
        let mut held = self.lock();
        live(&mut held, &owner(staff, key)).and_then(|h| h.lookup.clone())
    }

    /// Changes what `staff` holds under `key` (what had expired is dropped first), and holds
    /// it for another [`HOLD_FOR`].
    fn entry(&self, key: &str, staff: &str, change: impl FnOnce(&mut Held)) {
        let mut held = self.lock();
        let owner = owner(staff, key);
        live(&mut held, &owner);
        let entry = held.entry(owner).or_insert_with(|| Held::new(self.hold_for));
        entry.until = Instant::now() + self.hold_for;
        change(entry);
    }

    /// What `staff` holds under `key`, as the case records it (empty if nothing).
    pub fn records(&self, key: &str, staff: &str) -> Vec<DocumentRecord> {
        let mut held = self.lock();
        live(&mut held, &owner(staff, key))
            .map(|h| {
                h.uploads
                    .iter()
                    .flat_map(|(upload, indexes)| indexes.iter().map(|&i| record(upload, i)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Moves what `staff` holds under `from` to `to` (replacing what they held there).
    pub fn rename(&self, from: &str, to: &str, staff: &str) {
        let mut held = self.lock();
        let from = owner(staff, from);
        if live(&mut held, &from).is_some()
            && let Some(entry) = held.remove(&from)
        {
            held.insert(owner(staff, to), entry);
        }
    }

    /// Calls `use_them` with the documents `staff` holds under `key` (none if nothing is
    /// held); the bytes stay in their locked buffers.
    pub fn with<T>(&self, key: &str, staff: &str, use_them: impl FnOnce(&[DocumentBytes<'_>]) -> T) -> T {
        let mut held = self.lock();
        let Some(entry) = live(&mut held, &owner(staff, key)) else { return use_them(&[]) };
        entry.until = Instant::now() + self.hold_for;
        let names: Vec<(String, &'static str)> = entry
            .uploads
            .iter()
            .flat_map(|(upload, indexes)| {
                indexes.iter().map(|&i| {
                    let name = upload.files()[i].file_name();
                    (safe_name(name), content_type(name))
                })
            })
            .collect();
        let mut documents = Vec::with_capacity(names.len());
        let mut names = names.iter();
        for (upload, indexes) in &entry.uploads {
            for &i in indexes {
                let (name, content_type) = names.next().expect("one name per document");
                let file = &upload.files()[i];
                let (data, sha256) = (upload.bytes(file), file.digests().sha256);
                documents.push(DocumentBytes { name, content_type, data, sha256 });
            }
        }
        use_them(&documents)
    }

    /// Drops (and so wipes) what `staff` holds under `key`.
    pub fn drop_key(&self, key: &str, staff: &str) {
        self.lock().remove(&owner(staff, key));
    }

    /// Drops everything held past its time (the daemon calls it every 30 seconds).
    pub fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, held| held.until > now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Owner, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn owner(staff: &str, key: &str) -> Owner {
    (staff.to_owned(), key.to_owned())
}

/// What `owner` holds, unless its time is up: then it is dropped (and so wiped, its share of
/// the media budget returned) and nothing is found.
fn live<'m>(held: &'m mut HashMap<Owner, Held>, owner: &Owner) -> Option<&'m mut Held> {
    if held.get(owner).is_some_and(|h| h.until <= Instant::now()) {
        held.remove(owner);
    }
    held.get_mut(owner)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::media::MediaBudget;

    /// An upload of one file in `documents`, received as the pipeline receives one.
    async fn upload(budget: &Arc<MediaBudget>, document: &[u8]) -> MediaUpload {
        crate::media::upload::received_for_tests(budget, "documents", "notice.pdf", document).await
    }

    #[tokio::test]
    async fn expired_documents_are_never_used_and_give_their_budget_back() {
        let budget = MediaBudget::new(1 << 20);
        let key = new_key();
        // Control: held for an hour, they are there.
        let shelf = DocumentShelf::default();
        shelf.put(&key, "dmca-agent", upload(&budget, b"%PDF held").await, vec![0]);
        assert_eq!(shelf.records(&key, "dmca-agent").len(), 1);
        assert_eq!(shelf.with(&key, "dmca-agent", |d| d.len()), 1);
        drop(shelf);
        assert_eq!(budget.in_use(), 0);
        // Held for no time at all: every read finds them expired, and drops them.
        let shelf = DocumentShelf::new(Duration::ZERO);
        for read in 0..3 {
            shelf.put(&key, "dmca-agent", upload(&budget, b"%PDF expired").await, vec![0]);
            assert!(budget.in_use() > 0);
            match read {
                0 => assert!(shelf.records(&key, "dmca-agent").is_empty(), "records"),
                1 => assert_eq!(shelf.with(&key, "dmca-agent", |d| d.len()), 0, "with"),
                _ => {
                    shelf.rename(&key, "renamed", "dmca-agent");
                    assert!(shelf.records("renamed", "dmca-agent").is_empty(), "rename");
                }
            }
            assert_eq!(budget.in_use(), 0, "read {read}: the expired documents' budget comes back");
        }
        let lookup =
            WikiLookup { at: String::new(), files: Vec::new(), uploaders: Vec::new(), problems: Vec::new() };
        shelf.keep_lookup(&key, "dmca-agent", lookup);
        assert!(shelf.lookup(&key, "dmca-agent").is_none(), "lookup");
        // The sweep drops what nobody reads again.
        shelf.put(&key, "dmca-agent", upload(&budget, b"%PDF swept").await, vec![0]);
        shelf.sweep();
        assert_eq!(budget.in_use(), 0, "swept");
    }

    #[tokio::test]
    async fn another_staffer_presenting_a_key_finds_changes_and_drops_nothing() {
        let budget = MediaBudget::new(1 << 20);
        let shelf = DocumentShelf::default();
        let key = new_key();
        assert!(is_form_key(&key) && key != new_key());
        assert!(!is_form_key(&"ab".repeat(16)), "a case ID is never a form's key");
        shelf.put(&key, "dmca-agent", upload(&budget, b"%PDF A's").await, vec![0]);
        shelf.put(&key, "outsider", upload(&budget, b"%PDF B's").await, vec![0]);
        shelf.rename(&key, "elsewhere", "outsider");
        shelf.drop_key(&key, "outsider");
        assert!(shelf.records(&key, "outsider").is_empty());
        let records = shelf.records(&key, "dmca-agent");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].sha256, hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"%PDF A's")));
        assert_eq!(shelf.records("elsewhere", "outsider").len(), 1, "B's own, renamed");
    }

    #[test]
    fn names_are_made_safe_and_types_come_from_the_extension() {
        assert_eq!(safe_name("C:\\scans\\notice \"final\".PDF"), "notice _final_.PDF");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("\n"), "document");
        assert_eq!(content_type("notice.PDF"), "application/pdf");
        assert_eq!(content_type("x.exe"), "application/octet-stream");
    }
}
