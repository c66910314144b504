//! What every wiki message shares: the credential a request carries ([`WikiAuth`]), secret text
//! that never prints ([`SecretText`]), continuation echoed between pages ([`Continue`]), result
//! limits ([`Limit`]), the api.php request builders and the small JSON readers the parsers use.

use std::collections::BTreeMap;

use http::Method;
use http::header::{ACCEPT, AUTHORIZATION, COOKIE};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;
use zeroize::Zeroizing;

use super::error::WikiError;
use crate::egress::wire::{Body, WireRequest};

/// The parameters every api.php request carries: JSON in formatversion 2 (real booleans,
/// arrays rather than id-keyed objects), errors as plain text in `errors:[…]`, and a replication
/// lag limit so that a lagged cluster answers `maxlag` instead of serving stale data.
pub(super) const COMMON_PARAMS: [(&str, &str); 4] =
    [("format", "json"), ("formatversion", "2"), ("errorformat", "plaintext"), ("maxlag", "5")];

/// Longest server text kept in an error message, in characters.
const EXCERPT_CHARS: usize = 300;

/// Most titles one imageinfo request names (the API's limit for ordinary accounts).
pub(super) const MAX_TITLES: usize = 50;

/// How a request proves who sends it. The value is added as a sensitive header; it never
/// appears in a URL or a `Debug`.
#[derive(Clone, Copy)]
pub enum WikiAuth<'a> {
    /// An OAuth 2 access token (`Authorization: Bearer …`), e.g. an owner-only consumer's.
    Bearer(&'a str),
    /// The `Cookie` header value a bot-password session holds (see
    /// [`SessionCookies`](super::SessionCookies)).
    Cookies(&'a str),
    /// No credential: reads of public data only.
    Anonymous,
}

impl WikiAuth<'_> {
    /// Adds the credential's header to `request`.
    pub(super) fn apply(self, request: WireRequest) -> Result<WireRequest, WikiError> {
        let bad_header = |field: &'static str| WikiError::InvalidInput {
            field,
            reason: "contains characters a header cannot carry".to_owned(),
        };
        match self {
            WikiAuth::Bearer(token) => {
                if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(bad_header("bearer token"));
                }
                let value = Zeroizing::new(format!("Bearer {token}"));
                request.secret_header(AUTHORIZATION, &value).map_err(|_| bad_header("bearer token"))
            }
            WikiAuth::Cookies(cookies) => {
                if cookies.trim().is_empty() {
                    return Err(WikiError::InvalidInput {
                        field: "session cookies",
                        reason: "are empty; log in with the bot password first".to_owned(),
                    });
                }
                request.secret_header(COOKIE, cookies).map_err(|_| bad_header("session cookies"))
            }
            WikiAuth::Anonymous => Ok(request),
        }
    }
}

impl std::fmt::Debug for WikiAuth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WikiAuth::Bearer(_) => "Bearer(…)",
            WikiAuth::Cookies(_) => "Cookies(…)",
            WikiAuth::Anonymous => "Anonymous",
        })
    }
}

/// A secret string from or for the wiki (an access or refresh token, a CSRF or login token, an
/// authorization code). Zeroed on drop, no `Debug` or `Display`: read it with
/// [`SecretText::expose_secret`], so every use can be found.
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    /// Wraps a secret.
    pub fn new(text: String) -> Self {
        Self(Zeroizing::new(text))
    }

    /// The secret itself.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// The continuation a list response returned, to be echoed verbatim into the next request of
/// the same list: every key and value of `continue` (or `query-continue.<module>`).
///
/// Keys are limited to the continuation names the API uses (`continue`, `…continue`,
/// `…offset`), so a hostile or broken server cannot smuggle `action=`, `token=` or `assert=`
/// into the next request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Continue(pub BTreeMap<String, String>);

impl Continue {
    /// Reads a `continue` object. Values are strings, or numbers (`sroffset` is a number).
    pub(super) fn from_json(value: &Value, context: &'static str) -> Result<Continue, WikiError> {
        let Value::Object(members) = value else {
            return Err(malformed(context, "`continue` is not an object"));
        };
        let mut pairs = BTreeMap::new();
        for (key, value) in members {
            if !is_continuation_key(key) {
                return Err(malformed(
                    context,
                    format!("`continue` holds an unexpected key {}", excerpt(key)),
                ));
            }
            let text = match value {
                Value::String(text) => text.clone(),
                Value::Number(number) if number.is_u64() || number.is_i64() => number.to_string(),
                _ => {
                    return Err(malformed(
                        context,
                        format!("`continue.{key}` is neither text nor an integer"),
                    ));
                }
            };
            if text.chars().any(char::is_control) {
                return Err(malformed(context, format!("`continue.{key}` holds a control character")));
            }
            pairs.insert(key.clone(), text);
        }
        if pairs.is_empty() {
            return Err(malformed(context, "`continue` is empty"));
        }
        Ok(Continue(pairs))
    }

    /// The pairs to append to the next request.
    pub(super) fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Whether `key` is a name the API uses for continuation, and not one of ours.
fn is_continuation_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 40
        && key.bytes().all(|b| b.is_ascii_lowercase())
        && (key == "continue" || key.ends_with("continue") || key.ends_with("offset"))
}

/// How many results a list request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// As many as the account may have in one page (`max`).
    Max,
    /// This many, 1 to 500.
    Count(u32),
}

impl Limit {
    /// The parameter value.
    pub(super) fn value(self) -> Result<String, WikiError> {
        match self {
            Limit::Max => Ok("max".to_owned()),
            Limit::Count(n @ 1..=500) => Ok(n.to_string()),
            Limit::Count(n) => Err(WikiError::InvalidInput {
                field: "limit",
                reason: format!("is {n}; use 1 to 500, or Limit::Max"),
            }),
        }
    }
}

/// The api.php URL with the given query and nothing else (any query or fragment the configured
/// URL had is dropped, so configuration cannot add parameters).
fn bare_url(api: &Url) -> Url {
    let mut url = api.clone();
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// A GET to api.php: `action`, the common parameters, `params`, then any continuation.
pub(super) fn api_get(
    api: &Url,
    auth: WikiAuth<'_>,
    params: &[(&str, &str)],
    continuation: Option<&Continue>,
) -> Result<WireRequest, WikiError> {
    let mut url = bare_url(api);
    {
        let mut query = url.query_pairs_mut();
        // `action` first: the convention, and it makes logs readable.
        query.extend_pairs(params.iter().take(1));
        query.extend_pairs(COMMON_PARAMS);
        query.extend_pairs(params.iter().skip(1));
        if let Some(continuation) = continuation {
            query.extend_pairs(continuation.pairs());
        }
    }
    auth.apply(WireRequest::new(Method::GET, url).header(ACCEPT, "application/json"))
}

/// A POST to api.php: every parameter in the urlencoded body, the common ones, `assert=user` for
/// writes, and the token last (a token in the query string gets `mustpostparams`, and one in a
/// URL ends up in logs).
pub(super) fn api_post(
    api: &Url,
    auth: WikiAuth<'_>,
    params: &[(&str, &str)],
    assert_user: bool,
    token: (&str, &str),
) -> Result<WireRequest, WikiError> {
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(params.len() + 7);
    pairs.extend(params.iter().take(1).copied());
    pairs.extend(COMMON_PARAMS);
    if assert_user {
        pairs.push(("assert", "user"));
    }
    pairs.extend(params.iter().skip(1).copied());
    pairs.push(token);
    let request = WireRequest::new(Method::POST, bare_url(api))
        .header(ACCEPT, "application/json")
        .body(Body::form(pairs));
    auth.apply(request)
}

/// Checks a CSRF token before it goes into a write: the anonymous token `+\` is refused (the
/// write would fail or, worse, succeed as an IP edit on a wiki that allows them).
pub(super) fn check_csrf_token(token: &str) -> Result<(), WikiError> {
    if token == "+\\" {
        return Err(WikiError::AnonymousToken);
    }
    if token.len() < 3 || !token.ends_with("+\\") || token.chars().any(char::is_control) {
        return Err(WikiError::InvalidInput {
            field: "CSRF token",
            reason: "is not a MediaWiki token (they end with `+\\`); fetch one with build_csrf_token"
                .to_owned(),
        });
    }
    Ok(())
}

/// Checks a page or file title: present, at most 255 bytes, none of the characters MediaWiki
/// forbids in titles (`#` would silently drop everything after it, `|` would split a list).
pub(super) fn check_title(field: &'static str, title: &str) -> Result<(), WikiError> {
    let reason = if title.trim().is_empty() {
        "is empty"
    } else if title.len() > 255 {
        "is longer than 255 bytes"
    } else if title.chars().any(|c| c.is_control() || "#<>[]|{}".contains(c)) {
        "contains a character titles cannot hold (#<>[]|{} or a control character)"
    } else {
        return Ok(());
    };
    Err(WikiError::InvalidInput { field, reason: reason.to_owned() })
}

/// Checks free text (a summary, a reason, a section heading): at most `max_chars` characters,
/// no control characters other than line breaks and tabs when `multiline`.
pub(super) fn check_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<(), WikiError> {
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    let reason = if text.chars().count() > max_chars {
        format!("is longer than {max_chars} characters (the wiki would cut it)")
    } else if text.chars().any(|c| c.is_control() && !allowed(c)) {
        "contains a control character".to_owned()
    } else {
        return Ok(());
    };
    Err(WikiError::InvalidInput { field, reason })
}

/// A short, printable excerpt of server text for an error message.
pub(super) fn excerpt(text: &str) -> String {
    let mut out: String =
        text.chars().take(EXCERPT_CHARS).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// A response that is not in the expected shape.
pub(super) fn malformed(context: &'static str, detail: impl Into<String>) -> WikiError {
    WikiError::Malformed { context, detail: detail.into() }
}

// === JSON readers ===
//
// Each takes the object and the key, and says in its error which member was wrong. Unknown
// members are ignored everywhere: the API adds fields over time.

/// The value as an object.
pub(super) fn as_object<'a>(
    value: &'a Value,
    context: &'static str,
    what: &str,
) -> Result<&'a Map<String, Value>, WikiError> {
    value.as_object().ok_or_else(|| malformed(context, format!("`{what}` is not an object")))
}

/// A required member that is an object.
pub(super) fn object<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<&'a Map<String, Value>, WikiError> {
    match map.get(key) {
        Some(value) => as_object(value, context, key),
        None => Err(malformed(context, format!("`{key}` is missing"))),
    }
}

/// A required member that is text.
pub(super) fn string(
    map: &Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<String, WikiError> {
    opt_string(map, key, context)?.ok_or_else(|| malformed(context, format!("`{key}` is missing")))
}

/// An optional member that is text.
pub(super) fn opt_string(
    map: &Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<Option<String>, WikiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(malformed(context, format!("`{key}` is not text"))),
    }
}

/// A required member that is a non-negative integer.
pub(super) fn number(map: &Map<String, Value>, key: &str, context: &'static str) -> Result<u64, WikiError> {
    opt_number(map, key, context)?.ok_or_else(|| malformed(context, format!("`{key}` is missing")))
}

/// An optional member that is a non-negative integer.
pub(super) fn opt_number(
    map: &Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<Option<u64>, WikiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| malformed(context, format!("`{key}` is not a whole number ≥ 0"))),
        Some(_) => Err(malformed(context, format!("`{key}` is not a number"))),
    }
}

/// An integer member that may be a JSON number or a decimal string (ids in some modules).
pub(super) fn id_text(
    map: &Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<String, WikiError> {
    match map.get(key) {
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(Value::String(text)) if !text.is_empty() && text.chars().all(|c| !c.is_control()) => {
            Ok(text.clone())
        }
        Some(_) => Err(malformed(context, format!("`{key}` is neither a number nor text"))),
        None => Err(malformed(context, format!("`{key}` is missing"))),
    }
}

/// A formatversion=2 flag: absent is false, `true`/`false` are themselves. The formatversion=1
/// spelling (`""` for true) is refused rather than read as false.
pub(super) fn flag(map: &Map<String, Value>, key: &str, context: &'static str) -> Result<bool, WikiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(_)) => Err(WikiError::FormatVersion1 {
            context,
            detail: format!("`{key}` is text where formatversion=2 gives a boolean"),
        }),
        Some(_) => Err(malformed(context, format!("`{key}` is not a boolean"))),
    }
}

/// An optional member that is a list of text (groups, rights, grants).
pub(super) fn string_list(
    map: &Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<Vec<String>, WikiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                _ => Err(malformed(context, format!("`{key}` holds something other than text"))),
            })
            .collect(),
        Some(Value::Object(_)) => Err(WikiError::FormatVersion1 {
            context,
            detail: format!("`{key}` is an object where formatversion=2 gives an array"),
        }),
        Some(_) => Err(malformed(context, format!("`{key}` is not a list"))),
    }
}

/// An optional member that is an array (an object there is the formatversion=1 shape).
pub(super) fn opt_array<'a>(
    map: &'a Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<&'a [Value], WikiError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(Value::Object(_)) => Err(WikiError::FormatVersion1 {
            context,
            detail: format!("`{key}` is an object keyed by id where formatversion=2 gives an array"),
        }),
        Some(_) => Err(malformed(context, format!("`{key}` is not a list"))),
    }
}

/// An optional ISO 8601 timestamp (`2026-05-02T10:00:00Z`).
pub(super) fn opt_timestamp(
    map: &Map<String, Value>,
    key: &str,
    context: &'static str,
) -> Result<Option<OffsetDateTime>, WikiError> {
    match opt_string(map, key, context)? {
        None => Ok(None),
        Some(text) => OffsetDateTime::parse(&text, &Rfc3339).map(Some).map_err(|_| {
            malformed(context, format!("`{key}` is not an ISO 8601 timestamp: {}", excerpt(&text)))
        }),
    }
}

/// The continuation of a list response, if the list is not finished.
pub(super) fn continuation(
    root: &Map<String, Value>,
    context: &'static str,
) -> Result<Option<Continue>, WikiError> {
    match root.get("continue") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => Continue::from_json(value, context).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(request: &WireRequest) -> Vec<(String, String)> {
        match &request.body {
            Body::Bytes { data, .. } => form_urlencoded::parse(data).into_owned().collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn a_get_carries_the_common_parameters_and_drops_a_configured_query() {
        let api = Url::parse("https://en.wikipedia.org/w/api.php?action=delete#x").unwrap();
        let request =
            api_get(&api, WikiAuth::Anonymous, &[("action", "query"), ("meta", "tokens")], None).unwrap();
        assert_eq!(
            request.url.as_str(),
            "https://en.wikipedia.org/w/api.php?action=query&format=json&formatversion=2\
             &errorformat=plaintext&maxlag=5&meta=tokens"
        );
        assert!(request.header_value(&AUTHORIZATION).is_none());
    }

    #[test]
    fn a_post_puts_every_parameter_in_the_body_with_the_token_last() {
        let api = Url::parse("https://commons.wikimedia.org/w/api.php").unwrap();
        let request = api_post(
            &api,
            WikiAuth::Bearer("abc.def"),
            &[("action", "edit"), ("title", "X")],
            true,
            ("token", "t+\\"),
        )
        .unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.url.query(), None);
        let pairs = form(&request);
        assert_eq!(pairs.first().map(|p| p.0.as_str()), Some("action"));
        assert_eq!(pairs.last(), Some(&("token".to_owned(), "t+\\".to_owned())));
        assert!(pairs.contains(&("assert".to_owned(), "user".to_owned())));
        assert!(pairs.contains(&("maxlag".to_owned(), "5".to_owned())));
        let auth = request.header_value(&AUTHORIZATION).unwrap();
        assert!(auth.is_sensitive());
        assert_eq!(auth.to_str().unwrap(), "Bearer abc.def");
    }

    #[test]
    fn cookies_are_a_sensitive_header_and_bad_header_text_is_refused() {
        let api = Url::parse("https://meta.wikimedia.org/w/api.php").unwrap();
        let request = api_get(&api, WikiAuth::Cookies("a=b; c=d"), &[("action", "query")], None).unwrap();
        assert!(request.header_value(&COOKIE).unwrap().is_sensitive());
        assert!(api_get(&api, WikiAuth::Cookies("a=b\r\nX: y"), &[("action", "query")], None).is_err());
        assert!(api_get(&api, WikiAuth::Bearer("a b"), &[("action", "query")], None).is_err());
        assert!(api_get(&api, WikiAuth::Cookies(" "), &[("action", "query")], None).is_err());
        assert_eq!(format!("{:?}", WikiAuth::Bearer("secret")), "Bearer(…)");
    }

    #[test]
    fn continuation_is_echoed_verbatim_after_our_parameters() {
        let value =
            serde_json::json!({"iicontinue": "X.jpg|20200101000000", "continue": "||", "sroffset": 10});
        let cont = Continue::from_json(&value, "test").unwrap();
        let api = Url::parse("https://commons.wikimedia.org/w/api.php").unwrap();
        let request = api_get(&api, WikiAuth::Anonymous, &[("action", "query")], Some(&cont)).unwrap();
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("iicontinue".to_owned(), "X.jpg|20200101000000".to_owned())));
        assert!(pairs.contains(&("continue".to_owned(), "||".to_owned())));
        assert!(pairs.contains(&("sroffset".to_owned(), "10".to_owned())));
    }

    #[test]
    fn continuation_keys_that_are_not_continuation_names_are_refused() {
        for bad in [
            serde_json::json!({"action": "delete"}),
            serde_json::json!({"token": "x"}),
            serde_json::json!({"continue": {"a": 1}}),
            serde_json::json!({}),
            serde_json::json!({"eucontinue": "a\nb"}),
            serde_json::json!(["continue"]),
        ] {
            assert!(matches!(Continue::from_json(&bad, "test"), Err(WikiError::Malformed { .. })), "{bad}");
        }
    }

    #[test]
    fn flags_refuse_the_formatversion_1_empty_string() {
        let map = serde_json::json!({"a": true, "b": false, "c": "", "d": 1});
        let map = map.as_object().unwrap();
        assert!(flag(map, "a", "t").unwrap());
        assert!(!flag(map, "b", "t").unwrap());
        assert!(!flag(map, "missing", "t").unwrap());
        assert!(matches!(flag(map, "c", "t"), Err(WikiError::FormatVersion1 { .. })));
        assert!(matches!(flag(map, "d", "t"), Err(WikiError::Malformed { .. })));
    }

    #[test]
    fn tokens_titles_and_limits_are_checked() {
        assert!(matches!(check_csrf_token("+\\"), Err(WikiError::AnonymousToken)));
        assert!(check_csrf_token("abc").is_err());
        assert!(check_csrf_token("d41d8cd98f00b204e9800998ecf8427e+\\").is_ok());
        assert!(check_title("title", "File:X#y.jpg").is_err());
        assert!(check_title("title", "").is_err());
        assert!(check_title("title", "User talk:Example").is_ok());
        assert!(Limit::Count(0).value().is_err());
        assert!(Limit::Count(501).value().is_err());
        assert_eq!(Limit::Max.value().unwrap(), "max");
        assert!(check_text("summary", &"x".repeat(501), 500, false).is_err());
        assert!(check_text("summary", "a\nb", 500, false).is_err());
        assert!(check_text("text", "a\nb", 500, true).is_ok());
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        let long = "é\u{7}".repeat(400);
        let short = excerpt(&long);
        assert_eq!(short.chars().count(), EXCERPT_CHARS + 1);
        assert!(!short.chars().any(char::is_control));
    }
}
