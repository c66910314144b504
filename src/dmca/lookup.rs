//! What the wiki says about a request's affected files, looked up by the server through the
//! egress client (never by the browser): each file's versions with uploader, upload time and
//! SHA-1 (`imageinfo`, from Commons when the file lives there, or `filearchive` when it was
//! deleted), and each uploader's global account. The uploaders are offered on the form as
//! involved users; the facts are recorded with the request.
//!
//! The reading of the answers is pure ([`files_from_imageinfo`], [`versions_from_archive`],
//! [`uploader_from_global`], [`WikiLookup::offers`]); [`look_up`] only makes the calls.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::form::{canonical_title, same_user};
use crate::egress::client::CallContext;
use crate::services::wiki::client::{Acting, WikiClient, WikiConnection};
use crate::services::wiki::wire::{
    ArchivedFile, FileArchiveSelect, FileStatus, FileVersion, GlobalUserInfo, GlobalUserRef, ImageInfoPage,
    Limit, build_filearchive, build_globaluserinfo, parse_filearchive, parse_globaluserinfo,
};

/// Most files looked up at once (one imageinfo request).
pub const MAX_FILES: usize = 50;

/// Most uploaders whose global accounts are looked up.
pub const MAX_UPLOADERS: usize = 25;

/// Where a file stood when it was looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// On the wiki (locally or on Commons).
    Live,
    /// Deleted; its versions come from the deletion archive.
    Deleted,
    /// Neither on the wiki nor in the deletion archive.
    NotFound,
    /// Not on the wiki, and the deletion archive could not be read (deleted, or never
    /// uploaded: unknown).
    NotOnWiki,
    /// Not a valid file title.
    Invalid,
}

impl FileState {
    /// What staff read.
    pub fn label(self) -> &'static str {
        match self {
            FileState::Live => "on the wiki",
            FileState::Deleted => "deleted",
            FileState::NotFound => "not found",
            FileState::NotOnWiki => "not on the wiki (the deletion archive could not be read)",
            FileState::Invalid => "not a valid file name",
        }
    }
}

/// One version of a file as the wiki described it. A part the wiki hides is `None`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionFacts {
    /// When it was uploaded (RFC 3339).
    pub uploaded: Option<String>,
    /// Who uploaded it.
    pub uploader: Option<String>,
    /// Its SHA-1, 40 hex digits.
    pub sha1: Option<String>,
    /// Whether the wiki hides some of it (user, content or comment).
    pub hidden: bool,
}

/// One affected file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// The name as the request gives it (without `File:`).
    pub name: String,
    /// The wiki that answered (its host).
    pub wiki: String,
    /// Where it stood.
    pub state: FileState,
    /// Its versions, newest first.
    pub versions: Vec<VersionFacts>,
    /// Anything worth knowing (the wiki's reason for an invalid title, versions left out).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// What CentralAuth said about an uploader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "found")]
pub enum GlobalAccount {
    /// A global account.
    Account {
        /// Its central id.
        id: u64,
        /// Its home wiki.
        home: Option<String>,
        /// Locked globally.
        locked: bool,
        /// Edits across the wikis.
        edits: Option<u64>,
        /// How many wikis it has an account on.
        wikis: usize,
    },
    /// No global account (or a hidden one).
    None,
    /// An IP address: anonymous uploads have no account.
    Address,
    /// Not looked up (more uploaders than we look up, or the call failed).
    NotLookedUp,
}

/// One uploader of an affected file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploaderFacts {
    /// The user name (or IP address).
    pub name: String,
    /// Their global account.
    pub global: GlobalAccount,
}

/// A lookup's result.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WikiLookup {
    /// When (RFC 3339).
    pub at: String,
    /// Each affected file, in the request's order.
    pub files: Vec<FileFacts>,
    /// Each distinct uploader, in order of first appearance.
    pub uploaders: Vec<UploaderFacts>,
    /// What could not be looked up, in plain words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

// The lookup is case data: uploader names (IP addresses among them) and file names. Its
// `Debug` shows the shape only, as `FileVersion`'s leaves out the uploader.
impl std::fmt::Debug for WikiLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WikiLookup")
            .field("files", &self.files)
            .field("uploaders", &self.uploaders)
            .field("problems", &self.problems.len())
            .finish()
    }
}

impl std::fmt::Debug for FileFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileFacts")
            .field("state", &self.state)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for VersionFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VersionFacts")
            .field("uploaded", &self.uploaded)
            .field("uploader", &self.uploader.as_ref().map(|_| "…"))
            .field("sha1", &self.sha1)
            .field("hidden", &self.hidden)
            .finish()
    }
}

impl std::fmt::Debug for UploaderFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploaderFacts").field("global", &self.global).finish_non_exhaustive()
    }
}

impl WikiLookup {
    /// The uploaders to offer as involved users: those with a name the wiki showed, not IP
    /// addresses, and not already among `involved` (one name per line).
    pub fn offers(&self, involved: &str) -> Vec<&UploaderFacts> {
        self.uploaders
            .iter()
            .filter(|u| u.global != GlobalAccount::Address)
            .filter(|u| !involved.lines().any(|line| same_user(line.trim(), &u.name)))
            .collect()
    }

    /// The lookup narrowed to `files` (the request as finally recorded): facts about files no
    /// longer named, and their uploaders, are left out.
    pub fn narrowed_to(mut self, files: &[String]) -> Option<WikiLookup> {
        self.files.retain(|f| files.iter().any(|name| name == &f.name));
        if self.files.is_empty() {
            return None;
        }
        let uploaded: Vec<&str> =
            self.files.iter().flat_map(|f| &f.versions).filter_map(|v| v.uploader.as_deref()).collect();
        self.uploaders.retain(|u| uploaded.contains(&u.name.as_str()));
        Some(self)
    }
}

/// What an imageinfo answer says about one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Described (live, or an invalid title).
    Described(FileFacts),
    /// Kept in the shared repository: ask Commons.
    Shared,
    /// Not here: ask the deletion archive.
    Missing,
}

/// What an imageinfo answer says about each of `names`, in their order.
pub fn files_from_imageinfo(page: &ImageInfoPage, names: &[String], wiki: &str) -> Vec<Answer> {
    names
        .iter()
        .map(|name| {
            let sent = format!("File:{name}");
            let used = page.normalized.iter().find(|(from, _)| *from == sent).map_or(&sent, |(_, to)| to);
            let Some(info) = page.files.iter().find(|f| &f.title == used) else {
                return Answer::Missing;
            };
            let facts = |state, versions, note: String| FileFacts {
                name: name.clone(),
                wiki: wiki.to_owned(),
                state,
                versions,
                note,
            };
            match &info.status {
                FileStatus::Local => {
                    let note = if page.continuation.is_some() {
                        "the wiki has more versions than one answer holds; older ones are left out".to_owned()
                    } else {
                        String::new()
                    };
                    let versions = info.versions.iter().map(version_facts).collect();
                    Answer::Described(facts(FileState::Live, versions, note))
                }
                FileStatus::Shared { .. } => Answer::Shared,
                FileStatus::Missing => Answer::Missing,
                FileStatus::Invalid { reason } => {
                    Answer::Described(facts(FileState::Invalid, Vec::new(), reason.clone()))
                }
            }
        })
        .collect()
}

fn version_facts(version: &FileVersion) -> VersionFacts {
    VersionFacts {
        uploaded: version.timestamp.and_then(|t| t.format(&Rfc3339).ok()),
        uploader: version.user.clone(),
        sha1: version.sha1.clone(),
        hidden: version.user_hidden || version.file_hidden || version.comment_hidden,
    }
}

/// The deleted versions of `name` among archive rows (which may hold other names that share
/// its beginning), newest first.
pub fn versions_from_archive(rows: &[ArchivedFile], name: &str) -> Vec<VersionFacts> {
    let key = db_key(name);
    let mut versions: Vec<&ArchivedFile> = rows.iter().filter(|row| row.name == key).collect();
    versions.sort_by_key(|row| std::cmp::Reverse(row.timestamp));
    versions
        .into_iter()
        .map(|row| VersionFacts {
            uploaded: row.timestamp.and_then(|t| t.format(&Rfc3339).ok()),
            uploader: row.user.clone(),
            sha1: row.sha1.clone(),
            hidden: row.user_hidden || row.file_hidden || row.comment_hidden,
        })
        .collect()
}

/// What a globaluserinfo answer says about an uploader.
pub fn uploader_from_global(info: &GlobalUserInfo) -> GlobalAccount {
    match info {
        GlobalUserInfo::Missing => GlobalAccount::None,
        GlobalUserInfo::Found(user) => GlobalAccount::Account {
            id: user.id,
            home: user.home.clone(),
            locked: user.locked,
            edits: user.editcount,
            wikis: user.merged.len(),
        },
    }
}

/// The name as the wiki keys it: spaces as underscores, the first letter capitalised.
fn db_key(name: &str) -> String {
    canonical_title(name).replace(' ', "_")
}

/// Where to look, and as whom.
pub struct LookupPlan<'a> {
    /// The project's api.php.
    pub project_api: &'a Url,
    /// Commons' api.php (for files the project takes from Commons).
    pub commons_api: &'a Url,
    /// Who may read the deletion archive (`deletedhistory`): the staffer's own grant, or the
    /// bot; `None` when neither is available.
    pub archive_reader: Option<Acting<'a>>,
}

/// Who reads the deletion archive for `staff`: their own grant when connected, else the bot
/// when one is configured, else nobody.
pub fn archive_reader<'a>(wiki: &WikiClient, staff: &'a str) -> Option<Acting<'a>> {
    match wiki.connection(staff) {
        WikiConnection::Connected { .. } => Some(Acting::Staff(staff)),
        WikiConnection::NotConnected if wiki.has_bot() => Some(Acting::Bot),
        WikiConnection::NotConnected => None,
    }
}

/// Looks the files up. Every call goes through the egress client as `context` (audited); a
/// failed call becomes a problem on the page, never an error: the form stays usable.
pub async fn look_up(
    wiki: &WikiClient,
    context: &CallContext,
    plan: &LookupPlan<'_>,
    names: &[String],
) -> WikiLookup {
    let mut problems = Vec::new();
    if names.len() > MAX_FILES {
        problems.push(format!("only the first {MAX_FILES} files were looked up"));
    }
    let names: Vec<String> = names.iter().take(MAX_FILES).cloned().collect();
    let mut files: Vec<Option<FileFacts>> = vec![None; names.len()];
    let project_host = plan.project_api.host_str().unwrap_or_default().to_owned();
    let mut shared = Vec::new();
    let mut missing = Vec::new();
    let titles: Vec<String> = names.iter().map(|n| format!("File:{n}")).collect();
    let title_refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    match wiki.file_info(context, plan.project_api, Acting::Anonymous, &title_refs).await {
        Ok(page) => {
            for (i, answer) in files_from_imageinfo(&page, &names, &project_host).into_iter().enumerate() {
                match answer {
                    Answer::Described(facts) => files[i] = Some(facts),
                    Answer::Shared => shared.push(i),
                    Answer::Missing => missing.push(i),
                }
            }
        }
        Err(err) => {
            problems.push(format!("{project_host} could not be asked about the files: {}", err.summary()))
        }
    }
    if !shared.is_empty() {
        let commons_host = plan.commons_api.host_str().unwrap_or_default().to_owned();
        let wanted: Vec<String> = shared.iter().map(|&i| names[i].clone()).collect();
        let titles: Vec<String> = wanted.iter().map(|n| format!("File:{n}")).collect();
        let title_refs: Vec<&str> = titles.iter().map(String::as_str).collect();
        match wiki.file_info(context, plan.commons_api, Acting::Anonymous, &title_refs).await {
            Ok(page) => {
                for (&i, answer) in shared.iter().zip(files_from_imageinfo(&page, &wanted, &commons_host)) {
                    match answer {
                        Answer::Described(facts) => files[i] = Some(facts),
                        Answer::Shared | Answer::Missing => missing.push(i),
                    }
                }
            }
            Err(err) => {
                problems.push(format!("{commons_host} could not be asked about the files: {}", err.summary()))
            }
        }
    }
    missing.sort_unstable();
    for &i in &missing {
        let mut archive_read = plan.archive_reader.is_some();
        let versions = match plan.archive_reader {
            Some(reader) => {
                let key = db_key(&names[i]);
                let api = plan.project_api;
                let answer = wiki
                    .read(
                        context,
                        api,
                        reader,
                        |auth| {
                            build_filearchive(
                                api,
                                auth,
                                FileArchiveSelect::Prefix(&key),
                                Limit::Count(50),
                                None,
                            )
                        },
                        parse_filearchive,
                    )
                    .await;
                match answer {
                    Ok(page) => versions_from_archive(&page.files, &names[i]),
                    Err(err) => {
                        archive_read = false;
                        let problem = format!(
                            "the deletion archive of {project_host} could not be read: {}",
                            err.summary()
                        );
                        if !problems.contains(&problem) {
                            problems.push(problem);
                        }
                        Vec::new()
                    }
                }
            }
            None => Vec::new(),
        };
        let state = match (versions.is_empty(), archive_read) {
            (false, _) => FileState::Deleted,
            (true, true) => FileState::NotFound,
            (true, false) => FileState::NotOnWiki,
        };
        files[i] = Some(FileFacts {
            name: names[i].clone(),
            wiki: project_host.clone(),
            state,
            versions,
            note: String::new(),
        });
    }
    if !missing.is_empty() && plan.archive_reader.is_none() {
        problems.push(
            "deleted files were not looked up: connect your wiki account (on the home page) with the right to \
             see deleted files, or configure the bot"
                .to_owned(),
        );
    }
    let files: Vec<FileFacts> = files.into_iter().flatten().collect();
    let mut uploaders: Vec<UploaderFacts> = Vec::new();
    for name in files.iter().flat_map(|f| &f.versions).filter_map(|v| v.uploader.as_deref()) {
        if uploaders.iter().any(|u| same_user(&u.name, name)) {
            continue;
        }
        let global = if name.parse::<IpAddr>().is_ok() {
            GlobalAccount::Address
        } else if uploaders.len() >= MAX_UPLOADERS {
            GlobalAccount::NotLookedUp
        } else {
            let meta = wiki.meta_api();
            match wiki
                .read(
                    context,
                    meta,
                    Acting::Anonymous,
                    |auth| build_globaluserinfo(meta, auth, GlobalUserRef::Name(name)),
                    parse_globaluserinfo,
                )
                .await
            {
                Ok(info) => uploader_from_global(&info),
                Err(err) => {
                    problems.push(format!(
                        "the global account of an uploader could not be read: {}",
                        err.summary()
                    ));
                    GlobalAccount::NotLookedUp
                }
            }
        };
        uploaders.push(UploaderFacts { name: name.to_owned(), global });
    }
    WikiLookup {
        at: OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .format(&Rfc3339)
            .unwrap_or_default(),
        files,
        uploaders,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use hyper::StatusCode;
    use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

    use super::*;
    use crate::egress::wire::WireResponse;
    use crate::services::wiki::wire::parse_imageinfo;

    fn json(body: &str) -> WireResponse {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
        WireResponse::new(StatusCode::OK, headers, body.to_owned())
    }

    const SHA_A: &str = "0123456789abcdef0123456789abcdef01234567";
    const SHA_B: &str = "89abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn an_imageinfo_answer_tells_live_shared_missing_and_invalid_files_apart_in_the_requests_order() {
        let body = format!(
            r#"{{"query":{{"normalized":[{{"from":"File:example one.jpg","to":"File:Example one.jpg"}}],"pages":[
            {{"ns":6,"title":"File:Commons.jpg","missing":true,"known":true,"imagerepository":"shared","imageinfo":[{{"timestamp":"2026-01-01T00:00:00Z","user":"U","sha1":"{SHA_A}"}}]}},
            {{"ns":6,"title":"File:Nothing.jpg","missing":true,"imagerepository":""}},
            {{"pageid":4,"ns":6,"title":"File:Example one.jpg","imagerepository":"local","imageinfo":[
                {{"timestamp":"2026-04-01T12:00:00Z","user":"Uploader","userid":7,"sha1":"{SHA_A}"}},
                {{"timestamp":"2020-01-01T00:00:00Z","userhidden":true,"sha1":"{SHA_B}","archivename":"20200315101010!Example_one.jpg"}}
            ]}}
        ]}}}}"#
        );
        let page = parse_imageinfo(&json(&body)).unwrap();
        let names = ["example one.jpg", "Commons.jpg", "Nothing.jpg", "Unasked.jpg"].map(str::to_owned);
        let answers = files_from_imageinfo(&page, &names, "en.wikipedia.org");
        let Answer::Described(first) = &answers[0] else { panic!("{answers:?}") };
        assert_eq!(
            (first.name.as_str(), first.state, first.wiki.as_str()),
            ("example one.jpg", FileState::Live, "en.wikipedia.org")
        );
        assert_eq!(first.versions.len(), 2);
        assert_eq!(first.versions[0].uploader.as_deref(), Some("Uploader"));
        assert_eq!(first.versions[0].uploaded.as_deref(), Some("2026-04-01T12:00:00Z"));
        assert_eq!((first.versions[1].uploader.as_deref(), first.versions[1].hidden), (None, true));
        assert_eq!(first.versions[1].sha1.as_deref(), Some(SHA_B));
        assert_eq!(answers[1], Answer::Shared);
        assert_eq!(answers[2], Answer::Missing);
        assert_eq!(answers[3], Answer::Missing, "a title the wiki left out is not assumed to exist");
    }

    #[test]
    fn the_archive_keeps_only_the_named_file_newest_first() {
        let body = format!(
            r#"{{"query":{{"filearchive":[
            {{"id":1,"name":"Photo.jpg","timestamp":"2024-01-01T00:00:00Z","user":"Old","sha1":"{SHA_A}"}},
            {{"id":2,"name":"Photo.jpg_cropped.jpg","timestamp":"2025-01-01T00:00:00Z","user":"Other","sha1":"{SHA_B}"}},
            {{"id":3,"name":"Photo.jpg","timestamp":"2024-06-01T00:00:00Z","userhidden":true,"sha1":"{SHA_B}"}}
        ]}}}}"#
        );
        let page = parse_filearchive(&json(&body)).unwrap();
        let versions = versions_from_archive(&page.files, "photo.jpg");
        assert_eq!(versions.len(), 2, "another file sharing the prefix is left out");
        assert_eq!(versions[0].uploaded.as_deref(), Some("2024-06-01T00:00:00Z"));
        assert!(versions[0].hidden && versions[0].uploader.is_none());
        assert_eq!(
            (versions[1].uploader.as_deref(), versions[1].sha1.as_deref()),
            (Some("Old"), Some(SHA_A))
        );
    }

    fn lookup() -> WikiLookup {
        let version = |user: Option<&str>| VersionFacts {
            uploaded: None,
            uploader: user.map(str::to_owned),
            sha1: Some(SHA_A.into()),
            hidden: user.is_none(),
        };
        let file = |name: &str, users: &[Option<&str>]| FileFacts {
            name: name.into(),
            wiki: "commons.wikimedia.org".into(),
            state: FileState::Live,
            versions: users.iter().map(|u| version(*u)).collect(),
            note: String::new(),
        };
        let uploader = |name: &str, global| UploaderFacts { name: name.into(), global };
        WikiLookup {
            at: "2026-11-21T00:00:00Z".into(),
            files: vec![
                file("A.jpg", &[Some("Example uploader"), None]),
                file("B.jpg", &[Some("192.0.2.7"), Some("Old uploader")]),
            ],
            uploaders: vec![
                uploader("Example uploader", GlobalAccount::None),
                uploader("192.0.2.7", GlobalAccount::Address),
                uploader("Old uploader", GlobalAccount::NotLookedUp),
            ],
            problems: Vec::new(),
        }
    }

    #[test]
    fn debug_shows_the_shape_and_no_name_or_address() {
        let shown = format!("{:?}", lookup());
        for secret in ["Example uploader", "192.0.2.7", "Old uploader", "A.jpg", "commons.wikimedia.org"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("Live") && shown.contains("Address") && shown.contains(SHA_A), "{shown}");
    }

    #[test]
    fn uploaders_are_offered_unless_already_involved_or_an_address() {
        let offered =
            |involved: &str| lookup().offers(involved).iter().map(|u| u.name.clone()).collect::<Vec<_>>();
        assert_eq!(offered(""), ["Example uploader", "Old uploader"]);
        assert_eq!(offered("someone\n  example_uploader \n"), ["Old uploader"], "MediaWiki's spelling rules");
    }

    #[test]
    fn narrowing_drops_files_no_longer_named_and_their_uploaders() {
        let narrowed = lookup().narrowed_to(&["A.jpg".to_owned()]).unwrap();
        assert_eq!(narrowed.files.len(), 1);
        assert_eq!(
            narrowed.uploaders.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(),
            ["Example uploader"]
        );
        assert!(lookup().narrowed_to(&["C.jpg".to_owned()]).is_none());
    }

    #[test]
    fn a_global_account_is_summarised_and_a_missing_one_said_so() {
        let body = r#"{"query":{"globaluserinfo":{"id":5,"name":"U","home":"commonswiki","locked":true,"editcount":42,"merged":[{"wiki":"commonswiki"},{"wiki":"enwiki"}]}}}"#;
        let info = parse_globaluserinfo(&json(body)).unwrap();
        assert_eq!(
            uploader_from_global(&info),
            GlobalAccount::Account {
                id: 5,
                home: Some("commonswiki".into()),
                locked: true,
                edits: Some(42),
                wikis: 2
            }
        );
        assert_eq!(uploader_from_global(&GlobalUserInfo::Missing), GlobalAccount::None);
    }
}
