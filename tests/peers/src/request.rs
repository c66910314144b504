//! A request as a peer sees it (read whole, multipart already split into parts) and the answer
//! it gives. Peers are plain functions of these; the server does the I/O.

use bytes::Bytes;
use http::{HeaderMap, Method};

/// One part of a `multipart/form-data` body.
#[derive(Clone, Debug)]
pub struct FormPart {
    /// The field name.
    pub name: String,
    /// The file name, for a file part.
    pub file_name: Option<String>,
    /// The part's content type.
    pub content_type: Option<String>,
    /// The content.
    pub data: Bytes,
}

/// A request, read whole.
#[derive(Clone, Debug)]
pub struct PeerRequest {
    /// The method.
    pub method: Method,
    /// The path (percent-decoding left to the peer).
    pub path: String,
    /// The raw query string ("" when absent).
    pub query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The `Host` (or HTTP/2 `:authority`) the client used, with its port.
    pub authority: String,
    /// The raw body.
    pub body: Bytes,
    /// The parts, when the body is `multipart/form-data` and parsed cleanly; `None` otherwise.
    pub form: Option<Vec<FormPart>>,
}

impl PeerRequest {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type of the body, lower-case, without parameters.
    pub fn media_type(&self) -> String {
        self.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase()
    }

    /// The query's name/value pairs.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// The body's name/value pairs, for `application/x-www-form-urlencoded`; or the text fields
    /// of a multipart body.
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        match &self.form {
            Some(parts) => parts
                .iter()
                .filter(|p| p.file_name.is_none())
                .map(|p| (p.name.clone(), String::from_utf8_lossy(&p.data).into_owned()))
                .collect(),
            None if self.media_type() == "application/x-www-form-urlencoded" => {
                form_urlencoded::parse(&self.body).into_owned().collect()
            }
            None => Vec::new(),
        }
    }
}

/// An answer.
#[derive(Clone, Debug)]
pub struct PeerResponse {
    /// The status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

impl PeerResponse {
    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::typed(status, "application/json; charset=utf-8", value.to_string())
    }

    /// An answer with a content type.
    pub fn typed(status: u16, content_type: &str, body: impl Into<Bytes>) -> Self {
        Self { status, headers: vec![("content-type".into(), content_type.into())], body: body.into() }
    }

    /// A `text/plain` answer.
    pub fn text(status: u16, body: &str) -> Self {
        Self::typed(status, "text/plain; charset=utf-8", body.to_owned())
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The content type it carries.
    pub fn content_type(&self) -> &str {
        self.headers.iter().find(|(n, _)| n == "content-type").map_or("", |(_, v)| v.as_str())
    }
}

/// What a peer did with one request: its answer, and what to journal about the request (never
/// uploaded bytes: sizes and hashes only).
pub struct Exchange {
    /// The answer.
    pub response: PeerResponse,
    /// A JSON summary of what was received.
    pub received: serde_json::Value,
}

/// One simulated service.
pub(crate) trait Peer: Send + Sync {
    /// The name of the endpoint a request is for, as used by [`crate::Fault`] switches.
    fn endpoint(&self, request: &PeerRequest) -> String;
    /// Answers a request, changing state as the real service would.
    fn handle(&self, request: &PeerRequest) -> Exchange;
    /// The state as JSON, for tests.
    fn snapshot(&self) -> serde_json::Value;
    /// Replaces a user's groups, for services that have users with rights (the wiki); `false`
    /// where there are none.
    fn set_user_groups(&self, _user: &str, _groups: &[&str]) -> bool {
        false
    }
    /// Adds a file uploaded by `uploader` whose content is `content` (only its size and SHA-1
    /// are kept), for services that hold files (the wiki); `false` where there are none.
    fn add_file(&self, _name: &str, _uploader: &str, _content: &[u8]) -> bool {
        false
    }
    /// Expires every OAuth 2 access token issued (refresh tokens keep working), for services
    /// that issue them (the wiki); `false` where there are none.
    fn expire_access_tokens(&self) -> bool {
        false
    }
    /// Sets how long the OAuth 2 access tokens issued from now on live, in seconds, for
    /// services that issue them (the wiki); `false` where there are none.
    fn set_token_lifetime(&self, _seconds: u64) -> bool {
        false
    }
    /// Revokes every OAuth 2 access and refresh token issued, for services that issue them
    /// (the wiki); `false` where there are none.
    fn revoke_oauth_grants(&self) -> bool {
        false
    }
}

/// The size and SHA-256 of uploaded bytes: all a journal may say of them.
pub(crate) fn upload_summary(data: &[u8]) -> serde_json::Value {
    use sha2::Digest;
    serde_json::json!({ "bytes": data.len(), "sha256": hex(&sha2::Sha256::digest(data)) })
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
