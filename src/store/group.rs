//! Group commit of the audit entries that concurrent requests append.
//!
//! Every audited action waits until its entry is durable before it is answered. A durable redb
//! commit in the multi-process mode costs two fsyncs (redb always commits in two phases there),
//! so one transaction per entry serialises every request on the disk. This module owns the one
//! committer that appends the daemon's single audit entries instead: a thread fed by a bounded
//! queue, which takes every entry that arrived while the previous transaction was syncing and
//! appends them, in arrival order, in one durable transaction ([`Store::commit`]). Each caller
//! is answered with its own sequence number only after that transaction committed; if it
//! fails, every caller in the group gets the error and nothing of the group is stored.
//!
//! Writes that carry a revision with their entry keep calling [`Store::commit`] themselves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use super::{Store, StoreError};
use crate::audit::AuditEntry;

/// Entries that may wait for the committer; a caller beyond this waits for room, so a burst
/// holds a bounded amount of memory.
const QUEUE: usize = 1024;

/// The committer thread's stack: it encrypts and appends entries, no deep recursion (counted
/// in the memory model, `sandbox::memory`).
pub const COMMITTER_STACK_BYTES: usize = 256 << 10;

/// The most entries one transaction appends, so that one transaction stays small.
const MAX_GROUP: usize = 256;

/// Why a grouped entry was not appended.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupError {
    /// The transaction holding the entry failed; no entry of its group was stored.
    #[error("{0}")]
    Store(Arc<StoreError>),
    /// The committer thread is gone (it could not start, or it stopped); nothing more is audited
    /// until the daemon restarts.
    #[error("the audit committer is not running; nothing was recorded; restart the daemon")]
    Stopped,
}

/// The sending side of the committer, kept by the store it appends to.
pub(super) struct GroupCommitter {
    queue: mpsc::Sender<Pending>,
    transactions: Arc<AtomicU64>,
}

/// One entry waiting, with where its answer goes.
struct Pending {
    entry: AuditEntry,
    answer: oneshot::Sender<Result<u64, GroupError>>,
}

impl GroupCommitter {
    /// Starts the committer thread for `store`.
    pub(super) fn start(store: &Arc<Store>) -> GroupCommitter {
        let (committer, receiver) = GroupCommitter::new();
        committer.spawn(store, receiver);
        committer
    }

    /// A committer whose queue is open but not yet served.
    fn new() -> (GroupCommitter, mpsc::Receiver<Pending>) {
        let (queue, receiver) = mpsc::channel(QUEUE);
        (GroupCommitter { queue, transactions: Arc::new(AtomicU64::new(0)) }, receiver)
    }

    /// Serves `receiver` on a thread of its own. It holds the store weakly: when the last owner
    /// drops the store, the queue closes and the thread ends.
    fn spawn(&self, store: &Arc<Store>, receiver: mpsc::Receiver<Pending>) {
        let weak = Arc::downgrade(store);
        let counter = self.transactions.clone();
        let started = std::thread::Builder::new()
            .name("audit-commit".to_owned())
            .stack_size(COMMITTER_STACK_BYTES)
            .spawn(move || run(&weak, receiver, &counter));
        if let Err(err) = started {
            // The receiver went down with the closure: every caller is answered `Stopped`.
            tracing::error!("cannot start the audit committer thread: {err}");
        }
    }

    /// Queues `entry` and waits until the transaction holding it committed; returns its
    /// sequence number.
    pub(super) async fn append(&self, entry: AuditEntry) -> Result<u64, GroupError> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Pending { entry, answer }).await.map_err(|_| GroupError::Stopped)?;
        answered.await.unwrap_or(Err(GroupError::Stopped))
    }

    /// How many transactions the committer has run so far.
    pub(super) fn transactions(&self) -> u64 {
        self.transactions.load(Ordering::Relaxed)
    }
}

/// The committer: waits for an entry, takes whatever else is queued (up to [`MAX_GROUP`]),
/// commits them together and answers each caller.
fn run(store: &Weak<Store>, mut queue: mpsc::Receiver<Pending>, transactions: &AtomicU64) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = queue.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            let Ok(next) = queue.try_recv() else { break };
            group.push(next);
        }
        let result: Result<Vec<u64>, GroupError> = match store.upgrade() {
            Some(store) => store
                .commit(|batch| group.iter().map(|pending| batch.audit(&pending.entry)).collect())
                .map_err(|err| GroupError::Store(Arc::new(err))),
            None => Err(GroupError::Stopped),
        };
        transactions.fetch_add(1, Ordering::Relaxed);
        // A caller that gave up waiting (its request was cancelled) is not an error here: its
        // entry is stored all the same.
        match result {
            Ok(seqs) => {
                for (pending, seq) in group.drain(..).zip(seqs) {
                    let _ = pending.answer.send(Ok(seq));
                }
            }
            Err(err) => {
                for pending in group.drain(..) {
                    let _ = pending.answer.send(Err(err.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Action, Actor, Outcome};
    use crate::store::StoreKeys;
    use crate::store::crypt::AgeIdentity;
    use crate::store::index::IndexKey;

    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("takedown-group-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    fn open(dir: &Scratch, identity: &AgeIdentity) -> Store {
        let index = IndexKey::parse(IndexKey::generate_file_text().as_bytes()).unwrap();
        Store::open(&dir.0, StoreKeys::new(identity.clone(), &[], index), 1000).unwrap()
    }

    /// `count` callers queue their entries concurrently before the committer serves the queue;
    /// returns what each was answered, in caller order.
    async fn queued_callers(store: &Arc<Store>, count: usize) -> (Vec<Result<u64, GroupError>>, u64) {
        let (committer, receiver) = GroupCommitter::new();
        let committer = Arc::new(committer);
        let callers: Vec<_> = (0..count)
            .map(|i| {
                let committer = committer.clone();
                let entry = AuditEntry::now(
                    Actor::System,
                    Action::ViewCase,
                    None,
                    Outcome::Done,
                    format!("caller {i}"),
                );
                tokio::spawn(async move { committer.append(entry).await })
            })
            .collect();
        while committer.queue.max_capacity() - committer.queue.capacity() < count {
            tokio::task::yield_now().await;
        }
        committer.spawn(store, receiver);
        let mut answers = Vec::new();
        for caller in callers {
            answers.push(caller.await.unwrap());
        }
        (answers, committer.transactions())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_entries_share_one_durable_transaction_each_with_its_own_place() {
        let dir = scratch("many");
        let store = Arc::new(open(&dir, &AgeIdentity::generate()));
        let (answers, transactions) = queued_callers(&store, 40).await;
        assert_eq!(transactions, 1, "40 queued entries are one transaction");
        let seqs: Vec<u64> = answers.into_iter().map(Result::unwrap).collect();
        let stored = store.audit_entries(None).unwrap();
        assert_eq!(stored.len(), 40, "every entry is stored once");
        for (caller, seq) in seqs.iter().enumerate() {
            let (_, _, entry) =
                stored.iter().find(|(s, _, _)| s == seq).expect("the answered place holds an entry");
            assert_eq!(
                entry.details,
                format!("caller {caller}"),
                "each caller is answered with its own entry's place"
            );
        }
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=40).collect::<Vec<u64>>(), "places are 1..=40, none twice");
        assert_eq!(store.verify().unwrap().entries, 40, "the chain verifies");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_group_commit_fails_every_caller_in_it() {
        let dir = scratch("fail");
        let identity = AgeIdentity::generate();
        let store = Arc::new(open(&dir, &identity));
        // Another process rotates the keys: this store's next commit is refused.
        let (rotated, _) = open(&dir, &identity).rotate(AgeIdentity::generate(), &[], Actor::System).unwrap();
        let head = rotated.head().unwrap();
        let (answers, transactions) = queued_callers(&store, 8).await;
        assert_eq!(transactions, 1);
        for answer in answers {
            let Err(GroupError::Store(err)) = answer else { panic!("a caller was answered {answer:?}") };
            assert!(matches!(*err, StoreError::KeysRotated { .. }), "{err}");
        }
        assert_eq!(rotated.head().unwrap(), head, "nothing of the group was stored");
    }
}
