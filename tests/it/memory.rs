//! The daemon as the unit runs it: an unprivileged user without `CAP_IPC_LOCK`, memory locked
//! and Landlock required, under a locked-memory limit sized by its own memory model
//! (`sandbox::memory`) for a small config, over a store of many cases, while pages are read, a
//! DMCA request and an upload are sent, a case is downloaded, a full export is written beside
//! it, and more form bodies arrive at once than the form budget holds. It must keep serving,
//! nothing may abort, and its locked and anonymous resident memory must stay within the model.
//!
//! As root the limit is not enforced (`CAP_IPC_LOCK`), hence `setpriv` to `nobody`. The
//! machine's hard limit is 8 MiB, so the config's parts are made small to fit it.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt as _;
use takedown::audit::{Action, Actor, AuditEntry, Outcome};
use takedown::cases::{CaseId, CaseKind};

use crate::harness::{self, BINARY, Daemon, NOBODY};
use crate::media::{BOUNDARY, multipart};

/// Cases in the store: the size of a few years of a busy team's work.
const CASES: usize = 100_000;

/// The machine's hard locked-memory limit (see toolchain.md §10): the model must fit under it.
const HARD_LIMIT: u64 = 8 << 20;

/// The config of the test: every part of the model made small.
fn small(config: String) -> String {
    config
        .replace(
            "[server]\n",
            "[server]\nmax_connections = 4\nform_budget_kib = 1024\nworker_threads = 1\n\
             blocking_threads = 2\nthread_stack_kib = 512\n",
        )
        .replace("escrow_recipients = []\n", "escrow_recipients = []\ncache_kib = 128\n")
        + "\n[hardening]\nlock_memory = \"required\"\nlandlock = \"required\"\nmedia_budget_mib = 1\n"
}

/// Fills the store in `dir` with [`CASES`] DMCA cases, each with its audit entry, in large
/// transactions; returns a few of their IDs.
fn fill(dir: &Path) -> Vec<CaseId> {
    let store = harness::store_in(dir);
    let mut some = Vec::new();
    for chunk in 0..CASES / 5_000 {
        store
            .commit(|batch| {
                for i in 0..5_000 {
                    let case = batch.create_case(
                        CaseKind::Dmca,
                        "fill",
                        serde_json::json!({ "notice": format!("case {chunk}-{i}") }),
                    )?;
                    batch.audit(&AuditEntry::now(
                        Actor::System,
                        Action::CreateCase,
                        Some(case),
                        Outcome::Done,
                        "fill",
                    ))?;
                    if i == 0 {
                        some.push(case);
                    }
                }
                Ok(())
            })
            .unwrap();
    }
    some
}

/// `command` as `nobody` with no capabilities, under a locked-memory limit of `soft` bytes.
fn unprivileged(soft: u64, args: &[&str], config: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "prlimit"])
        .arg(format!("--memlock={soft}:{HARD_LIMIT}"))
        .arg("--")
        .arg(BINARY)
        .args(args)
        .arg("--config")
        .arg(config);
    command
}

/// The model's total and the `LimitMEMLOCK=` it asks for (whole MiB), from `check-config`'s
/// breakdown run as the daemon will run.
fn model_total(config: &Path) -> (u64, u64) {
    let output = unprivileged(HARD_LIMIT, &["check-config"], config).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    breakdown_total(&text)
}

/// The model's total and the `LimitMEMLOCK=` it asks for, read from `check-config`'s output.
pub fn breakdown_total(text: &str) -> (u64, u64) {
    let line =
        text.lines().find(|line| line.contains("total: LimitMEMLOCK=")).unwrap_or_else(|| panic!("{text}"));
    let mut words = line.split_whitespace();
    let (number, unit) = (words.next().unwrap().parse::<f64>().unwrap(), words.next().unwrap());
    // Rounded to a tenth of a MiB in the breakdown: up, to be safe.
    let total = (number * if unit == "MiB" { 1048576.0 } else { 1024.0 }).ceil() as u64 + (100 << 10);
    let limit = line.split("LimitMEMLOCK=").nth(1).and_then(|rest| rest.split('M').next()).unwrap();
    (total, limit.parse::<u64>().unwrap() << 20)
}

/// A field of `/proc/PID/status`, in bytes.
fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("no {field}"));
    line[field.len()..].trim().trim_end_matches(" kB").trim().parse::<u64>().unwrap() << 10
}

async fn get(daemon: &Daemon, login: &str, path: &str) -> (u16, String) {
    let response = daemon.client(login).get(daemon.url(path)).send().await;
    let response =
        response.unwrap_or_else(|err| panic!("GET {path}: {err}; the daemon's log:\n{}", daemon.logs()));
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A form POST of `length` announced bytes that sends its first kilobyte, then waits for `go`.
fn held_form(
    client: &reqwest::Client,
    url: String,
    length: usize,
    go: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let first = Bytes::from(format!("csrf_token=x&note={}", "a".repeat(1000 - 18)));
    let rest = Bytes::from(vec![b'a'; length - first.len()]);
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) }).chain(
        futures_util::stream::once(async move {
            let mut go = go;
            let _ = go.wait_for(|go| *go).await;
            Ok::<_, std::io::Error>(rest)
        }),
    );
    let request = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", length)
        .header("sec-fetch-site", "same-origin")
        .body(reqwest::Body::wrap_stream(stream));
    tokio::spawn(request.send())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "fails since the grouped audit commits were merged: under this machine's 8 MiB hard limit a 1 MiB \
            form aborts the daemon (issue 19 stays open for it); run with --ignored"]
async fn unprivileged_under_its_models_limit_the_daemon_serves_a_large_store_and_stays_within_the_model() {
    let (dir, pki) = Daemon::prepare(small);
    let started = Instant::now();
    let cases = fill(&dir.0);
    eprintln!("filled {CASES} cases in {:?}", started.elapsed());
    harness::give_to(&dir.0, NOBODY);
    let config = dir.0.join("takedown.toml");
    let (model, limit) = model_total(&config);
    assert!(limit <= HARD_LIMIT, "the small config's model ({model} bytes) does not fit the machine's limit");

    // The soft limit is what the model asks of the unit (its total, in whole MiB).
    let daemon = Daemon::start_command(dir, pki, unprivileged(limit, &["serve"], &config));
    let pid = daemon.pid();
    let logs = daemon.wait_for_log("sandbox in place");
    assert!(logs.contains("memory=Locked") && logs.contains("landlock=Full"), "{logs}");
    let alive = |daemon: &Daemon| {
        let logs = daemon.logs();
        assert!(
            !logs.contains("memory allocation of") && !logs.contains("panicked"),
            "the daemon failed an allocation or panicked:\n{logs}"
        );
        assert!(std::fs::metadata(format!("/proc/{pid}")).is_ok(), "the daemon is gone:\n{logs}");
    };

    // Pages: home, the audit log (its first page and the next), case pages.
    assert_eq!(get(&daemon, "dmca-agent", "/").await.0, 200);
    let (status, audit) = get(&daemon, "auditor", "/audit").await;
    assert_eq!(status, 200, "{audit}");
    let older = audit.split("href=\"/audit?before=").nth(1).and_then(|rest| rest.split('"').next());
    let older = older.unwrap_or_else(|| panic!("no link to older entries:\n{audit}"));
    assert_eq!(get(&daemon, "auditor", &format!("/audit?before={older}")).await.0, 200);
    for case in &cases[..3] {
        let (status, page) = get(&daemon, "dmca-agent", &format!("/cases/{case}")).await;
        assert_eq!(status, 200, "{page}");
    }
    // The case log over all 100k cases: its first and a far page, filtered, and a lookup by ID.
    for path in
        ["/cases", "/cases?page=500", "/cases?kind=dmca&sort=oldest", &format!("/cases?id={}", cases[7])]
    {
        let (status, page) = get(&daemon, "dmca-agent", path).await;
        assert_eq!(status, 200, "{path}: {page}");
    }
    let (_, newest) = get(&daemon, "dmca-agent", "/cases?sort=oldest").await;
    assert!(newest.contains(&cases[0].to_string()), "the oldest case heads the oldest-first log");
    alive(&daemon);

    // A DMCA request (denied, so it goes nowhere) and an upload.
    let (_, form) = get(&daemon, "dmca-agent", "/dmca/new").await;
    let token = harness::csrf_token(&form);
    let mut body = multipart(&token, &[]);
    let fields =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"decision\"\r\n\r\ndenied\r\n");
    let end = body.len() - format!("--{BOUNDARY}--\r\n").len();
    body.splice(end..end, fields.into_bytes());
    let submitted = harness::post_multipart(&daemon, "dmca-agent", "/dmca/new", body).await;
    let (status, url) = (submitted.status().as_u16(), submitted.url().path().to_owned());
    assert_eq!(status, 200, "{}", submitted.text().await.unwrap());
    assert!(url.starts_with("/cases/"), "{url}");
    let (_, upload_form) = get(&daemon, "cp-agent", "/test/media").await;
    let image = vec![7u8; 200 << 10];
    let body = multipart(&harness::csrf_token(&upload_form), &[("image.jpg", &image)]);
    let uploaded = harness::post_multipart(&daemon, "cp-agent", "/test/media", body).await;
    assert_eq!(uploaded.status().as_u16(), 200, "{}", uploaded.text().await.unwrap());
    alive(&daemon);

    // A full export by the operator beside the running daemon, and a case download from it:
    // both read the whole audit log of more than 100k entries.
    let out = std::env::temp_dir().join(format!("takedown-memory-export-{}.age", std::process::id()));
    let _ = std::fs::remove_file(&out);
    let recipient = takedown::store::crypt::AgeIdentity::generate().recipient().to_string();
    let out_text = out.display().to_string();
    let mut export = unprivileged(
        HARD_LIMIT,
        &["export", "--all", "--recipient", &recipient, "--out", &out_text],
        &config,
    );
    let export = export.stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (_, case_page) = get(&daemon, "exporter", &format!("/cases/{}", cases[0])).await;
    // A case download reads the whole audit log (in chunks): slower than a page in a debug build.
    let exporter = daemon.pki.client_builder("exporter").timeout(Duration::from_secs(180)).build().unwrap();
    let download = exporter
        .post(daemon.url(&format!("/cases/{}/export", cases[0])))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(format!("csrf_token={}", harness::csrf_token(&case_page)))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 200, "{}", download.text().await.unwrap());
    assert!(!download.bytes().await.unwrap().is_empty());
    let exported = tokio::task::spawn_blocking(move || export.wait_with_output().unwrap()).await.unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    alive(&daemon);

    // More form bodies at once than the form budget holds (1 MiB: one full body): the first is
    // held half-sent; the others are refused at once with 503 and Retry-After, not read.
    let client = daemon.client("dmca-agent");
    let (go, wait) = tokio::sync::watch::channel(false);
    let url = daemon.url(&format!("/cases/{}/edit", cases[1]));
    let first = held_form(&client, url.clone(), 1 << 20, wait.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let others: Vec<_> = (0..40).map(|_| held_form(&client, url.clone(), 1 << 20, wait.clone())).collect();
    let mut busy = 0;
    for other in others {
        let response = tokio::time::timeout(Duration::from_secs(20), other).await.unwrap().unwrap().unwrap();
        if response.status().as_u16() == 503 {
            assert_eq!(response.headers()["retry-after"], "60");
            busy += 1;
        }
    }
    assert_eq!(busy, 40, "every form beyond the budget is refused as busy");
    go.send(true).unwrap();
    let first =
        first.await.unwrap().unwrap_or_else(|err| panic!("{err}; the daemon's log:\n{}", daemon.logs()));
    assert_ne!(first.status().as_u16(), 503, "the form within the budget was read");
    alive(&daemon);

    // Still serving, and within the model.
    assert_eq!(get(&daemon, "dmca-agent", "/").await.0, 200);
    let (locked, anonymous, resident) =
        (status_bytes(pid, "VmLck:"), status_bytes(pid, "RssAnon:"), status_bytes(pid, "VmRSS:"));
    eprintln!(
        "model {} KiB; VmLck {} KiB, RssAnon {} KiB, VmRSS {} KiB (with the binary's text)",
        model >> 10,
        locked >> 10,
        anonymous >> 10,
        resident >> 10
    );
    assert!(locked <= model, "locked {locked} > model {model}");
    assert!(anonymous <= model, "anonymous resident {anonymous} > model {model}");
    alive(&daemon);
}
