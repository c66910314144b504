//! Fills an existing store (a demo's, say) with many small cases, for the cold-start benchmark
//! (`bench/p7-start.sh`). Not a measurement itself.
//!
//! Run: `TAKEDOWN_FILL_DIR=demo/data TAKEDOWN_FILL_IDENTITY=demo/keys/store-identity
//! TAKEDOWN_FILL_INDEX_KEY=demo/keys/index-key TAKEDOWN_FILL_CASES=100000 cargo run --release
//! --example fill_store`. The keyring must open with the identity given (the store's own).

use std::path::PathBuf;

use takedown::audit::{Action, Actor, AuditEntry, Outcome};
use takedown::cases::CaseKind;
use takedown::store::crypt::AgeIdentity;
use takedown::store::index::IndexKey;
use takedown::store::{Store, StoreKeys};

fn main() {
    let var =
        |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("set {name}; see the file's header"));
    let dir = PathBuf::from(var("TAKEDOWN_FILL_DIR"));
    let identity = AgeIdentity::parse(&std::fs::read(var("TAKEDOWN_FILL_IDENTITY")).expect("identity file"))
        .expect("identity");
    let index = IndexKey::parse(&std::fs::read(var("TAKEDOWN_FILL_INDEX_KEY")).expect("index key file"))
        .expect("index key");
    let cases: usize = var("TAKEDOWN_FILL_CASES").parse().expect("TAKEDOWN_FILL_CASES is a number");
    let store = Store::open(&dir, StoreKeys::new(identity, &[], index), 1_000_000).expect("store");
    let started = std::time::Instant::now();
    // Thousands of cases per transaction: one durable commit each, not one per case.
    for chunk in (0..cases).collect::<Vec<_>>().chunks(5_000) {
        store
            .commit(|batch| {
                for i in chunk {
                    let case = batch.create_case(
                        CaseKind::Log,
                        "bench",
                        serde_json::json!({ "note": format!("small case {i}") }),
                    )?;
                    batch.audit(&AuditEntry::now(
                        Actor::System,
                        Action::CreateCase,
                        Some(case),
                        Outcome::Done,
                        "bench fill",
                    ))?;
                }
                Ok(())
            })
            .expect("commit");
    }
    println!("filled {cases} cases in {:.1} s", started.elapsed().as_secs_f64());
}
