//! A simulated Lumen Database: `POST /notices` (and `/notices.json`) as the Rails app answers
//! it — token in `X-Authentication-Token`, a query parameter or the JSON body; the rate
//! limiter's blocklist (403) for JSON requests without a valid token; 401 for a user who is not
//! a submitter; 302 to the form when the client did not ask for JSON; 400 for broken JSON and
//! escaped NULs; 404 `"Not Found"` without a `notice`; 422 with the Rails errors hash; and
//! `201 Created` with an empty body and `Location: https://HOST/notices/ID` on success.
//!
//! Endpoint names for faults: `notices`.

use std::sync::Mutex;

use serde_json::{Map, Value, json};

use crate::request::{Exchange, Peer, PeerRequest, PeerResponse, upload_summary};
use crate::{Credentials, lock};

const ROLES: [&str; 10] = [
    "principal",
    "agent",
    "attorney",
    "recipient",
    "sender",
    "submitter",
    "target",
    "issuing_court",
    "plaintiff",
    "defendant",
];
const ACTIONS: [&str; 4] = ["Yes", "No", "Partial", "Unspecified"];

pub(crate) struct Lumen {
    submitters: Vec<String>,
    others: Vec<String>,
    notices: Mutex<Vec<Value>>,
}

impl Lumen {
    pub(crate) fn new(credentials: &Credentials) -> Self {
        Self {
            submitters: credentials.lumen_submitter_tokens.clone(),
            others: credentials.lumen_other_tokens.clone(),
            notices: Mutex::new(Vec::new()),
        }
    }
}

impl Peer for Lumen {
    fn endpoint(&self, _request: &PeerRequest) -> String {
        "notices".into()
    }

    fn handle(&self, request: &PeerRequest) -> Exchange {
        let (response, received) = self.create(request);
        Exchange { response, received }
    }

    fn snapshot(&self) -> Value {
        json!({ "notices": *lock(&self.notices) })
    }
}

impl Lumen {
    fn create(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        if request.method != http::Method::POST
            || !matches!(request.path.as_str(), "/notices" | "/notices.json")
        {
            return (PeerResponse::json(404, &json!("Not Found")), Value::Null);
        }
        let wants_json =
            request.header("accept") == Some("application/json") || request.path.ends_with(".json");
        let media = request.media_type();
        let looks_like_api = wants_json || media == "application/json";
        let (notice, token_in_body) = match media.as_str() {
            "application/json" => {
                if request.body.windows(6).any(|w| w == b"\\u0000") {
                    return (PeerResponse::text(400, "Bad request"), json!({"refused": "escaped NUL"}));
                }
                match serde_json::from_slice::<Value>(&request.body) {
                    Ok(body) => {
                        let token =
                            body.get("authentication_token").and_then(Value::as_str).map(str::to_owned);
                        (body.get("notice").cloned(), token)
                    }
                    Err(err) => {
                        let message = format!("There was a problem in the JSON you submitted: {err}");
                        return (
                            PeerResponse::json(400, &json!({"status": 400, "error": message})),
                            json!({"refused": "broken JSON"}),
                        );
                    }
                }
            }
            "multipart/form-data" => match &request.form {
                Some(parts) => (Some(notice_from_form(parts)), None),
                None => {
                    return (
                        PeerResponse::json(400, &json!("Bad Request")),
                        json!({"refused": "broken multipart"}),
                    );
                }
            },
            _ => (None, None),
        };
        let token = request
            .header("x-authentication-token")
            .map(str::to_owned)
            .or_else(|| {
                request.query_pairs().into_iter().find(|(k, _)| k == "authentication_token").map(|(_, v)| v)
            })
            .or(token_in_body);
        let token = token.as_deref().unwrap_or("");
        let submitter = self.submitters.iter().any(|t| t == token);
        let known = submitter || self.others.iter().any(|t| t == token);
        if !known && looks_like_api {
            return (PeerResponse::text(403, "Forbidden"), json!({"refused": "no valid token"}));
        }
        if !submitter {
            let body = json!({"documentation_link": "https://lumendatabase.org/pages/api"});
            return (PeerResponse::json(401, &body), json!({"refused": "not a submitter"}));
        }
        if !wants_json {
            let response =
                PeerResponse::text(302, "").with_header("location", "https://lumen.invalid/notices/new");
            return (response, json!({"refused": "HTML request"}));
        }
        let Some(notice) = notice.filter(Value::is_object) else {
            return (PeerResponse::json(404, &json!("Not Found")), json!({"refused": "no notice key"}));
        };
        let errors = validate(&notice);
        let received = summary(&notice, request);
        if !errors.is_empty() {
            return (PeerResponse::json(422, &json!({ "notices": errors })), received);
        }
        let mut notices = lock(&self.notices);
        let id = 40_000_001 + notices.len() as u64;
        let mut stored = notice.clone();
        stored["id"] = json!(id);
        stored["type"] = json!(normalised_type(&notice));
        notices.push(stored);
        let location = format!("https://{}/notices/{id}", request.authority);
        (PeerResponse::typed(201, "text/html", "").with_header("location", &location), received)
    }
}

/// An unknown or missing type silently becomes DMCA, as on the real server.
fn normalised_type(notice: &Value) -> &'static str {
    const TYPES: [&str; 12] = [
        "Counterfeit",
        "Counternotice",
        "CourtOrder",
        "DataProtection",
        "Defamation",
        "GovernmentRequest",
        "LawEnforcementRequest",
        "LocalLaw",
        "PrivateInformation",
        "Trademark",
        "Other",
        "Placeholder",
    ];
    let given = notice.get("type").and_then(Value::as_str).unwrap_or("");
    TYPES.into_iter().find(|t| *t == given).unwrap_or("DMCA")
}

/// The Rails validations the API spec exercises, as an errors hash.
fn validate(notice: &Value) -> Map<String, Value> {
    let mut errors: Map<String, Value> = Map::new();
    let mut add = |key: &str, message: &str| {
        let list = errors.entry(key.to_owned()).or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            list.push(json!(message));
        }
    };
    let works = notice.get("works_attributes").and_then(Value::as_array);
    if works.is_none_or(Vec::is_empty) {
        add("works", "can't be blank");
    }
    for work in works.into_iter().flatten() {
        for key in ["copyrighted_urls_attributes", "infringing_urls_attributes"] {
            for url in work.get(key).and_then(Value::as_array).into_iter().flatten() {
                if url.get("url").and_then(Value::as_str).is_none_or(|u| u.trim().is_empty()) {
                    add(&format!("works.{}.url", key.trim_end_matches("_attributes")), "can't be blank");
                }
            }
        }
    }
    let roles = notice.get("entity_notice_roles_attributes").and_then(Value::as_array);
    if roles.is_none_or(Vec::is_empty) {
        add("entity_notice_roles", "can't be blank");
    }
    for role in roles.into_iter().flatten() {
        let name = role.get("name").and_then(Value::as_str).unwrap_or("");
        if !ROLES.contains(&name) {
            add("entity_notice_roles.name", "is not included in the list");
        }
        let entity = role.get("entity_attributes");
        if entity.and_then(|e| e.get("name")).and_then(Value::as_str).is_none_or(|n| n.trim().is_empty()) {
            add("entity_notice_roles.entity.name", "can't be blank");
        }
        for (key, value) in entity.and_then(Value::as_object).into_iter().flatten() {
            if value.as_str().is_some_and(|s| s.chars().count() > 255) {
                add(&format!("entity_notice_roles.entity.{key}"), "is too long (maximum is 255 characters)");
            }
        }
    }
    if let Some(action) = notice.get("action_taken").and_then(Value::as_str)
        && !action.is_empty()
        && !ACTIONS.contains(&action)
    {
        add("action_taken", "is not included in the list");
    }
    if notice.get("title").and_then(Value::as_str).is_some_and(|t| t.chars().count() > 255) {
        add("title", "is too long (maximum is 255 characters)");
    }
    for key in ["date_sent", "date_received"] {
        if let Some(date) = notice.get(key).and_then(Value::as_str).filter(|d| !d.is_empty())
            && (date.len() < 10
                || &date[..10] <= "1998-10-28"
                || !date[..10].bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        {
            add(key, "must be a date after October 28, 1998");
        }
    }
    errors
}

/// What the journal records: the shape of the notice and, for files, sizes and hashes only.
fn summary(notice: &Value, request: &PeerRequest) -> Value {
    let roles: Vec<&str> = notice
        .get("entity_notice_roles_attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("name").and_then(Value::as_str))
        .collect();
    let mut files: Vec<Value> = Vec::new();
    for upload in notice.get("file_uploads_attributes").and_then(Value::as_array).into_iter().flatten() {
        if let Some(data_uri) = upload.get("file").and_then(Value::as_str) {
            let data = data_uri.split_once(";base64,").map(|(_, b64)| b64).unwrap_or("");
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD.decode(data).unwrap_or_default();
            files.push(upload_summary(&bytes));
        }
    }
    for part in request.form.iter().flatten().filter(|p| p.file_name.is_some()) {
        files.push(upload_summary(&part.data));
    }
    json!({
        "encoding": request.media_type(),
        "title": notice.get("title"),
        "type": notice.get("type"),
        "works": notice.get("works_attributes").and_then(Value::as_array).map_or(0, Vec::len),
        "roles": roles,
        "files": files,
    })
}

/// Rebuilds the notice from bracketed multipart keys (`notice[works_attributes][0][description]`).
fn notice_from_form(parts: &[crate::FormPart]) -> Value {
    let mut root = json!({});
    for part in parts {
        let Some(rest) = part.name.strip_prefix("notice") else { continue };
        let keys: Vec<&str> = rest.split('[').filter_map(|k| k.strip_suffix(']')).collect();
        if keys.is_empty() {
            continue;
        }
        let value = if part.file_name.is_some() {
            use base64::Engine;
            let mime = part.content_type.clone().unwrap_or_else(|| "application/octet-stream".into());
            json!(format!(
                "data:{mime};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(&part.data)
            ))
        } else {
            json!(String::from_utf8_lossy(&part.data))
        };
        insert(&mut root, &keys, value);
    }
    // Rails turns hashes keyed "0", "1", ... under *_attributes into arrays.
    arrays(&mut root);
    root
}

fn insert(node: &mut Value, keys: &[&str], value: Value) {
    let Some((first, rest)) = keys.split_first() else { return };
    if !node.is_object() {
        *node = json!({});
    }
    let Some(object) = node.as_object_mut() else { return };
    if rest.is_empty() {
        object.insert((*first).to_owned(), value);
    } else {
        insert(object.entry((*first).to_owned()).or_insert_with(|| json!({})), rest, value);
    }
}

fn arrays(node: &mut Value) {
    if let Some(object) = node.as_object_mut() {
        for value in object.values_mut() {
            arrays(value);
        }
        if !object.is_empty() && object.keys().all(|k| k.parse::<usize>().is_ok()) {
            let mut entries: Vec<(usize, Value)> =
                object.iter().filter_map(|(k, v)| k.parse().ok().map(|i| (i, v.clone()))).collect();
            entries.sort_by_key(|(i, _)| *i);
            *node = Value::Array(entries.into_iter().map(|(_, v)| v).collect());
        }
    }
}
