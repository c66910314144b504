//! Store benchmarks, each reported as a ratio to a reference measured in the same run:
//!
//! 1. case commit (encrypt + durable commit + audit append) against a raw 4 KiB write + fsync
//!    on the same disk (goal: at most 2x);
//! 2. export of many small cases against the stock `age` CLI encrypting the same plaintext
//!    (goal: at least 0.7x its throughput);
//! 3. `audit verify` over many entries and case revisions (each revision checked against the
//!    entry that committed it) against `sha256sum` over the same bytes (goal: at least 0.5x its
//!    throughput).
//!
//! Run: `cargo bench --bench store` (sizes: TAKEDOWN_BENCH_CASES, TAKEDOWN_BENCH_ENTRIES; one
//! part: TAKEDOWN_BENCH_ONLY=commit|export|verify).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use redb::TableDefinition;
use takedown::audit::chain::{self, StoredRecord};
use takedown::audit::{Action, Actor, AuditEntry, Outcome};
use takedown::cases::CaseKind;
use takedown::export::{self, Selection};
use takedown::store::crypt::AgeIdentity;
use takedown::store::index::IndexKey;
use takedown::store::{Store, StoreKeys};

#[path = "fill.rs"]
mod fill;

fn main() {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("bench directory");
    let cases: usize = env_or("TAKEDOWN_BENCH_CASES", 100_000);
    let entries: u64 = env_or("TAKEDOWN_BENCH_ENTRIES", 1_000_000);
    // TAKEDOWN_BENCH_ONLY=commit|export|verify runs one part.
    let only = std::env::var("TAKEDOWN_BENCH_ONLY").ok();
    let runs = |part: &str| only.as_deref().is_none_or(|only| only == part);
    if runs("commit") {
        commit_latency(&root);
    }
    if runs("export") {
        export_throughput(&root, cases);
    }
    if runs("verify") {
        verify_throughput(&root, entries, cases as u64);
    }
    let _ = std::fs::remove_dir_all(&root);
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn open_store(dir: &Path) -> (Store, AgeIdentity) {
    let identity = AgeIdentity::generate();
    let index = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).expect("index key");
    let escrow = AgeIdentity::generate().recipient();
    let store =
        Store::open(dir, StoreKeys::new(identity.clone(), &[escrow], index), 1_000_000).expect("store");
    (store, identity)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn commit_latency(root: &Path) {
    const N: usize = 300;
    let (store, _) = open_store(&root.join("commit"));
    let payload = serde_json::json!({ "notice": "x".repeat(3000) });
    let mut ours = Vec::with_capacity(N);
    for _ in 0..N {
        let started = Instant::now();
        store
            .commit(|batch| {
                let case = batch.create_case(CaseKind::Dmca, "bench", payload.clone())?;
                batch.audit(&AuditEntry::now(
                    Actor::Staff("bench".into()),
                    Action::CreateCase,
                    Some(case),
                    Outcome::Done,
                    "bench",
                ))
            })
            .expect("commit");
        ours.push(started.elapsed());
    }
    let mut reference = Vec::with_capacity(N);
    let block = vec![0x5au8; 4096];
    let path = root.join("commit/raw");
    let mut file = OpenOptions::new().create(true).append(true).open(&path).expect("raw file");
    for _ in 0..N {
        let started = Instant::now();
        file.write_all(&block).expect("write");
        file.sync_all().expect("fsync");
        reference.push(started.elapsed());
    }
    ours.sort();
    reference.sort();
    let (m, r) = (percentile(&ours, 0.5), percentile(&reference, 0.5));
    let (m99, r99) = (percentile(&ours, 0.99), percentile(&reference, 0.99));
    println!("case commit ({N} commits, 2 recipients):");
    println!(
        "  median {m:?} vs raw 4 KiB write+fsync {r:?}: {:.2}x (goal <= 2x)",
        m.as_secs_f64() / r.as_secs_f64()
    );
    println!("  p99    {m99:?} vs {r99:?}: {:.2}x", m99.as_secs_f64() / r99.as_secs_f64());
}

fn export_throughput(root: &Path, cases: usize) {
    let dir = root.join("export");
    let (store, identity) = open_store(&dir);
    let started = Instant::now();
    fill::in_chunks(&store, cases, 5_000, |batch, i| {
        batch.create_case(
            CaseKind::Log,
            "bench",
            serde_json::json!({ "note": format!("small case {i}") }),
        )?;
        Ok(())
    });
    println!("export ({cases} small cases; filling took {:?}):", started.elapsed());
    let out = dir.join("all.age");
    let started = Instant::now();
    let file = std::io::BufWriter::new(std::fs::File::create(&out).expect("out"));
    export::write(&store, &Selection::All, &[identity.recipient()], file).expect("export");
    let ours = started.elapsed();
    let size = std::fs::metadata(&out).expect("size").len();

    // The reference encrypts the very same plaintext with the age CLI.
    let key = dir.join("key");
    std::fs::write(&key, identity.to_file_text().as_bytes()).expect("key");
    let tar = dir.join("all.tar");
    let decrypted = Command::new("age").arg("-d").arg("-i").arg(&key).arg("-o").arg(&tar).arg(&out).status();
    if !decrypted.is_ok_and(|s| s.success()) {
        println!("  age CLI not available; export took {ours:?} for {size} bytes");
        return;
    }
    let started = Instant::now();
    let status = Command::new("age")
        .args(["-r", &identity.recipient().to_string(), "-o"])
        .arg(dir.join("ref.age"))
        .arg(&tar)
        .status()
        .expect("age");
    let reference = started.elapsed();
    assert!(status.success());
    let plain = std::fs::metadata(&tar).expect("tar").len() as f64 / 1e6;
    println!(
        "  takedown export {ours:?} ({:.1} MB/s) vs age -e on the same {plain:.1} MB {reference:?} ({:.1} MB/s): {:.2}x its throughput (goal >= 0.7x)",
        plain / ours.as_secs_f64(),
        plain / reference.as_secs_f64(),
        reference.as_secs_f64() / ours.as_secs_f64()
    );
}

fn verify_throughput(root: &Path, entries: u64, cases: u64) {
    const AUDIT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("audit");
    const REVISIONS: TableDefinition<'_, ([u8; 16], u32), &[u8]> = TableDefinition::new("revisions");
    const CASES: TableDefinition<'_, u64, [u8; 16]> = TableDefinition::new("cases");
    // One case (its first revision, ~1 KB) every `stride` entries, committed by that entry, as
    // the daemon writes them: verification checks every revision against its commitment too.
    let stride = (entries / cases.max(1)).max(1);
    let dir = root.join("verify");
    drop(open_store(&dir));
    // Records with random stand-in ciphertexts of a typical entry's size, linked correctly:
    // verification reads and hashes them exactly as it would real ones.
    let db = redb::Database::builder()
        .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
        .open(dir.join(takedown::store::FILE_NAME))
        .expect("db");
    let mut head = chain::GENESIS;
    let mut flat = std::io::BufWriter::new(std::fs::File::create(dir.join("flat")).expect("flat"));
    let mut seq = 0u64;
    while seq < entries {
        let tx = db.begin_write().expect("tx");
        {
            let mut table = tx.open_table(AUDIT).expect("table");
            let mut revisions_table = tx.open_table(REVISIONS).expect("revisions");
            let mut cases_table = tx.open_table(CASES).expect("cases");
            for _ in 0..100_000.min(entries - seq) {
                seq += 1;
                let mut ciphertext = vec![0u8; 420];
                ciphertext[..8].copy_from_slice(&seq.to_be_bytes());
                let mut revisions = Vec::new();
                if seq.is_multiple_of(stride) && seq / stride <= cases {
                    let mut case = [0u8; 16];
                    case[..8].copy_from_slice(&seq.to_be_bytes());
                    let mut revision = vec![1u8; 1000];
                    revision[..8].copy_from_slice(&seq.to_be_bytes());
                    revisions.push(chain::RevisionCommit { case, number: 1, hash: chain::sha256(&revision) });
                    revisions_table.insert((case, 1), revision.as_slice()).expect("revision");
                    cases_table.insert(seq / stride, case).expect("case");
                    flat.write_all(&revision).expect("flat");
                }
                let mut record = StoredRecord {
                    original_hash: chain::sha256(&ciphertext),
                    link: chain::GENESIS,
                    rewrap: None,
                    commitment: None,
                    revisions,
                    ciphertext: Some(ciphertext),
                };
                head = head.next(&record.chain_input());
                record.link = head;
                let bytes = record.encode();
                flat.write_all(&bytes).expect("flat");
                table.insert(seq, bytes.as_slice()).expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    flat.flush().expect("flush");
    drop(flat);
    drop(db);
    warm_page_cache(&dir);
    let started = Instant::now();
    let verified = takedown::store::verify(&dir, None).expect("verify");
    let ours = started.elapsed();
    assert_eq!(verified.entries, entries);
    let started = Instant::now();
    let status = Command::new("sha256sum")
        .arg(dir.join("flat"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sha256sum");
    let reference = started.elapsed();
    assert!(status.success());
    let megabytes = std::fs::metadata(dir.join("flat")).expect("flat").len() as f64 / 1e6;
    println!(
        "audit verify ({entries} entries, {cases} cases' revisions, {megabytes:.0} MB of records and revisions):"
    );
    println!(
        "  takedown audit verify {ours:?} vs sha256sum {reference:?} over the same bytes: {:.2}x its throughput (goal >= 0.5x)",
        reference.as_secs_f64() / ours.as_secs_f64()
    );
}

/// Reads both files once so that both measurements start with them in the page cache.
fn warm_page_cache(dir: &Path) {
    for name in [takedown::store::FILE_NAME, "flat"] {
        let _ = std::fs::read(dir.join(name));
    }
}
