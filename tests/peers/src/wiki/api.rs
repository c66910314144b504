//! api.php: the parameters, the checks every module shares (format, caller, action, asserts,
//! POST, token, read-only, maxlag) in MediaWiki's order, the envelope of the answer (errors
//! and warnings in the requested `errorformat`), dispatch, and the journal entry.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::Config;
use super::data::{State, canonical_user, is_commons};
use super::session::{self, Caller};
use super::{admin, edit, query, sites};
use crate::request::{Exchange, PeerRequest, PeerResponse};

/// Parameters every module accepts (ApiMain's own).
const MAIN_PARAMS: [&str; 20] = [
    "action",
    "format",
    "formatversion",
    "errorformat",
    "errorlang",
    "errorsuselocal",
    "maxlag",
    "assert",
    "assertuser",
    "smaxage",
    "maxage",
    "requestid",
    "servedby",
    "curtimestamp",
    "responselanginfo",
    "origin",
    "uselang",
    "variant",
    "utf8",
    "ascii",
];

/// The name of the action a request is for (for fault switches): the `action` parameter from
/// the query or the body, `help` when absent.
pub(super) fn action_name(request: &PeerRequest) -> String {
    Params::new(request).raw("action").unwrap_or("help").to_owned()
}

/// The request's parameters: the query string, overridden by the POST body, remembering which
/// were read (the rest are warned about as unrecognised) and which came in the query string.
pub(super) struct Params {
    values: BTreeMap<String, String>,
    in_query: BTreeSet<String>,
    used: RefCell<BTreeSet<String>>,
}

impl Params {
    pub(super) fn new(request: &PeerRequest) -> Params {
        let mut values = BTreeMap::new();
        let mut in_query = BTreeSet::new();
        for (name, value) in request.query_pairs() {
            in_query.insert(name.clone());
            values.insert(name, value);
        }
        if request.method == http::Method::POST {
            for (name, value) in request.form_pairs() {
                values.insert(name, value);
            }
        }
        Params { values, in_query, used: RefCell::new(BTreeSet::new()) }
    }

    /// A value without marking it read.
    pub(super) fn raw(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A value, marking the parameter read.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.used.borrow_mut().insert(name.to_owned());
        self.raw(name)
    }

    /// A boolean parameter: true when present, whatever its value (MediaWiki's rule).
    pub(super) fn flag(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A multi-value parameter (`a|b`, or `\x1f`-separated when it starts with U+001F).
    pub(super) fn list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            None | Some("") => Vec::new(),
            Some(value) => match value.strip_prefix('\u{1f}') {
                Some(rest) => rest.split('\u{1f}').map(str::to_owned).collect(),
                None => value.split('|').map(str::to_owned).collect(),
            },
        }
    }

    /// Whether the parameter came in the query string.
    pub(super) fn in_query(&self, name: &str) -> bool {
        self.in_query.contains(name)
    }

    /// An integer parameter (`badinteger` when it is not one).
    pub(super) fn int(&self, name: &str, module: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(value) => value.trim().parse::<i64>().map(Some).map_err(|_| {
                ApiError::new(
                    "badinteger",
                    &format!("Invalid value \"{value}\" for integer parameter \"{name}\"."),
                )
                .module(module)
            }),
        }
    }

    /// A limit parameter: `max` or an integer, clamped to 1..=max.
    pub(super) fn limit(
        &self,
        name: &str,
        default: usize,
        max: usize,
        module: &str,
    ) -> Result<usize, ApiError> {
        if self.get(name) == Some("max") {
            return Ok(max);
        }
        Ok(match self.int(name, module)? {
            None => default,
            Some(n) => usize::try_from(n.max(1)).unwrap_or(1).min(max),
        })
    }

    /// The names of the parameters present.
    pub(super) fn names(&self) -> Vec<String> {
        self.values.keys().cloned().collect()
    }

    fn unused(&self) -> Vec<String> {
        let used = self.used.borrow();
        self.values.keys().filter(|k| !used.contains(*k)).cloned().collect()
    }
}

/// How errors and warnings are written (`errorformat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ErrorFormat {
    Bc,
    Plaintext,
    Wikitext,
    Html,
    Raw,
    None,
}

impl ErrorFormat {
    fn parse(value: Option<&str>) -> ErrorFormat {
        match value {
            Some("plaintext") => ErrorFormat::Plaintext,
            Some("wikitext") => ErrorFormat::Wikitext,
            Some("html") => ErrorFormat::Html,
            Some("raw") => ErrorFormat::Raw,
            Some("none") => ErrorFormat::None,
            _ => ErrorFormat::Bc,
        }
    }

    /// One message (error, warning, login reason, revdel item message) as an object.
    pub(super) fn message(self, code: &str, text: &str, module: Option<&str>, data: Option<&Value>) -> Value {
        let mut value = Map::new();
        value.insert("code".into(), json!(code));
        match self {
            ErrorFormat::Plaintext | ErrorFormat::Wikitext | ErrorFormat::Bc => {
                value.insert("text".into(), json!(text));
            }
            ErrorFormat::Html => {
                value.insert("html".into(), json!(escape_html(text)));
            }
            ErrorFormat::Raw => {
                value.insert("key".into(), json!(format!("apierror-{code}")));
                value.insert("params".into(), json!([]));
            }
            ErrorFormat::None => {}
        }
        if let Some(data) = data {
            value.insert("data".into(), data.clone());
        }
        if let Some(module) = module {
            value.insert("module".into(), json!(module));
        }
        Value::Object(value)
    }

    /// Messages of a per-item status (`arrayFromStatus`): bc gives `{message, params, code,
    /// type}`, the others the message objects without a module.
    pub(super) fn status_list(self, kind: &str, messages: &[(String, String)]) -> Value {
        Value::Array(
            messages
                .iter()
                .map(|(code, text)| match self {
                    ErrorFormat::Bc => json!({"message": code, "params": [], "code": code, "type": kind}),
                    _ => self.message(code, text, None, None),
                })
                .collect(),
        )
    }
}

/// An API error: code, text, the module that raised it, extra data and headers.
#[derive(Clone, Debug)]
pub(super) struct ApiError {
    pub(super) code: String,
    pub(super) text: String,
    pub(super) module: String,
    pub(super) data: Option<Box<Value>>,
    pub(super) headers: Vec<(String, String)>,
}

impl ApiError {
    pub(super) fn new(code: &str, text: &str) -> ApiError {
        ApiError {
            code: code.into(),
            text: text.into(),
            module: "main".into(),
            data: None,
            headers: Vec::new(),
        }
    }

    pub(super) fn module(mut self, module: &str) -> ApiError {
        self.module = module.into();
        self
    }

    pub(super) fn data(mut self, data: Value) -> ApiError {
        self.data = Some(Box::new(data));
        self
    }

    fn header(mut self, name: &str, value: &str) -> ApiError {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// `missingparam`-style: "The "x" parameter must be set." with code `nox`.
    pub(super) fn missing(param: &str, module: &str) -> ApiError {
        ApiError::new(&format!("no{param}"), &format!("The \"{param}\" parameter must be set."))
            .module(module)
    }

    pub(super) fn permission(module: &str, what: &str) -> ApiError {
        ApiError::new("permissiondenied", &format!("You don't have permission to {what}.")).module(module)
    }
}

/// A warning.
#[derive(Clone, Debug)]
pub(super) struct Warning {
    pub(super) code: String,
    pub(super) text: String,
    pub(super) module: String,
    pub(super) data: Option<Value>,
}

/// Everything a module needs besides the state.
pub(super) struct Ctx {
    pub(super) params: Params,
    /// The authority as the client wrote it (with the port).
    pub(super) host: String,
    pub(super) commons: bool,
    pub(super) caller: Caller,
    /// The valid session the request carried or that this request opened.
    pub(super) session: Option<String>,
    /// A session cookie to set.
    pub(super) cookie: Option<String>,
    pub(super) post: bool,
    pub(super) format: ErrorFormat,
    pub(super) warnings: Vec<Warning>,
    pub(super) journal: Map<String, Value>,
}

impl Ctx {
    pub(super) fn warn(&mut self, module: &str, code: &str, text: &str) {
        self.warn_with(module, code, text, None);
    }

    pub(super) fn warn_with(&mut self, module: &str, code: &str, text: &str, data: Option<Value>) {
        self.warnings.push(Warning { code: code.into(), text: text.into(), module: module.into(), data });
    }

    /// Adds a fact to the journal entry.
    pub(super) fn note(&mut self, key: &str, value: Value) {
        self.journal.insert(key.into(), value);
    }

    /// Warns about values of a multi-value parameter that are not among `known`, and returns
    /// the known ones.
    pub(super) fn known_values(&mut self, module: &str, param: &str, known: &[&str]) -> Vec<String> {
        let mut kept = Vec::new();
        for value in self.params.list(param) {
            if known.contains(&value.as_str()) {
                kept.push(value);
            } else {
                self.warn(
                    module,
                    "unrecognizedvalues",
                    &format!("Unrecognized value for parameter \"{param}\": {value}."),
                );
            }
        }
        kept
    }

    /// `https://<host>` for URLs in answers.
    pub(super) fn server(&self) -> String {
        format!("https://{}", self.host)
    }
}

/// The modules simulated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Module {
    Query,
    Edit,
    Delete,
    RevisionDelete,
    Login,
    Logout,
    SiteMatrix,
    Help,
}

impl Module {
    fn from_name(name: &str) -> Option<Module> {
        Some(match name {
            "query" => Module::Query,
            "edit" => Module::Edit,
            "delete" => Module::Delete,
            "revisiondelete" => Module::RevisionDelete,
            "login" => Module::Login,
            "logout" => Module::Logout,
            "sitematrix" => Module::SiteMatrix,
            "help" => Module::Help,
            _ => return None,
        })
    }

    fn must_post(self) -> bool {
        matches!(
            self,
            Module::Edit | Module::Delete | Module::RevisionDelete | Module::Login | Module::Logout
        )
    }

    fn needs_token(self) -> bool {
        matches!(self, Module::Edit | Module::Delete | Module::RevisionDelete | Module::Logout)
    }

    fn writes_content(self) -> bool {
        matches!(self, Module::Edit | Module::Delete | Module::RevisionDelete)
    }
}

/// Answers one api.php request.
pub(super) fn handle(config: &Config, state: &mut State, request: &PeerRequest) -> Exchange {
    let params = Params::new(request);
    let format = ErrorFormat::parse(params.raw("errorformat"));
    let host = request.authority.clone();
    let hostname = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h).to_owned();
    let mut journal = Map::new();
    journal.insert("host".into(), json!(hostname));
    journal.insert("action".into(), json!(params.raw("action").unwrap_or("help")));
    let titles: Vec<String> = ["title", "titles", "target", "guiuser"]
        .iter()
        .filter_map(|k| params.raw(k))
        .flat_map(|v| v.split('|').map(str::to_owned).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .collect();
    if !titles.is_empty() {
        journal.insert("titles".into(), json!(titles));
    }
    journal.insert("params".into(), json!(params.names()));
    if !matches!(request.method, http::Method::GET | http::Method::POST | http::Method::HEAD) {
        journal.insert("error".into(), json!("method"));
        return Exchange {
            response: PeerResponse::text(405, "Method Not Allowed").with_header("allow", "GET, HEAD, POST"),
            received: Value::Object(journal),
        };
    }
    let format_ok =
        params.raw("format") == Some("json") && matches!(params.raw("formatversion"), Some("2" | "latest"));
    let identified = if format_ok { session::identify(state, request) } else { Err(bad_format(&params)) };
    let (caller, session) = match identified {
        Ok(found) => found,
        Err(error) => {
            journal.insert("user".into(), Value::Null);
            journal.insert("error".into(), json!(error.code));
            return Exchange {
                response: error_response(format, &error, &host, &[]),
                received: Value::Object(journal),
            };
        }
    };
    let mut ctx = Ctx {
        params,
        commons: is_commons(&hostname),
        host,
        caller,
        session,
        cookie: None,
        post: request.method == http::Method::POST,
        format,
        warnings: Vec::new(),
        journal,
    };
    let result = run(config, state, &mut ctx);
    ctx.note("user", json!(ctx.caller.user));
    ctx.note("auth", json!(ctx.caller.auth_name()));
    let mut response = match result {
        Ok(body) => {
            for name in ctx.params.unused() {
                ctx.warn("main", "unrecognizedparams", &format!("Unrecognized parameter: {name}."));
            }
            success_response(format, body, &ctx.warnings)
        }
        Err(error) => {
            ctx.note("error", json!(error.code));
            error_response(format, &error, &ctx.host, &ctx.warnings)
        }
    };
    if let Some(id) = &ctx.cookie {
        response = response.with_header("set-cookie", &session::cookie(id));
    }
    Exchange { response, received: Value::Object(ctx.journal) }
}

fn bad_format(params: &Params) -> ApiError {
    let format = params.raw("format").unwrap_or("(none)");
    let version = params.raw("formatversion").unwrap_or("(none)");
    ApiError::new(
        "badformat",
        &format!(
            "The simulated wiki answers only format=json with formatversion=2 (this request had format={format}, formatversion={version})."
        ),
    )
}

fn run(config: &Config, state: &mut State, ctx: &mut Ctx) -> Result<Map<String, Value>, ApiError> {
    for name in MAIN_PARAMS {
        ctx.params.get(name);
    }
    let action = ctx.params.get("action").unwrap_or("help").to_owned();
    let Some(module) = Module::from_name(&action) else {
        let text = if action == "upload" {
            "Unrecognized value for parameter \"action\": upload (uploads are not simulated).".to_owned()
        } else {
            format!("Unrecognized value for parameter \"action\": {action}.")
        };
        return Err(ApiError::new("badvalue", &text));
    };
    check_asserts(ctx)?;
    if module.must_post() && !ctx.post {
        return Err(ApiError::new(
            "mustbeposted",
            &format!("The \"{action}\" module requires a POST request."),
        ));
    }
    if module.needs_token() {
        let Some(token) = ctx.params.get("token").map(str::to_owned) else {
            return Err(ApiError::missing("token", &action));
        };
        if ctx.params.in_query("token") {
            return Err(ApiError::new(
                "mustpostparams",
                "The following parameter was found in the query string, but must be in the POST body: token.",
            )
            .module(&action));
        }
        if token != session::csrf_token(&ctx.caller) {
            return Err(ApiError::new("badtoken", "Invalid CSRF token.").module(&action));
        }
    }
    if module.writes_content() {
        if let Some(reason) = &state.read_only {
            return Err(ApiError::new("readonly", "The wiki is currently in read-only mode.")
                .data(json!({"readonlyreason": reason})));
        }
        if ctx.caller.user.is_none() {
            return Err(assert_user_failed());
        }
    }
    if let Some(max) = ctx.params.int("maxlag", "main")?
        && i64::try_from(state.lag).unwrap_or(i64::MAX) > max
    {
        let lag = state.lag;
        return Err(ApiError::new("maxlag", &format!("Waiting for db1001: {lag} seconds lagged."))
            .data(json!({"host": "db1001", "lag": lag, "type": "db"}))
            .header("retry-after", &max.max(5).to_string())
            .header("x-database-lag", &lag.to_string()));
    }
    match module {
        Module::Query => query::query(state, ctx),
        Module::Edit => edit::edit(state, ctx),
        Module::Delete => admin::delete(state, ctx),
        Module::RevisionDelete => admin::revisiondelete(state, ctx),
        Module::Login => session::login(config, state, ctx),
        Module::Logout => session::logout(state, ctx),
        Module::SiteMatrix => sites::sitematrix(ctx),
        Module::Help => {
            let mut body = Map::new();
            body.insert(
                "help".into(),
                json!({"mime": "text/html", "help": "<p>Simulated MediaWiki Action API.</p>"}),
            );
            Ok(body)
        }
    }
}

fn assert_user_failed() -> ApiError {
    ApiError::new("assertuserfailed", "You are no longer logged in, so the action could not be completed.")
}

fn check_asserts(ctx: &Ctx) -> Result<(), ApiError> {
    let anonymous = ctx.caller.user.is_none();
    match ctx.params.get("assert") {
        None => {}
        Some("user") if anonymous => return Err(assert_user_failed()),
        Some("bot") if !ctx.caller.can("bot") => {
            return Err(ApiError::new(
                "assertbotfailed",
                "You do not have the \"bot\" right, so the action could not be completed.",
            ));
        }
        Some("anon") if !anonymous => {
            return Err(ApiError::new(
                "assertanonfailed",
                "You are no longer logged out, so the action could not be completed.",
            ));
        }
        Some("user" | "bot" | "anon") => {}
        Some(other) => {
            return Err(ApiError::new(
                "badvalue",
                &format!("Unrecognized value for parameter \"assert\": {other}."),
            ));
        }
    }
    if let Some(name) = ctx.params.get("assertuser") {
        let wanted = canonical_user(name);
        if ctx.caller.user.as_deref() != Some(wanted.as_str()) {
            return Err(ApiError::new(
                "assertnameduserfailed",
                &format!(
                    "You are no longer logged in as \"{wanted}\", so the action could not be completed."
                ),
            ));
        }
    }
    Ok(())
}

fn docref(host: &str) -> String {
    format!(
        "See https://{host}/w/api.php for API usage. Subscribe to the mediawiki-api-announce mailing list at &lt;https://lists.wikimedia.org/postorius/lists/mediawiki-api-announce.lists.wikimedia.org/&gt; for notice of API deprecations and breaking changes."
    )
}

const SERVED_BY: &str = "mw-api-sim.eqiad.main-1";

fn warnings_value(format: ErrorFormat, warnings: &[Warning]) -> Value {
    if format == ErrorFormat::Bc {
        let mut by_module: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for warning in warnings {
            by_module.entry(warning.module.as_str()).or_default().push(warning.text.as_str());
        }
        let object: Map<String, Value> = by_module
            .into_iter()
            .map(|(m, texts)| (m.to_owned(), json!({"warnings": texts.join("\n")})))
            .collect();
        Value::Object(object)
    } else {
        Value::Array(
            warnings
                .iter()
                .map(|w| format.message(&w.code, &w.text, Some(&w.module), w.data.as_ref()))
                .collect(),
        )
    }
}

fn success_response(format: ErrorFormat, mut body: Map<String, Value>, warnings: &[Warning]) -> PeerResponse {
    if !warnings.is_empty() {
        body.insert("warnings".into(), warnings_value(format, warnings));
    }
    PeerResponse::json(200, &Value::Object(body))
}

pub(super) fn error_response(
    format: ErrorFormat,
    error: &ApiError,
    host: &str,
    warnings: &[Warning],
) -> PeerResponse {
    let mut body = Map::new();
    if format == ErrorFormat::Bc {
        let mut object = Map::new();
        object.insert("code".into(), json!(error.code));
        object.insert("info".into(), json!(error.text));
        if let Some(Value::Object(data)) = error.data.as_deref() {
            for (key, value) in data {
                object.insert(key.clone(), value.clone());
            }
        }
        object.insert("docref".into(), json!(docref(host)));
        body.insert("error".into(), Value::Object(object));
    } else {
        body.insert(
            "errors".into(),
            json!([format.message(&error.code, &error.text, Some(&error.module), error.data.as_deref())]),
        );
        body.insert("docref".into(), json!(docref(host)));
    }
    if !warnings.is_empty() {
        body.insert("warnings".into(), warnings_value(format, warnings));
    }
    body.insert("servedby".into(), json!(SERVED_BY));
    let mut response =
        PeerResponse::json(200, &Value::Object(body)).with_header("mediawiki-api-error", &error.code);
    for (name, value) in &error.headers {
        response = response.with_header(name, value);
    }
    response
}

pub(super) fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
