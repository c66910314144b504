//! Administrator actions: `action=delete` (a page, a file, or one old file version) and
//! `action=revisiondelete` (hiding the content, comment or user of revisions, file versions,
//! deleted files or log entries, optionally suppressed).
//!
//! A revision deletion reports success per item, and the top-level `status` is `Fail` only when
//! no item succeeded; [`parse_revision_delete`] therefore checks every item against the ids sent.

use std::collections::BTreeSet;

use serde_json::Value;
use url::Url;

use super::common::{
    WikiAuth, api_post, as_object, check_csrf_token, check_text, check_title, excerpt, flag, id_text,
    malformed, object, opt_array, opt_number, opt_string, string,
};
use super::edit::MAX_SUMMARY_CHARS;
use super::envelope::{Warning, check_envelope};
use super::error::{FailedItem, WikiError};
use crate::egress::wire::{WireRequest, WireResponse};

const DELETE_CONTEXT: &str = "action=delete";
const REVDEL_CONTEXT: &str = "action=revisiondelete";

/// Most ids one revision deletion names (the API's limit for accounts without `apihighlimits`).
const MAX_IDS: usize = 50;

/// A page, file or file-version deletion.
#[derive(Clone, Copy, Debug)]
pub struct Delete<'a> {
    /// The page or file title.
    pub title: &'a str,
    /// The log reason.
    pub reason: &'a str,
    /// For one old version of a file: its archive name (`<14 digits>!<name>`, from imageinfo's
    /// `archivename`). `None` deletes the whole page or file.
    pub old_image: Option<&'a str>,
}

/// What a deletion did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteOutcome {
    /// The title deleted.
    pub title: String,
    /// The reason as logged.
    pub reason: Option<String>,
    /// The deletion log entry; absent when the deletion was scheduled as a job.
    pub log_id: Option<u64>,
    /// The page is big enough that a job will delete it later (warning `delete-scheduled`).
    pub scheduled: bool,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// What kind of thing a revision deletion targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevisionDeleteType {
    /// Page revisions (ids: revision ids).
    Revision,
    /// Revisions of deleted pages (ids: revision ids).
    Archive,
    /// Old file versions (ids: the 14-digit timestamp before `!` in the archive name).
    OldImage,
    /// Deleted file versions (ids: filearchive row ids).
    FileArchive,
    /// Log entries (ids: log ids).
    Logging,
}

impl RevisionDeleteType {
    fn as_str(self) -> &'static str {
        match self {
            RevisionDeleteType::Revision => "revision",
            RevisionDeleteType::Archive => "archive",
            RevisionDeleteType::OldImage => "oldimage",
            RevisionDeleteType::FileArchive => "filearchive",
            RevisionDeleteType::Logging => "logging",
        }
    }
}

/// A set of revision fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevisionFields {
    /// The content (text or file).
    pub content: bool,
    /// The edit or upload comment.
    pub comment: bool,
    /// The user name or IP.
    pub user: bool,
}

impl RevisionFields {
    fn names(self) -> Vec<&'static str> {
        [(self.content, "content"), (self.comment, "comment"), (self.user, "user")]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect()
    }

    fn overlaps(self, other: RevisionFields) -> bool {
        (self.content && other.content) || (self.comment && other.comment) || (self.user && other.user)
    }
}

/// Whether hidden parts are also hidden from administrators.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SuppressMode {
    /// Suppress (needs `suppressrevision`, the oversight group).
    Yes,
    /// Lift suppression.
    No,
    /// Leave suppression as it is.
    #[default]
    NoChange,
}

/// A revision deletion.
#[derive(Clone, Copy, Debug)]
pub struct RevisionDelete<'a> {
    /// What the ids name.
    pub kind: RevisionDeleteType,
    /// The page (or `File:` title) the items belong to.
    pub target: &'a str,
    /// The ids (see [`RevisionDeleteType`] for what each kind wants).
    pub ids: &'a [&'a str],
    /// Fields to hide; at least one.
    pub hide: RevisionFields,
    /// Fields to unhide; none in common with `hide`.
    pub show: RevisionFields,
    /// Suppression.
    pub suppress: SuppressMode,
    /// The log reason.
    pub reason: &'a str,
}

/// A revision deletion where every item succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionDeleteOutcome {
    /// The target as the wiki named it.
    pub target: Option<String>,
    /// The ids changed.
    pub ids: Vec<String>,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// Checks an old file version's archive name: `<14-digit timestamp>!<file name>`.
pub fn validate_archive_name(name: &str) -> Result<(), WikiError> {
    let valid = name.len() <= 512
        && name.as_bytes().get(..14).is_some_and(|ts| ts.iter().all(u8::is_ascii_digit))
        && name.as_bytes().get(14) == Some(&b'!')
        && name.len() > 15
        && !name.chars().any(char::is_control);
    if valid {
        Ok(())
    } else {
        Err(WikiError::InvalidInput {
            field: "file version archive name",
            reason: "must be `<14-digit timestamp>!<file name>` as imageinfo's `archivename` gives it"
                .to_owned(),
        })
    }
}

/// The delete request (POST, `assert=user`, the CSRF token last).
///
/// Refuses an invalid title, a reason over 500 characters or with a line break, a malformed
/// archive name, and an anonymous or malformed CSRF token.
pub fn build_delete(
    api: &Url,
    auth: WikiAuth<'_>,
    csrf_token: &str,
    delete: &Delete<'_>,
) -> Result<WireRequest, WikiError> {
    check_title("page title", delete.title)?;
    check_text("deletion reason", delete.reason, MAX_SUMMARY_CHARS, false)?;
    check_csrf_token(csrf_token)?;
    let mut params = vec![("action", "delete"), ("title", delete.title), ("reason", delete.reason)];
    if let Some(old_image) = delete.old_image {
        validate_archive_name(old_image)?;
        params.push(("oldimage", old_image));
    }
    api_post(api, auth, &params, true, ("token", csrf_token))
}

/// Reads a deletion result.
///
/// Refuses what [`check_envelope`] refuses (`missingtitle`, `nodeleteablefile`,
/// `invalidoldimage`, `permissiondenied`…); a missing `delete` object or title.
pub fn parse_delete(response: &WireResponse) -> Result<DeleteOutcome, WikiError> {
    const C: &str = DELETE_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let delete = object(&envelope.root, "delete", C)?;
    Ok(DeleteOutcome {
        title: string(delete, "title", C)?,
        reason: opt_string(delete, "reason", C)?,
        log_id: opt_number(delete, "logid", C)?,
        scheduled: flag(delete, "scheduled", C)?,
        warnings: envelope.warnings,
    })
}

/// The revisiondelete request (POST, `assert=user`, the CSRF token last).
///
/// Refuses: no ids, more than 50, duplicates, ids that are not decimal numbers, and for
/// `OldImage` ids that are not exactly 14 digits (an ISO upload timestamp is not an id); an
/// empty `hide`, or `hide` and `show` sharing a field; an invalid target; a reason over 500
/// characters; an anonymous or malformed CSRF token.
pub fn build_revision_delete(
    api: &Url,
    auth: WikiAuth<'_>,
    csrf_token: &str,
    request: &RevisionDelete<'_>,
) -> Result<WireRequest, WikiError> {
    check_title("revision deletion target", request.target)?;
    check_text("revision deletion reason", request.reason, MAX_SUMMARY_CHARS, false)?;
    check_csrf_token(csrf_token)?;
    check_ids(request.kind, request.ids)?;
    if request.hide.names().is_empty() {
        return Err(WikiError::InvalidInput {
            field: "fields to hide",
            reason: "are empty; hide at least one of content, comment and user".to_owned(),
        });
    }
    if request.hide.overlaps(request.show) {
        return Err(WikiError::InvalidInput {
            field: "fields to hide and show",
            reason: "share a field; a field is either hidden or shown".to_owned(),
        });
    }
    let ids = request.ids.join("|");
    let hide = request.hide.names().join("|");
    let show = request.show.names().join("|");
    let suppress = match request.suppress {
        SuppressMode::Yes => "yes",
        SuppressMode::No => "no",
        SuppressMode::NoChange => "nochange",
    };
    let mut params = vec![
        ("action", "revisiondelete"),
        ("type", request.kind.as_str()),
        ("target", request.target),
        ("ids", ids.as_str()),
        ("hide", hide.as_str()),
    ];
    if !show.is_empty() {
        params.push(("show", show.as_str()));
    }
    params.extend([("suppress", suppress), ("reason", request.reason)]);
    api_post(api, auth, &params, true, ("token", csrf_token))
}

fn check_ids(kind: RevisionDeleteType, ids: &[&str]) -> Result<(), WikiError> {
    let invalid = |reason: String| WikiError::InvalidInput { field: "revision deletion ids", reason };
    if ids.is_empty() || ids.len() > MAX_IDS {
        return Err(invalid(format!("must be 1 to {MAX_IDS} ids, got {}", ids.len())));
    }
    let mut seen = BTreeSet::new();
    for id in ids {
        let numeric = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
        if kind == RevisionDeleteType::OldImage && !(numeric && id.len() == 14) {
            return Err(invalid(format!(
                "{} is not a file version id: use the 14 digits before `!` in the archive name",
                excerpt(id)
            )));
        }
        if !numeric {
            return Err(invalid(format!("{} is not a number", excerpt(id))));
        }
        if !seen.insert(*id) {
            return Err(invalid(format!("{id} appears twice")));
        }
    }
    Ok(())
}

/// Reads a revision deletion result, checking every item against `expected_ids` (the ids sent).
///
/// `Ok` only when every expected id came back as a `Success` item. Otherwise
/// [`WikiError::RevisionDeletePartial`] (some succeeded) or [`WikiError::RevisionDeleteFailed`]
/// (none did), listing each failed id with its error codes (`revdelete-modify-missing`,
/// `revdelete-only-restricted`, `revdelete-concurrent-change`…; an id the answer does not
/// mention fails with `missing-from-response`). Also refuses what [`check_envelope`] refuses
/// (`permissiondenied` for `suppress=yes`, `badparams`…) and an unknown status.
pub fn parse_revision_delete(
    response: &WireResponse,
    expected_ids: &[&str],
) -> Result<RevisionDeleteOutcome, WikiError> {
    const C: &str = REVDEL_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let result = object(&envelope.root, "revisiondelete", C)?;
    let status = string(result, "status", C)?;
    if status != "Success" && status != "Fail" {
        return Err(malformed(C, format!("unknown status {}", excerpt(&status))));
    }
    let mut succeeded: Vec<String> = Vec::new();
    let mut failed: Vec<FailedItem> = Vec::new();
    for item in opt_array(result, "items", C)? {
        let item = as_object(item, C, "items")?;
        let id = excerpt(&id_text(item, "id", C)?);
        // MediaWiki (1.39 at least) can call an item "Success" and still list the errors that
        // kept it from changing (hiding the current revision's text): an error fails the item.
        let refused = !error_codes(item.get("errors")).is_empty();
        match item.get("status").and_then(Value::as_str) {
            Some("Success") if !refused => succeeded.push(id),
            _ => {
                let mut codes = error_codes(item.get("errors"));
                if codes.is_empty() {
                    codes.push("unknown".to_owned());
                }
                failed.push(FailedItem { id, codes });
            }
        }
    }
    for expected in expected_ids {
        let mentioned =
            succeeded.iter().any(|id| id == expected) || failed.iter().any(|item| item.id == *expected);
        if !mentioned {
            failed
                .push(FailedItem { id: excerpt(expected), codes: vec!["missing-from-response".to_owned()] });
        }
    }
    if status == "Fail" && failed.is_empty() {
        // No item failed, yet the whole request did: report the request-level codes.
        let mut codes = error_codes(result.get("errors"));
        if codes.is_empty() {
            codes.push("unknown".to_owned());
        }
        failed.push(FailedItem { id: "(request)".to_owned(), codes });
    }
    if succeeded.is_empty() && failed.is_empty() {
        failed.push(FailedItem { id: "(request)".to_owned(), codes: vec!["no-items".to_owned()] });
    }
    if !failed.is_empty() {
        return Err(if succeeded.is_empty() {
            WikiError::RevisionDeleteFailed { failed }
        } else {
            WikiError::RevisionDeletePartial { failed, succeeded }
        });
    }
    Ok(RevisionDeleteOutcome {
        target: opt_string(result, "target", C)?,
        ids: succeeded,
        warnings: envelope.warnings,
    })
}

/// The codes of a per-item `errors` list: `code` (plaintext format) or `message` (bc format).
fn error_codes(errors: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(errors)) = errors else { return Vec::new() };
    errors
        .iter()
        .filter_map(|error| {
            let code = error.get("code").or_else(|| error.get("message")).or_else(|| error.get("key"));
            code.and_then(Value::as_str).map(excerpt)
        })
        .take(10)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::ApiCode;
    use super::super::envelope::tests::json;
    use super::*;
    use crate::egress::wire::Body;

    const TOKEN: &str = "d41d8cd98f00b204e9800998ecf8427e+\\";

    fn api() -> Url {
        Url::parse("https://commons.wikimedia.org/w/api.php").unwrap()
    }

    #[test]
    fn an_item_a_real_mediawiki_calls_success_but_refused_with_an_error_is_a_failure() {
        // Verbatim from Debian's MediaWiki 1.39 (tests/it/mediawiki.rs), asked to hide the
        // text of a page's current revision: the item says "Success" and lists the error that
        // kept it from being hidden (`texthidden` stays false).
        let body = r#"{"revisiondelete":{"status":"Success","target":"Agreement archive","items":[{"status":"Success","errors":[{"code":"revdelete-hide-current","text":"Error hiding the item dated 21:52, 7 December 2026: This is the current revision. It cannot be hidden."}],"id":3,"timestamp":"2026-12-07T21:52:55Z","userhidden":false,"commenthidden":false,"texthidden":false,"userid":1,"user":"Admin","comment":"Takedown test"}]}}"#;
        match parse_revision_delete(&json(200, &[], body), &["3"]) {
            Err(WikiError::RevisionDeleteFailed { failed }) => {
                assert_eq!(
                    failed,
                    [FailedItem { id: "3".into(), codes: vec!["revdelete-hide-current".into()] }]
                );
            }
            other => panic!("a refused item read as {other:?}"),
        }
    }

    fn pairs(request: &WireRequest) -> Vec<(String, String)> {
        let Body::Bytes { data, .. } = &request.body else { panic!("no form") };
        form_urlencoded::parse(data).into_owned().collect()
    }

    fn has(pairs: &[(String, String)], k: &str, v: &str) -> bool {
        pairs.contains(&(k.to_owned(), v.to_owned()))
    }

    fn hide_file() -> RevisionDelete<'static> {
        RevisionDelete {
            kind: RevisionDeleteType::OldImage,
            target: "File:X.jpg",
            ids: &["20200315101010"],
            hide: RevisionFields { content: true, comment: false, user: true },
            show: RevisionFields::default(),
            suppress: SuppressMode::Yes,
            reason: "takedown",
        }
    }

    #[test]
    fn archive_names_are_checked() {
        assert!(validate_archive_name("20200315101010!X.jpg").is_ok());
        for bad in [
            "2020031510101!X.jpg",
            "20200315101010X.jpg",
            "20200315101010!",
            "2020-03-15T10:10!X",
            "20200315101010!a\nb",
            "",
        ] {
            assert!(validate_archive_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_delete_posts_the_title_reason_and_old_version() {
        let delete = Delete { title: "File:X.jpg", reason: "DMCA", old_image: Some("20200315101010!X.jpg") };
        let request = build_delete(&api(), WikiAuth::Bearer("t"), TOKEN, &delete).unwrap();
        let pairs = pairs(&request);
        assert!(
            has(&pairs, "action", "delete")
                && has(&pairs, "oldimage", "20200315101010!X.jpg")
                && has(&pairs, "assert", "user")
        );
        assert_eq!(pairs.last(), Some(&("token".to_owned(), TOKEN.to_owned())));
        let bad = Delete { old_image: Some("2020-03-15!X.jpg"), ..delete };
        assert!(build_delete(&api(), WikiAuth::Bearer("t"), TOKEN, &bad).is_err());
        assert!(matches!(
            build_delete(&api(), WikiAuth::Bearer("t"), "+\\", &delete),
            Err(WikiError::AnonymousToken)
        ));
    }

    #[test]
    fn deletions_done_and_scheduled_are_read() {
        let done =
            parse_delete(&json(200, &[], r#"{"delete":{"title":"File:X.jpg","reason":"DMCA","logid":123}}"#))
                .unwrap();
        assert_eq!((done.log_id, done.scheduled), (Some(123), false));
        let scheduled = parse_delete(&json(
            200,
            &[],
            r#"{"warnings":[{"code":"delete-scheduled","text":"Deletion of \"Big\" has been scheduled.","module":"delete"}],"delete":{"title":"Big","reason":"x","scheduled":true}}"#,
        ))
        .unwrap();
        assert_eq!((scheduled.log_id, scheduled.scheduled), (None, true));
        assert_eq!(scheduled.warnings[0].code.as_deref(), Some("delete-scheduled"));
        for (code, expected) in [
            ("nodeleteablefile", ApiCode::NoDeleteableFile),
            ("invalidoldimage", ApiCode::InvalidOldImage),
            ("missingtitle", ApiCode::MissingTitle),
        ] {
            let body = format!(r#"{{"errors":[{{"code":"{code}","text":"x","module":"delete"}}]}}"#);
            match parse_delete(&json(200, &[], &body)) {
                Err(WikiError::Api { code, .. }) => assert_eq!(code, expected),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_revision_deletion_posts_every_field() {
        let request = build_revision_delete(&api(), WikiAuth::Bearer("t"), TOKEN, &hide_file()).unwrap();
        let sent = pairs(&request);
        for (k, v) in [
            ("type", "oldimage"),
            ("target", "File:X.jpg"),
            ("ids", "20200315101010"),
            ("hide", "content|user"),
            ("suppress", "yes"),
            ("reason", "takedown"),
        ] {
            assert!(has(&sent, k, v), "{k}");
        }
        assert!(!sent.iter().any(|(k, _)| k == "show"));
        assert_eq!(sent.last().map(|p| p.0.as_str()), Some("token"));
        let with_show = RevisionDelete {
            kind: RevisionDeleteType::Revision,
            ids: &["1", "2"],
            hide: RevisionFields { content: true, ..Default::default() },
            show: RevisionFields { user: true, ..Default::default() },
            suppress: SuppressMode::NoChange,
            ..hide_file()
        };
        let sent = pairs(&build_revision_delete(&api(), WikiAuth::Bearer("t"), TOKEN, &with_show).unwrap());
        assert!(has(&sent, "ids", "1|2") && has(&sent, "show", "user") && has(&sent, "suppress", "nochange"));
    }

    #[test]
    fn bad_revision_deletions_are_refused_before_sending() {
        let auth = WikiAuth::Bearer("t");
        let overlap =
            RevisionDelete { show: RevisionFields { user: true, ..Default::default() }, ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &overlap).is_err());
        let nothing = RevisionDelete { hide: RevisionFields::default(), ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &nothing).is_err());
        let upload_timestamp = RevisionDelete { ids: &["2020-03-15T10:10:10Z"], ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &upload_timestamp).is_err());
        let short = RevisionDelete { ids: &["123"], ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &short).is_err());
        let duplicate =
            RevisionDelete { kind: RevisionDeleteType::Revision, ids: &["1", "1"], ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &duplicate).is_err());
        let none = RevisionDelete { ids: &[], ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &none).is_err());
        let pipe = RevisionDelete { kind: RevisionDeleteType::Revision, ids: &["1|2"], ..hide_file() };
        assert!(build_revision_delete(&api(), auth, TOKEN, &pipe).is_err());
    }

    #[test]
    fn every_item_succeeding_is_ok() {
        let body = r#"{"revisiondelete":{"status":"Success","target":"File:X.jpg","items":[{"status":"Success","id":"20200315101010","timestamp":"2020-03-15T10:10:10Z","userhidden":true,"texthidden":true,"suppressed":true}]}}"#;
        let outcome = parse_revision_delete(&json(200, &[], body), &["20200315101010"]).unwrap();
        assert_eq!(outcome.ids, vec!["20200315101010"]);
        let numeric = r#"{"revisiondelete":{"status":"Success","target":"X","items":[{"status":"Success","id":1},{"status":"Success","id":2}]}}"#;
        assert!(parse_revision_delete(&json(200, &[], numeric), &["1", "2"]).is_ok());
    }

    #[test]
    fn one_failed_item_under_a_top_level_success_is_a_partial_failure() {
        let body = r#"{"revisiondelete":{"status":"Success","target":"File:X.jpg","items":[
            {"status":"Success","id":"20200315101010"},
            {"status":"Fail","id":"20190101000001","errors":[{"code":"revdelete-modify-missing","text":"The item with ID 20190101000001 is missing from the database!","type":"error"}]},
            {"status":"Fail","id":"20180101000001","errors":[{"type":"error","message":"revdelete-concurrent-change","params":["x"]}]}
        ]}}"#;
        match parse_revision_delete(
            &json(200, &[], body),
            &["20200315101010", "20190101000001", "20180101000001"],
        ) {
            Err(error @ WikiError::RevisionDeletePartial { .. }) => {
                let WikiError::RevisionDeletePartial { failed, succeeded } = &error else { unreachable!() };
                assert_eq!(succeeded, &vec!["20200315101010".to_owned()]);
                assert_eq!(failed[0].codes, vec!["revdelete-modify-missing"]);
                assert_eq!(failed[1].codes, vec!["revdelete-concurrent-change"]);
                assert!(error.to_string().contains("20190101000001"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn suppression_without_hiding_and_upload_timestamp_ids_fail_per_item() {
        let only_restricted = r#"{"revisiondelete":{"status":"Fail","target":"X","items":[{"status":"Fail","id":5,"errors":[{"code":"revdelete-only-restricted","text":"You cannot suppress items from administrators without also selecting one of the other visibility options."}]}]}}"#;
        match parse_revision_delete(&json(200, &[], only_restricted), &["5"]) {
            Err(WikiError::RevisionDeleteFailed { failed }) => {
                assert_eq!(failed[0].codes, vec!["revdelete-only-restricted"])
            }
            other => panic!("{other:?}"),
        }
        // The server answers for an id it could not find; one it does not mention fails too.
        let silent = r#"{"revisiondelete":{"status":"Success","target":"X","items":[{"status":"Success","id":"20200315101010"}]}}"#;
        assert!(matches!(
            parse_revision_delete(&json(200, &[], silent), &["20200315101010", "20200101000000"]),
            Err(WikiError::RevisionDeletePartial { .. })
        ));
        let empty = r#"{"revisiondelete":{"status":"Success","target":"X","items":[]}}"#;
        assert!(matches!(
            parse_revision_delete(&json(200, &[], empty), &[]),
            Err(WikiError::RevisionDeleteFailed { .. })
        ));
        let fail_no_items =
            r#"{"revisiondelete":{"status":"Fail","errors":[{"code":"revdelete-nooldid-text","text":"x"}]}}"#;
        match parse_revision_delete(&json(200, &[], fail_no_items), &[]) {
            Err(WikiError::RevisionDeleteFailed { failed }) => {
                assert_eq!(failed[0].codes, vec!["revdelete-nooldid-text"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn request_level_revision_deletion_errors_are_api_errors() {
        let denied = json(
            200,
            &[("mediawiki-api-error", "permissiondenied")],
            r#"{"errors":[{"code":"permissiondenied","text":"You don't have permission to suppress revisions.","module":"revisiondelete"}]}"#,
        );
        assert!(matches!(
            parse_revision_delete(&denied, &["1"]),
            Err(WikiError::Api { code: ApiCode::PermissionDenied, .. })
        ));
        let overlap = json(
            200,
            &[("mediawiki-api-error", "badparams")],
            r#"{"errors":[{"code":"badparams","text":"Mutually exclusive values for hide and show: user.","module":"revisiondelete"}]}"#,
        );
        assert!(matches!(
            parse_revision_delete(&overlap, &["1"]),
            Err(WikiError::Api { code: ApiCode::BadParams, .. })
        ));
        let weird = r#"{"revisiondelete":{"status":"Maybe","items":[]}}"#;
        assert!(matches!(
            parse_revision_delete(&json(200, &[], weird), &[]),
            Err(WikiError::Malformed { .. })
        ));
    }
}
