//! What each identity sees once through TLS: the roster decides who they are, the route table
//! decides what they may open, and every response carries the security headers.

use crate::harness::Daemon;

async fn get(daemon: &Daemon, login: &str, path: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = daemon.client(login).get(daemon.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

#[tokio::test]
async fn the_home_page_names_the_person_and_their_roles() {
    let daemon = Daemon::start();
    let (status, _, body) = get(&daemon, "cp-agent", "/").await;
    assert_eq!(status, 200);
    assert!(body.contains("Chris Okafor (cp-agent)"), "{body}");
    assert!(body.contains("<span class=\"role\">child-protection</span>"), "{body}");
    let fingerprint = daemon.pki.people["cp-agent"].fingerprint().to_string();
    assert!(body.contains(&fingerprint), "the page should show the certificate in use");
    assert!(!body.contains("href=\"/staff\""), "cp-agent must not be offered the auditor's page");
}

#[tokio::test]
async fn a_ca_valid_certificate_not_on_the_roster_gets_403_saying_whom_to_ask() {
    let daemon = Daemon::start();
    for path in ["/", "/staff", "/no-such-page"] {
        let (status, _, body) = get(&daemon, "outsider", path).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.contains("not on the staff roster"), "{body}");
        assert!(body.contains("Ask the test administrators"), "{body}");
        assert!(body.contains(&daemon.pki.people["outsider"].fingerprint().to_string()), "{body}");
        assert!(!body.contains("<nav"), "no navigation for someone not on the roster");
    }
    let (status, _, css) = get(&daemon, "outsider", "/static/style.css").await;
    assert_eq!(status, 200, "the 403 page's own stylesheet must load");
    assert!(css.contains("font"));
}

#[tokio::test]
async fn a_route_for_another_role_gives_403_naming_the_role_needed() {
    let daemon = Daemon::start();
    let (status, _, body) = get(&daemon, "dmca-agent", "/staff").await;
    assert_eq!(status, 403);
    assert!(body.contains("needs the auditor role"), "{body}");
    assert!(body.contains("Dana Mercer"), "the error page keeps the person's header");

    let (status, _, body) = get(&daemon, "auditor", "/staff").await;
    assert_eq!(status, 200);
    for login in ["dmca-agent", "cp-agent", "approver", "exporter"] {
        assert!(body.contains(login), "roster page misses {login}");
    }
}

#[tokio::test]
async fn unknown_paths_are_404_and_head_works_like_get() {
    let daemon = Daemon::start();
    let (status, _, body) = get(&daemon, "dmca-agent", "/nope").await;
    assert_eq!(status, 404);
    assert!(body.contains("No such page"));
    let response = daemon.client("dmca-agent").head(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let daemon = Daemon::start();
    for (login, path, expected) in [
        ("dmca-agent", "/", 200),
        ("dmca-agent", "/staff", 403),
        ("dmca-agent", "/x", 404),
        ("outsider", "/", 403),
    ] {
        let (status, headers, _) = get(&daemon, login, path).await;
        assert_eq!(status, expected, "{login} {path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        // Every directive SECURITY.md names, each exactly, and no other (no test daemon
        // configures a wiki, so forms may go back to this origin only).
        let expected = [
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ];
        for directive in expected {
            assert!(csp.contains(directive), "{csp}");
        }
        let mut directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        directives.sort_unstable();
        let mut expected = expected.to_vec();
        expected.sort_unstable();
        assert_eq!(directives, expected, "the policy allows more than SECURITY.md says: {csp}");
        assert!(!csp.contains("script-src"), "no script source may be allowed: {csp}");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers["strict-transport-security"].to_str().unwrap().starts_with("max-age="));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "same-origin");
        assert_eq!(headers["cache-control"], "no-store");
    }
}

#[tokio::test]
async fn html_in_roster_names_is_escaped() {
    let daemon = Daemon::start();
    let roster = daemon.pki.roster(&[]).replace("Ada Lindqvist", "Ada <script>alert(1)</script>");
    std::fs::write(daemon.dir.0.join("roster.toml"), roster).unwrap();
    daemon.signal("HUP");
    daemon.wait_for_log("SIGHUP: reloaded");
    let (_, _, body) = get(&daemon, "auditor", "/staff").await;
    assert!(body.contains("Ada &lt;script&gt;"), "{body}");
    assert!(!body.contains("<script>"));
}

#[tokio::test]
async fn refused_access_is_in_the_audit_log_and_the_log_verifies_while_the_daemon_runs() {
    let daemon = Daemon::start();
    assert_eq!(get(&daemon, "outsider", "/").await.0, 403);
    assert_eq!(get(&daemon, "dmca-agent", "/staff").await.0, 403);
    assert_eq!(get(&daemon, "auditor", "/staff").await.0, 200);
    let config = daemon.dir.0.join("takedown.toml");
    let identity = daemon.dir.0.join("keys/store-identity");
    let output = std::process::Command::new(crate::harness::BINARY)
        .args(["audit", "show", "--config"])
        .arg(&config)
        .arg("--identity")
        .arg(&identity)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let outsider = daemon.pki.people["outsider"].fingerprint().to_string();
    assert!(shown.lines().any(|l| l.contains("access-denied") && l.contains(&outsider)), "{shown}");
    assert!(shown.lines().any(|l| l.contains("dmca-agent") && l.contains("missing role auditor")), "{shown}");
    assert_eq!(shown.lines().count(), 2, "allowed requests are not access denials: {shown}");
    let verify = std::process::Command::new(crate::harness::BINARY)
        .args(["audit", "verify", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stdout).contains("entries 2"));
}

#[tokio::test]
async fn a_flood_of_refusals_is_coalesced_while_staff_keep_recording() {
    use takedown::audit::{Action, Actor, AuditEntry};
    use takedown::cases::CaseKind;

    let daemon = Daemon::start();
    // A case for the staffer to view: each view is a durable audit commit, like any recording.
    let case = crate::harness::create_case(&crate::harness::store_of(&daemon), CaseKind::Dmca, "flood");
    let before = crate::harness::audit_log(&daemon).len();

    // An unrostered but CA-valid certificate loops refused GETs with long paths over many
    // connections...
    const TASKS: usize = 32;
    const EACH: usize = 20;
    let flood: Vec<_> = (0..TASKS)
        .map(|t| {
            let client = daemon.client("outsider");
            let url = daemon.url("/");
            tokio::spawn(async move {
                for i in 0..EACH {
                    let path = format!("{url}flood-{t}-{i}-{}", "x".repeat(8000));
                    assert_eq!(client.get(path).send().await.unwrap().status(), 403);
                }
            })
        })
        .collect();
    // ...while a staffer's recorded views keep going through.
    let staff = daemon.client("dmca-agent");
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..10 {
        let started = std::time::Instant::now();
        let status = staff.get(daemon.url(&format!("/cases/{case}"))).send().await.unwrap().status();
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
    }
    for task in flood {
        task.await.unwrap();
    }
    let log = crate::harness::audit_log(&daemon);
    let outsider = daemon.pki.people["outsider"].fingerprint().to_string();
    let refused: Vec<&AuditEntry> =
        log[before..].iter().filter(|e| e.actor == Actor::Unrostered(outsider.clone())).collect();
    let views = log[before..].iter().filter(|e| e.action == Action::ViewCase).count();
    eprintln!(
        "{} refused requests wrote {} audit entries; the staffer's 10 views: slowest {slowest:?}",
        TASKS * EACH,
        refused.len()
    );
    assert_eq!(views, 10);
    assert!((1..=2).contains(&refused.len()), "{} entries for {} refusals", refused.len(), TASKS * EACH);
    for entry in &refused {
        assert!(entry.details.len() <= 400, "an entry quotes {} bytes", entry.details.len());
    }
    assert!(slowest < std::time::Duration::from_secs(2), "a staffer's view took {slowest:?}");
}

#[tokio::test]
async fn refusals_counted_in_an_open_window_are_written_when_the_daemon_stops() {
    use takedown::audit::{Action, Actor};

    let mut daemon = Daemon::start();
    // The first refusal of the minute is written at once; the next two are only counted, and no
    // later refusal comes to write their count.
    for _ in 0..3 {
        assert_eq!(get(&daemon, "outsider", "/").await.0, 403);
    }
    daemon.signal("TERM");
    let status = daemon.wait_exit(std::time::Duration::from_secs(30)).expect("the daemon stops");
    assert!(status.success(), "{status:?}");
    let outsider = Actor::Unrostered(daemon.pki.people["outsider"].fingerprint().to_string());
    let log = crate::harness::audit_log(&daemon);
    let refused: Vec<&str> = log
        .iter()
        .filter(|e| e.action == Action::AccessDenied && e.actor == outsider)
        .map(|e| e.details.as_str())
        .collect();
    assert_eq!(refused.len(), 2, "the first refusal and the count of the others: {refused:?}");
    assert!(refused[1].starts_with("2 more refusal(s)"), "{refused:?}");
}

#[tokio::test]
async fn a_certificate_revoked_while_its_connection_is_open_is_refused_and_the_refusal_audited() {
    use takedown::audit::{Action, Actor, Outcome};

    let mut daemon = Daemon::start();
    let agent = daemon.client("dmca-agent");
    assert_eq!(agent.get(daemon.url("/")).send().await.unwrap().status(), 200);
    daemon.revoke_and_reload("dmca-agent");

    // The same keep-alive connection, past its handshake: each request checks the certificate
    // again, and its refusal is audited before the answer is sent.
    let response = agent.get(daemon.url("/cases")).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!((status.as_u16(), body.contains("no longer accepted")), (403, true), "{body}");
    let refused: Vec<_> = crate::harness::audit_log(&daemon)
        .into_iter()
        .filter(|e| e.actor == Actor::Staff("dmca-agent".into()))
        .map(|e| (e.action, e.outcome, e.details))
        .collect();
    assert_eq!(
        refused,
        [(
            Action::AccessDenied,
            Outcome::Refused,
            "GET /cases: client certificate no longer accepted: invalid peer certificate: Revoked".to_owned()
        )]
    );
}
