//! Who gets through the handshake: only certificates from the staff CA that are current and not
//! revoked, over TLS 1.3. Each refusal is checked for its reason on both sides: the alert the
//! client receives (what a browser shows) and the reason the server logs (what an operator
//! reads), so a refusal for the wrong reason fails the test.

use rustls::AlertDescription;

use crate::harness::{Daemon, tls_client_config, tls_refusal};

/// Asserts that `login` (no certificate for `None`) is refused with the TLS `alert` and that the
/// server logs `reason`.
async fn refused(daemon: &Daemon, login: Option<&str>, alert: AlertDescription, reason: &str) {
    let config = tls_client_config(&daemon.pki, login, &[&rustls::version::TLS13], b"http/1.1");
    let err = tls_refusal(daemon.address, config).await;
    assert_eq!(err, rustls::Error::AlertReceived(alert), "{login:?} refused for another reason: {err}");
    daemon.wait_for_log(&format!("TLS handshake refused: {reason}"));
    // The same refusal through a browser-like client: the request fails.
    if let Some(login) = login {
        let result = daemon.client(login).get(daemon.url("/")).send().await;
        assert!(result.is_err(), "request succeeded: {:?}", result.map(|r| r.status()));
    }
}

#[tokio::test]
async fn a_current_staff_certificate_gets_through() {
    let daemon = Daemon::start();
    let response = daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2, "ALPN should pick h2");
}

#[tokio::test]
async fn no_client_certificate_is_refused() {
    let daemon = Daemon::start();
    refused(&daemon, None, AlertDescription::CertificateRequired, "peer sent no certificates").await;
    let result = daemon.pki.anonymous_client().get(daemon.url("/")).send().await;
    assert!(result.is_err(), "request succeeded: {:?}", result.map(|r| r.status()));
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    let daemon = Daemon::start();
    let reason = "invalid peer certificate: UnknownIssuer";
    refused(&daemon, Some("foreign"), AlertDescription::UnknownCA, reason).await;
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let daemon = Daemon::start();
    let reason = "invalid peer certificate: certificate expired";
    refused(&daemon, Some("expired"), AlertDescription::CertificateExpired, reason).await;
}

#[tokio::test]
async fn a_revoked_certificate_is_refused_even_though_it_is_on_the_roster() {
    let daemon = Daemon::start();
    let reason = "invalid peer certificate: Revoked";
    refused(&daemon, Some("revoked"), AlertDescription::CertificateRevoked, reason).await;
    // Refused access is audited, a revoked certificate's included (SECURITY.md section 3): the
    // entry names its holder, though no request ever arrived.
    let entry =
        crate::harness::wait_for_audit(&daemon, |e| e.action == takedown::audit::Action::AccessDenied);
    assert_eq!(
        (entry.actor, entry.outcome, entry.details.as_str()),
        (
            takedown::audit::Actor::Staff("revoked".into()),
            takedown::audit::Outcome::Refused,
            "TLS handshake with this certificate (its key not proved): client certificate no longer accepted: invalid peer certificate: Revoked"
        )
    );
}

#[tokio::test]
async fn tls_1_2_is_not_offered() {
    let daemon = Daemon::start();
    // A client that offers only TLS 1.2 is refused during the handshake itself, for its version.
    let config = tls_client_config(&daemon.pki, Some("dmca-agent"), &[&rustls::version::TLS12], b"h2");
    let err = tls_refusal(daemon.address, config).await;
    assert_eq!(err, rustls::Error::AlertReceived(AlertDescription::ProtocolVersion), "{err}");
    daemon.wait_for_log("TLS handshake refused: peer is incompatible: Tls12NotOffered");
    let client = daemon
        .pki
        .client_builder("dmca-agent")
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    assert!(client.get(daemon.url("/")).send().await.is_err());
}

#[tokio::test]
async fn a_stale_crl_at_start_refuses_every_certificate() {
    // A CA that stopped publishing: its last CRL's nextUpdate has passed. Nobody can tell whether
    // a certificate was revoked since, so the daemon fails closed rather than trust it.
    let (dir, mut pki) = Daemon::prepare(|config| config);
    pki.write_crl_until(&dir.0, time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    let daemon = Daemon::start_in(dir, pki);
    let reason = "invalid peer certificate: certificate revocation list expired";
    refused(&daemon, Some("dmca-agent"), AlertDescription::UnknownCA, reason).await;
}
