//! Sessions on api.php: bot-password login (`meta=tokens&type=login`, then `action=login`), the
//! cookies that carry the session ([`SessionCookies`]), and the CSRF token every write needs.
//!
//! The appliance logs in with bot passwords only (`User@BotName`); a login with the main
//! account's password is refused even when the wiki accepts it.

use std::collections::BTreeMap;

use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use super::common::{SecretText, WikiAuth, api_get, api_post, excerpt, malformed, number, object, string};
use super::envelope::{Warning, check_envelope};
use super::error::{LoginError, WikiError};
use crate::egress::wire::{WireRequest, WireResponse};

const LOGIN_TOKEN_CONTEXT: &str = "meta=tokens&type=login";
const LOGIN_CONTEXT: &str = "action=login";
const CSRF_CONTEXT: &str = "meta=tokens";

/// Most cookies kept for one host; MediaWiki sets a handful.
const MAX_COOKIES: usize = 32;

/// Longest cookie value kept.
const MAX_COOKIE_BYTES: usize = 4096;

/// A successful bot-password login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginOutcome {
    /// The local user id.
    pub user_id: u64,
    /// The user name (without the `@BotName` part).
    pub user_name: String,
    /// Warnings the API attached.
    pub warnings: Vec<Warning>,
}

/// The cookies of one api.php host's session, as `Set-Cookie` headers left them. No `Debug`,
/// zeroed on drop. Domains, paths and expiry dates are not tracked: keep one jar per host and
/// drop it when the session ends.
#[derive(Default)]
pub struct SessionCookies(BTreeMap<String, Zeroizing<String>>);

impl SessionCookies {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in the `Set-Cookie` headers of a response: new values replace old ones, and a
    /// cookie the server deletes (`Max-Age=0`, an expiry in 1970, or the value `deleted`) is
    /// dropped. Malformed headers are ignored.
    pub fn absorb(&mut self, response: &WireResponse) {
        for value in response.headers.get_all(http::header::SET_COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else { continue };
            let (name, value) = (name.trim(), value.trim());
            if name.is_empty() || !name.bytes().all(is_cookie_name_byte) {
                continue;
            }
            if value.len() > MAX_COOKIE_BYTES || !value.bytes().all(|b| b.is_ascii_graphic() && b != b';') {
                continue;
            }
            let deleted = value == "deleted"
                || parts.any(|attribute| {
                    let attribute = attribute.trim().to_ascii_lowercase();
                    attribute == "max-age=0"
                        || attribute.starts_with("max-age=-")
                        || (attribute.starts_with("expires=") && attribute.contains("1970"))
                });
            if deleted {
                self.0.remove(name);
            } else if self.0.contains_key(name) || self.0.len() < MAX_COOKIES {
                self.0.insert(name.to_owned(), Zeroizing::new(value.to_owned()));
            }
        }
    }

    /// The `Cookie` header value for the next request, for [`WikiAuth::Cookies`].
    pub fn header_value(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::new());
        for (name, value) in &self.0 {
            if !text.is_empty() {
                text.push_str("; ");
            }
            text.push_str(name);
            text.push('=');
            text.push_str(value);
        }
        text
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn is_cookie_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The request for a login token. Send it without credentials and keep the cookies it sets
/// ([`SessionCookies::absorb`]): the token is bound to that session.
pub fn build_login_token(api: &Url) -> Result<WireRequest, WikiError> {
    api_get(api, WikiAuth::Anonymous, &[("action", "query"), ("meta", "tokens"), ("type", "login")], None)
}

/// Reads the login token (`query.tokens.logintoken`).
///
/// Refuses what [`check_envelope`] refuses, and a missing token or one that does not end in
/// `+\`.
pub fn parse_login_token(response: &WireResponse) -> Result<SecretText, WikiError> {
    token(response, "logintoken", LOGIN_TOKEN_CONTEXT)
}

/// The login request: `lgname` (`User@BotName`), `lgpassword` and `lgtoken` in the POST body,
/// the token last. `session` carries the cookies the login-token request set.
///
/// Refuses a name without `@BotName` (the appliance logs in with bot passwords only), an empty
/// password, and a session without cookies.
pub fn build_login(
    api: &Url,
    session: WikiAuth<'_>,
    lgname: &str,
    lgpassword: &str,
    lgtoken: &str,
) -> Result<WireRequest, WikiError> {
    let bot_name =
        lgname.rsplit_once('@').is_some_and(|(user, bot)| !user.trim().is_empty() && !bot.trim().is_empty());
    if !bot_name || lgname.chars().any(char::is_control) {
        return Err(WikiError::InvalidInput {
            field: "bot login name",
            reason: "must be `User@BotName` from Special:BotPasswords (main-account logins are refused)"
                .to_owned(),
        });
    }
    if lgpassword.is_empty() || lgpassword.chars().any(char::is_control) {
        return Err(WikiError::InvalidInput {
            field: "bot password",
            reason: "is empty or contains a control character".to_owned(),
        });
    }
    if !matches!(session, WikiAuth::Cookies(_)) {
        return Err(WikiError::InvalidInput {
            field: "login session",
            reason: "must be the cookies the login-token request set (the token is bound to them)".to_owned(),
        });
    }
    if lgtoken.len() < 3 || !lgtoken.ends_with("+\\") {
        return Err(WikiError::InvalidInput {
            field: "login token",
            reason: "is not a MediaWiki token; fetch one with build_login_token".to_owned(),
        });
    }
    api_post(
        api,
        session,
        &[("action", "login"), ("lgname", lgname), ("lgpassword", lgpassword)],
        false,
        ("lgtoken", lgtoken),
    )
}

/// Reads the login result.
///
/// Only `Success` without the `main-account-login` warning is `Ok`. `NeedToken`, `WrongToken`,
/// `Failed` (with the reason's code: `wrongpassword`, `sessionlost`, `login-throttled`…),
/// `Aborted`, and a main-account success are [`WikiError::Login`]; an unknown result, a
/// missing or zero user id is [`WikiError::Malformed`].
pub fn parse_login(response: &WireResponse) -> Result<LoginOutcome, WikiError> {
    let envelope = check_envelope(response, LOGIN_CONTEXT)?;
    let login = object(&envelope.root, "login", LOGIN_CONTEXT)?;
    let result = string(login, "result", LOGIN_CONTEXT)?;
    let (code, reason) = reason(login.get("reason"));
    match result.as_str() {
        "Success" => {
            if mentions_main_account(&envelope.root) {
                return Err(WikiError::Login(LoginError::MainAccount));
            }
            let user_id = number(login, "lguserid", LOGIN_CONTEXT)?;
            let user_name = string(login, "lgusername", LOGIN_CONTEXT)?;
            if user_id == 0 || user_name.trim().is_empty() {
                return Err(malformed(LOGIN_CONTEXT, "a success names no user"));
            }
            Ok(LoginOutcome { user_id, user_name, warnings: envelope.warnings })
        }
        "NeedToken" => Err(WikiError::Login(LoginError::NeedToken)),
        "WrongToken" => Err(WikiError::Login(LoginError::WrongToken)),
        "Failed" => Err(WikiError::Login(LoginError::Failed { code, reason })),
        "Aborted" => Err(WikiError::Login(LoginError::Aborted { reason })),
        other => Err(malformed(LOGIN_CONTEXT, format!("unknown result {}", excerpt(other)))),
    }
}

/// Whether any warning mentions a main-account login: a `deprecation` warning whose
/// `data.feature` is `main-account-login`, that code itself, or the message's words (the bc
/// format has neither code nor data). The raw warnings are searched, not the parsed excerpts,
/// so neither truncation nor an unexpected member hides it.
fn mentions_main_account(root: &serde_json::Map<String, Value>) -> bool {
    let Some(warnings) = root.get("warnings") else { return false };
    let text = warnings.to_string().to_ascii_lowercase();
    text.contains("main-account-login") || text.contains("main-account login")
}

/// A login `reason`: text in the bc format, `{code, text}` in the others.
fn reason(value: Option<&Value>) -> (Option<String>, String) {
    match value {
        Some(Value::String(text)) => (None, excerpt(text)),
        Some(Value::Object(map)) => {
            let code = map.get("code").and_then(Value::as_str).map(excerpt);
            let text = ["text", "html", "*"]
                .iter()
                .find_map(|key| map.get(*key).and_then(Value::as_str))
                .map(excerpt)
                .unwrap_or_default();
            (code, text)
        }
        _ => (None, "no reason given".to_owned()),
    }
}

/// The request for a CSRF token, with the credential the writes will use.
pub fn build_csrf_token(api: &Url, auth: WikiAuth<'_>) -> Result<WireRequest, WikiError> {
    api_get(api, auth, &[("action", "query"), ("meta", "tokens"), ("type", "csrf")], None)
}

/// Reads the CSRF token (`query.tokens.csrftoken`).
///
/// Refuses what [`check_envelope`] refuses; the anonymous token `+\` (→
/// [`WikiError::AnonymousToken`]: the credential did not log in); a token that does not end in
/// `+\`.
pub fn parse_csrf_token(response: &WireResponse) -> Result<SecretText, WikiError> {
    let token = token(response, "csrftoken", CSRF_CONTEXT)?;
    if token.expose_secret() == "+\\" {
        return Err(WikiError::AnonymousToken);
    }
    Ok(token)
}

/// `query.tokens.<key>`.
fn token(response: &WireResponse, key: &str, context: &'static str) -> Result<SecretText, WikiError> {
    let envelope = check_envelope(response, context)?;
    let query = object(&envelope.root, "query", context)?;
    let tokens = object(query, "tokens", context)?;
    match tokens.get(key) {
        Some(Value::String(token))
            if token.ends_with("+\\")
                && token.len() <= 256
                && token.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(SecretText::new(token.clone()))
        }
        Some(_) => Err(malformed(context, format!("`{key}` is not a MediaWiki token (ending in `+\\`)"))),
        None => Err(malformed(context, format!("`{key}` is missing"))),
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http::header::{COOKIE, SET_COOKIE};

    use super::super::envelope::tests::json;
    use super::*;
    use crate::egress::wire::Body;

    fn api() -> Url {
        Url::parse("https://commons.wikimedia.org/w/api.php").unwrap()
    }

    #[test]
    fn the_login_token_request_is_an_anonymous_get() {
        let request = build_login_token(&api()).unwrap();
        assert_eq!(request.method, http::Method::GET);
        let pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("type".into(), "login".into())));
        assert!(pairs.contains(&("formatversion".into(), "2".into())));
        assert!(request.headers.is_empty() || request.header_value(&COOKIE).is_none());
    }

    #[test]
    fn the_login_token_is_read() {
        let response = json(
            200,
            &[],
            r#"{"batchcomplete":true,"query":{"tokens":{"logintoken":"9ed1499d99c0c34c73faa07157b3b6075b427365+\\"}}}"#,
        );
        assert_eq!(
            parse_login_token(&response).unwrap().expose_secret(),
            "9ed1499d99c0c34c73faa07157b3b6075b427365+\\"
        );
        let bad = json(200, &[], r#"{"query":{"tokens":{"logintoken":"abc"}}}"#);
        assert!(parse_login_token(&bad).is_err());
    }

    #[test]
    fn the_login_puts_password_and_token_in_the_body() {
        let request = build_login(
            &api(),
            WikiAuth::Cookies("commonswikiSession=abc"),
            "Example@takedown",
            "pw0123",
            "tok+\\",
        )
        .unwrap();
        assert_eq!(request.url.query(), None);
        let Body::Bytes { data, .. } = &request.body else { panic!() };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(data).into_owned().collect();
        assert_eq!(pairs[0], ("action".into(), "login".into()));
        assert!(pairs.contains(&("lgname".into(), "Example@takedown".into())));
        assert!(pairs.contains(&("lgpassword".into(), "pw0123".into())));
        assert_eq!(pairs.last(), Some(&("lgtoken".into(), "tok+\\".into())));
        assert!(!pairs.iter().any(|(k, _)| k == "assert"));
        assert!(!format!("{request:?}").contains("pw0123"));
    }

    #[test]
    fn a_main_account_name_or_a_missing_session_is_refused_before_sending() {
        let cookies = WikiAuth::Cookies("a=b");
        assert!(build_login(&api(), cookies, "Example", "pw", "t+\\").is_err());
        assert!(build_login(&api(), cookies, "Example@", "pw", "t+\\").is_err());
        assert!(build_login(&api(), cookies, "Example@bot", "", "t+\\").is_err());
        assert!(build_login(&api(), WikiAuth::Anonymous, "Example@bot", "pw", "t+\\").is_err());
        assert!(build_login(&api(), cookies, "Example@bot", "pw", "t").is_err());
    }

    #[test]
    fn a_bot_password_success_is_read() {
        let response =
            json(200, &[], r#"{"login":{"result":"Success","lguserid":42,"lgusername":"Example"}}"#);
        let outcome = parse_login(&response).unwrap();
        assert_eq!((outcome.user_id, outcome.user_name.as_str()), (42, "Example"));
    }

    #[test]
    fn a_main_account_success_is_refused() {
        let plaintext = json(
            200,
            &[],
            r#"{"warnings":[{"code":"main-account-login","text":"Main-account login via \"action=login\" is deprecated and may stop working without warning.","module":"login"}],"login":{"result":"Success","lguserid":42,"lgusername":"Example"}}"#,
        );
        assert_eq!(parse_login(&plaintext), Err(WikiError::Login(LoginError::MainAccount)));
        let bc = json(
            200,
            &[],
            r#"{"warnings":{"login":{"warnings":"Main-account login via \"action=login\" is deprecated and may stop working without warning. To continue login with \"action=login\", see Special:BotPasswords."}},"login":{"result":"Success","lguserid":42,"lgusername":"Example"}}"#,
        );
        assert_eq!(parse_login(&bc), Err(WikiError::Login(LoginError::MainAccount)));
        let feature = json(
            200,
            &[],
            r#"{"warnings":[{"code":"deprecation","text":"Deprecated.","data":{"feature":"main-account-login"},"module":"login"}],"login":{"result":"Success","lguserid":42,"lgusername":"Example"}}"#,
        );
        assert_eq!(parse_login(&feature), Err(WikiError::Login(LoginError::MainAccount)));
    }

    #[test]
    fn every_login_failure_is_typed() {
        let need = json(
            200,
            &[],
            r#"{"warnings":[{"code":"deprecation","text":"Fetching a token via \"action=login\" is deprecated.","module":"login"}],"login":{"result":"NeedToken","token":"abc+\\"}}"#,
        );
        assert_eq!(parse_login(&need), Err(WikiError::Login(LoginError::NeedToken)));
        let wrong = json(200, &[], r#"{"login":{"result":"WrongToken"}}"#);
        assert_eq!(parse_login(&wrong), Err(WikiError::Login(LoginError::WrongToken)));
        let lost = json(
            200,
            &[],
            r#"{"login":{"result":"Failed","reason":{"code":"sessionlost","text":"Your session was lost. Please try again."}}}"#,
        );
        match parse_login(&lost) {
            Err(error @ WikiError::Login(LoginError::Failed { .. })) => {
                assert!(error.to_string().contains("cookies"), "{error}");
                assert_eq!(
                    error,
                    WikiError::Login(LoginError::Failed {
                        code: Some("sessionlost".into()),
                        reason: "Your session was lost. Please try again.".into()
                    })
                );
            }
            other => panic!("{other:?}"),
        }
        let throttled = json(
            200,
            &[],
            r#"{"login":{"result":"Failed","reason":"You have made too many recent login attempts. Please wait 5 minutes before trying again."}}"#,
        );
        assert!(matches!(
            parse_login(&throttled),
            Err(WikiError::Login(LoginError::Failed { code: None, .. }))
        ));
        let aborted = json(
            200,
            &[],
            r#"{"login":{"result":"Aborted","reason":{"code":"cannotlogin-oauth","text":"Cannot log in when using MediaWiki\\Extension\\OAuth\\SessionProvider sessions."}}}"#,
        );
        assert!(matches!(parse_login(&aborted), Err(WikiError::Login(LoginError::Aborted { .. }))));
        assert!(matches!(
            parse_login(&json(200, &[], r#"{"login":{"result":"Maybe"}}"#)),
            Err(WikiError::Malformed { .. })
        ));
        assert!(matches!(
            parse_login(&json(200, &[], r#"{"login":{"result":"Success","lguserid":0,"lgusername":"X"}}"#)),
            Err(WikiError::Malformed { .. })
        ));
    }

    #[test]
    fn the_csrf_token_is_read_and_the_anonymous_one_refused() {
        let request = build_csrf_token(&api(), WikiAuth::Bearer("tok")).unwrap();
        assert!(request.url.query_pairs().any(|(k, v)| k == "type" && v == "csrf"));
        let response = json(
            200,
            &[],
            r#"{"batchcomplete":true,"query":{"tokens":{"csrftoken":"d41d8cd98f00b204e9800998ecf8427e6a1b2c3d+\\"}}}"#,
        );
        assert_eq!(
            parse_csrf_token(&response).unwrap().expose_secret(),
            "d41d8cd98f00b204e9800998ecf8427e6a1b2c3d+\\"
        );
        let anonymous = json(200, &[], r#"{"batchcomplete":true,"query":{"tokens":{"csrftoken":"+\\"}}}"#);
        assert!(matches!(parse_csrf_token(&anonymous), Err(WikiError::AnonymousToken)));
        let revoked = json(
            200,
            &[("mediawiki-api-error", "mwoauth-invalid-authorization")],
            r#"{"errors":[{"code":"mwoauth-invalid-authorization","text":"The authorization headers in your request are not valid: Invalid access token","module":"main"}]}"#,
        );
        assert!(matches!(
            parse_csrf_token(&revoked),
            Err(WikiError::Api { code: super::super::ApiCode::OAuthInvalidAuthorization, .. })
        ));
        let wrong_wiki = json(
            200,
            &[("mediawiki-api-error", "mwoauth-invalid-authorization-wrong-wiki")],
            r#"{"errors":[{"code":"mwoauth-invalid-authorization-wrong-wiki","text":"The authorization headers in your request are not valid: The consumer cannot be used on this wiki.","module":"main"}]}"#,
        );
        assert!(matches!(
            parse_csrf_token(&wrong_wiki),
            Err(WikiError::Api { code: super::super::ApiCode::OAuthWrongWiki, .. })
        ));
    }

    #[test]
    fn cookies_are_kept_replaced_and_deleted() {
        let mut response = json(200, &[], "{}");
        for cookie in [
            "commonswikiSession=abc123; path=/; secure; HttpOnly",
            "forceHTTPS=true; expires=Sat, 01-Jan-2028 00:00:00 GMT; path=/",
            "bad cookie=x",
            "evil=a\u{1}b",
        ] {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                response.headers.append(SET_COOKIE, value);
            }
        }
        let mut jar = SessionCookies::new();
        assert!(jar.is_empty());
        jar.absorb(&response);
        assert_eq!(jar.header_value().as_str(), "commonswikiSession=abc123; forceHTTPS=true");
        let mut later = json(200, &[], "{}");
        later.headers.append(SET_COOKIE, HeaderValue::from_static("commonswikiSession=def456; path=/"));
        later.headers.append(
            SET_COOKIE,
            HeaderValue::from_static("forceHTTPS=deleted; expires=Thu, 01-Jan-1970 00:00:01 GMT"),
        );
        jar.absorb(&later);
        assert_eq!(jar.header_value().as_str(), "commonswikiSession=def456");
    }
}
