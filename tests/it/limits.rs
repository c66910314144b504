//! Clients that hold connections without using them: slow headers and idle connections are
//! closed after their timeouts, and the server stays healthy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

use crate::harness::Daemon;

/// A raw mTLS connection as `login`, speaking the given ALPN protocol.
async fn connect(daemon: &Daemon, login: &str, alpn: &[u8]) -> TlsStream<tokio::net::TcpStream> {
    let person = &daemon.pki.people[login];
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(daemon.pki.authority.certificate_pem().as_bytes()).unwrap())
        .unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(takedown::tls::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_slice(person.certificate_pem.as_bytes()).unwrap()],
            PrivateKeyDer::from_pem_slice(person.key_pem.as_bytes()).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(daemon.address).await.unwrap();
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
}

/// Reads until the server closes the connection; returns how long that took and what arrived.
async fn read_until_closed(
    tls: &mut TlsStream<tokio::net::TcpStream>,
    limit: Duration,
) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), tls.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return (started.elapsed(), received),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
}

#[tokio::test]
async fn slow_headers_get_the_connection_closed_after_the_timeout() {
    // Header timeout 1 s (the harness default); idle timeout long, so only the former can fire.
    let daemon = Daemon::start_with(|c| c.replace("[server]\n", "[server]\nidle_timeout_seconds = 60\n"));
    let mut tls = connect(&daemon, "dmca-agent", b"http/1.1").await;
    // Half a request head, then silence.
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let (elapsed, received) = read_until_closed(&mut tls, Duration::from_secs(10)).await;
    assert!(elapsed >= Duration::from_millis(900), "closed before the timeout: {elapsed:?}");
    let text = String::from_utf8_lossy(&received);
    assert!(received.is_empty() || text.starts_with("HTTP/1.1 408"), "unexpected answer: {text}");
    let response = daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the server must stay healthy");
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed_when_idle() {
    let daemon = Daemon::start_with(|c| c.replace("[server]\n", "[server]\nidle_timeout_seconds = 1\n"));
    for alpn in [&b"http/1.1"[..], b"h2"] {
        let mut tls = connect(&daemon, "dmca-agent", alpn).await;
        let (elapsed, _) = read_until_closed(&mut tls, Duration::from_secs(10)).await;
        assert!(
            elapsed >= Duration::from_millis(900),
            "{alpn:?} closed before the idle timeout: {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_last_request() {
    let daemon = Daemon::start_with(|c| c.replace("[server]\n", "[server]\nidle_timeout_seconds = 1\n"));
    let mut tls = connect(&daemon, "dmca-agent", b"http/1.1").await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let (_, received) = read_until_closed(&mut tls, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 200"), "the request itself must be answered: {text}");
}
