//! Every response shape and error case from the Salesforce notes, and the requests' exact shape.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};

use super::*;

// === fixtures ===

/// One generated 2048-bit key (PKCS#8 DER) for the whole test run: generation is slow.
fn pkcs8() -> &'static [u8] {
    static KEY: OnceLock<Vec<u8>> = OnceLock::new();
    KEY.get_or_init(|| {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("generate");
        AsDer::<aws_lc_rs::encoding::Pkcs8V1Der<'_>>::as_der(&pair).expect("der").as_ref().to_vec()
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let text = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in text.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo` (the OCTET STRING after the
/// version and the algorithm).
fn pkcs1_of(pkcs8: &[u8]) -> Vec<u8> {
    fn tlv(data: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = data[0];
        let (len, head) = match data[1] {
            n if n < 0x80 => (usize::from(n), 2),
            0x81 => (usize::from(data[2]), 3),
            0x82 => (usize::from(data[2]) << 8 | usize::from(data[3]), 4),
            other => panic!("length form {other:#x}"),
        };
        (tag, &data[head..head + len], &data[head + len..])
    }
    let (tag, inner, _) = tlv(pkcs8);
    assert_eq!(tag, 0x30);
    let (_, _, rest) = tlv(inner); // version
    let (_, _, rest) = tlv(rest); // algorithm
    let (tag, key, _) = tlv(rest);
    assert_eq!(tag, 0x04);
    key.to_vec()
}

fn grant() -> JwtGrant {
    JwtGrant {
        client_id: "3MVG9consumerkey".to_owned(),
        username: "integration@example.org".to_owned(),
        audience: Audience::production(),
        key: JwtKey::from_der(pkcs8()).expect("key"),
    }
}

fn token_url() -> Url {
    Url::parse("https://login.salesforce.com/services/oauth2/token").expect("url")
}

fn instance() -> Url {
    Url::parse("https://example.my.salesforce.com").expect("url")
}

fn token() -> AccessToken {
    AccessToken::new("00Dxx0000001gPL!AQ0AQ.secret", "https://example.my.salesforce.com", None)
        .expect("token")
}

fn response(status: u16, content_type: Option<&'static str>, body: &str) -> WireResponse {
    let mut headers = HeaderMap::new();
    if let Some(content_type) = content_type {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    WireResponse::new(StatusCode::from_u16(status).expect("status"), headers, body.to_owned())
}

fn json(status: u16, body: &str) -> WireResponse {
    response(status, Some("application/json;charset=UTF-8"), body)
}

fn html(status: u16) -> WireResponse {
    response(
        status,
        Some("text/html"),
        "<html><head><title>Maintenance</title></head><body>Down</body></html>",
    )
}

fn body_bytes(request: &WireRequest) -> (&'static str, &[u8]) {
    match &request.body {
        Body::Bytes { content_type, data } => (content_type, data),
        other => panic!("expected bytes, got {other:?}"),
    }
}

fn form_fields(request: &WireRequest) -> Vec<(String, String)> {
    let (content_type, data) = body_bytes(request);
    assert_eq!(content_type, "application/x-www-form-urlencoded");
    form_urlencoded::parse(data).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn decode_json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

const CASE_ID: &str = "500xx000003DgXbAAK";

// === JWT bearer token request ===

#[test]
fn token_request_is_a_form_post_with_a_signed_rs256_assertion() {
    let grant = grant();
    let request = build_token_request(&token_url(), &grant, 1_800_000_000).expect("request");
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.url, token_url());
    assert_eq!(request.header_value(&ACCEPT).map(HeaderValue::as_bytes), Some(&b"application/json"[..]));
    let fields = form_fields(&request);
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0], ("grant_type".to_owned(), JWT_BEARER_GRANT.to_owned()));
    assert_eq!(fields[1].0, "assertion");

    let parts: Vec<&str> = fields[1].1.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).expect("header"), br#"{"alg":"RS256"}"#);
    let claims = decode_json(parts[1]);
    assert_eq!(claims["iss"], "3MVG9consumerkey");
    assert_eq!(claims["sub"], "integration@example.org");
    assert_eq!(claims["aud"], "https://login.salesforce.com");
    assert_eq!(claims["exp"], 1_800_000_000 + 180);
    assert_eq!(claims.as_object().map(Map::len), Some(4));

    // The signature verifies with the public key over "header.claims", and not over anything else.
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("signature");
    assert_eq!(signature.len(), 256);
    let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, grant.key.0.public_key().as_ref());
    let signed = format!("{}.{}", parts[0], parts[1]);
    public.verify(signed.as_bytes(), &signature).expect("signature verifies");
    assert!(public.verify(format!("{signed}x").as_bytes(), &signature).is_err());
}

#[test]
fn token_request_is_deterministic() {
    let grant = grant();
    let a = build_token_request(&token_url(), &grant, 1_700_000_000).expect("a");
    let b = build_token_request(&token_url(), &grant, 1_700_000_000).expect("b");
    let c = build_token_request(&token_url(), &grant, 1_700_000_001).expect("c");
    assert_eq!(body_bytes(&a).1, body_bytes(&b).1);
    assert_ne!(body_bytes(&a).1, body_bytes(&c).1);
}

#[test]
fn sandbox_and_site_audiences() {
    assert_eq!(Audience::sandbox().as_str(), "https://test.salesforce.com");
    assert_eq!(Audience::parse("https://login.salesforce.com/").expect("aud").as_str(), Audience::PRODUCTION);
    assert_eq!(
        Audience::parse("https://acme.my.site.com/customers/").expect("aud").as_str(),
        "https://acme.my.site.com/customers"
    );
    for bad in [
        "http://login.salesforce.com",
        "login.salesforce.com",
        "https://u@login.salesforce.com",
        "https://x.com/?a=1",
        "",
    ] {
        let error = Audience::parse(bad).expect_err(bad);
        assert!(
            matches!(error, SalesforceError::InvalidInput { what: "the JWT audience", .. }),
            "{bad}: {error}"
        );
    }
    let mut grant = grant();
    grant.audience = Audience::sandbox();
    let request = build_token_request(&token_url(), &grant, 1).expect("request");
    let assertion = form_fields(&request).remove(1).1;
    assert_eq!(
        decode_json(assertion.split('.').nth(1).expect("claims"))["aud"],
        "https://test.salesforce.com"
    );
}

#[test]
fn token_request_refuses_bad_inputs() {
    let http = Url::parse("http://login.salesforce.com/services/oauth2/token").expect("url");
    assert!(matches!(build_token_request(&http, &grant(), 1), Err(SalesforceError::InvalidInput { .. })));
    let mut blank = grant();
    blank.username = "  ".to_owned();
    assert!(matches!(
        build_token_request(&token_url(), &blank, 1),
        Err(SalesforceError::InvalidInput { .. })
    ));
    let mut control = grant();
    control.client_id = "abc\ndef".to_owned();
    assert!(matches!(
        build_token_request(&token_url(), &control, 1),
        Err(SalesforceError::InvalidInput { .. })
    ));
    let error = build_token_request(&token_url(), &grant(), u64::MAX).expect_err("overflow");
    assert!(error.to_string().contains("clock"), "{error}");
}

#[test]
fn key_reads_pkcs8_and_pkcs1_in_pem_and_der() {
    let pkcs1 = pkcs1_of(pkcs8());
    for key in [
        JwtKey::from_der(pkcs8()),
        JwtKey::from_der(&pkcs1),
        JwtKey::from_pem(&pem("PRIVATE KEY", pkcs8())),
        JwtKey::from_pem(&pem("RSA PRIVATE KEY", &pkcs1)),
        JwtKey::from_pem(&format!("Bag Attributes\n  friendlyName: x\n{}", pem("PRIVATE KEY", pkcs8()))),
        JwtKey::from_pem(&format!("{}{}", pem("CERTIFICATE", b"cert"), pem("PRIVATE KEY", pkcs8()))),
    ] {
        assert_eq!(key.expect("key").bits(), 2048);
    }
    // Both forms sign identically: they are the same key.
    let mut a = grant();
    a.key = JwtKey::from_pem(&pem("RSA PRIVATE KEY", &pkcs1)).expect("pkcs1");
    let b = grant();
    let a = build_token_request(&token_url(), &a, 5).expect("a");
    let b = build_token_request(&token_url(), &b, 5).expect("b");
    assert_eq!(body_bytes(&a).1, body_bytes(&b).1);
}

#[test]
fn key_refuses_what_it_cannot_use() {
    let cases = [
        ("", "BEGIN"),
        ("not a key", "BEGIN"),
        (&pem("ENCRYPTED PRIVATE KEY", b"xx") as &str, "encrypted"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "encrypted",
        ),
        (&pem("CERTIFICATE", b"xx"), "holds CERTIFICATE but no private key"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n", "END"),
        (&pem("EC PRIVATE KEY", b"xx"), "labelled EC PRIVATE KEY"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n", "END"),
        ("-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n", "base64"),
        (&pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00"), "RSA private key"),
    ];
    for (text, words) in cases {
        let error = JwtKey::from_pem(text).expect_err(text);
        assert!(matches!(error, SalesforceError::Key { .. }), "{error}");
        assert!(error.to_string().contains(words) && error.to_string().contains("Salesforce"), "{error}");
    }
    assert!(matches!(JwtKey::from_der(b"garbage"), Err(SalesforceError::Key { .. })));
}

#[test]
fn debug_never_shows_the_key_or_the_token() {
    let grant = grant();
    let text = format!("{grant:?}");
    assert!(text.contains("2048") && text.contains("integration@example.org"), "{text}");
    assert!(!text.contains("3MVG9"), "{text}");
    let token = token();
    assert!(!format!("{token:?}").contains("secret"));
    let request = build_upsert_case(&instance(), "67.0", &token, "Takedown_Case_ID__c", "T-1", &subject())
        .expect("request");
    assert!(!format!("{request:?}").contains("secret"));
}

// === token response ===

const TOKEN_OK: &str = r#"{"access_token":"00Dxx0000001gPL!AQ0AQ.secret","scope":"api","instance_url":"https://example.my.salesforce.com","id":"https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SvQ5AAK","token_type":"Bearer"}"#;

#[test]
fn token_response_documented_success() {
    let token = parse_token_response(&json(200, TOKEN_OK)).expect("token");
    assert_eq!(token.secret(), "00Dxx0000001gPL!AQ0AQ.secret");
    assert_eq!(token.instance_url().as_str(), "https://example.my.salesforce.com/");
    assert_eq!(token.issued_at(), None);
}

#[test]
fn token_response_with_unknown_fields_and_issued_at() {
    let body = r#"{"access_token":"tok","signature":"sig","scope":"api","instance_url":"https://example.my.salesforce.com/","api_instance_url":"https://api.salesforce.com","id":"x","token_type":"bearer","issued_at":"1700000000123","new_field":{"a":[1]}}"#;
    let token = parse_token_response(&json(200, body)).expect("token");
    assert_eq!(token.issued_at().map(|t| t.unix_timestamp()), Some(1_700_000_000));
    let body = body.replace("1700000000123", "yesterday");
    assert_eq!(parse_token_response(&json(200, &body)).expect("token").issued_at(), None);
}

#[test]
fn token_response_refuses_missing_or_blank_fields() {
    for (body, words) in [
        (r#"{"instance_url":"https://example.my.salesforce.com"}"#, "access_token"),
        (r#"{"access_token":"  ","instance_url":"https://example.my.salesforce.com"}"#, "access_token"),
        (r#"{"access_token":7,"instance_url":"https://example.my.salesforce.com"}"#, "access_token"),
        (r#"{"access_token":"tok"}"#, "instance_url"),
        (r#"{"access_token":"tok","instance_url":""}"#, "instance_url"),
        (
            r#"{"access_token":"tok","instance_url":"https://e.my.salesforce.com","token_type":"MAC"}"#,
            "Bearer",
        ),
        (r#"{"access_token":"tok sp","instance_url":"https://e.my.salesforce.com"}"#, "header"),
        (r#"["access_token"]"#, "object"),
    ] {
        let error = parse_token_response(&json(200, body)).expect_err(body);
        assert!(matches!(error, SalesforceError::Malformed { status: 200, .. }), "{body}: {error}");
        assert!(error.to_string().contains(words), "{error}");
    }
}

#[test]
fn token_response_refuses_unsafe_instance_urls() {
    for url in [
        "http://example.my.salesforce.com",
        "https://user:pw@example.my.salesforce.com",
        "https://example.my.salesforce.com/services/data",
        "https://example.my.salesforce.com/?x=1",
        "https://example.my.salesforce.com/#f",
        "example.my.salesforce.com",
        "file:///etc/passwd",
    ] {
        let body = serde_json::json!({"access_token": "tok", "instance_url": url}).to_string();
        let error = parse_token_response(&json(200, &body)).expect_err(url);
        assert!(matches!(error, SalesforceError::InvalidInstanceUrl { .. }), "{url}: {error}");
    }
}

#[test]
fn token_errors_are_oauth_errors_with_hints() {
    let cases = [
        ("invalid_grant", "user hasn't approved this consumer", "pre-authorised"),
        ("invalid_grant", "user is not admin approved to access this app", "pre-authorised"),
        ("invalid_grant", "audience is invalid", "https://test.salesforce.com"),
        ("invalid_grant", "invalid assertion", "certificate"),
        ("invalid_grant", "expired access/refresh token", "clock"),
        ("invalid_grant", "authentication failure", "username"),
        ("invalid_client_id", "client identifier invalid", "consumer key"),
        ("invalid_client", "invalid client credentials", "client credentials"),
        ("unsupported_grant_type", "grant type not supported", "token URL"),
    ];
    for (code, description, hint) in cases {
        for status in [400, 401] {
            let body = serde_json::json!({"error": code, "error_description": description}).to_string();
            let error = parse_token_response(&json(status, &body)).expect_err(description);
            match &error {
                SalesforceError::OAuth { error, description: d } => {
                    assert_eq!((error.as_str(), d.as_str()), (code, description));
                }
                other => panic!("{other:?}"),
            }
            let text = error.to_string();
            assert!(
                text.contains("Salesforce") && text.contains(description) && text.contains(hint),
                "{text}"
            );
        }
    }
    let error = parse_token_response(&json(400, r#"{"error":"invalid_request"}"#)).expect_err("bare");
    assert_eq!(error.to_string(), "Salesforce refused the token request: invalid_request");
}

#[test]
fn token_endpoint_html_and_outages() {
    for status in [302, 404] {
        let error = parse_token_response(&html(status)).expect_err("html");
        assert!(matches!(error, SalesforceError::NotJson { .. }), "{status}: {error}");
        assert!(error.to_string().contains("Maintenance"), "{error}");
    }
    // A 200 is never quoted, even when it looks like a page: an XML token answer starts with
    // `<` as well.
    let error = parse_token_response(&html(200)).expect_err("html");
    assert!(
        matches!(error, SalesforceError::NotJson { .. }) && !error.to_string().contains("Maintenance"),
        "{error}"
    );
    let xml = "<OAuth><access_token>00Dxx0000001gPL!AR8AQJXg</access_token></OAuth>";
    let error = parse_token_response(&response(200, Some("application/xml"), xml)).expect_err("xml");
    assert!(!error.to_string().contains("00Dxx"), "{error}");
    // HTML without a content type is still HTML.
    let error = parse_token_response(&response(400, None, "  <!DOCTYPE html><p>x")).expect_err("html");
    assert!(matches!(error, SalesforceError::NotJson { status: 400, .. }), "{error}");
    let error = parse_token_response(&response(200, Some("text/plain"), "ok")).expect_err("text");
    assert!(matches!(error, SalesforceError::NotJson { .. }), "{error}");
    for status in [500, 503, 429] {
        let error = parse_token_response(&html(status)).expect_err("outage");
        assert!(matches!(error, SalesforceError::Unavailable { .. }), "{status}: {error}");
    }
    let error = parse_token_response(&json(201, TOKEN_OK)).expect_err("201");
    assert!(!error.to_string().contains("secret"), "{error}");
}

#[test]
fn token_errors_never_quote_a_token() {
    // A truncated 200 body, a 200 with the wrong content type: both would hold the token.
    let cut = &TOKEN_OK[..60];
    for response in [json(200, cut), response(200, Some("text/plain"), TOKEN_OK)] {
        let error = parse_token_response(&response).expect_err("bad");
        assert!(matches!(error, SalesforceError::NotJson { .. }), "{error}");
        assert!(!error.to_string().contains("00Dxx"), "{error}");
        assert!(!format!("{error:?}").contains("00Dxx"), "{error:?}");
    }
    let body = TOKEN_OK.replace("https://example.my.salesforce.com", "http://evil.example");
    let error = parse_token_response(&json(200, &body)).expect_err("http");
    assert!(!error.to_string().contains("00Dxx"), "{error}");
}

// === Case upsert ===

fn subject() -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("Subject".to_owned(), Value::from("Takedown T-2026-0042"));
    fields.insert("Origin".to_owned(), Value::from("Web"));
    fields.insert("Priority".to_owned(), Value::from("High"));
    fields.insert("Legal_Notes__c".to_owned(), Value::from("DMCA notice received"));
    fields
}

#[test]
fn upsert_is_a_patch_by_external_id_with_bearer_and_json() {
    let request =
        build_upsert_case(&instance(), "67.0", &token(), "Takedown_Case_ID__c", "T-2026-0042", &subject())
            .expect("request");
    assert_eq!(request.method, Method::PATCH);
    assert_eq!(
        request.url.as_str(),
        "https://example.my.salesforce.com/services/data/v67.0/sobjects/Case/Takedown_Case_ID__c/T-2026-0042"
    );
    let authorization = request.header_value(&AUTHORIZATION).expect("authorization");
    assert_eq!(authorization.as_bytes(), b"Bearer 00Dxx0000001gPL!AQ0AQ.secret");
    assert!(authorization.is_sensitive());
    assert_eq!(request.header_value(&ACCEPT).map(HeaderValue::as_bytes), Some(&b"application/json"[..]));
    let (content_type, data) = body_bytes(&request);
    assert_eq!(content_type, "application/json");
    let sent: Value = serde_json::from_slice(data).expect("json");
    assert_eq!(sent, Value::Object(subject()));
}

#[test]
fn upsert_encodes_the_external_id_as_one_segment() {
    for (id, encoded) in [
        ("a/b", "a%2Fb"),
        ("x y", "x%20y"),
        ("50%?#;+&=", "50%25%3F%23%3B%2B%26%3D"),
        ("café", "caf%C3%A9"),
        ("...", "..."),
        ("a.b-c_d~e", "a.b-c_d~e"),
    ] {
        let request = build_upsert_case(&instance(), "67.0", &token(), "Ext__c", id, &subject()).expect(id);
        assert_eq!(
            request.url.path(),
            format!("/services/data/v67.0/sobjects/Case/Ext__c/{encoded}"),
            "{id}"
        );
        assert_eq!(request.url.query(), None);
    }
}

#[test]
fn upsert_refuses_bad_inputs() {
    let t = token();
    let i = instance();
    let bad = |field: &str, id: &str, version: &str, fields: &Map<String, Value>| {
        build_upsert_case(&i, version, &t, field, id, fields).expect_err("refused")
    };
    for id in ["", ".", "..", " T-1", "T-1 ", "T\n1", &"x".repeat(256)] {
        assert!(bad("Ext__c", id, "67.0", &subject()).to_string().contains("external ID"), "{id:?}");
    }
    for field in ["", "Id", "id", "__c", "1Ext__c", "Ext-ID__c", "Ext_ID", "Ext ID__c", "Ext__c/x"] {
        assert!(bad(field, "T-1", "67.0", &subject()).to_string().contains("external ID field"), "{field:?}");
    }
    for version in ["67", "v67.0", "67.00", "67.0.1", "", "6a.0", "1234.0"] {
        assert!(bad("Ext__c", "T-1", version, &subject()).to_string().contains("API version"), "{version:?}");
    }
    for key in ["Id", "ID", "Ext__c", "ext__C"] {
        let mut fields = subject();
        fields.insert(key.to_owned(), Value::from("x"));
        assert!(bad("Ext__c", "T-1", "67.0", &fields).to_string().contains("must not contain"), "{key}");
    }
    let mut fields = subject();
    fields.insert("Bad Name".to_owned(), Value::from("x"));
    assert!(bad("Ext__c", "T-1", "67.0", &fields).to_string().contains("API name"));
    assert!(bad("Ext__c", "T-1", "67.0", &Map::new()).to_string().contains("empty"));
    // Standard names without underscores are allowed as the external-ID field.
    assert!(build_upsert_case(&i, "67.0", &t, "CaseNumber", "00001026", &subject()).is_ok());
}

#[test]
fn token_goes_only_to_its_own_instance() {
    for other in
        ["https://evil.example", "https://example.my.salesforce.com:8443", "http://example.my.salesforce.com"]
    {
        let other = Url::parse(other).expect("url");
        let error =
            build_upsert_case(&other, "67.0", &token(), "Ext__c", "T-1", &subject()).expect_err("other");
        assert!(error.to_string().contains("instance"), "{error}");
    }
    let with_path = Url::parse("https://example.my.salesforce.com/services").expect("url");
    assert!(build_upsert_case(&with_path, "67.0", &token(), "Ext__c", "T-1", &subject()).is_err());
}

#[test]
fn upsert_answers() {
    let created = json(201, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[],"created":true}"#);
    assert_eq!(
        parse_upsert_case(&created).expect("created"),
        CaseRecord::Created(SalesforceId(CASE_ID.into()))
    );
    let updated = json(200, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[],"created":false}"#);
    let record = parse_upsert_case(&updated).expect("updated");
    assert!(!record.created());
    assert_eq!(record.id().map(SalesforceId::as_str), Some(CASE_ID));
    let no_body = response(204, None, "");
    assert_eq!(parse_upsert_case(&no_body).expect("204"), CaseRecord::Updated(None));
    // Without the created flag the status decides; unknown fields are ignored.
    let plain = json(201, r#"{"id":"500xx000003DgXb","success":true,"errors":[],"extra":1}"#);
    assert!(parse_upsert_case(&plain).expect("plain").created());
}

#[test]
fn upsert_refuses_inconsistent_or_failed_answers() {
    for (status, body, words) in [
        (201, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[],"created":false}"#, "contradicts"),
        (200, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[],"created":true}"#, "contradicts"),
        (201, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[],"created":"yes"}"#, "created"),
        (201, r#"{"id":"068xx000003DgXbAAK","success":true,"errors":[]}"#, "Case"),
        (201, r#"{"id":"500xx000003DgX","success":true,"errors":[]}"#, "Salesforce ID"),
        (201, r#"{"id":"500xx000003DgXb-AK","success":true,"errors":[]}"#, "Salesforce ID"),
        (201, r#"{"success":true,"errors":[]}"#, "no id"),
        (201, r#"{"id":"500xx000003DgXbAAK","errors":[]}"#, "success"),
        (201, r#"{"id":"500xx000003DgXbAAK","success":"true","errors":[]}"#, "success"),
        (201, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":{}}"#, "list"),
        (201, "[]", "object"),
        (202, r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[]}"#, "that status"),
    ] {
        let error = parse_upsert_case(&json(status, body)).expect_err(body);
        assert!(matches!(error, SalesforceError::Malformed { .. }), "{body}: {error}");
        assert!(error.to_string().contains(words), "{error}");
    }
    let failed = json(201, r#"{"id":"500xx000003DgXbAAK","success":false,"errors":[]}"#);
    assert!(matches!(parse_upsert_case(&failed), Err(SalesforceError::RecordFailed { status: 201, .. })));
    let listed = json(
        200,
        r#"{"id":"500xx000003DgXbAAK","success":true,"errors":[{"statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","message":"Needs a reason","fields":["Reason"]}]}"#,
    );
    let error = parse_upsert_case(&listed).expect_err("errors");
    assert!(matches!(error, SalesforceError::RecordFailed { status: 200, .. }), "{error}");
    assert_eq!(error.field_messages(), vec![("Reason", "Needs a reason")]);
    assert!(error.to_string().contains("validation rule"), "{error}");
}

#[test]
fn upsert_with_ambiguous_external_id() {
    let body = r#"["/services/data/v67.0/sobjects/Case/500xx000003DgXbAAK","/services/data/v67.0/sobjects/Case/500xx000003DgXcAAK"]"#;
    let error = parse_upsert_case(&json(300, body)).expect_err("300");
    assert!(matches!(error, SalesforceError::AmbiguousExternalId { count: 2 }), "{error}");
    assert!(parse_case_lookup(&json(300, body)).is_err());
}

#[test]
fn lookup_by_external_id() {
    let request =
        build_case_lookup(&instance(), "66.0", &token(), "Takedown_Case_ID__c", "T/1").expect("request");
    assert_eq!(request.method, Method::GET);
    assert_eq!(
        request.url.as_str(),
        "https://example.my.salesforce.com/services/data/v66.0/sobjects/Case/Takedown_Case_ID__c/T%2F1?fields=Id"
    );
    assert!(matches!(request.body, Body::Empty));
    assert!(request.header_value(&AUTHORIZATION).is_some_and(HeaderValue::is_sensitive));
    let found = json(
        200,
        r#"{"attributes":{"type":"Case","url":"/services/data/v66.0/sobjects/Case/500xx000003DgXbAAK"},"Id":"500xx000003DgXbAAK"}"#,
    );
    assert_eq!(parse_case_lookup(&found).expect("found").as_str(), CASE_ID);
    assert!(parse_case_lookup(&json(200, r#"{"Id":"068xx000003DgXbAAK"}"#)).is_err());
    assert!(parse_case_lookup(&json(200, r#"{"id":"500xx000003DgXbAAK"}"#)).is_err());
    let missing = json(
        404,
        r#"[{"errorCode":"NOT_FOUND","message":"Provided external ID field does not exist or is not accessible: X"}]"#,
    );
    assert!(matches!(parse_case_lookup(&missing), Err(SalesforceError::NotFound { .. })));
}

// === ContentVersion ===

#[test]
fn content_version_is_multipart_entity_then_data() {
    let case = SalesforceId::parse(CASE_ID).expect("id");
    let request = build_content_version(
        &instance(),
        "67.0",
        &token(),
        &case,
        "evidence",
        "evidence.pdf",
        Bytes::from_static(b"%PDF-1.7"),
    )
    .expect("request");
    assert_eq!(request.method, Method::POST);
    assert_eq!(
        request.url.as_str(),
        "https://example.my.salesforce.com/services/data/v67.0/sobjects/ContentVersion"
    );
    assert!(request.header_value(&AUTHORIZATION).is_some_and(HeaderValue::is_sensitive));
    let Body::Multipart(parts) = &request.body else { panic!("{:?}", request.body) };
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].name, "entity_content");
    assert_eq!(parts[0].file_name, None);
    assert_eq!(parts[0].content_type, Some("application/json"));
    let entity: Value = serde_json::from_slice(&parts[0].data).expect("json");
    assert_eq!(
        entity,
        serde_json::json!({"Title":"evidence","PathOnClient":"evidence.pdf","FirstPublishLocationId":CASE_ID})
    );
    assert_eq!(parts[1].name, "VersionData");
    assert_eq!(parts[1].file_name.as_deref(), Some("evidence.pdf"));
    assert_eq!(parts[1].content_type, Some("application/octet-stream"));
    assert_eq!(&parts[1].data[..], b"%PDF-1.7");
}

#[test]
fn content_version_refuses_bad_inputs() {
    let case = SalesforceId::parse(CASE_ID).expect("id");
    let data = Bytes::from_static(b"x");
    let build = |case: &SalesforceId, title: &str, name: &str, data: Bytes| {
        build_content_version(&instance(), "67.0", &token(), case, title, name, data)
    };
    for name in ["", "a/b.pdf", "a\\b.pdf", "a\"b.pdf", "..", "a\r\nb.pdf"] {
        assert!(build(&case, "t", name, data.clone()).is_err(), "{name:?}");
    }
    assert!(build(&case, " ", "a.pdf", data.clone()).is_err());
    assert!(build(&case, "t", "a.pdf", Bytes::new()).is_err());
    let account = SalesforceId::parse("001xx000003DgXbAAK").expect("id");
    assert!(build(&account, "t", "a.pdf", data).expect_err("account").to_string().contains("Case"));
}

#[test]
fn create_record_answers() {
    let ok = json(201, r#"{"id":"068xx000000sjqZAAQ","success":true,"errors":[]}"#);
    let id = parse_create_record(&ok).expect("created");
    assert_eq!((id.as_str(), id.key_prefix()), ("068xx000000sjqZAAQ", "068"));
    for (status, body) in [
        (200, r#"{"id":"068xx000000sjqZAAQ","success":true,"errors":[]}"#),
        (204, ""),
        (201, r#"{"id":"068xx000000sjqZAAQ","success":false,"errors":[]}"#),
        (201, r#"{"id":"068xx000000sjqZAAQ","success":true,"errors":[{"statusCode":"X","message":"y"}]}"#),
        (201, r#"{"id":"068","success":true,"errors":[]}"#),
        (201, "not json"),
    ] {
        assert!(parse_create_record(&json(status, body)).is_err(), "{status} {body}");
    }
    let huge = json(
        400,
        r#"[{"message":"Maximum size of request reached. Maximum size of request is 52428800 bytes.","errorCode":"STRING_TOO_LONG"}]"#,
    );
    let error = parse_create_record(&huge).expect_err("huge");
    assert!(matches!(error, SalesforceError::Api { status: 400, .. }), "{error}");
    assert!(error.to_string().contains("shorten"), "{error}");
    let missing_part = json(
        400,
        r#"[{"message":"Multipart message must include a non-binary part","errorCode":"INVALID_MULTIPART_REQUEST"}]"#,
    );
    assert!(matches!(parse_create_record(&missing_part), Err(SalesforceError::Api { .. })));
}

// === errors every resource shares ===

#[test]
fn error_lists_with_and_without_fields() {
    let body = r#"[
        {"message":"Required fields are missing: [Subject]","errorCode":"REQUIRED_FIELD_MISSING","fields":["Subject"]},
        {"message":"bad value for restricted picklist field: Urgent","errorCode":"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST","fields":["Priority","Origin"]},
        {"message":"No such column 'Foo__c' on sobject of type Case","errorCode":"INVALID_FIELD"},
        {"message":"Empty fields","errorCode":"STRING_TOO_LONG","fields":[]},
        {"message":"Null fields","errorCode":"MALFORMED_ID","fields":null},
        {"unrelated":true}
    ]"#;
    let error = parse_rest_error(&json(400, body));
    let SalesforceError::Api { status: 400, errors } = &error else { panic!("{error:?}") };
    assert_eq!(errors.len(), 5);
    assert_eq!(errors[0].fields, vec!["Subject"]);
    assert!(errors[2].fields.is_empty() && errors[3].fields.is_empty() && errors[4].fields.is_empty());
    assert_eq!(
        error.field_messages(),
        vec![
            ("Subject", "Required fields are missing: [Subject]"),
            ("Priority", "bad value for restricted picklist field: Urgent"),
            ("Origin", "bad value for restricted picklist field: Urgent"),
        ]
    );
    let text = error.to_string();
    assert!(text.starts_with("Salesforce refused the request (HTTP 400): REQUIRED_FIELD_MISSING"), "{text}");
    assert!(text.contains("and 2 more") && text.contains("fill in the fields"), "{text}");
}

#[test]
fn documented_statuses_map_to_their_variants() {
    let session = json(401, r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#);
    let error = parse_rest_error(&session);
    assert!(
        matches!(&error, SalesforceError::SessionExpired { detail } if detail.contains("Session expired"))
    );
    assert!(matches!(parse_upsert_case(&session), Err(SalesforceError::SessionExpired { .. })));

    let limit =
        json(403, r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#);
    assert!(matches!(parse_rest_error(&limit), SalesforceError::RequestLimit { .. }));
    let access = json(
        403,
        r#"[{"message":"insufficient access rights on object id","errorCode":"INSUFFICIENT_ACCESS_OR_READONLY"}]"#,
    );
    let error = parse_rest_error(&access);
    assert!(matches!(error, SalesforceError::Api { status: 403, .. }));
    assert!(error.to_string().contains("permission"), "{error}");

    let version =
        json(404, r#"[{"errorCode":"NOT_FOUND","message":"The requested resource does not exist"}]"#);
    let error = parse_rest_error(&version);
    assert!(matches!(error, SalesforceError::NotFound { .. }));
    assert!(error.to_string().contains("API version"), "{error}");
    assert!(matches!(parse_rest_error(&html(404)), SalesforceError::NotFound { .. }));

    let media = json(
        415,
        r#"[{"errorCode":"UNSUPPORTED_MEDIA_TYPE","message":"Content type 'text/plain' not supported"}]"#,
    );
    assert!(matches!(parse_rest_error(&media), SalesforceError::UnsupportedMediaType { .. }));

    let method =
        json(405, r#"[{"errorCode":"METHOD_NOT_ALLOWED","message":"HTTP Method 'PUT' not allowed"}]"#);
    assert!(matches!(parse_rest_error(&method), SalesforceError::Api { status: 405, .. }));

    let internal =
        json(500, r#"[{"errorCode":"UNKNOWN_EXCEPTION","message":"An unexpected error occurred"}]"#);
    assert!(matches!(parse_rest_error(&internal), SalesforceError::Api { status: 500, .. }));
    for status in [500, 502, 503, 504] {
        let error = parse_rest_error(&html(status));
        assert!(matches!(error, SalesforceError::Unavailable { .. }), "{status}");
        assert!(
            error.to_string().contains("Maintenance") && error.to_string().contains("try again"),
            "{error}"
        );
    }
    assert!(matches!(parse_rest_error(&json(503, "[]")), SalesforceError::Unavailable { .. }));
    assert!(matches!(parse_rest_error(&response(429, None, "")), SalesforceError::Unavailable { .. }));
}

#[test]
fn odd_error_bodies_still_give_clear_errors() {
    let object = json(400, r#"{"errorCode":"INVALID_FIELD","message":"Bad field"}"#);
    let SalesforceError::Api { errors, .. } = parse_rest_error(&object) else { panic!("object") };
    assert_eq!((errors[0].code.as_str(), errors[0].message.as_str()), ("INVALID_FIELD", "Bad field"));
    let oauth_like = json(400, r#"{"error":"invalid_request","error_description":"bad"}"#);
    assert!(matches!(parse_rest_error(&oauth_like), SalesforceError::Api { .. }));
    let wrapped = json(400, r#"{"errors":[{"errorCode":"X","message":"y"}]}"#);
    assert!(matches!(parse_rest_error(&wrapped), SalesforceError::Api { .. }));
    let strings = json(400, r#"["plain message"]"#);
    assert!(matches!(parse_rest_error(&strings), SalesforceError::Api { .. }));
    for body in ["Bad Request", "", "{}", "[]", "[{}]", "[{\"errorCode\":\" \"}]", "null", "{\"x\":1}"] {
        let error = parse_rest_error(&response(400, Some("text/plain"), body));
        assert!(matches!(error, SalesforceError::Unrecognised { status: 400, .. }), "{body:?}: {error}");
        assert!(error.to_string().starts_with("Salesforce answered HTTP 400"), "{error}");
    }
    let long = "word ".repeat(500);
    let error = parse_rest_error(&response(400, None, &long));
    let SalesforceError::Unrecognised { excerpt, .. } = &error else { panic!() };
    assert!(excerpt.chars().count() <= EXCERPT_CHARS + 1 && excerpt.ends_with('…'), "{excerpt}");
}

#[test]
fn every_error_names_salesforce() {
    let case = SalesforceId::parse(CASE_ID).expect("id");
    let errors = [
        SalesforceError::AmbiguousExternalId { count: 2 },
        SalesforceError::Header(InvalidHeaderText(AUTHORIZATION)),
        parse_rest_error(&json(400, r#"[{"errorCode":"X"}]"#)),
        parse_rest_error(&json(401, "")),
        parse_rest_error(&json(403, r#"[{"errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#)),
        parse_rest_error(&json(404, "")),
        parse_rest_error(&json(415, "")),
        parse_rest_error(&json(503, "")),
        parse_rest_error(&json(400, "")),
        parse_upsert_case(&json(201, r#"{"success":false}"#)).expect_err("failed"),
        parse_upsert_case(&json(201, "{}")).expect_err("malformed"),
        parse_token_response(&html(200)).expect_err("html"),
        parse_token_response(&json(400, r#"{"error":"invalid_grant"}"#)).expect_err("oauth"),
        parse_token_response(&json(200, r#"{"access_token":"t","instance_url":"http://x"}"#))
            .expect_err("url"),
        JwtKey::from_der(b"").expect_err("key"),
        build_content_version(&instance(), "67.0", &token(), &case, "t", "", Bytes::new())
            .expect_err("input"),
    ];
    for error in errors {
        let text = error.to_string();
        assert!(text.contains("Salesforce"), "{text}");
    }
}

#[test]
fn salesforce_ids() {
    for good in ["500xx000003DgXb", "500xx000003DgXbAAK", "068000000000000AAA"] {
        assert_eq!(good.parse::<SalesforceId>().expect(good).to_string(), good);
    }
    for bad in [
        "",
        "500",
        "500xx000003DgX",
        "500xx000003DgXbA",
        "500xx000003DgXbAAKA",
        "500xx-00003DgXb",
        "500xx000003DgXé",
    ] {
        assert!(SalesforceId::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn limit_info_header() {
    let headers = |value: &'static str| {
        let mut map = HeaderMap::new();
        map.insert(HeaderName::from_static("sforce-limit-info"), HeaderValue::from_static(value));
        map
    };
    assert_eq!(
        parse_limit_info(&headers("api-usage=42/100000")),
        Some(ApiUsage { used: 42, limit: 100_000 })
    );
    assert_eq!(
        parse_limit_info(&headers("api-usage=42/100000; api-bursts=1/10")),
        Some(ApiUsage { used: 42, limit: 100_000 })
    );
    assert_eq!(
        parse_limit_info(&headers("per-app-api-usage=17/250(appName=x), api-usage=25/5000")),
        Some(ApiUsage { used: 25, limit: 5000 })
    );
    assert_eq!(parse_limit_info(&HeaderMap::new()), None);
    for bad in [
        "",
        "api-usage=",
        "api-usage=42",
        "api-usage=42/",
        "api-usage=/5",
        "api-usage=-1/5",
        "api-usage=a/b",
        "api-usage=99999999999999999999999/1",
    ] {
        assert_eq!(parse_limit_info(&headers(bad)), None, "{bad}");
    }
}

#[test]
fn clip_keeps_short_text_and_cuts_long_text() {
    assert_eq!(clip("  a \n\t b  ", 10), "a b");
    assert_eq!(clip("abcdef", 3), "abc…");
    assert_eq!(clip("ab cd", 3), "ab…");
    assert_eq!(clip("", 3), "");
    assert_eq!(excerpt(b""), "(empty body)");
}
