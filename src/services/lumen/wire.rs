//! Lumen's one call, as pure functions: [`build_create_notice`] turns a typed [`Notice`] into the
//! `POST {base}/notices` request, and [`parse_create_notice`] reads the answer into a
//! [`CreatedNotice`] or a [`LumenError`]. No I/O, no clock: the egress client sends the request.
//!
//! # The request
//! `Accept: application/json` (without it Lumen answers with HTML redirects and pages), the token
//! in `X-Authentication-Token` as a secret header (never in the body or the query), and the
//! notice as JSON `{"notice":{...}}`, or, when there are attachments, as `multipart/form-data`
//! with Rails' bracketed keys (`notice[title]`,
//! `notice[works_attributes][0][infringing_urls_attributes][0][url]`,
//! `notice[file_uploads_attributes][0][file]` as a file part). Both carry the same fields: the
//! multipart keys are the JSON document flattened. An empty text field is left out of the
//! request, so Lumen sees it as absent.
//!
//! # What is checked before anything is sent
//! Everything Lumen would refuse, so that the staffer sees the mistake on the form, with the
//! field it is in, instead of a half-sent notice: a blank title or one over 255 characters; no
//! work; no entity; a blank entity name; an entity field over 255 characters; a country code
//! that is not two capital letters; a date before 1998-10-29; a blank URL; a tag or jurisdiction
//! that is blank, holds a comma (it would become two) or is over 255 characters; an attachment
//! with no bytes (Lumen drops it silently), a blank, over-long or header-breaking file name, or a
//! content type that is not `type/subtype`; and a NUL character anywhere (Lumen answers 400 to
//! an escaped NUL). Also refused: a work with neither a description nor a URL, which the
//! multipart form could not even carry. Not checked here: a date after tomorrow (this module
//! has no clock; Lumen answers 422) and whether `language` is a code Lumen knows (it keeps that
//! list itself).
//!
//! # The answer
//! Only `201 Created` with a `Location` of exactly `https://<the base's host>/notices/<id>` is
//! success (under the base's path, if it has one); the body of a 201 is ignored, and an id is
//! never made up from anything else. Any 3xx is a failure: Lumen redirects only a request it
//! took for a browser's. Lumen's 422 is `{"notices":{"<attribute>":["message", ...]}}`; an
//! object of such arrays without the `notices` wrapper is read the same way, deliberately: the
//! wrapper is only the root around the Rails errors hash, an answer without it still names the
//! fields, and the alternative would be to tell the staffer "refused, reason unknown". A 422 that
//! names nothing readable gives one field error on `notice`. See [`LumenError`] for every other
//! status.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::{ACCEPT, HeaderName, LOCATION};
use serde_json::{Map, Value};
use time::Date;
use url::Url;

use crate::egress::wire::{Body, Part, WireRequest, WireResponse};

/// The header that carries the token (Lumen's documented placement).
pub const TOKEN_HEADER: HeaderName = HeaderName::from_static("x-authentication-token");

/// Lumen's limit for the title and for every entity field (its string columns).
pub const MAX_FIELD_CHARS: usize = 255;

/// How long a rate-limited client must wait: Lumen's 429 text asks for at least five minutes.
pub const RATE_LIMIT_WAIT: Duration = Duration::from_secs(5 * 60);

/// The earliest date Lumen takes (it validates dates as after 1998-10-28, the day the DMCA was
/// signed), as (year, month, day).
const EARLIEST_DATE: (i32, u8, u8) = (1998, 10, 29);

/// How much of a server's text an error keeps: enough to recognise the page, not a whole page.
const MAX_ERROR_TEXT_CHARS: usize = 300;

/// How many field errors of a 422 are kept; Lumen sends a handful, a broken peer could send more.
const MAX_FIELD_ERRORS: usize = 50;

/// How much of a Location an error quotes.
const MAX_LOCATION_CHARS: usize = 200;

/// How much of a 422's attribute name an error keeps.
const MAX_ATTRIBUTE_CHARS: usize = 100;

// === Input ===

/// A notice to file with Lumen (a DMCA takedown, usually). Its `Debug` shows the shape only:
/// the complaint and the people in it are personal data.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Notice {
    /// The kind of notice; Lumen files anything unknown as DMCA.
    pub notice_type: NoticeType,
    /// Required, at most 255 characters.
    pub title: String,
    /// The complaint's subject line.
    pub subject: String,
    /// The complaint's text.
    pub body: String,
    /// How the complaint arrived (e-mail, web form, post).
    pub source: String,
    /// A language code Lumen knows (`en`).
    pub language: String,
    /// When the complainant sent it.
    pub date_sent: Option<Date>,
    /// When we received it.
    pub date_received: Option<Date>,
    /// What was done about it.
    pub action_taken: Option<ActionTaken>,
    /// Tags, sent joined with ", " (so none may hold a comma).
    pub tag_list: Vec<String>,
    /// Jurisdictions (`US`, `CA`), sent joined with ", ".
    pub jurisdiction_list: Vec<String>,
    /// The works concerned; at least one.
    pub works: Vec<Work>,
    /// Who is who (sender, recipient, principal, ...); at least one.
    pub entity_roles: Vec<EntityRole>,
    /// Files: the notice as received, supporting documents.
    pub attachments: Vec<Attachment>,
}

/// Lumen's notice types (the model classes its `type` parameter names).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NoticeType {
    /// `Counterfeit`.
    Counterfeit,
    /// `Counternotice`.
    Counternotice,
    /// `CourtOrder`.
    CourtOrder,
    /// `DataProtection`.
    DataProtection,
    /// `Defamation`.
    Defamation,
    /// `DMCA`: a copyright takedown.
    #[default]
    Dmca,
    /// `GovernmentRequest`.
    GovernmentRequest,
    /// `LawEnforcementRequest`.
    LawEnforcementRequest,
    /// `LocalLaw`.
    LocalLaw,
    /// `Other`.
    Other,
    /// `Placeholder`.
    Placeholder,
    /// `PrivateInformation`.
    PrivateInformation,
    /// `Trademark`.
    Trademark,
}

/// What was done about the notice (Lumen's case-sensitive set).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionTaken {
    /// `Yes`.
    Yes,
    /// `No`.
    No,
    /// `Partial`.
    Partial,
    /// `Unspecified`.
    Unspecified,
}

/// One work: what is claimed, where the original is, where the copies are. Its `Debug` shows
/// the shape (how many URLs), not the text.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Work {
    /// What the work is ("Photograph of a lighthouse").
    pub description: String,
    /// Where the original is; each non-blank.
    pub copyrighted_urls: Vec<String>,
    /// Where the copies complained of are; each non-blank.
    pub infringing_urls: Vec<String>,
}

/// An entity in one role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityRole {
    /// The role.
    pub role: Role,
    /// Who.
    pub entity: Entity,
}

/// The roles Lumen knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// `agent`.
    Agent,
    /// `attorney`.
    Attorney,
    /// `defendant`.
    Defendant,
    /// `issuing_court`.
    IssuingCourt,
    /// `plaintiff`.
    Plaintiff,
    /// `principal`: on whose behalf the notice was sent.
    Principal,
    /// `recipient`: who received the notice (us).
    Recipient,
    /// `sender`: who sent the notice.
    Sender,
    /// `submitter`: who files it with Lumen (Lumen replaces it with the token's own entity).
    Submitter,
    /// `target`.
    Target,
}

/// A person or organisation. Every field is at most 255 characters; empty ones are not sent.
/// Its `Debug` names the kind and which fields are filled, not what they hold (addresses,
/// telephone numbers and e-mail addresses are personal data).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Entity {
    /// Required.
    pub name: String,
    /// Individual or organisation.
    pub kind: EntityKind,
    /// Street address.
    pub address_line_1: String,
    /// Street address, second line.
    pub address_line_2: String,
    /// City.
    pub city: String,
    /// State or region.
    pub state: String,
    /// Postal code.
    pub zip: String,
    /// Two capital letters (ISO 3166-1 alpha-2: `US`, `GB`). Lumen's field is `country_code`.
    pub country_code: String,
    /// Telephone.
    pub phone: String,
    /// E-mail address.
    pub email: String,
    /// Web site.
    pub url: String,
}

/// Individual or organisation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// `individual` (Lumen's default).
    #[default]
    Individual,
    /// `organization`.
    Organization,
}

/// A file sent with the notice.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The notice itself, or a supporting document.
    pub kind: AttachmentKind,
    /// The name Lumen shows; no quotes, backslashes or control characters.
    pub file_name: String,
    /// `type/subtype`, chosen by us (never a browser's claim).
    pub content_type: &'static str,
    /// The bytes; never empty (Lumen silently drops an empty upload).
    pub data: Bytes,
}

/// Which kind of file an attachment is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AttachmentKind {
    /// `original`: the notice as it was received.
    Original,
    /// `supporting`: anything else (Lumen's default).
    #[default]
    Supporting,
}

// === Output ===

/// A notice Lumen stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedNotice {
    /// Lumen's notice number (greater than zero).
    pub id: u64,
    /// The notice's page, `https://<host>/notices/<id>`.
    pub url: Url,
}

/// A problem with one field: found before sending, or reported by Lumen's 422.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Our field path (`entity_roles[1].entity.name`) or Lumen's attribute
    /// (`entity_notice_roles.entity.name`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Why a 201's `Location` names no notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationProblem {
    /// There was more than one `Location`.
    Ambiguous,
    /// There was no `Location`.
    Missing,
    /// The path is not exactly `/notices/<id>` with a positive id in plain digits (a trailing
    /// slash, a `.json` suffix, a query, a leading zero, ...).
    NotANoticePath,
    /// Not `https`.
    NotHttps,
    /// Another host (or port) than the one the notice was sent to.
    OtherHost,
    /// A relative URL.
    Relative,
    /// Not text, or not a URL at all.
    Unreadable,
}

/// What can go wrong. Every message starts with "Lumen", says whether anything was stored, and
/// what to do. None carries the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LumenError {
    /// 400 with `{"status":400,"error":"..."}`: Lumen could not parse our JSON.
    #[error(
        "Lumen could not read the notice it was sent (HTTP 400: {0}); nothing was stored: this is \
         a bug in takedown, report it with the case"
    )]
    BadJson(String),
    /// Any other 400: an escaped NUL in the body, or an attachment Lumen could not read.
    #[error(
        "Lumen refused the request as malformed (HTTP 400 Bad request: a NUL character in a field \
         or an attachment it could not read); nothing was stored: remove those and send again"
    )]
    BadRequest,
    /// The notice has mistakes Lumen would refuse; nothing was sent.
    #[error("Lumen would refuse this notice, so nothing was sent: {}; correct the form and send again", list(.0))]
    Invalid(Vec<FieldError>),
    /// 404: Lumen's answer to any request its framework could not route or read.
    #[error(
        "Lumen answered 404 Not Found, its answer to a request it could not route or read; nothing \
         was stored: check the Lumen base URL in the configuration, and report it if it persists"
    )]
    NotFound,
    /// 401: the token is valid but its account lacks the submitter role.
    #[error(
        "Lumen accepted the token but its account may not submit notices (HTTP 401); nothing was \
         stored: ask the Lumen team to give the account the submitter role"
    )]
    NotSubmitter,
    /// 429: wait at least [`RATE_LIMIT_WAIT`].
    #[error(
        "Lumen is rate-limiting this account (HTTP 429); nothing was stored: wait at least five \
         minutes before sending again"
    )]
    RateLimited,
    /// A 3xx: Lumen answered as to a browser (the Accept header was not honoured).
    #[error(
        "Lumen redirected the request (Accept header not honoured); nothing was recorded as sent: \
         check the Lumen base URL, and look for the notice on Lumen before sending again"
    )]
    Redirected,
    /// A 5xx, with the start of its text.
    #[error(
        "Lumen had a server error (HTTP {0}: {1}); the notice may or may not have been stored: \
         look for it on Lumen before sending again"
    )]
    ServerError(u16, String),
    /// 403: the token is missing or unknown (Lumen's rate limiter blocks such API calls).
    #[error(
        "Lumen refused the token (HTTP 403 Forbidden: missing or unknown); nothing was stored: check \
         the Lumen token in the credentials and send again"
    )]
    TokenRefused,
    /// The token cannot be sent as a header value.
    #[error(
        "Lumen token cannot be sent: it is empty or holds a space or control character; set the \
         Lumen token again"
    )]
    TokenUnusable,
    /// A status Lumen does not use for this call.
    #[error(
        "Lumen answered with the unexpected HTTP status {0}; the notice may or may not have been \
         stored: look for it on Lumen before sending again"
    )]
    UnexpectedStatus(u16),
    /// The configured base is not an `https` URL with a host and nothing but a path (the URL is
    /// not quoted: a query could hold a token).
    #[error(
        "Lumen base URL must be https with a host and no user name, password, query or fragment; \
         fix the Lumen base URL in the configuration"
    )]
    UnusableBaseUrl,
    /// 201, but the `Location` does not name the notice.
    #[error(
        "Lumen stored the notice (HTTP 201) but its Location header does not name it: {problem}{}; \
         do not send it again: find it on Lumen and record its number by hand",
        quoted(.location.as_deref())
    )]
    UnusableLocation {
        /// What is wrong with it.
        problem: LocationProblem,
        /// The header's text, shortened and without control characters, if it was text.
        location: Option<String>,
    },
    /// 422: Lumen's own validation refused the notice.
    #[error("Lumen refused the notice and stored nothing (HTTP 422): {}; correct these and send again", list(.0))]
    Validation(Vec<FieldError>),
}

impl LumenError {
    /// Whether Lumen may have stored the notice even so. Such a notice must not be sent again
    /// blindly: Lumen has no idempotency key, and a second send files a second notice.
    pub fn may_have_stored(&self) -> bool {
        matches!(
            self,
            LumenError::Redirected
                | LumenError::ServerError(..)
                | LumenError::UnexpectedStatus(_)
                | LumenError::UnusableLocation { .. }
        )
    }
}

// === Building ===

/// The request that files `notice` with the Lumen at `base` (`https://lumendatabase.org`),
/// authenticated by `token`. Refuses, before anything is sent, a notice Lumen would refuse (see
/// the module documentation), a token that cannot be a header, and a base with a query,
/// fragment or credentials.
pub fn build_create_notice(base: &Url, token: &str, notice: &Notice) -> Result<WireRequest, LumenError> {
    let url = notices_url(base)?;
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LumenError::TokenUnusable);
    }
    let problems = check_notice(notice);
    if !problems.is_empty() {
        return Err(LumenError::Invalid(problems));
    }
    let fields = notice_fields(notice);
    let body = if notice.attachments.is_empty() {
        let mut root = Map::new();
        root.insert("notice".to_owned(), Value::Object(fields));
        Body::json(&Value::Object(root))
    } else {
        let mut parts = Vec::new();
        flatten("notice", &Value::Object(fields), &mut parts);
        for (i, attachment) in notice.attachments.iter().enumerate() {
            let key = format!("notice[file_uploads_attributes][{i}]");
            parts.push(Part::text(&format!("{key}[kind]"), attachment.kind.as_str()));
            parts.push(Part::text(&format!("{key}[file_name]"), &attachment.file_name));
            parts.push(Part::file(
                &format!("{key}[file]"),
                &attachment.file_name,
                attachment.content_type,
                attachment.data.clone(),
            ));
        }
        Body::Multipart(parts)
    };
    WireRequest::new(Method::POST, url)
        .header(ACCEPT, "application/json")
        .secret_header(TOKEN_HEADER, token)
        .map_err(|_| LumenError::TokenUnusable)
        .map(|request| request.body(body))
}

/// `{base}/notices`, keeping a path prefix the base may have.
/// `<base>/notices`, where notices are filed; refuses a base that is not https with a host, or
/// that carries credentials, a query or a fragment.
pub fn notices_url(base: &Url) -> Result<Url, LumenError> {
    let usable = base.scheme() == "https"
        && base.host_str().is_some()
        && base.username().is_empty()
        && base.password().is_none()
        && base.query().is_none()
        && base.fragment().is_none();
    if !usable {
        return Err(LumenError::UnusableBaseUrl);
    }
    let mut url = base.clone();
    url.path_segments_mut().map_err(|()| LumenError::UnusableBaseUrl)?.pop_if_empty().push("notices");
    Ok(url)
}

/// Every problem Lumen would refuse, with our field path; empty when the notice can be sent.
fn check_notice(notice: &Notice) -> Vec<FieldError> {
    let mut problems = Problems(Vec::new());
    if notice.title.trim().is_empty() {
        problems.add("title", "is blank; a notice needs a title");
    }
    problems.check_length("title", &notice.title);
    for (field, text) in [
        ("title", &notice.title),
        ("subject", &notice.subject),
        ("body", &notice.body),
        ("source", &notice.source),
        ("language", &notice.language),
    ] {
        problems.check_nul(field, text);
    }
    for (field, date) in [("date_sent", notice.date_sent), ("date_received", notice.date_received)] {
        if date.is_some_and(|date| (date.year(), u8::from(date.month()), date.day()) < EARLIEST_DATE) {
            problems.add(
                field,
                "is before 1998-10-29; Lumen takes only dates from the day after the DMCA was signed",
            );
        }
    }
    for (field, list) in [("tag_list", &notice.tag_list), ("jurisdiction_list", &notice.jurisdiction_list)] {
        for (i, item) in list.iter().enumerate() {
            let field = format!("{field}[{i}]");
            if item.trim().is_empty() {
                problems.add(&field, "is blank");
            }
            if item.contains(',') {
                problems.add(&field, "holds a comma, which would make it two");
            }
            problems.check_length(&field, item);
            problems.check_nul(&field, item);
        }
    }
    if notice.works.is_empty() {
        problems.add("works", "is empty; a notice needs at least one work");
    }
    for (i, work) in notice.works.iter().enumerate() {
        if work.description.is_empty() && work.copyrighted_urls.is_empty() && work.infringing_urls.is_empty()
        {
            problems.add(&format!("works[{i}]"), "is empty; give a description or a URL");
        }
        problems.check_nul(&format!("works[{i}].description"), &work.description);
        for (list, urls) in
            [("copyrighted_urls", &work.copyrighted_urls), ("infringing_urls", &work.infringing_urls)]
        {
            for (j, url) in urls.iter().enumerate() {
                let field = format!("works[{i}].{list}[{j}]");
                if url.trim().is_empty() {
                    problems.add(&field, "is blank");
                }
                problems.check_nul(&field, url);
            }
        }
    }
    if notice.entity_roles.is_empty() {
        problems.add("entity_roles", "is empty; a notice needs at least one entity (its sender, usually)");
    }
    for (i, role) in notice.entity_roles.iter().enumerate() {
        let entity = &role.entity;
        if entity.name.trim().is_empty() {
            problems.add(&format!("entity_roles[{i}].entity.name"), "is blank; every entity needs a name");
        }
        let country = &entity.country_code;
        let two_capitals = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
        if !country.is_empty() && !two_capitals {
            problems.add(
                &format!("entity_roles[{i}].entity.country_code"),
                "must be two capital letters (ISO 3166-1, such as US or GB)",
            );
        }
        for (name, text) in entity.text_fields() {
            let field = format!("entity_roles[{i}].entity.{name}");
            problems.check_length(&field, text);
            problems.check_nul(&field, text);
        }
    }
    for (i, attachment) in notice.attachments.iter().enumerate() {
        let name = &attachment.file_name;
        let field = format!("attachments[{i}].file_name");
        if name.trim().is_empty() {
            problems.add(&field, "is blank");
        }
        if name.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
            problems.add(&field, "holds a quote, backslash or control character");
        }
        problems.check_length(&field, name);
        if !is_media_type(attachment.content_type) {
            problems.add(&format!("attachments[{i}].content_type"), "is not a media type such as text/plain");
        }
        if attachment.data.is_empty() {
            problems.add(&format!("attachments[{i}].data"), "is empty; Lumen would silently drop the file");
        }
    }
    problems.0
}

/// Problems collected while checking a notice.
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, message: &str) {
        self.0.push(FieldError { field: field.to_owned(), message: message.to_owned() });
    }

    fn check_length(&mut self, field: &str, text: &str) {
        let chars = text.chars().count();
        if chars > MAX_FIELD_CHARS {
            self.add(field, &format!("is {chars} characters long; Lumen takes at most {MAX_FIELD_CHARS}"));
        }
    }

    fn check_nul(&mut self, field: &str, text: &str) {
        if text.contains('\0') {
            self.add(field, "holds a NUL character, which Lumen refuses");
        }
    }
}

/// `type/subtype` in token characters, nothing else.
fn is_media_type(text: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    text.split_once('/').is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

/// The notice's fields under `notice`, as Lumen names them, leaving out empty text.
fn notice_fields(notice: &Notice) -> Map<String, Value> {
    let mut fields = Map::new();
    put(&mut fields, "type", notice.notice_type.as_str());
    put(&mut fields, "title", &notice.title);
    put(&mut fields, "subject", &notice.subject);
    put(&mut fields, "body", &notice.body);
    put(&mut fields, "source", &notice.source);
    put(&mut fields, "language", &notice.language);
    if let Some(date) = notice.date_sent {
        put(&mut fields, "date_sent", &date_text(date));
    }
    if let Some(date) = notice.date_received {
        put(&mut fields, "date_received", &date_text(date));
    }
    if let Some(action) = notice.action_taken {
        put(&mut fields, "action_taken", action.as_str());
    }
    put(&mut fields, "tag_list", &notice.tag_list.join(", "));
    put(&mut fields, "jurisdiction_list", &notice.jurisdiction_list.join(", "));
    let works = notice.works.iter().map(|work| {
        let mut fields = Map::new();
        put(&mut fields, "description", &work.description);
        fields.insert("copyrighted_urls_attributes".to_owned(), url_list(&work.copyrighted_urls));
        fields.insert("infringing_urls_attributes".to_owned(), url_list(&work.infringing_urls));
        Value::Object(fields)
    });
    fields.insert("works_attributes".to_owned(), Value::Array(works.collect()));
    let roles = notice.entity_roles.iter().map(|role| {
        let mut entity = Map::new();
        put(&mut entity, "kind", role.entity.kind.as_str());
        for (name, text) in role.entity.text_fields() {
            put(&mut entity, name, text);
        }
        let mut fields = Map::new();
        put(&mut fields, "name", role.role.as_str());
        fields.insert("entity_attributes".to_owned(), Value::Object(entity));
        Value::Object(fields)
    });
    fields.insert("entity_notice_roles_attributes".to_owned(), Value::Array(roles.collect()));
    fields
}

/// Sets `key` to `text`, unless the text is empty.
fn put(fields: &mut Map<String, Value>, key: &str, text: &str) {
    if !text.is_empty() {
        fields.insert(key.to_owned(), Value::String(text.to_owned()));
    }
}

/// `[{"url": ...}, ...]`.
fn url_list(urls: &[String]) -> Value {
    Value::Array(urls.iter().map(|url| serde_json::json!({ "url": url })).collect())
}

/// `YYYY-MM-DD` (a checked date is from 1998 on, so four digits).
fn date_text(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// The multipart form of a JSON value: one text part per string, named with Rails' brackets
/// (`notice[works_attributes][0][description]`).
fn flatten(name: &str, value: &Value, parts: &mut Vec<Part>) {
    match value {
        Value::Object(fields) => {
            for (key, value) in fields {
                flatten(&format!("{name}[{key}]"), value, parts);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                flatten(&format!("{name}[{i}]"), value, parts);
            }
        }
        Value::String(text) => parts.push(Part::text(name, text)),
        other => parts.push(Part::text(name, &other.to_string())),
    }
}

// === Parsing ===

/// Reads Lumen's answer to [`build_create_notice`]'s request sent to `base`.
pub fn parse_create_notice(resp: &WireResponse, base: &Url) -> Result<CreatedNotice, LumenError> {
    match resp.status.as_u16() {
        201 => created_notice(resp, base),
        300..=399 => Err(LumenError::Redirected),
        400 => Err(bad_request(&resp.body)),
        401 => Err(LumenError::NotSubmitter),
        403 => Err(LumenError::TokenRefused),
        404 => Err(LumenError::NotFound),
        422 => Err(LumenError::Validation(field_errors(&resp.body))),
        429 => Err(LumenError::RateLimited),
        status @ 500..=599 => {
            Err(LumenError::ServerError(status, clean_text(&resp.body, MAX_ERROR_TEXT_CHARS)))
        }
        status => Err(LumenError::UnexpectedStatus(status)),
    }
}

/// The notice a 201's `Location` names, or why it names none.
fn created_notice(resp: &WireResponse, base: &Url) -> Result<CreatedNotice, LumenError> {
    let notices = notices_url(base)?;
    let unusable = |problem, location: Option<&str>| LumenError::UnusableLocation {
        problem,
        location: location.map(|text| clean_text(text.as_bytes(), MAX_LOCATION_CHARS)),
    };
    let mut values = resp.headers.get_all(LOCATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(unusable(LocationProblem::Missing, None)),
        (Some(_), Some(_)) => return Err(unusable(LocationProblem::Ambiguous, None)),
        (Some(value), None) => value,
    };
    let Ok(text) = value.to_str() else { return Err(unusable(LocationProblem::Unreadable, None)) };
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(unusable(LocationProblem::Relative, Some(text)));
        }
        Err(_) => return Err(unusable(LocationProblem::Unreadable, Some(text))),
    };
    if url.scheme() != "https" {
        return Err(unusable(LocationProblem::NotHttps, Some(text)));
    }
    if url.host() != notices.host() || url.port_or_known_default() != notices.port_or_known_default() {
        return Err(unusable(LocationProblem::OtherHost, Some(text)));
    }
    let prefix = format!("{}/", notices.path());
    let id = url
        .path()
        .strip_prefix(&prefix)
        .filter(|digits| !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u64>().ok())
        .filter(|_| url.username().is_empty() && url.password().is_none())
        .filter(|_| url.query().is_none() && url.fragment().is_none());
    match id {
        Some(id) => Ok(CreatedNotice { id, url }),
        None => Err(unusable(LocationProblem::NotANoticePath, Some(text))),
    }
}

/// A 400: Lumen's JSON parse error, or its plain "Bad request".
fn bad_request(body: &[u8]) -> LumenError {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => match fields.get("error") {
            Some(Value::String(message)) => {
                LumenError::BadJson(clean_text(message.as_bytes(), MAX_ERROR_TEXT_CHARS))
            }
            _ => LumenError::BadRequest,
        },
        _ => LumenError::BadRequest,
    }
}

/// A 422's field errors: `{"notices":{attr:[msgs]}}`, or the same object without the wrapper.
/// Always at least one, so that the staffer is never told "refused" with nothing to fix.
fn field_errors(body: &[u8]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Ok(Value::Object(top)) = serde_json::from_slice::<Value>(body) {
        let attributes = match top.get("notices") {
            Some(Value::Object(inner)) => inner,
            _ => &top,
        };
        'attributes: for (attribute, messages) in attributes {
            let messages = match messages {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                Value::String(message) => vec![message.as_str()],
                _ => Vec::new(),
            };
            for message in messages {
                if errors.len() == MAX_FIELD_ERRORS {
                    break 'attributes;
                }
                errors.push(FieldError {
                    field: clean_text(attribute.as_bytes(), MAX_ATTRIBUTE_CHARS),
                    message: clean_text(message.as_bytes(), MAX_ERROR_TEXT_CHARS),
                });
            }
        }
    }
    if errors.is_empty() {
        errors.push(FieldError {
            field: "notice".to_owned(),
            message: "refused without a list of problems that could be read".to_owned(),
        });
    }
    errors
}

/// Server text made safe to show and log: lossy UTF-8, control characters and runs of white
/// space as one space, at most `max` characters.
fn clean_text(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let words = text.split(|c: char| c.is_whitespace() || c.is_control()).filter(|word| !word.is_empty());
    let mut clean = String::new();
    for (i, word) in words.enumerate() {
        if i > 0 {
            clean.push(' ');
        }
        clean.push_str(word);
    }
    match clean.char_indices().nth(max) {
        Some((cut, _)) => clean[..cut].to_owned(),
        None => clean,
    }
}

/// Field errors as one line.
fn list(errors: &[FieldError]) -> String {
    errors.iter().map(FieldError::to_string).collect::<Vec<_>>().join("; ")
}

/// A Location for a message: quoted after a space, or nothing.
fn quoted(location: Option<&str>) -> String {
    location.map_or_else(String::new, |text| format!(" ({text:?})"))
}

// === impl NoticeType, ActionTaken, Role, EntityKind, AttachmentKind ===

impl NoticeType {
    /// Every type.
    pub const ALL: [NoticeType; 13] = [
        NoticeType::Counterfeit,
        NoticeType::Counternotice,
        NoticeType::CourtOrder,
        NoticeType::DataProtection,
        NoticeType::Defamation,
        NoticeType::Dmca,
        NoticeType::GovernmentRequest,
        NoticeType::LawEnforcementRequest,
        NoticeType::LocalLaw,
        NoticeType::Other,
        NoticeType::Placeholder,
        NoticeType::PrivateInformation,
        NoticeType::Trademark,
    ];

    /// The value Lumen's `type` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeType::Counterfeit => "Counterfeit",
            NoticeType::Counternotice => "Counternotice",
            NoticeType::CourtOrder => "CourtOrder",
            NoticeType::DataProtection => "DataProtection",
            NoticeType::Defamation => "Defamation",
            NoticeType::Dmca => "DMCA",
            NoticeType::GovernmentRequest => "GovernmentRequest",
            NoticeType::LawEnforcementRequest => "LawEnforcementRequest",
            NoticeType::LocalLaw => "LocalLaw",
            NoticeType::Other => "Other",
            NoticeType::Placeholder => "Placeholder",
            NoticeType::PrivateInformation => "PrivateInformation",
            NoticeType::Trademark => "Trademark",
        }
    }
}

impl ActionTaken {
    /// Every value.
    pub const ALL: [ActionTaken; 4] =
        [ActionTaken::Yes, ActionTaken::No, ActionTaken::Partial, ActionTaken::Unspecified];

    /// The value Lumen's `action_taken` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionTaken::Yes => "Yes",
            ActionTaken::No => "No",
            ActionTaken::Partial => "Partial",
            ActionTaken::Unspecified => "Unspecified",
        }
    }
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 10] = [
        Role::Agent,
        Role::Attorney,
        Role::Defendant,
        Role::IssuingCourt,
        Role::Plaintiff,
        Role::Principal,
        Role::Recipient,
        Role::Sender,
        Role::Submitter,
        Role::Target,
    ];

    /// The role's name in Lumen.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Attorney => "attorney",
            Role::Defendant => "defendant",
            Role::IssuingCourt => "issuing_court",
            Role::Plaintiff => "plaintiff",
            Role::Principal => "principal",
            Role::Recipient => "recipient",
            Role::Sender => "sender",
            Role::Submitter => "submitter",
            Role::Target => "target",
        }
    }
}

impl Entity {
    /// The text fields by their Lumen names, in a fixed order (`kind` is not text).
    pub fn text_fields(&self) -> [(&'static str, &str); 10] {
        [
            ("name", &self.name),
            ("address_line_1", &self.address_line_1),
            ("address_line_2", &self.address_line_2),
            ("city", &self.city),
            ("state", &self.state),
            ("zip", &self.zip),
            ("country_code", &self.country_code),
            ("phone", &self.phone),
            ("email", &self.email),
            ("url", &self.url),
        ]
    }
}

impl EntityKind {
    /// The value Lumen's entity `kind` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Individual => "individual",
            EntityKind::Organization => "organization",
        }
    }
}

impl AttachmentKind {
    /// The value Lumen's upload `kind` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentKind::Original => "original",
            AttachmentKind::Supporting => "supporting",
        }
    }
}

// === impl Attachment, FieldError, LocationProblem ===

impl fmt::Debug for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notice")
            .field("notice_type", &self.notice_type)
            .field("title_chars", &self.title.chars().count())
            .field("body_chars", &self.body.chars().count())
            .field("works", &self.works.len())
            .field("entity_roles", &self.entity_roles.iter().map(|r| r.role).collect::<Vec<_>>())
            .field("attachments", &self.attachments)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let filled: Vec<&str> = self
            .text_fields()
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(field, _)| field)
            .collect();
        f.debug_struct("Entity").field("kind", &self.kind).field("filled", &filled).finish()
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Work")
            .field("description_chars", &self.description.chars().count())
            .field("copyrighted_urls", &self.copyrighted_urls.len())
            .field("infringing_urls", &self.infringing_urls.len())
            .finish()
    }
}

impl fmt::Debug for Attachment {
    /// The file's size, not its bytes (evidence, possibly large), and the length of its name,
    /// not the name (file names often name people).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("kind", &self.kind)
            .field("file_name_chars", &self.file_name.chars().count())
            .field("content_type", &self.content_type)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl fmt::Display for LocationProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocationProblem::Ambiguous => "there is more than one",
            LocationProblem::Missing => "there is none",
            LocationProblem::NotANoticePath => "its path is not /notices/ and a number",
            LocationProblem::NotHttps => "it is not https",
            LocationProblem::OtherHost => "it points at another host",
            LocationProblem::Relative => "it is relative",
            LocationProblem::Unreadable => "it is not a URL",
        })
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
    use time::Month;

    use super::*;
    use crate::fuzzing::lumen::check_notice_request;

    const TOKEN: &str = "tok_abc123";

    fn base() -> Url {
        Url::parse("https://lumendatabase.org").unwrap()
    }

    fn date(year: i32, month: Month, day: u8) -> Date {
        Date::from_calendar_date(year, month, day).unwrap()
    }

    fn entity(name: &str, kind: EntityKind, country_code: &str) -> Entity {
        Entity { name: name.to_owned(), kind, country_code: country_code.to_owned(), ..Entity::default() }
    }

    /// The notice of the protocol notes' happy-path exchange.
    #[test]
    fn debug_shows_the_shape_of_a_notice_not_the_people_in_it() {
        let mut notice = sample();
        notice.entity_roles[1].entity.email = "jane@agent.example".to_owned();
        let notice = with_attachment(notice);
        let printed = format!("{notice:?} {:?} {:?}", notice.entity_roles[1], notice.works[0]);
        for secret in ["Jane Agent", "jane@agent.example", "Example Org", "lighthouse", "GB", "notice.txt"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("Sender") && printed.contains("email"), "{printed}");
    }

    fn sample() -> Notice {
        Notice {
            title: "DMCA notice to Example Org".to_owned(),
            subject: "Copyright complaint re photograph".to_owned(),
            date_sent: Some(date(2026, Month::May, 1)),
            date_received: Some(date(2026, Month::May, 2)),
            action_taken: Some(ActionTaken::Yes),
            language: "en".to_owned(),
            tag_list: vec!["wikipedia".to_owned(), "wikimedia".to_owned()],
            jurisdiction_list: vec!["US".to_owned(), "CA".to_owned()],
            works: vec![Work {
                description: "Photograph of a lighthouse".to_owned(),
                copyrighted_urls: vec!["https://photographer.example/lighthouse".to_owned()],
                infringing_urls: vec!["https://wiki.example/File:Lighthouse.jpg".to_owned()],
            }],
            entity_roles: vec![
                EntityRole {
                    role: Role::Recipient,
                    entity: entity("Example Org", EntityKind::Organization, "US"),
                },
                EntityRole { role: Role::Sender, entity: entity("Jane Agent", EntityKind::Individual, "GB") },
                EntityRole {
                    role: Role::Principal,
                    entity: entity("Photo Rights Ltd", EntityKind::Organization, ""),
                },
            ],
            ..Notice::default()
        }
    }

    fn with_attachment(mut notice: Notice) -> Notice {
        notice.attachments.push(Attachment {
            kind: AttachmentKind::Original,
            file_name: "notice.txt".to_owned(),
            content_type: "text/plain",
            data: Bytes::from_static(b"Hello"),
        });
        notice
    }

    fn json_body(request: &WireRequest) -> Value {
        let Body::Bytes { content_type, data } = &request.body else {
            panic!("not a JSON body: {request:?}")
        };
        assert_eq!(*content_type, "application/json");
        serde_json::from_slice(data).unwrap()
    }

    fn invalid(notice: &Notice) -> Vec<FieldError> {
        match build_create_notice(&base(), TOKEN, notice) {
            Err(LumenError::Invalid(problems)) => problems,
            other => panic!("expected local problems, got {other:?}"),
        }
    }

    fn fields(problems: &[FieldError]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    fn response(status: u16, headers: &[(&'static str, &str)], body: &'static [u8]) -> WireResponse {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        WireResponse::new(StatusCode::from_u16(status).unwrap(), map, Bytes::from_static(body))
    }

    fn created(location: &str) -> Result<CreatedNotice, LumenError> {
        parse_create_notice(&response(201, &[("location", location)], b""), &base())
    }

    // === building ===

    #[test]
    fn a_notice_without_files_is_posted_as_json_with_the_token_in_its_header() {
        let request = build_create_notice(&base(), TOKEN, &sample()).unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.url.as_str(), "https://lumendatabase.org/notices");
        assert_eq!(request.header_value(&ACCEPT).unwrap(), "application/json");
        let token = request.header_value(&TOKEN_HEADER).unwrap();
        assert_eq!(token, TOKEN);
        assert!(token.is_sensitive());
        let body = json_body(&request);
        let notice = &body["notice"];
        assert_eq!(notice["type"], "DMCA");
        assert_eq!(notice["title"], "DMCA notice to Example Org");
        assert_eq!(notice["date_sent"], "2026-05-01");
        assert_eq!(notice["date_received"], "2026-05-02");
        assert_eq!(notice["action_taken"], "Yes");
        assert_eq!(notice["tag_list"], "wikipedia, wikimedia");
        assert_eq!(notice["jurisdiction_list"], "US, CA");
        let work = &notice["works_attributes"][0];
        assert_eq!(work["infringing_urls_attributes"][0]["url"], "https://wiki.example/File:Lighthouse.jpg");
        assert_eq!(work["copyrighted_urls_attributes"][0]["url"], "https://photographer.example/lighthouse");
        let roles = notice["entity_notice_roles_attributes"].as_array().unwrap();
        assert_eq!(
            roles.iter().map(|r| r["name"].as_str().unwrap()).collect::<Vec<_>>(),
            ["recipient", "sender", "principal"]
        );
        assert_eq!(roles[0]["entity_attributes"]["kind"], "organization");
        assert_eq!(roles[1]["entity_attributes"]["country_code"], "GB");
        // Empty text is left out rather than sent blank.
        assert!(notice.get("body").is_none() && notice.get("source").is_none());
        assert!(roles[2]["entity_attributes"].get("country_code").is_none());
        assert!(body.get("authentication_token").is_none());
    }

    #[test]
    fn the_token_is_in_no_body_url_or_debug_output() {
        for notice in [sample(), with_attachment(sample())] {
            let request = build_create_notice(&base(), TOKEN, &notice).unwrap();
            assert!(request.url.query().is_none());
            assert!(!format!("{request:?}").contains(TOKEN));
            let bytes: Vec<u8> = match &request.body {
                Body::Bytes { data, .. } => data.to_vec(),
                Body::Multipart(parts) => {
                    parts.iter().flat_map(|p| [p.name.as_bytes(), &p.data[..]].concat()).collect()
                }
                Body::Empty => unreachable!(),
            };
            assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN));
        }
    }

    #[test]
    fn the_built_request_reads_back_as_the_notice() {
        let mut full = with_attachment(sample());
        full.body = "Line one\nLine two \u{e9}\u{1F600}".to_owned();
        full.source = "E-mail".to_owned();
        full.notice_type = NoticeType::Trademark;
        full.attachments.push(Attachment { kind: AttachmentKind::Supporting, ..full.attachments[0].clone() });
        full.entity_roles[0].entity = Entity {
            address_line_1: "1 Main Street".to_owned(),
            address_line_2: "Suite 2".to_owned(),
            city: "San Francisco".to_owned(),
            state: "CA".to_owned(),
            zip: "94104".to_owned(),
            phone: "+1 415 555 0100".to_owned(),
            email: "legal@example.org".to_owned(),
            url: "https://example.org".to_owned(),
            ..full.entity_roles[0].entity.clone()
        };
        for notice in [sample(), full.clone(), Notice { attachments: Vec::new(), ..full }] {
            check_notice_request(&notice);
        }
    }

    #[test]
    fn a_notice_with_files_is_posted_as_multipart_with_bracketed_keys() {
        let request = build_create_notice(&base(), TOKEN, &with_attachment(sample())).unwrap();
        let Body::Multipart(parts) = &request.body else { panic!("not multipart: {request:?}") };
        let text = |name: &str| {
            let part = parts.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no part {name}"));
            assert!(part.file_name.is_none());
            String::from_utf8(part.data.to_vec()).unwrap()
        };
        assert_eq!(text("notice[title]"), "DMCA notice to Example Org");
        assert_eq!(
            text("notice[works_attributes][0][infringing_urls_attributes][0][url]"),
            "https://wiki.example/File:Lighthouse.jpg"
        );
        assert_eq!(text("notice[entity_notice_roles_attributes][1][entity_attributes][name]"), "Jane Agent");
        assert_eq!(text("notice[file_uploads_attributes][0][kind]"), "original");
        let file = parts.iter().find(|p| p.name == "notice[file_uploads_attributes][0][file]").unwrap();
        assert_eq!(file.file_name.as_deref(), Some("notice.txt"));
        assert_eq!(file.content_type, Some("text/plain"));
        assert_eq!(&file.data[..], b"Hello");
        assert_eq!(request.header_value(&TOKEN_HEADER).unwrap(), TOKEN);
        assert!(request.header_value(&CONTENT_TYPE).is_none(), "the client sets the multipart boundary");
    }

    #[test]
    fn a_base_path_is_kept_and_a_risky_base_is_refused() {
        let beta = Url::parse("https://api-beta.lumendatabase.org/").unwrap();
        assert_eq!(
            build_create_notice(&beta, TOKEN, &sample()).unwrap().url.as_str(),
            "https://api-beta.lumendatabase.org/notices"
        );
        let prefixed = Url::parse("https://peer.test:8443/lumen/").unwrap();
        assert_eq!(
            build_create_notice(&prefixed, TOKEN, &sample()).unwrap().url.as_str(),
            "https://peer.test:8443/lumen/notices"
        );
        for bad in [
            "http://lumendatabase.org",
            "https://lumendatabase.org/?authentication_token=tok_abc123",
            "https://lumendatabase.org/#x",
            "https://user:pass@lumendatabase.org/",
            "data:text/plain,x",
        ] {
            let error = build_create_notice(&Url::parse(bad).unwrap(), TOKEN, &sample()).unwrap_err();
            assert_eq!(error, LumenError::UnusableBaseUrl, "{bad}");
            assert!(!error.to_string().contains(TOKEN));
        }
    }

    #[test]
    fn a_token_that_cannot_be_a_header_is_refused_without_being_shown() {
        for token in ["", "tok abc", "tok\r\nX-Evil: 1", "tok\u{e9}", " tok"] {
            let error = build_create_notice(&base(), token, &sample()).unwrap_err();
            assert_eq!(error, LumenError::TokenUnusable, "{token:?}");
        }
    }

    #[test]
    fn every_mistake_lumen_would_refuse_is_reported_before_sending_with_its_field() {
        let problems = invalid(&Notice::default());
        assert_eq!(fields(&problems), ["title", "works", "entity_roles"]);

        let mut notice = sample();
        notice.title = "x".repeat(256);
        notice.body = "a\0b".to_owned();
        notice.date_sent = Some(date(1998, Month::October, 28));
        notice.tag_list = vec!["one, two".to_owned(), " ".to_owned()];
        notice.works[0].infringing_urls.push("  ".to_owned());
        notice.works.push(Work::default());
        notice.entity_roles[0].entity.name = " ".to_owned();
        notice.entity_roles[1].entity.country_code = "gb".to_owned();
        notice.entity_roles[2].entity.city = "c".repeat(256);
        notice.attachments.push(Attachment {
            kind: AttachmentKind::Supporting,
            file_name: "a\"b.txt".to_owned(),
            content_type: "text plain",
            data: Bytes::new(),
        });
        let problems = invalid(&notice);
        assert_eq!(
            fields(&problems),
            [
                "title",
                "body",
                "date_sent",
                "tag_list[0]",
                "tag_list[1]",
                "works[0].infringing_urls[1]",
                "works[1]",
                "entity_roles[0].entity.name",
                "entity_roles[1].entity.country_code",
                "entity_roles[2].entity.city",
                "attachments[0].file_name",
                "attachments[0].content_type",
                "attachments[0].data",
            ]
        );
        let error = LumenError::Invalid(problems);
        let text = error.to_string();
        assert!(
            text.starts_with(
                "Lumen would refuse this notice, so nothing was sent: title: is 256 characters long"
            ),
            "{text}"
        );
        assert!(text.ends_with("correct the form and send again"), "{text}");
    }

    #[test]
    fn limits_count_characters_and_dates_start_the_day_after_the_dmca() {
        let mut notice = sample();
        notice.title = "\u{e9}".repeat(255);
        notice.entity_roles[0].entity.name = "\u{1F600}".repeat(255);
        notice.date_sent = Some(date(1998, Month::October, 29));
        notice.date_received = Some(date(1998, Month::October, 29));
        assert!(build_create_notice(&base(), TOKEN, &notice).is_ok());
        notice.date_received = Some(date(1998, Month::October, 28));
        assert_eq!(fields(&invalid(&notice)), ["date_received"]);
        notice.date_received = None;
        notice.title.push('e');
        assert_eq!(fields(&invalid(&notice)), ["title"]);
    }

    #[test]
    fn every_enum_value_has_lumens_spelling() {
        let types: Vec<_> = NoticeType::ALL.iter().map(|t| t.as_str()).collect();
        assert!(types.contains(&"DMCA") && types.contains(&"LawEnforcementRequest") && types.len() == 13);
        assert_eq!(NoticeType::default(), NoticeType::Dmca);
        let roles: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
        for role in [
            "principal",
            "agent",
            "attorney",
            "recipient",
            "sender",
            "submitter",
            "target",
            "issuing_court",
            "plaintiff",
            "defendant",
        ] {
            assert!(roles.contains(&role), "{role}");
        }
        assert_eq!(ActionTaken::ALL.map(ActionTaken::as_str), ["Yes", "No", "Partial", "Unspecified"]);
        assert_eq!(AttachmentKind::default().as_str(), "supporting");
    }

    #[test]
    fn an_attachment_prints_its_size_not_its_bytes() {
        let attachment = Attachment {
            data: Bytes::from_static(b"secret evidence"),
            ..with_attachment(sample()).attachments[0].clone()
        };
        let text = format!("{attachment:?}");
        assert!(text.contains("bytes: 15") && !text.contains("secret evidence"), "{text}");
    }

    // === parsing ===

    #[test]
    fn a_201_with_a_notice_location_is_the_notice_and_its_body_is_ignored() {
        let resp =
            response(201, &[("location", "https://lumendatabase.org/notices/40123456")], b"{\"id\": 1}");
        let notice = parse_create_notice(&resp, &base()).unwrap();
        assert_eq!(notice.id, 40_123_456);
        assert_eq!(notice.url.as_str(), "https://lumendatabase.org/notices/40123456");
        let beta = Url::parse("https://api-beta.lumendatabase.org/").unwrap();
        let resp = response(201, &[("location", "https://api-beta.lumendatabase.org/notices/7")], b"");
        assert_eq!(parse_create_notice(&resp, &beta).unwrap().id, 7);
        assert_eq!(created("https://LumenDatabase.org:443/notices/9").unwrap().id, 9);
    }

    #[test]
    fn a_201_whose_location_names_no_notice_is_an_error_and_no_id_is_invented() {
        use LocationProblem::*;
        let cases = [
            ("/notices/42", Relative),
            ("notices/42", Relative),
            ("https://lumendatabase.org/notices/abc", NotANoticePath),
            ("https://lumendatabase.org/notices/42/", NotANoticePath),
            ("https://lumendatabase.org/notices/42.json", NotANoticePath),
            ("https://lumendatabase.org/notices/042", NotANoticePath),
            ("https://lumendatabase.org/notices/0", NotANoticePath),
            ("https://lumendatabase.org/notices/99999999999999999999999", NotANoticePath),
            ("https://lumendatabase.org/notices/42?x=1", NotANoticePath),
            ("https://lumendatabase.org/notices/42#top", NotANoticePath),
            ("https://lumendatabase.org/notices/", NotANoticePath),
            ("https://lumendatabase.org/notices/new", NotANoticePath),
            ("https://lumendatabase.org/other/42", NotANoticePath),
            ("https://me@lumendatabase.org/notices/42", NotANoticePath),
            ("https://evil.example/notices/42", OtherHost),
            ("https://lumendatabase.org.evil.example/notices/42", OtherHost),
            ("https://lumendatabase.org:8443/notices/42", OtherHost),
            ("http://lumendatabase.org/notices/42", NotHttps),
            ("https://", Unreadable),
        ];
        for (location, problem) in cases {
            match created(location) {
                Err(LumenError::UnusableLocation { problem: found, location: quoted }) => {
                    assert_eq!(found, problem, "{location}");
                    assert_eq!(quoted.as_deref(), Some(location));
                }
                other => panic!("{location}: {other:?}"),
            }
        }
        let missing = parse_create_notice(&response(201, &[], b""), &base()).unwrap_err();
        assert_eq!(missing, LumenError::UnusableLocation { problem: Missing, location: None });
        assert!(missing.may_have_stored());
        let text = missing.to_string();
        assert!(
            text.starts_with("Lumen stored the notice") && text.contains("do not send it again"),
            "{text}"
        );
        let two = [
            ("location", "https://lumendatabase.org/notices/1"),
            ("location", "https://lumendatabase.org/notices/2"),
        ];
        assert!(matches!(
            parse_create_notice(&response(201, &two, b""), &base()),
            Err(LumenError::UnusableLocation { problem: Ambiguous, .. })
        ));
    }

    #[test]
    fn a_redirect_means_the_accept_header_was_not_honoured() {
        for status in [302, 301, 303] {
            let resp = response(status, &[("location", "https://lumendatabase.org/notices/new")], b"<html>");
            let error = parse_create_notice(&resp, &base()).unwrap_err();
            assert_eq!(error, LumenError::Redirected);
            let text = error.to_string();
            assert!(
                text.contains("redirected the request (Accept header not honoured)")
                    && text.contains("nothing was recorded as sent"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_422_lists_lumens_field_errors_with_or_without_the_wrapper() {
        let body = br#"{"notices":{"works":["can't be blank"],"entity_notice_roles.entity.name":["can't be blank","is too short"]}}"#;
        let error = parse_create_notice(&response(422, &[], body), &base()).unwrap_err();
        let LumenError::Validation(problems) = &error else { panic!("{error:?}") };
        assert_eq!(
            problems.iter().map(|p| (p.field.as_str(), p.message.as_str())).collect::<Vec<_>>(),
            [
                ("entity_notice_roles.entity.name", "can't be blank"),
                ("entity_notice_roles.entity.name", "is too short"),
                ("works", "can't be blank"),
            ]
        );
        assert!(
            error
                .to_string()
                .starts_with("Lumen refused the notice and stored nothing (HTTP 422): entity_notice_roles")
        );
        assert!(!error.may_have_stored());

        let bare =
            parse_create_notice(&response(422, &[], br#"{"date_sent":"is invalid","x":[1]}"#), &base());
        assert_eq!(
            bare,
            Err(LumenError::Validation(vec![FieldError {
                field: "date_sent".into(),
                message: "is invalid".into()
            }]))
        );

        for unreadable in [&b"<html>Unprocessable</html>"[..], b"{\"notices\":{}}", b"[]", b""] {
            let Err(LumenError::Validation(problems)) =
                parse_create_notice(&response(422, &[], unreadable), &base())
            else {
                panic!("not a validation error")
            };
            assert_eq!(fields(&problems), ["notice"]);
        }
    }

    #[test]
    fn each_other_status_is_its_own_error() {
        let parse = |status, body: &'static [u8]| {
            parse_create_notice(&response(status, &[], body), &base()).unwrap_err()
        };
        assert_eq!(
            parse(400, br#"{"status":400,"error":"There was a problem in the JSON you submitted: unexpected token"}"#),
            LumenError::BadJson("There was a problem in the JSON you submitted: unexpected token".to_owned())
        );
        assert_eq!(parse(400, b"Bad request"), LumenError::BadRequest);
        assert_eq!(parse(400, b"\"Bad Request\""), LumenError::BadRequest);
        assert_eq!(
            parse(401, br#"{"documentation_link":"https://example.org/wiki"}"#),
            LumenError::NotSubmitter
        );
        assert_eq!(parse(403, b"Forbidden"), LumenError::TokenRefused);
        assert_eq!(parse(404, b"\"Not Found\""), LumenError::NotFound);
        assert_eq!(parse(429, b"Please wait at least 5 minutes"), LumenError::RateLimited);
        assert_eq!(parse(200, b"{}"), LumenError::UnexpectedStatus(200));
        assert_eq!(parse(204, b""), LumenError::UnexpectedStatus(204));
        let page = format!("<html>\r\n<title>502 Bad\tGateway</title>\n{}</html>", "x".repeat(1000));
        let resp = WireResponse::new(StatusCode::BAD_GATEWAY, HeaderMap::new(), page);
        let LumenError::ServerError(502, text) = parse_create_notice(&resp, &base()).unwrap_err() else {
            panic!()
        };
        assert!(text.starts_with("<html> <title>502 Bad Gateway</title> xxx"), "{text}");
        assert_eq!(text.chars().count(), 300);
    }

    #[test]
    fn every_error_starts_with_lumen_and_only_the_uncertain_ones_may_have_stored() {
        let errors = [
            (LumenError::BadJson("x".into()), false),
            (LumenError::BadRequest, false),
            (
                LumenError::Invalid(vec![FieldError { field: "title".into(), message: "is blank".into() }]),
                false,
            ),
            (LumenError::NotFound, false),
            (LumenError::NotSubmitter, false),
            (LumenError::RateLimited, false),
            (LumenError::Redirected, true),
            (LumenError::ServerError(503, "busy".into()), true),
            (LumenError::TokenRefused, false),
            (LumenError::TokenUnusable, false),
            (LumenError::UnexpectedStatus(204), true),
            (LumenError::UnusableBaseUrl, false),
            (
                LumenError::UnusableLocation {
                    problem: LocationProblem::Relative,
                    location: Some("/notices/1".into()),
                },
                true,
            ),
            (
                LumenError::Validation(vec![FieldError {
                    field: "works".into(),
                    message: "can't be blank".into(),
                }]),
                false,
            ),
        ];
        for (error, may_have_stored) in errors {
            let text = error.to_string();
            assert!(text.starts_with("Lumen"), "{text}");
            assert!(!text.ends_with('.'), "{text}");
            assert_eq!(error.may_have_stored(), may_have_stored, "{text}");
        }
    }

    #[test]
    fn the_request_seeds_reach_both_bodies_and_the_refusal() {
        use crate::fuzzing::lumen::notice_from_bytes;
        let seed = |bytes: &[u8]| build_create_notice(&base(), TOKEN, &notice_from_bytes(bytes));
        let json = seed(include_bytes!("../../../fuzz/corpus/lumen_notice_request/json-dmca")).unwrap();
        assert_eq!(
            json_body(&json)["notice"]["entity_notice_roles_attributes"][1]["entity_attributes"]["zip"],
            "94104"
        );
        let multipart =
            seed(include_bytes!("../../../fuzz/corpus/lumen_notice_request/multipart-with-file")).unwrap();
        assert!(
            matches!(&multipart.body, Body::Multipart(parts) if parts.iter().any(|p| p.file_name.is_some()))
        );
        let Err(LumenError::Invalid(problems)) =
            seed(include_bytes!("../../../fuzz/corpus/lumen_notice_request/every-mistake"))
        else {
            panic!("the mistakes seed was accepted")
        };
        assert!(problems.len() >= 10, "{problems:?}");
    }
}
