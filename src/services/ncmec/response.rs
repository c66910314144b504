//! NCMEC's two answers read into typed values: `reportResponse` ([`parse_report_response`],
//! [`parse_submit_response`], [`parse_upload_response`]) and `reportDoneResponse`
//! ([`parse_done_response`]), the [`ResponseCode`]s and the [`NcmecError`]s.
//!
//! How the parsers read an answer:
//! - `responseCode` decides, whatever the HTTP status (NCMEC's clients parse error bodies on
//!   non-2xx replies too). Surrounding whitespace is trimmed; a negative or non-integer code
//!   is an error; an unknown code is kept as [`ResponseCode::Unknown`].
//! - HTTP 401 without a readable `reportResponse` (the container's empty or HTML challenge)
//!   is read exactly as if NCMEC had answered code 2000, so bad credentials are one case.
//! - Any other non-2xx without a readable answer is [`NcmecError::HttpStatus`] (a gateway or
//!   an outage); a 2xx that is not XML (a maintenance page) is [`NcmecError::NotXml`]. A
//!   declared Content-Type other than `text/xml`, `application/xml` or `*+xml` counts as not
//!   XML; a missing one is sniffed.
//! - **Unknown elements are ignored, consistently**: a child the appliance does not know, and
//!   any element in a namespace (prefixed, or under `xmlns="…"`), is skipped with its subtree,
//!   because NCMEC adds fields over time and its schema has no namespace. So a namespaced
//!   `responseCode` never counts as the code. A root element in a namespace is the wrong
//!   root. An element the appliance does read must hold text only and appear at most once;
//!   the order of siblings is not checked.
//! - Elements the decision depends on must be there (`responseCode`; `reportId` and `files`
//!   in `reportDoneResponse`). `responseDescription`, required by the schema, may be missing:
//!   it decides nothing, and refusing a success over it would make a filed report look failed.
//! - DOCTYPEs, entity declarations, unknown entities, processing instructions and nesting
//!   deeper than [`super::xml::MAX_DEPTH`] are refused ([`NcmecError::UnsafeXml`]) whatever
//!   the status.

use super::code::ResponseCode;
use super::xml::{self, Element, XmlError, is_xml_space};
use crate::egress::wire::WireResponse;

/// How much of the server's own words an error message quotes.
const EXCERPT_CHARS: usize = 300;

/// A `reportResponse`, whatever its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportResponse {
    /// `responseCode`.
    pub code: ResponseCode,
    /// `responseDescription` (empty if missing).
    pub description: String,
    /// `reportId`.
    pub report_id: Option<u64>,
    /// `fileId` (whitespace collapsed, as for `xs:token`; empty counts as missing).
    pub file_id: Option<String>,
    /// `hash`: NCMEC's MD5 of the uploaded bytes (collapsed; empty counts as missing).
    pub hash: Option<String>,
}

impl ReportResponse {
    /// The response if its code is 0, else [`NcmecError::Rejected`].
    pub fn into_success(self) -> Result<ReportResponse, NcmecError> {
        if self.code == ResponseCode::Success {
            Ok(self)
        } else {
            Err(NcmecError::Rejected { code: self.code, description: excerpt(&self.description) })
        }
    }
}

/// A successful `/submit`: the report is open at NCMEC under this ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitResponse {
    /// The report's ID; persist it at once.
    pub report_id: u64,
    /// `responseDescription`.
    pub description: String,
}

/// A successful `/upload` whose hash matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadResponse {
    /// `reportId`, if NCMEC repeated it.
    pub report_id: Option<u64>,
    /// The file's ID, for `/fileinfo`.
    pub file_id: String,
    /// NCMEC's MD5 of what it received (equal to the caller's, ignoring case).
    pub hash: String,
}

/// A successful `/finish` (`reportDoneResponse` with code 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoneResponse {
    /// The finished report.
    pub report_id: u64,
    /// The files NCMEC holds for it, in its order.
    pub file_ids: Vec<String>,
}

/// Why an NCMEC answer cannot be used. Each message names NCMEC and says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NcmecError {
    /// NCMEC answered with a non-zero `responseCode` (or HTTP 401 without a body, read as 2000).
    #[error("NCMEC refused the request with code {code}: \"{description}\"; {}", code.advice())]
    Rejected {
        /// The code.
        code: ResponseCode,
        /// NCMEC's description (at most ~300 characters).
        description: String,
    },
    /// Code 0 to `/submit`, but no usable `reportId`. The report may well exist; it is
    /// terminal and must not be retried, because a retry would file a duplicate.
    #[error(
        "NCMEC accepted the report (code 0) but sent no usable reportId ({detail}); the report probably \
         exists at NCMEC: do not submit it again; ask NCMEC's ESP team (espteam@ncmec.org) for its ID"
    )]
    SuccessWithoutReportId {
        /// What was wrong, with NCMEC's description.
        detail: String,
    },
    /// Code 0 to `/upload`, but no `fileId`: the file may be stored, but cannot be described
    /// or checked.
    #[error(
        "NCMEC accepted the upload (code 0) but sent no fileId (\"{description}\"); do not finish this \
         report: retract it and report again"
    )]
    SuccessWithoutFileId {
        /// NCMEC's description.
        description: String,
    },
    /// Code 0 to `/upload`, but no `hash`: nothing proves NCMEC received the right bytes.
    #[error(
        "NCMEC accepted the upload of file {file_id} but sent no hash to check it against; do not finish \
         this report: retract it and report again"
    )]
    HashMissing {
        /// NCMEC's file ID.
        file_id: String,
    },
    /// NCMEC's MD5 of the upload differs from the caller's: the bytes changed in transit.
    #[error(
        "NCMEC's MD5 of uploaded file {file_id} is {received}, but the file sent has MD5 {expected}: the file \
         was damaged on the way; do not finish this report: retract it and report again"
    )]
    HashMismatch {
        /// NCMEC's file ID.
        file_id: String,
        /// The MD5 the caller computed.
        expected: String,
        /// The MD5 NCMEC reported.
        received: String,
    },
    /// A 2xx answer that is not XML (an HTML maintenance page, plain text, nothing).
    #[error(
        "NCMEC answered HTTP {status} with something that is not XML ({what}): \"{excerpt}\"; the service may \
         be under maintenance: try again later"
    )]
    NotXml {
        /// The HTTP status.
        status: u16,
        /// What it is instead.
        what: String,
        /// The start of the body.
        excerpt: String,
    },
    /// A non-2xx answer without a readable NCMEC response: a gateway, an outage.
    #[error("NCMEC answered HTTP {status} without a readable response (\"{excerpt}\"); try again later")]
    HttpStatus {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        excerpt: String,
    },
    /// The answer uses an XML construct refused for safety (DOCTYPE, entities, deep nesting).
    #[error(
        "NCMEC's answer was refused for safety: it contains {reason}; NCMEC never sends that, so the \
         connection or the service may be compromised: tell an administrator"
    )]
    UnsafeXml {
        /// What it contains.
        reason: String,
    },
    /// The answer is not well-formed XML.
    #[error(
        "NCMEC's answer is not well-formed XML: {reason}; try again later, and tell an administrator if it persists"
    )]
    Malformed {
        /// What is wrong.
        reason: String,
    },
    /// Well-formed XML that breaks NCMEC's schema in a way that matters.
    #[error("NCMEC's answer does not follow its schema: {reason}; tell an administrator")]
    SchemaViolation {
        /// What is wrong.
        reason: String,
    },
    /// `responseCode` is not a non-negative integer.
    #[error("NCMEC's responseCode \"{text}\" is not a non-negative integer; tell an administrator")]
    InvalidResponseCode {
        /// The text, as sent.
        text: String,
    },
    /// A different root element than the endpoint answers with.
    #[error("NCMEC answered with <{found}> where <{expected}> was expected; {advice}")]
    UnexpectedRoot {
        /// The root expected.
        expected: &'static str,
        /// The root found.
        found: String,
        /// What to do.
        advice: &'static str,
    },
}

/// Reads any `reportResponse` (`/status`, `/fileinfo`, `/retract`, and the others): the code
/// whatever it is, and the optional fields. Use [`ReportResponse::into_success`] to turn a
/// non-zero code into an error. A `reportId` that is not a number is a schema violation on a
/// success; on a failure it is dropped, so that the code (what matters) still comes through.
pub fn parse_report_response(response: &WireResponse) -> Result<ReportResponse, NcmecError> {
    let raw = read_report_response(response)?;
    let report_id = match raw.report_id {
        Some(Err(_)) if raw.code != ResponseCode::Success => None,
        Some(Err(text)) => {
            return Err(NcmecError::SchemaViolation {
                reason: format!("reportId \"{}\" is not a non-negative integer", excerpt(&text)),
            });
        }
        Some(Ok(id)) => Some(id),
        None => None,
    };
    Ok(ReportResponse {
        code: raw.code,
        description: raw.description,
        report_id,
        file_id: raw.file_id,
        hash: raw.hash,
    })
}

/// Reads the answer to `/submit`: a report ID, or an error. Code 0 without a usable
/// `reportId` is [`NcmecError::SuccessWithoutReportId`], which must not be retried.
pub fn parse_submit_response(response: &WireResponse) -> Result<SubmitResponse, NcmecError> {
    let raw = read_report_response(response)?;
    if raw.code != ResponseCode::Success {
        return Err(NcmecError::Rejected { code: raw.code, description: excerpt(&raw.description) });
    }
    match raw.report_id {
        Some(Ok(report_id)) => Ok(SubmitResponse { report_id, description: raw.description }),
        Some(Err(text)) => Err(NcmecError::SuccessWithoutReportId {
            detail: format!(
                "reportId \"{}\" is not a number; description \"{}\"",
                excerpt(&text),
                excerpt(&raw.description)
            ),
        }),
        None => Err(NcmecError::SuccessWithoutReportId {
            detail: format!("no reportId; description \"{}\"", excerpt(&raw.description)),
        }),
    }
}

/// Reads the answer to `/upload`: requires `fileId`, and `hash` equal (ignoring case and
/// surrounding whitespace) to `expected_md5_hex`, the MD5 the caller computed of the bytes it
/// sent.
pub fn parse_upload_response(
    response: &WireResponse,
    expected_md5_hex: &str,
) -> Result<UploadResponse, NcmecError> {
    let raw = read_report_response(response)?;
    if raw.code != ResponseCode::Success {
        return Err(NcmecError::Rejected { code: raw.code, description: excerpt(&raw.description) });
    }
    let Some(file_id) = raw.file_id else {
        return Err(NcmecError::SuccessWithoutFileId { description: excerpt(&raw.description) });
    };
    let Some(hash) = raw.hash else {
        return Err(NcmecError::HashMissing { file_id: excerpt(&file_id) });
    };
    let expected = expected_md5_hex.trim_matches(is_xml_space);
    if !hash.eq_ignore_ascii_case(expected) {
        return Err(NcmecError::HashMismatch {
            file_id: excerpt(&file_id),
            expected: excerpt(expected),
            received: excerpt(&hash),
        });
    }
    // The upload's proof is the file ID and the hash; a garbled reportId (which the caller
    // already knows) is dropped rather than failing an upload that went through.
    Ok(UploadResponse { report_id: raw.report_id.and_then(Result::ok), file_id, hash })
}

/// Reads the answer to `/finish`. A `reportDoneResponse` must have `reportId` and `files`
/// (possibly empty); a `reportResponse` with a non-zero code is that error.
pub fn parse_done_response(response: &WireResponse) -> Result<DoneResponse, NcmecError> {
    let root = match read_root(response)? {
        Reading::Unauthorized => return Err(unauthorized_error(response)),
        Reading::Root(root) => root,
    };
    if root.name == "reportResponse" && !root.namespaced {
        let raw = report_response_fields(&root)?;
        if raw.code != ResponseCode::Success {
            return Err(NcmecError::Rejected { code: raw.code, description: excerpt(&raw.description) });
        }
        return Err(NcmecError::UnexpectedRoot {
            expected: "reportDoneResponse",
            found: "reportResponse".to_owned(),
            advice: "whether the report is finished is unknown: retract it; code 5102 then means it was filed",
        });
    }
    if root.name != "reportDoneResponse" || root.namespaced {
        return Err(wrong_root(response, &root, "reportDoneResponse"));
    }
    check_container(&root)?;
    let code = response_code(&root)?;
    if code != ResponseCode::Success {
        return Err(NcmecError::Rejected { code, description: String::new() });
    }
    let report_id = match leaf(&root, "reportId")? {
        None => return Err(schema("reportDoneResponse has no reportId")),
        Some(text) => parse_report_id(text).map_err(|text| {
            schema(&format!("reportId \"{}\" is not a non-negative integer", excerpt(&text)))
        })?,
    };
    let files = match root.child("files") {
        Ok(Some(files)) => files,
        Ok(None) => {
            return Err(schema("reportDoneResponse has no files element (an empty <files/> is allowed)"));
        }
        Err(count) => return Err(schema(&format!("reportDoneResponse has {count} files elements"))),
    };
    check_container(files)?;
    let mut file_ids = Vec::new();
    for file in files.children_named("fileId") {
        let id = collapse(&text_only(file)?);
        if id.is_empty() {
            return Err(schema("an empty fileId in files"));
        }
        file_ids.push(id);
    }
    Ok(DoneResponse { report_id, file_ids })
}

/// A `/status` or `/fileinfo` answer: only code 0 is success. A 401 (read as code 2000) is a
/// rejection, so wrong credentials never pass for working ones.
pub fn parse_success_response(response: &WireResponse) -> Result<ReportResponse, NcmecError> {
    parse_report_response(response)?.into_success()
}

/// A `/retract` answer: code 0 (retracted now), 5101 (retracted before) and 5102 (already filed:
/// the caller records it as filed) are answers to act on; any other code, a 401 included, is a
/// rejection.
pub fn parse_retract_response(response: &WireResponse) -> Result<ReportResponse, NcmecError> {
    let parsed = parse_report_response(response)?;
    match parsed.code {
        ResponseCode::Success
        | ResponseCode::ReportAlreadyRetracted
        | ResponseCode::ReportAlreadyFinished => Ok(parsed),
        _ => parsed.into_success(),
    }
}

/// A `reportResponse` before the caller decides what an invalid `reportId` means.
struct RawReportResponse {
    code: ResponseCode,
    description: String,
    report_id: Option<Result<u64, String>>,
    file_id: Option<String>,
    hash: Option<String>,
}

fn read_report_response(response: &WireResponse) -> Result<RawReportResponse, NcmecError> {
    match read_root(response)? {
        Reading::Unauthorized => Ok(RawReportResponse {
            code: ResponseCode::AuthenticationRequired,
            description: format!(
                "HTTP {} without a reportResponse body (read as code 2000)",
                response.status.as_u16()
            ),
            report_id: None,
            file_id: None,
            hash: None,
        }),
        Reading::Root(root) if root.name == "reportResponse" && !root.namespaced => {
            report_response_fields(&root)
        }
        Reading::Root(root) => Err(wrong_root(response, &root, "reportResponse")),
    }
}

fn report_response_fields(root: &Element) -> Result<RawReportResponse, NcmecError> {
    check_container(root)?;
    let code = response_code(root)?;
    let description = leaf(root, "responseDescription")?.unwrap_or_default();
    let report_id = leaf(root, "reportId")?.map(parse_report_id);
    let file_id = leaf(root, "fileId")?.map(|t| collapse(&t)).filter(|t| !t.is_empty());
    let hash = leaf(root, "hash")?.map(|t| collapse(&t)).filter(|t| !t.is_empty());
    Ok(RawReportResponse { code, description, report_id, file_id, hash })
}

/// What the body turned out to be.
enum Reading {
    /// The root element of a readable XML body.
    Root(Element),
    /// HTTP 401 without a readable body: the same as code 2000.
    Unauthorized,
}

/// Reads the body as XML, or decides what the status means when it cannot be read.
fn read_root(response: &WireResponse) -> Result<Reading, NcmecError> {
    let xml_type = match response.media_type() {
        None => true,
        Some(media) => media == "text/xml" || media == "application/xml" || media.ends_with("+xml"),
    };
    let parsed =
        if xml_type { xml::parse(&response.body) } else { Err(XmlError::NotXml("its content type")) };
    match parsed {
        Ok(root) if root.name.eq_ignore_ascii_case("html") => {
            unreadable(response, XmlError::NotXml("an HTML page"))
        }
        Ok(root) => Ok(Reading::Root(root)),
        // Refused constructs are reported whatever the status: they are a signal, not an outage.
        Err(XmlError::Unsafe(reason)) => Err(NcmecError::UnsafeXml { reason: excerpt(&reason) }),
        Err(error) => unreadable(response, error),
    }
}

fn unreadable(response: &WireResponse, error: XmlError) -> Result<Reading, NcmecError> {
    let status = response.status;
    if status == http::StatusCode::UNAUTHORIZED {
        return Ok(Reading::Unauthorized);
    }
    if !status.is_success() {
        return Err(NcmecError::HttpStatus { status: status.as_u16(), excerpt: body_excerpt(response) });
    }
    Err(match error {
        XmlError::NotXml(what) => {
            let what = match response.media_type() {
                Some(media) if what == "its content type" => format!("content type {}", excerpt(&media)),
                _ => what.to_owned(),
            };
            NcmecError::NotXml { status: status.as_u16(), what, excerpt: body_excerpt(response) }
        }
        other => NcmecError::Malformed { reason: excerpt(&other.to_string()) },
    })
}

fn wrong_root(response: &WireResponse, root: &Element, expected: &'static str) -> NcmecError {
    if response.status == http::StatusCode::UNAUTHORIZED {
        return unauthorized_error(response);
    }
    if !response.status.is_success() {
        return NcmecError::HttpStatus { status: response.status.as_u16(), excerpt: body_excerpt(response) };
    }
    NcmecError::UnexpectedRoot {
        expected,
        found: excerpt(&root.name),
        advice: "tell an administrator; the endpoint or NCMEC's API may have changed",
    }
}

fn unauthorized_error(response: &WireResponse) -> NcmecError {
    NcmecError::Rejected {
        code: ResponseCode::AuthenticationRequired,
        description: format!(
            "HTTP {} without a readable answer (read as code 2000)",
            response.status.as_u16()
        ),
    }
}

/// A container element may hold only whitespace as text.
fn check_container(element: &Element) -> Result<(), NcmecError> {
    if element.text_is_blank() {
        Ok(())
    } else {
        Err(schema(&format!(
            "<{}> holds text \"{}\" outside its elements",
            element.name,
            excerpt(&element.text)
        )))
    }
}

/// The text of the one child with this name (none: `None`); several, or one with child
/// elements, is a schema violation.
fn leaf(parent: &Element, name: &str) -> Result<Option<String>, NcmecError> {
    match parent.child(name) {
        Ok(None) => Ok(None),
        Ok(Some(child)) => text_only(child).map(Some),
        Err(count) => Err(schema(&format!("<{}> has {count} {name} elements", parent.name))),
    }
}

fn text_only(element: &Element) -> Result<String, NcmecError> {
    if element.children.is_empty() {
        Ok(element.text.clone())
    } else {
        Err(schema(&format!("<{}> holds elements where text belongs", element.name)))
    }
}

fn response_code(root: &Element) -> Result<ResponseCode, NcmecError> {
    let Some(text) = leaf(root, "responseCode")? else {
        return Err(schema(&format!("<{}> has no responseCode", root.name)));
    };
    let trimmed = text.trim_matches(is_xml_space);
    // xs:int: optional sign, digits. Rust's parser accepts the same lexical forms.
    match trimmed.parse::<i64>() {
        Ok(code) if code >= 0 => Ok(ResponseCode::from_code(code)),
        _ => Err(NcmecError::InvalidResponseCode { text: excerpt(&text) }),
    }
}

fn parse_report_id(text: String) -> Result<u64, String> {
    let trimmed = text.trim_matches(is_xml_space);
    match trimmed.parse::<i64>() {
        Ok(id) if id >= 0 => u64::try_from(id).map_err(|_| text.clone()),
        _ => Err(text),
    }
}

/// `xs:token` normalisation: whitespace runs become one space, none at either end.
fn collapse(text: &str) -> String {
    text.split(is_xml_space).filter(|part| !part.is_empty()).collect::<Vec<_>>().join(" ")
}

fn schema(reason: &str) -> NcmecError {
    NcmecError::SchemaViolation { reason: excerpt(reason) }
}

fn body_excerpt(response: &WireResponse) -> String {
    excerpt(&String::from_utf8_lossy(&response.body[..response.body.len().min(4 * EXCERPT_CHARS)]))
}

/// At most [`EXCERPT_CHARS`] characters of the server's words, control characters as spaces.
fn excerpt(text: &str) -> String {
    let mut out: String =
        text.chars().take(EXCERPT_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}
