//! NCMEC's CyberTipline reporting API ("ISPWS") on the wire: the requests for `/status`,
//! `/submit`, `/upload`, `/fileinfo`, `/finish` and `/retract` ([`build_status`] …
//! [`build_retract`]) and the parsers for the two answers, `reportResponse`
//! ([`parse_report_response`], [`parse_submit_response`], [`parse_upload_response`]) and
//! `reportDoneResponse` ([`parse_done_response`]). Pure: no I/O, no clock.
//!
//! Re-exported here so that callers need one module: the report's types ([`super::report`]),
//! its XML ([`super::writer`]), the answers and their errors ([`super::response`]) and the
//! response codes ([`super::code`]). The safe XML reader is [`super::xml`].

use std::fmt;

use bytes::Bytes;
use http::Method;
use http::header::AUTHORIZATION;
use url::Url;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use super::code::ResponseCode;
pub use super::report::{
    AccountPermanentlyDisabled, AccountTemporarilyDisabled, BuildError, Email, EmailKind, FileAnnotations,
    FileDetails, FileHash, FileRelevance, IncidentSummary, IncidentType, IpCaptureEvent, IpEventName, Person,
    PersonOrUserReported, Phone, PhoneKind, Report, ReportAnnotations, Reporter, WebPageIncident,
};
pub use super::response::{
    DoneResponse, NcmecError, ReportResponse, SubmitResponse, UploadResponse, parse_done_response,
    parse_report_response, parse_retract_response, parse_submit_response, parse_success_response,
    parse_upload_response,
};
use super::writer::report_id_text;
pub use super::writer::{file_details_xml, report_xml};
use crate::egress::wire::{Body, Part, WireRequest};

/// The Content-Type of `/submit` and `/fileinfo` bodies.
pub const XML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// Which NCMEC service a report goes to. Test reports are discarded by NCMEC, and the two have
/// separate credentials. Test unless someone chooses production.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Environment {
    /// `https://report.cybertip.org/ispws`.
    Production,
    /// `https://exttest.cybertip.org/ispws`.
    #[default]
    Test,
}

impl Environment {
    /// The config's and the form's name: `production` or `test`.
    pub fn key(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Test => "test",
        }
    }

    /// Reads [`Environment::key`].
    pub fn from_key(text: &str) -> Option<Environment> {
        [Environment::Production, Environment::Test].into_iter().find(|e| e.key() == text)
    }

    /// The base URL as text.
    pub fn base_url_text(self) -> &'static str {
        match self {
            Environment::Production => "https://report.cybertip.org/ispws",
            Environment::Test => "https://exttest.cybertip.org/ispws",
        }
    }

    /// The base URL that the `build_*` functions append the endpoint to.
    pub fn base_url(self) -> Url {
        Url::parse(self.base_url_text()).expect("the NCMEC base URLs are constant, valid URLs")
    }
}

/// The username and password NCMEC issued (HTTP Basic on every call). The password is
/// zeroized on drop and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// Credentials; refuses a username with a colon (Basic auth cannot carry one) and any
    /// control character, which no header can carry.
    pub fn new(username: &str, password: &str) -> Result<Credentials, BuildError> {
        if username.is_empty() || username.contains(':') || username.chars().any(char::is_control) {
            return Err(BuildError::InvalidValue {
                field: "username",
                reason: "an NCMEC username is non-empty, without a colon or control characters",
            });
        }
        if password.chars().any(char::is_control) {
            return Err(BuildError::InvalidValue {
                field: "password",
                reason: "an NCMEC password cannot contain control characters",
            });
        }
        Ok(Credentials { username: username.to_owned(), password: password.to_owned() })
    }

    /// The username (not secret; it appears in `/status` answers).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// `Basic base64(username:password)`, in zeroized memory.
    fn authorization(&self) -> Zeroizing<String> {
        use base64::Engine as _;
        let mut pair = Zeroizing::new(String::with_capacity(self.username.len() + 1 + self.password.len()));
        pair.push_str(&self.username);
        pair.push(':');
        pair.push_str(&self.password);
        let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
        let mut value = Zeroizing::new(String::with_capacity(6 + encoded.len()));
        value.push_str("Basic ");
        value.push_str(&encoded);
        value
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({}, password hidden)", self.username)
    }
}

/// `GET /status`: checks connectivity and credentials (answer: [`parse_report_response`]).
pub fn build_status(base: &Url, credentials: &Credentials) -> Result<WireRequest, BuildError> {
    authorized(Method::GET, endpoint(base, "status")?, credentials)
}

/// `POST /submit` with the report XML (answer: [`parse_submit_response`]).
pub fn build_submit(
    base: &Url,
    credentials: &Credentials,
    report: &Report,
) -> Result<WireRequest, BuildError> {
    let xml = report_xml(report)?;
    Ok(authorized(Method::POST, endpoint(base, "submit")?, credentials)?
        .body(Body::Bytes { content_type: XML_CONTENT_TYPE, data: Bytes::from(xml) }))
}

/// `POST /upload`: one file for an open report, as multipart fields `id` and `file` (answer:
/// [`parse_upload_response`]). The file name must be non-empty and free of quotes,
/// backslashes and control characters, which multipart headers cannot carry safely.
pub fn build_upload(
    base: &Url,
    credentials: &Credentials,
    report_id: u64,
    file_name: &str,
    content_type: &'static str,
    data: Bytes,
) -> Result<WireRequest, BuildError> {
    if file_name.is_empty() || file_name.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return Err(BuildError::InvalidValue {
            field: "upload file name",
            reason: "a file name is non-empty, without quotes, backslashes or control characters",
        });
    }
    let id = report_id_text(report_id)?;
    let parts = vec![Part::text("id", &id), Part::file("file", file_name, content_type, data)];
    Ok(authorized(Method::POST, endpoint(base, "upload")?, credentials)?.body(Body::Multipart(parts)))
}

/// `POST /fileinfo` with the file's details (answer: [`parse_report_response`], then
/// [`ReportResponse::into_success`]).
pub fn build_fileinfo(
    base: &Url,
    credentials: &Credentials,
    details: &FileDetails,
) -> Result<WireRequest, BuildError> {
    let xml = file_details_xml(details)?;
    Ok(authorized(Method::POST, endpoint(base, "fileinfo")?, credentials)?
        .body(Body::Bytes { content_type: XML_CONTENT_TYPE, data: Bytes::from(xml) }))
}

/// `POST /finish` with the form field `id` (answer: [`parse_done_response`]). After this the
/// report is filed and can no longer be retracted through the API.
pub fn build_finish(
    base: &Url,
    credentials: &Credentials,
    report_id: u64,
) -> Result<WireRequest, BuildError> {
    id_form(endpoint(base, "finish")?, credentials, report_id)
}

/// `POST /retract` with the form field `id`: cancels a report that is not finished (answer:
/// [`parse_report_response`]; 5102 means it was already filed, 5101 already retracted, 5001
/// gone).
pub fn build_retract(
    base: &Url,
    credentials: &Credentials,
    report_id: u64,
) -> Result<WireRequest, BuildError> {
    id_form(endpoint(base, "retract")?, credentials, report_id)
}

fn id_form(url: Url, credentials: &Credentials, report_id: u64) -> Result<WireRequest, BuildError> {
    let id = report_id_text(report_id)?;
    Ok(authorized(Method::POST, url, credentials)?.body(Body::form([("id", id.as_str())])))
}

/// The base URL with one more path segment (`…/ispws` + `submit` = `…/ispws/submit`; a
/// trailing slash on the base makes no difference). Query and fragment are dropped.
pub fn endpoint(base: &Url, name: &str) -> Result<Url, BuildError> {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| BuildError::BaseUrl("https://report.cybertip.org/ispws"))?
        .pop_if_empty()
        .push(name);
    Ok(url)
}

fn authorized(method: Method, url: Url, credentials: &Credentials) -> Result<WireRequest, BuildError> {
    Ok(WireRequest::new(method, url).secret_header(AUTHORIZATION, &credentials.authorization())?)
}
