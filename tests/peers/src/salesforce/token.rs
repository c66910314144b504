//! The OAuth 2.0 token endpoint (JWT bearer grant only) and token revocation.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::Method;
use serde_json::{Map, Value, json};
use sha2::Digest;

use super::{ORG_ID, Salesforce, USER_ID};
use crate::lock;
use crate::request::{PeerRequest, PeerResponse};

/// The one grant type served.
pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The audiences a JWT may name.
const AUDIENCES: [&str; 2] = ["https://login.salesforce.com", "https://test.salesforce.com"];
/// How far ahead of now `exp` may be.
const MAX_EXP_AHEAD_SECS: f64 = 300.0;

fn oauth_error(error: &str, description: &str) -> PeerResponse {
    PeerResponse::json(400, &json!({"error": error, "error_description": description}))
}

/// What the server made of an assertion: every check, so the journal can show them all.
#[derive(Default)]
struct Verdict {
    /// Three base64url parts, a JSON header and claims.
    parsed: bool,
    alg: Option<String>,
    iss: bool,
    signature: bool,
    aud: Option<String>,
    sub: bool,
    /// `ok`, `expired`, `too far ahead` or `missing`.
    exp: &'static str,
}

impl Verdict {
    fn summary(&self) -> Value {
        json!({
            "parsed": self.parsed,
            "alg": self.alg,
            "iss_valid": self.iss,
            "signature_valid": self.signature,
            "aud_valid": self.aud.is_some(),
            "sub_valid": self.sub,
            "exp": self.exp,
        })
    }

    /// The first failed check, in the order the server makes them: the shape, the app (`iss`),
    /// its key (the signature), the audience, the user, the time.
    fn failure(&self) -> Option<(&'static str, &'static str)> {
        const INVALID: (&str, &str) = ("invalid_grant", "invalid assertion");
        if !self.parsed || self.alg.as_deref() != Some("RS256") {
            Some(INVALID)
        } else if !self.iss {
            Some(("invalid_client_id", "client identifier invalid"))
        } else if !self.signature {
            Some(INVALID)
        } else if self.aud.is_none() {
            Some(("invalid_grant", "audience is invalid"))
        } else if !self.sub {
            Some(("invalid_grant", "user hasn't approved this consumer"))
        } else if self.exp == "expired" {
            Some(("invalid_grant", "expired authorization code"))
        } else if self.exp != "ok" {
            Some(INVALID)
        } else {
            None
        }
    }
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn decode_json_part(part: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

impl Salesforce {
    fn judge(&self, assertion: &str, now: f64) -> Verdict {
        let mut verdict = Verdict { exp: "missing", ..Verdict::default() };
        let parts: Vec<&str> = assertion.split('.').collect();
        let [header, claims, signature] = parts.as_slice() else { return verdict };
        let (Some(header_json), Some(claims_json), Ok(signature_bytes)) =
            (decode_json_part(header), decode_json_part(claims), URL_SAFE_NO_PAD.decode(signature))
        else {
            return verdict;
        };
        verdict.parsed = true;
        verdict.alg = header_json.get("alg").and_then(Value::as_str).map(str::to_owned);
        let claim = |name: &str| claims_json.get(name).and_then(Value::as_str);
        verdict.iss = claim("iss") == Some(self.client_id.as_str());
        let signed = format!("{header}.{claims}");
        verdict.signature = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.public_key_der)
            .verify(signed.as_bytes(), &signature_bytes)
            .is_ok();
        verdict.aud = claim("aud").filter(|aud| AUDIENCES.contains(aud)).map(str::to_owned);
        verdict.sub = claim("sub").is_some_and(|sub| sub.eq_ignore_ascii_case(&self.username));
        verdict.exp = match claims_json.get("exp").and_then(Value::as_f64) {
            None => "missing",
            Some(exp) if exp <= now => "expired",
            Some(exp) if exp > now + MAX_EXP_AHEAD_SECS => "too far ahead",
            Some(_) => "ok",
        };
        verdict
    }

    /// `POST /services/oauth2/token`.
    pub(super) fn token(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        if request.method != Method::POST {
            return (oauth_error("invalid_request", "must use HTTP POST"), json!({"refused": "not POST"}));
        }
        if request.media_type() != "application/x-www-form-urlencoded" {
            let received = json!({"refused": format!("body of type {:?}", request.media_type())});
            return (oauth_error("unsupported_grant_type", "grant type not supported"), received);
        }
        let pairs = request.form_pairs();
        let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let grant_type = field("grant_type").unwrap_or("");
        if grant_type != JWT_BEARER {
            let received = json!({"grant_type": grant_type, "verdict": "grant type not supported"});
            return (oauth_error("unsupported_grant_type", "grant type not supported"), received);
        }
        let Some(assertion) = field("assertion").filter(|a| !a.is_empty()) else {
            let received =
                json!({"grant_type": grant_type, "assertion": null, "verdict": "invalid assertion"});
            return (oauth_error("invalid_grant", "invalid assertion"), received);
        };
        let verdict = self.judge(assertion, now());
        let mut received = json!({"grant_type": grant_type, "assertion": verdict.summary()});
        if let Some((error, description)) = verdict.failure() {
            received["verdict"] = json!(description);
            return (oauth_error(error, description), received);
        }
        let mut state = lock(&self.state);
        state.tokens_issued += 1;
        let counter = state.tokens_issued;
        let digest = sha2::Sha256::digest(format!("simulated salesforce session {counter}").as_bytes());
        let access_token = format!("{}!AQ{}", &ORG_ID[..15], URL_SAFE_NO_PAD.encode(digest));
        state.tokens.insert(access_token.clone());
        let issued_at = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let signature =
            STANDARD.encode(sha2::Sha256::digest(format!("{access_token}{issued_at}").as_bytes()));
        let login = verdict.aud.as_deref().unwrap_or(AUDIENCES[0]);
        let body = json!({
            "access_token": access_token,
            "signature": signature,
            "scope": "api",
            "instance_url": self.instance_url(&request.authority),
            "id": format!("{login}/id/{ORG_ID}/{USER_ID}"),
            "token_type": "Bearer",
            "issued_at": issued_at.to_string(),
        });
        received["verdict"] = json!("issued");
        received["tokens_issued"] = json!(counter);
        (PeerResponse::json(200, &body), received)
    }

    /// `https://<instance host>` with the port of the authority the client used.
    fn instance_url(&self, authority: &str) -> String {
        let port = match authority.rsplit_once(':') {
            Some((host, port))
                if !port.is_empty()
                    && port.bytes().all(|b| b.is_ascii_digit())
                    && (!host.contains(':') || host.ends_with(']')) =>
            {
                Some(port)
            }
            _ => None,
        };
        match port {
            Some(port) => format!("https://{}:{port}", self.instance_host),
            None => format!("https://{}", self.instance_host),
        }
    }

    /// `POST /services/oauth2/revoke` (`token=` in a form body or the query).
    pub(super) fn revoke(&self, request: &PeerRequest) -> (PeerResponse, Value) {
        let mut pairs = request.query_pairs();
        if request.method == Method::POST {
            pairs.extend(request.form_pairs());
        } else if request.method != Method::GET {
            return (oauth_error("invalid_request", "must use HTTP POST"), json!({"refused": "method"}));
        }
        let token = pairs.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str()).unwrap_or("");
        let revoked = lock(&self.state).tokens.remove(token);
        let response = if revoked {
            PeerResponse::typed(200, "text/plain; charset=utf-8", "")
        } else {
            oauth_error("unsupported_token_type", "this token type is not supported")
        };
        (response, json!({"revoked": revoked}))
    }
}
