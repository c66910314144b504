//! Fuzz targets for the Salesforce wire parsers: the token answer, the record answers (upsert,
//! create, lookup) with the upsert request's round trip, and the error body every REST resource
//! shares.

use bytes::Bytes;
use serde_json::{Map, Value};
use url::Url;

use super::{FuzzTarget, fuzz_response};
use crate::egress::wire::{Body, WireResponse};
use crate::services::salesforce::wire::{
    AccessToken, CaseRecord, SalesforceError, SalesforceId, build_upsert_case, parse_case_lookup,
    parse_create_record, parse_limit_info, parse_rest_error, parse_token_response, parse_upsert_case,
};

/// This service's fuzz targets by name (`salesforce_<message>`).
pub const TARGETS: &[(&str, FuzzTarget)] = &[
    ("salesforce_token_response", salesforce_token_response),
    ("salesforce_record_response", salesforce_record_response),
    ("salesforce_error_body", salesforce_error_body),
];

/// The token endpoint's answer, with and without a JSON content type: a token is only ever
/// accepted from a 200 and comes with an https origin; an error never quotes a 2xx body's
/// `access_token`.
pub fn salesforce_token_response(data: &[u8]) {
    let with_type: &[(&'static str, &'static str)] = &[("content-type", "application/json;charset=UTF-8")];
    for headers in [with_type, &[]] {
        let response = fuzz_response(data, headers);
        match parse_token_response(&response) {
            Ok(token) => {
                assert_eq!(response.status.as_u16(), 200, "a token from a non-200 answer");
                let url = token.instance_url();
                assert_eq!(url.scheme(), "https", "{url}");
                assert!(url.host_str().is_some_and(|host| !host.is_empty()), "{url}");
                assert!(url.username().is_empty() && url.password().is_none(), "{url}");
                assert!(url.path() == "/" && url.query().is_none() && url.fragment().is_none(), "{url}");
                let secret = token.secret();
                assert!(!secret.is_empty() && secret.bytes().all(|b| b.is_ascii_graphic()));
                assert_eq!(body_text(&response.body, "access_token").as_deref(), Some(secret));
                // A short token ("i") occurs in the Debug text's own field names; real tokens
                // are over a hundred characters, as in the error branch's check below.
                if secret.len() >= 16 && !url.as_str().contains(secret) {
                    assert!(!format!("{token:?}").contains(secret), "Debug shows the token");
                }
            }
            Err(error) => {
                check_error(&error);
                // Only a 2xx body can hold a real token; quoting it would leak it to the log.
                if response.status.is_success()
                    && let Some(secret) = body_text(&response.body, "access_token")
                    && secret.len() >= 16
                    && !secret.chars().any(|c| c.is_whitespace() || c.is_control())
                    && !body_text(&response.body, "instance_url").is_some_and(|url| url.contains(&secret))
                {
                    assert!(!error.to_string().contains(&secret), "an error quotes the token: {error}");
                    assert!(!format!("{error:?}").contains(&secret), "an error's Debug shows the token");
                }
            }
        }
    }
}

/// The upsert, create and lookup answers: a record ID is 15 or 18 letters and digits, a Case's
/// begins with 500, and "created" agrees with the status (201 created, 200 updated with an ID,
/// 204 updated without). Then the upsert request built from the same bytes (an external ID and
/// a description) reads back as what was given.
pub fn salesforce_record_response(data: &[u8]) {
    let response = fuzz_response(data, &[("content-type", "application/json")]);
    let status = response.status.as_u16();
    match parse_upsert_case(&response) {
        Ok(CaseRecord::Created(id)) => {
            assert_eq!(status, 201, "created on {status}");
            check_id(&id, Some("500"));
        }
        Ok(CaseRecord::Updated(Some(id))) => {
            assert_eq!(status, 200, "updated with an ID on {status}");
            check_id(&id, Some("500"));
        }
        Ok(CaseRecord::Updated(None)) => assert_eq!(status, 204, "updated without an ID on {status}"),
        Err(error) => check_error(&error),
    }
    match parse_create_record(&response) {
        Ok(id) => {
            assert_eq!(status, 201, "created on {status}");
            check_id(&id, None);
        }
        Err(error) => check_error(&error),
    }
    match parse_case_lookup(&response) {
        Ok(id) => {
            assert_eq!(status, 200, "found on {status}");
            check_id(&id, Some("500"));
        }
        Err(error) => check_error(&error),
    }
    upsert_round_trip(data);
}

/// An arbitrary body (the bytes after the first) with a 400 status is Salesforce's error list
/// (every entry says something) or a clear "not its error list"; under the status the first
/// byte picks, the documented statuses map to their own errors.
pub fn salesforce_error_body(data: &[u8]) {
    // The same body as `fuzz_response` gives below, so one seed serves both checks.
    let body = data.get(1..).unwrap_or_default();
    let error = parse_rest_error(&WireResponse::from_body(400, Bytes::copy_from_slice(body)));
    match &error {
        SalesforceError::Api { status: 400, errors } => {
            assert!(!errors.is_empty(), "an error list with no errors");
            for entry in errors {
                assert!(!entry.code.is_empty() || !entry.message.is_empty(), "{entry:?}");
                assert!(entry.fields.iter().all(|field| !field.is_empty()), "{entry:?}");
            }
            for (field, message) in error.field_messages() {
                assert!(!field.is_empty() && !message.is_empty());
            }
        }
        SalesforceError::Unrecognised { status: 400, excerpt } => assert!(!excerpt.is_empty()),
        other => panic!("a 400 is an error list or an unrecognised body, not {other:?}"),
    }
    check_error(&error);

    let response = fuzz_response(data, &[]);
    let error = parse_rest_error(&response);
    let expected = match response.status.as_u16() {
        401 => matches!(error, SalesforceError::SessionExpired { .. }),
        404 => matches!(error, SalesforceError::NotFound { .. }),
        415 => matches!(error, SalesforceError::UnsupportedMediaType { .. }),
        429 | 502..=504 => matches!(error, SalesforceError::Unavailable { .. }),
        _ => true,
    };
    assert!(expected, "HTTP {} read as {error:?}", response.status);
    check_error(&error);

    // The same bytes as a `Sforce-Limit-Info` value: read only as two numbers, never a panic.
    if let Ok(value) = http::HeaderValue::from_bytes(body) {
        let mut headers = http::HeaderMap::new();
        headers.insert("sforce-limit-info", value);
        if let Some(usage) = parse_limit_info(&headers) {
            let text = String::from_utf8_lossy(body);
            assert!(
                text.contains(&usage.used.to_string()) && text.contains(&usage.limit.to_string()),
                "{text:?}"
            );
        }
    }
}

/// Builds an upsert from fuzz bytes (`<external id>\n<description>`) and reads it back.
fn upsert_round_trip(data: &[u8]) {
    const PREFIX: &str = "/services/data/v67.0/sobjects/Case/Takedown_Case_ID__c/";
    let text = String::from_utf8_lossy(data);
    let (external_id, description) = text.split_once('\n').unwrap_or((&text, ""));
    let Ok(instance) = Url::parse("https://example.my.salesforce.com") else { unreachable!("a valid URL") };
    let Ok(token) = AccessToken::new("00Dfuzz!token", instance.as_str(), None) else {
        unreachable!("a valid token")
    };
    let mut fields = Map::new();
    fields.insert("Description".to_owned(), Value::from(description));
    match build_upsert_case(&instance, "67.0", &token, "Takedown_Case_ID__c", external_id, &fields) {
        Ok(request) => {
            assert_eq!(request.url.host_str(), Some("example.my.salesforce.com"));
            assert_eq!(request.url.query(), None);
            let path = request.url.path();
            let segment = path.strip_prefix(PREFIX).unwrap_or_else(|| panic!("{path}"));
            assert!(!segment.contains('/'), "{path}");
            assert_eq!(percent_decode(segment).as_deref(), Some(external_id.as_bytes()), "{path}");
            let Body::Bytes { data, .. } = &request.body else { panic!("{:?}", request.body) };
            let sent: Result<Value, _> = serde_json::from_slice(data);
            assert_eq!(sent.ok(), Some(Value::Object(fields)));
        }
        Err(error) => {
            assert!(matches!(error, SalesforceError::InvalidInput { .. }), "{error:?}");
            check_error(&error);
        }
    }
}

/// Every error names Salesforce and stays short enough to log.
fn check_error(error: &SalesforceError) {
    let text = error.to_string();
    assert!(text.contains("Salesforce"), "{text}");
    assert!(text.chars().count() < 4000, "an error message of {} characters", text.chars().count());
}

fn check_id(id: &SalesforceId, prefix: Option<&str>) {
    let text = id.as_str();
    assert!(matches!(text.len(), 15 | 18) && text.bytes().all(|b| b.is_ascii_alphanumeric()), "{text}");
    if let Some(prefix) = prefix {
        assert_eq!(id.key_prefix(), prefix, "{text}");
    }
}

/// A string field of a JSON object body, if the body is one.
fn body_text(body: &[u8], name: &str) -> Option<String> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(mut fields) => match fields.remove(name)? {
            Value::String(text) => Some(text),
            _ => None,
        },
        _ => None,
    }
}

fn percent_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_accept_documented_answers() {
        let token =
            br#"{"access_token":"00Dxx0000001gPL!AQ0AQ","instance_url":"https://example.my.salesforce.com"}"#;
        salesforce_token_response(&[&[0u8][..], token].concat());
        assert!(parse_token_response(&fuzz_response(&[&[0u8][..], token].concat(), &[])).is_ok());
        salesforce_record_response(
            b"\x01{\"id\":\"500xx000003DgXbAAK\",\"success\":true,\"errors\":[],\"created\":true}",
        );
        salesforce_record_response(b"\x02");
        salesforce_error_body(
            b"[{\"message\":\"Session expired or invalid\",\"errorCode\":\"INVALID_SESSION_ID\"}]",
        );
        salesforce_error_body(b"");
    }

    #[test]
    fn round_trip_keeps_odd_external_ids() {
        for id in ["T-2026-0042", "a/b%2F?#", "caf\u{e9} \u{1F600}", "..."] {
            upsert_round_trip(format!("{id}\ndescription").as_bytes());
        }
        upsert_round_trip(b".\n");
        upsert_round_trip(b"\xff\xfe");
    }

    /// The committed seeds replay cleanly and the documented answers among them parse as
    /// documented (which also proves each seed's status byte is right).
    #[test]
    fn corpus_seeds_mean_what_their_names_say() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let read = |target: &str, name: &str| {
            std::fs::read(corpus.join(target).join(name)).unwrap_or_else(|e| panic!("{target}/{name}: {e}"))
        };
        let token =
            |name: &str| parse_token_response(&fuzz_response(&read("salesforce_token_response", name), &[]));
        assert!(token("ok_minimal").is_ok() && token("ok_extra_fields").is_ok());
        for name in ["invalid_grant_0", "invalid_client_id", "invalid_client", "unsupported_grant_type"] {
            assert!(matches!(token(name), Err(SalesforceError::OAuth { .. })), "{name}");
        }
        assert!(matches!(token("html_login_host"), Err(SalesforceError::NotJson { .. })));
        assert!(matches!(token("missing_instance_url"), Err(SalesforceError::Malformed { .. })));
        let record = |name: &str| fuzz_response(&read("salesforce_record_response", name), &[]);
        assert!(parse_upsert_case(&record("upsert_created")).is_ok_and(|r| r.created()));
        assert!(parse_upsert_case(&record("upsert_updated")).is_ok_and(|r| !r.created() && r.id().is_some()));
        assert_eq!(parse_upsert_case(&record("upsert_updated_204")).ok(), Some(CaseRecord::Updated(None)));
        assert!(parse_create_record(&record("create_content_version")).is_ok());
        assert!(parse_case_lookup(&record("lookup_found")).is_ok());
        assert!(matches!(
            parse_upsert_case(&record("success_false")),
            Err(SalesforceError::RecordFailed { .. })
        ));
        let error = |name: &str| parse_rest_error(&fuzz_response(&read("salesforce_error_body", name), &[]));
        assert!(matches!(error("session_expired"), SalesforceError::SessionExpired { .. }));
        assert!(matches!(error("request_limit"), SalesforceError::RequestLimit { .. }));
        assert!(matches!(error("several_errors_fields"), SalesforceError::Api { status: 400, .. }));
        assert!(matches!(error("unavailable_html"), SalesforceError::Unavailable { status: 503, .. }));
        assert!(matches!(error("unsupported_media"), SalesforceError::UnsupportedMediaType { .. }));
    }

    #[test]
    fn percent_decode_reads_what_the_builder_writes() {
        assert_eq!(percent_decode("a%2Fb%25").as_deref(), Some(&b"a/b%"[..]));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
    }
}
