//! Fuzz targets for the wiki wire parsers.
//!
//! Input layout for every response target: the first byte picks headers (bits 0–1 the
//! Content-Type: JSON with charset, bare JSON, HTML, none; bit 2 sets `MediaWiki-API-Error`,
//! bit 3 makes its code `maxlag` rather than `badtoken`; bit 4 `Retry-After: 7`; bit 5 an
//! HTTP-date `Retry-After`; bit 6 `X-Database-Lag: 7`; bit 7 a `Set-Cookie`), the rest goes to
//! [`fuzz_response`] (its first byte picks the status, the rest is the body).

use std::time::Duration;

use serde_json::Value;
use url::Url;

use super::{FuzzTarget, fuzz_response};
use crate::egress::wire::{Body, WireRequest, WireResponse};
use crate::services::wiki::wire::{
    CaptchaAnswer, Continue, CreatePolicy, Edit, EditMode, EditOutcome, FileStatus, GlobalUserInfo,
    SessionCookies, WikiAuth, WikiError, authorize_url, build_edit, build_token_exchange, check_envelope,
    parse_callback, parse_csrf_token, parse_delete, parse_edit, parse_exturlusage, parse_filearchive,
    parse_globaluserinfo, parse_imageinfo, parse_login, parse_login_token, parse_profile,
    parse_revision_delete, parse_search, parse_sitematrix, parse_token_response, parse_upload,
    pkce_challenge, validate_archive_name,
};

/// This service's fuzz targets by name (`wiki_<message>`).
pub const TARGETS: &[(&str, FuzzTarget)] = &[
    ("wiki_api_envelope", wiki_api_envelope),
    ("wiki_edit_response", wiki_edit_response),
    ("wiki_imageinfo_response", wiki_imageinfo_response),
    ("wiki_sitematrix_response", wiki_sitematrix_response),
    ("wiki_oauth_token_response", wiki_oauth_token_response),
    ("wiki_login_response", wiki_login_response),
    ("wiki_revisiondelete_response", wiki_revisiondelete_response),
    ("wiki_query_response", wiki_query_response),
];

/// A fuzzed response and whether its `MediaWiki-API-Error` header is set.
fn response(data: &[u8]) -> (WireResponse, bool) {
    let (flags, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let mut headers: Vec<(&'static str, &'static str)> = Vec::new();
    match flags & 0b11 {
        0 => headers.push(("content-type", "application/json; charset=utf-8")),
        1 => headers.push(("content-type", "application/json")),
        2 => headers.push(("content-type", "text/html; charset=utf-8")),
        _ => {}
    }
    let error_header = flags & 0b100 != 0;
    if error_header {
        headers.push(("mediawiki-api-error", if flags & 0b1000 != 0 { "maxlag" } else { "badtoken" }));
    }
    if flags & 0b1_0000 != 0 {
        headers.push(("retry-after", "7"));
    }
    if flags & 0b10_0000 != 0 {
        headers.push(("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"));
    }
    if flags & 0b100_0000 != 0 {
        headers.push(("x-database-lag", "7"));
    }
    if flags & 0b1000_0000 != 0 {
        headers.push(("set-cookie", "wikisession=abc123; path=/; secure; HttpOnly"));
    }
    (fuzz_response(rest, &headers), error_header)
}

/// The body as JSON, when it is an object.
fn raw(response: &WireResponse) -> Option<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// Every error names the wiki, says something, and keeps retry hints in range.
fn check_error(error: &WikiError) {
    let text = error.to_string();
    assert!(text.starts_with("wiki"), "{text}");
    assert!(text.len() > 20, "{text}");
    if let Some(wait) = error.retry_after() {
        assert!(wait <= Duration::from_secs(600), "{wait:?}");
    }
    if let WikiError::Lagged { retry_after, .. } = error {
        assert!(*retry_after >= Duration::from_secs(1));
    }
}

/// An api.php parser's result: an error is well formed, and a flagged or non-2xx response is
/// never a success.
fn check_api_result<T>(result: &Result<T, WikiError>, response: &WireResponse, error_header: bool) {
    match result {
        Ok(_) => {
            assert!(!error_header, "a response with MediaWiki-API-Error parsed as a success");
            assert!(response.status.is_success(), "HTTP {} parsed as a success", response.status);
            assert_eq!(response.media_type().as_deref(), Some("application/json"));
        }
        Err(error) => check_error(error),
    }
}

fn check_continuation(continuation: Option<&Continue>) {
    for key in continuation.iter().flat_map(|c| c.0.keys()) {
        assert!(key == "continue" || key.ends_with("continue") || key.ends_with("offset"), "{key}");
        assert!(!["action", "token", "assert", "format"].contains(&key.as_str()));
    }
}

/// How many keys and string values in `value` contain `needle`.
fn strings_holding(value: &Value, needle: &str) -> usize {
    match value {
        Value::String(text) => usize::from(text.contains(needle)),
        Value::Array(items) => items.iter().map(|v| strings_holding(v, needle)).sum(),
        Value::Object(map) => {
            map.iter().map(|(k, v)| usize::from(k.contains(needle)) + strings_holding(v, needle)).sum()
        }
        _ => 0,
    }
}

fn is_sha1(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn form(request: &WireRequest) -> Vec<(String, String)> {
    match &request.body {
        Body::Bytes { data, .. } => form_urlencoded::parse(data).into_owned().collect(),
        _ => Vec::new(),
    }
}

fn api() -> Url {
    Url::parse("https://commons.wikimedia.org/w/api.php").unwrap_or_else(|_| unreachable!("a valid URL"))
}

fn meta() -> Url {
    Url::parse("https://meta.wikimedia.org/w/rest.php").unwrap_or_else(|_| unreachable!("a valid URL"))
}

/// The shared envelope: a 200 whose `MediaWiki-API-Error` header is set never parses as Ok; a
/// success is a JSON object without `error`/`errors`.
pub fn wiki_api_envelope(data: &[u8]) {
    let (response, error_header) = response(data);
    let result = check_envelope(&response, "fuzz");
    check_api_result(&result, &response, error_header);
    if let Ok(envelope) = result {
        assert!(!envelope.root.contains_key("errors") && !envelope.root.contains_key("error"));
        assert!(!matches!(envelope.root.get("batchcomplete"), Some(Value::String(_))));
    }
}

/// Edits: a save without a new revision is exactly a `nochange` save; a new page has no old
/// revision; a CAPTCHA has an id. Building an edit from the same bytes round-trips the text
/// with `assert=user` and the token last.
pub fn wiki_edit_response(data: &[u8]) {
    let (response, error_header) = response(data);
    let result = parse_edit(&response);
    check_api_result(&result, &response, error_header);
    match result {
        Ok(EditOutcome::Saved(saved)) => {
            let nochange =
                raw(&response).and_then(|root| root.get("edit")?.get("nochange")?.as_bool()).unwrap_or(false);
            assert_eq!(saved.new_rev.is_none(), nochange, "new_rev is None exactly when nochange");
            assert_ne!(saved.new_rev, Some(0));
            assert!(!(saved.new_page && saved.old_rev.is_some()));
        }
        Ok(EditOutcome::Captcha(captcha)) => assert!(!captcha.id.is_empty()),
        Err(_) => {}
    }
    let text = String::from_utf8_lossy(data);
    let token = "d41d8cd98f00b204e9800998ecf8427e+\\";
    let edit = Edit {
        title: "User talk:Example",
        mode: EditMode::NewSection { title: "Notice", text: &text },
        summary: "notice",
        captcha: Some(CaptchaAnswer { id: "1", word: "w" }),
        base_revision: None,
        create: CreatePolicy::Allow,
    };
    match build_edit(&api(), WikiAuth::Bearer("t"), token, &edit) {
        Ok(request) => {
            let pairs = form(&request);
            assert!(pairs.iter().any(|(k, v)| k == "text" && *v == text));
            assert!(pairs.iter().any(|(k, v)| k == "assert" && v == "user"));
            assert_eq!(pairs.last(), Some(&("token".to_owned(), token.to_owned())));
            assert_eq!(request.url.query(), None);
        }
        Err(error) => check_error(&error),
    }
}

/// imageinfo: every SHA-1 is 40 lowercase hex digits; every archive name is well formed and
/// gives a 14-digit revision-deletion id; continuation keys are continuation names.
pub fn wiki_imageinfo_response(data: &[u8]) {
    let (response, error_header) = response(data);
    let result = parse_imageinfo(&response);
    check_api_result(&result, &response, error_header);
    if let Ok(page) = result {
        check_continuation(page.continuation.as_ref());
        for file in &page.files {
            if let FileStatus::Shared { repository } = &file.status {
                assert!(!repository.is_empty() && repository != "local");
            }
            for version in &file.versions {
                if let Some(sha1) = &version.sha1 {
                    assert!(is_sha1(sha1), "{sha1}");
                }
                if let Some(name) = &version.archive_name {
                    assert!(validate_archive_name(name).is_ok());
                    let id = version.revision_delete_id().unwrap_or("");
                    assert!(id.len() == 14 && id.bytes().all(|b| b.is_ascii_digit()));
                }
            }
        }
    }
}

/// The site matrix: a scannable site carries none of the skip flags; an api.php URL is https
/// on the site's host; continuation keys are continuation names.
pub fn wiki_sitematrix_response(data: &[u8]) {
    let (response, error_header) = response(data);
    let result = parse_sitematrix(&response);
    check_api_result(&result, &response, error_header);
    if let Ok(matrix) = result {
        check_continuation(matrix.continuation.as_ref());
        for site in matrix.scannable_sites() {
            assert!(!(site.closed || site.private || site.fishbowl || site.nonglobal));
        }
        for site in matrix.languages.iter().flat_map(|l| &l.sites).chain(&matrix.specials) {
            if let Some(api) = site.api_url() {
                assert_eq!(api.scheme(), "https");
                assert_eq!(api.path(), "/w/api.php");
                // The URL parser lower-cases and IDNA-encodes hosts; compare what it reads.
                let site_host = Url::parse(&site.url).ok().and_then(|u| u.host_str().map(str::to_owned));
                assert_eq!(api.host_str(), site_host.as_deref());
            }
        }
    }
}

/// OAuth: a token response gives a printable non-empty token and no error message repeats a
/// token from the body; a callback is accepted only with exactly the expected state; PKCE and
/// the authorize URL round-trip.
pub fn wiki_oauth_token_response(data: &[u8]) {
    let (response, _) = response(data);
    match parse_token_response(&response) {
        Ok(tokens) => {
            let token = tokens.access_token.expose_secret();
            assert!(!token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()));
            assert!(response.status.is_success());
        }
        Err(error) => {
            check_error(&error);
            // A token that appears nowhere else in the body (no other string holds it) must not
            // show up in the message. Tokens are long and unbroken; shorter ones could match our
            // own wording by chance.
            if let Some(root) = raw(&response)
                && let Some(token) = root.get("access_token").and_then(Value::as_str)
                && token.len() >= 40
                && !token.contains(char::is_whitespace)
                && strings_holding(&Value::Object(root.clone()), token) == 1
            {
                assert!(!error.to_string().contains(token), "an error message repeats the access token");
            }
        }
    }
    let _ = parse_profile(&response).map_err(|e| check_error(&e));

    let query = String::from_utf8_lossy(data);
    let expected = "fuzz-state-0123456789";
    match parse_callback(&query, expected) {
        Ok(code) => {
            assert!(!code.expose_secret().is_empty());
            let states: Vec<String> = form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .filter(|(k, _)| k == "state")
                .map(|(_, v)| v.into_owned())
                .collect();
            assert_eq!(states, vec![expected.to_owned()]);
        }
        Err(error) => check_error(&error),
    }

    let verifier = String::from_utf8_lossy(data);
    if let Ok(challenge) = pkce_challenge(&verifier) {
        assert_eq!(challenge.len(), 43);
        let redirect =
            Url::parse("https://takedown.example.org/cb").unwrap_or_else(|_| unreachable!("a valid URL"));
        let url = authorize_url(&meta(), "abc123", &redirect, &["basic"], expected, &challenge);
        let url = url.unwrap_or_else(|e| panic!("a valid challenge was refused: {e}"));
        assert!(url.query_pairs().any(|(k, v)| k == "code_challenge" && v == challenge));
        let exchange = build_token_exchange(&meta(), "abc123", None, "code", &redirect, &verifier);
        let exchange = exchange.unwrap_or_else(|e| panic!("a valid verifier was refused: {e}"));
        assert!(form(&exchange).iter().any(|(k, v)| k == "code_verifier" && *v == verifier));
    }
}

/// Login: a success is never a main-account login and names a user; cookies never hold a line
/// break.
pub fn wiki_login_response(data: &[u8]) {
    let (response, error_header) = response(data);
    let result = parse_login(&response);
    check_api_result(&result, &response, error_header);
    if let Ok(outcome) = result {
        assert!(outcome.user_id > 0 && !outcome.user_name.trim().is_empty());
        let warnings =
            raw(&response).and_then(|r| r.get("warnings").map(Value::to_string)).unwrap_or_default();
        let warnings = warnings.to_ascii_lowercase();
        assert!(!warnings.contains("main-account-login") && !warnings.contains("main-account login"));
    }
    let _ = parse_login_token(&response).map_err(|e| check_error(&e));
    let mut jar = SessionCookies::new();
    jar.absorb(&response);
    let cookies = jar.header_value();
    assert!(!cookies.contains(['\r', '\n']));
    if !jar.is_empty() {
        assert!(http::HeaderValue::from_str(&cookies).is_ok());
    }
}

/// Revision deletion: `Ok` only if every requested id came back as a `Success` item; a
/// partial failure lists both sides.
pub fn wiki_revisiondelete_response(data: &[u8]) {
    let (response, error_header) = response(data);
    let expected = ["1", "20200315101010"];
    let result = parse_revision_delete(&response, &expected);
    check_api_result(&result, &response, error_header);
    match result {
        Ok(outcome) => {
            let root = raw(&response).unwrap_or_default();
            let items = root
                .get("revisiondelete")
                .and_then(|r| r.get("items"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for id in expected {
                let succeeded = items.iter().any(|item| {
                    let item_id = match item.get("id") {
                        Some(Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    item_id == id && item.get("status").and_then(Value::as_str) == Some("Success")
                });
                assert!(succeeded, "{id} was not reported as a success");
                assert!(outcome.ids.iter().any(|i| i == id));
            }
        }
        Err(WikiError::RevisionDeletePartial { failed, succeeded }) => {
            assert!(!failed.is_empty() && !succeeded.is_empty());
        }
        Err(WikiError::RevisionDeleteFailed { failed }) => assert!(!failed.is_empty()),
        Err(_) => {}
    }
}

/// The other api.php readers (exturlusage, search, globaluserinfo, filearchive, delete, the
/// CSRF token, upload): flagged responses are never a success, digests are lowercase hex, the
/// anonymous token is never returned, continuations are continuation names.
pub fn wiki_query_response(data: &[u8]) {
    let (response, error_header) = response(data);
    let exturl = parse_exturlusage(&response);
    check_api_result(&exturl, &response, error_header);
    if let Ok(page) = exturl {
        check_continuation(page.continuation.as_ref());
    }
    let search = parse_search(&response);
    check_api_result(&search, &response, error_header);
    if let Ok(page) = search {
        check_continuation(page.continuation.as_ref());
    }
    let user = parse_globaluserinfo(&response);
    check_api_result(&user, &response, error_header);
    if let Ok(GlobalUserInfo::Found(_)) = user {
        let missing = raw(&response)
            .and_then(|r| r.get("query")?.get("globaluserinfo")?.get("missing")?.as_bool())
            .unwrap_or(false);
        assert!(!missing, "a missing user parsed as found");
    }
    let archive = parse_filearchive(&response);
    check_api_result(&archive, &response, error_header);
    if let Ok(page) = archive {
        check_continuation(page.continuation.as_ref());
        assert!(page.files.iter().filter_map(|f| f.sha1.as_deref()).all(is_sha1));
    }
    let delete = parse_delete(&response);
    check_api_result(&delete, &response, error_header);
    let token = parse_csrf_token(&response);
    check_api_result(&token, &response, error_header);
    if let Ok(token) = token {
        let token = token.expose_secret();
        assert!(token != "+\\" && token.ends_with("+\\"));
    }
    let upload = parse_upload(&response);
    check_api_result(&upload, &response, error_header);
    if let Ok(uploaded) = upload {
        assert!(!uploaded.file_name.is_empty());
        assert!(uploaded.sha1.iter().all(|sha1| is_sha1(sha1)), "{uploaded:?}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
        let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.unwrap().path();
                (path.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap())
            })
            .collect();
        seeds.sort();
        seeds
    }

    /// Whether a parser accepts a response.
    type Accepts = fn(&WireResponse) -> bool;

    #[test]
    fn seeds_named_ok_parse_and_the_others_do_not() {
        let cases: [(&str, Accepts); 5] = [
            ("wiki_edit_response", |r| parse_edit(r).is_ok()),
            ("wiki_imageinfo_response", |r| parse_imageinfo(r).is_ok()),
            ("wiki_sitematrix_response", |r| parse_sitematrix(r).is_ok()),
            ("wiki_revisiondelete_response", |r| parse_revision_delete(r, &["1", "20200315101010"]).is_ok()),
            ("wiki_api_envelope", |r| check_envelope(r, "test").is_ok()),
        ];
        // Hand-written seeds are named `<ok|bad|err|http|…>_<case>`; inputs the fuzzer added are
        // named by their hash and prove nothing here.
        for (target, parses) in cases {
            for (name, data) in corpus(target).into_iter().filter(|(name, _)| name.contains('_')) {
                let (response, _) = response(&data);
                assert_eq!(parses(&response), name.starts_with("ok_"), "{target}/{name}");
            }
        }
        for (name, data) in corpus("wiki_login_response") {
            let (response, _) = response(&data);
            if name == "ok_success" {
                assert!(parse_login(&response).is_ok());
            } else if name.starts_with("bad_") || name.starts_with("err_") {
                assert!(parse_login(&response).is_err(), "{name}");
            }
        }
    }

    #[test]
    fn the_main_account_seed_is_refused_even_if_the_fuzz_invariant_were_weakened() {
        let data = corpus("wiki_login_response")
            .into_iter()
            .find(|(name, _)| name == "bad_main_account_plaintext")
            .map(|(_, data)| data)
            .unwrap();
        let (response, _) = response(&data);
        assert!(matches!(parse_login(&response), Err(WikiError::Login(_))));
    }
}
