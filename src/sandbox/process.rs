//! Process-wide hygiene: no core dumps, no ptrace by the same user, writable memory locked.

use rustix::mm::{MlockAllFlags, mlockall, munlockall};
use rustix::process::{DumpableBehavior, Resource, Rlimit, getrlimit, set_dumpable_behavior, setrlimit};
use tracing::warn;

use super::memory::MemoryModel;
use crate::config::Enforcement;

/// Makes the process non-dumpable and sets its core-size limit to zero, hard and soft.
///
/// Not dumpable means: no core file even if the limit were raised, `/proc/PID/mem` and friends
/// owned by root, and no `ptrace` attach by the same user (a debugger cannot read uploads out of
/// memory). Called first thing in every subcommand.
pub fn forbid_dumps() -> std::io::Result<()> {
    set_dumpable_behavior(DumpableBehavior::NotDumpable)?;
    let core = getrlimit(Resource::Core);
    // The unit already sets LimitCORE=0, and its system-call filter refuses setrlimit: only
    // lower the limit when it is not already zero.
    if core.current != Some(0) || core.maximum != Some(0) {
        setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) })?;
    }
    Ok(())
}

/// Whether all of the process's writable memory is locked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryLock {
    /// `mlockall(MCL_FUTURE | MCL_ONFAULT)` is in force, and the private writable mappings the
    /// process had before it are locked too.
    Locked,
    /// It is not, and why (allowed only by `hardening.lock_memory = "best-effort"`).
    NotLocked(String),
}

/// Locks the memory that could hold secrets, so that none of it is ever written to swap.
///
/// What is locked: every mapping made from now on (`mlockall(MCL_FUTURE | MCL_ONFAULT)`: the
/// heap as it grows, thread stacks, the store's cache, uploads), and the private writable
/// mappings that exist now (heap, main stack, the binary's and libraries' data), each with
/// `mlock2(MLOCK_ONFAULT)`. Not locked: read-only file mappings (program text and constants),
/// which are the file itself and never reach swap. `MCL_CURRENT` would lock those too, and the
/// kernel refuses it outright when the whole address space (tens of MiB of text) exceeds the
/// limit, however little of it is ever written.
///
/// Without `CAP_IPC_LOCK`, every locked mapping counts in full against `RLIMIT_MEMLOCK`, faulted
/// or not, and past the limit allocations fail and the process aborts. So malloc is kept to one
/// arena first (each further arena reserves 64 MiB), and `model` (every consumer bounded by the
/// config) must fit the limit.
pub fn lock_memory(enforcement: Enforcement, model: &MemoryModel) -> Result<MemoryLock, String> {
    if !crate::sys::limit_malloc_arenas(1) {
        warn!("malloc did not accept M_ARENA_MAX; it may reserve more address space than the model says");
    }
    let (limit, privileged) = memlock_limit();
    let refusal = match model.shortfall(limit, privileged) {
        Some(shortfall) => shortfall,
        None => match lock_now_and_later() {
            Ok(()) => return Ok(MemoryLock::Locked),
            Err(err) => err,
        },
    };
    match enforcement {
        Enforcement::Required => Err(format!(
            "hardening.lock_memory: cannot lock the daemon's memory: {refusal}; \
             only a demo may set hardening.lock_memory = \"best-effort\""
        )),
        Enforcement::BestEffort => {
            warn!("memory not locked (hardening.lock_memory = \"best-effort\"): {refusal}");
            Ok(MemoryLock::NotLocked(refusal))
        }
    }
}

/// Locks future mappings, then the writable ones there are already.
fn lock_now_and_later() -> Result<(), String> {
    mlockall(MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT).map_err(|err| {
        let (limit, privileged) = memlock_limit();
        let limit = limit.map_or("unlimited".to_owned(), |bytes| format!("{} KiB", bytes >> 10));
        format!("mlockall failed: {err} (RLIMIT_MEMLOCK {limit}, CAP_IPC_LOCK {privileged})")
    })?;
    let locked = std::fs::read_to_string("/proc/self/maps")
        .map_err(|err| format!("cannot read /proc/self/maps: {err}"))
        .and_then(|maps| {
            crate::sys::lock_writable_mappings(&maps)
                .map_err(|err| format!("mlock2 of the memory at start failed: {err}"))
        });
    if let Err(err) = locked {
        // Half locked is worse than not at all: later allocations would count against a limit
        // already reached. Undo it; "best-effort" then runs unlocked, "required" stops.
        let _ = munlockall();
        return Err(err);
    }
    Ok(())
}

/// The soft `RLIMIT_MEMLOCK` (`None`: unlimited), and whether this process may exceed it
/// (`CAP_IPC_LOCK`).
pub fn memlock_limit() -> (Option<u64>, bool) {
    (getrlimit(Resource::Memlock).current, has_ipc_lock_capability())
}

/// Whether the effective capabilities include `CAP_IPC_LOCK` (root has it), which lifts the
/// locked-memory limit.
fn has_ipc_lock_capability() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
}
