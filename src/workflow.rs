//! What the two workflows' sagas share: recording a case, or a step of it, in the store with
//! its audit entry, in one durable transaction before (and after) the call it is about.

use crate::audit::{Action, Actor, AuditEntry, Outcome};
use crate::cases::{CaseId, CaseKind, Change};
use crate::state::AppState;
use crate::store::{Batch, StoreError};

/// Why a step could not be recorded: the store refused the write, so the step was not run.
#[derive(Debug, thiserror::Error)]
#[error(
    "the case could not be updated ({0}); nothing was sent — try again, and tell the operator if it persists"
)]
pub struct RecordError(String);

impl RecordError {
    /// A step refused before anything was written, for `why` (no case data in it).
    pub(crate) fn refused(why: &str) -> Self {
        RecordError(why.to_owned())
    }
}

/// Runs `work` in one store transaction on the blocking pool (the commit waits for the disk).
pub async fn commit<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut Batch<'_>) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, RecordError> {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.commit(work)).await {
        Ok(result) => result.map_err(|err| RecordError(err.to_string())),
        Err(err) => Err(RecordError(err.to_string())),
    }
}

/// Records a new case of `kind` by `staff` with its `CreateCase` audit entry.
pub async fn create_case(
    state: &AppState,
    kind: CaseKind,
    staff: &str,
    payload: serde_json::Value,
    details: String,
) -> Result<CaseId, RecordError> {
    let staff = staff.to_owned();
    commit(state, move |batch| {
        let id = batch.create_case(kind, &staff, payload)?;
        batch.audit(&AuditEntry::now(
            Actor::Staff(staff.clone()),
            Action::CreateCase,
            Some(id),
            Outcome::Done,
            details,
        ))?;
        Ok(id)
    })
    .await
}

/// Appends a revision (`change`, by `author`) to `case` together with `entry`, its audit entry.
pub async fn append(
    state: &AppState,
    case: CaseId,
    change: Change,
    author: &str,
    payload: serde_json::Value,
    entry: AuditEntry,
) -> Result<(), RecordError> {
    let author = author.to_owned();
    commit(state, move |batch| {
        batch.revise_case(case, change, &author, payload)?;
        batch.audit(&entry)
    })
    .await
    .map(drop)
}
