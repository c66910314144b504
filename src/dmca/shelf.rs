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

/// The documents of one form or case.
struct Held {
    staff: String,
    until: Instant,
    /// Each upload with the indexes of the files kept from it.
    uploads: Vec<(MediaUpload, Vec<usize>)>,
    /// The form's last wiki lookup.
    lookup: Option<WikiLookup>,
}

impl Held {
    fn new(staff: &str) -> Self {
        Held { staff: staff.to_owned(), until: Instant::now() + HOLD_FOR, uploads: Vec::new(), lookup: None }
    }
}

/// The held documents, by key (a random token for a form being corrected, the case ID once
/// it is recorded).
#[derive(Default)]
pub struct DocumentShelf {
    held: Mutex<HashMap<String, Held>>,
}

/// A random key for a form's held documents (128 bits, hex).
pub fn new_key() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).expect("the system random number generator failed");
    hex::encode(bytes)
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
    /// Adds `indexes` of `upload` to what `key` holds for `staff` (replacing anything another
    /// staff member held under it).
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
        self.lock().get(key).filter(|h| h.staff == staff).and_then(|h| h.lookup.clone())
    }

    /// Changes what `staff` holds under `key` (anything another staff member held under it
    /// is dropped first), and holds it for another [`HOLD_FOR`].
    fn entry(&self, key: &str, staff: &str, change: impl FnOnce(&mut Held)) {
        let mut held = self.lock();
        let entry = held.entry(key.to_owned()).or_insert_with(|| Held::new(staff));
        if entry.staff != staff {
            *entry = Held::new(staff);
        }
        entry.until = Instant::now() + HOLD_FOR;
        change(entry);
    }

    /// What `staff` holds under `key`, as the case records it (empty if nothing, or another's).
    pub fn records(&self, key: &str, staff: &str) -> Vec<DocumentRecord> {
        let held = self.lock();
        held.get(key)
            .filter(|h| h.staff == staff)
            .map(|h| {
                h.uploads
                    .iter()
                    .flat_map(|(upload, indexes)| indexes.iter().map(|&i| record(upload, i)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Moves what `staff` holds under `from` to `to`.
    pub fn rename(&self, from: &str, to: &str, staff: &str) {
        let mut held = self.lock();
        if let Some(entry) = held.remove(from)
            && entry.staff == staff
        {
            held.insert(to.to_owned(), entry);
        }
    }

    /// Calls `use_them` with the documents `staff` holds under `key` (none if nothing is
    /// held); the bytes stay in their locked buffers.
    pub fn with<T>(&self, key: &str, staff: &str, use_them: impl FnOnce(&[DocumentBytes<'_>]) -> T) -> T {
        let mut held = self.lock();
        let Some(entry) = held.get_mut(key).filter(|h| h.staff == staff) else { return use_them(&[]) };
        entry.until = Instant::now() + HOLD_FOR;
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

    /// Drops (and so wipes) what is held under `key`.
    pub fn drop_key(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Drops everything held past its time.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.lock().retain(|_, held| held.until > now);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe_and_types_come_from_the_extension() {
        assert_eq!(safe_name("C:\\scans\\notice \"final\".PDF"), "notice _final_.PDF");
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("\n"), "document");
        assert_eq!(content_type("notice.PDF"), "application/pdf");
        assert_eq!(content_type("x.exe"), "application/octet-stream");
    }
}
