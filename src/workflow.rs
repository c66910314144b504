//! What the two workflows' sagas share: recording a step in the store, with its audit entry,
//! in one durable transaction before (and after) the call it is about.

use crate::state::AppState;
use crate::store::{Batch, StoreError};

/// Why a step could not be recorded: the store refused the write, so the step was not run.
#[derive(Debug, thiserror::Error)]
#[error(
    "the case could not be updated ({0}); nothing was sent — try again, and tell the operator if it persists"
)]
pub struct RecordError(String);

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
