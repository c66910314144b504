//! The wiki client: who a call acts as, and the sessions behind it.
//!
//! - **Staff** act through their own OAuth 2 grant on the meta wiki (authorization code with
//!   PKCE): [`WikiClient::begin_authorization`] gives the URL to send the browser to,
//!   [`WikiClient::complete_authorization`] takes the callback's query string and returns the
//!   grant, which [`WikiClient::keep_grant`] keeps once the connection is audited. Tokens are held
//!   only in this process's memory, wiped when dropped, refreshed when they expire or the wiki
//!   refuses them, and lost on restart (staff then connect again).
//! - **The bot** (an optional bot-password account) logs in per wiki host with a cookie
//!   session, and logs in again once when the wiki says the session is gone.
//! - **Anonymous** calls read public data (the status check, the site matrix).
//!
//! **Which hosts get a credential.** A staff member's token, the bot's password and the bot's
//! cookies go only to a wiki this client knows from its configuration (the meta wiki, and the
//! wikis [`WikiClient::trust_configured`] names: Commons and the foundation wiki) or from the
//! meta wiki's site matrix; never to a host someone typed (an "Other" project is any name under
//! the wiki domains). A credentialed call to another host is refused here, before anything is
//! sent, with [`CallError::Build`]: every workflow's credentialed call passes through
//! [`WikiClient::call`], so no caller can forget the check. Anonymous calls go anywhere the
//! egress policy allows.
//!
//! Writes fetch a CSRF token first and fetch a fresh one once on `badtoken`. Replication lag,
//! throttling and a read-only wiki are waited out (the wiki's `Retry-After`, at most
//! [`MAX_WAIT`], at most [`MAX_ATTEMPTS`] tries): the wiki refused those requests before acting,
//! so repeating them duplicates nothing. An outage (HTTP 5xx) is repeated only for reads.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::Url;
use zeroize::Zeroizing;

use super::wire::{
    ApiCode, Edit, EditOutcome, ImageInfoPage, Limit, OAuthErrorCode, OAuthProfile, OAuthTokens, SecretText,
    SessionCookies, SiteMatrix, WikiAuth, WikiError, authorize_url, build_csrf_token, build_edit,
    build_imageinfo, build_login, build_login_token, build_profile, build_sitematrix, build_token_exchange,
    build_token_refresh, parse_callback, parse_csrf_token, parse_edit, parse_imageinfo, parse_login,
    parse_login_token, parse_profile, parse_sitematrix, parse_token_response, pkce_challenge,
};
use crate::config::services::WikiSettings;
use crate::config::{Problem, Problems};
use crate::egress::client::CallContext;
use crate::egress::policy::Service;
use crate::egress::wire::{WireRequest, WireResponse};
use crate::services::call::{CallError, Channel, ServiceFailure};

/// Longest wait for lag or throttling before giving up and showing the error.
pub const MAX_WAIT: Duration = Duration::from_secs(10);
/// Most tries of one request when the wiki asks us to wait.
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a started authorization may take before its callback is refused.
const AUTHORIZATION_TTL: Duration = Duration::from_secs(600);
/// How long the site matrix's hosts are used before they are fetched again.
const MATRIX_REFRESH: Duration = Duration::from_secs(24 * 60 * 60);
/// After a fetch (or a failed one), how long before a host not in the matrix makes another.
const MATRIX_RETRY: Duration = Duration::from_secs(60);

/// What staff grant the appliance: editing and creating pages (a talk page may not exist yet),
/// and deleting and suppressing as their own rights allow (a grant never adds a right).
const SCOPES: [&str; 5] = ["basic", "editpage", "createeditmovepage", "delete", "oversight"];

type WikiResult<T> = Result<T, CallError<WikiError>>;

impl ServiceFailure for WikiError {
    fn is_auth_failure(&self) -> bool {
        match self {
            WikiError::Unauthorized { .. } | WikiError::Login(_) | WikiError::AnonymousToken => true,
            WikiError::Api { code, .. } => matches!(
                code,
                ApiCode::AssertUserFailed
                    | ApiCode::OAuthInvalidAuthorization
                    | ApiCode::OAuthInvalidUser
                    | ApiCode::OAuthNotApproved
                    | ApiCode::OAuthWrongWiki
                    | ApiCode::OAuthBlockedUser
            ),
            WikiError::OAuth { error, .. } => matches!(
                error,
                OAuthErrorCode::InvalidClient
                    | OAuthErrorCode::InvalidGrant
                    | OAuthErrorCode::UnauthorizedClient
            ),
            _ => false,
        }
    }

    /// An edge's 5xx (often after the backend saved), or a success we could not read, may
    /// follow a write the wiki carried out; so may a revision deletion that failed in part.
    fn may_have_acted(&self) -> bool {
        match self {
            WikiError::Unavailable { .. } | WikiError::RevisionDeletePartial { .. } => true,
            WikiError::HttpStatus { status, .. } => *status >= 500,
            WikiError::NotJson { status, .. } => (200..300).contains(status) || *status >= 500,
            WikiError::Malformed { .. } | WikiError::FormatVersion1 { .. } => true,
            _ => false,
        }
    }
}

/// Whom a call acts as.
#[derive(Clone, Copy, Debug)]
pub enum Acting<'a> {
    /// A staff member, by roster id, through their OAuth grant.
    Staff(&'a str),
    /// The bot-password account.
    Bot,
    /// Nobody: public reads.
    Anonymous,
}

/// Whether a staff member's wiki account is connected, for the home page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WikiConnection {
    /// No grant in memory (never connected, or since the daemon restarted).
    NotConnected,
    /// A grant is held; the account's name when the wiki told it.
    Connected {
        /// The wiki user name.
        username: Option<String>,
    },
}

/// A wiki's host and port, as credentials are scoped: `("en.wikipedia.org", 443)`.
type Authority = (String, u16);

/// The host and port of `url`, lower case and without a trailing dot.
fn authority(url: &Url) -> Option<Authority> {
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    Some((host, url.port_or_known_default()?))
}

/// The hosts of the site matrix's https wikis, and when they were fetched.
#[derive(Default)]
struct MatrixHosts {
    hosts: HashSet<Authority>,
    fetched: Option<Instant>,
    tried: Option<Instant>,
}

impl MatrixHosts {
    fn replace(&mut self, matrix: &SiteMatrix) {
        self.hosts = matrix
            .languages
            .iter()
            .flat_map(|language| language.sites.iter())
            .chain(matrix.specials.iter())
            .filter_map(|site| Url::parse(&site.url).ok())
            .filter(|url| url.scheme() == "https")
            .filter_map(|url| authority(&url))
            .collect();
        self.fetched = Some(Instant::now());
    }
}

/// A staff member's grant, in memory only.
struct Grant {
    username: Option<String>,
    access: SecretText,
    refresh: Option<SecretText>,
    expires: Option<Instant>,
}

impl Grant {
    /// A grant from the token endpoint's answer; it counts as expired a minute early.
    fn new(tokens: OAuthTokens, username: Option<String>) -> Self {
        let expires = tokens.expires_in.map(|s| Instant::now() + Duration::from_secs(s.saturating_sub(60)));
        Grant { username, access: tokens.access_token, refresh: tokens.refresh_token, expires }
    }
}

/// An authorization the browser was sent off for.
struct Pending {
    state: Zeroizing<String>,
    verifier: Zeroizing<String>,
    started: Instant,
}

impl Pending {
    /// Whether a callback may still complete this authorization at `now`: for
    /// [`AUTHORIZATION_TTL`] after it started, not a moment longer.
    fn is_live_at(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.started) < AUTHORIZATION_TTL
    }
}

/// Takes the authorization `staff` started out of `pending` (single use: it is gone whatever
/// follows), if it is still live at `now`. Only `staff`'s own: the state is bound to them.
fn take_live(pending: &mut HashMap<String, Pending>, staff: &str, now: Instant) -> Option<Pending> {
    pending.remove(staff).filter(|p| p.is_live_at(now))
}

/// A grant the meta wiki gave, not yet kept (see [`WikiClient::keep_grant`]). It holds tokens:
/// there is no `Debug`.
pub struct AuthorizedGrant {
    tokens: OAuthTokens,
    /// Who granted it.
    pub profile: OAuthProfile,
}

/// The wiki client.
pub struct WikiClient {
    channel: Channel,
    meta_api: Url,
    meta_rest: Url,
    client_id: String,
    client_secret: Zeroizing<String>,
    redirect: Url,
    bot: Option<(String, Zeroizing<String>)>,
    bot_sessions: tokio::sync::Mutex<HashMap<String, SessionCookies>>,
    /// Hosts named in the configuration: credentials may go there.
    configured: Vec<Authority>,
    /// Hosts of the site matrix: credentials may go there too.
    matrix: tokio::sync::Mutex<MatrixHosts>,
    grants: Mutex<HashMap<String, Grant>>,
    pending: Mutex<HashMap<String, Pending>>,
    random: SystemRandom,
}

impl WikiClient {
    /// Reads the OAuth secret and the bot password named by `[wiki]`.
    pub fn new(
        settings: &WikiSettings,
        credentials_dir: Option<&std::path::Path>,
        channel: Channel,
    ) -> Result<Self, Problems> {
        let (client_secret, bot) = Self::read_secrets(settings, credentials_dir)?;
        let configured =
            [&settings.meta_api, &settings.meta_rest].into_iter().filter_map(authority).collect();
        Ok(Self {
            channel,
            meta_api: settings.meta_api.clone(),
            meta_rest: settings.meta_rest.clone(),
            client_id: settings.oauth_client_id.clone(),
            client_secret,
            redirect: settings.oauth_redirect.clone(),
            bot,
            bot_sessions: tokio::sync::Mutex::new(HashMap::new()),
            configured,
            matrix: tokio::sync::Mutex::new(MatrixHosts::default()),
            grants: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        })
    }

    /// Reads the OAuth client secret and the bot password (also what `check-config` does).
    #[allow(clippy::type_complexity)]
    pub(crate) fn read_secrets(
        settings: &WikiSettings,
        credentials_dir: Option<&std::path::Path>,
    ) -> Result<(Zeroizing<String>, Option<(String, Zeroizing<String>)>), Problems> {
        let problem =
            |field: &str, message: String| Problems(vec![Problem::new(format!("wiki.{field}"), message)]);
        let client_secret = settings
            .oauth_client_secret
            .read_text(credentials_dir)
            .map_err(|m| problem("oauth_client_secret", m))?;
        let bot = match &settings.bot {
            None => None,
            Some((user, password)) => Some((
                user.clone(),
                password.read_text(credentials_dir).map_err(|m| problem("bot_password", m))?,
            )),
        };
        Ok((client_secret, bot))
    }

    /// Whether a bot-password account is configured.
    pub fn has_bot(&self) -> bool {
        self.bot.is_some()
    }

    /// The meta wiki's api.php.
    pub fn meta_api(&self) -> &Url {
        &self.meta_api
    }

    /// Lets credentials go to the host of `api`, a wiki the configuration names (Commons, the
    /// foundation wiki).
    pub fn trust_configured(&mut self, api: &Url) {
        if let Some(authority) = authority(api)
            && !self.configured.contains(&authority)
        {
            self.configured.push(authority);
        }
    }

    // === which hosts get credentials ===

    /// The meta wiki's site matrix, read anonymously; its hosts become those credentials may
    /// go to (see the module's documentation).
    pub async fn site_matrix(&self, context: &CallContext) -> WikiResult<SiteMatrix> {
        let matrix = self.fetch_site_matrix(context).await?;
        let mut hosts = self.matrix.lock().await;
        hosts.replace(&matrix);
        hosts.tried = Some(Instant::now());
        Ok(matrix)
    }

    async fn fetch_site_matrix(&self, context: &CallContext) -> WikiResult<SiteMatrix> {
        let api = &self.meta_api;
        // Anonymous: no host check (which would fetch the matrix again).
        self.call_checked(
            context,
            api,
            Acting::Anonymous,
            true,
            |auth: WikiAuth<'_>| build_sitematrix(api, auth, None),
            parse_sitematrix,
        )
        .await
    }

    /// Whether a credential may be sent to `api`'s host: a configured wiki, or one the site
    /// matrix lists (fetched when there is none yet, when it is a day old, or, at most once a
    /// minute, when the host is not in it). Otherwise the call is refused, nothing sent.
    async fn check_credential_host(&self, context: &CallContext, api: &Url) -> WikiResult<()> {
        let refused = |detail: &str| {
            Err(CallError::Build {
                service: Service::Wiki,
                detail: format!(
                    "{detail}, and no wiki credential is sent to a host that was typed; choose the wiki from the list \
                     if it is there, or post by hand"
                ),
            })
        };
        let Some(wanted) = authority(api) else { return refused("the wiki has no host name") };
        if self.configured.contains(&wanted) {
            return Ok(());
        }
        let mut hosts = self.matrix.lock().await;
        let stale = hosts.fetched.is_none_or(|at| at.elapsed() >= MATRIX_REFRESH);
        let may_try = hosts.tried.is_none_or(|at| at.elapsed() >= MATRIX_RETRY);
        if (stale || !hosts.hosts.contains(&wanted)) && may_try {
            hosts.tried = Some(Instant::now());
            match self.fetch_site_matrix(context).await {
                Ok(matrix) => hosts.replace(&matrix),
                Err(err) => tracing::warn!("cannot fetch the site matrix: {}", err.summary()),
            }
        }
        if hosts.hosts.contains(&wanted) {
            Ok(())
        } else if hosts.fetched.is_none() {
            refused("the site matrix could not be read from the meta wiki to check this wiki")
        } else {
            refused("this wiki is neither in the meta wiki's site matrix nor named in the configuration")
        }
    }

    // === staff OAuth ===

    /// Starts connecting `staff` to their wiki account: returns the meta wiki's consent URL to
    /// send the browser to. A newer start replaces an older one.
    pub fn begin_authorization(&self, staff: &str) -> Result<Url, WikiError> {
        let state = self.random_text()?;
        let verifier = self.random_text()?;
        let challenge = pkce_challenge(&verifier)?;
        let url =
            authorize_url(&self.meta_rest, &self.client_id, &self.redirect, &SCOPES, &state, &challenge)?;
        let now = Instant::now();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        pending.retain(|_, p| p.is_live_at(now));
        pending.insert(staff.to_owned(), Pending { state, verifier, started: now });
        Ok(url)
    }

    /// Completes the authorization `staff` started, from the callback's query string: checks
    /// the state, exchanges the code (with the PKCE verifier) and reads who the grant belongs
    /// to. The tokens stay in memory.
    pub async fn complete_authorization(
        &self,
        context: &CallContext,
        staff: &str,
        query: &str,
    ) -> WikiResult<AuthorizedGrant> {
        let pending = take_live(
            &mut self.pending.lock().unwrap_or_else(PoisonError::into_inner),
            staff,
            Instant::now(),
        );
        let Some(pending) = pending else {
            return Err(CallError::Service(WikiError::OAuthStateMismatch));
        };
        let code = parse_callback(query, &pending.state).map_err(CallError::Service)?;
        let request = build_token_exchange(
            &self.meta_rest,
            &self.client_id,
            Some(&self.client_secret),
            code.expose_secret(),
            &self.redirect,
            &pending.verifier,
        )
        .map_err(CallError::Service)?;
        let tokens =
            self.channel.exchange(Service::Wiki, context, request, true, parse_token_response).await?;
        let profile = self.profile_for(context, tokens.access_token.expose_secret()).await?;
        Ok(AuthorizedGrant { tokens, profile })
    }

    /// Keeps `grant` as `staff`'s: called only once the connection is in the audit log, so an
    /// unaudited grant is never used.
    pub fn keep_grant(&self, staff: &str, grant: AuthorizedGrant) {
        let AuthorizedGrant { tokens, profile } = grant;
        self.store_grant(staff, tokens, profile.username);
    }

    /// Whether `staff` has a grant in memory, and for which wiki account.
    pub fn connection(&self, staff: &str) -> WikiConnection {
        match self.grants.lock().unwrap_or_else(PoisonError::into_inner).get(staff) {
            None => WikiConnection::NotConnected,
            Some(grant) => WikiConnection::Connected { username: grant.username.clone() },
        }
    }

    async fn profile_for(&self, context: &CallContext, bearer: &str) -> WikiResult<OAuthProfile> {
        let request = build_profile(&self.meta_rest, bearer).map_err(CallError::Service)?;
        self.channel.exchange(Service::Wiki, context, request, true, parse_profile).await
    }

    fn store_grant(&self, staff: &str, tokens: OAuthTokens, username: Option<String>) {
        let grant = Grant::new(tokens, username);
        self.grants.lock().unwrap_or_else(PoisonError::into_inner).insert(staff.to_owned(), grant);
    }

    /// `staff`'s access token, refreshed first if it has expired (or `force`).
    async fn staff_token(
        &self,
        context: &CallContext,
        staff: &str,
        force: bool,
    ) -> WikiResult<Zeroizing<String>> {
        let (access, refresh, username) = {
            let grants = self.grants.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(grant) = grants.get(staff) else {
                return Err(CallError::Build {
                    service: Service::Wiki,
                    detail: "this staff member has not connected a wiki account (use \"Connect your wiki account\" on \
                             the home page)"
                        .into(),
                });
            };
            let fresh = !force && grant.expires.is_none_or(|at| Instant::now() < at);
            (
                Zeroizing::new(grant.access.expose_secret().to_owned()),
                if fresh {
                    None
                } else {
                    grant.refresh.as_ref().map(|r| Zeroizing::new(r.expose_secret().to_owned()))
                },
                grant.username.clone(),
            )
        };
        let Some(refresh) = refresh else { return Ok(access) };
        let request =
            build_token_refresh(&self.meta_rest, &self.client_id, Some(&self.client_secret), &refresh)
                .map_err(CallError::Service)?;
        let result = self.channel.exchange(Service::Wiki, context, request, true, parse_token_response).await;
        // Another call may have refreshed, reconnected or disconnected meanwhile: change the
        // grant only if it is still the one this refresh started from.
        let mut grants = self.grants.lock().unwrap_or_else(PoisonError::into_inner);
        let unchanged = grants
            .get(staff)
            .and_then(|grant| grant.refresh.as_ref())
            .is_some_and(|current| current.expose_secret() == refresh.as_str());
        match result {
            Ok(tokens) => {
                let access = Zeroizing::new(tokens.access_token.expose_secret().to_owned());
                if unchanged {
                    grants.insert(staff.to_owned(), Grant::new(tokens, username));
                }
                Ok(access)
            }
            Err(err) => {
                if unchanged && err.is_auth_failure() {
                    grants.remove(staff);
                }
                Err(err)
            }
        }
    }

    // === bot sessions ===

    /// Logs the bot in on `api`'s host (if it is not already) and returns the cookie header.
    async fn bot_cookies(
        &self,
        context: &CallContext,
        api: &Url,
        fresh: bool,
    ) -> WikiResult<Zeroizing<String>> {
        let Some((user, password)) = &self.bot else {
            return Err(CallError::Build {
                service: Service::Wiki,
                detail: "no bot account is configured ([wiki] bot_user and bot_password)".into(),
            });
        };
        let host = api.host_str().unwrap_or_default().to_owned();
        let mut sessions = self.bot_sessions.lock().await;
        if fresh {
            sessions.remove(&host);
        }
        if let Some(jar) = sessions.get(&host) {
            return Ok(jar.header_value());
        }
        let mut jar = SessionCookies::new();
        let request = build_login_token(api).map_err(CallError::Service)?;
        let token = self
            .channel
            .exchange(Service::Wiki, context, request, false, |r| {
                jar.absorb(r);
                parse_login_token(r)
            })
            .await?;
        let cookie = jar.header_value();
        let request = build_login(api, WikiAuth::Cookies(&cookie), user, password, token.expose_secret())
            .map_err(CallError::Service)?;
        self.channel
            .exchange(Service::Wiki, context, request, true, |r| {
                jar.absorb(r);
                parse_login(r)
            })
            .await?;
        let cookie = jar.header_value();
        sessions.insert(host, jar);
        Ok(cookie)
    }

    // === calls ===

    /// A read on `api` as `acting`: `build` gets the credential to put on the request.
    pub async fn read<T>(
        &self,
        context: &CallContext,
        api: &Url,
        acting: Acting<'_>,
        build: impl Fn(WikiAuth<'_>) -> Result<WireRequest, WikiError>,
        parse: impl Fn(&WireResponse) -> Result<T, WikiError>,
    ) -> WikiResult<T> {
        self.call(context, api, acting, true, build, &parse).await
    }

    /// A write on `api` as `acting`: `build` gets the credential and a fresh CSRF token. A
    /// `badtoken` answer is followed by one new token and one more try (the wiki refused the
    /// first before acting).
    pub async fn write<T>(
        &self,
        context: &CallContext,
        api: &Url,
        acting: Acting<'_>,
        build: impl Fn(WikiAuth<'_>, &str) -> Result<WireRequest, WikiError>,
        parse: impl Fn(&WireResponse) -> Result<T, WikiError>,
    ) -> WikiResult<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let csrf = self
                .call(context, api, acting, true, |auth| build_csrf_token(api, auth), parse_csrf_token)
                .await
                .map_err(CallError::not_sent("getting a CSRF token"))?;
            let result = self
                .call(context, api, acting, false, |auth| build(auth, csrf.expose_secret()), &parse)
                .await;
            match result {
                Err(CallError::Service(ref err))
                    if err.api_code() == Some(&ApiCode::BadToken) && attempt < 2 => {}
                other => return other,
            }
        }
    }

    /// One request with the credential of `acting`, repeated when the wiki asks us to wait,
    /// and once with a renewed credential when the wiki refuses it.
    async fn call<T>(
        &self,
        context: &CallContext,
        api: &Url,
        acting: Acting<'_>,
        idempotent: bool,
        build: impl Fn(WikiAuth<'_>) -> Result<WireRequest, WikiError>,
        parse: impl Fn(&WireResponse) -> Result<T, WikiError>,
    ) -> WikiResult<T> {
        if !matches!(acting, Acting::Anonymous) {
            self.check_credential_host(context, api).await?;
        }
        self.call_checked(context, api, acting, idempotent, build, parse).await
    }

    /// [`WikiClient::call`] once the host may get `acting`'s credential. A function of its own
    /// because the host check itself fetches the site matrix through it: one async function
    /// cannot reach itself again without boxing.
    async fn call_checked<T>(
        &self,
        context: &CallContext,
        api: &Url,
        acting: Acting<'_>,
        idempotent: bool,
        build: impl Fn(WikiAuth<'_>) -> Result<WireRequest, WikiError>,
        parse: impl Fn(&WireResponse) -> Result<T, WikiError>,
    ) -> WikiResult<T> {
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let credential = match acting {
                Acting::Staff(staff) => Some(
                    self.staff_token(context, staff, renewed)
                        .await
                        .map_err(CallError::not_sent("the staff member's wiki sign-in"))?,
                ),
                Acting::Bot => Some(
                    self.bot_cookies(context, api, renewed)
                        .await
                        .map_err(CallError::not_sent("the bot's wiki sign-in"))?,
                ),
                Acting::Anonymous => None,
            };
            let auth = match (&acting, &credential) {
                (Acting::Staff(_), Some(token)) => WikiAuth::Bearer(token),
                (Acting::Bot, Some(cookie)) => WikiAuth::Cookies(cookie),
                _ => WikiAuth::Anonymous,
            };
            let request = build(auth).map_err(CallError::Service)?;
            let authenticated = !matches!(acting, Acting::Anonymous);
            match self.channel.exchange(Service::Wiki, context, request, authenticated, &parse).await {
                Err(CallError::Service(err)) if err.is_auth_failure() && authenticated && !renewed => {
                    renewed = true;
                }
                Err(CallError::Service(err)) if attempt < MAX_ATTEMPTS && worth_waiting(&err, idempotent) => {
                    tokio::time::sleep(err.retry_after().unwrap_or(Duration::from_secs(1)).min(MAX_WAIT))
                        .await;
                }
                other => return other,
            }
        }
    }

    // === the calls the workflows use most ===

    /// Edits a page (append, or a new section) as `acting`.
    pub async fn edit(
        &self,
        context: &CallContext,
        api: &Url,
        acting: Acting<'_>,
        edit: &Edit<'_>,
    ) -> WikiResult<EditOutcome> {
        self.write(context, api, acting, |auth, csrf| build_edit(api, auth, csrf, edit), parse_edit).await
    }

    /// The files' details (SHA-1, uploader, time, URL), every version.
    pub async fn file_info(
        &self,
        context: &CallContext,
        api: &Url,
        acting: Acting<'_>,
        titles: &[&str],
    ) -> WikiResult<ImageInfoPage> {
        self.read(
            context,
            api,
            acting,
            |auth| build_imageinfo(api, auth, titles, Limit::Max, None),
            parse_imageinfo,
        )
        .await
    }

    /// The status check: the site matrix from the meta wiki, anonymously (reachable), then,
    /// when a bot account is configured, a CSRF token in the bot's session on the meta wiki
    /// (authenticated: an anonymous session gets no usable token, and a lost session logs in
    /// again).
    pub async fn check(&self, context: &CallContext) -> WikiResult<SiteMatrix> {
        let api = &self.meta_api;
        let matrix = self.site_matrix(context).await?;
        if self.bot.is_some() {
            self.read(context, api, Acting::Bot, |auth| build_csrf_token(api, auth), parse_csrf_token)
                .await?;
        }
        Ok(matrix)
    }

    /// 32 random bytes as 43 base64url characters (a PKCE verifier, an OAuth state).
    fn random_text(&self) -> Result<Zeroizing<String>, WikiError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        self.random.fill(&mut bytes[..]).map_err(|_| WikiError::InvalidInput {
            field: "OAuth state",
            reason: "the system's random number generator failed".into(),
        })?;
        Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(&bytes[..])))
    }
}

/// Whether waiting and repeating can help, and duplicates nothing.
fn worth_waiting(err: &WikiError, idempotent: bool) -> bool {
    match err {
        WikiError::Unavailable { .. } => idempotent,
        other => other.is_retryable() && other.retry_after().is_none_or(|wait| wait <= MAX_WAIT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started_at(started: Instant) -> Pending {
        Pending {
            state: Zeroizing::new("state".into()),
            verifier: Zeroizing::new("verifier".into()),
            started,
        }
    }

    #[test]
    fn a_started_authorization_completes_only_within_ten_minutes_once_and_for_its_starter() {
        let started = Instant::now();
        let minutes = |m: u64| started + Duration::from_secs(m * 60);
        let mut pending = HashMap::from([("dmca-agent".to_owned(), started_at(started))]);
        // Another staff member presenting the callback finds nothing, and takes nothing away.
        assert!(take_live(&mut pending, "cp-agent", minutes(1)).is_none());
        assert!(pending.contains_key("dmca-agent"));
        // Its starter, within ten minutes: once.
        assert!(take_live(&mut pending, "dmca-agent", minutes(9)).is_some());
        assert!(take_live(&mut pending, "dmca-agent", minutes(9)).is_none(), "single use");
        // From ten minutes on it is refused (and spent), so a late callback cannot complete it.
        pending.insert("dmca-agent".to_owned(), started_at(started));
        assert!(take_live(&mut pending, "dmca-agent", minutes(10)).is_none());
        assert!(pending.is_empty(), "the expired authorization is spent");
        assert!(started_at(started).is_live_at(minutes(10) - Duration::from_millis(1)));
        assert!(!started_at(started).is_live_at(minutes(10)));
    }
}
