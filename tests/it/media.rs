//! Uploads through the real daemon over mTLS (the demo build's `/test/media` route, until the
//! workflows have uploads of their own): digests, the media budget, and the sentinel test —
//! uploaded bytes are found nowhere, on disk or in the daemon's memory, once the request is done.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::StreamExt as _;
use sha1::Digest as _;

use crate::harness::{self, Daemon};
use crate::sentinel::{self, Sentinel, random_bytes};

pub const BOUNDARY: &str = "takedown-test-boundary";

/// A multipart body: the CSRF token first, then `files` (name, bytes).
pub fn multipart(token: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n")
            .into_bytes();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn form_token(daemon: &Daemon, client: &reqwest::Client) -> String {
    let page = client.get(daemon.url("/test/media")).send().await.unwrap().text().await.unwrap();
    harness::csrf_token(&page)
}

/// Starts an upload of `body` that sends its first kilobyte, announces its whole length, and
/// holds the rest back until the returned sender fires (or is dropped).
fn trickle(
    daemon: &Daemon,
    body: Vec<u8>,
) -> (tokio::task::JoinHandle<reqwest::Result<reqwest::Response>>, tokio::sync::oneshot::Sender<()>) {
    let length = body.len();
    let (more, rest) = tokio::sync::oneshot::channel::<()>();
    let (first, second) = body.split_at(1000);
    let (first, second) = (Bytes::copy_from_slice(first), Bytes::copy_from_slice(second));
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
        futures_util::stream::once(async move {
            let _ = rest.await;
            Ok::<_, std::io::Error>(second)
        }),
    );
    let request = daemon
        .client("cp-agent")
        .post(daemon.url("/test/media"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("content-length", length)
        .header("sec-fetch-site", "same-origin")
        .body(reqwest::Body::wrap_stream(stream));
    (tokio::spawn(request.send()), more)
}

async fn media_in_use(daemon: &Daemon, client: &reqwest::Client) -> usize {
    let page = client.get(daemon.url("/test/media")).send().await.unwrap().text().await.unwrap();
    let at = page.find("id=\"media-in-use\">").expect("the amount in use") + 18;
    page[at..].split('<').next().unwrap().parse().unwrap()
}

fn upload(daemon: &Daemon, client: &reqwest::Client, body: Vec<u8>) -> reqwest::RequestBuilder {
    client
        .post(daemon.url("/test/media"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("sec-fetch-site", "same-origin")
        .body(body)
}

#[tokio::test]
async fn an_upload_of_many_files_is_hashed_and_leaves_no_trace_on_disk_or_in_memory() {
    let daemon = Daemon::start();
    let pid = daemon.pid();
    // A second early, so that a coarse file timestamp cannot fall before it.
    let started = SystemTime::now() - Duration::from_secs(1);
    let sentinel = Sentinel::new();
    // Several files, the sentinel at their starts, middles and ends, one of them large enough
    // to cross many TLS records and HTTP/2 frames.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, len) in [200_000usize, 2_500_000, 0].into_iter().enumerate() {
        let mut bytes = random_bytes(len);
        bytes.extend_from_slice(sentinel.bytes());
        bytes.splice(0..0, sentinel.bytes().iter().copied());
        let middle = bytes.len() / 2;
        bytes.splice(middle..middle, sentinel.bytes().iter().copied());
        files.push((format!("image-{i}.bin"), bytes));
    }
    let sockets_idle = harness::settled_socket_count(pid).await;
    {
        let client = daemon.client("cp-agent");
        let token = form_token(&daemon, &client).await;
        let parts: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
        let response = upload(&daemon, &client, multipart(&token, &parts)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        for (name, bytes) in &files {
            assert!(page.contains(name.as_str()), "{page}");
            assert!(
                page.contains(&hex::encode(sha1::Sha1::digest(bytes))),
                "SHA-1 of {name} missing: {page}"
            );
            assert!(page.contains(&hex::encode(sha2::Sha256::digest(bytes))), "SHA-256 of {name} missing");
        }
        assert!(page.contains("3 file(s)"), "{page}");
    }
    // The client is gone; once the daemon has closed the connection, nothing may remain.
    sentinel::wait_for_sockets(pid, sockets_idle).await;

    // The test's scratch directory is all the daemon may write (Landlock: its data directory).
    let scratch = daemon.dir.0.clone();
    let data = scratch.join("data");
    // Control: the file scan finds a sentinel that is there, in each place it searches.
    let control = Sentinel::new();
    let controls: Vec<std::path::PathBuf> =
        [&scratch, &data].iter().map(|dir| dir.join("takedown-sentinel-control")).collect();
    for file in &controls {
        std::fs::write(file, control.bytes()).unwrap();
    }
    let found = sentinel::files_containing(control.bytes(), &[&scratch], started);
    for file in &controls {
        std::fs::remove_file(file).unwrap();
    }
    assert_eq!(found.len(), controls.len(), "the file scan missed a control: {found:?}");

    // Control: the memory scan reads the daemon's heap (its config text is there).
    let known = sentinel::memory_containing(pid, b"the test administrators");
    assert!(!known.hits.is_empty(), "the memory scan cannot see the daemon's heap: {known:?}");
    let scan = sentinel::memory_containing(pid, sentinel.bytes());
    assert!(scan.bytes_read > 1 << 20, "read only {} bytes", scan.bytes_read);
    // Nowhere on disk, nowhere in readable memory, and — since secret memory cannot be read
    // through /proc/PID/mem, where an upload buffer that was never dropped would hide — no
    // media mapping left and nothing reserved of the budget.
    sentinel::assert_nowhere(&daemon, &sentinel, started, b"the test administrators").await;
}

#[tokio::test]
async fn uploads_beyond_the_media_budget_are_refused_before_reading_while_others_keep_working() {
    let daemon = Daemon::start_with(|config| format!("{config}\n[hardening]\nmedia_budget_mib = 1\n"));
    let client = daemon.client("cp-agent");
    let token = form_token(&daemon, &client).await;

    // Larger than the whole budget: 413, and the page says why and what to do — answered while
    // the body is still held back, so the daemon did not wait to read it.
    let (too_large, _held_back) =
        trickle(&daemon, multipart(&token, &[("big.bin", &random_bytes(1_200_000))]));
    let response = tokio::time::timeout(Duration::from_secs(10), too_large)
        .await
        .expect("the refusal must come before the body is sent")
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 413);
    let page = response.text().await.unwrap();
    assert!(page.contains("Too large to hold in memory") && page.contains("media_budget_mib"), "{page}");

    // An upload that holds 700 KB of the budget while its body trickles in...
    let (slow, more) = trickle(&daemon, multipart(&token, &[("slow.bin", &random_bytes(700_000))]));
    // ...once it holds its share (the form page says how much is in use)...
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while media_in_use(&daemon, &client).await == 0 {
        assert!(std::time::Instant::now() < deadline, "the slow upload never reserved its share");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Control for the check every media flow ends with: a buffer held now is seen, its
    // mapping counted (secret memory, or the locked fallback) and its share reserved.
    // (The buffer is mapped just after the share is reserved: polled.)
    loop {
        let (mappings, reserved) = sentinel::media_held(&daemon).await;
        assert!(reserved >= 700_000, "{reserved}");
        if mappings.len() == 1 {
            break;
        }
        assert!(mappings.is_empty(), "one upload, one buffer: {mappings:#?}");
        assert!(std::time::Instant::now() < deadline, "the slow upload's buffer is not counted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...another of the same size does not fit: 503 with Retry-After, before its body is sent.
    let (next, _next_held_back) =
        trickle(&daemon, multipart(&token, &[("next.bin", &random_bytes(700_000))]));
    let busy = tokio::time::timeout(Duration::from_secs(10), next)
        .await
        .expect("the refusal must come before the body is sent")
        .unwrap()
        .unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "60");
    let page = busy.text().await.unwrap();
    assert!(page.contains("Busy with other uploads") && page.contains("Nothing was read"), "{page}");
    // Pages and small forms are unaffected.
    assert_eq!(client.get(daemon.url("/")).send().await.unwrap().status(), 200);

    // The slow upload completes, and its share comes back.
    more.send(()).unwrap();
    assert_eq!(slow.await.unwrap().unwrap().status(), 200);
    let response = upload(&daemon, &client, multipart(&token, &[("after.bin", &random_bytes(700_000))]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sentinel::assert_no_media_held(&daemon).await;
}

#[tokio::test]
async fn an_upload_must_start_with_its_csrf_token_and_name_its_length() {
    let daemon = Daemon::start();
    let client = daemon.client("dmca-agent");
    let token = form_token(&daemon, &client).await;
    // Control: the same person's token, first, is accepted.
    let response = upload(&daemon, &client, multipart(&token, &[("a.bin", b"abc")])).send().await.unwrap();
    assert_eq!(response.status(), 200);
    // A file before a valid token: refused as a forged form, before the file is read.
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.bin\"\r\n\r\nabc\r\n"
    )
    .into_bytes();
    let rest = multipart(&token, &[]);
    body.extend_from_slice(&rest);
    let response = upload(&daemon, &client, body).send().await.unwrap();
    assert_eq!(response.status(), 403);
    // A token issued to someone else.
    let other = form_token(&daemon, &daemon.client("cp-agent")).await;
    let response = upload(&daemon, &client, multipart(&other, &[("a.bin", b"abc")])).send().await.unwrap();
    assert_eq!(response.status(), 403);
    // Uploads only where a page takes them: a multipart post to another page is refused.
    let response = client
        .post(daemon.url("/wiki/connect"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("sec-fetch-site", "same-origin")
        .body(multipart(&token, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    // No Content-Length (a chunked body): 411, since the memory cannot be reserved first.
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(multipart(
        &token,
        &[("a.bin", b"abc")],
    )))]);
    let response = client
        .post(daemon.url("/test/media"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("sec-fetch-site", "same-origin")
        .version(reqwest::Version::HTTP_11)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 411);
}

#[tokio::test]
async fn a_leading_field_trickled_under_the_stall_limit_is_cut_off_by_its_deadline() {
    let daemon = Daemon::start();
    let client = daemon.client("cp-agent");
    let token = form_token(&daemon, &client).await;
    let body = multipart(&token, &[("a.bin", &random_bytes(100_000))]);
    // The CSRF field, one byte every quarter second (far under the 60 s stall limit, about 40 s
    // in all), while the upload holds its share of the media budget; then the rest at once.
    let lead = body.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
    let lead = lead + body[lead..].windows(4).position(|w| w == b"\r\n--").unwrap() + 4;
    let (first, rest) = body.split_at(lead);
    let bytes: Vec<Bytes> =
        first.iter().map(|b| Bytes::copy_from_slice(&[*b])).chain([Bytes::copy_from_slice(rest)]).collect();
    let count = bytes.len();
    let stream =
        futures_util::stream::iter(bytes.into_iter().enumerate()).then(move |(i, chunk)| async move {
            if i + 1 < count {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Ok::<_, std::io::Error>(chunk)
        });
    let started = std::time::Instant::now();
    let request = client
        .post(daemon.url("/test/media"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .header("content-length", body.len())
        .header("sec-fetch-site", "same-origin")
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let response = tokio::time::timeout(Duration::from_secs(20), request)
        .await
        .expect("no answer within 20 s: the leading field has no deadline")
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 408);
    assert!(elapsed < Duration::from_secs(15), "cut off only after {elapsed:?}");
    // Its share of the media budget is back, and the next upload goes through.
    assert_eq!(media_in_use(&daemon, &client).await, 0);
    let response = upload(&daemon, &client, multipart(&token, &[("b.bin", b"abc")])).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
