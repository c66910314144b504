//! One HTTP exchange as the pure API modules see it: a [`WireRequest`] that a `build_*`
//! function returns, and a [`WireResponse`] that a `parse_*` function reads. No I/O happens
//! here; the egress client turns the one into a network request and the answer into the other.
//!
//! Neither type prints secrets: `Debug` shows the method, the path and the body's size, never
//! a header value, a query string or a body.

use std::fmt;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use url::Url;

/// A request built by a pure `build_*` function.
pub struct WireRequest {
    /// GET, POST, ...
    pub method: Method,
    /// The whole URL (checked against the egress policy before anything is sent).
    pub url: Url,
    /// Headers beyond those the client adds itself (User-Agent). Mark secret values with
    /// [`WireRequest::secret_header`].
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Body,
}

impl WireRequest {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Self { method, url, headers: Vec::new(), body: Body::Empty }
    }

    /// Adds a header whose value is public (Accept, Content-Type).
    pub fn header(mut self, name: HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// Adds a header whose value is a secret (a token, a password): it is marked sensitive so
    /// that HTTP/2 never indexes it and no `Debug` prints it. A value that cannot be a header
    /// (a control character) is an error rather than a silently different header.
    pub fn secret_header(mut self, name: HeaderName, value: &str) -> Result<Self, InvalidHeaderText> {
        let mut value = HeaderValue::from_str(value).map_err(|_| InvalidHeaderText(name.clone()))?;
        value.set_sensitive(true);
        self.headers.push((name, value));
        Ok(self)
    }

    /// Sets the body.
    pub fn body(mut self, body: Body) -> Self {
        self.body = body;
        self
    }

    /// The value of a header the builder set, if any (for tests and the peers' agreement).
    pub fn header_value(&self, name: &HeaderName) -> Option<&HeaderValue> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl fmt::Debug for WireRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}{} ({:?})",
            self.method,
            self.url.host_str().unwrap_or(""),
            self.url.path(),
            self.body
        )
    }
}

/// A header value that contains characters a header cannot carry.
#[derive(Debug, thiserror::Error)]
#[error(
    "the value for header {0} contains characters a header cannot carry (a line break or control character)"
)]
pub struct InvalidHeaderText(pub HeaderName);

/// A request body.
pub enum Body {
    /// No body.
    Empty,
    /// Bytes of one content type (JSON, XML, a URL-encoded form).
    Bytes {
        /// The Content-Type header.
        content_type: &'static str,
        /// The bytes.
        data: Bytes,
    },
    /// A `multipart/form-data` body; the client chooses the boundary.
    Multipart(Vec<Part>),
}

impl Body {
    /// A JSON body.
    pub fn json(value: &serde_json::Value) -> Body {
        Body::Bytes { content_type: "application/json", data: Bytes::from(value.to_string()) }
    }

    /// An `application/x-www-form-urlencoded` body from name/value pairs, in order.
    pub fn form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Body {
        let mut encoder = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            encoder.append_pair(name, value);
        }
        Body::Bytes { content_type: "application/x-www-form-urlencoded", data: Bytes::from(encoder.finish()) }
    }

    /// How many bytes the body carries (multipart: the parts' contents, without framing).
    pub fn len(&self) -> usize {
        match self {
            Body::Empty => 0,
            Body::Bytes { data, .. } => data.len(),
            Body::Multipart(parts) => parts.iter().map(|p| p.data.len()).sum(),
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("no body"),
            Body::Bytes { content_type, data } => write!(f, "{content_type}, {} bytes", data.len()),
            Body::Multipart(parts) => write!(f, "multipart, {} parts, {} bytes", parts.len(), self.len()),
        }
    }
}

/// One part of a multipart body.
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The file name, for a file part.
    pub file_name: Option<String>,
    /// The part's Content-Type, if it needs one.
    pub content_type: Option<&'static str>,
    /// The content.
    pub data: Bytes,
}

impl Part {
    /// A plain text field.
    pub fn text(name: &str, value: &str) -> Part {
        Part {
            name: name.to_owned(),
            file_name: None,
            content_type: None,
            data: Bytes::from(value.to_owned()),
        }
    }

    /// A file.
    pub fn file(name: &str, file_name: &str, content_type: &'static str, data: Bytes) -> Part {
        Part {
            name: name.to_owned(),
            file_name: Some(file_name.to_owned()),
            content_type: Some(content_type),
            data,
        }
    }
}

/// What came back, as a `parse_*` function reads it. The body has already been capped at the
/// service's `max_response_bytes`.
pub struct WireResponse {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl WireResponse {
    /// A response (tests, fuzz targets and the client build them the same way).
    pub fn new(status: StatusCode, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        Self { status, headers, body: body.into() }
    }

    /// A response with only a status and a body.
    pub fn from_body(status: u16, body: impl Into<Bytes>) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Self::new(status, HeaderMap::new(), body)
    }

    /// A header's value as text, if present and readable.
    pub fn header_text(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The media type of the body (`text/xml` for `text/xml; charset=utf-8`), lower-case.
    pub fn media_type(&self) -> Option<String> {
        let value = self.header_text("content-type")?;
        Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }
}

impl fmt::Debug for WireResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({} bytes)", self.status, self.body.len())
    }
}
