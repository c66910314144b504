// The workload of `bench/allocator.sh`, included by `allocator_zeroing.rs` (the daemon's
// zero-on-free global allocator) and `allocator_plain.rs` (the system allocator): what one busy
// minute of the daemon allocates and frees — multipart uploads streamed into media buffers,
// pages rendered, service responses parsed. Prints the median time of a round.

use std::time::{Duration, Instant};

use bytes::Bytes;
use takedown::media::MediaBudget;
use takedown::media::upload::{Receiver, UploadLimits};

const ROUNDS: usize = 15;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let body = multipart_body(4, 1 << 20);
    let response = service_response(2000);
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            runtime.block_on(round(&body, &response));
            started.elapsed()
        })
        .collect();
    times.sort();
    let median = times[ROUNDS / 2];
    println!("round_ms={:.3}", median.as_secs_f64() * 1000.0);
}

/// Ten uploads of four 1 MiB files in 16 KiB pieces, fifty pages, fifty parsed responses.
async fn round(body: &[u8], response: &str) {
    let budget = MediaBudget::new(64 << 20);
    for _ in 0..10 {
        let pieces: Vec<Result<Bytes, std::io::Error>> =
            body.chunks(16 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let reservation = budget.reserve(body.len()).expect("budget");
        let mut receiver =
            Receiver::new(futures_util::stream::iter(pieces), "B", reservation, UploadLimits::default()).expect("buffer");
        let token = receiver.leading_field("csrf_token").await.expect("token");
        let upload = receiver.finish().await.expect("upload");
        assert_eq!((token.len(), upload.files().len()), (5, 4));
    }
    for i in 0..50 {
        let page = maud::html! {
            table { @for row in 0..200 { tr { td { (row) } td { "case " (i * row) } td { "a description of the case" } } } }
        };
        assert!(page.into_string().len() > 1000);
        let parsed: serde_json::Value = serde_json::from_str(response).expect("json");
        assert!(parsed["query"]["pages"].is_array());
    }
}

fn multipart_body(files: usize, size: usize) -> Vec<u8> {
    let mut body = b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntoken\r\n".to_vec();
    for i in 0..files {
        body.extend_from_slice(
            format!("--B\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{i}.jpg\"\r\n\r\n").as_bytes(),
        );
        body.extend((0..size).map(|n| (n * 31 + i) as u8));
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--B--\r\n");
    body
}

fn service_response(pages: usize) -> String {
    let pages: Vec<serde_json::Value> = (0..pages)
        .map(|i| serde_json::json!({ "pageid": i, "title": format!("File:Example {i}.jpg"), "revisions": [{ "user": "Someone", "comment": "upload" }] }))
        .collect();
    serde_json::json!({ "batchcomplete": true, "query": { "pages": pages } }).to_string()
}
