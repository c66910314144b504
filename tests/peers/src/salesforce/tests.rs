use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use super::Salesforce;
use super::token::JWT_BEARER;
use crate::request::{Exchange, FormPart, Peer, PeerRequest};
use crate::{Credentials, Options};

const CLIENT_ID: &str = "3MVG9simulatedConsumerKey";
const USERNAME: &str = "takedown-integration@example.org";
const HOST: &str = "example.my.salesforce.com";

fn key() -> &'static RsaKeyPair {
    static KEY: OnceLock<RsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
}

fn other_key() -> &'static RsaKeyPair {
    static KEY: OnceLock<RsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
}

fn spki() -> Vec<u8> {
    key().public_key().as_der().unwrap().as_ref().to_vec()
}

fn peer_with_key(public_key_der: Vec<u8>) -> Salesforce {
    let options = Options {
        dir: std::env::temp_dir(),
        certificate_pem: String::new(),
        key_pem: String::new(),
        credentials: Credentials {
            lumen_submitter_tokens: Vec::new(),
            lumen_other_tokens: Vec::new(),
            ncmec_user: (String::new(), String::new()),
            salesforce_client_id: CLIENT_ID.into(),
            salesforce_username: USERNAME.into(),
            salesforce_public_key_der: public_key_der,
            wiki_oauth_client: (String::new(), String::new()),
            wiki_bot_passwords: Vec::new(),
            wiki_users: Vec::new(),
        },
        salesforce_instance_host: HOST.into(),
        ncmec_open_for: std::time::Duration::from_secs(60),
        ncmec_idle_for: std::time::Duration::from_secs(60),
        control: false,
    };
    Salesforce::new(&options)
}

fn peer() -> Salesforce {
    peer_with_key(spki())
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn claims() -> Value {
    json!({"iss": CLIENT_ID, "sub": USERNAME, "aud": "https://login.salesforce.com", "exp": now() + 180})
}

fn jwt_with(key: &RsaKeyPair, header: &Value, claims: &Value) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signed.as_bytes(), &mut signature).unwrap();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn jwt(claims: &Value) -> String {
    jwt_with(key(), &json!({"alg": "RS256"}), claims)
}

fn request(method: Method, target: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> PeerRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    PeerRequest {
        method,
        path: path.into(),
        query: query.into(),
        headers: map,
        authority: format!("{HOST}:8443"),
        body: body.into(),
        form: None,
    }
}

fn token_request(assertion: &str) -> PeerRequest {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", JWT_BEARER)
        .append_pair("assertion", assertion)
        .finish();
    request(
        Method::POST,
        "/services/oauth2/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        body,
    )
}

fn body(exchange: &Exchange) -> Value {
    serde_json::from_slice(&exchange.response.body).unwrap()
}

fn header<'a>(exchange: &'a Exchange, name: &str) -> Option<&'a str> {
    exchange.response.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// A token from the peer.
fn login(peer: &Salesforce) -> String {
    let exchange = peer.handle(&token_request(&jwt(&claims())));
    assert_eq!(exchange.response.status, 200, "{:?}", exchange.response.body);
    body(&exchange)["access_token"].as_str().unwrap().to_owned()
}

fn api(peer: &Salesforce, token: &str, method: Method, target: &str, json_body: Option<Value>) -> Exchange {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("authorization", bearer.as_str())];
    if json_body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    let body = json_body.map(|b| b.to_string()).unwrap_or_default();
    peer.handle(&request(method, target, &headers, body))
}

const CASES: &str = "/services/data/v67.0/sobjects/Case/";
const UPSERT: &str = "/services/data/v67.0/sobjects/Case/Takedown_Id__c/T-2026-0042";
const VERSIONS: &str = "/services/data/v67.0/sobjects/ContentVersion/";

fn error_codes(exchange: &Exchange) -> Vec<String> {
    body(exchange).as_array().unwrap().iter().map(|e| e["errorCode"].as_str().unwrap().to_owned()).collect()
}

fn create_case(peer: &Salesforce, token: &str) -> String {
    let exchange =
        api(peer, token, Method::POST, CASES, Some(json!({"Subject": "Takedown T-1", "Priority": "High"})));
    assert_eq!(exchange.response.status, 201);
    body(&exchange)["id"].as_str().unwrap().to_owned()
}

// --- ids and routing -------------------------------------------------------------------------

#[test]
fn id_suffix_matches_the_published_examples() {
    assert_eq!(super::with_suffix("00Dxx0000001gPL"), "00Dxx0000001gPLEAY");
    assert_eq!(super::with_suffix("005xx000001SvQ5"), "005xx000001SvQ5AAK");
    assert_eq!(super::with_suffix(&super::ORG_ID[..15]), super::ORG_ID);
    assert_eq!(super::with_suffix(&super::USER_ID[..15]), super::USER_ID);
    let id = super::record_id("500", 1);
    assert_eq!(id.len(), 18);
    assert!(id.starts_with("500"));
    assert_ne!(super::record_id("500", 2), id);
}

#[test]
fn endpoint_names() {
    let peer = peer();
    let name = |method: Method, path: &str| peer.endpoint(&request(method, path, &[], ""));
    assert_eq!(name(Method::POST, "/services/oauth2/token"), "token");
    assert_eq!(name(Method::POST, "/services/oauth2/revoke"), "revoke");
    assert_eq!(name(Method::GET, "/services/data/"), "versions");
    assert_eq!(name(Method::GET, "/services/data/v67.0/"), "resources");
    assert_eq!(name(Method::POST, CASES), "case-create");
    assert_eq!(name(Method::POST, "/services/data/v67.0/sobjects/Case"), "case-create");
    assert_eq!(name(Method::PATCH, UPSERT), "case-upsert");
    assert_eq!(name(Method::GET, "/services/data/v67.0/sobjects/Case/500Dn0000000001AAA"), "case-get");
    assert_eq!(name(Method::POST, VERSIONS), "content-version");
    assert_eq!(name(Method::GET, "/services/data/v67.0/sobjects/ContentVersion/068x"), "content-version-get");
    assert_eq!(name(Method::GET, "/services/data/v67.0/composite"), "other");
    assert_eq!(name(Method::GET, "/secur/frontdoor.jsp"), "other");
}

// --- token endpoint --------------------------------------------------------------------------

#[test]
fn token_issued_for_a_good_assertion() {
    let peer = peer();
    let exchange = peer.handle(&token_request(&jwt(&claims())));
    assert_eq!(exchange.response.status, 200);
    let answer = body(&exchange);
    assert_eq!(answer["instance_url"], "https://example.my.salesforce.com:8443");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["scope"], "api");
    assert!(answer["id"].as_str().unwrap().starts_with("https://login.salesforce.com/id/00D"));
    assert!(answer["issued_at"].as_str().unwrap().parse::<u64>().unwrap() > 1_700_000_000_000);
    assert!(answer.get("refresh_token").is_none());
    let token = answer["access_token"].as_str().unwrap();
    let journal = exchange.received.to_string();
    assert!(!journal.contains(token));
    assert!(!journal.contains(&jwt(&claims())[..40]));
    assert_eq!(exchange.received["verdict"], "issued");
    let second = login(&peer);
    assert_ne!(second, token);
    assert_eq!(peer.snapshot()["tokens_issued"], 2);
}

#[test]
fn token_accepted_with_a_pkcs1_public_key_too() {
    let peer = peer_with_key(key().public_key().as_ref().to_vec());
    login(&peer);
}

#[test]
fn token_sandbox_audience_and_port_less_authority() {
    let peer = peer();
    let mut claims = claims();
    claims["aud"] = json!("https://test.salesforce.com");
    let mut request = token_request(&jwt(&claims));
    request.authority = HOST.into();
    let exchange = peer.handle(&request);
    assert_eq!(exchange.response.status, 200);
    let answer = body(&exchange);
    assert_eq!(answer["instance_url"], "https://example.my.salesforce.com");
    assert!(answer["id"].as_str().unwrap().starts_with("https://test.salesforce.com/id/"));
}

fn token_error(peer: &Salesforce, request: &PeerRequest) -> (String, String) {
    let exchange = peer.handle(request);
    assert_eq!(exchange.response.status, 400);
    let answer = body(&exchange);
    (answer["error"].as_str().unwrap().to_owned(), answer["error_description"].as_str().unwrap().to_owned())
}

#[test]
fn token_refuses_bad_claims() {
    let peer = peer();
    let with = |name: &str, value: Value| {
        let mut claims = claims();
        claims[name] = value;
        token_error(&peer, &token_request(&jwt(&claims)))
    };
    let grant = |description: &str| ("invalid_grant".to_owned(), description.to_owned());
    assert_eq!(
        with("iss", json!("someone-else")),
        ("invalid_client_id".into(), "client identifier invalid".into())
    );
    assert_eq!(with("aud", json!("https://login.salesforce.com/")), grant("audience is invalid"));
    assert_eq!(with("sub", json!("intruder@example.org")), grant("user hasn't approved this consumer"));
    assert_eq!(with("exp", json!(now() - 10)), grant("expired authorization code"));
    assert_eq!(with("exp", json!(now() + 3600)), grant("invalid assertion"));
    assert_eq!(with("exp", Value::Null), grant("invalid assertion"));
    assert_eq!(peer.snapshot()["tokens_issued"], 0);
}

#[test]
fn token_refuses_bad_signatures_and_shapes() {
    let peer = peer();
    let invalid = ("invalid_grant".to_owned(), "invalid assertion".to_owned());
    let foreign = jwt_with(other_key(), &json!({"alg": "RS256"}), &claims());
    assert_eq!(token_error(&peer, &token_request(&foreign)), invalid);
    let hs256 = jwt_with(key(), &json!({"alg": "HS256"}), &claims());
    assert_eq!(token_error(&peer, &token_request(&hs256)), invalid);
    let good = jwt(&claims());
    let (signed, _) = good.rsplit_once('.').unwrap();
    assert_eq!(token_error(&peer, &token_request(&format!("{signed}.AAAA"))), invalid);
    assert_eq!(token_error(&peer, &token_request(signed)), invalid);
    assert_eq!(token_error(&peer, &token_request(&format!("{good}="))), invalid);
    assert_eq!(token_error(&peer, &token_request("")), invalid);
    // A tampered claim breaks the signature.
    let mut tampered = claims();
    tampered["sub"] = json!("admin@example.org");
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(tampered.to_string()), parts[2]);
    let exchange = peer.handle(&token_request(&forged));
    assert_eq!(body(&exchange)["error_description"], "invalid assertion");
    assert_eq!(exchange.received["assertion"]["signature_valid"], false);
}

#[test]
fn token_refuses_bad_requests() {
    let peer = peer();
    let good = jwt(&claims());
    let mut get = token_request(&good);
    get.method = Method::GET;
    assert_eq!(token_error(&peer, &get), ("invalid_request".into(), "must use HTTP POST".into()));
    let as_json = request(
        Method::POST,
        "/services/oauth2/token",
        &[("content-type", "application/json")],
        json!({"grant_type": JWT_BEARER, "assertion": good}).to_string(),
    );
    assert_eq!(token_error(&peer, &as_json).0, "unsupported_grant_type");
    let credentials = request(
        Method::POST,
        "/services/oauth2/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        "grant_type=client_credentials&client_id=x&client_secret=y",
    );
    assert_eq!(
        token_error(&peer, &credentials),
        ("unsupported_grant_type".into(), "grant type not supported".into())
    );
}

#[test]
fn revoked_token_gets_401() {
    let peer = peer();
    let token = login(&peer);
    assert_eq!(api(&peer, &token, Method::GET, "/services/data/v67.0/", None).response.status, 200);
    let body: String = form_urlencoded::Serializer::new(String::new()).append_pair("token", &token).finish();
    let revoke = request(
        Method::POST,
        "/services/oauth2/revoke",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.clone(),
    );
    let exchange = peer.handle(&revoke);
    assert_eq!(exchange.response.status, 200);
    assert!(!exchange.received.to_string().contains(&token));
    assert_eq!(peer.handle(&revoke).response.status, 400);
    let exchange = api(&peer, &token, Method::GET, "/services/data/v67.0/", None);
    assert_eq!(exchange.response.status, 401);
    assert_eq!(error_codes(&exchange), ["INVALID_SESSION_ID"]);
    let fresh = login(&peer);
    assert_eq!(api(&peer, &fresh, Method::GET, "/services/data/v67.0/", None).response.status, 200);
}

// --- REST basics ---------------------------------------------------------------------------------

#[test]
fn versions_list_needs_no_token() {
    let peer = peer();
    let exchange = peer.handle(&request(Method::GET, "/services/data/", &[], ""));
    assert_eq!(exchange.response.status, 200);
    let list = body(&exchange);
    assert!(list.as_array().unwrap().contains(&json!({
        "label": "Summer '26", "url": "/services/data/v67.0", "version": "67.0"
    })));
    assert_eq!(header(&exchange, "sforce-limit-info"), Some("api-usage=0/100000"));
    assert_eq!(peer.handle(&request(Method::POST, "/services/data", &[], "")).response.status, 405);
}

#[test]
fn rest_needs_a_known_bearer_token() {
    let peer = peer();
    login(&peer);
    let missing = peer.handle(&request(Method::POST, CASES, &[("content-type", "application/json")], "{}"));
    assert_eq!(missing.response.status, 401);
    assert_eq!(
        body(&missing),
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    assert_eq!(missing.received["auth"], "no bearer token");
    let unknown = api(&peer, "00Dforged!AQ", Method::POST, CASES, Some(json!({"Subject": "x"})));
    assert_eq!(unknown.response.status, 401);
    assert_eq!(unknown.received["auth"], "unknown token");
    assert!(peer.snapshot()["cases"].as_array().unwrap().is_empty());
}

#[test]
fn limit_info_counts_calls_and_the_limit_is_enforced() {
    let mut peer = peer();
    peer.api_limit = 2;
    let token = login(&peer);
    let first = api(&peer, &token, Method::GET, "/services/data/v67.0/", None);
    assert_eq!(header(&first, "sforce-limit-info"), Some("api-usage=1/2"));
    let second = api(&peer, &token, Method::GET, "/services/data/v67.0/", None);
    assert_eq!(header(&second, "sforce-limit-info"), Some("api-usage=2/2"));
    let third = api(&peer, &token, Method::POST, CASES, Some(json!({"Subject": "x"})));
    assert_eq!(third.response.status, 403);
    assert_eq!(error_codes(&third), ["REQUEST_LIMIT_EXCEEDED"]);
    assert_eq!(peer.snapshot()["api_usage"], 2);
}

#[test]
fn other_versions_and_unknown_paths_are_404() {
    let peer = peer();
    let token = login(&peer);
    let old = api(
        &peer,
        &token,
        Method::POST,
        "/services/data/v66.0/sobjects/Case/",
        Some(json!({"Subject": "x"})),
    );
    assert_eq!(old.response.status, 404);
    assert_eq!(error_codes(&old), ["NOT_FOUND"]);
    let composite = api(&peer, &token, Method::POST, "/services/data/v67.0/composite", Some(json!({})));
    assert_eq!(composite.response.status, 404);
    assert_eq!(error_codes(&composite), ["NOT_FOUND"]);
    let html = peer.handle(&request(Method::GET, "/services/oauth2/authorize", &[], ""));
    assert_eq!(html.response.status, 404);
    assert!(html.response.content_type().starts_with("text/html"));
    assert!(peer.snapshot()["cases"].as_array().unwrap().is_empty());
}

// --- Cases ---------------------------------------------------------------------------------------

#[test]
fn case_create_and_get() {
    let peer = peer();
    let token = login(&peer);
    let fields = json!({"Subject": "Takedown T-2026-0042", "Description": "DMCA notice", "Origin": "Web",
        "Priority": "High", "Takedown_Id__c": "T-2026-0042"});
    let exchange = api(&peer, &token, Method::POST, CASES, Some(fields));
    assert_eq!(exchange.response.status, 201);
    let answer = body(&exchange);
    let id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(answer, json!({"id": id, "success": true, "errors": []}));
    assert!(id.starts_with("500") && id.len() == 18);
    assert_eq!(
        exchange.received["fields"],
        json!(["Description", "Origin", "Priority", "Subject", "Takedown_Id__c"])
    );
    assert!(!exchange.received.to_string().contains("DMCA notice"));

    let record = body(&api(&peer, &token, Method::GET, &format!("{CASES}{id}"), None));
    assert_eq!(record["Id"], id.as_str());
    assert_eq!(record["Subject"], "Takedown T-2026-0042");
    assert_eq!(record["Status"], "New");
    assert_eq!(record["Takedown_Id__c"], "T-2026-0042");
    assert_eq!(record["attributes"]["type"], "Case");
    let short = &id[..15];
    let selected =
        body(&api(&peer, &token, Method::GET, &format!("{CASES}{short}?fields=Subject,CaseNumber"), None));
    assert_eq!(selected.as_object().unwrap().len(), 4, "{selected}");
    assert_eq!(selected["CaseNumber"], "00001001");
    let bad = api(&peer, &token, Method::GET, &format!("{CASES}{id}?fields=Nonsense"), None);
    assert_eq!(bad.response.status, 400);
    assert_eq!(error_codes(&bad), ["INVALID_FIELD"]);
    let missing = api(&peer, &token, Method::GET, &format!("{CASES}500Dn000000000zAAA"), None);
    assert_eq!(missing.response.status, 404);
    assert_eq!(error_codes(&missing), ["NOT_FOUND"]);

    let snapshot = peer.snapshot();
    assert_eq!(snapshot["cases"][0]["id"], id.as_str());
    assert_eq!(snapshot["cases"][0]["external_id_field"], Value::Null);
    assert_eq!(snapshot["cases"][0]["fields"]["Priority"], "High");
}

#[test]
fn case_create_refusals() {
    let peer = peer();
    let token = login(&peer);
    let refused = |fields: Value| {
        let exchange = api(&peer, &token, Method::POST, CASES, Some(fields));
        assert_eq!(exchange.response.status, 400, "{:?}", exchange.response.body);
        body(&exchange)
    };
    let answer = refused(json!({"Id": "500Dn0000000001AAA", "Subject": "x"}));
    assert_eq!(
        answer,
        json!([{"errorCode": "INVALID_FIELD", "fields": ["Id"],
        "message": answer[0]["message"]}])
    );
    let answer = refused(json!({"Subject": "x", "Urgency": "now", "Notes": "y"}));
    assert_eq!(answer[0]["errorCode"], "INVALID_FIELD");
    assert_eq!(answer[0]["fields"], json!(["Notes", "Urgency"]));
    let answer = refused(json!({"Subject": "x", "CaseNumber": "1"}));
    assert_eq!(answer[0]["errorCode"], "INVALID_FIELD_FOR_INSERT_UPDATE");
    let answer = refused(json!({"Subject": "x", "Priority": "Urgent"}));
    assert_eq!(answer[0]["errorCode"], "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST");
    assert_eq!(answer[0]["fields"], json!(["Priority"]));
    let answer = refused(json!({"Description": "no subject"}));
    assert_eq!(
        answer,
        json!([{"errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Subject"],
        "message": "Required fields are missing: [Subject]"}])
    );
    assert_eq!(refused(json!({"Subject": ""}))[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(refused(json!({"Subject": "x".repeat(256)}))[0]["errorCode"], "STRING_TOO_LONG");
    assert_eq!(refused(json!({"Subject": "x", "OwnerId": "me"}))[0]["errorCode"], "MALFORMED_ID");
    assert_eq!(
        refused(json!({"Subject": "x", "SuppliedEmail": "nobody"}))[0]["errorCode"],
        "INVALID_EMAIL_ADDRESS"
    );
    assert_eq!(refused(json!({"Subject": {"text": "x"}}))[0]["errorCode"], "JSON_PARSER_ERROR");
    // Several value errors come back together.
    let several = refused(json!({"Priority": "Urgent", "SuppliedEmail": "nobody"}));
    let codes: Vec<&str> =
        several.as_array().unwrap().iter().map(|e| e["errorCode"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "INVALID_EMAIL_ADDRESS", "REQUIRED_FIELD_MISSING"]
    );

    let broken = peer.handle(&request(
        Method::POST,
        CASES,
        &[("authorization", &format!("Bearer {token}")), ("content-type", "application/json")],
        "{\"Subject\": ",
    ));
    assert_eq!(broken.response.status, 400);
    assert_eq!(error_codes(&broken), ["JSON_PARSER_ERROR"]);
    let xml = peer.handle(&request(
        Method::POST,
        CASES,
        &[("authorization", &format!("Bearer {token}")), ("content-type", "application/xml")],
        "<Case><Subject>x</Subject></Case>",
    ));
    assert_eq!(xml.response.status, 415);
    assert_eq!(api(&peer, &token, Method::PUT, CASES, Some(json!({"Subject": "x"}))).response.status, 405);
    assert!(peer.snapshot()["cases"].as_array().unwrap().is_empty());
}

#[test]
fn case_upsert_creates_then_updates() {
    let peer = peer();
    let token = login(&peer);
    let first =
        api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Subject": "Takedown", "Priority": "Low"})));
    assert_eq!(first.response.status, 201);
    let answer = body(&first);
    let id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(answer, json!({"id": id, "success": true, "errors": [], "created": true}));
    assert_eq!(first.received["outcome"], "created");
    assert_eq!(first.received["external_id_field"], "Takedown_Id__c");
    assert_eq!(first.received["external_id"], "T-2026-0042");
    assert_eq!(first.received["fields"], json!(["Priority", "Subject"]));

    let second =
        api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Priority": "High", "Status": "Working"})));
    assert_eq!(second.response.status, 200);
    assert_eq!(body(&second), json!({"id": id, "success": true, "errors": [], "created": false}));
    assert_eq!(second.received["outcome"], "updated");

    let snapshot = peer.snapshot();
    let cases = snapshot["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0]["external_id_field"], "Takedown_Id__c");
    assert_eq!(cases[0]["external_id"], "T-2026-0042");
    assert_eq!(
        cases[0]["fields"],
        json!({"Subject": "Takedown", "Priority": "High", "Status": "Working", "Takedown_Id__c": "T-2026-0042"})
    );
    // Percent-encoded values are decoded; another value makes another Case.
    let other = api(
        &peer,
        &token,
        Method::PATCH,
        "/services/data/v67.0/sobjects/Case/Takedown_Id__c/T%2F7",
        Some(json!({"Subject": "Other"})),
    );
    assert_eq!(other.response.status, 201);
    assert_eq!(peer.snapshot()["cases"][1]["external_id"], "T/7");
}

#[test]
fn case_upsert_refusals() {
    let peer = peer();
    let token = login(&peer);
    let with_field =
        api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Subject": "x", "Takedown_Id__c": "T-1"})));
    assert_eq!(with_field.response.status, 400);
    assert_eq!(body(&with_field)[0]["fields"], json!(["Takedown_Id__c"]));
    let with_id =
        api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Subject": "x", "Id": "500Dn0000000001AAA"})));
    assert_eq!(error_codes(&with_id), ["INVALID_FIELD"]);
    let no_subject = api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Priority": "High"})));
    assert_eq!(error_codes(&no_subject), ["REQUIRED_FIELD_MISSING"]);
    let standard = api(
        &peer,
        &token,
        Method::PATCH,
        "/services/data/v67.0/sobjects/Case/Subject/T-1",
        Some(json!({"Subject": "x"})),
    );
    assert_eq!(standard.response.status, 404);
    assert_eq!(error_codes(&standard), ["NOT_FOUND"]);
    assert_eq!(api(&peer, &token, Method::POST, UPSERT, Some(json!({"Subject": "x"}))).response.status, 405);
    let text = peer.handle(&request(
        Method::PATCH,
        UPSERT,
        &[("authorization", &format!("Bearer {token}")), ("content-type", "text/plain")],
        "Subject=x",
    ));
    assert_eq!(text.response.status, 415);
    assert!(peer.snapshot()["cases"].as_array().unwrap().is_empty());
    // Clearing the required Subject of an existing Case is refused too.
    assert_eq!(api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Subject": "x"}))).response.status, 201);
    let cleared = api(&peer, &token, Method::PATCH, UPSERT, Some(json!({"Subject": null})));
    assert_eq!(error_codes(&cleared), ["REQUIRED_FIELD_MISSING"]);
}

#[test]
fn external_ids_stay_unique_and_several_matches_answer_300() {
    let peer = peer();
    let token = login(&peer);
    // Two Cases created plainly with the same value, before the field is used as an external ID.
    for _ in 0..2 {
        let fields = json!({"Subject": "x", "Takedown_Id__c": "T-9"});
        assert_eq!(api(&peer, &token, Method::POST, CASES, Some(fields)).response.status, 201);
    }
    let several = api(
        &peer,
        &token,
        Method::PATCH,
        "/services/data/v67.0/sobjects/Case/Takedown_Id__c/T-9",
        Some(json!({"Subject": "y"})),
    );
    assert_eq!(several.response.status, 300);
    assert_eq!(body(&several).as_array().unwrap().len(), 2);
    // From now on the field is an external ID: a duplicate value is refused.
    let duplicate =
        api(&peer, &token, Method::POST, CASES, Some(json!({"Subject": "x", "Takedown_Id__c": "T-9"})));
    assert_eq!(duplicate.response.status, 400);
    assert_eq!(error_codes(&duplicate), ["DUPLICATE_VALUE"]);
    assert_eq!(peer.snapshot()["cases"].as_array().unwrap().len(), 2);
}

// --- ContentVersion ------------------------------------------------------------------------------

#[test]
fn content_version_json_links_the_case() {
    let peer = peer();
    let token = login(&peer);
    let case_id = create_case(&peer, &token);
    let data = b"%PDF-1.7 evidence".to_vec();
    let fields = json!({"Title": "evidence", "PathOnClient": "evidence.pdf",
        "VersionData": STANDARD.encode(&data), "FirstPublishLocationId": case_id});
    let exchange = api(&peer, &token, Method::POST, VERSIONS, Some(fields));
    assert_eq!(exchange.response.status, 201, "{:?}", exchange.response.body);
    let answer = body(&exchange);
    let id = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(answer, json!({"id": id, "success": true, "errors": []}));
    assert!(id.starts_with("068"));
    assert_eq!(exchange.received["encoding"], "json");
    assert_eq!(exchange.received["title"], "evidence");
    assert_eq!(exchange.received["case_id"], case_id.as_str());
    assert_eq!(exchange.received["file"]["bytes"], data.len());
    assert!(!exchange.received.to_string().contains(&STANDARD.encode(&data)));

    let get = api(&peer, &token, Method::GET, &format!("{VERSIONS}{id}?fields=ContentDocumentId"), None);
    assert_eq!(get.response.status, 200);
    let record = body(&get);
    let document_id = record["ContentDocumentId"].as_str().unwrap();
    assert!(document_id.starts_with("069"));
    assert_eq!(record["Id"], id.as_str());
    assert_eq!(record.as_object().unwrap().len(), 3);
    let full = body(&api(&peer, &token, Method::GET, &format!("{VERSIONS}{id}"), None));
    assert_eq!(full["ContentSize"], data.len());
    assert_eq!(full["FileExtension"], "pdf");
    assert_eq!(full["FirstPublishLocationId"], case_id.as_str());

    let snapshot = peer.snapshot();
    let version = &snapshot["content_versions"][0];
    assert_eq!(version["id"], id.as_str());
    assert_eq!(version["document_id"], document_id);
    assert_eq!(version["case_id"], case_id.as_str());
    assert_eq!(version["title"], "evidence");
    assert_eq!(version["bytes"], data.len());
    assert_eq!(version["sha256"], crate::request::upload_summary(&data)["sha256"]);

    // A further version of the same document.
    let next = json!({"PathOnClient": "evidence-2.pdf", "VersionData": STANDARD.encode(b"v2"),
        "ContentDocumentId": document_id});
    let exchange = api(&peer, &token, Method::POST, VERSIONS, Some(next));
    assert_eq!(exchange.response.status, 201, "{:?}", exchange.response.body);
    let snapshot = peer.snapshot();
    assert_eq!(snapshot["content_versions"][1]["document_id"], document_id);
    assert_eq!(snapshot["content_versions"][1]["version_number"], 2);
    assert_eq!(snapshot["content_versions"][1]["title"], "evidence-2");
    assert_eq!(snapshot["content_versions"][1]["case_id"], case_id.as_str());
}

#[test]
fn content_version_json_refusals() {
    let mut peer = peer();
    peer.json_blob_limit = 16;
    let token = login(&peer);
    let case_id = create_case(&peer, &token);
    let refused = |fields: Value| {
        let exchange = api(&peer, &token, Method::POST, VERSIONS, Some(fields));
        assert_eq!(exchange.response.status, 400, "{:?}", exchange.response.body);
        error_codes(&exchange)
    };
    let good = json!({"Title": "e", "PathOnClient": "e.png", "VersionData": "aGVsbG8=", "FirstPublishLocationId": case_id});
    let with = |name: &str, value: Value| {
        let mut fields = good.clone();
        fields[name] = value;
        fields
    };
    assert_eq!(refused(with("VersionData", json!("not base64!"))), ["JSON_PARSER_ERROR"]);
    assert_eq!(refused(with("VersionData", json!("aGVsbG8"))), ["JSON_PARSER_ERROR"]);
    assert_eq!(refused(with("VersionData", json!(STANDARD.encode([0u8; 32])))), ["STRING_TOO_LONG"]);
    assert_eq!(refused(with("VersionData", Value::Null)), ["REQUIRED_FIELD_MISSING"]);
    assert_eq!(refused(with("PathOnClient", json!(""))), ["REQUIRED_FIELD_MISSING"]);
    assert_eq!(
        refused(with("FirstPublishLocationId", json!("500Dn00000000zzAAA"))),
        ["FIELD_INTEGRITY_EXCEPTION"]
    );
    assert_eq!(refused(with("FirstPublishLocationId", json!("case-1"))), ["MALFORMED_ID"]);
    assert_eq!(
        refused(with("ContentDocumentId", json!("069Dn00000000zzAAA"))),
        ["FIELD_INTEGRITY_EXCEPTION"]
    );
    assert_eq!(refused(with("Size", json!(5))), ["INVALID_FIELD"]);
    assert_eq!(refused(with("ContentSize", json!(5))), ["INVALID_FIELD_FOR_INSERT_UPDATE"]);
    let exchange = api(&peer, &token, Method::POST, VERSIONS, Some(good));
    assert_eq!(exchange.response.status, 201);
    assert_eq!(peer.snapshot()["content_versions"].as_array().unwrap().len(), 1);
    let missing = api(&peer, &token, Method::GET, &format!("{VERSIONS}068Dn00000000zzAAA"), None);
    assert_eq!(missing.response.status, 404);
}

fn part(name: &str, file_name: Option<&str>, content_type: &str, data: &[u8]) -> FormPart {
    FormPart {
        name: name.into(),
        file_name: file_name.map(str::to_owned),
        content_type: Some(content_type.into()),
        data: Bytes::copy_from_slice(data),
    }
}

fn multipart(token: &str, form: Option<Vec<FormPart>>) -> PeerRequest {
    let bearer = format!("Bearer {token}");
    let mut request = request(
        Method::POST,
        VERSIONS,
        &[("authorization", &bearer), ("content-type", "multipart/form-data; boundary=boundary_string")],
        "(parsed by the server)",
    );
    request.form = form;
    request
}

#[test]
fn content_version_multipart() {
    let peer = peer();
    let token = login(&peer);
    let case_id = create_case(&peer, &token);
    let entity =
        json!({"Title": "screenshot", "PathOnClient": "shot.png", "FirstPublishLocationId": case_id});
    let data = [0x89u8, b'P', b'N', b'G', 0, 1, 2, 3];
    let parts = vec![
        part("entity_content", None, "application/json", entity.to_string().as_bytes()),
        part("VersionData", Some("shot.png"), "application/octet-stream", &data),
    ];
    let exchange = peer.handle(&multipart(&token, Some(parts.clone())));
    assert_eq!(exchange.response.status, 201, "{:?}", exchange.response.body);
    assert_eq!(exchange.received["encoding"], "multipart");
    assert_eq!(exchange.received["file"]["bytes"], 8);
    let version = &peer.snapshot()["content_versions"][0];
    assert_eq!(version["case_id"], case_id.as_str());
    assert_eq!(version["bytes"], 8);

    let refused = |form: Option<Vec<FormPart>>| {
        let exchange = peer.handle(&multipart(&token, form));
        assert_eq!(exchange.response.status, 400, "{:?}", exchange.response.body);
        error_codes(&exchange)
    };
    assert_eq!(refused(None), ["INVALID_MULTIPART_REQUEST"]);
    assert_eq!(refused(Some(vec![parts[0].clone()])), ["INVALID_MULTIPART_REQUEST"]);
    assert_eq!(refused(Some(vec![parts[1].clone()])), ["INVALID_MULTIPART_REQUEST"]);
    assert_eq!(refused(Some(vec![parts[1].clone(), parts[0].clone()])), ["INVALID_MULTIPART_REQUEST"]);
    let both = json!({"PathOnClient": "shot.png", "VersionData": "aGVsbG8="});
    let doubled =
        vec![part("entity_content", None, "application/json", both.to_string().as_bytes()), parts[1].clone()];
    assert_eq!(refused(Some(doubled)), ["INVALID_MULTIPART_REQUEST"]);
    let broken = vec![part("entity_content", None, "application/json", b"{"), parts[1].clone()];
    assert_eq!(refused(Some(broken)), ["JSON_PARSER_ERROR"]);
    let unknown_case = json!({"PathOnClient": "shot.png", "FirstPublishLocationId": "500Dn00000000zzAAA"});
    let orphan = vec![
        part("entity_content", None, "application/json", unknown_case.to_string().as_bytes()),
        parts[1].clone(),
    ];
    assert_eq!(refused(Some(orphan)), ["FIELD_INTEGRITY_EXCEPTION"]);
    assert_eq!(peer.snapshot()["content_versions"].as_array().unwrap().len(), 1);
}

#[test]
fn snapshot_shape() {
    let peer = peer();
    let empty = peer.snapshot();
    assert_eq!(empty["cases"], json!([]));
    assert_eq!(empty["content_versions"], json!([]));
    assert_eq!(empty["tokens_issued"], 0);
}
