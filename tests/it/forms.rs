//! The guard on every request that changes something: same-site only, bounded body, and a CSRF
//! token issued to the same person. Each refusal has its own message, so each test proves which
//! check fired; a refusal for who or where a request came from (roster, site, token) is in the
//! audit log under the certificate refused, with its reason.

use takedown::audit::{Action, Actor, Outcome};
use takedown::http::csrf::CsrfError;

use crate::harness::Daemon;

const FORM: &str = "application/x-www-form-urlencoded";

/// The details of the audit log's refusal entries for `login`, oldest first. A refusal is
/// audited before its answer is sent, so reading after the response needs no wait. Refusals of
/// one person, reason and route are itemised once a minute, so each test below sends each kind
/// of refusal as someone else.
fn refusals_of(daemon: &Daemon, login: &str) -> Vec<String> {
    crate::harness::audit_log(daemon)
        .into_iter()
        .filter(|e| e.actor == Actor::Staff(login.to_owned()))
        .inspect(|e| assert_eq!((e.action, e.outcome), (Action::AccessDenied, Outcome::Refused), "{e:?}"))
        .map(|e| e.details)
        .collect()
}

async fn post(daemon: &Daemon, login: &str, body: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request =
        daemon.client(login).post(daemon.url("/")).header("content-type", FORM).body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_post_without_a_csrf_token_is_refused() {
    let daemon = Daemon::start();
    let (status, body) = post(&daemon, "dmca-agent", "title=x", &[]).await;
    assert_eq!(status, 403);
    assert!(body.contains("carried no security token"), "{body}");
    assert_eq!(
        refusals_of(&daemon, "dmca-agent"),
        [format!("POST /: csrf check failed: {}", CsrfError::Missing)]
    );
}

#[tokio::test]
async fn a_post_with_a_forged_or_malformed_token_is_refused() {
    let daemon = Daemon::start();
    // Well formed, but its MAC is not one the daemon's key made.
    let forged = format!("csrf_token={:x}.{}", 1_900_000_000u64, "ab".repeat(32));
    let (status, body) = post(&daemon, "dmca-agent", &forged, &[]).await;
    assert_eq!(status, 403);
    assert!(body.contains("not valid for you"), "{body}");
    assert_eq!(
        refusals_of(&daemon, "dmca-agent"),
        [format!("POST /: csrf check failed: {}", CsrfError::NotYours)]
    );
    let (status, body) = post(&daemon, "cp-agent", "csrf_token=garbage", &[]).await;
    assert_eq!(status, 403);
    assert!(body.contains("malformed"), "{body}");
    assert_eq!(
        refusals_of(&daemon, "cp-agent"),
        [format!("POST /: csrf check failed: {}", CsrfError::Malformed)]
    );
}

#[tokio::test]
async fn another_persons_real_token_and_a_token_from_before_a_restart_are_refused() {
    let mut daemon = Daemon::start();
    let form = daemon.client("dmca-agent").get(daemon.url("/dmca/new")).send().await.unwrap();
    let token = crate::harness::csrf_token(&form.text().await.unwrap());
    let body = format!("csrf_token={token}");
    // Control: the same token from its own person passes the check (and the form at / is not
    // a route for POST, so the answer is 405, not 403).
    let (status, page) = post(&daemon, "dmca-agent", &body, &[]).await;
    assert_eq!(status, 405, "{page}");
    // A genuine token, issued to someone else.
    let (status, page) = post(&daemon, "cp-agent", &body, &[]).await;
    assert_eq!(status, 403);
    assert!(page.contains("not valid for you"), "{page}");
    let not_yours = format!("POST /: csrf check failed: {}", CsrfError::NotYours);
    assert_eq!(refusals_of(&daemon, "cp-agent"), std::slice::from_ref(&not_yours));
    assert!(refusals_of(&daemon, "dmca-agent").is_empty(), "the token's own person was not refused");
    // A token from the daemon's previous run: its key lived only in that run's memory.
    daemon.kill_and_restart();
    let (status, page) = post(&daemon, "dmca-agent", &body, &[]).await;
    assert_eq!(status, 403);
    assert!(page.contains("not valid for you"), "{page}");
    assert_eq!(refusals_of(&daemon, "dmca-agent"), [not_yours]);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_before_its_token_is_read() {
    let daemon = Daemon::start();
    // Each refusal is audited naming the header that gave the request away (each sent by
    // someone else, so that each is itemised rather than counted).
    let refused = |login, header| (login, vec![format!("POST /: cross-site request refused: {header}")]);
    let (status, body) =
        post(&daemon, "dmca-agent", "csrf_token=x", &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, 403);
    assert!(body.contains("came from a page on another site"), "{body}");
    let (login, entries) = refused("dmca-agent", "Sec-Fetch-Site: cross-site");
    assert_eq!(refusals_of(&daemon, login), entries);
    let (status, body) = post(&daemon, "cp-agent", "csrf_token=x", &[("sec-fetch-site", "same-site")]).await;
    assert_eq!(status, 403, "a sibling subdomain is another site too");
    assert!(body.contains("another site"), "{body}");
    let (login, entries) = refused("cp-agent", "Sec-Fetch-Site: same-site");
    assert_eq!(refusals_of(&daemon, login), entries);
    let (status, body) =
        post(&daemon, "approver", "csrf_token=x", &[("origin", "https://evil.example")]).await;
    assert_eq!(status, 403);
    assert!(body.contains("another site"), "{body}");
    let (login, entries) = refused("approver", "Origin: https://evil.example");
    assert_eq!(refusals_of(&daemon, login), entries);
    // A sandboxed or opaque page (and any page under `no-referrer`) sends `Origin: null`.
    let (status, body) = post(&daemon, "auditor", "csrf_token=x", &[("origin", "null")]).await;
    assert_eq!(status, 403);
    assert!(body.contains("another site"), "{body}");
    let (login, entries) = refused("auditor", "Origin: null");
    assert_eq!(refusals_of(&daemon, login), entries);
    // The same request from this origin passes the same-site check and fails on the token.
    let origin = format!("https://{}", daemon.address);
    let (status, body) =
        post(&daemon, "exporter", "csrf_token=x", &[("origin", &origin), ("sec-fetch-site", "same-origin")])
            .await;
    assert_eq!(status, 403);
    assert!(body.contains("malformed"), "{body}");
    assert_eq!(
        refusals_of(&daemon, "exporter"),
        [format!("POST /: csrf check failed: {}", CsrfError::Malformed)]
    );
}

#[tokio::test]
async fn an_unrostered_post_is_refused_as_unrostered() {
    let daemon = Daemon::start();
    let (status, body) = post(&daemon, "outsider", "csrf_token=x", &[]).await;
    assert_eq!(status, 403);
    assert!(body.contains("not on the staff roster"), "{body}");
    let fingerprint = daemon.pki.people["outsider"].fingerprint().to_string();
    let refused: Vec<String> = crate::harness::audit_log(&daemon)
        .into_iter()
        .filter(|e| e.action == Action::AccessDenied && e.actor == Actor::Unrostered(fingerprint.clone()))
        .map(|e| e.details)
        .collect();
    assert_eq!(refused, [format!("POST /: certificate {fingerprint} is not on the roster")]);
}

#[tokio::test]
async fn an_oversized_body_gets_413_and_other_encodings_415() {
    let daemon = Daemon::start();
    let big = "a".repeat(takedown::http::limits::MAX_FORM_BODY_BYTES + 1);
    let (status, body) = post(&daemon, "dmca-agent", &big, &[]).await;
    assert_eq!(status, 413);
    assert!(body.contains("at most 1024 KiB"), "{body}");
    let response = daemon
        .client("dmca-agent")
        .post(daemon.url("/"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // Any other method is held to the same rules as POST: without a form there is no token.
    let response = daemon.client("dmca-agent").delete(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn an_oversized_streamed_body_without_length_gets_413() {
    let daemon = Daemon::start();
    let chunk = bytes::Bytes::from(vec![b'a'; 64 * 1024]);
    let chunks = (0..20).map(move |_| Ok::<_, std::io::Error>(chunk.clone()));
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = daemon
        .client("dmca-agent")
        .post(daemon.url("/"))
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}
