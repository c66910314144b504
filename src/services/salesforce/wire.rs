//! Salesforce REST API messages: the OAuth 2.0 JWT bearer token request and its answer, the Case
//! upsert by external ID (and the lookup that goes with it), the file upload (ContentVersion), the
//! error shapes every REST resource shares, and the `Sforce-Limit-Info` header.
//!
//! Pure: typed values, the key and "now" in, a [`WireRequest`] out; a [`WireResponse`] in, a typed
//! value or a [`SalesforceError`] out. The signing key, the assertion and the access token never
//! appear in a `Debug` or an error message.
//!
//! Why an upsert by external ID rather than a plain create: the saga may repeat a step whose
//! answer it never saw. A `PATCH` to `Case/<field>/<our case ID>` creates the Case the first time
//! and updates that same Case after that, so a retry cannot make a second one.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::Method;
use http::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use url::Url;
use zeroize::Zeroizing;

use crate::egress::wire::{Body, InvalidHeaderText, Part, WireRequest, WireResponse};

/// The OAuth grant type of the JWT bearer flow (RFC 7523).
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// How far ahead of "now" the assertion's `exp` lies. Salesforce accepts only a few minutes
/// (third-party sources say three, for clock skew), and the assertion is used at once.
pub const ASSERTION_LIFETIME_SECS: u64 = 180;

/// The largest file a multipart ContentVersion upload takes (2 GiB).
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// How many characters of the server's own words an error message keeps.
const EXCERPT_CHARS: usize = 300;

/// How many errors of one answer are kept.
const MAX_ERRORS: usize = 50;

/// The key prefix of every Case ID (fixed across orgs for standard objects).
const CASE_PREFIX: &str = "500";

// === JWT bearer grant ===

/// The RSA private key whose certificate is uploaded to the connected app (or External Client
/// App): it signs the JWT assertion. `Debug` shows only the key size.
pub struct JwtKey(RsaKeyPair);

impl JwtKey {
    /// Reads a PEM private key: `PRIVATE KEY` (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1); other blocks
    /// (a certificate in the same file) are skipped. An encrypted key is refused with a note on
    /// how to decrypt it; the key must be 2048 to 8192 bits.
    pub fn from_pem(text: &str) -> Result<JwtKey, SalesforceError> {
        let (label, der) = pem_block(text)?;
        let parsed = match label.as_str() {
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(key_error(
                    "the PEM key is encrypted; store it decrypted (openssl pkcs8 -topk8 -nocrypt) in a file \
                     only takedown can read",
                ));
            }
            other => {
                return Err(key_error(format!(
                    "the PEM block is labelled {}, not an RSA private key (BEGIN PRIVATE KEY or BEGIN RSA \
                     PRIVATE KEY)",
                    clip(other, 40)
                )));
            }
        };
        parsed
            .map(JwtKey)
            .map_err(|_| key_error("the PEM block does not hold an RSA private key of 2048 to 8192 bits"))
    }

    /// Reads a DER private key: PKCS#8, or PKCS#1 `RSAPrivateKey`.
    pub fn from_der(der: &[u8]) -> Result<JwtKey, SalesforceError> {
        RsaKeyPair::from_pkcs8(der).or_else(|_| RsaKeyPair::from_der(der)).map(JwtKey).map_err(|_| {
            key_error("the DER bytes are not an RSA private key (PKCS#8 or PKCS#1) of 2048 to 8192 bits")
        })
    }

    /// The size of the key's modulus in bits.
    pub fn bits(&self) -> usize {
        self.0.public_modulus_len() * 8
    }

    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256. It is deterministic, so this signs a precomputed
    /// digest, which needs no random number source (aws-lc-rs's `sign` asks for one and then
    /// ignores it).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SalesforceError> {
        let digest = digest::digest(&digest::SHA256, message);
        let mut signature = vec![0; self.0.public_modulus_len()];
        self.0
            .sign_digest(&signature::RSA_PKCS1_SHA256, &digest, &mut signature)
            .map_err(|_| key_error("signing the assertion failed"))?;
        Ok(signature)
    }
}

impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtKey(RSA {} bits, private)", self.bits())
    }
}

/// The JWT's audience: the login host the org uses. Kept as text because Salesforce compares
/// it as a string, and a URL type would add a trailing slash that it does not expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audience(String);

impl Audience {
    /// Production and developer orgs.
    pub const PRODUCTION: &str = "https://login.salesforce.com";
    /// Sandboxes.
    pub const SANDBOX: &str = "https://test.salesforce.com";

    /// `https://login.salesforce.com`.
    pub fn production() -> Audience {
        Audience(Self::PRODUCTION.to_owned())
    }

    /// `https://test.salesforce.com`.
    pub fn sandbox() -> Audience {
        Audience(Self::SANDBOX.to_owned())
    }

    /// Another audience (an Experience Cloud site URL): an https URL without user name, query or
    /// fragment; a trailing slash is dropped.
    pub fn parse(text: &str) -> Result<Audience, SalesforceError> {
        let bad = |reason: &str| invalid("the JWT audience", format!("{:?} {reason}", clip(text, 100)));
        let url = Url::parse(text.trim()).map_err(|_| bad("is not a URL"))?;
        if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
            return Err(bad("is not an https URL with a host; use https://login.salesforce.com or \
                 https://test.salesforce.com"));
        }
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(bad("must not carry a user name, query or fragment"));
        }
        Ok(Audience(url.as_str().trim_end_matches('/').to_owned()))
    }

    /// The audience as sent in the `aud` claim.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the JWT bearer grant needs: the app's consumer key, the Salesforce user the token acts
/// as (the app must be pre-authorised for that user), the audience and the signing key.
pub struct JwtGrant {
    /// The connected app's consumer key (the `iss` claim).
    pub client_id: String,
    /// The Salesforce username (the `sub` claim).
    pub username: String,
    /// The login host (the `aud` claim).
    pub audience: Audience,
    /// The private key matching the certificate uploaded to the app.
    pub key: JwtKey,
}

impl fmt::Debug for JwtGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtGrant")
            .field("username", &self.username)
            .field("audience", &self.audience.as_str())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The token endpoint of a login host: `<login>/services/oauth2/token` (any path or query on
/// `login` is replaced).
pub fn token_url(login: &Url) -> Url {
    let mut url = login.clone();
    url.set_path("/services/oauth2/token");
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// The token request: `POST <token_url>` with the form `grant_type=<JWT bearer>&assertion=<JWT>`.
/// The JWT is `{"alg":"RS256"}` with claims `iss`, `sub`, `aud` and `exp` = `now_unix` + 180 s,
/// signed with the grant's key; the same inputs always give the same bytes.
pub fn build_token_request(
    token_url: &Url,
    grant: &JwtGrant,
    now_unix: u64,
) -> Result<WireRequest, SalesforceError> {
    check_endpoint(token_url, "the token URL")?;
    check_text("the consumer key (client_id)", &grant.client_id, 255)?;
    check_text("the Salesforce username", &grant.username, 255)?;
    let exp = now_unix.checked_add(ASSERTION_LIFETIME_SECS).ok_or_else(|| {
        invalid("the clock", format!("reads {now_unix} seconds, past any date a JWT can carry"))
    })?;
    let assertion = jwt_assertion(grant, exp)?;
    Ok(WireRequest::new(Method::POST, token_url.clone())
        .header(ACCEPT, "application/json")
        .body(Body::form([("grant_type", JWT_BEARER_GRANT), ("assertion", assertion.as_str())])))
}

fn jwt_assertion(grant: &JwtGrant, exp: u64) -> Result<Zeroizing<String>, SalesforceError> {
    let claims = serde_json::json!({
        "iss": grant.client_id,
        "sub": grant.username,
        "aud": grant.audience.as_str(),
        "exp": exp,
    });
    let mut jwt = Zeroizing::new(format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    ));
    let signature = grant.key.sign(jwt.as_bytes())?;
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(jwt)
}

/// The first private-key block of a PEM file (a file may also hold the certificate): its label
/// and its decoded bytes (wiped when dropped).
fn pem_block(text: &str) -> Result<(String, Zeroizing<Vec<u8>>), SalesforceError> {
    let mut lines = text.lines().map(str::trim);
    let mut skipped: Vec<String> = Vec::new();
    let label = loop {
        let Some(line) = lines.next() else {
            return Err(key_error(if skipped.is_empty() {
                "no -----BEGIN ...----- line; give the private key in PEM or DER form".to_owned()
            } else {
                format!("the PEM text holds {} but no private key", skipped.join(", "))
            }));
        };
        let Some(label) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) else {
            continue;
        };
        if label.ends_with("PRIVATE KEY") {
            break label.to_owned();
        }
        // Another block (a CERTIFICATE): skip to its end.
        if skipped.len() < 5 {
            skipped.push(clip(label, 40));
        }
        let end = format!("-----END {label}-----");
        if !lines.by_ref().any(|line| line == end) {
            return Err(key_error(format!("the PEM block {} has no END line", clip(label, 40))));
        }
    };
    let end = format!("-----END {label}-----");
    let mut encoded = Zeroizing::new(String::new());
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`, `DEK-Info: ...`) mark an encrypted
        // PKCS#1 key; base64 never contains a colon.
        if line.contains(':') {
            return Err(key_error(
                "the PEM key is encrypted; store it decrypted (openssl rsa) in a file only takedown can read",
            ));
        }
        encoded.push_str(line);
    }
    if !ended {
        return Err(key_error(format!("the PEM block has no -----END {}----- line", clip(&label, 40))));
    }
    let der =
        STANDARD.decode(encoded.as_bytes()).map_err(|_| key_error("the PEM block's base64 is damaged"))?;
    Ok((label, Zeroizing::new(der)))
}

// === access token ===

/// An access token and the instance it works on. The token is wiped when dropped and never
/// printed; the instance URL is an https origin (the client also checks it against the egress
/// policy before it sends the token there).
pub struct AccessToken {
    token: Zeroizing<String>,
    instance_url: Url,
    issued_at: Option<OffsetDateTime>,
}

impl AccessToken {
    /// A token for an instance, checked as [`parse_token_response`] checks them: a token that
    /// can be sent in a header, an https origin without user name, path or query.
    pub fn new(
        token: &str,
        instance_url: &str,
        issued_at: Option<OffsetDateTime>,
    ) -> Result<AccessToken, SalesforceError> {
        if token.is_empty() || token.len() > 8192 || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(malformed(
                200,
                "the access_token is empty, too long, or holds characters a header cannot carry",
            ));
        }
        let instance_url = check_instance_url(instance_url)
            .map_err(|reason| SalesforceError::InvalidInstanceUrl { url: clip(instance_url, 100), reason })?;
        Ok(AccessToken { token: Zeroizing::new(token.to_owned()), instance_url, issued_at })
    }

    /// The token itself, for the `Authorization` header.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// The instance the token works on (`https://<my domain>.my.salesforce.com/`).
    pub fn instance_url(&self) -> &Url {
        &self.instance_url
    }

    /// When Salesforce issued the token, if it said (the client credentials flow does).
    pub fn issued_at(&self) -> Option<OffsetDateTime> {
        self.issued_at
    }

    fn bearer(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.secret()))
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken(for {}, token hidden)", self.instance_url.host_str().unwrap_or(""))
    }
}

/// Reads the token endpoint's answer. Only a 200 JSON object with a non-blank `access_token`
/// and an https-origin `instance_url` is a token; a `token_type` other than Bearer, HTML from
/// the login host, and every OAuth error (`{"error","error_description"}`) are errors. Unknown
/// fields (`scope`, `id`, `signature`, `api_instance_url`) are ignored; a malformed `issued_at`
/// is read as absent, since nothing depends on it.
pub fn parse_token_response(response: &WireResponse) -> Result<AccessToken, SalesforceError> {
    let status = response.status.as_u16();
    if status != 200 {
        return Err(token_error(response));
    }
    // A 200 body may hold a token: never quote it.
    let Value::Object(fields) = read_json(response, Quote::Withhold)? else {
        return Err(malformed(status, "the token answer is not a JSON object"));
    };
    let token = match fields.get("access_token") {
        Some(Value::String(token)) if !token.trim().is_empty() => token,
        _ => return Err(malformed(status, "the token answer has no access_token")),
    };
    let instance_url = match fields.get("instance_url") {
        Some(Value::String(url)) if !url.trim().is_empty() => url,
        _ => return Err(malformed(status, "the token answer has no instance_url")),
    };
    match fields.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("Bearer") => {}
        Some(_) => return Err(malformed(status, "the token answer's token_type is not Bearer")),
    }
    let issued_at = match fields.get("issued_at") {
        Some(Value::String(millis)) => millis_to_time(millis),
        _ => None,
    };
    AccessToken::new(token, instance_url, issued_at)
}

/// The token endpoint answered something other than 200.
fn token_error(response: &WireResponse) -> SalesforceError {
    let status = response.status.as_u16();
    if response.status.is_success() {
        // Whatever it is, it may hold a token: never quote it.
        return malformed(status, "the token endpoint answers 200 and nothing else");
    }
    if matches!(status, 429 | 500..=599) {
        return SalesforceError::Unavailable { status, detail: excerpt(&response.body) };
    }
    if looks_like_html(response) {
        return not_json(response, Quote::Body);
    }
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(fields)) => match fields.get("error") {
            Some(Value::String(error)) if !error.trim().is_empty() => SalesforceError::OAuth {
                error: clip(error, 100),
                description: match fields.get("error_description") {
                    Some(Value::String(text)) => clip(text, EXCERPT_CHARS),
                    _ => String::new(),
                },
            },
            _ => parse_rest_error(response),
        },
        Ok(_) => parse_rest_error(response),
        Err(_) => not_json(response, Quote::Body),
    }
}

/// Salesforce's `issued_at`: milliseconds since the epoch, as a string.
fn millis_to_time(millis: &str) -> Option<OffsetDateTime> {
    let millis: i64 = millis.trim().parse().ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
}

/// An instance URL a token may be sent to: https, a host, nothing but the origin.
fn check_instance_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|_| "it is not a URL".to_owned())?;
    if url.scheme() != "https" {
        return Err("it is not https".to_owned());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("it has no host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("it carries a user name or password".to_owned());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("it is more than an origin (it has a path, query or fragment)".to_owned());
    }
    Ok(url)
}

// === records ===

/// A Salesforce record ID: 15 (case-sensitive) or 18 (case-insensitive) ASCII letters and
/// digits. The API returns 18; the first three characters name the object (Case `500`,
/// ContentVersion `068`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SalesforceId(String);

impl SalesforceId {
    /// Checks the length and the characters.
    pub fn parse(text: &str) -> Result<SalesforceId, SalesforceError> {
        if matches!(text.len(), 15 | 18) && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(SalesforceId(text.to_owned()))
        } else {
            Err(invalid(
                "the Salesforce record ID",
                format!("{:?} is not 15 or 18 letters and digits", clip(text, 40)),
            ))
        }
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The object's key prefix (the first three characters).
    pub fn key_prefix(&self) -> &str {
        self.0.get(..3).unwrap_or("")
    }
}

impl fmt::Display for SalesforceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for SalesforceId {
    type Err = SalesforceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SalesforceId::parse(text)
    }
}

/// What an upsert by external ID did. A created Case always has its ID; an update answered
/// with 204 and no body (API versions before 46.0) does not, and then the client looks the
/// Case up with [`build_case_lookup`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaseRecord {
    /// 201: a new Case.
    Created(SalesforceId),
    /// 200 (with the ID) or 204 (without): the existing Case was updated.
    Updated(Option<SalesforceId>),
}

impl CaseRecord {
    /// The Case's ID, if the answer carried it.
    pub fn id(&self) -> Option<&SalesforceId> {
        match self {
            CaseRecord::Created(id) => Some(id),
            CaseRecord::Updated(id) => id.as_ref(),
        }
    }

    /// Whether the upsert created the Case.
    pub fn created(&self) -> bool {
        matches!(self, CaseRecord::Created(_))
    }
}

/// Create-or-update of a Case by our own case ID: `PATCH
/// /services/data/v<version>/sobjects/Case/<field>/<percent-encoded id>` with the field values as
/// JSON. `external_id_field` is a custom field (`Takedown_Case_ID__c`) or a standard name;
/// `api_version` looks like `67.0`. The body may not name `Id` or the external-ID field itself
/// (Salesforce refuses both), and every key must be an API name. `instance` must be the origin
/// the token was issued for.
pub fn build_upsert_case(
    instance: &Url,
    api_version: &str,
    token: &AccessToken,
    external_id_field: &str,
    external_id: &str,
    fields: &Map<String, Value>,
) -> Result<WireRequest, SalesforceError> {
    let url = case_by_external_id_url(instance, api_version, token, external_id_field, external_id)?;
    if fields.is_empty() {
        return Err(invalid("the Case fields", "are empty; there is nothing to send"));
    }
    for name in fields.keys() {
        if !is_api_name(name) {
            return Err(invalid(
                "a Case field name",
                format!("{:?} is not a Salesforce API name (letters, digits and _)", clip(name, 80)),
            ));
        }
        if name.eq_ignore_ascii_case("Id") || name.eq_ignore_ascii_case(external_id_field) {
            return Err(invalid(
                "the Case fields",
                format!(
                    "must not contain {name}: the URL names the record, and Salesforce refuses it in the body"
                ),
            ));
        }
    }
    authorised(Method::PATCH, url, token)
        .map(|request| request.body(Body::json(&Value::Object(fields.clone()))))
}

/// Reads an upsert's answer: 201 `{"id","success":true,"errors":[],"created":true}` is
/// [`CaseRecord::Created`]; 200 with `created:false` is [`CaseRecord::Updated`] with the ID; 204
/// is an update without one. A `created` flag that disagrees with the status, `success:false`,
/// a non-empty `errors`, an ID that is not a Case's, and HTTP 300 (the external ID matches
/// several Cases) are errors.
pub fn parse_upsert_case(response: &WireResponse) -> Result<CaseRecord, SalesforceError> {
    let status = response.status.as_u16();
    match status {
        200 | 201 => {
            let saved = read_save_result(response)?;
            let created = status == 201;
            if saved.created.is_some_and(|flag| flag != created) {
                return Err(malformed(status, "the created flag contradicts the status"));
            }
            if saved.id.key_prefix() != CASE_PREFIX {
                return Err(malformed(status, "the record ID is not a Case's (500...)"));
            }
            Ok(if created { CaseRecord::Created(saved.id) } else { CaseRecord::Updated(Some(saved.id)) })
        }
        204 => Ok(CaseRecord::Updated(None)),
        _ => Err(unexpected_or_error(response)),
    }
}

/// Finds a Case by our case ID: `GET .../sobjects/Case/<field>/<id>?fields=Id` (used after an
/// upsert answered 204).
pub fn build_case_lookup(
    instance: &Url,
    api_version: &str,
    token: &AccessToken,
    external_id_field: &str,
    external_id: &str,
) -> Result<WireRequest, SalesforceError> {
    let mut url = case_by_external_id_url(instance, api_version, token, external_id_field, external_id)?;
    url.set_query(Some("fields=Id"));
    authorised(Method::GET, url, token)
}

/// Reads the lookup's answer: 200 `{"attributes":{...},"Id":"500..."}`. HTTP 300 means
/// several Cases carry the external ID; 404 means none does.
pub fn parse_case_lookup(response: &WireResponse) -> Result<SalesforceId, SalesforceError> {
    let status = response.status.as_u16();
    if status != 200 {
        return Err(unexpected_or_error(response));
    }
    let Value::Object(fields) = read_json(response, Quote::Body)? else {
        return Err(malformed(status, "the record is not a JSON object"));
    };
    let id = match fields.get("Id") {
        Some(Value::String(id)) => SalesforceId::parse(id)
            .map_err(|_| malformed(status, "the record's Id is not a Salesforce ID"))?,
        _ => return Err(malformed(status, "the record has no Id")),
    };
    if id.key_prefix() != CASE_PREFIX {
        return Err(malformed(status, "the record ID is not a Case's (500...)"));
    }
    Ok(id)
}

/// A file attached to a Case: `POST .../sobjects/ContentVersion` as multipart, part
/// `entity_content` (JSON: `Title`, `PathOnClient`, `FirstPublishLocationId` = the Case, which
/// links the file to it) then part `VersionData` (the bytes, `application/octet-stream`).
/// Salesforce derives the file type from `PathOnClient`'s extension. The file name may not hold
/// a path, quotes or control characters; the file must be 1 byte to 2 GiB.
pub fn build_content_version(
    instance: &Url,
    api_version: &str,
    token: &AccessToken,
    case_id: &SalesforceId,
    title: &str,
    file_name: &str,
    data: Bytes,
) -> Result<WireRequest, SalesforceError> {
    let url = sobject_url(instance, api_version, token, &["ContentVersion"])?;
    if case_id.key_prefix() != CASE_PREFIX {
        return Err(invalid("the Case ID", format!("{case_id} is not a Case's (Case IDs begin with 500)")));
    }
    check_text("the file title", title, 255)?;
    check_text("the file name", file_name, 255)?;
    if file_name.contains(['/', '\\', '"']) || matches!(file_name, "." | "..") {
        return Err(invalid(
            "the file name",
            // Not quoted: a file name is case data, and this message reaches the log.
            "must be a plain name, without a path or quotes".to_owned(),
        ));
    }
    if data.is_empty() || data.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid(
            "the file",
            format!("is {} bytes; Salesforce takes 1 byte to 2 GiB", data.len()),
        ));
    }
    let entity = serde_json::json!({
        "Title": title,
        "PathOnClient": file_name,
        "FirstPublishLocationId": case_id.as_str(),
    });
    let parts = vec![
        Part {
            name: "entity_content".to_owned(),
            file_name: None,
            content_type: Some("application/json"),
            data: Bytes::from(entity.to_string()),
        },
        Part::file("VersionData", file_name, "application/octet-stream", data),
    ];
    authorised(Method::POST, url, token).map(|request| request.body(Body::Multipart(parts)))
}

/// Reads a create's answer (ContentVersion, or any sObject): 201
/// `{"id":"068...","success":true,"errors":[]}`. Another status, `success:false`, a non-empty
/// `errors` or a malformed ID is an error.
pub fn parse_create_record(response: &WireResponse) -> Result<SalesforceId, SalesforceError> {
    match response.status.as_u16() {
        201 => Ok(read_save_result(response)?.id),
        _ => Err(unexpected_or_error(response)),
    }
}

/// A save result's useful fields.
struct Saved {
    id: SalesforceId,
    created: Option<bool>,
}

/// `{"id","success","errors","created"?}`, trusted only if it says it succeeded.
fn read_save_result(response: &WireResponse) -> Result<Saved, SalesforceError> {
    let status = response.status.as_u16();
    let Value::Object(fields) = read_json(response, Quote::Body)? else {
        return Err(malformed(status, "the save result is not a JSON object"));
    };
    let (errors, listed) = match fields.get("errors") {
        None | Some(Value::Null) => (Vec::new(), 0),
        Some(Value::Array(items)) => (error_list(items), items.len()),
        Some(_) => return Err(malformed(status, "the save result's errors is not a list")),
    };
    match fields.get("success") {
        Some(Value::Bool(true)) if listed == 0 => {}
        Some(Value::Bool(_)) => return Err(SalesforceError::RecordFailed { status, errors }),
        _ => return Err(malformed(status, "the save result has no success flag")),
    }
    let id = match fields.get("id") {
        Some(Value::String(id)) => SalesforceId::parse(id)
            .map_err(|_| malformed(status, "the save result's id is not a Salesforce ID"))?,
        _ => return Err(malformed(status, "the save result has no id")),
    };
    let created = match fields.get("created") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return Err(malformed(status, "the save result's created flag is not true or false")),
    };
    Ok(Saved { id, created })
}

/// A 2xx the operation does not answer with is malformed; anything else is an error answer.
fn unexpected_or_error(response: &WireResponse) -> SalesforceError {
    let status = response.status.as_u16();
    if response.status.is_success() {
        malformed(status, "this operation does not answer with that status")
    } else {
        parse_rest_error(response)
    }
}

fn case_by_external_id_url(
    instance: &Url,
    api_version: &str,
    token: &AccessToken,
    external_id_field: &str,
    external_id: &str,
) -> Result<Url, SalesforceError> {
    let custom = external_id_field.len() > 3 && external_id_field.ends_with("__c");
    let field_ok = is_api_name(external_id_field)
        && !external_id_field.eq_ignore_ascii_case("Id")
        && (custom || !external_id_field.contains('_'));
    if !field_ok {
        return Err(invalid(
            "the external ID field",
            format!(
                "{:?} is not a custom field name like Takedown_Case_ID__c or a standard field name",
                clip(external_id_field, 80)
            ),
        ));
    }
    // "." and ".." would be read as path steps; edge spaces would silently not match.
    if external_id.is_empty()
        || external_id.chars().count() > 255
        || matches!(external_id, "." | "..")
        || external_id.trim() != external_id
        || external_id.chars().any(char::is_control)
    {
        return Err(invalid(
            "the external ID",
            format!(
                "{:?} must be 1 to 255 characters, without control characters or edge spaces",
                clip(external_id, 80)
            ),
        ));
    }
    sobject_url(instance, api_version, token, &["Case", external_id_field, external_id])
}

/// `<instance>/services/data/v<version>/sobjects/<segments, percent-encoded>`.
fn sobject_url(
    instance: &Url,
    api_version: &str,
    token: &AccessToken,
    segments: &[&str],
) -> Result<Url, SalesforceError> {
    check_instance_url(instance.as_str()).map_err(|reason| {
        invalid("the instance URL", format!("{}: {reason}", clip(instance.as_str(), 100)))
    })?;
    if instance.origin() != token.instance_url().origin() {
        return Err(invalid(
            "the instance URL",
            format!(
                "{} is not the instance the token was issued for; a token is only sent to its own instance",
                clip(instance.as_str(), 100)
            ),
        ));
    }
    let version_ok = api_version.split_once('.').is_some_and(|(major, minor)| {
        (1..=3).contains(&major.len())
            && major.bytes().all(|b| b.is_ascii_digit())
            && minor.len() == 1
            && minor.bytes().all(|b| b.is_ascii_digit())
    });
    if !version_ok {
        return Err(invalid("the API version", format!("{:?} must look like 67.0", clip(api_version, 20))));
    }
    let mut path = format!("/services/data/v{api_version}/sobjects");
    for segment in segments {
        path.push('/');
        encode_segment(segment, &mut path);
    }
    let mut url = instance.clone();
    url.set_path(&path);
    Ok(url)
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so that `/`, `?`, `#`, `%`,
/// `+` and `;` in an ID stay inside one path segment whatever the server's decoder does.
fn encode_segment(segment: &str, out: &mut String) {
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

fn authorised(method: Method, url: Url, token: &AccessToken) -> Result<WireRequest, SalesforceError> {
    Ok(WireRequest::new(method, url)
        .header(ACCEPT, "application/json")
        .secret_header(AUTHORIZATION, &token.bearer())?)
}

/// A Salesforce API name: a letter, then letters, digits and underscores, at most 80.
fn is_api_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    name.len() <= 80
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

// === errors every REST resource shares ===

/// One entry of Salesforce's error list (`[{"message","errorCode","fields"}]`), or of a save
/// result's `errors` (`statusCode` instead of `errorCode`). At least one of `code` and
/// `message` is non-empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// `REQUIRED_FIELD_MISSING`, `INVALID_FIELD`, ...
    pub code: String,
    /// Salesforce's words (shortened to 300 characters).
    pub message: String,
    /// The fields it concerns, if it named any.
    pub fields: Vec<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.code.is_empty(), self.message.is_empty()) {
            (false, false) => write!(f, "{}: {}", self.code, self.message)?,
            (false, true) => f.write_str(&self.code)?,
            _ => f.write_str(&self.message)?,
        }
        if !self.fields.is_empty() {
            let shown = self.fields.iter().take(5).map(String::as_str).collect::<Vec<_>>().join(", ");
            let more = if self.fields.len() > 5 { ", …" } else { "" };
            write!(f, " (fields: {shown}{more})")?;
        }
        Ok(())
    }
}

/// Salesforce's API usage from `Sforce-Limit-Info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiUsage {
    /// Requests used in the last 24 hours.
    pub used: u64,
    /// The org's 24-hour allowance.
    pub limit: u64,
}

/// Reads `Sforce-Limit-Info: api-usage=42/100000` (other entries such as `api-bursts=...` or
/// `per-app-api-usage=...` may follow). Absent or malformed: `None`.
pub fn parse_limit_info(headers: &HeaderMap) -> Option<ApiUsage> {
    let text = headers.get("sforce-limit-info")?.to_str().ok()?;
    let usage = text.split([',', ';']).find_map(|entry| entry.trim().strip_prefix("api-usage="))?;
    let (used, limit) = usage.trim().split_once('/')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(used) || !digits(limit) {
        return None;
    }
    Some(ApiUsage { used: used.parse().ok()?, limit: limit.parse().ok()? })
}

/// Everything that can go wrong talking to Salesforce. Messages name Salesforce, quote at most
/// 300 characters of its words, and never contain the key, the assertion or a token.
#[derive(Debug, thiserror::Error)]
pub enum SalesforceError {
    /// Several Cases carry the external ID (HTTP 300), so Salesforce cannot tell which to use.
    #[error(
        "Salesforce found {count} Cases with the same external ID and cannot tell which one to use; make the \
         external-ID field unique in Salesforce and merge the duplicate Cases"
    )]
    AmbiguousExternalId {
        /// How many records Salesforce listed.
        count: usize,
    },
    /// Salesforce refused the request with its error list (400, 403, 405, 500 ...).
    #[error("Salesforce refused the request (HTTP {status}): {}{}", summary(.errors), api_hint(.errors))]
    Api {
        /// The HTTP status.
        status: u16,
        /// The errors, never empty.
        errors: Vec<ApiError>,
    },
    /// An access token that cannot be put in a header (cannot happen with a checked token).
    #[error("the Salesforce access token cannot be sent: {0}")]
    Header(#[from] InvalidHeaderText),
    /// The returned `instance_url` is not a place a token may be sent.
    #[error(
        "Salesforce returned the instance_url {url:?}, which takedown will not send a token to: {reason}; \
         check the org's My Domain settings"
    )]
    InvalidInstanceUrl {
        /// The URL as received (shortened).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value given to a `build_*` function that Salesforce could not take; fix the config or
    /// the case data.
    #[error("cannot build the Salesforce request: {what} {reason}")]
    InvalidInput {
        /// What was wrong.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The JWT signing key cannot be read or used.
    #[error("the Salesforce JWT signing key cannot be used: {reason}")]
    Key {
        /// What is wrong with it.
        reason: String,
    },
    /// A success status but a body that does not say what the protocol promises.
    #[error(
        "Salesforce answered HTTP {status} but {what}; check that the configured URL and API version are \
         Salesforce's"
    )]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// What was missing or wrong.
        what: String,
    },
    /// HTTP 404: a wrong record ID, a wrong URL, or an API version the org does not serve.
    #[error(
        "Salesforce found no such resource ({detail}): the record or external ID does not exist, or the \
         org does not serve the configured API version"
    )]
    NotFound {
        /// Salesforce's words.
        detail: String,
    },
    /// Not JSON: typically an HTML page from the login host or a proxy.
    #[error(
        "Salesforce answered HTTP {status} with {} instead of JSON; check that the URL is the org's login \
         or instance host. The answer began: {excerpt}",
        media_words(.content_type)
    )]
    NotJson {
        /// The HTTP status.
        status: u16,
        /// The media type, if one was given.
        content_type: Option<String>,
        /// The start of the body (withheld where it could hold a token).
        excerpt: String,
    },
    /// The token endpoint refused the grant.
    #[error(
        "Salesforce refused the token request: {}{}",
        oauth_words(.error, .description),
        oauth_hint(.error, .description)
    )]
    OAuth {
        /// The OAuth error code (`invalid_grant`, `invalid_client_id`, ...).
        error: String,
        /// Salesforce's description (shortened; empty if it gave none).
        description: String,
    },
    /// A save result with `success:false` or a non-empty `errors` (even on a 2xx).
    #[error(
        "Salesforce answered HTTP {status} but did not save the record: {}{}",
        summary(.errors),
        api_hint(.errors)
    )]
    RecordFailed {
        /// The HTTP status.
        status: u16,
        /// The errors it listed (possibly none).
        errors: Vec<ApiError>,
    },
    /// HTTP 403 `REQUEST_LIMIT_EXCEEDED`: the org's 24-hour API allowance is used up.
    #[error(
        "Salesforce refused the request because the org's 24-hour API request limit is used up ({detail}); \
         wait for it to recover or ask the Salesforce administrator to raise it"
    )]
    RequestLimit {
        /// Salesforce's words.
        detail: String,
    },
    /// HTTP 401 (`INVALID_SESSION_ID`): the token expired or was revoked; mint a new one (once).
    #[error("the Salesforce session expired or is invalid ({detail}); a new access token is needed")]
    SessionExpired {
        /// Salesforce's words.
        detail: String,
    },
    /// 429, 502, 503, 504, or a 5xx without Salesforce's error list (maintenance, a proxy).
    #[error("Salesforce is unavailable (HTTP {status}, maintenance or overload): {detail}; try again later")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        detail: String,
    },
    /// An error status whose body is not Salesforce's error list (plain text, an odd object).
    #[error("Salesforce answered HTTP {status} with a body that is not its JSON error list: {excerpt}")]
    Unrecognised {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        excerpt: String,
    },
    /// HTTP 415: Salesforce did not take the body's content type.
    #[error(
        "Salesforce did not accept the request's content type (HTTP 415: {detail}); this is a bug in takedown"
    )]
    UnsupportedMediaType {
        /// Salesforce's words.
        detail: String,
    },
}

impl SalesforceError {
    /// The `(field, message)` pairs of errors that name fields, for showing next to the form's
    /// fields (empty for errors that name none).
    pub fn field_messages(&self) -> Vec<(&str, &str)> {
        let errors = match self {
            SalesforceError::Api { errors, .. } | SalesforceError::RecordFailed { errors, .. } => errors,
            _ => return Vec::new(),
        };
        errors
            .iter()
            .flat_map(|error| {
                let message =
                    if error.message.is_empty() { error.code.as_str() } else { error.message.as_str() };
                error.fields.iter().map(move |field| (field.as_str(), message))
            })
            .collect()
    }
}

/// Reads any REST answer as the error it is: Salesforce's error list (`[{"message","errorCode",
/// "fields"}]`, `fields` missing, empty or null), a single error object, or text. 401 is
/// [`SalesforceError::SessionExpired`], 403 `REQUEST_LIMIT_EXCEEDED`
/// [`SalesforceError::RequestLimit`], 404 [`SalesforceError::NotFound`], 415
/// [`SalesforceError::UnsupportedMediaType`], 429/502/503/504 and a 5xx without an error list
/// [`SalesforceError::Unavailable`], 300 [`SalesforceError::AmbiguousExternalId`]; any other
/// status with a list is [`SalesforceError::Api`], without one [`SalesforceError::Unrecognised`].
pub fn parse_rest_error(response: &WireResponse) -> SalesforceError {
    let status = response.status.as_u16();
    let body =
        if looks_like_html(response) { None } else { serde_json::from_slice::<Value>(&response.body).ok() };
    if status == 300 {
        let count = match &body {
            Some(Value::Array(items)) => items.len(),
            _ => 0,
        };
        return SalesforceError::AmbiguousExternalId { count };
    }
    let errors = match &body {
        Some(Value::Array(items)) => error_list(items),
        // Some gateway paths answer with one error object, or wrap the list.
        Some(Value::Object(fields)) => match fields.get("errors") {
            Some(Value::Array(items)) => error_list(items),
            _ => body.as_ref().and_then(api_error).into_iter().collect(),
        },
        _ => Vec::new(),
    };
    let detail =
        if errors.is_empty() { excerpt(&response.body) } else { clip(&summary(&errors), EXCERPT_CHARS) };
    match status {
        401 => SalesforceError::SessionExpired { detail },
        403 if errors.iter().any(|e| e.code == "REQUEST_LIMIT_EXCEEDED") => {
            SalesforceError::RequestLimit { detail }
        }
        404 => SalesforceError::NotFound { detail },
        415 => SalesforceError::UnsupportedMediaType { detail },
        429 | 502..=504 => SalesforceError::Unavailable { status, detail },
        500..=599 if errors.is_empty() => SalesforceError::Unavailable { status, detail },
        _ if errors.is_empty() => SalesforceError::Unrecognised { status, excerpt: detail },
        _ => SalesforceError::Api { status, errors },
    }
}

/// The entries of an error list that say something, at most [`MAX_ERRORS`].
fn error_list(items: &[Value]) -> Vec<ApiError> {
    items.iter().filter_map(api_error).take(MAX_ERRORS).collect()
}

fn api_error(item: &Value) -> Option<ApiError> {
    let first_text = |fields: &Map<String, Value>, names: &[&str], max: usize| {
        names
            .iter()
            .find_map(|name| match fields.get(*name) {
                Some(Value::String(text)) if !text.trim().is_empty() => Some(clip(text, max)),
                _ => None,
            })
            .unwrap_or_default()
    };
    let error = match item {
        Value::Object(fields) => ApiError {
            code: first_text(fields, &["errorCode", "statusCode", "error"], 100),
            message: first_text(fields, &["message", "error_description"], EXCERPT_CHARS),
            fields: match fields.get("fields") {
                Some(Value::Array(names)) => names
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|name| !name.trim().is_empty())
                    .take(MAX_ERRORS)
                    .map(|name| clip(name, 100))
                    .collect(),
                _ => Vec::new(),
            },
        },
        Value::String(text) if !text.trim().is_empty() => {
            ApiError { code: String::new(), message: clip(text, EXCERPT_CHARS), fields: Vec::new() }
        }
        _ => return None,
    };
    (!error.code.is_empty() || !error.message.is_empty()).then_some(error)
}

fn summary(errors: &[ApiError]) -> String {
    if errors.is_empty() {
        return "no reason given".to_owned();
    }
    let mut text = errors.iter().take(3).map(ApiError::to_string).collect::<Vec<_>>().join("; ");
    if errors.len() > 3 {
        text.push_str(&format!("; and {} more", errors.len() - 3));
    }
    text
}

/// What to do about the first error whose code has a known remedy.
fn api_hint(errors: &[ApiError]) -> &'static str {
    errors
        .iter()
        .find_map(|error| {
            Some(match error.code.as_str() {
                "REQUIRED_FIELD_MISSING" => " (fill in the fields named; the org requires them)",
                "INVALID_FIELD" | "INVALID_FIELD_FOR_INSERT_UPDATE" => {
                    " (a field in the Case mapping does not exist on this org's object or cannot be written; \
                     check the field names in the config)"
                }
                "FIELD_CUSTOM_VALIDATION_EXCEPTION" => " (a validation rule in the org refused the values)",
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" => {
                    " (the value is not in the org's picklist; ask the Salesforce administrator for the \
                     allowed values)"
                }
                "STRING_TOO_LONG" => " (shorten the value, or the file, named)",
                "DUPLICATES_DETECTED" => " (a duplicate rule in the org matched an existing record)",
                "MALFORMED_ID" => " (a record ID in the request is wrong)",
                "JSON_PARSER_ERROR" => {
                    " (Salesforce could not read takedown's JSON; this is a bug in takedown)"
                }
                "INSUFFICIENT_ACCESS"
                | "INSUFFICIENT_ACCESS_OR_READONLY"
                | "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY" => {
                    " (the integration user lacks permission; ask the Salesforce administrator)"
                }
                "UNKNOWN_EXCEPTION" => " (an internal Salesforce error; try again later)",
                _ => return None,
            })
        })
        .unwrap_or("")
}

/// `error: description`, or just `error`.
fn oauth_words(error: &str, description: &str) -> String {
    if description.is_empty() { error.to_owned() } else { format!("{error}: {description}") }
}

/// A media type for a message.
fn media_words(content_type: &Option<String>) -> &str {
    content_type.as_deref().unwrap_or("no content type")
}

/// Plain-words advice for the OAuth errors people meet.
fn oauth_hint(error: &str, description: &str) -> &'static str {
    let description = description.to_ascii_lowercase();
    match error {
        "invalid_grant" if description.contains("approve") => {
            " (the app is not pre-authorised for this user: a Salesforce administrator must set the app's \
             permitted users to admin-approved and add it to the user's profile or a permission set)"
        }
        "invalid_grant" if description.contains("audience") => {
            " (the JWT audience is wrong: use https://login.salesforce.com for production or \
             https://test.salesforce.com for a sandbox)"
        }
        "invalid_grant" if description.contains("assertion") => {
            " (Salesforce did not accept the signed assertion: check that the certificate uploaded to the \
             app matches this key, that the consumer key and username are right, and that this machine's \
             clock is correct)"
        }
        "invalid_grant" if description.contains("expired") => " (check this machine's clock)",
        "invalid_grant" => {
            " (check the username, the app's pre-authorisation for that user and the uploaded certificate)"
        }
        "invalid_client_id" => {
            " (Salesforce does not know this consumer key: check client_id, and that the login host is the \
             org's: production or sandbox)"
        }
        "invalid_client" => " (the client credentials are wrong: check the consumer key)",
        "unsupported_grant_type" => {
            " (this endpoint does not take the JWT bearer grant: check the token URL, \
             .../services/oauth2/token, and that the app allows the flow)"
        }
        _ => "",
    }
}

// === helpers ===

/// Whether an error message may quote a body.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// The body holds nothing secret.
    Body,
    /// The body may hold a token: never quote it, not even when it looks like an HTML page
    /// (an XML token answer starts with `<` too).
    Withhold,
}

/// A 2xx body as JSON; an HTML page, a declared non-JSON type or bytes that do not parse are
/// [`SalesforceError::NotJson`].
fn read_json(response: &WireResponse, quote: Quote) -> Result<Value, SalesforceError> {
    let declared_other = response.media_type().is_some_and(|media| !is_json_media(&media));
    if declared_other || looks_like_html(response) {
        return Err(not_json(response, quote));
    }
    serde_json::from_slice(&response.body).map_err(|_| not_json(response, quote))
}

fn not_json(response: &WireResponse, quote: Quote) -> SalesforceError {
    let excerpt = if quote == Quote::Body {
        excerpt(&response.body)
    } else {
        "(withheld: the body could hold a token)".to_owned()
    };
    SalesforceError::NotJson {
        status: response.status.as_u16(),
        content_type: response.media_type().map(|media| clip(&media, 100)),
        excerpt,
    }
}

fn is_json_media(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

fn looks_like_html(response: &WireResponse) -> bool {
    response.media_type().is_some_and(|media| media == "text/html")
        || response.body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

/// The start of a body as one line of text.
fn excerpt(body: &[u8]) -> String {
    // A few bytes per character are plenty; a multi-megabyte page need not be decoded whole.
    let start = body.get(..EXCERPT_CHARS * 8).unwrap_or(body);
    let text = clip(&String::from_utf8_lossy(start), EXCERPT_CHARS);
    if text.is_empty() { "(empty body)".to_owned() } else { text }
}

/// At most `max` characters, with control characters and runs of white space made one space.
fn clip(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if count + usize::from(space) >= max {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

fn check_text(what: &'static str, value: &str, max: usize) -> Result<(), SalesforceError> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(what, format!("must be 1 to {max} characters without control characters")));
    }
    Ok(())
}

fn check_endpoint(url: &Url, what: &'static str) -> Result<(), SalesforceError> {
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) || !url.username().is_empty() {
        return Err(invalid(what, format!("{} must be an https URL with a host", clip(url.as_str(), 100))));
    }
    Ok(())
}

fn invalid(what: &'static str, reason: impl Into<String>) -> SalesforceError {
    SalesforceError::InvalidInput { what, reason: reason.into() }
}

fn key_error(reason: impl Into<String>) -> SalesforceError {
    SalesforceError::Key { reason: reason.into() }
}

fn malformed(status: u16, what: &str) -> SalesforceError {
    SalesforceError::Malformed { status, what: what.to_owned() }
}

#[cfg(test)]
mod tests;
