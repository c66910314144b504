//! The encrypted store and its audit chain, through the library and the CLI: no plaintext on
//! disk, tampering caught and located, crash safety under SIGKILL, exports the stock `age` CLI
//! opens, and key rotation.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use takedown::audit::{Action, Actor, AuditEntry, Outcome};
use takedown::case_log::Filter;
use takedown::cases::{CaseKind, Change};
use takedown::store::crypt::{AgeIdentity, AgeRecipient, Keyring};
use takedown::store::index::IndexKey;
use takedown::store::{FILE_NAME, KEYRING, Store, StoreError, StoreKeys, read_audit};

use crate::harness::{BINARY, Daemon, ScratchDir, config_text, write_store_keys};

const AUDIT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("audit");
const REVISIONS: TableDefinition<'_, ([u8; 16], u32), &[u8]> = TableDefinition::new("revisions");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const CASES: TableDefinition<'_, u64, [u8; 16]> = TableDefinition::new("cases");

/// A scratch directory with store keys and a config whose store lives in `data/`.
struct Fixture {
    root: PathBuf,
    /// Removes the directory when the fixture that made it is dropped (a child process that
    /// only borrows the directory has none).
    _owner: Option<ScratchDir>,
}

impl Fixture {
    fn new(tag: &str) -> Self {
        let dir = ScratchDir::new(tag);
        write_store_keys(&dir.0);
        std::fs::write(dir.0.join("takedown.toml"), config_text()).unwrap();
        Self { root: dir.0.clone(), _owner: Some(dir) }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn identity(&self) -> AgeIdentity {
        AgeIdentity::parse(&std::fs::read(self.path("keys/store-identity")).unwrap()).unwrap()
    }

    fn open(&self) -> Store {
        self.open_with_escrow(&[]).unwrap()
    }

    fn open_with_escrow(&self, escrow: &[AgeRecipient]) -> Result<Store, StoreError> {
        let index = IndexKey::parse(&std::fs::read(self.path("keys/index-key")).unwrap()).unwrap();
        Store::open(&self.path("data"), StoreKeys::new(self.identity(), escrow, index), 1000)
    }

    /// Runs the CLI with `args` and `--config`; returns exit code, stdout, stderr.
    fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(BINARY)
            .args(args)
            .arg("--config")
            .arg(self.path("takedown.toml"))
            .env("USER", "test-operator")
            .output()
            .unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// The keyring and every stored ciphertext (revisions, then audit entries), read raw.
    fn raw_values(&self) -> (Vec<u8>, Vec<Vec<u8>>) {
        let db = self.raw_db();
        let tx = db.begin_read().unwrap();
        let keyring = tx.open_table(META).unwrap().get(KEYRING).unwrap().unwrap().value().to_vec();
        let mut values: Vec<Vec<u8>> = tx
            .open_table(REVISIONS)
            .unwrap()
            .iter()
            .unwrap()
            .map(|r| r.unwrap().1.value().to_vec())
            .collect();
        for row in tx.open_table(AUDIT).unwrap().iter().unwrap() {
            let record = takedown::audit::chain::StoredRecord::decode(row.unwrap().1.value()).unwrap();
            values.push(record.ciphertext.unwrap());
        }
        (keyring, values)
    }

    fn raw_db(&self) -> redb::Database {
        redb::Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            .open(self.path("data").join(FILE_NAME))
            .unwrap()
    }
}

/// Writes `n` cases, each with a revision and audit entries, containing `sentinel`.
fn fill(store: &Store, n: usize, sentinel: &str) {
    for i in 0..n {
        store
            .commit(|batch| {
                let payload = serde_json::json!({ "notice": format!("{sentinel} case {i}") });
                let case = batch.create_case(CaseKind::Dmca, "dmca-agent", payload)?;
                batch.revise_case(
                    case,
                    Change::Outcome,
                    "dmca-agent",
                    serde_json::json!({ "lumen": sentinel }),
                )?;
                batch.index("sha1", sentinel.as_bytes(), case)?;
                let entry = AuditEntry::now(
                    Actor::Staff("dmca-agent".into()),
                    Action::CreateCase,
                    Some(case),
                    Outcome::Done,
                    format!("{sentinel} created"),
                );
                batch.audit(&entry)
            })
            .unwrap();
    }
}

fn every_file_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { files.extend(every_file_under(&path)) } else { files.push(path) }
    }
    files
}

#[test]
fn nothing_readable_reaches_the_disk() {
    let fixture = Fixture::new("plaintext");
    let sentinel = "SENTINEL-7f3a9c1e-takedown";
    let store = fixture.open();
    fill(&store, 20, sentinel);
    assert_eq!(store.lookup("sha1", sentinel.as_bytes()).unwrap().len(), 20, "the index must work");
    let cases = store.case_ids().unwrap();
    assert!(serde_json::to_string(&store.case(cases[0]).unwrap()).unwrap().contains(sentinel));
    drop(store);
    let files = every_file_under(&fixture.path("data"));
    assert!(!files.is_empty());
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        for needle in [sentinel.as_bytes(), b"dmca-agent", b"create-case", b"notice"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds {:?} in clear",
                file.display(),
                String::from_utf8_lossy(needle)
            );
        }
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "{} is readable by others", file.display());
    }
}

#[test]
fn a_file_with_another_layout_version_is_refused_not_misread() {
    let fixture = Fixture::new("schema");
    drop(fixture.open());
    {
        let db = fixture.raw_db();
        let tx = db.begin_write().unwrap();
        tx.open_table(META).unwrap().insert("schema", 0u32.to_be_bytes().as_slice()).unwrap();
        tx.commit().unwrap();
    }
    let index = IndexKey::parse(&std::fs::read(fixture.path("keys/index-key")).unwrap()).unwrap();
    let Err(err) = Store::open(&fixture.path("data"), StoreKeys::new(fixture.identity(), &[], index), 1000)
    else {
        panic!("an old layout was opened");
    };
    assert!(err.to_string().contains("written by an older takedown"), "{err}");
    let (code, _, stderr) = fixture.cli(&["audit", "verify"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("layout version 0"), "{stderr}");
}

#[test]
fn escrow_identities_open_everything_and_a_newly_configured_one_opens_the_past_too() {
    let fixture = Fixture::new("escrow");
    let (legal, later, stranger) =
        (AgeIdentity::generate(), AgeIdentity::generate(), AgeIdentity::generate());
    fill(&fixture.open_with_escrow(&[legal.recipient()]).unwrap(), 3, "escrow");
    let data = fixture.path("data");
    let before = read_audit(&data, &legal, None).expect("the escrow identity reads the log");
    assert_eq!(before.len(), 3);
    for identity in [&later, &stranger] {
        let Err(err) = read_audit(&data, identity, None) else {
            panic!("an unconfigured identity read the log")
        };
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    }

    // Legal adds a second offline key: it opens what was written before, and the change is audited.
    let store = fixture.open_with_escrow(&[legal.recipient(), later.recipient()]).unwrap();
    let revisions = store.case(store.case_ids().unwrap()[0]).unwrap();
    assert!(revisions[0].payload.to_string().contains("escrow"));
    drop(store);
    let after = read_audit(&data, &later, None).expect("the new escrow identity reads the old log");
    assert_eq!(after.len(), 4);
    let last = &after[3].2;
    assert_eq!((last.actor.clone(), last.action), (Actor::System, Action::RotateKeys));
    assert!(last.details.contains("from 2 to 3"), "{}", last.details);
    assert!(read_audit(&data, &stranger, None).is_err());
    let (code, stdout, stderr) = verify(&fixture, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("entries 4"), "{stdout}");
}

/// Runs `audit verify` and returns (exit code, stdout, stderr).
fn verify(fixture: &Fixture, expect: Option<&str>) -> (i32, String, String) {
    match expect {
        Some(head) => fixture.cli(&["audit", "verify", "--expect-head", head]),
        None => fixture.cli(&["audit", "verify"]),
    }
}

#[test]
fn audit_verify_passes_on_an_intact_log_and_names_the_first_bad_entry_otherwise() {
    let fixture = Fixture::new("tamper");
    fill(&fixture.open(), 6, "x");
    let (code, stdout, stderr) = verify(&fixture, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("entries 6") && stdout.contains("intact"), "{stdout}");
    let head = stdout.lines().find_map(|l| l.strip_prefix("head ")).unwrap().to_owned();
    let (code, head_out, _) = fixture.cli(&["audit", "head"]);
    assert_eq!(code, 0);
    assert!(head_out.contains(&head));

    let original: Vec<(u64, Vec<u8>)> = {
        let db = fixture.raw_db();
        let tx = db.begin_read().unwrap();
        let table = tx.open_table(AUDIT).unwrap();
        table.iter().unwrap().map(|r| r.unwrap()).map(|(k, v)| (k.value(), v.value().to_vec())).collect()
    };
    let rewrite = |records: &[(u64, Vec<u8>)]| {
        let db = fixture.raw_db();
        let tx = db.begin_write().unwrap();
        {
            let mut table = tx.open_table(AUDIT).unwrap();
            table.retain(|_, _| false).unwrap();
            for (seq, bytes) in records {
                table.insert(*seq, bytes.as_slice()).unwrap();
            }
        }
        tx.commit().unwrap();
    };

    // One flipped byte in the ciphertext of entry 4.
    let mut flipped = original.clone();
    let last = flipped[3].1.len() - 1;
    flipped[3].1[last] ^= 0x01;
    rewrite(&flipped);
    let (code, _, stderr) = verify(&fixture, None);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("entry 4: ciphertext does not match"), "{stderr}");

    // Entry 3 deleted.
    let mut deleted = original.clone();
    deleted.remove(2);
    rewrite(&deleted);
    let (code, _, stderr) = verify(&fixture, None);
    assert_eq!(code, 3);
    assert!(stderr.contains("entry 3 is missing"), "{stderr}");

    // Entries 2 and 5 swapped.
    let mut swapped = original.clone();
    let (two, five) = (swapped[1].1.clone(), swapped[4].1.clone());
    swapped[1].1 = five;
    swapped[4].1 = two;
    rewrite(&swapped);
    let (code, _, stderr) = verify(&fixture, None);
    assert_eq!(code, 3);
    assert!(stderr.contains("entry 2: link does not follow"), "{stderr}");

    // The last two entries cut off. They committed revisions, which are now committed by no
    // entry: caught without a recorded head. (Entries that commit no revision, a page view, are
    // caught against a recorded head or checkpoint only.)
    rewrite(&original[..4]);
    let (code, _, stderr) = verify(&fixture, None);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("no audit entry committed it (added)"), "{stderr}");
    let (code, _, stderr) = verify(&fixture, Some(&head));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("ends at entry 4") && stderr.contains(&head), "{stderr}");

    // Restored, the recorded head matches again.
    rewrite(&original);
    assert_eq!(verify(&fixture, Some(&head)).0, 0);
}

/// One edit of the store file, made with redb directly (as anyone with write access to the file
/// could), undone afterwards.
fn with_raw_edit(fixture: &Fixture, edit: impl FnOnce(&redb::WriteTransaction)) -> Vec<u8> {
    let path = fixture.path("data").join(FILE_NAME);
    let pristine = std::fs::read(&path).unwrap();
    {
        let db = fixture.raw_db();
        let tx = db.begin_write().unwrap();
        edit(&tx);
        tx.commit().unwrap();
    }
    pristine
}

/// A revision's place in the store: case ID bytes and number.
type Place = ([u8; 16], u32);

/// The revisions of the store: place → ciphertext, in key order.
fn raw_revisions(fixture: &Fixture) -> Vec<(Place, Vec<u8>)> {
    let db = fixture.raw_db();
    let tx = db.begin_read().unwrap();
    let table = tx.open_table(REVISIONS).unwrap();
    table.iter().unwrap().map(|r| r.unwrap()).map(|(k, v)| (k.value(), v.value().to_vec())).collect()
}

#[test]
fn every_kind_of_tampering_with_case_revisions_is_named_by_audit_verify_without_keys() {
    let fixture = Fixture::new("revtamper");
    // Three cases of two revisions each (created, then an outcome), each pair in one commit.
    fill(&fixture.open(), 3, "x");
    let (code, _, stderr) = verify(&fixture, None);
    assert_eq!(code, 0, "{stderr}");
    let revisions = raw_revisions(&fixture);
    assert_eq!(revisions.len(), 6);
    let path = fixture.path("data").join(FILE_NAME);
    let tampered = |what: &str, edit: &dyn Fn(&redb::WriteTransaction), expected: &str| {
        let pristine = with_raw_edit(&fixture, |tx| edit(tx));
        let (code, _, stderr) = verify(&fixture, None);
        std::fs::write(&path, pristine).unwrap();
        assert_eq!(code, 3, "{what} passed verification: {stderr}");
        assert!(stderr.contains(expected), "{what}: expected {expected:?} in {stderr}");
    };
    let ((case_a, _), _) = revisions[0].clone();
    let ((case_b, _), _) = revisions[2].clone();

    // Move: case A's outcome (say, an approval) copied to case B's next place.
    let a_outcome = revisions[1].1.clone();
    tampered(
        "a revision copied to another case",
        &|tx| {
            tx.open_table(REVISIONS).unwrap().insert((case_b, 3), a_outcome.as_slice()).unwrap();
        },
        "holds the ciphertext committed for revision 2 of case",
    );
    // Move proper: B's outcome replaced by A's.
    tampered(
        "a revision moved over another",
        &|tx| {
            tx.open_table(REVISIONS).unwrap().insert((case_b, 2), a_outcome.as_slice()).unwrap();
        },
        "(moved or copied)",
    );
    // Delete one revision (e.g. a "submit started" record).
    tampered(
        "a deleted revision",
        &|tx| {
            tx.open_table(REVISIONS).unwrap().remove((case_b, 2)).unwrap();
        },
        "is missing from the store (deleted)",
    );
    // Delete a whole case: its revisions and its line in the case list.
    tampered(
        "a deleted case",
        &|tx| {
            let mut revisions = tx.open_table(REVISIONS).unwrap();
            revisions.remove((case_a, 1)).unwrap();
            revisions.remove((case_a, 2)).unwrap();
            tx.open_table(CASES).unwrap().retain(|_, case| case != case_a).unwrap();
        },
        "(deleted)",
    );
    // Only the case list edited.
    tampered(
        "a case dropped from the case list",
        &|tx| {
            tx.open_table(CASES).unwrap().retain(|_, case| case != case_a).unwrap();
        },
        "is listed without revisions, or has revisions but is not listed",
    );
    // Replace: another ciphertext under the same place.
    tampered(
        "a replaced revision",
        &|tx| {
            tx.open_table(REVISIONS).unwrap().insert((case_a, 2), b"forged".as_slice()).unwrap();
        },
        "differs from what entry",
    );
    // Add: a revision no entry committed.
    tampered(
        "an added revision",
        &|tx| {
            tx.open_table(REVISIONS).unwrap().insert((case_a, 3), b"extra".as_slice()).unwrap();
        },
        "no audit entry committed it (added)",
    );
    // Reorder: two revisions of one case swapped.
    let (first, second) = (revisions[0].1.clone(), revisions[1].1.clone());
    tampered(
        "two revisions swapped",
        &|tx| {
            let mut table = tx.open_table(REVISIONS).unwrap();
            table.insert((case_a, 1), second.as_slice()).unwrap();
            table.insert((case_a, 2), first.as_slice()).unwrap();
        },
        "(moved or copied)",
    );
    // Erase an audit ciphertext: an erasure must itself be an entry.
    tampered(
        "an erased audit ciphertext",
        &|tx| {
            let mut audit = tx.open_table(AUDIT).unwrap();
            let bytes = audit.get(2).unwrap().unwrap().value().to_vec();
            let mut record = takedown::audit::chain::StoredRecord::decode(&bytes).unwrap();
            record.ciphertext = None;
            audit.insert(2, record.encode().as_slice()).unwrap();
        },
        "entry 2: its ciphertext was erased, and no erasure entry covers it",
    );
    // Truncate the tail: the last entry committed case C's revisions.
    tampered(
        "the last entry cut off",
        &|tx| {
            let mut audit = tx.open_table(AUDIT).unwrap();
            let last = audit.last().unwrap().unwrap().0.value();
            audit.remove(last).unwrap();
        },
        "no audit entry committed it (added)",
    );
    // Undone, the store verifies again.
    let (code, _, stderr) = verify(&fixture, None);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_revision_moved_to_another_case_does_not_open_there() {
    let fixture = Fixture::new("revmove");
    fill(&fixture.open(), 2, "x");
    let revisions = raw_revisions(&fixture);
    let ((case_a, _), _) = revisions[0].clone();
    let ((case_b, _), _) = revisions[2].clone();
    let a_outcome = revisions[1].1.clone();
    // Case A's outcome (an approval, say) appended to case B, where it would read as B's.
    with_raw_edit(&fixture, |tx| {
        tx.open_table(REVISIONS).unwrap().insert((case_b, 3), a_outcome.as_slice()).unwrap();
    });
    let store = fixture.open();
    let case_b = takedown::cases::CaseId(case_b);
    match store.case(case_b) {
        Err(StoreError::Misplaced { number: 3, .. }) => {}
        other => panic!("a moved revision opened in its new place: {:?}", other.map(|r| r.len())),
    }
    assert!(store.case(takedown::cases::CaseId(case_a)).is_ok(), "case A itself still opens");
}

/// Runs the CLI on `daemon`'s config: exit code, stdout, stderr.
fn daemon_cli(daemon: &Daemon, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .arg("--config")
        .arg(daemon.dir.0.join("takedown.toml"))
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A daemon that signs audit checkpoints with a key of its own.
fn start_with_checkpoint_key() -> Daemon {
    let (dir, pki) = Daemon::prepare(|config| {
        config.replace("[store]\n", "[store]\ncheckpoint_key = { file = \"keys/checkpoint-key\" }\n")
    });
    let generated = Command::new(BINARY)
        .args(["keys", "generate-checkpoint-key", "--out"])
        .arg(dir.0.join("keys/checkpoint-key"))
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    Daemon::start_in(dir, pki)
}

/// Starts `takedown serve` on `daemon`'s directory and config after it stopped, and returns
/// its exit code, output and log when it exits within 20 s (`None`: it kept running, and was
/// killed).
fn serve_until_exit(daemon: &Daemon) -> (Option<i32>, String, String) {
    let mut child = Command::new(BINARY)
        .args(["serve", "--config"])
        .arg(daemon.dir.0.join("takedown.toml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = child.wait_with_output().unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (code, text(&output.stdout), text(&output.stderr))
}

/// Flips the last byte of audit entry `seq` (inside its ciphertext) with redb directly.
fn flip_last_byte(fixture: &Fixture, seq: u64) -> Vec<u8> {
    with_raw_edit(fixture, |tx| {
        let mut table = tx.open_table(AUDIT).unwrap();
        let mut bytes = table.get(seq).unwrap().expect("the entry exists").value().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        table.insert(seq, bytes.as_slice()).unwrap();
    })
}

/// Audited requests (refused page views, one entry per page) to give the chain some length.
async fn refused_views(daemon: &Daemon) {
    for page in ["/staff", "/audit", "/cp/new"] {
        let status = daemon.client("dmca-agent").get(daemon.url(page)).send().await.unwrap().status();
        assert_eq!(status, 403);
    }
}

fn audit_rows(fixture: &Fixture) -> u64 {
    let db = fixture.raw_db();
    let tx = db.begin_read().unwrap();
    tx.open_table(AUDIT).unwrap().len().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_verifies_from_the_signed_checkpoint_and_a_failed_full_check_then_refuses_every_write() {
    let mut daemon = start_with_checkpoint_key();
    refused_views(&daemon).await;
    // The restart signs a checkpoint of everything so far, having checked only what followed
    // the previous one; the whole chain is verified behind it.
    daemon.kill_and_restart();
    daemon.wait_for_log("audit log verified from the signed checkpoint");
    daemon.wait_for_log("audit log verified in full");
    daemon.signal("KILL");
    assert!(daemon.wait_exit(Duration::from_secs(10)).is_some());
    let fixture = Fixture { root: daemon.dir.0.clone(), _owner: None };

    // An entry before the checkpoint altered: start-up does not read it, the full check does.
    flip_last_byte(&fixture, 1);
    daemon.kill_and_restart();
    daemon.wait_for_log("audit log verified from the signed checkpoint");
    let logs = daemon.wait_for_log("the full audit verification failed");
    assert!(logs.contains("entry 1: ciphertext does not match"), "{logs}");
    let before = audit_rows(&fixture);
    // A write (an auditor's view of the log is audited before it is shown) is refused, saying
    // why and what to do.
    let response = daemon.client("auditor").get(daemon.url("/audit")).send().await.unwrap();
    let status = response.status();
    let page = response.text().await.unwrap();
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("failed its integrity check") && page.contains("takedown audit verify"), "{page}");
    daemon.signal("KILL");
    assert!(daemon.wait_exit(Duration::from_secs(10)).is_some());
    assert_eq!(audit_rows(&fixture), before, "nothing was appended to the altered log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_refuses_a_log_altered_after_its_checkpoint_or_cut_below_it() {
    let mut daemon = start_with_checkpoint_key();
    refused_views(&daemon).await;
    // The restart signs a checkpoint after those entries; the views after it follow it.
    daemon.kill_and_restart();
    refused_views(&daemon).await;
    daemon.signal("KILL");
    assert!(daemon.wait_exit(Duration::from_secs(10)).is_some());
    let fixture = Fixture { root: daemon.dir.0.clone(), _owner: None };
    let last = audit_rows(&fixture);

    // The newest entry (after the checkpoint) altered: the start-up check reads it.
    let pristine = flip_last_byte(&fixture, last);
    let (code, _, stderr) = serve_until_exit(&daemon);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains(&format!("entry {last}: ciphertext does not match")), "{stderr}");

    // Entries cut off down to below the checkpoint the daemon signed at its last start: a
    // consistent shorter chain, refused because it no longer reaches that checkpoint.
    std::fs::write(fixture.path("data").join(FILE_NAME), pristine).unwrap();
    with_raw_edit(&fixture, |tx| {
        let mut table = tx.open_table(AUDIT).unwrap();
        for seq in 2..=last {
            table.remove(seq).unwrap();
        }
    });
    let (code, _, stderr) = serve_until_exit(&daemon);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("does not reach the head") && stderr.contains("not starting"), "{stderr}");
}

#[tokio::test]
async fn a_signed_checkpoint_kept_elsewhere_detects_entries_cut_off_the_end() {
    let mut daemon = start_with_checkpoint_key();
    // Entries that commit no revision (refused page views, one per page: refusals of one page
    // are coalesced): only a head kept elsewhere shows that they were cut off.
    refused_views(&daemon).await;
    // The restart signs a checkpoint of everything so far.
    daemon.kill_and_restart();
    let (code, checkpoint, stderr) = daemon_cli(&daemon, &["audit", "checkpoint"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(checkpoint.starts_with("takedown-audit-checkpoint 1\nentries "), "{checkpoint}");
    let entries: u64 = checkpoint.lines().nth(1).unwrap().strip_prefix("entries ").unwrap().parse().unwrap();
    assert!(entries >= 3, "{checkpoint}");
    let kept = daemon.dir.0.join("checkpoint-kept-by-legal.txt");
    std::fs::write(&kept, &checkpoint).unwrap();
    let kept = kept.to_str().unwrap().to_owned();
    let (code, stdout, stderr) = daemon_cli(&daemon, &["audit", "verify", "--checkpoint", &kept]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("extends the checkpoint of entry {entries}")), "{stdout}");
    daemon.signal("KILL");
    assert!(daemon.wait_exit(Duration::from_secs(10)).is_some());

    // The last two entries cut off: a consistent chain on its own, caught by the checkpoint.
    let fixture = Fixture { root: daemon.dir.0.clone(), _owner: None };
    with_raw_edit(&fixture, |tx| {
        let mut audit = tx.open_table(AUDIT).unwrap();
        for _ in 0..2 {
            let last = audit.last().unwrap().unwrap().0.value();
            audit.remove(last).unwrap();
        }
    });
    let (code, _, stderr) = daemon_cli(&daemon, &["audit", "verify"]);
    assert_eq!(code, 0, "without the checkpoint the shorter chain is consistent: {stderr}");
    let (code, _, stderr) = daemon_cli(&daemon, &["audit", "verify", "--checkpoint", &kept]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("does not extend the checkpoint"), "{stderr}");

    // A checkpoint edited to match the shorter log no longer verifies.
    let edited = checkpoint.replacen(&format!("entries {entries}"), &format!("entries {}", entries - 2), 1);
    std::fs::write(&kept, edited).unwrap();
    let (code, _, stderr) = daemon_cli(&daemon, &["audit", "verify", "--checkpoint", &kept]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("signature does not verify"), "{stderr}");
}

#[test]
fn a_layout_2_store_opens_upgraded_with_every_case_and_a_verifying_chain() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v2");
    let dir = ScratchDir::new("v2");
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::copy(fixture.join(FILE_NAME), data.join(FILE_NAME)).unwrap();
    let read = |name: &str| std::fs::read(fixture.join(name)).unwrap();
    let keys = || {
        let identity = AgeIdentity::parse(&read("store-identity")).unwrap();
        StoreKeys::new(identity, &[], IndexKey::parse(&read("index-key")).unwrap())
    };
    // Keyless tools refuse the old layout, saying how to upgrade it.
    match takedown::store::verify(&data, None) {
        Err(err) => assert!(err.to_string().contains("upgrades the layout in place"), "{err}"),
        Ok(verified) => panic!("a layout 2 store verified as {verified:?} before its upgrade"),
    }
    // Opened with its keys, it is upgraded in one transaction.
    let store = Store::open(&data, keys(), 1000).unwrap();
    let ids = store.case_ids().unwrap();
    assert_eq!(ids.len(), 2, "the demo's two sample cases");
    let mut revisions = 0;
    for id in &ids {
        let case = store.case(*id).unwrap();
        assert!(!case.is_empty());
        revisions += case.len();
    }
    let entries = store.audit_entries(None).unwrap();
    // Two upgrades, one entry each: 2 to 3 commits the revisions, 3 to 4 builds the case-log index.
    let upgrades: Vec<&AuditEntry> = entries.iter().rev().take(2).map(|(_, _, entry)| entry).collect();
    for upgrade in &upgrades {
        assert_eq!((upgrade.action, upgrade.actor.clone()), (Action::UpgradeStore, Actor::System));
    }
    let details = &upgrades[1].details;
    assert!(details.contains(&format!("the {revisions} revision(s) found")), "{details}");
    assert!(upgrades[0].details.contains("index was built from the 2 case(s)"), "{}", upgrades[0].details);
    let page = Filter { page: 1, ..Filter::default() };
    assert_eq!(store.case_page(&page, &CaseKind::ALL).unwrap().0.len(), 2, "both cases are in the log");
    drop(store);
    // The upgraded store verifies without keys, revisions included, and opens again unchanged.
    let verified = takedown::store::verify(&data, None).unwrap();
    assert_eq!(verified.entries as usize, entries.len());
    let again = Store::open(&data, keys(), 1000).unwrap();
    assert_eq!(again.audit_entries(None).unwrap().len(), entries.len(), "the upgrade runs once");
}

#[test]
fn only_whole_transactions_survive_sigkill() {
    let fixture = Fixture::new("crash");
    drop(fixture.open());
    let exe = std::env::current_exe().unwrap();
    let mut trials = 0;
    let mut seed = 0x2545_f491_4f6c_dd1du64 ^ u64::from(std::process::id());
    // The cases already decrypted and found whole (case IDs come in commit order).
    let mut decrypted = 0;
    while trials < 50 {
        let mut child = Command::new(&exe)
            .args(["--exact", "store::crash_writer", "--ignored", "--nocapture", "--test-threads=1"])
            .env("TAKEDOWN_CRASH_DIR", &fixture.root)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child has the store open and is writing, so every kill lands in the
        // write loop rather than in process start-up.
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        assert!(lines.any(|line| line.is_ok_and(|l| l.ends_with("writing"))), "the writer did not start");
        // xorshift: a kill moment after 0 to 3 commits the writer reported, then 0 to 20 ms
        // into the next ones, different every trial. Counting commits, not only time, keeps the
        // test meaningful on a loaded machine, where one commit can take longer than the window.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        for _ in 0..seed % 4 {
            assert!(lines.next().is_some_and(|line| line.is_ok()), "the writer stopped writing");
        }
        std::thread::sleep(Duration::from_micros((seed >> 8) % 20_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        trials += 1;

        let store = fixture.open();
        let verified = store.verify().expect("the chain must verify after a crash");
        let cases = store.case_ids().unwrap();
        assert_eq!(
            cases.len() as u64,
            verified.entries,
            "every case commits with its audit entry, or neither does"
        );
        // Every trial: each case committed since the last trial decrypts to both its
        // revisions, and every case's two revisions are still there (counted without keys:
        // decrypting everything each time is slow in a debug build).
        for case in &cases[decrypted..] {
            let revisions = store.case(*case).unwrap().len();
            assert_eq!(revisions, 2, "trial {trials}: case {case} has {revisions} revision(s), not 2");
        }
        decrypted = cases.len();
        // And every tenth trial, everything decrypted again.
        if trials % 10 == 0 {
            for case in &cases {
                assert_eq!(store.case(*case).unwrap().len(), 2, "a case without its second revision");
            }
            assert_eq!(store.audit_entries(None).unwrap().len() as u64, verified.entries);
        }
        drop(store);
        let mut per_case = std::collections::BTreeMap::<[u8; 16], Vec<u32>>::new();
        for ((case, number), _) in raw_revisions(&fixture) {
            per_case.entry(case).or_default().push(number);
        }
        assert_eq!(per_case.len(), cases.len(), "trial {trials}: revisions of cases not in the case list");
        for (case, numbers) in &per_case {
            assert_eq!(
                numbers,
                &[1, 2],
                "trial {trials}: case {} has revisions {numbers:?}",
                hex::encode(case)
            );
        }
    }
    let store = fixture.open();
    let committed = store.case_ids().unwrap().len();
    assert!(
        committed >= 10,
        "the writer committed only {committed} cases in 50 runs; the test proves little"
    );
}

/// The child of `only_whole_transactions_survive_sigkill`: writes until killed.
#[test]
#[ignore = "run by only_whole_transactions_survive_sigkill as a child process"]
fn crash_writer() {
    let Some(dir) = std::env::var_os("TAKEDOWN_CRASH_DIR") else { return };
    let fixture = Fixture { root: PathBuf::from(dir), _owner: None };
    let store = fixture.open();
    println!("writing");
    loop {
        fill(&store, 1, "crash");
        println!("committed");
    }
}

#[test]
fn an_export_opens_with_the_stock_age_cli_and_its_manifest_checks() {
    let fixture = Fixture::new("export");
    let lawyer = AgeIdentity::generate();
    std::fs::write(fixture.path("lawyer.key"), lawyer.to_file_text().as_bytes()).unwrap();
    let sentinel = "EXPORT-SENTINEL-51c2";
    let store = fixture.open();
    fill(&store, 3, sentinel);
    let first = store.case_ids().unwrap()[0];
    drop(store);

    let out = fixture.path("case.age");
    let (code, stdout, stderr) = fixture.cli(&[
        "export",
        "--recipient",
        &lawyer.recipient().to_string(),
        "--out",
        out.to_str().unwrap(),
        "--case",
        &first.to_string(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 case(s)"), "{stdout}");
    let raw = std::fs::read(&out).unwrap();
    assert!(!raw.windows(sentinel.len()).any(|w| w == sentinel.as_bytes()), "the export is not encrypted");
    let (code, _, stderr) = fixture.cli(&[
        "export",
        "--recipient",
        &lawyer.recipient().to_string(),
        "--out",
        out.to_str().unwrap(),
        "--all",
    ]);
    assert_ne!(code, 0, "an existing export was overwritten");
    assert!(stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), raw);

    let extract = fixture.path("extracted");
    std::fs::create_dir_all(&extract).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i '{}' '{}' | tar -x -C '{}'",
            fixture.path("lawyer.key").display(),
            out.display(),
            extract.display()
        ))
        .status()
        .expect("the age CLI is needed (Debian package age)");
    assert!(status.success(), "age -d | tar x failed");
    let bundle = std::fs::read_dir(&extract).unwrap().next().unwrap().unwrap().path();
    let check =
        Command::new("sha256sum").args(["-c", "MANIFEST.sha256"]).current_dir(&bundle).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let case_json = std::fs::read_to_string(bundle.join(format!("cases/{first}.json"))).unwrap();
    assert!(case_json.contains(sentinel) && case_json.contains("\"number\": 2"), "{case_json}");
    let audit = std::fs::read_to_string(bundle.join("audit.jsonl")).unwrap();
    assert!(audit.lines().count() >= 2, "the case's entry and the export's own entry: {audit}");
    assert!(audit.contains("\"action\":\"export\"") && audit.contains("test-operator"), "{audit}");

    // The manifest catches an edit.
    std::fs::write(bundle.join(format!("cases/{first}.json")), case_json.replace(sentinel, "edited"))
        .unwrap();
    let check =
        Command::new("sha256sum").args(["-c", "MANIFEST.sha256"]).current_dir(&bundle).output().unwrap();
    assert!(!check.status.success());

    // The export itself is in the audit log, and the log still verifies.
    let (code, stdout, _) =
        fixture.cli(&["audit", "show", "--identity", fixture.path("keys/store-identity").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\texport\t") && stdout.contains(&lawyer.recipient().to_string()), "{stdout}");
    let exports = stdout.lines().filter(|l| l.contains("\texport\t")).count();
    assert_eq!(exports, 1, "the refused second export must leave no entry: {stdout}");
    assert_eq!(verify(&fixture, None).0, 0);
}

/// Decrypts `export` with the stock `age` CLI and `key`, unpacks it into `into`, and returns the
/// bundle's directory; panics if `age -d | tar -x` fails.
fn open_export(export: &Path, key: &Path, into: &Path) -> PathBuf {
    std::fs::create_dir_all(into).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("age -d -i '{}' '{}' | tar -x -C '{}'", key.display(), export.display(), into.display()))
        .status()
        .expect("the age CLI is needed (Debian package age)");
    assert!(status.success(), "age -d | tar x failed");
    std::fs::read_dir(into).unwrap().next().unwrap().unwrap().path()
}

#[test]
fn an_export_of_all_cases_opens_with_the_stock_age_cli_and_counsel_key_and_its_manifest_lists_and_checks_every_file()
 {
    let fixture = Fixture::new("export-all");
    let counsel = AgeIdentity::generate();
    std::fs::write(fixture.path("counsel.key"), counsel.to_file_text().as_bytes()).unwrap();
    let stranger = AgeIdentity::generate();
    std::fs::write(fixture.path("stranger.key"), stranger.to_file_text().as_bytes()).unwrap();
    let sentinel = "EXPORT-ALL-SENTINEL-7d3e";
    let store = fixture.open();
    fill(&store, 3, sentinel);
    let cases = store.case_ids().unwrap();
    drop(store);
    let out = fixture.path("all.age");
    let recipient = counsel.recipient().to_string();
    let (code, stdout, stderr) =
        fixture.cli(&["export", "--recipient", &recipient, "--out", out.to_str().unwrap(), "--all"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("3 case(s)"), "{stdout}");

    // Only counsel's key opens it.
    let refused = Command::new("age")
        .args(["-d", "-i"])
        .arg(fixture.path("stranger.key"))
        .arg(&out)
        .output()
        .expect("the age CLI is needed (Debian package age)");
    assert!(!refused.status.success(), "another key opened the export");
    let bundle = open_export(&out, &fixture.path("counsel.key"), &fixture.path("extracted"));

    // Every case, with every revision.
    for case in &cases {
        let json = std::fs::read_to_string(bundle.join(format!("cases/{case}.json")))
            .unwrap_or_else(|err| panic!("case {case} is missing from the export: {err}"));
        assert!(json.contains(sentinel) && json.contains("\"number\": 2"), "{json}");
    }
    // The whole audit log: the three cases' entries and the export's own, one line each.
    let audit = std::fs::read_to_string(bundle.join("audit.jsonl")).unwrap();
    assert_eq!(audit.lines().count(), 4, "{audit}");
    assert_eq!(audit.matches("\"action\":\"export\"").count(), 1, "{audit}");
    // The manifest names every file in the bundle (a file left out would pass `sha256sum -c`
    // unchecked), and every one checks.
    let manifest = std::fs::read_to_string(bundle.join("MANIFEST.sha256")).unwrap();
    let mut listed: Vec<String> = manifest
        .lines()
        .map(|line| line.split_once("  ").unwrap().1.trim_start_matches("./").to_owned())
        .collect();
    listed.sort();
    let mut present = Vec::new();
    let mut pending = vec![bundle.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                present.push(path.strip_prefix(&bundle).unwrap().to_str().unwrap().to_owned());
            }
        }
    }
    present.retain(|name| name != "MANIFEST.sha256");
    present.sort();
    assert_eq!(listed, present, "the manifest must list exactly the bundle's files");
    let check =
        Command::new("sha256sum").args(["-c", "MANIFEST.sha256"]).current_dir(&bundle).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    // One audit entry for the whole export, naming counsel's recipient; the log still verifies.
    let (code, stdout, _) =
        fixture.cli(&["audit", "show", "--identity", fixture.path("keys/store-identity").to_str().unwrap()]);
    assert_eq!(code, 0);
    let exports: Vec<&str> = stdout.lines().filter(|l| l.contains("\texport\t")).collect();
    assert_eq!(exports.len(), 1, "{stdout}");
    assert!(exports[0].contains(&recipient) && exports[0].contains("all cases"), "{stdout}");
    assert_eq!(verify(&fixture, None).0, 0);
}

/// A small tmpfs mounted for one test, unmounted when dropped (before its scratch directory
/// goes). Needs root, as these tests run.
struct SmallDisk(PathBuf);

impl SmallDisk {
    fn mount(at: PathBuf, bytes: usize) -> Self {
        std::fs::create_dir_all(&at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes},mode=0700"), "tmpfs"])
            .arg(&at)
            .status()
            .unwrap();
        assert!(status.success(), "mounting a {bytes}-byte tmpfs at {} needs root", at.display());
        Self(at)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn an_export_whose_write_fails_leaves_no_partial_file_and_is_audited_as_failed() {
    let fixture = Fixture::new("export-full-disk");
    let counsel = AgeIdentity::generate();
    let store = fixture.open();
    // About 300 KB of cases: more than the 64 KiB disk the export goes to, so its first blocks
    // are written and a later one is refused (ENOSPC).
    let filler = "x".repeat(100_000);
    fill(&store, 3, &filler);
    drop(store);
    let disk = SmallDisk::mount(fixture.path("small-disk"), 64 * 1024);
    let out = disk.0.join("export.age");
    let recipient = counsel.recipient().to_string();
    let (code, _, stderr) =
        fixture.cli(&["export", "--recipient", &recipient, "--out", out.to_str().unwrap(), "--all"]);
    assert_ne!(code, 0, "the export cannot have fitted");
    assert!(stderr.contains("cannot write the export"), "{stderr}");
    // The sandbox may forbid removing the file; then it is emptied and the operator told.
    match std::fs::metadata(&out) {
        Err(err) => assert_eq!(err.kind(), std::io::ErrorKind::NotFound),
        Ok(meta) => {
            assert_eq!(meta.len(), 0, "a partial export was left behind");
            assert!(stderr.contains("was left empty; delete it"), "{stderr}");
        }
    }
    // Audited before it was written, and audited again as failed.
    let (code, stdout, _) =
        fixture.cli(&["audit", "show", "--identity", fixture.path("keys/store-identity").to_str().unwrap()]);
    assert_eq!(code, 0);
    let exports: Vec<&str> = stdout.lines().filter(|l| l.contains("\texport\t")).collect();
    assert_eq!(exports.len(), 2, "the export's entry, then its failure: {exports:?}");
    assert!(exports[0].contains("\tdone\t") && !exports[0].contains("failed"), "{exports:?}");
    assert!(exports[1].contains("\tfailed\t") && exports[1].contains("failed, file emptied"), "{exports:?}");
    drop(disk);
}

#[test]
fn after_rotation_everything_opens_with_the_new_identity_and_nothing_with_the_old() {
    let fixture = Fixture::new("rotate");
    fill(&fixture.open(), 4, "rotate");
    let old = fixture.identity();
    let (old_keyring, _) = fixture.raw_values();
    let old_key = Keyring::open(&old, &old_keyring).unwrap().key;
    let new_path = fixture.path("keys/new-identity");
    let (code, stdout, stderr) = Command::new(BINARY)
        .args(["keys", "generate", "--out"])
        .arg(&new_path)
        .output()
        .map(|o| {
            (
                o.status.code().unwrap(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("public key: age1"));
    let (code, stdout, stderr) =
        fixture.cli(&["keys", "rotate", "--new-identity", new_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("re-encrypted 12 values"), "{stdout}"); // 4 cases x 2 revisions + 4 entries
    let new = AgeIdentity::parse(&std::fs::read(&new_path).unwrap()).unwrap();

    let (keyring, values) = fixture.raw_values();
    assert!(Keyring::open(&old, &keyring).is_err(), "the old identity still opens the keyring");
    let new_key = Keyring::open(&new, &keyring).expect("the new identity opens the keyring").key;
    assert_eq!(values.len(), 13, "8 revisions, 4 entries and the rotation's own entry");
    for value in &values {
        assert!(new_key.open(value).is_ok(), "a value the new store key cannot open");
        assert!(old_key.open(value).is_err(), "a value the old store key still opens");
    }
    let (code, stdout, stderr) = verify(&fixture, None);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("entries 5"), "{stdout}");
    let (code, stdout, _) = fixture.cli(&["audit", "show", "--identity", new_path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("rotate-keys"), "{stdout}");
    let (code, _, _) =
        fixture.cli(&["audit", "show", "--identity", fixture.path("keys/store-identity").to_str().unwrap()]);
    assert_ne!(code, 0, "the old identity must no longer read the log");
}

#[test]
fn a_process_still_holding_the_rotated_away_key_writes_nothing() {
    let fixture = Fixture::new("stale-key");
    let running = fixture.open(); // as the daemon would hold it
    fill(&running, 1, "before");
    let (rotated, _) =
        fixture.open().rotate(AgeIdentity::generate(), &[], Actor::Operator("op".into())).unwrap();
    let head = rotated.head().unwrap();
    // The case log's summaries were re-encrypted with the rest.
    let log = rotated.case_page(&Filter { page: 1, ..Filter::default() }, &CaseKind::ALL).unwrap();
    assert_eq!(log.0.len(), 1, "the case log opens under the new key");
    let entry = AuditEntry::now(Actor::System, Action::CreateCase, None, Outcome::Done, "after");
    let Err(err) = running.audit(&entry) else {
        panic!("a stale key sealed a value the keyring cannot open")
    };
    assert!(matches!(err, StoreError::KeysRotated { .. }), "{err}");
    assert!(err.to_string().contains("Restart it with the new store identity"), "{err}");
    assert_eq!(rotated.head().unwrap(), head, "nothing was appended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_refuses_to_start_on_a_broken_audit_chain() {
    let mut daemon = Daemon::start();
    assert_eq!(daemon.client("outsider").get(daemon.url("/")).send().await.unwrap().status(), 403);
    daemon.wait_for_log("refused:");
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(Duration::from_secs(10)).and_then(|s| s.code()), Some(0));

    let fixture = Fixture { root: daemon.dir.0.clone(), _owner: None };
    flip_last_byte(&fixture, 1);
    let (code, stdout, stderr) = serve_until_exit(&daemon);
    assert_eq!(code, Some(3), "the daemon must not start on an altered audit log: {stderr}");
    assert!(
        stderr.contains("entry 1: ciphertext does not match") && stderr.contains("not starting"),
        "{stderr}"
    );
    assert!(!stdout.contains("ready"));
}
