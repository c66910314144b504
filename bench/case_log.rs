//! Case log benchmark: what `GET /cases` asks of the store ([`Store::case_page`]) for each
//! filter, on stores of growing size, each reported in ms and as a ratio to the same page on the
//! smallest store measured in the same run (goal: <= 50 ms median at 100 000 cases and <= 100 ms
//! at 1 000 000, for any filter).
//!
//! The stores are filled through the library API (`Batch::create_case_at`, thousands of cases
//! per transaction, one audit entry each): a year of cases, 60 % DMCA (three decisions, one in
//! ten a test), 30 % log entries, 10 % child-protection reports, by twenty staff members.
//!
//! Run: `cargo bench --bench case_log`. Sizes: `TAKEDOWN_BENCH_LOG_SIZES` (comma-separated,
//! default `1000,100000,1000000`; the first is the reference); runs per figure:
//! `TAKEDOWN_BENCH_RUNS` (default 7, at least 5); `TAKEDOWN_BENCH_KEEP=1` keeps the stores
//! (and their keys) under `target/tmp` for a look over HTTP.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use takedown::case_log::Filter;
use takedown::cases::CaseKind;
use takedown::store::crypt::AgeIdentity;
use takedown::store::index::IndexKey;
use takedown::store::{Store, StoreKeys};
use time::macros::{date, datetime};

#[path = "fill.rs"]
mod fill;

/// Cases per fill transaction.
const CHUNK: usize = 10_000;
const STAFF: usize = 20;

fn main() {
    let sizes: Vec<usize> = std::env::var("TAKEDOWN_BENCH_LOG_SIZES")
        .ok()
        .map(|text| text.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 100_000, 1_000_000]);
    let runs: usize =
        std::env::var("TAKEDOWN_BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(7).max(5);
    let keep = std::env::var("TAKEDOWN_BENCH_KEEP").is_ok_and(|v| v == "1");
    let root =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("case-log-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let queries = queries();
    let mut reference: Vec<Duration> = Vec::new();
    for (n, size) in sizes.iter().enumerate() {
        let dir = root.join(size.to_string());
        let started = Instant::now();
        let store = fill(&dir, *size);
        println!("case log, {size} cases (filled in {:.1?}), median of {runs} runs:", started.elapsed());
        for (i, (name, filter, kinds)) in queries.iter().enumerate() {
            let mut times = Vec::with_capacity(runs);
            let mut shown = 0;
            for _ in 0..runs {
                let started = Instant::now();
                let (page, _more) = store.case_page(filter, kinds).expect("page");
                times.push(started.elapsed());
                shown = page.len();
            }
            times.sort();
            let median = times[times.len() / 2];
            if n == 0 {
                reference.push(median);
            }
            let ratio = median.as_secs_f64() / reference[i].as_secs_f64();
            println!(
                "  {name:<44} {:>8.2} ms  {ratio:>6.2}x the {}-case store  ({shown} shown)",
                median.as_secs_f64() * 1e3,
                sizes[0]
            );
        }
        drop(store);
    }
    if keep {
        println!("stores kept under {}", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
}

/// The list's filters as `GET /cases` passes them, with the kinds the viewer may read.
fn queries() -> Vec<(&'static str, Filter, Vec<CaseKind>)> {
    let all = CaseKind::ALL.to_vec();
    let page = |filter: Filter| Filter { page: filter.page.max(1), ..filter };
    let month = |filter: Filter| Filter {
        from: Some(date!(2025 - 06 - 01)),
        to: Some(date!(2025 - 06 - 30)),
        ..filter
    };
    vec![
        ("none (auditor: all kinds)", page(Filter::default()), all.clone()),
        ("none (DMCA agent: DMCA and log)", page(Filter::default()), vec![CaseKind::Dmca, CaseKind::Log]),
        ("kind=dmca", page(Filter { kind: Some(CaseKind::Dmca), ..Filter::default() }), all.clone()),
        (
            "decision=denied",
            page(Filter { decision: Some("denied".into()), ..Filter::default() }),
            all.clone(),
        ),
        ("test=yes", page(Filter { test: Some(true), ..Filter::default() }), all.clone()),
        ("staff=staff-07", page(Filter { staff: Some("staff-07".into()), ..Filter::default() }), all.clone()),
        ("from..to (30 days of 365)", page(month(Filter::default())), all.clone()),
        (
            "kind+decision+test+staff+from..to",
            page(month(Filter {
                kind: Some(CaseKind::Dmca),
                decision: Some("granted".into()),
                test: Some(false),
                staff: Some("staff-03".into()),
                ..Filter::default()
            })),
            all.clone(),
        ),
        ("sort=oldest", page(Filter { oldest_first: true, ..Filter::default() }), all.clone()),
        ("page=100", Filter { page: 100, ..Filter::default() }, all.clone()),
        ("page=1000 (far: 49 950 skipped)", Filter { page: 1000, ..Filter::default() }, all),
    ]
}

fn fill(dir: &Path, size: usize) -> Store {
    let identity = AgeIdentity::generate();
    let index_text = IndexKey::generate_file_text();
    let index = IndexKey::parse(index_text.as_bytes()).expect("index key");
    std::fs::create_dir_all(dir).expect("bench directory");
    // Kept next to the store, so that TAKEDOWN_BENCH_KEEP=1 leaves something a daemon can open.
    std::fs::write(dir.join("store-identity"), identity.to_file_text().as_bytes()).expect("identity");
    std::fs::write(dir.join("index-key"), index_text.as_bytes()).expect("index key");
    let store = Store::open(dir, StoreKeys::new(identity, &[], index), 1_000_000).expect("store");
    let start = datetime!(2025-01-01 00:00 UTC);
    // A year of cases, evenly spread.
    let step = time::Duration::seconds(365 * 86_400 / size.max(1) as i64);
    let decisions = ["granted", "partially-granted", "denied"];
    fill::in_chunks(&store, size, CHUNK, |batch, n| {
        let at = start + step * n as i32;
        let staff = format!("staff-{:02}", n * 7 % STAFF);
        let (kind, payload) = match n % 10 {
            0 => (CaseKind::ChildProtection, serde_json::json!({})),
            1..=3 => (CaseKind::Log, serde_json::json!({ "note": format!("log entry {n}") })),
            _ => (
                CaseKind::Dmca,
                serde_json::json!({ "dmca": {
                    "decision": decisions[n / 10 % 3],
                    "test": n % 100 < 10,
                    "wmf_title": format!("Bench notice {n}"),
                }}),
            ),
        };
        batch.create_case_at(kind, &staff, payload, at)?;
        Ok(())
    });
    store
}
