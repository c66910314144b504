//! The shared envelope of every api.php answer, checked before any message-specific reading:
//! HTTP status, the `MediaWiki-API-Error` header, Content-Type, the `errors` list
//! (`errorformat=plaintext`) or the `error` object (the default `bc` format, understood too),
//! `maxlag`, the formatversion=1 giveaway at the top level, and warnings.
//!
//! MediaWiki reports almost every failure as HTTP 200, so a parser that skipped this would read
//! an error as an empty success.

use std::time::Duration;

use serde_json::{Map, Value};

use super::common::{excerpt, malformed};
use super::error::{ApiCode, WikiError};
use crate::egress::wire::WireResponse;

/// The header api.php sets on every error response, whatever the status.
pub(super) const API_ERROR_HEADER: &str = "mediawiki-api-error";

/// Wait after `maxlag` when `Retry-After` is missing or unreadable (the server's own minimum).
const DEFAULT_LAG_WAIT: Duration = Duration::from_secs(5);

/// Longest wait we accept from `Retry-After`; a larger value is capped, not obeyed.
const MAX_WAIT: Duration = Duration::from_secs(600);

/// A response that passed the envelope check: the JSON object and the warnings it carried. Its
/// `Debug` lists the object's keys only: the values can be tokens.
pub struct Envelope {
    /// The top-level JSON object.
    pub root: Map<String, Value>,
    /// Warnings the API attached (deprecations, unrecognised parameters, `delete-scheduled`…).
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("keys", &self.root.keys().collect::<Vec<_>>())
            .field("warnings", &self.warnings.len())
            .finish()
    }
}

/// One API warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The warning's code (`main-account-login`, `unrecognizedparams`…), when the error format
    /// gives one (`plaintext` does; `bc` does not).
    pub code: Option<String>,
    /// The module that raised it (`main`, `login`, `edit`…).
    pub module: Option<String>,
    /// The warning's text (truncated).
    pub text: String,
    /// For a deprecation warning, the deprecated feature (`data.feature`, e.g.
    /// `main-account-login`).
    pub feature: Option<String>,
}

/// Checks what every api.php response shares and returns its JSON object and warnings, or the
/// error it reports. `context` names the message for error texts (`"action=edit"`).
///
/// Refuses: a status other than 2xx (429 → [`WikiError::Throttled`], 502/503/504 →
/// [`WikiError::Unavailable`], 403 → [`WikiError::Forbidden`], an API error in a non-2xx body →
/// [`WikiError::Api`], else [`WikiError::HttpStatus`]); any response whose `MediaWiki-API-Error`
/// header is set; a Content-Type other than `application/json`; a body that is not a JSON
/// object; `errors`/`error` members (→ [`WikiError::Api`], or [`WikiError::Lagged`] for
/// `maxlag`); `batchcomplete: ""` (formatversion=1); warnings in an unknown shape.
pub fn check_envelope(response: &WireResponse, context: &'static str) -> Result<Envelope, WikiError> {
    let status = response.status.as_u16();
    let header_code = response.headers.get(API_ERROR_HEADER).map(|value| {
        let text = String::from_utf8_lossy(value.as_bytes());
        let first = text.split(',').next().unwrap_or("").trim();
        if first.is_empty() { "unknown".to_owned() } else { first.to_owned() }
    });
    let is_json = response.media_type().as_deref() == Some("application/json");
    let parsed: Option<Result<Value, serde_json::Error>> =
        is_json.then(|| serde_json::from_slice::<Value>(&response.body));
    let root = match &parsed {
        Some(Ok(Value::Object(map))) => Some(map),
        _ => None,
    };
    let api_error = match root {
        Some(root) => api_error(response, root, context),
        None => Ok(None),
    };

    if !response.status.is_success() {
        // The status decides first: a broken error body must not hide a 429 or a 503.
        let api_error = api_error.ok().flatten();
        let retry_after = retry_after(response);
        let detail = match &api_error {
            Some(error) => excerpt(&error.to_string()),
            None => error_body_excerpt(&response.body),
        };
        return Err(match (status, api_error) {
            (429, _) => WikiError::Throttled { retry_after, detail },
            (502..=504, _) => WikiError::Unavailable { status, retry_after, detail },
            (_, Some(error)) => error,
            (403, None) => WikiError::Forbidden { detail },
            _ => WikiError::HttpStatus { status, detail },
        });
    }
    if let Some(error) = api_error? {
        return Err(error);
    }
    if let Some(code) = header_code {
        // The header alone is enough to know the request failed, even when the body is not
        // readable or holds no error.
        if code == "maxlag" {
            return Err(WikiError::Lagged { retry_after: lag_wait(response), lag: lag_header(response) });
        }
        return Err(WikiError::Api {
            code: ApiCode::from_code(&code),
            text: "the wiki flagged an error in the MediaWiki-API-Error header but the body does not \
                   describe it"
                .to_owned(),
            module: None,
            detail: None,
        });
    }
    let root = match parsed {
        None => {
            // Never quoted: a 2xx answer to a token or login request may hold the token.
            return Err(WikiError::NotJson {
                context,
                status,
                media_type: response.media_type(),
                detail: format!(
                    "{} bytes, withheld (a successful answer may hold a token)",
                    response.body.len()
                ),
            });
        }
        Some(Err(error)) => {
            // The parse error's position only: the body may hold a token.
            return Err(WikiError::NotJson {
                context,
                status,
                media_type: response.media_type(),
                detail: format!("unreadable JSON ({error})"),
            });
        }
        Some(Ok(Value::Object(root))) => root,
        Some(Ok(_)) => return Err(malformed(context, "the body is not a JSON object")),
    };
    if matches!(root.get("batchcomplete"), Some(Value::String(_))) {
        return Err(WikiError::FormatVersion1 { context, detail: "`batchcomplete` is \"\"".to_owned() });
    }
    let warnings = warnings(&root, context)?;
    Ok(Envelope { root, warnings })
}

/// The error a JSON body reports, if any: `errors` (plaintext format) or `error` (bc format).
fn api_error(
    response: &WireResponse,
    root: &Map<String, Value>,
    context: &'static str,
) -> Result<Option<WikiError>, WikiError> {
    let (first, others): (&Map<String, Value>, Vec<String>) = match (root.get("errors"), root.get("error")) {
        (Some(Value::Array(errors)), _) => {
            let Some(first) = errors.first() else {
                return Err(malformed(context, "`errors` is an empty list"));
            };
            let Value::Object(first) = first else {
                return Err(malformed(context, "an entry of `errors` is not an object"));
            };
            let others = errors
                .iter()
                .skip(1)
                .filter_map(|e| e.get("code").and_then(Value::as_str))
                .map(excerpt)
                .collect();
            (first, others)
        }
        (Some(_), _) => return Err(malformed(context, "`errors` is not a list")),
        (None, Some(Value::Object(error))) => (error, Vec::new()),
        (None, Some(_)) => return Err(malformed(context, "`error` is not an object")),
        (None, None) => return Ok(None),
    };
    let code = match first.get("code") {
        Some(Value::String(code)) if !code.is_empty() => code.clone(),
        _ => return Err(malformed(context, "an error carries no code")),
    };
    // The plaintext format puts extra data under `data`; the bc format beside `code`.
    let data = match first.get("data") {
        Some(Value::Object(data)) => data,
        _ => first,
    };
    if code == "maxlag" {
        let lag = data.get("lag").and_then(Value::as_f64).filter(|l| l.is_finite() && *l >= 0.0);
        return Ok(Some(WikiError::Lagged {
            retry_after: lag_wait(response),
            lag: lag.or(lag_header(response)),
        }));
    }
    let text = ["text", "info", "html", "*"]
        .iter()
        .find_map(|key| first.get(*key).and_then(Value::as_str))
        .map(excerpt)
        .unwrap_or_default();
    let module = first.get("module").and_then(Value::as_str).map(excerpt);
    let mut detail = error_detail(&code, data);
    if !others.is_empty() {
        let also = format!("also: {}", others.join(", "));
        detail = Some(match detail {
            Some(d) => format!("{d}; {also}"),
            None => also,
        });
    }
    Ok(Some(WikiError::Api { code: ApiCode::from_code(&code), text, module, detail }))
}

/// A one-line summary of the data some error codes carry.
fn error_detail(code: &str, data: &Map<String, Value>) -> Option<String> {
    let text = |map: &Map<String, Value>, key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    let detail = match code {
        "blocked" | "autoblocked" => {
            let block = data.get("blockinfo").and_then(Value::as_object)?;
            let by = text(block, "blockedby").unwrap_or_else(|| "an administrator".to_owned());
            let expiry = text(block, "blockexpiry").unwrap_or_else(|| "unknown".to_owned());
            let reason = text(block, "blockreason").unwrap_or_default();
            format!("blocked by {by}, expiry {expiry}: {reason}")
        }
        "readonly" => format!("reason: {}", text(data, "readonlyreason")?),
        "abusefilter-disallowed" | "abusefilter-warning" => {
            let filter = data.get("abusefilter").and_then(Value::as_object)?;
            let id = filter.get("id").map(|v| v.to_string()).unwrap_or_default();
            let description = text(filter, "description").unwrap_or_default();
            format!("filter {id}: {description}")
        }
        "spamblacklist" => {
            let list = data.get("spamblacklist").and_then(Value::as_object).unwrap_or(data);
            let matches: Vec<&str> =
                list.get("matches").and_then(Value::as_array)?.iter().filter_map(Value::as_str).collect();
            format!("blacklisted: {}", matches.join(", "))
        }
        _ => return None,
    };
    Some(excerpt(&detail))
}

/// The warnings of a response, in the plaintext (list) or bc (object by module) shape.
fn warnings(root: &Map<String, Value>, context: &'static str) -> Result<Vec<Warning>, WikiError> {
    let text_of = |map: &Map<String, Value>| {
        ["text", "warnings", "html", "*"]
            .iter()
            .find_map(|key| map.get(*key).and_then(Value::as_str))
            .map(excerpt)
            .unwrap_or_default()
    };
    match root.get("warnings") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|entry| {
                let Value::Object(entry) = entry else {
                    return Err(malformed(context, "an entry of `warnings` is not an object"));
                };
                Ok(Warning {
                    code: entry.get("code").and_then(Value::as_str).map(excerpt),
                    module: entry.get("module").and_then(Value::as_str).map(excerpt),
                    text: text_of(entry),
                    feature: entry
                        .get("data")
                        .and_then(|d| d.get("feature"))
                        .and_then(Value::as_str)
                        .map(excerpt),
                })
            })
            .collect(),
        Some(Value::Object(by_module)) => by_module
            .iter()
            .map(|(module, entry)| {
                let Value::Object(entry) = entry else {
                    return Err(malformed(context, "a module's `warnings` is not an object"));
                };
                Ok(Warning { code: None, module: Some(excerpt(module)), text: text_of(entry), feature: None })
            })
            .collect(),
        Some(_) => Err(malformed(context, "`warnings` is neither a list nor an object")),
    }
}

/// `Retry-After` in seconds, capped; an HTTP-date cannot be read without a clock and is ignored.
fn retry_after(response: &WireResponse) -> Option<Duration> {
    let seconds = response.header_text("retry-after")?.trim().parse::<u64>().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_WAIT))
}

/// How long to wait after `maxlag`: `Retry-After`, at least 1 s, else the default.
fn lag_wait(response: &WireResponse) -> Duration {
    retry_after(response).map(|d| d.max(Duration::from_secs(1))).unwrap_or(DEFAULT_LAG_WAIT)
}

/// `X-Database-Lag` in seconds.
fn lag_header(response: &WireResponse) -> Option<f64> {
    response.header_text("x-database-lag")?.trim().parse::<f64>().ok().filter(|l| l.is_finite() && *l >= 0.0)
}

/// What an error status's body says: an excerpt of a text or HTML page, but never the JSON of
/// an answer without an error description (it may be a success body holding a token).
pub(super) fn error_body_excerpt(body: &[u8]) -> String {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "a JSON body without an error description".to_owned()
    } else {
        body_excerpt(body)
    }
}

/// A readable excerpt of a non-JSON body (an HTML error page): tags dropped, spaces collapsed.
pub(super) fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            _ => plain.push(c),
        }
    }
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() { "empty body".to_owned() } else { excerpt(&collapsed) }
}

#[cfg(test)]
pub(super) mod tests {
    use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

    use super::*;

    /// A JSON response with extra headers, as api.php sends it.
    pub(in super::super) fn json(
        status: u16,
        headers: &[(&'static str, &'static str)],
        body: &str,
    ) -> WireResponse {
        let mut map = HeaderMap::new();
        map.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
        for (name, value) in headers {
            map.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        WireResponse::new(StatusCode::from_u16(status).unwrap(), map, body.to_owned())
    }

    /// A response with a given Content-Type (or none).
    pub(in super::super) fn typed(
        status: u16,
        content_type: Option<&'static str>,
        body: &str,
    ) -> WireResponse {
        let mut map = HeaderMap::new();
        if let Some(content_type) = content_type {
            map.insert("content-type", HeaderValue::from_static(content_type));
        }
        WireResponse::new(StatusCode::from_u16(status).unwrap(), map, body.to_owned())
    }

    fn code(result: Result<Envelope, WikiError>) -> String {
        match result {
            Err(WikiError::Api { code, .. }) => code.as_str().to_owned(),
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn a_plaintext_error_with_the_header_is_an_api_error() {
        let response = json(
            200,
            &[("mediawiki-api-error", "badtoken")],
            r#"{"errors":[{"code":"badtoken","text":"Invalid CSRF token.","module":"main"}],"docref":"x","servedby":"mw1"}"#,
        );
        match check_envelope(&response, "test") {
            Err(WikiError::Api { code: ApiCode::BadToken, text, module, .. }) => {
                assert_eq!(text, "Invalid CSRF token.");
                assert_eq!(module.as_deref(), Some("main"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bc_error_is_understood_too() {
        let response = json(
            200,
            &[("mediawiki-api-error", "badtoken")],
            r#"{"error":{"code":"badtoken","info":"Invalid CSRF token.","docref":"See …"},"servedby":"mw1"}"#,
        );
        assert_eq!(code(check_envelope(&response, "test")), "badtoken");
        // formatversion=1 bc puts the docref under "*"; still an error.
        let response = json(
            200,
            &[],
            r#"{"error":{"code":"readonly","info":"The wiki is read-only","*":"See","readonlyreason":"Maintenance"}}"#,
        );
        match check_envelope(&response, "test") {
            Err(error @ WikiError::Api { code: ApiCode::ReadOnly, .. }) => {
                assert!(error.to_string().contains("Maintenance"), "{error}");
                assert!(error.is_retryable());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_error_header_alone_is_never_a_success() {
        let response = json(200, &[("mediawiki-api-error", "assertuserfailed")], r#"{"batchcomplete":true}"#);
        assert_eq!(code(check_envelope(&response, "test")), "assertuserfailed");
        let response = typed(200, Some("text/html"), "<html>oops</html>");
        let mut response = response;
        response
            .headers
            .insert(API_ERROR_HEADER, HeaderValue::from_static("internal_api_error_DBQueryError"));
        assert_eq!(code(check_envelope(&response, "test")), "internal_api_error_DBQueryError");
        let mut empty = typed(200, None, "");
        empty.headers.insert(API_ERROR_HEADER, HeaderValue::from_static(""));
        assert!(check_envelope(&empty, "test").is_err());
    }

    #[test]
    fn a_successful_answer_in_the_wrong_type_is_never_quoted_nor_printed() {
        let token = "d41d8cd98f00b204e9800998ecf8427e";
        let body = format!(r#"{{"batchcomplete":true,"query":{{"tokens":{{"csrftoken":"{token}"}}}}}}"#);
        for content_type in [Some("text/html"), Some("text/plain"), None] {
            let error = check_envelope(&typed(200, content_type, &body), "meta=tokens").unwrap_err();
            assert!(!error.to_string().contains("d41d8cd9"), "{error}");
        }
        let envelope = check_envelope(&json(200, &[], &body), "meta=tokens").unwrap();
        assert!(!format!("{envelope:?}").contains("d41d8cd9"), "{envelope:?}");
    }

    #[test]
    fn maxlag_becomes_a_lag_error_with_the_retry_after_header() {
        let response = json(
            200,
            &[("mediawiki-api-error", "maxlag"), ("retry-after", "7"), ("x-database-lag", "7")],
            r#"{"errors":[{"code":"maxlag","text":"Waiting for 10.64.48.35: 7.2 seconds lagged.","data":{"host":"10.64.48.35","lag":7.2,"type":"db"},"module":"main"}]}"#,
        );
        match check_envelope(&response, "test") {
            Err(error @ WikiError::Lagged { .. }) => {
                assert_eq!(error.retry_after(), Some(Duration::from_secs(7)));
                assert!(matches!(error, WikiError::Lagged { lag: Some(l), .. } if (l - 7.2).abs() < 1e-9));
            }
            other => panic!("{other:?}"),
        }
        // No Retry-After: the 5 s default; the bc shape with lag beside the code.
        let response = json(
            200,
            &[],
            r#"{"error":{"code":"maxlag","info":"Waiting","host":"db1","lag":12,"type":"db"}}"#,
        );
        assert!(matches!(
            check_envelope(&response, "test"),
            Err(WikiError::Lagged { retry_after, lag: Some(l) }) if retry_after == DEFAULT_LAG_WAIT && l == 12.0
        ));
        // Only the header, and an absurd Retry-After is capped.
        let response = json(200, &[("mediawiki-api-error", "maxlag"), ("retry-after", "999999")], "{}");
        assert!(
            matches!(check_envelope(&response, "test"), Err(WikiError::Lagged { retry_after, .. }) if retry_after == MAX_WAIT)
        );
    }

    #[test]
    fn rate_limits_and_block_details_are_kept() {
        let response = json(
            200,
            &[("mediawiki-api-error", "ratelimited")],
            r#"{"errors":[{"code":"ratelimited","text":"You've exceeded your rate limit.","module":"edit"}]}"#,
        );
        assert!(check_envelope(&response, "test").is_err_and(|e| e.is_retryable()));
        let response = json(
            200,
            &[("mediawiki-api-error", "blocked")],
            r#"{"errors":[{"code":"blocked","text":"You have been blocked from editing.","data":{"blockinfo":{"blockid":5,"blockedby":"Admin","blockedbyid":2,"blockreason":"Vandalism","blockedtimestamp":"2026-01-01T00:00:00Z","blockexpiry":"infinite"}},"module":"edit"}]}"#,
        );
        let error = check_envelope(&response, "test").unwrap_err();
        let text = error.to_string();
        assert!(text.contains("Admin") && text.contains("infinite") && text.contains("Vandalism"), "{text}");
    }

    #[test]
    fn several_errors_name_the_others() {
        let response = json(
            200,
            &[],
            r#"{"errors":[{"code":"protectedpage","text":"Protected."},{"code":"cascadeprotected","text":"Cascade."}]}"#,
        );
        let error = check_envelope(&response, "test").unwrap_err();
        assert_eq!(error.api_code(), Some(&ApiCode::ProtectedPage));
        assert!(error.to_string().contains("cascadeprotected"));
    }

    #[test]
    fn gateway_statuses_with_non_json_bodies_are_typed() {
        let mut throttled =
            typed(429, Some("text/plain"), "Too many requests. Please comply with the User-Agent policy.");
        throttled.headers.insert("retry-after", HeaderValue::from_static("30"));
        assert!(matches!(
            check_envelope(&throttled, "test"),
            Err(WikiError::Throttled { retry_after: Some(d), ref detail }) if d.as_secs() == 30 && detail.contains("User-Agent")
        ));
        let forbidden =
            typed(403, Some("text/html"), "<html><body><p>Please set a user-agent</p></body></html>");
        assert!(matches!(
            check_envelope(&forbidden, "test"),
            Err(WikiError::Forbidden { ref detail }) if detail == "Please set a user-agent"
        ));
        let unavailable = typed(503, Some("text/html"), "<html><title>Wikimedia Error</title></html>");
        assert!(matches!(
            check_envelope(&unavailable, "test"),
            Err(WikiError::Unavailable { status: 503, retry_after: None, .. })
        ));
        let other = typed(500, None, "");
        assert!(
            matches!(check_envelope(&other, "test"), Err(WikiError::HttpStatus { status: 500, ref detail }) if detail == "empty body")
        );
        // A module that chose another status still reports its code.
        let bad = json(
            400,
            &[("mediawiki-api-error", "badvalue")],
            r#"{"errors":[{"code":"badvalue","text":"Bad."}]}"#,
        );
        assert_eq!(code(check_envelope(&bad, "test")), "badvalue");
    }

    #[test]
    fn a_wrong_content_type_or_a_non_object_is_refused() {
        assert!(matches!(
            check_envelope(&typed(200, Some("text/html"), "{}"), "t"),
            Err(WikiError::NotJson { .. })
        ));
        assert!(matches!(check_envelope(&typed(200, None, "{}"), "t"), Err(WikiError::NotJson { .. })));
        assert!(matches!(check_envelope(&json(200, &[], "{"), "t"), Err(WikiError::NotJson { .. })));
        assert!(matches!(check_envelope(&json(200, &[], "[]"), "t"), Err(WikiError::Malformed { .. })));
        assert!(matches!(
            check_envelope(&json(200, &[], r#"{"errors":[]}"#), "t"),
            Err(WikiError::Malformed { .. })
        ));
        assert!(matches!(
            check_envelope(&json(200, &[], r#"{"errors":[{"text":"x"}]}"#), "t"),
            Err(WikiError::Malformed { .. })
        ));
    }

    #[test]
    fn formatversion_1_batchcomplete_is_refused() {
        let response = json(200, &[], r#"{"batchcomplete":"","query":{}}"#);
        assert!(matches!(check_envelope(&response, "t"), Err(WikiError::FormatVersion1 { .. })));
    }

    #[test]
    fn warnings_are_collected_in_both_formats() {
        let plaintext = json(
            200,
            &[],
            r#"{"warnings":[{"code":"unrecognizedparams","text":"Unrecognized parameter: foo.","module":"main"}],"batchcomplete":true}"#,
        );
        let envelope = check_envelope(&plaintext, "t").unwrap();
        assert_eq!(
            envelope.warnings,
            vec![Warning {
                code: Some("unrecognizedparams".into()),
                module: Some("main".into()),
                text: "Unrecognized parameter: foo.".into(),
                feature: None,
            }]
        );
        let bc = json(
            200,
            &[],
            r#"{"warnings":{"main":{"warnings":"Unrecognized parameter: foo."}},"batchcomplete":true}"#,
        );
        let envelope = check_envelope(&bc, "t").unwrap();
        assert_eq!(envelope.warnings[0].module.as_deref(), Some("main"));
        assert_eq!(envelope.warnings[0].code, None);
        assert!(check_envelope(&json(200, &[], r#"{"warnings":"x"}"#), "t").is_err());
    }
}
