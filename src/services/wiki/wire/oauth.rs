//! OAuth 2.0 with Extension:OAuth on the meta wiki (`…/w/rest.php/oauth2/…`): the PKCE
//! challenge, the authorize URL, the callback, the token exchange and refresh, and the profile
//! (who the token belongs to).
//!
//! The `meta` argument everywhere is the meta wiki's REST entry point, e.g.
//! `https://meta.wikimedia.org/w/rest.php`. The verifier and `state` are random values the
//! caller makes; nothing here draws randomness.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Method;
use http::header::ACCEPT;
use serde_json::{Map, Value};
use url::Url;

use super::common::{SecretText, WikiAuth, excerpt, flag, malformed, opt_number, opt_string, string_list};
use super::envelope::error_body_excerpt;
use super::error::{OAuthErrorCode, WikiError};
use crate::egress::wire::{Body, WireRequest, WireResponse};

const TOKEN_CONTEXT: &str = "the OAuth token endpoint";
const PROFILE_CONTEXT: &str = "the OAuth profile endpoint";
const CALLBACK_CONTEXT: &str = "the OAuth callback";

/// Longest token or code we accept (JWTs from the extension are about 1 KB).
const MAX_TOKEN_BYTES: usize = 8192;

/// Tokens from the token endpoint. Zeroed on drop, no `Debug`.
pub struct OAuthTokens {
    /// The bearer token for api.php and REST calls.
    pub access_token: SecretText,
    /// The refresh token, when the grant gives one.
    pub refresh_token: Option<SecretText>,
    /// Seconds until the access token expires, when stated (trust it over any default).
    pub expires_in: Option<u64>,
}

/// Who an access token belongs to (`/oauth2/resource/profile`). A hidden user's profile has only
/// `sub` and `blocked`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthProfile {
    /// The central (global) user id.
    pub sub: String,
    /// The user name; `None` for a hidden user.
    pub username: Option<String>,
    /// Whether the user is blocked.
    pub blocked: bool,
    /// The edit count, when given.
    pub editcount: Option<u64>,
    /// Whether the e-mail address is confirmed.
    pub confirmed_email: bool,
    /// The user's groups on the meta wiki.
    pub groups: Vec<String>,
    /// The user's rights on the meta wiki (already limited by the grants).
    pub rights: Vec<String>,
    /// The grants the token carries.
    pub grants: Vec<String>,
}

/// The S256 PKCE challenge for a verifier: base64url (no padding) of its SHA-256.
///
/// Refuses a verifier that is not 43 to 128 characters of `A–Z a–z 0–9 - . _ ~` (RFC 7636 §4.1).
pub fn pkce_challenge(verifier: &str) -> Result<String, WikiError> {
    check_verifier(verifier)?;
    Ok(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes())))
}

/// The URL the browser is sent to for consent (`response_type=code`, S256 PKCE).
///
/// Refuses an empty client id, a `state` shorter than 16 or longer than 512 visible ASCII
/// characters, no scopes or a scope that is not a grant name, a challenge that is not 43
/// base64url characters, and a redirect URI with a fragment.
pub fn authorize_url(
    meta: &Url,
    client_id: &str,
    redirect_uri: &Url,
    scopes: &[&str],
    state: &str,
    challenge: &str,
) -> Result<Url, WikiError> {
    check_client_id(client_id)?;
    check_redirect(redirect_uri)?;
    if scopes.is_empty()
        || scopes.iter().any(|s| {
            s.is_empty()
                || !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        })
    {
        return Err(invalid("scopes", "must be one or more grant names such as `basic` or `editpage`"));
    }
    if !(16..=512).contains(&state.len()) || !state.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid("OAuth state", "must be 16 to 512 visible ASCII characters of fresh randomness"));
    }
    if challenge.len() != 43 || !challenge.bytes().all(is_base64url) {
        return Err(invalid("PKCE challenge", "must be the 43-character output of pkce_challenge"));
    }
    let mut url = endpoint(meta, "authorize")?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri.as_str())
        .append_pair("scope", &scopes.join(" "))
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

/// Reads the query string of the redirect back from the authorize step and returns the
/// authorization code.
///
/// Refuses, in this order: a repeated parameter; a `state` that is missing or differs from
/// `expected_state` ([`WikiError::OAuthStateMismatch`], compared in constant time); an `error`
/// (`access_denied` when the user refused → [`WikiError::OAuth`]); a missing or unprintable
/// `code`.
pub fn parse_callback(query: &str, expected_state: &str) -> Result<SecretText, WikiError> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut state = None;
    let mut code = None;
    let mut error = None;
    let mut description = None;
    let mut hint = None;
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match key.as_ref() {
            "state" => &mut state,
            "code" => &mut code,
            "error" => &mut error,
            "error_description" => &mut description,
            "hint" => &mut hint,
            _ => continue,
        };
        if slot.replace(value.into_owned()).is_some() {
            // Two values for one name: which one the caller would act on is ambiguous.
            return Err(malformed(CALLBACK_CONTEXT, format!("`{key}` appears twice")));
        }
    }
    let state_matches = state.as_deref().is_some_and(|state| {
        !expected_state.is_empty()
            && aws_lc_rs::constant_time::verify_slices_are_equal(state.as_bytes(), expected_state.as_bytes())
                .is_ok()
    });
    if !state_matches {
        return Err(WikiError::OAuthStateMismatch);
    }
    if let Some(error) = error {
        return Err(WikiError::OAuth {
            error: OAuthErrorCode::from_code(&error),
            description: description.as_deref().map(excerpt).unwrap_or_default(),
            hint: hint.as_deref().map(excerpt),
        });
    }
    match code {
        Some(code) if is_token_text(&code) => Ok(SecretText::new(code)),
        Some(_) => Err(malformed(CALLBACK_CONTEXT, "`code` is empty, too long or not printable")),
        None => Err(malformed(CALLBACK_CONTEXT, "`code` is missing")),
    }
}

/// The token request for an authorization code (`grant_type=authorization_code`), with the PKCE
/// verifier. `client_secret` is for confidential consumers only. Form-urlencoded, the only body
/// the endpoint accepts.
pub fn build_token_exchange(
    meta: &Url,
    client_id: &str,
    client_secret: Option<&str>,
    code: &str,
    redirect_uri: &Url,
    verifier: &str,
) -> Result<WireRequest, WikiError> {
    check_client_id(client_id)?;
    check_redirect(redirect_uri)?;
    check_verifier(verifier)?;
    if !is_token_text(code) {
        return Err(invalid("authorization code", "is empty, too long or not printable"));
    }
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri.as_str()),
        ("code", code),
        ("code_verifier", verifier),
    ];
    push_secret(&mut pairs, client_secret)?;
    token_request(meta, pairs)
}

/// The token request for a refresh (`grant_type=refresh_token`).
pub fn build_token_refresh(
    meta: &Url,
    client_id: &str,
    client_secret: Option<&str>,
    refresh_token: &str,
) -> Result<WireRequest, WikiError> {
    check_client_id(client_id)?;
    if !is_token_text(refresh_token) {
        return Err(invalid("refresh token", "is empty, too long or not printable"));
    }
    let mut pairs =
        vec![("grant_type", "refresh_token"), ("client_id", client_id), ("refresh_token", refresh_token)];
    push_secret(&mut pairs, client_secret)?;
    token_request(meta, pairs)
}

/// Reads the token endpoint's answer.
///
/// Refuses: an RFC 6749 error object (any status) → [`WikiError::OAuth`]; other non-2xx
/// statuses → the transport errors; a Content-Type other than `application/json`; a
/// `token_type` other than `Bearer`; a missing, empty or unprintable `access_token`; an
/// unprintable `refresh_token`; an `expires_in` that is not a whole number.
pub fn parse_token_response(response: &WireResponse) -> Result<OAuthTokens, WikiError> {
    let root = rest_json(response, TOKEN_CONTEXT)?;
    match root.get("token_type").and_then(Value::as_str) {
        Some(kind) if kind.eq_ignore_ascii_case("bearer") => {}
        Some(kind) => {
            return Err(malformed(TOKEN_CONTEXT, format!("`token_type` is {}, not Bearer", excerpt(kind))));
        }
        None => return Err(malformed(TOKEN_CONTEXT, "`token_type` is missing")),
    }
    let token = |key: &str| -> Result<Option<SecretText>, WikiError> {
        match root.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if is_token_text(text) => Ok(Some(SecretText::new(text.clone()))),
            Some(_) => {
                Err(malformed(TOKEN_CONTEXT, format!("`{key}` is empty, too long or not printable text")))
            }
        }
    };
    let access_token =
        token("access_token")?.ok_or_else(|| malformed(TOKEN_CONTEXT, "`access_token` is missing"))?;
    let refresh_token = token("refresh_token")?;
    let expires_in = opt_number(&root, "expires_in", TOKEN_CONTEXT)?;
    Ok(OAuthTokens { access_token, refresh_token, expires_in })
}

/// The profile request for a bearer token.
pub fn build_profile(meta: &Url, bearer: &str) -> Result<WireRequest, WikiError> {
    let url = endpoint(meta, "resource/profile")?;
    WikiAuth::Bearer(bearer).apply(WireRequest::new(Method::GET, url).header(ACCEPT, "application/json"))
}

/// Reads the profile.
///
/// Refuses: non-2xx (401 → [`WikiError::Unauthorized`], 403 → [`WikiError::Forbidden`], an OAuth
/// error object → [`WikiError::OAuth`]); a Content-Type other than `application/json`; a missing
/// `sub`; members of the wrong type.
pub fn parse_profile(response: &WireResponse) -> Result<OAuthProfile, WikiError> {
    let root = rest_json(response, PROFILE_CONTEXT)?;
    let sub = match root.get("sub") {
        Some(Value::String(text)) if !text.is_empty() => excerpt(text),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err(malformed(PROFILE_CONTEXT, "`sub` is missing or not an id")),
    };
    Ok(OAuthProfile {
        sub,
        username: opt_string(&root, "username", PROFILE_CONTEXT)?,
        blocked: flag(&root, "blocked", PROFILE_CONTEXT)?,
        editcount: opt_number(&root, "editcount", PROFILE_CONTEXT)?,
        confirmed_email: flag(&root, "confirmed_email", PROFILE_CONTEXT)?,
        groups: string_list(&root, "groups", PROFILE_CONTEXT)?,
        rights: string_list(&root, "rights", PROFILE_CONTEXT)?,
        grants: string_list(&root, "grants", PROFILE_CONTEXT)?,
    })
}

/// The JSON object of a REST (rest.php) answer, or the error it carries.
fn rest_json(response: &WireResponse, context: &'static str) -> Result<Map<String, Value>, WikiError> {
    let status = response.status.as_u16();
    let is_json = response.media_type().as_deref() == Some("application/json");
    let root = if is_json {
        match serde_json::from_slice::<Value>(&response.body) {
            Ok(Value::Object(root)) => Some(root),
            _ => None,
        }
    } else {
        None
    };
    if let Some(root) = &root
        && let Some(error) = root.get("error").and_then(Value::as_str)
    {
        let text = |key: &str| root.get(key).and_then(Value::as_str).map(excerpt);
        return Err(WikiError::OAuth {
            error: OAuthErrorCode::from_code(error),
            description: text("error_description").or_else(|| text("message")).unwrap_or_default(),
            hint: text("hint"),
        });
    }
    if !response.status.is_success() {
        // REST errors in MediaWiki's own shape carry `message` or `httpReason`.
        let detail = root
            .as_ref()
            .and_then(|r| {
                r.get("message").or_else(|| r.get("httpReason")).and_then(Value::as_str).map(excerpt)
            })
            .unwrap_or_else(|| error_body_excerpt(&response.body));
        let retry_after = response
            .header_text("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| std::time::Duration::from_secs(s.min(600)));
        return Err(match status {
            401 => WikiError::Unauthorized { detail },
            403 => WikiError::Forbidden { detail },
            429 => WikiError::Throttled { retry_after, detail },
            502..=504 => WikiError::Unavailable { status, retry_after, detail },
            _ => WikiError::HttpStatus { status, detail },
        });
    }
    if !is_json {
        // Not even an excerpt: a token endpoint's success body in another format (a form, say)
        // would put the token into the message.
        return Err(WikiError::NotJson {
            context,
            status,
            media_type: response.media_type(),
            detail: "the body is not shown, it may hold a token".to_owned(),
        });
    }
    // Position only: a token body must not reach a message.
    root.ok_or_else(|| WikiError::NotJson {
        context,
        status,
        media_type: response.media_type(),
        detail: "the body is not a JSON object".to_owned(),
    })
}

/// `<meta>/oauth2/<path>` (`authorize`, `access_token`, `resource/profile`), from the REST entry
/// point; refuses a `meta` that is not `…/rest.php`.
pub fn endpoint(meta: &Url, path: &str) -> Result<Url, WikiError> {
    let base = meta.path().trim_end_matches('/');
    if meta.cannot_be_a_base() || meta.host_str().is_none() || !base.ends_with("/rest.php") {
        return Err(invalid(
            "meta wiki URL",
            "must be the REST entry point, e.g. https://meta.wikimedia.org/w/rest.php",
        ));
    }
    let mut url = meta.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.set_path(&format!("{base}/oauth2/{path}"));
    Ok(url)
}

/// A form POST to the token endpoint.
fn token_request(meta: &Url, pairs: Vec<(&str, &str)>) -> Result<WireRequest, WikiError> {
    let url = endpoint(meta, "access_token")?;
    Ok(WireRequest::new(Method::POST, url).header(ACCEPT, "application/json").body(Body::form(pairs)))
}

fn push_secret<'a>(
    pairs: &mut Vec<(&str, &'a str)>,
    client_secret: Option<&'a str>,
) -> Result<(), WikiError> {
    if let Some(secret) = client_secret {
        if !is_token_text(secret) {
            return Err(invalid("client secret", "is empty, too long or not printable"));
        }
        pairs.push(("client_secret", secret));
    }
    Ok(())
}

fn check_verifier(verifier: &str) -> Result<(), WikiError> {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if (43..=128).contains(&verifier.len()) && verifier.bytes().all(unreserved) {
        Ok(())
    } else {
        Err(invalid("PKCE verifier", "must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636)"))
    }
}

fn check_client_id(client_id: &str) -> Result<(), WikiError> {
    if !client_id.is_empty() && client_id.len() <= 128 && client_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        Ok(())
    } else {
        Err(invalid("OAuth client id", "must be the consumer's key from meta (letters and digits)"))
    }
}

fn check_redirect(redirect_uri: &Url) -> Result<(), WikiError> {
    if redirect_uri.fragment().is_some() || redirect_uri.cannot_be_a_base() {
        return Err(invalid("redirect URI", "must be an absolute URL without a fragment (RFC 6749 §3.1.2)"));
    }
    Ok(())
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Text that can travel in a header or form field as a token: visible ASCII, bounded.
fn is_token_text(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_TOKEN_BYTES && text.bytes().all(|b| b.is_ascii_graphic())
}

fn invalid(field: &'static str, reason: &str) -> WikiError {
    WikiError::InvalidInput { field, reason: reason.to_owned() }
}

#[cfg(test)]
mod tests {
    use http::header::AUTHORIZATION;

    use super::super::envelope::tests::{json, typed};
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn meta() -> Url {
        Url::parse("https://meta.wikimedia.org/w/rest.php").unwrap()
    }

    fn redirect() -> Url {
        Url::parse("https://takedown.example.org/oauth/callback").unwrap()
    }

    fn form(request: &WireRequest) -> Vec<(String, String)> {
        match &request.body {
            Body::Bytes { content_type, data } => {
                assert_eq!(*content_type, "application/x-www-form-urlencoded");
                form_urlencoded::parse(data).into_owned().collect()
            }
            _ => panic!("not a form"),
        }
    }

    #[test]
    fn the_pkce_challenge_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(pkce_challenge(VERIFIER).unwrap(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(pkce_challenge("short").is_err());
        assert!(pkce_challenge(&"a".repeat(129)).is_err());
        assert!(pkce_challenge(&format!("{}+", "a".repeat(43))).is_err());
        assert!(pkce_challenge(&"~".repeat(128)).is_ok());
    }

    #[test]
    fn the_authorize_url_carries_every_parameter() {
        let challenge = pkce_challenge(VERIFIER).unwrap();
        let url = authorize_url(
            &meta(),
            "abc123",
            &redirect(),
            &["basic", "editpage"],
            "state-0123456789ab",
            &challenge,
        )
        .unwrap();
        assert_eq!(url.path(), "/w/rest.php/oauth2/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("response_type"), Some("code"));
        assert_eq!(get("client_id"), Some("abc123"));
        assert_eq!(get("redirect_uri"), Some("https://takedown.example.org/oauth/callback"));
        assert_eq!(get("scope"), Some("basic editpage"));
        assert_eq!(get("state"), Some("state-0123456789ab"));
        assert_eq!(get("code_challenge"), Some(challenge.as_str()));
        assert_eq!(get("code_challenge_method"), Some("S256"));
    }

    #[test]
    fn the_authorize_url_refuses_bad_inputs() {
        let challenge = pkce_challenge(VERIFIER).unwrap();
        let state = "state-0123456789ab";
        assert!(authorize_url(&meta(), "", &redirect(), &["basic"], state, &challenge).is_err());
        assert!(authorize_url(&meta(), "abc", &redirect(), &[], state, &challenge).is_err());
        assert!(authorize_url(&meta(), "abc", &redirect(), &["basic edit"], state, &challenge).is_err());
        assert!(authorize_url(&meta(), "abc", &redirect(), &["basic"], "short", &challenge).is_err());
        assert!(authorize_url(&meta(), "abc", &redirect(), &["basic"], state, VERIFIER).is_ok());
        assert!(authorize_url(&meta(), "abc", &redirect(), &["basic"], state, "x").is_err());
        let api = Url::parse("https://meta.wikimedia.org/w/api.php").unwrap();
        assert!(authorize_url(&api, "abc", &redirect(), &["basic"], state, &challenge).is_err());
        let fragment = Url::parse("https://takedown.example.org/cb#x").unwrap();
        assert!(authorize_url(&meta(), "abc", &fragment, &["basic"], state, &challenge).is_err());
    }

    #[test]
    fn the_callback_checks_state_before_anything_else() {
        let state = "state-0123456789ab";
        let code = parse_callback("?code=def502&state=state-0123456789ab", state).unwrap();
        assert_eq!(code.expose_secret(), "def502");
        assert!(matches!(
            parse_callback("code=def502&state=other-0123456789", state),
            Err(WikiError::OAuthStateMismatch)
        ));
        assert!(matches!(parse_callback("code=def502", state), Err(WikiError::OAuthStateMismatch)));
        assert!(matches!(parse_callback("code=x&state=", ""), Err(WikiError::OAuthStateMismatch)));
        assert!(matches!(
            parse_callback("error=access_denied&state=forged&error_description=no", state),
            Err(WikiError::OAuthStateMismatch)
        ));
        match parse_callback(
            "error=access_denied&error_description=The+resource+owner+denied+the+request.&state=state-0123456789ab",
            state,
        ) {
            Err(WikiError::OAuth { error: OAuthErrorCode::AccessDenied, description, .. }) => {
                assert_eq!(description, "The resource owner denied the request.");
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
        assert!(matches!(
            parse_callback("state=state-0123456789ab", state),
            Err(WikiError::Malformed { .. })
        ));
        assert!(matches!(
            parse_callback("code=a&code=b&state=state-0123456789ab", state),
            Err(WikiError::Malformed { .. })
        ));
    }

    #[test]
    fn the_token_exchange_is_a_form_with_the_verifier() {
        let request = build_token_exchange(&meta(), "abc123", None, "def502", &redirect(), VERIFIER).unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.url.as_str(), "https://meta.wikimedia.org/w/rest.php/oauth2/access_token");
        let pairs = form(&request);
        assert!(pairs.contains(&("grant_type".into(), "authorization_code".into())));
        assert!(pairs.contains(&("code".into(), "def502".into())));
        assert!(pairs.contains(&("code_verifier".into(), VERIFIER.into())));
        assert!(
            pairs.contains(&("redirect_uri".into(), "https://takedown.example.org/oauth/callback".into()))
        );
        assert!(!pairs.iter().any(|(k, _)| k == "client_secret"));
        let confidential =
            build_token_exchange(&meta(), "abc", Some("s3cret"), "c", &redirect(), VERIFIER).unwrap();
        assert!(form(&confidential).contains(&("client_secret".into(), "s3cret".into())));
        assert!(build_token_exchange(&meta(), "abc", None, "c", &redirect(), "short").is_err());
        assert!(build_token_exchange(&meta(), "abc", None, "", &redirect(), VERIFIER).is_err());
        assert!(!format!("{request:?}").contains("def502"));
    }

    #[test]
    fn the_refresh_is_a_form_with_the_refresh_token() {
        let request = build_token_refresh(&meta(), "abc", Some("s"), "r1").unwrap();
        let pairs = form(&request);
        assert_eq!(pairs[0], ("grant_type".into(), "refresh_token".into()));
        assert!(pairs.contains(&("refresh_token".into(), "r1".into())));
        assert!(build_token_refresh(&meta(), "abc", None, "r 1").is_err());
    }

    #[test]
    fn a_token_response_gives_the_tokens() {
        let response = json(
            200,
            &[],
            r#"{"token_type":"Bearer","expires_in":14400,"access_token":"eyJ0eXAiOiJKV1Qi.x.y","refresh_token":"def50200ab"}"#,
        );
        let tokens = parse_token_response(&response).unwrap();
        assert_eq!(tokens.access_token.expose_secret(), "eyJ0eXAiOiJKV1Qi.x.y");
        assert_eq!(tokens.refresh_token.as_ref().map(SecretText::expose_secret), Some("def50200ab"));
        assert_eq!(tokens.expires_in, Some(14400));
        let no_refresh = json(200, &[], r#"{"token_type":"Bearer","access_token":"a"}"#);
        let tokens = parse_token_response(&no_refresh).unwrap();
        assert!(tokens.refresh_token.is_none() && tokens.expires_in.is_none());
    }

    #[test]
    fn token_errors_are_typed() {
        let invalid_grant = json(
            400,
            &[],
            r#"{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired or revoked","hint":"Failed to verify `code_verifier`.","message":"The provided authorization grant…"}"#,
        );
        match parse_token_response(&invalid_grant).map(|_| ()) {
            Err(error @ WikiError::OAuth { error: OAuthErrorCode::InvalidGrant, .. }) => {
                let text = error.to_string();
                assert!(text.contains("code_verifier") && text.starts_with("wiki"), "{text}");
            }
            other => panic!("{other:?}"),
        }
        let invalid_client = json(
            401,
            &[],
            r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
        );
        assert!(matches!(
            parse_token_response(&invalid_client).map(|_| ()),
            Err(WikiError::OAuth { error: OAuthErrorCode::InvalidClient, .. })
        ));
        // A JSON request body is refused by the endpoint with invalid_request.
        let wrong_type = json(
            400,
            &[],
            r#"{"error":"invalid_request","error_description":"The request is missing a required parameter","hint":"Check the `grant_type` parameter"}"#,
        );
        assert!(matches!(
            parse_token_response(&wrong_type).map(|_| ()),
            Err(WikiError::OAuth { error: OAuthErrorCode::InvalidRequest, .. })
        ));
        let html = typed(400, Some("text/html"), "<html><body>Invalid request</body></html>");
        assert!(matches!(
            parse_token_response(&html).map(|_| ()),
            Err(WikiError::HttpStatus { status: 400, .. })
        ));
        let html_ok = typed(200, Some("text/html"), "<html><body>Authorize?</body></html>");
        assert!(matches!(parse_token_response(&html_ok).map(|_| ()), Err(WikiError::NotJson { .. })));
        let mac = json(200, &[], r#"{"token_type":"mac","access_token":"a"}"#);
        assert!(matches!(parse_token_response(&mac).map(|_| ()), Err(WikiError::Malformed { .. })));
        let empty = json(200, &[], r#"{"token_type":"Bearer","access_token":""}"#);
        assert!(parse_token_response(&empty).is_err());
        let negative = json(200, &[], r#"{"token_type":"Bearer","access_token":"a","expires_in":-1}"#);
        assert!(parse_token_response(&negative).is_err());
        let broken = json(200, &[], r#"{"token_type":"Bearer","access_token":"secret-abc"#);
        let error = parse_token_response(&broken).map(|_| ()).unwrap_err();
        assert!(!error.to_string().contains("secret-abc"));
    }

    #[test]
    fn the_profile_request_carries_the_bearer() {
        let request = build_profile(&meta(), "tok").unwrap();
        assert_eq!(request.url.as_str(), "https://meta.wikimedia.org/w/rest.php/oauth2/resource/profile");
        assert!(request.header_value(&AUTHORIZATION).is_some_and(|v| v.is_sensitive()));
    }

    #[test]
    fn profiles_are_read_including_a_hidden_user() {
        let response = json(
            200,
            &[],
            r#"{"sub":"12345","username":"ExampleTnS","editcount":42,"confirmed_email":true,"email_verified":true,"blocked":false,"registered":"20200101000000","groups":["*","user"],"rights":["read","edit"],"grants":["basic","editpage"],"realname":"","email":"x@example.org"}"#,
        );
        let profile = parse_profile(&response).unwrap();
        assert_eq!(profile.sub, "12345");
        assert_eq!(profile.username.as_deref(), Some("ExampleTnS"));
        assert_eq!(profile.grants, vec!["basic", "editpage"]);
        assert!(profile.confirmed_email && !profile.blocked);
        let hidden = parse_profile(&json(200, &[], r#"{"sub":777,"blocked":true}"#)).unwrap();
        assert_eq!(hidden.sub, "777");
        assert!(hidden.username.is_none() && hidden.blocked);
        assert!(parse_profile(&json(200, &[], r#"{"username":"x"}"#)).is_err());
    }

    #[test]
    fn profile_errors_are_typed() {
        let forbidden = json(
            403,
            &[],
            r#"{"messageTranslations":{"en":"Invalid token"},"httpCode":403,"httpReason":"Forbidden"}"#,
        );
        assert!(matches!(parse_profile(&forbidden), Err(WikiError::Forbidden { .. })));
        let unauthorized = typed(401, Some("text/plain"), "no");
        assert!(matches!(parse_profile(&unauthorized), Err(WikiError::Unauthorized { .. })));
        let denied = json(
            401,
            &[],
            r#"{"error":"access_denied","error_description":"The resource owner or authorization server denied the request."}"#,
        );
        assert!(matches!(
            parse_profile(&denied),
            Err(WikiError::OAuth { error: OAuthErrorCode::AccessDenied, .. })
        ));
    }
}
