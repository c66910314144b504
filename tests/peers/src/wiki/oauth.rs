//! Extension:OAuth's OAuth 2 endpoints under `/w/rest.php/oauth2/`: `authorize` (the staff
//! member approves at once), `access_token` (authorization code with mandatory S256 PKCE,
//! refresh token), and `resource/profile`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use super::Config;
use super::data::{AuthCode, GRANTS, Grant, State, mw_timestamp, rights_of, rights_under_grants};
use super::session::bearer;
use crate::request::{Exchange, PeerRequest, PeerResponse};

/// How long an authorization code lives.
const CODE_LIFETIME: Duration = Duration::from_secs(600);
/// How long an access token lives (`expires_in`) unless a test sets another lifetime.
pub(super) const TOKEN_LIFETIME: u64 = 3600;

fn html_error(status: u16, message: &str) -> PeerResponse {
    let body = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"UTF-8\"><title>Error - Meta</title></head><body><h1>Error</h1><p class=\"error\">{}</p></body></html>",
        super::api::escape_html(message)
    );
    PeerResponse::typed(status, "text/html; charset=UTF-8", body)
}

/// An RFC 6749 error body, as league/oauth2-server writes it.
fn oauth_error(status: u16, error: &str, hint: Option<&str>) -> PeerResponse {
    let description = match error {
        "invalid_request" => {
            "The request is missing a required parameter, includes an invalid parameter value, includes a parameter more than once, or is otherwise malformed."
        }
        "invalid_client" => "Client authentication failed",
        "invalid_grant" => {
            "The provided authorization grant (e.g., authorization code, resource owner credentials) or refresh token is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."
        }
        "unsupported_grant_type" => {
            "The authorization grant type is not supported by the authorization server."
        }
        "unauthorized_client" => {
            "The authenticated client is not authorized to use this authorization grant type."
        }
        "access_denied" => "The resource owner or authorization server denied the request.",
        _ => {
            "The authorization server encountered an unexpected condition which prevented it from fulfilling the request."
        }
    };
    let mut body = json!({"error": error, "error_description": description, "message": description});
    if let Some(hint) = hint {
        body["hint"] = json!(hint);
    }
    PeerResponse::json(status, &body).with_header("cache-control", "no-store")
}

fn is_pkce_string(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `GET /w/rest.php/oauth2/authorize`.
pub(super) fn authorize(config: &Config, state: &mut State, request: &PeerRequest) -> Exchange {
    let query: BTreeMap<String, String> = request.query_pairs().into_iter().collect();
    let mut received = json!({"params": query.keys().collect::<Vec<_>>()});
    if request.method != http::Method::GET {
        outcome(&mut received, "method");
        return Exchange { response: html_error(405, "Method not allowed."), received };
    }
    if query.get("client_id") != Some(&config.client_id) {
        outcome(&mut received, "invalid_client");
        return Exchange {
            response: html_error(
                400,
                "Client authentication failed (the application is not known: check client_id).",
            ),
            received,
        };
    }
    let redirect = query.get("redirect_uri").and_then(|uri| url::Url::parse(uri).ok()).filter(|u| {
        matches!(u.scheme(), "https" | "http") && u.host_str().is_some() && u.fragment().is_none()
    });
    let Some(mut redirect) = redirect else {
        outcome(&mut received, "invalid_redirect_uri");
        return Exchange {
            response: html_error(400, "Invalid redirect URI (redirect_uri is missing or not absolute)."),
            received,
        };
    };
    let state_param = query.get("state").cloned();
    let fail = |mut redirect: url::Url, error: &str, hint: &str| {
        {
            let mut pairs = redirect.query_pairs_mut();
            pairs.append_pair("error", error).append_pair("error_description", hint);
            if let Some(state_value) = &state_param {
                pairs.append_pair("state", state_value);
            }
        }
        PeerResponse::text(302, "").with_header("location", redirect.as_str())
    };
    if query.get("response_type").map(String::as_str) != Some("code") {
        outcome(&mut received, "unsupported_response_type");
        let response = fail(redirect, "unsupported_response_type", "The only response_type is code.");
        return Exchange { response, received };
    }
    let challenge = query.get("code_challenge").cloned().unwrap_or_default();
    if challenge.is_empty() {
        outcome(&mut received, "no code_challenge");
        let response =
            fail(redirect, "invalid_request", "Code challenge must be provided for public clients");
        return Exchange { response, received };
    }
    if query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        outcome(&mut received, "code_challenge_method not S256");
        let response = fail(redirect, "invalid_request", "Code challenge method must be `S256`");
        return Exchange { response, received };
    }
    if !is_pkce_string(&challenge) {
        outcome(&mut received, "malformed code_challenge");
        let response =
            fail(redirect, "invalid_request", "Code challenge must follow the specifications of RFC-7636.");
        return Exchange { response, received };
    }
    let requested: Vec<String> = query
        .get("scope")
        .map(|s| s.split([' ', '|']).filter(|g| GRANTS.contains(g)).map(str::to_owned).collect())
        .unwrap_or_default();
    let grants =
        if requested.is_empty() { GRANTS.iter().map(|g| (*g).to_owned()).collect() } else { requested };
    let code = format!("def50200{}", state.mint("code", 64));
    state.codes.insert(
        code.clone(),
        AuthCode {
            client_id: config.client_id.clone(),
            redirect_uri: query.get("redirect_uri").cloned().unwrap_or_default(),
            challenge,
            user: config.staff.clone(),
            grants: grants.clone(),
            issued: Instant::now(),
            used: false,
        },
    );
    state.codes_issued += 1;
    {
        let mut pairs = redirect.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(state_value) = &state_param {
            pairs.append_pair("state", state_value);
        }
    }
    outcome(&mut received, "approved");
    received["user"] = json!(config.staff);
    received["grants"] = json!(grants);
    Exchange { response: PeerResponse::text(302, "").with_header("location", redirect.as_str()), received }
}

/// `POST /w/rest.php/oauth2/access_token`.
pub(super) fn access_token(config: &Config, state: &mut State, request: &PeerRequest) -> Exchange {
    let mut received = json!({"content_type": request.media_type()});
    if request.method != http::Method::POST {
        received["outcome"] = json!("method");
        return Exchange { response: oauth_error(405, "invalid_request", Some("Use POST")), received };
    }
    if request.media_type() != "application/x-www-form-urlencoded" {
        received["outcome"] = json!("invalid_request: not urlencoded");
        let hint = "The request body must be application/x-www-form-urlencoded";
        return Exchange { response: oauth_error(400, "invalid_request", Some(hint)), received };
    }
    let form: BTreeMap<String, String> = request.form_pairs().into_iter().collect();
    received["params"] = json!(form.keys().collect::<Vec<_>>());
    received["grant_type"] = json!(form.get("grant_type"));
    let basic = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic ").or_else(|| h.strip_prefix("basic ")))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(id, secret)| (id.to_owned(), secret.to_owned())));
    received["client_auth"] = json!(if basic.is_some() { "basic" } else { "body" });
    let (client_id, secret) = match basic.clone() {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.get("client_id").cloned(), form.get("client_secret").cloned()),
    };
    let Some(client_id) = client_id else {
        received["outcome"] = json!("invalid_request: client_id");
        return Exchange {
            response: oauth_error(400, "invalid_request", Some("Check the `client_id` parameter")),
            received,
        };
    };
    if client_id != config.client_id || secret.as_deref() != Some(config.client_secret.as_str()) {
        received["outcome"] = json!("invalid_client");
        let mut response = oauth_error(401, "invalid_client", None);
        if basic.is_some() {
            response = response.with_header("www-authenticate", "Basic realm=\"OAuth\"");
        }
        return Exchange { response, received };
    }
    let result = match form.get("grant_type").map(String::as_str) {
        None => Err(oauth_error(
            400,
            "unsupported_grant_type",
            Some("Check that all required parameters have been provided"),
        )),
        Some("authorization_code") => code_grant(config, state, &form),
        Some("refresh_token") => refresh_grant(config, state, &form),
        Some("client_credentials") => Err(oauth_error(
            400,
            "unauthorized_client",
            Some("Only owner-only consumers may use the client_credentials grant"),
        )),
        Some(_) => Err(oauth_error(
            400,
            "unsupported_grant_type",
            Some("Check that all required parameters have been provided"),
        )),
    };
    match result {
        Ok((body, user)) => {
            received["outcome"] = json!("issued");
            received["user"] = json!(user);
            let response = PeerResponse::json(200, &body)
                .with_header("cache-control", "no-store")
                .with_header("pragma", "no-cache");
            Exchange { response, received }
        }
        Err(response) => {
            let error =
                serde_json::from_slice::<Value>(&response.body).ok().and_then(|v| v.get("error").cloned());
            received["outcome"] = error.unwrap_or(Value::Null);
            Exchange { response, received }
        }
    }
}

fn code_grant(
    config: &Config,
    state: &mut State,
    form: &BTreeMap<String, String>,
) -> Result<(Value, String), PeerResponse> {
    let Some(code) = form.get("code") else {
        return Err(oauth_error(400, "invalid_request", Some("Check the `code` parameter")));
    };
    let Some(record) = state.codes.get(code).cloned() else {
        return Err(oauth_error(400, "invalid_request", Some("Cannot decrypt the authorization code")));
    };
    if record.issued.elapsed() > CODE_LIFETIME {
        return Err(oauth_error(400, "invalid_grant", Some("Authorization code has expired")));
    }
    if record.used {
        return Err(oauth_error(400, "invalid_grant", Some("Authorization code has been revoked")));
    }
    if record.client_id != config.client_id {
        return Err(oauth_error(
            400,
            "invalid_grant",
            Some("Authorization code was not issued to this client"),
        ));
    }
    match form.get("redirect_uri") {
        None => return Err(oauth_error(400, "invalid_request", Some("Check the `redirect_uri` parameter"))),
        Some(uri) if *uri != record.redirect_uri => {
            return Err(oauth_error(400, "invalid_request", Some("Invalid redirect URI")));
        }
        Some(_) => {}
    }
    let Some(verifier) = form.get("code_verifier") else {
        return Err(oauth_error(400, "invalid_request", Some("Check the `code_verifier` parameter")));
    };
    if !is_pkce_string(verifier) {
        return Err(oauth_error(
            400,
            "invalid_request",
            Some("Code Verifier must follow the specifications of RFC-7636."),
        ));
    }
    use sha2::Digest;
    let computed = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    if computed != record.challenge {
        return Err(oauth_error(400, "invalid_grant", Some("Failed to verify `code_verifier`.")));
    }
    if let Some(stored) = state.codes.get_mut(code) {
        stored.used = true;
    }
    let body = issue(config, state, &record.user, record.grants.clone());
    Ok((body, record.user))
}

fn refresh_grant(
    config: &Config,
    state: &mut State,
    form: &BTreeMap<String, String>,
) -> Result<(Value, String), PeerResponse> {
    let Some(refresh) = form.get("refresh_token") else {
        return Err(oauth_error(400, "invalid_request", Some("Check the `refresh_token` parameter")));
    };
    let Some(access) = state.refresh_tokens.get(refresh).cloned() else {
        return Err(oauth_error(400, "invalid_grant", Some("Cannot decrypt the refresh token")));
    };
    let Some(old) = state.access_tokens.get(&access).cloned() else {
        return Err(oauth_error(400, "invalid_grant", Some("Token has been revoked")));
    };
    if old.client_id != config.client_id {
        return Err(oauth_error(400, "invalid_grant", Some("Token is not linked to client")));
    }
    state.refresh_tokens.remove(refresh);
    state.access_tokens.remove(&access);
    state.refreshes += 1;
    let body = issue(config, state, &old.user, old.grants.clone());
    Ok((body, old.user))
}

/// Mints an access token (JWT-shaped) and a refresh token.
fn issue(config: &Config, state: &mut State, user: &str, grants: Vec<String>) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let jti = state.mint("jti", 40);
    let header = URL_SAFE_NO_PAD.encode(json!({"typ": "JWT", "alg": "RS256"}).to_string());
    let payload = URL_SAFE_NO_PAD.encode(
        json!({
            "aud": config.client_id,
            "jti": jti,
            "iat": now,
            "nbf": now,
            "exp": now + state.token_lifetime,
            "sub": state.user_id(user).to_string(),
            "iss": "https://meta.wikimedia.org",
            "ratelimit": {"requests_per_unit": 5000, "unit": "HOUR"},
            "scopes": grants,
        })
        .to_string(),
    );
    use sha2::Digest;
    let signature =
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(format!("{header}.{payload}.simulated").as_bytes()));
    let access = format!("{header}.{payload}.{signature}");
    let refresh = format!("def50200{}", state.mint("refresh", 64));
    state.access_tokens.insert(
        access.clone(),
        Grant {
            user: user.to_owned(),
            grants,
            client_id: config.client_id.clone(),
            expires: Instant::now() + Duration::from_secs(state.token_lifetime),
        },
    );
    state.refresh_tokens.insert(refresh.clone(), access.clone());
    state.tokens_issued += 1;
    let lifetime = state.token_lifetime;
    json!({"token_type": "Bearer", "expires_in": lifetime, "access_token": access, "refresh_token": refresh})
}

/// `GET /w/rest.php/oauth2/resource/profile`.
pub(super) fn profile(state: &mut State, request: &PeerRequest) -> Exchange {
    let Some(token) = bearer(request) else {
        let response = oauth_error(401, "access_denied", Some("Missing \"Authorization\" header"));
        return Exchange { response, received: json!({"outcome": "no bearer"}) };
    };
    let grant = state.access_tokens.get(&token).filter(|g| g.expires > Instant::now()).cloned();
    let Some(grant) = grant else {
        let body = json!({
            "messageTranslations": {"en": "The authorization headers in your request are not valid: Invalid access token"},
            "errorKey": "mwoauth-invalid-authorization",
            "httpCode": 403,
            "httpReason": "Forbidden",
        });
        return Exchange {
            response: PeerResponse::json(403, &body),
            received: json!({"outcome": "invalid bearer"}),
        };
    };
    let groups = state.groups_of(&grant.user);
    let rights = rights_under_grants(&rights_of(&groups), &grant.grants);
    let user = state.user(&grant.user);
    let body = json!({
        "sub": user.map_or(0, |u| u.id).to_string(),
        "username": grant.user,
        "editcount": user.map_or(0, |u| u.editcount),
        "confirmed_email": true,
        "email_verified": true,
        "blocked": false,
        "registered": user.map(|u| mw_timestamp(&u.registration)),
        "groups": groups,
        "rights": rights,
        "grants": grant.grants,
    });
    Exchange {
        response: PeerResponse::json(200, &body),
        received: json!({"outcome": "profile", "user": grant.user}),
    }
}

fn outcome(received: &mut Value, what: &str) {
    received["outcome"] = json!(what);
}
