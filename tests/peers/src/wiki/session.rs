//! Who is calling (an OAuth bearer, a session cookie, or nobody), the tokens derived from it,
//! and the modules that change it: `action=login` with bot passwords, `action=logout`, and
//! `meta=tokens`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::Config;
use super::api::{ApiError, Ctx, ErrorFormat};
use super::data::{Session, State, canonical_user, rights_of, rights_under_grants};
use crate::request::PeerRequest;

/// The session cookie's name.
pub(super) const COOKIE: &str = "wikisession";

/// How the caller authenticated.
#[derive(Clone, Debug)]
pub(super) enum Auth {
    Anonymous,
    Session(String),
    Bearer(String),
}

/// The caller of one request.
#[derive(Clone, Debug)]
pub(super) struct Caller {
    /// The user name, `None` when anonymous.
    pub(super) user: Option<String>,
    pub(super) userid: u64,
    pub(super) groups: Vec<String>,
    pub(super) rights: BTreeSet<String>,
    pub(super) auth: Auth,
}

impl Caller {
    pub(super) fn anonymous() -> Caller {
        Caller {
            user: None,
            userid: 0,
            groups: vec!["*".into()],
            rights: rights_of(&["*".to_owned()]),
            auth: Auth::Anonymous,
        }
    }

    pub(super) fn can(&self, right: &str) -> bool {
        self.rights.contains(right)
    }

    /// The name edits are attributed to.
    pub(super) fn name(&self) -> String {
        self.user.clone().unwrap_or_else(|| "127.0.0.1".into())
    }

    pub(super) fn auth_name(&self) -> &'static str {
        match (&self.auth, &self.user) {
            (Auth::Bearer(_), _) => "oauth",
            (Auth::Session(_), Some(_)) => "session",
            _ => "anonymous",
        }
    }

    /// Whether the caller may see a field hidden by revision deletion (`bits` are the item's
    /// bits, `field` the one asked about).
    pub(super) fn can_see(&self, bits: u8, field: u8) -> bool {
        if bits & field == 0 {
            return true;
        }
        if bits & super::data::SUPPRESSED != 0 {
            self.can("suppressrevision") || self.can("viewsuppressed")
        } else if field == super::data::HIDE_CONTENT {
            self.can("deletedtext")
        } else {
            self.can("deletedhistory")
        }
    }
}

/// The caller a user has when acting through a session (all of the user's rights) or through
/// OAuth (the rights the grants allow).
pub(super) fn caller_for(state: &State, user: &str, auth: Auth, grants: Option<&[String]>) -> Caller {
    let groups = state.groups_of(user);
    let all = rights_of(&groups);
    let rights = match grants {
        Some(grants) => rights_under_grants(&all, grants),
        None => all,
    };
    Caller { user: Some(user.to_owned()), userid: state.user_id(user), groups, rights, auth }
}

/// Finds the caller: a bearer token (which must be valid), else the session cookie, else
/// nobody. Returns the caller and the session the request carried, if it is known.
pub(super) fn identify(state: &State, request: &PeerRequest) -> Result<(Caller, Option<String>), ApiError> {
    if let Some(token) = bearer(request) {
        return match state.access_tokens.get(&token) {
            Some(grant) if grant.expires > Instant::now() => {
                let caller = caller_for(state, &grant.user, Auth::Bearer(token.clone()), Some(&grant.grants));
                Ok((caller, None))
            }
            _ => Err(ApiError::new(
                "mwoauth-invalid-authorization",
                "The authorization headers in your request are not valid: Invalid access token",
            )),
        };
    }
    let Some(id) = session_cookie(request).filter(|id| state.sessions.contains_key(id)) else {
        return Ok((Caller::anonymous(), None));
    };
    let caller = match state.sessions.get(&id).and_then(|s| s.user.clone()) {
        Some(user) => caller_for(state, &user, Auth::Session(id.clone()), None),
        None => Caller { auth: Auth::Session(id.clone()), ..Caller::anonymous() },
    };
    Ok((caller, Some(id)))
}

/// The bearer token of an `Authorization: Bearer …` header.
pub(super) fn bearer(request: &PeerRequest) -> Option<String> {
    let header = request.header("authorization")?.trim();
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

fn session_cookie(request: &PeerRequest) -> Option<String> {
    request
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
}

/// The `Set-Cookie` value for a session.
pub(super) fn cookie(id: &str) -> String {
    if id.is_empty() {
        format!("{COOKIE}=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; path=/; secure; HttpOnly")
    } else {
        format!("{COOKIE}={id}; path=/; secure; HttpOnly")
    }
}

/// A token derived from a secret: 32 hex digits and `+\`.
fn derive(kind: &str, key: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("simulated wiki token {kind} {key}").as_bytes());
    let mut hex = crate::request::hex(&digest);
    hex.truncate(32);
    format!("{hex}+\\")
}

/// The caller's CSRF token (`+\` when anonymous).
pub(super) fn csrf_token(caller: &Caller) -> String {
    match (&caller.auth, &caller.user) {
        (Auth::Bearer(token), _) => derive("csrf", token),
        (Auth::Session(id), Some(_)) => derive("csrf", id),
        _ => "+\\".to_owned(),
    }
}

/// Another type of token (`watch`, `patrol` …), tied to the caller like the CSRF token.
fn typed_token(caller: &Caller, kind: &str) -> String {
    match (&caller.auth, &caller.user) {
        (Auth::Bearer(token), _) => derive(kind, token),
        (Auth::Session(id), Some(_)) => derive(kind, id),
        _ => "+\\".to_owned(),
    }
}

fn login_token(session: &str) -> String {
    derive("login", session)
}

/// Opens a session if the request has none (the answer will set the cookie).
fn ensure_session(state: &mut State, ctx: &mut Ctx) -> String {
    if let Some(id) = &ctx.session {
        return id.clone();
    }
    let id = state.mint("session", 32);
    state.sessions.insert(id.clone(), Session::default());
    ctx.cookie = Some(id.clone());
    ctx.session = Some(id.clone());
    if let Auth::Anonymous = ctx.caller.auth {
        ctx.caller.auth = Auth::Session(id.clone());
    }
    id
}

/// `meta=tokens`.
pub(super) fn tokens(state: &mut State, ctx: &mut Ctx) -> Value {
    const TYPES: [&str; 7] = ["csrf", "login", "watch", "patrol", "rollback", "userrights", "createaccount"];
    let mut types = ctx.known_values("query+tokens", "type", &TYPES);
    if ctx.params.raw("type").is_none() {
        types.push("csrf".into());
    }
    // Journalled so that a test can count the tokens handed out (a `badtoken` retry takes one).
    ctx.note("tokens", json!(types));
    let mut tokens = Map::new();
    for kind in types {
        let value = match kind.as_str() {
            "csrf" => csrf_token(&ctx.caller),
            "login" | "createaccount" => {
                let id = ensure_session(state, ctx);
                if let Some(session) = state.sessions.get_mut(&id) {
                    session.login_token_issued = true;
                }
                login_token(&id)
            }
            other => typed_token(&ctx.caller, other),
        };
        tokens.insert(format!("{kind}token"), json!(value));
    }
    Value::Object(tokens)
}

/// `action=login` with a bot password (or, deprecated, the main account's password).
pub(super) fn login(
    config: &Config,
    state: &mut State,
    ctx: &mut Ctx,
) -> Result<Map<String, Value>, ApiError> {
    let in_query: Vec<&str> =
        ["lgpassword", "lgtoken"].into_iter().filter(|p| ctx.params.in_query(p)).collect();
    if !in_query.is_empty() {
        let plural = if in_query.len() > 1 { "parameters were" } else { "parameter was" };
        return Err(ApiError::new(
            "mustpostparams",
            &format!(
                "The following {plural} found in the query string, but must be in the POST body: {}.",
                in_query.join(", ")
            ),
        )
        .module("login"));
    }
    let name = ctx.params.get("lgname").unwrap_or("").to_owned();
    let password = ctx.params.get("lgpassword").unwrap_or("").to_owned();
    let token = ctx.params.get("lgtoken").unwrap_or("").to_owned();
    ctx.params.get("lgdomain");
    ctx.note("login_as", json!(name));
    let format = ctx.format;
    let reason = |code: &str, text: &str| -> Value {
        if format == ErrorFormat::Bc { json!(text) } else { format.message(code, text, None, None) }
    };
    let mut result = Map::new();
    if let Auth::Bearer(_) = ctx.caller.auth {
        result.insert("result".into(), json!("Aborted"));
        result.insert(
            "reason".into(),
            reason("api-login-fail-badsessionprovider", "Cannot log in when using OAuth."),
        );
        return Ok(wrap("login", result));
    }
    let had_session = ctx.session.clone();
    let id = ensure_session(state, ctx);
    let token_was_new =
        had_session.is_none() || state.sessions.get(&id).is_none_or(|s| !s.login_token_issued);
    if let Some(session) = state.sessions.get_mut(&id) {
        session.login_token_issued = true;
    }
    if token.is_empty() {
        result.insert("result".into(), json!("NeedToken"));
        result.insert("token".into(), json!(login_token(&id)));
        ctx.warn_with(
            "login",
            "deprecation",
            "Fetching a token via \"action=login\" is deprecated. Use \"action=query&meta=tokens&type=login\" instead.",
            Some(json!({"feature": "action=login&!lgtoken"})),
        );
        ctx.warn("main", "deprecation-help", MAILING_LIST);
        ctx.note("result", json!("NeedToken"));
        return Ok(wrap("login", result));
    }
    if token_was_new {
        result.insert("result".into(), json!("Failed"));
        result.insert(
            "reason".into(),
            reason("sessionlost", "Cannot continue login. Your session most likely timed out."),
        );
        ctx.note("result", json!("Failed: sessionlost"));
        return Ok(wrap("login", result));
    }
    if token != login_token(&id) {
        result.insert("result".into(), json!("WrongToken"));
        ctx.note("result", json!("WrongToken"));
        return Ok(wrap("login", result));
    }
    let throttle_key = canonical_user(&name).to_lowercase();
    let now = Instant::now();
    let failures = state.login_failures.entry(throttle_key.clone()).or_default();
    failures.retain(|at| now.duration_since(*at) < Duration::from_secs(300));
    if failures.len() >= 5 {
        result.insert("result".into(), json!("Failed"));
        result.insert(
            "reason".into(),
            reason(
                "login-throttled",
                "You have made too many recent login attempts. Please wait 5 minutes before trying again.",
            ),
        );
        ctx.note("result", json!("Failed: login-throttled"));
        return Ok(wrap("login", result));
    }
    let user = match name.split_once('@') {
        Some((user, bot)) => {
            let wanted = format!("{}@{bot}", canonical_user(user));
            let ok = config.bot_passwords.iter().any(|(login, secret)| {
                let stored = match login.split_once('@') {
                    Some((u, b)) => format!("{}@{b}", canonical_user(u)),
                    None => login.clone(),
                };
                stored == wanted && *secret == password
            });
            ok.then(|| canonical_user(user))
        }
        None => {
            let user = canonical_user(&name);
            let ok = state.user(&user).is_some()
                && config.bot_passwords.iter().any(|(login, secret)| {
                    canonical_user(login.split('@').next().unwrap_or("")) == user && *secret == password
                });
            if ok {
                ctx.warn_with(
                    "login",
                    "deprecation",
                    "Main-account login via \"action=login\" is deprecated and may stop working without warning. To continue login with \"action=login\", see Special:BotPasswords. To safely continue using main-account login, see \"action=clientlogin\".",
                    Some(json!({"feature": "main-account-login"})),
                );
                ctx.warn("main", "deprecation-help", MAILING_LIST);
                ctx.note("main_account", json!(true));
            }
            ok.then_some(user)
        }
    };
    let Some(user) = user else {
        state.login_failures.entry(throttle_key).or_default().push(now);
        result.insert("result".into(), json!("Failed"));
        result.insert(
            "reason".into(),
            reason("wrongpassword", "Incorrect username or password entered. Please try again."),
        );
        ctx.note("result", json!("Failed: wrongpassword"));
        return Ok(wrap("login", result));
    };
    state.login_failures.remove(&throttle_key);
    // A successful login moves the session to a new id: the old cookie and its tokens die.
    state.sessions.remove(&id);
    let new_id = state.mint("session", 32);
    state.sessions.insert(new_id.clone(), Session { user: Some(user.clone()), login_token_issued: false });
    ctx.cookie = Some(new_id.clone());
    ctx.session = Some(new_id.clone());
    ctx.caller = caller_for(state, &user, Auth::Session(new_id), None);
    result.insert("result".into(), json!("Success"));
    result.insert("lguserid".into(), json!(state.user_id(&user)));
    result.insert("lgusername".into(), json!(user));
    ctx.note("result", json!("Success"));
    Ok(wrap("login", result))
}

/// `action=logout`: ends the session.
pub(super) fn logout(state: &mut State, ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    match ctx.caller.auth.clone() {
        Auth::Bearer(_) => {
            Err(ApiError::new("cannotlogout", "Cannot log out when using OAuth.").module("logout"))
        }
        Auth::Session(id) => {
            state.sessions.remove(&id);
            ctx.cookie = Some(String::new());
            Ok(Map::new())
        }
        Auth::Anonymous => Ok(Map::new()),
    }
}

const MAILING_LIST: &str = "Subscribe to the mediawiki-api-announce mailing list at <https://lists.wikimedia.org/postorius/lists/mediawiki-api-announce.lists.wikimedia.org/> for notice of API deprecations and breaking changes.";

pub(super) fn wrap(key: &str, value: Map<String, Value>) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert(key.into(), Value::Object(value));
    body
}
