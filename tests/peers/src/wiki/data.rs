//! The wiki's state and its seed — pages with their wikitext and revision history, files with
//! their versions, the file archive, local and global accounts, sessions, OAuth codes and
//! tokens — plus the helpers every module shares: titles, rights, time, ids.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use serde_json::{Value, json};

/// Revision-deletion bits, as MediaWiki stores them (`rev_deleted`, `oi_deleted`, `fa_deleted`).
pub(super) const HIDE_CONTENT: u8 = 1;
pub(super) const HIDE_COMMENT: u8 = 2;
pub(super) const HIDE_USER: u8 = 4;
pub(super) const SUPPRESSED: u8 = 8;

/// Every grant the Takedown consumer may hold (its grants when `scope` is empty).
pub(super) const GRANTS: [&str; 13] = [
    "basic",
    "highvolume",
    "editpage",
    "createeditmovepage",
    "editprotected",
    "uploadfile",
    "delete",
    "oversight",
    "viewdeleted",
    "protect",
    "blockusers",
    "patrol",
    "rollback",
];

/// One revision of a page.
#[derive(Clone, Debug)]
pub(super) struct Revision {
    pub(super) revid: u64,
    pub(super) parentid: u64,
    pub(super) user: String,
    pub(super) userid: u64,
    pub(super) timestamp: String,
    pub(super) text: String,
    pub(super) summary: String,
    pub(super) bits: u8,
}

/// A page and its history, oldest revision first.
#[derive(Clone, Debug)]
pub(super) struct Page {
    pub(super) pageid: u64,
    pub(super) title: Title,
    pub(super) revisions: Vec<Revision>,
    /// Edit protection level: `sysop` needs `editprotected`, `autoconfirmed` needs
    /// `editsemiprotected`.
    pub(super) protection: Option<&'static str>,
    /// Only exists on Commons (the description page of a shared file).
    pub(super) commons_only: bool,
    /// Deleted through the job queue (too many revisions for one request).
    pub(super) huge: bool,
}

impl Page {
    pub(super) fn latest(&self) -> Option<&Revision> {
        self.revisions.last()
    }

    pub(super) fn text(&self) -> &str {
        self.latest().map_or("", |r| r.text.as_str())
    }
}

/// One version of a file.
#[derive(Clone, Debug)]
pub(super) struct FileVersion {
    /// Upload time, ISO 8601.
    pub(super) timestamp: String,
    /// `<14 digits>!<dbkey>` for old versions; the digits are when it was superseded, not
    /// when it was uploaded.
    pub(super) archive_name: Option<String>,
    pub(super) user: String,
    pub(super) userid: u64,
    pub(super) size: u64,
    pub(super) width: u64,
    pub(super) height: u64,
    pub(super) sha1: String,
    pub(super) mime: String,
    pub(super) comment: String,
    pub(super) bits: u8,
}

/// A file (`name` is the dbkey, `Example.jpg`), newest version first.
#[derive(Clone, Debug)]
pub(super) struct FileRecord {
    pub(super) name: String,
    pub(super) versions: Vec<FileVersion>,
    /// Hosted on Commons: `shared` on other hosts.
    pub(super) commons_only: bool,
}

/// A deleted file version (a `filearchive` row).
#[derive(Clone, Debug)]
pub(super) struct ArchivedFile {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) version: FileVersion,
    pub(super) deleted_by: String,
    pub(super) deleted_reason: String,
    pub(super) deleted_at: String,
}

/// A deleted page with its revisions (the `archive` table).
#[derive(Clone, Debug)]
pub(super) struct DeletedPage {
    pub(super) title: Title,
    pub(super) pageid: u64,
    pub(super) revisions: Vec<Revision>,
    pub(super) deleted_at: String,
}

/// A local account.
#[derive(Clone, Debug)]
pub(super) struct User {
    pub(super) id: u64,
    pub(super) name: String,
    /// Explicit groups (`*` and `user` are implied).
    pub(super) groups: Vec<String>,
    pub(super) editcount: u64,
    pub(super) registration: String,
}

/// A CentralAuth account.
#[derive(Clone, Debug)]
pub(super) struct GlobalAccount {
    pub(super) id: u64,
    pub(super) name: String,
    pub(super) home: &'static str,
    pub(super) registration: &'static str,
    pub(super) locked: bool,
    pub(super) hidden: bool,
    pub(super) groups: Vec<&'static str>,
    pub(super) merged: Vec<Attachment>,
}

/// One wiki a global account is attached to.
#[derive(Clone, Debug)]
pub(super) struct Attachment {
    pub(super) wiki: &'static str,
    pub(super) url: &'static str,
    pub(super) id: u64,
    pub(super) timestamp: &'static str,
    pub(super) method: &'static str,
    pub(super) editcount: u64,
    pub(super) registration: &'static str,
    pub(super) groups: Vec<&'static str>,
    /// (expiry, reason)
    pub(super) blocked: Option<(&'static str, &'static str)>,
}

/// A cookie session.
#[derive(Clone, Debug, Default)]
pub(super) struct Session {
    pub(super) user: Option<String>,
    pub(super) login_token_issued: bool,
}

/// An authorization code.
#[derive(Clone, Debug)]
pub(super) struct AuthCode {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) challenge: String,
    pub(super) user: String,
    pub(super) grants: Vec<String>,
    pub(super) issued: Instant,
    pub(super) used: bool,
}

/// An access token's grant.
#[derive(Clone, Debug)]
pub(super) struct Grant {
    pub(super) user: String,
    pub(super) grants: Vec<String>,
    pub(super) client_id: String,
    pub(super) expires: Instant,
}

/// Everything the wiki holds.
pub(super) struct State {
    pub(super) pages: Vec<Page>,
    pub(super) files: Vec<FileRecord>,
    pub(super) filearchive: Vec<ArchivedFile>,
    pub(super) deleted_pages: Vec<DeletedPage>,
    /// What `delete` did, for the snapshot.
    pub(super) deletions: Vec<Value>,
    /// What `revisiondelete` did, for the snapshot.
    pub(super) revision_deletions: Vec<Value>,
    pub(super) users: Vec<User>,
    pub(super) global: Vec<GlobalAccount>,
    pub(super) sessions: HashMap<String, Session>,
    pub(super) codes: HashMap<String, AuthCode>,
    pub(super) access_tokens: HashMap<String, Grant>,
    /// Refresh token → the access token it was issued with.
    pub(super) refresh_tokens: HashMap<String, String>,
    pub(super) codes_issued: u64,
    pub(super) tokens_issued: u64,
    pub(super) refreshes: u64,
    /// How long the access tokens issued from now on live, in seconds (`expires_in`).
    pub(super) token_lifetime: u64,
    pub(super) captchas: HashSet<String>,
    pub(super) captchas_issued: u64,
    pub(super) login_failures: HashMap<String, Vec<Instant>>,
    pub(super) lag: u64,
    pub(super) read_only: Option<String>,
    next_revid: u64,
    next_pageid: u64,
    next_logid: u64,
    next_fa_id: u64,
    next_user_id: u64,
    minted: u64,
}

impl State {
    /// The seeded wiki.
    pub(super) fn seed(wiki_users: &[String], bot_passwords: &[(String, String)]) -> State {
        let mut state = State {
            pages: Vec::new(),
            files: Vec::new(),
            filearchive: Vec::new(),
            deleted_pages: Vec::new(),
            deletions: Vec::new(),
            revision_deletions: Vec::new(),
            users: Vec::new(),
            global: Vec::new(),
            sessions: HashMap::new(),
            codes: HashMap::new(),
            access_tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            codes_issued: 0,
            tokens_issued: 0,
            refreshes: 0,
            token_lifetime: super::oauth::TOKEN_LIFETIME,
            captchas: HashSet::new(),
            captchas_issued: 0,
            login_failures: HashMap::new(),
            lag: 0,
            read_only: None,
            next_revid: 1000,
            next_pageid: 100,
            next_logid: 5000,
            next_fa_id: 1,
            next_user_id: 1,
            minted: 0,
        };
        for (i, name) in wiki_users.iter().enumerate() {
            let groups: &[&str] = if i == 0 { &["autoconfirmed", "sysop", "suppress"] } else { &[] };
            state.add_user(&canonical_user(name), groups, "2020-01-15T09:00:00Z");
        }
        for (login, _) in bot_passwords {
            let user = canonical_user(login.split('@').next().unwrap_or(""));
            if !user.is_empty() && state.user(&user).is_none() {
                state.add_user(&user, &[], "2021-03-01T12:00:00Z");
            }
        }
        state.next_user_id = state.next_user_id.max(50);
        for (name, registration) in [
            ("Example uploader", "2019-05-20T08:30:00Z"),
            ("Old uploader", "2012-02-02T10:00:00Z"),
            ("Locked vandal", "2024-11-30T23:00:00Z"),
            ("Hidden user", "2023-07-07T07:07:07Z"),
        ] {
            state.add_user(name, &["autoconfirmed"], registration);
        }
        state.seed_globals(wiki_users);
        state.seed_pages();
        state.seed_files();
        state
    }

    fn add_user(&mut self, name: &str, groups: &[&str], registration: &str) {
        let id = self.next_user_id;
        self.next_user_id += 1;
        self.users.push(User {
            id,
            name: name.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            editcount: 0,
            registration: registration.to_owned(),
        });
    }

    pub(super) fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub(super) fn user_id(&self, name: &str) -> u64 {
        self.user(name).map_or(0, |u| u.id)
    }

    pub(super) fn set_groups(&mut self, name: &str, groups: &[&str]) {
        let name = canonical_user(name);
        if self.user(&name).is_none() {
            self.add_user(&name, &[], "2022-01-01T00:00:00Z");
        }
        if let Some(user) = self.users.iter_mut().find(|u| u.name == name) {
            user.groups =
                groups.iter().filter(|g| !matches!(**g, "*" | "user")).map(|g| (*g).to_owned()).collect();
        }
    }

    /// A user's effective groups, `*` and `user` first.
    pub(super) fn groups_of(&self, name: &str) -> Vec<String> {
        let mut groups = vec!["*".to_owned(), "user".to_owned()];
        if let Some(user) = self.user(name) {
            groups.extend(user.groups.iter().cloned());
        }
        groups
    }

    fn seed_globals(&mut self, wiki_users: &[String]) {
        for (i, name) in wiki_users.iter().enumerate() {
            let name = canonical_user(name);
            let id = self.user_id(&name);
            let staff = i == 0;
            let local_groups = if staff { vec!["sysop", "suppress"] } else { Vec::new() };
            self.global.push(GlobalAccount {
                id,
                name,
                home: "metawiki",
                registration: "2020-01-15T09:00:00Z",
                locked: false,
                hidden: false,
                groups: if staff { vec!["staff"] } else { Vec::new() },
                merged: vec![
                    attachment("metawiki", "https://meta.wikimedia.org", id, 120, local_groups.clone(), None),
                    attachment("commonswiki", "https://commons.wikimedia.org", id, 80, local_groups, None),
                    attachment("enwiki", "https://en.wikipedia.org", id, 15, Vec::new(), None),
                ],
            });
        }
        let uploader = self.user_id("Example uploader");
        self.global.push(GlobalAccount {
            id: uploader,
            name: "Example uploader".into(),
            home: "commonswiki",
            registration: "2019-05-20T08:30:00Z",
            locked: false,
            hidden: false,
            groups: Vec::new(),
            merged: vec![
                attachment(
                    "commonswiki",
                    "https://commons.wikimedia.org",
                    uploader,
                    42,
                    vec!["autoconfirmed"],
                    None,
                ),
                attachment(
                    "enwiki",
                    "https://en.wikipedia.org",
                    uploader + 7000,
                    3,
                    Vec::new(),
                    Some(("infinity", "Repeated copyright violations")),
                ),
                attachment("dewiki", "https://de.wikipedia.org", uploader + 9000, 0, Vec::new(), None),
            ],
        });
        let old = self.user_id("Old uploader");
        self.global.push(GlobalAccount {
            id: old,
            name: "Old uploader".into(),
            home: "commonswiki",
            registration: "2012-02-02T10:00:00Z",
            locked: false,
            hidden: false,
            groups: Vec::new(),
            merged: vec![attachment(
                "commonswiki",
                "https://commons.wikimedia.org",
                old,
                310,
                Vec::new(),
                None,
            )],
        });
        let vandal = self.user_id("Locked vandal");
        self.global.push(GlobalAccount {
            id: vandal,
            name: "Locked vandal".into(),
            home: "enwiki",
            registration: "2024-11-30T23:00:00Z",
            locked: true,
            hidden: false,
            groups: Vec::new(),
            merged: vec![
                attachment(
                    "enwiki",
                    "https://en.wikipedia.org",
                    vandal + 7000,
                    12,
                    Vec::new(),
                    Some(("infinity", "Vandalism-only account")),
                ),
                attachment("commonswiki", "https://commons.wikimedia.org", vandal, 4, Vec::new(), None),
            ],
        });
        let hidden = self.user_id("Hidden user");
        self.global.push(GlobalAccount {
            id: hidden,
            name: "Hidden user".into(),
            home: "enwiki",
            registration: "2023-07-07T07:07:07Z",
            locked: true,
            hidden: true,
            groups: Vec::new(),
            merged: vec![attachment(
                "enwiki",
                "https://en.wikipedia.org",
                hidden + 7000,
                2,
                Vec::new(),
                None,
            )],
        });
    }

    fn seed_pages(&mut self) {
        let staff = self.users.first().map(|u| u.name.clone()).unwrap_or_else(|| "Example uploader".into());
        self.seed_page(
            "Main Page",
            &[("Old uploader", "2012-02-02T10:05:00Z", "Welcome to the simulated wiki.\n\nSee https://www.mediawiki.org/wiki/Help:Contents for help.", "Created page")],
            Some("sysop"),
            false,
        );
        self.seed_page(
            "Talk:Main Page",
            &[(
                "Example uploader",
                "2024-02-01T10:00:00Z",
                "== Mirror ==\nThis page is copied at http://mirror.example.net/copy/main and https://cdn.example.com/img/1.png",
                "mirror",
            )],
            None,
            false,
        );
        self.seed_page(
            "File:Example.jpg",
            &[
                (
                    "Old uploader",
                    "2024-06-01T12:00:00Z",
                    "== Summary ==\nAn example photograph.\n\n== Licensing ==\n{{cc-by-sa-4.0}}",
                    "Original upload",
                ),
                (
                    "Example uploader",
                    "2025-01-01T00:00:02Z",
                    "== Summary ==\nAn example photograph. Source: https://photos.example.com/originals/example.jpg\n\n== Licensing ==\n{{cc-by-sa-4.0}}",
                    "New version",
                ),
            ],
            None,
            false,
        );
        self.seed_page(
            "File:Hidden example.jpg",
            &[(
                "Example uploader",
                "2025-01-15T08:00:00Z",
                "A file whose old versions carry revision-deletion flags.",
                "upload",
            )],
            None,
            false,
        );
        self.seed_page(
            "File:Shared example.jpg",
            &[(
                "Example uploader",
                "2023-03-03T03:03:03Z",
                "A file hosted on Commons and used everywhere.",
                "upload",
            )],
            None,
            true,
        );
        self.seed_page(
            "User:Example uploader",
            &[(
                "Example uploader",
                "2019-05-21T08:00:00Z",
                "I upload photographs. My site: https://photos.example.com/",
                "me",
            )],
            None,
            false,
        );
        self.seed_page(
            "User talk:Example uploader",
            &[
                ("Old uploader", "2019-06-01T10:00:00Z", "== Welcome ==\nWelcome to the wiki!", "welcome"),
                (
                    staff.as_str(),
                    "2024-12-01T10:00:00Z",
                    "== Welcome ==\nWelcome to the wiki!\n\n== File permission ==\nPlease add a licence for https://photos.example.com/originals/example.jpg",
                    "/* File permission */ new section",
                ),
            ],
            None,
            false,
        );
        self.seed_page(
            "Sandbox",
            &[(
                "Example uploader",
                "2024-03-03T03:00:00Z",
                "Links: https://www.example.com/page http://example.com/ https://sub.example.com/a/b [https://example.org/x label] https://example.com/path/deeper.",
                "links",
            )],
            None,
            false,
        );
        self.seed_page(
            "Project:Copyright problems",
            &[(
                "Old uploader",
                "2024-04-04T04:00:00Z",
                "Reported copies: https://www.example.com/stolen and https://photos.example.com/originals/example.jpg",
                "report",
            )],
            None,
            false,
        );
        let big = self.seed_page(
            "Big history page",
            &[(
                "Old uploader",
                "2013-01-01T00:00:00Z",
                "A page with more revisions than one request may delete.",
                "start",
            )],
            None,
            false,
        );
        if let Some(page) = self.pages.get_mut(big) {
            page.huge = true;
        }
    }

    fn seed_page(
        &mut self,
        title: &str,
        revisions: &[(&str, &str, &str, &str)],
        protection: Option<&'static str>,
        commons_only: bool,
    ) -> usize {
        let Ok(title) = Title::parse(title) else { return 0 };
        let pageid = self.next_pageid();
        let mut page = Page { pageid, title, revisions: Vec::new(), protection, commons_only, huge: false };
        for (user, timestamp, text, summary) in revisions {
            let revid = self.next_revid();
            let parentid = page.latest().map_or(0, |r| r.revid);
            page.revisions.push(Revision {
                revid,
                parentid,
                user: (*user).to_owned(),
                userid: self.user_id(user),
                timestamp: (*timestamp).to_owned(),
                text: (*text).to_owned(),
                summary: (*summary).to_owned(),
                bits: 0,
            });
        }
        self.pages.push(page);
        self.pages.len() - 1
    }

    /// Adds a one-version file uploaded by `uploader` (created if needed) with `content`'s size
    /// and SHA-1.
    pub(super) fn add_file(&mut self, name: &str, uploader: &str, content: &[u8]) {
        let userid = self.user_id(uploader);
        let version = FileVersion {
            timestamp: "2026-01-02T03:04:05Z".to_owned(),
            archive_name: None,
            user: uploader.to_owned(),
            userid,
            size: content.len() as u64,
            width: 1,
            height: 1,
            sha1: sha1_hex(content),
            mime: "image/jpeg".to_owned(),
            comment: "added by a test".to_owned(),
            bits: 0,
        };
        self.files.push(FileRecord {
            name: name.replace(' ', "_"),
            versions: vec![version],
            commons_only: false,
        });
    }

    fn seed_files(&mut self) {
        let uploader = self.user_id("Example uploader");
        let old = self.user_id("Old uploader");
        let vandal = self.user_id("Locked vandal");
        let version = |timestamp: &str,
                       archive: Option<&str>,
                       user: &str,
                       userid: u64,
                       size: u64,
                       (width, height): (u64, u64),
                       comment: &str,
                       bits: u8| FileVersion {
            timestamp: timestamp.to_owned(),
            archive_name: archive.map(str::to_owned),
            user: user.to_owned(),
            userid,
            size,
            width,
            height,
            sha1: sha1_hex(format!("{timestamp} {user} {size}").as_bytes()),
            mime: "image/jpeg".to_owned(),
            comment: comment.to_owned(),
            bits,
        };
        self.files.push(FileRecord {
            name: "Example.jpg".into(),
            versions: vec![
                version(
                    "2025-01-01T00:00:02Z",
                    None,
                    "Example uploader",
                    uploader,
                    48_213,
                    (1024, 768),
                    "New version",
                    0,
                ),
                version(
                    "2024-06-01T12:00:00Z",
                    Some("20250101000000!Example.jpg"),
                    "Old uploader",
                    old,
                    40_000,
                    (800, 600),
                    "Original upload",
                    0,
                ),
            ],
            commons_only: false,
        });
        self.files.push(FileRecord {
            name: "Hidden_example.jpg".into(),
            versions: vec![
                version(
                    "2025-03-01T10:00:00Z",
                    None,
                    "Example uploader",
                    uploader,
                    30_001,
                    (640, 480),
                    "current",
                    0,
                ),
                version(
                    "2025-02-01T09:00:00Z",
                    Some("20250301100000!Hidden_example.jpg"),
                    "Locked vandal",
                    vandal,
                    30_002,
                    (640, 480),
                    "second",
                    HIDE_USER,
                ),
                version(
                    "2025-01-15T08:00:00Z",
                    Some("20250201090000!Hidden_example.jpg"),
                    "Locked vandal",
                    vandal,
                    30_003,
                    (640, 480),
                    "first, with a private address",
                    HIDE_CONTENT | HIDE_COMMENT | HIDE_USER | SUPPRESSED,
                ),
            ],
            commons_only: false,
        });
        self.files.push(FileRecord {
            name: "Shared_example.jpg".into(),
            versions: vec![version(
                "2023-03-03T03:03:03Z",
                None,
                "Example uploader",
                uploader,
                52_000,
                (1200, 900),
                "upload",
                0,
            )],
            commons_only: true,
        });
        for (name, ts, bits) in [
            ("Deleted_example.jpg", "2024-12-01T00:00:00Z", 0),
            ("Deleted_example.jpg", "2024-11-30T23:30:00Z", HIDE_USER),
        ] {
            let id = self.next_fa_id();
            self.filearchive.push(ArchivedFile {
                id,
                name: name.into(),
                version: version(
                    ts,
                    None,
                    "Locked vandal",
                    vandal,
                    12_345 + id,
                    (300, 200),
                    "stolen photo",
                    bits,
                ),
                deleted_by: "Old uploader".into(),
                deleted_reason: "Copyright violation".into(),
                deleted_at: "2024-12-02T00:00:00Z".into(),
            });
        }
    }

    pub(super) fn next_revid(&mut self) -> u64 {
        let id = self.next_revid;
        self.next_revid += 1;
        id
    }

    pub(super) fn next_pageid(&mut self) -> u64 {
        let id = self.next_pageid;
        self.next_pageid += 1;
        id
    }

    pub(super) fn next_logid(&mut self) -> u64 {
        let id = self.next_logid;
        self.next_logid += 1;
        id
    }

    pub(super) fn next_fa_id(&mut self) -> u64 {
        let id = self.next_fa_id;
        self.next_fa_id += 1;
        id
    }

    /// A fresh opaque value: `len` hex digits, deterministic per wiki.
    pub(super) fn mint(&mut self, kind: &str, len: usize) -> String {
        use sha2::Digest;
        self.minted += 1;
        let digest = sha2::Sha256::digest(format!("simulated wiki {kind} {}", self.minted).as_bytes());
        let mut hex = crate::request::hex(&digest);
        hex.truncate(len.min(64));
        hex
    }

    /// The page with this title, as seen from a host.
    pub(super) fn page(&self, title: &Title, commons: bool) -> Option<&Page> {
        self.pages.iter().find(|p| p.title == *title && (commons || !p.commons_only))
    }

    pub(super) fn page_index(&self, title: &Title, commons: bool) -> Option<usize> {
        self.pages.iter().position(|p| p.title == *title && (commons || !p.commons_only))
    }

    /// The file a `File:` title names, whatever the host (callers check `commons_only`).
    pub(super) fn file_index(&self, title: &Title) -> Option<usize> {
        if title.ns != 6 {
            return None;
        }
        let name = title.dbkey();
        self.files.iter().position(|f| f.name == name)
    }

    pub(super) fn snapshot(&self) -> Value {
        let pages: Vec<Value> = self
            .pages
            .iter()
            .map(|p| {
                let mut page = json!({
                    "title": p.title.text,
                    "pageid": p.pageid,
                    "revisions": p.revisions.iter().map(revision_json).collect::<Vec<_>>(),
                });
                if let Some(level) = p.protection {
                    page["protected"] = json!(level);
                }
                page
            })
            .collect();
        let files: Vec<Value> = self
            .files
            .iter()
            .map(|f| {
                json!({
                    "title": format!("File:{}", f.name.replace('_', " ")),
                    "shared": f.commons_only,
                    "versions": f.versions.iter().map(|v| json!({
                        "timestamp": v.timestamp,
                        "archivename": v.archive_name,
                        "user": v.user,
                        "sha1": v.sha1,
                        "hidden": hidden_names(v.bits),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let filearchive: Vec<Value> = self
            .filearchive
            .iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "name": a.name,
                    "timestamp": a.version.timestamp,
                    "sha1": a.version.sha1,
                    "user": a.version.user,
                    "hidden": hidden_names(a.version.bits),
                    "deleted_by": a.deleted_by,
                    "deleted_at": a.deleted_at,
                    "reason": a.deleted_reason,
                })
            })
            .collect();
        let archived: Vec<Value> = self
            .deleted_pages
            .iter()
            .map(|d| {
                json!({
                    "title": d.title.text,
                    "pageid": d.pageid,
                    "deleted_at": d.deleted_at,
                    "revisions": d.revisions.iter().map(revision_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({
            "pages": pages,
            "archived_pages": archived,
            "files": files,
            "filearchive": filearchive,
            "deleted": self.deletions,
            "revision_deletions": self.revision_deletions,
            "oauth": {
                "codes_issued": self.codes_issued,
                "tokens_issued": self.tokens_issued,
                "refreshes": self.refreshes,
            },
            "sessions": self.sessions.len(),
            "lag": self.lag,
            "read_only": self.read_only,
            "captchas_issued": self.captchas_issued,
        })
    }
}

fn attachment(
    wiki: &'static str,
    url: &'static str,
    id: u64,
    editcount: u64,
    groups: Vec<&'static str>,
    blocked: Option<(&'static str, &'static str)>,
) -> Attachment {
    Attachment {
        wiki,
        url,
        id,
        timestamp: "2020-01-15T09:00:00Z",
        method: if wiki == "commonswiki" || wiki == "metawiki" { "primary" } else { "login" },
        editcount,
        registration: "2020-01-15T09:00:00Z",
        groups,
        blocked,
    }
}

fn revision_json(r: &Revision) -> Value {
    json!({
        "revid": r.revid,
        "user": r.user,
        "timestamp": r.timestamp,
        "text": r.text,
        "summary": r.summary,
        "hidden": hidden_names(r.bits),
    })
}

/// The names of the set revision-deletion bits.
pub(super) fn hidden_names(bits: u8) -> Vec<&'static str> {
    [(HIDE_CONTENT, "content"), (HIDE_COMMENT, "comment"), (HIDE_USER, "user"), (SUPPRESSED, "suppressed")]
        .into_iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| name)
        .collect()
}

/// A normalised page title.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Title {
    pub(super) ns: i32,
    /// The full text with spaces: `User talk:Example uploader`.
    pub(super) text: String,
}

const NAMESPACES: [(i32, &str); 15] = [
    (1, "Talk"),
    (2, "User"),
    (3, "User talk"),
    (4, "Project"),
    (5, "Project talk"),
    (6, "File"),
    (7, "File talk"),
    (8, "MediaWiki"),
    (9, "MediaWiki talk"),
    (10, "Template"),
    (11, "Template talk"),
    (12, "Help"),
    (13, "Help talk"),
    (14, "Category"),
    (15, "Category talk"),
];

impl Title {
    /// Normalises a title as MediaWiki does (underscores, spaces, namespace names and aliases,
    /// first letter upper-case), or says why it is invalid.
    pub(super) fn parse(raw: &str) -> Result<Title, &'static str> {
        let spaced = raw.replace('_', " ");
        let collapsed = spaced.split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err("The requested page title is empty or contains only the name of a namespace.");
        }
        if collapsed.chars().any(|c| "#<>[]|{}".contains(c) || c.is_control()) {
            return Err("The requested page title contains invalid characters.");
        }
        let (ns, rest) = match collapsed.split_once(':') {
            Some((prefix, rest)) => match namespace_number(prefix.trim()) {
                Some(ns) => (ns, rest.trim().to_owned()),
                None => (0, collapsed.clone()),
            },
            None => (0, collapsed.clone()),
        };
        if rest.is_empty() {
            return Err("The requested page title is empty or contains only the name of a namespace.");
        }
        if rest.chars().count() > 255 {
            return Err("The requested page title is too long.");
        }
        let rest = ucfirst(&rest);
        let text = match namespace_name(ns) {
            Some(name) => format!("{name}:{rest}"),
            None => rest,
        };
        Ok(Title { ns, text })
    }

    /// The title without its namespace, with underscores (a file's name).
    pub(super) fn dbkey(&self) -> String {
        let main = match self.text.split_once(':') {
            Some((_, rest)) if self.ns != 0 => rest,
            _ => self.text.as_str(),
        };
        main.replace(' ', "_")
    }
}

fn namespace_number(prefix: &str) -> Option<i32> {
    let lower = prefix.to_lowercase().replace('_', " ");
    match lower.as_str() {
        "image" => return Some(6),
        "image talk" => return Some(7),
        "wikipedia" | "wp" => return Some(4),
        _ => {}
    }
    NAMESPACES.iter().find(|(_, name)| name.to_lowercase() == lower).map(|(ns, _)| *ns)
}

pub(super) fn namespace_name(ns: i32) -> Option<&'static str> {
    NAMESPACES.iter().find(|(n, _)| *n == ns).map(|(_, name)| *name)
}

/// Upper-cases the first letter.
pub(super) fn ucfirst(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A user name as MediaWiki stores it: underscores to spaces, first letter upper-case.
pub(super) fn canonical_user(name: &str) -> String {
    let spaced = name.replace('_', " ");
    ucfirst(spaced.trim())
}

/// The rights a group grants (a simplified Wikimedia table).
fn group_rights(group: &str) -> &'static [&'static str] {
    match group {
        "*" => &["read", "createaccount"],
        "user" => {
            &["read", "edit", "createpage", "createtalk", "upload", "reupload", "move", "applychangetags"]
        }
        "autoconfirmed" | "confirmed" => &["autoconfirmed", "editsemiprotected", "skipcaptcha"],
        "bot" => {
            &["bot", "autoconfirmed", "editsemiprotected", "skipcaptcha", "apihighlimits", "noratelimit"]
        }
        "sysop" => &[
            "autoconfirmed",
            "editsemiprotected",
            "skipcaptcha",
            "block",
            "delete",
            "deletedhistory",
            "deletedtext",
            "deletelogentry",
            "deleterevision",
            "undelete",
            "browsearchive",
            "editprotected",
            "protect",
            "rollback",
            "patrol",
            "autopatrol",
            "apihighlimits",
            "noratelimit",
        ],
        "suppress" => &[
            "suppressrevision",
            "suppressionlog",
            "hideuser",
            "viewsuppressed",
            "deleterevision",
            "deletelogentry",
            "deletedhistory",
            "deletedtext",
            "browsearchive",
        ],
        _ => &[],
    }
}

/// The rights a set of groups grants.
pub(super) fn rights_of(groups: &[String]) -> BTreeSet<String> {
    groups.iter().flat_map(|g| group_rights(g).iter().map(|r| (*r).to_owned())).collect()
}

/// The rights an OAuth grant can carry (a simplified `$wgGrantPermissions`).
fn grant_rights(grant: &str) -> &'static [&'static str] {
    match grant {
        "basic" => {
            &["read", "autoconfirmed", "editsemiprotected", "skipcaptcha", "autopatrol", "applychangetags"]
        }
        "highvolume" => &["bot", "apihighlimits", "noratelimit"],
        "editpage" => &["edit"],
        "createeditmovepage" => &["edit", "createpage", "createtalk", "move"],
        "editprotected" => &["edit", "editprotected"],
        "uploadfile" => &["upload", "reupload"],
        "delete" => &[
            "delete",
            "deletedhistory",
            "deletedtext",
            "deletelogentry",
            "deleterevision",
            "undelete",
            "browsearchive",
        ],
        "oversight" => &["suppressrevision", "suppressionlog", "hideuser", "viewsuppressed"],
        "viewdeleted" => &["browsearchive", "deletedhistory", "deletedtext"],
        "protect" => &["protect", "editprotected"],
        "blockusers" => &["block"],
        "patrol" => &["patrol"],
        "rollback" => &["rollback"],
        _ => &[],
    }
}

/// A user's rights as limited by OAuth grants.
pub(super) fn rights_under_grants(rights: &BTreeSet<String>, grants: &[String]) -> BTreeSet<String> {
    let allowed: BTreeSet<&str> = grants.iter().flat_map(|g| grant_rights(g).iter().copied()).collect();
    rights.iter().filter(|r| allowed.contains(r.as_str())).cloned().collect()
}

/// Now, ISO 8601 without fractions (`2026-05-02T10:00:00Z`).
pub(super) fn now_iso() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// `2025-01-01T00:00:02Z` → `20250101000002`.
pub(super) fn mw_timestamp(iso: &str) -> String {
    iso.chars().filter(char::is_ascii_digit).take(14).collect()
}

/// Lower-case hex SHA-1 (what imageinfo's `sha1` gives).
pub(super) fn sha1_hex(data: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    crate::request::hex(digest.as_ref())
}

/// Whether the host is Commons.
pub(super) fn is_commons(host: &str) -> bool {
    host.starts_with("commons.")
}

/// The external links of a wikitext (bare `http(s)://` URLs and the targets of `[url label]`),
/// trailing punctuation stripped as MediaWiki does.
pub(super) fn external_links(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut links = Vec::new();
    let mut from = 0;
    while from < text.len() {
        let rest = &lower[from..];
        let found = [rest.find("http://"), rest.find("https://")].into_iter().flatten().min();
        let Some(offset) = found else { break };
        let start = from + offset;
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || "[]<>\"|{}".contains(c))
            .map_or(text.len(), |e| start + e);
        let url = text[start..end].trim_end_matches(|c: char| ".,;:!?)'".contains(c));
        let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
        let preceded_by_word = text[..start].chars().next_back().is_some_and(char::is_alphanumeric);
        if !after_scheme.is_empty() && !preceded_by_word && !links.iter().any(|l| l == url) {
            links.push(url.to_owned());
        }
        from = end.max(start + 1);
    }
    links
}

/// The host of an absolute URL, lower-case.
pub(super) fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("").to_ascii_lowercase()
}
