//! Tests of the simulated wiki, with requests built directly (no network).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use super::Wiki;
use crate::Credentials;
use crate::request::{Exchange, Peer, PeerRequest};

const CLIENT_ID: &str = "takedown-client-id";
const CLIENT_SECRET: &str = "takedown-client-secret";
const STAFF_BOT: (&str, &str) = ("Staff member@takedown", "staff-bot-password-1234");
const HELPER_BOT: (&str, &str) = ("Helper@takedown", "helper-bot-password-5678");
const VERIFIER: &str = "verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
const REDIRECT: &str = "https://takedown.example.org/oauth/callback";
const COMMONS: &str = "commons.wikimedia.org:8443";
const ENWIKI: &str = "en.wikipedia.org:8443";

fn credentials() -> Credentials {
    Credentials {
        lumen_submitter_tokens: Vec::new(),
        lumen_other_tokens: Vec::new(),
        ncmec_user: (String::new(), String::new()),
        salesforce_client_id: String::new(),
        salesforce_username: String::new(),
        salesforce_public_key_der: Vec::new(),
        wiki_oauth_client: (CLIENT_ID.into(), CLIENT_SECRET.into()),
        wiki_bot_passwords: vec![
            (STAFF_BOT.0.into(), STAFF_BOT.1.into()),
            (HELPER_BOT.0.into(), HELPER_BOT.1.into()),
        ],
        wiki_users: vec!["Staff member".into(), "Helper".into()],
    }
}

fn wiki() -> Wiki {
    Wiki::new(&credentials())
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

fn request(
    method: Method,
    host: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> PeerRequest {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
        {
            map.append(name, value);
        }
    }
    PeerRequest {
        method,
        path: path.into(),
        query: query.into(),
        headers: map,
        authority: host.into(),
        body,
        form: None,
    }
}

/// An answer, decoded.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    json: Value,
    body: String,
    received: Value,
}

impl Answer {
    fn from(exchange: Exchange) -> Answer {
        let body = String::from_utf8_lossy(&exchange.response.body).into_owned();
        Answer {
            status: exchange.response.status,
            headers: exchange.response.headers,
            json: serde_json::from_str(&body).unwrap_or(Value::Null),
            body,
            received: exchange.received,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first error's code (plaintext format), or `""`.
    fn error(&self) -> &str {
        self.json["errors"][0]["code"].as_str().unwrap_or("")
    }
}

/// A client of api.php keeping its cookie and, optionally, a bearer token.
struct Client<'a> {
    wiki: &'a Wiki,
    host: String,
    cookie: Option<String>,
    bearer: Option<String>,
}

impl<'a> Client<'a> {
    fn new(wiki: &'a Wiki) -> Client<'a> {
        Client { wiki, host: COMMONS.into(), cookie: None, bearer: None }
    }

    fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(cookie) = &self.cookie {
            headers.push(("cookie", format!("other=1; wikisession={cookie}")));
        }
        if let Some(token) = &self.bearer {
            headers.push(("authorization", format!("Bearer {token}")));
        }
        headers
    }

    fn send(&mut self, request: PeerRequest) -> Answer {
        let answer = Answer::from(self.wiki.handle(&request));
        if let Some(set) = answer.header("set-cookie") {
            let value = set.split(';').next().unwrap_or("").trim_start_matches("wikisession=").to_owned();
            self.cookie = if value == "deleted" { None } else { Some(value) };
        }
        answer
    }

    fn with_defaults(params: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = vec![
            ("format".into(), "json".into()),
            ("formatversion".into(), "2".into()),
            ("errorformat".into(), "plaintext".into()),
        ];
        all.extend(params.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        all
    }

    /// GET api.php with format=json, formatversion=2, errorformat=plaintext and `params`.
    fn get(&mut self, params: &[(&str, &str)]) -> Answer {
        let all = Self::with_defaults(params);
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.get_raw(&encode(&pairs))
    }

    fn get_raw(&mut self, query: &str) -> Answer {
        let headers = self.headers();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let request = request(Method::GET, &self.host, "/w/api.php", query, &headers, Bytes::new());
        self.send(request)
    }

    /// POST api.php with the defaults in the query string and `params` in the body.
    fn post(&mut self, params: &[(&str, &str)]) -> Answer {
        self.post_split(&[], params)
    }

    /// POST with some parameters in the query string.
    fn post_split(&mut self, query: &[(&str, &str)], body: &[(&str, &str)]) -> Answer {
        let all = Self::with_defaults(query);
        let pairs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut headers = self.headers();
        headers.push(("content-type", "application/x-www-form-urlencoded".into()));
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let request = request(
            Method::POST,
            &self.host,
            "/w/api.php",
            &encode(&pairs),
            &headers,
            Bytes::from(encode(body)),
        );
        self.send(request)
    }

    fn csrf(&mut self) -> String {
        let answer = self.get(&[("action", "query"), ("meta", "tokens")]);
        answer.json["query"]["tokens"]["csrftoken"].as_str().unwrap_or("").to_owned()
    }

    /// Logs in with a bot password; panics (test failure) unless it succeeds.
    fn login(&mut self, (name, password): (&str, &str)) {
        let token = self.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]);
        let token = token.json["query"]["tokens"]["logintoken"].as_str().unwrap_or("").to_owned();
        let answer = self.post(&[
            ("action", "login"),
            ("lgname", name),
            ("lgpassword", password),
            ("lgtoken", &token),
        ]);
        assert_eq!(answer.json["login"]["result"], "Success", "{}", answer.body);
    }

    fn edit(&mut self, params: &[(&str, &str)]) -> Answer {
        let token = self.csrf();
        let mut all: Vec<(&str, &str)> = vec![("action", "edit"), ("assert", "user")];
        all.extend_from_slice(params);
        all.push(("token", &token));
        self.post(&all)
    }
}

fn challenge(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn authorize(wiki: &Wiki, params: &[(&str, &str)]) -> Answer {
    let request = request(
        Method::GET,
        "meta.wikimedia.org",
        "/w/rest.php/oauth2/authorize",
        &encode(params),
        &[],
        Bytes::new(),
    );
    Answer::from(wiki.handle(&request))
}

fn good_authorize_params(state: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".into()),
        ("client_id", CLIENT_ID.into()),
        ("redirect_uri", REDIRECT.into()),
        ("state", state.into()),
        ("code_challenge", challenge(VERIFIER)),
        ("code_challenge_method", "S256".into()),
    ]
}

fn code_from(answer: &Answer) -> String {
    let location = answer.header("location").unwrap_or("");
    let url = url::Url::parse(location).unwrap_or_else(|_| url::Url::parse("https://x.invalid/").unwrap());
    url.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).unwrap_or_default()
}

fn token_request(wiki: &Wiki, content_type: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut all = vec![("content-type", content_type)];
    all.extend_from_slice(headers);
    let request = request(
        Method::POST,
        "meta.wikimedia.org",
        "/w/rest.php/oauth2/access_token",
        "",
        &all,
        Bytes::from(body.to_owned()),
    );
    Answer::from(wiki.handle(&request))
}

/// Runs the whole OAuth flow and returns the token answer.
fn oauth_tokens(wiki: &Wiki) -> Answer {
    let params = good_authorize_params("xyz");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let code = code_from(&authorize(wiki, &params));
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    token_request(wiki, "application/x-www-form-urlencoded", &body, &[])
}

fn page_revisions(wiki: &Wiki, title: &str) -> Vec<Value> {
    let snapshot = wiki.snapshot();
    snapshot["pages"]
        .as_array()
        .and_then(|pages| pages.iter().find(|p| p["title"] == title))
        .and_then(|p| p["revisions"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn wiki_refuses_requests_without_json_formatversion_2() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let answer = client.get_raw(&encode(&[
        ("action", "query"),
        ("meta", "tokens"),
        ("format", "json"),
        ("errorformat", "plaintext"),
    ]));
    assert_eq!(answer.status, 200);
    assert_eq!(answer.error(), "badformat");
    assert_eq!(answer.header("mediawiki-api-error"), Some("badformat"));
    assert!(answer.json["docref"].is_string() && answer.json["servedby"].is_string());
    // The default bc error format.
    let answer = client.get_raw(&encode(&[("action", "query"), ("format", "json")]));
    assert_eq!(answer.json["error"]["code"], "badformat");
    assert!(answer.json["error"]["info"].is_string());
    // formatversion=latest is accepted.
    let answer = client.get_raw(&encode(&[
        ("action", "query"),
        ("meta", "tokens"),
        ("format", "json"),
        ("formatversion", "latest"),
    ]));
    assert_eq!(answer.json["query"]["tokens"]["csrftoken"], "+\\");
}

#[test]
fn wiki_reports_unknown_actions_and_unused_parameters() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let answer = client.get(&[("action", "frobnicate")]);
    assert_eq!(answer.error(), "badvalue");
    assert_eq!(answer.json["errors"][0]["module"], "main");
    let answer = client.get(&[("action", "upload")]);
    assert_eq!(answer.error(), "badvalue");
    let answer = client.get(&[("action", "query"), ("meta", "tokens"), ("bogus", "1")]);
    assert_eq!(answer.json["query"]["tokens"]["csrftoken"], "+\\");
    assert_eq!(answer.json["warnings"][0]["code"], "unrecognizedparams");
    assert_eq!(answer.json["warnings"][0]["module"], "main");
    assert!(answer.header("mediawiki-api-error").is_none());
    // bc warnings shape.
    let answer = client.get_raw(&encode(&[
        ("action", "query"),
        ("format", "json"),
        ("formatversion", "2"),
        ("bogus", "1"),
    ]));
    assert!(answer.json["warnings"]["main"]["warnings"].as_str().unwrap_or("").contains("bogus"));
}

#[test]
fn wiki_maxlag_and_read_only() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    assert_eq!(wiki.snapshot()["lag"], 0);
    assert!(
        client.get(&[("action", "query"), ("meta", "tokens"), ("maxlag", "5")]).json["query"].is_object()
    );
    wiki.set_lag(7);
    assert_eq!(wiki.snapshot()["lag"], 7);
    let answer = client.get(&[("action", "query"), ("meta", "tokens"), ("maxlag", "5")]);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.error(), "maxlag");
    assert_eq!(answer.json["errors"][0]["data"]["lag"], 7);
    assert_eq!(answer.header("retry-after"), Some("5"));
    assert_eq!(answer.header("x-database-lag"), Some("7"));
    assert_eq!(answer.header("mediawiki-api-error"), Some("maxlag"));
    let answer = client.get(&[("action", "query"), ("meta", "tokens"), ("maxlag", "6")]);
    assert_eq!(answer.header("retry-after"), Some("6"));
    assert!(
        client.get(&[("action", "query"), ("meta", "tokens"), ("maxlag", "7")]).json["query"].is_object()
    );
    assert!(client.get(&[("action", "query"), ("meta", "tokens")]).json["query"].is_object());
    wiki.set_lag(0);

    client.login(STAFF_BOT);
    wiki.set_read_only(Some("Database maintenance"));
    let answer = client.edit(&[("title", "Sandbox"), ("appendtext", " more")]);
    assert_eq!(answer.error(), "readonly");
    assert_eq!(answer.json["errors"][0]["data"]["readonlyreason"], "Database maintenance");
    wiki.set_read_only(None);
    assert_eq!(
        client.edit(&[("title", "Sandbox"), ("appendtext", " more")]).json["edit"]["result"],
        "Success"
    );
}

#[test]
fn wiki_bot_password_login_gives_a_session_that_edits() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let answer = client.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]);
    let set_cookie = answer.header("set-cookie").unwrap_or("").to_owned();
    assert!(
        set_cookie.starts_with("wikisession=")
            && set_cookie.contains("HttpOnly")
            && set_cookie.contains("secure")
    );
    let token = answer.json["query"]["tokens"]["logintoken"].as_str().unwrap_or("").to_owned();
    assert!(token.ends_with("+\\") && token.len() > 2);
    let before = client.cookie.clone();
    let answer = client.post(&[
        ("action", "login"),
        ("lgname", STAFF_BOT.0),
        ("lgpassword", STAFF_BOT.1),
        ("lgtoken", &token),
    ]);
    assert_eq!(answer.json["login"]["result"], "Success", "{}", answer.body);
    assert_eq!(answer.json["login"]["lgusername"], "Staff member");
    assert_eq!(answer.json["login"]["lguserid"], 1);
    assert!(answer.json.get("warnings").is_none());
    assert_ne!(client.cookie, before, "login moves the session to a new id");
    let csrf = client.csrf();
    assert!(csrf.ends_with("+\\") && csrf.len() == 34);
    let userinfo = client.get(&[("action", "query"), ("meta", "userinfo"), ("uiprop", "groups|rights")]);
    assert_eq!(userinfo.json["query"]["userinfo"]["name"], "Staff member");
    assert!(
        userinfo.json["query"]["userinfo"]["rights"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("suppressrevision")))
    );
    let answer = client.edit(&[
        ("title", "User talk:Example uploader"),
        ("section", "new"),
        ("sectiontitle", "Notice"),
        ("text", "A file was removed."),
    ]);
    assert_eq!(answer.json["edit"]["result"], "Success", "{}", answer.body);
    // The pre-login cookie is dead.
    let mut old = Client { cookie: before, ..Client::new(&wiki) };
    assert_eq!(old.get(&[("action", "query"), ("meta", "userinfo")]).json["query"]["userinfo"]["anon"], true);
    assert_eq!(wiki.snapshot()["sessions"], 1);
}

#[test]
fn wiki_login_failures() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    // No token at all: NeedToken, a session, a deprecation warning.
    let answer = client.post(&[("action", "login"), ("lgname", STAFF_BOT.0), ("lgpassword", STAFF_BOT.1)]);
    assert_eq!(answer.json["login"]["result"], "NeedToken");
    assert!(answer.json["login"]["token"].as_str().is_some_and(|t| t.ends_with("+\\")));
    assert_eq!(answer.json["warnings"][0]["code"], "deprecation");
    assert!(client.cookie.is_some());
    // A token that is not this session's.
    let answer = client.post(&[
        ("action", "login"),
        ("lgname", STAFF_BOT.0),
        ("lgpassword", STAFF_BOT.1),
        ("lgtoken", "abc+\\"),
    ]);
    assert_eq!(answer.json["login"]["result"], "WrongToken");
    // Without the cookie: sessionlost.
    let token = client.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]).json["query"]["tokens"]["logintoken"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mut cookieless = Client::new(&wiki);
    let answer = cookieless.post(&[
        ("action", "login"),
        ("lgname", STAFF_BOT.0),
        ("lgpassword", STAFF_BOT.1),
        ("lgtoken", &token),
    ]);
    assert_eq!(answer.json["login"]["result"], "Failed");
    assert_eq!(answer.json["login"]["reason"]["code"], "sessionlost");
    // Wrong password, then throttling.
    for _ in 0..5 {
        let answer = client.post(&[
            ("action", "login"),
            ("lgname", STAFF_BOT.0),
            ("lgpassword", "wrong"),
            ("lgtoken", &token),
        ]);
        assert_eq!(answer.json["login"]["reason"]["code"], "wrongpassword");
    }
    let answer = client.post(&[
        ("action", "login"),
        ("lgname", STAFF_BOT.0),
        ("lgpassword", STAFF_BOT.1),
        ("lgtoken", &token),
    ]);
    assert_eq!(answer.json["login"]["reason"]["code"], "login-throttled");
    // The password in the query string.
    let answer = client.post_split(
        &[("lgpassword", "x")],
        &[("action", "login"), ("lgname", HELPER_BOT.0), ("lgtoken", &token)],
    );
    assert_eq!(answer.error(), "mustpostparams");
    // A GET login.
    assert_eq!(client.get(&[("action", "login")]).error(), "mustbeposted");
    // bc format: the reason is a string.
    let mut bc = Client::new(&wiki);
    let request = request(
        Method::POST,
        COMMONS,
        "/w/api.php",
        "format=json&formatversion=2",
        &[("content-type", "application/x-www-form-urlencoded")],
        Bytes::from(encode(&[
            ("action", "login"),
            ("lgname", HELPER_BOT.0),
            ("lgpassword", "x"),
            ("lgtoken", "t+\\"),
        ])),
    );
    let answer = bc.send(request);
    assert!(answer.json["login"]["reason"].is_string());
}

#[test]
fn wiki_main_account_login_succeeds_with_a_deprecation_warning() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let token = client.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]).json["query"]["tokens"]["logintoken"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let answer = client.post(&[
        ("action", "login"),
        ("lgname", "Helper"),
        ("lgpassword", HELPER_BOT.1),
        ("lgtoken", &token),
    ]);
    assert_eq!(answer.json["login"]["result"], "Success");
    let warning = &answer.json["warnings"][0];
    assert_eq!(warning["code"], "deprecation");
    assert_eq!(warning["data"]["feature"], "main-account-login");
    assert!(warning["text"].as_str().is_some_and(|t| t.contains("Main-account login")));
}

#[test]
fn wiki_anonymous_tokens_asserts_and_write_checks() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    assert_eq!(client.csrf(), "+\\");
    let answer = client.get(&[("action", "query"), ("meta", "tokens"), ("assert", "user")]);
    assert_eq!(answer.error(), "assertuserfailed");
    let answer = client.post(&[("action", "edit"), ("title", "Sandbox"), ("text", "x"), ("token", "+\\")]);
    assert_eq!(answer.error(), "assertuserfailed", "anonymous writes are refused even without assert=user");
    assert!(page_revisions(&wiki, "Sandbox").iter().all(|r| r["user"] != "127.0.0.1"));

    client.login(HELPER_BOT);
    assert_eq!(client.get(&[("action", "query"), ("assert", "bot")]).error(), "assertbotfailed");
    assert_eq!(client.get(&[("action", "query"), ("assert", "anon")]).error(), "assertanonfailed");
    assert_eq!(
        client.get(&[("action", "query"), ("assertuser", "Someone else")]).error(),
        "assertnameduserfailed"
    );
    assert!(client.get(&[("action", "query"), ("assertuser", "Helper")]).json["batchcomplete"] == true);
    let token = client.csrf();
    let answer = client.get(&[("action", "edit"), ("title", "Sandbox"), ("text", "x"), ("token", &token)]);
    assert_eq!(answer.error(), "mustbeposted");
    let answer =
        client.post_split(&[("token", &token)], &[("action", "edit"), ("title", "Sandbox"), ("text", "x")]);
    assert_eq!(answer.error(), "mustpostparams");
    let answer = client.post(&[("action", "edit"), ("title", "Sandbox"), ("text", "x")]);
    assert_eq!(answer.error(), "notoken");
    let answer = client.post(&[("action", "edit"), ("title", "Sandbox"), ("text", "x"), ("token", "+\\")]);
    assert_eq!(answer.error(), "badtoken");
    assert_eq!(answer.json["errors"][0]["module"], "edit");
}

#[test]
fn wiki_oauth_flow_gives_a_bearer_that_edits_and_refreshes() {
    let wiki = wiki();
    let params = good_authorize_params("state-123");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = authorize(&wiki, &params);
    assert_eq!(answer.status, 302);
    let location = answer.header("location").unwrap_or("");
    assert!(location.starts_with(REDIRECT) && location.contains("state=state-123"), "{location}");
    let code = code_from(&answer);
    assert!(!code.is_empty());
    assert!(!answer.received.to_string().contains(&code), "the journal never holds the code");

    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    let answer = token_request(&wiki, "application/x-www-form-urlencoded", &body, &[]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json["token_type"], "Bearer");
    assert_eq!(answer.json["expires_in"], 3600);
    let access = answer.json["access_token"].as_str().unwrap_or("").to_owned();
    let refresh = answer.json["refresh_token"].as_str().unwrap_or("").to_owned();
    assert_eq!(access.split('.').count(), 3, "JWT-shaped");
    assert!(!refresh.is_empty());
    assert!(
        !answer.received.to_string().contains(&access)
            && !answer.received.to_string().contains(CLIENT_SECRET)
    );
    // The code is single-use.
    let again = token_request(&wiki, "application/x-www-form-urlencoded", &body, &[]);
    assert_eq!((again.status, again.json["error"].as_str()), (400, Some("invalid_grant")));

    let profile = request(
        Method::GET,
        "meta.wikimedia.org",
        "/w/rest.php/oauth2/resource/profile",
        "",
        &[("authorization", &format!("Bearer {access}"))],
        Bytes::new(),
    );
    let profile = Answer::from(wiki.handle(&profile));
    assert_eq!(profile.status, 200);
    assert_eq!(profile.json["username"], "Staff member");
    assert_eq!(profile.json["sub"], "1");
    assert_eq!(profile.json["blocked"], false);
    assert!(profile.json["registered"].as_str().is_some_and(|r| r.len() == 14));
    assert!(profile.json["grants"].as_array().is_some_and(|g| g.contains(&json!("oversight"))));
    assert!(profile.json["rights"].as_array().is_some_and(|r| r.contains(&json!("suppressrevision"))));

    let mut client = Client { bearer: Some(access.clone()), ..Client::new(&wiki) };
    let csrf = client.csrf();
    assert!(csrf.ends_with("+\\") && csrf.len() > 2);
    let answer = client.edit(&[
        ("title", "User talk:Example uploader"),
        ("appendtext", "\n\nNotice: see https://lumendatabase.org/notices/1"),
    ]);
    assert_eq!(answer.json["edit"]["result"], "Success", "staff skip captchas: {}", answer.body);
    assert_eq!(answer.received["auth"], "oauth");
    assert_eq!(answer.received["user"], "Staff member");
    // Login through an OAuth session is aborted.
    let answer = client.post(&[
        ("action", "login"),
        ("lgname", STAFF_BOT.0),
        ("lgpassword", STAFF_BOT.1),
        ("lgtoken", "x+\\"),
    ]);
    assert_eq!(answer.json["login"]["result"], "Aborted");

    // Refresh: new tokens, the old refresh and access tokens die.
    let body = encode(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    let answer = token_request(&wiki, "application/x-www-form-urlencoded", &body, &[]);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let new_access = answer.json["access_token"].as_str().unwrap_or("").to_owned();
    assert_ne!(new_access, access);
    let again = token_request(&wiki, "application/x-www-form-urlencoded", &body, &[]);
    assert_eq!(again.json["error"], "invalid_grant");
    assert_eq!(
        client.get(&[("action", "query"), ("meta", "tokens")]).error(),
        "mwoauth-invalid-authorization"
    );
    client.bearer = Some(new_access);
    assert!(client.csrf().len() > 2);
    let snapshot = wiki.snapshot();
    assert_eq!(snapshot["oauth"]["codes_issued"], 1);
    assert_eq!(snapshot["oauth"]["tokens_issued"], 2);
    assert_eq!(snapshot["oauth"]["refreshes"], 1);
}

#[test]
fn wiki_oauth_authorize_errors() {
    let wiki = wiki();
    let good = good_authorize_params("s");
    let with = |change: &[(&'static str, Option<&str>)]| -> Vec<(&'static str, String)> {
        let mut params: Vec<(&'static str, String)> = good.clone();
        for (key, value) in change {
            params.retain(|(k, _)| k != key);
            if let Some(value) = value {
                params.push((*key, (*value).to_owned()));
            }
        }
        params
    };
    let run = |params: Vec<(&'static str, String)>| {
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        authorize(&wiki, &pairs)
    };
    let answer = run(with(&[("client_id", Some("someone-else"))]));
    assert_eq!(answer.status, 400);
    assert!(answer.header("content-type").is_some_and(|c| c.starts_with("text/html")));
    let answer = run(with(&[("redirect_uri", None)]));
    assert_eq!(answer.status, 400);
    let answer = run(with(&[("redirect_uri", Some("not a url"))]));
    assert_eq!(answer.status, 400);
    let answer = run(with(&[("code_challenge", None)]));
    assert_eq!(answer.status, 302);
    assert!(
        answer
            .header("location")
            .is_some_and(|l| l.contains("error=invalid_request") && l.contains("state=s"))
    );
    let answer = run(with(&[("code_challenge_method", Some("plain"))]));
    assert!(answer.header("location").is_some_and(|l| l.contains("error=invalid_request")));
    let answer = run(with(&[("code_challenge", Some("short"))]));
    assert!(answer.header("location").is_some_and(|l| l.contains("error=invalid_request")));
    let answer = run(with(&[("response_type", Some("token"))]));
    assert!(answer.header("location").is_some_and(|l| l.contains("error=unsupported_response_type")));
    assert_eq!(wiki.snapshot()["oauth"]["codes_issued"], 0);
    // Scope is trimmed to known grants.
    let answer = run(with(&[("scope", Some("basic editpage nonsense"))]));
    assert_eq!(answer.received["grants"], json!(["basic", "editpage"]));
}

#[test]
fn wiki_oauth_token_endpoint_errors() {
    let wiki = wiki();
    let params = good_authorize_params("s");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let code = code_from(&authorize(&wiki, &params));
    let form = |pairs: &[(&str, &str)]| encode(pairs);
    let base = |code: &str, verifier: &str, redirect: &str| {
        form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect),
            ("code_verifier", verifier),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
    };
    let urlencoded = "application/x-www-form-urlencoded";
    // A JSON body.
    let json_body = json!({"grant_type": "authorization_code", "code": code}).to_string();
    let answer = token_request(&wiki, "application/json", &json_body, &[]);
    assert_eq!((answer.status, answer.json["error"].as_str()), (400, Some("invalid_request")));
    // Wrong secret.
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("client_id", CLIENT_ID),
        ("client_secret", "nope"),
    ]);
    let answer = token_request(&wiki, urlencoded, &body, &[]);
    assert_eq!((answer.status, answer.json["error"].as_str()), (401, Some("invalid_client")));
    // Wrong verifier, wrong redirect URI, malformed verifier, unknown code.
    let other_verifier = "another-verifier-0123456789-abcdefghijklmnopqrst";
    let answer = token_request(&wiki, urlencoded, &base(&code, other_verifier, REDIRECT), &[]);
    assert_eq!((answer.status, answer.json["error"].as_str()), (400, Some("invalid_grant")));
    let answer =
        token_request(&wiki, urlencoded, &base(&code, VERIFIER, "https://elsewhere.example/cb"), &[]);
    assert_eq!(answer.json["error"], "invalid_request");
    let answer = token_request(&wiki, urlencoded, &base(&code, "short", REDIRECT), &[]);
    assert_eq!(answer.json["error"], "invalid_request");
    let answer = token_request(&wiki, urlencoded, &base("def50200unknown", VERIFIER, REDIRECT), &[]);
    assert_eq!(answer.json["error"], "invalid_request");
    // Grant types.
    let answer = token_request(
        &wiki,
        urlencoded,
        &form(&[("grant_type", "password"), ("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]),
        &[],
    );
    assert_eq!(answer.json["error"], "unsupported_grant_type");
    let answer = token_request(
        &wiki,
        urlencoded,
        &form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ]),
        &[],
    );
    assert_eq!(answer.json["error"], "unauthorized_client");
    // Expired code (older than 10 minutes).
    if let Some(record) = super::lock(&wiki.state).codes.get_mut(&code) {
        record.issued = Instant::now().checked_sub(Duration::from_secs(601)).unwrap_or_else(Instant::now);
    }
    let answer = token_request(&wiki, urlencoded, &base(&code, VERIFIER, REDIRECT), &[]);
    assert_eq!(answer.json["hint"], "Authorization code has expired");
    // HTTP Basic client authentication works.
    let params = good_authorize_params("s");
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let code = code_from(&authorize(&wiki, &params));
    let basic = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]);
    let answer = token_request(&wiki, urlencoded, &body, &[("authorization", &basic)]);
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[test]
fn wiki_bad_or_expired_bearer() {
    let wiki = wiki();
    let mut client = Client { bearer: Some("not-a-token".into()), ..Client::new(&wiki) };
    let answer = client.get(&[("action", "query"), ("meta", "tokens")]);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.error(), "mwoauth-invalid-authorization");
    assert_eq!(answer.header("mediawiki-api-error"), Some("mwoauth-invalid-authorization"));
    let profile = |headers: &[(&str, &str)]| {
        let request = request(
            Method::GET,
            "meta.wikimedia.org",
            "/w/rest.php/oauth2/resource/profile",
            "",
            headers,
            Bytes::new(),
        );
        Answer::from(wiki.handle(&request))
    };
    assert_eq!(profile(&[]).status, 401);
    assert_eq!(profile(&[("authorization", "Bearer not-a-token")]).status, 403);
    let access = oauth_tokens(&wiki).json["access_token"].as_str().unwrap_or("").to_owned();
    assert_eq!(profile(&[("authorization", &format!("Bearer {access}"))]).status, 200);
    for grant in super::lock(&wiki.state).access_tokens.values_mut() {
        grant.expires = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
    }
    assert_eq!(profile(&[("authorization", &format!("Bearer {access}"))]).status, 403);
    client.bearer = Some(access);
    assert_eq!(client.get(&[("action", "query")]).error(), "mwoauth-invalid-authorization");
}

#[test]
fn wiki_oauth_grants_limit_rights() {
    let wiki = wiki();
    let mut params = good_authorize_params("s");
    params.push(("scope", "basic editpage".into()));
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let code = code_from(&authorize(&wiki, &pairs));
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ]);
    let access = token_request(&wiki, "application/x-www-form-urlencoded", &body, &[]).json["access_token"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let mut client = Client { bearer: Some(access), ..Client::new(&wiki) };
    let token = client.csrf();
    let answer =
        client.post(&[("action", "delete"), ("title", "Sandbox"), ("assert", "user"), ("token", &token)]);
    assert_eq!(answer.error(), "permissiondenied", "no delete grant: {}", answer.body);
}

#[test]
fn wiki_edit_creates_appends_and_adds_sections() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    client.login(STAFF_BOT);
    let before = page_revisions(&wiki, "User talk:Example uploader");
    let latest = before.last().map(|r| r["revid"].clone()).unwrap_or(Value::Null);
    let answer = client.edit(&[
        ("title", "User_talk:example uploader"),
        ("section", "new"),
        ("sectiontitle", "Removal notice"),
        ("text", "A file you uploaded was removed."),
        ("baserevid", &latest.to_string()),
    ]);
    let edit = &answer.json["edit"];
    assert_eq!(edit["result"], "Success", "{}", answer.body);
    assert_eq!(edit["title"], "User talk:Example uploader");
    assert_eq!(edit["contentmodel"], "wikitext");
    assert_eq!(edit["oldrevid"], latest);
    assert!(edit["newrevid"].as_u64() > latest.as_u64());
    assert!(edit["newtimestamp"].as_str().is_some_and(|t| t.ends_with('Z') && t.len() == 20));
    assert!(edit.get("new").is_none());
    let after = page_revisions(&wiki, "User talk:Example uploader");
    let last = after.last().cloned().unwrap_or(Value::Null);
    assert!(
        last["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("\n\n== Removal notice ==\n\nA file you uploaded was removed."))
    );
    assert_eq!(last["summary"], "/* Removal notice */ new section");
    assert_eq!(last["user"], "Staff member");
    assert_eq!(answer.received["section"], "new");
    assert_eq!(answer.received["text_length"], 32);
    assert!(!answer.received.to_string().contains("A file you uploaded"));

    // A new page.
    let answer = client.edit(&[("title", "User talk:Newcomer"), ("text", "Hello.")]);
    assert_eq!(answer.json["edit"]["new"], true);
    assert_eq!(answer.json["edit"]["oldrevid"], 0);
    // No change.
    let answer = client.edit(&[("title", "User talk:Newcomer"), ("text", "Hello.\n")]);
    assert_eq!(answer.json["edit"]["nochange"], true);
    assert!(answer.json["edit"].get("newrevid").is_none());
    // Append and prepend.
    client.edit(&[("title", "User talk:Newcomer"), ("appendtext", " Bye."), ("prependtext", "Hi. ")]);
    assert_eq!(
        page_revisions(&wiki, "User talk:Newcomer").last().map(|r| r["text"].clone()),
        Some(json!("Hi. Hello. Bye."))
    );
    // Sections: replace section 1, append to section 0.
    client.edit(&[
        ("title", "Sections"),
        ("text", "Lead\n== One ==\nfirst\n=== Sub ===\nsub\n== Two ==\nsecond"),
    ]);
    client.edit(&[("title", "Sections"), ("section", "1"), ("text", "== One ==\nreplaced")]);
    client.edit(&[("title", "Sections"), ("section", "0"), ("appendtext", " more")]);
    let text = page_revisions(&wiki, "Sections").last().map(|r| r["text"].clone()).unwrap_or(Value::Null);
    assert_eq!(text, json!("Lead more\n\n== One ==\nreplaced\n\n== Two ==\nsecond"));
    // By page id.
    let pageid = wiki.snapshot()["pages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["title"] == "Sections").map(|p| p["pageid"].to_string()))
        .unwrap_or_default();
    let answer = client.edit(&[("pageid", &pageid), ("appendtext", "\nend")]);
    assert_eq!(answer.json["edit"]["title"], "Sections");
}

#[test]
fn wiki_edit_errors() {
    let wiki = wiki();
    let mut staff = Client::new(&wiki);
    staff.login(STAFF_BOT);
    let mut helper = Client::new(&wiki);
    helper.login(HELPER_BOT);
    assert_eq!(helper.edit(&[("title", "Main Page"), ("appendtext", "x")]).error(), "protectedpage");
    assert_eq!(
        staff.edit(&[("title", "Main Page"), ("appendtext", "\nx")]).json["edit"]["result"],
        "Success"
    );
    let old = page_revisions(&wiki, "Main Page").first().map(|r| r["revid"].to_string()).unwrap_or_default();
    assert_eq!(
        staff.edit(&[("title", "Main Page"), ("text", "x"), ("baserevid", &old)]).error(),
        "editconflict"
    );
    assert_eq!(
        staff
            .edit(&[
                ("title", "Main Page"),
                ("section", "new"),
                ("sectiontitle", "s"),
                ("text", "x"),
                ("baserevid", &old)
            ])
            .json["edit"]["result"],
        "Success",
        "new sections do not conflict"
    );
    assert_eq!(
        staff.edit(&[("title", "Main Page"), ("text", "x"), ("baserevid", "999999")]).error(),
        "nosuchrevid"
    );
    assert_eq!(
        staff.edit(&[("title", "No such page"), ("text", "x"), ("nocreate", "1")]).error(),
        "missingtitle"
    );
    assert_eq!(
        staff.edit(&[("title", "Sandbox"), ("text", "x"), ("createonly", "1")]).error(),
        "articleexists"
    );
    assert_eq!(staff.edit(&[("title", "Sandbox"), ("section", "9"), ("text", "x")]).error(), "nosuchsection");
    assert_eq!(
        staff.edit(&[("title", "Sandbox"), ("section", "abc"), ("text", "x")]).error(),
        "invalidsection"
    );
    assert_eq!(
        staff
            .edit(&[("title", "Sandbox"), ("text", "x"), ("md5", "00000000000000000000000000000000")])
            .error(),
        "badmd5"
    );
    assert_eq!(
        staff.edit(&[("title", "Sandbox"), ("text", "x"), ("md5", "9dd4e461268c8034f5c8564e155c67a6")]).json
            ["edit"]["result"],
        "Success"
    );
    assert_eq!(staff.edit(&[("title", "Bad|title"), ("text", "x")]).error(), "invalidtitle");
    assert_eq!(staff.edit(&[("title", "Sandbox")]).error(), "missingparam");
    assert_eq!(
        staff.edit(&[("title", "Sandbox"), ("pageid", "1"), ("text", "x")]).error(),
        "invalidparammix"
    );
    assert_eq!(staff.edit(&[("pageid", "424242"), ("text", "x")]).error(), "nosuchpageid");
    let answer = staff.edit(&[("title", "Sandbox"), ("appendtext", " see http://www.spam.example/buy")]);
    assert_eq!(answer.error(), "spamblacklist");
    assert_eq!(
        answer.json["errors"][0]["data"]["spamblacklist"]["matches"][0],
        "http://www.spam.example/buy"
    );
    let answer = staff.edit(&[("title", "Sandbox"), ("appendtext", " abusefilter-test-disallow")]);
    assert_eq!(answer.error(), "abusefilter-disallowed");
    assert_eq!(answer.json["errors"][0]["data"]["abusefilter"]["id"], 1);
    // pagedeleted: deleted after the edit started.
    let token = staff.csrf();
    staff.post(&[("action", "delete"), ("title", "Talk:Main Page"), ("assert", "user"), ("token", &token)]);
    let answer = staff.edit(&[
        ("title", "Talk:Main Page"),
        ("text", "back"),
        ("starttimestamp", "2020-01-01T00:00:00Z"),
    ]);
    assert_eq!(answer.error(), "pagedeleted");
    let answer = staff.edit(&[
        ("title", "Talk:Main Page"),
        ("text", "back"),
        ("starttimestamp", "2020-01-01T00:00:00Z"),
        ("recreate", "1"),
    ]);
    assert_eq!(answer.json["edit"]["new"], true);
}

#[test]
fn wiki_edit_captcha_until_the_reversed_id_is_sent() {
    let wiki = wiki();
    let mut helper = Client::new(&wiki);
    helper.login(HELPER_BOT);
    let count = page_revisions(&wiki, "Sandbox").len();
    let text = [("title", "Sandbox"), ("appendtext", " https://new-link.example.net/page")];
    let answer = helper.edit(&text);
    assert_eq!(answer.json["edit"]["result"], "Failure");
    let captcha = &answer.json["edit"]["captcha"];
    assert_eq!(captcha["type"], "image");
    assert_eq!(captcha["mime"], "image/png");
    let id = captcha["id"].as_str().unwrap_or("").to_owned();
    assert_eq!(captcha["url"], format!("/w/index.php?title=Special:Captcha/image&wpCaptchaId={id}"));
    assert!(answer.header("mediawiki-api-error").is_none());
    // A wrong answer gets a new captcha.
    let answer = helper.edit(&[text[0], text[1], ("captchaid", &id), ("captchaword", "wrong")]);
    let id2 = answer.json["edit"]["captcha"]["id"].as_str().unwrap_or("").to_owned();
    assert!(!id2.is_empty() && id2 != id);
    // The first id is spent.
    let reversed: String = id.chars().rev().collect();
    let answer = helper.edit(&[text[0], text[1], ("captchaid", &id), ("captchaword", &reversed)]);
    assert_eq!(answer.json["edit"]["result"], "Failure");
    let id3 = answer.json["edit"]["captcha"]["id"].as_str().unwrap_or("").to_owned();
    let reversed: String = id3.chars().rev().collect();
    let answer = helper.edit(&[text[0], text[1], ("captchaid", &id3), ("captchaword", &reversed)]);
    assert_eq!(answer.json["edit"]["result"], "Success", "{}", answer.body);
    assert_eq!(page_revisions(&wiki, "Sandbox").len(), count + 1);
    // Links already on the page ask for nothing.
    let answer = helper.edit(&[("title", "Sandbox"), ("appendtext", " again https://www.example.com/page")]);
    assert_eq!(answer.json["edit"]["result"], "Success");
    // The captcha image.
    let image = request(
        Method::GET,
        COMMONS,
        "/w/index.php",
        &format!("title=Special:Captcha/image&wpCaptchaId={id3}"),
        &[],
        Bytes::new(),
    );
    assert_eq!(wiki.endpoint(&image), "captcha");
    let image = Answer::from(wiki.handle(&image));
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert!(image.body.as_bytes().starts_with(b"\x89PNG") || image.status == 200);
}

#[test]
fn wiki_imageinfo_versions_hidden_fields_shared_and_missing() {
    let wiki = wiki();
    let mut anon = Client { host: ENWIKI.into(), ..Client::new(&wiki) };
    let props = "timestamp|user|userid|sha1|url|size|mime|archivename|comment";
    let answer = anon.get(&[
        ("action", "query"),
        ("prop", "imageinfo"),
        ("titles", "File:Example.jpg|Image:Hidden_example.jpg|File:Shared example.jpg|File:Nope.jpg"),
        ("iiprop", props),
        ("iilimit", "max"),
    ]);
    let pages = answer.json["query"]["pages"].as_array().cloned().unwrap_or_default();
    assert_eq!(pages.len(), 4, "{}", answer.body);
    assert_eq!(answer.json["query"]["normalized"][0]["to"], "File:Hidden example.jpg");
    assert_eq!(answer.json["batchcomplete"], true);
    let example = &pages[0];
    assert_eq!(example["imagerepository"], "local");
    let versions = example["imageinfo"].as_array().cloned().unwrap_or_default();
    assert_eq!(versions.len(), 2);
    assert!(versions[0].get("archivename").is_none());
    assert_eq!(versions[1]["archivename"], "20250101000000!Example.jpg");
    assert_eq!(versions[1]["timestamp"], "2024-06-01T12:00:00Z");
    for v in &versions {
        let sha1 = v["sha1"].as_str().unwrap_or("");
        assert!(sha1.len() == 40 && sha1.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(v["url"].as_str().is_some_and(|u| u.starts_with("https://upload.wikimedia.org/")));
    }
    let hidden = pages[1]["imageinfo"].as_array().cloned().unwrap_or_default();
    assert_eq!(hidden.len(), 3);
    assert_eq!(hidden[1]["userhidden"], true);
    assert!(hidden[1].get("user").is_none());
    assert_eq!(hidden[2]["filehidden"], true);
    assert_eq!(hidden[2]["suppressed"], true);
    assert!(
        hidden[2].get("sha1").is_none()
            && hidden[2].get("url").is_none()
            && hidden[2].get("comment").is_none()
    );
    let shared = &pages[2];
    assert_eq!(
        (shared["imagerepository"].as_str(), shared["known"].as_bool(), shared["missing"].as_bool()),
        (Some("shared"), Some(true), Some(true))
    );
    assert!(
        shared["imageinfo"][0]["descriptionurl"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://commons.wikimedia.org/"))
    );
    assert_eq!(pages[3]["missing"], true);
    assert_eq!(pages[3]["imagerepository"], "");

    // On Commons the shared file is local; staff with suppression rights see hidden fields.
    let mut staff = Client::new(&wiki);
    staff.login(STAFF_BOT);
    let answer = staff.get(&[
        ("action", "query"),
        ("prop", "imageinfo"),
        ("titles", "File:Shared example.jpg|File:Hidden example.jpg"),
        ("iiprop", props),
        ("iilimit", "max"),
    ]);
    assert_eq!(answer.json["query"]["pages"][0]["imagerepository"], "local");
    assert!(answer.json["query"]["pages"][0].get("missing").is_none());
    let hidden = &answer.json["query"]["pages"][1]["imageinfo"][2];
    assert_eq!(hidden["filehidden"], true);
    assert!(hidden["sha1"].is_string() && hidden["user"].is_string());

    // Continuation, one version at a time.
    let answer = anon.get(&[
        ("action", "query"),
        ("prop", "imageinfo"),
        ("titles", "File:Example.jpg"),
        ("iiprop", "timestamp|archivename"),
    ]);
    assert_eq!(answer.json["query"]["pages"][0]["imageinfo"].as_array().map(Vec::len), Some(1));
    let next = answer.json["continue"]["iicontinue"].as_str().unwrap_or("").to_owned();
    assert_eq!(next, "Example.jpg|20240601120000");
    assert!(answer.json.get("batchcomplete").is_none());
    let cont = answer.json["continue"]["continue"].as_str().unwrap_or("").to_owned();
    let answer = anon.get(&[
        ("action", "query"),
        ("prop", "imageinfo"),
        ("titles", "File:Example.jpg"),
        ("iiprop", "timestamp|archivename"),
        ("iicontinue", &next),
        ("continue", &cont),
    ]);
    assert_eq!(answer.json["query"]["pages"][0]["imageinfo"][0]["archivename"], "20250101000000!Example.jpg");
    assert_eq!(answer.json["batchcomplete"], true);
    // Invalid titles.
    let answer = anon.get(&[("action", "query"), ("prop", "imageinfo"), ("titles", "File:Bad[name].jpg")]);
    assert_eq!(answer.json["query"]["pages"][0]["invalid"], true);
}

#[test]
fn wiki_info_and_revisions() {
    let wiki = wiki();
    let mut anon = Client::new(&wiki);
    let answer = anon.get(&[
        ("action", "query"),
        ("prop", "info|revisions"),
        ("titles", "Main Page"),
        ("inprop", "protection"),
        ("rvprop", "ids|user|content"),
        ("rvslots", "main"),
    ]);
    let page = &answer.json["query"]["pages"][0];
    assert!(page["lastrevid"].is_u64());
    assert_eq!(page["protection"][0]["level"], "sysop");
    assert!(
        page["revisions"][0]["slots"]["main"]["content"].as_str().is_some_and(|c| c.starts_with("Welcome"))
    );
}

#[test]
fn wiki_filearchive_needs_deletedhistory() {
    let wiki = wiki();
    let mut anon = Client::new(&wiki);
    let answer = anon.get(&[("action", "query"), ("list", "filearchive")]);
    assert_eq!(answer.error(), "permissiondenied");
    let mut staff = Client::new(&wiki);
    staff.login(STAFF_BOT);
    let answer = staff.get(&[
        ("action", "query"),
        ("list", "filearchive"),
        ("faprop", "sha1|timestamp|user"),
        ("falimit", "1"),
    ]);
    let rows = answer.json["query"]["filearchive"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["name"], "Deleted_example.jpg");
    assert!(row["id"].is_u64() && row["user"].is_string() && row["timestamp"].is_string());
    let sha1 = row["sha1"].as_str().unwrap_or("").to_owned();
    assert_eq!(sha1.len(), 40);
    assert_eq!(answer.json["continue"]["facontinue"], "1");
    let answer =
        staff.get(&[("action", "query"), ("list", "filearchive"), ("faprop", "sha1"), ("fasha1", &sha1)]);
    assert_eq!(answer.json["query"]["filearchive"].as_array().map(Vec::len), Some(1));
}

#[test]
fn wiki_globaluserinfo() {
    let wiki = wiki();
    let mut anon = Client::new(&wiki);
    let gui = |client: &mut Client<'_>, user: &str| {
        client.get(&[
            ("action", "query"),
            ("meta", "globaluserinfo"),
            ("guiuser", user),
            ("guiprop", "groups|rights|merged|unattached|editcount"),
        ])
    };
    let answer = gui(&mut anon, "Example_uploader");
    let info = &answer.json["query"]["globaluserinfo"];
    assert_eq!(info["name"], "Example uploader");
    assert_eq!(info["home"], "commonswiki");
    let merged = info["merged"].as_array().cloned().unwrap_or_default();
    assert_eq!(merged.len(), 3);
    assert_eq!(merged[0]["groups"], json!(["autoconfirmed"]));
    assert!(merged[0].get("blocked").is_none());
    assert_eq!(merged[1]["blocked"]["expiry"], "infinity");
    assert!(merged[1].get("groups").is_none());
    assert_eq!(info["editcount"], 45);
    assert!(info.get("locked").is_none());
    assert_eq!(gui(&mut anon, "Locked vandal").json["query"]["globaluserinfo"]["locked"], true);
    assert_eq!(gui(&mut anon, "Hidden user").json["query"]["globaluserinfo"], json!({"missing": true}));
    assert_eq!(gui(&mut anon, "Nobody at all").json["query"]["globaluserinfo"], json!({"missing": true}));
    assert_eq!(gui(&mut anon, "Bad<name>").error(), "invaliduser");
    let answer = anon.get(&[("action", "query"), ("meta", "globaluserinfo"), ("guiid", "999999")]);
    assert_eq!(answer.error(), "invaliduserid");
    let mut staff = Client::new(&wiki);
    staff.login(STAFF_BOT);
    assert_eq!(gui(&mut staff, "Hidden user").json["query"]["globaluserinfo"]["hidden"], true);
    let me = staff.get(&[("action", "query"), ("meta", "globaluserinfo")]);
    assert_eq!(me.json["query"]["globaluserinfo"]["name"], "Staff member");
}

#[test]
fn wiki_delete_pages_files_and_old_versions() {
    let wiki = wiki();
    let mut staff = Client::new(&wiki);
    staff.login(STAFF_BOT);
    let token = staff.csrf();
    let delete = |client: &mut Client<'_>, extra: &[(&str, &str)]| {
        let mut params = vec![("action", "delete"), ("assert", "user"), ("reason", "Copyright violation")];
        params.extend_from_slice(extra);
        params.push(("token", &token));
        client.post(&params)
    };
    assert_eq!(
        delete(&mut staff, &[("title", "File:Example.jpg"), ("oldimage", "2025-01-01!Example.jpg")]).error(),
        "invalidoldimage"
    );
    assert_eq!(
        delete(&mut staff, &[("title", "File:Example.jpg"), ("oldimage", "20240601120000!Example.jpg")])
            .error(),
        "nodeleteablefile"
    );
    let answer =
        delete(&mut staff, &[("title", "File:Example.jpg"), ("oldimage", "20250101000000!Example.jpg")]);
    assert_eq!(answer.json["delete"]["title"], "File:Example.jpg");
    assert_eq!(answer.json["delete"]["reason"], "Copyright violation");
    assert!(answer.json["delete"]["logid"].is_u64());
    let info = staff.get(&[
        ("action", "query"),
        ("prop", "imageinfo"),
        ("titles", "File:Example.jpg"),
        ("iilimit", "max"),
    ]);
    assert_eq!(info.json["query"]["pages"][0]["imageinfo"].as_array().map(Vec::len), Some(1));
    assert_eq!(delete(&mut staff, &[("title", "No such page")]).error(), "missingtitle");
    // The whole file.
    let archived = wiki.snapshot()["filearchive"].as_array().map_or(0, Vec::len);
    let answer = delete(&mut staff, &[("title", "File:Example.jpg")]);
    assert!(answer.json["delete"]["logid"].is_u64(), "{}", answer.body);
    assert_eq!(wiki.snapshot()["filearchive"].as_array().map_or(0, Vec::len), archived + 1);
    let info = staff.get(&[("action", "query"), ("prop", "imageinfo"), ("titles", "File:Example.jpg")]);
    assert_eq!(info.json["query"]["pages"][0]["missing"], true);
    // A page deleted by a job.
    let answer = delete(&mut staff, &[("title", "Big history page")]);
    assert_eq!(answer.json["delete"]["scheduled"], true);
    assert!(answer.json["delete"].get("logid").is_none());
    assert_eq!(answer.json["warnings"][0]["code"], "delete-scheduled");
    // The shared file cannot be deleted from another wiki.
    staff.host = ENWIKI.into();
    assert_eq!(delete(&mut staff, &[("title", "File:Shared example.jpg")]).error(), "missingtitle");
    let snapshot = wiki.snapshot();
    assert_eq!(snapshot["deleted"].as_array().map(Vec::len), Some(3));
    assert_eq!(snapshot["deleted"][0]["archivename"], "20250101000000!Example.jpg");
    // Without the right.
    let mut helper = Client::new(&wiki);
    helper.login(HELPER_BOT);
    let token = helper.csrf();
    let answer =
        helper.post(&[("action", "delete"), ("title", "Sandbox"), ("assert", "user"), ("token", &token)]);
    assert_eq!(answer.error(), "permissiondenied");
}

#[test]
fn wiki_revisiondelete_items() {
    let wiki = wiki();
    let mut staff = Client::new(&wiki);
    staff.login(STAFF_BOT);
    let token = staff.csrf();
    let revdel = |client: &mut Client<'_>, token: &str, extra: &[(&str, &str)]| {
        let mut params = vec![("action", "revisiondelete"), ("assert", "user"), ("reason", "privacy")];
        params.extend_from_slice(extra);
        params.push(("token", token));
        client.post(&params)
    };
    // Archive-name prefix works; the upload timestamp and the current version fail per item.
    let answer = revdel(
        &mut staff,
        &token,
        &[
            ("type", "oldimage"),
            ("target", "File:Example.jpg"),
            ("ids", "20250101000000|20240601120000|20250101000002"),
            ("hide", "user|comment"),
        ],
    );
    let result = &answer.json["revisiondelete"];
    assert_eq!(result["status"], "Success", "{}", answer.body);
    assert_eq!(result["target"], "File:Example.jpg");
    let items = result["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["status"], "Success");
    assert_eq!(items[0]["id"], 20_250_101_000_000_u64);
    assert_eq!(items[0]["userhidden"], true);
    assert_eq!(items[0]["archivename"], "20250101000000!Example.jpg");
    assert_eq!(items[0]["timestamp"], "2024-06-01T12:00:00Z");
    assert_eq!(items[1]["status"], "Fail");
    assert_eq!(items[1]["errors"][0]["code"], "revdelete-modify-missing");
    assert_eq!(items[2]["errors"][0]["code"], "revdelete-modify-missing");
    // Every item failing still says Success at the top.
    let answer = revdel(
        &mut staff,
        &token,
        &[("type", "oldimage"), ("target", "File:Example.jpg"), ("ids", "20240601120000"), ("hide", "user")],
    );
    assert_eq!(answer.json["revisiondelete"]["status"], "Success");
    assert_eq!(answer.json["revisiondelete"]["items"][0]["status"], "Fail");
    // No change, suppression alone.
    let answer = revdel(
        &mut staff,
        &token,
        &[("type", "oldimage"), ("target", "File:Example.jpg"), ("ids", "20250101000000"), ("hide", "user")],
    );
    assert_eq!(answer.json["revisiondelete"]["items"][0]["warnings"][0]["code"], "revdelete-no-change");
    let answer = revdel(
        &mut staff,
        &token,
        &[
            ("type", "oldimage"),
            ("target", "File:Example.jpg"),
            ("ids", "20250101000000"),
            ("show", "user|comment"),
            ("suppress", "yes"),
        ],
    );
    assert_eq!(answer.json["revisiondelete"]["items"][0]["warnings"][0]["code"], "revdelete-only-restricted");
    // Suppressing for real, then imageinfo hides it from anonymous readers.
    let answer = revdel(
        &mut staff,
        &token,
        &[
            ("type", "oldimage"),
            ("target", "File:Example.jpg"),
            ("ids", "20250101000000"),
            ("hide", "content"),
            ("suppress", "yes"),
        ],
    );
    assert_eq!(answer.json["revisiondelete"]["items"][0]["contenthidden"], true);
    let mut anon = Client::new(&wiki);
    let info = anon.get(&[
        ("action", "query"),
        ("prop", "imageinfo"),
        ("titles", "File:Example.jpg"),
        ("iilimit", "2"),
        ("iiprop", "sha1|user"),
    ]);
    let old = &info.json["query"]["pages"][0]["imageinfo"][1];
    assert_eq!((old["filehidden"].as_bool(), old["suppressed"].as_bool()), (Some(true), Some(true)));
    assert!(old.get("sha1").is_none());
    // Revisions: the current one's content cannot be hidden.
    let revisions = page_revisions(&wiki, "User talk:Example uploader");
    let first = revisions.first().map(|r| r["revid"].to_string()).unwrap_or_default();
    let last = revisions.last().map(|r| r["revid"].to_string()).unwrap_or_default();
    let answer = revdel(
        &mut staff,
        &token,
        &[
            ("type", "revision"),
            ("target", "User talk:Example uploader"),
            ("ids", &format!("{first}|{last}")),
            ("hide", "content"),
        ],
    );
    let items = answer.json["revisiondelete"]["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items[0]["status"], "Success");
    assert_eq!(items[0]["texthidden"], true);
    assert_eq!(items[1]["errors"][0]["code"], "revdelete-hide-current");
    assert_eq!(page_revisions(&wiki, "User talk:Example uploader")[0]["hidden"], json!(["content"]));
    // Archived files.
    let answer = revdel(
        &mut staff,
        &token,
        &[("type", "filearchive"), ("target", "File:Deleted example.jpg"), ("ids", "1"), ("hide", "user")],
    );
    assert_eq!(answer.json["revisiondelete"]["items"][0]["status"], "Success");
    // Parameter errors.
    let answer = revdel(
        &mut staff,
        &token,
        &[
            ("type", "oldimage"),
            ("target", "File:Example.jpg"),
            ("ids", "20250101000000"),
            ("hide", "user"),
            ("show", "user"),
        ],
    );
    assert_eq!(answer.error(), "badparams");
    let answer = revdel(
        &mut staff,
        &token,
        &[("type", "oldimage"), ("target", "File:Example.jpg"), ("ids", "20250101000000")],
    );
    assert_eq!(answer.error(), "badparams");
    let answer =
        revdel(&mut staff, &token, &[("type", "oldimage"), ("ids", "20250101000000"), ("hide", "user")]);
    assert_eq!(answer.error(), "needtarget");
    // Suppression needs suppressrevision; a sysop without it is refused, and may not touch
    // suppressed items.
    wiki.set_groups("Helper", &["sysop"]);
    let mut helper = Client::new(&wiki);
    helper.login(HELPER_BOT);
    let htoken = helper.csrf();
    let answer = revdel(
        &mut helper,
        &htoken,
        &[
            ("type", "oldimage"),
            ("target", "File:Hidden example.jpg"),
            ("ids", "20250301100000"),
            ("hide", "user"),
            ("suppress", "yes"),
        ],
    );
    assert_eq!(answer.error(), "permissiondenied");
    let answer = revdel(
        &mut helper,
        &htoken,
        &[
            ("type", "oldimage"),
            ("target", "File:Hidden example.jpg"),
            ("ids", "20250201090000"),
            ("show", "user"),
        ],
    );
    assert_eq!(answer.json["revisiondelete"]["items"][0]["errors"][0]["code"], "revdelete-modify-no-access");
    let answer = revdel(
        &mut helper,
        &htoken,
        &[
            ("type", "oldimage"),
            ("target", "File:Hidden example.jpg"),
            ("ids", "20250301100000"),
            ("hide", "comment"),
        ],
    );
    assert_eq!(answer.json["revisiondelete"]["items"][0]["status"], "Success");
    let recorded = wiki.snapshot()["revision_deletions"].as_array().map_or(0, Vec::len);
    assert!(recorded >= 8, "{recorded}");
}

#[test]
fn wiki_sitematrix() {
    let wiki = wiki();
    let mut client = Client { host: "meta.wikimedia.org".into(), ..Client::new(&wiki) };
    let answer = client.get(&[
        ("action", "sitematrix"),
        ("smtype", "language|special"),
        ("smstate", "all"),
        ("smlimit", "5000"),
    ]);
    let matrix = &answer.json["sitematrix"];
    assert_eq!(matrix["count"], 14);
    assert_eq!(matrix["0"]["code"], "aa");
    assert_eq!(matrix["0"]["site"][0]["closed"], true);
    assert_eq!(matrix["2"]["code"], "en");
    assert_eq!(matrix["2"]["site"][0]["dbname"], "enwiki");
    assert!(matrix["2"]["site"][0].get("closed").is_none());
    let specials = matrix["specials"].as_array().cloned().unwrap_or_default();
    assert!(specials.iter().any(|s| s["dbname"] == "commonswiki" && s.get("private").is_none()));
    assert!(specials.iter().any(|s| s["dbname"] == "boardwiki" && s["private"] == true));
    assert!(specials.iter().any(|s| s["dbname"] == "strategywiki" && s["closed"] == true));
    assert!(answer.json.get("query-continue").is_none());
    let answer = client.get(&[("action", "sitematrix"), ("smlimit", "3")]);
    assert_eq!(answer.json["query-continue"]["sitematrix"]["smcontinue"], "3");
    let answer = client.get(&[("action", "sitematrix"), ("smlimit", "3"), ("smcontinue", "3")]);
    assert_eq!(answer.json["sitematrix"]["3"]["code"], "fr");
    let answer = client.get(&[("action", "sitematrix"), ("smstate", "private"), ("smtype", "special")]);
    assert_eq!(answer.json["sitematrix"]["specials"].as_array().map(Vec::len), Some(1));
}

#[test]
fn wiki_exturlusage() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let links = |client: &mut Client<'_>, extra: &[(&str, &str)]| {
        let mut params = vec![("action", "query"), ("list", "exturlusage"), ("eulimit", "max")];
        params.extend_from_slice(extra);
        client.get(&params)
    };
    let urls = |answer: &Answer| -> Vec<String> {
        answer.json["query"]["exturlusage"]
            .as_array()
            .map(|rows| rows.iter().filter_map(|r| r["url"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let answer = links(&mut client, &[("euquery", "example.com")]);
    let found = urls(&answer);
    assert!(
        found.contains(&"http://example.com/".to_owned())
            && found.contains(&"https://example.com/path/deeper".to_owned()),
        "{found:?}"
    );
    assert!(!found.iter().any(|u| u.contains("www.example.com")));
    let row = &answer.json["query"]["exturlusage"][0];
    assert!(row["pageid"].is_u64() && row["ns"].is_i64() && row["title"].is_string());
    let found = urls(&links(&mut client, &[("euquery", "*.example.com")]));
    assert!(
        found.iter().any(|u| u.contains("www.example.com"))
            && found.iter().any(|u| u.contains("sub.example.com/a/b"))
    );
    let found = urls(&links(&mut client, &[("euquery", "example.com/path")]));
    assert_eq!(found, vec!["https://example.com/path/deeper".to_owned()]);
    let found = urls(&links(&mut client, &[("euquery", "*.example.com"), ("euprotocol", "http")]));
    assert!(!found.is_empty() && found.iter().all(|u| u.starts_with("http://")), "{found:?}");
    assert_eq!(links(&mut client, &[("euquery", "https://example.com")]).error(), "badquery");
    assert_eq!(links(&mut client, &[("euquery", "ex*ample.com")]).error(), "badquery");
    // Continuation, and the namespace filter applied after the limit (short pages).
    let answer = client.get(&[
        ("action", "query"),
        ("list", "exturlusage"),
        ("euquery", "*.example.com"),
        ("eulimit", "1"),
        ("eunamespace", "4"),
    ]);
    assert_eq!(answer.json["query"]["exturlusage"], json!([]));
    let next = answer.json["continue"]["eucontinue"].as_str().unwrap_or("").to_owned();
    assert_eq!(next, "1");
    let mut seen = 0;
    let mut cursor = Some(next);
    while let Some(next) = cursor {
        let answer = client.get(&[
            ("action", "query"),
            ("list", "exturlusage"),
            ("euquery", "*.example.com"),
            ("eulimit", "1"),
            ("eunamespace", "4"),
            ("eucontinue", &next),
        ]);
        seen += answer.json["query"]["exturlusage"].as_array().map_or(0, Vec::len);
        cursor = answer.json["continue"]["eucontinue"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 2, "Project:Copyright problems links twice to *.example.com");
}

#[test]
fn wiki_search() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let answer = client.get(&[
        ("action", "query"),
        ("list", "search"),
        ("srsearch", "photos.example.com"),
        ("srnamespace", "*"),
        ("srlimit", "2"),
    ]);
    let total = answer.json["query"]["searchinfo"]["totalhits"].as_u64().unwrap_or(0);
    assert!(total >= 3, "{}", answer.body);
    let hits = answer.json["query"]["search"].as_array().cloned().unwrap_or_default();
    assert_eq!(hits.len(), 2);
    assert!(hits[0]["snippet"].as_str().is_some_and(|s| s.contains("<span class=\"searchmatch\">")));
    assert!(hits[0]["pageid"].is_u64() && hits[0]["size"].is_u64() && hits[0]["wordcount"].is_u64());
    assert_eq!(answer.json["continue"]["sroffset"], 2);
    let answer = client.get(&[
        ("action", "query"),
        ("list", "search"),
        ("srsearch", "insource:\"photos.example.com\""),
        ("srnamespace", "*"),
        ("sroffset", "2"),
    ]);
    assert_eq!(
        answer.json["query"]["search"].as_array().map(Vec::len),
        Some(usize::try_from(total).unwrap_or(0) - 2)
    );
    let answer = client.get(&[("action", "query"), ("list", "search"), ("srsearch", "nothing-matches-this")]);
    assert_eq!(answer.json["query"]["searchinfo"]["totalhits"], 0);
    assert_eq!(answer.json["query"]["search"], json!([]));
    assert_eq!(client.get(&[("action", "query"), ("list", "search")]).error(), "nosrsearch");
    // The default namespace is the main one.
    let answer = client.get(&[("action", "query"), ("list", "search"), ("srsearch", "Welcome")]);
    assert!(
        answer.json["query"]["search"]
            .as_array()
            .is_some_and(|h| !h.is_empty() && h.iter().all(|p| p["ns"] == 0)),
        "{}",
        answer.json
    );
}

#[test]
fn wiki_logout_ends_the_session() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    client.login(HELPER_BOT);
    let token = client.csrf();
    let answer = client.post(&[("action", "logout"), ("token", &token)]);
    assert_eq!(answer.json, json!({}));
    assert!(answer.header("set-cookie").is_some_and(|c| c.contains("deleted")));
    assert_eq!(
        client.get(&[("action", "query"), ("meta", "userinfo")]).json["query"]["userinfo"]["anon"],
        true
    );
    assert_eq!(wiki.snapshot()["sessions"], 0);
}

#[test]
fn wiki_endpoint_names_and_other_paths() {
    let wiki = wiki();
    let name = |method: Method, path: &str, query: &str, body: &str| {
        let request = request(
            method,
            COMMONS,
            path,
            query,
            &[("content-type", "application/x-www-form-urlencoded")],
            Bytes::from(body.to_owned()),
        );
        wiki.endpoint(&request)
    };
    assert_eq!(name(Method::GET, "/w/rest.php/oauth2/authorize", "", ""), "oauth2/authorize");
    assert_eq!(name(Method::POST, "/w/rest.php/oauth2/access_token", "", ""), "oauth2/access_token");
    assert_eq!(name(Method::GET, "/w/rest.php/oauth2/resource/profile", "", ""), "oauth2/profile");
    assert_eq!(name(Method::GET, "/w/api.php", "action=query", ""), "action=query");
    assert_eq!(name(Method::POST, "/w/api.php", "format=json", "action=edit&title=X"), "action=edit");
    assert_eq!(name(Method::GET, "/w/api.php", "", ""), "action=help");
    assert_eq!(name(Method::GET, "/wiki/Main_Page", "", ""), "other");
    let other = request(Method::GET, COMMONS, "/wiki/Main_Page", "", &[], Bytes::new());
    assert_eq!(wiki.handle(&other).response.status, 404);
}

#[test]
fn wiki_journal_never_holds_secrets() {
    let wiki = wiki();
    let mut client = Client::new(&wiki);
    let token = client.get(&[("action", "query"), ("meta", "tokens"), ("type", "login")]);
    let login_token = token.json["query"]["tokens"]["logintoken"].as_str().unwrap_or("").to_owned();
    let answer = client.post(&[
        ("action", "login"),
        ("lgname", STAFF_BOT.0),
        ("lgpassword", STAFF_BOT.1),
        ("lgtoken", &login_token),
    ]);
    let journal = answer.received.to_string();
    assert!(!journal.contains(STAFF_BOT.1) && !journal.contains(&login_token[..10]), "{journal}");
    assert!(answer.received["params"].as_array().is_some_and(|p| p.contains(&json!("lgpassword"))));
    assert_eq!(answer.received["login_as"], STAFF_BOT.0);
    let csrf = client.csrf();
    let answer = client.edit(&[("title", "Sandbox"), ("appendtext", " secret words here")]);
    let journal = answer.received.to_string();
    assert!(!journal.contains(&csrf[..10]) && !journal.contains("secret words"), "{journal}");
    assert_eq!(answer.received["user"], "Staff member");
    assert_eq!(answer.received["auth"], "session");
    assert_eq!(answer.received["titles"], json!(["Sandbox"]));
    assert_eq!(answer.received["text_length"], 18);
    let tokens = oauth_tokens(&wiki);
    let journal = tokens.received.to_string();
    let access = tokens.json["access_token"].as_str().unwrap_or("").to_owned();
    assert!(
        !journal.contains(CLIENT_SECRET) && !journal.contains(&access[..20]) && !journal.contains(VERIFIER)
    );
}

#[test]
fn wiki_snapshot_shape() {
    let wiki = wiki();
    let snapshot = wiki.snapshot();
    for key in ["pages", "files", "filearchive", "deleted", "revision_deletions", "archived_pages"] {
        assert!(snapshot[key].is_array(), "{key}");
    }
    assert_eq!(snapshot["oauth"], json!({"codes_issued": 0, "tokens_issued": 0, "refreshes": 0}));
    assert_eq!(snapshot["sessions"], 0);
    let main = snapshot["pages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["title"] == "Main Page").cloned())
        .unwrap_or(Value::Null);
    assert_eq!(main["protected"], "sysop");
    let revision = &main["revisions"][0];
    for key in ["revid", "user", "text", "summary", "timestamp"] {
        assert!(!revision[key].is_null(), "{key}");
    }
}
