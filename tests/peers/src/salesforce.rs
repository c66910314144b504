//! A simulated Salesforce org: the OAuth 2.0 token endpoint (JWT bearer grant) and the REST API
//! on one host, as `login.salesforce.com` and a My Domain instance would answer.
//!
//! Simulated:
//! - `POST /services/oauth2/token` with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`:
//!   the assertion's RS256 signature is checked against the configured public key (aws-lc-rs
//!   takes PKCS#1 `RSAPublicKey` or SPKI DER alike), then `iss` (400 `invalid_client_id`), `aud`,
//!   `sub` and `exp` (400 `invalid_grant`; an `exp` in the past is "expired authorization code",
//!   one more than five minutes ahead or missing is "invalid assertion"). The answer names
//!   `https://<instance host>:<port the client used>` as `instance_url`. Tokens come from a
//!   counter (hashed, so they look random) and never expire on their own.
//! - `POST /services/oauth2/revoke` (`token=`): forgets a token, so tests can produce a
//!   mid-session 401 from state.
//! - `GET /services/data/`: the version list; it needs no token, as on the real service. Only
//!   v67.0 (Summer '26) is served: any other version is 404 `NOT_FOUND`.
//! - Every `/services/data/vNN.N/...` call needs `Authorization: Bearer <issued token>` (401
//!   `INVALID_SESSION_ID`), counts against a limit of 100 000 calls (never reset; 403
//!   `REQUEST_LIMIT_EXCEEDED` past it) and carries `Sforce-Limit-Info: api-usage=N/100000`.
//! - Cases (`500…` ids): create (`POST sobjects/Case/`), upsert by any `*__c` external-ID field
//!   (`PATCH sobjects/Case/<Field__c>/<value>`: 201 `created:true`, 200 `created:false` with the
//!   fields merged, 300 with the matching record URLs when several Cases hold the value), read
//!   (`GET sobjects/Case/<id>`, `?fields=` honoured; `GET sobjects/Case/<Field__c>/<value>` the
//!   same record by external ID, 404 `NOT_FOUND` when no Case holds it). Field checks: JSON only (415), `Id` or the
//!   URL's external-ID field in the body, unknown names and read-only names (400
//!   `INVALID_FIELD` / `INVALID_FIELD_FOR_INSERT_UPDATE` with `fields`), objects or arrays as
//!   values (`JSON_PARSER_ERROR`), `Priority` outside High/Medium/Low
//!   (`INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`), over-long text (`STRING_TOO_LONG`), bad e-mail
//!   (`INVALID_EMAIL_ADDRESS`), malformed ids (`MALFORMED_ID`), a missing `Subject` (this org
//!   requires it: `REQUIRED_FIELD_MISSING`), and a value already held by another Case in a field
//!   used as an external ID (`DUPLICATE_VALUE`). Value errors are all reported together, so one
//!   answer can carry several.
//! - ContentVersion (`068…`, each in a ContentDocument `069…`): `POST sobjects/ContentVersion/`
//!   as JSON with base64 `VersionData` (strict standard base64; bad base64 is 400
//!   `JSON_PARSER_ERROR`; more than 37.5 MB of base64 is 400 `STRING_TOO_LONG`) or as multipart
//!   (`entity_content` JSON part first, then the `VersionData` file part; a missing, misplaced or
//!   unparsable part is 400 `INVALID_MULTIPART_REQUEST`). `PathOnClient` is required, `Title`
//!   defaults to the file name; `FirstPublishLocationId` must name a Case of this org (else 400
//!   `FIELD_INTEGRITY_EXCEPTION`) and links the document to it; `ContentDocumentId` adds a
//!   version to a known document. `GET sobjects/ContentVersion/<id>` (`?fields=`) gives
//!   `ContentDocumentId`, `ContentSize`, `Checksum` (MD5) and the rest.
//! - Other paths under `/services/data/` are 404 `NOT_FOUND`; other paths on the host are the
//!   login host's HTML 404 page (protocols.md: "HTML from the login host").
//!
//! Not simulated: the client-credentials grant (answered `unsupported_grant_type`), Experience
//! Cloud audiences, admin pre-approval of the app ("user is not admin approved", `invalid_client`:
//! use a fault with that body), composite requests, ContentDocumentLink, update or delete by
//! record id, upsert by `Id`, describe calls, XML bodies, assignment rules (`Sforce-Auto-Assign`
//! is only journalled), session timeouts, `api-bursts`. Answers that only a misbehaving gateway
//! gives (object-shaped or plain-text errors, 503 HTML, `fields: null`, a token answer without
//! `instance_url`) are for fault switches with a `body`.
//!
//! Endpoint names for faults: `token`, `revoke`, `versions`, `resources` (`GET
//! /services/data/v67.0/`), `case-create`, `case-upsert`, `case-lookup` (`GET` by external ID), `case-get`, `content-version`,
//! `content-version-get`, and `other` for every unknown path.
//!
//! Journal (`received`): for `token` the grant type and a verdict per check (never the assertion
//! or the token); for REST calls whether the bearer token was known, and per endpoint the
//! external-ID field and value, the field names sent (not their values), the outcome, and for
//! files the title, the encoding (`json` or `multipart`), size and SHA-256, and the linked Case.
//!
//! Snapshot: `{"cases":[{"id","case_number","external_id_field","external_id","fields":{…}}],
//! "content_versions":[{"id","document_id","case_id","version_number","title","path_on_client",
//! "encoding","bytes","sha256"}],"tokens_issued","tokens_active","api_usage"}`; a Case's `fields`
//! are those set on it (the external-ID field included), `external_id_field`/`external_id` are
//! `null` for a Case made by a plain create.

mod cases;
mod fields;
mod files;
#[cfg(test)]
mod tests;
mod token;

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use http::Method;
use serde_json::{Map, Value, json};

use crate::lock;
use crate::request::{Exchange, Peer, PeerRequest, PeerResponse};

/// The one API version served.
const API_VERSION: &str = "67.0";
/// The daily API request limit `Sforce-Limit-Info` reports.
const API_LIMIT: u64 = 100_000;
/// Most base64 characters a non-multipart `VersionData` may have (37.5 MB).
const JSON_BLOB_LIMIT: usize = 37_500 * 1024;
/// The simulated org's id and its integration user's.
const ORG_ID: &str = "00DDn0000000001MAA";
const USER_ID: &str = "005Dn0000000001IAA";

pub(crate) struct Salesforce {
    client_id: String,
    username: String,
    public_key_der: Vec<u8>,
    instance_host: String,
    api_limit: u64,
    json_blob_limit: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    tokens: HashSet<String>,
    tokens_issued: u64,
    api_usage: u64,
    cases: Vec<Case>,
    /// Fields used as external IDs in an upsert URL (kept unique across Cases from then on).
    external_fields: BTreeSet<String>,
    versions: Vec<ContentVersion>,
    documents: u64,
}

struct Case {
    id: String,
    number: u64,
    /// The field and value of the upsert that created it (`None` for a plain create).
    external_id: Option<(String, String)>,
    /// The fields set, under their API names (the external-ID field included).
    fields: Map<String, Value>,
}

struct ContentVersion {
    id: String,
    document_id: String,
    case_id: Option<String>,
    version_number: u32,
    title: String,
    path_on_client: String,
    encoding: &'static str,
    bytes: usize,
    sha256: String,
    md5: String,
    /// Other fields given (Description, ReasonForChange ...).
    extra: Map<String, Value>,
}

impl Salesforce {
    pub(crate) fn new(options: &crate::Options) -> Self {
        let credentials = &options.credentials;
        Self {
            client_id: credentials.salesforce_client_id.clone(),
            username: credentials.salesforce_username.clone(),
            public_key_der: credentials.salesforce_public_key_der.clone(),
            instance_host: options.salesforce_instance_host.clone(),
            api_limit: API_LIMIT,
            json_blob_limit: JSON_BLOB_LIMIT,
            state: Mutex::new(State::default()),
        }
    }
}

/// Where a request goes, from its path alone.
#[derive(Debug, PartialEq)]
enum Route {
    Token,
    Revoke,
    Versions,
    Rest {
        version: String,
        resource: Resource,
    },
    /// Not under `/services/data/`: the login host's HTML 404.
    Html404,
}

#[derive(Debug, PartialEq)]
enum Resource {
    Root,
    Cases,
    CaseByExternalId { field: String, value: String },
    Case(String),
    ContentVersions,
    ContentVersion(String),
    Unknown,
}

fn route(path: &str) -> Route {
    let segments: Option<Vec<String>> =
        path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
    let Some(segments) = segments else {
        return if path.starts_with("/services/data/") {
            Route::Rest { version: String::new(), resource: Resource::Unknown }
        } else {
            Route::Html404
        };
    };
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["services", "oauth2", "token"] => Route::Token,
        ["services", "oauth2", "revoke"] => Route::Revoke,
        ["services", "data"] => Route::Versions,
        ["services", "data", version, rest @ ..] => {
            let version = version.strip_prefix('v').unwrap_or("").to_owned();
            let sobject = |name: &str, wanted: &str| name.eq_ignore_ascii_case(wanted);
            let resource = match rest {
                [] => Resource::Root,
                ["sobjects", o] if sobject(o, "Case") => Resource::Cases,
                ["sobjects", o, id] if sobject(o, "Case") => Resource::Case((*id).to_owned()),
                ["sobjects", o, field, value] if sobject(o, "Case") => {
                    Resource::CaseByExternalId { field: (*field).to_owned(), value: (*value).to_owned() }
                }
                ["sobjects", o] if sobject(o, "ContentVersion") => Resource::ContentVersions,
                ["sobjects", o, id] if sobject(o, "ContentVersion") => {
                    Resource::ContentVersion((*id).to_owned())
                }
                _ => Resource::Unknown,
            };
            Route::Rest { version, resource }
        }
        _ => Route::Html404,
    }
}

/// Decodes `%XX` escapes of one path segment; `None` for a bad escape or non-UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let text = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(text, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Peer for Salesforce {
    fn endpoint(&self, request: &PeerRequest) -> String {
        let name = match route(&request.path) {
            Route::Token => "token",
            Route::Revoke => "revoke",
            Route::Versions => "versions",
            Route::Rest { resource, .. } => match resource {
                Resource::Root => "resources",
                Resource::Cases => "case-create",
                Resource::CaseByExternalId { .. } if request.method == Method::GET => "case-lookup",
                Resource::CaseByExternalId { .. } => "case-upsert",
                Resource::Case(_) => "case-get",
                Resource::ContentVersions => "content-version",
                Resource::ContentVersion(_) => "content-version-get",
                Resource::Unknown => "other",
            },
            Route::Html404 => "other",
        };
        name.into()
    }

    fn handle(&self, request: &PeerRequest) -> Exchange {
        let (response, received) = match route(&request.path) {
            Route::Token => self.token(request),
            Route::Revoke => self.revoke(request),
            Route::Versions => self.versions(request),
            Route::Rest { version, resource } => self.rest(request, &version, &resource),
            Route::Html404 => (html_404(), Value::Null),
        };
        Exchange { response, received }
    }

    fn snapshot(&self) -> Value {
        let state = lock(&self.state);
        let cases: Vec<Value> = state
            .cases
            .iter()
            .map(|case| {
                json!({
                    "id": case.id,
                    "case_number": case_number(case.number),
                    "external_id_field": case.external_id.as_ref().map(|(field, _)| field),
                    "external_id": case.external_id.as_ref().map(|(_, value)| value),
                    "fields": case.fields,
                })
            })
            .collect();
        let versions: Vec<Value> = state
            .versions
            .iter()
            .map(|version| {
                json!({
                    "id": version.id,
                    "document_id": version.document_id,
                    "case_id": version.case_id,
                    "version_number": version.version_number,
                    "title": version.title,
                    "path_on_client": version.path_on_client,
                    "encoding": version.encoding,
                    "bytes": version.bytes,
                    "sha256": version.sha256,
                })
            })
            .collect();
        json!({
            "cases": cases,
            "content_versions": versions,
            "tokens_issued": state.tokens_issued,
            "tokens_active": state.tokens.len(),
            "api_usage": state.api_usage,
        })
    }
}

impl Salesforce {
    /// `GET /services/data/`: no token needed, and not counted against the limit.
    fn versions(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        let state = lock(&self.state);
        let response = if request.method == Method::GET {
            let list: Vec<Value> = [("Summer '25", "64.0"), ("Spring '26", "66.0"), ("Summer '26", API_VERSION)]
                .iter()
                .map(|(label, version)| json!({"label": label, "url": format!("/services/data/v{version}"), "version": version}))
                .collect();
            PeerResponse::json(200, &Value::Array(list))
        } else {
            method_not_allowed(&request.method, "GET")
        };
        (self.with_limit_info(response, &state), Value::Null)
    }

    /// Any `/services/data/vNN.N/...` call: the token, the limit, the version, then the resource.
    fn rest(&self, request: &PeerRequest, version: &str, resource: &Resource) -> (PeerResponse, Value) {
        let mut state = lock(&self.state);
        let token = bearer_token(request);
        let known = token.is_some_and(|t| state.tokens.contains(t));
        let (response, mut received) = if !known {
            let auth = if token.is_some() { "unknown token" } else { "no bearer token" };
            let body = errors(vec![error_entry("INVALID_SESSION_ID", "Session expired or invalid", None)]);
            (PeerResponse::json(401, &body), json!({"auth": auth}))
        } else if state.api_usage >= self.api_limit {
            let message = format!("TotalRequests Limit exceeded. (limit {})", self.api_limit);
            let body = errors(vec![error_entry("REQUEST_LIMIT_EXCEEDED", &message, None)]);
            (PeerResponse::json(403, &body), json!({"refused": "daily limit reached"}))
        } else {
            state.api_usage += 1;
            if version != API_VERSION {
                (not_found(), json!({"refused": format!("version {version:?} not served")}))
            } else {
                self.resource(&mut state, request, resource)
            }
        };
        if known && received.is_object() {
            received["auth"] = json!("valid");
        }
        (self.with_limit_info(response, &state), received)
    }

    fn resource(
        &self,
        state: &mut State,
        request: &PeerRequest,
        resource: &Resource,
    ) -> (PeerResponse, Value) {
        match resource {
            Resource::Root => {
                if request.method != Method::GET {
                    return (method_not_allowed(&request.method, "GET"), json!({}));
                }
                let base = format!("/services/data/v{API_VERSION}");
                let body =
                    json!({"sobjects": format!("{base}/sobjects"), "limits": format!("{base}/limits")});
                (PeerResponse::json(200, &body), json!({}))
            }
            Resource::Cases => self.case_create(state, request),
            Resource::CaseByExternalId { field, value } => self.case_upsert(state, request, field, value),
            Resource::Case(id) => self.case_get(state, request, id),
            Resource::ContentVersions => self.content_version_create(state, request),
            Resource::ContentVersion(id) => self.content_version_get(state, request, id),
            Resource::Unknown => (not_found(), json!({"refused": "unknown resource"})),
        }
    }

    fn with_limit_info(&self, response: PeerResponse, state: &State) -> PeerResponse {
        response
            .with_header("sforce-limit-info", &format!("api-usage={}/{}", state.api_usage, self.api_limit))
    }
}

/// The token of `Authorization: Bearer …` (or the older `OAuth …`).
fn bearer_token(request: &PeerRequest) -> Option<&str> {
    let value = request.header("authorization")?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")).then_some(token)
}

/// One entry of a REST error array; `fields` only when given.
fn error_entry(code: &str, message: &str, fields: Option<&[String]>) -> Value {
    let mut entry = json!({"message": message, "errorCode": code});
    if let Some(fields) = fields {
        entry["fields"] = json!(fields);
    }
    entry
}

fn errors(entries: Vec<Value>) -> Value {
    Value::Array(entries)
}

fn not_found() -> PeerResponse {
    PeerResponse::json(
        404,
        &errors(vec![error_entry("NOT_FOUND", "The requested resource does not exist", None)]),
    )
}

fn method_not_allowed(method: &Method, allowed: &str) -> PeerResponse {
    let message = format!("HTTP Method '{method}' not allowed. Allowed are {allowed}");
    PeerResponse::json(405, &errors(vec![error_entry("METHOD_NOT_ALLOWED", &message, None)]))
        .with_header("allow", allowed)
}

fn html_404() -> PeerResponse {
    PeerResponse::typed(
        404,
        "text/html;charset=UTF-8",
        "<!DOCTYPE html><html><head><title>URL No Longer Exists</title></head>\
         <body><p>You have attempted to reach a URL that no longer exists on salesforce.com.</p></body></html>",
    )
}

/// An 18-character record id: key prefix, pod `Dn`, a reserved `0`, nine base-62 digits of the
/// counter, then the three-character case-insensitivity suffix.
fn record_id(prefix: &str, counter: u64) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 9];
    let mut rest = counter;
    for slot in digits.iter_mut().rev() {
        *slot = DIGITS[(rest % 62) as usize];
        rest /= 62;
    }
    let short = format!("{prefix}Dn0{}", String::from_utf8_lossy(&digits));
    with_suffix(&short)
}

/// Appends the suffix that makes a 15-character id case-insensitive: one character per five,
/// whose bits say which of them are upper-case letters.
fn with_suffix(short: &str) -> String {
    const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let mut id = short.to_owned();
    for chunk in short.as_bytes().chunks(5).take(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| b.is_ascii_uppercase())
            .fold(0, |acc, (i, _)| acc | 1 << i);
        id.push(char::from(SUFFIX[bits]));
    }
    id
}

/// Whether `given` (15 characters, case-sensitive, or 18, case-insensitive) names `stored`.
fn same_id(given: &str, stored: &str) -> bool {
    match given.len() {
        18 => given.eq_ignore_ascii_case(stored),
        15 => stored.starts_with(given),
        _ => false,
    }
}

/// Whether a text has the shape of a record id.
fn well_formed_id(text: &str) -> bool {
    matches!(text.len(), 15 | 18) && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn case_number(number: u64) -> String {
    format!("{number:08}")
}
