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

    pub(crate) fn append(&self, service: PeerService, entry: &serde_json::Value) {
        let mut files = lock(&self.files);
        if let Some((_, file)) = files.iter_mut().find(|(s, _)| *s == service) {
            let _ = writeln!(file, "{entry}");
        }
    }

    pub(crate) fn read(&self, service: PeerService) -> Vec<serde_json::Value> {
        let _guard = lock(&self.files);
        let text =
            std::fs::read_to_string(self.dir.join(format!("{}.jsonl", service.name()))).unwrap_or_default();
        text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }
}
