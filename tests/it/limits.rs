//! Clients that hold connections without using them, or send too much: each limit of
//! `src/http/limits.rs` is tested at its shipped value. Where time is the point, a test measures
//! when the connection was cut: never before the limit (a close at once, for any reason, fails),
//! and well within twice the limit (generous, as the tests share a loaded machine).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio_rustls::client::TlsStream;

use crate::harness::{Daemon, tls_client_config, tls_connect};

// The limits as SECURITY.md promises them, written out here rather than read from
// `takedown::http::limits`, so that changing a limit there fails these tests.
const MAX_CONNECTIONS: usize = 256;
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_HEADER_BYTES: usize = 16 * 1024;
const MAX_HEADERS: usize = 64;
const MAX_H2_STREAMS: usize = 32;

/// How much earlier than its limit a cut may be measured: the test's clock starts before the
/// server's, so only scheduling noise in reading the clocks is allowed for.
const TOLERANCE: Duration = Duration::from_millis(250);

/// A raw mTLS connection as `login`, speaking the given ALPN protocol.
async fn connect(
    address: SocketAddr,
    daemon: &Daemon,
    login: &str,
    alpn: &[u8],
) -> TlsStream<tokio::net::TcpStream> {
    let config = tls_client_config(&daemon.pki, Some(login), &[&rustls::version::TLS13], alpn);
    tls_connect(address, config).await.unwrap()
}

/// Reads until the server closes the connection or `until` appears in what arrived; returns how
/// long after `started` that was, and what arrived. Fails the test if neither happens within
/// `limit` of `started`.
async fn read_until_closed(
    stream: &mut (impl AsyncRead + Unpin),
    started: Instant,
    limit: Duration,
    until: Option<&str>,
) -> (Duration, String) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break,
            Ok(Ok(n)) => {
                received.extend_from_slice(&buffer[..n]);
                if until.is_some_and(|until| String::from_utf8_lossy(&received).contains(until)) {
                    break;
                }
            }
            Err(_) => panic!("connection still open after {limit:?}"),
        }
    }
    (started.elapsed(), String::from_utf8_lossy(&received).into_owned())
}

/// Asserts that a cut measured at `elapsed` came at the `limit`, not before and not long after.
fn assert_cut_at(what: &str, elapsed: Duration, limit: Duration) {
    assert!(elapsed >= limit - TOLERANCE, "{what} cut off before its {limit:?} limit: after {elapsed:?}");
    assert!(elapsed < limit * 2, "{what} cut off long after its {limit:?} limit: after {elapsed:?}");
}

/// A request head of exactly `size` bytes with `headers` header lines in all (at least 3).
fn request_head(size: usize, headers: usize) -> Vec<u8> {
    let mut head = String::from("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for i in 0..headers - 3 {
        head.push_str(&format!("X-Filler-{i}: x\r\n"));
    }
    let padding = size - head.len() - "X-Pad: \r\n\r\n".len();
    head.push_str(&format!("X-Pad: {}\r\n\r\n", "p".repeat(padding)));
    assert_eq!(head.len(), size);
    head.into_bytes()
}

/// The status line the daemon answers `head` with over HTTP/1.1 ("" if it closed without one).
async fn answer_to(daemon: &Daemon, head: &[u8]) -> String {
    let mut tls = connect(daemon.address, daemon, "dmca-agent", b"http/1.1").await;
    tls.write_all(head).await.unwrap();
    let (_, received) = read_until_closed(&mut tls, Instant::now(), Duration::from_secs(20), None).await;
    received.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_tls_handshake_never_finished_is_cut_off_after_10_seconds() {
    let daemon = Daemon::start();
    let started = Instant::now();
    let mut tcp = tokio::net::TcpStream::connect(daemon.address).await.unwrap();
    // No ClientHello: the connection holds a slot until the handshake timeout frees it.
    let (elapsed, _) = read_until_closed(&mut tcp, started, Duration::from_secs(30), None).await;
    assert_cut_at("a silent handshake", elapsed, TLS_HANDSHAKE_TIMEOUT);
    daemon.wait_for_log("TLS handshake timed out");
    let response = daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the server must stay healthy");
}

#[tokio::test]
async fn slow_headers_get_the_connection_closed_after_the_timeout() {
    // The shipped header timeout (the harness shortens it; this test puts the default back),
    // and an idle timeout far longer, so only the former can fire.
    let daemon = Daemon::start_with(|c| {
        c.replace("header_read_timeout_seconds = 1\n", "")
            .replace("[server]\n", "[server]\nidle_timeout_seconds = 300\n")
    });
    let started = Instant::now();
    let mut tls = connect(daemon.address, &daemon, "dmca-agent", b"http/1.1").await;
    // Half a request head, then silence.
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let (elapsed, received) = read_until_closed(&mut tls, started, Duration::from_secs(30), None).await;
    assert_cut_at("a half-sent request head", elapsed, HEADER_READ_TIMEOUT);
    assert!(received.is_empty() || received.starts_with("HTTP/1.1 408"), "unexpected answer: {received}");
    let response = daemon.client("dmca-agent").get(daemon.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the server must stay healthy");
}

#[tokio::test]
async fn a_form_body_trickled_for_60_seconds_is_answered_408_at_the_limit() {
    // Longer header and idle timeouts than the body's, so only the body timeout can fire.
    let daemon = Daemon::start_with(|c| {
        c.replace("header_read_timeout_seconds = 1\n", "")
            .replace("[server]\n", "[server]\nidle_timeout_seconds = 300\n")
    });
    let mut tls = connect(daemon.address, &daemon, "dmca-agent", b"http/1.1").await;
    let started = Instant::now();
    tls.write_all(
        b"POST /wiki/connect HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: same-origin\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ncsrf_token=",
    )
    .await
    .unwrap();
    // One byte every two seconds: the body keeps arriving, never whole. The limit is on the
    // whole body, so arriving bytes must not extend it.
    let (mut reader, mut writer) = tokio::io::split(tls);
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if writer.write_all(b"x").await.is_err() {
                break;
            }
        }
    });
    let (elapsed, received) =
        read_until_closed(&mut reader, started, Duration::from_secs(120), Some("HTTP/1.1 408")).await;
    trickle.abort();
    assert!(received.starts_with("HTTP/1.1 408"), "not answered 408: {received:?}");
    assert_cut_at("a trickled form body", elapsed, BODY_READ_TIMEOUT);
}

#[tokio::test]
async fn a_request_head_just_under_16_kib_is_served_and_just_over_is_refused() {
    let daemon = Daemon::start();
    let under = answer_to(&daemon, &request_head(MAX_HEADER_BYTES - 512, 4)).await;
    assert_eq!(under, "HTTP/1.1 200 OK", "a head 512 bytes under the limit must be served");
    let over = answer_to(&daemon, &request_head(MAX_HEADER_BYTES + 512, 4)).await;
    assert!(over.is_empty() || over.starts_with("HTTP/1.1 431"), "a head over the limit got {over:?}");
}

#[tokio::test]
async fn sixty_four_headers_are_served_and_sixty_five_refused() {
    let daemon = Daemon::start();
    let at_limit = answer_to(&daemon, &request_head(4096, MAX_HEADERS)).await;
    assert_eq!(at_limit, "HTTP/1.1 200 OK", "{} headers must be served", MAX_HEADERS);
    let over = answer_to(&daemon, &request_head(4096, MAX_HEADERS + 1)).await;
    assert!(over.is_empty() || over.starts_with("HTTP/1.1 431"), "one header too many got {over:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_33rd_concurrent_http2_stream_waits_until_one_of_the_32_ends() {
    let daemon = Daemon::start();
    let tls = connect(daemon.address, &daemon, "dmca-agent", b"h2").await;
    let (client, mut connection) = h2::client::handshake(tls).await.unwrap();
    // Drives the connection, and reports the stream limit the server's SETTINGS announced.
    let (limit_tx, limit) = tokio::sync::watch::channel(None);
    tokio::spawn(std::future::poll_fn(move |cx| {
        let polled = std::pin::Pin::new(&mut connection).poll(cx);
        limit_tx.send_replace(Some(connection.max_concurrent_send_streams()));
        polled
    }));
    let get = || http::Request::get(daemon.url("/")).body(()).unwrap();
    // Two requests answered one after the other: the server's SETTINGS (its stream limit),
    // sent before the first answer, are in force, and were reported before the second answer.
    let mut client = client;
    for _ in 0..2 {
        client = client.ready().await.unwrap();
        let (answer, _) = client.send_request(get(), true).unwrap();
        assert_eq!(answer.await.unwrap().status(), 200);
    }
    assert_eq!(*limit.borrow(), Some(MAX_H2_STREAMS), "the stream limit the server announces");

    // 32 form posts whose bodies never end: each holds a stream open in the server. Each names
    // its (small) length, so all 32 fit the form budget together.
    let mut held = Vec::new();
    for n in 1..=MAX_H2_STREAMS {
        let post = http::Request::post(daemon.url("/wiki/connect"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("content-length", "20")
            .header("sec-fetch-site", "same-origin")
            .body(())
            .unwrap();
        // Within a few seconds: the first 32 streams must open without waiting for another to
        // end (a held stream ends only at the 60 s body timeout).
        client = tokio::time::timeout(Duration::from_secs(5), client.ready())
            .await
            .unwrap_or_else(|_| panic!("stream {n} of {MAX_H2_STREAMS} was not opened"))
            .unwrap();
        let (response, mut body) = client.send_request(post, false).unwrap();
        body.send_data(Bytes::from_static(b"csrf_token="), false).unwrap();
        held.push((response, body));
    }
    // The 33rd is not opened (a client obeys the server's limit) or refused; either way it is
    // not served while the 32 are open.
    client = client.ready().await.unwrap();
    let (mut extra, _) = client.send_request(get(), true).unwrap();
    let early = tokio::time::timeout(Duration::from_secs(3), &mut extra).await;
    assert!(early.is_err(), "a 33rd stream was served beside 32 open ones: {early:?}");

    // One of the 32 ends (its form is refused: no valid token); the 33rd is served.
    let (response, mut body) = held.pop().unwrap();
    body.send_data(Bytes::from_static(b"&x=123456"), true).unwrap();
    assert_eq!(response.await.unwrap().status(), 403);
    let served = tokio::time::timeout(Duration::from_secs(20), extra)
        .await
        .expect("the 33rd stream was not served after one of the 32 ended")
        .unwrap();
    assert_eq!(served.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_257th_connection_waits_until_one_of_256_closes() {
    // Header and idle timeouts longer than the test, so that only the test closes connections.
    let daemon = Daemon::start_with(|c| {
        c.replace("header_read_timeout_seconds = 1\n", "header_read_timeout_seconds = 300\n")
            .replace("[server]\n", "[server]\nidle_timeout_seconds = 300\n")
    });
    let mut open = Vec::new();
    for n in 1..=MAX_CONNECTIONS {
        let connected = tokio::time::timeout(
            Duration::from_secs(20),
            connect(daemon.address, &daemon, "dmca-agent", b"http/1.1"),
        );
        open.push(
            connected.await.unwrap_or_else(|_| panic!("connection {n} of {MAX_CONNECTIONS} was not taken")),
        );
    }
    // The kernel accepts the TCP connection, but the daemon does not take it: no handshake.
    let config = tls_client_config(&daemon.pki, Some("dmca-agent"), &[&rustls::version::TLS13], b"http/1.1");
    let mut waiting = Box::pin(tls_connect(daemon.address, config));
    let early = tokio::time::timeout(Duration::from_secs(3), &mut waiting).await;
    assert!(early.is_err(), "a 257th connection was taken while 256 were open");

    drop(open.pop());
    let mut tls = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("the 257th connection was not taken after one of the 256 closed")
        .unwrap();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").await.unwrap();
    let (_, received) = read_until_closed(&mut tls, Instant::now(), Duration::from_secs(20), None).await;
    assert!(received.starts_with("HTTP/1.1 200"), "the 257th connection was not served: {received}");
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed_when_idle() {
    // A header timeout far longer than the idle one, so that only the idle timeout can close
    // the HTTP/1.1 connection (HTTP/2 has no header timeout).
    let daemon = Daemon::start_with(|c| {
        c.replace("header_read_timeout_seconds = 1\n", "header_read_timeout_seconds = 30\n")
            .replace("[server]\n", "[server]\nidle_timeout_seconds = 1\n")
    });
    for alpn in [&b"http/1.1"[..], b"h2"] {
        let started = Instant::now();
        let mut tls = connect(daemon.address, &daemon, "dmca-agent", alpn).await;
        let (elapsed, _) = read_until_closed(&mut tls, started, Duration::from_secs(10), None).await;
        assert_cut_at(&format!("{alpn:?} with no request"), elapsed, Duration::from_secs(1));
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_its_last_request() {
    let daemon = Daemon::start_with(|c| {
        c.replace("header_read_timeout_seconds = 1\n", "header_read_timeout_seconds = 30\n")
            .replace("[server]\n", "[server]\nidle_timeout_seconds = 1\n")
    });
    let mut tls = connect(daemon.address, &daemon, "dmca-agent", b"http/1.1").await;
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let started = Instant::now();
    let (_, answer) = read_until_closed(&mut tls, started, Duration::from_secs(10), Some("</html>")).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "the request itself must be answered: {answer}");
    // The connection stays open for the idle timeout after the answer, then closes.
    let answered = Instant::now();
    let (elapsed, _) = read_until_closed(&mut tls, answered, Duration::from_secs(10), None).await;
    assert_cut_at("an idle keep-alive connection", elapsed, Duration::from_secs(1));
}
