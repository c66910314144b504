//! `action=query` reads: `prop=imageinfo` (file versions and their SHA-1s), `list=filearchive`
//! (deleted files), `meta=globaluserinfo` (CentralAuth accounts), `list=exturlusage` and
//! `list=search` (one wiki at a time; the caller walks the site matrix).
//!
//! Every list returns its [`Continue`] for the next request; a page may be short or even empty
//! while more follow (miser mode on Wikimedia applies filters after the limit), so callers
//! continue until the continuation is `None`, never until a page is short.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::admin::validate_archive_name;
use super::common::{
    Continue, Limit, MAX_TITLES, WikiAuth, api_get, as_object, check_title, continuation, excerpt, flag,
    malformed, number, object, opt_array, opt_number, opt_string, opt_timestamp, string, string_list,
};
use super::envelope::{Warning, check_envelope};
use super::error::WikiError;
use crate::egress::wire::{WireRequest, WireResponse};

const IMAGEINFO_CONTEXT: &str = "prop=imageinfo";
const FILEARCHIVE_CONTEXT: &str = "list=filearchive";
const GLOBALUSER_CONTEXT: &str = "meta=globaluserinfo";
const EXTURL_CONTEXT: &str = "list=exturlusage";
const SEARCH_CONTEXT: &str = "list=search";

/// What imageinfo asks for about each version.
const IIPROP: &str = "timestamp|user|userid|sha1|url|size|mime|archivename|comment";

/// What filearchive asks for about each deleted version.
const FAPROP: &str = "sha1|timestamp|user|size|mime|description|archivename";

// === prop=imageinfo ===

/// One page of an imageinfo answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfoPage {
    /// One entry per title the wiki reported (a title may appear again on the next page with
    /// more versions).
    pub files: Vec<FileInfo>,
    /// Titles the wiki normalised, `(as sent, as used)`.
    pub normalized: Vec<(String, String)>,
    /// Where to continue, if more versions follow (`iicontinue`).
    pub continuation: Option<Continue>,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// One file and its versions.
#[derive(Clone, Debug, PartialEq)]
pub struct FileInfo {
    /// The title (`File:X.jpg`).
    pub title: String,
    /// The description page's id, when it exists locally.
    pub page_id: Option<u64>,
    /// Where the file lives.
    pub status: FileStatus,
    /// Its versions, newest first.
    pub versions: Vec<FileVersion>,
}

/// Where a file lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Stored on this wiki.
    Local,
    /// Stored in a shared repository (Commons): deletions and revision deletions must go to
    /// commons.wikimedia.org, not this wiki.
    Shared {
        /// The repository's name (`shared`).
        repository: String,
    },
    /// No such file here (never uploaded, or deleted: see filearchive).
    Missing,
    /// The title is not valid.
    Invalid {
        /// Why, in the server's words.
        reason: String,
    },
}

/// One version of a file. Fields the caller may not see (hidden by revision deletion) are
/// `None`, with the matching `*_hidden` flag set. Its `Debug` leaves out the uploader (often an
/// IP address) and the comment, which may be hidden content.
#[derive(Clone, PartialEq)]
pub struct FileVersion {
    /// When it was uploaded.
    pub timestamp: Option<OffsetDateTime>,
    /// The uploader's name.
    pub user: Option<String>,
    /// The uploader's local id (0 for an IP or an imported upload).
    pub user_id: Option<u64>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Width in pixels.
    pub width: Option<u64>,
    /// Height in pixels.
    pub height: Option<u64>,
    /// The SHA-1 of the content, 40 lowercase hex digits.
    pub sha1: Option<String>,
    /// The media type.
    pub mime: Option<String>,
    /// The file's URL.
    pub url: Option<String>,
    /// The description page's URL.
    pub description_url: Option<String>,
    /// For old versions only: `<14-digit timestamp>!<name>`, the handle for deletion.
    pub archive_name: Option<String>,
    /// The upload comment.
    pub comment: Option<String>,
    /// The content is hidden.
    pub file_hidden: bool,
    /// The uploader is hidden.
    pub user_hidden: bool,
    /// The comment is hidden.
    pub comment_hidden: bool,
    /// A hidden part is suppressed (visible to oversighters only).
    pub suppressed: bool,
}

impl std::fmt::Debug for FileVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileVersion")
            .field("timestamp", &self.timestamp)
            .field("user", &self.user.as_ref().map(|_| "…"))
            .field("size", &self.size)
            .field("sha1", &self.sha1)
            .field("archive_name", &self.archive_name.is_some())
            .field("hidden", &(self.file_hidden, self.user_hidden, self.comment_hidden, self.suppressed))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ArchivedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchivedFile")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("user", &self.user.as_ref().map(|_| "…"))
            .field("size", &self.size)
            .field("sha1", &self.sha1)
            .field("hidden", &(self.file_hidden, self.user_hidden, self.comment_hidden, self.suppressed))
            .finish_non_exhaustive()
    }
}

impl FileVersion {
    /// The id `action=revisiondelete&type=oldimage` wants for this version: the 14-digit
    /// timestamp before the `!` of the archive name (not the upload timestamp). `None` for the
    /// current version, which cannot be hidden that way.
    pub fn revision_delete_id(&self) -> Option<&str> {
        self.archive_name.as_deref().and_then(|name| name.split_once('!')).map(|(id, _)| id)
    }
}

/// The imageinfo request for one to 50 files, every version field, `limit` versions per file.
///
/// Refuses no titles, more than 50, and invalid titles (including any with `|`).
pub fn build_imageinfo(
    api: &Url,
    auth: WikiAuth<'_>,
    titles: &[&str],
    limit: Limit,
    continuation: Option<&Continue>,
) -> Result<WireRequest, WikiError> {
    check_titles(titles)?;
    let joined = titles.join("|");
    let limit = limit.value()?;
    api_get(
        api,
        auth,
        &[
            ("action", "query"),
            ("prop", "imageinfo"),
            ("titles", &joined),
            ("iiprop", IIPROP),
            ("iilimit", &limit),
        ],
        continuation,
    )
}

/// Reads an imageinfo answer.
///
/// Refuses what [`check_envelope`] refuses; `query.pages` as an object (formatversion=1); a
/// SHA-1 that is not 40 hex digits; an archive name not of the form `<14 digits>!<name>`; a
/// timestamp that is not ISO 8601; members of the wrong type.
pub fn parse_imageinfo(response: &WireResponse) -> Result<ImageInfoPage, WikiError> {
    const C: &str = IMAGEINFO_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let query = object(&envelope.root, "query", C)?;
    let mut normalized = Vec::new();
    for entry in opt_array(query, "normalized", C)? {
        let entry = as_object(entry, C, "normalized")?;
        normalized.push((string(entry, "from", C)?, string(entry, "to", C)?));
    }
    let mut files = Vec::new();
    for page in opt_array(query, "pages", C)? {
        let page = as_object(page, C, "pages")?;
        let repository = opt_string(page, "imagerepository", C)?.unwrap_or_default();
        let status = if flag(page, "invalid", C)? {
            FileStatus::Invalid {
                reason: opt_string(page, "invalidreason", C)?.map(|r| excerpt(&r)).unwrap_or_default(),
            }
        } else if repository == "local" {
            FileStatus::Local
        } else if !repository.is_empty() {
            FileStatus::Shared { repository }
        } else {
            FileStatus::Missing
        };
        // A missing page still says so in formatversion 2 with `true`; read it to refuse "".
        let _ = flag(page, "missing", C)?;
        let _ = flag(page, "known", C)?;
        let versions = opt_array(page, "imageinfo", C)?
            .iter()
            .map(|v| file_version(as_object(v, C, "imageinfo")?))
            .collect::<Result<Vec<_>, _>>()?;
        let title = match status {
            FileStatus::Invalid { .. } => opt_string(page, "title", C)?.unwrap_or_default(),
            _ => string(page, "title", C)?,
        };
        files.push(FileInfo { title, page_id: opt_number(page, "pageid", C)?, status, versions });
    }
    Ok(ImageInfoPage {
        files,
        normalized,
        continuation: continuation(&envelope.root, C)?,
        warnings: envelope.warnings,
    })
}

fn file_version(map: &Map<String, Value>) -> Result<FileVersion, WikiError> {
    const C: &str = IMAGEINFO_CONTEXT;
    let archive_name = opt_string(map, "archivename", C)?;
    if let Some(name) = &archive_name
        && validate_archive_name(name).is_err()
    {
        return Err(malformed(C, format!("`archivename` is not `<14 digits>!<name>`: {}", excerpt(name))));
    }
    Ok(FileVersion {
        timestamp: opt_timestamp(map, "timestamp", C)?,
        user: opt_string(map, "user", C)?,
        user_id: opt_number(map, "userid", C)?,
        size: opt_number(map, "size", C)?,
        width: opt_number(map, "width", C)?,
        height: opt_number(map, "height", C)?,
        sha1: sha1(map, C)?,
        mime: opt_string(map, "mime", C)?,
        url: opt_string(map, "url", C)?,
        description_url: opt_string(map, "descriptionurl", C)?,
        archive_name,
        comment: opt_string(map, "comment", C)?,
        file_hidden: flag(map, "filehidden", C)?,
        user_hidden: flag(map, "userhidden", C)?,
        comment_hidden: flag(map, "commenthidden", C)?,
        suppressed: flag(map, "suppressed", C)?,
    })
}

/// A `sha1` member: 40 hex digits, returned in lower case.
fn sha1(map: &Map<String, Value>, context: &'static str) -> Result<Option<String>, WikiError> {
    match opt_string(map, "sha1", context)? {
        None => Ok(None),
        Some(text) if text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(text.to_ascii_lowercase()))
        }
        Some(text) => Err(malformed(context, format!("`sha1` is not 40 hex digits: {}", excerpt(&text)))),
    }
}

fn check_titles(titles: &[&str]) -> Result<(), WikiError> {
    if titles.is_empty() || titles.len() > MAX_TITLES {
        return Err(WikiError::InvalidInput {
            field: "file titles",
            reason: format!("must be 1 to {MAX_TITLES} titles, got {}", titles.len()),
        });
    }
    titles.iter().try_for_each(|title| check_title("file title", title))
}

// === list=filearchive ===

/// Which deleted files to list (names are without the namespace, with underscores).
#[derive(Clone, Copy, Debug)]
pub enum FileArchiveSelect<'a> {
    /// Names starting with this (`faprefix`).
    Prefix(&'a str),
    /// Names from `from` (inclusive) to `to` (`fafrom`, `fato`).
    Range {
        /// First name.
        from: &'a str,
        /// Last name, if bounded.
        to: Option<&'a str>,
    },
    /// Versions with this SHA-1 (`fasha1`, 40 hex digits).
    Sha1(&'a str),
}

/// One page of deleted file versions.
#[derive(Clone, Debug, PartialEq)]
pub struct FileArchivePage {
    /// The rows.
    pub files: Vec<ArchivedFile>,
    /// Where to continue (`facontinue`).
    pub continuation: Option<Continue>,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// One deleted file version (a filearchive row). Its `Debug` leaves out the uploader and the
/// comment, as [`FileVersion`]'s does.
#[derive(Clone, PartialEq)]
pub struct ArchivedFile {
    /// The row id, which `revisiondelete&type=filearchive` takes.
    pub id: u64,
    /// The file name without namespace.
    pub name: String,
    /// The title with namespace.
    pub title: Option<String>,
    /// The SHA-1, 40 lowercase hex digits.
    pub sha1: Option<String>,
    /// The uploader.
    pub user: Option<String>,
    /// The uploader's id.
    pub user_id: Option<u64>,
    /// When it was uploaded.
    pub timestamp: Option<OffsetDateTime>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// The media type.
    pub mime: Option<String>,
    /// The upload comment.
    pub description: Option<String>,
    /// The archive name it had as an old version, if it was one.
    pub archive_name: Option<String>,
    /// The content is hidden.
    pub file_hidden: bool,
    /// The uploader is hidden.
    pub user_hidden: bool,
    /// The comment is hidden.
    pub comment_hidden: bool,
    /// Suppressed.
    pub suppressed: bool,
}

/// The filearchive request (needs the `deletedhistory` right).
pub fn build_filearchive(
    api: &Url,
    auth: WikiAuth<'_>,
    select: FileArchiveSelect<'_>,
    limit: Limit,
    continuation: Option<&Continue>,
) -> Result<WireRequest, WikiError> {
    let limit = limit.value()?;
    let mut params =
        vec![("action", "query"), ("list", "filearchive"), ("faprop", FAPROP), ("falimit", &limit)];
    match select {
        FileArchiveSelect::Prefix(prefix) => {
            check_title("file name prefix", prefix)?;
            params.push(("faprefix", prefix));
        }
        FileArchiveSelect::Range { from, to } => {
            check_title("first file name", from)?;
            params.push(("fafrom", from));
            if let Some(to) = to {
                check_title("last file name", to)?;
                params.push(("fato", to));
            }
        }
        FileArchiveSelect::Sha1(sha1) => {
            if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(WikiError::InvalidInput {
                    field: "SHA-1",
                    reason: "is not 40 hex digits".to_owned(),
                });
            }
            params.push(("fasha1", sha1));
        }
    }
    api_get(api, auth, &params, continuation)
}

/// Reads a filearchive answer.
///
/// Refuses what [`check_envelope`] refuses (`permissiondenied` without `deletedhistory`); rows
/// without an id or name; a SHA-1 that is not 40 hex digits; members of the wrong type.
pub fn parse_filearchive(response: &WireResponse) -> Result<FileArchivePage, WikiError> {
    const C: &str = FILEARCHIVE_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let query = object(&envelope.root, "query", C)?;
    let files = opt_array(query, "filearchive", C)?
        .iter()
        .map(|row| {
            let row = as_object(row, C, "filearchive")?;
            Ok(ArchivedFile {
                id: number(row, "id", C)?,
                name: string(row, "name", C)?,
                title: opt_string(row, "title", C)?,
                sha1: sha1(row, C)?,
                user: opt_string(row, "user", C)?,
                user_id: opt_number(row, "userid", C)?,
                timestamp: opt_timestamp(row, "timestamp", C)?,
                size: opt_size(row, C)?,
                mime: opt_string(row, "mime", C)?,
                description: opt_string(row, "description", C)?,
                archive_name: opt_string(row, "archivename", C)?,
                file_hidden: flag(row, "filehidden", C)?,
                user_hidden: flag(row, "userhidden", C)?,
                comment_hidden: flag(row, "commenthidden", C)?,
                suppressed: flag(row, "suppressed", C)?,
            })
        })
        .collect::<Result<Vec<_>, WikiError>>()?;
    Ok(FileArchivePage { files, continuation: continuation(&envelope.root, C)?, warnings: envelope.warnings })
}

/// A filearchive row's `size`: MediaWiki copies it from the database row uncast, so it comes as
/// a string of digits ("70") from a real wiki; a JSON number is read too.
fn opt_size(row: &Map<String, Value>, context: &'static str) -> Result<Option<u64>, WikiError> {
    match row.get("size") {
        Some(Value::String(digits)) => digits
            .parse::<u64>()
            .map(Some)
            .map_err(|_| malformed(context, "`size` is not a whole number ≥ 0".to_owned())),
        _ => opt_number(row, "size", context),
    }
}

// === meta=globaluserinfo ===

/// Whose global account to describe.
#[derive(Clone, Copy, Debug)]
pub enum GlobalUserRef<'a> {
    /// By name (`guiuser`).
    Name(&'a str),
    /// By central id (`guiid`).
    Id(u64),
}

/// What CentralAuth says about a name.
#[derive(Clone, Debug, PartialEq)]
pub enum GlobalUserInfo {
    /// No such global account, or a hidden one the caller may not see.
    Missing,
    /// The account.
    Found(GlobalUser),
}

/// A global account.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalUser {
    /// The central id.
    pub id: u64,
    /// The name.
    pub name: String,
    /// The home wiki's database name.
    pub home: Option<String>,
    /// When it was registered.
    pub registration: Option<OffsetDateTime>,
    /// Globally locked.
    pub locked: bool,
    /// Hidden (suppressed from lists).
    pub hidden: bool,
    /// Global groups.
    pub groups: Vec<String>,
    /// Global rights.
    pub rights: Vec<String>,
    /// Total edits across wikis.
    pub editcount: Option<u64>,
    /// Attached local accounts.
    pub merged: Vec<GlobalAccount>,
    /// Local accounts of the same name not attached.
    pub unattached: Vec<GlobalAccount>,
}

/// A local account of a global user.
#[derive(Clone, Debug, PartialEq)]
pub struct GlobalAccount {
    /// The wiki's database name.
    pub wiki: String,
    /// The wiki's URL.
    pub url: Option<String>,
    /// The local user id.
    pub id: Option<u64>,
    /// When it was attached.
    pub timestamp: Option<OffsetDateTime>,
    /// How it was attached (`primary`, `login`, `new`…).
    pub method: Option<String>,
    /// Local edits.
    pub editcount: Option<u64>,
    /// When it was registered.
    pub registration: Option<OffsetDateTime>,
    /// Local groups (absent when none).
    pub groups: Vec<String>,
    /// The local block, if any.
    pub blocked: Option<WikiBlock>,
}

/// A block on one wiki.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WikiBlock {
    /// `infinity` or a timestamp.
    pub expiry: String,
    /// The reason given.
    pub reason: String,
}

/// The globaluserinfo request, with groups, rights, merged and unattached accounts and the edit
/// count.
pub fn build_globaluserinfo(
    api: &Url,
    auth: WikiAuth<'_>,
    user: GlobalUserRef<'_>,
) -> Result<WireRequest, WikiError> {
    let id;
    let selector = match user {
        GlobalUserRef::Name(name) => {
            check_title("user name", name)?;
            ("guiuser", name)
        }
        GlobalUserRef::Id(value) => {
            id = value.to_string();
            ("guiid", id.as_str())
        }
    };
    api_get(
        api,
        auth,
        &[
            ("action", "query"),
            ("meta", "globaluserinfo"),
            selector,
            ("guiprop", "groups|rights|merged|unattached|editcount"),
        ],
        None,
    )
}

/// Reads a globaluserinfo answer.
///
/// Refuses what [`check_envelope`] refuses (`invaliduser`, `invaliduserid`); a found account
/// without id or name; flags as `""` (formatversion=1); members of the wrong type. Timestamps
/// that do not read as ISO 8601 become `None` (very old accounts have odd registration dates).
pub fn parse_globaluserinfo(response: &WireResponse) -> Result<GlobalUserInfo, WikiError> {
    const C: &str = GLOBALUSER_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let query = object(&envelope.root, "query", C)?;
    let info = object(query, "globaluserinfo", C)?;
    if flag(info, "missing", C)? {
        return Ok(GlobalUserInfo::Missing);
    }
    let accounts = |key: &str| -> Result<Vec<GlobalAccount>, WikiError> {
        opt_array(info, key, C)?.iter().map(|a| global_account(as_object(a, C, key)?)).collect()
    };
    Ok(GlobalUserInfo::Found(GlobalUser {
        id: number(info, "id", C)?,
        name: string(info, "name", C)?,
        home: opt_string(info, "home", C)?,
        registration: lenient_timestamp(info, "registration"),
        locked: flag(info, "locked", C)?,
        hidden: flag(info, "hidden", C)?,
        groups: string_list(info, "groups", C)?,
        rights: string_list(info, "rights", C)?,
        editcount: opt_number(info, "editcount", C)?,
        merged: accounts("merged")?,
        unattached: accounts("unattached")?,
    }))
}

fn global_account(map: &Map<String, Value>) -> Result<GlobalAccount, WikiError> {
    const C: &str = GLOBALUSER_CONTEXT;
    let blocked = match map.get("blocked") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => None,
        Some(Value::Object(block)) => Some(WikiBlock {
            expiry: opt_string(block, "expiry", C)?.unwrap_or_default(),
            reason: opt_string(block, "reason", C)?.unwrap_or_default(),
        }),
        Some(_) => return Err(malformed(C, "`blocked` is not an object")),
    };
    Ok(GlobalAccount {
        wiki: string(map, "wiki", C)?,
        url: opt_string(map, "url", C)?,
        id: opt_number(map, "id", C)?,
        timestamp: lenient_timestamp(map, "timestamp"),
        method: opt_string(map, "method", C)?,
        editcount: opt_number(map, "editcount", C)?,
        registration: lenient_timestamp(map, "registration"),
        groups: string_list(map, "groups", C)?,
        blocked,
    })
}

fn lenient_timestamp(map: &Map<String, Value>, key: &str) -> Option<OffsetDateTime> {
    map.get(key).and_then(Value::as_str).and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
}

// === list=exturlusage ===

/// An external-link search.
#[derive(Clone, Copy, Debug)]
pub struct ExtUrlQuery<'a> {
    /// The link without its scheme: `example.org/path`, or `*.example.org` for every subdomain.
    pub pattern: &'a str,
    /// The scheme (`https`, `http`…); `None` for MediaWiki's default (http and https).
    pub protocol: Option<&'a str>,
    /// Namespaces to keep; empty for all.
    pub namespaces: &'a [i64],
    /// Rows per page.
    pub limit: Limit,
}

/// One page of external-link rows. It may be short or empty with a continuation still present.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtUrlPage {
    /// The rows.
    pub rows: Vec<ExtUrlRow>,
    /// Where to continue (`eucontinue`); keep going until `None`.
    pub continuation: Option<Continue>,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// A page that links to the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtUrlRow {
    /// The page id.
    pub page_id: Option<u64>,
    /// The namespace number.
    pub ns: i64,
    /// The page title.
    pub title: String,
    /// The link as stored.
    pub url: String,
}

/// The exturlusage request.
///
/// Refuses a pattern that is empty, longer than 1000 characters, holds a scheme (`://`),
/// whitespace or control characters, or a `*` anywhere but a leading `*.`; a protocol that is
/// not a bare scheme name.
pub fn build_exturlusage(
    api: &Url,
    auth: WikiAuth<'_>,
    query: &ExtUrlQuery<'_>,
    continuation: Option<&Continue>,
) -> Result<WireRequest, WikiError> {
    let pattern = query.pattern;
    let body = pattern.strip_prefix("*.").unwrap_or(pattern);
    let bad_pattern = pattern.is_empty()
        || pattern.chars().count() > 1000
        || pattern.contains("://")
        || pattern.starts_with("//")
        || body.is_empty()
        || body.contains('*')
        || pattern.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad_pattern {
        return Err(WikiError::InvalidInput {
            field: "link pattern",
            reason: "must be a host and path without the scheme, optionally starting with `*.`".to_owned(),
        });
    }
    let protocol = query.protocol.unwrap_or("");
    let scheme_byte = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'-');
    if protocol.len() > 20 || !protocol.bytes().all(scheme_byte) {
        return Err(WikiError::InvalidInput {
            field: "link protocol",
            reason: "must be a scheme name such as `https`, without `://`".to_owned(),
        });
    }
    let limit = query.limit.value()?;
    let namespaces = join_namespaces(query.namespaces);
    let mut params = vec![
        ("action", "query"),
        ("list", "exturlusage"),
        ("euquery", pattern),
        ("euprotocol", protocol),
        ("euprop", "ids|title|url"),
        ("eulimit", &limit),
    ];
    if !namespaces.is_empty() {
        params.push(("eunamespace", &namespaces));
    }
    api_get(api, auth, &params, continuation)
}

/// Reads an exturlusage answer.
///
/// Refuses what [`check_envelope`] refuses (`badquery`); rows without a title, namespace or URL;
/// `exturlusage` as an object (formatversion=1).
pub fn parse_exturlusage(response: &WireResponse) -> Result<ExtUrlPage, WikiError> {
    const C: &str = EXTURL_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let rows = match envelope.root.get("query") {
        None => Vec::new(),
        Some(query) => opt_array(as_object(query, C, "query")?, "exturlusage", C)?
            .iter()
            .map(|row| {
                let row = as_object(row, C, "exturlusage")?;
                Ok(ExtUrlRow {
                    page_id: opt_number(row, "pageid", C)?,
                    ns: namespace(row, C)?,
                    title: string(row, "title", C)?,
                    url: string(row, "url", C)?,
                })
            })
            .collect::<Result<Vec<_>, WikiError>>()?,
    };
    Ok(ExtUrlPage { rows, continuation: continuation(&envelope.root, C)?, warnings: envelope.warnings })
}

// === list=search ===

/// A full-text search.
#[derive(Clone, Copy, Debug)]
pub struct SearchQuery<'a> {
    /// The search text (CirrusSearch syntax: quotes, `insource:`…), at most 300 characters.
    pub text: &'a str,
    /// Namespaces to search; empty for all.
    pub namespaces: &'a [i64],
    /// Results per page.
    pub limit: Limit,
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    /// How many results there are in all, when reported.
    pub total_hits: Option<u64>,
    /// This page's results.
    pub hits: Vec<SearchHit>,
    /// Where to continue (`sroffset`).
    pub continuation: Option<Continue>,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchHit {
    /// The namespace number.
    pub ns: i64,
    /// The page title.
    pub title: String,
    /// The page id.
    pub page_id: Option<u64>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Word count.
    pub word_count: Option<u64>,
    /// The matching snippet: HTML with `<span class="searchmatch">`; escape before display.
    pub snippet: Option<String>,
    /// Last edit.
    pub timestamp: Option<OffsetDateTime>,
}

/// The search request (`srwhat=text`, with the total hit count).
///
/// Refuses an empty text, one over 300 characters (CirrusSearch's limit) or with control
/// characters.
pub fn build_search(
    api: &Url,
    auth: WikiAuth<'_>,
    query: &SearchQuery<'_>,
    continuation: Option<&Continue>,
) -> Result<WireRequest, WikiError> {
    if query.text.trim().is_empty()
        || query.text.chars().count() > 300
        || query.text.chars().any(char::is_control)
    {
        return Err(WikiError::InvalidInput {
            field: "search text",
            reason: "must be 1 to 300 characters without control characters".to_owned(),
        });
    }
    let limit = query.limit.value()?;
    let namespaces = join_namespaces(query.namespaces);
    let namespaces = if namespaces.is_empty() { "*".to_owned() } else { namespaces };
    api_get(
        api,
        auth,
        &[
            ("action", "query"),
            ("list", "search"),
            ("srsearch", query.text),
            ("srnamespace", &namespaces),
            ("srlimit", &limit),
            ("srwhat", "text"),
            ("srinfo", "totalhits"),
            ("srprop", "snippet|timestamp|size|wordcount"),
        ],
        continuation,
    )
}

/// Reads a search answer.
///
/// Refuses what [`check_envelope`] refuses; results without a namespace or title; `search` as an
/// object (formatversion=1).
pub fn parse_search(response: &WireResponse) -> Result<SearchPage, WikiError> {
    const C: &str = SEARCH_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let (total_hits, hits) = match envelope.root.get("query") {
        None => (None, Vec::new()),
        Some(query) => {
            let query = as_object(query, C, "query")?;
            let total_hits = match query.get("searchinfo") {
                Some(info) => opt_number(as_object(info, C, "searchinfo")?, "totalhits", C)?,
                None => None,
            };
            let hits = opt_array(query, "search", C)?
                .iter()
                .map(|hit| {
                    let hit = as_object(hit, C, "search")?;
                    Ok(SearchHit {
                        ns: namespace(hit, C)?,
                        title: string(hit, "title", C)?,
                        page_id: opt_number(hit, "pageid", C)?,
                        size: opt_number(hit, "size", C)?,
                        word_count: opt_number(hit, "wordcount", C)?,
                        snippet: opt_string(hit, "snippet", C)?,
                        timestamp: opt_timestamp(hit, "timestamp", C)?,
                    })
                })
                .collect::<Result<Vec<_>, WikiError>>()?;
            (total_hits, hits)
        }
    };
    Ok(SearchPage {
        total_hits,
        hits,
        continuation: continuation(&envelope.root, C)?,
        warnings: envelope.warnings,
    })
}

fn namespace(map: &Map<String, Value>, context: &'static str) -> Result<i64, WikiError> {
    map.get("ns").and_then(Value::as_i64).ok_or_else(|| malformed(context, "`ns` is missing or not a number"))
}

fn join_namespaces(namespaces: &[i64]) -> String {
    namespaces.iter().map(i64::to_string).collect::<Vec<_>>().join("|")
}

#[cfg(test)]
mod tests {
    use super::super::ApiCode;
    use super::super::envelope::tests::json;
    use super::*;

    fn api() -> Url {
        Url::parse("https://commons.wikimedia.org/w/api.php").unwrap()
    }

    fn query_of(request: &WireRequest) -> Vec<(String, String)> {
        request.url.query_pairs().into_owned().collect()
    }

    fn has(request: &WireRequest, key: &str, value: &str) -> bool {
        query_of(request).contains(&(key.to_owned(), value.to_owned()))
    }

    const HISTORY: &str = r#"{"continue":{"iicontinue":"Example.jpg|20200101000000","continue":"||"},"query":{"normalized":[{"fromencoded":false,"from":"File:Example_.jpg","to":"File:Example.jpg"}],"pages":[{"pageid":42,"ns":6,"title":"File:Example.jpg","imagerepository":"local","imageinfo":[
        {"timestamp":"2026-04-01T12:00:00Z","user":"Uploader","userid":7,"size":1234,"width":100,"height":80,"sha1":"0123456789abcdef0123456789abcdef01234567","mime":"image/jpeg","url":"https://upload.wikimedia.org/wikipedia/commons/a/ab/Example.jpg","descriptionurl":"https://commons.wikimedia.org/wiki/File:Example.jpg","descriptionshorturl":"https://commons.wikimedia.org/w/index.php?curid=42","comment":"new version"},
        {"timestamp":"2020-01-01T00:00:00Z","filehidden":true,"userhidden":true,"suppressed":true,"archivename":"20200315101010!Example.jpg","comment":"first"},
        {"timestamp":"2019-01-01T00:00:00Z","user":"Other","userid":8,"size":99,"sha1":"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF","archivename":"20190101000001!Example.jpg","commenthidden":true}
    ]}]}}"#;

    #[test]
    fn the_imageinfo_request_asks_for_every_version_field() {
        let request =
            build_imageinfo(&api(), WikiAuth::Anonymous, &["File:A.jpg", "File:B.png"], Limit::Max, None)
                .unwrap();
        assert!(has(&request, "titles", "File:A.jpg|File:B.png"));
        assert!(
            has(&request, "iiprop", IIPROP)
                && has(&request, "iilimit", "max")
                && has(&request, "prop", "imageinfo")
        );
        assert!(build_imageinfo(&api(), WikiAuth::Anonymous, &[], Limit::Max, None).is_err());
        assert!(build_imageinfo(&api(), WikiAuth::Anonymous, &["File:A|B.jpg"], Limit::Max, None).is_err());
        let many = vec!["File:A.jpg"; 51];
        assert!(build_imageinfo(&api(), WikiAuth::Anonymous, &many, Limit::Max, None).is_err());
    }

    #[test]
    fn a_version_history_is_read_with_hidden_parts_omitted() {
        let page = parse_imageinfo(&json(200, &[], HISTORY)).unwrap();
        assert_eq!(page.normalized, vec![("File:Example_.jpg".to_owned(), "File:Example.jpg".to_owned())]);
        let file = &page.files[0];
        assert_eq!(
            (file.title.as_str(), file.page_id, &file.status),
            ("File:Example.jpg", Some(42), &FileStatus::Local)
        );
        let [current, hidden, old] = file.versions.as_slice() else { panic!("three versions") };
        assert_eq!(current.sha1.as_deref(), Some("0123456789abcdef0123456789abcdef01234567"));
        assert_eq!((current.archive_name.as_deref(), current.revision_delete_id()), (None, None));
        assert!(hidden.file_hidden && hidden.user_hidden && hidden.suppressed && !hidden.comment_hidden);
        assert_eq!(
            (hidden.sha1.as_deref(), hidden.user.as_deref(), hidden.url.as_deref()),
            (None, None, None)
        );
        assert_eq!(hidden.revision_delete_id(), Some("20200315101010"));
        assert_eq!(old.sha1.as_deref(), Some("ffffffffffffffffffffffffffffffffffffffff"));
        assert!(old.comment_hidden);
        let printed = format!("{:?}", file.versions);
        assert!(!printed.contains("Uploader") && !printed.contains("new version"), "{printed}");
        let cont = page.continuation.unwrap();
        assert_eq!(cont.0.get("iicontinue").map(String::as_str), Some("Example.jpg|20200101000000"));
        assert_eq!(cont.0.get("continue").map(String::as_str), Some("||"));
        let next =
            build_imageinfo(&api(), WikiAuth::Anonymous, &["File:Example.jpg"], Limit::Max, Some(&cont))
                .unwrap();
        assert!(has(&next, "iicontinue", "Example.jpg|20200101000000"));
    }

    #[test]
    fn shared_missing_and_invalid_files_are_told_apart() {
        let body = r#"{"batchcomplete":true,"query":{"pages":[
            {"ns":6,"title":"File:Commons.jpg","missing":true,"known":true,"imagerepository":"shared","imageinfo":[{"timestamp":"2026-01-01T00:00:00Z","user":"U","sha1":"0123456789abcdef0123456789abcdef01234567"}]},
            {"ns":6,"title":"File:Nothing.jpg","missing":true,"imagerepository":""},
            {"title":"File:<bad>","invalidreason":"The requested page title contains invalid characters: \"<\".","invalid":true}
        ]}}"#;
        let page = parse_imageinfo(&json(200, &[], body)).unwrap();
        assert_eq!(page.files[0].status, FileStatus::Shared { repository: "shared".into() });
        assert_eq!(page.files[0].versions.len(), 1);
        assert_eq!(page.files[1].status, FileStatus::Missing);
        assert!(
            matches!(page.files[2].status, FileStatus::Invalid { ref reason } if reason.contains("invalid characters"))
        );
        assert!(page.continuation.is_none());
    }

    #[test]
    fn bad_digests_archive_names_and_v1_shapes_are_refused() {
        let bad_sha1 = r#"{"query":{"pages":[{"ns":6,"title":"File:X.jpg","imagerepository":"local","imageinfo":[{"sha1":"xyz"}]}]}}"#;
        assert!(matches!(parse_imageinfo(&json(200, &[], bad_sha1)), Err(WikiError::Malformed { .. })));
        let bad_archive = r#"{"query":{"pages":[{"ns":6,"title":"File:X.jpg","imagerepository":"local","imageinfo":[{"archivename":"2020-01-01!X.jpg"}]}]}}"#;
        assert!(matches!(parse_imageinfo(&json(200, &[], bad_archive)), Err(WikiError::Malformed { .. })));
        let v1_pages =
            r#"{"batchcomplete":"","query":{"pages":{"42":{"pageid":42,"ns":6,"title":"File:X.jpg"}}}}"#;
        assert!(matches!(parse_imageinfo(&json(200, &[], v1_pages)), Err(WikiError::FormatVersion1 { .. })));
        let v1_object = r#"{"query":{"pages":{"42":{"pageid":42,"ns":6,"title":"File:X.jpg"}}}}"#;
        assert!(matches!(parse_imageinfo(&json(200, &[], v1_object)), Err(WikiError::FormatVersion1 { .. })));
        let v1_flag = r#"{"query":{"pages":[{"ns":6,"title":"File:X.jpg","missing":""}]}}"#;
        assert!(matches!(parse_imageinfo(&json(200, &[], v1_flag)), Err(WikiError::FormatVersion1 { .. })));
        let v1_hidden = r#"{"query":{"pages":[{"ns":6,"title":"File:X.jpg","imagerepository":"local","imageinfo":[{"filehidden":""}]}]}}"#;
        assert!(matches!(parse_imageinfo(&json(200, &[], v1_hidden)), Err(WikiError::FormatVersion1 { .. })));
    }

    #[test]
    fn a_real_mediawiki_filearchive_row_with_its_size_as_a_string_is_read() {
        // Verbatim from Debian's MediaWiki 1.39 (tests/it/mediawiki.rs): ApiQueryFilearchive
        // copies `fa_size`, `fa_width` and `fa_height` from the database row uncast, so they
        // come as strings.
        let body = r#"{"batchcomplete":true,"limits":{"filearchive":5000},"query":{"filearchive":[{"id":1,"name":"Agreement_archive.png","ns":6,"title":"File:Agreement archive.png","description":"test","userid":1,"user":"Admin","sha1":"9993ed1d2781fdafd876038e6be0a1162d377be1","timestamp":"2026-12-07T21:51:10Z","size":"70","height":"1","width":"1","mime":"image/png"}]}}"#;
        let page = parse_filearchive(&json(200, &[], body)).unwrap();
        assert_eq!((page.files[0].id, page.files[0].size), (1, Some(70)));
        let not_a_size = body.replace(r#""size":"70""#, r#""size":"70 bytes""#);
        assert!(matches!(parse_filearchive(&json(200, &[], &not_a_size)), Err(WikiError::Malformed { .. })));
    }

    #[test]
    fn filearchive_rows_are_read() {
        let request = build_filearchive(
            &api(),
            WikiAuth::Bearer("t"),
            FileArchiveSelect::Prefix("Example"),
            Limit::Count(50),
            None,
        )
        .unwrap();
        assert!(
            has(&request, "faprefix", "Example")
                && has(&request, "falimit", "50")
                && has(&request, "list", "filearchive")
        );
        let range = FileArchiveSelect::Range { from: "A", to: Some("B") };
        let request = build_filearchive(&api(), WikiAuth::Bearer("t"), range, Limit::Max, None).unwrap();
        assert!(has(&request, "fafrom", "A") && has(&request, "fato", "B"));
        assert!(
            build_filearchive(
                &api(),
                WikiAuth::Bearer("t"),
                FileArchiveSelect::Sha1("abc"),
                Limit::Max,
                None
            )
            .is_err()
        );
        let body = r#"{"continue":{"facontinue":"Example.jpg|20200101000000|12","continue":"-||"},"query":{"filearchive":[
            {"id":12,"name":"Example.jpg","ns":6,"title":"File:Example.jpg","sha1":"0123456789abcdef0123456789abcdef01234567","timestamp":"2020-01-01T00:00:00Z","userid":7,"user":"Uploader","size":10,"mime":"image/jpeg","description":"x"},
            {"id":13,"name":"Example.jpg","ns":6,"title":"File:Example.jpg","filehidden":true,"userhidden":true,"suppressed":true,"timestamp":"2019-01-01T00:00:00Z","archivename":"20190101000001!Example.jpg"}
        ]}}"#;
        let page = parse_filearchive(&json(200, &[], body)).unwrap();
        assert_eq!(page.files.len(), 2);
        assert_eq!((page.files[0].id, page.files[0].user.as_deref()), (12, Some("Uploader")));
        assert!(!format!("{:?}", page.files).contains("Uploader"), "Debug must not name the uploader");
        assert!(page.files[1].file_hidden && page.files[1].sha1.is_none());
        assert!(page.continuation.is_some());
        let denied = json(
            200,
            &[("mediawiki-api-error", "permissiondenied")],
            r#"{"errors":[{"code":"permissiondenied","text":"You don't have permission to view deleted file information.","module":"query+filearchive"}]}"#,
        );
        assert!(matches!(
            parse_filearchive(&denied),
            Err(WikiError::Api { code: ApiCode::PermissionDenied, .. })
        ));
    }

    #[test]
    fn global_users_are_read_in_every_shape() {
        let request =
            build_globaluserinfo(&api(), WikiAuth::Anonymous, GlobalUserRef::Name("Example")).unwrap();
        assert!(
            has(&request, "guiuser", "Example")
                && has(&request, "guiprop", "groups|rights|merged|unattached|editcount")
        );
        let request = build_globaluserinfo(&api(), WikiAuth::Anonymous, GlobalUserRef::Id(9)).unwrap();
        assert!(has(&request, "guiid", "9"));
        let missing = json(200, &[], r#"{"batchcomplete":true,"query":{"globaluserinfo":{"missing":true}}}"#);
        assert_eq!(parse_globaluserinfo(&missing).unwrap(), GlobalUserInfo::Missing);
        let body = r#"{"batchcomplete":true,"query":{"globaluserinfo":{"home":"enwiki","id":1234,"registration":"2010-01-01T00:00:00Z","name":"Example","locked":true,"hidden":true,"groups":["global-rollbacker"],"rights":["rollback"],"merged":[
            {"wiki":"enwiki","url":"https://en.wikipedia.org","id":5,"timestamp":"2010-01-01T00:00:00Z","method":"primary","editcount":100,"registration":"2010-01-01T00:00:00Z","groups":["autoconfirmed"],"blocked":{"expiry":"infinity","reason":"Vandalism"}},
            {"wiki":"commonswiki","url":"https://commons.wikimedia.org","id":6,"timestamp":"2011-01-01T00:00:00Z","method":"login","editcount":3,"registration":""}
        ],"unattached":[{"wiki":"dewiki","url":"https://de.wikipedia.org","id":9,"timestamp":"2012-01-01T00:00:00Z","editcount":0,"registration":"2012-01-01T00:00:00Z"}],"editcount":103}}}"#;
        let GlobalUserInfo::Found(user) = parse_globaluserinfo(&json(200, &[], body)).unwrap() else {
            panic!()
        };
        assert!(user.locked && user.hidden);
        assert_eq!((user.id, user.home.as_deref(), user.editcount), (1234, Some("enwiki"), Some(103)));
        assert_eq!(
            user.merged[0].blocked,
            Some(WikiBlock { expiry: "infinity".into(), reason: "Vandalism".into() })
        );
        assert_eq!(user.merged[0].groups, vec!["autoconfirmed"]);
        assert!(user.merged[1].groups.is_empty() && user.merged[1].blocked.is_none());
        assert_eq!(user.merged[1].registration, None);
        assert_eq!(user.unattached[0].wiki, "dewiki");
        let invalid = json(
            200,
            &[("mediawiki-api-error", "invaliduser")],
            r#"{"errors":[{"code":"invaliduser","text":"Invalid username \"<x>\".","module":"query+globaluserinfo"}]}"#,
        );
        assert!(matches!(
            parse_globaluserinfo(&invalid),
            Err(WikiError::Api { code: ApiCode::InvalidUser, .. })
        ));
        let unknown_id = json(
            200,
            &[],
            r#"{"errors":[{"code":"invaliduserid","text":"There is no user with ID 99.","module":"query+globaluserinfo"}]}"#,
        );
        assert!(matches!(
            parse_globaluserinfo(&unknown_id),
            Err(WikiError::Api { code: ApiCode::InvalidUserId, .. })
        ));
        let v1 = json(200, &[], r#"{"query":{"globaluserinfo":{"missing":""}}}"#);
        assert!(matches!(parse_globaluserinfo(&v1), Err(WikiError::FormatVersion1 { .. })));
    }

    #[test]
    fn exturlusage_patterns_are_checked() {
        let query = ExtUrlQuery {
            pattern: "*.example.org/path",
            protocol: Some("https"),
            namespaces: &[0, 6],
            limit: Limit::Max,
        };
        let request = build_exturlusage(&api(), WikiAuth::Anonymous, &query, None).unwrap();
        assert!(has(&request, "euquery", "*.example.org/path") && has(&request, "euprotocol", "https"));
        assert!(has(&request, "eunamespace", "0|6") && has(&request, "euprop", "ids|title|url"));
        let all = ExtUrlQuery { namespaces: &[], protocol: None, ..query };
        let request = build_exturlusage(&api(), WikiAuth::Anonymous, &all, None).unwrap();
        assert!(!query_of(&request).iter().any(|(k, _)| k == "eunamespace"));
        for bad in ["https://example.org", "", "example.*.org", "*.", "a b", "//example.org", "*.*.org"] {
            let query = ExtUrlQuery { pattern: bad, ..query };
            assert!(build_exturlusage(&api(), WikiAuth::Anonymous, &query, None).is_err(), "{bad}");
        }
        let bad_protocol = ExtUrlQuery { protocol: Some("https://"), ..query };
        assert!(build_exturlusage(&api(), WikiAuth::Anonymous, &bad_protocol, None).is_err());
    }

    #[test]
    fn a_short_or_empty_exturlusage_page_still_continues() {
        let empty = json(
            200,
            &[],
            r#"{"continue":{"eucontinue":"https://org.example.|1234","continue":"-||"},"query":{"exturlusage":[]}}"#,
        );
        let page = parse_exturlusage(&empty).unwrap();
        assert!(page.rows.is_empty());
        assert_eq!(
            page.continuation.unwrap().0.get("eucontinue").map(String::as_str),
            Some("https://org.example.|1234")
        );
        let short = json(
            200,
            &[],
            r#"{"continue":{"eucontinue":"x|1","continue":"-||"},"query":{"exturlusage":[{"pageid":5,"ns":0,"title":"Example","url":"https://www.example.org/a"}]}}"#,
        );
        let page = parse_exturlusage(&short).unwrap();
        assert_eq!(
            page.rows,
            vec![ExtUrlRow {
                page_id: Some(5),
                ns: 0,
                title: "Example".into(),
                url: "https://www.example.org/a".into()
            }]
        );
        assert!(page.continuation.is_some());
        let done = parse_exturlusage(&json(200, &[], r#"{"batchcomplete":true,"query":{"exturlusage":[]}}"#))
            .unwrap();
        assert!(done.continuation.is_none());
        let bad = json(
            200,
            &[("mediawiki-api-error", "badquery")],
            r#"{"errors":[{"code":"badquery","text":"Invalid query.","module":"query+exturlusage"}]}"#,
        );
        assert!(matches!(parse_exturlusage(&bad), Err(WikiError::Api { code: ApiCode::BadQuery, .. })));
    }

    #[test]
    fn search_reads_hits_totals_and_offsets() {
        let query =
            SearchQuery { text: "insource:\"example.org\"", namespaces: &[], limit: Limit::Count(20) };
        let request = build_search(&api(), WikiAuth::Anonymous, &query, None).unwrap();
        assert!(
            has(&request, "srnamespace", "*")
                && has(&request, "srinfo", "totalhits")
                && has(&request, "srwhat", "text")
        );
        assert!(
            build_search(&api(), WikiAuth::Anonymous, &SearchQuery { text: " ", ..query }, None).is_err()
        );
        let long = "x".repeat(301);
        assert!(
            build_search(&api(), WikiAuth::Anonymous, &SearchQuery { text: &long, ..query }, None).is_err()
        );
        let body = r#"{"batchcomplete":true,"continue":{"sroffset":20,"continue":"-||"},"query":{"searchinfo":{"totalhits":42},"search":[{"ns":0,"title":"Example","pageid":5,"size":100,"wordcount":10,"snippet":"an <span class=\"searchmatch\">example</span>","timestamp":"2026-01-01T00:00:00Z"}]}}"#;
        let page = parse_search(&json(200, &[], body)).unwrap();
        assert_eq!((page.total_hits, page.hits.len()), (Some(42), 1));
        let cont = page.continuation.unwrap();
        assert_eq!(cont.0.get("sroffset").map(String::as_str), Some("20"));
        let next = build_search(&api(), WikiAuth::Anonymous, &query, Some(&cont)).unwrap();
        assert!(has(&next, "sroffset", "20"));
        let none = parse_search(&json(
            200,
            &[],
            r#"{"batchcomplete":true,"query":{"searchinfo":{"totalhits":0},"search":[]}}"#,
        ))
        .unwrap();
        assert_eq!((none.total_hits, none.hits.len(), none.continuation), (Some(0), 0, None));
        let absent =
            parse_search(&json(200, &[], r#"{"batchcomplete":true,"query":{"searchinfo":{"totalhits":0}}}"#))
                .unwrap();
        assert!(absent.hits.is_empty());
    }
}
