//! `action=upload`: a file sent as multipart (the CSRF token last, as with every write), and the
//! answer — `Success` with the stored name and its SHA-1, or `Warning` (duplicate, existing
//! name, bad extension …), which the appliance treats as "not uploaded" rather than forcing it.

use bytes::Bytes;
use http::Method;
use http::header::ACCEPT;
use url::Url;

use super::common::{
    COMMON_PARAMS, WikiAuth, check_csrf_token, check_text, malformed, object, opt_string, string,
};
use super::envelope::check_envelope;
use super::error::WikiError;
use crate::egress::wire::{Body, Part, WireRequest, WireResponse};

const UPLOAD_CONTEXT: &str = "action=upload";

/// A stored upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// The name the wiki stored it under (spaces as underscores).
    pub file_name: String,
    /// Its SHA-1 (40 lower-case hex digits), as the wiki computed it.
    pub sha1: Option<String>,
}

/// Builds an upload of `data` as `File:<file_name>` with an upload `comment`.
pub fn build_upload(
    api: &Url,
    auth: WikiAuth<'_>,
    csrf_token: &str,
    file_name: &str,
    data: Bytes,
    comment: &str,
) -> Result<WireRequest, WikiError> {
    check_text("file name", file_name, 240, false)?;
    if file_name.contains(['/', '\\', '#', '|', '[', ']', '{', '}', '<', '>']) {
        return Err(WikiError::InvalidInput {
            field: "file name",
            reason: "contains a character MediaWiki titles cannot hold".to_owned(),
        });
    }
    check_text("upload comment", comment, 500, true)?;
    check_csrf_token(csrf_token)?;
    let mut parts: Vec<Part> = vec![Part::text("action", "upload")];
    parts.extend(COMMON_PARAMS.iter().map(|(name, value)| Part::text(name, value)));
    parts.push(Part::text("assert", "user"));
    parts.push(Part::text("filename", file_name));
    parts.push(Part::text("comment", comment));
    parts.push(Part::file("file", file_name, "application/octet-stream", data));
    parts.push(Part::text("token", csrf_token));
    let mut url = api.clone();
    url.set_query(None);
    let request =
        WireRequest::new(Method::POST, url).header(ACCEPT, "application/json").body(Body::Multipart(parts));
    auth.apply(request)
}

/// Reads the answer to an upload; a `Warning` result is an error naming the warnings.
pub fn parse_upload(response: &WireResponse) -> Result<Uploaded, WikiError> {
    const C: &str = UPLOAD_CONTEXT;
    let envelope = check_envelope(response, C)?;
    let upload = object(&envelope.root, "upload", C)?;
    match string(upload, "result", C)?.as_str() {
        "Success" => {
            let file_name = string(upload, "filename", C)?;
            let sha1 = match upload.get("imageinfo").and_then(|i| i.as_object()) {
                Some(info) => opt_string(info, "sha1", C)?,
                None => None,
            };
            if sha1.as_ref().is_some_and(|s| s.len() != 40 || !s.bytes().all(|b| b.is_ascii_hexdigit())) {
                return Err(malformed(C, "imageinfo.sha1 is not 40 hex digits"));
            }
            Ok(Uploaded { file_name, sha1: sha1.map(|s| s.to_ascii_lowercase()) })
        }
        "Warning" => {
            let names: Vec<String> = upload
                .get("warnings")
                .and_then(|w| w.as_object())
                .map(|w| w.keys().cloned().collect())
                .unwrap_or_default();
            Err(WikiError::InvalidInput {
                field: "upload",
                reason: format!("was not stored; the wiki warned: {}", names.join(", ")),
            })
        }
        other => Err(malformed(C, format!("unknown upload result {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &str) -> WireResponse {
        let mut headers = http::HeaderMap::new();
        headers.insert("content-type", http::HeaderValue::from_static("application/json; charset=utf-8"));
        WireResponse::new(http::StatusCode::OK, headers, body.to_owned())
    }

    #[test]
    fn an_upload_is_multipart_with_the_token_last_and_reads_back_the_sha1() {
        let api = Url::parse("https://commons.wikimedia.org/w/api.php").unwrap();
        let request =
            build_upload(&api, WikiAuth::Bearer("t"), "abc+\\", "X.png", Bytes::from_static(b"png"), "c")
                .unwrap();
        let Body::Multipart(parts) = &request.body else { panic!("not multipart") };
        assert_eq!(parts.last().map(|p| p.name.as_str()), Some("token"));
        assert!(parts.iter().any(|p| p.name == "file" && p.file_name.as_deref() == Some("X.png")));
        let ok = json(
            r#"{"upload":{"result":"Success","filename":"X.png","imageinfo":{"sha1":"0123456789abcdef0123456789abcdef01234567"}}}"#,
        );
        assert_eq!(
            parse_upload(&ok).unwrap().sha1.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        let warned =
            json(r#"{"upload":{"result":"Warning","warnings":{"duplicate":["Y.png"]},"filekey":"k"}}"#);
        assert!(parse_upload(&warned).unwrap_err().to_string().contains("duplicate"));
        assert!(build_upload(&api, WikiAuth::Bearer("t"), "abc+\\", "a/b.png", Bytes::new(), "c").is_err());
    }
}
