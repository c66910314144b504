//! Filling a benchmark's store through the library API: many cases per transaction, and one
//! audit entry per transaction to commit its revisions (every revision needs one). Shared by the
//! benches as a module (`#[path = "fill.rs"]`).

use takedown::audit::{Action, Actor, AuditEntry, Outcome};
use takedown::store::{Batch, Store, StoreError};

/// Adds `count` cases, `chunk` per transaction; `case(batch, n)` writes case number `n`.
pub(crate) fn in_chunks(
    store: &Store,
    count: usize,
    chunk: usize,
    mut case: impl FnMut(&mut Batch<'_>, usize) -> Result<(), StoreError>,
) {
    let mut start = 0;
    while start < count {
        let end = (start + chunk).min(count);
        store
            .commit(|batch| {
                for n in start..end {
                    case(batch, n)?;
                }
                let entry =
                    AuditEntry::now(Actor::System, Action::CreateCase, None, Outcome::Done, "bench fill");
                batch.audit(&entry)?;
                Ok(())
            })
            .expect("fill");
        start = end;
    }
}
