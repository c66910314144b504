//! Signals: SIGHUP reloads the roster and CRLs without dropping connections; SIGTERM drains and
//! exits cleanly.

use std::time::Duration;

use crate::harness::Daemon;

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

    daemon.pki.revoke("dmca-agent");
    let dir = daemon.dir.0.clone();
    daemon.pki.write_crl(&dir);
    daemon.signal("HUP");
    daemon.wait_for_log("SIGHUP: reloaded");

    let response = agent.get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 403, "the open connection must not outlive the revocation");
    assert!(response.text().await.unwrap().contains("no longer accepted"));
    assert!(
        daemon.client("dmca-agent").get(daemon.url("/")).send().await.is_err(),
        "new handshake must fail"
    );
    assert_eq!(daemon.client("auditor").get(daemon.url("/")).send().await.unwrap().status(), 200);
    let _ = daemon.wait_exit(Duration::ZERO);
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
