//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay in the integration
//! tests: each feeds arbitrary bytes to one parser and checks an invariant beyond "no panic".
//!
//! They live in the library so that `cargo test` replays every committed corpus file through
//! exactly the code the fuzzer runs.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::audit::chain::{ChainVerifier, Link, StoredRecord};
use crate::cases::CaseId;
use crate::config::Config;
use crate::egress::policy::{Denied, Policy, Service};
use crate::egress::wire::WireResponse;
use crate::http::csrf::CsrfKey;
use crate::identity::StaffId;
use crate::roster::Roster;
use crate::store::crypt::{AgeIdentity, Keyring};
use crate::store::index::IndexKey;

/// A fuzz target's body: arbitrary bytes in, a panic on a broken invariant.
pub type FuzzTarget = fn(&[u8]);

pub mod lumen;
pub mod ncmec;
pub mod salesforce;
pub mod wiki;

/// Every fuzz target by name, for the corpus replay: the appliance's own formats and each
/// service's parsers.
pub fn all_targets() -> impl Iterator<Item = &'static (&'static str, FuzzTarget)> {
    TARGETS.iter().chain(lumen::TARGETS).chain(ncmec::TARGETS).chain(salesforce::TARGETS).chain(wiki::TARGETS)
}

/// The fuzz targets of the appliance's own formats, by name.
pub const TARGETS: &[(&str, FuzzTarget)] = &[
    ("config_parse", config_parse),
    ("roster_parse", roster_parse),
    ("csrf_token", csrf_token),
    ("audit_record", audit_record),
    ("key_and_id_text", key_and_id_text),
    ("policy_parse", policy_parse),
    ("query_string", query_string),
];

/// A request's query string (or a URL-encoded body), as every route reads it: the form parser
/// keeps every field and re-encodes to the same fields; the case log's filters never panic,
/// never accept a page they cannot multiply, select a page of any list and print back to a
/// query that reads as the same filter; the case lookup's ID and the wiki OAuth callback accept
/// only what they should.
pub fn query_string(data: &[u8]) {
    use crate::case_log::{CaseSummary, Filter, MAX_PAGE};
    use crate::http::handlers::Form;

    let form = Form::parse(data);
    let again = Form::parse(form.encoded().as_bytes());
    assert_eq!(again.encoded(), form.encoded(), "re-encoding changed the fields");

    let (filter, ignored) = Filter::from_query(|name| form.get(name).map(str::to_owned));
    assert!((1..=MAX_PAGE).contains(&filter.page), "page {} accepted", filter.page);
    for problem in &ignored {
        assert!(!problem.is_empty());
    }
    let printed = filter.query_for_page(filter.page);
    let reread = Form::parse(printed.as_bytes());
    let (same, ignored) = Filter::from_query(|name| reread.get(name).map(str::to_owned));
    // Values are trimmed when read, so a printed filter reads back as itself.
    assert_eq!(same, filter, "{printed}");
    assert!(ignored.is_empty(), "{printed}: {ignored:?}");
    let at = time::OffsetDateTime::UNIX_EPOCH;
    let summaries: Vec<CaseSummary> = (0..3)
        .map(|i| CaseSummary {
            id: CaseId::generate(),
            kind: crate::cases::CaseKind::Dmca,
            created: at,
            author: format!("staff{i}"),
            revisions: 1,
            latest: (at, crate::cases::Change::Created),
            decision: None,
            test: false,
            title: String::new(),
        })
        .collect();
    let (rows, _) = filter.select(summaries);
    assert!(rows.len() <= crate::case_log::PER_PAGE);
    for page in [filter.page, usize::MAX] {
        let _ = Filter { page, ..filter.clone() }.select(Vec::new());
    }

    if let Some(id) = form.get("id").map(str::trim)
        && let Ok(case) = id.parse::<CaseId>()
    {
        assert_eq!(case.to_string().parse::<CaseId>(), Ok(case));
    }

    let text = String::from_utf8_lossy(data);
    let expected = "fuzz-state";
    if crate::services::wiki::wire::parse_callback(&text, expected).is_ok() {
        let callback = Form::parse(text.strip_prefix('?').unwrap_or(&text).as_bytes());
        assert_eq!(callback.all("state"), [expected], "a callback accepted without its state: {text:?}");
    }
}

/// Egress policy text: either a policy that allows the requests it names itself, or problems
/// that each name a field.
pub fn policy_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Policy::parse("policy.toml", text) {
        Ok(policy) => {
            for service in Service::ALL {
                let Some(rule) = policy.rule(service) else { continue };
                let Some((method, url)) = rule.example_request() else { continue };
                if let Err(denied) = policy.check(service, &method, &url) {
                    // The URL parser may normalise what the rule spelled (a path, a default
                    // port); only a refusal of the host or method is a bug.
                    assert!(
                        !matches!(denied, Denied::Host(..) | Denied::Method(..) | Denied::NoRule(..)),
                        "{url} for {service}: {denied}"
                    );
                }
            }
        }
        Err(problems) => {
            assert!(!problems.0.is_empty());
            for problem in &problems.0 {
                assert!(!problem.message.is_empty(), "{problem:?}");
            }
        }
    }
}

/// Config text: either a config, or problems that each name a field and say something.
pub fn config_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Config::parse(Path::new("/etc/takedown/takedown.toml"), text) {
        Ok(config) => assert!(config.server.max_connections > 0),
        Err(problems) => {
            assert!(!problems.0.is_empty(), "an error must carry at least one problem");
            for problem in &problems.0 {
                assert!(!problem.field.is_empty() && !problem.message.is_empty(), "{problem:?}");
            }
        }
    }
}

/// Roster text: a parsed roster maps every listed fingerprint back to the person listing it.
pub fn roster_parse(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(roster) = Roster::parse("roster.toml", text) {
        for person in roster.staff() {
            for fingerprint in &person.certificates {
                assert_eq!(roster.find_by_fingerprint(fingerprint).map(|p| &p.id), Some(&person.id));
            }
        }
    }
}

/// A CSRF token from the network: never accepted unless this key issued it for this person.
pub fn csrf_token(data: &[u8]) {
    let key = CsrfKey::from_bytes(&[0x5a; 32]);
    let staff = StaffId::parse("fuzz").unwrap_or_else(|_| unreachable!("a valid login"));
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let token = String::from_utf8_lossy(data);
    let genuine = key.issue(&staff, now);
    let verdict = key.verify(&staff, Some(&token), now);
    assert!(verdict.is_err() || token == genuine, "accepted a token the key did not issue: {token:?}");
    assert_eq!(key.verify(&staff, Some(&genuine), now), Ok(()));
    assert_ne!(key.verify(&staff, Some(&token), now + Duration::from_secs(13 * 3600)), Ok(()));
}

/// A stored audit record (read from a file an attacker may have edited): it decodes only if it
/// re-encodes to exactly the same bytes, and a chain check of it never panics.
pub fn audit_record(data: &[u8]) {
    if let Ok(record) = StoredRecord::decode(data) {
        assert_eq!(record.encode(), data, "two encodings of one record");
    }
    let mut verifier = ChainVerifier::new();
    let _ = verifier.push(1, data);
}

/// Values an operator passes on the command line or keeps in key files (audit heads, case IDs,
/// age identities, index keys, the keyring's plaintext): anything accepted prints back to text that parses to the same
/// value, and nothing panics.
pub fn key_and_id_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(link) = Link::parse(&text) {
        assert_eq!(Link::parse(&link.to_string()), Ok(link));
    }
    if let Ok(case) = text.parse::<CaseId>() {
        assert_eq!(case.to_string().parse::<CaseId>(), Ok(case));
    }
    if let Ok(identity) = AgeIdentity::parse(data) {
        let again = AgeIdentity::parse(identity.to_file_text().as_bytes());
        assert!(again.is_ok_and(|again| again.recipient() == identity.recipient()));
    }
    let _ = IndexKey::parse(data);
    if let Some(keyring) = Keyring::parse(data) {
        let again = Keyring::parse(keyring.to_text().as_bytes());
        assert!(again.is_some_and(|again| again.same_as(&keyring)), "a keyring must read back as written");
    }
}

/// Arbitrary bytes as a response for a fuzz target: the first byte picks a status from the
/// ones a parser can be handed, the rest is the body; `headers` are added as given. No redirect
/// (301, 302, 303, 307, 308) is listed: the egress client never hands one to a parser. 300 is
/// (Salesforce answers it for an external ID that matches several records), in the slot 302 held
/// so that committed seeds keep their status.
pub fn fuzz_response(data: &[u8], headers: &[(&'static str, &'static str)]) -> WireResponse {
    const STATUSES: [u16; 16] =
        [200, 201, 204, 300, 400, 401, 403, 404, 405, 415, 422, 429, 500, 502, 503, 504];
    let (status, body) = match data.split_first() {
        Some((first, rest)) => (STATUSES[usize::from(*first) % STATUSES.len()], rest),
        None => (200, data),
    };
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    WireResponse::new(
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        map,
        Bytes::copy_from_slice(body),
    )
}
