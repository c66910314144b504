//! The peers' journals: one JSON line per request received, in `peers/<service>.jsonl`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{PeerService, lock};

pub(crate) struct Journal {
    dir: PathBuf,
    files: Mutex<Vec<(PeerService, File)>>,
}

impl Journal {
    pub(crate) fn open(dir: &Path) -> std::io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let mut files = Vec::new();
        for service in PeerService::ALL {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(format!("{}.jsonl", service.name())))?;
            files.push((service, file));
        }
        Ok(Journal { dir: dir.to_owned(), files: Mutex::new(files) })
    }

    /// Appends one entry. A journal that cannot be written is a broken test setup, not a fault
    /// to hide: the tests count requests by it ("never reached the peer").
    pub(crate) fn append(&self, service: PeerService, entry: &serde_json::Value) {
        let mut files = lock(&self.files);
        let (_, file) = files.iter_mut().find(|(s, _)| *s == service).expect("every service has a journal");
        writeln!(file, "{entry}").expect("the peer's journal cannot be written");
    }

    /// Every entry so far; an unreadable file or line fails loudly for the same reason.
    pub(crate) fn read(&self, service: PeerService) -> Vec<serde_json::Value> {
        let _guard = lock(&self.files);
        let path = self.dir.join(format!("{}.jsonl", service.name()));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("the journal {} cannot be read: {err}", path.display()));
        text.lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|err| panic!("a journal line is not JSON: {err}"))
            })
            .collect()
    }
}
