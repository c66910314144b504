//! Signals: SIGHUP reloads the roster and CRLs without dropping connections; SIGTERM drains and
//! exits cleanly.

use std::time::Duration;

use rustls::AlertDescription;
use rustls_pki_types::pem::PemObject;
use takedown::identity::Fingerprint;
use takedown::pki::{Authority, Validity};
use time::OffsetDateTime;

use crate::harness::{Daemon, tls_client_config, tls_connect, tls_refusal};

/// The client port of the last logged request by `login` (one TCP connection = one port).
fn last_port_of(logs: &str, login: &str) -> String {
    let line = logs.lines().rfind(|l| l.contains(&format!("who={login} "))).expect("no request logged");
    let start = line.find("remote=127.0.0.1:").expect("no remote") + "remote=127.0.0.1:".len();
    line[start..].split_whitespace().next().unwrap().to_owned()
}

#[tokio::test]
async fn sighup_adds_a_person_to_the_roster_without_dropping_open_connections() {
    let daemon = Daemon::start();
    let agent = daemon.client("dmca-agent");
    assert_eq!(agent.get(daemon.url("/")).send().await.unwrap().status(), 200);
    let outsider = daemon.client("outsider");
    assert_eq!(outsider.get(daemon.url("/")).send().await.unwrap().status(), 403);
    let port_before = last_port_of(&daemon.wait_for_log("who=dmca-agent"), "dmca-agent");

    std::fs::write(daemon.dir.0.join("roster.toml"), daemon.pki.roster(&[("outsider", &["auditor"])]))
        .unwrap();
    daemon.signal("HUP");
    daemon.wait_for_log("SIGHUP: reloaded");

    assert_eq!(outsider.get(daemon.url("/staff")).send().await.unwrap().status(), 200);
    assert_eq!(agent.get(daemon.url("/")).send().await.unwrap().status(), 200);
    let logs = daemon.logs();
    assert_eq!(last_port_of(&logs, "dmca-agent"), port_before, "the open connection was replaced:\n{logs}");
}

#[tokio::test]
async fn sighup_with_a_broken_roster_keeps_the_old_one() {
    let daemon = Daemon::start();
    std::fs::write(daemon.dir.0.join("roster.toml"), "[[staff]]\nlogin = \"X\"\n").unwrap();
    daemon.signal("HUP");
    let logs = daemon.wait_for_log("reload refused");
    assert!(logs.contains("reload refused"), "{logs}");
    assert!(logs.contains("staff[0].login"), "the log names the bad field:\n{logs}");
    let response = daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn sighup_with_a_new_crl_revokes_open_connections_and_new_handshakes() {
    let mut daemon = Daemon::start();
    let agent = daemon.client("dmca-agent");
    assert_eq!(agent.get(daemon.url("/")).send().await.unwrap().status(), 200);

    daemon.revoke_and_reload("dmca-agent");

    let response = agent.get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 403, "the open connection must not outlive the revocation");
    assert!(response.text().await.unwrap().contains("no longer accepted"));
    assert!(
        daemon.client("dmca-agent").get(daemon.url("/")).send().await.is_err(),
        "new handshake must fail"
    );
    // ...and for the revocation, not for any other reason.
    let refusal = refusal_of(&daemon, "dmca-agent").await;
    assert_eq!(refusal, rustls::Error::AlertReceived(AlertDescription::CertificateRevoked), "{refusal}");
    assert_eq!(daemon.client("auditor").get(daemon.url("/")).send().await.unwrap().status(), 200);
    let _ = daemon.wait_exit(Duration::ZERO);
}

/// The refusal `login` gets on a new connection.
async fn refusal_of(daemon: &Daemon, login: &str) -> rustls::Error {
    let config = tls_client_config(&daemon.pki, Some(login), &[&rustls::version::TLS13], b"http/1.1");
    tls_refusal(daemon.address, config).await
}

/// Replaces the CRL with `crl`, sends SIGHUP and asserts that the reload was refused with a log
/// line that names the CRL and says `why`; then that the old CRL is still in force: the revoked
/// certificate stays refused, and everyone else still gets in.
async fn assert_crl_reload_refused(daemon: &Daemon, crl: &[u8], why: &str) {
    std::fs::write(daemon.dir.0.join("staff.crl"), crl).unwrap();
    daemon.signal("HUP");
    let logs = daemon.wait_for_log("SIGHUP: reload refused");
    // The refusal, with its list of problems on the lines that follow.
    let refusal = &logs[logs.find("SIGHUP: reload refused").unwrap()..];
    assert!(refusal.contains("tls.crls") && refusal.contains(why), "the log does not say why: {refusal}");
    assert!(!logs.contains("SIGHUP: reloaded"), "the broken CRL was taken:\n{logs}");
    assert_eq!(
        refusal_of(daemon, "revoked").await,
        rustls::Error::AlertReceived(AlertDescription::CertificateRevoked)
    );
    for login in ["dmca-agent", "auditor"] {
        let response = daemon.client(login).get(daemon.url("/")).send().await.unwrap();
        assert_eq!(response.status(), 200, "{login} locked out by a CRL that was refused");
    }
}

#[tokio::test]
async fn sighup_with_an_unparsable_crl_keeps_the_old_one_and_says_why() {
    let daemon = Daemon::start();
    assert_crl_reload_refused(
        &daemon,
        b"-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n",
        "CRL",
    )
    .await;
}

#[tokio::test]
async fn sighup_with_a_crl_from_another_ca_keeps_the_old_one_and_says_why() {
    let daemon = Daemon::start();
    let now = OffsetDateTime::now_utc();
    let foreign = Authority::create("Someone else's CA", Validity::days_from_now(30)).unwrap();
    let crl = foreign
        .revocation_list(&[], now - time::Duration::minutes(1), now + time::Duration::days(1), 9)
        .unwrap();
    assert_crl_reload_refused(&daemon, crl.as_bytes(), "staff CA").await;
}

#[tokio::test]
async fn sighup_with_a_forged_crl_in_the_staff_cas_name_keeps_the_old_one() {
    // Signed by a key that is not the staff CA's, under the staff CA's very name, and revoking
    // nobody: taken, it would readmit the revoked certificate.
    let daemon = Daemon::start();
    let now = OffsetDateTime::now_utc();
    let forger = Authority::create("Takedown test staff CA", Validity::days_from_now(30)).unwrap();
    let crl = forger
        .revocation_list(&[], now - time::Duration::minutes(1), now + time::Duration::days(1), 9)
        .unwrap();
    assert_crl_reload_refused(&daemon, crl.as_bytes(), "staff CA").await;
}

#[tokio::test]
async fn sighup_with_a_stale_crl_refuses_new_handshakes_and_open_connections() {
    // Reloading a CRL whose nextUpdate has passed must fail closed, as it does at start
    // (`tls::a_stale_crl_at_start_refuses_every_certificate`): open connections included.
    let mut daemon = Daemon::start();
    let agent = daemon.client("dmca-agent");
    assert_eq!(agent.get(daemon.url("/")).send().await.unwrap().status(), 200);

    let dir = daemon.dir.0.clone();
    daemon.pki.write_crl_until(&dir, OffsetDateTime::now_utc() - time::Duration::hours(1));
    daemon.signal("HUP");
    daemon.wait_for_log("SIGHUP: reloaded");

    let response = agent.get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 403, "the open connection must not outlive its CRL");
    assert_eq!(
        refusal_of(&daemon, "auditor").await,
        rustls::Error::AlertReceived(AlertDescription::UnknownCA)
    );
    daemon
        .wait_for_log("TLS handshake refused: invalid peer certificate: certificate revocation list expired");
}

#[tokio::test]
async fn sighup_reloads_the_server_certificate_for_new_handshakes() {
    let daemon = Daemon::start();
    let presented = || async {
        let config = tls_client_config(&daemon.pki, Some("dmca-agent"), &[&rustls::version::TLS13], b"h2");
        let tls = tls_connect(daemon.address, config).await.unwrap();
        tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
    };
    let old = rustls_pki_types::CertificateDer::from_pem_file(daemon.dir.0.join("server.crt")).unwrap();
    assert_eq!(presented().await, old.to_vec());

    let new = daemon.pki.write_server_certificate(&daemon.dir.0);
    assert_ne!(new, old.to_vec());
    daemon.signal("HUP");
    daemon.wait_for_log("SIGHUP: reloaded");
    let fingerprint = |der: &[u8]| Fingerprint::of_certificate(der).to_string();
    assert_eq!(
        fingerprint(&presented().await),
        fingerprint(&new),
        "a new handshake must present the reloaded certificate"
    );
    assert_eq!(daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap().status(), 200);
}

// Multi-threaded so that the client's connection task keeps answering (h2 PING, GOAWAY) while
// this test blocks waiting for the exit, as a browser would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_down_cleanly_with_exit_code_zero() {
    let mut daemon = Daemon::start();
    assert_eq!(daemon.client("auditor").get(daemon.url("/")).send().await.unwrap().status(), 200);
    daemon.signal("TERM");
    // Well under the drain timeout: an idle keep-alive connection must not hold up shutdown.
    let status =
        daemon.wait_exit(Duration::from_secs(10)).expect("daemon did not exit within 10 s of SIGTERM");
    assert_eq!(status.code(), Some(0));
    let logs = daemon.logs();
    assert!(logs.contains("SIGTERM: shutting down") && logs.contains("stopped"), "{logs}");
}
