//! Fuzz targets for the Lumen wire module: the answer to a notice (`lumen_create_response`) and
//! the request built from a notice (`lumen_notice_request`).
//!
//! The request target checks the builder against a restatement of Lumen's rules written here,
//! independently of the builder's own checks: a notice is sent exactly when those rules allow,
//! and what is sent reads back, field by field, as the notice.

use std::collections::BTreeMap;

use bytes::Bytes;
use http::header::{ACCEPT, HeaderMap, HeaderValue, LOCATION};
use http::{Method, StatusCode};
use serde_json::Value;
use time::Date;
use url::Url;

use super::{FuzzTarget, fuzz_response};
use crate::egress::wire::{Body, WireResponse};
use crate::services::lumen::wire::{
    ActionTaken, Attachment, AttachmentKind, Entity, EntityKind, EntityRole, LumenError, Notice, NoticeType,
    Role, TOKEN_HEADER, Work, build_create_notice, parse_create_notice,
};

/// This service's fuzz targets by name (`lumen_<message>`).
pub const TARGETS: &[(&str, FuzzTarget)] =
    &[("lumen_create_response", lumen_create_response), ("lumen_notice_request", lumen_notice_request)];

/// The base every target sends to.
const BASE: &str = "https://lumendatabase.org";

/// The token every target sends; it must never show up anywhere but its header.
const TOKEN: &str = "tok-fuzz-Qx7RkV2m9Lw";

/// Lumen's answer to a notice, three ways: with a good `Location`, with none, and (for a 201)
/// with the input itself as the `Location`. Success only ever comes from a 201 naming
/// `/notices/<id>` on the base's host with `id > 0`; every error's message starts with "Lumen"
/// and holds no control character.
pub fn lumen_create_response(data: &[u8]) {
    let base = base();
    let good = fuzz_response(data, &[("location", "https://lumendatabase.org/notices/42")]);
    let created = check_create_response(&good, &base);
    if good.status == StatusCode::CREATED {
        assert_eq!(created.map(|(id, _)| id), Some(42), "a 201 with a good Location is success");
    }
    let bare = fuzz_response(data, &[]);
    assert!(check_create_response(&bare, &base).is_none(), "a 201 with no Location is not success");
    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, value);
        let empty = WireResponse::new(StatusCode::CREATED, headers.clone(), Bytes::new());
        let with_body = WireResponse::new(StatusCode::CREATED, headers, Bytes::from_static(b"{\"id\": 7}"));
        let created = check_create_response(&empty, &base);
        assert_eq!(check_create_response(&with_body, &base), created, "the body of a 201 is ignored");
        if let Some((_, url)) = created {
            let text = std::str::from_utf8(data).unwrap_or_else(|_| unreachable!("accepted only as text"));
            assert_eq!(Url::parse(text).ok(), Some(url), "the URL is the Location as sent");
        }
    }
}

/// Checks one answer; the id and URL when it was read as success.
fn check_create_response(resp: &WireResponse, base: &Url) -> Option<(u64, Url)> {
    match parse_create_notice(resp, base) {
        Ok(created) => {
            assert_eq!(resp.status, StatusCode::CREATED);
            assert!(created.id > 0);
            assert_eq!(created.url.path(), format!("/notices/{}", created.id));
            assert_eq!(created.url.scheme(), "https");
            assert_eq!(created.url.host_str(), base.host_str());
            assert!(created.url.query().is_none() && created.url.fragment().is_none());
            Some((created.id, created.url))
        }
        Err(error) => {
            check_error(&error);
            assert!(!matches!(
                error,
                LumenError::Invalid(_) | LumenError::TokenUnusable | LumenError::UnusableBaseUrl
            ));
            None
        }
    }
}

/// A notice made from arbitrary bytes: sent exactly when Lumen's rules (restated in
/// `acceptable`) allow, and then its body reads back as the notice's fields, the token is in
/// its header only, and no `Debug` shows it.
pub fn lumen_notice_request(data: &[u8]) {
    let notice = notice_from_bytes(data);
    check_notice_request(&notice);
}

/// The checks of [`lumen_notice_request`] for one notice (the unit tests use them too).
pub fn check_notice_request(notice: &Notice) {
    let base = base();
    // A field may happen to hold the token (libFuzzer copies compared strings into its inputs);
    // then the body holds it too, legitimately.
    // A field's JSON escape can spell it too: a tab before "ok-fuzz-…" is sent as `\tok-fuzz-…`.
    let token_in_fields = expected_fields(notice).values().any(|text| {
        text.contains(TOKEN) || serde_json::to_string(text).is_ok_and(|json| json.contains(TOKEN))
    }) || notice.attachments.iter().any(|a| a.file_name.contains(TOKEN))
        || notice.attachments.iter().any(|a| String::from_utf8_lossy(&a.data).contains(TOKEN));
    match build_create_notice(&base, TOKEN, notice) {
        Ok(request) => {
            assert!(acceptable(notice), "sent a notice Lumen would refuse: {notice:?}");
            assert_eq!(request.method, Method::POST);
            assert_eq!(request.url.as_str(), "https://lumendatabase.org/notices");
            assert_eq!(
                request.header_value(&ACCEPT).map(HeaderValue::as_bytes),
                Some(&b"application/json"[..])
            );
            let token = request.header_value(&TOKEN_HEADER).expect("the token header");
            assert!(token.is_sensitive() && token.as_bytes() == TOKEN.as_bytes());
            assert!(!format!("{request:?}").contains(TOKEN));
            let mut expected = expected_fields(notice);
            let sent = match &request.body {
                Body::Bytes { content_type, data } => {
                    assert!(notice.attachments.is_empty());
                    assert_eq!(*content_type, "application/json");
                    assert!(token_in_fields || !contains(data, TOKEN.as_bytes()), "the token is in the body");
                    json_fields(data)
                }
                Body::Multipart(parts) => {
                    assert!(!notice.attachments.is_empty());
                    let mut fields = BTreeMap::new();
                    let mut files = 0;
                    for part in parts {
                        assert!(
                            token_in_fields || !contains(&part.data, TOKEN.as_bytes()),
                            "the token is in a part"
                        );
                        let path = bracket_path(&part.name);
                        if let Some(file_name) = &part.file_name {
                            let i = files;
                            files += 1;
                            assert_eq!(path, ["notice", "file_uploads_attributes", &i.to_string(), "file"]);
                            let attachment = &notice.attachments[i];
                            assert_eq!(file_name, &attachment.file_name);
                            assert_eq!(part.content_type, Some(attachment.content_type));
                            assert_eq!(part.data, attachment.data);
                        } else {
                            let text = String::from_utf8(part.data.to_vec()).expect("text parts are text");
                            assert!(fields.insert(path, text).is_none(), "two parts named {}", part.name);
                        }
                    }
                    assert_eq!(files, notice.attachments.len());
                    for (i, attachment) in notice.attachments.iter().enumerate() {
                        let key = ["notice", "file_uploads_attributes", &i.to_string()].map(str::to_owned);
                        let field = |name: &str| [&key[..], &[name.to_owned()]].concat();
                        expected.insert(field("kind"), attachment.kind.as_str().to_owned());
                        expected.insert(field("file_name"), attachment.file_name.clone());
                    }
                    fields
                }
                Body::Empty => panic!("a notice request without a body"),
            };
            assert_eq!(sent, expected, "what was sent is not the notice");
        }
        Err(error) => {
            check_error(&error);
            let LumenError::Invalid(problems) = &error else {
                panic!("only the notice can be wrong here: {error}")
            };
            assert!(!acceptable(notice), "refused a notice Lumen would take: {error}");
            assert!(!problems.is_empty());
            for problem in problems {
                assert!(!problem.field.is_empty() && !problem.message.is_empty(), "{problem:?}");
            }
            assert!(token_in_fields || !format!("{error:?}{error}").contains(TOKEN));
        }
    }
}

/// What every error must be: a message that starts with "Lumen" and can go in a log line.
fn check_error(error: &LumenError) {
    let text = error.to_string();
    assert!(text.starts_with("Lumen"), "{text}");
    assert!(!text.chars().any(char::is_control), "{text:?}");
}

fn base() -> Url {
    Url::parse(BASE).unwrap_or_else(|_| unreachable!("a valid URL"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

// === A notice from bytes ===

/// The first eight bytes pick the shape (type, action, how many works, entities and files, the
/// dates, the roles); the rest, split at 0xFF bytes, fills the text fields in order. Lists
/// (tags, URLs) are one field split at line breaks.
pub fn notice_from_bytes(data: &[u8]) -> Notice {
    let (shape, rest) = data.split_at(data.len().min(8));
    let byte = |i: usize| shape.get(i).copied().unwrap_or(0);
    let mut fields = Fields(rest.split(|b| *b == 0xFF));
    let mut notice = Notice {
        notice_type: NoticeType::ALL[usize::from(byte(0)) % NoticeType::ALL.len()],
        action_taken: ActionTaken::ALL.get(usize::from(byte(0) / 16) % 5).copied(),
        date_sent: date(byte(2), byte(3)),
        date_received: date(byte(4), byte(5)),
        title: fields.text(),
        subject: fields.text(),
        body: fields.text(),
        source: fields.text(),
        language: fields.text(),
        tag_list: fields.list(),
        jurisdiction_list: fields.list(),
        ..Notice::default()
    };
    for _ in 0..byte(1) % 3 {
        notice.works.push(Work {
            description: fields.text(),
            copyrighted_urls: fields.list(),
            infringing_urls: fields.list(),
        });
    }
    for i in 0..usize::from(byte(1) / 3 % 4) {
        let seed = usize::from(byte(6)) + i;
        let entity = Entity {
            kind: if seed % 2 == 0 { EntityKind::Individual } else { EntityKind::Organization },
            name: fields.text(),
            address_line_1: fields.text(),
            address_line_2: fields.text(),
            city: fields.text(),
            state: fields.text(),
            zip: fields.text(),
            country_code: fields.text(),
            phone: fields.text(),
            email: fields.text(),
            url: fields.text(),
        };
        notice.entity_roles.push(EntityRole { role: Role::ALL[seed % Role::ALL.len()], entity });
    }
    const CONTENT_TYPES: [&str; 4] = ["text/plain", "application/pdf", "image/png", "message/rfc822"];
    for i in 0..usize::from(byte(1) / 12 % 3) {
        let seed = usize::from(byte(7)) + i;
        notice.attachments.push(Attachment {
            kind: if seed % 2 == 0 { AttachmentKind::Original } else { AttachmentKind::Supporting },
            file_name: fields.text(),
            content_type: CONTENT_TYPES[seed % CONTENT_TYPES.len()],
            data: Bytes::copy_from_slice(fields.bytes()),
        });
    }
    notice
}

/// A date from 1990-01-01 on, or none for zero.
fn date(low: u8, high: u8) -> Option<Date> {
    const JULIAN_1990_01_01: i32 = 2_447_893;
    match u16::from_le_bytes([low, high]) {
        0 => None,
        days => Date::from_julian_day(JULIAN_1990_01_01 + i32::from(days)).ok(),
    }
}

/// The text fields of a fuzz input.
struct Fields<'a, I: Iterator<Item = &'a [u8]>>(I);

impl<'a, I: Iterator<Item = &'a [u8]>> Fields<'a, I> {
    fn bytes(&mut self) -> &'a [u8] {
        self.0.next().unwrap_or_default()
    }

    fn text(&mut self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    fn list(&mut self) -> Vec<String> {
        let text = self.text();
        if text.is_empty() { Vec::new() } else { text.split('\n').map(str::to_owned).collect() }
    }
}

// === Lumen's rules and fields, restated ===

/// Whether Lumen would take the notice, by the rules the wire module documents.
fn acceptable(notice: &Notice) -> bool {
    let fits = |text: &str| text.chars().count() <= 255;
    let no_nul = |text: &str| !text.contains('\0');
    let earliest =
        Date::from_calendar_date(1998, time::Month::October, 29).unwrap_or_else(|_| unreachable!());
    let list_item =
        |item: &String| !item.trim().is_empty() && !item.contains(',') && fits(item) && no_nul(item);
    let url = |url: &String| !url.trim().is_empty() && no_nul(url);
    !notice.title.trim().is_empty()
        && fits(&notice.title)
        && [&notice.title, &notice.subject, &notice.body, &notice.source, &notice.language]
            .iter()
            .all(|t| no_nul(t))
        && [notice.date_sent, notice.date_received].iter().flatten().all(|date| *date >= earliest)
        && notice.tag_list.iter().chain(&notice.jurisdiction_list).all(list_item)
        && !notice.works.is_empty()
        && notice.works.iter().all(|work| {
            let urls = || work.copyrighted_urls.iter().chain(&work.infringing_urls);
            (!work.description.is_empty() || urls().next().is_some())
                && no_nul(&work.description)
                && urls().all(url)
        })
        && !notice.entity_roles.is_empty()
        && notice.entity_roles.iter().all(|role| {
            let entity = &role.entity;
            let country = entity.country_code.as_bytes();
            !entity.name.trim().is_empty()
                && (country.is_empty() || (country.len() == 2 && country.iter().all(u8::is_ascii_uppercase)))
                && entity.text_fields().iter().all(|(_, text)| fits(text) && no_nul(text))
        })
        && notice.attachments.iter().all(|attachment| {
            let name = &attachment.file_name;
            !name.trim().is_empty()
                && fits(name)
                && !name.chars().any(|c| c.is_control() || c == '"' || c == '\\')
                && !attachment.data.is_empty()
        })
}

/// A field's place in the request: `["notice", "works_attributes", "0", "description"]`.
type FieldPath = Vec<String>;

/// Every text field the notice should send, by its place, leaving out empty text.
fn expected_fields(notice: &Notice) -> BTreeMap<FieldPath, String> {
    let mut fields = BTreeMap::new();
    let mut put = |path: &[&str], text: &str| {
        if !text.is_empty() {
            let mut full = vec!["notice".to_owned()];
            full.extend(path.iter().map(|part| (*part).to_owned()));
            fields.insert(full, text.to_owned());
        }
    };
    let date = |date: Option<Date>| date.map(|d| d.to_string()).unwrap_or_default();
    put(&["type"], notice.notice_type.as_str());
    put(&["title"], &notice.title);
    put(&["subject"], &notice.subject);
    put(&["body"], &notice.body);
    put(&["source"], &notice.source);
    put(&["language"], &notice.language);
    put(&["date_sent"], &date(notice.date_sent));
    put(&["date_received"], &date(notice.date_received));
    put(&["action_taken"], notice.action_taken.map_or("", ActionTaken::as_str));
    put(&["tag_list"], &notice.tag_list.join(", "));
    put(&["jurisdiction_list"], &notice.jurisdiction_list.join(", "));
    for (i, work) in notice.works.iter().enumerate() {
        let i = i.to_string();
        put(&["works_attributes", &i, "description"], &work.description);
        for (list, urls) in [
            ("copyrighted_urls_attributes", &work.copyrighted_urls),
            ("infringing_urls_attributes", &work.infringing_urls),
        ] {
            for (j, url) in urls.iter().enumerate() {
                put(&["works_attributes", &i, list, &j.to_string(), "url"], url);
            }
        }
    }
    for (i, role) in notice.entity_roles.iter().enumerate() {
        let i = i.to_string();
        put(&["entity_notice_roles_attributes", &i, "name"], role.role.as_str());
        let entity = |field: &str| {
            ["entity_notice_roles_attributes", &i, "entity_attributes", field].map(str::to_owned)
        };
        let kind = entity("kind");
        put(&kind.each_ref().map(String::as_str), role.entity.kind.as_str());
        for (name, text) in role.entity.text_fields() {
            put(&entity(name).each_ref().map(String::as_str), text);
        }
    }
    fields
}

/// The text fields of a JSON body `{"notice": {...}}`, by place; anything but an object, an
/// array or a string is a failure.
fn json_fields(body: &[u8]) -> BTreeMap<FieldPath, String> {
    fn walk(path: &mut FieldPath, value: &Value, fields: &mut BTreeMap<FieldPath, String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    path.push(key.clone());
                    walk(path, value, fields);
                    path.pop();
                }
            }
            Value::Array(items) => {
                for (i, value) in items.iter().enumerate() {
                    path.push(i.to_string());
                    walk(path, value, fields);
                    path.pop();
                }
            }
            Value::String(text) => {
                fields.insert(path.clone(), text.clone());
            }
            other => panic!("{path:?} is {other}, not text"),
        }
    }
    let value: Value = serde_json::from_slice(body).expect("the body is JSON");
    let root = value.as_object().expect("the body is an object");
    assert_eq!(root.keys().collect::<Vec<_>>(), ["notice"], "the body holds the notice and nothing else");
    let mut fields = BTreeMap::new();
    walk(&mut Vec::new(), &value, &mut fields);
    fields
}

/// `notice[works_attributes][0][url]` as `["notice", "works_attributes", "0", "url"]`.
fn bracket_path(name: &str) -> FieldPath {
    let (head, rest) = name.split_once('[').unwrap_or((name, ""));
    let mut path = vec![head.to_owned()];
    if !rest.is_empty() {
        let inner = rest.strip_suffix(']').expect("a bracketed name ends in ]");
        path.extend(inner.split("][").map(str::to_owned));
    }
    path
}
