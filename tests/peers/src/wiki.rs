//! A simulated MediaWiki as Wikimedia runs it: the Action API (`/w/api.php`) and the OAuth 2
//! endpoints of Extension:OAuth (`/w/rest.php/oauth2/…`), written from the published protocol
//! (protocols.md §4), not from Takedown's client.
//!
//! **One port serves every wiki host.** The `Host`/`:authority` says which wiki was meant
//! (`meta.wikimedia.org`, `commons.wikimedia.org`, `en.wikipedia.org` …) but all hosts share
//! one state: the same pages, files, users, sessions and tokens. The host matters in three
//! places only: URLs in answers are built on it; `meta=siteinfo` describes it; and a file
//! seeded as living on Commons (`File:Shared example.jpg`) is local on a host starting with
//! `commons.` and a foreign `imagerepository:"shared"` file everywhere else (deleting or
//! revision-deleting it there finds nothing, as on a wiki that only borrows the file).
//!
//! # Answers
//! Always `formatversion=2` JSON. A request without `format=json` **and** `formatversion=2`
//! (or `latest`) gets the error `badformat` (a simulator code: MediaWiki would answer HTML or
//! the v1 shapes, which this peer does not produce). Errors are HTTP 200 with the
//! `MediaWiki-API-Error: <code>` header, shaped by `errorformat`: `plaintext` (what Takedown
//! sends), `wikitext`, `html`, `raw` and `none` give `{"errors":[{"code","text","module",
//! "data"?}],"docref","servedby"}`; the default `bc` gives `{"error":{"code","info",…data},
//! "servedby"}`. Warnings follow the same format (`unrecognizedparams` for parameters no module
//! read, deprecations). The checks run in MediaWiki's order: format, the session or bearer
//! (`mwoauth-invalid-authorization`), `action` (`badvalue`), asserts (`assertuserfailed`,
//! `assertbotfailed`, `assertanonfailed`, `assertnameduserfailed`), POST (`mustbeposted`),
//! the token (`notoken`, `mustpostparams` when it is in the query string, `badtoken`),
//! read-only mode (`readonly`), then `maxlag`.
//!
//! Deliberate strictness: a write (`edit`, `delete`, `revisiondelete`) by an anonymous caller
//! is refused with `assertuserfailed` even without `assert=user` (MediaWiki would save it as
//! an IP edit). Logged-in writes without `assert=user` proceed; the journal lists the
//! parameters present, so tests can check `assert` was sent.
//!
//! `maxlag`: the simulated replication lag is 0 seconds unless set with [`Wiki::set_lag`]
//! (also in the snapshot as `lag`); a request whose `maxlag` is below it gets error `maxlag`
//! (data `lag`, `type`, `host`) with `Retry-After: max(maxlag, 5)` and `X-Database-Lag`.
//! [`Wiki::set_read_only`] makes writes fail with `readonly`.
//!
//! # OAuth 2
//! `GET /w/rest.php/oauth2/authorize`: `response_type=code`, the registered `client_id`, an
//! absolute http(s) `redirect_uri` (any is accepted: the registered callback is not in
//! [`crate::Credentials`]), `code_challenge` with `code_challenge_method=S256` (PKCE is
//! mandatory here and `plain` is refused — stricter than Wikimedia); `scope` is trimmed to
//! known grants (empty means every grant of the consumer). The staff member (the first of
//! `wiki_users`) approves at once: `302` to `redirect_uri?code=…&state=…`. A bad client or
//! redirect URI gives an HTML error page (400); other errors redirect with `error=`.
//! `POST /w/rest.php/oauth2/access_token` takes only `application/x-www-form-urlencoded`
//! (anything else: 400 `invalid_request`); client credentials in the body or HTTP Basic
//! (wrong: 401 `invalid_client`); `authorization_code` (single-use code living 10 minutes,
//! same `redirect_uri` else `invalid_request` as in league/oauth2-server, verifier hashing to
//! the challenge else `invalid_grant`) and `refresh_token` (the old refresh token and its
//! access token are revoked) grants; `client_credentials` gives `unauthorized_client` (the
//! consumer is not owner-only). Tokens are JWT-shaped (not signed with a real key), live
//! 3600 s (a test may shorten that, [`crate::Peers::set_token_lifetime`], or end them at once:
//! [`crate::Peers::expire_access_tokens`] as if the hour had passed,
//! [`crate::Peers::revoke_oauth_grants`] as if the user withdrew the grant). `GET /w/rest.php/oauth2/resource/profile` with the bearer gives the profile; no
//! header: 401 `access_denied`; a bad or expired token: 403. A bad bearer on api.php gives
//! `mwoauth-invalid-authorization`. An OAuth caller's rights are the user's rights limited by
//! the grants (a simplified grant-to-rights table, see `data.rs`).
//!
//! # Bot passwords and sessions
//! `action=query&meta=tokens&type=login` opens a session (`Set-Cookie: wikisession=…; path=/;
//! secure; HttpOnly`) and gives `logintoken`. `action=login` (POST; `lgpassword`/`lgtoken` in
//! the query string → `mustpostparams`): no token → `NeedToken` (+ deprecation warning); no
//! session cookie (or no login token issued in it) → `Failed` `sessionlost`; a different token
//! → `WrongToken`; `User@Bot` with its password → `Success` and a **new** session id (the old
//! cookie and its CSRF token stop working, as after MediaWiki's login); a wrong password →
//! `Failed` `wrongpassword`; five failures for one name within 5 minutes → `Failed`
//! `login-throttled`; a bearer caller → `Aborted`. A main-account login (`lgname` without `@`)
//! succeeds when the password is one of that user's bot passwords (the simulated account
//! password), with MediaWiki's `deprecation` warning whose `data.feature` is
//! `main-account-login`. `action=logout` ends the session. Bot-password sessions carry the
//! user's full rights.
//!
//! # Users and rights
//! The first of `wiki_users` is in `user`, `autoconfirmed`, `sysop` and `suppress` (delete,
//! revision deletion, suppression, editing protected pages, no captchas); every other user
//! (and a bot-password user not in `wiki_users`) is only in `user`, so a new external link in
//! its edits triggers a captcha and it cannot delete. [`Wiki::set_groups`] changes a user's
//! groups.
//!
//! # Actions
//! * `edit`: `title`/`pageid`, `text`/`appendtext`/`prependtext`, `section` (number or `new`
//!   with `sectiontitle`), `summary`, `baserevid` (stale → `editconflict`, except with
//!   `section=new`; unknown → `nosuchrevid`), `starttimestamp` (+`recreate`) → `pagedeleted`,
//!   `nocreate` → `missingtitle`, `createonly` → `articleexists`, `md5` → `badmd5`,
//!   `nosuchsection`/`invalidsection`, protected `Main Page` → `protectedpage` for callers
//!   without `editprotected`, a link to `spam.example` → `spamblacklist`, the phrase
//!   `abusefilter-test-disallow` → `abusefilter-disallowed`. A ConfirmEdit captcha
//!   (`result:"Failure"` with `captcha`) is asked when a caller without `skipcaptcha` adds an
//!   external link; **the answer is the captcha id reversed** (`cap0001` → `1000pac`); a wrong
//!   answer gets a new captcha. Identical content gives `nochange:true` without `newrevid`.
//! * `query`: `meta=tokens` (csrf, login, watch, patrol, rollback, userrights, createaccount;
//!   anonymous csrf `+\`), `meta=userinfo`, `meta=siteinfo` (general), `meta=globaluserinfo`
//!   (`missing`, `locked`, `hidden` shown only to callers with `hideuser`, merged entries with
//!   and without `groups`/`blocked`, `invaliduser`, `invaliduserid`), `prop=info`,
//!   `prop=revisions` (latest, or `rvlimit` for one page), `prop=imageinfo` (`iiprop`,
//!   `iilimit`, `iicontinue`; hidden fields omitted as MediaWiki does), `list=filearchive`
//!   (needs `deletedhistory`; `fasha1` filter), `list=exturlusage` (`euquery` without scheme,
//!   `*.` wildcard, `euprotocol`, `eunamespace` applied after the limit as in miser mode,
//!   `badquery`), `list=search` (all words over title and text, `srnamespace`, `srwhat=title`,
//!   `sroffset`, `totalhits`, `insource:"…"` as plain text).
//! * `delete`: `title`/`pageid`, `reason`, `oldimage` (`invalidoldimage` for a malformed name,
//!   `nodeleteablefile` for an unknown version), `missingtitle`, `permissiondenied`; the
//!   seeded `Big history page` is deleted by a "job": `scheduled:true`, no `logid`, a
//!   `delete-scheduled` warning. Deleting a file page moves every version to the file archive.
//! * `revisiondelete`: types `revision`, `archive`, `oldimage`, `filearchive`; `hide`/`show`
//!   overlap or both empty → `badparams`; `suppress=yes` needs `suppressrevision`; per item
//!   `revdelete-modify-missing` (e.g. an upload timestamp given instead of the archive-name
//!   prefix, or the current file version), `revdelete-hide-current`,
//!   `revdelete-modify-no-access`, and the warnings `revdelete-no-change` /
//!   `revdelete-only-restricted`. As in current MediaWiki the top-level status stays
//!   `Success` even when every item failed: clients must read each item.
//! * `sitematrix`: numeric-string keys, `count`, `specials`, flags only when true, `smtype`,
//!   `smstate`, `smlimit` with `query-continue.sitematrix.smcontinue`.
//! * `logout`. `upload` is not simulated (answered `badvalue`).
//!
//! `GET /w/index.php?title=Special:Captcha/image&wpCaptchaId=…` answers a 1×1 PNG.
//!
//! # Not simulated
//! Blocks of the acting user (`blocked`), `ratelimited`, `cascadeprotected`,
//! `mwoauth-invalid-authorization-wrong-wiki` (the consumer is valid everywhere), owner-only
//! consumers, the `plain` PKCE method, `iistart`/`iiend`, `pageids`/generators in `query`,
//! regex search, `type=logging` revision deletion, uploads, gateway 429/403/503 answers
//! (use the fault switches), formatversion=1 output.
//!
//! # Endpoint names for faults
//! `oauth2/authorize`, `oauth2/access_token`, `oauth2/profile`, `action=<name>` for api.php
//! (`action=query`, `action=edit`, `action=login`, `action=delete`, `action=revisiondelete`,
//! `action=sitematrix`, `action=logout`; `action=help` when absent), `captcha`, `other`.
//!
//! # Journal and snapshot
//! `received` gives the host, the action, the titles, the names (never values) of the
//! parameters present, the acting user and how it authenticated, the error code if any, and
//! for edits the section mode, which text parameter and its length — never tokens, passwords,
//! codes or text. [`Peer::snapshot`] gives `{"pages":[{"title","pageid","protected"?,
//! "revisions":[{"revid","user","timestamp","text","summary","hidden"}]}],"files":[…],
//! "filearchive":[…],"deleted":[…],"revision_deletions":[…],"oauth":{"codes_issued",
//! "tokens_issued","refreshes"},"sessions","lag","read_only","captchas_issued"}`.

mod admin;
mod api;
mod data;
mod edit;
mod files;
mod oauth;
mod query;
mod session;
mod sites;
#[cfg(test)]
mod tests;

use std::sync::Mutex;

use serde_json::Value;

use crate::request::{Exchange, Peer, PeerRequest, PeerResponse};
use crate::{Credentials, lock};

/// What the wiki was configured with.
pub(super) struct Config {
    /// The OAuth 2 client id and secret.
    pub(super) client_id: String,
    pub(super) client_secret: String,
    /// Bot passwords: (`User@Bot`, password).
    pub(super) bot_passwords: Vec<(String, String)>,
    /// The staff member the authorize endpoint approves for.
    pub(super) staff: String,
}

pub(crate) struct Wiki {
    config: Config,
    state: Mutex<data::State>,
}

impl Wiki {
    pub(crate) fn new(credentials: &Credentials) -> Self {
        let (client_id, client_secret) = credentials.wiki_oauth_client.clone();
        let staff = credentials.wiki_users.first().cloned().unwrap_or_else(|| "Staff member".to_owned());
        let config = Config {
            client_id,
            client_secret,
            bot_passwords: credentials.wiki_bot_passwords.clone(),
            staff: data::canonical_user(&staff),
        };
        let state = data::State::seed(&credentials.wiki_users, &config.bot_passwords);
        Self { config, state: Mutex::new(state) }
    }

    /// Sets the simulated replication lag in seconds (0 by default): requests whose `maxlag`
    /// is smaller get the `maxlag` error.
    #[cfg(test)]
    pub(crate) fn set_lag(&self, seconds: u64) {
        lock(&self.state).lag = seconds;
    }

    /// Puts the wiki in read-only mode with a reason (writes get `readonly`), or out of it.
    #[cfg(test)]
    pub(crate) fn set_read_only(&self, reason: Option<&str>) {
        lock(&self.state).read_only = reason.map(str::to_owned);
    }

    /// Replaces a user's groups (creating the account if needed); `*` and `user` are implied.
    #[cfg(test)]
    pub(crate) fn set_groups(&self, user: &str, groups: &[&str]) {
        lock(&self.state).set_groups(user, groups);
    }
}

impl Peer for Wiki {
    fn endpoint(&self, request: &PeerRequest) -> String {
        match route(request) {
            Route::Authorize => "oauth2/authorize".into(),
            Route::AccessToken => "oauth2/access_token".into(),
            Route::Profile => "oauth2/profile".into(),
            Route::Api => format!("action={}", api::action_name(request)),
            Route::Captcha => "captcha".into(),
            Route::Other => "other".into(),
        }
    }

    fn handle(&self, request: &PeerRequest) -> Exchange {
        let mut state = lock(&self.state);
        match route(request) {
            Route::Authorize => oauth::authorize(&self.config, &mut state, request),
            Route::AccessToken => oauth::access_token(&self.config, &mut state, request),
            Route::Profile => oauth::profile(&mut state, request),
            Route::Api => api::handle(&self.config, &mut state, request),
            Route::Captcha => Exchange {
                response: PeerResponse::typed(200, "image/png", PNG_1X1),
                received: serde_json::json!({"captcha": true}),
            },
            Route::Other => Exchange {
                response: PeerResponse::typed(
                    404,
                    "text/html; charset=utf-8",
                    "<!DOCTYPE html><html><head><title>Not Found</title></head><body><h1>Not Found</h1></body></html>",
                ),
                received: serde_json::json!({"unknown_path": request.path}),
            },
        }
    }

    fn snapshot(&self) -> Value {
        lock(&self.state).snapshot()
    }

    fn set_user_groups(&self, user: &str, groups: &[&str]) -> bool {
        lock(&self.state).set_groups(user, groups);
        true
    }

    fn add_file(&self, name: &str, uploader: &str, content: &[u8]) -> bool {
        lock(&self.state).add_file(name, uploader, content);
        true
    }

    fn expire_access_tokens(&self) -> bool {
        let expired = std::time::Instant::now();
        for grant in lock(&self.state).access_tokens.values_mut() {
            grant.expires = expired;
        }
        true
    }

    fn set_token_lifetime(&self, seconds: u64) -> bool {
        lock(&self.state).token_lifetime = seconds;
        true
    }

    fn revoke_oauth_grants(&self) -> bool {
        let mut state = lock(&self.state);
        state.access_tokens.clear();
        state.refresh_tokens.clear();
        true
    }
}

enum Route {
    Authorize,
    AccessToken,
    Profile,
    Api,
    Captcha,
    Other,
}

fn route(request: &PeerRequest) -> Route {
    match request.path.as_str() {
        "/w/rest.php/oauth2/authorize" => Route::Authorize,
        "/w/rest.php/oauth2/access_token" => Route::AccessToken,
        "/w/rest.php/oauth2/resource/profile" => Route::Profile,
        "/w/api.php" => Route::Api,
        "/w/index.php"
            if request
                .query_pairs()
                .iter()
                .any(|(k, v)| k == "title" && v.starts_with("Special:Captcha")) =>
        {
            Route::Captcha
        }
        _ => Route::Other,
    }
}

/// A valid 1×1 transparent PNG.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00,
    0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];
