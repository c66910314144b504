//! Everything that can go wrong talking to a wiki, as one typed [`WikiError`]: the API's own
//! error codes ([`ApiCode`]), OAuth 2 errors ([`OAuthErrorCode`]), login results
//! ([`LoginError`]), replication lag, gateway throttling, and responses we refuse to read.
//!
//! Messages name the wiki, quote at most ~300 characters of the server's words, never a secret,
//! and end with what to do.

use std::fmt;
use std::time::Duration;

/// A failure from a wiki exchange, or a request we refused to build.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum WikiError {
    /// The CSRF token was the anonymous one (`+\`): the session is not logged in.
    #[error(
        "wiki gave the anonymous CSRF token `+\\`, so the session is not logged in; log in again with \
         the bot password (keep its cookies) or check the OAuth token"
    )]
    AnonymousToken,

    /// The API answered with an error (in `errors`, `error`, or only the `MediaWiki-API-Error`
    /// header).
    #[error("wiki API error `{code}`: {text}{}; {}", detail_suffix(.detail), .code.advice())]
    Api {
        /// The error code.
        code: ApiCode,
        /// The server's explanation (truncated).
        text: String,
        /// The API module that raised it, when given.
        module: Option<String>,
        /// Extra data the code carries (block, read-only reason, filter, blacklist match), summed
        /// up.
        detail: Option<String>,
    },

    /// An edit hook refused the edit with `result: "Failure"` and no CAPTCHA.
    #[error(
        "wiki refused the edit through an extension hook (no CAPTCHA offered): {detail}; read the \
         wiki's edit filters and spam rules for the page"
    )]
    EditFailure {
        /// What the failure object held (truncated).
        detail: String,
    },

    /// HTTP 403 outside the API's JSON: the edge refusing the User-Agent, or a REST endpoint
    /// refusing the bearer token.
    #[error(
        "wiki answered HTTP 403 Forbidden ({detail}); check that the User-Agent names the appliance \
         and a contact address, and that the OAuth token is valid for this wiki"
    )]
    Forbidden {
        /// The server's words (truncated).
        detail: String,
    },

    /// A formatversion=1 shape (`""` for true, lists as id-keyed objects): refused rather than
    /// misread.
    #[error(
        "wiki response to {context} is in the old formatversion=1 shape ({detail}); the request must \
         carry formatversion=2 (a proxy may have rewritten it)"
    )]
    FormatVersion1 {
        /// The message being read.
        context: &'static str,
        /// Which member showed it.
        detail: String,
    },

    /// Any other unexpected HTTP status without an API error in it.
    #[error("wiki answered HTTP {status} ({detail}); retry later, and report it if it persists")]
    HttpStatus {
        /// The status code.
        status: u16,
        /// The server's words (truncated).
        detail: String,
    },

    /// A request was not built because an input was invalid.
    #[error("wiki request not built: the {field} {reason}")]
    InvalidInput {
        /// Which input.
        field: &'static str,
        /// What is wrong with it and, where useful, what to do.
        reason: String,
    },

    /// Replication lag is above `maxlag`: back off and retry.
    #[error(
        "wiki database replicas are lagged{} (maxlag); retry after {} s",
        lag_suffix(.lag),
        .retry_after.as_secs()
    )]
    Lagged {
        /// From `Retry-After` (5 s when absent or unreadable).
        retry_after: Duration,
        /// The lag in seconds, when reported.
        lag: Option<f64>,
    },

    /// `action=login` did not log in (or logged in a way the appliance refuses).
    #[error(transparent)]
    Login(LoginError),

    /// The response is JSON but not in the shape the message has.
    #[error(
        "wiki response to {context} is not in the expected shape: {detail}; check that the wiki runs \
         a supported MediaWiki version"
    )]
    Malformed {
        /// The message being read.
        context: &'static str,
        /// What was wrong.
        detail: String,
    },

    /// The body is not JSON, or its Content-Type is not `application/json`.
    #[error(
        "wiki response to {context} (HTTP {status}) is not JSON (Content-Type {}): {detail}; a proxy \
         or error page answered instead of the wiki",
        .media_type.as_deref().unwrap_or("missing")
    )]
    NotJson {
        /// The message being read.
        context: &'static str,
        /// The HTTP status.
        status: u16,
        /// The media type, if any.
        media_type: Option<String>,
        /// The start of the body or the parse error (truncated).
        detail: String,
    },

    /// The OAuth 2 server answered with an RFC 6749 error.
    #[error("wiki OAuth error `{error}`: {description}{}; {}", hint_suffix(.hint), .error.advice())]
    OAuth {
        /// The error code.
        error: OAuthErrorCode,
        /// `error_description` (truncated).
        description: String,
        /// `hint`, when given (truncated).
        hint: Option<String>,
    },

    /// The OAuth callback's `state` is missing or not the one this sign-in sent.
    #[error(
        "wiki OAuth callback carries a state that this sign-in did not send; start the sign-in again \
         (a forged or replayed callback is refused)"
    )]
    OAuthStateMismatch,

    /// `action=revisiondelete` changed no item.
    #[error("wiki revision deletion changed nothing: {}; check the ids and rights", list_failures(.failed))]
    RevisionDeleteFailed {
        /// Every item that failed, with its error codes.
        failed: Vec<FailedItem>,
    },

    /// `action=revisiondelete` changed some items and failed on others.
    #[error(
        "wiki revision deletion only partly done: {} failed, {} succeeded; check the failed ids and retry them",
        list_failures(.failed),
        .succeeded.len()
    )]
    RevisionDeletePartial {
        /// The items that failed, with their error codes.
        failed: Vec<FailedItem>,
        /// The ids that succeeded.
        succeeded: Vec<String>,
    },

    /// HTTP 429 from the wiki or its edge.
    #[error(
        "wiki is rate-limiting us (HTTP 429{}): {detail}; slow down and keep the session cookies",
        retry_suffix(.retry_after)
    )]
    Throttled {
        /// From `Retry-After`, when given in seconds.
        retry_after: Option<Duration>,
        /// The server's words (truncated).
        detail: String,
    },

    /// HTTP 401 from a REST endpoint: the bearer token was not accepted.
    #[error("wiki answered HTTP 401 Unauthorized ({detail}); the OAuth token is missing, expired or revoked")]
    Unauthorized {
        /// The server's words (truncated).
        detail: String,
    },

    /// HTTP 502, 503 or 504, usually an HTML page from the edge.
    #[error("wiki is unavailable (HTTP {status}{}): {detail}; retry later", retry_suffix(.retry_after))]
    Unavailable {
        /// The status code.
        status: u16,
        /// From `Retry-After`, when given in seconds.
        retry_after: Option<Duration>,
        /// The server's words (truncated).
        detail: String,
    },
}

impl WikiError {
    /// How long the server asked us to wait, when it did (or the `maxlag` default).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            WikiError::Lagged { retry_after, .. } => Some(*retry_after),
            WikiError::Throttled { retry_after, .. } | WikiError::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Whether the same request may succeed later without any change (lag, throttling, an
    /// outage, a read-only wiki).
    pub fn is_retryable(&self) -> bool {
        match self {
            WikiError::Lagged { .. } | WikiError::Throttled { .. } | WikiError::Unavailable { .. } => true,
            WikiError::Api { code, .. } => matches!(code, ApiCode::RateLimited | ApiCode::ReadOnly),
            WikiError::OAuth { error, .. } => {
                matches!(error, OAuthErrorCode::ServerError | OAuthErrorCode::TemporarilyUnavailable)
            }
            _ => false,
        }
    }

    /// The API error code, for an [`WikiError::Api`].
    pub fn api_code(&self) -> Option<&ApiCode> {
        match self {
            WikiError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
}

fn hint_suffix(hint: &Option<String>) -> String {
    hint.as_deref().map(|h| format!(" (hint: {h})")).unwrap_or_default()
}

fn lag_suffix(lag: &Option<f64>) -> String {
    lag.map(|l| format!(" by {l} s")).unwrap_or_default()
}

fn retry_suffix(retry_after: &Option<Duration>) -> String {
    retry_after.map(|d| format!(", retry after {} s", d.as_secs())).unwrap_or_default()
}

fn list_failures(failed: &[FailedItem]) -> String {
    let shown: Vec<String> = failed.iter().take(10).map(ToString::to_string).collect();
    let more = failed.len().saturating_sub(shown.len());
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    if text.is_empty() {
        text.push_str("no item reported");
    }
    text
}

/// One item of a revision deletion that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedItem {
    /// The id as sent (a revision id, an archive-name timestamp, a log id).
    pub id: String,
    /// The error codes the server gave for it (`revdelete-modify-missing`, …).
    pub codes: Vec<String>,
}

impl fmt::Display for FailedItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.codes.join(", "))
    }
}

/// An `action=login` result other than a clean bot-password success.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    /// `Aborted`: this session cannot log in this way (an OAuth session, CORS mode).
    #[error(
        "wiki login aborted: {reason}; bot-password login needs a plain cookie session, not an OAuth \
         one"
    )]
    Aborted {
        /// The server's reason (truncated).
        reason: String,
    },
    /// `Failed`: a wrong or locked bot password, throttling, or a lost session.
    #[error("wiki login failed{}: {reason}; {}", code_suffix(.code), failed_advice(.code))]
    Failed {
        /// The reason's code, when the error format gives one (`wrongpassword`, `sessionlost`…).
        code: Option<String>,
        /// The server's reason (truncated).
        reason: String,
    },
    /// `Success` with the main-account deprecation warning: the account password was used.
    #[error(
        "wiki login used the main account password, which the appliance refuses; create a bot \
         password (Special:BotPasswords) and configure `User@BotName`"
    )]
    MainAccount,
    /// `NeedToken`: the login token was missing or the session did not carry it.
    #[error("wiki login needs a login token; fetch one first and send the cookies it set")]
    NeedToken,
    /// `WrongToken`: the login token did not match the session.
    #[error("wiki login token was wrong; fetch a new one and send the cookies it set")]
    WrongToken,
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
}

fn failed_advice(code: &Option<String>) -> &'static str {
    match code.as_deref() {
        Some("sessionlost" | "sessionfailure") => "keep and send the cookies the login token request set",
        Some("login-throttled") => "wait before trying again",
        _ => "check the bot password in Special:BotPasswords (it may need a reset)",
    }
}

macro_rules! codes {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[doc = $doc:literal])* $variant:ident = $text:literal => $advice:literal,)* }) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
            /// A code this module does not know; the text is the server's.
            Other(String),
        }

        impl $name {
            /// Reads a code from the server.
            pub fn from_code(code: &str) -> Self {
                match code {
                    $($text => $name::$variant,)*
                    other => $name::Other(super::common::excerpt(other)),
                }
            }

            /// The code as the server spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }

            /// What to do about it.
            pub fn advice(&self) -> &'static str {
                match self {
                    $($name::$variant => $advice,)*
                    $name::Other(_) => "read the server's message; report it if it persists",
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

codes! {
    /// The Action API error codes the appliance tells apart.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum ApiCode {
        /// An AbuseFilter rule disallowed the edit.
        AbuseFilterDisallowed = "abusefilter-disallowed" =>
            "an edit filter disallows this text; change the text or ask the filter's maintainers",
        /// An AbuseFilter rule warns about the edit (saving again would pass).
        AbuseFilterWarning = "abusefilter-warning" =>
            "an edit filter warns about this text; review it before saving again",
        /// `createonly` and the page exists.
        ArticleExists = "articleexists" => "the page already exists; edit it instead of creating it",
        /// `assert=user` and the session is not logged in.
        AssertUserFailed = "assertuserfailed" =>
            "the session is not logged in; log in again with the bot password or renew the OAuth token",
        /// `md5` did not match the text.
        BadMd5 = "badmd5" => "the text was damaged on the way; build the request again",
        /// Invalid parameter combination (e.g. hide and show overlap).
        BadParams = "badparams" => "the parameters contradict each other; fix the request",
        /// An unparsable `euquery`.
        BadQuery = "badquery" => "write the link pattern without a scheme, e.g. `*.example.org/path`",
        /// The CSRF token is wrong or expired (the session changed).
        BadToken = "badtoken" => "fetch a new CSRF token and retry once",
        /// The account is blocked.
        Blocked = "blocked" => "the account is blocked on this wiki; ask a steward or the wiki's admins",
        /// The page is protected by cascading protection.
        CascadeProtected = "cascadeprotected" =>
            "the page is cascade-protected; an account with editprotected rights must do it",
        /// The text is larger than the wiki accepts.
        ContentTooBig = "contenttoobig" => "the text is too large for the wiki; shorten it",
        /// Someone else edited the page since `baserevid`.
        EditConflict = "editconflict" => "someone edited the page meanwhile; reload it and redo the edit",
        /// A malformed `oldimage`.
        InvalidOldImage = "invalidoldimage" =>
            "the file version's archive name is wrong; take it from imageinfo's `archivename`",
        /// An invalid `section`.
        InvalidSection = "invalidsection" => "the section parameter is invalid; fix the request",
        /// A malformed user name.
        InvalidUser = "invaliduser" => "the user name is not valid; check its spelling",
        /// An unknown central user id.
        InvalidUserId = "invaliduserid" => "no global account has this id; check it",
        /// The page does not exist (`nocreate`, delete).
        MissingTitle = "missingtitle" => "the page does not exist; check the title",
        /// A parameter that must be posted came in the query string.
        MustPostParams = "mustpostparams" => "send the token in the POST body, never in the URL",
        /// The file is not local (it lives on Commons).
        NoDeleteableFile = "nodeleteablefile" =>
            "the file is not stored on this wiki; act on commons.wikimedia.org instead",
        /// The section does not exist.
        NoSuchSection = "nosuchsection" => "the section does not exist; reload the page",
        /// The OAuth consumer's user is blocked.
        OAuthBlockedUser = "mwoauth-invalid-authorization-blocked-user" =>
            "the account behind the OAuth token is blocked; ask the wiki's admins",
        /// The OAuth authorization is not valid (expired or revoked token).
        OAuthInvalidAuthorization = "mwoauth-invalid-authorization" =>
            "the OAuth token is expired or revoked; refresh it or issue a new owner-only token",
        /// The OAuth token's user is not valid on this wiki.
        OAuthInvalidUser = "mwoauth-invalid-authorization-invalid-user" =>
            "the OAuth token's account is not attached on this wiki; visit the wiki once while logged in",
        /// The OAuth consumer is not approved.
        OAuthNotApproved = "mwoauth-invalid-authorization-not-approved" =>
            "the OAuth consumer is not approved (or was disabled); check it on meta",
        /// The OAuth consumer is not valid on this wiki.
        OAuthWrongWiki = "mwoauth-invalid-authorization-wrong-wiki" =>
            "the OAuth consumer is limited to another wiki; register it for all projects (`*`)",
        /// The page was deleted since the edit started.
        PageDeleted = "pagedeleted" => "the page was deleted meanwhile; check before recreating it",
        /// The account lacks a right (e.g. `suppressrevision` for suppress=yes).
        PermissionDenied = "permissiondenied" =>
            "the account (or the OAuth grant) lacks the right; ask for it or use another account",
        /// The page is protected.
        ProtectedPage = "protectedpage" =>
            "the page is protected; an account with the needed rights must do it",
        /// Too many actions in a short time.
        RateLimited = "ratelimited" => "slow down and retry later",
        /// The wiki is read-only (maintenance).
        ReadOnly = "readonly" => "the wiki is in read-only mode; retry later",
        /// The text contains a blacklisted link.
        SpamBlacklist = "spamblacklist" => "the text contains a blacklisted link; remove or disguise it",
    }
}

codes! {
    /// RFC 6749 error codes from the OAuth 2 endpoints.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum OAuthErrorCode {
        /// The user (or the server) refused the authorization.
        AccessDenied = "access_denied" => "the user refused, or the token is not valid; sign in again",
        /// Client authentication failed (wrong id or secret, or the consumer is disabled).
        InvalidClient = "invalid_client" =>
            "check the consumer's client id and secret on meta (Special:OAuthConsumerRegistration)",
        /// The code or refresh token is invalid, expired, revoked, or the PKCE verifier does not
        /// match.
        InvalidGrant = "invalid_grant" =>
            "the code or refresh token is invalid or expired (or the PKCE verifier differs); sign in again",
        /// The request is missing a parameter or is otherwise malformed.
        InvalidRequest = "invalid_request" =>
            "the request is malformed (a missing field, or not form-urlencoded); report it",
        /// The scope asked for is not allowed.
        InvalidScope = "invalid_scope" => "ask only for the grants the consumer was approved for",
        /// The server had an internal error.
        ServerError = "server_error" => "retry later",
        /// The server is overloaded or in maintenance.
        TemporarilyUnavailable = "temporarily_unavailable" => "retry later",
        /// This client may not use this grant type (e.g. an owner-only consumer and the
        /// authorization code flow).
        UnauthorizedClient = "unauthorized_client" =>
            "this consumer may not use this flow (owner-only consumers use their fixed token)",
        /// The grant type is unknown to the server.
        UnsupportedGrantType = "unsupported_grant_type" => "use the authorization_code or refresh_token grant",
        /// The response type is unknown to the server.
        UnsupportedResponseType = "unsupported_response_type" => "use response_type=code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_as_spelled_and_unknown_codes_are_kept() {
        for code in ["badtoken", "mwoauth-invalid-authorization-wrong-wiki", "abusefilter-disallowed"] {
            let parsed = ApiCode::from_code(code);
            assert!(!matches!(parsed, ApiCode::Other(_)), "{code}");
            assert_eq!(parsed.as_str(), code);
        }
        assert_eq!(ApiCode::from_code("frobnicated"), ApiCode::Other("frobnicated".to_owned()));
        assert_eq!(OAuthErrorCode::from_code("invalid_grant"), OAuthErrorCode::InvalidGrant);
    }

    #[test]
    fn every_message_names_the_wiki_and_says_what_to_do() {
        let errors = [
            WikiError::AnonymousToken,
            WikiError::Api {
                code: ApiCode::BadToken,
                text: "Invalid CSRF token.".into(),
                module: None,
                detail: None,
            },
            WikiError::Lagged { retry_after: Duration::from_secs(5), lag: Some(7.0) },
            WikiError::Login(LoginError::MainAccount),
            WikiError::Login(LoginError::Failed { code: Some("sessionlost".into()), reason: "x".into() }),
            WikiError::RevisionDeletePartial {
                failed: vec![FailedItem { id: "1".into(), codes: vec!["revdelete-modify-missing".into()] }],
                succeeded: vec!["2".into()],
            },
            WikiError::RevisionDeleteFailed { failed: Vec::new() },
            WikiError::Throttled { retry_after: None, detail: "x".into() },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(text.starts_with("wiki"), "{text}");
            assert!(text.contains(';'), "{text}");
        }
    }

    #[test]
    fn retry_hints_follow_the_error_kind() {
        let lagged = WikiError::Lagged { retry_after: Duration::from_secs(9), lag: None };
        assert_eq!(lagged.retry_after(), Some(Duration::from_secs(9)));
        assert!(lagged.is_retryable());
        let token =
            WikiError::Api { code: ApiCode::BadToken, text: String::new(), module: None, detail: None };
        assert!(!token.is_retryable());
        assert_eq!(token.api_code(), Some(&ApiCode::BadToken));
    }
}
