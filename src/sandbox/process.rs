//! Process-wide hygiene: no core dumps, no ptrace by the same user, all memory locked.

use rustix::mm::{MlockAllFlags, mlockall};
use rustix::process::{DumpableBehavior, Resource, Rlimit, getrlimit, set_dumpable_behavior, setrlimit};
use tracing::warn;

use crate::config::Enforcement;

/// Memory the daemon needs besides the media budget: its code, TLS and HTTP buffers, the store's
/// cache, thread stacks. Measured at well under 100 MiB; the rest is margin.
pub const DAEMON_MEMORY_HEADROOM: u64 = 256 * 1024 * 1024;

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

/// Whether all of the process's memory is locked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryLock {
    /// `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)` is in force.
    Locked,
    /// It is not, and why (allowed only by `hardening.lock_memory = "best-effort"`).
    NotLocked(String),
}

/// Locks all current and future memory, so that nothing is ever written to swap.
///
/// `MCL_ONFAULT` locks pages as they are first touched, so thread stacks and reserved address
/// space cost nothing until used. Locking counts against `RLIMIT_MEMLOCK` for a process without
/// `CAP_IPC_LOCK`; past it, every allocation would fail, so the limit is checked first: it must
/// hold the media budget plus [`DAEMON_MEMORY_HEADROOM`].
pub fn lock_memory(enforcement: Enforcement, media_budget: usize) -> Result<MemoryLock, String> {
    let limit = getrlimit(Resource::Memlock).current;
    let refusal = match memlock_shortfall(limit, has_ipc_lock_capability(), media_budget) {
        Some(shortfall) => shortfall,
        None => match mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT) {
            Ok(()) => return Ok(MemoryLock::Locked),
            Err(err) => format!("mlockall failed: {err}"),
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

/// Why `limit` (the soft `RLIMIT_MEMLOCK`, `None` = unlimited) cannot hold the daemon and its
/// media budget, or `None` if it can (or the process may lock without limit).
fn memlock_shortfall(limit: Option<u64>, privileged: bool, media_budget: usize) -> Option<String> {
    let needed = (media_budget as u64).saturating_add(DAEMON_MEMORY_HEADROOM);
    match limit {
        _ if privileged => None,
        None => None,
        Some(limit) if limit >= needed => None,
        Some(limit) => Some(format!(
            "the locked-memory limit is {} MiB, and the daemon needs {} MiB (hardening.media_budget_mib plus {} MiB \
             for itself); raise LimitMEMLOCK= in the unit",
            limit >> 20,
            needed >> 20,
            DAEMON_MEMORY_HEADROOM >> 20
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_locked_memory_limit_must_hold_the_budget_and_the_daemon() {
        let budget = 256 << 20;
        let needed = budget as u64 + DAEMON_MEMORY_HEADROOM;
        assert_eq!(memlock_shortfall(Some(needed), false, budget), None);
        assert_eq!(memlock_shortfall(None, false, budget), None, "unlimited");
        assert_eq!(memlock_shortfall(Some(8 << 20), true, budget), None, "CAP_IPC_LOCK ignores the limit");
        let shortfall = memlock_shortfall(Some(8 << 20), false, budget).unwrap();
        assert!(shortfall.contains("is 8 MiB") && shortfall.contains("needs 512 MiB"), "{shortfall}");
        assert!(shortfall.contains("LimitMEMLOCK"), "{shortfall}");
        assert!(memlock_shortfall(Some(needed - 1), false, budget).is_some());
    }
}
